//! The daemon's configuration: the TOML file an operator writes (kebab-case keys, unknown keys refused,
//! defaults in code) and the separate credentials file. `load` parses and validates; every error names
//! the file and the key, and `main` turns it into exit code 78 (EX_CONFIG).
//!
//! Secrets live only in [`Credentials`], as `SecretString`s; the effective config printed by
//! `check-config` never contains them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub(crate) mod byte_size;
mod credentials;
pub(crate) mod duration_str;
pub mod file;
mod members;
pub use members::{MAX_MEMBER_ID, host_name, member_id_ok};
mod sections;
mod syntax;
pub use credentials::{Credential, Credentials};
pub use sections::*;
pub(crate) use syntax::toml_error;

/// Exit code for a bad configuration (sysexits.h EX_CONFIG), as systemd and ntpd-rs use it.
pub const EXIT_CONFIG: i32 = 78;

/// Exit code for a command used wrongly (sysexits.h EX_USAGE): an unknown flag or subcommand, a
/// malformed argument such as a MAC, a missing confirmation.
pub const EXIT_USAGE: u8 = 64;

/// Why the configuration cannot be used. Each variant names the file and, where known, the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `hint` says, for "permission denied", who may read the file and what to do about it.
    #[error("cannot read {file}: {source}{hint}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
        hint: String,
    },
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{file} is {what}: give the path of a regular file")]
    NotAFile { file: PathBuf, what: &'static str },
    #[error("{file}: key `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// The partition (site, room) this catcher serves; part of every NATS key and payload.
    pub partition: String,
    /// TOML file with `username`/`password` and per-CIDR or per-MAC overrides. A leading
    /// `$CREDENTIALS_DIRECTORY/` is expanded (systemd `LoadCredential=`).
    pub credentials_file: Option<PathBuf>,
    /// Where the daemon notes the BMC sessions it has open (Redfish session paths, IPMI session
    /// IDs; no tokens), so that the next start closes those a crash left behind. Unset (the
    /// default without a config file; the shipped config sets
    /// `/var/lib/bmc-catcher/sessions.json`): not kept.
    pub session_journal: Option<PathBuf>,
    pub discovery: Discovery,
    pub poll: Poll,
    pub redfish: Redfish,
    pub ipmi: Ipmi,
    pub issues: Issues,
    pub metrics: Metrics,
    pub logs: Logs,
    pub http: Http,
    pub nats: Nats,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            partition: "default".into(),
            credentials_file: Some(PathBuf::from("/etc/bmc-catcher/credentials.toml")),
            session_journal: None,
            discovery: Discovery::default(),
            poll: Poll::default(),
            redfish: Redfish::default(),
            ipmi: Ipmi::default(),
            issues: Issues::default(),
            metrics: Metrics::default(),
            logs: Logs::default(),
            http: Http::default(),
            nats: Nats::default(),
        }
    }
}

impl Config {
    /// Reads, parses and validates the file.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = file::read(file).map_err(|e| match e {
            ConfigError::Read {
                file,
                source,
                mut hint,
            } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                hint.push_str("; the config holds no secret: install it readable (mode 0644)");
                ConfigError::Read { file, source, hint }
            }
            e => e,
        })?;
        Config::parse(&text, file)
    }

    /// Parses and validates `text`; `file` only names the source in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_path_buf(),
            message: toml_error(text, &e),
        })?;
        config.validate(file)?;
        Ok(config)
    }

    fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: key.to_string(),
            message: message.to_string(),
        };
        if self.partition.is_empty()
            || !self
                .partition
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "partition",
                "must be non-empty and use only letters, digits, '-' and '_' (it is part of NATS subjects)",
            ));
        }
        if self.poll.interval < Duration::from_secs(1) {
            return Err(invalid("poll.interval", "must be at least 1s"));
        }
        if self.poll.timeout.is_zero() || self.poll.timeout > self.poll.interval {
            return Err(invalid(
                "poll.timeout",
                "must be greater than zero and no longer than poll.interval",
            ));
        }
        if !(1..=10_000).contains(&self.logs.keep) {
            return Err(invalid("logs.keep", "must be 1 to 10000"));
        }
        if self.logs.backfill > self.logs.keep {
            return Err(invalid("logs.backfill", "must be at most logs.keep"));
        }
        if !(1..=10_000).contains(&self.logs.max_entries_per_poll) {
            return Err(invalid("logs.max-entries-per-poll", "must be 1 to 10000"));
        }
        if self.poll.concurrency == 0 {
            return Err(invalid("poll.concurrency", "must be at least 1"));
        }
        if !(1..=100_000).contains(&self.poll.max_sensors_per_bmc) {
            return Err(invalid("poll.max-sensors-per-bmc", "must be 1 to 100000"));
        }
        if !(1..=10_000).contains(&self.poll.max_psus_per_bmc) {
            return Err(invalid("poll.max-psus-per-bmc", "must be 1 to 10000"));
        }
        if self.poll.inventory_interval < self.poll.interval {
            return Err(invalid(
                "poll.inventory-interval",
                "must be at least poll.interval",
            ));
        }
        if !self.poll.component_interval.is_zero()
            && self.poll.component_interval < self.poll.interval
        {
            return Err(invalid(
                "poll.component-interval",
                "must be 0s (every poll) or at least poll.interval",
            ));
        }
        if !(1..=10_000).contains(&self.metrics.max_components_per_bmc) {
            return Err(invalid(
                "metrics.max-components-per-bmc",
                "must be 1 to 10000",
            ));
        }
        if self.issues.drive_wear_out_below > 100 {
            return Err(invalid("issues.drive-wear-out-below", "must be 0 to 100"));
        }
        if !(1..=8).contains(&self.redfish.connections_per_bmc) {
            return Err(invalid("redfish.connections-per-bmc", "must be 1 to 8"));
        }
        if self.ipmi.cipher_suites.is_empty()
            || self.ipmi.cipher_suites.iter().any(|s| ![3, 17].contains(s))
        {
            return Err(invalid(
                "ipmi.cipher-suites",
                "list of 17 and/or 3 (the suites with AES-CBC-128 confidentiality)",
            ));
        }
        if self.ipmi.port == 0 {
            return Err(invalid("ipmi.port", "must not be 0"));
        }
        if self.ipmi.request_timeout.is_zero() {
            return Err(invalid("ipmi.request-timeout", "must be greater than zero"));
        }
        // The IPMI timing must fit a poll only where IPMI can be used.
        let ipmi_total = self.ipmi.request_timeout * (self.ipmi.retries + 1);
        if self.poll.protocol != ProtocolChoice::Redfish && ipmi_total > self.poll.timeout {
            let defaults = Ipmi::default();
            let which = if self.ipmi.request_timeout == defaults.request_timeout
                && self.ipmi.retries == defaults.retries
            {
                " (the [ipmi] defaults)"
            } else {
                ""
            };
            return Err(invalid(
                "ipmi.request-timeout",
                &format!(
                    "request-timeout {} × (retries {} + 1) = {} does not fit in poll.timeout {}{which}: \
                     set [ipmi] request-timeout or retries lower, [poll] timeout higher, or \
                     [poll] protocol = \"redfish\" if no BMC speaks IPMI",
                    humantime::format_duration(self.ipmi.request_timeout),
                    self.ipmi.retries,
                    humantime::format_duration(ipmi_total),
                    humantime::format_duration(self.poll.timeout),
                ),
            ));
        }
        if self.discovery.max_leases_file_size < 4096 {
            return Err(invalid(
                "discovery.max-leases-file-size",
                "must be at least 4KiB (a size like \"256MiB\")",
            ));
        }
        if self.discovery.refresh < Duration::from_millis(100) {
            return Err(invalid("discovery.refresh", "must be at least 100ms"));
        }
        if self.redfish.port == 0 {
            return Err(invalid("redfish.port", "must not be 0"));
        }
        let token_ok = |t: &str| !t.is_empty() && !t.contains(['.', '*', '>', ' ']);
        if !token_ok(&self.nats.subject_prefix) {
            return Err(invalid(
                "nats.subject-prefix",
                "must be one subject token: no '.', '*', '>' or spaces",
            ));
        }
        let name_ok = |t: &str| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !name_ok(&self.nats.kv_bucket) {
            return Err(invalid(
                "nats.kv-bucket",
                "use only letters, digits, '-' and '_'",
            ));
        }
        if !name_ok(&self.nats.tls_pins_bucket) {
            return Err(invalid(
                "nats.tls-pins-bucket",
                "use only letters, digits, '-' and '_'",
            ));
        }
        if !name_ok(&self.nats.log_cursors_bucket) {
            return Err(invalid(
                "nats.log-cursors-bucket",
                "use only letters, digits, '-' and '_'",
            ));
        }
        if !name_ok(&self.nats.profiles_bucket) {
            return Err(invalid(
                "nats.profiles-bucket",
                "use only letters, digits, '-' and '_'",
            ));
        }
        if !name_ok(&self.nats.stream) {
            return Err(invalid(
                "nats.stream",
                "use only letters, digits, '-' and '_'",
            ));
        }
        if self.http.max_connections == 0 {
            return Err(invalid("http.max-connections", "must be at least 1"));
        }
        for (key, d) in [
            ("http.header-read-timeout", self.http.header_read_timeout),
            ("http.idle-timeout", self.http.idle_timeout),
            ("http.response-timeout", self.http.response_timeout),
            ("http.shutdown-timeout", self.http.shutdown_timeout),
        ] {
            if d.is_zero() {
                return Err(invalid(key, "must be greater than zero"));
            }
        }
        if self.nats.buffer_events == 0 {
            return Err(invalid("nats.buffer-events", "must be at least 1"));
        }
        if self.nats.command_queue == 0 || self.nats.command_queue > 1000 {
            return Err(invalid("nats.command-queue", "must be 1 to 1000"));
        }
        if self.nats.command_rate_window.is_zero() {
            return Err(invalid("nats.command-rate-window", "must be longer than 0"));
        }
        if self.nats.command_idempotency_window.is_zero() {
            return Err(invalid(
                "nats.command-idempotency-window",
                "must be longer than 0",
            ));
        }
        if self.nats.buffer_mib == 0 || self.nats.buffer_mib > 4096 {
            return Err(invalid("nats.buffer-mib", "must be 1 to 4096"));
        }
        if self.nats.replicas == 0 || self.nats.replicas > 5 {
            return Err(invalid("nats.replicas", "must be 1 to 5"));
        }
        if self.nats.client_cert.is_some() != self.nats.client_key.is_some() {
            return Err(invalid(
                "nats.client-cert",
                "client-cert and client-key go together",
            ));
        }
        if let Some((key, message)) = self.nats.members_problem() {
            return Err(invalid(key, &message));
        }
        if self.nats.creds_file.is_some() && self.nats.nkey_file.is_some() {
            return Err(invalid(
                "nats.creds-file",
                "set creds-file or nkey-file, not both",
            ));
        }
        Ok(())
    }

    /// The effective configuration as TOML, for `check-config`. Holds no secrets by construction.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }

    /// The credentials file to read: `credentials-file` with a leading `$CREDENTIALS_DIRECTORY/`
    /// expanded; else, under systemd, the copy the unit handed over ([`systemd_credentials`]),
    /// which the unit's `LoadCredential=` made of `credentials-file`; else `credentials-file`.
    pub fn credentials_path(&self) -> Option<PathBuf> {
        let p = self.credentials_file.as_ref()?;
        let s = p.to_string_lossy();
        if let Some(rest) = s.strip_prefix("$CREDENTIALS_DIRECTORY/") {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
            return Some(Path::new(&dir).join(rest));
        }
        Some(systemd_credentials().unwrap_or_else(|| p.clone()))
    }
}

/// The name the shipped unit gives the credentials file it hands over:
/// `LoadCredential=credentials:/etc/bmc-catcher/credentials.toml`.
pub const SYSTEMD_CREDENTIAL: &str = "credentials";

/// `$CREDENTIALS_DIRECTORY/credentials`, when systemd handed this process the credentials file
/// (`LoadCredential=credentials:FILE`, readable by the unit's user only): found without any
/// configuration, and read in place of `credentials-file`, which the unit's user (a
/// `DynamicUser=`) cannot read.
pub fn systemd_credentials() -> Option<PathBuf> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
    let path = Path::new(&dir).join(SYSTEMD_CREDENTIAL);
    path.exists().then_some(path)
}

/// The config file and the credentials file it names (none named: no credentials), as `run`,
/// SIGHUP and every subcommand that talks to BMCs load them.
pub fn load(file: &Path) -> Result<(Config, Credentials), ConfigError> {
    let config = Config::load(file)?;
    let credentials = match config.credentials_path() {
        Some(p) => Credentials::load(&p)?,
        None => Credentials::default(),
    };
    Ok((config, credentials))
}

#[cfg(test)]
mod tests;
