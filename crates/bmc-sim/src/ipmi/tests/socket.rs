//! Tests of the socket task: idle expiry with a console that never closes, `state.faults` (delay,
//! silence) and stopping on the cancellation token.

use std::net::SocketAddr;
use std::time::Duration;

use super::super::test_client::{Client, start, start_with};
use super::{have_ipmitool, ipmitool};
use ipmi_wire::crypto::CipherSuite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_expire() {
    let sim = start_with(Duration::from_millis(300)).await;
    let addr = sim.addr;
    // A console that opens a session and never closes it.
    let opened = tokio::task::spawn_blocking(move || {
        let sock = std::net::UdpSocket::bind("127.0.70.1:0").expect("bind");
        sock.connect(addr).expect("connect");
        sock.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let mut io = |d: &[u8]| {
            sock.send(d).ok()?;
            let mut buf = [0u8; 512];
            let n = sock.recv(&mut buf).ok()?;
            Some(buf[..n].to_vec())
        };
        let mut c = Client::new(CipherSuite::Cs17);
        c.open(&mut io, "admin", "password", 4)
            .map(|()| c.call(&mut io, 6, 1, &[]))
    })
    .await
    .expect("join");
    assert!(
        matches!(opened, Ok(Some(ref r)) if r.completion_code == 0),
        "{opened:?}"
    );
    assert_eq!(sim.handle.sessions_open(), 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(sim.handle.sessions_open(), 0);
    assert_eq!(sim.handle.sessions_expired(), 1);
    assert_eq!(sim.handle.sessions_closed(), 1);
    if have_ipmitool() {
        // ipmitool sends no RAKP 3 after a wrong password: the half-open session expires too.
        let out = ipmitool(&sim, 3, "admin", "wrong", &["mc", "info"]).await;
        assert!(!out.ok);
        assert_eq!(sim.handle.sessions_open(), 1);
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(sim.handle.sessions_open(), 0);
        assert_eq!(sim.handle.sessions_expired(), 1);
    }
}

/// Sends an ASF ping; returns the pong's delay, or `None` when none came within 1 s.
async fn ping(addr: SocketAddr) -> Option<Duration> {
    tokio::task::spawn_blocking(move || {
        let sock = std::net::UdpSocket::bind("127.0.70.1:0").ok()?;
        sock.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        let ping = ipmi_wire::packet::AsfPing { tag: 5 }.encode();
        let sent = std::time::Instant::now();
        sock.send_to(&ping, addr).ok()?;
        let mut buf = [0u8; 64];
        sock.recv(&mut buf).ok()?;
        Some(sent.elapsed())
    })
    .await
    .ok()
    .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_delay_and_silence_the_bmc() {
    let sim = start().await;
    assert!(
        ping(sim.addr)
            .await
            .is_some_and(|d| d < Duration::from_millis(200))
    );
    sim.bmc.state().faults.delay = Duration::from_millis(300);
    assert!(
        ping(sim.addr)
            .await
            .is_some_and(|d| d >= Duration::from_millis(300))
    );
    sim.bmc.state().faults.delay = Duration::ZERO;
    sim.bmc.state().faults.drop_connections = true;
    assert_eq!(ping(sim.addr).await, None);
    sim.bmc.state().faults.drop_connections = false;
    sim.cancel.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(ping(sim.addr).await, None, "stopped by the token");
}
