//! Turns parsed lease records into the set of BMC targets to poll: the last record per IP wins,
//! only live (`Active`, not yet ended at `now`) leases with a MAC survive the CIDR allow list and
//! MAC ignore list, and each MAC keeps its most recent lease.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::lease::{Lease, LeaseState};
use crate::model::MacAddr;

/// Which leases may become targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only addresses inside one of these networks; empty = allow all.
    pub allow_cidrs: Vec<ipnet::IpNet>,
    /// MACs never to treat as BMCs.
    pub ignore_macs: Vec<MacAddr>,
    /// Seconds a lease that ended (expired or freed, MAC still known) is kept as a target, so a BMC
    /// that still answers on its old address is noticed (`lease-expired-but-answers`); 0 = none.
    pub expired_grace: i64,
}

/// One live lease chosen as a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The BMC's identity.
    pub mac: MacAddr,
    /// Its current address.
    pub ip: IpAddr,
    /// The hostname from the lease, if any.
    pub hostname: Option<String>,
    /// When the lease ends (unix seconds); `None` = infinite.
    pub ends: Option<i64>,
}

/// Selects live targets from `leases` (in file order) as of `now` (unix seconds); sorted by MAC.
pub fn select_targets(leases: &[Lease], now: i64, filters: &Filters) -> Vec<Selected> {
    let mut last: BTreeMap<IpAddr, &Lease> = BTreeMap::new();
    for lease in leases {
        last.insert(lease.ip, lease);
    }
    let mut best: BTreeMap<MacAddr, &Lease> = BTreeMap::new();
    for lease in last.into_values() {
        let active = lease.state == LeaseState::Active && lease.ends.is_none_or(|e| e > now);
        let recently_ended = filters.expired_grace > 0
            && matches!(
                lease.state,
                LeaseState::Active | LeaseState::Free | LeaseState::Expired
            )
            && lease
                .ends
                .is_some_and(|e| e <= now && e > now - filters.expired_grace);
        let live = active || recently_ended;
        let Some(mac) = lease.mac.filter(|_| live) else {
            continue;
        };
        let allowed = filters.allow_cidrs.is_empty()
            || filters.allow_cidrs.iter().any(|n| n.contains(&lease.ip));
        if !allowed || filters.ignore_macs.contains(&mac) {
            continue;
        }
        // Most recent wins: latest start (unknown = oldest), then latest end (never = latest),
        // then the later record in the file.
        let key = |l: &Lease| {
            (
                l.starts.unwrap_or(i64::MIN),
                l.ends.unwrap_or(i64::MAX),
                l.line,
            )
        };
        match best.get(&mac) {
            Some(cur) if key(cur) >= key(lease) => {}
            _ => {
                best.insert(mac, lease);
            }
        }
    }
    best.into_iter()
        .map(|(mac, l)| Selected {
            mac,
            ip: l.ip,
            hostname: l.hostname.clone(),
            ends: l.ends,
        })
        .collect()
}

/// What the filters did to the live leases: how many BMCs the leases name, how many of them
/// `allow-cidrs` and `ignore-macs` leave out, and how many are polled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub live: usize,
    pub outside_allow_cidrs: usize,
    pub ignored_macs: usize,
    pub selected: usize,
}

impl Summary {
    /// Counts, as of `now`, what [`select_targets`] keeps of `leases` and what each filter drops.
    pub fn of(leases: &[Lease], now: i64, filters: &Filters) -> Summary {
        let unfiltered = Filters {
            expired_grace: filters.expired_grace,
            ..Filters::default()
        };
        let live = select_targets(leases, now, &unfiltered);
        let outside = |s: &&Selected| {
            !filters.allow_cidrs.is_empty()
                && !filters.allow_cidrs.iter().any(|n| n.contains(&s.ip))
        };
        Summary {
            live: live.len(),
            outside_allow_cidrs: live.iter().filter(outside).count(),
            ignored_macs: live
                .iter()
                .filter(|s| !outside(s) && filters.ignore_macs.contains(&s.mac))
                .count(),
            selected: select_targets(leases, now, filters).len(),
        }
    }

    /// True when there are BMC leases but the filters leave none to poll.
    pub fn filters_drop_everything(&self) -> bool {
        self.live > 0 && self.selected == 0
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} live leases, {} selected, {} left out by allow-cidrs, {} by ignore-macs",
            self.live, self.selected, self.outside_allow_cidrs, self.ignored_macs
        )
    }
}

/// Fixture expectations and fuzz input shared by the parser tests.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use crate::discovery::lease::Parsed;

    /// The fixtures' snapshot time, 2026-11-20 12:00:00 UTC.
    pub const NOW: i64 = 1_795_176_000;

    /// What every fixture must select at [`NOW`]: (MAC, IP) sorted by MAC.
    pub fn expected() -> Vec<(MacAddr, IpAddr)> {
        [
            ("3c:ec:ef:10:20:30", "127.0.1.20"),
            ("52:54:00:a1:00:11", "127.0.1.11"),
            ("52:54:00:a1:00:12", "127.0.1.12"),
            ("52:54:00:a1:00:30", "127.0.1.30"),
            ("52:54:00:a1:01:16", "127.0.1.16"),
        ]
        .iter()
        .map(|(m, i)| (m.parse().unwrap(), i.parse().unwrap()))
        .collect()
    }

    pub fn pairs(sel: &[Selected]) -> Vec<(MacAddr, IpAddr)> {
        sel.iter().map(|s| (s.mac, s.ip)).collect()
    }

    /// Asserts the fixture story: the five live BMCs/hosts, none of .13/.14/.15; only .30 a day later.
    pub fn assert_fixture_selection(parsed: &Parsed) {
        let sel = select_targets(&parsed.leases, NOW, &Filters::default());
        assert_eq!(pairs(&sel), expected());
        for gone in ["127.0.1.13", "127.0.1.14", "127.0.1.15"] {
            let ip: IpAddr = gone.parse().unwrap();
            assert!(sel.iter().all(|s| s.ip != ip), "{gone} selected");
        }
        let later = select_targets(&parsed.leases, NOW + 86_400, &Filters::default());
        assert_eq!(pairs(&later), vec![expected()[3]]);
        assert_eq!(later[0].ends, None);
        assert_eq!(later[0].hostname.as_deref(), Some("bmc-r02-u01"));
    }

    /// Every prefix of `seed`, random mutations of it, and random garbage from a tiny LCG.
    pub fn fuzz_inputs(seed: &str) -> Vec<String> {
        const BITS: [&str; 24] = [
            "lease ",
            "127.0.1.1",
            " {",
            "}",
            ";",
            "\"",
            "\\",
            "#",
            "\n",
            " ",
            "epoch ",
            "never",
            "ends ",
            "2026/11/20 ",
            "12:00:00",
            "é",
            "\r\n",
            "=",
            "hardware ethernet ",
            "52:54",
            ",",
            "-",
            "0",
            "\u{0}",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = move |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((state >> 33) as usize) % n.max(1)
        };
        let mut out: Vec<String> = (0..=seed.len())
            .filter_map(|i| seed.get(..i))
            .map(String::from)
            .collect();
        for _ in 0..300 {
            let mut s = seed.to_string();
            for _ in 0..1 + rnd(6) {
                let mut at = rnd(s.len() + 1);
                while !s.is_char_boundary(at) {
                    at -= 1;
                }
                let cut = (at + rnd(8)).min(s.len());
                let cut = if s.is_char_boundary(cut) { cut } else { at };
                s.replace_range(at..cut, BITS[rnd(BITS.len())]);
            }
            out.push(s);
        }
        for _ in 0..500 {
            out.push((0..rnd(60)).map(|_| BITS[rnd(BITS.len())]).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(ip: &str, mac: &str, starts: Option<i64>, ends: Option<i64>, line: usize) -> Lease {
        Lease {
            ip: ip.parse().unwrap(),
            mac: Some(mac.parse().unwrap()),
            hostname: None,
            starts,
            ends,
            state: LeaseState::Active,
            vendor_class: None,
            line,
        }
    }

    const M1: &str = "52:54:00:00:00:01";
    const M2: &str = "52:54:00:00:00:02";

    fn ips(sel: &[Selected]) -> Vec<String> {
        sel.iter().map(|s| s.ip.to_string()).collect()
    }

    #[test]
    fn last_record_per_ip_wins_and_state_must_be_active() {
        let mut freed = lease("10.0.0.1", M1, Some(10), Some(200), 3);
        freed.state = LeaseState::Free;
        let leases = [lease("10.0.0.1", M1, Some(10), Some(200), 1), freed];
        assert!(select_targets(&leases, 100, &Filters::default()).is_empty());
        let no_mac = Lease {
            mac: None,
            ..lease("10.0.0.2", M2, None, None, 5)
        };
        assert!(select_targets(&[no_mac], 100, &Filters::default()).is_empty());
    }

    #[test]
    fn ended_leases_are_dropped_and_never_ending_kept() {
        let leases = [
            lease("10.0.0.1", M1, Some(10), Some(100), 1),
            lease("10.0.0.2", M2, Some(10), None, 2),
        ];
        assert_eq!(
            ips(&select_targets(&leases, 99, &Filters::default())),
            ["10.0.0.1", "10.0.0.2"]
        );
        assert_eq!(
            ips(&select_targets(&leases, 100, &Filters::default())),
            ["10.0.0.2"]
        );
        assert_eq!(
            ips(&select_targets(&leases, i64::MAX, &Filters::default())),
            ["10.0.0.2"]
        );
    }

    #[test]
    fn one_ip_per_mac_latest_start_then_end_then_line() {
        let f = Filters::default();
        let a = lease("10.0.0.1", M1, Some(20), Some(100), 1);
        let b = lease("10.0.0.2", M1, Some(10), Some(900), 2);
        assert_eq!(
            ips(&select_targets(&[a.clone(), b.clone()], 50, &f)),
            ["10.0.0.1"]
        );
        let c = lease("10.0.0.3", M1, Some(20), None, 3);
        assert_eq!(
            ips(&select_targets(&[c.clone(), a.clone(), b], 50, &f)),
            ["10.0.0.3"]
        );
        let d = lease("10.0.0.0", M1, Some(20), Some(100), 9);
        assert_eq!(ips(&select_targets(&[d, a], 50, &f)), ["10.0.0.0"]);
    }

    #[test]
    fn cidr_allow_list_and_mac_ignore_list() {
        let leases = [
            lease("10.0.0.1", M1, None, None, 1),
            lease("10.9.0.1", M2, None, None, 2),
        ];
        let f = Filters {
            allow_cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            ignore_macs: vec![],
            expired_grace: 0,
        };
        assert_eq!(ips(&select_targets(&leases, 0, &f)), ["10.0.0.1"]);
        let f = Filters {
            allow_cidrs: vec![],
            ignore_macs: vec![M1.parse().unwrap()],
            expired_grace: 0,
        };
        assert_eq!(ips(&select_targets(&leases, 0, &f)), ["10.9.0.1"]);
        let f = Filters {
            allow_cidrs: vec!["fd00::/8".parse().unwrap()],
            ignore_macs: vec![],
            expired_grace: 0,
        };
        assert!(select_targets(&leases, 0, &f).is_empty());
    }

    #[test]
    fn recently_ended_leases_stay_within_the_grace() {
        let mut ended = lease("10.0.0.1", M1, Some(0), Some(100), 1);
        ended.state = LeaseState::Free;
        let leases = [ended];
        let none = Filters::default();
        assert!(select_targets(&leases, 200, &none).is_empty());
        let grace = Filters {
            expired_grace: 300,
            ..Filters::default()
        };
        assert_eq!(ips(&select_targets(&leases, 200, &grace)), ["10.0.0.1"]);
        assert!(
            select_targets(&leases, 500, &grace).is_empty(),
            "past the grace"
        );
    }

    #[test]
    fn the_summary_says_what_each_filter_left_out() {
        let p = crate::discovery::isc_dhcpd::parse(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/leases/dhcpd.leases"
        )));
        let all = Summary::of(&p.leases, testutil::NOW, &Filters::default());
        assert_eq!((all.live, all.selected), (5, 5), "{all}");
        let filters = Filters {
            allow_cidrs: vec!["10.0.0.0/8".parse().expect("net")],
            ignore_macs: vec!["52:54:00:a1:00:11".parse().expect("mac")],
            expired_grace: 0,
        };
        let s = Summary::of(&p.leases, testutil::NOW, &filters);
        assert_eq!(
            (s.live, s.selected, s.outside_allow_cidrs, s.ignored_macs),
            (5, 0, 5, 0),
            "{s}"
        );
        assert!(s.filters_drop_everything());
        let filters = Filters {
            ignore_macs: vec!["52:54:00:a1:00:11".parse().expect("mac")],
            ..Filters::default()
        };
        let s = Summary::of(&p.leases, testutil::NOW, &filters);
        assert_eq!((s.selected, s.ignored_macs), (4, 1), "{s}");
        assert!(!s.filters_drop_everything());
    }
}
