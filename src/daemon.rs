//! Wiring for `run` and `demo`: builds the parts from the config, starts the tasks (discovery
//! watcher, poller, HTTP listener), tells systemd READY once the config is loaded and the listener
//! bound, feeds the watchdog, and on SIGTERM/SIGINT (or the caller's token) drains: the poller
//! finishes in-flight polls and logs out of every BMC, the listener stops, then `run` returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Credentials};
use crate::discovery::{self, watch::Watcher};
use crate::hal::Connector;
use crate::issues::{self, task::Timing};
use crate::model::Target;
use crate::poller::PollStats;
use crate::poller::{Poller, Reload, Schedule};
use crate::publish::http::{ApiState, router};
use crate::publish::metrics::registry;
use crate::publish::nats::{self, NatsStats};
use crate::store::Store;

/// A running daemon, for `demo` and tests that need its address and store.
pub struct Daemon {
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    pub stats: Arc<PollStats>,
    /// Changes for the poller (SIGHUP).
    reload: tokio::sync::mpsc::Sender<Reload>,
    /// `[issues]` and the interval, as the issue evaluation reads them (SIGHUP replaces them).
    issue_timing: watch::Sender<Timing>,
    /// The running discovery watcher: its token and the channel it feeds, to restart it on reload.
    watcher: std::sync::Mutex<(CancellationToken, watch::Sender<Vec<Target>>)>,
    config: std::sync::Mutex<Config>,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
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
        let connector =
            Arc::new(Connector::new(config, credentials).context("building the Redfish client")?);
        let mut reg = registry(store.clone(), stats.clone());
        if config.nats.url.is_some() {
            nats_stats.register(&mut reg);
        }
        let state = Arc::new(ApiState {
            store: store.clone(),
            registry: reg,
            ready: AtomicBool::new(false),
        });
        let listener = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .with_context(|| format!("cannot listen on {} ([http] listen)", config.http.listen))?;
        let addr = listener.local_addr()?;

        let (tx, rx) = watch::channel(Vec::<Target>::new());
        let watcher_token = cancel.child_token();
        let watcher_tx = tx.clone();
        let watcher = Watcher::new(
            discovery::source(config),
            discovery::filters(config),
            config.discovery.refresh,
        );
        tracker.spawn(watcher.run(tx, watcher_token.clone()));

        let schedule = schedule_of(config);
        let poller = Poller::new(schedule, connector, store.clone(), stats.clone());
        let connection = nats::start(
            &config.nats,
            nats_user.as_ref(),
            store.clone(),
            poller.fleet(),
            nats_stats,
            &tracker,
            cancel.clone(),
        )
        .await
        .context("setting up NATS ([nats])")?;
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

        let app = router(state);
        let http_cancel = cancel.clone();
        tracker.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(http_cancel.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "http listener failed");
            }
        });
        tracing::info!(%addr, partition = %config.partition, "bmc-catcher running");
        Ok(Daemon {
            addr,
            store,
            stats,
            reload,
            issue_timing,
            watcher: std::sync::Mutex::new((watcher_token, watcher_tx)),
            config: std::sync::Mutex::new(config.clone()),
            cancel,
            tracker,
        })
    }

    /// Applies a re-read config and credentials (SIGHUP). Sessions are kept wherever they stay
    /// valid: new credentials re-open only the sessions whose credential changed; new `[poll]`
    /// timing restarts the workers on their backends; new `[redfish]`, `[ipmi]` or `[poll]
    /// protocol` settings re-create every backend; `[discovery]` restarts the watcher; `[issues]`
    /// applies at the next evaluation. `partition`, `[http]` and `[nats]` need a restart and are
    /// reported as such.
    pub async fn reload(&self, new: Config, credentials: Credentials) {
        let old = self
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let section = |c: &Config, which: &str| -> String {
            toml::to_string(c)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
                .and_then(|t| t.get(which).map(|v| v.to_string()))
                .unwrap_or_default()
        };
        let changed = |key: &str| section(&old, key) != section(&new, key);
        for key in ["partition", "http", "nats"] {
            if changed(key) {
                tracing::warn!(
                    key,
                    "changed in the config file; takes effect after a restart"
                );
            }
        }
        if changed("discovery") {
            let mut w = self.watcher.lock().unwrap_or_else(|p| p.into_inner());
            w.0.cancel();
            let token = self.cancel.child_token();
            let watcher = Watcher::new(
                discovery::source(&new),
                discovery::filters(&new),
                new.discovery.refresh,
            );
            self.tracker.spawn(watcher.run(w.1.clone(), token.clone()));
            w.0 = token;
            tracing::info!("discovery settings reloaded");
        }
        self.issue_timing.send_if_modified(|t| {
            let new = timing_of(&new);
            std::mem::replace(t, new) != new
        });
        let transport =
            changed("redfish") || changed("ipmi") || old.poll.protocol != new.poll.protocol;
        let mut changes = Vec::new();
        if schedule_of(&old) != schedule_of(&new) {
            changes.push(Reload::Schedule(schedule_of(&new)));
        }
        match transport.then(|| Connector::new(&new, credentials.clone())) {
            Some(Ok(c)) => changes.push(Reload::Backends(Arc::new(c))),
            Some(Err(e)) => {
                tracing::error!(error = %e, "[redfish]/[ipmi] not reloaded; keeping the running backends");
                changes.push(Reload::Credentials(credentials));
            }
            None => changes.push(Reload::Credentials(credentials)),
        }
        for change in changes {
            if self.reload.send(change).await.is_err() {
                tracing::warn!("the poller is gone; reload not applied");
            }
        }
        *self.config.lock().unwrap_or_else(|p| p.into_inner()) = new;
    }

    /// Cancels every task and waits until sessions are closed.
    pub async fn stop(self) {
        self.tracker.close();
        self.cancel.cancel();
        self.tracker.wait().await;
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
                match load_both(&path) {
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
    }
}

fn schedule_of(c: &Config) -> Schedule {
    Schedule {
        interval: c.poll.interval,
        timeout: c.poll.timeout,
        concurrency: c.poll.concurrency,
    }
}

/// The config file and the credentials file it names.
pub fn load_both(
    path: &std::path::Path,
) -> Result<(Config, Credentials), crate::config::ConfigError> {
    let c = Config::load(path)?;
    let creds = match c.credentials_path() {
        Some(p) => Credentials::load(&p)?,
        None => Credentials::default(),
    };
    Ok((c, creds))
}

/// Pings the systemd watchdog at half its period, but only while the poll loop makes progress (no
/// BMC's poll is overdue): a stalled poller is restarted by systemd.
fn watchdog(cancel: CancellationToken, stats: Arc<PollStats>) -> tokio::task::JoinHandle<()> {
    let period = sd_notify::watchdog_enabled();
    tokio::spawn(async move {
        let Some(period) = period.filter(|p| !p.is_zero()) else {
            return;
        };
        let mut tick = tokio::time::interval(period / 2);
        let mut stalled = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = cancel.cancelled() => return,
            }
            let overdue = stats.overdue(crate::store::now_ms());
            if overdue == 0 {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                stalled = false;
            } else if !stalled {
                tracing::error!(
                    overdue,
                    "polls are overdue: no longer feeding the systemd watchdog"
                );
                stalled = true;
            }
        }
    })
}

/// Waits for SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
