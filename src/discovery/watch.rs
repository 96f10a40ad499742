//! Watches the lease database by stat polling (dhcpd replaces its file by rename, and inotify
//! follows the old inode): every `refresh` it compares `(inode, length, mtime)`, re-parses on change,
//! re-evaluates lease expiry against the clock, and publishes the target list on a `watch` channel
//! when it differs. A read error keeps the previous list (dnsmasq rewrites in place; a read can see a
//! half-written file), and is noted in the [`LeasesHealth`] that `/readyz` and `/metrics` read.

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::select::Summary;
use super::{Filters, Lease, LeaseFile, LeaseSource, LeasesHealth, log_warnings, to_targets};
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
    /// The last problem reported, so a lasting one is logged once, not every refresh.
    problem: Option<String>,
    health: Arc<LeasesHealth>,
}

impl Watcher {
    pub fn new(source: LeaseFile, filters: Filters, refresh: Duration) -> Watcher {
        Watcher {
            source,
            filters,
            refresh,
            stamp: None,
            leases: Vec::new(),
            problem: None,
            health: Arc::default(),
        }
    }

    /// Notes each refresh's outcome in `health` (shared with `/readyz` and `/metrics`).
    pub fn with_health(mut self, health: Arc<LeasesHealth>) -> Watcher {
        self.health = health;
        self
    }

    /// Re-reads the file if it changed; returns the targets as of now. A file that cannot be read
    /// keeps the previous targets; the problem is logged when it starts and when it ends.
    pub fn refresh_now(&mut self) -> Vec<Target> {
        let current = stamp(&self.source.path);
        if current != self.stamp || current.is_none() || self.problem.is_some() {
            match self.source.read() {
                Ok(parsed) if parsed.leases.is_empty() && !self.leases.is_empty() => {
                    // A half-written (dnsmasq rewrites in place) or clobbered file: keep what we had.
                    let msg = format!(
                        "{} holds no lease ({} unreadable records); keeping the previous targets",
                        self.source.name(),
                        parsed.warnings.len()
                    );
                    self.health.failed(&msg);
                    if self.problem.as_deref() != Some(msg.as_str()) {
                        tracing::warn!(problem = %msg, "leases file looks truncated");
                        self.problem = Some(msg);
                    }
                }
                Ok(parsed) => {
                    if let Some(was) = self.problem.take() {
                        tracing::info!(file = %self.source.name(), was = %was, "leases readable again");
                    }
                    log_warnings(&self.source.name(), &parsed.warnings);
                    let summary = Summary::of(&parsed.leases, unix_now(), &self.filters);
                    tracing::info!(
                        file = %self.source.name(),
                        leases = parsed.leases.len(),
                        skipped = parsed.warnings.len(),
                        live = summary.live,
                        selected = summary.selected,
                        outside_allow_cidrs = summary.outside_allow_cidrs,
                        ignored_macs = summary.ignored_macs,
                        "leases read"
                    );
                    if summary.filters_drop_everything() {
                        tracing::warn!(
                            file = %self.source.name(),
                            %summary,
                            "[discovery] allow-cidrs and ignore-macs leave no BMC to poll"
                        );
                    }
                    self.leases = parsed.leases;
                    // Kept until the file changes: without the parse's growth slack.
                    self.leases.shrink_to_fit();
                    self.stamp = current;
                }
                Err(e) => {
                    let msg = e.to_string();
                    self.health.failed(&msg);
                    if self.problem.as_deref() != Some(msg.as_str()) {
                        tracing::warn!(error = %msg, targets = self.leases.len(), "leases unreadable, keeping the previous targets");
                        self.problem = Some(msg);
                    }
                }
            }
        }
        let now = unix_now();
        if self.problem.is_none() {
            self.health.succeeded(now);
        }
        to_targets(&self.leases, now, &self.filters)
    }

    /// What is wrong with the leases file now, if anything.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LeasesFormat;

    const LEASE: &str = "lease 127.0.9.1 {\n  starts epoch 1;\n  ends never;\n  binding state active;\n  hardware ethernet 02:00:00:00:09:01;\n}\n";

    /// A dhcpd.leases that grew to `bytes` (dhcpd appends each renewal and compacts only hourly):
    /// `bmcs` leases renewed over and over; the last renewal of each is at `port`.
    fn grown_file(bmcs: usize, bytes: usize) -> String {
        let mut text = String::with_capacity(bytes + 4096);
        let mut round = 0u64;
        while text.len() < bytes {
            round += 1;
            for i in 0..bmcs {
                text.push_str(&format!(
                    "lease 127.0.{}.{} {{\n  starts epoch {round};\n  ends never;\n  binding state active;\n  hardware ethernet 02:00:00:00:{:02x}:{:02x};\n  client-hostname \"bmc-{i}-r{round}\";\n}}\n",
                    i / 250 + 20,
                    i % 250 + 1,
                    i / 256,
                    i % 256
                ));
            }
        }
        text
    }

    #[test]
    fn a_100_mb_file_is_read_and_the_last_renewal_of_each_lease_counts() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("dhcpd.leases");
        let text = grown_file(2000, 100 << 20);
        let rounds = text.matches("lease 127.0.20.1 ").count();
        std::fs::write(&path, &text).expect("write");
        drop(text);
        let mut w = Watcher::new(
            LeaseFile {
                path,
                format: LeasesFormat::IscDhcpd,
                max_bytes: 256 << 20,
            },
            Filters::default(),
            Duration::from_secs(1),
        );
        let targets = w.refresh_now();
        assert!(w.problem().is_none(), "{:?}", w.problem());
        assert_eq!(targets.len(), 2000);
        let last = format!("bmc-0-r{rounds}");
        assert!(
            targets
                .iter()
                .any(|t| t.hostname.as_deref() == Some(last.as_str())),
            "the last renewal wins"
        );
    }

    #[test]
    fn a_missing_or_unreadable_file_keeps_the_last_good_targets() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("dhcpd.leases");
        let mut w = Watcher::new(
            LeaseFile {
                path: path.clone(),
                format: LeasesFormat::IscDhcpd,
                max_bytes: 256 << 20,
            },
            Filters::default(),
            Duration::from_secs(1),
        );
        assert!(w.refresh_now().is_empty());
        assert!(
            w.problem().is_some_and(|p| p.contains("dhcpd.leases")),
            "missing at start is reported"
        );
        std::fs::write(&path, LEASE).expect("write");
        assert_eq!(w.refresh_now().len(), 1);
        assert!(w.problem().is_none(), "recovered");
        std::fs::remove_file(&path).expect("rm");
        assert_eq!(w.refresh_now().len(), 1, "removed: the last good set stays");
        let first = w.problem().map(str::to_string);
        assert_eq!(w.refresh_now().len(), 1);
        assert_eq!(
            w.problem().map(str::to_string),
            first,
            "the same problem, reported once"
        );
        std::fs::write(&path, b"\x00\xff binary garbage \x01").expect("write");
        assert_eq!(
            w.refresh_now().len(),
            1,
            "binary garbage: the last good set stays"
        );
        std::fs::write(&path, "lease 127.0.9.1 {\n  starts ep").expect("write");
        assert_eq!(
            w.refresh_now().len(),
            1,
            "truncated mid-write: the last good set stays"
        );
        assert!(
            w.problem().is_some_and(|p| p.contains("no lease")),
            "{:?}",
            w.problem()
        );
        std::fs::write(&path, LEASE).expect("write");
        assert_eq!(w.refresh_now().len(), 1);
    }

    fn mkfifo(path: &std::path::Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a NUL-terminated path and a mode; mkfifo(3) touches no other memory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    #[test]
    fn a_fifo_a_device_or_an_oversized_file_keeps_the_last_good_targets() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("dhcpd.leases");
        std::fs::write(&path, LEASE).expect("write");
        let mut w = Watcher::new(
            LeaseFile {
                path: path.clone(),
                format: LeasesFormat::IscDhcpd,
                max_bytes: 4096,
            },
            Filters::default(),
            Duration::from_secs(1),
        );
        assert_eq!(w.refresh_now().len(), 1);

        // Replaced by a FIFO nobody writes to: refused at once (no hang), the target stays.
        std::fs::remove_file(&path).expect("rm");
        mkfifo(&path);
        assert_eq!(w.refresh_now().len(), 1, "FIFO: the last good set stays");
        let p = w.problem().unwrap_or_default().to_string();
        assert!(p.contains("dhcpd.leases") && p.contains("a FIFO"), "{p}");

        // Grown past the bound: refused without reading, the target stays.
        std::fs::remove_file(&path).expect("rm");
        std::fs::write(&path, LEASE.repeat(100)).expect("write");
        assert_eq!(
            w.refresh_now().len(),
            1,
            "too large: the last good set stays"
        );
        let p = w.problem().unwrap_or_default().to_string();
        assert!(p.contains("max-leases-file-size"), "{p}");

        std::fs::write(&path, LEASE).expect("write");
        assert_eq!(w.refresh_now().len(), 1);
        assert!(w.problem().is_none(), "recovered: {:?}", w.problem());

        // A path that is a character device that never ends.
        let mut zero = Watcher::new(
            LeaseFile {
                path: "/dev/zero".into(),
                format: LeasesFormat::Auto,
                max_bytes: 256 << 20,
            },
            Filters::default(),
            Duration::from_secs(1),
        );
        assert!(zero.refresh_now().is_empty());
        let p = zero.problem().unwrap_or_default().to_string();
        assert!(
            p.contains("/dev/zero") && p.contains("character device"),
            "{p}"
        );
    }
}
