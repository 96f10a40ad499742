//! Which BMCs this catcher owns when several catchers share a partition: rendezvous (highest random
//! weight) hashing of each BMC's MAC over the live members, so every BMC has exactly one owner
//! among the members all catchers see, and a member joining or leaving moves only the BMCs it
//! must (about 1/n of them). Pure: [`Members`] is a value; who is live is learnt elsewhere (the
//! NATS membership task, `publish::nats::membership`) and reaches the poller through a
//! `watch` channel. A catcher alone (no NATS) owns every BMC.
//!
//! The hash is FNV-1a over the member id and the MAC, finished by the splitmix64 mixer: written
//! out here (not `std`'s hasher, whose output may change between Rust releases) so catchers of
//! different builds agree on the owner.

use std::sync::Arc;

use crate::model::MacAddr;

/// The live members of a partition as this catcher sees them, and its own id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    own: Arc<str>,
    /// Sorted, without repeats; always holds `own`.
    live: Vec<Arc<str>>,
}

impl Members {
    /// A catcher on its own: it owns every BMC.
    pub fn alone(own: &str) -> Members {
        Members::new(own, std::iter::empty::<&str>())
    }

    /// `own` and the other live members (`own` is added when missing: a catcher always counts
    /// itself, also while it cannot see the bucket).
    pub fn new<'a>(own: &str, live: impl IntoIterator<Item = &'a str>) -> Members {
        let mut all: Vec<Arc<str>> = live.into_iter().map(Arc::from).collect();
        all.push(Arc::from(own));
        all.sort();
        all.dedup();
        Members {
            own: Arc::from(own),
            live: all,
        }
    }

    pub fn own(&self) -> &str {
        &self.own
    }

    /// Every live member, sorted (this one included).
    pub fn live(&self) -> &[Arc<str>] {
        &self.live
    }

    /// The member that owns `mac`: the one with the highest weight (ties, which need a 64-bit
    /// collision, go to the smaller id).
    pub fn owner(&self, mac: MacAddr) -> &str {
        self.live
            .iter()
            .map(|m| (weight(m, mac), m))
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)))
            .map(|(_, m)| &**m)
            .unwrap_or(&self.own)
    }

    /// Whether this catcher owns `mac`.
    pub fn owns(&self, mac: MacAddr) -> bool {
        self.live.len() <= 1 || self.owner(mac) == &*self.own
    }
}

/// The weight of `member` for `mac`: FNV-1a 64 over the id, a 0 byte and the MAC, then splitmix64.
pub fn weight(member: &str, mac: MacAddr) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in member.bytes().chain([0]).chain(mac.0) {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    // splitmix64's finaliser: FNV alone spreads nearby MACs poorly over the top bits.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MACs as bmc-sim numbers them (02:00:00:00:00:01, ...): neighbours, the hard case for a hash.
    fn macs(n: u32) -> Vec<MacAddr> {
        (1..=n)
            .map(|i| {
                let b = i.to_be_bytes();
                MacAddr([0x02, 0x00, b[0], b[1], b[2], b[3]])
            })
            .collect()
    }

    fn owners(m: &Members, macs: &[MacAddr]) -> Vec<String> {
        macs.iter().map(|mac| m.owner(*mac).to_string()).collect()
    }

    #[test]
    fn alone_owns_everything() {
        let m = Members::alone("a");
        assert!(macs(50).into_iter().all(|mac| m.owns(mac)));
        assert_eq!(m.live().len(), 1);
    }

    #[test]
    fn every_member_agrees_on_the_owner_and_it_is_stable() {
        let a = Members::new("a", ["b", "c"]);
        let b = Members::new("b", ["c", "a", "a"]);
        let all = macs(300);
        assert_eq!(owners(&a, &all), owners(&b, &all));
        for mac in &all {
            assert_eq!(
                usize::from(a.owns(*mac)) + usize::from(b.owns(*mac)),
                usize::from(a.owner(*mac) != "c"),
                "exactly one of a, b owns {mac} unless c does"
            );
        }
        // A fixed value (computed apart, in Python): the hash is part of the contract between
        // catchers of different builds.
        assert_eq!(
            weight("a", MacAddr([0; 6])),
            0xbf35_b48c_b1c4_68c9,
            "the HRW hash changed: catchers of old and new builds would disagree on owners"
        );
    }

    #[test]
    fn two_members_split_200_macs_within_60_40() {
        let m = Members::new("mgmt-1", ["mgmt-2"]);
        let mine = macs(200).into_iter().filter(|mac| m.owns(*mac)).count();
        assert!((80..=120).contains(&mine), "mgmt-1 owns {mine} of 200");
    }

    #[test]
    fn a_join_or_leave_moves_only_its_share() {
        let all = macs(3000);
        let three = Members::new("a", ["b", "c"]);
        let four = Members::new("a", ["b", "c", "d"]);
        let before = owners(&three, &all);
        let after = owners(&four, &all);
        let moved: Vec<usize> = (0..all.len()).filter(|i| before[*i] != after[*i]).collect();
        // Only to the newcomer, and about a quarter.
        assert!(moved.iter().all(|i| after[*i] == "d"));
        assert!(
            (600..=900).contains(&moved.len()),
            "{} of 3000 moved",
            moved.len()
        );
        // And back when it leaves: the same owners as before it came.
        assert_eq!(owners(&Members::new("c", ["a", "b"]), &all), before);
    }
}
