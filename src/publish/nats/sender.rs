//! The one task that writes to JetStream: while connected it publishes buffered events in order
//! (each publish and its ack under `publish-timeout`, the event id as message id so a retry is
//! stored once), then mirrors changed snapshots into the KV bucket (deleting keys of BMCs that are
//! gone). After every (re)connect it sets up the stream and bucket and rewrites every BMC's entry.
//!
//! A message larger than the server's `max_payload` can never be sent: it is dropped, counted and
//! logged with its BMC, and the messages behind it flow on.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::dirty::Dirty;
use super::outbox::{Outbox, Queued};
use super::{event_subject, kv_key};
use crate::config::Nats as NatsConfig;
use crate::model::MacAddr;
use crate::store::Store;

/// Room left for what NATS adds to a body (the `Nats-Msg-Id` header, the protocol line).
const HEADER_ROOM: usize = 512;

/// NATS self-metrics.
#[derive(Debug, Default)]
pub struct NatsStats {
    connected: Gauge,
    buffered: Gauge,
    dropped: Counter,
    published: Family<Vec<(&'static str, String)>, Counter>,
    errors: Counter,
    unsendable: Family<Vec<(&'static str, String)>, Counter>,
    commands: Family<Vec<(&'static str, String)>, Counter>,
}

impl super::outbox::Gauges for NatsStats {
    fn set(&self, buffered: usize, dropped: u64) {
        self.buffered.set(buffered as i64);
        // The outbox counts drops since start; the counter takes the difference (one sender sets it).
        let seen = self.dropped.get();
        if dropped > seen {
            self.dropped.inc_by(dropped - seen);
        }
    }
}

impl NatsStats {
    pub fn register(&self, r: &mut Registry) {
        // Every result is listed from the start, at 0, so `rate()` and `increase()` see the first one.
        for result in ["ok", "error"] {
            drop(
                self.commands
                    .get_or_create(&vec![("result", result.to_string())]),
            );
        }
        r.register(
            "bmc_catcher_nats_connected",
            "1 while connected to NATS",
            self.connected.clone(),
        );
        r.register(
            "bmc_catcher_nats_buffered_events",
            "Events waiting in memory for NATS",
            self.buffered.clone(),
        );
        r.register(
            "bmc_catcher_nats_dropped_events",
            "Events dropped because the buffer was full (oldest first)",
            self.dropped.clone(),
        );
        r.register(
            "bmc_catcher_nats_published",
            "Messages acknowledged by JetStream, by what (event, kv_put, kv_delete)",
            self.published.clone(),
        );
        r.register(
            "bmc_catcher_nats_publish_errors",
            "Publishes that failed or timed out (retried)",
            self.errors.clone(),
        );
        r.register(
            "bmc_catcher_nats_unsendable",
            "Messages dropped because they exceed the server's max_payload, by what (event, kv_put)",
            self.unsendable.clone(),
        );
        r.register(
            "bmc_catcher_nats_commands",
            "Commands answered, by result",
            self.commands.clone(),
        );
    }

    pub fn command(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.commands
            .get_or_create_owned(&vec![("result", result.to_string())])
            .inc();
    }

    fn published(&self, what: &str) {
        self.published
            .get_or_create_owned(&vec![("what", what.to_string())])
            .inc();
    }

    /// Counts and logs a message that can never be sent.
    fn unsendable(&self, what: &str, mac: MacAddr, too_large: TooLarge) {
        self.unsendable
            .get_or_create_owned(&vec![("what", what.to_string())])
            .inc();
        tracing::error!(
            bmc.mac = %mac,
            what,
            bytes = too_large.bytes,
            max_payload = too_large.max,
            "nats message larger than the server takes, dropped"
        );
    }
}

/// A body the server would refuse whatever we do.
#[derive(Debug, Clone, Copy)]
struct TooLarge {
    bytes: usize,
    max: usize,
}

/// Whether a body of `bytes` fits the server's `max_payload` (0: not known yet).
fn fits(max: usize, bytes: usize) -> Result<(), TooLarge> {
    if max > 0 && bytes + HEADER_ROOM > max {
        Err(TooLarge { bytes, max })
    } else {
        Ok(())
    }
}

/// Why a publish did not happen.
enum Failure {
    /// Never sendable: drop it.
    TooLarge(TooLarge),
    /// Try again later.
    Retry(String),
}

async fn setup(js: &jetstream::Context, cfg: &NatsConfig) -> Result<kv::Store, String> {
    js.get_or_create_stream(stream::Config {
        name: cfg.stream.clone(),
        subjects: vec![format!("{}.*.*.event.>", cfg.subject_prefix)],
        duplicate_window: cfg.duplicate_window,
        num_replicas: cfg.replicas,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("stream {}: {e}", cfg.stream))?;
    super::kv_bucket(
        js,
        cfg,
        &cfg.kv_bucket,
        "bmc-catcher: latest snapshot per BMC, key <partition>.<mac>",
    )
    .await
}

async fn publish_event(
    max_payload: usize,
    js: &jetstream::Context,
    cfg: &NatsConfig,
    q: &Queued,
) -> Result<(), Failure> {
    let e = &q.event;
    fits(max_payload, q.body.len()).map_err(Failure::TooLarge)?;
    let subject = event_subject(&cfg.subject_prefix, &e.partition, e.mac, e.kind.name());
    let msg = jetstream::message::PublishMessage::build()
        .payload(q.body.clone())
        .message_id(&e.id);
    let t = cfg.publish_timeout;
    let ack = tokio::time::timeout(t, js.send_publish(subject, msg))
        .await
        .map_err(|_| Failure::Retry(format!("publish of {} timed out", e.id)))?
        .map_err(|err| Failure::Retry(format!("publish of {}: {err}", e.id)))?;
    tokio::time::timeout(t, ack)
        .await
        .map_err(|_| Failure::Retry(format!("ack of {} timed out", e.id)))?
        .map_err(|err| Failure::Retry(format!("ack of {}: {err}", e.id)))?;
    Ok(())
}

/// KV writes in flight at once. One at a time, each waiting for its ack, a pass over 5,000 changed
/// BMCs took longer than a poll interval on a loaded R3 cluster: snapshots went stale in the bucket.
const KV_WRITES_IN_FLIGHT: usize = 64;

/// What one KV write did.
enum Wrote {
    Done(&'static str),
    /// Nothing to write (not polled yet, handed over, too large: counted).
    Skipped,
    Failed(MacAddr, String),
    /// Not tried: an earlier write of the pass failed (NATS is likely down); retried later.
    NotTried(MacAddr),
}

async fn mirror(
    max_payload: usize,
    kv: &kv::Store,
    cfg: &NatsConfig,
    store: &Store,
    dirty: &Dirty,
    stats: &NatsStats,
) -> Result<(), String> {
    use futures::StreamExt;
    let macs = dirty.take();
    let t = cfg.publish_timeout;
    let broken = std::sync::atomic::AtomicBool::new(false);
    let broken = &broken;
    // Each key once per pass (`take` drains a set), so writes of one key never overtake each other.
    let writes = futures::stream::iter(macs).map(|mac| async move {
        if broken.load(std::sync::atomic::Ordering::Relaxed) {
            return Wrote::NotTried(mac);
        }
        let key = kv_key(store.partition(), mac);
        let result = match store.get(mac) {
            Some(entry) => match entry.snapshot {
                Some(snap) => match serde_json::to_vec(&snap) {
                    Ok(body) => match fits(max_payload, body.len()) {
                        Ok(()) => tokio::time::timeout(t, kv.put(&key, body.into()))
                            .await
                            .map_err(|_| "timed out".to_string())
                            .and_then(|r| r.map(|_| "kv_put").map_err(|e| e.to_string())),
                        Err(too_large) => {
                            stats.unsendable("kv_put", mac, too_large);
                            return Wrote::Skipped;
                        }
                    },
                    Err(e) => Err(e.to_string()),
                },
                None => return Wrote::Skipped,
            },
            // Handed over: the key is the new owner's now.
            None if dirty.is_released(mac) => return Wrote::Skipped,
            None => tokio::time::timeout(t, kv.delete(&key))
                .await
                .map_err(|_| "timed out".to_string())
                .and_then(|r| r.map(|_| "kv_delete").map_err(|e| e.to_string())),
        };
        match result {
            Ok(what) => Wrote::Done(what),
            Err(e) => {
                broken.store(true, std::sync::atomic::Ordering::Relaxed);
                Wrote::Failed(mac, format!("kv {key}: {e}"))
            }
        }
    });
    let mut writes = writes.buffer_unordered(KV_WRITES_IN_FLIGHT);
    let mut failed = Vec::new();
    let mut first_error = None;
    while let Some(w) = writes.next().await {
        match w {
            Wrote::Done(what) => stats.published(what),
            Wrote::Skipped => {}
            Wrote::Failed(mac, e) => {
                failed.push(mac);
                first_error.get_or_insert(e);
            }
            Wrote::NotTried(mac) => failed.push(mac),
        }
    }
    match first_error {
        None => Ok(()),
        Some(e) => {
            let n = failed.len();
            dirty.requeue(failed);
            Err(format!("{e} ({n} KV writes to retry)"))
        }
    }
}

/// What the store feeds the sender: events to publish in order, BMCs whose KV key to rewrite.
pub struct Outputs {
    pub outbox: Arc<Outbox>,
    pub dirty: Arc<Dirty>,
}

/// Publishes until `cancel`; then one last bounded attempt to flush.
pub async fn run(
    client: async_nats::Client,
    cfg: NatsConfig,
    store: Arc<Store>,
    outputs: Outputs,
    mut connected: watch::Receiver<bool>,
    stats: Arc<NatsStats>,
    cancel: CancellationToken,
) {
    let js = jetstream::new(client.clone());
    let mut kv: Option<kv::Store> = None;
    let mut backoff = Duration::from_millis(200);
    loop {
        let up = *connected.borrow_and_update();
        stats.connected.set(i64::from(up));
        if !up {
            // After a disconnect the KV is rewritten in full once we are back.
            if kv.take().is_some() {
                tracing::info!("nats down: buffering events");
            }
            tokio::select! {
                _ = connected.changed() => continue,
                _ = cancel.cancelled() => return,
            }
        }
        if kv.is_none() {
            match setup(&js, &cfg).await {
                Ok(store_kv) => {
                    kv = Some(store_kv);
                    outputs
                        .dirty
                        .mark_all(store.entries().iter().map(|e| e.target.mac));
                    tracing::info!(stream = %cfg.stream, bucket = %cfg.kv_bucket, "nats: stream and bucket ready");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "nats: JetStream setup failed, retrying");
                    if sleep_or_cancel(backoff, &cancel).await {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        let mut failed = None;
        // Read once per pass: `server_info()` copies the whole INFO (its URLs and strings).
        let max_payload = client.server_info().max_payload;
        while let Some(q) = outputs.outbox.front() {
            match publish_event(max_payload, &js, &cfg, &q).await {
                Ok(()) => {
                    outputs.outbox.pop_if(&q.event.id);
                    stats.published("event");
                }
                Err(Failure::TooLarge(too_large)) => {
                    outputs.outbox.pop_if(&q.event.id);
                    stats.unsendable("event", q.event.mac, too_large);
                }
                Err(Failure::Retry(err)) => {
                    failed = Some(err);
                    break;
                }
            }
        }
        if failed.is_none()
            && let Some(kv) = &kv
            && let Err(e) = mirror(max_payload, kv, &cfg, &store, &outputs.dirty, &stats).await
        {
            failed = Some(e);
        }
        if let Some(err) = failed {
            stats.errors.inc();
            tracing::warn!(error = %err, buffered = outputs.outbox.len(), "nats publish failed, will retry");
            if sleep_or_cancel(backoff, &cancel).await {
                return;
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        }
        backoff = Duration::from_millis(200);
        tokio::select! {
            _ = outputs.outbox.pushed() => {}
            _ = outputs.dirty.changed() => {}
            _ = connected.changed() => {}
            _ = cancel.cancelled() => {
                flush_on_shutdown(client.server_info().max_payload, &js, &cfg, &outputs.outbox).await;
                return;
            }
        }
    }
}

/// True when cancelled.
async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = cancel.cancelled() => true,
    }
}

async fn flush_on_shutdown(
    max_payload: usize,
    js: &jetstream::Context,
    cfg: &NatsConfig,
    outbox: &Outbox,
) {
    let deadline = tokio::time::Instant::now() + cfg.publish_timeout;
    while let Some(q) = outbox.front() {
        let retry = matches!(
            publish_event(max_payload, js, cfg, &q).await,
            Err(Failure::Retry(_))
        );
        if tokio::time::Instant::now() > deadline || retry {
            tracing::warn!(
                left = outbox.len(),
                "nats: events not published before shutdown"
            );
            return;
        }
        outbox.pop_if(&q.event.id);
    }
}

#[cfg(test)]
mod tests {
    use super::super::outbox::Gauges;
    use super::*;
    use crate::publish::metrics::{Format, render};

    /// What promtool and `rate()` need: drops are a `_total` counter that follows the outbox's
    /// count, and the command results exist at 0 before the first command.
    #[test]
    fn drops_are_a_counter_and_results_start_at_zero() {
        let stats = NatsStats::default();
        let mut r = Registry::default();
        stats.register(&mut r);
        stats.set(3, 5);
        stats.set(0, 7);
        let text = render(&r, Format::Text).expect("render");
        for line in [
            "# TYPE bmc_catcher_nats_dropped_events_total counter",
            "bmc_catcher_nats_dropped_events_total 7",
            "bmc_catcher_nats_buffered_events 0",
            "bmc_catcher_nats_commands_total{result=\"ok\"} 0",
            "bmc_catcher_nats_commands_total{result=\"error\"} 0",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
