//! Commands against one BMC (power, identify, boot device), independent of how they arrive (NATS
//! request/reply, CLI). They go through the poller's backend for that BMC, so they share its session
//! and are serialised with its polls; they check the power state first where a BMC would refuse or
//! where there is nothing to do, read the power state back, and report a `command-result` event.
//! Every request gets a reply, malformed ones included.
//!
//! The [`Controller`] admits them first ([`admission`]): one queue per BMC, a deadline counted from
//! receipt (a command whose deadline passed while it waited is refused, not run), a rate limit on
//! destructive actions, and one execution per request id. [`refresh`] re-reads one BMC's
//! slow-cadence parts on request, within its own bounds.

mod admission;
pub mod refresh;
mod request;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::hal::{Bmc, HalError};
use crate::model::EventKind;
use crate::model::{Action, MacAddr, PowerState};
use crate::poller::Fleet;
use crate::store::Store;

pub use admission::Limits;
use admission::{Admission, Refusal, Seen};
pub use request::{MAX_REQUEST, Reply, ReplyError, Request, parse_request};
use request::{MAX_REQUEST_ID, shown};

/// A command that gets its turn with less of its deadline left than this (or half the deadline,
/// if shorter) is not started: an action cut off mid-way leaves the caller not knowing whether it
/// happened.
const MIN_TIME_TO_RUN: Duration = Duration::from_secs(1);

fn hal_error(e: &HalError) -> ReplyError {
    ReplyError {
        kind: e.kind().to_string(),
        message: e.to_string(),
    }
}

/// What to do given the current power state: `Ok(true)` = nothing to do, `Err` = the BMC would refuse.
fn precheck(action: Action, power: PowerState) -> Result<bool, String> {
    match (action, power) {
        (Action::PowerOn, PowerState::On) => Ok(true),
        (Action::PowerOff | Action::PowerSoft, PowerState::Off) => Ok(true),
        (Action::PowerCycle | Action::PowerReset, PowerState::Off) => Err(format!(
            "power is off: {action} needs it on (send power-on)"
        )),
        _ => Ok(false),
    }
}

/// What a command did: nothing (`noop`, the BMC was already there), or the action; the power
/// state read afterwards.
struct Outcome {
    noop: bool,
    power: Option<PowerState>,
}

/// Runs `action`; `acted` is set once the action itself is sent (the checks before it change
/// nothing on the BMC).
async fn run(bmc: &dyn Bmc, action: Action, acted: &AtomicBool) -> Result<Outcome, ReplyError> {
    if action.is_power() {
        let before = bmc.power_state().await.map_err(|e| hal_error(&e))?;
        match precheck(action, before) {
            Ok(true) => {
                return Ok(Outcome {
                    noop: true,
                    power: Some(before),
                });
            }
            Ok(false) => {}
            Err(message) => {
                return Err(ReplyError {
                    kind: "refused".into(),
                    message,
                });
            }
        }
    }
    acted.store(true, Ordering::Relaxed);
    bmc.perform(action).await.map_err(|e| hal_error(&e))?;
    let after = bmc.power_state().await.ok();
    Ok(Outcome {
        noop: false,
        power: after,
    })
}

/// Admits and runs commands.
pub struct Controller {
    fleet: Fleet,
    store: Arc<Store>,
    timeout: Duration,
    admission: Admission,
}

impl Controller {
    /// `timeout` is each command's deadline, counted from its receipt.
    pub fn new(fleet: Fleet, store: Arc<Store>, timeout: Duration, limits: Limits) -> Controller {
        Controller {
            fleet,
            store,
            timeout,
            admission: Admission::new(limits),
        }
    }

    /// Whether the BMC with this MAC token (`aa-bb-...` or `aa:bb:...`) is one this catcher polls.
    pub fn knows(&self, mac: &str) -> bool {
        mac.replace('-', ":")
            .parse::<MacAddr>()
            .is_ok_and(|m| self.fleet.get(m).is_some())
    }

    /// The reply to a request refused before anything was looked at (the daemon is overloaded).
    pub fn overloaded(&self, mac: &str, in_flight: usize, received: Instant) -> Reply {
        let mut reply = Reply::new(self.store.partition(), &shown(mac));
        reply.error = Some(ReplyError::new(
            "busy",
            format!("{in_flight} commands in flight; try again later"),
        ));
        reply.duration_ms = received.elapsed().as_millis() as u64;
        reply
    }

    /// The reply to a request forwarded to the BMC's owner (another catcher of the partition)
    /// that did not answer: `reached` false when no owner took it (nothing was run), true when it
    /// took it but its reply did not come in time (it may have run).
    pub fn unforwarded(&self, mac: &str, owner: &str, reached: bool, received: Instant) -> Reply {
        let mut reply = Reply::new(self.store.partition(), &shown(mac));
        reply.error = Some(if reached {
            ReplyError::new(
                "timeout",
                format!(
                    "the BMC's owner {} did not answer in time; the command may have run",
                    shown(owner)
                ),
            )
        } else {
            ReplyError::new(
                "owner-unreachable",
                format!(
                    "the BMC's owner {} is not reachable; nothing was run; try again",
                    shown(owner)
                ),
            )
        });
        reply.duration_ms = received.elapsed().as_millis() as u64;
        reply
    }

    /// Runs the request `body` for the BMC `mac` (as the subject spells it, `-` or `:`), received at
    /// `received`, with the request id `id` if the sender gave one.
    pub async fn handle(
        &self,
        mac: &str,
        body: &[u8],
        id: Option<&str>,
        received: Instant,
    ) -> Reply {
        let deadline = received + self.timeout;
        let mut reply = Reply::new(self.store.partition(), &shown(mac));
        let request = match (
            mac.replace('-', ":").parse::<MacAddr>(),
            parse_request(body),
        ) {
            (Err(e), _) => Err(ReplyError::new("bad-request", e.to_string())),
            (_, Err(e)) => Err(e),
            (Ok(mac), Ok(action)) => Ok((mac, action)),
        };
        let (mac, action) = match request {
            Ok(r) => r,
            Err(e) => {
                reply.error = Some(e);
                reply.duration_ms = received.elapsed().as_millis() as u64;
                return reply;
            }
        };
        reply.mac = mac.to_string();
        reply.action = action.to_string();
        let ticket = match id {
            Some(id) if id.len() > MAX_REQUEST_ID || id.chars().any(char::is_control) => {
                reply.error = Some(ReplyError::new(
                    "bad-request",
                    format!("request id {} is not an id", shown(id)),
                ));
                return self.finish(reply, mac, received);
            }
            Some(id) => match self.admission.remember(mac, id, received) {
                Seen::First(ticket) => Some(ticket),
                Seen::Again(first) => return self.again(reply, first, deadline, received).await,
            },
            None => None,
        };
        let acted = AtomicBool::new(false);
        let outcome = self
            .admitted(mac, action, received, deadline, &mut reply, &acted)
            .await;
        match outcome {
            Ok(Outcome { noop, power }) => {
                reply.ok = true;
                reply.noop = noop;
                reply.power = power;
            }
            Err(e) => reply.error = Some(e),
        }
        let reply = self.finish(reply, mac, received);
        match ticket {
            // It may have acted (or found nothing to do): a retry gets this reply, not a second run.
            Some(t) if reply.ok || acted.load(Ordering::Relaxed) => t.complete(&reply),
            // Refused or failed before it acted: a retry with the same id runs.
            Some(t) => self.admission.forget(t, &reply),
            None => {}
        }
        reply
    }

    /// Waits for a place in the BMC's queue and its turn, then runs the action in what is left of
    /// the deadline.
    async fn admitted(
        &self,
        mac: MacAddr,
        action: Action,
        received: Instant,
        deadline: Instant,
        reply: &mut Reply,
        acted: &AtomicBool,
    ) -> Result<Outcome, ReplyError> {
        let Some(bmc) = self.fleet.get(mac) else {
            return Err(ReplyError::new(
                "unknown-bmc",
                format!(
                    "no BMC with MAC {mac} in partition {}",
                    self.store.partition()
                ),
            ));
        };
        let slot = self
            .admission
            .enter(mac, action, Instant::now())
            .map_err(|r| refusal(r, mac))?;
        let latest_start = deadline - MIN_TIME_TO_RUN.min(self.timeout / 2);
        let turn = tokio::time::timeout_at(latest_start.into(), slot.serial.lock()).await;
        reply.queued_ms = received.elapsed().as_millis() as u64;
        let (Ok(_turn), true) = (turn, Instant::now() < latest_start) else {
            return Err(ReplyError::new(
                "timeout",
                format!(
                    "{action} on {mac} waited {} ms behind other commands to this BMC; too little of its deadline was left to start, so it was not run",
                    reply.queued_ms
                ),
            ));
        };
        match tokio::time::timeout_at(deadline.into(), run(bmc.as_ref(), action, acted)).await {
            Ok(r) => r,
            Err(_) => Err(ReplyError::new(
                "timeout",
                format!(
                    "{action} on {mac} did not finish within {:?} of its receipt",
                    self.timeout
                ),
            )),
        }
    }

    /// The reply of the earlier request with the same id, once it has one.
    async fn again(
        &self,
        mut reply: Reply,
        mut first: tokio::sync::watch::Receiver<Option<Reply>>,
        deadline: Instant,
        received: Instant,
    ) -> Reply {
        let waited =
            tokio::time::timeout_at(deadline.into(), first.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(r)) => {
                if let Some(r) = r.as_ref() {
                    reply = r.clone();
                }
            }
            _ => {
                reply.error = Some(ReplyError::new(
                    "timeout",
                    "a request with this id is still running".into(),
                ))
            }
        }
        reply.duplicate = true;
        reply.duration_ms = received.elapsed().as_millis() as u64;
        reply
    }

    /// Records the outcome: the power read back, a log line and a `command-result` event.
    fn finish(&self, mut reply: Reply, mac: MacAddr, received: Instant) -> Reply {
        reply.duration_ms = received.elapsed().as_millis() as u64;
        if let Some(p) = reply.power.filter(|p| *p != PowerState::Unknown) {
            self.store.record_power(mac, p);
        }
        tracing::info!(
            bmc.mac = %mac,
            action = %reply.action,
            ok = reply.ok,
            ms = reply.duration_ms,
            queued_ms = reply.queued_ms,
            error = reply.error.as_ref().map(|e| e.kind.as_str()),
            "command"
        );
        self.store.emit(
            mac,
            EventKind::CommandResult {
                action: reply.action.clone(),
                ok: reply.ok,
                power: reply.power,
                error: reply
                    .error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.kind, e.message)),
                duration_ms: reply.duration_ms,
            },
        );
        reply
    }
}

fn refusal(r: Refusal, mac: MacAddr) -> ReplyError {
    match r {
        Refusal::Busy { queued } => ReplyError::new(
            "busy",
            format!("{queued} commands to {mac} are waiting or running; try again later"),
        ),
        Refusal::RateLimited {
            limit,
            window,
            retry_after,
        } => ReplyError::new(
            "rate-limited",
            format!(
                "{mac} had {limit} destructive actions in the last {window:?}; try again in {} s",
                retry_after.as_secs().max(1)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precheck_skips_no_ops_and_refuses_what_a_bmc_would() {
        assert_eq!(precheck(Action::PowerOff, PowerState::Off), Ok(true));
        assert_eq!(precheck(Action::PowerOn, PowerState::On), Ok(true));
        assert_eq!(precheck(Action::PowerOn, PowerState::Off), Ok(false));
        assert!(precheck(Action::PowerCycle, PowerState::Off).is_err());
        assert_eq!(precheck(Action::PowerCycle, PowerState::On), Ok(false));
    }
}
