//! Scheduling arithmetic, and the worker loop under paused time against a scripted backend.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use super::*;
use crate::hal::{BmcInfo, HalError};
use crate::model::{Action, Field, PowerState, Protocol};

fn mac(i: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, i])
}

#[test]
fn phases_are_stable_spread_and_inside_the_period() {
    let interval = Duration::from_secs(300);
    let phases: Vec<Duration> = (0..=255u8).map(|i| phase(mac(i), interval)).collect();
    assert!(phases.iter().all(|p| *p < interval));
    assert_eq!(phase(mac(7), interval), phase(mac(7), interval));
    // 256 BMCs over 10 buckets of 30 s: every bucket gets some.
    let mut buckets = [0u32; 10];
    for p in &phases {
        buckets[(p.as_secs() / 30) as usize] += 1;
    }
    assert!(buckets.iter().all(|&n| n > 5), "{buckets:?}");
}

#[test]
fn next_slot_is_strictly_after_now_on_the_grid() {
    let epoch = Instant::now();
    let interval = Duration::from_secs(10);
    let ph = Duration::from_secs(3);
    assert_eq!(next_slot(epoch, ph, interval, epoch), epoch + ph);
    assert_eq!(
        next_slot(epoch, ph, interval, epoch + ph),
        epoch + ph + interval
    );
    assert_eq!(
        next_slot(epoch, ph, interval, epoch + Duration::from_secs(27)),
        epoch + Duration::from_secs(33)
    );
}

struct Scripted {
    info: BmcInfo,
    polls: AtomicUsize,
    running: AtomicUsize,
    hang: bool,
}

#[async_trait]
impl Bmc for Scripted {
    fn describe(&self) -> BmcInfo {
        self.info.clone()
    }
    async fn poll(&self) -> Reading {
        let now = self.running.fetch_add(1, Ordering::SeqCst);
        assert_eq!(now, 0, "a BMC must never be polled twice at once");
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.hang {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        let mut r = Reading::all_failed(ErrorKind::Unsupported, "scripted");
        r.power = Field::Ok(PowerState::On);
        r
    }
    async fn power_state(&self) -> Result<PowerState, HalError> {
        Ok(PowerState::On)
    }
    async fn perform(&self, _: Action) -> Result<(), HalError> {
        Ok(())
    }
    async fn close(&self) {}
}

fn scripted(i: u8, hang: bool) -> Arc<Scripted> {
    Arc::new(Scripted {
        info: BmcInfo {
            mac: mac(i),
            ip: "127.0.0.1".parse().expect("ip"),
            port: 443,
            protocol: Some(Protocol::Redfish),
        },
        polls: AtomicUsize::new(0),
        running: AtomicUsize::new(0),
        hang,
    })
}

fn target(i: u8) -> Target {
    Target {
        mac: mac(i),
        ip: "127.0.0.1".parse().expect("ip"),
        port: None,
        hostname: None,
        lease_ends: None,
    }
}

/// Every worker test's schedule: once a minute, 5 s deadline, one poll at a time.
const SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(60),
    timeout: Duration::from_secs(5),
    concurrency: 1,
};

/// Starts BMC `i`'s worker on [`SCHEDULE`] from `epoch`; returns its token and handle.
fn start_worker(
    bmc: Arc<dyn Bmc>,
    i: u8,
    store: Arc<Store>,
    epoch: Instant,
    first: FirstPoll,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let token = CancellationToken::new();
    let handle = worker::spawn(
        worker::Context {
            bmc,
            target: Arc::new(target(i)),
            store,
            stats: Arc::new(PollStats::default()),
            permits: Arc::new(Semaphore::new(1)),
            schedule: SCHEDULE,
            epoch,
            token: token.clone(),
        },
        first,
    );
    (token, handle)
}

#[tokio::test(start_paused = true)]
async fn a_worker_restarted_by_a_reload_polls_first_at_its_slot() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(2));
    let bmc = scripted(2, false);
    let epoch = Instant::now();
    let slot = phase(mac(2), SCHEDULE.interval);
    let (token, handle) = start_worker(bmc.clone(), 2, store, epoch, FirstPoll::AtItsSlot);
    tokio::time::sleep_until(epoch + slot - Duration::from_millis(100)).await;
    assert_eq!(
        bmc.polls.load(Ordering::SeqCst),
        0,
        "nothing before its slot"
    );
    tokio::time::sleep_until(epoch + slot + Duration::from_secs(1)).await;
    assert_eq!(bmc.polls.load(Ordering::SeqCst), 1, "polled at its slot");
    token.cancel();
    handle.await.expect("worker ends on cancel");
}

#[tokio::test(start_paused = true)]
async fn worker_polls_at_start_then_once_per_interval() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(1));
    let bmc = scripted(1, false);
    let (token, handle) = start_worker(
        bmc.clone(),
        1,
        store.clone(),
        Instant::now(),
        FirstPoll::Now,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(bmc.polls.load(Ordering::SeqCst), 1, "first poll at start");
    tokio::time::sleep(Duration::from_secs(600)).await;
    let n = bmc.polls.load(Ordering::SeqCst);
    assert!(
        (10..=12).contains(&n),
        "about one poll per minute over ten minutes, got {n}"
    );
    token.cancel();
    handle.await.expect("worker ends on cancel");
    assert_eq!(store.snapshots().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_poll_ends_at_the_deadline_with_a_timeout() {
    let bmc = scripted(2, true);
    let snap = poll_one(bmc.as_ref(), &target(2), "t", Duration::from_secs(7)).await;
    assert!(!snap.up);
    assert_eq!(
        snap.reading.power.err().map(|e| e.kind),
        Some(ErrorKind::Timeout)
    );
    assert_eq!(snap.duration_ms, 7000);
}

#[test]
fn failing_bmcs_are_backed_off_auth_failures_at_once() {
    assert_eq!(
        (0..7).map(|n| backoff(n, false)).collect::<Vec<_>>(),
        vec![1, 1, 1, 2, 4, 8, 8]
    );
    assert_eq!(
        (0..5).map(|n| backoff(n, true)).collect::<Vec<_>>(),
        vec![1, 2, 4, 8, 8]
    );
}

/// A backend whose polls answer what `answer` says for the n-th poll (0-based); it may panic.
struct Canned {
    info: BmcInfo,
    polls: AtomicUsize,
    answer: fn(usize) -> Reading,
}

impl Canned {
    fn new(i: u8, answer: fn(usize) -> Reading) -> Arc<Canned> {
        Arc::new(Canned {
            info: scripted(i, false).info.clone(),
            polls: AtomicUsize::new(0),
            answer,
        })
    }
}

#[async_trait]
impl Bmc for Canned {
    fn describe(&self) -> BmcInfo {
        self.info.clone()
    }
    async fn poll(&self) -> Reading {
        (self.answer)(self.polls.fetch_add(1, Ordering::SeqCst))
    }
    async fn power_state(&self) -> Result<PowerState, HalError> {
        Ok(PowerState::Unknown)
    }
    async fn perform(&self, _: Action) -> Result<(), HalError> {
        Ok(())
    }
    async fn close(&self) {}
}

#[tokio::test(start_paused = true)]
async fn wrong_credentials_are_not_retried_in_a_loop() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(3));
    let bmc = Canned::new(3, |_| {
        Reading::all_failed(ErrorKind::Auth, "wrong password")
    });
    let (token, handle) = start_worker(bmc.clone(), 3, store, Instant::now(), FirstPoll::Now);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let n = bmc.polls.load(Ordering::SeqCst);
    // Without back-off: 60 logins in an hour; with it: 1 + 2 + 4 + 8 + 8 ... intervals apart.
    assert!((8..=11).contains(&n), "{n} login attempts in an hour");
    token.cancel();
    handle.await.expect("worker ends");
}

#[test]
fn overdue_polls_are_counted_for_the_watchdog() {
    let stats = PollStats::default();
    stats.set_due(mac(1), Some(1_000));
    stats.set_due(mac(2), Some(5_000));
    assert_eq!(stats.overdue(500), 0);
    assert_eq!(stats.overdue(2_000), 1);
    stats.set_due(mac(1), None);
    assert_eq!(stats.overdue(2_000), 0, "a BMC that is gone is not overdue");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_worker_is_restarted_at_its_next_slot() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(4));
    // Panics on its first poll (a decoder bug on the first reply), answers after that.
    let bmc = Canned::new(4, |n| {
        assert!(n > 0, "a decoder bug on the first reply");
        let mut r = Reading::all_failed(ErrorKind::Unsupported, "scripted");
        r.power = Field::Ok(PowerState::On);
        r
    });
    let (token, handle) = start_worker(
        bmc.clone(),
        4,
        store.clone(),
        Instant::now(),
        FirstPoll::Now,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        bmc.polls.load(Ordering::SeqCst),
        1,
        "the first poll ran and panicked"
    );
    assert!(!handle.is_finished(), "the supervisor is still there");
    assert!(store.snapshots().is_empty());
    tokio::time::sleep(SCHEDULE.interval + Duration::from_secs(1)).await;
    assert_eq!(
        bmc.polls.load(Ordering::SeqCst),
        2,
        "polled again at its next slot"
    );
    assert_eq!(store.snapshots().len(), 1, "and the poll was recorded");
    token.cancel();
    handle.await.expect("the supervisor ends when cancelled");
}
