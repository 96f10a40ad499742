//! IPMI command handlers of the simulated BMC (App, Chassis, Sensor/Event, Storage and DCMI), answered
//! from [`SimBmc`]'s live state. Session commands (Set Session Privilege Level, Close Session) are the
//! session layer's; privilege checks happen there too, from [`required_privilege`].

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::sdr::{self, Measure, SDR_VERSION};
use crate::state::SimBmc;
use ipmi_wire::message::Request;

/// IANA enterprise number reported by Get Device ID (4753, as ipmi_sim: ipmitool names it).
pub const MANUFACTURER_ID: u32 = 4753;
/// Product ID reported by Get Device ID ("BC").
pub const PRODUCT_ID: u16 = 0x4243;
/// Additional device support: chassis, event receiver, FRU, SEL, SDR repository, sensor device.
pub(crate) const DEVICE_SUPPORT: u8 = 0x9f;
/// At most this many record / FRU bytes per reply.
pub(crate) const MAX_CHUNK: usize = 32;

pub(crate) const CC_OK: u8 = 0x00;
pub(crate) const CC_INVALID_COMMAND: u8 = 0xc1;
pub(crate) const CC_RESERVATION: u8 = 0xc5;
pub(crate) const CC_DATA_LENGTH: u8 = 0xc7;
pub(crate) const CC_OUT_OF_RANGE: u8 = 0xc9;
pub(crate) const CC_CANNOT_RETURN: u8 = 0xca;
pub(crate) const CC_NOT_PRESENT: u8 = 0xcb;
pub(crate) const CC_INVALID_DATA: u8 = 0xcc;
pub(crate) const CC_INSUFFICIENT_PRIVILEGE: u8 = 0xd4;
/// Set/Get System Boot Options: parameter not supported.
const CC_PARAM_UNSUPPORTED: u8 = 0x80;

/// Completion code and response data.
pub(crate) type Reply = (u8, Vec<u8>);

fn cc(code: u8) -> Reply {
    (code, Vec::new())
}

fn ok(data: Vec<u8>) -> Reply {
    (CC_OK, data)
}

/// Per-BMC command state that is not part of [`crate::state::SimState`].
#[derive(Debug, Default)]
pub(crate) struct CmdState {
    sdr_reservation: u16,
    sel_reservation: u16,
    boot_set_in_progress: u8,
}

/// The privilege a command needs (1 callback, 2 user, 3 operator, 4 administrator).
pub(crate) fn required_privilege(net_fn: u8, cmd: u8) -> u8 {
    match (net_fn, cmd) {
        (0x06, 0x38 | 0x54 | 0x3c) => 1,
        (0x00, 0x02 | 0x04 | 0x08) => 3,
        _ => 2,
    }
}

/// Commands answered outside a session (IPMI 1.5 auth NONE, or RMCP+ with session ID 0).
pub(crate) fn allowed_without_session(net_fn: u8, cmd: u8) -> bool {
    matches!((net_fn, cmd), (0x06, 0x37 | 0x38 | 0x54))
}

/// The (UUID, serial) the BMC reports: `state.identity` when set, else its own.
pub(crate) fn identity(bmc: &SimBmc) -> (String, String) {
    let st = bmc.state();
    st.identity
        .clone()
        .unwrap_or_else(|| (bmc.uuid.clone(), bmc.serial.clone()))
}

/// The 16 GUID bytes of `uuid` in IPMI order (RFC 4122 bytes reversed); zeros where it is not hex.
pub(crate) fn guid_bytes(uuid: &str) -> [u8; 16] {
    let hex: Vec<u8> = uuid
        .chars()
        .filter_map(|c| c.to_digit(16))
        .map(|d| d as u8)
        .collect();
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *o = (pair[0] << 4) | pair[1];
    }
    out.reverse();
    out
}

/// Answers one request (no session commands, privilege already checked).
pub(crate) fn handle(bmc: &SimBmc, cs: &mut CmdState, req: &Request, now: Instant) -> Reply {
    let d = req.data.as_slice();
    let replay = bmc.state().ipmi_replay.clone();
    if let Some(answer) = replay.and_then(|c| c.lookup(req.net_fn, req.cmd, d)) {
        return answer;
    }
    match req.net_fn {
        0x00 => chassis(bmc, cs, req.cmd, d, now),
        0x04 => sensor(bmc, cs, req.cmd, d),
        0x06 => app(bmc, req.cmd, d),
        0x0a => storage(bmc, cs, req.cmd, d),
        0x2c => group_extension(bmc, req.cmd, d),
        _ => cc(CC_INVALID_COMMAND),
    }
}

fn app(bmc: &SimBmc, cmd: u8, d: &[u8]) -> Reply {
    match cmd {
        0x01 => {
            let m = MANUFACTURER_ID.to_le_bytes();
            let p = PRODUCT_ID.to_le_bytes();
            // Device ID 0x20, revision 1 (no device SDRs), firmware 2.10 (available), IPMI 2.0.
            let mut out = vec![0x20, 0x01, 0x02, 0x10, 0x02, DEVICE_SUPPORT];
            out.extend_from_slice(&m[..3]);
            out.extend_from_slice(&p);
            out.extend_from_slice(&[0; 4]);
            ok(out)
        }
        0x04 => ok(vec![0x55, 0x00]),
        0x08 | 0x37 => ok(guid_bytes(&identity(bmc).0).to_vec()),
        0x38 => auth_capabilities(d),
        0x54 => cipher_suites(d),
        _ => cc(CC_INVALID_COMMAND),
    }
}

/// Get Channel Authentication Capabilities: IPMI 2.0 only, non-null user names, no IPMI 1.5 auth.
fn auth_capabilities(d: &[u8]) -> Reply {
    let Some(&chan) = d.first() else {
        return cc(CC_DATA_LENGTH);
    };
    if !matches!(chan & 0x0f, 0x01 | 0x0e) {
        return cc(CC_INVALID_DATA);
    }
    let (types, ext) = if chan & 0x80 != 0 {
        (0x80, 0x02)
    } else {
        (0x00, 0x00)
    };
    ok(vec![0x01, types, 0x04, ext, 0, 0, 0, 0])
}

/// Get Channel Cipher Suites: suites 3 and 17, 16 bytes of records per list index.
fn cipher_suites(d: &[u8]) -> Reply {
    let [chan, payload, index, ..] = *d else {
        return cc(CC_DATA_LENGTH);
    };
    if !matches!(chan & 0x0f, 0x01 | 0x0e) || payload & 0x3f != 0 {
        return cc(CC_INVALID_DATA);
    }
    let records = [0xc0, 0x03, 0x01, 0x41, 0x81, 0xc0, 0x11, 0x03, 0x44, 0x81];
    let start = usize::from(index & 0x3f) * 16;
    let mut out = vec![0x01];
    out.extend(records.iter().skip(start).take(16));
    ok(out)
}

fn sensor(bmc: &SimBmc, cs: &mut CmdState, cmd: u8, d: &[u8]) -> Reply {
    let st = bmc.state();
    match cmd {
        0x20 => {
            let count = if d.first().is_some_and(|b| b & 1 != 0) {
                sdr::records(&st).len()
            } else {
                sdr::sensors(&st).len()
            };
            ok(vec![count.min(255) as u8, 0x01])
        }
        0x21 => get_sdr(&st, cs, d),
        0x22 => ok(reserve(&mut cs.sdr_reservation)),
        0x25 | 0x27 | 0x2d => {
            let Some(&number) = d.first() else {
                return cc(CC_DATA_LENGTH);
            };
            let Some(s) = sdr::sensors(&st).into_iter().find(|s| s.number == number) else {
                return cc(CC_NOT_PRESENT);
            };
            match cmd {
                0x2d => ok(sdr::reading(&s)),
                0x27 => ok(sdr::thresholds(&s)),
                _ if matches!(s.measure, Measure::Threshold { .. }) => ok(vec![0x00, 0x00]),
                _ => cc(CC_INVALID_COMMAND),
            }
        }
        _ => cc(CC_INVALID_COMMAND),
    }
}

fn reserve(slot: &mut u16) -> Vec<u8> {
    *slot = slot.wrapping_add(1).max(1);
    slot.to_le_bytes().to_vec()
}

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// Get SDR / Get Device SDR: reservation, record ID, offset, bytes to read (0xff = to the end).
fn get_sdr(st: &crate::state::SimState, cs: &CmdState, d: &[u8]) -> Reply {
    let (Some(resv), Some(id), Some(&offset), Some(&count)) =
        (u16_at(d, 0), u16_at(d, 2), d.get(4), d.get(5))
    else {
        return cc(CC_DATA_LENGTH);
    };
    if offset != 0 && resv != cs.sdr_reservation {
        return cc(CC_RESERVATION);
    }
    let records = sdr::records(st);
    let index = match id {
        0x0000 => 0,
        0xffff => records.len().saturating_sub(1),
        id => usize::from(id) - 1,
    };
    let Some(rec) = records.get(index) else {
        return cc(CC_NOT_PRESENT);
    };
    let Some(rest) = rec.get(usize::from(offset)..) else {
        return cc(CC_OUT_OF_RANGE);
    };
    let want = if count == 0xff {
        rest.len()
    } else {
        usize::from(count)
    };
    if want > MAX_CHUNK {
        return cc(CC_CANNOT_RETURN);
    }
    let next: u16 = if index + 1 < records.len() {
        index as u16 + 2
    } else {
        0xffff
    };
    let mut out = next.to_le_bytes().to_vec();
    out.extend(rest.iter().take(want));
    ok(out)
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

fn storage(bmc: &SimBmc, cs: &mut CmdState, cmd: u8, d: &[u8]) -> Reply {
    match cmd {
        0x10 | 0x11 => fru(bmc, cmd, d),
        0x20 => {
            let count = sdr::records(&bmc.state()).len() as u16;
            let mut out = vec![SDR_VERSION];
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&[0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x02]);
            ok(out)
        }
        0x22 => ok(reserve(&mut cs.sdr_reservation)),
        0x23 => get_sdr(&bmc.state(), cs, d),
        // SEL: version 1.5, the records the test or demo appended, Reserve supported.
        0x40 => {
            let st = bmc.state();
            let info = ipmi_wire::sel::SelInfo {
                version: SDR_VERSION,
                entries: st.sel.records.len() as u16,
                free_bytes: st.sel.free_bytes(),
                last_add: st.sel.last_add,
                last_erase: st.sel.last_erase,
                overflow: false,
                supports_reserve: true,
            };
            ok(info.encode())
        }
        0x42 => ok(reserve(&mut cs.sel_reservation)),
        0x43 => get_sel_entry(bmc, cs, d),
        0x48 => ok(unix_now().to_le_bytes().to_vec()),
        _ => cc(CC_INVALID_COMMAND),
    }
}

/// Get SEL Entry: a whole record and the next ID (the reservation is checked when not 0).
fn get_sel_entry(bmc: &SimBmc, cs: &CmdState, d: &[u8]) -> Reply {
    use ipmi_wire::sel::{GetSelEntry, LAST, SelEntry};
    let Ok(req) = GetSelEntry::decode_request(d) else {
        return cc(CC_DATA_LENGTH);
    };
    if req.reservation.0 != 0 && req.reservation.0 != cs.sel_reservation {
        return cc(CC_RESERVATION);
    }
    let st = bmc.state();
    let Some(i) = st.sel.position(req.record_id) else {
        return cc(CC_NOT_PRESENT);
    };
    let (id, record) = st.sel.records[i];
    let next = st.sel.records.get(i + 1).map_or(LAST, |(n, _)| *n);
    let mut out = SelEntry { next, record }.encode();
    if st.sel.wrong_length == Some(id) {
        out.push(0x00);
    }
    ok(out)
}

fn fru(bmc: &SimBmc, cmd: u8, d: &[u8]) -> Reply {
    match d.first() {
        None => return cc(CC_DATA_LENGTH),
        Some(0) => {}
        Some(_) => return cc(CC_NOT_PRESENT),
    }
    let image = sdr::fru_image(&identity(bmc).1);
    if cmd == 0x10 {
        let size = (image.len() as u16).to_le_bytes();
        return ok(vec![size[0], size[1], 0x00]);
    }
    let (Some(offset), Some(&count)) = (u16_at(d, 1), d.get(3)) else {
        return cc(CC_DATA_LENGTH);
    };
    let Some(rest) = image.get(usize::from(offset)..).filter(|r| !r.is_empty()) else {
        return cc(CC_OUT_OF_RANGE);
    };
    let n = usize::from(count).min(MAX_CHUNK).min(rest.len());
    let mut out = vec![n as u8];
    out.extend_from_slice(&rest[..n]);
    ok(out)
}

/// Group extension (netFn 0x2c): DCMI (0xdc) Get Power Reading; PICMG/VITA probes are refused.
fn group_extension(bmc: &SimBmc, cmd: u8, d: &[u8]) -> Reply {
    match (d.first(), cmd) {
        (Some(0xdc), 0x02) => {
            let watts = bmc.state().consumed_watts.round().clamp(0.0, 65535.0) as u16;
            let w = watts.to_le_bytes();
            let mut out = vec![0xdc, w[0], w[1], w[0], w[1], w[0], w[1], w[0], w[1]];
            out.extend_from_slice(&unix_now().to_le_bytes());
            out.extend_from_slice(&1000u32.to_le_bytes());
            out.push(0x40);
            ok(out)
        }
        _ => cc(CC_INVALID_COMMAND),
    }
}

mod chassis;
use chassis::chassis;
pub(crate) use chassis::expire_identify;

#[cfg(test)]
mod tests;
