//! Parser for dnsmasq lease files (`dnsmasq.leases`, written by `lease_update_file()`): one line
//! per address, `<expiry|0> <MAC> <IPv4> <hostname|*> <client-id|*>`, then optionally a
//! `duid <server DUID>` line and DHCPv6 lines `<expiry> <IAID|T<IAID>> <IPv6> <hostname|*> <DUID>`.
//!
//! dnsmasq drops expired leases when it rewrites the file, so every lease is `Active` here and the
//! expiry is judged against `now` by `select`. dnsmasq records no start time (`starts` is `None`).

use std::net::IpAddr;

use super::lease::{Lease, LeaseState, Parsed};
use crate::model::MacAddr;

/// Parses the text of a dnsmasq lease file. Never panics.
pub fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let f: Vec<&str> = raw.split_whitespace().collect();
        match f.first() {
            None => continue,
            Some(&"duid") if f.len() == 2 => continue, // the server's DHCPv6 DUID
            Some(_) => {}
        }
        match parse_line(&f, line) {
            Ok(lease) => out.leases.push(lease),
            Err(msg) => out.warn(line, format!("{msg}; line skipped")),
        }
    }
    out
}

fn parse_line(f: &[&str], line: usize) -> Result<Lease, String> {
    let &[expiry, hw_or_iaid, addr, host, _client_id] = f else {
        return Err(format!("{} fields, expected 5", f.len()));
    };
    let ok = !expiry.is_empty() && expiry.len() <= 18 && expiry.bytes().all(|b| b.is_ascii_digit());
    let expiry: i64 = ok
        .then(|| expiry.parse().ok())
        .flatten()
        .ok_or_else(|| format!("bad expiry {expiry:?}"))?;
    let ip: IpAddr = addr.parse().map_err(|_| format!("bad address {addr:?}"))?;
    let mac = match ip {
        IpAddr::V4(_) => hwaddr(hw_or_iaid).ok_or_else(|| format!("bad MAC {hw_or_iaid:?}"))?,
        IpAddr::V6(_) => {
            let iaid = hw_or_iaid.strip_prefix('T').unwrap_or(hw_or_iaid);
            if iaid.is_empty() || iaid.len() > 10 || !iaid.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("bad IAID {hw_or_iaid:?}"));
            }
            None
        }
    };
    Ok(Lease {
        ip,
        mac,
        hostname: (host != "*").then(|| host.to_string()),
        starts: None,
        ends: (expiry != 0).then_some(expiry),
        state: LeaseState::Active,
        vendor_class: None,
        line,
    })
}

/// `Some(Some(mac))` for a 6-octet address (optionally behind a `<hwtype>-` prefix),
/// `Some(None)` for a well-formed non-6-octet hardware address, `None` if malformed.
fn hwaddr(s: &str) -> Option<Option<MacAddr>> {
    let rest = match s.split_once('-') {
        Some((t, rest)) if (1..=2).contains(&t.len()) && is_hex(t) => rest,
        Some(_) => return None,
        None => s,
    };
    if rest.is_empty() {
        return Some(None); // zero-length hardware address
    }
    let octets: Vec<&str> = rest.split(':').collect();
    if !octets
        .iter()
        .all(|o| (1..=2).contains(&o.len()) && is_hex(o))
    {
        return None;
    }
    Some(if octets.len() == 6 {
        rest.parse().ok()
    } else {
        None
    })
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::select::testutil::{NOW, assert_fixture_selection, fuzz_inputs};

    const V4: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/leases/dnsmasq.leases"
    ));
    const DUAL: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/leases/dnsmasq-dualstack.leases"
    ));

    #[test]
    fn fixtures_select_the_story() {
        let p = parse(V4);
        assert_eq!((p.leases.len(), p.warnings.len()), (5, 0));
        assert_fixture_selection(&p);
        let d = parse(DUAL);
        assert_eq!((d.leases.len(), d.warnings.len()), (6, 0));
        assert_eq!(d.leases[..5], p.leases[..]);
        assert_fixture_selection(&d);
        let v6 = &d.leases[5];
        assert_eq!(
            (v6.ip.to_string(), v6.mac, v6.line),
            ("::1".into(), None, 7)
        );
        assert_eq!(
            (v6.hostname.as_deref(), v6.ends),
            (Some("bmc-r01-u02"), Some(1_795_218_451))
        );
        let pxe = &p.leases[0];
        assert_eq!(
            (pxe.hostname.clone(), pxe.starts, pxe.state),
            (None, None, LeaseState::Active)
        );
        assert_eq!(p.leases[4].ends, None); // expiry 0 = infinite
    }

    #[test]
    fn hardware_types_and_bad_lines() {
        let text = format!(
            "{NOW} 06-52:54:00:00:00:06 10.0.0.6 h6 *\n\
             {NOW} 20-00:11:22:33:44:55:66:77:88:99 10.0.0.7 * *\n\
             {NOW} 00- 10.0.0.8 * *\n\
             {NOW} 52:54:00:00:00:09 10.0.0.300 * *\n\
             soon 52:54:00:00:00:0a 10.0.0.10 * *\n\
             {NOW} 52:54:00:zz:00:0b 10.0.0.11 * *\n\
             {NOW} 52:54:00:00:00:0c 10.0.0.12 *\n\
             \n\
             {NOW} T1380933 fd00::1 * 00:03:00:01\n\
             {NOW} iaid fd00::2 * 00:03:00:01\n"
        );
        let p = parse(&text);
        let macs: Vec<_> = p
            .leases
            .iter()
            .map(|l| l.mac.map(|m| m.to_string()))
            .collect();
        assert_eq!(macs, [Some("52:54:00:00:00:06".into()), None, None, None]);
        let at: Vec<usize> = p.warnings.iter().map(|w| w.line).collect();
        assert_eq!(at, [4, 5, 6, 7, 10], "{:?}", p.warnings);
    }

    #[test]
    fn never_panics() {
        for input in fuzz_inputs(DUAL) {
            parse(&input);
        }
    }
}
