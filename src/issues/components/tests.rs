//! Each component issue from the part state that should raise it, and nothing from healthy or
//! absent parts.

use crate::issues::evaluate;
use crate::issues::tests::{healthy, settings, snap, types};
use crate::model::{
    Components, Cpu, Dimm, Drive, ErrorKind, Field, Health, Intrusion, IssueType, LinkStatus,
    NicPort, Part, Severity, Storage, Volume,
};

fn part(id: &str, health: Health, state: &str) -> Part {
    Part {
        id: id.into(),
        name: id.into(),
        health,
        state: Some(state.into()),
    }
}

fn drive(id: &str, health: Health, predicted: Option<bool>, life: Option<f64>) -> Drive {
    Drive {
        part: part(id, health, "Enabled"),
        failure_predicted: predicted,
        life_left_percent: life,
        capacity_bytes: None,
        media_type: None,
        model: None,
    }
}

fn nic(id: &str, link: LinkStatus, was_up: bool) -> NicPort {
    NicPort {
        part: part(id, Health::Ok, "Enabled"),
        link: Some(link),
        speed_mbps: None,
        was_up,
    }
}

/// Healthy components: every part there, every part fine.
fn fine() -> Components {
    let mut c = Components::all_failed(ErrorKind::Unsupported, "none");
    c.storage = Field::Ok(Storage {
        controllers: Vec::new(),
        drives: vec![
            drive("d0", Health::Ok, Some(false), Some(80.0)),
            // An empty bay says nothing.
            Drive {
                part: part("d1", Health::Critical, "Absent"),
                ..drive("d1", Health::Critical, None, None)
            },
        ],
        volumes: vec![Volume {
            part: part("v0", Health::Ok, "Enabled"),
            raid_type: Some("RAID1".into()),
            capacity_bytes: None,
        }],
    });
    c.memory = Field::Ok(vec![Dimm {
        part: part("DIMM1", Health::Ok, "Enabled"),
        capacity_mib: Some(32768),
        correctable_errors: Some(12),
        uncorrectable_errors: Some(0),
    }]);
    c.processors = Field::Ok(vec![Cpu {
        part: part("CPU1", Health::Ok, "Enabled"),
        model: None,
    }]);
    c.network = Field::Ok(vec![
        nic("eth0", LinkStatus::Up, true),
        nic("unused", LinkStatus::NoLink, false),
    ]);
    c.intrusion = Some(Intrusion::Normal);
    c
}

#[test]
fn healthy_and_absent_parts_raise_nothing() {
    let mut e = healthy(1);
    snap(&mut e).reading.components = Some(Box::new(fine()));
    assert!(evaluate(&[e], &settings()).is_empty());
}

#[test]
fn each_failing_part_raises_its_issue() {
    let mut e = healthy(1);
    let mut c = fine();
    if let Field::Ok(s) = &mut c.storage {
        s.drives.push(drive("failed", Health::Critical, None, None));
        s.drives.push(drive("smart", Health::Ok, Some(true), None));
        s.drives
            .push(drive("worn", Health::Ok, Some(false), Some(5.0)));
        s.volumes[0].part.state = Some("Degraded".into());
    }
    if let Field::Ok(m) = &mut c.memory {
        m[0].uncorrectable_errors = Some(2);
    }
    if let Field::Ok(p) = &mut c.processors {
        p[0].part.health = Health::Warning;
    }
    if let Field::Ok(n) = &mut c.network {
        n[0].link = Some(LinkStatus::Down);
    }
    c.intrusion = Some(Intrusion::Intruded);
    snap(&mut e).reading.components = Some(Box::new(c));
    let found = evaluate(std::slice::from_ref(&e), &settings());
    assert_eq!(
        types(&found, &e),
        [
            (IssueType::DriveFailed, Severity::Critical),
            (IssueType::DrivePredictedFailure, Severity::Major),
            (IssueType::DriveWearOut, Severity::Minor),
            (IssueType::RaidDegraded, Severity::Critical),
            (IssueType::MemoryDegraded, Severity::Critical),
            (IssueType::CpuFailed, Severity::Major),
            (IssueType::NicLinkDown, Severity::Major),
            (IssueType::ChassisIntrusion, Severity::Major),
        ]
    );
    let details: Vec<&str> = found[&e.target.mac].iter().map(|i| &*i.detail).collect();
    assert!(
        details.contains(&"worn has 5 % of its life left"),
        "{details:?}"
    );
    assert!(details.contains(&"v0 (RAID1) is Degraded"), "{details:?}");
}

#[test]
fn the_wear_out_threshold_is_the_settings() {
    let mut e = healthy(1);
    let mut c = fine();
    if let Field::Ok(s) = &mut c.storage {
        s.drives[0].life_left_percent = Some(15.0);
    }
    snap(&mut e).reading.components = Some(Box::new(c));
    assert!(evaluate(std::slice::from_ref(&e), &settings()).is_empty());
    let mut s = settings();
    s.drive_wear_out_below = 20;
    assert_eq!(
        types(&evaluate(std::slice::from_ref(&e), &s), &e),
        [(IssueType::DriveWearOut, Severity::Minor)]
    );
}

#[test]
fn firmware_drift_names_the_odd_one_of_a_model_only() {
    let mut fleet: Vec<_> = (1..=4).map(healthy).collect();
    for (i, e) in fleet.iter_mut().enumerate() {
        let inv = match &mut snap(e).reading.inventory {
            Field::Ok(inv) => inv,
            Field::Error(_) => unreachable!("healthy has inventory"),
        };
        inv.model = Some(if i < 3 { "R650" } else { "R750" }.into());
        inv.bmc_firmware = Some(if i == 0 { "6.10" } else { "7.00" }.into());
        inv.bios_version = Some("1.9".into());
    }
    let found = evaluate(&fleet, &settings());
    assert_eq!(
        types(&found, &fleet[0]),
        [(IssueType::FirmwareDrift, Severity::Minor)]
    );
    assert_eq!(
        &*found[&fleet[0].target.mac][0].detail,
        "BMC firmware 6.10, where 2 R650 run 7.00"
    );
    assert!(types(&found, &fleet[1]).is_empty());
    // The only R750 is its own majority.
    assert!(types(&found, &fleet[3]).is_empty());
}

#[test]
fn firmware_is_compared_within_one_protocol() {
    // Two R650 over Redfish (full version), two over IPMI (Get Device ID's major.minor): no drift.
    let mut fleet: Vec<_> = (1..=4).map(healthy).collect();
    for (i, e) in fleet.iter_mut().enumerate() {
        let s = snap(e);
        s.protocol = Some(if i < 2 {
            crate::model::Protocol::Redfish
        } else {
            crate::model::Protocol::Ipmi
        });
        let Field::Ok(inv) = &mut s.reading.inventory else {
            unreachable!("healthy has inventory")
        };
        inv.model = Some("R650".into());
        inv.bmc_firmware = Some(if i < 2 { "7.00.30" } else { "7.00" }.into());
    }
    let found = evaluate(&fleet, &settings());
    for e in &fleet {
        assert!(types(&found, e).is_empty(), "{found:?}");
    }
    // A third IPMI one on another version drifts within its group.
    let mut odd = healthy(5);
    let s = snap(&mut odd);
    s.protocol = Some(crate::model::Protocol::Ipmi);
    if let Field::Ok(inv) = &mut s.reading.inventory {
        inv.model = Some("R650".into());
        inv.bmc_firmware = Some("6.10".into());
    }
    fleet.push(odd);
    let found = evaluate(&fleet, &settings());
    assert_eq!(
        &*found[&fleet[4].target.mac][0].detail,
        "BMC firmware 6.10, where 2 R650 over IPMI run 7.00"
    );
}
