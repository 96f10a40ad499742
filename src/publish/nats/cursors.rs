//! The log cursors (`hal::cursors`) shared through a JetStream KV bucket (`[nats]
//! log-cursors-bucket`), so a BMC that another catcher of the partition takes over (a hand-over,
//! a restart elsewhere, a rebuilt management server) is read on from where the last reader stopped:
//! no entry reported twice, none skipped as "already there at the first read".
//!
//! Key `<partition>.<mac>`, value [`BmcCursors`] as JSON (the cursors by log and the time they
//! were noted). Every second the cursors noted here since the last write are put; a watch on the
//! partition's keys merges what others put (the newer stamp wins; our own puts come back equal and
//! change nothing). A value from the bucket is hostile like any input: one larger than
//! [`MAX_VALUE`], unreadable or over the bounds of [`BmcCursors::check`] is skipped with a warning.
//! At stop the last changes are put once more, under `publish-timeout`.
//!
//! A cursor noted in the last second before a catcher is killed does not reach the bucket: the
//! next reader reports those few entries again (at least once, never lost). Stamps are wall-clock
//! milliseconds of the noting host, so the management servers' clocks should agree (NTP).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::mac_token;
use crate::config::Nats as NatsConfig;
use crate::hal::cursors::{BmcCursors, Cursors};
use crate::model::MacAddr;

/// How often the cursors noted here are written.
pub const SHARE_EVERY: Duration = Duration::from_secs(1);
/// The largest value read from the bucket.
pub const MAX_VALUE: usize = 64 << 10;

/// Why one round of sharing stopped (the task waits for the next connection and starts over).
#[derive(Debug, thiserror::Error)]
pub enum CursorSyncError {
    #[error("log cursors: bucket {bucket}: {detail}")]
    Bucket { bucket: String, detail: String },
    #[error("log cursors: watching {bucket} {keys}: {detail}")]
    Watch {
        bucket: String,
        keys: String,
        detail: String,
    },
    #[error("log cursors: writing {key}: {detail}")]
    Put { key: String, detail: String },
}

/// The bucket, created on first use.
pub async fn bucket(js: &jetstream::Context, cfg: &NatsConfig) -> Result<kv::Store, String> {
    super::kv_bucket(
        js,
        cfg,
        &cfg.log_cursors_bucket,
        "bmc-catcher: where each BMC's logs were read up to, key <partition>.<mac>",
    )
    .await
}

fn key(partition: &str, mac: MacAddr) -> String {
    format!("{partition}.{}", mac_token(mac))
}

/// Reads one put of the watch: the BMC and its cursors, or why it is skipped.
fn parse(prefix: &str, key: &str, value: &[u8]) -> Result<(MacAddr, BmcCursors), String> {
    let mac = key
        .strip_prefix(prefix)
        .and_then(|m| m.parse::<MacAddr>().ok())
        .ok_or_else(|| "a key that names no MAC".to_string())?;
    if value.len() > MAX_VALUE {
        return Err(format!("{} bytes, more than {MAX_VALUE}", value.len()));
    }
    let cursors = serde_json::from_slice::<BmcCursors>(value).map_err(|e| e.to_string())?;
    Ok((mac, cursors))
}

/// Writes what changed here since the last write; what cannot be written is kept for the next.
async fn share(
    kv: &kv::Store,
    partition: &str,
    cursors: &Cursors,
    timeout: Duration,
) -> Result<usize, CursorSyncError> {
    let changed = cursors.take_changed();
    let n = changed.len();
    let mut failed: Option<CursorSyncError> = None;
    for (mac, value) in changed {
        if failed.is_some() {
            cursors.mark_changed(mac);
            continue;
        }
        let key = key(partition, mac);
        let body = match serde_json::to_vec(&value) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(bmc.mac = %mac, error = %e, "log cursors: cannot encode, skipped");
                continue;
            }
        };
        let put = tokio::time::timeout(timeout, kv.put(&key, body.into())).await;
        let detail = match put {
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {timeout:?}"),
        };
        cursors.mark_changed(mac);
        failed = Some(CursorSyncError::Put { key, detail });
    }
    failed.map_or(Ok(n), Err)
}

/// One connected round: watch and merge, share every second, until an error, a disconnect or
/// `cancel` (then a last share).
async fn round(
    js: &jetstream::Context,
    cfg: &NatsConfig,
    partition: &str,
    cursors: &Cursors,
    connected: &mut watch::Receiver<bool>,
    cancel: &CancellationToken,
) -> Result<(), CursorSyncError> {
    let kv = bucket(js, cfg)
        .await
        .map_err(|detail| CursorSyncError::Bucket {
            bucket: cfg.log_cursors_bucket.clone(),
            detail,
        })?;
    let prefix = format!("{partition}.");
    let keys = format!("{prefix}>");
    let mut updates = kv
        .watch_with_history(&keys)
        .await
        .map_err(|e| CursorSyncError::Watch {
            bucket: cfg.log_cursors_bucket.clone(),
            keys: keys.clone(),
            detail: e.to_string(),
        })?;
    let mut tick = tokio::time::interval(SHARE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            update = updates.next() => match update {
                Some(Ok(entry)) if entry.operation != kv::Operation::Put => {}
                Some(Ok(entry)) => match parse(&prefix, &entry.key, &entry.value) {
                    Ok((mac, theirs)) => {
                        if let Err(e) = cursors.merge(mac, theirs) {
                            tracing::warn!(key = %entry.key, error = %e, "log cursors from NATS KV refused");
                        }
                    }
                    Err(e) => tracing::warn!(key = %entry.key, error = %e, "unreadable log cursors in NATS KV, skipped"),
                },
                Some(Err(e)) => return Err(CursorSyncError::Watch { bucket: cfg.log_cursors_bucket.clone(), keys, detail: e.to_string() }),
                None => return Err(CursorSyncError::Watch { bucket: cfg.log_cursors_bucket.clone(), keys, detail: "the watch ended".into() }),
            },
            _ = tick.tick() => {
                share(&kv, partition, cursors, cfg.publish_timeout).await?;
            }
            r = connected.changed() => {
                if r.is_err() || !*connected.borrow() {
                    return Ok(());
                }
            }
            _ = cancel.cancelled() => {
                share(&kv, partition, cursors, cfg.publish_timeout).await?;
                return Ok(());
            }
        }
    }
}

/// Shares `cursors` through the bucket until `cancel` (see the module docs).
pub async fn run(
    client: async_nats::Client,
    cfg: NatsConfig,
    partition: String,
    cursors: Arc<Cursors>,
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
        if let Err(e) = round(&js, &cfg, &partition, &cursors, &mut connected, &cancel).await {
            tracing::warn!(error = %e, "log cursors: NATS KV sync failed, retrying");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_the_bucket_are_read_with_their_bounds() {
        let p = "rack1.";
        let k = "rack1.02-00-00-00-00-01";
        let (mac, c) = parse(p, k, br#"{"at_ms":5,"logs":{"sel":7}}"#).expect("ok");
        assert_eq!(mac, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(c.at_ms, 5);
        assert_eq!(c.logs["sel"], serde_json::json!(7));
        assert!(parse(p, "rack1.not-a-mac", b"{}").is_err());
        assert!(parse(p, "rack2.02-00-00-00-00-01", b"{}").is_err());
        assert!(parse(p, k, b"{not json").is_err());
        let huge = vec![b' '; MAX_VALUE + 1];
        assert!(parse(p, k, &huge).unwrap_err().contains("more than"));
        assert!(parse(p, k, br#"{"at_ms":5,"logs":{},"extra":1}"#).is_err());
    }
}
