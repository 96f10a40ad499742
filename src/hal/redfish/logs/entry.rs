//! One Redfish `LogEntry` document as a [`LogEntry`] (its severity, message, sensor and the time
//! it was created, with or without a UTC offset), and a log's name from its entries' path.

use serde_json::Value;

use crate::model::{LogEntry, LogSeverity};

/// The log's name in entries, cursors and events: the service path below `/redfish/v1/`.
pub fn log_name(entries: &str) -> String {
    entries
        .trim_start_matches("/redfish/v1/")
        .trim_end_matches("/Entries")
        .to_string()
}

/// A LogEntry document as a log entry; `None` without `Id` (nor an `@odata.id` to name it).
pub fn entry(m: &Value, log: &str) -> Option<LogEntry> {
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let id = s("Id").or_else(|| {
        s("@odata.id").and_then(|p| {
            p.trim_end_matches('/')
                .rsplit('/')
                .next()
                .map(str::to_string)
        })
    })?;
    let severity = match s("Severity").as_deref() {
        Some("Critical") => LogSeverity::Critical,
        Some("Warning") => LogSeverity::Warning,
        _ => LogSeverity::Ok,
    };
    let created_ms = s("Created").as_deref().and_then(created_ms);
    Some(LogEntry {
        log: log.to_string(),
        id,
        created_ms,
        severity,
        sensor_type: s("SensorType"),
        sensor: m
            .get("SensorNumber")
            .and_then(Value::as_u64)
            .map(|n| format!("#{n:#04x}")),
        message: s("Message").unwrap_or_default(),
        detail: s("EntryType"),
        message_id: s("MessageId"),
    })
}

/// `Created` (RFC 3339: `2012-03-07T14:44:00Z`, `2012-03-07T14:44:00-05:00`, with or without
/// fractions of a second) as Unix ms; `None` for anything else. Without an offset it is read as UTC.
pub fn created_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    let (local, offset_min) = match b.len().checked_sub(6).map(|i| (i, b[i], b.get(i + 3))) {
        _ if t.ends_with(['Z', 'z']) => (&t[..t.len() - 1], 0i64),
        Some((i, sign @ (b'+' | b'-'), Some(b':'))) if t.is_char_boundary(i) => {
            let hh: i64 = t.get(i + 1..i + 3)?.parse().ok()?;
            let mm: i64 = t.get(i + 4..)?.parse().ok()?;
            if hh > 23 || mm > 59 {
                return None;
            }
            let m = hh * 60 + mm;
            (&t[..i], if sign == b'-' { -m } else { m })
        }
        _ => (t, 0),
    };
    let at = humantime::parse_rfc3339_weak(local).ok()?;
    let ms = i64::try_from(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()?;
    Some(ms - offset_min * 60_000)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const MOCKUP: &str = include_str!(
        "../../../../tests/fixtures/redfish-mockups/public-rackmount1/Systems/437XR1138R2/LogServices/Log1/Entries/index.json"
    );

    /// The entries of the DMTF rackmount mockup's `Log1`.
    pub fn mockup() -> Vec<LogEntry> {
        let v: Value = serde_json::from_str(MOCKUP).expect("json");
        v["Members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(|m| entry(m, "Systems/437XR1138R2/LogServices/Log1"))
            .collect()
    }

    #[test]
    fn mockup_entries_read_with_their_severity_and_message() {
        let e = mockup();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].id, "1");
        assert_eq!(e[0].severity, LogSeverity::Critical);
        assert_eq!(e[0].message, "Temperature threshold exceeded");
        assert_eq!(e[0].sensor_type.as_deref(), Some("Temperature"));
        assert_eq!(e[0].message_id.as_deref(), Some("0x592A28"));
        assert_eq!(e[0].detail.as_deref(), Some("SEL"));
        assert_eq!(e[0].created_ms, Some(1_331_131_440_000)); // 2012-03-07T14:44:00Z
        assert_eq!(
            log_name("/redfish/v1/Managers/BMC/LogServices/Log/Entries"),
            "Managers/BMC/LogServices/Log"
        );
    }

    #[test]
    fn hostile_entries_are_skipped_or_cut() {
        let no_id = serde_json::json!({"Message": "who am I", "Severity": "Critical"});
        assert_eq!(entry(&no_id, "l"), None);
        let huge =
            serde_json::json!({"Id": "9", "Message": "x".repeat(1 << 20), "Created": "yesterday"});
        let mut e = entry(&huge, "l").expect("entry");
        assert_eq!(e.created_ms, None);
        assert!(e.bound());
        assert_eq!(e.message.len(), crate::model::MAX_LOG_MESSAGE_CHARS);
        let link_only =
            serde_json::json!({"@odata.id": "/redfish/v1/Managers/1/LogServices/Sel/Entries/77"});
        assert_eq!(entry(&link_only, "l").map(|e| e.id), Some("77".into()));
    }

    #[test]
    fn created_with_and_without_an_offset() {
        let utc = Some(1_331_131_440_000); // 2012-03-07T14:44:00Z
        assert_eq!(created_ms("2012-03-07T14:44:00Z"), utc);
        assert_eq!(created_ms("2012-03-07T09:44:00-05:00"), utc);
        assert_eq!(created_ms("2012-03-07T20:14:00+05:30"), utc);
        assert_eq!(created_ms("2012-03-07T14:44:00+00:00"), utc);
        assert_eq!(created_ms("2012-03-07T14:44:00"), utc, "no offset: UTC");
        assert_eq!(
            created_ms("2012-03-07T14:44:00.250Z"),
            Some(1_331_131_440_250)
        );
        assert_eq!(
            created_ms("2012-03-07T09:44:00.5-05:00"),
            Some(1_331_131_440_500)
        );
        for bad in [
            "yesterday",
            "",
            "2012-03-07T14:44:00+25:00",
            "2012-03-07T14:44:00-05:7x",
            "éééééé",
            "+05:00",
        ] {
            assert_eq!(created_ms(bad), None, "{bad}");
        }
    }
}
