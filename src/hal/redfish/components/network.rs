//! NIC ports of a Redfish poll: the system's `EthernetInterfaces`, and, when none of them gives a
//! link state (or the system links none), the ports of the chassis `NetworkAdapters`
//! (`Ports`, or the deprecated `NetworkPorts`), so `nic-link-down` has a link to watch. Members are
//! fetched only while one budget of [`MAX_COMPONENTS_PER_KIND`] ports admits them.

use super::parse;
use crate::hal::HalError;
use crate::hal::redfish::RedfishBmc;
use crate::model::{Budget, MAX_COMPONENTS_PER_KIND, NicPort};

impl RedfishBmc {
    /// The NIC ports; `None` when the system links no `EthernetInterfaces` and the chassis no
    /// `NetworkAdapters`. `adapters` is the chassis' `NetworkAdapters` collection.
    pub(super) async fn network(
        &self,
        sys: &serde_json::Value,
        adapters: Option<&str>,
    ) -> Result<Option<Vec<NicPort>>, HalError> {
        let interfaces = self
            .members_of(sys, "EthernetInterfaces", parse::nic_port)
            .await;
        let has_link = |ports: &Vec<NicPort>| ports.iter().any(|p| p.link.is_some());
        let Some(adapters) = adapters else {
            return interfaces;
        };
        match interfaces {
            Ok(Some(ports)) if has_link(&ports) => Ok(Some(ports)),
            Err(e) => Err(e),
            Ok(interfaces) => {
                let known = interfaces.as_ref().map_or(0, Vec::len);
                let mut budget = Budget::new(MAX_COMPONENTS_PER_KIND.saturating_sub(known));
                match self.adapter_ports(adapters, &mut budget).await {
                    Ok(more) => Ok(Some(interfaces.into_iter().flatten().chain(more).collect())),
                    // The interfaces read stand on their own.
                    Err(e) if interfaces.is_some() => {
                        tracing::warn!(bmc = %self.bmc(), error = %e, "network adapter ports read failed");
                        Ok(interfaces)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// The ports of every adapter in the `NetworkAdapters` collection at `path`, as many as
    /// `budget` admits.
    async fn adapter_ports(
        &self,
        path: &str,
        budget: &mut Budget,
    ) -> Result<Vec<NicPort>, HalError> {
        let mut adapter_budget = Budget::new(MAX_COMPONENTS_PER_KIND);
        let mut out = Vec::new();
        for adapter in self.collection(path, &mut adapter_budget).await? {
            if let Some(ports) = parse::adapter_ports_link(&adapter) {
                out.extend(
                    self.collection(&ports, budget)
                        .await?
                        .iter()
                        .map(parse::adapter_port),
                );
            }
        }
        Ok(out)
    }
}
