//! The RMCP+ session layer of the simulated BMC, sans I/O: one datagram in, at most one out.
//! ASF ping, pre-session commands, Open Session, RAKP 1-4, the session table (at most
//! [`MAX_SESSIONS`], idle expiry), sequence windows, privilege levels and in-session commands.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::cmd::{self, CC_INSUFFICIENT_PRIVILEGE, CmdState, Reply};
use super::{SimUser, Stats};
use crate::state::{IpmiReplyDefect, SimBmc};
use ipmi_wire::crypto::SessionKeys;
use ipmi_wire::handshake::ServerHandshake;
use ipmi_wire::message::{Request, Response};
use ipmi_wire::packet::{
    self, AUTH_TYPE_NONE, AUTH_TYPE_RMCP_PLUS, Asf, AsfPong, CLASS_ASF, PayloadType,
};

/// The session table holds at most this many sessions (pending or active).
pub const MAX_SESSIONS: usize = 16;
/// Sequence numbers up to this far ahead of / behind the highest seen are accepted (once).
const SEQ_WINDOW: u32 = 16;
/// A session still being established is dropped after this (or the idle timeout, if shorter):
/// ipmitool sends no RAKP 3 when the RAKP 2 code shows a wrong password.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const USER: u8 = 2;

/// Sliding window over inbound session sequence numbers: rejects replays and far jumps.
#[derive(Debug, Default)]
struct SeqWindow {
    last: u32,
    /// Bit i: `last - 1 - i` was received.
    seen: u32,
}

impl SeqWindow {
    fn accept(&mut self, seq: u32) -> bool {
        if seq == 0 {
            return false;
        }
        if self.last == 0 {
            self.last = seq;
            return true;
        }
        let ahead = seq.wrapping_sub(self.last);
        if ahead != 0 && ahead <= SEQ_WINDOW {
            let shifted = (u64::from(self.seen) << ahead) | (1u64 << (ahead - 1));
            self.seen = shifted as u32;
            self.last = seq;
            return true;
        }
        let behind = self.last.wrapping_sub(seq);
        if behind == 0 || behind > SEQ_WINDOW {
            return false;
        }
        let bit = 1u32 << (behind - 1);
        let fresh = self.seen & bit == 0;
        self.seen |= bit;
        fresh
    }
}

struct Active {
    keys: SessionKeys,
    /// The most this session may raise itself to.
    limit: u8,
    user_max: u8,
    privilege: u8,
    inbound: SeqWindow,
    outbound: u32,
    /// The sequence number of the last reply sent whole (what a stale replay reuses).
    delivered: u32,
}

enum Phase {
    /// Open Session accepted; RAKP 1-4 in progress.
    Handshake(Box<ServerHandshake>),
    Active(Box<Active>),
}

struct Session {
    console_id: u32,
    handle: u8,
    last_used: Instant,
    phase: Phase,
}

/// The BMC's whole RMCP+ state; owned by the socket task (or a test).
pub(crate) struct Responder {
    bmc: Arc<SimBmc>,
    users: Vec<SimUser>,
    idle_timeout: Duration,
    stats: Arc<Stats>,
    sessions: HashMap<u32, Session>,
    cmd: CmdState,
    rng: Rng,
    next_handle: u8,
    /// A broken reply to send before the answer (`faults.ipmi_reply`).
    decoy: Option<Vec<u8>>,
}

/// splitmix64 seeded from the OS-keyed std hasher: unpredictable enough for a simulator.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos());
        Rng(h.finish())
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        out[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        out
    }
}

fn v2(ptype: PayloadType, payload: &[u8]) -> Option<Vec<u8>> {
    packet::encode_v2(ptype, 0, 0, payload, None, [0; 16]).ok()
}

impl Responder {
    pub(crate) fn new(
        bmc: Arc<SimBmc>,
        users: Vec<SimUser>,
        idle_timeout: Duration,
        stats: Arc<Stats>,
    ) -> Self {
        Responder {
            bmc,
            users,
            idle_timeout,
            stats,
            sessions: HashMap::new(),
            cmd: CmdState::default(),
            rng: Rng::new(),
            next_handle: 0,
            decoy: None,
        }
    }

    /// Drops sessions idle for the timeout, ends timed identifies, updates the open count.
    pub(crate) fn sweep(&mut self, now: Instant) {
        let timeout = self.idle_timeout;
        let before = self.sessions.len();
        let mut expired = 0;
        self.sessions.retain(|_, s| {
            let active = matches!(s.phase, Phase::Active(_));
            let limit = if active {
                timeout
            } else {
                timeout.min(HANDSHAKE_TIMEOUT)
            };
            let keep = now.saturating_duration_since(s.last_used) < limit;
            if !keep && active {
                expired += 1;
            }
            keep
        });
        if before != self.sessions.len() {
            tracing::debug!(
                dropped = before - self.sessions.len(),
                "IPMI sessions expired"
            );
        }
        self.stats.expired.fetch_add(expired, Ordering::Relaxed);
        self.stats.closed.fetch_add(expired, Ordering::Relaxed);
        cmd::expire_identify(&mut self.bmc.state(), now);
        self.sync_open();
    }

    fn sync_open(&self) {
        self.stats
            .open
            .store(self.sessions.len() as u64, Ordering::Relaxed);
    }

    /// Answers one datagram; `None` means stay silent. Never panics.
    pub(crate) fn handle(&mut self, bytes: &[u8], now: Instant) -> Option<Vec<u8>> {
        self.sweep(now);
        let out = self.dispatch(bytes, now);
        self.sync_open();
        out
    }

    fn dispatch(&mut self, bytes: &[u8], now: Instant) -> Option<Vec<u8>> {
        if bytes.get(3).is_some_and(|c| c & 0x0f == CLASS_ASF) {
            return match packet::decode_asf(bytes).ok()? {
                Asf::Ping(p) => Some(AsfPong::answering(p).encode()),
                Asf::Pong(_) => None,
            };
        }
        match *bytes.get(4)? {
            AUTH_TYPE_NONE => {
                let p = packet::decode_v15(bytes).ok()?;
                if p.session_id != 0 {
                    return None;
                }
                let resp = self.pre_session(&p.payload)?;
                packet::encode_v15(0, 0, &resp).ok()
            }
            b if b & 0x0f == AUTH_TYPE_RMCP_PLUS => {
                let sid = u32::from_le_bytes(bytes.get(6..10)?.try_into().ok()?);
                if sid == 0 {
                    self.establish(bytes, now)
                } else {
                    self.in_session(sid, bytes, now)
                }
            }
            _ => None,
        }
    }

    /// An IPMI message outside any session: only the discovery commands are answered.
    fn pre_session(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        let req = Request::decode(payload).ok()?;
        let (code, data) = if cmd::allowed_without_session(req.net_fn, req.cmd) {
            cmd::handle(&self.bmc, &mut self.cmd, &req, Instant::now())
        } else {
            (CC_INSUFFICIENT_PRIVILEGE, Vec::new())
        };
        self.stats.answered(req.net_fn, req.cmd, code);
        Some(Response::for_request(&req, code, data).encode())
    }

    /// Session ID 0: Open Session, RAKP 1 and 3, or a pre-session IPMI message.
    fn in_session(&mut self, sid: u32, bytes: &[u8], now: Instant) -> Option<Vec<u8>> {
        let (req, privilege) = {
            let session = self.sessions.get_mut(&sid)?;
            let Phase::Active(active) = &mut session.phase else {
                return None;
            };
            let p = packet::decode_v2(bytes, Some(&active.keys)).ok()?;
            if !p.authenticated || !p.encrypted || p.payload_type != PayloadType::IpmiMessage {
                return None;
            }
            if !active.inbound.accept(p.session_seq) {
                return None;
            }
            session.last_used = now;
            (Request::decode(&p.payload).ok()?, active.privilege)
        };
        let mut close = None;
        let (code, data): Reply = match (req.net_fn, req.cmd) {
            (0x06, 0x3b) => match self.sessions.get_mut(&sid).map(|s| &mut s.phase) {
                Some(Phase::Active(active)) => set_privilege(active, &req.data),
                _ => return None,
            },
            (0x06, 0x3c) => match self.close_target(sid, privilege, &req.data) {
                Ok(target) => {
                    close = Some(target);
                    (0, Vec::new())
                }
                Err(code) => (code, Vec::new()),
            },
            (f, c) if cmd::required_privilege(f, c) > privilege => {
                (CC_INSUFFICIENT_PRIVILEGE, Vec::new())
            }
            _ => cmd::handle(&self.bmc, &mut self.cmd, &req, now),
        };
        self.stats.answered(req.net_fn, req.cmd, code);
        let resp = Response::for_request(&req, code, data).encode();
        let iv = self.rng.bytes16();
        let session = self.sessions.get_mut(&sid)?;
        let Phase::Active(active) = &mut session.phase else {
            return None;
        };
        active.outbound = active.outbound.wrapping_add(1).max(1);
        let encode = |sid: u32, seq: u32| {
            packet::encode_v2(
                PayloadType::IpmiMessage,
                sid,
                seq,
                &resp,
                Some(&active.keys),
                iv,
            )
            .ok()
        };
        let mut out = encode(session.console_id, active.outbound);
        if let Some(fault) = self.bmc.state().faults.ipmi_reply {
            self.decoy = match fault.defect {
                IpmiReplyDefect::BadIntegrity => out.clone().map(|mut b| {
                    if let Some(last) = b.last_mut() {
                        *last ^= 0x01;
                    }
                    b
                }),
                IpmiReplyDefect::Truncated => out.as_ref().map(|b| b[..b.len() / 2].to_vec()),
                IpmiReplyDefect::WrongSessionId => {
                    encode(session.console_id ^ 0x5a5a_5a5a, active.outbound)
                }
                IpmiReplyDefect::StaleSequence => encode(session.console_id, active.delivered),
            };
            if !fault.then_good {
                out = None;
            }
        }
        if out.is_some() {
            active.delivered = active.outbound;
        }
        if let Some(target) = close
            && self.sessions.remove(&target).is_some()
        {
            self.stats.closed.fetch_add(1, Ordering::Relaxed);
        }
        out
    }

    /// The broken reply [`Responder::handle`] made for `faults.ipmi_reply`, to send before its
    /// answer (if any).
    pub(crate) fn take_decoy(&mut self) -> Option<Vec<u8>> {
        self.decoy.take()
    }

    /// Which session a Close Session names (by ID, or ID 0 + handle); others need Administrator.
    fn close_target(&self, own: u32, privilege: u8, d: &[u8]) -> Result<u32, u8> {
        let id = u32::from_le_bytes(
            d.get(0..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(cmd::CC_DATA_LENGTH)?,
        );
        let target = match (id, d.get(4)) {
            (0, Some(&h)) => self
                .sessions
                .iter()
                .find(|(_, s)| s.handle == h)
                .map(|(id, _)| *id)
                .ok_or(0x88)?,
            (0, None) => return Err(cmd::CC_DATA_LENGTH),
            (id, _) if self.sessions.contains_key(&id) => id,
            _ => return Err(0x87),
        };
        if target != own && privilege < 4 {
            return Err(CC_INSUFFICIENT_PRIVILEGE);
        }
        Ok(target)
    }

    #[cfg(test)]
    pub(crate) fn session_count(&self) -> usize {
        self.sessions.len()
    }
}

/// Set Session Privilege Level: 0 reads the current level; above the user's limit is 0x81, above
/// the role the session was opened with is 0x80; callback/OEM levels are refused with 0x80.
fn set_privilege(active: &mut Active, d: &[u8]) -> Reply {
    let Some(&b) = d.first() else {
        return (cmd::CC_DATA_LENGTH, Vec::new());
    };
    match b & 0x0f {
        0 => {}
        l if !(USER..=4).contains(&l) => return (0x80, Vec::new()),
        l if l > active.user_max => return (0x81, Vec::new()),
        l if l > active.limit => return (0x80, Vec::new()),
        l => active.privilege = l,
    }
    (0, vec![active.privilege])
}

mod handshake;

#[cfg(test)]
mod tests;
