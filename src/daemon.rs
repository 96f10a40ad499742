//! Wiring for `run` and `demo`: builds the parts from the config, starts the tasks (discovery
//! watcher, poller, issue evaluation, HTTP listener, NATS), tells systemd READY once the config is
//! loaded and the listener bound, feeds the watchdog (`systemd.rs`), applies SIGHUP (`reload.rs`),
//! and on SIGTERM/SIGINT (or the caller's token) drains: in-flight commands are answered, the
//! poller finishes in-flight polls and logs out of every BMC, the listener stops, then `run`
//! returns.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Credentials};
use crate::control::refresh::Refresher;
use crate::discovery;
use crate::hal::Connector;
use crate::hal::cursors::Cursors;
use crate::hal::journal::Journal;
use crate::hal::profiles::Profiles;
use crate::issues::{self, task::Timing};
use crate::model::{MacAddr, Target};
use crate::poller::PollStats;
use crate::poller::{Poller, Reload, Schedule};
use crate::publish::http::{self, ApiState, HttpStats, Limits, router};
use crate::publish::metrics::registry;
use crate::publish::nats::{self, NatsStats};
use crate::store::Store;

mod reload;
mod systemd;
pub use systemd::shutdown_signal;
use systemd::watchdog;

/// The running discovery watcher: its token, the channel it feeds, and where it notes how reading
/// the leases goes (kept across restarts).
struct WatcherHandle {
    token: CancellationToken,
    targets: watch::Sender<Vec<Target>>,
    health: Arc<discovery::LeasesHealth>,
}

/// A running daemon, for `demo` and tests that need its address and store.
pub struct Daemon {
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    pub stats: Arc<PollStats>,
    /// Changes for the poller (SIGHUP).
    reload: tokio::sync::mpsc::Sender<Reload>,
    /// `[issues]` and the interval, as the issue evaluation reads them (SIGHUP replaces them).
    issue_timing: watch::Sender<Timing>,
    /// The running discovery watcher, to restart it on reload.
    watcher: std::sync::Mutex<WatcherHandle>,
    config: std::sync::Mutex<Config>,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
    /// The command server and its in-flight commands: stopped and drained first.
    commands: TaskTracker,
    commands_cancel: CancellationToken,
    /// The BMC sessions open now, in `session-journal`.
    journal: Arc<Journal>,
    /// Where each BMC's logs were read up to, in `[logs] cursor-file`.
    cursors: Arc<Cursors>,
    /// What each BMC turned out to support, in `[poll] profile-file`.
    pub profiles: Arc<Profiles>,
    /// Stopped after every other task: the log cursor share, so the cursors of the last polls
    /// still reach the NATS KV.
    last: TaskTracker,
    last_cancel: CancellationToken,
}

impl Daemon {
    /// Starts every task; returns once the listener is bound.
    pub async fn start(config: &Config, credentials: Credentials) -> anyhow::Result<Daemon> {
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let store = Arc::new(Store::new(&config.partition));
        let stats = Arc::new(PollStats::default());
        let nats_stats = Arc::new(NatsStats::default());
        let nats_user = credentials.nats.clone();
        let journal = Arc::new(Journal::load(config.session_journal.clone()));
        let cursors = Arc::new(Cursors::load(config.logs.cursor_file.clone()));
        let profiles = Arc::new(Profiles::load(config.poll.profile_file.clone()));
        let connector = Arc::new(
            Connector::new(config, credentials)
                .context("building the Redfish client")?
                .with_journal(journal.clone())
                .with_cursors(cursors.clone())
                .with_profiles(profiles.clone()),
        );
        if config.session_journal.is_some() {
            tracker.spawn(keep_journal(journal.clone(), cancel.clone()));
        }
        if config.logs.cursor_file.is_some() {
            tracker.spawn(keep_cursors(cursors.clone(), cancel.clone()));
        }
        let http_stats = Arc::new(HttpStats::default());
        let leases = Arc::new(discovery::LeasesHealth::default());
        let mut reg = registry(
            store.clone(),
            stats.clone(),
            config.metrics.max_components_per_bmc,
        );
        http_stats.register(&mut reg);
        leases.register(&mut reg);
        let member_stats = Arc::new(nats::membership::MembershipStats::default());
        if config.nats.url.is_some() {
            nats_stats.register(&mut reg);
            member_stats.register(&mut reg, stats.owned_gauge());
        }
        let web = match &config.http.web_config_file {
            Some(file) => http::web_config::WebConfig::load(file)
                .context("[http] web-config-file cannot be used")?,
            None => http::web_config::WebConfig::default(),
        };
        let nofile = http::server::nofile_limit();
        let limits = Limits::of(config, nofile);
        if limits.max_connections < config.http.max_connections {
            tracing::warn!(
                configured = config.http.max_connections,
                limit = limits.max_connections,
                nofile = nofile.unwrap_or(0),
                "[http] max-connections lowered to fit the open-file limit with polling's share; raise LimitNOFILE"
            );
        }
        let listener = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .with_context(|| format!("cannot listen on {} ([http] listen)", config.http.listen))?;
        let addr = listener.local_addr()?;

        let (tx, rx) = watch::channel(Vec::<Target>::new());
        if config.poll.profile_file.is_some() {
            tracker.spawn(keep_profiles(profiles.clone(), rx.clone(), cancel.clone()));
        }
        let watcher_token = cancel.child_token();
        let watcher_tx = tx.clone();
        tracker.spawn(
            discovery::watcher(config)
                .with_health(leases.clone())
                .run(tx, watcher_token.clone()),
        );

        let mut poller = Poller::new(
            Schedule::of(&config.poll),
            connector,
            store.clone(),
            stats.clone(),
        );
        let refresher = Refresher::new(poller.fleet(), store.clone(), config.poll.timeout);
        let state = Arc::new(
            ApiState::new(store.clone(), reg)
                .with_auth(web.auth.clone())
                .with_leases(leases.clone())
                .with_refresher(Arc::new(refresher))
                .with_profiles(profiles.clone()),
        );
        // With NATS, the partition's BMCs are shared with its other catchers (who is live).
        let (members, members_rx) = watch::channel(None);
        if config.nats.url.is_some() {
            poller = poller.with_members(members_rx);
        }
        let commands = TaskTracker::new();
        // A child: cancelling the daemon stops the command server too; `stop` cancels it first.
        let commands_cancel = cancel.child_token();
        let connection = nats::start(
            &config.nats,
            nats_user.as_ref(),
            store.clone(),
            poller.fleet(),
            nats_stats,
            nats::membership::Outputs {
                members,
                stats: member_stats,
            },
            nats::Tasks {
                tracker: &tracker,
                cancel: cancel.clone(),
                commands: &commands,
                commands_cancel: commands_cancel.clone(),
            },
        )
        .await
        .context("setting up NATS ([nats])")?;
        let (last, last_cancel) = (TaskTracker::new(), CancellationToken::new());
        if let Some(c) = &connection
            && config.logs.enabled
        {
            last.spawn(nats::cursors::run(
                c.client.clone(),
                config.nats.clone(),
                config.partition.clone(),
                cursors.clone(),
                c.connected.clone(),
                last_cancel.clone(),
            ));
        }
        if let Some(c) = &connection {
            last.spawn(nats::profiles::run(
                c.client.clone(),
                config.nats.clone(),
                config.partition.clone(),
                profiles.clone(),
                c.connected.clone(),
                last_cancel.clone(),
            ));
        }
        if let Some(c) = connection
            && config.redfish.tls == crate::config::TlsPolicy::Pin
        {
            tracker.spawn(nats::pins::run(
                c.client,
                config.nats.clone(),
                config.partition.clone(),
                config.redfish.pin_file.clone(),
                c.connected,
                cancel.clone(),
            ));
        }
        // Ready once discovery has published its first list (the watch value changes).
        let ready_state = state.clone();
        let mut ready_rx = rx.clone();
        tracker.spawn(async move {
            if ready_rx.changed().await.is_ok() {
                ready_state.mark_ready();
            }
        });
        let (reload, reload_rx) = tokio::sync::mpsc::channel(4);
        tracker.spawn(poller.run(rx, reload_rx, cancel.clone()));

        // Issues: re-evaluated over the whole fleet every discovery refresh.
        let (issue_timing, timing_rx) = watch::channel(timing_of(config));
        tracker.spawn(issues::task::run(
            store.clone(),
            config.discovery.refresh,
            timing_rx,
            cancel.clone(),
        ));

        tracker.spawn(http::serve(
            listener,
            router(state),
            limits,
            http_stats,
            web.tls.clone(),
            cancel.clone(),
        ));
        tracing::info!(
            %addr,
            http.tls = web.tls.is_some(),
            http.basic_auth = web.auth.is_some(),
            partition = %config.partition,
            http.max_connections = limits.max_connections,
            "bmc-catcher running"
        );
        Ok(Daemon {
            addr,
            store,
            stats,
            reload,
            issue_timing,
            watcher: std::sync::Mutex::new(WatcherHandle {
                token: watcher_token,
                targets: watcher_tx,
                health: leases,
            }),
            config: std::sync::Mutex::new(config.clone()),
            cancel,
            tracker,
            commands,
            commands_cancel,
            journal,
            cursors,
            profiles,
            last,
            last_cancel,
        })
    }

    /// Stops taking commands and waits for those in flight (each bounded by `command-timeout`),
    /// then cancels every task and waits until sessions are closed.
    pub async fn stop(self) {
        self.commands_cancel.cancel();
        self.commands.close();
        self.commands.wait().await;
        self.tracker.close();
        self.cancel.cancel();
        self.tracker.wait().await;
        self.last.close();
        self.last_cancel.cancel();
        self.last.wait().await;
        // Every session is closed now: what the journal still holds could not be deleted.
        self.journal.flush();
        self.cursors.flush();
        self.profiles.flush();
    }
}

/// Writes the log cursors each second while they change, off the async workers.
async fn keep_cursors(cursors: Arc<Cursors>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = cancel.cancelled() => return,
        }
        let c = cursors.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || c.flush()).await {
            tracing::warn!(error = %e, "log cursor flush failed");
        }
    }
}

/// Writes the BMC profiles each second while they change, off the async workers; drops those of
/// the BMCs the leases no longer name ([`Profiles::retain`]).
async fn keep_profiles(
    profiles: Arc<Profiles>,
    mut targets: watch::Receiver<Vec<Target>>,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = cancel.cancelled() => return,
        }
        if targets.has_changed().unwrap_or(false) {
            let leased: std::collections::HashSet<MacAddr> =
                targets.borrow_and_update().iter().map(|t| t.mac).collect();
            profiles.retain(&leased);
        }
        let p = profiles.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || p.flush()).await {
            tracing::warn!(error = %e, "BMC profile flush failed");
        }
    }
}

/// Writes the session journal each second while it changes, off the async workers.
async fn keep_journal(journal: Arc<Journal>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = cancel.cancelled() => return,
        }
        let j = journal.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || j.flush()).await {
            tracing::warn!(error = %e, "session journal flush failed");
        }
    }
}

/// `bmc-catcher run`: until SIGTERM or SIGINT; SIGHUP re-reads `path` and the credentials file.
pub async fn run(
    path: std::path::PathBuf,
    config: Config,
    credentials: Credentials,
) -> anyhow::Result<()> {
    let daemon = Daemon::start(&config, credentials).await?;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = watchdog(daemon.cancel.clone(), daemon.stats.clone());
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = hup.recv() => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
                match crate::config::load(&path) {
                    Ok((c, creds)) => {
                        daemon.reload(c, creds).await;
                        tracing::info!(file = %path.display(), "configuration reloaded");
                    }
                    Err(e) => tracing::error!(error = %e, "reload refused; keeping the running configuration"),
                }
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
            }
        }
    }
    tracing::info!("shutting down: draining polls and logging out");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    daemon.stop().await;
    watchdog.abort();
    tracing::info!("stopped");
    Ok(())
}

fn timing_of(c: &Config) -> Timing {
    Timing {
        interval: c.poll.interval,
        outdated_after_intervals: c.issues.outdated_after_intervals,
        log_critical_clears_after: c.logs.critical_clears_after,
        drive_wear_out_below: c.issues.drive_wear_out_below,
    }
}
