//! `bmc-catcher issues`: the BMCs with issues, each issue on its own line (the metalctl layout),
//! from the API or NATS, filtered by type and severity.

use super::fleet::{Output, Source, fetch, print_data, style};
use super::table::{self as views, IssueFilter};
use crate::model::{IssueType, Severity};

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
