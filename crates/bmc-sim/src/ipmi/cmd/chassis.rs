//! Chassis commands of the simulated BMC (netFn 0x00): Get Chassis Status, Chassis Control,
//! Chassis Identify (with its timer) and the boot flags of Get/Set System Boot Options. Part of
//! [`super`], which dispatches to [`chassis`].

use std::time::{Duration, Instant};

use super::{
    CC_DATA_LENGTH, CC_INVALID_COMMAND, CC_INVALID_DATA, CC_PARAM_UNSUPPORTED, CmdState, Reply, cc,
    ok,
};
use crate::state::{PowerState, SimBmc, SimState};

pub(super) fn chassis(bmc: &SimBmc, cs: &mut CmdState, cmd: u8, d: &[u8], now: Instant) -> Reply {
    let mut st = bmc.state();
    expire_identify(&mut st, now);
    match cmd {
        0x00 => ok(vec![0x00, 0x20, 0x20, 0x20, 0x20]),
        0x01 => {
            st.sel.polled();
            let on = matches!(st.power, PowerState::On | PowerState::PoweringOff);
            // Power restore policy "previous"; identify state supported, timed or indefinite.
            let identify = match (st.led_on, st.identify_until.is_some()) {
                (false, _) => 0x40,
                (true, true) => 0x50,
                (true, false) => 0x60,
            };
            // Byte 3 bit 2: drive fault.
            let drive_fault = if st.parts.drive_fault() { 0x04 } else { 0 };
            ok(vec![0x20 | u8::from(on), 0x00, identify | drive_fault])
        }
        0x02 => {
            let new = match d.first().map(|b| b & 0x0f) {
                Some(0x00 | 0x05) => PowerState::Off,
                Some(0x01..=0x03) => PowerState::On,
                Some(_) => return cc(CC_INVALID_DATA),
                None => return cc(CC_DATA_LENGTH),
            };
            st.power = new;
            bmc.counters
                .resets
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ok(Vec::new())
        }
        0x04 => {
            let interval = d.first().copied().unwrap_or(15);
            let force = d.get(1).is_some_and(|b| b & 1 != 0);
            st.led_on = force || interval != 0;
            st.identify_until =
                (!force && interval != 0).then(|| now + Duration::from_secs(u64::from(interval)));
            ok(Vec::new())
        }
        0x08 => set_boot_option(&mut st, cs, d),
        0x09 => {
            let Some(&param) = d.first() else {
                return cc(CC_DATA_LENGTH);
            };
            let param = param & 0x7f;
            let data = match param {
                0x00 => vec![cs.boot_set_in_progress],
                0x03 => vec![0x00],
                0x04 => vec![0x00, 0x00],
                0x05 => {
                    let device = match st.boot_once.as_deref() {
                        Some("Pxe") => 0x04,
                        Some("Hdd") => 0x08,
                        Some("BiosSetup") => 0x18,
                        _ => 0x00,
                    };
                    let flags = match (device, st.boot_persistent) {
                        (0, _) => 0x00,
                        (_, false) => 0x80,
                        (_, true) => 0xc0,
                    };
                    vec![flags, device, 0x00, 0x00, 0x00]
                }
                _ => return cc(CC_PARAM_UNSUPPORTED),
            };
            let mut out = vec![0x01, param];
            out.extend(data);
            ok(out)
        }
        _ => cc(CC_INVALID_COMMAND),
    }
}

/// Turns the identify LED off once its timed interval has passed.
pub(crate) fn expire_identify(st: &mut SimState, now: Instant) {
    if st.identify_until.is_some_and(|t| now >= t) {
        st.led_on = false;
        st.identify_until = None;
    }
}

fn set_boot_option(st: &mut SimState, cs: &mut CmdState, d: &[u8]) -> Reply {
    let Some((&param, data)) = d.split_first() else {
        return cc(CC_DATA_LENGTH);
    };
    match (param & 0x7f, data) {
        (0x00, [v, ..]) => cs.boot_set_in_progress = v & 0x03,
        (0x03, [_, ..]) | (0x04, [_, _, ..]) => {}
        (0x05, [flags, device, _, _, _, ..]) => {
            let target = match device & 0x3c {
                _ if flags & 0x80 == 0 => None,
                0x00 => None,
                0x04 => Some("Pxe"),
                0x08 => Some("Hdd"),
                0x18 => Some("BiosSetup"),
                _ => return cc(CC_INVALID_DATA),
            };
            st.boot_persistent = target.is_some() && flags & 0x40 != 0;
            st.boot_once = target.map(str::to_string);
        }
        (0x00 | 0x03 | 0x04 | 0x05, _) => return cc(CC_DATA_LENGTH),
        _ => return cc(CC_PARAM_UNSUPPORTED),
    }
    ok(Vec::new())
}
