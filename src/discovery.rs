//! Discovery of BMCs from DHCP lease databases: parsers per server format ([`isc_dhcpd`], [`kea`],
//! [`dnsmasq`]), target selection ([`select`]), the [`LeaseSource`] seam that reads a database, and the
//! watcher ([`watch`]) that re-reads it when it changes, noting how that goes in [`LeasesHealth`].

pub mod dnsmasq;
mod health;
pub mod isc_dhcpd;
pub mod kea;
pub mod lease;
mod lease_file;
pub mod select;
pub mod watch;

use std::path::{Path, PathBuf};

use crate::config::{Config, LeasesFormat};

/// Which leases count, in the words README.md and the shipped config use (`check-config` prints
/// it): active, unexpired leases, and for `expired-grace` those that ended.
pub fn counting_rule(expired_grace: std::time::Duration) -> String {
    if expired_grace.is_zero() {
        return "a lease counts while it is active and unexpired (expired-grace = \"0s\")".into();
    }
    format!(
        "a lease counts while it is active and unexpired, and for expired-grace ({}) after it \
         ended (expired, freed or reclaimed; not released or declined): a BMC that still answers \
         then raises lease-expired-but-answers",
        humantime::format_duration(expired_grace)
    )
}
use crate::model::Target;

pub use lease::{Lease, ParseWarning, Parsed};
pub use select::{Filters, select_targets};

pub use health::LeasesHealth;
pub use lease_file::{LeaseFile, check_file};

/// Why leases could not be read at all (a broken line is a warning, not an error).
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot read leases file {file}: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// A FIFO, a device, a directory or a socket: reading it could block or never end.
    #[error("leases file {file} is {what}, not a regular file; refused")]
    NotRegular { file: PathBuf, what: &'static str },
    #[error(
        "leases file {file} is larger than [discovery] max-leases-file-size ({size} > {max} bytes); refused"
    )]
    TooLarge { file: PathBuf, size: u64, max: u64 },
}

/// Where leases come from.
pub trait LeaseSource: Send + Sync {
    /// Reads and parses every lease; warnings are logged by the caller with the file's name.
    fn read(&self) -> Result<Parsed, DiscoveryError>;
    /// What to call this source in logs.
    fn name(&self) -> String;
}

/// Guesses the format from the content: Kea's CSV header, dhcpd's `lease` blocks, else dnsmasq.
pub fn detect_format(text: &str) -> LeasesFormat {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.starts_with("address,") {
        LeasesFormat::KeaCsv
    } else if text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("lease ") || l.starts_with("authoring-byte-order") || l.starts_with('#')
    }) {
        LeasesFormat::IscDhcpd
    } else {
        LeasesFormat::Dnsmasq
    }
}

/// Parses `text` in `format` (`Auto` detects it).
pub fn parse(text: &str, format: LeasesFormat) -> Parsed {
    match format {
        LeasesFormat::Auto => parse(text, detect_format(text)),
        LeasesFormat::IscDhcpd => isc_dhcpd::parse(text),
        LeasesFormat::KeaCsv => kea::parse(text),
        LeasesFormat::Dnsmasq => dnsmasq::parse(text),
    }
}

/// The filters of `[discovery]`.
pub fn filters(config: &Config) -> Filters {
    Filters {
        allow_cidrs: config.discovery.allow_cidrs.clone(),
        ignore_macs: config.discovery.ignore_macs.clone(),
        expired_grace: config.discovery.expired_grace.as_secs() as i64,
    }
}

/// Logs parse warnings with the file name and line.
pub fn log_warnings(file: &str, warnings: &[ParseWarning]) {
    for w in warnings {
        tracing::warn!(file, line = w.line, problem = %w.message, "skipped a broken lease record");
    }
}

/// Reads `source` once and selects targets as of `now` (Unix seconds).
pub fn targets_once(
    source: &dyn LeaseSource,
    now: i64,
    filters: &Filters,
) -> Result<Vec<Target>, DiscoveryError> {
    let parsed = source.read()?;
    log_warnings(&source.name(), &parsed.warnings);
    Ok(to_targets(&parsed.leases, now, filters))
}

/// Selected leases as targets.
pub fn to_targets(leases: &[Lease], now: i64, filters: &Filters) -> Vec<Target> {
    select_targets(leases, now, filters)
        .into_iter()
        .map(|s| Target {
            mac: s.mac,
            ip: s.ip,
            port: None,
            hostname: s.hostname,
            lease_ends: s.ends,
        })
        .collect()
}

/// A `LeaseFile` for `[discovery]`.
pub fn source(config: &Config) -> LeaseFile {
    LeaseFile {
        path: config.discovery.leases_file.clone(),
        format: config.discovery.leases_format,
        max_bytes: config.discovery.max_leases_file_size,
    }
}

/// The lease watcher `[discovery]` describes.
pub fn watcher(config: &Config) -> watch::Watcher {
    watch::Watcher::new(source(config), filters(config), config.discovery.refresh)
}

/// True when `path` exists (for `check-config` warnings).
pub fn exists(path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_fixture_format() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/leases/");
        for (file, want) in [
            ("dhcpd.leases", LeasesFormat::IscDhcpd),
            ("dhcpd-epoch.leases", LeasesFormat::IscDhcpd),
            ("kea-leases4.csv", LeasesFormat::KeaCsv),
            ("kea-leases4-pool_id.csv", LeasesFormat::KeaCsv),
            ("dnsmasq.leases", LeasesFormat::Dnsmasq),
            ("dnsmasq-dualstack.leases", LeasesFormat::Dnsmasq),
        ] {
            let text = std::fs::read_to_string(format!("{dir}{file}")).expect("fixture");
            assert_eq!(detect_format(&text), want, "{file}");
            let targets = to_targets(
                &parse(&text, LeasesFormat::Auto).leases,
                1_795_176_000,
                &Filters::default(),
            );
            assert_eq!(targets.len(), 5, "{file}: {targets:?}");
        }
    }
}
