//! The bounded, ordered buffer of events waiting for NATS. Producers never wait: when it is full the
//! oldest event is dropped and counted. The sender takes from the front only after the server
//! acknowledged, so an outage loses nothing that fits.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::model::Event;
use crate::store::Observer;

/// Watches the outbox's size (the NATS gauges); called under no lock.
pub trait Gauges: Send + Sync {
    fn set(&self, buffered: usize, dropped: u64);
}

pub struct Outbox {
    queue: Mutex<VecDeque<Event>>,
    capacity: usize,
    dropped: AtomicU64,
    notify: Notify,
    gauges: Option<std::sync::Arc<dyn Gauges>>,
}

impl Observer for Outbox {
    fn event(&self, event: &Event) {
        Outbox::push(self, event.clone());
    }
}

impl Outbox {
    pub fn new(capacity: usize, gauges: Option<std::sync::Arc<dyn Gauges>>) -> Outbox {
        Outbox {
            queue: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
            notify: Notify::new(),
            gauges,
        }
    }

    fn report(&self, len: usize) {
        if let Some(g) = &self.gauges {
            g.set(len, self.dropped.load(Ordering::Relaxed));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Event>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends; drops the oldest when full. Never blocks.
    pub fn push(&self, event: Event) {
        let len = {
            let mut q = self.lock();
            if q.len() >= self.capacity {
                q.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            q.push_back(event);
            q.len()
        };
        self.report(len);
        self.notify.notify_one();
    }

    /// A copy of the oldest event.
    pub fn front(&self) -> Option<Event> {
        self.lock().front().cloned()
    }

    /// Removes the oldest event if it is still `id` (it may have been dropped for space meanwhile).
    pub fn pop_if(&self, id: &str) {
        let len = {
            let mut q = self.lock();
            if q.front().is_some_and(|e| e.id == id) {
                q.pop_front();
            }
            q.len()
        };
        self.report(len);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Resolves after the next push (or at once if one happened since the last wait).
    pub async fn pushed(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventKind;

    fn ev(n: u32) -> Event {
        Event {
            schema_version: 1,
            id: format!("t-{n}"),
            partition: "t".into(),
            mac: crate::model::MacAddr([2, 0, 0, 0, 0, 1]),
            at_ms: i64::from(n),
            kind: EventKind::Recovered,
        }
    }

    #[test]
    fn keeps_order_and_drops_the_oldest_when_full() {
        let o = Outbox::new(3, None);
        for n in 0..5 {
            o.push(ev(n));
        }
        assert_eq!(o.len(), 3);
        assert_eq!(o.dropped(), 2);
        assert_eq!(o.front().map(|e| e.id), Some("t-2".into()));
        o.pop_if("t-9");
        assert_eq!(o.len(), 3, "pop_if only removes the named front");
        o.pop_if("t-2");
        assert_eq!(o.front().map(|e| e.id), Some("t-3".into()));
    }
}
