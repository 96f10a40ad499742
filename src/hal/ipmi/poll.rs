//! What one IPMI poll reads, in an open session: chassis status, the sensors of the (cached) SDR
//! repository, PSU states, DCMI power or the power sensor, and once per session device id, GUID and
//! FRU; and the request each action sends. Sensor and PSU records beyond the per-BMC [`Limits`] are
//! counted, not read.

use super::decode::chassis::{self, DeviceInfo, SystemGuid};
use super::decode::components::{self as parts, IpmiPart};
use super::decode::fru::{self, Fru};
use super::decode::reading::{parse_sensor_reading, to_psu, to_sensor};
use super::decode::sdr::SdrRecord;
use super::repository::{self, SdrCache};
use super::session::Session;
use crate::hal::{HalError, field};
use crate::model::{
    Action, Components, Dropped, ErrorKind, Field, Intrusion, Led, Limits, PowerMetrics, Reading,
    SensorKind, Storage,
};

/// What survives between polls, beside the session.
#[derive(Default)]
pub(super) struct Cached {
    pub(super) sdr: Option<SdrCache>,
    pub(super) device: Option<DeviceInfo>,
    pub(super) guid: Option<SystemGuid>,
    pub(super) fru: Option<Fru>,
    /// DCMI power reading answered "unsupported" once: use the power sensor instead.
    pub(super) no_dcmi: bool,
    /// DCMI power reading answered once.
    pub(super) dcmi_ok: bool,
    /// Where the SEL reading stands (survives re-opened sessions).
    pub(super) sel: super::sel::SelFollow,
    /// Get SEL Info answered "unsupported" (or the BMC has no SEL): not asked again.
    pub(super) no_sel: bool,
    /// Get SEL Info answered once.
    pub(super) sel_ok: bool,
}

impl Cached {
    /// What is read once per session (device id, GUID, FRU) is read again at the next poll.
    pub(super) fn forget_inventory(&mut self) {
        self.device = None;
        self.guid = None;
        self.fru = None;
    }
}

pub(super) async fn poll_session(
    s: &mut Session,
    c: &mut Cached,
    bmc: &str,
    limits: &Limits,
) -> Result<Reading, HalError> {
    let status = s.command(0x00, 0x01, &[]).await.and_then(|d| {
        chassis::parse_chassis_status(&d).map_err(|e| HalError::Protocol {
            bmc: bmc.into(),
            detail: e.to_string(),
        })
    });
    // A dead session shows here first: let the caller re-open.
    if let Err(e @ HalError::Timeout { .. }) = &status {
        return Err(e.clone());
    }
    if c.device.is_none() {
        c.device = s
            .command(0x06, 0x01, &[])
            .await
            .ok()
            .and_then(|d| chassis::parse_device_id(&d).ok());
    }
    if c.guid.is_none() {
        c.guid = s
            .command(0x06, 0x37, &[])
            .await
            .ok()
            .and_then(|d| chassis::parse_system_guid(&d).ok());
    }
    if c.fru.is_none() {
        c.fru = read_fru(s).await.ok();
    }
    let inventory = Field::Ok(Box::new(chassis::inventory(
        c.fru.as_ref(),
        c.device.as_ref(),
        c.guid.as_ref(),
    )));
    let sdr = repository::refresh(s, bmc, c.sdr.take()).await;
    let mut dropped = Dropped::default();
    let mut found = Vec::new();
    let (mut sensors, mut psus) = match &sdr {
        Ok(cache) => {
            let mut sensors = Vec::new();
            let mut psus = Vec::new();
            for rec in &cache.records {
                if rec.owner_lun != 0 || rec.event_reading_type == 0 && !rec.threshold_based {
                    continue;
                }
                // What `to_sensor` / `to_psu` would make of it: past the limit, not even read.
                if rec.threshold_based && sensors.len() >= limits.max_sensors {
                    dropped.sensors += 1;
                    continue;
                }
                if is_psu_record(rec) && psus.len() >= limits.max_psus {
                    dropped.psus += 1;
                    continue;
                }
                let r = s.request(0x04, 0x2d, &[rec.sensor_number]).await?;
                if r.cc != 0 {
                    continue; // event-only or not present: ipmitool skips these too
                }
                let Ok(reading) = parse_sensor_reading(&r.data) else {
                    continue;
                };
                if let Some(x) = to_sensor(rec, &reading) {
                    sensors.push(x);
                } else if let Some(p) = to_psu(rec, &reading) {
                    psus.push(p);
                } else if let Some(p) = parts::power_unit(rec, &reading) {
                    if psus.len() < limits.max_psus {
                        psus.push(p);
                    } else {
                        dropped.psus += 1;
                    }
                } else if let Some(p) = parts::to_component(rec, &reading) {
                    found.push(p);
                }
            }
            (Field::Ok(sensors), Field::Ok(psus))
        }
        Err(e) => (field(Err(e.clone())), field(Err(e.clone()))),
    };
    // The chassis status's fault bits, as the parts they describe (see `chassis::faults`).
    let faults = status
        .as_ref()
        .map(chassis::faults::chassis_faults)
        .unwrap_or_default();
    found.extend(faults.drive.map(IpmiPart::Drive));
    if let (Field::Ok(v), Some(f)) = (&mut sensors, faults.cooling) {
        v.push(f);
    }
    if let (Field::Ok(v), Some(p)) = (&mut psus, faults.power) {
        v.push(p);
    }
    let power_metrics = power_metrics(s, c, &sensors).await;
    if let Ok(cache) = sdr {
        c.sdr = Some(cache);
    }
    let logs = read_logs(s, c, bmc, limits).await?;
    let intrusion = status.as_ref().ok().map(|s| s.intrusion);
    let (power, led) = match status {
        Ok(st) => (
            Field::Ok(st.power_state()),
            match st.identify {
                Led::Unknown => Field::failed(
                    ErrorKind::Unsupported,
                    "the BMC does not report the identify LED",
                ),
                l => Field::Ok(l),
            },
        ),
        Err(e) => (field(Err(e.clone())), field(Err(e))),
    };
    Ok(Reading {
        power,
        inventory,
        led,
        psus,
        power_metrics,
        sensors,
        refused_certificate_expires: None,
        tls_refusal: None,
        dropped,
        logs: logs.map(Box::new),
        components: components(found, intrusion).map(Box::new),
        power_check: None,
    })
}

/// The parts some sensors describe, or `Unsupported` when there is no sensor of the kind.
fn sensed<T>(parts: Vec<T>, what: &str) -> Field<Vec<T>> {
    if parts.is_empty() {
        Field::failed(ErrorKind::Unsupported, format!("no {what} sensors"))
    } else {
        Field::Ok(parts)
    }
}

/// The components the discrete sensors and the chassis status describe; `None` when the BMC has
/// no component sensors and reports no intrusion (most IPMI BMCs: one pointer, no box).
fn components(found: Vec<IpmiPart>, intrusion: Option<bool>) -> Option<Components> {
    if found.is_empty() && intrusion != Some(true) {
        return None;
    }
    let (mut drives, mut dimms, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    for p in found {
        match p {
            IpmiPart::Drive(d) => drives.push(d),
            IpmiPart::Dimm(d) => dimms.push(d),
            IpmiPart::Cpu(c) => cpus.push(c),
        }
    }
    let storage = match sensed(drives, "drive slot") {
        Field::Ok(drives) => Field::Ok(Storage {
            drives,
            ..Storage::default()
        }),
        Field::Error(e) => Field::Error(e),
    };
    Some(Components {
        storage,
        memory: sensed(dimms, "memory"),
        processors: sensed(cpus, "processor"),
        network: Field::failed(ErrorKind::Unsupported, "IPMI reports no NIC ports"),
        firmware: Field::failed(ErrorKind::Unsupported, "IPMI reports no firmware inventory"),
        cooling: Field::failed(ErrorKind::Unsupported, "IPMI reports no cooling parts"),
        intrusion: intrusion.map(|i| {
            if i {
                Intrusion::Intruded
            } else {
                Intrusion::Normal
            }
        }),
        dropped: 0,
    })
}

/// The SEL's new records, when `[logs]` is on and the BMC has a SEL. A timeout fails the poll
/// (the session is dead); any other failure keeps the entries read before, with a warning.
async fn read_logs(
    s: &mut Session,
    c: &mut Cached,
    bmc: &str,
    limits: &Limits,
) -> Result<Option<crate::model::Logs>, HalError> {
    if !limits.logs.enabled || c.no_sel {
        return Ok(None);
    }
    let sdrs = c.sdr.as_ref().map(|x| x.records.as_slice()).unwrap_or(&[]);
    match super::sel::read(s, &mut c.sel, bmc, &limits.logs, sdrs).await {
        Ok(logs) => {
            c.sel_ok = true;
            Ok(Some(logs))
        }
        Err(e @ HalError::Timeout { .. }) => Err(e),
        Err(HalError::Unsupported { .. }) => {
            c.no_sel = true;
            Ok(None)
        }
        Err(e) => {
            tracing::warn!(bmc = %bmc, error = %e, "SEL read failed");
            Ok(Some(c.sel.follow.unchanged()))
        }
    }
}

/// A record [`to_psu`] turns into a PSU (and [`to_sensor`] does not take first).
fn is_psu_record(rec: &SdrRecord) -> bool {
    !rec.threshold_based && rec.sensor_type == 0x08 && rec.event_reading_type == 0x6f
}

async fn power_metrics(
    s: &mut Session,
    c: &mut Cached,
    sensors: &Field<Vec<crate::model::Sensor>>,
) -> Field<PowerMetrics> {
    if !c.no_dcmi {
        match s.request(0x2c, 0x02, &[0xdc, 0x01, 0x00, 0x00]).await {
            Ok(r) if r.cc == 0 => {
                if let Ok(p) = chassis::parse_dcmi_power_reading(&r.data) {
                    c.dcmi_ok = true;
                    return Field::Ok(p.power_metrics());
                }
            }
            Ok(_) => c.no_dcmi = true,
            Err(e) => return field(Err(e)),
        }
    }
    let watts = sensors.ok().and_then(|v| {
        v.iter()
            .find(|x| x.kind == SensorKind::Power)
            .and_then(|x| x.reading)
    });
    match watts {
        Some(w) => Field::Ok(PowerMetrics {
            consumed_watts: Some(w),
            capacity_watts: None,
        }),
        None => Field::failed(
            ErrorKind::Unsupported,
            "no DCMI power reading and no power sensor",
        ),
    }
}

/// FRU device 0: area size, then Read FRU Data in 16-byte pieces.
async fn read_fru(s: &mut Session) -> Result<Fru, HalError> {
    let bmc = "fru";
    let info = s.command(0x0a, 0x10, &[0]).await?;
    let info = fru::parse_area_info(&info).map_err(|e| HalError::Protocol {
        bmc: bmc.into(),
        detail: e.to_string(),
    })?;
    let size = usize::from(info.size).min(2048);
    let mut data = Vec::with_capacity(size);
    while data.len() < size {
        let [o0, o1] = u16::try_from(data.len()).unwrap_or(u16::MAX).to_le_bytes();
        let want = (size - data.len()).min(16) as u8;
        let d = s.command(0x0a, 0x11, &[0, o0, o1, want]).await?;
        let chunk = fru::parse_read_data(&d).map_err(|e| HalError::Protocol {
            bmc: bmc.into(),
            detail: e.to_string(),
        })?;
        if chunk.is_empty() {
            break;
        }
        data.extend_from_slice(chunk);
    }
    fru::parse_fru(&data)
        .map(|(f, _)| f)
        .map_err(|e| HalError::Protocol {
            bmc: bmc.into(),
            detail: e.to_string(),
        })
}

/// The IPMI request for an action: (netfn, cmd, data).
pub fn action_request(action: Action) -> (u8, u8, Vec<u8>) {
    let boot = |dev: u8| (0x00, 0x08, vec![0x05, 0x80, dev, 0x00, 0x00, 0x00]);
    match action {
        Action::PowerOff => (0x00, 0x02, vec![0x00]),
        Action::PowerOn => (0x00, 0x02, vec![0x01]),
        Action::PowerCycle => (0x00, 0x02, vec![0x02]),
        Action::PowerReset => (0x00, 0x02, vec![0x03]),
        Action::PowerSoft => (0x00, 0x02, vec![0x05]),
        Action::IdentifyOn => (0x00, 0x04, vec![0x00, 0x01]),
        Action::IdentifyOff => (0x00, 0x04, vec![0x00]),
        Action::BootPxe => boot(0x04),
        Action::BootDisk => boot(0x08),
        Action::BootBios => boot(0x18),
    }
}
