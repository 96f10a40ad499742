//! [`IpmiBmc`]: the `Bmc` backend over IPMI. One RMCP+ session per BMC, opened at the first poll,
//! kept alive between polls by a small task (Get Device ID every `keepalive`), re-opened when the BMC
//! forgot it, closed by `close`. A poll reads chassis status, the sensors the SDR repository lists
//! (the repository is read again only when its timestamps change), PSU states, DCMI power (or the
//! power sensor when DCMI is missing), and once per session the device id, GUID and FRU inventory.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::decode::chassis::{self, DeviceInfo, SystemGuid};
use super::decode::fru::{self, Fru};
use super::decode::reading::{parse_sensor_reading, to_psu, to_sensor};
use super::repository::{self, SdrCache};
use super::session::{Session, SessionConfig};
use super::wire::rakp::Privilege;
use crate::hal::{Bmc, BmcInfo, HalError};
use crate::model::{Action, ErrorKind, Field, Led, PowerMetrics, PowerState, Reading, SensorKind};

/// What survives between polls, beside the session.
#[derive(Default)]
struct Cached {
    sdr: Option<SdrCache>,
    device: Option<DeviceInfo>,
    guid: Option<SystemGuid>,
    fru: Option<Fru>,
    /// DCMI power reading answered "unsupported" once: use the power sensor instead.
    no_dcmi: bool,
}

struct Inner {
    session: Option<Session>,
    cached: Cached,
}

pub struct IpmiBmc {
    info: BmcInfo,
    cfg: Option<SessionConfig>,
    keepalive: Duration,
    inner: Arc<Mutex<Inner>>,
    stop_keepalive: std::sync::Mutex<Option<CancellationToken>>,
}

fn to_field<T>(r: Result<T, HalError>) -> Field<T> {
    match r {
        Ok(v) => Field::Ok(v),
        Err(e) => Field::failed(e.kind(), e.to_string()),
    }
}

impl IpmiBmc {
    /// `cfg` is `None` when no credentials are configured for this BMC.
    pub fn new(info: BmcInfo, cfg: Option<SessionConfig>, keepalive: Duration) -> IpmiBmc {
        IpmiBmc {
            info,
            cfg,
            keepalive,
            inner: Arc::new(Mutex::new(Inner {
                session: None,
                cached: Cached::default(),
            })),
            stop_keepalive: std::sync::Mutex::new(None),
        }
    }

    fn bmc(&self) -> String {
        self.info.label()
    }

    /// Records every request and reply of the sessions this backend opens (for `capture`).
    pub fn record_into(&mut self, recorder: super::session::Recorder) {
        if let Some(cfg) = self.cfg.as_mut() {
            cfg.recorder = Some(recorder);
        }
    }

    /// Does anything answer IPMI (pre-session Get Channel Auth Caps) at this BMC's address?
    pub async fn probe(&self, timeout: Duration) -> Result<(), HalError> {
        let cfg = SessionConfig {
            addr: std::net::SocketAddr::new(self.info.ip, self.info.port),
            username: String::new(),
            password: secrecy::SecretString::from(String::new()),
            suites: Vec::new(),
            privilege: Privilege::User,
            request_timeout: timeout,
            retries: 1,
            recorder: None,
        };
        let socket = super::session::socket_for(cfg.addr, &self.bmc()).await?;
        super::session::probe(&socket, &self.bmc(), &cfg)
            .await
            .map(drop)
    }

    /// Opens a session into `slot` (and starts the keep-alive) unless one is there.
    async fn ensure_open(
        &self,
        slot: &mut Option<Session>,
        cached: &mut Cached,
    ) -> Result<(), HalError> {
        if slot.is_none() {
            let cfg = self.cfg.clone().ok_or_else(|| HalError::Auth {
                bmc: self.bmc(),
                detail: "no credentials configured for this BMC".into(),
            })?;
            *slot = Some(Session::open(cfg, &self.bmc()).await?);
            cached.device = None;
            cached.guid = None;
            self.start_keepalive();
        }
        Ok(())
    }

    fn start_keepalive(&self) {
        if self.keepalive.is_zero() {
            return;
        }
        let token = CancellationToken::new();
        if let Some(old) = self
            .stop_keepalive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(token.clone())
        {
            old.cancel();
        }
        let weak: Weak<Mutex<Inner>> = Arc::downgrade(&self.inner);
        let period = self.keepalive;
        let bmc = self.bmc();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = token.cancelled() => return,
                }
                let Some(inner) = weak.upgrade() else { return };
                let mut guard = inner.lock().await;
                let Some(s) = guard.session.as_mut() else {
                    return;
                };
                if s.idle() < period {
                    continue;
                }
                if let Err(e) = s.request(0x06, 0x01, &[]).await {
                    tracing::info!(bmc = %bmc, error = %e, "ipmi keep-alive failed; the next poll opens a new session");
                    guard.session = None;
                    return;
                }
            }
        });
    }

    /// Runs `f` in the session; when the session turns out to be dead (timeout, or the BMC
    /// forgot it), drops it and tries once more with a new one.
    async fn with_session(&self, op: Op) -> Result<Done, HalError> {
        let mut guard = self.inner.lock().await;
        let Inner { session, cached } = &mut *guard;
        let fresh = session.is_none();
        let bmc = self.bmc();
        self.ensure_open(session, cached).await?;
        let first = match session.as_mut() {
            Some(s) => run(s, cached, &bmc, op).await,
            None => {
                return Err(HalError::Protocol {
                    bmc,
                    detail: "no session".into(),
                });
            }
        };
        match first {
            Err(HalError::Timeout { .. }) if !fresh => {
                tracing::info!(bmc = %bmc, "ipmi session stopped answering; opening a new one");
                *session = None;
                self.ensure_open(session, cached).await?;
                match session.as_mut() {
                    Some(s) => run(s, cached, &bmc, op).await,
                    None => Err(HalError::Protocol {
                        bmc,
                        detail: "no session".into(),
                    }),
                }
            }
            other => other,
        }
    }
}

/// What a caller wants done in the session.
#[derive(Clone, Copy)]
enum Op {
    Poll,
    PowerState,
    Perform(Action),
}

enum Done {
    Reading(Box<Reading>),
    Power(PowerState),
    Performed,
}

async fn run(s: &mut Session, c: &mut Cached, bmc: &str, op: Op) -> Result<Done, HalError> {
    match op {
        Op::Poll => poll_session(s, c, bmc)
            .await
            .map(|r| Done::Reading(Box::new(r))),
        Op::PowerState => {
            let d = s.command(0x00, 0x01, &[]).await?;
            chassis::parse_chassis_status(&d)
                .map(|st| Done::Power(st.power_state()))
                .map_err(|e| HalError::Protocol {
                    bmc: bmc.into(),
                    detail: e.to_string(),
                })
        }
        Op::Perform(action) => {
            s.ensure_privilege(Privilege::Operator).await?;
            let (netfn, cmd, data) = action_request(action);
            s.command(netfn, cmd, &data).await.map(|_| Done::Performed)
        }
    }
}

async fn poll_session(s: &mut Session, c: &mut Cached, bmc: &str) -> Result<Reading, HalError> {
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
    let inventory = Field::Ok(chassis::inventory(
        c.fru.as_ref(),
        c.device.as_ref(),
        c.guid.as_ref(),
    ));
    let sdr = repository::refresh(s, bmc, c.sdr.take()).await;
    let (sensors, psus) = match &sdr {
        Ok(cache) => {
            let mut sensors = Vec::new();
            let mut psus = Vec::new();
            for rec in &cache.records {
                if rec.owner_lun != 0 || rec.event_reading_type == 0 && !rec.threshold_based {
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
                }
            }
            (Field::Ok(sensors), Field::Ok(psus))
        }
        Err(e) => (to_field(Err(e.clone())), to_field(Err(e.clone()))),
    };
    let power_metrics = power_metrics(s, c, &sensors).await;
    if let Ok(cache) = sdr {
        c.sdr = Some(cache);
    }
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
        Err(e) => (to_field(Err(e.clone())), to_field(Err(e))),
    };
    Ok(Reading {
        power,
        inventory,
        led,
        psus,
        power_metrics,
        sensors,
    })
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
                    return Field::Ok(p.power_metrics());
                }
            }
            Ok(_) => c.no_dcmi = true,
            Err(e) => return to_field(Err(e)),
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

#[async_trait]
impl Bmc for IpmiBmc {
    fn describe(&self) -> BmcInfo {
        self.info.clone()
    }

    async fn poll(&self) -> Reading {
        match self.with_session(Op::Poll).await {
            Ok(Done::Reading(r)) => *r,
            Ok(_) => Reading::all_failed(ErrorKind::Protocol, "internal: unexpected answer"),
            Err(e) => Reading::all_failed(e.kind(), &e.to_string()),
        }
    }

    async fn power_state(&self) -> Result<PowerState, HalError> {
        match self.with_session(Op::PowerState).await? {
            Done::Power(p) => Ok(p),
            _ => Err(HalError::Protocol {
                bmc: self.bmc(),
                detail: "internal: unexpected answer".into(),
            }),
        }
    }

    async fn perform(&self, action: Action) -> Result<(), HalError> {
        self.with_session(Op::Perform(action)).await.map(drop)
    }

    async fn close(&self) {
        if let Some(t) = self
            .stop_keepalive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.cancel();
        }
        let mut inner = self.inner.lock().await;
        if let Some(s) = inner.session.take() {
            s.close().await;
        }
    }
}
