//! `bmc-catcher status`: one row per BMC (power, watts, hottest temperature, LED, last poll,
//! issues) from the API or NATS, filtered and sorted, printed with [`super::table`].

use super::fleet::{Output, PowerFilter, SortKey, Source, fetch, print_data, style};
use super::table::{self as views};
use crate::model::IssueType;
use crate::store::now_ms;

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
    /// Only BMCs with this issue type (ours or metal-api's name).
    #[arg(long)]
    pub issue: Option<IssueType>,
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let mut rows = fetch(&args.source).await?;
    if let Some(p) = args.power {
        let want = match p {
            PowerFilter::On => "on",
            PowerFilter::Off => "off",
            PowerFilter::Unknown => "unknown",
        };
        rows.retain(|r| views::power_cell(r.snapshot.as_ref()).word == want);
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
        SortKey::Power => rows.sort_by_key(|r| views::power_cell(r.snapshot.as_ref()).word),
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
