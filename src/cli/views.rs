//! `bmc-catcher status` and `bmc-catcher issues`: fetch the fleet from the daemon's JSON API
//! (`--api`, default the local listener) or, for a fleet-wide view across partitions, from the NATS
//! KV bucket (`--nats`), filter and sort, and print with [`crate::views`].

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use futures::StreamExt;

use crate::cli::table::{self as views, IssueFilter, Row, Style};
use crate::config::{Config, Credentials};
use crate::model::BmcSnapshot;
use crate::model::{IssueType, Severity};
use crate::publish::http::BmcView;
use crate::store::now_ms;

#[derive(Debug, Clone, clap::Args)]
pub struct Source {
    /// The daemon's base URL (default: http://<[http] listen>, else http://127.0.0.1:9742).
    #[arg(long)]
    pub api: Option<String>,
    /// Read the NATS KV instead (every partition's catcher).
    #[arg(long)]
    pub nats: Option<String>,
    /// The daemon's config, for the listen address, NATS settings and credentials.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Only this partition.
    #[arg(long)]
    pub partition: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    Mac,
    Ip,
    Power,
    Watts,
    Temp,
    Age,
    Issues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PowerFilter {
    On,
    Off,
    Unknown,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub source: Source,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
    #[arg(long, value_enum, default_value = "mac")]
    pub sort: SortKey,
    /// Only BMCs in this power state.
    #[arg(long, value_enum)]
    pub power: Option<PowerFilter>,
    /// Only BMCs with this issue type.
    #[arg(long)]
    pub issue: Option<IssueType>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct IssuesArgs {
    #[command(flatten)]
    pub source: Source,
    /// Only these issue types.
    #[arg(long, num_args = 1..)]
    pub only: Vec<IssueType>,
    /// Hide these issue types.
    #[arg(long, num_args = 1..)]
    pub omit: Vec<IssueType>,
    /// At least this severity (minor, major, critical).
    #[arg(long)]
    pub severity: Option<Severity>,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
}

fn load_config(path: &Option<PathBuf>) -> anyhow::Result<(Config, Credentials)> {
    let Some(path) = path else {
        return Ok((Config::default(), Credentials::default()));
    };
    let c = Config::load(path)?;
    let creds = match c.credentials_path() {
        Some(p) if p.exists() => Credentials::load(&p)?,
        _ => Credentials::default(),
    };
    Ok((c, creds))
}

/// The fleet as rows, from the API or the KV.
pub async fn fetch(source: &Source) -> anyhow::Result<Vec<Row>> {
    let (config, creds) = load_config(&source.config)?;
    let mut rows = match &source.nats {
        Some(url) => from_kv(url, &config, &creds).await?,
        None => {
            let base = source.api.clone().unwrap_or_else(|| {
                let mut a = config.http.listen;
                if a.ip().is_unspecified() {
                    a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("http://{a}")
            });
            let url = format!("{}/api/v1/bmcs", base.trim_end_matches('/'));
            let views: Vec<BmcView> = reqwest::Client::builder()
                .no_proxy()
                .timeout(std::time::Duration::from_secs(10))
                .build()?
                .get(&url)
                .send()
                .await
                .with_context(|| format!("cannot reach the daemon at {url}"))?
                .error_for_status()?
                .json()
                .await
                .with_context(|| format!("{url} did not answer with BMCs"))?;
            views
                .into_iter()
                .map(|v| Row {
                    partition: v
                        .snapshot
                        .as_ref()
                        .map(|s| s.partition.clone())
                        .unwrap_or_else(|| config.partition.clone()),
                    mac: v.target.mac.to_string(),
                    ip: v.target.ip.to_string(),
                    snapshot: v.snapshot.map(std::sync::Arc::unwrap_or_clone),
                })
                .collect()
        }
    };
    if let Some(p) = &source.partition {
        rows.retain(|r| &r.partition == p);
    }
    Ok(rows)
}

async fn from_kv(url: &str, config: &Config, creds: &Credentials) -> anyhow::Result<Vec<Row>> {
    let opts = crate::publish::nats::connect_options(
        &config.nats,
        creds.nats.as_ref(),
        "bmc-catcher views",
    )
    .await?;
    let client = opts
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let js = async_nats::jetstream::new(client);
    let kv = js
        .get_key_value(&config.nats.kv_bucket)
        .await
        .with_context(|| format!("no KV bucket {}", config.nats.kv_bucket))?;
    let mut keys = kv.keys().await?;
    let mut rows = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key?;
        let Some(v) = kv.get(&key).await? else {
            continue;
        };
        let Ok(s) = serde_json::from_slice::<BmcSnapshot>(&v) else {
            continue;
        };
        rows.push(Row {
            partition: s.partition.clone(),
            mac: s.mac.to_string(),
            ip: s.ip.to_string(),
            snapshot: Some(s),
        });
    }
    Ok(rows)
}

fn style(output: Output) -> Style {
    Style {
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        wide: output == Output::Wide,
    }
}

fn print_data<T: serde::Serialize>(output: Output, data: &T) -> anyhow::Result<()> {
    let v = serde_json::to_value(data)?;
    match output {
        Output::Yaml => print!("{}", views::to_yaml(&v)),
        _ => println!("{}", serde_json::to_string_pretty(&v)?),
    }
    Ok(())
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let mut rows = fetch(&args.source).await?;
    if let Some(p) = args.power {
        let want = match p {
            PowerFilter::On => "on",
            PowerFilter::Off => "off",
            PowerFilter::Unknown => "unknown",
        };
        rows.retain(|r| views::power_cell(r.snapshot.as_ref()).0 == want);
    }
    if let Some(t) = args.issue {
        rows.retain(|r| {
            r.snapshot
                .as_ref()
                .is_some_and(|s| s.issues.iter().any(|i| i.kind == t))
        });
    }
    let now = now_ms();
    let num = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    match args.sort {
        SortKey::Mac => rows.sort_by(|a, b| a.mac.cmp(&b.mac)),
        SortKey::Ip => rows.sort_by_key(|r| r.ip.parse::<std::net::IpAddr>().ok()),
        SortKey::Power => rows.sort_by_key(|r| views::power_cell(r.snapshot.as_ref()).0),
        SortKey::Watts => rows.sort_by(|a, b| {
            num(b.snapshot.as_ref().and_then(views::watts))
                .total_cmp(&num(a.snapshot.as_ref().and_then(views::watts)))
        }),
        SortKey::Temp => rows.sort_by(|a, b| {
            num(b.snapshot.as_ref().and_then(views::hottest))
                .total_cmp(&num(a.snapshot.as_ref().and_then(views::hottest)))
        }),
        SortKey::Age => rows.sort_by_key(|r| {
            r.snapshot
                .as_ref()
                .and_then(|s| s.last_success_ms)
                .unwrap_or(0)
        }),
        SortKey::Issues => rows.sort_by_key(|r| {
            std::cmp::Reverse(r.snapshot.as_ref().map(|s| s.issues.len()).unwrap_or(0))
        }),
    }
    match args.output {
        Output::Table | Output::Wide => {
            print!("{}", views::status_table(&rows, now, style(args.output)))
        }
        o => print_data(o, &rows)?,
    }
    Ok(())
}

pub async fn issues(args: IssuesArgs) -> anyhow::Result<()> {
    let rows = fetch(&args.source).await?;
    let filter = IssueFilter {
        only: args.only.clone(),
        omit: args.omit.clone(),
        min_severity: args.severity,
    };
    match args.output {
        Output::Table | Output::Wide => print!(
            "{}",
            views::issues_table(&rows, &filter, style(args.output))
        ),
        o => {
            let data: Vec<serde_json::Value> = rows
                .iter()
                .filter_map(|r| {
                    let s = r.snapshot.as_ref()?;
                    let kept: Vec<_> = s.issues.iter().filter(|i| filter.keeps(i.kind, i.severity)).collect();
                    (!kept.is_empty()).then(|| serde_json::json!({"partition": r.partition, "mac": r.mac, "ip": r.ip, "issues": kept}))
                })
                .collect();
            print_data(o, &data)?;
        }
    }
    Ok(())
}
