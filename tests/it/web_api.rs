//! What an HTTP client of the daemon sees: the landing page at `/`, JSON errors from the API, and
//! with `[http] web-config-file` (the exporter-toolkit format) TLS and basic auth in front of
//! everything but `/healthz` and `/readyz`.

use bmc_catcher::daemon::Daemon;
use bmc_catcher::publish::http::errors::ApiError;

use crate::common::TestBed;

#[tokio::test]
async fn the_landing_page_links_the_endpoints_and_api_errors_are_json() {
    let bed = TestBed::new().start().await;
    let daemon = Daemon::start(&bed.config(), bed.credentials())
        .await
        .expect("daemon");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let base = format!("http://{}", daemon.addr);

    let landing = http.get(format!("{base}/")).send().await.expect("GET /");
    assert_eq!(landing.status(), 200);
    assert!(
        landing.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    let page = landing.text().await.expect("body");
    for link in [
        "href=\"metrics\"",
        "href=\"api/v1/bmcs\"",
        "partition <b>test</b>",
    ] {
        assert!(
            page.to_lowercase().contains(&link.to_lowercase()),
            "{link}: {page}"
        );
    }

    let hostile = "z".repeat(5000);
    for (path, status, says) in [
        (
            "/api/v1/bmcs/not-a-mac",
            400,
            "not a MAC address: not-a-mac",
        ),
        (
            "/api/v1/bmcs/02:00:00:00:99:99",
            404,
            "no BMC with MAC 02:00:00:00:99:99",
        ),
        ("/api/v1/bmcs?limit=0", 400, "limit must be at least 1"),
        ("/api/v1/bmcs?limit=many", 400, "limit (a number)"),
        ("/api/v1/nothing", 404, "no such path: /api/v1/nothing"),
        (
            &format!("/api/v1/bmcs/{hostile}"),
            400,
            "not a MAC address: zzz",
        ),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.expect("GET");
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        let body: ApiError = r.json().await.expect("a JSON error");
        assert_eq!(body.status, status, "{path}");
        assert!(body.error.contains(says), "{path}: {body:?}");
        // A hostile path is not echoed whole.
        assert!(body.error.len() < 200, "{path}: {} bytes", body.error.len());
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_config_puts_tls_and_basic_auth_in_front_of_metrics_and_api() {
    let bed = TestBed::new().start().await;
    let dir = bed.dir.path();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
    std::fs::write(dir.join("tls.crt"), ck.cert.pem()).expect("cert");
    std::fs::write(dir.join("tls.key"), ck.signing_key.serialize_pem()).expect("key");
    // The form `htpasswd -nBC 4` writes; cost 4 keeps the test fast.
    let hash = bcrypt::hash_with_salt("scrape-pass", 4, [3; 16])
        .expect("hash")
        .format_for_version(bcrypt::Version::TwoY);
    std::fs::write(
        dir.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: {hash}\n"
        ),
    )
    .expect("web config");
    let mut cfg = bed.config();
    cfg.http.web_config_file = Some(dir.join("web.yml"));
    let daemon = Daemon::start(&cfg, bed.credentials())
        .await
        .expect("daemon");
    let ca = reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).expect("ca");
    let https = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(ca)
        .build()
        .expect("client");
    let base = format!("https://{}", daemon.addr);

    // Health checks need no password.
    let health = https
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    for path in ["/metrics", "/api/v1/bmcs", "/", "/api/v1/nothing"] {
        let anonymous = https
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(anonymous.status(), 401, "{path}");
        assert!(
            anonymous.headers()["www-authenticate"]
                .to_str()
                .expect("challenge")
                .starts_with("Basic realm="),
            "{path}"
        );
        let wrong = https
            .get(format!("{base}{path}"))
            .basic_auth("prometheus", Some("guess"))
            .send()
            .await
            .expect("GET");
        assert_eq!(wrong.status(), 401, "{path}");
        let unknown = https
            .get(format!("{base}{path}"))
            .basic_auth("nobody", Some("scrape-pass"))
            .send()
            .await
            .expect("GET");
        assert_eq!(unknown.status(), 401, "{path}");
    }
    let metrics = https
        .get(format!("{base}/metrics"))
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .expect("body")
            .contains("bmc_catcher_build_info")
    );
    let api = https
        .get(format!("{base}/api/v1/bmcs"))
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), 200);

    // The views read the guarded API: the CA by --api-ca, the password from the environment.
    std::fs::write(dir.join("ca.pem"), ck.cert.pem()).expect("ca");
    let status = |password: Option<&str>| {
        let mut cmd = std::process::Command::new(crate::common::bin());
        cmd.args([
            "status",
            "--api",
            &base,
            "--api-user",
            "prometheus",
            "--api-ca",
        ])
        .arg(dir.join("ca.pem"))
        .env_remove("BMC_CATCHER_API_PASSWORD");
        if let Some(p) = password {
            cmd.env("BMC_CATCHER_API_PASSWORD", p);
        }
        cmd.output().expect("status")
    };
    let (good, wrong, none) = tokio::task::block_in_place(|| {
        (
            status(Some("scrape-pass")),
            status(Some("guess")),
            status(None),
        )
    });
    let text = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        text.starts_with("MAC ") && text.lines().count() == 2,
        "{text}"
    );
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success() && err.contains("401"), "{err}");
    assert!(!err.contains("guess"), "the password leaked: {err}");
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(
        !none.status.success() && err.contains("BMC_CATCHER_API_PASSWORD"),
        "{err}"
    );

    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("http://{}/metrics", daemon.addr))
        .send()
        .await;
    assert!(
        plain.map_or(true, |r| !r.status().is_success()),
        "plain HTTP was served"
    );
    daemon.stop().await;
}

#[tokio::test]
async fn a_web_config_that_cannot_be_used_stops_the_start() {
    let bed = TestBed::new().start().await;
    let dir = bed.dir.path();
    std::fs::write(
        dir.join("web.yml"),
        "basic_auth_users:\n  prometheus: plain-text-password\n",
    )
    .expect("web config");
    let mut cfg = bed.config();
    cfg.http.web_config_file = Some(dir.join("web.yml"));
    let e = Daemon::start(&cfg, bed.credentials())
        .await
        .err()
        .expect("a clear password is refused");
    let msg = format!("{e:#}");
    assert!(msg.contains("basic_auth_users.prometheus"), "{msg}");
    assert!(!msg.contains("plain-text-password"), "{msg}");
}
