//! The thermal/power half of a Redfish poll: reads sensors, PSUs and power draw from whichever
//! [`Shape`] the BMC's chassis has, fetching collection members with a small per-BMC concurrency.
//! Only as many members as the per-BMC limits admit are fetched and built; the rest are counted.

use futures::stream::{self, StreamExt};
use serde_json::Value;

use super::{Environment, RedfishBmc, Shape, shapes};
use crate::hal::HalError;
use crate::hal::field;
use crate::model::{Budget, Dropped, Field, PowerMetrics, Psu, Sensor};

/// How many member GETs of one collection are queued at once; `[redfish] connections-per-bmc`
/// bounds how many of them are on the wire.
const MEMBER_FETCH_CONCURRENCY: usize = 4;

impl RedfishBmc {
    /// GETs the members of a collection that `budget` admits (expanded members are used as they
    /// are); the others are counted in the budget, never fetched.
    pub(super) async fn collection(
        &self,
        path: &str,
        budget: &mut Budget,
    ) -> Result<Vec<Value>, HalError> {
        let mut c = self.session.get(path).await?;
        let raw: Vec<Value> = match c.get_mut("Members").map(Value::take) {
            Some(Value::Array(members)) => members.into_iter().filter(|_| budget.admit()).collect(),
            _ => Vec::new(),
        };
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

    pub(super) async fn environment(&self, shape: &Shape) -> Environment {
        let mut sb = Budget::new(self.limits.max_sensors);
        let mut pb = Budget::new(self.limits.max_psus);
        let mut env = self.environment_within(shape, &mut sb, &mut pb).await;
        env.dropped = Dropped {
            sensors: sb.dropped,
            psus: pb.dropped,
        };
        env
    }

    async fn environment_within(
        &self,
        shape: &Shape,
        sb: &mut Budget,
        pb: &mut Budget,
    ) -> Environment {
        match shape {
            Shape::Legacy { thermal, power } => {
                let (t, p) = tokio::join!(
                    self.get_opt(thermal.as_deref()),
                    self.get_opt(power.as_deref())
                );
                let mut sensors = field(t.map(|t| {
                    t.map(|v| shapes::legacy_thermal(&v, sb))
                        .unwrap_or_default()
                }));
                let (psus, metrics) = match p {
                    Ok(Some(p)) => {
                        let (psus, metrics, volts) = shapes::legacy_power(&p, pb, sb);
                        if let Field::Ok(s) = &mut sensors {
                            s.extend(volts);
                        }
                        (Field::Ok(psus), Field::Ok(metrics))
                    }
                    Ok(None) => (Field::Ok(Vec::new()), Field::Ok(PowerMetrics::default())),
                    Err(e) => (field(Err(e.clone())), field(Err(e))),
                };
                Environment {
                    sensors,
                    psus,
                    power: metrics,
                    dropped: Dropped::default(),
                }
            }
            Shape::Subsystem {
                thermal,
                power,
                environment,
            } => {
                let (sensors, psus, watts) = tokio::join!(
                    self.subsystem_thermal(thermal.as_deref(), sb),
                    self.subsystem_psus(power.as_deref(), pb),
                    self.get_opt(environment.as_deref())
                );
                Environment {
                    sensors: field(sensors),
                    psus: field(psus),
                    power: field(watts.map(|env| PowerMetrics {
                        consumed_watts: env.as_ref().and_then(shapes::environment_power),
                        capacity_watts: None,
                    })),
                    dropped: Dropped::default(),
                }
            }
            Shape::Sensors {
                collection,
                power,
                environment,
            } => {
                let (members, psus, env) = tokio::join!(
                    self.collection(collection, sb),
                    self.subsystem_psus(power.as_deref(), pb),
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
                    Err(e) => (field(Err(e.clone())), field(Err(e))),
                };
                Environment {
                    sensors,
                    psus: field(psus),
                    power,
                    dropped: Dropped::default(),
                }
            }
            Shape::None => {
                let e = HalError::Unsupported {
                    bmc: self.bmc(),
                    detail: "no chassis with thermal or power resources".into(),
                };
                Environment {
                    sensors: field(Err(e.clone())),
                    psus: field(Err(e.clone())),
                    power: field(Err(e)),
                    dropped: Dropped::default(),
                }
            }
        }
    }

    pub(super) async fn get_opt(&self, path: Option<&str>) -> Result<Option<Value>, HalError> {
        match path {
            Some(p) => self.session.get(p).await.map(Some),
            None => Ok(None),
        }
    }

    async fn subsystem_thermal(
        &self,
        path: Option<&str>,
        budget: &mut Budget,
    ) -> Result<Vec<Sensor>, HalError> {
        let Some(doc) = self.get_opt(path).await? else {
            return Ok(Vec::new());
        };
        let mut out = match shapes::link(&doc, "ThermalMetrics") {
            Some(p) => shapes::thermal_metrics(&self.session.get(&p).await?, budget),
            None => Vec::new(),
        };
        if let Some(fans) = shapes::link(&doc, "Fans") {
            out.extend(
                self.collection(&fans, budget)
                    .await?
                    .iter()
                    .map(shapes::subsystem_fan),
            );
        }
        Ok(out)
    }

    async fn subsystem_psus(
        &self,
        path: Option<&str>,
        budget: &mut Budget,
    ) -> Result<Vec<Psu>, HalError> {
        let Some(doc) = self.get_opt(path).await? else {
            return Ok(Vec::new());
        };
        let Some(coll) = shapes::link(&doc, "PowerSupplies") else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for psu in self.collection(&coll, budget).await? {
            let metrics = match shapes::link(&psu, "Metrics") {
                Some(m) => self.session.get(&m).await.ok(),
                None => None,
            };
            out.push(shapes::subsystem_psu(&psu, metrics.as_ref()));
        }
        Ok(out)
    }
}
