//! NATS, optional (on when `[nats] url` is set): the latest snapshot of every BMC in a JetStream
//! key-value bucket (key `<partition>.<mac>`), change events in a JetStream stream (subject
//! `<prefix>.<partition>.<mac>.event.<kind>`, message id = event id), and power/identify/boot commands
//! by request/reply on `<prefix>.<partition>.<mac>.cmd` (queue group per partition). MACs appear with
//! dashes (`52-54-00-a1-00-11`) in keys and subjects.
//!
//! Nothing here can stall polling: events go into a bounded [`outbox::Outbox`]; one sender task
//! publishes them in order, each publish and ack under `publish-timeout`, only while connected; on
//! (re)connect it also rewrites every BMC's KV entry from the store. See docs/nats.md.

mod commands;
pub mod cursors;
mod dirty;
pub mod membership;
pub mod outbox;
pub mod pins;
pub mod profiles;
mod sender;
pub mod shared;

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Credential, Nats as NatsConfig};
use crate::control::{Controller, Limits};
use crate::model::MacAddr;
use crate::poller::Fleet;
use crate::store::Store;
use dirty::Dirty;
use outbox::Outbox;

pub use sender::NatsStats;

/// Why NATS could not be set up (the connection itself is retried forever and is no error).
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("nats: cannot read {file}: {source}")]
    File {
        file: String,
        source: std::io::Error,
    },
    #[error("nats: {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("nats: subscribe to {subject}: {detail}")]
    Subscribe { subject: String, detail: String },
}

/// The servers of a `[nats] url` / `--nats` value: one URL, or several comma-separated (a
/// cluster), as async-nats takes them (a list; it does not split a string itself).
pub fn servers(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The MAC as a subject token / key part.
pub fn mac_token(mac: MacAddr) -> String {
    mac.to_string().replace(':', "-")
}

/// KV key of a BMC.
pub fn kv_key(partition: &str, mac: MacAddr) -> String {
    format!("{partition}.{}", mac_token(mac))
}

/// Subject of an event.
pub fn event_subject(prefix: &str, partition: &str, mac: MacAddr, kind: &str) -> String {
    format!("{prefix}.{partition}.{}.event.{kind}", mac_token(mac))
}

/// Subject of a BMC's commands.
pub fn command_subject(prefix: &str, partition: &str, mac: MacAddr) -> String {
    format!("{prefix}.{partition}.{}.cmd", mac_token(mac))
}

/// Connect options from the config (credentials, TLS); `name` names the connection on the server.
pub async fn connect_options(
    cfg: &NatsConfig,
    user: Option<&Credential>,
    name: &str,
) -> Result<async_nats::ConnectOptions, NatsError> {
    use secrecy::ExposeSecret;
    let mut opts = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(std::time::Duration::from_secs(5));
    if let Some(f) = &cfg.creds_file {
        opts = opts
            .credentials_file(f)
            .await
            .map_err(|source| NatsError::File {
                file: f.display().to_string(),
                source,
            })?;
    }
    if let Some(f) = &cfg.nkey_file {
        let seed = std::fs::read_to_string(f).map_err(|source| NatsError::File {
            file: f.display().to_string(),
            source,
        })?;
        opts = opts.nkey(seed.trim().to_string());
    }
    if let Some(c) = user {
        opts = opts.user_and_password(c.username.clone(), c.password.expose_secret().to_string());
    }
    if let Some(ca) = &cfg.ca_file {
        opts = opts.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (&cfg.client_cert, &cfg.client_key) {
        opts = opts.add_client_certificate(cert.clone(), key.clone());
    }
    Ok(opts)
}

/// A key-value bucket (one revision per key, file storage), created on first use.
async fn kv_bucket(
    js: &async_nats::jetstream::Context,
    cfg: &NatsConfig,
    bucket: &str,
    description: &str,
) -> Result<async_nats::jetstream::kv::Store, String> {
    use async_nats::jetstream::{kv, stream};
    if let Ok(kv) = js.get_key_value(bucket).await {
        return Ok(kv);
    }
    js.create_key_value(kv::Config {
        bucket: bucket.to_string(),
        description: description.to_string(),
        history: 1,
        num_replicas: cfg.replicas,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("kv bucket {bucket}: {e}"))
}

/// A running connection, for tasks started beside the publisher (the TLS pin sync).
pub struct Connection {
    pub client: async_nats::Client,
    /// True while connected.
    pub connected: watch::Receiver<bool>,
}

/// Connects (retrying in the background) and starts the publisher and the command responder;
/// `None` when `[nats] url` is unset.
/// Where the NATS tasks run: the daemon's tracker and token, and the command server's own pair,
/// which the daemon stops first, so an in-flight command finishes (and is answered) before the
/// poller closes the sessions.
pub struct Tasks<'a> {
    pub tracker: &'a TaskTracker,
    pub cancel: CancellationToken,
    pub commands: &'a TaskTracker,
    pub commands_cancel: CancellationToken,
}

/// Connects (in the background: the daemon does not wait for NATS) and spawns the sender on
/// `tasks.tracker`, the command server and the membership task on `tasks.commands` (so the
/// member key is deleted before the poller logs out).
pub async fn start(
    cfg: &NatsConfig,
    user: Option<&Credential>,
    store: Arc<Store>,
    fleet: Fleet,
    stats: Arc<NatsStats>,
    members: membership::Outputs,
    tasks: Tasks<'_>,
) -> Result<Option<Connection>, NatsError> {
    let Some(url) = cfg.url.clone() else {
        return Ok(None);
    };
    let (state_tx, state_rx) = watch::channel(false);
    let state_tx = Arc::new(state_tx);
    let cb_tx = state_tx.clone();
    let opts = connect_options(cfg, user, &format!("bmc-catcher/{}", store.partition()))
        .await?
        .retry_on_initial_connect()
        .event_callback(move |event| {
            let tx = cb_tx.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        tracing::info!("nats connected");
                        tx.send_replace(true);
                    }
                    async_nats::Event::Disconnected => {
                        tracing::warn!("nats disconnected; events are buffered");
                        tx.send_replace(false);
                    }
                    other => tracing::info!(event = %other, "nats"),
                }
            }
        });
    let client = opts
        .connect(servers(&url))
        .await
        .map_err(|e| NatsError::Connect {
            url: url.clone(),
            detail: e.to_string(),
        })?;
    if client.connection_state() == async_nats::connection::State::Connected {
        state_tx.send_replace(true);
    }

    let outbox = Arc::new(Outbox::new(
        cfg.buffer_events,
        cfg.buffer_mib << 20,
        Some(stats.clone()),
    ));
    // Every event enters the outbox synchronously as it is emitted: nothing waits on NATS.
    store.observe(outbox.clone());
    let dirty = Arc::new(Dirty::default());
    store.observe(dirty.clone());

    let settings = membership::Settings::of(cfg, store.partition());
    let routing = commands::forward::Routing {
        members: members.members.subscribe(),
        prefix: cfg.subject_prefix.clone(),
        partition: store.partition().to_string(),
        own: settings.own.clone(),
        command_timeout: cfg.command_timeout,
    };
    let sub = commands::subscribe(&client, cfg, store.partition(), Some(&routing)).await?;
    tasks.commands.spawn(membership::run(
        client.clone(),
        state_rx.clone(),
        settings,
        store.clone(),
        members,
        tasks.commands_cancel.clone(),
    ));
    tasks.commands.spawn(commands::serve(
        sub,
        commands::Context {
            client: client.clone(),
            controller: Arc::new(Controller::new(
                fleet,
                store.clone(),
                cfg.command_timeout,
                command_limits(cfg),
            )),
            stats: stats.clone(),
            routing: Some(routing),
        },
        tasks.commands_cancel,
    ));
    let connection = Connection {
        client: client.clone(),
        connected: state_rx.clone(),
    };
    tasks.tracker.spawn(sender::run(
        client,
        cfg.clone(),
        store,
        sender::Outputs { outbox, dirty },
        state_rx,
        stats,
        tasks.cancel,
    ));
    Ok(Some(connection))
}

/// The command admission limits of `[nats]`.
fn command_limits(cfg: &NatsConfig) -> Limits {
    Limits {
        queue_per_bmc: cfg.command_queue,
        rate_limit: cfg.command_rate_limit,
        rate_window: cfg.command_rate_window,
        idempotency_window: cfg.command_idempotency_window,
    }
}
