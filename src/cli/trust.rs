//! `bmc-catcher trust ADDR|MAC` (`tls = "pin"`): removes the BMC's pin from the pin file (and the
//! NATS KV), so the daemon pins the certificate it sees next, e.g. after a board swap.

use anyhow::Context;

use super::probe::parse_addr;
use crate::config::Config;
use crate::model::MacAddr;

/// `bmc-catcher trust ADDR|MAC`: accept the certificate a BMC presents now (after a board swap).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// The BMC's address, or its MAC (looked up through the daemon's API).
    pub bmc: String,
    #[command(flatten)]
    pub config: super::ConfigFile,
    /// The daemon's base URL, to look a MAC up (default: the configured listener).
    #[arg(long)]
    pub api: Option<String>,
}

/// Removes the BMC's pin; the daemon pins the certificate it sees next.
pub async fn trust(args: TrustArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config.config)?;
    let addr = match args.bmc.parse::<MacAddr>() {
        Ok(mac) => {
            let source = super::fleet::Source {
                api: args.api.clone(),
                nats: None,
                api_ca: None,
                api_user: None,
                config: super::ViewConfig {
                    config: Some(args.config.config.clone()),
                },
                partition: None,
            };
            let rows = super::fleet::fetch(&source).await?;
            rows.into_iter()
                .find(|r| r.mac == mac.to_string())
                .map(|r| r.ip)
                .with_context(|| format!("the daemon knows no BMC with MAC {mac}"))?
        }
        Err(_) => parse_addr(&args.bmc)?.0.to_string(),
    };
    let file = &config.redfish.pin_file;
    let mut pins = crate::hal::redfish::pin::load(file);
    match pins.remove(&addr) {
        Some(old) => {
            crate::hal::redfish::pin::save(file, &pins)
                .with_context(|| format!("writing {}", file.display()))?;
            println!(
                "{addr}: pin sha256 {old} removed from {}; the next certificate it presents is trusted",
                file.display()
            );
            if config.nats.url.is_some() {
                let (_, creds) = crate::config::load(&args.config.config)?;
                let bucket = &config.nats.tls_pins_bucket;
                match crate::publish::nats::pins::forget(
                    &config.nats,
                    creds.nats.as_ref(),
                    &config.partition,
                    &addr,
                )
                .await
                {
                    Ok(()) => println!("{addr}: pin removed from the NATS KV bucket {bucket}"),
                    Err(e) => eprintln!(
                        "warning: {addr}: the pin stays in the NATS KV bucket {bucket} ({e}); a running daemon removes it at its next sync, a stopped one would restore it at start"
                    ),
                }
            }
            Ok(())
        }
        None => anyhow::bail!("{addr} has no pin in {}", file.display()),
    }
}
