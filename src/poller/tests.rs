//! Scheduling arithmetic, and the due queue ([`Slots`]) under paused time against scripted
//! backends.

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
    let phases: Vec<Duration> = (0..=255u8).map(|i| mac(i).phase(interval)).collect();
    assert!(phases.iter().all(|p| *p < interval));
    assert_eq!(mac(7).phase(interval), mac(7).phase(interval));
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
    closed: AtomicUsize,
    hang: bool,
}

#[async_trait]
impl Bmc for Scripted {
    fn describe(&self) -> BmcInfo {
        self.info.clone()
    }
    async fn poll(&self) -> Reading {
        /// Counts the poll out when it ends, also when its deadline drops it.
        struct InFlight<'a>(&'a AtomicUsize);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let now = self.running.fetch_add(1, Ordering::SeqCst);
        let _in_flight = InFlight(&self.running);
        assert_eq!(now, 0, "a BMC must never be polled twice at once");
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.hang {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
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
    async fn close(&self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }

    async fn refresh_inventory(&self) {}
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
        closed: AtomicUsize::new(0),
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

/// Every scheduling test's schedule: once a minute, 5 s deadline, one poll at a time.
const SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(60),
    timeout: Duration::from_secs(5),
    concurrency: 1,
};

/// A running [`Slots`] loop, driven the way [`Poller::run`] drives it.
struct Running {
    token: CancellationToken,
    /// Adds BMCs, removes them (`None`) or changes the schedule while it runs.
    tell: tokio::sync::mpsc::UnboundedSender<Tell>,
    handle: tokio::task::JoinHandle<()>,
}

enum Tell {
    Add(Arc<dyn Bmc>, u8),
    Remove(u8),
    Schedule(Schedule),
}

impl Running {
    fn add(&self, bmc: Arc<dyn Bmc>, i: u8) {
        self.tell.send(Tell::Add(bmc, i)).expect("running");
    }

    async fn stop(self) {
        self.token.cancel();
        self.handle.await.expect("the loop ends when cancelled");
    }
}

/// Starts a [`Slots`] loop on `schedule` over `store` (whose targets the caller upserts).
fn start(store: Arc<Store>, schedule: Schedule) -> Running {
    let token = CancellationToken::new();
    let (tell, mut told) = tokio::sync::mpsc::unbounded_channel();
    let cancel = token.clone();
    let handle = tokio::spawn(async move {
        let mut slots = Slots::new(schedule, store, Arc::new(PollStats::default()));
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                Some(t) = told.recv() => match t {
                    Tell::Add(bmc, i) => slots.add(Arc::new(target(i)), bmc),
                    Tell::Remove(i) => { slots.remove(mac(i)); }
                    Tell::Schedule(s) => slots.set_schedule(s),
                },
                _ = slots.step() => {}
            }
        }
        slots.shutdown().await;
    });
    Running {
        token,
        tell,
        handle,
    }
}

#[tokio::test(start_paused = true)]
async fn a_reload_moves_a_waiting_bmc_to_its_slot_of_the_new_period() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(2));
    let bmc = scripted(2, false);
    let run = start(store, SCHEDULE);
    run.add(bmc.clone(), 2);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(bmc.polls.load(Ordering::SeqCst), 1, "polled when added");
    let longer = Schedule {
        interval: Duration::from_secs(3600),
        ..SCHEDULE
    };
    let epoch = Instant::now() - Duration::from_secs(1);
    run.tell.send(Tell::Schedule(longer)).expect("running");
    let slot = next_slot(
        epoch,
        mac(2).phase(longer.interval),
        longer.interval,
        Instant::now(),
    );
    tokio::time::sleep_until(slot - Duration::from_millis(100)).await;
    assert_eq!(
        bmc.polls.load(Ordering::SeqCst),
        1,
        "not again before its slot of the new period (the old one was a minute)"
    );
    tokio::time::sleep_until(slot + Duration::from_secs(1)).await;
    assert_eq!(
        bmc.polls.load(Ordering::SeqCst),
        2,
        "polled at its new slot"
    );
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_bmc_is_polled_at_start_then_once_per_interval() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(1));
    let bmc = scripted(1, false);
    let run = start(store.clone(), SCHEDULE);
    run.add(bmc.clone(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(bmc.polls.load(Ordering::SeqCst), 1, "first poll at start");
    tokio::time::sleep(Duration::from_secs(600)).await;
    let n = bmc.polls.load(Ordering::SeqCst);
    assert!(
        (10..=12).contains(&n),
        "about one poll per minute over ten minutes, got {n}"
    );
    run.stop().await;
    assert_eq!(store.snapshots().len(), 1);
    assert_eq!(bmc.closed.load(Ordering::SeqCst), 1, "logged out on stop");
}

#[tokio::test(start_paused = true)]
async fn polls_in_flight_never_exceed_the_concurrency() {
    let store = Arc::new(Store::new("t"));
    let bmcs: Vec<Arc<Scripted>> = (1..=3).map(|i| scripted(i, true)).collect();
    let start_at = Instant::now();
    let run = start(store.clone(), SCHEDULE);
    for (i, b) in (1..=3).zip(&bmcs) {
        store.upsert_target(target(i));
        run.add(b.clone(), i);
    }
    // Each hangs until its 5 s deadline; one at a time, so the third starts after 10 s.
    let count = |bmcs: &[Arc<Scripted>], of: fn(&Scripted) -> &AtomicUsize| {
        bmcs.iter()
            .map(|b| of(b).load(Ordering::SeqCst))
            .sum::<usize>()
    };
    for second in 1..=16 {
        tokio::time::sleep_until(start_at + Duration::from_secs(second)).await;
        assert_eq!(
            count(&bmcs, |b| &b.running),
            1,
            "one in flight at {second} s"
        );
    }
    assert_eq!(
        count(&bmcs, |b| &b.polls),
        4,
        "polls started at 0, 5, 10 and 15 s"
    );
    assert!(
        bmcs.iter().all(|b| b.polls.load(Ordering::SeqCst) >= 1),
        "each had its turn"
    );
    assert_eq!(
        store.snapshots().len(),
        3,
        "each timed-out poll is recorded"
    );
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_bmc_removed_while_polled_is_closed_after_its_poll_and_its_result_dropped() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(5));
    let bmc = scripted(5, true);
    let run = start(store.clone(), SCHEDULE);
    run.add(bmc.clone(), 5);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(bmc.polls.load(Ordering::SeqCst), 1, "its poll is in flight");
    run.tell.send(Tell::Remove(5)).expect("running");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        bmc.closed.load(Ordering::SeqCst),
        0,
        "not closed under its poll's feet"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        bmc.closed.load(Ordering::SeqCst),
        1,
        "closed once the poll ended"
    );
    assert!(
        store.snapshots().is_empty(),
        "the poll of a removed BMC is not recorded"
    );
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(bmc.polls.load(Ordering::SeqCst), 1, "never polled again");
    run.stop().await;
    assert_eq!(bmc.closed.load(Ordering::SeqCst), 1, "closed once");
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

    async fn refresh_inventory(&self) {}
}

#[tokio::test(start_paused = true)]
async fn wrong_credentials_are_not_retried_in_a_loop() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(3));
    let bmc = Canned::new(3, |_| {
        Reading::all_failed(ErrorKind::Auth, "wrong password")
    });
    let run = start(store, SCHEDULE);
    run.add(bmc.clone(), 3);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let n = bmc.polls.load(Ordering::SeqCst);
    // Without back-off: 60 logins in an hour; with it: 1 + 2 + 4 + 8 + 8 ... intervals apart.
    assert!((8..=11).contains(&n), "{n} login attempts in an hour");
    run.stop().await;
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
async fn a_panicking_poll_is_logged_and_the_bmc_polled_again_at_its_next_slot() {
    let store = Arc::new(Store::new("t"));
    store.upsert_target(target(4));
    // Panics on its first poll (a decoder bug on the first reply), answers after that.
    let bmc = Canned::new(4, |n| {
        assert!(n > 0, "a decoder bug on the first reply");
        let mut r = Reading::all_failed(ErrorKind::Unsupported, "scripted");
        r.power = Field::Ok(PowerState::On);
        r
    });
    let run = start(store.clone(), SCHEDULE);
    run.add(bmc.clone(), 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        bmc.polls.load(Ordering::SeqCst),
        1,
        "the first poll ran and panicked"
    );
    assert!(!run.handle.is_finished(), "the scheduler is still there");
    assert!(store.snapshots().is_empty());
    tokio::time::sleep(SCHEDULE.interval + Duration::from_secs(1)).await;
    assert_eq!(
        bmc.polls.load(Ordering::SeqCst),
        2,
        "polled again at its next slot"
    );
    assert_eq!(store.snapshots().len(), 1, "and the poll was recorded");
    run.stop().await;
}
