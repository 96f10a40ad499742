//! `bmc-catcher check-config`: validates the config, the credentials file it names (or the copy
//! systemd handed over, `$CREDENTIALS_DIRECTORY/credentials`) and the web config it names (exit 78
//! naming the file and key of a bad one), prints the effective settings as TOML (secrets never),
//! which credentials file was read and which leases count, warns when the leases file does not
//! exist yet or is something the daemon will refuse (a FIFO, a device, a directory, larger than
//! `max-leases-file-size`; checked after opening it without blocking, before reading), and
//! otherwise reads it and says how many BMCs it names, how many are polled and how many each
//! filter leaves out, warning when the filters leave none.

use std::path::Path;
use std::process::ExitCode;

use crate::discovery;

/// Reads the leases as the daemon would and says what the filters make of them.
fn summarize(cfg: &crate::config::Config) {
    use crate::discovery::LeaseSource;
    let source = discovery::source(cfg);
    match source.read() {
        Ok(parsed) => {
            let summary = discovery::select::Summary::of(
                &parsed.leases,
                super::unix_now(),
                &discovery::filters(cfg),
            );
            eprintln!(
                "leases: {}: {} records ({} unreadable): {summary}",
                source.name(),
                parsed.leases.len(),
                parsed.warnings.len()
            );
            if summary.filters_drop_everything() {
                eprintln!("warning: [discovery] allow-cidrs and ignore-macs leave no BMC to poll");
            }
        }
        Err(e) => eprintln!("warning: [discovery] leases-file: {e}"),
    }
}

/// Which credentials file was read, and why that one.
fn credentials_origin(cfg: &crate::config::Config) -> String {
    let Some(path) = cfg.credentials_path() else {
        return "none (no credentials-file)".into();
    };
    let configured = cfg.credentials_file.as_deref().unwrap_or(&path);
    if crate::config::systemd_credentials().as_deref() == Some(path.as_path()) && configured != path
    {
        format!(
            "{} (handed over by systemd, LoadCredential={}:..., in place of credentials-file {})",
            path.display(),
            crate::config::SYSTEMD_CREDENTIAL,
            configured.display()
        )
    } else {
        path.display().to_string()
    }
}

/// Prints the effective config (no secrets); exit 78 names the bad key.
pub fn run(config: &Path) -> ExitCode {
    match crate::config::load(config) {
        Ok((cfg, _)) => {
            if let Some(exit) = super::web_config_exit(&cfg) {
                return exit;
            }
            print!("{}", cfg.to_toml());
            eprintln!("credentials: {}", credentials_origin(&cfg));
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
            } else {
                summarize(&cfg);
            }
            ExitCode::SUCCESS
        }
        Err(e) => super::config_exit(&e),
    }
}
