//! Opening an RMCP+ session: Open Session and RAKP 1-4 for one cipher suite, checking the BMC's
//! key-exchange code and integrity check value, deriving the session keys. A suite the BMC refuses is
//! reported as such, so the caller can try the next one.

use super::super::wire::crypto::{
    CipherSuite, RakpContext, SessionKeys, ct_eq, rakp2_auth_code, rakp3_auth_code, rakp4_icv,
    user_key,
};
use super::super::wire::packet::{Incoming, PayloadType, decode_incoming, encode_v2};
use super::super::wire::rakp::{
    Algorithms, OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Rakp3, Rakp4, RmcpStatus,
};
use super::{Session, SessionConfig, exchange, nonzero_u32, protocol, random};
use crate::hal::HalError;
use secrecy::ExposeSecret;
use tokio::net::UdpSocket;

pub(super) enum Handshake {
    SuiteRefused(RmcpStatus),
    Failed(HalError),
}

impl Session {
    pub(super) async fn handshake(
        socket: &UdpSocket,
        cfg: &SessionConfig,
        bmc: &str,
        suite: CipherSuite,
    ) -> Result<(SessionKeys, u32, u32), Handshake> {
        let console_sid = nonzero_u32();
        let tag = random::<1>()[0];
        let open = OpenSessionRequest {
            tag,
            max_privilege: cfg.privilege,
            console_session_id: console_sid,
            algorithms: Algorithms::of_suite(suite),
        }
        .encode();
        let resp: OpenSessionResponse = exchange(
            socket,
            bmc,
            "Open Session",
            cfg,
            |_| {
                encode_v2(PayloadType::OpenSessionRequest, 0, 0, &open, None, [0; 16])
                    .map_err(|e| protocol(bmc, e.to_string()))
            },
            |bytes| match decode_incoming(bytes, None) {
                Ok(Incoming::V2(p)) if p.payload_type == PayloadType::OpenSessionResponse => {
                    OpenSessionResponse::decode(&p.payload)
                        .ok()
                        .filter(|r| r.tag == tag)
                }
                _ => None,
            },
        )
        .await
        .map_err(Handshake::Failed)?;
        let bmc_sid = match (resp.status, resp.session) {
            (RmcpStatus::Ok, Some((sid, _))) => sid,
            (
                s @ (RmcpStatus::InvalidAuthAlgorithm
                | RmcpStatus::InvalidIntegrityAlgorithm
                | RmcpStatus::InvalidConfidentialityAlgorithm
                | RmcpStatus::NoCipherSuiteMatch
                | RmcpStatus::NoMatchingAuthPayload
                | RmcpStatus::NoMatchingIntegrityPayload),
                _,
            ) => return Err(Handshake::SuiteRefused(s)),
            (s, _) => {
                return Err(Handshake::Failed(protocol(
                    bmc,
                    format!("Open Session refused: {s}"),
                )));
            }
        };
        let console_random = random::<16>();
        let role = cfg.privilege.role_byte(true);
        let username = cfg.username.as_bytes().to_vec();
        let rakp1 = Rakp1 {
            tag,
            bmc_session_id: bmc_sid,
            console_random,
            role,
            username: username.clone(),
        }
        .encode()
        .map_err(|e| {
            Handshake::Failed(HalError::Auth {
                bmc: bmc.to_string(),
                detail: e.to_string(),
            })
        })?;
        let rakp2: Rakp2 = exchange(
            socket,
            bmc,
            "RAKP 1",
            cfg,
            |_| {
                encode_v2(PayloadType::Rakp1, 0, 0, &rakp1, None, [0; 16])
                    .map_err(|e| protocol(bmc, e.to_string()))
            },
            |bytes| match decode_incoming(bytes, None) {
                Ok(Incoming::V2(p)) if p.payload_type == PayloadType::Rakp2 => {
                    Rakp2::decode(&p.payload).ok().filter(|r| r.tag == tag)
                }
                _ => None,
            },
        )
        .await
        .map_err(Handshake::Failed)?;
        let auth = |detail: String| {
            Handshake::Failed(HalError::Auth {
                bmc: bmc.to_string(),
                detail,
            })
        };
        if !rakp2.status.is_ok() {
            return Err(auth(format!(
                "RAKP 2: {} (user {:?})",
                rakp2.status, cfg.username
            )));
        }
        let kuid =
            user_key(cfg.password.expose_secret().as_bytes()).map_err(|e| auth(e.to_string()))?;
        let ctx = RakpContext {
            suite,
            console_session_id: console_sid,
            bmc_session_id: bmc_sid,
            console_random,
            bmc_random: rakp2.bmc_random,
            bmc_guid: rakp2.bmc_guid,
            role,
            username: &username,
        };
        if !ct_eq(&rakp2.auth_code, &rakp2_auth_code(&ctx, &kuid)) {
            return Err(auth(format!(
                "RAKP 2: the BMC's key-exchange code does not match: wrong password for user {:?}",
                cfg.username
            )));
        }
        let rakp3 = Rakp3 {
            tag,
            status: RmcpStatus::Ok,
            bmc_session_id: bmc_sid,
            auth_code: rakp3_auth_code(&ctx, &kuid),
        }
        .encode();
        let rakp4: Rakp4 = exchange(
            socket,
            bmc,
            "RAKP 3",
            cfg,
            |_| {
                encode_v2(PayloadType::Rakp3, 0, 0, &rakp3, None, [0; 16])
                    .map_err(|e| protocol(bmc, e.to_string()))
            },
            |bytes| match decode_incoming(bytes, None) {
                Ok(Incoming::V2(p)) if p.payload_type == PayloadType::Rakp4 => {
                    Rakp4::decode(&p.payload).ok().filter(|r| r.tag == tag)
                }
                _ => None,
            },
        )
        .await
        .map_err(Handshake::Failed)?;
        if !rakp4.status.is_ok() {
            return Err(auth(format!("RAKP 4: {}", rakp4.status)));
        }
        let keys = SessionKeys::derive(&ctx, &kuid, None);
        if !ct_eq(&rakp4.integrity_check_value, &rakp4_icv(&ctx, keys.sik())) {
            return Err(Handshake::Failed(protocol(
                bmc,
                "RAKP 4: integrity check value does not match".into(),
            )));
        }
        Ok((keys, bmc_sid, console_sid))
    }
}
