//! Parser for Kea DHCPv4 memfile lease files (`kea-leases4.csv`): an append-only CSV log where
//! the latest row per address wins (that choice is `select`'s job; this returns every row).
//!
//! Columns are found by header name, so schema 2.1 (Kea 2.2), 3.0 (`pool_id`, Kea >= 2.4) and
//! future added columns all work. Kea escapes `,` inside fields as `&#x2c` and never quotes, so a
//! plain split on `,` is exact.

use std::net::{IpAddr, Ipv4Addr};

use super::lease::{Lease, LeaseState, Parsed};
use crate::model::MacAddr;

/// `valid_lifetime` meaning "infinite".
const INFINITE: u64 = u32::MAX as u64;

struct Columns {
    count: usize,
    address: usize,
    hwaddr: usize,
    valid_lifetime: usize,
    expire: usize,
    hostname: Option<usize>,
    state: Option<usize>,
}

impl Columns {
    fn from_header(header: &str) -> Option<Columns> {
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let find = |n: &str| names.iter().position(|h| *h == n);
        Some(Columns {
            count: names.len(),
            address: find("address")?,
            hwaddr: find("hwaddr")?,
            valid_lifetime: find("valid_lifetime")?,
            expire: find("expire")?,
            hostname: find("hostname"),
            state: find("state"),
        })
    }
}

/// Parses the text of a Kea lease4 memfile. Never panics.
pub fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let Some((hline, header)) = lines.find(|(_, l)| !l.trim().is_empty()) else {
        return out; // empty file: nothing leased yet (or caught mid-rewrite)
    };
    let Some(cols) = Columns::from_header(header) else {
        out.warn(
            hline,
            // The line itself is not shown: a file that is not a leases file may hold secrets.
            "not a Kea lease4 CSV header (it needs the columns address, hwaddr, valid_lifetime \
             and expire; the line is not shown); file ignored"
                .to_string(),
        );
        return out;
    };
    for (line, row) in lines {
        if row.trim().is_empty() {
            continue;
        }
        match parse_row(&cols, row, line) {
            Ok(lease) => out.leases.push(lease),
            Err(msg) => out.warn(line, format!("{msg}; row skipped")),
        }
    }
    out
}

fn parse_row(cols: &Columns, row: &str, line: usize) -> Result<Lease, String> {
    let f: Vec<&str> = row.split(',').collect();
    if f.len() != cols.count {
        return Err(format!("{} fields, header has {}", f.len(), cols.count));
    }
    let field = |i: usize| f.get(i).copied().unwrap_or("").trim();
    let addr = field(cols.address);
    let ip: Ipv4Addr = addr.parse().map_err(|_| format!("bad address {addr:?}"))?;
    let hw = field(cols.hwaddr);
    let mac = match hw.parse::<MacAddr>() {
        Ok(mac) => Some(mac),
        Err(_) if hw.is_empty() || is_hex_octets(hw) => None, // absent or not 6 octets
        Err(_) => return Err(format!("bad hwaddr {hw:?}")),
    };
    let vl = field(cols.valid_lifetime);
    let lifetime = digits(vl).ok_or_else(|| format!("bad valid_lifetime {vl:?}"))?;
    if lifetime > INFINITE {
        return Err(format!("bad valid_lifetime {vl:?}"));
    }
    let ex = field(cols.expire);
    let expire = digits(ex).ok_or_else(|| format!("bad expire {ex:?}"))?;
    let starts = expire
        .checked_sub(lifetime)
        .ok_or_else(|| format!("expire {expire} before valid_lifetime {lifetime}"))?;
    let code = match cols.state.map(field) {
        None | Some("") => 0,
        Some(s) => digits(s).ok_or_else(|| format!("bad state {s:?}"))?,
    };
    let state = match code {
        _ if lifetime == 0 => LeaseState::Released,
        0 => LeaseState::Active,
        1 => LeaseState::Declined,
        2 => LeaseState::Expired,
        _ => LeaseState::Other,
    };
    let hostname = cols.hostname.map(field).filter(|h| !h.is_empty());
    Ok(Lease {
        ip: IpAddr::V4(ip),
        mac,
        hostname: hostname.map(|h| h.replace("&#x2c", ",")),
        starts: Some(starts as i64),
        ends: (lifetime != INFINITE).then_some(expire as i64),
        state,
        vendor_class: None,
        line,
    })
}

/// Unsigned decimal that fits an `i64` (at most 18 digits).
fn digits(s: &str) -> Option<u64> {
    let ok = !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

/// Colon-separated hex octets of any count (a non-Ethernet hardware address).
fn is_hex_octets(s: &str) -> bool {
    s.split(':')
        .all(|o| (1..=2).contains(&o.len()) && o.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::select::testutil::{assert_fixture_selection, fuzz_inputs};

    const V21: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/leases/kea-leases4.csv"
    ));
    const V30: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/leases/kea-leases4-pool_id.csv"
    ));

    #[test]
    fn both_schemas_parse_identically_and_select_the_story() {
        for text in [V21, V30] {
            let p = parse(text);
            assert_eq!(p.warnings, vec![]);
            assert_eq!(p.leases.len(), 14);
            assert_eq!(p.leases[0].line, 2);
            assert_fixture_selection(&p);
        }
        assert_eq!(parse(V21), parse(V30));
    }

    #[test]
    fn states_lifetimes_and_escapes() {
        let p = parse(V21);
        let by_line = |n: usize| p.leases.iter().find(|l| l.line == n).unwrap();
        let released = by_line(7); // 127.0.1.13, valid_lifetime 0
        assert_eq!(
            (released.state, released.starts, released.ends),
            (
                LeaseState::Released,
                Some(1_794_993_164),
                Some(1_794_993_164)
            )
        );
        let declined = by_line(11); // 127.0.1.14
        assert_eq!(
            (declined.state, declined.mac, declined.hostname.clone()),
            (LeaseState::Declined, None, None)
        );
        assert_eq!(by_line(5).state, LeaseState::Expired); // 127.0.1.15 reclaimed
        let infinite = by_line(15); // 127.0.1.30
        assert_eq!(
            (infinite.state, infinite.starts, infinite.ends),
            (LeaseState::Active, Some(1_795_175_940), None)
        );
        let renewed = by_line(10); // 127.0.1.11
        assert_eq!(
            (renewed.starts, renewed.ends),
            (Some(1_795_154_710), Some(1_795_197_910))
        );
        let text = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,future\r\n\
                    10.0.0.1,52-54-00-00-00-01,,100,1100,1,0,0,rack&#x2cu1,0,{ \"a\": \"b&#x2c c\" },x\r\n\
                    10.0.0.2,00:11:22:33:44:55:66:77,,100,1100,1,0,0,,7,,x\r\n";
        let p = parse(text);
        assert_eq!(p.warnings, vec![]);
        assert_eq!(p.leases[0].hostname.as_deref(), Some("rack,u1"));
        assert_eq!(p.leases[0].mac, Some("52:54:00:00:00:01".parse().unwrap()));
        assert_eq!(
            (p.leases[1].mac, p.leases[1].state),
            (None, LeaseState::Other)
        );
    }

    #[test]
    fn bad_rows_warn_with_their_line_and_others_count() {
        let mut lines: Vec<&str> = V21.lines().collect();
        lines.insert(
            5,
            "127.0.1.300,52:54:00:a1:00:13,,43200,1795036364,1,0,0,,0,",
        );
        lines.insert(7, "127.0.1.13,52:54:00:a1:00:13,,43200,soon,1,0,0,,0,");
        lines.insert(9, "127.0.1.13,52:54:00:a1:00:13,,43200");
        lines.insert(
            11,
            "127.0.1.13,52:54:zz:a1:00:13,,43200,1795036364,1,0,0,,0,",
        );
        lines.insert(13, "127.0.1.13,52:54:00:a1:00:13,,43200,100,1,0,0,,0,");
        let p = parse(&lines.join("\n"));
        assert_eq!(p.leases.len(), 14);
        let at: Vec<usize> = p.warnings.iter().map(|w| w.line).collect();
        assert_eq!(at, [6, 8, 10, 12, 14], "{:?}", p.warnings);
        assert_fixture_selection(&p);
    }

    #[test]
    fn missing_or_unknown_header_is_one_warning() {
        let rows = V21.split_once('\n').unwrap().1;
        let p = parse(rows);
        assert_eq!(
            (p.leases.len(), p.warnings.len(), p.warnings[0].line),
            (0, 1, 1)
        );
        let p = parse(&format!("\n\nip,mac,expiry\n{rows}"));
        assert_eq!(
            (p.leases.len(), p.warnings.len(), p.warnings[0].line),
            (0, 1, 3)
        );
        // A secrets file named as the leases file by mistake: its line is not quoted.
        let p = parse("password = \"hunter2-secret\"\n");
        assert_eq!(p.warnings.len(), 1);
        assert!(
            !p.warnings[0].message.contains("hunter2"),
            "{:?}",
            p.warnings
        );
        assert_eq!(parse(""), Parsed::default());
    }

    #[test]
    fn never_panics() {
        for input in fuzz_inputs(V30) {
            parse(&input);
        }
    }
}
