//! RMCP+ session establishment for the simulated BMC: routes Open Session and RAKP 1/3 to
//! `ipmi_wire`'s [`ServerHandshake`] and keeps the simulator's own policy around it: the session
//! table (at most [`MAX_SESSIONS`], IDs and handles), the users and the `refuse_logins` fault, the
//! random numbers and GUID it is fed, and the privilege an established session starts at. An
//! `impl` block of the parent's [`Responder`].

use std::sync::atomic::Ordering;
use std::time::Instant;

use ipmi_wire::handshake::server::{self, refuse_rakp1, refuse_rakp3};
use ipmi_wire::handshake::{Opening, Outcome, ServerAnswer, UserEntry};
use ipmi_wire::packet::{self, PayloadType};
use ipmi_wire::rakp::RmcpStatus;

use super::super::cmd;
use super::{Active, MAX_SESSIONS, Phase, Responder, SeqWindow, Session, USER, v2};

impl Responder {
    pub(super) fn establish(&mut self, bytes: &[u8], now: Instant) -> Option<Vec<u8>> {
        let p = packet::decode_v2(bytes, None).ok()?;
        match p.payload_type {
            PayloadType::IpmiMessage => {
                let resp = self.pre_session(&p.payload)?;
                v2(PayloadType::IpmiMessage, &resp)
            }
            PayloadType::OpenSessionRequest => self.open_session(&p.payload, now),
            PayloadType::Rakp1 => self.rakp1(&p.payload, now),
            PayloadType::Rakp3 => self.rakp3(&p.payload, now),
            _ => None,
        }
    }

    fn open_session(&mut self, payload: &[u8], now: Instant) -> Option<Vec<u8>> {
        let req = match server::open_session(payload)? {
            Opening::Refused(reply) => return Some(reply),
            Opening::Acceptable(req) => req,
        };
        if self.sessions.len() >= MAX_SESSIONS {
            return req.refuse(RmcpStatus::InsufficientResources);
        }
        let bmc_id = loop {
            let id = self.rng.next_u64() as u32;
            if id != 0 && !self.sessions.contains_key(&id) {
                break id;
            }
        };
        let (hs, reply) = req.accept(bmc_id)?;
        let handle = self.new_handle();
        self.sessions.insert(
            bmc_id,
            Session {
                console_id: hs.console_session_id(),
                handle,
                last_used: now,
                phase: Phase::Handshake(Box::new(hs)),
            },
        );
        Some(reply)
    }

    fn new_handle(&mut self) -> u8 {
        loop {
            self.next_handle = self.next_handle.wrapping_add(1).max(1);
            let h = self.next_handle;
            if !self.sessions.values().any(|s| s.handle == h) {
                return h;
            }
        }
    }

    fn rakp1(&mut self, payload: &[u8], now: Instant) -> Option<Vec<u8>> {
        let bmc_id = u32::from_le_bytes(payload.get(4..8)?.try_into().ok()?);
        let bmc_random = self.rng.bytes16();
        let guid = cmd::guid_bytes(&cmd::identity(&self.bmc).0);
        let refuse_logins = self.bmc.state().faults.refuse_logins;
        let users = &self.users;
        let Some(Session {
            phase: Phase::Handshake(hs),
            last_used,
            ..
        }) = self.sessions.get_mut(&bmc_id)
        else {
            let console_id = self.sessions.get(&bmc_id).map_or(0, |s| s.console_id);
            return refuse_rakp1(payload, console_id, RmcpStatus::InvalidSessionId);
        };
        *last_used = now;
        let answer = hs.rakp1(payload, bmc_random, guid, |name| {
            users
                .iter()
                .find(|u| u.name.as_bytes() == name)
                .filter(|_| !refuse_logins && !name.is_empty())
                .map(|u| UserEntry {
                    password: u.password.as_bytes(),
                    max_privilege: u.max_privilege,
                })
        });
        self.apply(bmc_id, answer, now)
    }

    fn rakp3(&mut self, payload: &[u8], now: Instant) -> Option<Vec<u8>> {
        let bmc_id = u32::from_le_bytes(payload.get(4..8)?.try_into().ok()?);
        let Some(Session {
            phase: Phase::Handshake(hs),
            ..
        }) = self.sessions.get_mut(&bmc_id)
        else {
            return refuse_rakp3(payload, RmcpStatus::InvalidSessionId);
        };
        let answer = hs.rakp3(payload);
        self.apply(bmc_id, answer, now)
    }

    /// Applies what the handshake decided to the session table; returns the datagram to send.
    fn apply(&mut self, bmc_id: u32, answer: ServerAnswer, now: Instant) -> Option<Vec<u8>> {
        match answer.outcome {
            Outcome::Continue => {}
            Outcome::Forget => {
                self.sessions.remove(&bmc_id);
            }
            Outcome::Established(login) => {
                let session = self.sessions.get_mut(&bmc_id)?;
                let active = Active {
                    keys: login.keys,
                    limit: login.limit,
                    user_max: login.user_max,
                    privilege: login.limit.min(USER),
                    inbound: SeqWindow::default(),
                    outbound: 0,
                    delivered: 0,
                };
                session.phase = Phase::Active(Box::new(active));
                session.last_used = now;
                self.stats.created.fetch_add(1, Ordering::Relaxed);
            }
        }
        answer.datagram
    }
}
