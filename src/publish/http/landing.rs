//! `/`: a small HTML page naming the catcher's partition and version and linking its endpoints, as
//! every Prometheus exporter has, so an operator who opens the port in a browser finds their way.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;

use super::ApiState;

pub async fn page(State(state): State<Arc<ApiState>>) -> Html<String> {
    Html(render(state.store.partition(), env!("CARGO_PKG_VERSION")))
}

/// The page for `partition` (checked by the config: letters, digits, `-`, `_`; escaped anyway).
pub fn render(partition: &str, version: &str) -> String {
    let partition = escape(partition);
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bmc-catcher {partition}</title></head>\n<body>\n\
         <h1>bmc-catcher</h1>\n<p>Partition <b>{partition}</b>, version {version}.</p>\n<ul>\n\
         <li><a href=\"metrics\">/metrics</a>: Prometheus metrics</li>\n\
         <li><a href=\"api/v1/bmcs\">/api/v1/bmcs</a>: every BMC's newest snapshot (JSON; <code>/api/v1/bmcs/{{mac}}</code> for one)</li>\n\
         <li><a href=\"healthz\">/healthz</a>: the process answers</li>\n\
         <li><a href=\"readyz\">/readyz</a>: ready to serve</li>\n\
         </ul>\n</body></html>\n"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_links_every_endpoint_and_escapes() {
        let p = super::render("rack<1>", "1.2.3");
        for link in [
            "href=\"metrics\"",
            "href=\"api/v1/bmcs\"",
            "href=\"healthz\"",
            "href=\"readyz\"",
        ] {
            assert!(p.contains(link), "{link} missing: {p}");
        }
        assert!(p.contains("rack&lt;1&gt;") && !p.contains("rack<1>"), "{p}");
    }
}
