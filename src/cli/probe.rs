//! `bmc-catcher probe ADDR`, for onboarding a BMC model: detects the protocol, polls twice (the
//! first poll includes the login), prints what one poll learns as JSON, with what the BMC turned
//! out to support (its capability profile, key `profile`), and how long each step took (every
//! request with its timing goes to stderr). Also the address parsing and one-BMC setup that
//! `capture` shares.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::{Config, Credentials, ProtocolChoice, TlsPolicy};
use crate::hal::Connector;
use crate::model::{MacAddr, Target};
use crate::poller::poll_one;

#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// The BMC's address, with an optional port (`10.1.2.3`, `10.1.2.3:8443`).
    pub addr: String,
    /// `auto` (Redfish when the BMC has a service root, else IPMI), `redfish` or `ipmi`.
    #[arg(long, value_enum, default_value = "auto")]
    pub protocol: ProbeProtocol,
    /// TOML with username/password (the daemon's credentials file format).
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Deadline for each poll.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// How `probe` and `capture` check a BMC's certificate: they send real credentials, so by default
/// as the daemon does.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsArgs {
    /// `verify` (default): the certificate must chain to the system roots or `--ca-file`.
    /// `insecure`: accept any certificate (a BMC's self-signed one), on a network you trust.
    #[arg(long, value_enum, default_value = "verify")]
    pub tls: ProbeTls,
    /// PEM bundle of the CA that issued the BMC's certificate (with `--tls verify`).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// The default; accepted for scripts written when `insecure` was.
    #[arg(long, hide = true)]
    pub verify_tls: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProbeTls {
    Verify,
    Insecure,
}

/// What to tell the operator when a BMC's certificate was refused.
pub(super) const TLS_HINT: &str = "the BMC's TLS certificate was not accepted: pass --ca-file with \
    the CA that issued it, or --tls insecure to accept any certificate (the credentials then go to \
    whoever answers)";

/// [`TLS_HINT`] when a poll failed on the certificate.
pub(super) fn tls_hint(s: &crate::model::BmcSnapshot) -> Option<&'static str> {
    s.reading
        .errors()
        .iter()
        .any(|(_, e)| e.kind == crate::model::ErrorKind::Tls)
        .then_some(TLS_HINT)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProbeProtocol {
    Auto,
    Redfish,
    Ipmi,
}

/// `10.1.2.3` or `10.1.2.3:8443` or `[::1]:443`.
pub(super) fn parse_addr(s: &str) -> anyhow::Result<(IpAddr, Option<u16>)> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok((sa.ip(), Some(sa.port())));
    }
    let ip = s
        .parse::<IpAddr>()
        .with_context(|| format!("{s:?} is not an IP address or IP:port"))?;
    Ok((ip, None))
}

pub(super) fn setup(
    addr: &str,
    credentials_file: &Option<PathBuf>,
    tls: &TlsArgs,
    timeout: Duration,
    protocol: ProtocolChoice,
) -> anyhow::Result<(Config, Credentials, Target)> {
    let (ip, port) = parse_addr(addr)?;
    let mut config = Config::default();
    config.poll.protocol = protocol;
    config.poll.timeout = timeout;
    config.redfish.tls = match tls.tls {
        ProbeTls::Verify => TlsPolicy::Verify,
        ProbeTls::Insecure => TlsPolicy::Insecure,
    };
    config.redfish.ca_file = tls.ca_file.clone();
    let creds = match credentials_file {
        Some(f) => Credentials::load(f)?,
        None => Credentials::default(),
    };
    let target = Target {
        mac: MacAddr([0x02, 0, 0, 0, 0, 0]),
        ip,
        port,
        hostname: None,
        lease_ends: None,
    };
    Ok((config, creds, target))
}

pub async fn probe(args: ProbeArgs) -> anyhow::Result<()> {
    let protocol = match args.protocol {
        ProbeProtocol::Auto => ProtocolChoice::Auto,
        ProbeProtocol::Redfish => ProtocolChoice::Redfish,
        ProbeProtocol::Ipmi => ProtocolChoice::Ipmi,
    };
    let (config, creds, target) = setup(
        &args.addr,
        &args.credentials_file,
        &args.tls,
        args.timeout,
        protocol,
    )?;
    let connector = Connector::new(&config, creds)?;
    let bmc = connector.connect(&target);
    let mut steps: Vec<(&str, Duration, String)> = Vec::new();
    let t = Instant::now();
    let first = poll_one(bmc.as_ref(), &target, "probe", args.timeout).await;
    steps.push(("detect + login + first poll", t.elapsed(), summary(&first)));
    let t = Instant::now();
    let second = poll_one(bmc.as_ref(), &target, "probe", args.timeout).await;
    steps.push((
        "second poll (session reused)",
        t.elapsed(),
        summary(&second),
    ));
    let t = Instant::now();
    bmc.close().await;
    steps.push(("log out / close session", t.elapsed(), String::new()));
    let mut out = serde_json::to_value(&second)?;
    if let (Some(o), Some(p)) = (out.as_object_mut(), connector.profiles().get(target.mac)) {
        o.insert("profile".into(), serde_json::to_value(p)?);
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    eprintln!("\nprotocol: {}", bmc.describe().backend());
    for (step, took, what) in steps {
        eprintln!("{:>9.1} ms  {step}  {what}", took.as_secs_f64() * 1000.0);
    }
    if let Some(hint) = tls_hint(&second) {
        eprintln!("\n{hint}");
    }
    Ok(())
}

pub(super) fn summary(s: &crate::model::BmcSnapshot) -> String {
    let errors: Vec<String> = s
        .reading
        .errors()
        .iter()
        .map(|(part, e)| format!("{part}: {}", e.kind))
        .collect();
    if errors.is_empty() {
        "all parts read".into()
    } else {
        format!("failed: {}", errors.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_and_without_port() {
        assert_eq!(parse_addr("127.0.0.1").expect("ip").1, None);
        assert_eq!(parse_addr("127.0.0.1:8443").expect("ip").1, Some(8443));
        assert!(parse_addr("bmc.example").is_err());
    }
}
