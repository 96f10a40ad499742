//! `bmc-catcher members`: the catchers of each partition as the members bucket holds them (member
//! id, host, version, when it started, the BMCs it owns, when it last renewed), and who owns a
//! BMC by the same rendezvous hashing the catchers use (the `CATCHER` column of `status --nats`).
//! Values are read bounded and those that do not parse are shown as such, never trusted.

use std::collections::BTreeMap;

use anyhow::Context;
use futures::StreamExt;
use serde::Serialize;

use super::fleet::{Output, print_data};
use super::table::{clean, finish, grid};
use crate::config::Config;
use crate::poller::Members;
use crate::publish::nats::membership::{MAX_VALUE_BYTES, MemberInfo};
use crate::store::now_ms;

/// Keys read from the bucket at most (a handful per partition is the design).
const MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, clap::Args)]
pub struct MembersArgs {
    /// The NATS server (default: `[nats] url` of the config).
    #[arg(long)]
    pub nats: Option<String>,
    #[command(flatten)]
    pub config: super::ViewConfig,
    /// Only this partition.
    #[arg(long)]
    pub partition: Option<String>,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
}

/// One member key.
#[derive(Debug, Clone, Serialize)]
pub struct MemberRow {
    pub partition: String,
    pub member: String,
    /// `None` when the value did not parse (shown as `?`).
    pub info: Option<MemberInfo>,
    /// When it last renewed its key, Unix ms.
    pub renewed_ms: i64,
}

/// Every member key of `bucket`, partition and member sorted.
pub async fn read(
    js: &async_nats::jetstream::Context,
    bucket: &str,
) -> anyhow::Result<Vec<MemberRow>> {
    let kv = js
        .get_key_value(bucket)
        .await
        .with_context(|| format!("no KV bucket {bucket}"))?;
    let mut keys = kv.keys().await?;
    let mut rows = Vec::new();
    while let Some(key) = keys.next().await {
        if rows.len() >= MAX_KEYS {
            break;
        }
        let key = key?;
        let Some((partition, member)) = key.split_once('.') else {
            continue;
        };
        if !crate::config::member_id_ok(member) {
            continue;
        }
        let Some(entry) = kv.entry(&key).await? else {
            continue;
        };
        let info = (entry.value.len() <= MAX_VALUE_BYTES)
            .then(|| serde_json::from_slice::<MemberInfo>(&entry.value).ok())
            .flatten();
        rows.push(MemberRow {
            partition: partition.to_string(),
            member: member.to_string(),
            info,
            renewed_ms: (entry.created.unix_timestamp_nanos() / 1_000_000) as i64,
        });
    }
    rows.sort_by(|a, b| (&a.partition, &a.member).cmp(&(&b.partition, &b.member)));
    Ok(rows)
}

/// Each partition's live members (renewed within `ttl` of `now_ms`), to tell a BMC's owner.
pub fn views(rows: &[MemberRow], ttl_ms: i64, now_ms: i64) -> BTreeMap<String, Members> {
    let mut live: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for r in rows.iter().filter(|r| now_ms - r.renewed_ms <= ttl_ms) {
        live.entry(r.partition.clone()).or_default().push(&r.member);
    }
    live.into_iter()
        .filter_map(|(p, ids)| {
            let (first, rest) = ids.split_first()?;
            Some((p, Members::new(first, rest.iter().copied())))
        })
        .collect()
}

/// The members table.
pub fn table(rows: &[MemberRow], now_ms: i64) -> String {
    let mut t = grid(
        &[
            "PARTITION",
            "MEMBER",
            "HOST",
            "VERSION",
            "UP",
            "BMCS",
            "RENEWED",
        ],
        &["UP", "BMCS", "RENEWED"],
    );
    let ago = |ms: i64| format!("{}s", (now_ms - ms).max(0) / 1000);
    for r in rows {
        let (host, version, up, bmcs) = match &r.info {
            Some(i) => (
                clean(&i.host, 64),
                clean(&i.version, 20),
                ago(i.started_ms),
                i.bmcs.to_string(),
            ),
            None => ("?".into(), "?".into(), "?".into(), "?".into()),
        };
        t.add_row([
            clean(&r.partition, 40),
            clean(&r.member, 64),
            host,
            version,
            up,
            bmcs,
            ago(r.renewed_ms),
        ]);
    }
    finish(&t)
}

pub async fn members(args: MembersArgs) -> anyhow::Result<()> {
    let config: Config = args.config.load()?;
    let url = args
        .nats
        .clone()
        .or_else(|| config.nats.url.clone())
        .context("no NATS server: give --nats or set [nats] url")?;
    let creds = super::ViewConfig::nats_credentials(&config)?;
    let opts = crate::publish::nats::connect_options(
        &config.nats,
        creds.nats.as_ref(),
        "bmc-catcher views",
    )
    .await?;
    let client = opts
        .connect(crate::publish::nats::servers(&url))
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let js = async_nats::jetstream::new(client);
    let mut rows = read(&js, &config.nats.members_bucket).await?;
    if let Some(p) = &args.partition {
        rows.retain(|r| &r.partition == p);
    }
    match args.output {
        Output::Table | Output::Wide => print!("{}", table(&rows, now_ms())),
        o => print_data(o, &rows)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(p: &str, m: &str, renewed_ms: i64, info: bool) -> MemberRow {
        MemberRow {
            partition: p.into(),
            member: m.into(),
            info: info.then(|| MemberInfo {
                host: "host\x1b[31m".into(),
                version: "0.1.0".into(),
                started_ms: 0,
                bmcs: 100,
                instance: "x".into(),
            }),
            renewed_ms,
        }
    }

    #[test]
    fn only_renewed_members_own_bmcs() {
        let rows = [
            row("p1", "a", 10_000, true),
            row("p1", "b", 9_000, true),
            row("p1", "dead", 1_000, true),
            row("p2", "c", 10_000, false),
        ];
        let v = views(&rows, 6_000, 10_000);
        let live: Vec<&str> = v["p1"].live().iter().map(|s| &**s).collect();
        assert_eq!(live, ["a", "b"]);
        assert_eq!(v["p2"].live().len(), 1);
    }

    #[test]
    fn the_table_shows_what_is_known_and_no_escape_codes() {
        let text = table(
            &[row("p1", "a", 10_000, true), row("p1", "b", 4_000, false)],
            12_000,
        );
        assert!(text.starts_with("PARTITION  MEMBER  HOST"), "{text}");
        assert!(
            text.contains("p1         a       host?[31m  0.1.0    12s   100       2s\n"),
            "{text}"
        );
        assert!(text.contains("p1         b       ?"), "{text}");
        assert!(!text.contains('\x1b'));
    }
}
