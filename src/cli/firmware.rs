//! `bmc-catcher firmware`: the firmware-drift table: per model, each BMC firmware and BIOS version
//! and how many BMCs run it, the odd ones marked with their MACs; from the daemon's API (its
//! partition) or the NATS KV (`--nats`: the fleet, `--partition` to narrow it).

use super::fleet::{Output, Source, fetch, print_data};
use super::table::{firmware_rows, firmware_table};

#[derive(Debug, Clone, clap::Args)]
pub struct FirmwareArgs {
    #[command(flatten)]
    pub source: Source,
    /// Only the versions that drift from their model's usual one.
    #[arg(long)]
    pub drift: bool,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
}

pub async fn firmware(args: FirmwareArgs) -> anyhow::Result<()> {
    let mut rows = firmware_rows(&fetch(&args.source).await?);
    if args.drift {
        rows.retain(|r| r.drift);
    }
    match args.output {
        Output::Table | Output::Wide => print!("{}", firmware_table(&rows)),
        o => print_data(o, &rows)?,
    }
    Ok(())
}
