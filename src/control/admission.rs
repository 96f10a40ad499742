//! Which commands may run, and when: a bounded queue per BMC (commands to one BMC run one after
//! another; past the bound they are refused as `busy`, so a BMC that hangs holds up only its own
//! commands), a rate limit on destructive actions per BMC, and idempotency by request id (a retried
//! request gets the first one's reply instead of acting twice). Only a request that may have acted
//! is remembered: one refused before it acted (`busy`, `rate-limited`, not run) may be retried
//! with the same id.
//!
//! Pure bookkeeping with `Instant`s passed in; [`super::Controller`] does the waiting.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::Reply;
use crate::model::{Action, MacAddr};

/// Request ids remembered at most (oldest forgotten first), whatever the window.
const MAX_REMEMBERED: usize = 10_000;

/// The limits, from `[nats]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Commands waiting or running per BMC.
    pub queue_per_bmc: usize,
    /// Destructive actions (power-off, -soft, -cycle, -reset) per BMC per `rate_window`; 0: no limit.
    pub rate_limit: u32,
    pub rate_window: Duration,
    /// How long a request id is remembered.
    pub idempotency_window: Duration,
}

/// Why a command was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The BMC's queue is full.
    Busy { queued: usize },
    /// Too many destructive actions on this BMC lately.
    RateLimited {
        limit: u32,
        window: Duration,
        retry_after: Duration,
    },
}

#[derive(Default)]
struct PerBmc {
    pending: usize,
    /// Held by the command that runs; the others wait on it in turn.
    serial: Arc<tokio::sync::Mutex<()>>,
    /// When the recent destructive actions were admitted.
    destructive: VecDeque<Instant>,
}

type Key = (MacAddr, String);

#[derive(Default)]
struct Remembered {
    /// The reply (once there is one) and when the id was first seen.
    replies: HashMap<Key, (watch::Receiver<Option<Reply>>, Instant)>,
    order: VecDeque<(Instant, Key)>,
}

/// The admission state of every BMC.
pub struct Admission {
    limits: Limits,
    bmcs: Mutex<HashMap<MacAddr, PerBmc>>,
    remembered: Mutex<Remembered>,
}

/// A place in one BMC's queue; leaving it (drop) frees the place.
pub struct Slot<'a> {
    admission: &'a Admission,
    mac: MacAddr,
    pub serial: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut bmcs = self.admission.lock_bmcs();
        if let Some(b) = bmcs.get_mut(&self.mac) {
            b.pending = b.pending.saturating_sub(1);
            if b.pending == 0 && b.destructive.is_empty() {
                bmcs.remove(&self.mac);
            }
        }
    }
}

/// What a request id found.
pub enum Seen {
    /// New: complete the ticket with the reply.
    First(Ticket),
    /// A request with this id came before: its reply, once there is one.
    Again(watch::Receiver<Option<Reply>>),
}

/// Completes a remembered request with its reply.
pub struct Ticket {
    tx: watch::Sender<Option<Reply>>,
    key: Key,
    at: Instant,
}

impl Ticket {
    /// The request may have acted: its reply answers every retry within the window.
    pub fn complete(self, reply: &Reply) {
        self.tx.send_replace(Some(reply.clone()));
    }
}

impl Admission {
    pub fn new(limits: Limits) -> Admission {
        Admission {
            limits,
            bmcs: Mutex::new(HashMap::new()),
            remembered: Mutex::new(Remembered::default()),
        }
    }

    fn lock_bmcs(&self) -> std::sync::MutexGuard<'_, HashMap<MacAddr, PerBmc>> {
        self.bmcs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place in the BMC's queue, or says why not.
    pub fn enter(&self, mac: MacAddr, action: Action, now: Instant) -> Result<Slot<'_>, Refusal> {
        let mut bmcs = self.lock_bmcs();
        let b = bmcs.entry(mac).or_default();
        if b.pending >= self.limits.queue_per_bmc {
            return Err(Refusal::Busy { queued: b.pending });
        }
        if is_destructive(action) && self.limits.rate_limit > 0 {
            let window = self.limits.rate_window;
            while b
                .destructive
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                b.destructive.pop_front();
            }
            if b.destructive.len() >= self.limits.rate_limit as usize {
                let oldest = b.destructive.front().copied().unwrap_or(now);
                return Err(Refusal::RateLimited {
                    limit: self.limits.rate_limit,
                    window,
                    retry_after: window.saturating_sub(now.duration_since(oldest)),
                });
            }
            b.destructive.push_back(now);
        }
        b.pending += 1;
        Ok(Slot {
            admission: self,
            mac,
            serial: b.serial.clone(),
        })
    }

    /// Remembers request `id` for the BMC, or finds the request that came with it before.
    pub fn remember(&self, mac: MacAddr, id: &str, now: Instant) -> Seen {
        let mut r = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.limits.idempotency_window;
        while let Some((t, _)) = r.order.front() {
            if now.duration_since(*t) < window && r.order.len() < MAX_REMEMBERED {
                break;
            }
            if let Some((t, key)) = r.order.pop_front()
                && r.replies.get(&key).is_some_and(|(_, at)| *at == t)
            {
                r.replies.remove(&key);
            }
        }
        let key = (mac, id.to_string());
        if let Some((rx, _)) = r.replies.get(&key) {
            return Seen::Again(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        r.replies.insert(key.clone(), (rx, now));
        r.order.push_back((now, key.clone()));
        Seen::First(Ticket { tx, key, at: now })
    }

    /// The request was refused before it could act: its id is forgotten, so a retry with it runs;
    /// retries already waiting get this reply.
    pub fn forget(&self, ticket: Ticket, reply: &Reply) {
        {
            let mut r = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
            if r.replies
                .get(&ticket.key)
                .is_some_and(|(_, at)| *at == ticket.at)
            {
                r.replies.remove(&ticket.key);
            }
        }
        ticket.tx.send_replace(Some(reply.clone()));
    }
}

/// The actions that take a running server down.
pub fn is_destructive(action: Action) -> bool {
    matches!(
        action,
        Action::PowerOff | Action::PowerSoft | Action::PowerCycle | Action::PowerReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const OTHER: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    fn limits() -> Limits {
        Limits {
            queue_per_bmc: 2,
            rate_limit: 2,
            rate_window: Duration::from_secs(60),
            idempotency_window: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_full_queue_refuses_only_its_own_bmc() {
        let a = Admission::new(limits());
        let now = Instant::now();
        let one = a.enter(MAC, Action::IdentifyOn, now).expect("first");
        let _two = a.enter(MAC, Action::IdentifyOn, now).expect("second");
        assert_eq!(
            a.enter(MAC, Action::IdentifyOn, now).err(),
            Some(Refusal::Busy { queued: 2 })
        );
        assert!(a.enter(OTHER, Action::IdentifyOn, now).is_ok());
        drop(one);
        assert!(
            a.enter(MAC, Action::IdentifyOn, now).is_ok(),
            "a place freed"
        );
    }

    #[test]
    fn destructive_actions_are_rate_limited_per_bmc() {
        let a = Admission::new(limits());
        let t0 = Instant::now();
        drop(a.enter(MAC, Action::PowerCycle, t0).expect("1"));
        drop(a.enter(MAC, Action::PowerOff, t0).expect("2"));
        match a.enter(MAC, Action::PowerReset, t0 + Duration::from_secs(10)) {
            Err(Refusal::RateLimited { retry_after, .. }) => {
                assert_eq!(retry_after, Duration::from_secs(50))
            }
            other => panic!("{:?}", other.err()),
        }
        assert!(
            a.enter(MAC, Action::PowerOn, t0).is_ok(),
            "power-on is not limited"
        );
        assert!(a.enter(OTHER, Action::PowerCycle, t0).is_ok());
        assert!(
            a.enter(MAC, Action::PowerCycle, t0 + Duration::from_secs(60))
                .is_ok(),
            "the window has passed"
        );
    }

    #[test]
    fn a_request_id_is_answered_once_per_bmc_within_the_window() {
        let a = Admission::new(limits());
        let t0 = Instant::now();
        let Seen::First(ticket) = a.remember(MAC, "req-1", t0) else {
            panic!("first")
        };
        let Seen::Again(rx) = a.remember(MAC, "req-1", t0) else {
            panic!("again")
        };
        assert!(rx.borrow().is_none(), "still running");
        assert!(matches!(a.remember(OTHER, "req-1", t0), Seen::First(_)));
        let reply = Reply::new("p", "m");
        ticket.complete(&reply);
        assert_eq!(rx.borrow().as_ref(), Some(&reply));
        assert!(matches!(
            a.remember(MAC, "req-1", t0 + Duration::from_secs(61)),
            Seen::First(_)
        ));
    }

    #[test]
    fn a_request_refused_before_it_acted_may_be_retried_with_its_id() {
        let a = Admission::new(limits());
        let t0 = Instant::now();
        let Seen::First(ticket) = a.remember(MAC, "req-2", t0) else {
            panic!("first")
        };
        let Seen::Again(waiting) = a.remember(MAC, "req-2", t0) else {
            panic!("a retry while it is refused")
        };
        let busy = Reply::new("p", "m");
        a.forget(ticket, &busy);
        assert_eq!(
            waiting.borrow().as_ref(),
            Some(&busy),
            "the waiting retry is answered"
        );
        let Seen::First(again) = a.remember(MAC, "req-2", t0 + Duration::from_secs(1)) else {
            panic!("a later retry runs")
        };
        again.complete(&busy);
        // Pruning the first sighting does not forget the second.
        for i in 0..MAX_REMEMBERED {
            let _ = a.remember(OTHER, &i.to_string(), t0 + Duration::from_secs(2));
        }
        let r = a.remembered.lock().expect("lock");
        assert!(r.replies.len() <= MAX_REMEMBERED);
    }

    #[test]
    fn remembered_ids_are_bounded() {
        let a = Admission::new(limits());
        let t0 = Instant::now();
        for i in 0..MAX_REMEMBERED + 10 {
            let _ = a.remember(MAC, &i.to_string(), t0);
        }
        let r = a.remembered.lock().expect("lock");
        assert!(r.replies.len() <= MAX_REMEMBERED);
        assert_eq!(r.replies.len(), r.order.len());
    }
}
