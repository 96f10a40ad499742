//! `/metrics` bodies shared between scrapes: one render per format at a time, off the async
//! workers (`spawn_blocking`), gzip-compressed while it is written and kept as [`Bytes`] for
//! [`MAX_AGE`] so concurrent or back-to-back scrapes (an HA pair of Prometheus servers, 50 slow
//! readers) share one buffer instead of each holding its own copy until the client has read it.
//! After that the daemon lets go of it; clients still reading keep theirs. A 200,000-BMC fleet's
//! text is 69 MB, its compressed body a few MB. Clients that accept gzip (Prometheus does) get
//! the body as it is; [`gunzip`] streams the text to the others a chunk at a time.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use prometheus_client::registry::Registry;
use tokio::time::Instant;

use crate::publish::metrics::{Format, render_gzip};

/// How long a rendered body is served again after its render finished. Well under any scrape
/// interval. Scrapes that arrive during a render wait for it and take its body, however long it took.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Why `/metrics` has no body to serve.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot encode the metrics")]
    Encode(#[from] std::fmt::Error),
    #[error("the render task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

#[derive(Debug, Clone)]
struct Rendered {
    /// When the render finished.
    at: Instant,
    /// Counts renders: a scrape that waited for a render takes its body however long it took.
    generation: u64,
    /// `None` once [`MAX_AGE`] has passed: released, not served again.
    body: Option<Bytes>,
}

/// The last body of one format, and the turn to render the next.
#[derive(Debug, Default)]
struct Slot {
    /// Shared with the task that releases the body after [`MAX_AGE`].
    last: Arc<std::sync::Mutex<Option<Rendered>>>,
    turn: tokio::sync::Mutex<()>,
}

fn lock(last: &std::sync::Mutex<Option<Rendered>>) -> std::sync::MutexGuard<'_, Option<Rendered>> {
    last.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slot {
    fn last(&self) -> std::sync::MutexGuard<'_, Option<Rendered>> {
        lock(&self.last)
    }

    /// The last body if younger than [`MAX_AGE`] or rendered after `seen` (the generation a
    /// waiting scrape saw when it arrived); and the generation of the last render.
    fn fresh(&self, now: Instant, seen: Option<u64>) -> (Option<Bytes>, u64) {
        let last = self.last();
        let Some(r) = last.as_ref() else {
            return (None, 0);
        };
        let newer = seen.is_some_and(|g| r.generation > g);
        let young = now.duration_since(r.at) < MAX_AGE;
        let body = (newer || young).then(|| r.body.clone()).flatten();
        (body, r.generation)
    }
}

/// The registry and its recent bodies.
#[derive(Debug)]
pub struct Exposition {
    registry: Arc<Registry>,
    open_metrics: Slot,
    text: Slot,
}

impl Exposition {
    pub fn new(registry: Registry) -> Exposition {
        Exposition {
            registry: Arc::new(registry),
            open_metrics: Slot::default(),
            text: Slot::default(),
        }
    }

    /// The gzip-compressed body in `format`: the last one if it is younger than [`MAX_AGE`], else
    /// a new render. Scrapes that arrive during a render wait for it and take its body.
    pub async fn body(&self, format: Format) -> Result<Bytes, RenderError> {
        let slot = match format {
            Format::OpenMetrics => &self.open_metrics,
            Format::Text => &self.text,
        };
        let (body, seen) = slot.fresh(Instant::now(), None);
        if let Some(b) = body {
            return Ok(b);
        }
        let _turn = slot.turn.lock().await;
        // A render finished while this scrape waited: its body, even if the render took long.
        if let (Some(b), _) = slot.fresh(Instant::now(), Some(seen)) {
            return Ok(b);
        }
        let registry = self.registry.clone();
        let started = Instant::now();
        let body = tokio::task::spawn_blocking(move || render_gzip(&registry, format)).await??;
        let body = Bytes::from(body);
        tracing::debug!(
            bytes = body.len(),
            ms = started.elapsed().as_millis() as u64,
            ?format,
            "metrics rendered"
        );
        let generation = {
            let mut last = slot.last();
            let generation = last.as_ref().map_or(1, |r| r.generation + 1);
            *last = Some(Rendered {
                at: Instant::now(),
                generation,
                body: Some(body.clone()),
            });
            generation
        };
        // Let go of the body once it is too old to serve (unless a newer render replaced it).
        let held = slot.last.clone();
        tokio::spawn(async move {
            tokio::time::sleep(MAX_AGE).await;
            if let Some(r) = lock(&held).as_mut().filter(|r| r.generation == generation) {
                r.body = None;
            }
        });
        Ok(body)
    }
}

/// The text of a gzip body, a chunk at a time, for a client that does not accept gzip: each chunk
/// is decompressed when the client has taken the one before, so a slow reader holds a chunk and
/// the decompressor's window, not the text, and no thread (a chunk is well under a millisecond
/// of work on the async worker).
pub fn gunzip(body: Bytes) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    use std::io::Read;
    const CHUNK: usize = 64 * 1024;
    let text = flate2::read::GzDecoder::new(std::io::Cursor::new(body));
    futures::stream::unfold(Some(text), |state| async move {
        let mut text = state?;
        let mut buf = vec![0u8; CHUNK];
        match text.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(text)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    /// The text of a gzip body.
    fn text(gz: &Bytes) -> String {
        use std::io::Read;
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .expect("a gzip body");
        out
    }

    #[tokio::test]
    async fn a_client_without_gzip_gets_the_same_text_in_chunks() {
        use futures::StreamExt;
        let mut r = Registry::default();
        // Enough series for several chunks.
        let family =
            prometheus_client::metrics::family::Family::<Vec<(String, String)>, Counter>::default();
        for i in 0..20_000 {
            family
                .get_or_create(&vec![(
                    "mac".to_string(),
                    format!("02:00:00:00:{:02x}:{:02x}", i / 256, i % 256),
                )])
                .inc();
        }
        r.register("polls", "Polls", family);
        let e = Exposition::new(r);
        let gz = e.body(Format::Text).await.expect("render");
        let chunks: Vec<Bytes> = gunzip(gz.clone())
            .map(|c| c.expect("a chunk"))
            .collect()
            .await;
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        let plain: Vec<u8> = chunks.concat();
        assert_eq!(String::from_utf8(plain).expect("utf-8"), text(&gz));
        assert!(text(&gz).contains("polls_total{mac=\"02:00:00:00:4e:1f\"} 1"));
    }

    #[tokio::test]
    async fn a_broken_body_ends_the_stream_with_an_error() {
        use futures::StreamExt;
        let items: Vec<_> = gunzip(Bytes::from_static(b"not gzip")).collect().await;
        assert!(items.last().is_some_and(|i| i.is_err()), "{items:?}");
    }

    #[tokio::test]
    async fn scrapes_within_the_max_age_share_one_body() {
        let mut r = Registry::default();
        let c: Counter = Counter::default();
        r.register("renders_seen", "A counter", c.clone());
        let e = Exposition::new(r);
        let a = e.body(Format::Text).await.expect("render");
        c.inc();
        let b = e.body(Format::Text).await.expect("cached");
        // The same buffer, not a copy, and the value of the first render.
        assert_eq!(a.as_ptr(), b.as_ptr());
        assert!(text(&b).contains("renders_seen_total 0"));
        // The other format is its own render.
        let om = e.body(Format::OpenMetrics).await.expect("om");
        assert!(text(&om).contains("renders_seen_total 1"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_body_is_rendered_again() {
        let mut r = Registry::default();
        let c: Counter = Counter::default();
        r.register("renders_seen", "A counter", c.clone());
        let e = Exposition::new(r);
        e.body(Format::Text).await.expect("render");
        c.inc();
        tokio::time::advance(MAX_AGE).await;
        let b = e.body(Format::Text).await.expect("render again");
        assert!(text(&b).contains("renders_seen_total 1"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_body_is_let_go_of_after_its_max_age() {
        let mut r = Registry::default();
        r.register("renders_seen", "A counter", Counter::<u64>::default());
        let e = Exposition::new(r);
        let a = e.body(Format::Text).await.expect("render");
        assert!(e.text.last().as_ref().is_some_and(|r| r.body.is_some()));
        tokio::time::sleep(MAX_AGE + Duration::from_millis(10)).await;
        tokio::task::yield_now().await;
        assert!(
            e.text.last().as_ref().is_some_and(|r| r.body.is_none()),
            "the daemon still holds an idle body"
        );
        // The scrape that got it still has it; the next one renders anew.
        assert!(!a.is_empty());
        let b = e.body(Format::Text).await.expect("render");
        assert_ne!(a.as_ptr(), b.as_ptr());
    }
}
