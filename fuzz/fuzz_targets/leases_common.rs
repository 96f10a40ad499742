//! Shared body of the three lease-file targets: parse lossy UTF-8 text with one parser, check the
//! parse result's documented invariants, then run target selection over what it found.

use bmc_catcher::config::LeasesFormat;
use bmc_catcher::discovery::{self, Filters, Parsed, select_targets};

/// The fixtures' snapshot time, 2026-11-20 12:00:00 UTC.
const NOW: i64 = 1_795_176_000;

/// Parses `data` (as lossy UTF-8) with `parse` and selects targets from the leases.
pub fn run(data: &[u8], parse: fn(&str) -> Parsed) {
    let text = String::from_utf8_lossy(data);
    let parsed = parse(&text);
    // Format detection must pick some parser and that one must not panic either.
    let _ = discovery::parse(&text, LeasesFormat::Auto);
    // Lines are 1-based and inside the text.
    let last_line = text.matches('\n').count() + 1;
    for line in parsed
        .leases
        .iter()
        .map(|l| l.line)
        .chain(parsed.warnings.iter().map(|w| w.line))
    {
        assert!(
            (1..=last_line).contains(&line),
            "line {line} of {last_line}"
        );
    }
    let grace = Filters {
        allow_cidrs: vec![
            "127.0.0.0/8".parse().expect("cidr"),
            "::/0".parse().expect("cidr"),
        ],
        ignore_macs: vec!["52:54:00:a1:00:11".parse().expect("mac")],
        expired_grace: 3600,
    };
    for (now, filters) in [
        (NOW, Filters::default()),
        (NOW, grace),
        (0, Filters::default()),
    ] {
        let selected = select_targets(&parsed.leases, now, &filters);
        // Sorted by MAC, one target per MAC, each from a parsed lease.
        assert!(selected.windows(2).all(|w| w[0].mac < w[1].mac));
        for s in &selected {
            assert!(
                parsed
                    .leases
                    .iter()
                    .any(|l| l.ip == s.ip && l.mac == Some(s.mac))
            );
            assert!(!filters.ignore_macs.contains(&s.mac));
        }
        let targets = discovery::to_targets(&parsed.leases, now, &filters);
        assert_eq!(targets.len(), selected.len());
    }
}
