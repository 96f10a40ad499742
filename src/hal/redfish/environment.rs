//! The thermal/power half of a Redfish poll: reads sensors, PSUs and power draw from whichever
//! [`Shape`] the BMC's chassis has, fetching collection members with a small per-BMC concurrency
//! (none when the service expands a collection in its answer).
//! Only as many members as the per-BMC limits admit are fetched and built; the rest are counted.

use std::sync::atomic::Ordering;

use futures::stream::{self, StreamExt};
use serde_json::Value;

use super::{Environment, RedfishBmc, Shape, shapes};
use crate::hal::HalError;
use crate::hal::field;
use crate::model::{Budget, Dropped, Field, PowerMetrics, Psu, Sensor};

/// How many member GETs of one collection are queued at once; `[redfish] connections-per-bmc`
/// bounds how many of them are on the wire.
const MEMBER_FETCH_CONCURRENCY: usize = 4;

/// `path` with the `$expand` query, when the service offers one.
fn with_query(path: &str, expand: Option<&str>) -> String {
    match expand {
        Some(q) if path.contains('?') => format!("{path}&{q}"),
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}

impl RedfishBmc {
    /// GETs the members of a collection that `budget` admits (expanded members are used as they
    /// are); the others are counted in the budget, never fetched.
    pub(super) async fn collection(
        &self,
        path: &str,
        budget: &mut Budget,
    ) -> Result<Vec<Value>, HalError> {
        let c = self.session.get(path).await?;
        self.fetch_members(c, budget).await
    }

    /// [`Self::collection`], asked with `expand` until the BMC refuses it once: a service whose
    /// root offers `$expand` but answers the query with an error (sushy-static does) is read
    /// member by member from then on.
    async fn collection_expanded(
        &self,
        path: &str,
        expand: Option<&'static str>,
        budget: &mut Budget,
    ) -> Result<Vec<Value>, HalError> {
        if let Some(q) = expand.filter(|_| !self.expand_refused.load(Ordering::Relaxed)) {
            match self.session.get(&with_query(path, Some(q))).await {
                Ok(c) => return self.fetch_members(c, budget).await,
                Err(e @ (HalError::Unsupported { .. } | HalError::Protocol { .. })) => {
                    tracing::info!(bmc = %self.bmc(), error = %e, "$expand refused; reading members one by one");
                    self.expand_refused.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        self.collection(path, budget).await
    }

    /// The members of a collection document that `budget` admits, each fetched unless it came
    /// expanded.
    async fn fetch_members(
        &self,
        mut c: Value,
        budget: &mut Budget,
    ) -> Result<Vec<Value>, HalError> {
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
                thermal,
                power,
                legacy_power,
                environment,
                expand,
            } => {
                // Views that held only sensors of the collection once are not read again.
                let thermal = thermal
                    .as_deref()
                    .filter(|_| !self.views_redundant.load(Ordering::Relaxed));
                let (members, views, psus, legacy, env) = tokio::join!(
                    self.collection_expanded(collection, *expand, sb),
                    self.thermal_views(thermal, *expand),
                    self.subsystem_psus(power.as_deref(), pb),
                    self.get_opt(legacy_power.as_deref()),
                    self.get_opt(environment.as_deref())
                );
                let views_read = thermal.is_some() && views.is_ok();
                let (metrics, fans) = views.unwrap_or_else(|e| {
                    tracing::warn!(bmc = %self.bmc(), error = %e, "thermal subsystem read failed");
                    (None, Vec::new())
                });
                let env_watts = env
                    .ok()
                    .flatten()
                    .as_ref()
                    .and_then(shapes::environment_power);
                let (psus, legacy_metrics) = match legacy {
                    // Its voltages are not kept: they name no `Sensor`, so they would repeat one.
                    Ok(Some(p)) => {
                        let (psus, m, _) = shapes::legacy_power(&p, pb, &mut Budget::new(0));
                        (Field::Ok(psus), Some(Field::Ok(m)))
                    }
                    Ok(None) => (field(psus), None),
                    Err(e) => (field(Err(e.clone())), Some(field(Err(e)))),
                };
                let (sensors, power) = match members {
                    Ok(m) => {
                        let watts =
                            env_watts.or_else(|| m.iter().find_map(shapes::total_power_sensor));
                        let all = shapes::sensors_with_views(&m, metrics.as_ref(), &fans, sb);
                        if views_read && all.len() == m.len() && sb.dropped == 0 {
                            self.views_redundant.store(true, Ordering::Relaxed);
                        }
                        (
                            Field::Ok(all),
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
                    psus,
                    power: legacy_metrics.unwrap_or(power),
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

    /// The `ThermalMetrics` resource and the `Fan` resources of a `ThermalSubsystem`, fetched to
    /// find the readings a `Sensors` collection lacks. The fans are fetched within a budget of
    /// their own: only those kept count against the sensor budget.
    async fn thermal_views(
        &self,
        path: Option<&str>,
        expand: Option<&'static str>,
    ) -> Result<(Option<Value>, Vec<Value>), HalError> {
        let Some(doc) = self.get_opt(path).await? else {
            return Ok((None, Vec::new()));
        };
        let metrics = self
            .get_opt(shapes::link(&doc, "ThermalMetrics").as_deref())
            .await?;
        let fans = match shapes::link(&doc, "Fans") {
            Some(p) => {
                let mut scratch = Budget::new(self.limits.max_sensors);
                self.collection_expanded(&p, expand, &mut scratch).await?
            }
            None => Vec::new(),
        };
        Ok((metrics, fans))
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
