//! The Redfish backend: finds a BMC's system, chassis and manager once (the layout, remembered per
//! BMC), then each poll reads power, inventory, LED, PSUs, power draw and sensors from whichever
//! thermal/power shape the BMC has: legacy `Thermal`+`Power` (2 GETs, preferred), the
//! `ThermalSubsystem`/`PowerSubsystem` resources, or the `Sensors` collection.
//!
//! One [`client::Session`] per BMC, reused across polls; an operation lock keeps a poll and a power
//! command from running against one BMC at once.

mod client;
pub mod shapes;
mod tls;

use std::net::IpAddr;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use serde_json::Value;
use tokio::sync::Mutex;

pub use client::RedfishShared;

use crate::config::Credential;
use crate::hal::{Bmc, BmcInfo, HalError};
use crate::model::{
    Field, Inventory, PowerAction, PowerMetrics, PowerState, Protocol, Psu, Reading, Sensor, Target,
};

/// How many member GETs of one collection run at once against one BMC.
const MEMBER_FETCH_CONCURRENCY: usize = 4;

/// Where a BMC keeps its thermal and power data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Legacy {
        thermal: Option<String>,
        power: Option<String>,
    },
    Subsystem {
        thermal: Option<String>,
        power: Option<String>,
        environment: Option<String>,
    },
    Sensors {
        collection: String,
        power: Option<String>,
        environment: Option<String>,
    },
    None,
}

impl Shape {
    /// Picks the cheapest shape a chassis document offers.
    pub fn of_chassis(chassis: &Value) -> Shape {
        let l = |k: &str| shapes::link(chassis, k);
        if l("Thermal").is_some() || l("Power").is_some() {
            Shape::Legacy {
                thermal: l("Thermal"),
                power: l("Power"),
            }
        } else if l("ThermalSubsystem").is_some() {
            Shape::Subsystem {
                thermal: l("ThermalSubsystem"),
                power: l("PowerSubsystem"),
                environment: l("EnvironmentMetrics"),
            }
        } else if let Some(collection) = l("Sensors") {
            Shape::Sensors {
                collection,
                power: l("PowerSubsystem"),
                environment: l("EnvironmentMetrics"),
            }
        } else if l("PowerSubsystem").is_some() {
            Shape::Subsystem {
                thermal: None,
                power: l("PowerSubsystem"),
                environment: l("EnvironmentMetrics"),
            }
        } else {
            Shape::None
        }
    }
}

#[derive(Debug, Clone)]
struct Layout {
    system: String,
    reset_target: Option<String>,
    manager: Option<String>,
    shape: Shape,
}

/// The thermal/power part of one poll.
struct Environment {
    sensors: Field<Vec<Sensor>>,
    psus: Field<Vec<Psu>>,
    power: Field<PowerMetrics>,
}

pub struct RedfishBmc {
    info: BmcInfo,
    session: client::Session,
    layout: Mutex<Option<Layout>>,
    op: Mutex<()>,
}

impl RedfishBmc {
    pub fn new(shared: &RedfishShared, target: &Target, cred: Option<Credential>) -> Self {
        let port = target.port.unwrap_or(shared.port);
        let info = BmcInfo {
            mac: target.mac,
            ip: target.ip,
            port,
            protocol: Protocol::Redfish,
        };
        let host = match target.ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let session = client::Session::new(shared, &host, port, info.label(), cred);
        RedfishBmc {
            info,
            session,
            layout: Mutex::new(None),
            op: Mutex::new(()),
        }
    }

    fn bmc(&self) -> String {
        self.info.label()
    }

    async fn first_member(&self, collection: &str) -> Result<String, HalError> {
        let c = self.session.get(collection).await?;
        shapes::members(&c)
            .into_iter()
            .next()
            .ok_or_else(|| HalError::Protocol {
                bmc: self.bmc(),
                detail: format!("{collection} has no members"),
            })
    }

    /// Finds system, manager, chassis and the thermal/power shape. Returns the system document too.
    async fn discover(&self) -> Result<(Layout, Value), HalError> {
        let root = self.session.get("/redfish/v1").await?;
        if let Some(p) = root.get("Links").and_then(|l| shapes::link(l, "Sessions")) {
            self.session.set_sessions_path(p).await;
        }
        let systems = shapes::link(&root, "Systems").ok_or_else(|| HalError::Unsupported {
            bmc: self.bmc(),
            detail: "service root links no Systems".into(),
        })?;
        let system = self.first_member(&systems).await?;
        let sys_doc = self.session.get(&system).await?;
        let links = sys_doc.get("Links").cloned().unwrap_or(Value::Null);
        let chassis = match shapes::first_link(&links, "Chassis") {
            Some(c) => Some(c),
            None => match shapes::link(&root, "Chassis") {
                Some(coll) => self.first_member(&coll).await.ok(),
                None => None,
            },
        };
        let manager = match shapes::first_link(&links, "ManagedBy") {
            Some(m) => Some(m),
            None => match shapes::link(&root, "Managers") {
                Some(coll) => self.first_member(&coll).await.ok(),
                None => None,
            },
        };
        let shape = match &chassis {
            Some(c) => Shape::of_chassis(&self.session.get(c).await?),
            None => Shape::None,
        };
        tracing::debug!(bmc = %self.bmc(), %system, ?shape, "redfish layout found");
        let layout = Layout {
            reset_target: shapes::reset_target(&sys_doc),
            system,
            manager,
            shape,
        };
        Ok((layout, sys_doc))
    }

    /// The remembered layout, discovering it on first use. Also returns the system document when
    /// discovery just fetched it.
    async fn layout(&self) -> Result<(Layout, Option<Value>), HalError> {
        let mut guard = self.layout.lock().await;
        if let Some(l) = guard.as_ref() {
            return Ok((l.clone(), None));
        }
        let (l, sys) = self.discover().await?;
        *guard = Some(l.clone());
        Ok((l, Some(sys)))
    }

    async fn forget_layout(&self) {
        *self.layout.lock().await = None;
    }

    /// GETs every member of a collection (expanded members are used as they are).
    async fn collection(&self, path: &str) -> Result<Vec<Value>, HalError> {
        let c = self.session.get(path).await?;
        let raw: Vec<Value> = c
            .get("Members")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let fetched = stream::iter(raw)
            .map(|m| async move {
                if shapes::is_expanded(&m) {
                    return Ok(m);
                }
                match m.get("@odata.id").and_then(Value::as_str) {
                    Some(p) => self.session.get(p).await,
                    None => Ok(m),
                }
            })
            .buffered(MEMBER_FETCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        fetched.into_iter().collect()
    }

    async fn environment(&self, shape: &Shape) -> Environment {
        match shape {
            Shape::Legacy { thermal, power } => {
                let (t, p) = tokio::join!(
                    self.get_opt(thermal.as_deref()),
                    self.get_opt(power.as_deref())
                );
                let mut sensors =
                    to_field(t.map(|t| t.map(|v| shapes::legacy_thermal(&v)).unwrap_or_default()));
                let (psus, metrics) = match p {
                    Ok(Some(p)) => {
                        let (psus, metrics, volts) = shapes::legacy_power(&p);
                        if let Field::Ok(s) = &mut sensors {
                            s.extend(volts);
                        }
                        (Field::Ok(psus), Field::Ok(metrics))
                    }
                    Ok(None) => (Field::Ok(Vec::new()), Field::Ok(PowerMetrics::default())),
                    Err(e) => (to_field(Err(e.clone())), to_field(Err(e))),
                };
                Environment {
                    sensors,
                    psus,
                    power: metrics,
                }
            }
            Shape::Subsystem {
                thermal,
                power,
                environment,
            } => {
                let (sensors, psus, watts) = tokio::join!(
                    self.subsystem_thermal(thermal.as_deref()),
                    self.subsystem_psus(power.as_deref()),
                    self.get_opt(environment.as_deref())
                );
                Environment {
                    sensors: to_field(sensors),
                    psus: to_field(psus),
                    power: to_field(watts.map(|env| PowerMetrics {
                        consumed_watts: env.as_ref().and_then(shapes::environment_power),
                        capacity_watts: None,
                    })),
                }
            }
            Shape::Sensors {
                collection,
                power,
                environment,
            } => {
                let (members, psus, env) = tokio::join!(
                    self.collection(collection),
                    self.subsystem_psus(power.as_deref()),
                    self.get_opt(environment.as_deref())
                );
                let env_watts = env
                    .ok()
                    .flatten()
                    .as_ref()
                    .and_then(shapes::environment_power);
                let (sensors, power) = match members {
                    Ok(m) => {
                        let watts =
                            env_watts.or_else(|| m.iter().find_map(shapes::total_power_sensor));
                        (
                            Field::Ok(m.iter().map(shapes::sensor).collect()),
                            Field::Ok(PowerMetrics {
                                consumed_watts: watts,
                                capacity_watts: None,
                            }),
                        )
                    }
                    Err(e) => (to_field(Err(e.clone())), to_field(Err(e))),
                };
                Environment {
                    sensors,
                    psus: to_field(psus),
                    power,
                }
            }
            Shape::None => {
                let e = HalError::Unsupported {
                    bmc: self.bmc(),
                    detail: "no chassis with thermal or power resources".into(),
                };
                Environment {
                    sensors: to_field(Err(e.clone())),
                    psus: to_field(Err(e.clone())),
                    power: to_field(Err(e)),
                }
            }
        }
    }

    async fn get_opt(&self, path: Option<&str>) -> Result<Option<Value>, HalError> {
        match path {
            Some(p) => self.session.get(p).await.map(Some),
            None => Ok(None),
        }
    }

    async fn subsystem_thermal(&self, path: Option<&str>) -> Result<Vec<Sensor>, HalError> {
        let Some(doc) = self.get_opt(path).await? else {
            return Ok(Vec::new());
        };
        let mut out = match shapes::link(&doc, "ThermalMetrics") {
            Some(p) => shapes::thermal_metrics(&self.session.get(&p).await?),
            None => Vec::new(),
        };
        if let Some(fans) = shapes::link(&doc, "Fans") {
            out.extend(
                self.collection(&fans)
                    .await?
                    .iter()
                    .map(shapes::subsystem_fan),
            );
        }
        Ok(out)
    }

    async fn subsystem_psus(&self, path: Option<&str>) -> Result<Vec<Psu>, HalError> {
        let Some(doc) = self.get_opt(path).await? else {
            return Ok(Vec::new());
        };
        let Some(coll) = shapes::link(&doc, "PowerSupplies") else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for psu in self.collection(&coll).await? {
            let metrics = match shapes::link(&psu, "Metrics") {
                Some(m) => self.session.get(&m).await.ok(),
                None => None,
            };
            out.push(shapes::subsystem_psu(&psu, metrics.as_ref()));
        }
        Ok(out)
    }

    async fn poll_inner(&self) -> Reading {
        let (layout, sys_doc) = match self.layout().await {
            Ok(l) => l,
            Err(e) => return Reading::all_failed(e.kind(), &e.to_string()),
        };
        let sys = match sys_doc {
            Some(doc) => Ok(doc),
            None => self.session.get(&layout.system).await,
        };
        let (manager, env) = tokio::join!(
            self.get_opt(layout.manager.as_deref()),
            self.environment(&layout.shape)
        );
        let (power, inventory, led) = match sys {
            Ok(doc) => {
                let (power, mut inv, led) = shapes::system(&doc);
                match &manager {
                    Ok(m) => inv.bmc_firmware = m.as_ref().and_then(shapes::manager_firmware),
                    Err(e) => tracing::warn!(bmc = %self.bmc(), error = %e, "manager read failed"),
                }
                (
                    Field::Ok(power.unwrap_or(PowerState::Unknown)),
                    Field::Ok(inv),
                    led.map(Field::Ok).unwrap_or_else(|| {
                        Field::failed(
                            crate::model::ErrorKind::Unsupported,
                            "system reports no indicator LED",
                        )
                    }),
                )
            }
            Err(e) => {
                if matches!(e, HalError::Unsupported { .. }) {
                    self.forget_layout().await;
                }
                (
                    to_field(Err(e.clone())),
                    to_field::<Inventory>(Err(e.clone())),
                    to_field(Err(e)),
                )
            }
        };
        Reading {
            power,
            inventory,
            led,
            psus: env.psus,
            power_metrics: env.power,
            sensors: env.sensors,
        }
    }

    async fn power_state(&self, layout: &Layout) -> Result<PowerState, HalError> {
        let doc = self.session.get(&layout.system).await?;
        Ok(shapes::system(&doc).0.unwrap_or(PowerState::Unknown))
    }
}

fn to_field<T>(r: Result<T, HalError>) -> Field<T> {
    match r {
        Ok(v) => Field::Ok(v),
        Err(e) => Field::failed(e.kind(), e.to_string()),
    }
}

/// The Redfish `ResetType` for an action.
pub fn reset_type(action: PowerAction) -> &'static str {
    match action {
        PowerAction::PowerOn => "On",
        PowerAction::PowerOff => "ForceOff",
        PowerAction::PowerCycle => "PowerCycle",
        PowerAction::PowerReset => "ForceRestart",
        PowerAction::PowerSoft => "GracefulShutdown",
    }
}

#[async_trait]
impl Bmc for RedfishBmc {
    fn describe(&self) -> &BmcInfo {
        &self.info
    }

    async fn poll(&self) -> Reading {
        let _op = self.op.lock().await;
        self.poll_inner().await
    }

    async fn power_action(&self, action: PowerAction) -> Result<PowerState, HalError> {
        let _op = self.op.lock().await;
        let (layout, _) = self.layout().await?;
        let target = layout
            .reset_target
            .clone()
            .ok_or_else(|| HalError::Unsupported {
                bmc: self.bmc(),
                detail: "system has no ComputerSystem.Reset action".into(),
            })?;
        let body = serde_json::json!({ "ResetType": reset_type(action) });
        self.session.post(&target, &body).await?;
        self.power_state(&layout).await
    }

    async fn close(&self) {
        let _op = self.op.lock().await;
        self.session.logout().await;
    }
}
