//! Decoding tests against the DMTF public-rackmount1 mockup (tests/fixtures/redfish-mockups).

use super::*;

fn fixture(path: &str) -> Value {
    let file = format!(
        "{}/tests/fixtures/redfish-mockups/public-rackmount1/{path}/index.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn system_gives_power_inventory_led() {
    let v = fixture("Systems/437XR1138R2");
    let System {
        power,
        inventory: inv,
        led,
    } = system(&v);
    assert_eq!(power, Some(PowerState::On));
    assert_eq!(
        inv.uuid.as_deref(),
        Some("38947555-7742-3448-3784-823347823834")
    );
    assert_eq!(inv.manufacturer.as_deref(), Some("Contoso"));
    assert_eq!(inv.serial.as_deref(), Some("437XR1138R2"));
    assert_eq!(inv.bios_version.as_deref(), Some("P79 v1.45 (12/06/2017)"));
    assert!(led.is_some());
    assert_eq!(
        reset_target(&v).as_deref(),
        Some("/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset")
    );
    assert_eq!(
        first_link(&v["Links"], "Chassis").as_deref(),
        Some("/redfish/v1/Chassis/1U")
    );
}

#[test]
fn legacy_thermal_and_power() {
    let t = legacy_thermal(&fixture("Chassis/1U/Thermal"), &mut Budget::new(1000));
    let find = |n: &str| {
        t.iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n} missing"))
    };
    assert_eq!(find("CPU1 Temp").reading, Some(41.0));
    assert_eq!(find("CPU1 Temp").upper_critical, Some(45.0));
    assert_eq!(
        find("CPU2 Temp").reading,
        None,
        "disabled sensor has no reading"
    );
    assert_eq!(find("Chassis Intake Temp").reading, Some(25.0));
    assert_eq!(find("BaseBoard System Fan").reading, Some(2100.0));
    assert_eq!(find("BaseBoard System Fan").unit, Unit::Rpm);
    assert_eq!(find("BaseBoard System Fan Backup").reading, Some(2050.0));

    let (psus, metrics, volts) = legacy_power(
        &fixture("Chassis/1U/Power"),
        &mut Budget::new(64),
        &mut Budget::new(1000),
    );
    assert_eq!(metrics.consumed_watts, Some(344.0));
    assert_eq!(psus.len(), 1);
    assert_eq!(psus[0].health, Health::Warning);
    assert_eq!(psus[0].output_watts, Some(325.0));
    assert_eq!(
        volts.iter().map(|v| v.reading).collect::<Vec<_>>(),
        vec![Some(12.0), Some(5.0)]
    );
}

#[test]
fn subsystem_resources() {
    let fan = subsystem_fan(&fixture("Chassis/1U/ThermalSubsystem/Fans/Bay1"));
    assert_eq!(
        (fan.kind, fan.unit, fan.reading),
        (SensorKind::Fan, Unit::Rpm, Some(2200.0))
    );
    let temps = thermal_metrics(
        &fixture("Chassis/1U/ThermalSubsystem/ThermalMetrics"),
        &mut Budget::new(1000),
    );
    assert_eq!(temps.len(), 2);
    assert_eq!(temps[0].reading, Some(24.8));
    let psu_doc = fixture("Chassis/1U/PowerSubsystem/PowerSupplies/Bay1");
    let metrics = fixture("Chassis/1U/PowerSubsystem/PowerSupplies/Bay1/Metrics");
    let psu = subsystem_psu(&psu_doc, Some(&metrics));
    assert_eq!(psu.health, Health::Warning);
    assert!(psu.input_watts.is_some());
    assert_eq!(
        environment_power(&fixture("Chassis/1U/EnvironmentMetrics")),
        Some(374.0)
    );
}

#[test]
fn sensor_resources_infer_kind() {
    let cpu = sensor(&fixture("Chassis/1U/Sensors/CPU1Temp"));
    assert_eq!(
        (cpu.kind, cpu.reading, cpu.health),
        (SensorKind::Temperature, Some(44.0), Health::Warning)
    );
    let fan = sensor(&fixture("Chassis/1U/Sensors/FanBay1"));
    assert_eq!((fan.kind, fan.unit), (SensorKind::Fan, Unit::Percent));
    let v = sensor(&fixture("Chassis/1U/Sensors/PS1Out12V"));
    assert_eq!((v.kind, v.reading), (SensorKind::Voltage, Some(12.08)));
    let energy = sensor(&fixture("Chassis/1U/Sensors/PS1Energy"));
    assert_eq!((energy.kind, energy.unit), (SensorKind::Energy, Unit::Kwh));
    assert_eq!(
        total_power_sensor(&fixture("Chassis/1U/Sensors/TotalPower")),
        Some(374.0)
    );
    assert_eq!(
        total_power_sensor(&fixture("Chassis/1U/Sensors/CPU1Power")),
        None
    );
}

#[test]
fn garbage_never_panics() {
    for v in [
        Value::Null,
        serde_json::json!([1, 2]),
        serde_json::json!({"Temperatures": 5, "Fans": [null, 3]}),
    ] {
        let _ = legacy_thermal(&v, &mut Budget::new(10));
        let _ = legacy_power(&v, &mut Budget::new(10), &mut Budget::new(10));
        let _ = sensor(&v);
        let _ = system(&v);
        let _ = members(&v);
        let _ = subsystem_fan(&v);
    }
}

/// Two PSUs and two temperatures named alike (as Supermicro and HPE boards name them): each
/// keeps an id of its own, `@odata.id` where the member has one, else `MemberId`.
#[test]
fn parts_of_one_name_get_distinct_ids() {
    let power = serde_json::json!({
        "@odata.id": "/redfish/v1/Chassis/1/Power",
        "PowerSupplies": [
            {"@odata.id": "/redfish/v1/Chassis/1/Power#/PowerSupplies/0", "MemberId": "0",
             "Name": "Power Supply", "Status": {"State": "Enabled", "Health": "OK"}},
            {"@odata.id": "/redfish/v1/Chassis/1/Power#/PowerSupplies/1", "MemberId": "1",
             "Name": "Power Supply", "Status": {"State": "Enabled", "Health": "Critical"}}
        ]
    });
    let (psus, _, _) = legacy_power(&power, &mut Budget::new(64), &mut Budget::new(1000));
    let psus: Vec<(&str, &str, Health)> = psus
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str(), p.health))
        .collect();
    assert_eq!(
        psus,
        [
            (
                "/redfish/v1/Chassis/1/Power#/PowerSupplies/0",
                "Power Supply",
                Health::Ok
            ),
            (
                "/redfish/v1/Chassis/1/Power#/PowerSupplies/1",
                "Power Supply",
                Health::Critical
            ),
        ]
    );
    let thermal = serde_json::json!({
        "Temperatures": [
            {"MemberId": "4", "Name": "Temp", "ReadingCelsius": 30},
            {"MemberId": "5", "Name": "Temp", "ReadingCelsius": 31},
            {"Name": "Temp", "ReadingCelsius": 32}
        ]
    });
    let ids: Vec<String> = legacy_thermal(&thermal, &mut Budget::new(1000))
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["4", "5", "Temperatures/2"]);
}

/// A `Thermal` of 50,000 temperatures and a `Power` of 100 PSUs: only what the budgets admit is
/// built, the rest is counted.
#[test]
fn arrays_beyond_the_budget_are_counted_not_built() {
    let temps: Vec<Value> = (0..50_000)
        .map(|i| serde_json::json!({"MemberId": i.to_string(), "Name": "Temp", "ReadingCelsius": 30}))
        .collect();
    let mut sensors = Budget::new(1000);
    let kept = legacy_thermal(&serde_json::json!({ "Temperatures": temps }), &mut sensors);
    assert_eq!((kept.len(), sensors.dropped), (1000, 49_000));
    let psus: Vec<Value> = (0..100)
        .map(|i| serde_json::json!({"MemberId": i.to_string(), "Name": "PS"}))
        .collect();
    let volts = vec![serde_json::json!({"Name": "12V", "ReadingVolts": 12.0}); 3];
    let mut psu_budget = Budget::new(64);
    let (kept, _, volts) = legacy_power(
        &serde_json::json!({ "PowerSupplies": psus, "Voltages": volts }),
        &mut psu_budget,
        &mut sensors,
    );
    assert_eq!((kept.len(), psu_budget.dropped), (64, 36));
    assert!(volts.is_empty(), "the sensor budget is spent");
    assert_eq!(sensors.dropped, 49_003);
}
