//! Following a BMC's System Event Log: each poll reads Get SEL Info and, only when records were
//! added (or the SEL was cleared or wrapped), walks the new records with Reserve SEL + Get SEL
//! Entry from the [`SelCursor`] on, at most [`LogPolicy::max_per_poll`] per poll (the rest wait
//! for the next poll). A record of the wrong length is skipped with a warning; the walk follows
//! its next ID. Records are turned into [`LogEntry`]s in `ipmitool sel elist`'s words, naming a
//! sensor from the SDRs as ipmitool does ("Temperature CPU Temp"), else by number ("#0x42").

use serde::{Deserialize, Serialize};

use super::decode::sdr::SdrRecord;
use super::session::Session;
use super::wire::sel::{self, GetSelEntry, Reservation, SelEntry, SelInfo, SelRecord, Severity};
use crate::hal::HalError;

use crate::model::{LogEntry, LogFollow, LogPolicy, LogSeverity, Logs, now_ms};

/// The SEL's name in entries, cursors and `log-cleared` events.
pub const SEL: &str = "sel";

/// Where the reading of one SEL stands: what Get SEL Info said when the last record was read.
/// Persisted across restarts (see `hal::cursors`), so a restart reports no record twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelCursor {
    /// The last record read; `None`: the SEL was empty.
    pub last_id: Option<u16>,
    pub last_add: u32,
    pub last_erase: u32,
    pub entries: u16,
    /// False while records remain beyond the per-poll bound: the next poll reads on.
    pub complete: bool,
}

/// One BMC's SEL reading state, kept by the backend between polls.
#[derive(Debug, Default)]
pub struct SelFollow {
    pub cursor: Option<SelCursor>,
    pub follow: LogFollow,
}

/// The result of one walk.
struct Walk {
    records: Vec<SelRecord>,
    last_id: Option<u16>,
    complete: bool,
}

fn protocol(bmc: &str, detail: String) -> HalError {
    HalError::Protocol {
        bmc: bmc.into(),
        detail,
    }
}

/// Reads what is new in the SEL; `sdrs` name the sensors.
pub(super) async fn read(
    s: &mut Session,
    f: &mut SelFollow,
    bmc: &str,
    policy: &LogPolicy,
    sdrs: &[SdrRecord],
) -> Result<Logs, HalError> {
    let (netfn, cmd, data) = sel::info::request();
    let info = s.command(netfn, cmd, &data).await?;
    let info = SelInfo::decode(&info).map_err(|e| protocol(bmc, e.to_string()))?;
    let first = f.cursor.is_none();
    let (walk, cleared) = match f.cursor {
        None if info.entries == 0 => (None, false),
        None if usize::from(info.entries) > policy.max_per_poll => {
            // A long log on first read: one record (the newest) marks where to start; the rest
            // is counted, not read.
            (Some(walk_last(s, bmc, &info).await?), false)
        }
        None => (Some(walk(s, bmc, &info, sel::FIRST, policy).await?), false),
        // Erased since (a log that merely shrank may have lost single records: the record under
        // the cursor tells below).
        Some(c) if info.last_erase != c.last_erase => {
            (Some(walk(s, bmc, &info, sel::FIRST, policy).await?), true)
        }
        Some(c) if c.complete && info.last_add == c.last_add && info.entries == c.entries => {
            (None, false)
        }
        Some(SelCursor { last_id: None, .. }) => {
            (Some(walk(s, bmc, &info, sel::FIRST, policy).await?), false)
        }
        Some(SelCursor {
            last_id: Some(id), ..
        }) => match next_after(s, bmc, &info, id).await? {
            // The record under the cursor is gone: the SEL was cleared or wrapped.
            None => (Some(walk(s, bmc, &info, sel::FIRST, policy).await?), true),
            Some(sel::LAST) => (
                Some(Walk {
                    records: Vec::new(),
                    last_id: Some(id),
                    complete: true,
                }),
                false,
            ),
            Some(next) => (Some(walk(s, bmc, &info, next, policy).await?), false),
        },
    };
    let mut logs = match walk {
        Some(w) => {
            f.cursor = Some(SelCursor {
                last_id: w
                    .last_id
                    .or(f.cursor.and_then(|c| c.last_id).filter(|_| !cleared)),
                last_add: info.last_add,
                last_erase: info.last_erase,
                entries: info.entries,
                complete: w.complete,
            });
            let entries = w.records.iter().map(|r| entry(r, sdrs)).collect();
            let cleared = if cleared {
                vec![SEL.to_string()]
            } else {
                Vec::new()
            };
            f.follow.absorb(policy, entries, first, cleared, now_ms())
        }
        None => {
            f.cursor = Some(SelCursor {
                last_id: f.cursor.and_then(|c| c.last_id),
                last_add: info.last_add,
                last_erase: info.last_erase,
                entries: info.entries,
                complete: true,
            });
            f.follow.unchanged()
        }
    };
    logs.total = u64::from(info.entries);
    logs.sel_used_ratio = info.used_ratio();
    logs.overflow = info.overflow;
    Ok(logs)
}

async fn reserve(s: &mut Session, info: &SelInfo) -> Reservation {
    if !info.supports_reserve {
        return Reservation(0);
    }
    let (netfn, cmd, data) = sel::reserve::request();
    match s.command(netfn, cmd, &data).await {
        Ok(d) => Reservation::decode(&d).unwrap_or(Reservation(0)),
        Err(_) => Reservation(0),
    }
}

/// The ID after record `id`: `None` when that record is gone.
async fn next_after(
    s: &mut Session,
    bmc: &str,
    info: &SelInfo,
    id: u16,
) -> Result<Option<u16>, HalError> {
    let reservation = reserve(s, info).await;
    let (netfn, cmd, data) = GetSelEntry {
        reservation,
        record_id: id,
    }
    .request();
    let r = s.request(netfn, cmd, &data).await?;
    match r.cc {
        0 => match SelEntry::decode(&r.data) {
            // A cleared SEL may reuse the ID for another record: the erase time told us already.
            Ok(e) => Ok(Some(e.next)),
            Err((Some(next), _)) => Ok(Some(next)),
            Err((None, e)) => Err(protocol(bmc, e.to_string())),
        },
        sel::entry::CC_NOT_PRESENT => Ok(None),
        cc => Err(protocol(
            bmc,
            format!("Get SEL Entry {id:#06x}: completion code {cc:#04x}"),
        )),
    }
}

/// Only the newest record (record ID 0xFFFF).
async fn walk_last(s: &mut Session, bmc: &str, info: &SelInfo) -> Result<Walk, HalError> {
    let reservation = reserve(s, info).await;
    let (netfn, cmd, data) = GetSelEntry {
        reservation,
        record_id: sel::LAST,
    }
    .request();
    let d = s.command(netfn, cmd, &data).await?;
    let e = SelEntry::decode(&d).map_err(|(_, e)| protocol(bmc, e.to_string()))?;
    Ok(Walk {
        last_id: Some(e.record_id()),
        records: vec![SelRecord::decode(&e.record)],
        complete: true,
    })
}

/// Reads records from `start` along their next IDs, at most `max_per_poll`.
async fn walk(
    s: &mut Session,
    bmc: &str,
    info: &SelInfo,
    start: u16,
    policy: &LogPolicy,
) -> Result<Walk, HalError> {
    let mut reservation = reserve(s, info).await;
    let mut out = Walk {
        records: Vec::new(),
        last_id: None,
        complete: false,
    };
    let mut id = start;
    let mut retried = false;
    for _ in 0..policy.max_per_poll {
        let (netfn, cmd, data) = GetSelEntry {
            reservation,
            record_id: id,
        }
        .request();
        let r = s.request(netfn, cmd, &data).await?;
        match r.cc {
            0 => {}
            sel::entry::CC_RESERVATION_CANCELLED if !retried => {
                retried = true;
                reservation = reserve(s, info).await;
                continue;
            }
            // Nothing at the start: an empty SEL.
            sel::entry::CC_NOT_PRESENT if out.records.is_empty() && start == sel::FIRST => {
                out.complete = true;
                return Ok(out);
            }
            cc => {
                tracing::warn!(bmc = %bmc, record = id, cc, "SEL walk stopped: Get SEL Entry failed");
                return Ok(out);
            }
        }
        retried = false;
        let next = match SelEntry::decode(&r.data) {
            Ok(e) => {
                let rec = SelRecord::decode(&e.record);
                out.last_id = Some(rec.id());
                out.records.push(rec);
                e.next
            }
            Err((Some(next), e)) => {
                tracing::warn!(bmc = %bmc, record = id, error = %e, "SEL record skipped");
                if id != sel::FIRST {
                    out.last_id = Some(id);
                }
                next
            }
            Err((None, e)) => {
                tracing::warn!(bmc = %bmc, record = id, error = %e, "SEL walk stopped");
                return Ok(out);
            }
        };
        if next == sel::LAST {
            out.complete = true;
            return Ok(out);
        }
        if next == id {
            tracing::warn!(bmc = %bmc, record = id, "SEL record names itself as next: walk stopped");
            out.complete = true;
            return Ok(out);
        }
        id = next;
    }
    Ok(out)
}

/// A SEL record as a log entry, in ipmitool's words.
fn entry(r: &SelRecord, sdrs: &[SdrRecord]) -> LogEntry {
    let t = r.text();
    let mut sensor = t.sensor;
    if let SelRecord::System {
        generator,
        sensor_number,
        ..
    } = r
        && let Some(sdr) = sdrs.iter().find(|x| {
            x.sensor_number == *sensor_number && u16::from(x.owner_id) == (*generator & 0xff)
        })
    {
        sensor = format!("{} {}", t.sensor_type, sdr.name);
    }
    let created_ms = r
        .timestamp()
        .filter(|ts| *ts > 0x2000_0000 && *ts != u32::MAX)
        .map(|ts| i64::from(ts) * 1000);
    LogEntry {
        log: SEL.into(),
        id: format!("{:#06x}", r.id()),
        created_ms,
        severity: match t.severity {
            Severity::Info => LogSeverity::Ok,
            Severity::Warning => LogSeverity::Warning,
            Severity::Critical => LogSeverity::Critical,
        },
        sensor_type: (!t.sensor_type.is_empty()).then(|| t.sensor_type.to_string()),
        sensor: Some(sensor),
        message: if t.event.is_empty() {
            t.detail.clone()
        } else {
            t.event
        },
        detail: Some(t.detail),
        message_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_in_ipmitool_words() {
        // ipmi_sim's record 4 (tests/fixtures/sel in ipmi-wire).
        let rec = SelRecord::decode(&[
            0x04, 0x00, 0x02, 0x73, 0x55, 0x11, 0x6b, 0x20, 0x00, 0x04, 0x01, 0x42, 0x01, 0x59,
            0x5c, 0x5a,
        ]);
        let e = entry(&rec, &[]);
        assert_eq!(e.id, "0x0004");
        assert_eq!(e.sensor.as_deref(), Some("Temperature #0x42"));
        assert_eq!(e.sensor_type.as_deref(), Some("Temperature"));
        assert_eq!(e.message, "Upper Critical going high");
        assert_eq!(e.detail.as_deref(), Some("Asserted"));
        assert_eq!(e.severity, LogSeverity::Critical);
        assert_eq!(e.created_ms, Some(0x6b11_5573 * 1000));
        // Boot-relative time: no wall-clock time.
        let pre = SelRecord::decode(&[
            0x01, 0x00, 0x02, 0xf3, 0x51, 0x00, 0x00, 0x20, 0x00, 0x04, 0x08, 0x08, 0x6f, 0x00,
            0xff, 0xff,
        ]);
        assert_eq!(entry(&pre, &[]).created_ms, None);
    }
}
