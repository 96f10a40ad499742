//! The sections of the config file (`[discovery]`, `[poll]`, `[redfish]`, `[ipmi]`, `[issues]`,
//! `[http]`, `[nats]`) with their defaults, and the closed sets of choices they take.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::{byte_size, duration_str};
use crate::model::{Limits, MacAddr};

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
    /// Trust on first use: remember each BMC's certificate (SHA-256 in `pin-file`) and refuse
    /// another one until an operator runs `bmc-catcher trust`.
    Pin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Https,
    Http,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The most bytes of the leases file read; a larger file is refused (and the previous
    /// targets kept), so a runaway file or a wrong path (`/dev/zero`) cannot grow the daemon.
    #[serde(with = "byte_size")]
    pub max_leases_file_size: u64,
}

/// `[metrics]`: what `/metrics` exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Metrics {
    /// Component series (drives, volumes, DIMMs, CPUs, NIC ports, firmware) one BMC exports at
    /// most; the rest are counted in `bmc_components_unexported`.
    pub max_components_per_bmc: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            max_components_per_bmc: 128,
        }
    }
}

/// `[issues]`: when the daemon calls something an issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Issues {
    /// `info-outdated` after this many poll intervals without a successful poll.
    pub outdated_after_intervals: u32,
    /// `drive-wear-out` when a drive has less than this much media life left, percent (0-100).
    pub drive_wear_out_below: u8,
}

impl Default for Issues {
    fn default() -> Self {
        Issues {
            outdated_after_intervals: 4,
            drive_wear_out_below: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Sensors kept of one BMC per poll; the rest are counted (`bmc_parts_dropped`) and raise
    /// `too-many-sensors`, so a BMC that reports 50,000 costs what 1,000 cost.
    pub max_sensors_per_bmc: usize,
    /// PSUs kept of one BMC per poll, likewise.
    pub max_psus_per_bmc: usize,
    /// How often the slow parts (firmware inventory) are read again; also read at a BMC's first
    /// poll and when its firmware version changed. Health parts ride every poll.
    #[serde(with = "duration_str")]
    pub inventory_interval: Duration,
    /// How often a Redfish BMC's storage, memory, processors and cooling parts are read in full
    /// while its system's health rollup stays the same and every part was healthy; `0s`: at every
    /// poll. NIC ports and the intrusion sensor are read at every poll.
    #[serde(with = "duration_str")]
    pub component_interval: Duration,
    /// Where what each BMC turned out to support (its capability profile: protocol, Redfish
    /// layout, IPMI cipher suite, ...) is kept across restarts, so a restart skips detecting it.
    /// Unset: not kept (each start detects every BMC again).
    pub profile_file: Option<PathBuf>,
}

impl Poll {
    /// The per-BMC bounds the backends apply.
    pub fn limits(&self) -> Limits {
        Limits {
            logs: crate::model::LogPolicy::default(),
            max_sensors: self.max_sensors_per_bmc,
            max_psus: self.max_psus_per_bmc,
            inventory_interval: self.inventory_interval,
            component_interval: self.component_interval,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Redfish {
    pub port: u16,
    pub scheme: Scheme,
    pub tls: TlsPolicy,
    /// PEM bundle of the CA that issued the BMCs' certificates (with `tls = "verify"`).
    pub ca_file: Option<PathBuf>,
    /// Where `tls = "pin"` keeps the pinned certificate fingerprints, by BMC address.
    pub pin_file: PathBuf,
    /// HTTPS connections (and requests in flight) to one BMC at a time. BMC web servers are
    /// small; one keep-alive connection per BMC also bounds the daemon's sockets and memory.
    pub connections_per_bmc: usize,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// JetStream key-value bucket of the TLS pins (`[redfish] tls = "pin"`), key
    /// `<partition>.<address>`; the local pin file stays the one the daemon checks against.
    pub tls_pins_bucket: String,
    /// JetStream key-value bucket of where each BMC's logs were read up to (`[logs]`), key
    /// `<partition>.<mac>`: another catcher that takes a BMC over reads its logs on from there.
    pub log_cursors_bucket: String,
    /// JetStream key-value bucket of what each BMC turned out to support (its capability
    /// profile), key `<partition>.<mac>`: another catcher that takes a BMC over skips detecting it.
    pub profiles_bucket: String,
    /// JetStream stream of change events.
    pub stream: String,
    pub replicas: usize,
    /// Events kept in memory while NATS is unreachable; the oldest are dropped (and counted) beyond.
    pub buffer_events: usize,
    /// The same buffer's bound in MiB of encoded events (whichever bound is reached first).
    pub buffer_mib: usize,
    /// Deadline of one publish including its acknowledgement.
    #[serde(with = "duration_str")]
    pub publish_timeout: Duration,
    /// Deadline of one command (waiting, check, act, read back), counted from its receipt.
    #[serde(with = "duration_str")]
    pub command_timeout: Duration,
    /// Commands waiting or running per BMC; beyond, a command is refused as `busy`.
    pub command_queue: usize,
    /// Destructive actions (power-off, -soft, -cycle, -reset) per BMC per `command-rate-window`;
    /// beyond, refused as `rate-limited`. 0: no limit.
    pub command_rate_limit: u32,
    #[serde(with = "duration_str")]
    pub command_rate_window: Duration,
    /// A request with the `Nats-Msg-Id` of an earlier one within this window gets that one's reply
    /// and runs nothing.
    #[serde(with = "duration_str")]
    pub command_idempotency_window: Duration,
    /// The event stream's de-duplication window: a retried event is stored once within it.
    #[serde(with = "duration_str")]
    pub duplicate_window: Duration,
    /// JetStream key-value bucket where the catchers of a partition announce themselves, key
    /// `<partition>.<member-id>`; the live members share the partition's BMCs.
    pub members_bucket: String,
    /// This catcher's name among its partition's members, stable across restarts (letters,
    /// digits, '-', '_'). Unset: the host name, with '.' as '-'.
    pub member_id: Option<String>,
    /// A member not renewed within this is gone and its BMCs are taken over.
    #[serde(with = "duration_str")]
    pub member_ttl: Duration,
    /// How often a member renews its key (well below `member-ttl`).
    #[serde(with = "duration_str")]
    pub member_renew: Duration,
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
            tls_pins_bucket: "bmc_tls_pins".into(),
            log_cursors_bucket: "bmc_log_cursors".into(),
            profiles_bucket: "bmc_profiles".into(),
            stream: "BMC_EVENTS".into(),
            replicas: 1,
            buffer_events: 100_000,
            buffer_mib: 64,
            publish_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(60),
            command_queue: 4,
            command_rate_limit: 6,
            command_rate_window: Duration::from_secs(600),
            command_idempotency_window: Duration::from_secs(600),
            duplicate_window: Duration::from_secs(3600),
            members_bucket: "bmc_members".into(),
            member_id: None,
            member_ttl: Duration::from_secs(5),
            member_renew: Duration::from_secs(1),
        }
    }
}

/// `[http]`: the listener of `/metrics`, the JSON API and the health checks, and what a client
/// may cost it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Http {
    pub listen: SocketAddr,
    /// Connections open at once; the daemon lowers it to fit the fd limit (RLIMIT_NOFILE) with
    /// polling's fds reserved. A connection beyond it is closed at once (and counted).
    pub max_connections: usize,
    /// A new connection, or a request begun, must have sent its headers within this.
    #[serde(with = "duration_str")]
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this.
    #[serde(with = "duration_str")]
    pub idle_timeout: Duration,
    /// From a request's headers to the last byte of its response written: a client that reads
    /// slower (or never) is cut off.
    #[serde(with = "duration_str")]
    pub response_timeout: Duration,
    /// On SIGTERM, connections still busy after this are closed.
    #[serde(with = "duration_str")]
    pub shutdown_timeout: Duration,
    /// TLS and basic auth for the listener, in the Prometheus exporter-toolkit web-config format
    /// (YAML: `tls_server_config`, `basic_auth_users` with bcrypt hashes), read at start. Unset:
    /// plain HTTP, no authentication.
    pub web_config_file: Option<PathBuf>,
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
            max_leases_file_size: 256 << 20,
        }
    }
}

/// `[logs]`: reading each BMC's own event log (IPMI SEL, Redfish LogServices).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Logs {
    /// Read the logs at all.
    pub enabled: bool,
    /// On the first read of a BMC, its newest entries kept in the snapshot (they are counted,
    /// not sent as events).
    pub backfill: usize,
    /// Entries kept per BMC in the snapshot and `/api/v1/bmcs/{mac}/logs`.
    pub keep: usize,
    /// Records read per BMC per poll at most; the rest are read by the next polls.
    pub max_entries_per_poll: usize,
    /// A critical entry's `bmc-log-critical` issue clears by itself this long after the entry
    /// (or earlier, when acknowledged).
    #[serde(with = "duration_str")]
    pub critical_clears_after: Duration,
    /// Where the position in each BMC's log is kept across restarts. Unset: not kept (a
    /// restart then reads each log as for the first time, without events).
    pub cursor_file: Option<std::path::PathBuf>,
}

impl Default for Logs {
    fn default() -> Self {
        let p = crate::model::LogPolicy::default();
        Logs {
            enabled: p.enabled,
            backfill: p.backfill,
            keep: p.keep,
            max_entries_per_poll: p.max_per_poll,
            critical_clears_after: Duration::from_secs(24 * 3600),
            cursor_file: None,
        }
    }
}

impl Logs {
    /// The bounds the backends apply.
    pub fn policy(&self) -> crate::model::LogPolicy {
        crate::model::LogPolicy {
            enabled: self.enabled,
            backfill: self.backfill,
            keep: self.keep,
            max_per_poll: self.max_entries_per_poll,
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
            max_sensors_per_bmc: Limits::default().max_sensors,
            max_psus_per_bmc: Limits::default().max_psus,
            inventory_interval: Limits::default().inventory_interval,
            component_interval: Limits::default().component_interval,
            profile_file: None,
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
            pin_file: PathBuf::from("/var/lib/bmc-catcher/tls-pins.json"),
            connections_per_bmc: 1,
        }
    }
}

impl Default for Http {
    fn default() -> Self {
        Http {
            listen: SocketAddr::from(([0, 0, 0, 0], 9742)),
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            response_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(5),
            web_config_file: None,
        }
    }
}
