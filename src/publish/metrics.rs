//! Prometheus metrics. Per-BMC series are rendered at scrape time from the store by a `Collector`
//! (a BMC that vanishes from the store vanishes from `/metrics`, no cleanup); the poller's own
//! counters and histogram ([`PollStats`], owned by the poller) are ordinary registered metrics. Every metric is listed in
//! `docs/metrics.md`.

use std::sync::Arc;

use prometheus_client::registry::Registry;

use crate::poller::PollStats;
use crate::store::Store;

mod collector;
mod components;
mod gzip;
mod logs;
mod process;
mod text_format;

/// Builds the registry: self-metrics plus the scrape-time collector over `store`, which exports
/// at most `max_components_per_bmc` component series of one BMC (`[metrics]`).
pub fn registry(
    store: Arc<Store>,
    stats: Arc<PollStats>,
    max_components_per_bmc: usize,
) -> Registry {
    let mut r = Registry::default();
    stats.register(&mut r);
    r.register_collector(Box::new(collector::StoreCollector {
        store,
        stats,
        max_components_per_bmc,
    }));
    r
}

/// The exposition formats `/metrics` can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0`
    OpenMetrics,
    /// `text/plain; version=0.0.4`, what `promtool check metrics` and old scrapers read.
    Text,
}

impl Format {
    /// Chooses like client_golang: OpenMetrics only when the `Accept` header asks for it.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The size of the last exposition: the next one is written into a buffer that size (plus some),
/// instead of growing one by doubling (a 16 MB fleet would reallocate and copy up to 32 MB).
static LAST_RENDER_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Encodes the registry in `format` into `out`. The classic text is converted while it is written
/// ([`text_format::TextWriter`]), so a render holds one body, not the OpenMetrics text and a copy.
fn encode<W: std::fmt::Write>(
    registry: &Registry,
    format: Format,
    mut out: W,
) -> Result<W, std::fmt::Error> {
    match format {
        Format::OpenMetrics => {
            prometheus_client::encoding::text::encode(&mut out, registry)?;
            Ok(out)
        }
        Format::Text => {
            let mut w = text_format::TextWriter::new(out);
            prometheus_client::encoding::text::encode(&mut w, registry)?;
            w.finish()
        }
    }
}

/// Renders the registry in `format` as text.
pub fn render(registry: &Registry, format: Format) -> Result<String, std::fmt::Error> {
    use std::sync::atomic::Ordering;
    let last = LAST_RENDER_BYTES.load(Ordering::Relaxed);
    let out = encode(registry, format, String::with_capacity(last + last / 16))?;
    LAST_RENDER_BYTES.store(out.len(), Ordering::Relaxed);
    Ok(out)
}

/// Renders the registry in `format`, gzip-compressed while it is written: the render never holds
/// the text (69 MB at 200,000 BMCs), only its compressed form (a tenth of that or less).
pub fn render_gzip(registry: &Registry, format: Format) -> Result<Vec<u8>, std::fmt::Error> {
    let sink = encode(registry, format, gzip::Sink::new())?;
    sink.finish()
}

#[cfg(test)]
mod tests;
