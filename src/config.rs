//! The daemon's configuration: the TOML file an operator writes (kebab-case keys, unknown keys refused,
//! defaults in code) and the separate credentials file. `load` parses and validates; every error names
//! the file and the key, and `main` turns it into exit code 78 (EX_CONFIG).
//!
//! Secrets live only in [`Credentials`], as `SecretString`s; the effective config printed by
//! `check-config` never contains them.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::MacAddr;

/// Exit code for a bad configuration (sysexits.h EX_CONFIG), as systemd and ntpd-rs use it.
pub const EXIT_CONFIG: i32 = 78;

/// Why the configuration cannot be used. Each variant names the file and, where known, the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{file}: key `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

/// Which lease file format to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeasesFormat {
    Auto,
    IscDhcpd,
    KeaCsv,
    Dnsmasq,
}

/// Which backend to use for a BMC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolChoice {
    Auto,
    Redfish,
    Ipmi,
}

/// How to check a BMC's TLS certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsPolicy {
    /// webpki verification against `ca-file`, or the system roots when it is unset.
    Verify,
    /// Accept any certificate (handshake signatures are still checked).
    Insecure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Https,
    Http,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// The partition (site, room) this catcher serves; part of every NATS key and payload.
    pub partition: String,
    /// TOML file with `username`/`password` and per-CIDR or per-MAC overrides. A leading
    /// `$CREDENTIALS_DIRECTORY/` is expanded (systemd `LoadCredential=`).
    pub credentials_file: Option<PathBuf>,
    pub discovery: Discovery,
    pub poll: Poll,
    pub redfish: Redfish,
    pub ipmi: Ipmi,
    pub issues: Issues,
    pub http: Http,
    pub nats: Nats,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Discovery {
    pub leases_file: PathBuf,
    pub leases_format: LeasesFormat,
    /// Only leases inside these networks are BMCs; empty allows every address.
    pub allow_cidrs: Vec<IpNet>,
    pub ignore_macs: Vec<MacAddr>,
    /// How often the leases file is stat()ed for changes and lease expiry re-evaluated.
    #[serde(with = "duration_str")]
    pub refresh: Duration,
    /// How long a BMC whose lease ended is still polled (and flagged if it answers); "0s" drops it
    /// at once.
    #[serde(with = "duration_str")]
    pub expired_grace: Duration,
}

/// `[issues]`: when the daemon calls something an issue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Issues {
    /// `info-outdated` after this many poll intervals without a successful poll.
    pub outdated_after_intervals: u32,
}

impl Default for Issues {
    fn default() -> Self {
        Issues {
            outdated_after_intervals: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Poll {
    #[serde(with = "duration_str")]
    pub interval: Duration,
    /// Deadline for one poll of one BMC.
    #[serde(with = "duration_str")]
    pub timeout: Duration,
    /// Polls in flight at once, over all BMCs.
    pub concurrency: usize,
    pub protocol: ProtocolChoice,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Redfish {
    pub port: u16,
    pub scheme: Scheme,
    pub tls: TlsPolicy,
    /// PEM bundle of the CA that issued the BMCs' certificates (with `tls = "verify"`).
    pub ca_file: Option<PathBuf>,
}

/// IPMI privilege levels a session may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpmiPrivilege {
    User,
    Operator,
    Administrator,
}

/// `[ipmi]`: RMCP+ (IPMI 2.0 over UDP).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Ipmi {
    pub port: u16,
    /// Cipher suites to offer, in order of preference: 17 (SHA-256) and 3 (SHA-1).
    pub cipher_suites: Vec<u8>,
    /// The highest privilege the daemon's sessions take: `operator` suffices for power commands,
    /// `user` allows only reading.
    pub privilege: IpmiPrivilege,
    /// Wait for one reply before retransmitting.
    #[serde(with = "duration_str")]
    pub request_timeout: Duration,
    /// Retransmissions of a request after the first attempt.
    pub retries: u32,
    /// Between polls a session is kept alive with a cheap request this often (BMCs drop idle
    /// sessions after 30-60 s); "0s" lets it expire and opens a new one at the next poll.
    #[serde(with = "duration_str")]
    pub keepalive: Duration,
}

impl Default for Ipmi {
    fn default() -> Self {
        Ipmi {
            port: 623,
            cipher_suites: vec![17, 3],
            privilege: IpmiPrivilege::Operator,
            request_timeout: Duration::from_secs(1),
            retries: 2,
            keepalive: Duration::from_secs(20),
        }
    }
}

/// `[nats]`: publishing is off while `url` is unset.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Nats {
    /// `nats://host:4222` (comma-separated for a cluster); unset = no NATS.
    pub url: Option<String>,
    /// A `.creds` file (JWT + nkey seed).
    pub creds_file: Option<PathBuf>,
    /// A file holding an nkey seed (`SU...`).
    pub nkey_file: Option<PathBuf>,
    /// CA bundle for the server's certificate (enables TLS).
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key for mutual TLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// First subject token: `<prefix>.<partition>.<mac>.event.<kind>`, `<prefix>.<partition>.<mac>.cmd`.
    pub subject_prefix: String,
    /// JetStream key-value bucket of the latest snapshot per BMC, key `<partition>.<mac>`.
    pub kv_bucket: String,
    /// JetStream stream of change events.
    pub stream: String,
    pub replicas: usize,
    /// Events kept in memory while NATS is unreachable; the oldest are dropped (and counted) beyond.
    pub buffer_events: usize,
    /// Deadline of one publish including its acknowledgement.
    #[serde(with = "duration_str")]
    pub publish_timeout: Duration,
    /// Deadline of one command (check, act, read back).
    #[serde(with = "duration_str")]
    pub command_timeout: Duration,
    /// The event stream's de-duplication window: a retried event is stored once within it.
    #[serde(with = "duration_str")]
    pub duplicate_window: Duration,
}

impl Default for Nats {
    fn default() -> Self {
        Nats {
            url: None,
            creds_file: None,
            nkey_file: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            subject_prefix: "bmc".into(),
            kv_bucket: "bmc_state".into(),
            stream: "BMC_EVENTS".into(),
            replicas: 1,
            buffer_events: 100_000,
            publish_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(60),
            duplicate_window: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Http {
    pub listen: SocketAddr,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            partition: "default".into(),
            credentials_file: Some(PathBuf::from("/etc/bmc-catcher/credentials.toml")),
            discovery: Discovery::default(),
            poll: Poll::default(),
            redfish: Redfish::default(),
            ipmi: Ipmi::default(),
            issues: Issues::default(),
            http: Http::default(),
            nats: Nats::default(),
        }
    }
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            leases_file: PathBuf::from("/var/lib/dhcp/dhcpd.leases"),
            leases_format: LeasesFormat::Auto,
            allow_cidrs: Vec::new(),
            ignore_macs: Vec::new(),
            refresh: Duration::from_secs(5),
            expired_grace: Duration::from_secs(3600),
        }
    }
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            interval: Duration::from_secs(300),
            timeout: Duration::from_secs(60),
            concurrency: 64,
            protocol: ProtocolChoice::Auto,
        }
    }
}

impl Default for Redfish {
    fn default() -> Self {
        Redfish {
            port: 443,
            scheme: Scheme::Https,
            tls: TlsPolicy::Verify,
            ca_file: None,
        }
    }
}

impl Default for Http {
    fn default() -> Self {
        Http {
            listen: SocketAddr::from(([0, 0, 0, 0], 9742)),
        }
    }
}

impl Config {
    /// Reads, parses and validates the file.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Config::parse(&text, file)
    }

    /// Parses and validates `text`; `file` only names the source in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
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
        if self.poll.concurrency == 0 {
            return Err(invalid("poll.concurrency", "must be at least 1"));
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
        if self.ipmi.request_timeout.is_zero()
            || self.ipmi.request_timeout * (self.ipmi.retries + 1) > self.poll.timeout
        {
            return Err(invalid(
                "ipmi.request-timeout",
                "must be greater than zero, and request-timeout × (retries + 1) must fit in poll.timeout",
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
        if !name_ok(&self.nats.stream) {
            return Err(invalid(
                "nats.stream",
                "use only letters, digits, '-' and '_'",
            ));
        }
        if self.nats.buffer_events == 0 {
            return Err(invalid("nats.buffer-events", "must be at least 1"));
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

    /// The credentials path with `$CREDENTIALS_DIRECTORY` expanded.
    pub fn credentials_path(&self) -> Option<PathBuf> {
        let p = self.credentials_file.as_ref()?;
        let s = p.to_string_lossy();
        if let Some(rest) = s.strip_prefix("$CREDENTIALS_DIRECTORY/") {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
            return Some(Path::new(&dir).join(rest));
        }
        Some(p.clone())
    }
}

/// One username/password pair.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub username: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credential {{ username: {:?}, password: [redacted] }}",
            self.username
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Override {
    #[serde(default)]
    mac: Option<MacAddr>,
    #[serde(default)]
    cidr: Option<IpNet>,
    username: String,
    password: SecretString,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    username: Option<String>,
    password: Option<SecretString>,
    #[serde(default, rename = "override")]
    overrides: Vec<Override>,
    /// `[nats] username/password`, when the NATS server wants them.
    #[serde(default)]
    nats: Option<Credential>,
}

/// Credentials for every BMC: a default pair plus overrides by MAC (first) or by CIDR (most specific).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    default: Option<Credential>,
    /// For the NATS connection (`[nats]` table of the credentials file).
    pub nats: Option<Credential>,
    by_mac: Vec<(MacAddr, Credential)>,
    by_cidr: Vec<(IpNet, Credential)>,
}

impl Credentials {
    /// Reads the credentials file; refuses one that group or others may read (chmod 600, or hand it
    /// over with systemd's `LoadCredential=`).
    pub fn load(file: &Path) -> Result<Credentials, ConfigError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(file).map_err(|source| ConfigError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ConfigError::Invalid {
                file: file.to_path_buf(),
                key: "credentials-file".into(),
                message: format!(
                    "mode {mode:04o} lets group or others read the BMC passwords; chmod 600 it"
                ),
            });
        }
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Credentials::parse(&text, file)
    }

    pub fn parse(text: &str, file: &Path) -> Result<Credentials, ConfigError> {
        // The toml error text can quote the offending line, which may hold a password: keep only
        // the position.
        let raw: CredentialsFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_path_buf(),
            message: match e.span() {
                Some(span) => format!(
                    "invalid credentials TOML at line {} (content not shown: it may hold a secret)",
                    text[..span.start.min(text.len())].matches('\n').count() + 1
                ),
                None => "invalid credentials TOML (content not shown)".into(),
            },
        })?;
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: key.into(),
            message: message.into(),
        };
        let default = match (raw.username, raw.password) {
            (Some(username), Some(password)) => Some(Credential { username, password }),
            (None, None) => None,
            (Some(_), None) => return Err(invalid("password", "username given without password")),
            (None, Some(_)) => return Err(invalid("username", "password given without username")),
        };
        let mut creds = Credentials {
            default,
            nats: raw.nats,
            ..Default::default()
        };
        for (i, o) in raw.overrides.into_iter().enumerate() {
            let cred = Credential {
                username: o.username,
                password: o.password,
            };
            match (o.mac, o.cidr) {
                (Some(mac), None) => creds.by_mac.push((mac, cred)),
                (None, Some(net)) => creds.by_cidr.push((net, cred)),
                _ => {
                    return Err(invalid(
                        &format!("override[{i}]"),
                        "needs exactly one of `mac` or `cidr`",
                    ));
                }
            }
        }
        creds
            .by_cidr
            .sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
        Ok(creds)
    }

    /// A single default pair (demo, tests, `probe`).
    pub fn single(username: &str, password: &str) -> Credentials {
        Credentials {
            default: Some(Credential {
                username: username.into(),
                password: SecretString::from(password.to_string()),
            }),
            ..Default::default()
        }
    }

    pub fn for_target(&self, mac: MacAddr, ip: IpAddr) -> Option<&Credential> {
        self.by_mac
            .iter()
            .find(|(m, _)| *m == mac)
            .map(|(_, c)| c)
            .or_else(|| {
                self.by_cidr
                    .iter()
                    .find(|(net, _)| net.contains(&ip))
                    .map(|(_, c)| c)
            })
            .or(self.default.as_ref())
    }
}

/// Durations as human strings (`5m`, `30s`, `250ms`) in TOML.
mod duration_str {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "{s:?} is not a duration like \"30s\" or \"5m\": {e}"
            ))
        })
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
