//! The poller's share of a partition: of the discovered BMCs it polls only those it owns
//! ([`Members::owns`]). A BMC handed over to a peer is stopped and its session closed, and it
//! leaves the store quietly (no `gone` event, its KV entry kept: the peer writes it now); a BMC
//! taken over from a peer enters the store quietly (no `discovered` event) and is polled at once,
//! not at its slot. Without a member view (no NATS) every BMC is owned, exactly as before.

use std::collections::{HashMap, HashSet};

use tokio::sync::watch;

use super::Poller;
use super::ownership::Members;
use crate::model::{MacAddr, Target};

/// Who is live, as the poller last saw it.
#[derive(Default)]
pub(super) struct Share {
    /// `None`: a catcher on its own, owning everything.
    members: Option<watch::Receiver<Option<Members>>>,
    /// The newest view; `None` while not known yet (nothing is owned then).
    current: Option<Members>,
    /// The MACs discovered while a view was known, to tell a BMC taken over from a peer (quiet)
    /// from one discovered just now (`discovered` event).
    known: HashSet<MacAddr>,
}

/// The discovered targets, split by ownership.
pub(super) struct Wanted {
    pub owned: HashMap<MacAddr, Target>,
    /// Owned now and discovered before: one the store lacks was taken over from a peer.
    pub gained: HashSet<MacAddr>,
    /// Discovered but owned by a peer.
    pub others: HashSet<MacAddr>,
}

impl Wanted {
    /// Whether `mac` is still discovered but a peer's now.
    pub fn handed_over(&self, mac: MacAddr) -> bool {
        self.others.contains(&mac)
    }
}

impl Share {
    pub fn following(members: watch::Receiver<Option<Members>>) -> Share {
        Share {
            members: Some(members),
            ..Share::default()
        }
    }

    /// Takes the current view (at start).
    pub fn refresh(&mut self) {
        if let Some(rx) = &mut self.members {
            self.current = rx.borrow_and_update().clone();
        }
    }

    /// Waits for a new view; true when it differs from the last one. Cancel-safe. Never resolves
    /// without a member view, or once its sender is gone (the last view stays).
    pub async fn changed(&mut self) -> bool {
        let Some(rx) = &mut self.members else {
            return std::future::pending().await;
        };
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
        let next = rx.borrow_and_update().clone();
        if next == self.current {
            return false;
        }
        self.current = next;
        true
    }

    /// Splits the discovered `list`, and remembers it for the next split.
    pub fn split(&mut self, list: Vec<Target>) -> Wanted {
        let mut wanted = Wanted {
            owned: HashMap::with_capacity(list.len()),
            gained: HashSet::new(),
            others: HashSet::new(),
        };
        let view = match (&self.members, &self.current) {
            (None, _) => {
                wanted.owned = list.into_iter().map(|t| (t.mac, t)).collect();
                return wanted;
            }
            (Some(_), None) => {
                wanted.others = list.into_iter().map(|t| t.mac).collect();
                return wanted;
            }
            (Some(_), Some(view)) => view,
        };
        let mut known = HashSet::with_capacity(list.len());
        for t in list {
            known.insert(t.mac);
            if !view.owns(t.mac) {
                wanted.others.insert(t.mac);
                continue;
            }
            if self.known.contains(&t.mac) {
                wanted.gained.insert(t.mac);
            }
            wanted.owned.insert(t.mac, t);
        }
        self.known = known;
        wanted
    }

    /// The view's members (`None`: alone or not known yet), for logs.
    pub fn live(&self) -> usize {
        self.current.as_ref().map_or(1, |m| m.live().len())
    }
}

impl Poller {
    /// A new member view: hands over what is now a peer's and takes over what is now ours.
    pub(super) fn rebalance(&mut self, list: Vec<Target>) {
        let before = self.slots.len();
        self.reconcile(list);
        tracing::info!(
            members = self.share.live(),
            owned = self.slots.len(),
            before,
            "ownership rebalanced"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Recorder, Store};

    fn targets(n: u8) -> Vec<Target> {
        (1..=n)
            .map(|i| Target {
                mac: MacAddr([2, 0, 0, 0, 0, i]),
                ip: format!("127.0.0.{i}").parse().expect("ip"),
                port: None,
                hostname: None,
                lease_ends: None,
            })
            .collect()
    }

    #[test]
    fn alone_owns_all_and_gains_nothing() {
        let mut share = Share::default();
        let w = share.split(targets(10));
        assert_eq!(w.owned.len(), 10);
        assert!(w.gained.is_empty() && w.others.is_empty());
    }

    #[tokio::test]
    async fn a_peer_leaving_hands_its_bmcs_over_quietly() {
        let (tx, rx) = watch::channel(None);
        let mut share = Share::following(rx);
        share.refresh();
        // No view yet: nothing is owned (and nothing counts as discovered).
        let w = share.split(targets(40));
        assert!(w.owned.is_empty());
        assert_eq!(w.others.len(), 40);

        tx.send_replace(Some(Members::new("a", ["b"])));
        assert!(share.changed().await);
        let w = share.split(targets(40));
        let mine = w.owned.len();
        assert!((10..=30).contains(&mine), "a owns {mine} of 40");
        assert!(
            w.gained.is_empty(),
            "first seen: discovered, not taken over"
        );
        assert_eq!(w.others.len(), 40 - mine);

        // b is gone: a owns everything; b's BMCs are taken over (quiet), a's stay.
        tx.send_replace(Some(Members::new("a", ["a"])));
        assert!(share.changed().await);
        let w = share.split(targets(41));
        assert_eq!(w.owned.len(), 41);
        assert_eq!(w.gained.len(), 40, "all but the new BMC were known");
        assert!(!w.gained.contains(&MacAddr([2, 0, 0, 0, 0, 41])));

        // The same view again is no change.
        tx.send_replace(Some(Members::alone("a")));
        assert!(!share.changed().await);
    }

    #[test]
    fn a_hand_over_makes_no_event_and_keeps_no_key_to_delete() {
        let store = Store::new("p");
        let rec = std::sync::Arc::new(Recorder::default());
        store.observe(rec.clone());
        let t = targets(2);
        store.upsert_target(t[0].clone());
        store.adopt(t[1].clone());
        let kinds: Vec<&str> = rec.take().iter().map(|e| e.kind.name()).collect();
        assert_eq!(
            kinds,
            ["discovered"],
            "a BMC taken over is not discovered again"
        );
        store.release(t[0].mac);
        store.remove(t[1].mac);
        let kinds: Vec<&str> = rec.take().iter().map(|e| e.kind.name()).collect();
        assert_eq!(kinds, ["gone"], "a BMC handed over is not gone");
        assert!(store.is_empty());
    }
}
