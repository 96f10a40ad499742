//! The one task that writes to JetStream: while connected it publishes buffered events in order
//! (each publish and its ack under `publish-timeout`, the event id as message id so a retry is
//! stored once), then mirrors changed snapshots into the KV bucket (deleting keys of BMCs that are
//! gone). After every (re)connect it sets up the stream and bucket and rewrites every BMC's entry.

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
use super::outbox::Outbox;
use super::{event_subject, kv_key};
use crate::config::Nats as NatsConfig;
use crate::model::Event;
use crate::store::Store;

/// NATS self-metrics.
#[derive(Debug, Default)]
pub struct NatsStats {
    connected: Gauge,
    buffered: Gauge,
    dropped: Gauge,
    published: Family<Vec<(&'static str, String)>, Counter>,
    errors: Counter,
    commands: Family<Vec<(&'static str, String)>, Counter>,
}

impl super::outbox::Gauges for NatsStats {
    fn set(&self, buffered: usize, dropped: u64) {
        self.buffered.set(buffered as i64);
        self.dropped.set(dropped as i64);
    }
}

impl NatsStats {
    pub fn register(&self, r: &mut Registry) {
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
            "Events dropped because the buffer was full (oldest first), since start",
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

async fn publish_event(js: &jetstream::Context, cfg: &NatsConfig, e: &Event) -> Result<(), String> {
    let subject = event_subject(&cfg.subject_prefix, &e.partition, e.mac, e.kind.name());
    let body = serde_json::to_vec(e).map_err(|e| e.to_string())?;
    let msg = jetstream::message::PublishMessage::build()
        .payload(body.into())
        .message_id(&e.id);
    let t = cfg.publish_timeout;
    let ack = tokio::time::timeout(t, js.send_publish(subject, msg))
        .await
        .map_err(|_| format!("publish of {} timed out", e.id))?
        .map_err(|err| format!("publish of {}: {err}", e.id))?;
    tokio::time::timeout(t, ack)
        .await
        .map_err(|_| format!("ack of {} timed out", e.id))?
        .map_err(|err| format!("ack of {}: {err}", e.id))?;
    Ok(())
}

async fn mirror(
    kv: &kv::Store,
    cfg: &NatsConfig,
    store: &Store,
    dirty: &Dirty,
    stats: &NatsStats,
) -> Result<(), String> {
    let macs = dirty.take();
    for (i, mac) in macs.iter().enumerate() {
        let key = kv_key(store.partition(), *mac);
        let t = cfg.publish_timeout;
        let result = match store.get(*mac) {
            Some(entry) => match entry.snapshot {
                Some(snap) => match serde_json::to_vec(&snap) {
                    Ok(body) => tokio::time::timeout(t, kv.put(&key, body.into()))
                        .await
                        .map_err(|_| "timed out".to_string())
                        .and_then(|r| r.map(|_| "kv_put").map_err(|e| e.to_string())),
                    Err(e) => Err(e.to_string()),
                },
                None => continue,
            },
            None => tokio::time::timeout(t, kv.delete(&key))
                .await
                .map_err(|_| "timed out".to_string())
                .and_then(|r| r.map(|_| "kv_delete").map_err(|e| e.to_string())),
        };
        match result {
            Ok(what) => stats.published(what),
            Err(e) => {
                dirty.requeue(macs[i..].iter().copied());
                return Err(format!("kv {key}: {e}"));
            }
        }
    }
    Ok(())
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
    let js = jetstream::new(client);
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
        while let Some(e) = outputs.outbox.front() {
            match publish_event(&js, &cfg, &e).await {
                Ok(()) => {
                    outputs.outbox.pop_if(&e.id);
                    stats.published("event");
                }
                Err(err) => {
                    failed = Some(err);
                    break;
                }
            }
        }
        if failed.is_none()
            && let Some(kv) = &kv
            && let Err(e) = mirror(kv, &cfg, &store, &outputs.dirty, &stats).await
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
                flush_on_shutdown(&js, &cfg, &outputs.outbox).await;
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

async fn flush_on_shutdown(js: &jetstream::Context, cfg: &NatsConfig, outbox: &Outbox) {
    let deadline = tokio::time::Instant::now() + cfg.publish_timeout;
    while let Some(e) = outbox.front() {
        if tokio::time::Instant::now() > deadline || publish_event(js, cfg, &e).await.is_err() {
            tracing::warn!(
                left = outbox.len(),
                "nats: events not published before shutdown"
            );
            return;
        }
        outbox.pop_if(&e.id);
    }
}
