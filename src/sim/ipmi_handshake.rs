//! RMCP+ session establishment for the simulated BMC: Open Session and RAKP 1-4 (IPMI 2.0
//! sections 13.17-13.23), with the user lookup, role checks and key derivation; an `impl` block of
//! the parent's [`Responder`].

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::super::ipmi_cmd;
use super::{Active, MAX_SESSIONS, Pending, Phase, Responder, SeqWindow, Session, USER, v2};
use crate::hal::ipmi::wire::crypto::{self, RakpContext, SessionKeys};
use crate::hal::ipmi::wire::packet::{self, PayloadType};
use crate::hal::ipmi::wire::rakp::{
    Algorithms, OpenSessionRequest, OpenSessionResponse, Privilege, Rakp1, Rakp2, Rakp3, Rakp4,
    RmcpStatus,
};

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
        let tag = *payload.first()?;
        let console_id = payload
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes);
        let refuse = |status| {
            let r = OpenSessionResponse {
                tag,
                status,
                max_privilege: 0,
                console_session_id: console_id,
                session: None,
            };
            v2(PayloadType::OpenSessionResponse, &r.encode())
        };
        let req = match OpenSessionRequest::decode(payload) {
            Ok(r) => r,
            Err(crate::hal::ipmi::wire::rakp::RakpError::BadPrivilege(_)) => {
                return refuse(RmcpStatus::InvalidRole);
            }
            Err(_) => return refuse(RmcpStatus::IllegalParameter),
        };
        let Some(suite) = req.algorithms.suite() else {
            let a = req.algorithms;
            return refuse(if !matches!(a.auth, 1 | 3) {
                RmcpStatus::InvalidAuthAlgorithm
            } else if !matches!(a.integrity, 1 | 4) {
                RmcpStatus::InvalidIntegrityAlgorithm
            } else if a.confidentiality != 1 {
                RmcpStatus::InvalidConfidentialityAlgorithm
            } else {
                RmcpStatus::NoCipherSuiteMatch
            });
        };
        if req.max_privilege == Privilege::Oem {
            return refuse(RmcpStatus::InvalidRole);
        }
        if self.sessions.len() >= MAX_SESSIONS {
            return refuse(RmcpStatus::InsufficientResources);
        }
        let bmc_id = loop {
            let id = self.rng.next_u64() as u32;
            if id != 0 && !self.sessions.contains_key(&id) {
                break id;
            }
        };
        let handle = self.new_handle();
        self.sessions.insert(
            bmc_id,
            Session {
                console_id: req.console_session_id,
                handle,
                suite,
                last_used: now,
                phase: Phase::Opened,
            },
        );
        let max = match req.max_privilege {
            Privilege::Highest => Privilege::Administrator,
            p => p,
        };
        let r = OpenSessionResponse {
            tag,
            status: RmcpStatus::Ok,
            max_privilege: max as u8,
            console_session_id: req.console_session_id,
            session: Some((bmc_id, Algorithms::of_suite(suite))),
        };
        v2(PayloadType::OpenSessionResponse, &r.encode())
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
        let tag = *payload.first()?;
        let bmc_id = u32::from_le_bytes(payload.get(4..8)?.try_into().ok()?);
        let console_id = self.sessions.get(&bmc_id).map_or(0, |s| s.console_id);
        let refuse = |status| {
            let r = Rakp2 {
                tag,
                status,
                console_session_id: console_id,
                bmc_random: [0; 16],
                bmc_guid: [0; 16],
                auth_code: Vec::new(),
            };
            v2(PayloadType::Rakp2, &r.encode())
        };
        let session = match self.sessions.get_mut(&bmc_id) {
            Some(s) if !matches!(s.phase, Phase::Active(_)) => s,
            _ => return refuse(RmcpStatus::InvalidSessionId),
        };
        let Ok(r) = Rakp1::decode(payload) else {
            self.sessions.remove(&bmc_id);
            return refuse(RmcpStatus::InvalidNameLength);
        };
        session.last_used = now;
        let refuse_logins = self.bmc.state().faults.refuse_logins;
        let user = self
            .users
            .iter()
            .find(|u| u.name.as_bytes() == r.username.as_slice())
            .filter(|_| !refuse_logins && !r.username.is_empty());
        let level = r.role & 0x0f;
        let checked = match user {
            None => Err(RmcpStatus::UnauthorizedName),
            Some(_) if level > 4 => Err(RmcpStatus::InvalidRole),
            Some(u) if level > u.max_privilege => Err(RmcpStatus::UnauthorizedRole),
            Some(u) => crypto::user_key(u.password.as_bytes())
                .map(|k| (k, u.max_privilege))
                .map_err(|_| RmcpStatus::UnauthorizedName),
        };
        let (kuid, user_max) = match checked {
            Ok(v) => v,
            Err(status) => {
                self.sessions.remove(&bmc_id);
                return refuse(status);
            }
        };
        let pending = Pending {
            guid: ipmi_cmd::guid_bytes(&ipmi_cmd::identity(&self.bmc).0),
            user_max,
            console_random: r.console_random,
            bmc_random: self.rng.bytes16(),
            role: r.role,
            username: r.username,
            kuid,
        };
        let ctx = context(session, bmc_id, &pending);
        let auth_code = crypto::rakp2_auth_code(&ctx, &pending.kuid);
        let reply = Rakp2 {
            tag,
            status: RmcpStatus::Ok,
            console_session_id: session.console_id,
            bmc_random: pending.bmc_random,
            bmc_guid: pending.guid,
            auth_code,
        };
        session.phase = Phase::Rakp2Sent(Box::new(pending));
        v2(PayloadType::Rakp2, &reply.encode())
    }

    fn rakp3(&mut self, payload: &[u8], now: Instant) -> Option<Vec<u8>> {
        let tag = *payload.first()?;
        let bmc_id = u32::from_le_bytes(payload.get(4..8)?.try_into().ok()?);
        let reply = |status, console_session_id, icv| {
            let r = Rakp4 {
                tag,
                status,
                console_session_id,
                integrity_check_value: icv,
            };
            v2(PayloadType::Rakp4, &r.encode())
        };
        let Some(session) = self.sessions.get_mut(&bmc_id) else {
            return reply(RmcpStatus::InvalidSessionId, 0, Vec::new());
        };
        let Phase::Rakp2Sent(pending) = &session.phase else {
            return reply(RmcpStatus::InvalidSessionId, 0, Vec::new());
        };
        let console_id = session.console_id;
        let decoded = Rakp3::decode(payload);
        let ctx = context(session, bmc_id, pending);
        let expected = crypto::rakp3_auth_code(&ctx, &pending.kuid);
        let r = match decoded {
            Ok(r) if r.status.is_ok() => r,
            // The console gave up (e.g. our RAKP 2 code did not match its password).
            _ => {
                self.sessions.remove(&bmc_id);
                return None;
            }
        };
        if !crypto::ct_eq(&expected, &r.auth_code) {
            self.sessions.remove(&bmc_id);
            return reply(
                RmcpStatus::InvalidIntegrityCheckValue,
                console_id,
                Vec::new(),
            );
        }
        let keys = SessionKeys::derive(&ctx, &pending.kuid, None);
        let icv = crypto::rakp4_icv(&ctx, keys.sik());
        let requested = pending.role & 0x0f;
        let limit = if requested == 0 {
            pending.user_max
        } else {
            requested
        };
        let active = Active {
            keys,
            limit,
            user_max: pending.user_max,
            privilege: limit.min(USER),
            inbound: SeqWindow::default(),
            outbound: 0,
            delivered: 0,
        };
        session.phase = Phase::Active(Box::new(active));
        session.last_used = now;
        self.stats.created.fetch_add(1, Ordering::Relaxed);
        reply(RmcpStatus::Ok, console_id, icv)
    }
}

fn context<'a>(session: &Session, bmc_id: u32, pending: &'a Pending) -> RakpContext<'a> {
    RakpContext {
        suite: session.suite,
        console_session_id: session.console_id,
        bmc_session_id: bmc_id,
        console_random: pending.console_random,
        bmc_random: pending.bmc_random,
        bmc_guid: pending.guid,
        role: pending.role,
        username: &pending.username,
    }
}
