//! Partition membership over JetStream KV: this catcher puts `<partition>.<member-id>` (its host,
//! version, start and BMC count) in the members bucket and renews it every `member-renew`; it
//! watches the partition's keys and tells the poller (and the command server) who is live, as a
//! [`Members`] value on a `watch` channel. A member is gone when its key is deleted (SIGTERM:
//! [`run`] deletes its own key when cancelled, before the poller logs out) or not renewed within
//! `member-ttl` (kill -9, a lost connection): the survivors take its BMCs over.
//!
//! Without NATS a catcher keeps the last view it had (so it keeps polling what it owned; the
//! peer may then poll the same BMCs); one that has not joined within a second of its start owns
//! every BMC until it joins. Who owns which BMC is [`crate::poller::ownership`].

mod view;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Nats as NatsConfig;
use crate::poller::Members;
use crate::store::{Store, now_ms};
use view::{Seen, View};

/// Largest member value read (the CLI lists them; the daemon reads only keys).
pub const MAX_VALUE_BYTES: usize = 4096;

/// What a member's key holds (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub host: String,
    pub version: String,
    /// When this catcher started, Unix ms.
    pub started_ms: i64,
    /// BMCs it owns now.
    pub bmcs: usize,
    /// Tells two processes with the same member id apart (a misconfiguration worth a warning).
    pub instance: String,
}

/// The membership metrics (registered only with `[nats]`).
#[derive(Debug, Default)]
pub struct MembershipStats {
    members: Gauge,
    changes: Counter,
}

impl MembershipStats {
    /// Registers the gauges and counter; `owned` is the poller's count of the BMCs it polls.
    pub fn register(&self, r: &mut Registry, owned: Gauge) {
        r.register(
            "bmc_catcher_members",
            "Live catchers of this partition as this one sees them (itself included)",
            self.members.clone(),
        );
        r.register(
            "bmc_catcher_owned_bmcs",
            "BMCs this catcher owns (polls) among its partition's members",
            owned,
        );
        r.register(
            "bmc_catcher_membership_changes",
            "Times the set of live members changed (joins, leaves, expiries)",
            self.changes.clone(),
        );
    }
}

/// What the membership task needs.
pub struct Settings {
    pub bucket: String,
    pub partition: String,
    pub own: String,
    pub ttl: Duration,
    pub renew: Duration,
    pub replicas: usize,
    pub publish_timeout: Duration,
}

impl Settings {
    pub fn of(cfg: &NatsConfig, partition: &str) -> Settings {
        Settings {
            bucket: cfg.members_bucket.clone(),
            partition: partition.to_string(),
            own: cfg.member_id(),
            ttl: cfg.member_ttl,
            renew: cfg.member_renew,
            replicas: cfg.replicas,
            publish_timeout: cfg.publish_timeout,
        }
    }

    fn key(&self) -> String {
        format!("{}.{}", self.partition, self.own)
    }
}

/// Where the view goes.
pub struct Outputs {
    pub members: watch::Sender<Option<Members>>,
    pub stats: Arc<MembershipStats>,
}

impl Outputs {
    fn publish(&self, m: Members) {
        self.stats.members.set(m.live().len() as i64);
        let changed = self.members.send_if_modified(|have| {
            if have.as_ref() == Some(&m) {
                return false;
            }
            *have = Some(m.clone());
            true
        });
        if changed {
            self.stats.changes.inc();
            let live: Vec<&str> = m.live().iter().map(|s| &**s).collect();
            tracing::info!(members = ?live, own = m.own(), "partition members changed");
        }
    }
}

/// How a session with the bucket ended.
enum Ended {
    Cancelled,
    Lost(String),
}

/// How long a catcher waits to join before it polls every BMC on its own (degraded): a healthy
/// NATS answers in milliseconds, and polling must not wait on a dead one.
const JOIN_GRACE: Duration = Duration::from_secs(1);

/// Joins, renews and watches until `cancel`; then deletes its own key (bounded) and returns.
pub async fn run(
    client: async_nats::Client,
    connected: watch::Receiver<bool>,
    settings: Settings,
    store: Arc<Store>,
    out: Outputs,
    cancel: CancellationToken,
) {
    let fallback = async {
        tokio::select! {
            _ = tokio::time::sleep(JOIN_GRACE.min(settings.ttl)) => {}
            _ = cancel.cancelled() => return,
        }
        if out.members.borrow().is_none() {
            tracing::warn!(bucket = %settings.bucket, "not a member yet (NATS unreachable?): polling every BMC of the partition (degraded) until the members are known");
            out.publish(Members::alone(&settings.own));
        }
    };
    let sessions = sessions(client, connected, &settings, &store, &out, &cancel);
    tokio::join!(fallback, sessions);
}

/// Sessions with the bucket, one per connected stretch, until `cancel`.
async fn sessions(
    client: async_nats::Client,
    mut connected: watch::Receiver<bool>,
    settings: &Settings,
    store: &Store,
    out: &Outputs,
    cancel: &CancellationToken,
) {
    let js = jetstream::new(client);
    let instance = format!("{:016x}", rand_u64());
    let mut backoff = Duration::from_millis(200);
    loop {
        if !*connected.borrow_and_update() {
            tokio::select! {
                _ = connected.changed() => {}
                _ = cancel.cancelled() => return,
            }
            continue;
        }
        match session(&js, settings, &instance, store, out, &mut connected, cancel).await {
            Ended::Cancelled => return,
            Ended::Lost(e) => {
                tracing::warn!(error = %e, bucket = %settings.bucket, "membership lost; keeping the last view (degraded) and retrying");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = cancel.cancelled() => return,
        }
        backoff = (backoff * 2).min(settings.renew);
    }
}

/// A random value from the OS (for the instance id), 0 if none can be had.
fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_or(0, |()| u64::from_le_bytes(b))
}

/// The members bucket: one revision per key, entries aged out after the ttl (a dead member's
/// key does not stay around), created on first use.
async fn bucket(js: &jetstream::Context, s: &Settings) -> Result<kv::Store, String> {
    if let Ok(kv) = js.get_key_value(&s.bucket).await {
        return Ok(kv);
    }
    js.create_key_value(kv::Config {
        bucket: s.bucket.clone(),
        description: "bmc-catcher: live catchers per partition, key <partition>.<member-id>".into(),
        history: 1,
        max_age: s.ttl,
        max_value_size: MAX_VALUE_BYTES as i32,
        num_replicas: s.replicas,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("kv bucket {}: {e}", s.bucket))
}

/// Puts this member's key under the publish deadline.
async fn announce(kv: &kv::Store, s: &Settings, info: &MemberInfo) -> Result<(), String> {
    let body = serde_json::to_vec(info).map_err(|e| e.to_string())?;
    match tokio::time::timeout(s.publish_timeout, kv.put(s.key(), body.into())).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("put {}: {e}", s.key())),
        Err(_) => Err(format!("put {} timed out", s.key())),
    }
}

/// One connected stretch: join, then renew, watch and expire until cancelled or lost.
async fn session(
    js: &jetstream::Context,
    s: &Settings,
    instance: &str,
    store: &Store,
    out: &Outputs,
    connected: &mut watch::Receiver<bool>,
    cancel: &CancellationToken,
) -> Ended {
    let kv = match bucket(js, s).await {
        Ok(kv) => kv,
        Err(e) => return Ended::Lost(e),
    };
    let mut info = MemberInfo {
        host: crate::config::host_name(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_ms: now_ms(),
        bmcs: store.len(),
        instance: instance.to_string(),
    };
    if let Err(e) = announce(&kv, s, &info).await {
        return Ended::Lost(e);
    }
    let mut watch = match kv.watch_with_history(format!("{}.*", s.partition)).await {
        Ok(w) => w,
        Err(e) => return Ended::Lost(format!("watch {}: {e}", s.bucket)),
    };
    let mut view = View::new(&s.partition, &s.own, s.ttl, s.renew);
    let mut synced = false;
    let mut renew = tokio::time::interval(s.renew);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    renew.tick().await;
    let mut expire = tokio::time::interval(Duration::from_millis(500).min(s.renew));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                leave(&kv, s).await;
                return Ended::Cancelled;
            }
            _ = renew.tick() => {
                info.bmcs = store.len();
                // A renewal that fails (a cluster electing a stream leader answers nothing for a
                // few seconds) is tried again at the next tick: the member stays live for its
                // peers for `member-ttl`, five renewals, and the watch goes on.
                if let Err(e) = announce(&kv, s, &info).await {
                    tracing::warn!(error = %e, key = %s.key(), "member key not renewed; trying again");
                }
            }
            entry = watch.next() => {
                let entry = match entry {
                    Some(Ok(e)) => e,
                    Some(Err(e)) => return Ended::Lost(format!("watch {}: {e}", s.bucket)),
                    None => return Ended::Lost(format!("watch {} ended", s.bucket)),
                };
                let seen = apply(&mut view, &entry, s, instance);
                if seen == Seen::Ignored {
                    tracing::debug!(key = %entry.key, "members bucket: key ignored");
                }
                // The first view only once the bucket's current keys are read (ours is one).
                synced |= entry.delta == 0;
                if synced {
                    out.publish(view.members());
                }
            }
            _ = expire.tick(), if synced => {
                if view.expire(Instant::now()) {
                    out.publish(view.members());
                }
            }
            _ = connected.changed() => {
                if !*connected.borrow_and_update() {
                    return Ended::Lost("nats disconnected".into());
                }
            }
        }
    }
}

/// Applies one watch entry to the view.
fn apply(view: &mut View, entry: &kv::Entry, s: &Settings, instance: &str) -> Seen {
    match entry.operation {
        kv::Operation::Put => {
            if entry.key == s.key() {
                warn_if_twin(&entry.value, s, instance);
            }
            let written_ms = (entry.created.unix_timestamp_nanos() / 1_000_000) as i64;
            let age = Duration::from_millis(now_ms().saturating_sub(written_ms).max(0) as u64);
            view.put(&entry.key, age, Instant::now())
        }
        kv::Operation::Delete | kv::Operation::Purge => view.delete(&entry.key),
    }
}

/// Another process writing our key: two catchers configured with one member id.
fn warn_if_twin(value: &[u8], s: &Settings, instance: &str) {
    if value.len() > MAX_VALUE_BYTES {
        return;
    }
    if let Ok(other) = serde_json::from_slice::<MemberInfo>(value)
        && other.instance != instance
    {
        tracing::warn!(member = %s.own, host = %other.host, "another catcher uses this member id: both poll the same BMCs; set [nats] member-id");
    }
}

/// Deletes this member's key, so the peers take its BMCs over at once.
async fn leave(kv: &kv::Store, s: &Settings) {
    match tokio::time::timeout(s.publish_timeout, kv.delete(s.key())).await {
        Ok(Ok(())) => tracing::info!(key = %s.key(), "left the partition's members"),
        Ok(Err(e)) => {
            tracing::warn!(key = %s.key(), error = %e, "could not leave; peers take over after member-ttl")
        }
        Err(_) => {
            tracing::warn!(key = %s.key(), "leaving timed out; peers take over after member-ttl")
        }
    }
}
