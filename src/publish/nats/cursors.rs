//! The log cursors (`hal::cursors`) shared through a JetStream KV bucket (`[nats]
//! log-cursors-bucket`), so a BMC that another catcher of the partition takes over (a hand-over,
//! a restart elsewhere, a rebuilt management server) is read on from where the last reader stopped:
//! no entry reported twice, none skipped as "already there at the first read".
//!
//! Key `<partition>.<mac>`, value [`BmcCursors`] as JSON (the cursors by log and the time they
//! were noted), shared by the loop of [`super::shared`]: the newer stamp wins; a value over the
//! bounds of [`BmcCursors::check`] is skipped with a warning.
//!
//! A cursor noted in the last second before a catcher is killed does not reach the bucket: the
//! next reader reports those few entries again (at least once, never lost). Stamps are wall-clock
//! milliseconds of the noting host, so the management servers' clocks should agree (NTP).

use async_nats::jetstream::{self, kv};

use super::shared::Shared;
pub use super::shared::{MAX_VALUE, SHARE_EVERY, run};
use crate::config::Nats as NatsConfig;
use crate::hal::cursors::{BmcCursors, Cursors};
use crate::model::MacAddr;

impl Shared for Cursors {
    type Value = BmcCursors;
    const WHAT: &'static str = "log cursors";
    const DESCRIPTION: &'static str =
        "bmc-catcher: where each BMC's logs were read up to, key <partition>.<mac>";

    fn bucket_name(cfg: &NatsConfig) -> &str {
        &cfg.log_cursors_bucket
    }

    fn check(value: &BmcCursors) -> Result<(), String> {
        value.check()
    }

    fn take_changed(&self) -> Vec<(MacAddr, Option<BmcCursors>)> {
        Cursors::take_changed(self)
            .into_iter()
            .map(|(mac, c)| (mac, Some(c)))
            .collect()
    }

    fn mark_changed(&self, mac: MacAddr) {
        Cursors::mark_changed(self, mac);
    }

    fn merge(&self, mac: MacAddr, theirs: BmcCursors) -> Result<bool, String> {
        Cursors::merge(self, mac, theirs)
    }
}

/// The bucket, created on first use.
pub async fn bucket(js: &jetstream::Context, cfg: &NatsConfig) -> Result<kv::Store, String> {
    super::shared::bucket::<Cursors>(js, cfg).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str, k: &str, v: &[u8]) -> Result<(MacAddr, BmcCursors), String> {
        super::super::shared::parse::<Cursors>(p, k, v)
    }

    #[test]
    fn entries_of_the_bucket_are_read_with_their_bounds() {
        let p = "rack1.";
        let k = "rack1.02-00-00-00-00-01";
        let (mac, c) = parse(p, k, br#"{"at_ms":5,"logs":{"sel":7}}"#).expect("ok");
        assert_eq!(mac, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(c.at_ms, 5);
        assert_eq!(c.logs["sel"], serde_json::json!(7));
        assert!(parse(p, "rack1.not-a-mac", b"{}").is_err());
        assert!(parse(p, "rack2.02-00-00-00-00-01", b"{}").is_err());
        assert!(parse(p, k, b"{not json").is_err());
        let huge = vec![b' '; MAX_VALUE + 1];
        assert!(parse(p, k, &huge).unwrap_err().contains("more than"));
        assert!(parse(p, k, br#"{"at_ms":5,"logs":{},"extra":1}"#).is_err());
    }
}
