//! Commands in a shared partition: the request reaches one catcher (the queue group); a catcher
//! that does not own the BMC forwards it, once, to the owner's own subject
//! `<prefix>.<partition>.<mac>.cmd.<member-id>` with the [`FORWARDED`] header, and relays the
//! owner's reply. A forwarded request (or one sent to a catcher's own subject) is run where it
//! lands; only when that catcher handed the BMC over in the meantime does it pass the request on
//! to the new owner, at most [`MAX_HOPS`] forwards in all ([`HOPS`] counts them). A request is run
//! at most once and answered exactly once, also while members join and leave (a request that
//! cannot reach the owner is answered with an `owner-unreachable` error, and was run nowhere).

use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::model::MacAddr;
use crate::poller::Members;

/// Header on a forwarded request, naming the member that forwarded it.
pub const FORWARDED: &str = "Bmc-Catcher-Forwarded";

/// Header on a forwarded request: how many times it was forwarded.
pub const HOPS: &str = "Bmc-Catcher-Hops";

/// Forwards one request may take: the first, and one more when the BMC changed hands meanwhile.
pub const MAX_HOPS: u8 = 2;

/// How many times a request with these headers was forwarded (a peer's header is input: a value
/// that does not parse counts as the most).
pub fn hops(headers: Option<&async_nats::HeaderMap>) -> u8 {
    let Some(h) = headers.filter(|h| h.get(FORWARDED).is_some()) else {
        return 0;
    };
    match h.get(HOPS) {
        None => 1,
        Some(v) => v.as_str().parse().unwrap_or(MAX_HOPS),
    }
}

/// Beyond the command deadline, how long the forwarder waits for the owner's reply.
const RELAY_SLACK: Duration = Duration::from_secs(2);

/// Who runs a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Here,
    /// Forward to this member.
    To(String),
}

/// What forwarding needs: the member view and this catcher's subjects.
#[derive(Clone)]
pub struct Routing {
    pub members: watch::Receiver<Option<Members>>,
    pub prefix: String,
    pub partition: String,
    pub own: String,
    pub command_timeout: Duration,
}

impl Routing {
    /// The subject this catcher takes forwarded requests on (every BMC).
    pub fn own_subject(&self) -> String {
        format!("{}.{}.*.cmd.{}", self.prefix, self.partition, self.own)
    }

    /// Where the request on `subject` goes: here when it was forwarded or sent to this catcher,
    /// when the MAC does not parse (the controller answers the error), when this catcher owns the
    /// BMC or knows no peers; else to the owner.
    pub fn route(&self, subject: &str, forwarded: bool) -> Route {
        let mut tokens = subject.split('.');
        let mac = tokens.nth(2).unwrap_or("");
        if forwarded || tokens.nth(1).is_some() {
            return Route::Here;
        }
        self.owner(mac)
    }

    /// Where the member view puts the BMC of `mac_token`, whatever the subject: here when this
    /// catcher owns it, when the MAC does not parse or when no peers are known.
    pub fn owner(&self, mac_token: &str) -> Route {
        let Ok(mac) = mac_token.replace('-', ":").parse::<MacAddr>() else {
            return Route::Here;
        };
        match &*self.members.borrow() {
            Some(m) if !m.owns(mac) => Route::To(m.owner(mac).to_string()),
            _ => Route::Here,
        }
    }

    /// The subject to forward a request for `mac_token` to `owner` on.
    pub fn owner_subject(&self, mac_token: &str, owner: &str) -> String {
        format!("{}.{}.{mac_token}.cmd.{owner}", self.prefix, self.partition)
    }

    /// How long to wait for the owner's reply to a request received at `received`.
    pub fn relay_timeout(&self, received: Instant) -> Duration {
        (self.command_timeout + RELAY_SLACK).saturating_sub(received.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The subject token (`02-00-00-00-00-07`) of a BMC the peer `b` owns.
    fn token_of_theirs(m: &Members) -> String {
        let theirs = (1..=50u8)
            .map(|i| MacAddr([2, 0, 0, 0, 0, i]))
            .find(|mac| !m.owns(*mac))
            .expect("b owns one of 50");
        theirs.to_string().replace(':', "-")
    }

    fn routing(members: Option<Members>) -> (watch::Sender<Option<Members>>, Routing) {
        let (tx, rx) = watch::channel(members);
        let r = Routing {
            members: rx,
            prefix: "bmc".into(),
            partition: "p1".into(),
            own: "a".into(),
            command_timeout: Duration::from_secs(60),
        };
        (tx, r)
    }

    #[test]
    fn requests_go_to_the_owner_once() {
        let m = Members::new("a", ["b"]);
        let (_tx, r) = routing(Some(m.clone()));
        let token = token_of_theirs(&m);
        let subject = format!("bmc.p1.{token}.cmd");
        assert_eq!(r.route(&subject, false), Route::To("b".into()));
        assert_eq!(
            r.owner_subject(&token, "b"),
            format!("bmc.p1.{token}.cmd.b")
        );
        // Forwarded, or sent to this catcher's own subject: run here, never forwarded again.
        assert_eq!(r.route(&subject, true), Route::Here);
        assert_eq!(r.route(&format!("{subject}.a"), false), Route::Here);
        // A MAC that does not parse: the controller answers it.
        assert_eq!(r.route("bmc.p1.zz.cmd", false), Route::Here);
    }

    #[test]
    fn alone_or_not_yet_joined_runs_everything_here() {
        for members in [None, Some(Members::alone("a"))] {
            let (_tx, r) = routing(members);
            assert_eq!(r.route("bmc.p1.02-00-00-00-00-01.cmd", false), Route::Here);
        }
    }

    #[test]
    fn hops_count_forwards_and_a_hostile_count_is_the_most() {
        let mut h = async_nats::HeaderMap::new();
        assert_eq!(hops(None), 0);
        assert_eq!(hops(Some(&h)), 0, "not forwarded");
        h.insert(FORWARDED, "b");
        assert_eq!(
            hops(Some(&h)),
            1,
            "forwarded by a catcher without the count"
        );
        h.insert(HOPS, "2");
        assert_eq!(hops(Some(&h)), 2);
        h.insert(HOPS, "lots");
        assert_eq!(hops(Some(&h)), MAX_HOPS);
    }

    #[test]
    fn the_owner_of_a_forwarded_request_is_the_view_s() {
        let m = Members::new("a", ["b"]);
        let (_tx, r) = routing(Some(m.clone()));
        let token = token_of_theirs(&m);
        // Sent to this catcher's own subject: run here by `route`, but `owner` says b.
        assert_eq!(r.route(&format!("bmc.p1.{token}.cmd.a"), true), Route::Here);
        assert_eq!(r.owner(&token), Route::To("b".into()));
        assert_eq!(r.owner("not-a-mac"), Route::Here);
    }
}
