//! The Redfish backend: finds a BMC's system, chassis and manager once (the layout, remembered per
//! BMC), then each poll reads power, inventory, LED, PSUs, power draw and sensors from whichever
//! thermal/power shape the BMC has: the `Sensors` collection wherever there is one (every sensor,
//! one GET with `$expand`), else legacy `Thermal`+`Power` (2 GETs), else the
//! `ThermalSubsystem`/`PowerSubsystem` resources.
//!
//! One [`client::Session`] per BMC, reused across polls; an operation lock keeps a poll and a power
//! command from running against one BMC at once.

mod actions;
mod cert_expiry;
mod client;
mod components;
mod environment;
mod layout;
mod logs;
mod origin;
pub mod pin;
pub mod presented;
mod profile;
pub mod shapes;
mod shared;
mod tls;

use std::net::IpAddr;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Mutex;

pub use client::Recorder;
use layout::Layout;
pub use origin::refused_total as refused_paths_total;
pub use shared::RedfishShared;

use crate::config::Credential;
use crate::hal::{Bmc, BmcInfo, HalError, field};
use crate::model::{
    Action, Dropped, Field, Inventory, Limits, PowerMetrics, PowerState, Protocol, Psu, Reading,
    Sensor, Target,
};

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
    /// A chassis with a `Sensors` collection: every sensor in it is read, with the
    /// `ThermalSubsystem` readings whose source is not among them. PSUs and power draw come from
    /// the legacy `Power` resource when the chassis has one (one GET for both), else from
    /// `PowerSubsystem` and `EnvironmentMetrics` (or the total-power sensor).
    Sensors {
        collection: String,
        thermal: Option<String>,
        power: Option<String>,
        legacy_power: Option<String>,
        environment: Option<String>,
        /// The `$expand` query the service offers, asked for on the collections read each poll.
        expand: Option<&'static str>,
    },
    None,
}

impl Shape {
    /// Picks the shape that reads every sensor a chassis document offers at the lowest cost: the
    /// `Sensors` collection wherever it exists (legacy `Thermal` then goes unread: its members
    /// name no `Sensor`, so the same sensor would count twice), else legacy `Thermal`+`Power`
    /// (2 GETs), else the subsystems. `expand` is what [`shapes::expand_query`] found.
    pub fn of_chassis(chassis: &Value, expand: Option<&'static str>) -> Shape {
        let l = |k: &str| shapes::link(chassis, k);
        if let Some(collection) = l("Sensors") {
            let legacy_power = l("Power");
            let newer = |k: &str| if legacy_power.is_some() { None } else { l(k) };
            Shape::Sensors {
                collection,
                thermal: l("ThermalSubsystem"),
                power: newer("PowerSubsystem"),
                environment: newer("EnvironmentMetrics"),
                legacy_power,
                expand,
            }
        } else if l("Thermal").is_some() || l("Power").is_some() {
            Shape::Legacy {
                thermal: l("Thermal"),
                power: l("Power"),
            }
        } else if l("ThermalSubsystem").is_some() || l("PowerSubsystem").is_some() {
            Shape::Subsystem {
                thermal: l("ThermalSubsystem"),
                power: l("PowerSubsystem"),
                environment: l("EnvironmentMetrics"),
            }
        } else {
            Shape::None
        }
    }
}

/// The thermal/power part of one poll.
struct Environment {
    sensors: Field<Vec<Sensor>>,
    psus: Field<Vec<Psu>>,
    power: Field<PowerMetrics>,
    /// Sensors and PSUs beyond the limits, counted and not built.
    dropped: Dropped,
}

pub struct RedfishBmc {
    info: BmcInfo,
    session: client::Session,
    /// Boxed: found at the first poll that reaches the BMC, so an unreachable BMC holds a pointer.
    layout: Mutex<Option<Box<Layout>>>,
    op: Mutex<()>,
    /// How many sensors and PSUs a poll keeps.
    limits: Limits,
    /// Where the BMC's logs are and how far they were read.
    logs: Mutex<logs::RedfishLogs>,
    cursors: std::sync::Arc<crate::hal::cursors::Cursors>,
    /// The firmware inventory as last read (`[poll] inventory-interval`).
    inventory: Mutex<components::InventoryCache>,
    /// The BMC answered a `$expand` query with an error: collections are read member by member.
    expand_refused: std::sync::atomic::AtomicBool,
    /// The `ThermalSubsystem` views of a `Sensors` chassis held nothing the collection lacks.
    views_redundant: std::sync::atomic::AtomicBool,
    /// What every BMC turned out to support (the daemon's `[poll] profile-file`).
    profiles: std::sync::Arc<crate::hal::profiles::Profiles>,
    /// The layout in use came from the profile, not from discovery.
    restored: std::sync::atomic::AtomicBool,
}

impl RedfishBmc {
    pub fn new(shared: &RedfishShared, target: &Target, cred: Option<Credential>) -> Self {
        let port = target.port.unwrap_or(shared.port);
        let info = BmcInfo {
            mac: target.mac,
            ip: target.ip,
            port,
            protocol: Some(Protocol::Redfish),
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
            limits: shared.limits,
            logs: Mutex::default(),
            cursors: std::sync::Arc::default(),
            inventory: Mutex::default(),
            expand_refused: std::sync::atomic::AtomicBool::default(),
            views_redundant: std::sync::atomic::AtomicBool::default(),
            profiles: std::sync::Arc::default(),
            restored: std::sync::atomic::AtomicBool::default(),
        }
    }

    /// Starts from the layout `profiles` remembers for this BMC and notes the one it finds.
    pub fn with_profiles(
        mut self,
        profiles: std::sync::Arc<crate::hal::profiles::Profiles>,
    ) -> Self {
        self.profiles = profiles;
        self
    }

    /// Reads and notes this BMC's log cursors in `cursors`.
    pub fn with_cursors(mut self, cursors: std::sync::Arc<crate::hal::cursors::Cursors>) -> Self {
        self.cursors = cursors;
        self
    }

    fn bmc(&self) -> String {
        self.info.label()
    }

    /// How often the slow parts are read (`[poll] inventory-interval`).
    pub fn inventory_interval(&self) -> std::time::Duration {
        self.limits.inventory_interval
    }

    /// Keeps every resource this backend reads (for `bmc-catcher capture`).
    pub fn record_into(&mut self, recorder: client::Recorder) {
        self.session.record_into(recorder);
    }

    /// Is there a Redfish service (an unauthenticated service root with `RedfishVersion`)?
    pub async fn probe(&self) -> Result<(), HalError> {
        let root = self.session.get_anonymous("/redfish/v1").await;
        if root.is_err() {
            self.session.drop_connections();
        }
        let root = root?;
        if root.get("RedfishVersion").is_some() || root.get("Systems").is_some() {
            Ok(())
        } else {
            Err(HalError::Protocol {
                bmc: self.bmc(),
                detail: "/redfish/v1 is JSON but not a Redfish service root".into(),
            })
        }
    }

    async fn poll_inner(&self) -> Reading {
        let (layout, sys) = match self.layout_and_system().await {
            Ok(l) => l,
            Err(e) => return Reading::all_failed(e.kind(), &e.to_string()),
        };
        let (manager, env) = tokio::join!(
            self.get_opt(layout.manager.as_deref()),
            self.environment(&layout.shape)
        );
        let logs = match &sys {
            Ok(doc) => {
                let m = manager.as_ref().ok().and_then(Option::as_ref);
                let bmc = self.bmc();
                let at = logs::Reader {
                    session: &self.session,
                    bmc: &bmc,
                    mac: self.info.mac,
                    cursors: &self.cursors,
                    policy: &self.limits.logs,
                };
                self.logs.lock().await.read(&at, doc, m).await
            }
            Err(_) => None,
        };
        let components = match &sys {
            Ok(doc) => {
                let m = manager.as_ref().ok().and_then(Option::as_ref);
                let fw = m.and_then(shapes::manager_firmware);
                self.components(doc, &layout.components, fw.as_deref())
                    .await
                    .map(Box::new)
            }
            // The other parts carry the error; a BMC that answers nothing keeps no components.
            Err(_) => None,
        };
        let (power, inventory, led) = match sys {
            Ok(doc) => {
                let shapes::System {
                    power,
                    inventory: mut inv,
                    led,
                } = shapes::system(&doc);
                match &manager {
                    Ok(m) => inv.bmc_firmware = m.as_ref().and_then(shapes::manager_firmware),
                    Err(e) => tracing::warn!(bmc = %self.bmc(), error = %e, "manager read failed"),
                }
                inv.tls_certificate_expires = self.session.certificate_expiry();
                (
                    Field::Ok(power.unwrap_or(PowerState::Unknown)),
                    Field::Ok(Box::new(inv)),
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
                    field(Err(e.clone())),
                    field::<Box<Inventory>>(Err(e.clone())),
                    field(Err(e)),
                )
            }
        };
        self.check_profile(&layout, &manager, &env).await;
        Reading {
            power,
            inventory,
            led,
            psus: env.psus,
            power_metrics: env.power,
            sensors: env.sensors,
            refused_certificate_expires: None,
            tls_refusal: None,
            dropped: env.dropped,
            logs: logs.map(Box::new),
            components,
            power_check: None,
        }
    }

    async fn power_state_of(&self, layout: &Layout) -> Result<PowerState, HalError> {
        let doc = self.session.get(&layout.system).await?;
        Ok(shapes::system(&doc).power.unwrap_or(PowerState::Unknown))
    }
}

#[async_trait]
impl Bmc for RedfishBmc {
    fn describe(&self) -> BmcInfo {
        self.info.clone()
    }

    async fn poll(&self) -> Reading {
        let _op = self.op.lock().await;
        let mut r = self.poll_inner().await;
        if r.first_error()
            .is_some_and(|e| e.kind == crate::model::ErrorKind::Tls)
        {
            // The refused certificate was noted before the policy refused it: its expiry is what
            // the operator needs to judge the change.
            r.refused_certificate_expires = self.session.certificate_expiry();
            r.tls_refusal = self.session.take_tls_refusal();
        }
        if r.any_ok() {
            self.session.operation_done();
        } else {
            self.session.drop_connections();
        }
        r.bound(&self.limits);
        r
    }

    async fn power_state(&self) -> Result<PowerState, HalError> {
        let _op = self.op.lock().await;
        let r = match self.layout().await {
            Ok((layout, _)) => self.power_state_of(&layout).await,
            Err(e) => Err(e),
        };
        self.session.operation_done();
        r
    }

    async fn perform(&self, action: Action) -> Result<(), HalError> {
        let _op = self.op.lock().await;
        let r = match self.layout().await {
            Ok((layout, _)) => self.act(&layout, action).await,
            Err(e) => Err(e),
        };
        self.session.operation_done();
        r
    }

    async fn close(&self) {
        let _op = self.op.lock().await;
        self.session.logout().await;
    }

    async fn refresh_inventory(&self) {
        self.inventory.lock().await.forget();
    }
}
