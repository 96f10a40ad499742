//! When the firmware inventory and the parts are due, and what the rollup line is made of.

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::model::{Drive, MacAddr, Volume};

fn part(id: &str, health: Health) -> Part {
    Part {
        id: id.into(),
        name: id.into(),
        health,
        state: None,
    }
}

fn drive(health: Health, predicted: Option<bool>) -> Drive {
    Drive {
        part: part("d0", health),
        failure_predicted: predicted,
        life_left_percent: Some(97.0),
        capacity_bytes: None,
        media_type: None,
        model: None,
    }
}

fn parts(drive: Drive) -> Parts {
    Parts {
        storage: Field::Ok(Storage {
            controllers: Vec::new(),
            drives: vec![drive],
            volumes: vec![Volume {
                part: part("v0", Health::Ok),
                raid_type: Some("RAID1".into()),
                capacity_bytes: None,
            }],
        }),
        memory: Field::failed(ErrorKind::Unsupported, "the system links no Memory"),
        processors: Field::Ok(Vec::new()),
        cooling: Field::Ok(Vec::new()),
    }
}

const HALF_HOUR: Duration = Duration::from_secs(1800);

const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 7]);

fn aligned(t0: Instant, period: Duration) -> Slots {
    Slots::aligned(MAC, t0, period)
}

/// The parts `c` keeps at `at` under `rollup`, with `component-interval` half an hour from `t0`.
fn kept(c: &InventoryCache, t0: Instant, at: Instant, rollup: Option<&str>) -> bool {
    c.parts(at, HALF_HOUR, aligned(t0, HALF_HOUR), rollup)
        .is_some()
}

#[test]
fn firmware_is_due_at_first_after_the_interval_and_on_a_firmware_change() {
    let day = Duration::from_secs(86_400);
    let t0 = Instant::now();
    let mut c = InventoryCache::default();
    assert!(c.due(t0, day, aligned(t0, day), Some("1.0")), "never read");
    c.keep_firmware(&Field::Ok(Vec::new()), t0, Some("1.0"));
    assert!(!c.due(
        t0 + Duration::from_secs(3600),
        day,
        aligned(t0, day),
        Some("1.0")
    ));
    assert!(
        c.due(t0 + day, day, aligned(t0, day), Some("1.0")),
        "after the interval"
    );
    assert!(
        c.due(
            t0 + Duration::from_secs(60),
            day,
            aligned(t0, day),
            Some("1.1")
        ),
        "the BMC was updated"
    );
    c.forget();
    assert!(
        c.due(
            t0 + Duration::from_secs(60),
            day,
            aligned(t0, day),
            Some("1.0")
        ),
        "refresh asked for it"
    );
}

#[test]
fn quiet_parts_are_kept_while_the_rollup_holds_and_read_again_when_it_moves() {
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(300);
    let mut c = InventoryCache::default();
    assert!(!kept(&c, t0, t0, Some("OK/OK")), "never read");
    c.keep_parts(
        &parts(drive(Health::Ok, Some(false))),
        t0,
        Some("OK/OK".into()),
    );
    assert!(kept(&c, t0, later, Some("OK/OK")), "kept");
    assert!(
        !kept(&c, t0, later, Some("OK/Critical")),
        "the rollup moved: a part changed"
    );
    assert!(
        !kept(&c, t0, t0 + HALF_HOUR, Some("OK/OK")),
        "the interval is up"
    );
    assert!(!kept(&c, t0, later, None), "no rollup to trust");
    assert!(
        c.parts(later, Duration::ZERO, aligned(t0, HALF_HOUR), Some("OK/OK"))
            .is_none(),
        "component-interval 0s: every poll"
    );
    c.forget();
    assert!(
        !kept(&c, t0, later, Some("OK/OK")),
        "refresh asked for them"
    );
}

#[test]
fn unhealthy_or_unread_parts_are_read_at_every_poll() {
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(300);
    for (what, p) in [
        ("a failed drive", parts(drive(Health::Critical, None))),
        ("a predicted failure", parts(drive(Health::Ok, Some(true)))),
        ("a failed read", {
            let mut p = parts(drive(Health::Ok, None));
            p.processors = Field::failed(ErrorKind::Timeout, "slow");
            p
        }),
    ] {
        let mut c = InventoryCache::default();
        c.keep_parts(&p, t0, Some("OK/Critical".into()));
        assert!(
            !kept(&c, t0, later, Some("OK/Critical")),
            "{what}: read again until it clears"
        );
    }
    let mut absent = drive(Health::Critical, None);
    absent.part.state = Some("Absent".into());
    let mut c = InventoryCache::default();
    c.keep_parts(&parts(absent), t0, Some("OK/OK".into()));
    assert!(
        kept(&c, t0, later, Some("OK/OK")),
        "an empty slot is no reason to look again"
    );
}

#[test]
fn the_rollup_is_made_of_the_summary_words_and_bounded() {
    let sys = json!({"Status": {"Health": "OK", "HealthRollup": "Critical"},
        "MemorySummary": {"Status": {"HealthRollup": "OK"}}});
    assert_eq!(rollup(&sys).as_deref(), Some("OK/Critical/OK///"));
    assert_eq!(
        rollup(&json!({"Status": {"Health": "OK"}})),
        None,
        "the system's own health says nothing of its parts"
    );
    let long = "x".repeat(10_000);
    let hostile = json!({"Status": {"HealthRollup": long}});
    assert_eq!(rollup(&hostile).map(|r| r.len()), Some(MAX_WORD + 5));
}

#[test]
fn a_port_is_marked_once_it_was_up_and_stays_marked() {
    let port = |link| NicPort {
        part: part("eth0", Health::Ok),
        link: Some(link),
        speed_mbps: None,
        was_up: false,
    };
    let mut c = InventoryCache::default();
    let mut never = [port(LinkStatus::NoLink)];
    c.mark_up(&mut never);
    assert!(!never[0].was_up, "an unused port stays quiet");
    c.mark_up(&mut [port(LinkStatus::Up)]);
    let mut lost = [port(LinkStatus::Down)];
    c.mark_up(&mut lost);
    assert!(lost[0].was_up);
}
