//! The `[nats]` keys of partition membership (`members-bucket`, `member-id`, `member-ttl`,
//! `member-renew`): their checks, and the member id a catcher goes by (the host name by default).

use std::time::Duration;

use super::Nats;

/// Longest member id (it is a KV key token and a subject token).
pub const MAX_MEMBER_ID: usize = 64;

/// Whether `id` can be a member id: 1 to [`MAX_MEMBER_ID`] letters, digits, '-' or '_'.
pub fn member_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_MEMBER_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A host name as a member id: '.' and anything else outside the allowed set become '-', cut to
/// [`MAX_MEMBER_ID`]; "catcher" when nothing is left.
pub fn member_id_of_host(host: &str) -> String {
    let id: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(MAX_MEMBER_ID)
        .collect();
    if id.trim_matches('-').is_empty() {
        "catcher".into()
    } else {
        id
    }
}

impl Nats {
    /// The first membership key that is wrong, and why.
    pub(super) fn members_problem(&self) -> Option<(&'static str, String)> {
        let name_ok = |t: &str| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !name_ok(&self.members_bucket) {
            return Some((
                "nats.members-bucket",
                "use only letters, digits, '-' and '_'".into(),
            ));
        }
        if let Some(id) = &self.member_id
            && !member_id_ok(id)
        {
            return Some((
                "nats.member-id",
                format!("use 1 to {MAX_MEMBER_ID} letters, digits, '-' and '_'"),
            ));
        }
        if self.member_ttl < Duration::from_secs(1) || self.member_ttl > Duration::from_secs(3600) {
            return Some(("nats.member-ttl", "must be 1s to 1h".into()));
        }
        if self.member_renew.is_zero() || self.member_renew * 2 > self.member_ttl {
            return Some((
                "nats.member-renew",
                "must be longer than 0 and at most half of member-ttl".into(),
            ));
        }
        None
    }

    /// The member id: `member-id`, or the host name made into one.
    pub fn member_id(&self) -> String {
        match &self.member_id {
            Some(id) => id.clone(),
            None => member_id_of_host(&host_name()),
        }
    }
}

/// This host's name, from the kernel (or `$HOSTNAME`); empty when neither is there.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_become_member_ids() {
        assert_eq!(
            member_id_of_host("mgmt-1.site.example\n"),
            "mgmt-1-site-example"
        );
        assert_eq!(member_id_of_host(""), "catcher");
        assert_eq!(member_id_of_host("..."), "catcher");
        assert_eq!(member_id_of_host(&"a".repeat(300)).len(), MAX_MEMBER_ID);
        assert!(member_id_ok(&member_id_of_host("höst name.x")));
    }

    #[test]
    fn bad_membership_keys_are_named() {
        let bad = |f: fn(&mut Nats)| {
            let mut n = Nats::default();
            f(&mut n);
            n.members_problem().map(|(k, _)| k)
        };
        assert_eq!(bad(|_| {}), None);
        assert_eq!(
            bad(|n| n.member_id = Some("a.b".into())),
            Some("nats.member-id")
        );
        assert_eq!(
            bad(|n| n.members_bucket = "x y".into()),
            Some("nats.members-bucket")
        );
        assert_eq!(
            bad(|n| n.member_renew = Duration::from_secs(4)),
            Some("nats.member-renew")
        );
        assert_eq!(
            bad(|n| n.member_ttl = Duration::from_millis(10)),
            Some("nats.member-ttl")
        );
    }
}
