//! Watches the lease database by stat polling (dhcpd replaces its file by rename, and inotify
//! follows the old inode): every `refresh` it compares `(inode, length, mtime)`, re-parses on change,
//! re-evaluates lease expiry against the clock, and publishes the target list on a `watch` channel
//! when it differs. A read error keeps the previous list (dnsmasq rewrites in place; a read can see a
//! half-written file).

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Filters, Lease, LeaseFile, LeaseSource, log_warnings, to_targets};
use crate::model::Target;

/// The identity of one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        ino: m.ino(),
        len: m.len(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Follows one lease file.
pub struct Watcher {
    source: LeaseFile,
    filters: Filters,
    refresh: Duration,
    stamp: Option<Stamp>,
    leases: Vec<Lease>,
}

impl Watcher {
    pub fn new(source: LeaseFile, filters: Filters, refresh: Duration) -> Watcher {
        Watcher {
            source,
            filters,
            refresh,
            stamp: None,
            leases: Vec::new(),
        }
    }

    /// Re-reads the file if it changed; returns the targets as of now.
    pub fn refresh_now(&mut self) -> Vec<Target> {
        let current = stamp(&self.source.path);
        if current != self.stamp {
            match self.source.read() {
                Ok(parsed) => {
                    log_warnings(&self.source.name(), &parsed.warnings);
                    tracing::info!(
                        file = %self.source.name(),
                        leases = parsed.leases.len(),
                        skipped = parsed.warnings.len(),
                        "leases read"
                    );
                    self.leases = parsed.leases;
                    self.stamp = current;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "leases unreadable, keeping the previous targets")
                }
            }
        }
        to_targets(&self.leases, unix_now(), &self.filters)
    }

    /// Publishes the first list at once, then changes until `cancel`.
    pub async fn run(mut self, tx: watch::Sender<Vec<Target>>, cancel: CancellationToken) {
        let first = self.refresh_now();
        tracing::info!(targets = first.len(), "discovery: first pass done");
        tx.send_replace(first);
        let mut tick = tokio::time::interval(self.refresh);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = cancel.cancelled() => return,
            }
            let next = self.refresh_now();
            tx.send_if_modified(|cur| {
                if *cur == next {
                    false
                } else {
                    tracing::info!(targets = next.len(), "discovery: target list changed");
                    *cur = next;
                    true
                }
            });
        }
    }
}
