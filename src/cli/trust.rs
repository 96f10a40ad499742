//! `bmc-catcher trust ADDR|MAC` (`tls = "pin"`): shows the certificate the BMC presents now
//! (SHA-256 fingerprint, subject, issuer, validity) beside the pinned one, and pins exactly that
//! certificate once confirmed: at a prompt on a terminal, by `--yes`, or by `--fingerprint` naming
//! it. The pin goes into the pin file, which a running daemon re-reads, and into the NATS KV.

use std::io::{BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;

use super::UsageError;
use super::probe::parse_addr;
use crate::config::{Config, TlsPolicy};
use crate::hal::redfish::pin;
use crate::hal::redfish::presented::{Presented, presented};
use crate::model::MacAddr;

/// `bmc-catcher trust ADDR|MAC`: pin the certificate a BMC presents now (after a board swap).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// The BMC's address (IP, or IP:port when it is not `[redfish] port`), or its MAC (looked up
    /// through the daemon's API).
    pub bmc: String,
    #[command(flatten)]
    pub config: super::ConfigFile,
    /// The daemon's base URL, to look a MAC up (default: the configured listener).
    #[arg(long)]
    pub api: Option<String>,
    /// Pin the certificate shown without asking (for scripts).
    #[arg(long, short)]
    pub yes: bool,
    /// Pin this SHA-256 fingerprint (64 hex digits, `:` allowed), known from elsewhere (the BMC's
    /// console, a previous run). Refused when the BMC presents another certificate; pinned as given
    /// when the BMC cannot be reached now.
    #[arg(long, value_name = "SHA256")]
    pub fingerprint: Option<String>,
    /// How long to wait for the BMC's TLS handshake.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// `ab:CD:...` or `abcd...` as 64 lower-case hex digits.
fn parse_fingerprint(s: &str) -> Result<String, UsageError> {
    let hex: String = s
        .trim()
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(UsageError(format!(
            "--fingerprint {s:?} is not a SHA-256 fingerprint (64 hex digits, ':' allowed)"
        )))
    }
}

fn date(unix: i64) -> String {
    u64::try_from(unix).map_or_else(
        |_| unix.to_string(),
        |s| humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(s)).to_string(),
    )
}

/// The certificate as shown before pinning.
fn describe(p: &Presented, now: i64) -> String {
    if p.subject.is_empty() && p.not_after == 0 {
        return format!(
            "  sha256   {}\n  (the certificate does not parse)\n",
            p.sha256
        );
    }
    let days = (p.not_after - now) / 86_400;
    let state = if p.not_after < now {
        "EXPIRED".to_string()
    } else if p.not_before > now {
        "NOT YET VALID".to_string()
    } else {
        format!("expires in {days} days")
    };
    format!(
        "  sha256   {}\n  subject  {}\n  issuer   {}\n  valid    {} to {} ({state})\n",
        p.sha256,
        p.subject,
        p.issuer,
        date(p.not_before),
        date(p.not_after)
    )
}

/// Asks on the terminal; true for "y" or "yes".
fn confirm(question: &str) -> anyhow::Result<bool> {
    let mut err = std::io::stderr().lock();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The BMC's address and the port its HTTPS answers on.
async fn resolve(args: &TrustArgs, config: &Config) -> anyhow::Result<(IpAddr, u16)> {
    let (ip, port) = match args.bmc.parse::<MacAddr>() {
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
            let ip = rows
                .into_iter()
                .find(|r| r.mac == mac.to_string())
                .map(|r| r.ip)
                .with_context(|| format!("the daemon knows no BMC with MAC {mac}"))?;
            (ip.parse()?, None)
        }
        Err(_) => parse_addr(&args.bmc).map_err(|e| UsageError(format!("{e:#}")))?,
    };
    Ok((ip, port.unwrap_or(config.redfish.port)))
}

/// Shows the presented certificate and pins it once confirmed.
pub async fn trust(args: TrustArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config.config)?;
    let wanted = args
        .fingerprint
        .as_deref()
        .map(parse_fingerprint)
        .transpose()?;
    if config.redfish.tls != TlsPolicy::Pin {
        eprintln!(
            "note: [redfish] tls is not \"pin\" in {}: the daemon uses pins only with tls = \"pin\"",
            args.config.config.display()
        );
    }
    let (ip, port) = resolve(&args, &config).await?;
    let addr = ip.to_string();
    let file = &config.redfish.pin_file;
    let mut pins = pin::load(file);
    let old = pins.get(&addr).cloned();
    match &old {
        Some(sha) => println!("{addr}: pinned now in {}: sha256 {sha}", file.display()),
        None => println!("{addr}: no pin in {}", file.display()),
    }
    let now = super::unix_now();
    let sha = match (presented(ip, port, args.timeout).await, wanted) {
        (Ok(p), wanted) => {
            print!("{addr}:{port} presents:\n{}", describe(&p, now));
            match wanted {
                Some(w) if w != p.sha256 => anyhow::bail!(
                    "{addr}:{port} presents sha256 {}, not --fingerprint {w}: not pinned",
                    p.sha256
                ),
                Some(w) => w,
                None if old.as_deref() == Some(p.sha256.as_str()) => p.sha256,
                None if args.yes => p.sha256,
                None if std::io::stdin().is_terminal() => {
                    if !confirm(&format!("Pin this certificate for {addr}?"))? {
                        anyhow::bail!("{addr}: not pinned");
                    }
                    p.sha256
                }
                None => {
                    return Err(UsageError(format!(
                        "not pinned: no terminal to confirm on; pass --yes to pin the certificate \
                         shown, or --fingerprint {}",
                        p.sha256
                    ))
                    .into());
                }
            }
        }
        (Err(e), Some(w)) => {
            eprintln!("warning: {e}; pinning --fingerprint as given");
            w
        }
        (Err(e), None) => anyhow::bail!(
            "{e}: the certificate cannot be shown, nothing pinned (--fingerprint pins a known one)"
        ),
    };
    if old.as_deref() == Some(sha.as_str()) {
        println!("{addr}: already pinned; nothing changed");
        return Ok(());
    }
    pins.insert(addr.clone(), sha.clone());
    pin::save(file, &pins).with_context(|| format!("writing {}", file.display()))?;
    println!(
        "{addr}: pinned sha256 {sha} in {}{}",
        file.display(),
        old.map(|o| format!(" (replacing {o})")).unwrap_or_default()
    );
    if config.nats.url.is_some() {
        let (_, creds) = crate::config::load(&args.config.config)?;
        let bucket = &config.nats.tls_pins_bucket;
        match crate::publish::nats::pins::remember(
            &config.nats,
            creds.nats.as_ref(),
            &config.partition,
            &addr,
            &sha,
        )
        .await
        {
            Ok(()) => println!("{addr}: pinned in the NATS KV bucket {bucket}"),
            Err(e) => eprintln!(
                "warning: {addr}: the NATS KV bucket {bucket} still holds the old pin ({e}); the daemon writes the new one at its next sync with NATS"
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_read_with_or_without_colons() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_fingerprint(&hex).expect("plain"), hex);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_fingerprint(&colons).expect("colons"), hex);
        assert!(parse_fingerprint("abcd").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }
}
