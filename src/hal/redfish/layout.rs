//! A Redfish BMC's layout: where its system, chassis and manager are, its thermal/power
//! [`Shape`] and its component links, found once by discovery (the service root, the first
//! system, its chassis and manager) or taken from the BMC's profile, and dropped when it proves
//! stale: a remembered system path answering 404 (found again in the same poll), a gone
//! thermal/power path or another BMC firmware version (found again at the next poll).

use serde_json::Value;

use super::{Environment, RedfishBmc, Shape, components, shapes};
use crate::hal::HalError;

#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub(super) system: String,
    pub(super) chassis: Option<String>,
    /// Where sessions are created, as the service root links it.
    pub(super) sessions_path: Option<String>,
    pub(super) reset_target: Option<String>,
    /// `ResetType@Redfish.AllowableValues`, empty when the BMC does not say.
    pub(super) reset_types: Vec<String>,
    /// The system has `LocationIndicatorActive` (newer) rather than `IndicatorLED`.
    pub(super) location_indicator: bool,
    pub(super) manager: Option<String>,
    pub(super) shape: Shape,
    /// Where the components not linked from the system are.
    pub(super) components: components::ComponentLinks,
}

impl RedfishBmc {
    pub(super) async fn first_member(&self, collection: &str) -> Result<String, HalError> {
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
    pub(super) async fn discover(&self) -> Result<(Layout, Value), HalError> {
        let root = self.session.get("/redfish/v1").await?;
        let sessions_path = root.get("Links").and_then(|l| shapes::link(l, "Sessions"));
        if let Some(p) = &sessions_path {
            self.session.set_sessions_path(p.clone()).await;
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
        let chassis_doc = match &chassis {
            Some(c) => Some(self.session.get(c).await?),
            None => None,
        };
        let expand = shapes::expand_query(&root);
        let shape = chassis_doc
            .as_ref()
            .map(|c| Shape::of_chassis(c, expand))
            .unwrap_or(Shape::None);
        let components = self.component_links(&root, chassis_doc.as_ref()).await;
        tracing::debug!(bmc = %self.bmc(), %system, ?shape, "redfish layout found");
        let layout = Layout {
            reset_target: shapes::reset_target(&sys_doc),
            reset_types: shapes::reset_types(&sys_doc),
            location_indicator: sys_doc.get("LocationIndicatorActive").is_some(),
            system,
            chassis,
            sessions_path,
            manager,
            shape,
            components,
        };
        Ok((layout, sys_doc))
    }

    /// The remembered layout, discovering it on first use. Also returns the system document when
    /// discovery just fetched it.
    pub(super) async fn layout(&self) -> Result<(Layout, Option<Value>), HalError> {
        let mut guard = self.layout.lock().await;
        if let Some(l) = guard.as_deref() {
            return Ok((l.clone(), None));
        }
        if let Some(l) = self.remembered_layout() {
            if let Some(p) = &l.sessions_path {
                self.session.set_sessions_path(p.clone()).await;
            }
            self.restored
                .store(true, std::sync::atomic::Ordering::Relaxed);
            *guard = Some(Box::new(l.clone()));
            return Ok((l, None));
        }
        let (l, sys) = self.discover().await?;
        self.remember_layout(&l, &sys);
        *guard = Some(Box::new(l.clone()));
        Ok((l, Some(sys)))
    }

    /// The layout and this poll's system document. A system path remembered from the profile that
    /// is gone (404) makes the layout found again, in this poll.
    pub(super) async fn layout_and_system(
        &self,
    ) -> Result<(Layout, Result<Value, HalError>), HalError> {
        let (layout, doc) = self.layout().await?;
        if let Some(doc) = doc {
            return Ok((layout, Ok(doc)));
        }
        let sys = self.session.get(&layout.system).await;
        if matches!(sys, Err(HalError::Unsupported { .. }))
            && self.restored.load(std::sync::atomic::Ordering::Relaxed)
        {
            tracing::info!(bmc = %self.bmc(), system = %layout.system, "the remembered redfish layout is stale; finding it again");
            self.forget_layout().await;
            let (layout, doc) = self.layout().await?;
            let sys = match doc {
                Some(doc) => Ok(doc),
                None => self.session.get(&layout.system).await,
            };
            return Ok((layout, sys));
        }
        Ok((layout, sys))
    }

    /// Drops the layout, here and in the profile (where this process may have noted it: a
    /// backend built later would otherwise start from the same stale layout).
    pub(super) async fn forget_layout(&self) {
        self.forget_remembered_layout();
        *self.layout.lock().await = None;
        self.views_redundant
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// After a poll: notes what it showed in the profile, and drops a layout that is stale (the
    /// BMC firmware changed; a remembered thermal/power path is gone), found again next poll.
    pub(super) async fn check_profile(
        &self,
        layout: &Layout,
        manager: &Result<Option<Value>, HalError>,
        env: &Environment,
    ) {
        let fw = manager
            .as_ref()
            .ok()
            .and_then(Option::as_ref)
            .and_then(shapes::manager_firmware);
        let firmware_changed = self.note_poll(fw).await;
        let shape_gone = self.restored.load(std::sync::atomic::Ordering::Relaxed)
            && layout.shape != Shape::None
            && env
                .sensors
                .err()
                .is_some_and(|e| e.kind == crate::model::ErrorKind::Unsupported);
        if firmware_changed || shape_gone {
            tracing::info!(bmc = %self.bmc(), firmware_changed, shape_gone, "the redfish layout is stale; found again at the next poll");
            self.forget_layout().await;
        }
    }
}
