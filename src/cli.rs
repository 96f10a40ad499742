//! The subcommands of the `bmc-catcher` binary, one file each; `main.rs` only parses arguments and
//! dispatches here. Every subcommand that reads the config takes it from `--config`,
//! `$BMC_CATCHER_CONFIG` or `/etc/bmc-catcher/config.toml`.

pub mod capture;
pub mod check_config;
#[cfg(feature = "demo")]
pub mod demo;
mod fleet;
pub mod issues;
pub mod poll_once;
pub mod power;
pub mod probe;
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

/// Reports a bad config and returns exit code 78 (EX_CONFIG).
pub fn config_exit(e: &ConfigError) -> ExitCode {
    eprintln!("bmc-catcher: configuration error: {e}");
    ExitCode::from(EXIT_CONFIG as u8)
}

/// Seconds since the Unix epoch, from the wall clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The config for the views and `power`, which talk to the daemon or NATS, not to BMCs: without a
/// path the defaults; the credentials file only when it exists (it may hold the NATS user).
pub fn load_optional(path: Option<&Path>) -> Result<(Config, Credentials), ConfigError> {
    let Some(path) = path else {
        return Ok((Config::default(), Credentials::default()));
    };
    let config = Config::load(path)?;
    let credentials = match config.credentials_path() {
        Some(p) if p.exists() => Credentials::load(&p)?,
        _ => Credentials::default(),
    };
    Ok((config, credentials))
}
