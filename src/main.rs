//! The `bmc-catcher` command line: parses arguments, sets up logging and the runtime, and hands
//! over to [`bmc_catcher::cli`], one module per subcommand. No logic lives here.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bmc_catcher::cli;

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
    Run(cli::ConfigFile),
    /// One round over every discovered BMC; prints a JSON array of snapshots.
    ///
    /// A summary goes to stderr. Exit codes: 0 every BMC answered, 2 at least one answered nothing
    /// (the summary names it), 1 the leases could not be read, 78 a bad config.
    PollOnce {
        #[command(flatten)]
        config: cli::ConfigFile,
        /// Poll every BMC this many times back to back over the same sessions (the last round is
        /// printed; each round's wall and CPU time go to stderr): cold versus steady state.
        #[arg(long, default_value_t = 1)]
        rounds: u32,
    },
    /// Validate the config and print the effective settings (secrets are never printed).
    CheckConfig(cli::ConfigFile),
    /// Start simulated BMCs and the real daemon against them; show a live table until Ctrl-C.
    #[cfg(feature = "demo")]
    Demo(cli::demo::DemoArgs),
    /// Send a power, identify or boot command to a BMC through NATS; print the reply.
    Power(cli::power::PowerArgs),
    /// One row per BMC: power, watts, hottest temperature, LED, last poll, issues.
    Status(cli::status::StatusArgs),
    /// BMCs with issues, each issue on its own line (metalctl layout).
    Issues(cli::issues::IssuesArgs),
    /// A BMC's own event log (IPMI SEL) as the daemon read it; --follow for new entries, --ack to
    /// acknowledge its critical entries.
    Logs(cli::logs::LogsArgs),
    /// Detect a BMC's protocol, poll it once, print what was learnt and how long each step took.
    Probe(cli::probe::ProbeArgs),
    /// Record a Redfish BMC's resources (scrubbed) as a mockup tree the simulator can serve.
    Capture(cli::capture::CaptureArgs),
    /// Accept the TLS certificate a BMC presents now (`tls = "pin"`, after a board swap).
    Trust(cli::trust::TrustArgs),
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
        Command::Run(config) => {
            init_logging("info");
            rt.block_on(cli::run::run(config.config))
        }
        Command::PollOnce { config, rounds } => {
            init_logging("warn");
            rt.block_on(cli::poll_once::run(&config.config, rounds.max(1)))
        }
        Command::CheckConfig(config) => cli::check_config::run(&config.config),
        Command::Probe(args) => {
            let verbose = std::env::var_os("BMC_CATCHER_LOG").is_some();
            init_logging(if verbose {
                "warn"
            } else {
                "warn,bmc_catcher::wire=debug"
            });
            view_exit(rt.block_on(cli::probe::probe(args)))
        }
        Command::Trust(args) => {
            init_logging("warn");
            view_exit(rt.block_on(cli::trust::trust(args)))
        }
        Command::Capture(args) => {
            init_logging("warn");
            view_exit(rt.block_on(cli::capture::capture(args)))
        }
        Command::Status(args) => view_exit(rt.block_on(cli::status::status(args))),
        Command::Issues(args) => view_exit(rt.block_on(cli::issues::issues(args))),
        Command::Logs(args) => view_exit(rt.block_on(cli::logs::logs(args))),
        Command::Power(args) => {
            init_logging("warn");
            ExitCode::from(rt.block_on(cli::power::run(args)))
        }
        #[cfg(feature = "demo")]
        Command::Demo(args) => {
            init_logging("warn");
            match rt.block_on(cli::demo::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bmc-catcher demo: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
