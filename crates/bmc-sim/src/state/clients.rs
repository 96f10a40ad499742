//! Who talks to a simulated Redfish BMC: polls (GETs of the system resource, one per poll of a
//! catcher) and sessions opened, counted per client `User-Agent`, so a test of two catchers can
//! tell which of them polls a BMC. The agent is the client's input: cut to [`MAX_AGENT`] bytes, and
//! at most [`MAX_CLIENTS`] distinct agents are kept per BMC (the rest count as `(other)`).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Longest agent kept (bytes, cut at a char boundary).
pub const MAX_AGENT: usize = 128;
/// Distinct agents kept per BMC.
pub const MAX_CLIENTS: usize = 16;
/// Where requests of agents beyond [`MAX_CLIENTS`] are counted.
pub const OTHER: &str = "(other)";

/// What one client did on one BMC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCount {
    /// GETs of `/redfish/v1/Systems/1`: one per poll.
    pub polls: u64,
    /// Sessions it opened (successful logins).
    pub sessions: u64,
}

/// The per-agent counts of one BMC.
#[derive(Debug, Default)]
pub struct Clients(Mutex<BTreeMap<String, ClientCount>>);

impl Clients {
    fn with(&self, agent: Option<&str>, f: impl FnOnce(&mut ClientCount)) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut name = agent.unwrap_or("").to_string();
        if name.len() > MAX_AGENT {
            let mut cut = MAX_AGENT;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            name.truncate(cut);
        }
        if !map.contains_key(&name) && map.len() >= MAX_CLIENTS {
            name = OTHER.to_string();
        }
        f(map.entry(name).or_default());
    }

    /// Counts one poll of `agent`.
    pub fn polled(&self, agent: Option<&str>) {
        self.with(agent, |c| c.polls += 1);
    }

    /// Counts one session `agent` opened.
    pub fn session_opened(&self, agent: Option<&str>) {
        self.with(agent, |c| c.sessions += 1);
    }

    /// The counts so far, by agent.
    pub fn counts(&self) -> BTreeMap<String, ClientCount> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_agent() {
        let c = Clients::default();
        c.polled(Some("bmc-catcher/1 (member a)"));
        c.polled(Some("bmc-catcher/1 (member a)"));
        c.session_opened(Some("bmc-catcher/1 (member b)"));
        c.polled(None);
        let counts = c.counts();
        assert_eq!(
            counts["bmc-catcher/1 (member a)"],
            ClientCount {
                polls: 2,
                sessions: 0
            }
        );
        assert_eq!(counts["bmc-catcher/1 (member b)"].sessions, 1);
        assert_eq!(counts[""].polls, 1);
    }

    #[test]
    fn a_hostile_client_cannot_grow_the_table() {
        let c = Clients::default();
        for i in 0..1000 {
            c.polled(Some(&format!("agent-{i}-{}", "é".repeat(200))));
        }
        let counts = c.counts();
        assert_eq!(counts.len(), MAX_CLIENTS + 1);
        assert!(counts.keys().all(|k| k.len() <= MAX_AGENT));
        assert_eq!(counts[OTHER].polls, 1000 - MAX_CLIENTS as u64);
    }
}
