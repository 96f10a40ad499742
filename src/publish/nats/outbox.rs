//! The bounded, ordered buffer of events waiting for NATS, each kept with its JSON body. Producers
//! never wait: past its count or byte bound the oldest events are dropped and counted. The sender
//! takes from the front only after the server acknowledged, so an outage loses nothing that fits.

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

/// One event waiting, with the body that will be published.
#[derive(Debug, Clone)]
pub struct Queued {
    pub event: Event,
    pub body: bytes::Bytes,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Queued>,
    bytes: usize,
}

pub struct Outbox {
    queue: Mutex<Queue>,
    capacity: usize,
    byte_capacity: usize,
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
    /// At most `capacity` events and `byte_capacity` bytes of bodies.
    pub fn new(
        capacity: usize,
        byte_capacity: usize,
        gauges: Option<std::sync::Arc<dyn Gauges>>,
    ) -> Outbox {
        Outbox {
            queue: Mutex::new(Queue::default()),
            capacity: capacity.max(1),
            byte_capacity,
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends; drops the oldest while over the count or byte bound. Never blocks.
    pub fn push(&self, event: Event) {
        let body = match serde_json::to_vec(&event) {
            Ok(b) => bytes::Bytes::from(b),
            Err(e) => {
                tracing::error!(bmc.mac = %event.mac, event.id = %event.id, error = %e, "event cannot be encoded, dropped");
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let len = {
            let mut q = self.lock();
            q.bytes += body.len();
            q.events.push_back(Queued { event, body });
            while q.events.len() > self.capacity
                || (q.bytes > self.byte_capacity && q.events.len() > 1)
            {
                if let Some(old) = q.events.pop_front() {
                    q.bytes -= old.body.len();
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            q.events.len()
        };
        self.report(len);
        self.notify.notify_one();
    }

    /// A copy of the oldest event (the body is shared, not copied).
    pub fn front(&self) -> Option<Queued> {
        self.lock().events.front().cloned()
    }

    /// Removes the oldest event if it is still `id` (it may have been dropped for space meanwhile).
    pub fn pop_if(&self, id: &str) {
        let len = {
            let mut q = self.lock();
            if q.events.front().is_some_and(|e| e.event.id == id)
                && let Some(old) = q.events.pop_front()
            {
                q.bytes -= old.body.len();
            }
            q.events.len()
        };
        self.report(len);
    }

    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// Bytes of the bodies waiting.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
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
        let o = Outbox::new(3, usize::MAX, None);
        for n in 0..5 {
            o.push(ev(n));
        }
        assert_eq!(o.len(), 3);
        assert_eq!(o.dropped(), 2);
        assert_eq!(o.front().map(|e| e.event.id), Some("t-2".into()));
        o.pop_if("t-9");
        assert_eq!(o.len(), 3, "pop_if only removes the named front");
        o.pop_if("t-2");
        assert_eq!(o.front().map(|e| e.event.id), Some("t-3".into()));
    }

    #[test]
    fn is_bounded_in_bytes_as_well_as_in_count() {
        let one = serde_json::to_vec(&ev(0)).expect("json").len();
        let o = Outbox::new(1000, one * 4, None);
        for n in 0..10 {
            o.push(ev(n));
        }
        assert!(o.bytes() <= one * 4, "{} bytes", o.bytes());
        assert_eq!(o.len() as u64 + o.dropped(), 10);
        assert!(o.len() >= 3, "{} kept", o.len());
        assert_eq!(
            o.front().map(|e| e.event.id),
            Some(format!("t-{}", 10 - o.len()))
        );
        let front = o.front().expect("front");
        o.pop_if(&front.event.id);
        let body: Event = serde_json::from_slice(&o.front().expect("next").body).expect("body");
        assert_ne!(body.id, front.event.id);
    }

    #[test]
    fn one_event_larger_than_the_byte_bound_is_still_kept() {
        // The sender drops what NATS can never take (and says so); the outbox only bounds memory.
        let o = Outbox::new(10, 1, None);
        o.push(ev(0));
        assert_eq!(o.len(), 1);
        o.push(ev(1));
        assert_eq!(o.front().map(|e| e.event.id), Some("t-1".into()));
    }
}
