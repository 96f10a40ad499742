//! Opening an RMCP+ session over the socket: drives `ipmi_wire`'s [`ClientHandshake`] (Open Session
//! and RAKP 1-4 for one cipher suite) with the session's retry and timeout policy ([`exchange`]),
//! and maps its failures to [`HalError`]s naming the BMC. A suite the BMC refuses is reported as
//! such, so the caller can try the next one.

use secrecy::ExposeSecret;
use tokio::net::UdpSocket;

use super::super::wire::crypto::{CipherSuite, SessionKeys};
use super::super::wire::handshake::{
    ClientHandshake, ClientParams, Established, HandshakeError, Step,
};
use super::super::wire::rakp::RmcpStatus;
use super::{Session, SessionConfig, exchange, nonzero_u32, protocol, random};
use crate::hal::HalError;

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
        let params = ClientParams::new(
            suite,
            cfg.privilege,
            cfg.username.as_bytes(),
            cfg.password.expose_secret().as_bytes(),
            nonzero_u32(),
            random::<1>()[0],
            random::<16>(),
        );
        let (mut hs, mut datagram) =
            ClientHandshake::new(params).map_err(|e| failed(bmc, cfg, e))?;
        loop {
            let what = hs.stage().what();
            let step = exchange(
                socket,
                bmc,
                what,
                cfg,
                |_| Ok(datagram.clone()),
                |bytes| match hs.handle(bytes) {
                    Ok(Step::Ignore) => None,
                    other => Some(other),
                },
            )
            .await
            .map_err(Handshake::Failed)?;
            match step {
                Ok(Step::Send(next)) => datagram = next,
                Ok(Step::Done(e)) => {
                    let Established {
                        keys,
                        bmc_session_id,
                        console_session_id,
                        ..
                    } = *e;
                    return Ok((keys, bmc_session_id, console_session_id));
                }
                Ok(Step::Ignore) => {}
                Err(e) => return Err(failed(bmc, cfg, e)),
            }
        }
    }
}

/// The error the daemon reports for a failed login (the messages of the socket-driven handshake).
fn failed(bmc: &str, cfg: &SessionConfig, e: HandshakeError) -> Handshake {
    let auth = |detail: String| {
        Handshake::Failed(HalError::Auth {
            bmc: bmc.to_string(),
            detail,
        })
    };
    match e {
        HandshakeError::SuiteRefused(s) => Handshake::SuiteRefused(s),
        HandshakeError::OpenSessionRefused(s) => {
            Handshake::Failed(protocol(bmc, format!("Open Session refused: {s}")))
        }
        HandshakeError::UserName(e) => auth(e.to_string()),
        HandshakeError::Password(e) => auth(e.to_string()),
        HandshakeError::Rakp2Refused(s) => auth(format!("RAKP 2: {s} (user {:?})", cfg.username)),
        HandshakeError::Rakp2Code => auth(format!(
            "RAKP 2: the BMC's key-exchange code does not match: wrong password for user {:?}",
            cfg.username
        )),
        HandshakeError::Rakp4Refused(s) => auth(format!("RAKP 4: {s}")),
        HandshakeError::Rakp4Icv => Handshake::Failed(protocol(
            bmc,
            "RAKP 4: integrity check value does not match".into(),
        )),
        HandshakeError::Encode(e) => Handshake::Failed(protocol(bmc, e.to_string())),
    }
}
