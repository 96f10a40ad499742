//! The IPMI side of a simulated BMC: an RMCP+ (IPMI 2.0 LAN) responder on a UDP socket that real
//! `ipmitool -I lanplus` accepts, serving the same [`SimBmc`] state as the Redfish side.
//!
//! What it speaks (modelled on OpenIPMI's `ipmi_sim`):
//! - ASF presence ping/pong; pre-session Get Channel Authentication Capabilities (IPMI 2.0 only),
//!   Get Channel Cipher Suites and Get System GUID;
//! - Open Session + RAKP 1-4 with cipher suites 3 (SHA1) and 17 (SHA256), both with AES-CBC-128;
//!   per-user passwords and maximum privileges; at most 16 sessions; idle expiry; sequence windows;
//! - in session: Set Session Privilege Level, Close Session, Get Device ID / GUIDs, chassis status,
//!   control, identify and boot flags, the SDR repository, sensor readings and thresholds, FRU 0,
//!   SEL info and DCMI Get Power Reading (see `cmd`, `sdr`).
//!
//! `state.faults` apply: `delay` delays every answer, `refuse_logins` refuses every user in RAKP 2
//! ("unauthorized name"), `drop_connections` makes the BMC silent, `ipmi_reply` breaks in-session
//! replies (bad integrity, another session's ID, a replayed sequence number, truncated), sent
//! before the right reply or instead of it.
//!
//! The session layer is sans-IO (`session::Responder`); this file owns the socket task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

mod cmd;
mod sdr;
mod session;

use crate::state::SimBmc;
use session::Responder;
pub use session::{HANDSHAKE_TIMEOUT, MAX_SESSIONS};

/// One IPMI user of the simulated BMC.
#[derive(Clone, PartialEq, Eq)]
pub struct SimUser {
    pub name: String,
    /// At most 20 bytes (the IPMI 2.0 user key); a longer one never authenticates.
    pub password: String,
    /// 2 user, 3 operator, 4 administrator.
    pub max_privilege: u8,
}

impl SimUser {
    pub fn new(name: &str, password: &str, max_privilege: u8) -> SimUser {
        SimUser {
            name: name.into(),
            password: password.into(),
            max_privilege,
        }
    }

    /// The BMC's own user as an administrator (what `SimBmc::new` was given).
    pub fn admin_of(bmc: &SimBmc) -> SimUser {
        SimUser::new(&bmc.username, &bmc.password, 4)
    }
}

impl std::fmt::Debug for SimUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimUser")
            .field("name", &self.name)
            .field("max_privilege", &self.max_privilege)
            .finish_non_exhaustive()
    }
}

/// Counters the responder keeps; shared with [`IpmiSimHandle`].
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub open: AtomicU64,
    pub created: AtomicU64,
    pub closed: AtomicU64,
    pub expired: AtomicU64,
    pub requests: AtomicU64,
    /// Broken replies sent for `faults.ipmi_reply`.
    pub broken: AtomicU64,
    /// (netFn, cmd, completion code) of every answered request, for tests.
    #[cfg(test)]
    pub log: std::sync::Mutex<Vec<(u8, u8, u8)>>,
}

impl Stats {
    #[cfg_attr(
        not(test),
        expect(unused_variables, reason = "only the tests keep the request log")
    )]
    pub(crate) fn answered(&self, net_fn: u8, cmd: u8, code: u8) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        #[cfg(test)]
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((net_fn, cmd, code));
    }
}

/// A running responder: counters for tests. Cancel the token given to [`spawn`] to stop it.
#[derive(Debug, Clone)]
pub struct IpmiSimHandle {
    stats: Arc<Stats>,
    local_addr: Option<SocketAddr>,
}

impl IpmiSimHandle {
    /// Sessions in the table now (being established or active).
    pub fn sessions_open(&self) -> usize {
        self.stats.open.load(Ordering::Relaxed) as usize
    }
    /// Sessions that completed RAKP 4.
    pub fn sessions_created(&self) -> u64 {
        self.stats.created.load(Ordering::Relaxed)
    }
    /// Sessions that ended by Close Session or idle expiry.
    pub fn sessions_closed(&self) -> u64 {
        self.stats.closed.load(Ordering::Relaxed)
    }
    /// Active sessions dropped for being idle (also counted in `sessions_closed`).
    pub fn sessions_expired(&self) -> u64 {
        self.stats.expired.load(Ordering::Relaxed)
    }
    /// IPMI request messages answered (in and out of sessions).
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }
    /// Broken replies sent (`faults.ipmi_reply`).
    pub fn broken_replies(&self) -> u64 {
        self.stats.broken.load(Ordering::Relaxed)
    }
    /// The socket's address, if the OS told.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }
}

/// Serves RMCP+ on `socket` for `bmc` until `cancel`; sessions unused for `idle_timeout` are dropped.
pub fn spawn(
    socket: UdpSocket,
    bmc: Arc<SimBmc>,
    users: Vec<SimUser>,
    idle_timeout: Duration,
    cancel: CancellationToken,
) -> IpmiSimHandle {
    let stats = Arc::new(Stats::default());
    let local_addr = socket.local_addr().ok();
    let responder = Responder::new(bmc.clone(), users, idle_timeout, stats.clone());
    tokio::spawn(serve(
        Arc::new(socket),
        bmc,
        responder,
        stats.clone(),
        idle_timeout,
        cancel,
    ));
    IpmiSimHandle { stats, local_addr }
}

async fn serve(
    socket: Arc<UdpSocket>,
    bmc: Arc<SimBmc>,
    mut responder: Responder,
    stats: Arc<Stats>,
    idle_timeout: Duration,
    cancel: CancellationToken,
) {
    let period = (idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; 2048];
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => responder.sweep(Instant::now()),
            r = socket.recv_from(&mut buf) => {
                let (n, peer) = match r {
                    Ok(v) => v,
                    Err(e) => {
                        // ICMP port unreachable from an earlier reply and the like.
                        tracing::debug!(error = %e, "IPMI sim: recv failed");
                        continue;
                    }
                };
                let (drop_all, delay) = {
                    let st = bmc.state();
                    (st.faults.drop_connections, st.faults.delay)
                };
                if drop_all {
                    continue;
                }
                let reply = buf.get(..n).and_then(|d| responder.handle(d, Instant::now()));
                // A broken copy (faults.ipmi_reply) goes out first, the answer (if any) after it.
                let decoy = responder.take_decoy();
                if decoy.is_some() {
                    stats.broken.fetch_add(1, Ordering::Relaxed);
                }
                let replies: Vec<Vec<u8>> = decoy.into_iter().chain(reply).collect();
                if delay.is_zero() {
                    for reply in &replies {
                        if let Err(e) = socket.send_to(reply, peer).await {
                            tracing::debug!(error = %e, %peer, "IPMI sim: send failed");
                        }
                    }
                } else if !replies.is_empty() {
                    let socket = socket.clone();
                    let cancel = cancel.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            () = cancel.cancelled() => {}
                            () = tokio::time::sleep(delay) => {
                                for reply in &replies {
                                    let _ = socket.send_to(reply, peer).await;
                                }
                            }
                        }
                    });
                }
            }
        }
    }
    tracing::debug!("IPMI sim stopped");
}

#[cfg(test)]
pub(crate) mod test_client;

#[cfg(test)]
mod tests;
