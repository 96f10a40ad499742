//! One RMCP+ session with one BMC over a connected tokio UDP socket: Get Channel Authentication
//! Capabilities (IPMI 1.5, pre-session), Open Session and RAKP 1-4 trying the configured cipher
//! suites in order (17 then 3 by default), Set Session Privilege Level on demand, and requests with
//! per-attempt timeouts and retries in which every reply is matched by session id, session sequence
//! and rqSeq: a late reply to an earlier attempt or request is dropped, never taken for this one.
//! Close Session on `close`. Credentials are only used inside `open` and never logged.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::wire::crypto::{CipherSuite, SessionKeys};
use super::wire::message::{Request, Response};
use super::wire::packet::{Incoming, PayloadType, decode_incoming, encode_v2, encode_v15};
use super::wire::rakp::Privilege;
use crate::hal::HalError;

mod handshake;
use handshake::Handshake;

/// How a session is opened and how requests are retried.
#[derive(Clone)]
pub struct SessionConfig {
    pub addr: SocketAddr,
    pub username: String,
    pub password: SecretString,
    /// Tried in order until the BMC accepts one.
    pub suites: Vec<CipherSuite>,
    /// The highest privilege this session may need (RAKP role); raised to on demand.
    pub privilege: Privilege,
    /// Wait for one reply before retransmitting.
    pub request_timeout: Duration,
    /// Retransmissions after the first attempt.
    pub retries: u32,
    /// When set (`bmc-catcher capture`), every request and its reply is kept here.
    pub recorder: Option<Recorder>,
}

/// One request and its reply, as `capture` records them.
pub use super::wire::capture::Exchange;

/// Where `capture` collects exchanges.
pub type Recorder = std::sync::Arc<std::sync::Mutex<Vec<Exchange>>>;

/// A completed request: completion code and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub cc: u8,
    pub data: Vec<u8>,
}

pub struct Session {
    socket: UdpSocket,
    bmc: String,
    cfg: SessionConfig,
    keys: SessionKeys,
    bmc_sid: u32,
    console_sid: u32,
    out_seq: u32,
    /// Highest session sequence number seen from the BMC (replies at or below are replays).
    in_seq: u32,
    rq_seq: u8,
    privilege: Privilege,
    pub suite: CipherSuite,
    last_used: Instant,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS RNG does not fail on Linux once booted; a zero value would still be a valid nonce.
    let _ = getrandom::fill(&mut b);
    b
}

fn nonzero_u32() -> u32 {
    loop {
        let v = u32::from_le_bytes(random::<4>());
        if v != 0 {
            return v;
        }
    }
}

/// Sends `packet` and waits for a datagram `accept` likes, retransmitting on silence.
async fn exchange<T>(
    socket: &UdpSocket,
    bmc: &str,
    what: &str,
    cfg: &SessionConfig,
    mut packet: impl FnMut(u32) -> Result<Vec<u8>, HalError>,
    mut accept: impl FnMut(&[u8]) -> Option<T>,
) -> Result<T, HalError> {
    let mut buf = vec![0u8; 1500];
    for attempt in 0..=cfg.retries {
        let bytes = packet(attempt)?;
        socket
            .send(&bytes)
            .await
            .map_err(|e| io_error(bmc, what, &e))?;
        let deadline = Instant::now() + cfg.request_timeout;
        loop {
            let n = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => return Err(io_error(bmc, what, &e)),
                Ok(Ok(n)) => n,
            };
            if let Some(v) = accept(&buf[..n]) {
                return Ok(v);
            }
            // Not ours (stale, replayed, unauthenticated): keep waiting in this attempt.
        }
    }
    Err(HalError::Timeout {
        bmc: bmc.to_string(),
        after: cfg.request_timeout * (cfg.retries + 1),
        what: what.to_string(),
    })
}

fn io_error(bmc: &str, what: &str, e: &std::io::Error) -> HalError {
    HalError::Unreachable {
        bmc: bmc.to_string(),
        detail: format!("{what}: {e}"),
    }
}

fn protocol(bmc: &str, detail: String) -> HalError {
    HalError::Protocol {
        bmc: bmc.to_string(),
        detail,
    }
}

/// Get Channel Authentication Capabilities, pre-session (IPMI 1.5 framing): does anything speak IPMI
/// at `addr`, and does it offer IPMI 2.0? Used by protocol detection and before opening a session.
pub async fn probe(socket: &UdpSocket, bmc: &str, cfg: &SessionConfig) -> Result<bool, HalError> {
    let req = Request::new(0x06, 0x38, 0, vec![0x8e, Privilege::Administrator as u8]);
    let payload = req.encode();
    let reply = exchange(
        socket,
        bmc,
        "Get Channel Authentication Capabilities",
        cfg,
        |_| encode_v15(0, 0, &payload).map_err(|e| protocol(bmc, e.to_string())),
        |bytes| match decode_incoming(bytes, None) {
            Ok(Incoming::V15(p)) => Response::decode(&p.payload)
                .ok()
                .filter(|r| r.answers(&req)),
            _ => None,
        },
    )
    .await?;
    if reply.completion_code != 0 {
        return Err(protocol(
            bmc,
            format!("Get Channel Auth Caps: cc {:#04x}", reply.completion_code),
        ));
    }
    // Byte 1 bit 7: IPMI 2.0 extended capabilities; byte 3 bit 1: IPMI 2.0 connections supported.
    Ok(reply.data.get(1).is_some_and(|b| b & 0x80 != 0)
        && reply.data.get(3).is_some_and(|b| b & 0x02 != 0))
}

/// A connected UDP socket for `addr`.
pub async fn socket_for(addr: SocketAddr, bmc: &str) -> Result<UdpSocket, HalError> {
    let local: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .map_err(|_| protocol(bmc, "bad local address".into()))?;
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| io_error(bmc, "bind", &e))?;
    socket
        .connect(addr)
        .await
        .map_err(|e| io_error(bmc, "connect", &e))?;
    Ok(socket)
}

impl Session {
    /// Opens a session: probe, then Open Session + RAKP with each configured suite in turn.
    pub async fn open(cfg: SessionConfig, bmc: &str) -> Result<Session, HalError> {
        let socket = socket_for(cfg.addr, bmc).await?;
        if !probe(&socket, bmc, &cfg).await? {
            return Err(HalError::Unsupported {
                bmc: bmc.to_string(),
                detail: "the BMC does not offer IPMI 2.0 / RMCP+".into(),
            });
        }
        let mut last = None;
        for suite in cfg.suites.clone() {
            match Self::handshake(&socket, &cfg, bmc, suite).await {
                Ok((keys, bmc_sid, console_sid)) => {
                    tracing::debug!(bmc, suite = suite.id(), "rmcp+ session open");
                    return Ok(Session {
                        socket,
                        bmc: bmc.to_string(),
                        cfg,
                        keys,
                        bmc_sid,
                        console_sid,
                        out_seq: 0,
                        in_seq: 0,
                        rq_seq: 0,
                        privilege: Privilege::User,
                        suite,
                        last_used: Instant::now(),
                    });
                }
                Err(Handshake::SuiteRefused(status)) => {
                    tracing::debug!(bmc, suite = suite.id(), %status, "cipher suite refused");
                    last = Some(HalError::Unsupported {
                        bmc: bmc.to_string(),
                        detail: format!("cipher suite {} refused: {status}", suite.id()),
                    });
                }
                Err(Handshake::Failed(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| protocol(bmc, "no cipher suite configured".into())))
    }

    /// Sends one IPMI request in the session and returns its reply (any completion code).
    pub async fn request(&mut self, net_fn: u8, cmd: u8, data: &[u8]) -> Result<Reply, HalError> {
        self.rq_seq = (self.rq_seq + 1) & 0x3f;
        let req = Request::new(net_fn, cmd, self.rq_seq, data.to_vec());
        let payload = req.encode();
        let what = format!("netfn {net_fn:#04x} cmd {cmd:#04x}");
        let started = Instant::now();
        let (keys, bmc_sid, console_sid, bmc) =
            (&self.keys, self.bmc_sid, self.console_sid, self.bmc.clone());
        let out_seq = &mut self.out_seq;
        let in_seq = &mut self.in_seq;
        let resp = exchange(
            &self.socket,
            &bmc,
            &what,
            &self.cfg,
            |_| {
                *out_seq = out_seq.wrapping_add(1).max(1);
                encode_v2(
                    PayloadType::IpmiMessage,
                    bmc_sid,
                    *out_seq,
                    &payload,
                    Some(keys),
                    random::<16>(),
                )
                .map_err(|e| protocol(&bmc, e.to_string()))
            },
            |bytes| match decode_incoming(bytes, Some(keys)) {
                Ok(Incoming::V2(p))
                    if p.authenticated
                        && p.encrypted
                        && p.session_id == console_sid
                        && p.payload_type == PayloadType::IpmiMessage
                        && p.session_seq > *in_seq =>
                {
                    let r = Response::decode(&p.payload)
                        .ok()
                        .filter(|r| r.answers(&req))?;
                    *in_seq = p.session_seq;
                    Some(r)
                }
                _ => None,
            },
        )
        .await?;
        tracing::debug!(
            target: "bmc_catcher::wire",
            bmc = %self.bmc,
            net_fn,
            cmd,
            cc = resp.completion_code,
            bytes = resp.data.len(),
            us = started.elapsed().as_micros() as u64,
            "ipmi request"
        );
        self.last_used = Instant::now();
        if let Some(r) = &self.cfg.recorder {
            r.lock().unwrap_or_else(|p| p.into_inner()).push(Exchange {
                net_fn,
                cmd,
                request: data.to_vec(),
                cc: resp.completion_code,
                response: resp.data.clone(),
            });
        }
        Ok(Reply {
            cc: resp.completion_code,
            data: resp.data,
        })
    }

    /// Like [`Session::request`], but a non-zero completion code is an error naming the command.
    pub async fn command(&mut self, net_fn: u8, cmd: u8, data: &[u8]) -> Result<Vec<u8>, HalError> {
        let r = self.request(net_fn, cmd, data).await?;
        match r.cc {
            0 => Ok(r.data),
            0xd4 => Err(HalError::Auth {
                bmc: self.bmc.clone(),
                detail: format!(
                    "netfn {net_fn:#04x} cmd {cmd:#04x}: insufficient privilege (cc 0xd4)"
                ),
            }),
            0xc1 => Err(HalError::Unsupported {
                bmc: self.bmc.clone(),
                detail: format!(
                    "netfn {net_fn:#04x} cmd {cmd:#04x}: command not supported (cc 0xc1)"
                ),
            }),
            cc => Err(protocol(
                &self.bmc,
                format!("netfn {net_fn:#04x} cmd {cmd:#04x}: completion code {cc:#04x}"),
            )),
        }
    }

    /// Raises the session to `level` (Set Session Privilege Level) if it is below.
    pub async fn ensure_privilege(&mut self, level: Privilege) -> Result<(), HalError> {
        if self.privilege >= level {
            return Ok(());
        }
        let r = self.request(0x06, 0x3b, &[level as u8]).await?;
        if r.cc != 0 {
            return Err(HalError::Auth {
                bmc: self.bmc.clone(),
                detail: format!(
                    "user {:?} cannot have {level:?} privilege (cc {:#04x})",
                    self.cfg.username, r.cc
                ),
            });
        }
        self.privilege = level;
        Ok(())
    }

    /// How long since the last answered request.
    pub fn idle(&self) -> Duration {
        self.last_used.elapsed()
    }

    /// The BMC's ID of this session.
    pub fn id(&self) -> u32 {
        self.bmc_sid
    }

    /// Closes another session of this BMC by its ID (one an earlier run left open); needs
    /// Administrator privilege. True when the BMC closed it.
    pub async fn close_other(&mut self, id: u32) -> bool {
        matches!(self.request(0x06, 0x3c, &id.to_le_bytes()).await, Ok(r) if r.cc == 0)
    }

    /// Close Session; best effort (a BMC that forgot the session already is fine).
    pub async fn close(mut self) {
        let sid = self.bmc_sid.to_le_bytes();
        self.cfg.retries = 0;
        match self.request(0x06, 0x3c, &sid).await {
            Ok(r) if r.cc == 0 => tracing::debug!(bmc = %self.bmc, "rmcp+ session closed"),
            Ok(r) => tracing::debug!(bmc = %self.bmc, cc = r.cc, "close session refused"),
            Err(e) => tracing::debug!(bmc = %self.bmc, error = %e, "close session unanswered"),
        }
    }
}
