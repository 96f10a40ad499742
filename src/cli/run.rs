//! `bmc-catcher run`: loads the config and credentials (exit 78 on a bad one) and runs the daemon
//! until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

/// Exit 0 after a clean stop, 78 on a bad config, 1 when the daemon fails.
pub async fn run(config: PathBuf) -> ExitCode {
    let (cfg, creds) = match crate::config::load(&config) {
        Ok(c) => c,
        Err(e) => return super::config_exit(&e),
    };
    if let Some(exit) = super::web_config_exit(&cfg) {
        return exit;
    }
    match crate::daemon::run(config.clone(), cfg, creds).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "daemon failed");
            eprintln!("bmc-catcher: {e:#}");
            ExitCode::from(1)
        }
    }
}
