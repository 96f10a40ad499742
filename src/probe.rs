//! `bmc-catcher probe ADDR` and `bmc-catcher capture ADDR --out DIR`, for onboarding a BMC model.
//! `probe` detects the protocol, polls twice (the first poll includes the login), prints what one
//! poll learns as JSON and how long each step took (every request with its timing goes to stderr).
//! `capture` records the Redfish resources a poll reads into a mockup tree (`<path>/index.json`, as
//! `bmc-sim --mockup DIR` serves it), or an IPMI BMC's requests and replies into `DIR/ipmi.json`
//! (which the simulator's IPMI responder replays), with credentials, serial numbers and asset tags
//! scrubbed.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::config::{Config, Credentials, ProtocolChoice, TlsPolicy};
use crate::hal::Connector;
use crate::hal::redfish::{Recorder, RedfishBmc, RedfishShared};
use crate::model::{MacAddr, Target};
use crate::poller::poll_one;

#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// The BMC's address, with an optional port (`10.1.2.3`, `10.1.2.3:8443`).
    pub addr: String,
    #[arg(long, value_enum, default_value = "auto")]
    pub protocol: ProbeProtocol,
    /// TOML with username/password (the daemon's credentials file format).
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    /// Check the BMC's TLS certificate against the system roots (default: accept any, as onboarding
    /// a BMC with a self-signed certificate needs).
    #[arg(long)]
    pub verify_tls: bool,
    /// Deadline for each poll.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProbeProtocol {
    Auto,
    Redfish,
    Ipmi,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CaptureArgs {
    /// The BMC's address, with an optional port.
    pub addr: String,
    #[arg(long, value_enum, default_value = "auto")]
    pub protocol: ProbeProtocol,
    /// Directory to write the mockup tree into (created).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    #[arg(long)]
    pub verify_tls: bool,
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// `10.1.2.3` or `10.1.2.3:8443` or `[::1]:443`.
fn parse_addr(s: &str) -> anyhow::Result<(IpAddr, Option<u16>)> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok((sa.ip(), Some(sa.port())));
    }
    let ip = s
        .parse::<IpAddr>()
        .with_context(|| format!("{s:?} is not an IP address or IP:port"))?;
    Ok((ip, None))
}

fn setup(
    addr: &str,
    credentials_file: &Option<PathBuf>,
    verify_tls: bool,
    timeout: Duration,
    protocol: ProtocolChoice,
) -> anyhow::Result<(Config, Credentials, Target)> {
    let (ip, port) = parse_addr(addr)?;
    let mut config = Config::default();
    config.poll.protocol = protocol;
    config.poll.timeout = timeout;
    config.redfish.tls = if verify_tls {
        TlsPolicy::Verify
    } else {
        TlsPolicy::Insecure
    };
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
        args.verify_tls,
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
    println!("{}", serde_json::to_string_pretty(&second)?);
    eprintln!("\nprotocol: {}", bmc.describe().backend());
    for (step, took, what) in steps {
        eprintln!("{:>9.1} ms  {step}  {what}", took.as_secs_f64() * 1000.0);
    }
    Ok(())
}

fn summary(s: &crate::model::BmcSnapshot) -> String {
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

/// Replaces secrets and serial numbers in a captured resource, in place.
pub fn scrub(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let key = k.to_ascii_lowercase();
                let secret = [
                    "password",
                    "username",
                    "serialnumber",
                    "assettag",
                    "x-auth-token",
                    "token",
                ]
                .iter()
                .any(|s| key == *s || key.ends_with(s));
                if secret && x.is_string() {
                    *x = Value::String("REDACTED".into());
                } else {
                    scrub(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(scrub),
        _ => {}
    }
}

/// Writes `resources` as a mockup tree under `out`; returns how many files.
pub fn write_mockup(
    out: &Path,
    resources: &std::collections::BTreeMap<String, Value>,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for (path, v) in resources {
        let Some(rel) = path.strip_prefix("/redfish/v1") else {
            continue;
        };
        let rel = rel.trim_matches('/');
        if rel
            .split('/')
            .any(|seg| seg == ".." || seg.starts_with('.'))
        {
            continue;
        }
        let dir = if rel.is_empty() {
            out.to_path_buf()
        } else {
            out.join(rel)
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut v = v.clone();
        scrub(&mut v);
        std::fs::write(dir.join("index.json"), serde_json::to_string_pretty(&v)?)?;
        n += 1;
    }
    Ok(n)
}

pub async fn capture(args: CaptureArgs) -> anyhow::Result<()> {
    let (config, creds, target) = setup(
        &args.addr,
        &args.credentials_file,
        args.verify_tls,
        args.timeout,
        ProtocolChoice::Redfish,
    )?;
    let shared = RedfishShared::new(&config.redfish, args.timeout, config.poll.interval)?;
    let cred = creds.for_target(target.mac, target.ip).cloned();
    let mut redfish = RedfishBmc::new(&shared, &target, cred.clone());
    let use_ipmi = match args.protocol {
        ProbeProtocol::Ipmi => true,
        ProbeProtocol::Redfish => false,
        ProbeProtocol::Auto => redfish.probe().await.is_err(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    if use_ipmi {
        let connector = Connector::new(&config, creds)?;
        let mut bmc = connector.ipmi_bmc(&target, cred.as_ref());
        let recorder = crate::hal::ipmi::session::Recorder::default();
        bmc.record_into(recorder.clone());
        let snap = poll_one(&bmc, &target, "capture", args.timeout).await;
        crate::hal::Bmc::close(&bmc).await;
        if !snap.up {
            anyhow::bail!("the BMC answered nothing: {}", summary(&snap));
        }
        let exchanges = recorder.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let capture = crate::hal::ipmi::capture::from_exchanges(exchanges);
        let file = args.out.join("ipmi.json");
        std::fs::write(&file, serde_json::to_string_pretty(&capture)?)?;
        eprintln!(
            "{} IPMI exchanges written to {} ({})",
            capture.exchanges.len(),
            file.display(),
            summary(&snap)
        );
        return Ok(());
    }
    let recorder: Recorder = Recorder::default();
    redfish.record_into(recorder.clone());
    let snap = poll_one(&redfish, &target, "capture", args.timeout).await;
    crate::hal::Bmc::close(&redfish).await;
    if !snap.up {
        anyhow::bail!("the BMC answered nothing: {}", summary(&snap));
    }
    let resources = recorder.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let n = write_mockup(&args.out, &resources)?;
    eprintln!(
        "{n} resources written to {} ({})",
        args.out.display(),
        summary(&snap)
    );
    Ok(())
}

/// `bmc-catcher trust ADDR|MAC`: accept the certificate a BMC presents now (after a board swap).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// The BMC's address, or its MAC (looked up through the daemon's API).
    pub bmc: String,
    #[arg(
        long,
        short,
        env = "BMC_CATCHER_CONFIG",
        default_value = "/etc/bmc-catcher/config.toml"
    )]
    pub config: PathBuf,
    /// The daemon's base URL, to look a MAC up (default: the configured listener).
    #[arg(long)]
    pub api: Option<String>,
}

/// Removes the BMC's pin; the daemon pins the certificate it sees next.
pub async fn trust(args: TrustArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let addr = match args.bmc.parse::<MacAddr>() {
        Ok(mac) => {
            let source = crate::views_cli::Source {
                api: args.api.clone(),
                nats: None,
                config: Some(args.config.clone()),
                partition: None,
            };
            let rows = crate::views_cli::fetch(&source).await?;
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
                let creds = match config.credentials_path() {
                    Some(p) => crate::config::Credentials::load(&p)?,
                    None => crate::config::Credentials::default(),
                };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_secrets_and_serials_everywhere() {
        let mut v = serde_json::json!({
            "SerialNumber": "ABC123", "Model": "X",
            "Links": {"Chassis": [{"SerialNumber": "S2", "@odata.id": "/x"}]},
            "UserName": "root", "Password": "calvin", "AssetTag": "T-1"
        });
        scrub(&mut v);
        let s = v.to_string();
        for secret in ["ABC123", "S2", "root", "calvin", "T-1"] {
            assert!(!s.contains(secret), "{s}");
        }
        assert!(s.contains("\"Model\":\"X\""));
    }

    #[test]
    fn addresses_with_and_without_port() {
        assert_eq!(parse_addr("127.0.0.1").expect("ip").1, None);
        assert_eq!(parse_addr("127.0.0.1:8443").expect("ip").1, Some(8443));
        assert!(parse_addr("bmc.example").is_err());
    }
}
