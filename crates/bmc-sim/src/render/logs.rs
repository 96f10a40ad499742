//! The simulated BMC's SEL as a Redfish LogService (`/redfish/v1/Managers/1/LogServices/Log`):
//! its entries, oldest first, each in the words `ipmitool sel elist` uses (from `ipmi-wire`), and
//! the hostile variants of [`crate::state::sel::SimSel`] (any message size, no `Id`, bulk entries).
//! With [`crate::state::sel::SimSel::dell`] it is shaped like an iDRAC's: named `Sel`, entries
//! newest first (the `$top`/`$skip` pages are cut in `redfish.rs`).

use serde_json::{Value, json};

use crate::state::SimState;

pub(super) const SERVICES: &str = "/redfish/v1/Managers/1/LogServices";

/// The LogService resources, or `None` for another path.
pub(super) fn render(st: &SimState, path: &str) -> Option<Value> {
    use ipmi_wire::sel::{SelRecord, Severity};
    let link = |p: &str| json!({ "@odata.id": p });
    let name = if st.sel.dell { "Sel" } else { "Log" };
    let log = format!("{SERVICES}/{name}");
    let entries = format!("{log}/Entries");
    Some(match path {
        SERVICES => {
            json!({"@odata.id": SERVICES, "Name": "Log Services", "Members@odata.count": 1, "Members": [link(&log)]})
        }
        p if p == log => {
            json!({"@odata.id": log, "Id": name, "Name": "System Event Log", "Entries": link(&entries)})
        }
        p if p == entries => {
            let sel = &st.sel;
            let mut members: Vec<Value> =
                sel.records
                    .iter()
                    .map(|(id, r)| {
                        let t = SelRecord::decode(r).text();
                        let severity = match t.severity {
                            Severity::Info => "OK",
                            Severity::Warning => "Warning",
                            Severity::Critical => "Critical",
                        };
                        let message = sel.redfish_message.clone().unwrap_or_else(|| {
                            format!("{} | {} | {}", t.sensor, t.event, t.detail)
                        });
                        let mut m = json!({
                            "Id": id.to_string(), "EntryType": "SEL", "Severity": severity,
                            "Message": message, "SensorType": t.sensor_type,
                        });
                        if !sel.redfish_without_id {
                            m["@odata.id"] = json!(format!("{entries}/{id}"));
                        } else if let Some(o) = m.as_object_mut() {
                            o.remove("Id");
                        }
                        m
                    })
                    .collect();
            members.extend(
                (0..sel.redfish_bulk)
                    .map(|i| json!({"Id": format!("b{i}"), "Severity": "OK", "Message": "bulk"})),
            );
            if sel.dell {
                members.reverse();
            }
            json!({"@odata.id": entries, "Name": "Log Entries", "Members@odata.count": members.len(), "Members": members})
        }
        _ => return None,
    })
}
