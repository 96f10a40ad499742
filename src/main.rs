//! The `bmc-catcher` command line: parses arguments, sets up logging, loads the config (exit 78 on a
//! bad one) and hands over to the library. No logic lives here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bmc_catcher::config::{Config, ConfigError, Credentials, EXIT_CONFIG};
#[cfg(feature = "demo")]
use bmc_catcher::demo;
use bmc_catcher::{app, discovery, hal, poller, power_cli, probe, views_cli};

#[derive(Parser)]
#[command(
    name = "bmc-catcher",
    version,
    about = "Finds BMCs in DHCP leases, polls them, publishes what it learns"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        #[arg(
            long,
            short,
            env = "BMC_CATCHER_CONFIG",
            default_value = "/etc/bmc-catcher/config.toml"
        )]
        config: PathBuf,
    },
    /// One round over every discovered BMC; prints a JSON array of snapshots.
    PollOnce {
        #[arg(
            long,
            short,
            env = "BMC_CATCHER_CONFIG",
            default_value = "/etc/bmc-catcher/config.toml"
        )]
        config: PathBuf,
        /// Poll every BMC this many times back to back over the same sessions (the last round is
        /// printed; each round's wall and CPU time go to stderr): cold versus steady state.
        #[arg(long, default_value_t = 1)]
        rounds: u32,
    },
    /// Validate the config and print the effective settings (secrets are never printed).
    CheckConfig {
        #[arg(
            long,
            short,
            env = "BMC_CATCHER_CONFIG",
            default_value = "/etc/bmc-catcher/config.toml"
        )]
        config: PathBuf,
    },
    /// Start simulated BMCs and the real daemon against them; show a live table until Ctrl-C.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Send a power, identify or boot command to a BMC through NATS; print the reply.
    Power(power_cli::PowerArgs),
    /// One row per BMC: power, watts, hottest temperature, LED, last poll, issues.
    Status(views_cli::StatusArgs),
    /// BMCs with issues, each issue on its own line (metalctl layout).
    Issues(views_cli::IssuesArgs),
    /// Detect a BMC's protocol, poll it once, print what was learnt and how long each step took.
    Probe(probe::ProbeArgs),
    /// Record a Redfish BMC's resources (scrubbed) as a mockup tree the simulator can serve.
    Capture(probe::CaptureArgs),
    /// Accept the TLS certificate a BMC presents now (`tls = "pin"`, after a board swap).
    Trust(probe::TrustArgs),
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BMC_CATCHER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.compact().init();
    } else {
        builder.json().flatten_event(true).init();
    }
}

fn load(config: &Path) -> Result<(Config, Credentials), ConfigError> {
    let cfg = Config::load(config)?;
    let creds = match cfg.credentials_path() {
        Some(p) => Credentials::load(&p)?,
        None => Credentials::default(),
    };
    Ok((cfg, creds))
}

fn config_exit(e: &ConfigError) -> ExitCode {
    eprintln!("bmc-catcher: configuration error: {e}");
    ExitCode::from(EXIT_CONFIG as u8)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn poll_once(config: &Path, rounds: u32) -> ExitCode {
    let (cfg, creds) = match load(config) {
        Ok(c) => c,
        Err(e) => return config_exit(&e),
    };
    let source = discovery::source(&cfg);
    let targets = match discovery::targets_once(&source, unix_now(), &discovery::filters(&cfg)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bmc-catcher: {e}");
            return ExitCode::from(1);
        }
    };
    let connector = match hal::Connector::new(&cfg, creds) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bmc-catcher: {e}");
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    let schedule = poller::Schedule {
        interval: cfg.poll.interval,
        timeout: cfg.poll.timeout,
        concurrency: cfg.poll.concurrency,
    };
    let snaps = poller::poll_rounds(&connector, &targets, &cfg.partition, schedule, rounds).await;
    match serde_json::to_string_pretty(&snaps) {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bmc-catcher: cannot encode snapshots: {e}");
            ExitCode::from(1)
        }
    }
}

fn check_config(config: &Path) -> ExitCode {
    match load(config) {
        Ok((cfg, _)) => {
            print!("{}", cfg.to_toml());
            if !discovery::exists(&cfg.discovery.leases_file) {
                eprintln!(
                    "warning: [discovery] leases-file {} does not exist (yet)",
                    cfg.discovery.leases_file.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => config_exit(&e),
    }
}

fn view_exit(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bmc-catcher: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    if rustls::crypto::ring::default_provider()
        .install_default()
        .is_err()
    {
        eprintln!("bmc-catcher: a TLS crypto provider was already installed");
    }
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bmc-catcher: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match cli.command {
        Command::Run { config } => {
            init_logging("info");
            let (cfg, creds) = match load(&config) {
                Ok(c) => c,
                Err(e) => return config_exit(&e),
            };
            match rt.block_on(app::run(config.clone(), cfg, creds)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "daemon failed");
                    eprintln!("bmc-catcher: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::PollOnce { config, rounds } => {
            init_logging("warn");
            rt.block_on(poll_once(&config, rounds.max(1)))
        }
        Command::CheckConfig { config } => check_config(&config),
        Command::Probe(args) => {
            let verbose = std::env::var_os("BMC_CATCHER_LOG").is_some();
            init_logging(if verbose {
                "warn"
            } else {
                "warn,bmc_catcher::wire=debug"
            });
            view_exit(rt.block_on(probe::probe(args)))
        }
        Command::Trust(args) => {
            init_logging("warn");
            view_exit(rt.block_on(probe::trust(args)))
        }
        Command::Capture(args) => {
            init_logging("warn");
            view_exit(rt.block_on(probe::capture(args)))
        }
        Command::Status(args) => view_exit(rt.block_on(views_cli::status(args))),
        Command::Issues(args) => view_exit(rt.block_on(views_cli::issues(args))),
        Command::Power(args) => {
            init_logging("warn");
            ExitCode::from(rt.block_on(power_cli::run(args)))
        }
        #[cfg(feature = "demo")]
        Command::Demo(args) => {
            init_logging("warn");
            match rt.block_on(demo::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bmc-catcher demo: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
