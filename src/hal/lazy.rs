//! A backend built when it is used ([`LazyBmc`]): the poller holds one per BMC, and a fleet of
//! 200,000 BMCs that answer nothing does not hold 200,000 backends between polls. The backend is
//! built from the [`Connector`] at the first poll or command, and dropped again after a poll that
//! reached nothing while `protocol = "auto"` had not found a service: such a backend has no session
//! and no detected protocol, nothing the next poll would miss. Every other backend is kept, with
//! its session, as before.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{Bmc, BmcInfo, Connector, HalError};
use crate::model::{Action, PowerState, Reading, Target};

/// What the wrapper holds between uses.
enum State {
    /// The backend, with whatever session it has.
    Built(Arc<dyn Bmc>),
    /// No backend; what the last one said about itself.
    Idle(BmcInfo),
}

/// A BMC's backend, built on first use from its connector and target.
pub struct LazyBmc {
    connector: Arc<Connector>,
    target: Arc<Target>,
    state: Mutex<State>,
}

impl LazyBmc {
    /// Builds nothing but the description (the backend is made and dropped at once).
    pub fn new(connector: Arc<Connector>, target: Arc<Target>) -> LazyBmc {
        let info = connector.connect(&target).describe();
        LazyBmc {
            connector,
            target,
            state: Mutex::new(State::Idle(info)),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The backend, built now if there is none.
    fn backend(&self) -> Arc<dyn Bmc> {
        let mut state = self.state();
        match &*state {
            State::Built(b) => b.clone(),
            State::Idle(_) => {
                let b = self.connector.connect(&self.target);
                *state = State::Built(b.clone());
                b
            }
        }
    }

    /// Drops `used` if it is still the backend, reached nothing in `reading`, and holds nothing
    /// worth keeping (`auto` that has not found a service: no session, no protocol).
    fn release_if_idle(&self, used: &Arc<dyn Bmc>, reading: &Reading) {
        if reading.any_ok() {
            return;
        }
        let info = used.describe();
        if info.protocol.is_some() {
            return;
        }
        let mut state = self.state();
        if matches!(&*state, State::Built(b) if Arc::ptr_eq(b, used)) {
            *state = State::Idle(info);
        }
    }
}

#[async_trait]
impl Bmc for LazyBmc {
    fn describe(&self) -> BmcInfo {
        match &*self.state() {
            State::Built(b) => b.describe(),
            State::Idle(info) => info.clone(),
        }
    }

    async fn poll(&self) -> Reading {
        let b = self.backend();
        let reading = b.poll().await;
        self.release_if_idle(&b, &reading);
        reading
    }

    async fn power_state(&self) -> Result<PowerState, HalError> {
        self.backend().power_state().await
    }

    async fn perform(&self, action: Action) -> Result<(), HalError> {
        self.backend().perform(action).await
    }

    async fn close(&self) {
        if let Some(b) = self.built() {
            b.close().await;
        }
    }

    /// An idle wrapper has no backend, so nothing cached: its next poll reads everything.
    async fn refresh_inventory(&self) {
        if let Some(b) = self.built() {
            b.refresh_inventory().await;
        }
    }
}

impl LazyBmc {
    fn built(&self) -> Option<Arc<dyn Bmc>> {
        match &*self.state() {
            State::Built(b) => Some(b.clone()),
            State::Idle(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Credentials, ProtocolChoice};

    fn connector(protocol: ProtocolChoice) -> Arc<Connector> {
        let mut config = Config::default();
        config.poll.protocol = protocol;
        // Ports where nothing listens on loopback: every probe is refused at once.
        config.redfish.port = 1;
        config.ipmi.port = 1;
        config.poll.timeout = std::time::Duration::from_secs(5);
        Arc::new(Connector::new(&config, Credentials::default()).expect("connector"))
    }

    fn target() -> Arc<Target> {
        Arc::new(Target {
            mac: "02:00:00:00:00:01".parse().expect("mac"),
            ip: "127.0.0.1".parse().expect("ip"),
            port: None,
            hostname: None,
            lease_ends: None,
        })
    }

    fn is_built(b: &LazyBmc) -> bool {
        matches!(&*b.state(), State::Built(_))
    }

    #[tokio::test]
    async fn an_auto_backend_that_reached_nothing_is_dropped_and_rebuilt() {
        let b = LazyBmc::new(connector(ProtocolChoice::Auto), target());
        assert!(!is_built(&b), "nothing built before the first poll");
        let info = b.describe();
        let r = b.poll().await;
        assert!(!r.any_ok());
        assert!(!is_built(&b), "a backend that reached nothing is not kept");
        assert_eq!(b.describe(), info);
        let again = b.poll().await;
        assert_eq!(
            again.first_error().map(|e| e.kind),
            r.first_error().map(|e| e.kind),
            "the next poll builds it again and fails the same way"
        );
    }

    #[tokio::test]
    async fn a_backend_with_a_chosen_protocol_is_kept() {
        let b = LazyBmc::new(connector(ProtocolChoice::Redfish), target());
        let _ = b.poll().await;
        assert!(
            is_built(&b),
            "a fixed protocol's backend may hold a session"
        );
        b.close().await;
    }
}
