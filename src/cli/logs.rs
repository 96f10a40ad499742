//! `bmc-catcher logs MAC [--follow] [--ack] [--nats URL]`: a BMC's own event log (IPMI SEL,
//! Redfish LogServices) as the daemon keeps it, from its API (`/api/v1/bmcs/{mac}/logs`), one line
//! per entry in `ipmitool sel elist`'s columns; `--follow` prints each new entry as the daemon reads
//! it; `--ack` acknowledges the critical entries read so far (`bmc-log-critical` clears).
//! `--nats` reads the event stream instead: every `log-entry` and `log-cleared` of the BMC the
//! stream still holds, whichever catcher of whichever partition sent it (so it follows a BMC across
//! a hand-over), then, with `--follow`, each new one as it is published.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;

use super::fleet::{Output, print_data, success};
use crate::model::{LogEntry, MacAddr};
use crate::publish::http::logs::LogsView;

#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// The BMC's MAC address.
    pub mac: MacAddr,
    /// Keep printing new entries as the daemon reads them (until Ctrl-C).
    #[arg(long, short)]
    pub follow: bool,
    /// Acknowledge the BMC's critical entries read so far: `bmc-log-critical` clears.
    #[arg(long, conflicts_with = "follow")]
    pub ack: bool,
    /// The daemon's base URL (default: http://<[http] listen>, else http://127.0.0.1:9742).
    #[arg(long, conflicts_with = "nats")]
    pub api: Option<String>,
    /// Read the NATS event stream instead (`[nats] stream`, every partition), e.g.
    /// nats://127.0.0.1:4222; the credentials and TLS of `[nats]` are used.
    #[arg(long, conflicts_with = "ack")]
    pub nats: Option<String>,
    #[command(flatten)]
    pub config: super::ViewConfig,
    /// How often `--follow` asks the daemon.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub every: Duration,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
}

/// A Unix-ms stamp as RFC 3339 seconds, `-` for none (or one before 1970).
fn when(ms: Option<i64>) -> String {
    match ms.and_then(|ms| u64::try_from(ms).ok()) {
        Some(ms) => {
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_millis(ms))
                .to_string()
        }
        None => "-".to_string(),
    }
}

/// One entry as a line: id | time | sensor | message | detail | severity.
pub fn line(e: &LogEntry) -> String {
    let when = when(e.created_ms);
    format!(
        "{:>6} | {when} | {} | {} | {} | {}",
        e.id,
        e.sensor.as_deref().unwrap_or("-"),
        e.message,
        e.detail.as_deref().unwrap_or("-"),
        e.severity.as_str()
    )
}

fn key(e: &LogEntry) -> (String, String, Option<i64>, String) {
    (e.log.clone(), e.id.clone(), e.created_ms, e.message.clone())
}

pub async fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let config = args.config.load()?;
    if let Some(url) = &args.nats {
        return from_nats(&args, url, &config).await;
    }
    let base = args.api.clone().unwrap_or_else(|| {
        let mut a = config.http.listen;
        if a.ip().is_unspecified() {
            a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{a}")
    });
    let base = base.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let url = format!("{base}/api/v1/bmcs/{}/logs", args.mac);
    if args.ack {
        let ack = format!("{url}/ack");
        let r = client
            .post(&ack)
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {ack}"))?;
        success(r, &ack).await?;
        println!("{}: critical log entries acknowledged", args.mac);
        return Ok(());
    }
    let get = || async {
        let r = client
            .get(&url)
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {url}"))?;
        success(r, &url)
            .await?
            .json::<LogsView>()
            .await
            .with_context(|| format!("{url} did not answer with a log"))
    };
    anyhow::ensure!(!args.every.is_zero(), "--every must be more than 0s");
    let view = get().await?;
    match args.output {
        Output::Table | Output::Wide => {
            if !view.read {
                eprintln!("{}: the daemon has not read this BMC's log (yet)", args.mac);
            }
            for e in &view.entries {
                println!("{}", line(e));
            }
        }
        o if !args.follow => return print_data(o, &view),
        _ => {}
    }
    if !args.follow {
        return Ok(());
    }
    let mut seen: HashSet<_> = view.entries.iter().map(|e| key(e)).collect();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(args.every) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let view = match get().await {
            Ok(v) => v,
            Err(e) => {
                eprintln!("bmc-catcher logs: {e:#}");
                continue;
            }
        };
        for e in &view.entries {
            if !seen.contains(&key(e)) {
                match args.output {
                    Output::Table | Output::Wide => println!("{}", line(e)),
                    _ => println!("{}", serde_json::to_string(e)?),
                }
            }
        }
        seen = view.entries.iter().map(|e| key(e)).collect();
    }
}

/// One line for a `log-cleared` event.
fn cleared_line(log: &str, at_ms: i64) -> String {
    let when = when(Some(at_ms));
    format!("     - | {when} | {log} cleared or wrapped: reading starts over")
}

/// `--nats`: the BMC's log events in the stream, then (`--follow`) the new ones.
async fn from_nats(
    args: &LogsArgs,
    url: &str,
    config: &crate::config::Config,
) -> anyhow::Result<()> {
    use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
    use futures::StreamExt;

    use crate::model::{Event, EventKind};
    use crate::publish::nats::{connect_options, mac_token, servers};

    let creds = super::ViewConfig::nats_credentials(config)?;
    let opts = connect_options(&config.nats, creds.nats.as_ref(), "bmc-catcher logs").await?;
    let client = opts
        .connect(servers(url))
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let js = async_nats::jetstream::new(client);
    let name = &config.nats.stream;
    let stream = js
        .get_stream(name)
        .await
        .with_context(|| format!("no stream {name} at {url}"))?;
    let (prefix, token) = (&config.nats.subject_prefix, mac_token(args.mac));
    let mut consumer = stream
        .create_consumer(OrderedConfig {
            filter_subjects: ["log-entry", "log-cleared"]
                .iter()
                .map(|k| format!("{prefix}.*.{token}.event.{k}"))
                .collect(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .with_context(|| format!("cannot read the stream {name}"))?;
    let mut pending = consumer
        .info()
        .await
        .with_context(|| format!("cannot read the stream {name}"))?
        .num_pending;
    if pending == 0 && !args.follow {
        eprintln!("{}: no log events in the stream {name}", args.mac);
        return Ok(());
    }
    let mut messages = consumer
        .messages()
        .await
        .with_context(|| format!("cannot read the stream {name}"))?;
    loop {
        if pending == 0 && !args.follow {
            return Ok(());
        }
        let m = tokio::select! {
            m = messages.next() => m,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(m) = m else {
            anyhow::bail!("the stream {name} ended");
        };
        let m = m.with_context(|| format!("reading the stream {name}"))?;
        pending = m.info().map_or(0, |i| i.pending);
        // A message that is no event of ours (another writer on the subjects) is skipped.
        let Ok(event) = serde_json::from_slice::<Event>(&m.payload) else {
            continue;
        };
        match (&event.kind, args.output) {
            (EventKind::LogEntry { entry }, Output::Table | Output::Wide) => {
                println!("{}", line(entry))
            }
            (EventKind::LogCleared { log }, Output::Table | Output::Wide) => {
                println!("{}", cleared_line(log, event.at_ms))
            }
            (EventKind::LogEntry { .. } | EventKind::LogCleared { .. }, _) => {
                println!("{}", serde_json::to_string(&event)?)
            }
            _ => {}
        }
    }
}
