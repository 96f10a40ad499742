//! FRU, Get Device ID, System GUID, chassis status, SEL info and SDR repository info captured
//! from ipmi_sim, checked against ipmitool's `fru print`, `mc info`, `mc guid`,
//! `chassis status` and `sel info` for the same BMC.

use crate::it::ipmi_fixtures::*;
use bmc_catcher::hal::ipmi::decode::IpmiTime;
use bmc_catcher::hal::ipmi::decode::chassis::*;
use bmc_catcher::hal::ipmi::decode::fru::{parse_area_info, parse_fru, parse_read_data};
use bmc_catcher::hal::ipmi::decode::sdr::{parse_repository_info, parse_reservation};
use bmc_catcher::model::{Led, PowerState};

fn fru_image(set: &str) -> Vec<u8> {
    ok(hex_lines(set, "fru0.hex")
        .into_iter()
        .find(|(k, _)| k == "image")
        .expect("image")
        .1)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[test]
fn fru_matches_ipmitool_fru_print() {
    for set in SETS {
        // reassemble from the Read FRU Data responses, as a poller would
        let lines = hex_lines(set, "fru0.hex");
        let info = parse_area_info(&ok(lines[0].1.clone())).expect("area info");
        assert_eq!((info.size, info.by_words), (256, false));
        let mut img = Vec::new();
        for (k, r) in &lines {
            if k.starts_with("off ") {
                img.extend_from_slice(parse_read_data(&ok(r.clone())).expect("read data"));
            }
        }
        assert_eq!(img, fru_image(set));
        let (fru, warnings) = parse_fru(&img).expect("fru");
        assert!(warnings.is_empty(), "{warnings:?}");
        let p = |label| Some(kv(set, "ipmitool_fru_print.txt", label));
        assert_eq!(fru.chassis_type, p("Chassis Type"));
        assert_eq!(fru.chassis_type_code, Some(0x17));
        assert_eq!(fru.chassis_part, p("Chassis Part Number"));
        assert_eq!(fru.chassis_serial, p("Chassis Serial"));
        assert_eq!(fru.board_mfg, p("Board Mfg"));
        assert_eq!(fru.board_product, p("Board Product"));
        assert_eq!(fru.board_serial, p("Board Serial"));
        assert_eq!(fru.board_part, p("Board Part Number"));
        assert_eq!(fru.product_mfg, p("Product Manufacturer"));
        assert_eq!(fru.product_name, p("Product Name"));
        assert_eq!(fru.product_part, p("Product Part Number"));
        assert_eq!(fru.product_version, p("Product Version"));
        assert_eq!(fru.product_serial, p("Product Serial"));
        assert_eq!(fru.product_asset_tag, p("Product Asset Tag"));
        // "Board Mfg Date : Wed May  1 12:00:00 2024 UTC"
        let date = text(set, "ipmitool_fru_print.txt")
            .lines()
            .find_map(|l| {
                l.split_once("Board Mfg Date        : ")
                    .map(|(_, v)| v.to_string())
            })
            .expect("date line");
        let f: Vec<&str> = date.split_whitespace().collect();
        let month = MONTHS.iter().position(|m| *m == f[1]).expect("month") as i64 + 1;
        let (d, y) = (f[2].parse().expect("day"), f[4].parse().expect("year"));
        assert_eq!(
            fru.board_mfg_date,
            Some(unix(y, month, d, 0, 0, 0) + hms(f[3])),
            "{date}"
        );
    }
    // a corrupted board area still decodes, with a checksum warning
    let mut img = fru_image("normal");
    img[40] ^= 0x20; // the "x" of "Example Corp"
    let (fru, warnings) = parse_fru(&img).expect("fru");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(fru.board_mfg.as_deref(), Some("EXample Corp"));
    assert_eq!(fru.product_name.as_deref(), Some("Test Server 1U"));
}

#[test]
fn device_id_matches_ipmitool_mc_info() {
    let d = parse_device_id(&ok(response("normal", "get_device_id"))).expect("device id");
    let m = |l| kv("normal", "ipmitool_mc_info.txt", l);
    assert_eq!(d.device_id.to_string(), m("Device ID"));
    assert_eq!(d.device_revision.to_string(), m("Device Revision"));
    assert_eq!(d.firmware, m("Firmware Revision"));
    assert_eq!(d.ipmi_version, m("IPMI Version"));
    assert_eq!(d.manufacturer_id.to_string(), m("Manufacturer ID"));
    assert_eq!(
        format!("{} (0x{:04x})", d.product_id, d.product_id),
        m("Product ID")
    );
    assert_eq!(d.device_available, m("Device Available") == "yes");
    assert_eq!(d.provides_device_sdrs, m("Provides Device SDRs") == "yes");
    assert_eq!(d.aux_firmware, Some([0; 4]));
}

#[test]
fn system_guid_matches_ipmitool_mc_guid() {
    let g = parse_system_guid(&ok(response("normal", "get_system_guid"))).expect("guid");
    assert_eq!(g.uuid, kv("normal", "ipmitool_mc_guid.txt", "System GUID"));
    assert!(kv("normal", "ipmitool_mc_guid.txt", "GUID Encoding").starts_with("SMBIOS"));
    assert_eq!(g.encoding, GuidEncoding::Smbios);
    // start-ipmi-sim.sh sets md5("sdr") as the 16 raw bytes
    assert_eq!(g.raw[..4], [0x82, 0x20, 0xb4, 0xee]);
}

fn yes(v: &str) -> bool {
    matches!(v, "true" | "active" | "on")
}

#[test]
fn chassis_status_matches_ipmitool() {
    for (set, power) in [
        ("normal", PowerState::On),
        ("alarm", PowerState::On),
        ("extreme", PowerState::Off),
    ] {
        let data = ok(response(set, "get_chassis_status"));
        assert_eq!(data.len(), 3, "ipmi_sim sends no front-panel byte");
        let s = parse_chassis_status(&data).expect("status");
        let c = |l| yes(&kv(set, "ipmitool_chassis_status.txt", l));
        assert_eq!(s.power_state(), power);
        assert_eq!(s.power_on, c("System Power"));
        assert_eq!(s.power_overload, c("Power Overload"));
        assert_eq!(s.interlock, c("Power Interlock"));
        assert_eq!(s.power_fault, c("Main Power Fault"));
        assert_eq!(s.power_control_fault, c("Power Control Fault"));
        assert_eq!(s.intrusion, c("Chassis Intrusion"));
        assert_eq!(s.front_panel_lockout, c("Front-Panel Lockout"));
        assert_eq!(s.drive_fault, c("Drive Fault"));
        assert_eq!(s.fan_fault, c("Cooling/Fan Fault"));
        assert_eq!(
            kv(set, "ipmitool_chassis_status.txt", "Power Restore Policy"),
            "always-off"
        );
        assert_eq!(s.restore_policy, 0);
        // ipmi_sim never reports identify state (bit 6 clear), even during `chassis identify`
        assert_eq!((s.identify, s.front_panel), (Led::Unknown, None));
    }
}

/// ipmitool `sel info` time: "S+ 00:23:10" (since init), "MM/DD/YY HH:MM:SS UTC", "Not Available".
fn sel_time(v: &str) -> IpmiTime {
    if v == "Not Available" {
        return IpmiTime::Unspecified;
    }
    if let Some(t) = v.strip_prefix("S+ ") {
        return IpmiTime::SinceInit(hms(t) as u32);
    }
    let (date, rest) = v.split_once(' ').expect("date time");
    let p: Vec<i64> = date.split('/').map(|x| x.parse().expect("num")).collect();
    let t = rest.trim_end_matches(" UTC");
    IpmiTime::Unix((unix(2000 + p[2], p[0], p[1], 0, 0, 0) + hms(t)) as u32)
}

#[test]
fn sel_info_matches_ipmitool() {
    for set in SETS {
        let s = parse_sel_info(&ok(response(set, "get_sel_info"))).expect("sel info");
        let k = |l| kv(set, "ipmitool_sel_info.txt", l);
        assert_eq!(s.entries.to_string(), k("Entries"));
        assert_eq!(format!("{} bytes", s.free_bytes), k("Free Space"));
        assert_eq!(s.last_add, sel_time(&k("Last Add Time")), "{set}");
        assert_eq!(s.last_erase, sel_time(&k("Last Del Time")), "{set}");
        assert_eq!(s.overflow, k("Overflow") == "true");
        assert!(k("Version").starts_with("1.5") && s.version == 0x51);
        let cmds = k("Supported Cmds");
        assert_eq!(s.supports_delete, cmds.contains("'Delete'"));
        assert_eq!(s.supports_reserve, cmds.contains("'Reserve'"));
        assert_eq!(s.supports_partial_add, cmds.contains("'Partial Add'"));
        assert_eq!(s.supports_alloc_info, cmds.contains("'Alloc Info'"));
    }
    // the SEL clock was set after start: later records carry real time
    assert!(matches!(
        parse_sel_info(&ok(response("normal", "get_sel_info")))
            .expect("sel")
            .last_add,
        IpmiTime::SinceInit(_)
    ));
    assert!(matches!(
        parse_sel_info(&ok(response("alarm", "get_sel_info")))
            .expect("sel")
            .last_add,
        IpmiTime::Unix(_)
    ));
}

#[test]
fn sdr_repository_info_and_reservation() {
    let mut keys = Vec::new();
    for set in SETS {
        let info =
            parse_repository_info(&ok(response(set, "get_sdr_repository_info"))).expect("info");
        assert_eq!(
            usize::from(info.record_count),
            hex_lines(set, "sdr_records.hex").len()
        );
        assert_eq!(
            (info.version, info.free_space, info.overflow),
            (0x51, 0xfffe, false)
        );
        assert!(info.supports_reserve && !info.supports_delete);
        assert!(matches!(info.most_recent_addition, IpmiTime::SinceInit(_)));
        assert_eq!(info.most_recent_erase, IpmiTime::Unspecified);
        keys.push(info.cache_key());
        assert_ne!(
            parse_reservation(&ok(response(set, "reserve_sdr_repository"))).expect("resv"),
            0
        );
    }
    // sensor values changed, the SDRs did not: the cache key is stable
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "{keys:?}");
}

#[test]
fn dcmi_is_not_implemented_by_ipmi_sim() {
    assert_eq!(response("normal", "dcmi_get_power_reading"), Err(0xc1));
}

#[test]
fn inventory_from_real_responses() {
    let (fru, _) = parse_fru(&fru_image("normal")).expect("fru");
    let dev = parse_device_id(&ok(response("normal", "get_device_id"))).expect("dev");
    let guid = parse_system_guid(&ok(response("normal", "get_system_guid"))).expect("guid");
    let inv = inventory(Some(&fru), Some(&dev), Some(&guid));
    assert_eq!(inv.manufacturer.as_deref(), Some("Example Corp"));
    assert_eq!(inv.model.as_deref(), Some("Test Server 1U"));
    assert_eq!(inv.serial.as_deref(), Some("SRV-sdr"));
    assert_eq!(inv.bmc_firmware.as_deref(), Some("2.10"));
    assert_eq!(
        inv.uuid.as_deref(),
        Some("eeb42082-1636-3dcf-58d7-f73a118d4a63")
    );
    assert_eq!(inv.bios_version, None);
}
