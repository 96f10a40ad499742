//! `Sensors` collection decoding against the DMTF public-rackmount1 mockup: every member read with
//! the kind its `ReadingType`/`ReadingUnits` say and its own reading; the thermal subsystem's views
//! of the same sensors counted once; hostile documents decode to nothing, never panic.

use serde_json::{Value, json};

use super::*;
use crate::model::Health;

const MOCKUP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/redfish-mockups/public-rackmount1"
);

fn fixture(odata_id: &str) -> Value {
    let rel = odata_id.trim_start_matches("/redfish/v1").trim_matches('/');
    let file = format!("{MOCKUP}/{rel}/index.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn members(collection: &str) -> Vec<Value> {
    fixture(collection)["Members"]
        .as_array()
        .expect("Members")
        .iter()
        .map(|m| fixture(m["@odata.id"].as_str().expect("@odata.id")))
        .collect()
}

/// The kind and unit the mockup's own `ReadingType`/`ReadingUnits` name.
fn expected(v: &Value) -> (SensorKind, Unit) {
    let fanlike = v["Name"]
        .as_str()
        .is_some_and(|n| n.to_ascii_lowercase().contains("fan"));
    match (v["ReadingType"].as_str(), v["ReadingUnits"].as_str()) {
        (_, Some("Cel")) | (Some("Temperature"), _) => (SensorKind::Temperature, Unit::Celsius),
        (Some("Voltage"), _) => (SensorKind::Voltage, Unit::Volts),
        (Some("Current"), _) => (SensorKind::Current, Unit::Amperes),
        (Some("Power"), _) => (SensorKind::Power, Unit::Watts),
        (Some("EnergykWh"), _) => (SensorKind::Energy, Unit::Kwh),
        (Some("Frequency"), _) => (SensorKind::Frequency, Unit::Hertz),
        (Some("Percent"), _) if fanlike => (SensorKind::Fan, Unit::Percent),
        (Some("Percent"), _) => (SensorKind::Percent, Unit::Percent),
        other => panic!("the mockup has a sensor type this test does not know: {other:?}"),
    }
}

#[test]
fn every_member_of_the_collection_is_read_as_the_mockup_says() {
    let all = members("/redfish/v1/Chassis/1U/Sensors");
    assert_eq!(
        Some(all.len() as u64),
        fixture("/redfish/v1/Chassis/1U/Sensors")["Members@odata.count"].as_u64()
    );
    let got = sensors_with_views(&all, None, &[], &mut Budget::new(1000));
    assert_eq!(got.len(), all.len());
    for (s, want) in got.iter().zip(&all) {
        assert_eq!(s.id, want["@odata.id"].as_str().expect("id"));
        assert_eq!((s.kind, s.unit), expected(want), "{}", s.id);
        let absent = want["Status"]["State"] == "Absent";
        assert_eq!(
            s.reading,
            if absent {
                None
            } else {
                want["Reading"].as_f64()
            },
            "{}",
            s.id
        );
        assert_eq!(
            s.upper_critical,
            want["Thresholds"]["UpperCritical"]["Reading"].as_f64()
        );
    }
    let kinds: HashSet<SensorKind> = got.iter().map(|s| s.kind).collect();
    assert!(!kinds.contains(&SensorKind::Other), "{kinds:?}");
}

#[test]
fn energy_in_any_unit_becomes_kwh() {
    let j = sensor(&json!({"ReadingType": "EnergyJoules", "Reading": 7.2e6}));
    assert_eq!(
        (j.kind, j.unit, j.reading),
        (SensorKind::Energy, Unit::Kwh, Some(2.0))
    );
    let wh = sensor(&json!({"ReadingUnits": "W.h", "Reading": 1500.0}));
    assert_eq!((wh.kind, wh.reading), (SensorKind::Energy, Some(1.5)));
    let hum = sensor(&json!({"ReadingType": "Humidity", "ReadingUnits": "%", "Reading": 40}));
    assert_eq!((hum.kind, hum.unit), (SensorKind::Percent, Unit::Percent));
    let fan = sensor(&json!({"ReadingUnits": "%", "PhysicalContext": "Fan", "Reading": 40}));
    assert_eq!(fan.kind, SensorKind::Fan);
}

#[test]
fn a_view_of_a_member_counts_once() {
    let all = members("/redfish/v1/Chassis/1U/Sensors");
    let metrics = fixture("/redfish/v1/Chassis/1U/ThermalSubsystem/ThermalMetrics");
    let fans = members("/redfish/v1/Chassis/1U/ThermalSubsystem/Fans");
    // Every view of the mockup names a member as its source.
    for f in &fans {
        assert!(sensor_source(f).is_some(), "{f}");
    }
    let mut budget = Budget::new(1000);
    let got = sensors_with_views(&all, Some(&metrics), &fans, &mut budget);
    assert_eq!(got.len(), all.len(), "nothing counted twice");
    assert_eq!(budget.dropped, 0);

    // A view whose source is not a member is kept; so is one without a source.
    let mut fan = fans[0].clone();
    fan["SpeedPercent"]["DataSourceUri"] = json!("/redfish/v1/Chassis/1U/Sensors/Elsewhere");
    let mut bare = fans[1].clone();
    bare["SpeedPercent"]
        .as_object_mut()
        .expect("SpeedPercent")
        .remove("DataSourceUri");
    let got = sensors_with_views(&all, Some(&metrics), &[fan, bare], &mut budget);
    assert_eq!(got.len(), all.len() + 2);
    let extra = &got[all.len()];
    assert_eq!((extra.kind, extra.health), (SensorKind::Fan, Health::Ok));
}

#[test]
fn views_beyond_the_budget_are_counted_not_built() {
    let metrics = json!({"TemperatureReadingsCelsius": [
        {"Reading": 20, "DataSourceUri": "/a"}, {"Reading": 21, "DataSourceUri": "/b"},
        {"Reading": 22, "DataSourceUri": "/c"}]});
    let fans = vec![json!({"Name": "f", "SpeedPercent": {"Reading": 10}})];
    let mut budget = Budget::new(2);
    let got = sensors_with_views(&[], Some(&metrics), &fans, &mut budget);
    assert_eq!(got.len(), 2);
    assert_eq!(budget.dropped, 2);
}

#[test]
fn hostile_documents_decode_to_nothing() {
    for v in [
        Value::Null,
        json!([1, 2]),
        json!({"Reading": "hot", "ReadingType": 7, "Thresholds": [1], "Status": 3}),
        json!({"DataSourceUri": 5, "SpeedPercent": "x"}),
    ] {
        let s = sensor(&v);
        assert_eq!((s.kind, s.reading), (SensorKind::Other, None));
        assert_eq!(sensor_source(&v), None);
        assert_eq!(total_power_sensor(&v), None);
        let _ = sensors_with_views(
            std::slice::from_ref(&v),
            Some(&v),
            std::slice::from_ref(&v),
            &mut Budget::new(4),
        );
        assert_eq!(expand_query(&v), None);
    }
}

#[test]
fn expand_is_asked_only_where_the_root_offers_it() {
    assert_eq!(
        expand_query(&fixture("/redfish/v1")),
        Some("$expand=.($levels=1)")
    );
    let only_all = json!({"ProtocolFeaturesSupported": {"ExpandQuery": {"ExpandAll": true}}});
    assert_eq!(expand_query(&only_all), Some("$expand=*"));
    let none = json!({"ProtocolFeaturesSupported": {"ExpandQuery": {"Links": true}}});
    assert_eq!(expand_query(&none), None);
}
