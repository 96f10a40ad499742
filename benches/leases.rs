//! Lease-file parsing and target selection at fleet scale: 100,000 generated records each of ISC
//! dhcpd (`dhcpd.leases` blocks shaped like `tests/fixtures/leases/dhcpd.leases`), Kea lease4 CSV
//! and dnsmasq, parsed with the crate's own parsers, and `select_targets` over the dhcpd result.
//!
//! Every tenth record re-records an earlier address (a renewal, or a board swap that frees the old
//! lease), so the last-record-per-IP rule has work to do. Throughput is in lease records.

use std::fmt::Write as _;
use std::hint::black_box;

use bmc_catcher::discovery::select::{Filters, select_targets};
use bmc_catcher::discovery::{dnsmasq, isc_dhcpd, kea};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

/// Records per generated file.
const N: usize = 100_000;
/// 2026-11-20 12:00:00 UTC, the fixtures' snapshot time (a Friday, weekday 5).
const NOW: i64 = 1_795_176_000;
/// 2026-11-20 00:00:00 UTC.
const DAY_START: i64 = NOW - 12 * 3600;
/// Lease length: 12 h, as in the fixtures.
const LEASE: i64 = 12 * 3600;

/// The address of slot `i` (distinct for every `i < 2^24`).
fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)
}

/// The MAC of slot `i` (distinct for every `i < 2^24`).
fn mac(i: usize) -> String {
    format!(
        "52:54:00:{:02x}:{:02x}:{:02x}",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

/// What record `n` of a file says: (slot, lease start, still bound). Nine in ten records open a
/// new slot (a new IP and MAC); the tenth re-records the slot of record `n - 7`, alternately as a
/// renewal (still bound) and as the lease freed, so the later record must win.
fn record(n: usize) -> (usize, i64, bool) {
    let start = DAY_START + 1 + (n as i64 * 7) % (LEASE - 2);
    if n % 10 == 9 {
        let slot = (n - 7) - (n - 7) / 10; // the slot record n - 7 opened
        (slot, start, n % 20 == 9)
    } else {
        (n - n / 10, start, true)
    }
}

/// `W YYYY/MM/DD HH:MM:SS` for a time on 2026-11-20 or 2026-11-21 (UTC).
fn dhcpd_date(t: i64) -> String {
    let (day, secs) = ((t - DAY_START) / 86_400, (t - DAY_START) % 86_400);
    format!(
        "{} 2026/11/{} {:02}:{:02}:{:02}",
        5 + day,
        20 + day,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn gen_dhcpd() -> String {
    let mut s = String::with_capacity(N * 400);
    s.push_str("# The format of this file is documented in the dhcpd.leases(5) manual page.\n");
    s.push_str("# This lease file was written by isc-dhcp-4.4.3-P1\n\n");
    s.push_str("# authoring-byte-order entry is generated, DO NOT DELETE\n");
    s.push_str("authoring-byte-order little-endian;\n\n");
    for n in 0..N {
        let (slot, start, bound) = record(n);
        let (starts, ends) = (dhcpd_date(start), dhcpd_date(start + LEASE));
        let m = mac(slot);
        let oct = |k: usize| (slot >> k) & 0xff;
        let _ = writeln!(s, "lease {} {{", ip(slot));
        let _ = writeln!(s, "  starts {starts};\n  ends {ends};");
        if !bound {
            let _ = writeln!(s, "  tstp {ends};");
        }
        let _ = writeln!(s, "  cltt {starts};");
        if bound {
            s.push_str("  binding state active;\n  next binding state free;\n");
            s.push_str("  rewind binding state free;\n");
        } else {
            s.push_str("  binding state free;\n");
        }
        let _ = writeln!(s, "  hardware ethernet {m};");
        let _ = writeln!(
            s,
            "  uid \"\\001RT\\000\\{:03o}\\{:03o}\\{:03o}\";",
            oct(16),
            oct(8),
            oct(0)
        );
        if bound {
            s.push_str("  set vendor-class-identifier = \"udhcp 1.35.0\";\n");
            let _ = writeln!(
                s,
                "  client-hostname \"bmc-r{:03}-u{:02}\";",
                slot / 40,
                slot % 40
            );
        }
        s.push_str("}\n");
    }
    s
}

fn gen_kea() -> String {
    let mut s = String::with_capacity(N * 110);
    s.push_str("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n");
    for n in 0..N {
        let (slot, start, bound) = record(n);
        let m = mac(slot);
        let host = format!("bmc-r{:03}-u{:02}", slot / 40, slot % 40);
        let (host, state) = if bound { (host.as_str(), 0) } else { ("", 2) };
        let _ = writeln!(
            s,
            "{},{m},01:{m},{LEASE},{},1,0,0,{host},{state},",
            ip(slot),
            start + LEASE
        );
    }
    s
}

fn gen_dnsmasq() -> String {
    let mut s = String::with_capacity(N * 80);
    for n in 0..N {
        let m = mac(n);
        let _ = writeln!(
            s,
            "{} {m} {} bmc-r{:03}-u{:02} 01:{m}",
            NOW + 1 + (n as i64 * 7) % LEASE,
            ip(n),
            n / 40,
            n % 40
        );
    }
    s
}

fn bench_leases(c: &mut Criterion) {
    let dhcpd = gen_dhcpd();
    let kea_csv = gen_kea();
    let dnsmasq_txt = gen_dnsmasq();
    let filters = Filters::default();

    // Sanity, once: every record parses, and selection keeps one target per live slot.
    let parsed = isc_dhcpd::parse(&dhcpd);
    assert_eq!(parsed.leases.len(), N, "dhcpd records");
    assert!(
        parsed.warnings.is_empty(),
        "dhcpd: {:?}",
        &parsed.warnings[..1]
    );
    let selected = select_targets(&parsed.leases, NOW, &filters).len();
    let kea_parsed = kea::parse(&kea_csv);
    assert_eq!(kea_parsed.leases.len(), N, "kea rows");
    assert_eq!(
        select_targets(&kea_parsed.leases, NOW, &filters).len(),
        selected,
        "kea and dhcpd tell the same story"
    );
    assert_eq!(
        dnsmasq::parse(&dnsmasq_txt).leases.len(),
        N,
        "dnsmasq lines"
    );
    eprintln!(
        "leases: {N} records; dhcpd {} bytes, kea {} bytes, dnsmasq {} bytes; {selected} targets selected",
        dhcpd.len(),
        kea_csv.len(),
        dnsmasq_txt.len()
    );

    let mut g = c.benchmark_group("leases");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(N as u64));
    g.bench_function("isc_dhcpd_parse", |b| {
        b.iter(|| isc_dhcpd::parse(black_box(&dhcpd)))
    });
    g.bench_function("isc_dhcpd_select_targets", |b| {
        b.iter(|| select_targets(black_box(&parsed.leases), NOW, &filters))
    });
    g.bench_function("kea_parse", |b| b.iter(|| kea::parse(black_box(&kea_csv))));
    g.bench_function("dnsmasq_parse", |b| {
        b.iter(|| dnsmasq::parse(black_box(&dnsmasq_txt)))
    });
    g.finish();
}

criterion_group!(benches, bench_leases);
criterion_main!(benches);
