//! The BMC-log metrics, rendered from each snapshot's log part at scrape time:
//! `bmc_log_entries_total{mac,severity}` (new entries seen since the daemon started; the message
//! never becomes a label) and `bmc_sel_used_ratio{mac}` (the SEL's fill level, 0-1).

use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::model::{BmcSnapshot, LogSeverity};

/// Writes both families; a family without samples is not written.
pub(super) fn encode(
    snaps: &[Arc<BmcSnapshot>],
    encoder: &mut DescriptorEncoder,
) -> Result<(), std::fmt::Error> {
    let logs: Vec<(String, &crate::model::Logs)> = snaps
        .iter()
        .filter_map(|s| s.reading.logs.as_deref().map(|l| (s.mac.to_string(), l)))
        .collect();
    if logs.is_empty() {
        return Ok(());
    }
    let mut m = encoder.encode_descriptor(
        "bmc_log_entries",
        "New entries in the BMC's own event log (IPMI SEL, Redfish LogService) since the daemon started, by severity",
        None,
        MetricType::Counter,
    )?;
    for (mac, l) in &logs {
        for sev in LogSeverity::ALL {
            let labels = [("mac", mac.clone()), ("severity", sev.as_str().to_string())];
            ConstCounter::new(l.counts.get(sev)).encode(m.encode_family(&labels)?)?;
        }
    }
    if logs.iter().any(|(_, l)| l.sel_used_ratio.is_some()) {
        let mut m = encoder.encode_descriptor(
            "bmc_sel_used_ratio",
            "Share of the BMC's System Event Log in use (0-1); sel-almost-full above 0.9",
            None,
            MetricType::Gauge,
        )?;
        for (mac, l) in &logs {
            if let Some(r) = l.sel_used_ratio {
                ConstGauge::new(r).encode(m.encode_family(&[("mac", mac.clone())])?)?;
            }
        }
    }
    Ok(())
}
