//! The BMC capability profiles (`hal::profiles`) shared through a JetStream KV bucket (`[nats]
//! profiles-bucket`), so a catcher that takes a BMC over (a hand-over, a restart on another
//! management server, a rebuilt one) starts it from what its previous owner found instead of
//! detecting it again.
//!
//! Key `<partition>.<mac>`, value a [`Profile`] as JSON. Every second the profiles that changed here
//! are put (a forgotten, stale one is deleted); a watch on the partition's keys merges what others
//! put (the later `detected_ms` wins; our own puts come back equal and change nothing). A value from
//! the bucket is hostile like any input: one larger than [`MAX_VALUE`], unreadable or over the
//! bounds of [`Profile::check`] is skipped with a warning. At stop the last changes are put once
//! more, under `publish-timeout`. The same loop as the log cursors' (`cursors.rs`).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::mac_token;
use crate::config::Nats as NatsConfig;
use crate::hal::profiles::Profiles;
use crate::model::{MacAddr, Profile};

/// How often the profiles changed here are written.
pub const SHARE_EVERY: Duration = Duration::from_secs(1);
/// The largest value read from the bucket.
pub const MAX_VALUE: usize = 64 << 10;

/// Why one round of sharing stopped (the task waits for the next connection and starts over).
#[derive(Debug, thiserror::Error)]
pub enum ProfileSyncError {
    #[error("BMC profiles: bucket {bucket}: {detail}")]
    Bucket { bucket: String, detail: String },
    #[error("BMC profiles: watching {bucket} {keys}: {detail}")]
    Watch {
        bucket: String,
        keys: String,
        detail: String,
    },
    #[error("BMC profiles: writing {key}: {detail}")]
    Put { key: String, detail: String },
}

/// The bucket, created on first use.
pub async fn bucket(js: &jetstream::Context, cfg: &NatsConfig) -> Result<kv::Store, String> {
    super::kv_bucket(
        js,
        cfg,
        &cfg.profiles_bucket,
        "bmc-catcher: what each BMC turned out to support, key <partition>.<mac>",
    )
    .await
}

fn key(partition: &str, mac: MacAddr) -> String {
    format!("{partition}.{}", mac_token(mac))
}

/// Reads one put of the watch: the BMC and its profile, or why it is skipped.
fn parse(prefix: &str, key: &str, value: &[u8]) -> Result<(MacAddr, Profile), String> {
    let mac = key
        .strip_prefix(prefix)
        .and_then(|m| m.parse::<MacAddr>().ok())
        .ok_or_else(|| "a key that names no MAC".to_string())?;
    if value.len() > MAX_VALUE {
        return Err(format!("{} bytes, more than {MAX_VALUE}", value.len()));
    }
    let profile = serde_json::from_slice::<Profile>(value).map_err(|e| e.to_string())?;
    profile.check()?;
    Ok((mac, profile))
}

/// Writes what changed here since the last write; what cannot be written is kept for the next.
async fn share(
    kv: &kv::Store,
    partition: &str,
    profiles: &Profiles,
    timeout: Duration,
) -> Result<usize, ProfileSyncError> {
    let changed = profiles.take_changed();
    let n = changed.len();
    let mut failed: Option<ProfileSyncError> = None;
    for (mac, value) in changed {
        if failed.is_some() {
            profiles.mark_changed(mac);
            continue;
        }
        let key = key(partition, mac);
        let done = match value {
            Some(p) => {
                let body = match serde_json::to_vec(&p) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(bmc.mac = %mac, error = %e, "BMC profile: cannot encode, skipped");
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
        profiles.mark_changed(mac);
        failed = Some(ProfileSyncError::Put { key, detail });
    }
    failed.map_or(Ok(n), Err)
}

/// One connected round: watch and merge, share every second, until an error, a disconnect or
/// `cancel` (then a last share).
async fn round(
    js: &jetstream::Context,
    cfg: &NatsConfig,
    partition: &str,
    profiles: &Profiles,
    connected: &mut watch::Receiver<bool>,
    cancel: &CancellationToken,
) -> Result<(), ProfileSyncError> {
    let bucket_name = || cfg.profiles_bucket.clone();
    let kv = bucket(js, cfg)
        .await
        .map_err(|detail| ProfileSyncError::Bucket {
            bucket: bucket_name(),
            detail,
        })?;
    let prefix = format!("{partition}.");
    let keys = format!("{prefix}>");
    let mut updates = kv
        .watch_with_history(&keys)
        .await
        .map_err(|e| ProfileSyncError::Watch {
            bucket: bucket_name(),
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
                        if let Err(e) = profiles.merge(mac, theirs) {
                            tracing::warn!(key = %entry.key, error = %e, "BMC profile from NATS KV refused");
                        }
                    }
                    Err(e) => tracing::warn!(key = %entry.key, error = %e, "unreadable BMC profile in NATS KV, skipped"),
                },
                Some(Err(e)) => return Err(ProfileSyncError::Watch { bucket: bucket_name(), keys, detail: e.to_string() }),
                None => return Err(ProfileSyncError::Watch { bucket: bucket_name(), keys, detail: "the watch ended".into() }),
            },
            _ = tick.tick() => {
                share(&kv, partition, profiles, cfg.publish_timeout).await?;
            }
            r = connected.changed() => {
                if r.is_err() || !*connected.borrow() {
                    return Ok(());
                }
            }
            _ = cancel.cancelled() => {
                share(&kv, partition, profiles, cfg.publish_timeout).await?;
                return Ok(());
            }
        }
    }
}

/// Shares `profiles` through the bucket until `cancel` (see the module docs).
pub async fn run(
    client: async_nats::Client,
    cfg: NatsConfig,
    partition: String,
    profiles: Arc<Profiles>,
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
        if let Err(e) = round(&js, &cfg, &partition, &profiles, &mut connected, &cancel).await {
            tracing::warn!(error = %e, "BMC profiles: NATS KV sync failed, retrying");
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
    use crate::model::Protocol;

    #[test]
    fn entries_of_the_bucket_are_read_with_their_bounds() {
        let p = "rack1.";
        let k = "rack1.02-00-00-00-00-01";
        let (mac, profile) = parse(p, k, br#"{"protocol":"ipmi","detected_ms":5}"#).expect("ok");
        assert_eq!(mac, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(profile, Profile::new(Protocol::Ipmi, 5));
        assert!(parse(p, "rack1.not-a-mac", b"{}").is_err());
        assert!(parse(p, "rack2.02-00-00-00-00-01", b"{}").is_err());
        assert!(parse(p, k, b"{not json").is_err());
        let huge = vec![b' '; MAX_VALUE + 1];
        assert!(parse(p, k, &huge).unwrap_err().contains("more than"));
        assert!(parse(p, k, br#"{"protocol":"ipmi","detected_ms":5,"extra":1}"#).is_err());
        let far = br#"{"protocol":"redfish","detected_ms":5,"redfish":{"shape":"none","system":"//10.0.0.9/x"}}"#;
        assert!(parse(p, k, far).is_err(), "a path to another host");
    }
}
