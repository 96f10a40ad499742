//! The live members of one partition as read from the members bucket: pure, fed with what the
//! bucket's watch delivers (key, put or delete, the entry's age) and a `now`, so its decisions
//! are tested without a server. A member is live from its put until `ttl` after its newest put,
//! or until its key is deleted (a member that left on SIGTERM).
//!
//! No peer is expired while the watch itself lags: this catcher's own renewals come back through
//! the same watch, so when none has come back for two renewals, a peer's silence says nothing
//! (a NATS node lost, the watch being moved to another) and the view stays as it is.
//!
//! Keys are hostile input: only `<partition>.<member-id>` with a valid id counts, and at most
//! [`MAX_MEMBERS`] peers are tracked.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::member_id_ok;
use crate::poller::Members;

/// Peers tracked per partition; more are ignored (and logged): two catchers are the design, a
/// handful the most that makes sense.
pub const MAX_MEMBERS: usize = 64;

/// What one watch entry did.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// Nothing changed in who is live.
    Same,
    /// A member joined or left.
    Changed,
    /// A key this view does not take (another partition, a bad id, one too many).
    Ignored,
}

/// The peers of this catcher (never itself), each with when it was last renewed.
#[derive(Debug)]
pub struct View {
    partition: String,
    own: String,
    ttl: Duration,
    /// How long without an own renewal seen before the watch counts as lagging.
    lag_after: Duration,
    peers: BTreeMap<String, Instant>,
    /// When this catcher's own put last came back through the watch.
    own_seen: Option<Instant>,
}

impl View {
    /// `renew`: how often this catcher renews its own key (at most half the `ttl`).
    pub fn new(partition: &str, own: &str, ttl: Duration, renew: Duration) -> View {
        View {
            partition: partition.to_string(),
            own: own.to_string(),
            ttl,
            lag_after: renew * 2,
            peers: BTreeMap::new(),
            own_seen: None,
        }
    }

    /// The member id of `key`, when it is a member key of this partition.
    pub fn member_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let id = key
            .strip_prefix(self.partition.as_str())?
            .strip_prefix('.')?;
        member_id_ok(id).then_some(id)
    }

    /// A put of `key`, written `age` ago (by the server's clock against ours: clamped to the ttl).
    pub fn put(&mut self, key: &str, age: Duration, now: Instant) -> Seen {
        let Some(id) = self.member_of(key) else {
            return Seen::Ignored;
        };
        if id == self.own {
            self.own_seen = Some(now);
            return Seen::Same;
        }
        let seen = now.checked_sub(age.min(self.ttl)).unwrap_or(now);
        if let Some(at) = self.peers.get_mut(id) {
            *at = (*at).max(seen);
            return Seen::Same;
        }
        if self.peers.len() >= MAX_MEMBERS {
            return Seen::Ignored;
        }
        if seen + self.ttl <= now {
            return Seen::Same;
        }
        self.peers.insert(id.to_string(), seen);
        Seen::Changed
    }

    /// A delete or purge of `key`: the member left.
    pub fn delete(&mut self, key: &str) -> Seen {
        match self.member_of(key) {
            Some(id) if self.peers.remove(id).is_some() => Seen::Changed,
            Some(_) => Seen::Same,
            None => Seen::Ignored,
        }
    }

    /// Drops the peers not renewed within the ttl; true when one was dropped. Drops none while the
    /// watch lags (no own renewal seen for two renewals).
    pub fn expire(&mut self, now: Instant) -> bool {
        if self
            .own_seen
            .is_none_or(|t| now.saturating_duration_since(t) > self.lag_after)
        {
            return false;
        }
        let ttl = self.ttl;
        let before = self.peers.len();
        self.peers.retain(|_, at| *at + ttl > now);
        self.peers.len() != before
    }

    /// The live members, this catcher included.
    pub fn members(&self) -> Members {
        Members::new(&self.own, self.peers.keys().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(6);
    const RENEW: Duration = Duration::from_secs(2);
    const SEC: Duration = Duration::from_secs(1);

    /// This catcher's own renewals, every `RENEW` from `from` up to `to`, as the watch gives them.
    fn renew_own(v: &mut View, from: Instant, to: Instant) {
        let mut t = from;
        while t <= to {
            v.put("p1.a", Duration::ZERO, t);
            t += RENEW;
        }
    }

    fn ids(v: &View) -> Vec<String> {
        v.members().live().iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn a_peer_lives_until_ttl_after_its_last_renewal() {
        let t0 = Instant::now();
        let mut v = View::new("p1", "a", TTL, RENEW);
        assert_eq!(v.put("p1.b", Duration::ZERO, t0), Seen::Changed);
        assert_eq!(v.put("p1.a", Duration::ZERO, t0), Seen::Same);
        assert_eq!(ids(&v), ["a", "b"]);
        assert_eq!(
            v.put("p1.b", Duration::ZERO, t0 + Duration::from_secs(4)),
            Seen::Same
        );
        renew_own(&mut v, t0, t0 + 10 * SEC);
        assert!(!v.expire(t0 + Duration::from_secs(9)));
        assert!(v.expire(t0 + Duration::from_secs(10)));
        assert_eq!(ids(&v), ["a"]);
    }

    #[test]
    fn no_peer_expires_while_the_watch_lags() {
        let t0 = Instant::now();
        let mut v = View::new("p1", "a", TTL, RENEW);
        v.put("p1.a", Duration::ZERO, t0);
        v.put("p1.b", Duration::ZERO, t0);
        // The watch delivers nothing for 20 s, not even this catcher's own renewals: b's silence
        // says nothing about b.
        assert!(!v.expire(t0 + 20 * SEC));
        assert_eq!(ids(&v), ["a", "b"]);
        // The watch is back: both renewals arrive, written just now; b is still live.
        v.put("p1.a", Duration::ZERO, t0 + 21 * SEC);
        v.put("p1.b", Duration::ZERO, t0 + 21 * SEC);
        assert!(!v.expire(t0 + 21 * SEC));
        // Own renewals keep coming, b's do not: b goes at its ttl.
        renew_own(&mut v, t0 + 21 * SEC, t0 + 30 * SEC);
        assert!(!v.expire(t0 + 26 * SEC));
        assert!(v.expire(t0 + 27 * SEC));
        assert_eq!(ids(&v), ["a"]);
    }

    #[test]
    fn a_delete_is_a_leave_at_once() {
        let t0 = Instant::now();
        let mut v = View::new("p1", "a", TTL, RENEW);
        v.put("p1.b", Duration::ZERO, t0);
        assert_eq!(v.delete("p1.b"), Seen::Changed);
        assert_eq!(v.delete("p1.b"), Seen::Same);
        assert_eq!(ids(&v), ["a"]);
    }

    #[test]
    fn an_old_entry_counts_from_when_it_was_written() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut v = View::new("p1", "a", TTL, RENEW);
        // Written 5 s ago: live for one more second.
        assert_eq!(v.put("p1.b", Duration::from_secs(5), t0), Seen::Changed);
        v.put("p1.a", Duration::ZERO, t0 + SEC);
        assert!(v.expire(t0 + Duration::from_secs(1)));
        // Older than the ttl (a dead member's last key, not yet aged out): never live.
        assert_eq!(v.put("p1.c", Duration::from_secs(60), t0), Seen::Same);
        assert_eq!(ids(&v), ["a"]);
    }

    #[test]
    fn hostile_keys_are_ignored_and_peers_bounded() {
        let t0 = Instant::now();
        let mut v = View::new("p1", "a", TTL, RENEW);
        for key in [
            "p2.b",
            "p1",
            "p1.",
            "p1.b.c",
            "p1.b*",
            "p10.b",
            &format!("p1.{}", "x".repeat(65)),
        ] {
            assert_eq!(v.put(key, Duration::ZERO, t0), Seen::Ignored, "{key}");
        }
        for i in 0..MAX_MEMBERS + 10 {
            v.put(&format!("p1.m{i}"), Duration::ZERO, t0);
        }
        assert_eq!(v.members().live().len(), MAX_MEMBERS + 1);
    }
}
