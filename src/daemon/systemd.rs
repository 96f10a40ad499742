//! The daemon's side of systemd: the watchdog, fed only while polls make progress, and the
//! signals that stop it (SIGTERM, SIGINT).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::poller::PollStats;

/// Pings the systemd watchdog at half its period, but only while the poll loop makes progress (no
/// BMC's poll is overdue): a stalled poller is restarted by systemd.
pub(super) fn watchdog(
    cancel: CancellationToken,
    stats: Arc<PollStats>,
) -> tokio::task::JoinHandle<()> {
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
