//! The subcommands of the `bmc-catcher` binary, one file each; `main.rs` only parses arguments and
//! dispatches here. Every subcommand that reads the config takes it from `--config`,
//! `$BMC_CATCHER_CONFIG` or `/etc/bmc-catcher/config.toml`.

pub mod capture;
pub mod check_config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod firmware;
mod fleet;
pub mod inventory;
pub mod issues;
pub mod logs;
pub mod members;
pub mod poll_once;
pub mod power;
pub mod probe;
pub mod refresh;
pub mod run;
pub mod status;
pub mod table;
pub mod trust;

pub use fleet::{Output, PowerFilter, SortKey, Source, fetch};

use std::process::ExitCode;

use std::path::Path;

use crate::config::{Config, ConfigError, Credentials, EXIT_CONFIG};

/// `--config FILE` of the subcommands that need the daemon's config: `$BMC_CATCHER_CONFIG`, else
/// `/etc/bmc-catcher/config.toml`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigFile {
    /// The daemon's config file.
    #[arg(
        long,
        short,
        env = "BMC_CATCHER_CONFIG",
        default_value = "/etc/bmc-catcher/config.toml"
    )]
    pub config: std::path::PathBuf,
}

/// A command used wrongly, found after parsing (a confirmation that cannot be asked, a malformed
/// value): exit code 64 (EX_USAGE) through [`exit_code`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for a subcommand's error: 78 (EX_CONFIG) for a config error, 64 (EX_USAGE) for a
/// [`UsageError`], else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<ConfigError>().is_some() {
        EXIT_CONFIG as u8
    } else if e.downcast_ref::<UsageError>().is_some() {
        crate::config::EXIT_USAGE
    } else {
        1
    }
}

/// Reports a bad config and returns exit code 78 (EX_CONFIG).
pub fn config_exit(e: &ConfigError) -> ExitCode {
    eprintln!("bmc-catcher: configuration error: {e}");
    ExitCode::from(EXIT_CONFIG as u8)
}

/// Checks `[http] web-config-file` as the daemon will read it: `Some(78)` after naming what is
/// wrong (file and key, never a value).
pub fn web_config_exit(cfg: &Config) -> Option<ExitCode> {
    let file = cfg.http.web_config_file.as_ref()?;
    let e = crate::publish::http::web_config::WebConfig::load(file).err()?;
    eprintln!("bmc-catcher: configuration error: [http] web-config-file: {e}");
    Some(ExitCode::from(EXIT_CONFIG as u8))
}

/// Seconds since the Unix epoch, from the wall clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Where the daemon's config is by default.
pub const DEFAULT_CONFIG: &str = "/etc/bmc-catcher/config.toml";

/// `--config FILE` of the views and `power`, which talk to the daemon's API or to NATS, not to
/// BMCs: the same file as the daemon's (`$BMC_CATCHER_CONFIG`, else `/etc/bmc-catcher/config.toml`
/// when it exists), but optional: without one they use the defaults.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ViewConfig {
    /// The daemon's config file, for its listen address, partition and NATS settings (default:
    /// /etc/bmc-catcher/config.toml, when it exists).
    #[arg(long, short, env = "BMC_CATCHER_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

impl ViewConfig {
    /// The named config (which must load), else the default file if there is one, else the
    /// defaults. The credentials file is not read: see [`ViewConfig::nats_credentials`].
    pub fn load(&self) -> Result<Config, ConfigError> {
        match &self.config {
            Some(path) => Config::load(path),
            None if Path::new(DEFAULT_CONFIG).exists() => Config::load(Path::new(DEFAULT_CONFIG)),
            None => Ok(Config::default()),
        }
    }

    /// The credentials for NATS, read only by the commands that connect to NATS and only when the
    /// config names a credentials file that exists: reading the API needs no secret at all.
    pub fn nats_credentials(config: &Config) -> Result<Credentials, ConfigError> {
        match config.credentials_path() {
            Some(p) if p.exists() => Credentials::load(&p),
            _ => Ok(Credentials::default()),
        }
    }
}
