//! Where `status`, `issues` and `trust` get the fleet: the daemon's JSON API (`--api`, default the
//! local listener) or, for a fleet-wide view across partitions, the NATS KV bucket (`--nats`); and
//! how they print data (`-o json|yaml`).

use std::io::IsTerminal;

use anyhow::Context;
use futures::StreamExt;

use crate::cli::table::{self as views, Row, Style};
use crate::config::{Config, Credentials};
use crate::model::{BmcSnapshot, MacAddr};
use crate::publish::http::{BmcView, pages};

#[derive(Debug, Clone, clap::Args)]
pub struct Source {
    /// The daemon's base URL (default: http://<[http] listen>, else http://127.0.0.1:9742).
    #[arg(long)]
    pub api: Option<String>,
    /// Read the NATS KV instead (every partition's catcher).
    #[arg(long)]
    pub nats: Option<String>,
    /// The CA (PEM) that issued the certificate of an `https://` --api (`[http] web-config-file`).
    #[arg(long)]
    pub api_ca: Option<std::path::PathBuf>,
    /// The user for the API's basic auth; the password is taken from $BMC_CATCHER_API_PASSWORD
    /// (never from the command line).
    #[arg(long)]
    pub api_user: Option<String>,
    #[command(flatten)]
    pub config: super::ViewConfig,
    /// Only this partition.
    #[arg(long)]
    pub partition: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    Mac,
    Ip,
    Power,
    Watts,
    Temp,
    Age,
    Issues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PowerFilter {
    On,
    Off,
    Unknown,
}

/// The fleet as rows, from the API or the KV.
pub async fn fetch(source: &Source) -> anyhow::Result<Vec<Row>> {
    let config = source.config.load()?;
    let mut rows = match &source.nats {
        Some(url) => {
            let creds = super::ViewConfig::nats_credentials(&config)?;
            from_kv(url, &config, &creds).await?
        }
        None => {
            let base = api_base(source, &config);
            let client = api_client(source)?;
            let views = from_api(&client, &base, pages::MAX_LIMIT).await?;
            views
                .into_iter()
                .map(|v| Row {
                    partition: v
                        .snapshot
                        .as_ref()
                        .map(|s| s.partition.to_string())
                        .unwrap_or_else(|| config.partition.clone()),
                    mac: v.target.mac.to_string(),
                    ip: v.target.ip.to_string(),
                    snapshot: v.snapshot.map(std::sync::Arc::unwrap_or_clone),
                    catcher: None,
                })
                .collect()
        }
    };
    if let Some(p) = &source.partition {
        rows.retain(|r| &r.partition == p);
    }
    Ok(rows)
}

/// The daemon's base URL, without a trailing `/`: `--api`, else `http://<[http] listen>`.
fn api_base(source: &Source, config: &Config) -> String {
    let base = source.api.clone().unwrap_or_else(|| {
        let mut a = config.http.listen;
        if a.ip().is_unspecified() {
            a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{a}")
    });
    base.trim_end_matches('/').to_string()
}

/// One BMC: `GET /api/v1/bmcs/{mac}` of the daemon, or its key in the NATS KV (`--nats`; the
/// partition of `--partition`, else the config's); with its capability profile when the daemon
/// knows one (from the API, or the profiles bucket).
pub async fn fetch_one(
    source: &Source,
    mac: MacAddr,
) -> anyhow::Result<(Row, Option<crate::model::Profile>)> {
    let profile;
    let config = source.config.load()?;
    let partition = source.partition.clone().unwrap_or(config.partition.clone());
    let snapshot = match &source.nats {
        Some(url) => {
            let creds = super::ViewConfig::nats_credentials(&config)?;
            let js = jetstream(url, &config, &creds).await?;
            let kv = js
                .get_key_value(&config.nats.kv_bucket)
                .await
                .with_context(|| format!("no KV bucket {}", config.nats.kv_bucket))?;
            let key = crate::publish::nats::kv_key(&partition, mac);
            let v = kv
                .get(&key)
                .await?
                .with_context(|| format!("no BMC with MAC {mac} in partition {partition}"))?;
            profile = kv_profile(&js, &config, &key).await;
            Some(
                serde_json::from_slice::<BmcSnapshot>(&v)
                    .with_context(|| format!("the KV's {key} is not a snapshot"))?,
            )
        }
        None => {
            let url = format!("{}/api/v1/bmcs/{mac}", api_base(source, &config));
            let r = api_client(source)?.send(reqwest::Method::GET, &url).await?;
            let view: BmcView = r
                .json()
                .await
                .with_context(|| format!("{url} did not answer with a BMC"))?;
            profile = view.profile;
            view.snapshot.map(std::sync::Arc::unwrap_or_clone)
        }
    };
    let row = Row {
        partition: snapshot
            .as_ref()
            .map_or(partition, |s| s.partition.to_string()),
        mac: mac.to_string(),
        ip: snapshot
            .as_ref()
            .map(|s| s.ip.to_string())
            .unwrap_or_default(),
        snapshot,
        catcher: None,
    };
    Ok((row, profile))
}

/// The BMC's profile in the profiles bucket (`[nats] profiles-bucket`), if there is one and this
/// user may read it (a reader without access to the bucket gets the rest).
async fn kv_profile(
    js: &async_nats::jetstream::Context,
    config: &crate::config::Config,
    key: &str,
) -> Option<crate::model::Profile> {
    let kv = js.get_key_value(&config.nats.profiles_bucket).await.ok()?;
    let v = kv.get(key).await.ok()??;
    if v.len() > crate::publish::nats::profiles::MAX_VALUE {
        return None;
    }
    let p: crate::model::Profile = serde_json::from_slice(&v).ok()?;
    p.check().ok().map(|()| p)
}

/// `POST {api}{path}` with the API's TLS and basic auth; the answer's body, once it is a success.
pub async fn post(source: &Source, path: &str) -> anyhow::Result<String> {
    let config = source.config.load()?;
    let url = format!("{}{path}", api_base(source, &config));
    let r = api_client(source)?
        .send(reqwest::Method::POST, &url)
        .await?;
    Ok(r.text().await?)
}

/// Where the password for `--api-user` comes from.
pub const API_PASSWORD_ENV: &str = "BMC_CATCHER_API_PASSWORD";

/// The HTTP client for the API: `--api-ca` trusted, `--api-user` and its password sent.
struct ApiClient {
    http: reqwest::Client,
    user: Option<(String, secrecy::SecretString)>,
}

impl ApiClient {
    /// Sends a request without a body to `url`; an error answer is an error naming its status
    /// and the daemon's message.
    async fn send(&self, method: reqwest::Method, url: &str) -> anyhow::Result<reqwest::Response> {
        use secrecy::ExposeSecret;
        let mut request = self.http.request(method, url);
        if let Some((user, password)) = &self.user {
            request = request.basic_auth(user, Some(password.expose_secret()));
        }
        let r = request
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {url}"))?;
        success(r, url).await
    }
}

/// The daemon's answer `r` to `url`, or an error naming its status and (the start of) its body.
pub(super) async fn success(r: reqwest::Response, url: &str) -> anyhow::Result<reqwest::Response> {
    let status = r.status();
    if status.is_success() {
        return Ok(r);
    }
    let body = r.text().await.unwrap_or_default();
    let shown: String = body.trim().chars().take(512).collect();
    anyhow::bail!("{url}: {status}: {shown}")
}

fn api_client(source: &Source) -> anyhow::Result<ApiClient> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10));
    if let Some(ca) = &source.api_ca {
        let pem = crate::config::file::read(ca)?;
        for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .with_context(|| format!("--api-ca {}: no PEM certificate", ca.display()))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    let user = match &source.api_user {
        None => None,
        Some(u) => {
            let password = std::env::var(API_PASSWORD_ENV)
                .with_context(|| format!("--api-user {u} needs ${API_PASSWORD_ENV}"))?;
            Some((u.clone(), secrecy::SecretString::from(password)))
        }
    };
    Ok(ApiClient {
        http: builder.build()?,
        user,
    })
}

/// Every BMC the daemon at `base` knows: its `/api/v1/bmcs` pages of `limit`, following
/// `Link: rel="next"`.
async fn from_api(client: &ApiClient, base: &str, limit: usize) -> anyhow::Result<Vec<BmcView>> {
    use secrecy::ExposeSecret;
    let mut url = format!("{base}/api/v1/bmcs?limit={limit}");
    let mut views = Vec::new();
    loop {
        let mut request = client.http.get(&url);
        if let Some((user, password)) = &client.user {
            request = request.basic_auth(user, Some(password.expose_secret()));
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {url}"))?
            .error_for_status()?;
        let next = response
            .headers()
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(pages::next_link)
            .map(|path| format!("{base}{path}"));
        let page: Vec<BmcView> = response
            .json()
            .await
            .with_context(|| format!("{url} did not answer with BMCs"))?;
        let empty = page.is_empty();
        views.extend(page);
        match next {
            // An empty page with a next link would loop; the daemon never sends one.
            Some(n) if !empty && n != url => url = n,
            _ => return Ok(views),
        }
    }
}

async fn jetstream(
    url: &str,
    config: &Config,
    creds: &Credentials,
) -> anyhow::Result<async_nats::jetstream::Context> {
    let opts = crate::publish::nats::connect_options(
        &config.nats,
        creds.nats.as_ref(),
        "bmc-catcher views",
    )
    .await?;
    let client = opts
        .connect(crate::publish::nats::servers(url))
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    Ok(async_nats::jetstream::new(client))
}

async fn from_kv(url: &str, config: &Config, creds: &Credentials) -> anyhow::Result<Vec<Row>> {
    let js = jetstream(url, config, creds).await?;
    // Who owns each BMC, when the partitions have members (older catchers, or none: no column).
    let members = super::members::read(&js, &config.nats.members_bucket)
        .await
        .map(|rows| {
            let ttl = config.nats.member_ttl.as_millis() as i64;
            super::members::views(&rows, ttl, crate::store::now_ms())
        })
        .unwrap_or_default();
    let kv = js
        .get_key_value(&config.nats.kv_bucket)
        .await
        .with_context(|| format!("no KV bucket {}", config.nats.kv_bucket))?;
    let mut keys = kv.keys().await?;
    let mut rows = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key?;
        let Some(v) = kv.get(&key).await? else {
            continue;
        };
        let Ok(s) = serde_json::from_slice::<BmcSnapshot>(&v) else {
            continue;
        };
        let catcher = members
            .get(&*s.partition)
            .map(|m| m.owner(s.mac).to_string());
        rows.push(Row {
            partition: s.partition.to_string(),
            mac: s.mac.to_string(),
            ip: s.ip.to_string(),
            snapshot: Some(s),
            catcher,
        });
    }
    Ok(rows)
}

pub(super) fn style(output: Output) -> Style {
    Style {
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        wide: output == Output::Wide,
    }
}

pub(super) fn print_data<T: serde::Serialize>(output: Output, data: &T) -> anyhow::Result<()> {
    let v = serde_json::to_value(data)?;
    match output {
        Output::Yaml => print!("{}", views::to_yaml(&v)),
        _ => println!("{}", serde_json::to_string_pretty(&v)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::model::{MacAddr, Target};
    use crate::publish::http::{ApiState, router};
    use crate::store::Store;

    #[tokio::test]
    async fn the_views_follow_the_api_pages_to_the_end() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = Arc::new(Store::new("p"));
        for i in 0..5u8 {
            store.upsert_target(Target {
                mac: MacAddr([2, 0, 0, 0, 0, i]),
                ip: "10.0.0.1".parse().expect("ip"),
                port: None,
                hostname: None,
                lease_ends: None,
            });
        }
        let state = Arc::new(ApiState::new(store, Default::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
        let client = super::ApiClient {
            http: reqwest::Client::new(),
            user: None,
        };
        let views = super::from_api(&client, &format!("http://{addr}"), 2)
            .await
            .expect("three pages");
        let macs: Vec<u8> = views.iter().map(|v| v.target.mac.0[5]).collect();
        assert_eq!(macs, [0, 1, 2, 3, 4]);
        server.abort();
    }
}
