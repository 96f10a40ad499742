//! `bmc-catcher check-config`: validates the config and the credentials file it names, prints the
//! effective settings as TOML (secrets never) and which leases count, warns when the leases file
//! does not exist yet or is something the daemon will refuse (a FIFO, a device, a directory, larger
//! than `max-leases-file-size`); it only opens it without blocking and never reads it.

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
            } else if let Some(e) = discovery::check_file(
                &cfg.discovery.leases_file,
                cfg.discovery.max_leases_file_size,
            ) {
                eprintln!("warning: [discovery] leases-file: {e}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => super::config_exit(&e),
    }
}
