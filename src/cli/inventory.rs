//! `bmc-catcher inventory MAC`: one BMC's components (drives, volumes, controllers, DIMMs, CPUs,
//! NIC ports, cooling parts) and firmware inventory, as the daemon last read them, from its API
//! (`/api/v1/bmcs/{mac}`) or the NATS KV (`--nats`); a table, or `-o json|yaml` (the snapshot's
//! inventory and components whole), with what the BMC turned out to support (its capability
//! profile: protocol, Redfish layout, IPMI cipher suite, vendor quirks) when the daemon knows it.

use super::fleet::{Output, Source, fetch_one, print_data};
use super::table::{inventory_table, profile_lines};
use crate::model::MacAddr;

#[derive(Debug, Clone, clap::Args)]
pub struct InventoryArgs {
    /// The BMC's MAC address.
    pub mac: MacAddr,
    #[command(flatten)]
    pub source: Source,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
}

pub async fn inventory(args: InventoryArgs) -> anyhow::Result<()> {
    let (row, profile) = fetch_one(&args.source, args.mac).await?;
    let Some(s) = &row.snapshot else {
        anyhow::bail!("{} is known but was not polled yet", args.mac);
    };
    match args.output {
        Output::Table | Output::Wide => {
            print!("{}", inventory_table(s));
            if let Some(p) = &profile {
                print!("{}", profile_lines(p));
            }
        }
        o => print_data(
            o,
            &serde_json::json!({
                "partition": row.partition,
                "mac": row.mac,
                "ip": row.ip,
                "polled_at_ms": s.polled_at_ms,
                "inventory": s.reading.inventory,
                "components": s.reading.components,
                "profile": profile,
            }),
        )?,
    }
    Ok(())
}
