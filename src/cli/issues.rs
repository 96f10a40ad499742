//! `bmc-catcher issues`: the BMCs with issues, each issue on its own `- detail (type)` line (the
//! layout of metalctl's `machine issues`), from the API or NATS, filtered by type (comma lists,
//! ours or metal-api's names) and severity.

use super::fleet::{Output, Source, fetch, print_data, style};
use super::table::{self as views, IssueFilter};
use crate::model::{Issue, IssueNames, IssueType, Severity};

#[derive(Debug, Clone, clap::Args)]
pub struct IssuesArgs {
    #[command(flatten)]
    pub source: Source,
    /// Only these issue types, comma-separated; metal-api's names (bmc-info-outdated,
    /// bmc-no-distinct-ip) are understood too.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub only: Vec<IssueType>,
    /// Hide these issue types, comma-separated; metal-api's names are understood too.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub omit: Vec<IssueType>,
    /// At least this severity (minor, major, critical).
    #[arg(long)]
    pub severity: Option<Severity>,
    /// Print issue types with our names or with metal-api's where it has its own
    /// (bmc-info-outdated, bmc-no-distinct-ip), in the table and in JSON/YAML.
    #[arg(long, value_enum, default_value = "ours")]
    pub names: Names,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
}

/// `--names`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Names {
    Ours,
    MetalApi,
}

impl From<Names> for IssueNames {
    fn from(n: Names) -> IssueNames {
        match n {
            Names::Ours => IssueNames::Ours,
            Names::MetalApi => IssueNames::MetalApi,
        }
    }
}

/// One issue as JSON, its type named as `names` says.
fn issue_json(i: &Issue, names: IssueNames) -> serde_json::Value {
    serde_json::json!({"type": i.kind.name_in(names), "severity": i.severity, "detail": i.detail})
}

pub async fn issues(args: IssuesArgs) -> anyhow::Result<()> {
    let rows = fetch(&args.source).await?;
    let filter = IssueFilter {
        only: args.only.clone(),
        omit: args.omit.clone(),
        min_severity: args.severity,
        names: args.names.into(),
    };
    match args.output {
        Output::Table | Output::Wide => print!(
            "{}",
            views::issues_table(&rows, &filter, crate::store::now_ms(), style(args.output))
        ),
        o => {
            let data: Vec<serde_json::Value> = rows
                .iter()
                .filter_map(|r| {
                    let s = r.snapshot.as_ref()?;
                    let kept: Vec<_> = s
                        .issues
                        .iter()
                        .filter(|i| filter.keeps(i.kind, i.severity))
                        .map(|i| issue_json(i, filter.names))
                        .collect();
                    (!kept.is_empty()).then(|| serde_json::json!({"partition": r.partition, "mac": r.mac, "ip": r.ip, "issues": kept}))
                })
                .collect();
            print_data(o, &data)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: IssuesArgs,
    }

    /// What an operator used to metalctl types: comma lists, metal-api's names.
    #[test]
    fn only_and_omit_take_comma_lists_and_metal_api_names() {
        let cli = Cli::try_parse_from([
            "issues",
            "--omit",
            "bmc-info-outdated,bmc-no-distinct-ip",
            "--only",
            "unreachable,powersupply-failure",
            "--only",
            "info-outdated",
        ])
        .expect("parses");
        assert_eq!(
            cli.args.omit,
            [IssueType::InfoOutdated, IssueType::NoDistinctIp]
        );
        assert_eq!(
            cli.args.only,
            [
                IssueType::Unreachable,
                IssueType::PowersupplyFailure,
                IssueType::InfoOutdated
            ]
        );
        let e = Cli::try_parse_from(["issues", "--omit", "unreachable,nonsense"])
            .expect_err("an unknown type is refused");
        assert!(e.to_string().contains("nonsense"), "{e}");
        let e = Cli::try_parse_from(["issues", "--only", "bmc-without-ip"])
            .expect_err("no issue of ours means it");
        assert!(e.to_string().contains("never raises"), "{e}");
    }

    /// `--names metal-api` prints metal-api's spellings, in the table and in JSON; ours by default.
    #[test]
    fn names_metal_api_prints_metal_api_spellings() {
        let cli = Cli::try_parse_from(["issues"]).expect("parses");
        assert_eq!(cli.args.names, Names::Ours);
        let cli = Cli::try_parse_from(["issues", "--names", "metal-api"]).expect("parses");
        let names = IssueNames::from(cli.args.names);
        let i = Issue {
            kind: IssueType::InfoOutdated,
            severity: Severity::Minor,
            detail: "no poll for 20m".into(),
        };
        assert_eq!(issue_json(&i, names)["type"], "bmc-info-outdated");
        assert_eq!(issue_json(&i, IssueNames::Ours)["type"], "info-outdated");
        assert_eq!(
            issue_json(&i, IssueNames::Ours),
            serde_json::to_value(&i).expect("json"),
            "ours: the snapshot's own spelling"
        );
        assert!(Cli::try_parse_from(["issues", "--names", "metalctl"]).is_err());
    }
}
