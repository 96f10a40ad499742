//! The BMC capability profiles (`hal::profiles`) shared through a JetStream KV bucket (`[nats]
//! profiles-bucket`), so a catcher that takes a BMC over (a hand-over, a restart on another
//! management server, a rebuilt one) starts it from what its previous owner found instead of
//! detecting it again.
//!
//! Key `<partition>.<mac>`, value a [`Profile`] as JSON, shared by the loop of [`super::shared`]
//! (as the log cursors are): a forgotten, stale profile is deleted; the later `detected_ms` wins; a
//! value over the bounds of [`Profile::check`] is skipped with a warning.

use async_nats::jetstream::{self, kv};

use super::shared::Shared;
pub use super::shared::{MAX_VALUE, SHARE_EVERY, run};
use crate::config::Nats as NatsConfig;
use crate::hal::profiles::Profiles;
use crate::model::{MacAddr, Profile};

impl Shared for Profiles {
    type Value = Profile;
    const WHAT: &'static str = "BMC profiles";
    const DESCRIPTION: &'static str =
        "bmc-catcher: what each BMC turned out to support, key <partition>.<mac>";

    fn bucket_name(cfg: &NatsConfig) -> &str {
        &cfg.profiles_bucket
    }

    fn check(value: &Profile) -> Result<(), String> {
        value.check()
    }

    fn take_changed(&self) -> Vec<(MacAddr, Option<Profile>)> {
        Profiles::take_changed(self)
    }

    fn mark_changed(&self, mac: MacAddr) {
        Profiles::mark_changed(self, mac);
    }

    fn merge(&self, mac: MacAddr, theirs: Profile) -> Result<bool, String> {
        Profiles::merge(self, mac, theirs)
    }
}

/// The bucket, created on first use.
pub async fn bucket(js: &jetstream::Context, cfg: &NatsConfig) -> Result<kv::Store, String> {
    super::shared::bucket::<Profiles>(js, cfg).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str, k: &str, v: &[u8]) -> Result<(MacAddr, Profile), String> {
        super::super::shared::parse::<Profiles>(p, k, v)
    }
    use crate::model::Protocol;

    #[test]
    fn entries_of_the_bucket_are_read_with_their_bounds() {
        let p = "rack1.";
        let k = "rack1.02-00-00-00-00-01";
        let (mac, profile) = parse(p, k, br#"{"protocol":"ipmi","detected_ms":5}"#).expect("ok");
        assert_eq!(mac, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(profile, Profile::new(Protocol::Ipmi, 5));
        assert!(parse(p, "rack1.not-a-mac", b"{}").is_err());
        assert!(parse(p, "rack2.02-00-00-00-00-01", b"{}").is_err());
        assert!(parse(p, k, b"{not json").is_err());
        let huge = vec![b' '; MAX_VALUE + 1];
        assert!(parse(p, k, &huge).unwrap_err().contains("more than"));
        assert!(parse(p, k, br#"{"protocol":"ipmi","detected_ms":5,"extra":1}"#).is_err());
        let far = br#"{"protocol":"redfish","detected_ms":5,"redfish":{"shape":"none","system":"//10.0.0.9/x"}}"#;
        assert!(parse(p, k, far).is_err(), "a path to another host");
    }
}
