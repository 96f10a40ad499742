//! TLS pins (`tls = "pin"`) kept in a JetStream KV bucket as well as in the local pin file, so a
//! rebuilt or replaced management server keeps trusting exactly the certificates its predecessor
//! pinned. Key `<partition>.<address>` (`:` of IPv6 as `_`), value `{"addr", "sha256"}`.
//!
//! After each (re)connect, and whenever the pin file changed (checked every [`SYNC_EVERY`]), the
//! file and the bucket are compared: pins in the bucket that the local file lacks (and that this
//! process did not see removed) are restored into the file; local pins the bucket lacks or holds
//! differently are written; pins removed locally since the last sync (by hand) are
//! deleted. An unchanged file is not compared again: reading the whole bucket every few seconds
//! would cost NATS a request per pinned BMC. `trust` also writes the key itself, so the bucket
//! holds the pin it set even while no daemon runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Nats as NatsConfig;
use crate::hal::redfish::pin::{self, Pins};

/// How often the pin file is checked for changes.
pub const SYNC_EVERY: Duration = Duration::from_secs(5);

#[derive(serde::Serialize, serde::Deserialize)]
struct Value {
    addr: String,
    sha256: String,
}

fn key(partition: &str, addr: &str) -> String {
    format!("{partition}.{}", addr.replace([':', '[', ']'], "_"))
}

/// The bucket, created on first use.
pub async fn bucket(js: &jetstream::Context, cfg: &NatsConfig) -> Result<kv::Store, String> {
    super::kv_bucket(
        js,
        cfg,
        &cfg.tls_pins_bucket,
        "bmc-catcher: TLS certificate pins, key <partition>.<address>",
    )
    .await
}

/// The partition's pins in the bucket, by address.
async fn remote(kv: &kv::Store, partition: &str) -> Result<Pins, String> {
    let prefix = format!("{partition}.");
    let mut keys = kv.keys().await.map_err(|e| format!("listing pins: {e}"))?;
    let mut out = BTreeMap::new();
    while let Some(k) = keys.next().await {
        let k = k.map_err(|e| format!("listing pins: {e}"))?;
        if !k.starts_with(&prefix) {
            continue;
        }
        let entry = kv.get(&k).await.map_err(|e| format!("reading {k}: {e}"))?;
        match entry.map(|b| serde_json::from_slice::<Value>(&b)) {
            Some(Ok(v)) => {
                out.insert(v.addr, v.sha256);
            }
            Some(Err(e)) => {
                tracing::warn!(key = %k, error = %e, "unreadable TLS pin in NATS KV, ignored")
            }
            None => {}
        }
    }
    Ok(out)
}

/// One comparison of the pin file with the bucket (see the module docs). `last` is what the
/// previous sync left (`None` before the first one).
pub async fn sync(
    kv: &kv::Store,
    partition: &str,
    file: &Path,
    last: &mut Option<Pins>,
) -> Result<(), String> {
    let local = pin::load(file);
    let remote = remote(kv, partition).await?;
    let mut merged = local.clone();
    for (addr, sha) in &remote {
        let removed_here = last.as_ref().is_some_and(|l| l.contains_key(addr));
        if !local.contains_key(addr) && !removed_here {
            merged.insert(addr.clone(), sha.clone());
        }
    }
    if merged != local {
        pin::save(file, &merged).map_err(|e| format!("writing {}: {e}", file.display()))?;
        tracing::info!(
            restored = merged.len() - local.len(),
            file = %file.display(),
            "TLS pins restored from NATS KV"
        );
    }
    for (addr, sha) in &merged {
        if remote.get(addr) != Some(sha) {
            let v = serde_json::to_vec(&Value {
                addr: addr.clone(),
                sha256: sha.clone(),
            })
            .map_err(|e| e.to_string())?;
            kv.put(key(partition, addr), v.into())
                .await
                .map_err(|e| format!("writing the pin of {addr}: {e}"))?;
        }
    }
    for addr in remote.keys().filter(|a| !merged.contains_key(*a)) {
        kv.delete(key(partition, addr))
            .await
            .map_err(|e| format!("deleting the pin of {addr}: {e}"))?;
        tracing::info!(addr, "TLS pin removed from NATS KV (trusted anew)");
    }
    *last = Some(merged);
    Ok(())
}

/// Keeps the pin file and the bucket in step until `cancel`.
pub async fn run(
    client: async_nats::Client,
    cfg: NatsConfig,
    partition: String,
    file: PathBuf,
    mut connected: watch::Receiver<bool>,
    cancel: CancellationToken,
) {
    let js = jetstream::new(client);
    let mut last = None;
    let modified = |f: &Path| std::fs::metadata(f).and_then(|m| m.modified()).ok();
    // The pin file's modification time at the last comparison since (re)connecting.
    let mut compared: Option<Option<std::time::SystemTime>> = None;
    loop {
        if !*connected.borrow_and_update() {
            compared = None;
            tokio::select! {
                _ = connected.changed() => continue,
                _ = cancel.cancelled() => return,
            }
        }
        let now = modified(&file);
        if compared != Some(now) {
            let done = match bucket(&js, &cfg).await {
                Ok(kv) => sync(&kv, &partition, &file, &mut last).await,
                Err(e) => Err(e),
            };
            match done {
                Ok(()) => compared = Some(now),
                Err(e) => tracing::warn!(error = %e, "TLS pins: NATS KV sync failed, retrying"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SYNC_EVERY) => {}
            _ = cancel.cancelled() => return,
        }
    }
}

/// Writes `addr`'s pin into the bucket (`bmc-catcher trust`), so the bucket holds it even while no
/// daemon runs to sync it.
pub async fn remember(
    cfg: &NatsConfig,
    user: Option<&crate::config::Credential>,
    partition: &str,
    addr: &str,
    sha256: &str,
) -> Result<(), String> {
    let Some(url) = &cfg.url else {
        return Ok(());
    };
    let opts = super::connect_options(cfg, user, "bmc-catcher trust")
        .await
        .map_err(|e| e.to_string())?;
    let client = opts
        .connect(super::servers(url))
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let kv = bucket(&jetstream::new(client), cfg).await?;
    let v = serde_json::to_vec(&Value {
        addr: addr.to_string(),
        sha256: sha256.to_string(),
    })
    .map_err(|e| e.to_string())?;
    kv.put(key(partition, addr), v.into())
        .await
        .map(drop)
        .map_err(|e| format!("writing the pin of {addr}: {e}"))
}
