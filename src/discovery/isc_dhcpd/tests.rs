//! Tests of the dhcpd.leases parser against the fixtures, broken blocks and slicing.

use super::*;
use crate::discovery::select::testutil::{NOW, assert_fixture_selection, fuzz_inputs};
use crate::discovery::select::{Filters, select_targets};

const TEXT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/leases/dhcpd.leases"
));
const EPOCH: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/leases/dhcpd-epoch.leases"
));

fn find<'a>(p: &'a Parsed, ip: &str) -> Vec<&'a Lease> {
    p.leases.iter().filter(|l| l.ip.to_string() == ip).collect()
}

#[test]
fn fixture_parses_every_block_and_selects_the_story() {
    let p = parse(TEXT);
    assert_eq!(p.warnings, vec![]);
    assert_eq!(p.leases.len(), 13);
    assert_eq!(p.leases[0].line, 7);
    assert_fixture_selection(&p);
    let never = find(&p, "127.0.1.30")[0];
    assert_eq!((never.starts, never.ends), (Some(1_795_175_940), None));
    let pxe = find(&p, "127.0.1.20")[0];
    assert_eq!(
        pxe.vendor_class.as_deref(),
        Some("PXEClient:Arch:00007:UNDI:003016")
    );
    assert_eq!(pxe.hostname, None);
    let abandoned = find(&p, "127.0.1.14")[0];
    assert_eq!(
        (abandoned.state, abandoned.mac),
        (LeaseState::Abandoned, None)
    );
    assert_eq!(find(&p, "127.0.1.15")[0].state, LeaseState::Expired);
    assert_eq!(find(&p, "127.0.1.16")[1].state, LeaseState::Free);
}

#[test]
fn epoch_fixture_equals_the_date_fixture() {
    let (a, b) = (parse(TEXT), parse(EPOCH));
    assert_eq!(b.warnings, vec![]);
    assert_fixture_selection(&b);
    let strip = |p: Parsed| {
        p.leases
            .into_iter()
            .map(|l| Lease { line: 0, ..l })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(a), strip(b));
}

/// Inserts `what` before 1-based line `at`; returns the new text.
fn inject(at: usize, what: &str) -> String {
    let mut lines: Vec<&str> = TEXT.lines().collect();
    lines.insert(at - 1, what);
    lines.join("\n") + "\n"
}

#[test]
fn broken_blocks_are_skipped_with_the_line_of_the_problem() {
    // Line 28 is `lease 127.0.1.13 {` (first, later superseded), 35 its `hardware`, 39 its `}`.
    let first13 = TEXT
        .lines()
        .position(|l| l == "lease 127.0.1.13 {")
        .unwrap()
        + 1;
    assert_eq!(first13, 28);
    let cases: Vec<(String, usize, usize)> = vec![
        (inject(35, "  @@@ garbage !!! {{"), 35, 12),
        (inject(35, "  hardware ethernet 52:54:00:zz:00:13;"), 35, 12),
        (inject(35, "  starts 3 2026/02/30 09:12:44;"), 35, 12),
        (inject(35, "  client-hostname \"unterminated"), 35, 12),
        (inject(35, "  hardware ethernet 52:54:00:a1:00:13"), 35, 12),
        (
            inject(
                28,
                "lease 127.0.1.300 {\n  starts 3 2026/11/18 09:12:44;\n}",
            ),
            28,
            13,
        ),
        (inject(28, "%%% top-level garbage"), 28, 13),
        (inject(28, "}}"), 28, 13),
        (
            TEXT.replacen("  client-hostname \"bmc-r01-u03\";\n}\n", "", 1),
            28,
            12,
        ),
    ];
    for (text, line, count) in cases {
        let p = parse(&text);
        assert_eq!(p.leases.len(), count, "{:?}\n{text}", p.warnings);
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert_eq!(p.warnings[0].line, line, "{:?}", p.warnings);
        assert_fixture_selection(&p);
    }
}

#[test]
fn slicing_changes_nothing_not_even_line_numbers() {
    let broken = [
        TEXT.to_string(),
        EPOCH.to_string(),
        inject(35, "  @@@ garbage !!! {{"),
        inject(28, "%%% top-level garbage"),
        format!("{TEXT}\nlease 127.0.1.99 {{\n  starts epoch 1;\n"),
    ];
    for text in &broken {
        let whole = parse_sliced(text, usize::MAX);
        for size in [1, 7, 64, 300, 4096] {
            let sliced = parse_sliced(text, size);
            assert_eq!(sliced.leases, whole.leases, "slice size {size}");
            assert_eq!(sliced.warnings, whole.warnings, "slice size {size}");
        }
        let pieces: Vec<&str> = slices(text, 1).collect();
        assert!(pieces.len() > 10, "cut at each lease: {}", pieces.len());
        assert_eq!(pieces.concat(), *text);
    }
}

#[test]
fn unterminated_last_block_is_dropped_with_a_warning() {
    let cut = TEXT.trim_end().strip_suffix('}').unwrap();
    let p = parse(cut);
    assert_eq!(p.leases.len(), 12);
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(
        p.warnings[0].line,
        TEXT.lines()
            .position(|l| l == "lease 127.0.1.30 {")
            .unwrap()
            + 1
    );
    assert!(find(&p, "127.0.1.30").is_empty());
}

#[test]
fn odd_but_valid_syntax() {
    let text = r#"server-duid "\000\001\000\001\036\303\245\310RT\000\377\000\001";
failover peer "dhcp" state {
  my state normal at 5 2026/11/20 10:00:00;
  partner state normal at 5 2026/11/20 10:00:00;
}
ia-na "\001\000\000\000\000\001" {
  cltt 5 2026/11/20 10:00:00;
  iaaddr fd00::1 { binding state active; ends never; }
}
lease 10.0.0.5 { # comment { ; "
  starts epoch 1795170000; # Fri
  ends never;
  uid 01:52:54:00:a1:00:05;
  hardware ethernet 52:54:00:A1:00:05;
  on expiry { set x = "y"; }
  set ddns-fwd-name = "x;y";
  client-hostname "a;b{c}d#e\"f\\g\101\x42";
  some-future-statement 1 2 "{";
}
lease 10.0.0.6 {
  hardware token-ring 00:11:22:33:44:55;
  abandoned;
}
"#;
    let p = parse(text);
    assert_eq!(p.warnings, vec![]);
    assert_eq!(p.leases.len(), 2);
    let l = &p.leases[0];
    assert_eq!((l.line, l.starts, l.ends), (10, Some(1_795_170_000), None));
    assert_eq!(l.hostname.as_deref(), Some("a;b{c}d#e\"f\\gAB"));
    assert_eq!(l.mac, Some("52:54:00:a1:00:05".parse().unwrap()));
    assert_eq!(
        (p.leases[1].mac, p.leases[1].state),
        (None, LeaseState::Abandoned)
    );
    let sel = select_targets(&p.leases, NOW + 100 * 365 * 86_400, &Filters::default());
    assert_eq!(sel.len(), 1);
}

#[test]
fn active_lease_past_its_end_is_dropped() {
    let text = "lease 10.0.0.7 {\n starts 5 2026/11/20 00:00:00;\n ends 5 2026/11/20 11:00:00;\n binding state active;\n hardware ethernet 52:54:00:00:00:07;\n}\n";
    let p = parse(text);
    assert_eq!(p.leases[0].state, LeaseState::Active);
    assert!(select_targets(&p.leases, NOW, &Filters::default()).is_empty());
    assert_eq!(
        select_targets(&p.leases, NOW - 3601, &Filters::default()).len(),
        1
    );
}

#[test]
fn never_panics() {
    for seed in [TEXT, EPOCH] {
        for input in fuzz_inputs(seed) {
            let p = parse(&input);
            assert!(p.leases.iter().all(|l| l.line >= 1));
        }
    }
}
