//! `bmc-catcher check-config`: validates the config and the credentials file it names, prints the
//! effective settings as TOML (secrets never) and which leases count, warns when the leases file
//! does not exist yet.

use std::path::Path;
use std::process::ExitCode;

use crate::discovery;

/// Prints the effective config (no secrets); exit 78 names the bad key.
pub fn run(config: &Path) -> ExitCode {
    match crate::config::load(config) {
        Ok((cfg, _)) => {
            print!("{}", cfg.to_toml());
            eprintln!(
                "leases: {}",
                discovery::counting_rule(cfg.discovery.expired_grace)
            );
            if !discovery::exists(&cfg.discovery.leases_file) {
                eprintln!(
                    "warning: [discovery] leases-file {} does not exist (yet)",
                    cfg.discovery.leases_file.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => super::config_exit(&e),
    }
}
