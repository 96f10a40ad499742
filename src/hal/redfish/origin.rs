//! Where one Redfish BMC's requests may go: its own origin (scheme, address, port) and nowhere else.
//!
//! Every path a BMC hands us (`@odata.id` links, action targets, the service root's session path,
//! a `Location` header) becomes a URL only through [`Origin::url`]. A reference that is not a plain
//! absolute path (`/redfish/...`) is refused, so a BMC cannot turn a link such as
//! `@10.0.0.9:443/x` (URL userinfo), `//10.0.0.9/x` or `https://10.0.0.9/x` into a request, with
//! our token or password, to another host. Refusals are counted ([`refused_total`]).

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Url;

/// The longest reference taken from a BMC (Redfish URIs are well under 200 bytes).
const MAX_REFERENCE: usize = 1024;

static REFUSED: AtomicU64 = AtomicU64::new(0);

/// How many references from BMCs this process refused since it started.
pub fn refused_total() -> u64 {
    REFUSED.load(Ordering::Relaxed)
}

/// Why a reference from a BMC was refused. Shows the reference shortened and escaped: it is
/// BMC-chosen text and ends up in logs and snapshots.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused the path {shown} the BMC gave: {why}")]
pub struct Refused {
    shown: String,
    why: &'static str,
}

/// One BMC's origin.
#[derive(Debug, Clone)]
pub struct Origin {
    base: Url,
}

impl Origin {
    /// `scheme://host:port`, `host` an IP address (IPv6 in brackets).
    pub fn new(scheme: &str, host: &str, port: u16) -> Result<Origin, String> {
        Url::parse(&format!("{scheme}://{host}:{port}/"))
            .map(|base| Origin { base })
            .map_err(|e| format!("{scheme}://{host}:{port}: {e}"))
    }

    /// `scheme://host:port`: the BMC's name in the session journal.
    pub fn key(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The URL of a path a BMC gave, on this origin, or the reason it is refused. The fragment
    /// (`#/Temperatures/0`) is dropped: it is never sent.
    pub fn url(&self, reference: &str) -> Result<Url, Refused> {
        let refuse = |why| {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            Err(Refused {
                shown: shown(reference),
                why,
            })
        };
        let reference = reference.split('#').next().unwrap_or_default();
        if reference.len() > MAX_REFERENCE {
            return refuse("longer than 1024 bytes");
        }
        if !reference.starts_with('/') || reference.starts_with("//") {
            return refuse("not an absolute path on the BMC");
        }
        if let Some(why) = bad_character(reference) {
            return refuse(why);
        }
        let path = reference.split('?').next().unwrap_or_default();
        if path.split('/').any(is_dot_segment) {
            return refuse("a . or .. segment");
        }
        let Ok(url) = self.base.join(reference) else {
            return refuse("not a URL path");
        };
        if !self.same_origin(&url) {
            return refuse("leads to another host");
        }
        Ok(url)
    }

    /// Whether an HTTP redirect from `from` to `to` may be followed: only on the same origin
    /// (a refused one is counted).
    pub fn may_redirect(from: &Url, to: &Url) -> bool {
        let same = Origin { base: from.clone() }.same_origin(to);
        if !same {
            REFUSED.fetch_add(1, Ordering::Relaxed);
        }
        same
    }

    /// The path of a `Location` header: an absolute path, or an absolute URL on this origin.
    pub fn location(&self, header: &str) -> Result<Url, Refused> {
        match Url::parse(header) {
            Ok(url) if self.same_origin(&url) => self.url(&Origin::path_of(&url)),
            Ok(_) => {
                REFUSED.fetch_add(1, Ordering::Relaxed);
                Err(Refused {
                    shown: shown(header),
                    why: "another origin",
                })
            }
            Err(_) => self.url(header),
        }
    }

    /// Same scheme, host and port, and no userinfo.
    pub fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host() == self.base.host()
            && url.port_or_known_default() == self.base.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none()
    }

    /// The path (and query) of a URL on this origin, as requests and errors name it.
    pub fn path_of(url: &Url) -> String {
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }
}

/// Only printable ASCII without `\` and `@`: no whitespace or control bytes that reshape a request
/// line, no backslash that some parsers read as `/`, no `@` that could start userinfo.
fn bad_character(reference: &str) -> Option<&'static str> {
    reference.bytes().find_map(|b| match b {
        b'@' => Some("an @"),
        b'\\' => Some("a backslash"),
        0x21..=0x7e => None,
        _ => Some("a space, control or non-ASCII byte"),
    })
}

/// `.`, `..` and their percent-encoded spellings, which URL parsers resolve.
fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase().replace("%2e", ".");
    lower == "." || lower == ".."
}

/// A BMC-given reference for a message: at most 80 characters, escaped.
fn shown(reference: &str) -> String {
    let mut s: String = reference.chars().take(80).collect();
    if s.len() < reference.len() {
        s.push('…');
    }
    format!("{s:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::new("https", "10.1.2.3", 443).expect("origin")
    }

    #[test]
    fn plain_paths_stay_on_the_origin() {
        let o = origin();
        for p in [
            "/redfish/v1",
            "/redfish/v1/Systems/1",
            "/redfish/v1/Systems/",
            "/redfish/v1/Chassis/1/Sensors?$expand=.($levels=1)",
            "/redfish/v1/Chassis/1/Thermal#/Temperatures/0",
            "/redfish/v1/Systems/System.Embedded.1",
        ] {
            let url = o.url(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(url.host_str(), Some("10.1.2.3"), "{p}");
            assert!(Origin::path_of(&url).starts_with("/redfish/v1"), "{p}");
            assert!(!Origin::path_of(&url).contains('#'), "{p}");
        }
    }

    #[test]
    fn references_to_another_host_are_refused() {
        let o = origin();
        let before = refused_total();
        for p in [
            "@127.0.0.99:9443/x",
            "//127.0.0.99:9443/x",
            "https://127.0.0.99:9443/x",
            "http://10.1.2.3:443/x",
            "/\\127.0.0.99/x",
            "\\\\127.0.0.99/x",
            "/x@127.0.0.99/y",
            "redfish/v1",
            "",
            "/redfish/v1/../../x",
            "/redfish/v1/%2E%2e/x",
            "/redfish/./v1",
            "/redfish/v1\r\nHost: evil",
            "/redfish/v1/ü",
        ] {
            let e = o.url(p).expect_err(p);
            assert!(e.to_string().starts_with("refused the path"), "{p}: {e}");
        }
        assert!(refused_total() >= before + 14);
        assert!(o.url(&format!("/{}", "a".repeat(2000))).is_err());
    }

    #[test]
    fn a_location_may_be_absolute_on_the_same_origin_only() {
        let o = origin();
        let url = o
            .location("https://10.1.2.3/redfish/v1/SessionService/Sessions/7")
            .expect("same origin");
        assert_eq!(
            Origin::path_of(&url),
            "/redfish/v1/SessionService/Sessions/7"
        );
        assert!(o.location("/redfish/v1/SessionService/Sessions/7").is_ok());
        assert!(o.location("https://10.1.2.4/redfish/v1/x").is_err());
        assert!(o.location("https://u:p@10.1.2.3/redfish/v1/x").is_err());
    }

    #[test]
    fn redirects_stay_on_the_origin() {
        let from = Url::parse("https://10.1.2.3/redfish/v1/Systems").expect("url");
        let to = |u: &str| Url::parse(u).expect("url");
        assert!(Origin::may_redirect(
            &from,
            &to("https://10.1.2.3:443/redfish/v1/Systems/")
        ));
        assert!(!Origin::may_redirect(
            &from,
            &to("https://10.1.2.4/redfish/v1")
        ));
        assert!(!Origin::may_redirect(
            &from,
            &to("http://10.1.2.3/redfish/v1")
        ));
        assert!(!Origin::may_redirect(
            &from,
            &to("https://a@10.1.2.3/redfish/v1")
        ));
    }

    #[test]
    fn refusals_show_the_reference_short_and_escaped() {
        let e = origin()
            .url(&format!("@\n{}", "x".repeat(500)))
            .expect_err("refused");
        let text = e.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.len() < 200, "{text}");
    }
}
