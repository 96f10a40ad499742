//! The scrape-time collector: renders every BMC's newest snapshot from the store as gauge families
//! (`bmc_up`, `bmc_temperature_celsius`, `bmc_psu_health`, `bmc_issue`, ...) at each scrape, so a BMC
//! that leaves the store leaves /metrics with no cleanup. Families without samples are not written.

use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use crate::model::BmcSnapshot;
use crate::poller::PollStats;
use crate::store::Store;

mod families;

use families::families;

type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
pub(super) struct StoreCollector {
    pub(super) store: Arc<Store>,
    pub(super) stats: Arc<PollStats>,
    /// `[metrics] max-components-per-bmc`.
    pub(super) max_components_per_bmc: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({} BMCs)", self.len())
    }
}

/// Receives one sample: its labels and value.
type Emit<'a> = dyn FnMut(Labels, f64) + 'a;

/// One gauge family: the samples one BMC's snapshot contributes to it. `name` is without the unit:
/// the encoder appends `_<unit>`.
struct Family {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    samples: fn(&BmcSnapshot, &mut Emit<'_>),
}

impl Family {
    fn new(
        name: &'static str,
        help: &'static str,
        unit: Option<Unit>,
        samples: fn(&BmcSnapshot, &mut Emit<'_>),
    ) -> Self {
        Family {
            name,
            help,
            unit,
            samples,
        }
    }

    /// Writes the family, one snapshot at a time: the labels of a sample live only until it is
    /// written, so a scrape of 10,000 BMCs holds the output text, not 200,000 label sets. A family
    /// without samples is not written.
    fn encode(
        &self,
        snaps: &[Arc<BmcSnapshot>],
        encoder: &mut DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        let has_samples = snaps.iter().any(|s| {
            let mut any = false;
            (self.samples)(s, &mut |_, _| any = true);
            any
        });
        if !has_samples {
            return Ok(());
        }
        let mut m = encoder.encode_descriptor(
            self.name,
            self.help,
            self.unit.as_ref(),
            MetricType::Gauge,
        )?;
        let mut result = Ok(());
        for s in snaps {
            (self.samples)(s, &mut |labels, v| {
                if result.is_ok() {
                    result = m
                        .encode_family(&labels)
                        .and_then(|e| ConstGauge::new(v).encode(e));
                }
            });
            result?;
        }
        Ok(())
    }
}

impl prometheus_client::collector::Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snaps: Vec<Arc<BmcSnapshot>> = self
            .store
            .entries()
            .into_iter()
            .filter_map(|e| e.snapshot)
            .collect();
        for family in families() {
            family.encode(&snaps, &mut encoder)?;
        }
        super::logs::encode(&snaps, &mut encoder)?;
        super::components::encode(&snaps, &mut encoder, self.max_components_per_bmc)?;
        let t = self.stats.last_poll_ms();
        if t > 0 {
            let mut m = encoder.encode_descriptor(
                "bmc_catcher_last_poll_timestamp",
                "When the newest poll of any BMC started",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?;
            let no_labels: Labels = Vec::new();
            ConstGauge::new(t as f64 / 1000.0).encode(m.encode_family(&no_labels)?)?;
        }
        let mut m = encoder.encode_descriptor(
            "bmc_catcher_redfish_refused_paths",
            "Paths from Redfish BMCs refused because they lead off the BMC (links, session paths, Location headers, redirects)",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(crate::hal::redfish::refused_paths_total())
            .encode(m.encode_family(&Vec::<(&str, String)>::new())?)?;
        info(
            &mut encoder,
            "bmc_catcher_build",
            "The bmc-catcher version that serves these metrics (always 1)",
            vec![("version", env!("CARGO_PKG_VERSION").to_string())],
        )?;
        info(
            &mut encoder,
            "bmc_catcher_partition",
            "The partition this catcher serves, from its config (always 1)",
            vec![("partition", self.store.partition().to_string())],
        )?;
        super::process::encode(&mut encoder)
    }
}

/// An info metric: one sample of 1 with `labels` (written as the gauge `<name>_info`).
fn info(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    labels: Labels,
) -> Result<(), std::fmt::Error> {
    let m = encoder.encode_descriptor(name, help, None, MetricType::Info)?;
    prometheus_client::metrics::info::Info::new(labels).encode(m)
}
