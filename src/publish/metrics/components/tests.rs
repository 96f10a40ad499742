//! The component families as docs/metrics.md lists them, and the per-BMC label budget.

use crate::model::{
    Components, Dimm, Drive, ErrorKind, Field, Firmware, Health, LinkStatus, NicPort, Part, Storage,
};
use crate::publish::metrics::tests::{render_one, snapshot};

fn part(id: &str, health: Health, state: &str) -> Part {
    Part {
        id: id.into(),
        name: id.into(),
        health,
        state: Some(state.into()),
    }
}

fn components(drives: usize) -> Components {
    let mut c = Components::all_failed(ErrorKind::Unsupported, "none");
    let mut list: Vec<Drive> = (0..drives)
        .map(|i| Drive {
            part: part(&format!("d{i}"), Health::Ok, "Enabled"),
            failure_predicted: None,
            life_left_percent: None,
            capacity_bytes: None,
            media_type: None,
            model: None,
        })
        .collect();
    if let Some(d) = list.first_mut() {
        d.part.health = Health::Critical;
        d.life_left_percent = Some(42.0);
    }
    list.push(Drive {
        part: part("empty", Health::Unknown, "Absent"),
        ..list[0].clone()
    });
    c.storage = Field::Ok(Storage {
        drives: list,
        ..Storage::default()
    });
    c.memory = Field::Ok(vec![Dimm {
        part: part("DIMM1", Health::Warning, "Enabled"),
        capacity_mib: Some(32768),
        correctable_errors: Some(7),
        uncorrectable_errors: None,
    }]);
    c.network = Field::Ok(vec![NicPort {
        part: part("eth0", Health::Ok, "Enabled"),
        link: Some(LinkStatus::Down),
        speed_mbps: None,
        was_up: true,
    }]);
    c.firmware = Field::Ok(vec![Firmware {
        id: "BMC".into(),
        name: "BMC".into(),
        version: Some("1.45".into()),
        updateable: Some(true),
    }]);
    c
}

#[test]
fn components_become_their_families() {
    let mut s = snapshot();
    s.reading.components = Some(Box::new(components(2)));
    let text = render_one(s);
    let m = "mac=\"02:00:00:00:00:01\"";
    for line in [
        format!("bmc_drive_health{{{m},drive=\"d0\"}} 2"),
        format!("bmc_drive_health{{{m},drive=\"d1\"}} 0"),
        format!("bmc_drive_life_left_ratio{{{m},drive=\"d0\"}} 0.42"),
        format!("bmc_dimm_health{{{m},dimm=\"DIMM1\"}} 1"),
        format!("bmc_memory_errors_total{{{m},dimm=\"DIMM1\",type=\"correctable\"}} 7"),
        format!("bmc_nic_link_up{{{m},port=\"eth0\"}} 0"),
        format!("bmc_firmware_info{{{m},component=\"BMC\",version=\"1.45\"}} 1"),
    ] {
        assert!(text.contains(&line), "{line} missing in\n{text}");
    }
    assert!(
        !text.contains("drive=\"empty\""),
        "an empty bay is not a series"
    );
    assert!(
        !text.contains("type=\"uncorrectable\""),
        "no zero the BMC did not give"
    );
    assert!(!text.contains("bmc_components_unexported"), "{text}");
}

#[test]
fn a_bmc_with_500_drives_exports_its_budget_and_counts_the_rest() {
    let mut s = snapshot();
    s.reading.components = Some(Box::new(components(500)));
    let text = render_one(s);
    let drives = text
        .lines()
        .filter(|l| l.starts_with("bmc_drive_health{"))
        .count();
    assert_eq!(drives, 128);
    // 500 drives + DIMM + port + firmware, 128 exported.
    assert!(
        text.contains("bmc_components_unexported{mac=\"02:00:00:00:00:01\"} 375"),
        "{text}"
    );
    assert!(
        !text.contains("bmc_dimm_health{"),
        "the budget went to the drives"
    );
}
