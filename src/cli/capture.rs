//! `bmc-catcher capture ADDR --out DIR`: records the Redfish resources a poll reads into a mockup
//! tree (`<path>/index.json`, as `bmc-sim --mockup DIR` serves it), or an IPMI BMC's requests and
//! replies into `DIR/ipmi.json` (which the simulator's IPMI responder replays), with credentials,
//! serial numbers and asset tags scrubbed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use super::probe::{ProbeProtocol, setup, summary, tls_hint};
use crate::config::ProtocolChoice;
use crate::hal::Connector;
use crate::hal::redfish::{Recorder, RedfishBmc, RedfishShared};
use crate::poller::poll_one;

#[derive(Debug, Clone, clap::Args)]
pub struct CaptureArgs {
    /// The BMC's address, with an optional port.
    pub addr: String,
    /// Which protocol to record: `auto` (Redfish when the BMC has a service root, else IPMI),
    /// `redfish` or `ipmi`.
    #[arg(long, value_enum, default_value = "auto")]
    pub protocol: ProbeProtocol,
    /// Directory to write the mockup tree into (created).
    #[arg(long)]
    pub out: PathBuf,
    /// TOML with username/password (the daemon's credentials file format).
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    #[command(flatten)]
    pub tls: super::probe::TlsArgs,
    /// Deadline for the poll that is recorded.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
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

/// The error when a poll read nothing: what failed, and how to accept a certificate if that was it.
fn answered_nothing(snap: &crate::model::BmcSnapshot) -> anyhow::Error {
    let hint = tls_hint(snap).map(|h| format!("\n{h}")).unwrap_or_default();
    anyhow::anyhow!("the BMC answered nothing: {}{hint}", summary(snap))
}

pub async fn capture(args: CaptureArgs) -> anyhow::Result<()> {
    let (config, creds, target) = setup(
        &args.addr,
        &args.credentials_file,
        &args.tls,
        args.timeout,
        ProtocolChoice::Redfish,
    )?;
    let shared = RedfishShared::new(&config.redfish, args.timeout, config.poll.interval)?
        .with_limits(config.poll.limits());
    let cred = creds.for_target(target.mac, target.ip).cloned();
    let mut redfish = RedfishBmc::new(&shared, &target, cred.clone());
    let use_ipmi = match args.protocol {
        ProbeProtocol::Ipmi => true,
        ProbeProtocol::Redfish => false,
        ProbeProtocol::Auto => match redfish.probe().await {
            Ok(()) => false,
            Err(e) if e.kind() == crate::model::ErrorKind::Tls => {
                anyhow::bail!("{e}\n{}", super::probe::TLS_HINT)
            }
            Err(_) => true,
        },
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
            return Err(answered_nothing(&snap));
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
        return Err(answered_nothing(&snap));
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
}
