//! `bmc-catcher power MAC ACTION`: sends one command to the catcher that serves the BMC, over NATS
//! request/reply, prints the reply as JSON and exits 0 only when the reply says `ok`. NATS settings
//! come from `--config` (the daemon's file) and are overridden by the flags.

use std::time::Duration;

use crate::config::{EXIT_CONFIG, EXIT_USAGE};
use crate::control::Reply;
use crate::model::MacAddr;
use crate::publish::nats::{command_subject, connect_options};

#[derive(Debug, Clone, clap::Args)]
pub struct PowerArgs {
    /// The BMC's MAC address.
    pub mac: String,
    /// power-on, power-off, power-cycle, power-reset, power-soft, identify-on, identify-off,
    /// boot-pxe, boot-disk or boot-bios.
    pub action: String,
    /// NATS server URL (default: `[nats] url` of the config).
    #[arg(long)]
    pub nats: Option<String>,
    #[command(flatten)]
    pub config: super::ViewConfig,
    /// The partition that serves the BMC (default: the config's).
    #[arg(long)]
    pub partition: Option<String>,
    /// Subject prefix (default: the config's, else `bmc`).
    #[arg(long)]
    pub subject_prefix: Option<String>,
    /// The request's id, sent as `Nats-Msg-Id`: a request repeated with the same id within
    /// `[nats] command-idempotency-window` gets the first one's reply and acts once. Default: a new
    /// id for each run.
    #[arg(long)]
    pub request_id: Option<String>,
    /// How long to wait for the reply.
    #[arg(long, default_value = "90s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Runs the command; returns the process exit code (0 ok, 1 failed reply or no answer, 64 usage,
/// 78 config).
pub async fn run(args: PowerArgs) -> u8 {
    // The MAC and the action are checked first, before the config and any round trip: a typo is
    // a usage error, not a failed command or a missing NATS server.
    let mac: MacAddr = match args.mac.parse() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("bmc-catcher power: {e}");
            return EXIT_USAGE;
        }
    };
    let action = match args.action.parse::<crate::model::Action>() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bmc-catcher power: {e}");
            return EXIT_USAGE;
        }
    };
    let loaded = args
        .config
        .load()
        .and_then(|c| super::ViewConfig::nats_credentials(&c).map(|creds| (c, creds)));
    let (config, creds) = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bmc-catcher power: configuration error: {e}");
            return EXIT_CONFIG as u8;
        }
    };
    let Some(url) = args.nats.clone().or(config.nats.url.clone()) else {
        eprintln!("bmc-catcher power: no NATS server: pass --nats URL or --config with [nats] url");
        return EXIT_USAGE;
    };
    let partition = args.partition.clone().unwrap_or(config.partition.clone());
    let prefix = args
        .subject_prefix
        .clone()
        .unwrap_or(config.nats.subject_prefix.clone());
    let subject = command_subject(&prefix, &partition, mac);
    let opts = match connect_options(&config.nats, creds.nats.as_ref(), "bmc-catcher power").await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bmc-catcher power: {e}");
            return EXIT_CONFIG as u8;
        }
    };
    let client = match opts.connect(crate::publish::nats::servers(&url)).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bmc-catcher power: cannot connect to {url}: {e}");
            return 1;
        }
    };
    let body = serde_json::json!({ "action": action.as_str() }).to_string();
    let mut headers = async_nats::HeaderMap::new();
    let id = args.request_id.clone().unwrap_or_else(|| {
        let inbox = client.new_inbox();
        inbox.rsplit('.').next().unwrap_or(&inbox).to_string()
    });
    headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
    eprintln!(
        "bmc-catcher power: {action} {mac}: waiting up to {} for the reply of the catcher of \
         partition {partition:?} on {subject} (request id {id})",
        humantime::format_duration(args.timeout)
    );
    let answer = tokio::time::timeout(
        args.timeout,
        client.request_with_headers(subject.clone(), headers, body.into()),
    )
    .await;
    let msg = match answer {
        Err(_) => {
            eprintln!(
                "bmc-catcher power: no reply on {subject} within {}",
                humantime::format_duration(args.timeout)
            );
            return 1;
        }
        Ok(Err(e)) => {
            eprintln!(
                "bmc-catcher power: {subject}: {e} (is a catcher for partition {partition:?} running?)"
            );
            return 1;
        }
        Ok(Ok(m)) => m,
    };
    match serde_json::from_slice::<Reply>(&msg.payload) {
        Ok(reply) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&reply).unwrap_or_default()
            );
            if reply.ok { 0 } else { 1 }
        }
        Err(e) => {
            eprintln!(
                "bmc-catcher power: unreadable reply ({e}): {}",
                String::from_utf8_lossy(&msg.payload)
            );
            1
        }
    }
}
