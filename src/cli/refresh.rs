//! `bmc-catcher refresh MAC`: asks the running daemon to re-read one BMC's inventory now
//! (`POST /api/v1/bmcs/{mac}/refresh`, bounded and behind the API's basic auth; see
//! [`crate::control::refresh`]) and prints what the poll read. Fails when the BMC did not answer.

use super::fleet::{Output, Source, post, print_data};
use crate::control::refresh::Refreshed;
use crate::model::MacAddr;

#[derive(Debug, Clone, clap::Args)]
pub struct RefreshArgs {
    /// The BMC's MAC address.
    pub mac: MacAddr,
    #[command(flatten)]
    pub source: Source,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
}

pub async fn refresh(args: RefreshArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.source.nats.is_none(),
        super::UsageError("refresh asks the daemon's API; --nats cannot carry it".into())
    );
    let body = post(&args.source, &format!("/api/v1/bmcs/{}/refresh", args.mac)).await?;
    let r: Refreshed = serde_json::from_str(&body)
        .map_err(|e| anyhow::anyhow!("the daemon's answer is not a refresh result: {e}"))?;
    match args.output {
        Output::Table | Output::Wide => {
            let firmware = r
                .firmware_entries
                .map_or("no firmware inventory".into(), |n| {
                    format!("{n} firmware entries")
                });
            println!(
                "{}: {} in {} ms, {firmware}",
                r.mac,
                if r.up { "read" } else { "did not answer" },
                r.duration_ms
            );
            if let Some(e) = &r.error {
                println!("{}: {}", r.mac, super::table::clean(e, 240));
            }
        }
        o => print_data(o, &r)?,
    }
    anyhow::ensure!(r.up, "{} did not answer", r.mac);
    Ok(())
}
