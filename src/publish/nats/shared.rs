//! Per-BMC state a catcher shares with the other catchers of its partition through a JetStream KV
//! bucket ([`Shared`]: the log cursors, `cursors.rs`; the capability profiles, `profiles.rs`), so
//! the catcher that takes a BMC over starts from what its last owner knew.
//!
//! Key `<partition>.<mac>`, value the state as JSON. Every [`SHARE_EVERY`] what changed here is put
//! (what was forgotten here is deleted); a watch on the partition's keys merges what others put
//! (the state's own rule decides which wins; our own puts come back and change nothing). A value
//! from the bucket is hostile like any input: one larger than [`MAX_VALUE`], unreadable or over the
//! state's bounds is skipped with a warning. At stop the last changes are put once more, under
//! `publish-timeout`. A round that fails (no bucket, a watch that ends, a put refused) waits for the
//! next connection and starts over; what was not put is kept for it.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::mac_token;
use crate::config::Nats as NatsConfig;
use crate::model::MacAddr;

/// How often what changed here is written.
pub const SHARE_EVERY: Duration = Duration::from_secs(1);
/// The largest value read from a bucket.
pub const MAX_VALUE: usize = 64 << 10;

/// Per-BMC state kept in a KV bucket, one key per BMC.
pub trait Shared: Send + Sync + 'static {
    type Value: Serialize + DeserializeOwned + Send;
    /// What is shared, for messages (`log cursors`).
    const WHAT: &'static str;
    /// The bucket's description, set when it is created.
    const DESCRIPTION: &'static str;
    /// The bucket's name in `[nats]`.
    fn bucket_name(cfg: &NatsConfig) -> &str;
    /// Whether a value (from the bucket) is within its bounds.
    fn check(value: &Self::Value) -> Result<(), String>;
    /// What changed here since the last call, with the value (`None`: forgotten).
    fn take_changed(&self) -> Vec<(MacAddr, Option<Self::Value>)>;
    /// Gives `mac` back to the next [`Shared::take_changed`] (writing it failed).
    fn mark_changed(&self, mac: MacAddr);
    /// Takes a value another catcher put; true if it replaced the one here.
    fn merge(&self, mac: MacAddr, theirs: Self::Value) -> Result<bool, String>;
}

/// Why one round of sharing stopped (the task waits for the next connection and starts over).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{what}: bucket {bucket}: {detail}")]
    Bucket {
        what: &'static str,
        bucket: String,
        detail: String,
    },
    #[error("{what}: watching {bucket} {keys}: {detail}")]
    Watch {
        what: &'static str,
        bucket: String,
        keys: String,
        detail: String,
    },
    #[error("{what}: writing {key}: {detail}")]
    Put {
        what: &'static str,
        key: String,
        detail: String,
    },
}

/// `T`'s bucket, created on first use.
pub async fn bucket<T: Shared>(
    js: &jetstream::Context,
    cfg: &NatsConfig,
) -> Result<kv::Store, String> {
    super::kv_bucket(js, cfg, T::bucket_name(cfg), T::DESCRIPTION).await
}

fn key(partition: &str, mac: MacAddr) -> String {
    format!("{partition}.{}", mac_token(mac))
}

/// Reads one put of the watch: the BMC and its value, or why it is skipped.
pub(super) fn parse<T: Shared>(
    prefix: &str,
    key: &str,
    value: &[u8],
) -> Result<(MacAddr, T::Value), String> {
    let mac = key
        .strip_prefix(prefix)
        .and_then(|m| m.parse::<MacAddr>().ok())
        .ok_or_else(|| "a key that names no MAC".to_string())?;
    if value.len() > MAX_VALUE {
        return Err(format!("{} bytes, more than {MAX_VALUE}", value.len()));
    }
    let v = serde_json::from_slice::<T::Value>(value).map_err(|e| e.to_string())?;
    T::check(&v)?;
    Ok((mac, v))
}

/// Writes what changed here since the last write; what cannot be written is kept for the next.
async fn share<T: Shared>(
    kv: &kv::Store,
    partition: &str,
    state: &T,
    timeout: Duration,
) -> Result<usize, SyncError> {
    let changed = state.take_changed();
    let n = changed.len();
    let mut failed: Option<SyncError> = None;
    for (mac, value) in changed {
        if failed.is_some() {
            state.mark_changed(mac);
            continue;
        }
        let key = key(partition, mac);
        let done = match value {
            Some(v) => {
                let body = match serde_json::to_vec(&v) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(bmc.mac = %mac, error = %e, what = T::WHAT, "cannot encode, skipped");
                        continue;
                    }
                };
                tokio::time::timeout(timeout, kv.put(&key, body.into()))
                    .await
                    .map(|r| r.map(drop).map_err(|e| e.to_string()))
            }
            None => tokio::time::timeout(timeout, kv.delete(&key))
                .await
                .map(|r| r.map_err(|e| e.to_string())),
        };
        let detail = match done {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(_) => format!("no answer within {timeout:?}"),
        };
        state.mark_changed(mac);
        failed = Some(SyncError::Put {
            what: T::WHAT,
            key,
            detail,
        });
    }
    failed.map_or(Ok(n), Err)
}

/// One connected round: watch and merge, share every second, until an error, a disconnect or
/// `cancel` (then a last share).
async fn round<T: Shared>(
    js: &jetstream::Context,
    cfg: &NatsConfig,
    partition: &str,
    state: &T,
    connected: &mut watch::Receiver<bool>,
    cancel: &CancellationToken,
) -> Result<(), SyncError> {
    let bucket_name = || T::bucket_name(cfg).to_string();
    let kv = bucket::<T>(js, cfg)
        .await
        .map_err(|detail| SyncError::Bucket {
            what: T::WHAT,
            bucket: bucket_name(),
            detail,
        })?;
    let prefix = format!("{partition}.");
    let keys = format!("{prefix}>");
    let watch_failed = |detail: String| SyncError::Watch {
        what: T::WHAT,
        bucket: bucket_name(),
        keys: keys.clone(),
        detail,
    };
    let mut updates = kv
        .watch_with_history(&keys)
        .await
        .map_err(|e| watch_failed(e.to_string()))?;
    let mut tick = tokio::time::interval(SHARE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            update = updates.next() => match update {
                Some(Ok(entry)) if entry.operation != kv::Operation::Put => {}
                Some(Ok(entry)) => match parse::<T>(&prefix, &entry.key, &entry.value) {
                    Ok((mac, theirs)) => {
                        if let Err(e) = state.merge(mac, theirs) {
                            tracing::warn!(key = %entry.key, error = %e, what = T::WHAT, "value from NATS KV refused");
                        }
                    }
                    Err(e) => tracing::warn!(key = %entry.key, error = %e, what = T::WHAT, "unreadable value in NATS KV, skipped"),
                },
                Some(Err(e)) => return Err(watch_failed(e.to_string())),
                None => return Err(watch_failed("the watch ended".into())),
            },
            _ = tick.tick() => {
                share(&kv, partition, state, cfg.publish_timeout).await?;
            }
            r = connected.changed() => {
                if r.is_err() || !*connected.borrow() {
                    return Ok(());
                }
            }
            _ = cancel.cancelled() => {
                share(&kv, partition, state, cfg.publish_timeout).await?;
                return Ok(());
            }
        }
    }
}

/// Shares `state` through its bucket until `cancel` (see the module docs).
pub async fn run<T: Shared>(
    client: async_nats::Client,
    cfg: NatsConfig,
    partition: String,
    state: Arc<T>,
    mut connected: watch::Receiver<bool>,
    cancel: CancellationToken,
) {
    let js = jetstream::new(client);
    loop {
        if !*connected.borrow_and_update() {
            tokio::select! {
                r = connected.changed() => if r.is_err() { return } else { continue },
                _ = cancel.cancelled() => return,
            }
        }
        if let Err(e) = round(&js, &cfg, &partition, &*state, &mut connected, &cancel).await {
            tracing::warn!(error = %e, "NATS KV sync failed, retrying");
        }
        if cancel.is_cancelled() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(SHARE_EVERY) => {}
            _ = cancel.cancelled() => return,
        }
    }
}
