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
    about = "Finds BMCs in DHCP leases, polls them, publishes what it learns",
    after_help = "Exit codes: each subcommand's --help lists its own; 64 is a usage error (an unknown \
                  subcommand or flag, a malformed argument) in every one."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    ///
    /// Exit codes: 0 stopped by SIGTERM or SIGINT, 1 the daemon failed (e.g. cannot listen), 64 a
    /// usage error, 78 a bad config or credentials file (systemd does not restart it).
    Run(cli::ConfigFile),
    /// One round over every discovered BMC; prints a JSON array of snapshots.
    ///
    /// Each snapshot carries the issues evaluated over the round, as the daemon would raise them.
    /// A summary goes to stderr, and on a terminal a progress line while the round runs.
    ///
    /// Exit codes: 0 every BMC answered, 2 at least one answered nothing (the summary names it), 1
    /// the leases could not be read, 64 a usage error, 78 a bad config or credentials file.
    PollOnce {
        #[command(flatten)]
        config: cli::ConfigFile,
        /// Poll every BMC this many times back to back over the same sessions (the last round is
        /// printed; each round's wall and CPU time go to stderr): cold versus steady state.
        #[arg(long, default_value_t = 1)]
        rounds: u32,
    },
    /// Validate the config and print the effective settings (secrets are never printed).
    ///
    /// Stderr says which credentials file was read (under systemd, the copy in
    /// $CREDENTIALS_DIRECTORY) and what the filters leave of the leases.
    ///
    /// Exit codes: 0 valid (warnings about the leases file do not change it), 64 a usage error, 78
    /// a bad or unreadable config or credentials file (the message names the file and key).
    CheckConfig(cli::ConfigFile),
    /// Start simulated BMCs and the real daemon against them; show a live table until Ctrl-C.
    ///
    /// Exit codes: 0 stopped by Ctrl-C or after --duration, 1 the fleet or daemon could not
    /// start, 64 a usage error.
    #[cfg(feature = "demo")]
    Demo(cli::demo::DemoArgs),
    /// Send a power, identify or boot command to a BMC through NATS; print the reply.
    ///
    /// The MAC and the action are checked before anything else; stderr says what the command
    /// waits for.
    ///
    /// Exit codes: 0 the reply says ok, 1 it says failed (or no reply came, or NATS could not be
    /// reached), 64 a usage error (a malformed MAC, an unknown action, no NATS server given), 78 a
    /// bad config.
    Power(cli::power::PowerArgs),
    /// One row per BMC: power, watts, hottest temperature, LED, last poll, issues.
    ///
    /// Exit codes: 0 shown, 1 the daemon's API or NATS could not be read, 64 a usage error, 78 a
    /// bad config.
    Status(cli::status::StatusArgs),
    /// BMCs with issues, each issue on its own line (metalctl layout).
    ///
    /// Exit codes: 0 shown (with or without issues), 1 the daemon's API or NATS could not be read,
    /// 64 a usage error, 78 a bad config.
    Issues(cli::issues::IssuesArgs),
    /// One BMC's components (drives, volumes, controllers, DIMMs, CPUs, NIC ports) and firmware,
    /// as the daemon last read them.
    ///
    /// Exit codes: 0 shown, 1 the daemon's API or NATS could not be read (or does not know the
    /// BMC), 64 a usage error, 78 a bad config.
    Inventory(cli::inventory::InventoryArgs),
    /// Firmware drift: per model, each BMC firmware and BIOS version and how many BMCs run it.
    ///
    /// Exit codes: 0 shown, 1 the daemon's API or NATS could not be read, 64 a usage error, 78 a
    /// bad config.
    Firmware(cli::firmware::FirmwareArgs),
    /// Ask the running daemon to re-read one BMC's inventory now (firmware inventory; IPMI FRU).
    ///
    /// Exit codes: 0 read, 1 the BMC did not answer or the daemon refused (unknown BMC, refreshed
    /// less than 10 s ago, too many refreshes at once), 64 a usage error, 78 a bad config.
    Refresh(cli::refresh::RefreshArgs),
    /// The catchers of each partition (from the NATS members bucket): member id, host, version,
    /// uptime, BMCs owned, last renewal.
    ///
    /// Exit codes: 0 shown, 1 NATS or the bucket could not be read, 64 a usage error, 78 a bad
    /// config.
    Members(cli::members::MembersArgs),
    /// A BMC's own event log (IPMI SEL) as the daemon read it; --follow for new entries, --ack to
    /// acknowledge its critical entries.
    ///
    /// Exit codes: 0 shown (or acknowledged; --follow until Ctrl-C), 1 the daemon's API could not
    /// be read or refused the request, 64 a usage error, 78 a bad config.
    Logs(cli::logs::LogsArgs),
    /// Detect a BMC's protocol, poll it once, print what was learnt and how long each step took.
    ///
    /// Exit codes: 0 the BMC answered, 1 it did not (or the address is not one), 64 a usage error,
    /// 78 an unreadable credentials file.
    Probe(cli::probe::ProbeArgs),
    /// Record a Redfish BMC's resources (scrubbed) as a mockup tree the simulator can serve.
    ///
    /// Exit codes: 0 recorded, 1 the BMC could not be read or the tree not written, 64 a usage
    /// error, 78 an unreadable credentials file.
    Capture(cli::capture::CaptureArgs),
    /// Pin the TLS certificate a BMC presents now (`tls = "pin"`, after a board swap).
    ///
    /// Shows the certificate the BMC presents (SHA-256 fingerprint, subject, issuer, validity)
    /// beside the pinned one, and pins exactly that certificate once confirmed: at the prompt on a
    /// terminal, by --yes, or by --fingerprint naming it (which also pins a BMC that cannot be
    /// reached now).
    ///
    /// Exit codes: 0 pinned (or already pinned), 1 not pinned (declined, the BMC presents another
    /// certificate than --fingerprint, the BMC cannot be reached, the pin file cannot be written),
    /// 64 a usage error (no terminal to confirm on and neither --yes nor --fingerprint, a
    /// malformed address or fingerprint), 78 a bad config.
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

/// 0, or the error on stderr and its exit code: 78 for a config error, 64 for a usage error, else 1.
fn view_exit(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bmc-catcher: {e:#}");
            ExitCode::from(cli::exit_code(&e))
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version exit 0; a usage error exits 64 (EX_USAGE), not clap's 2, which
            // `poll-once` uses for "a BMC answered nothing".
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                bmc_catcher::config::EXIT_USAGE
            } else {
                0
            });
        }
    };
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
        Command::Inventory(args) => view_exit(rt.block_on(cli::inventory::inventory(args))),
        Command::Firmware(args) => view_exit(rt.block_on(cli::firmware::firmware(args))),
        Command::Refresh(args) => view_exit(rt.block_on(cli::refresh::refresh(args))),
        Command::Members(args) => view_exit(rt.block_on(cli::members::members(args))),
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
