//! Fault injection: each fault a BMC can show, tried several times against a simulated BMC that
//! sits next to two healthy ones. For every fault: the error kind is the right one, the faulty BMC
//! costs at most its deadline, the healthy BMCs are polled as fast as ever and all reported, and
//! sessions are re-established at most once per poll. The results are rendered as the table in
//! docs/reliability.md, which must match the file (BMC_CATCHER_UPDATE_DOCS=1 rewrites it).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::*;
use bmc_catcher::config::{Config, Credentials, ProtocolChoice, TlsPolicy};
use bmc_catcher::hal::Connector;
use bmc_catcher::model::{ErrorKind, Target};
use bmc_catcher::poller::poll_one;
use bmc_sim::state::IpmiReplyDefect;
use bmc_sim::state::named_fault::SimFault;
use bmc_sim::{FleetSpec, SimBmc, SimFleet, SimProtocol};
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(3);
const TRIES: usize = 3;

#[derive(Clone, Copy)]
enum Fault {
    AcceptNoAnswer,
    ResetMidResponse,
    SlowAnswers,
    SessionExpires,
    Busy503,
    MaxSessions,
    MalformedJson,
    TruncatedJson,
    HugeBody,
    RebootMidRound,
    Flapping,
    RefusedLogin,
    IpmiSilent,
    IpmiRefusedLogin,
    /// A broken in-session reply; `true`: the right one follows it.
    IpmiReply(IpmiReplyDefect, bool),
}

struct Case {
    fault: Fault,
    name: &'static str,
    /// The kinds polls of the faulty BMC may end with (`None`: read fine).
    expect: &'static [Option<ErrorKind>],
    did: &'static str,
}

const CASES: &[Case] = &[
    Case {
        fault: Fault::AcceptNoAnswer,
        name: "TCP accepted, never an answer",
        expect: &[Some(ErrorKind::Timeout)],
        did: "gave up at the deadline",
    },
    Case {
        fault: Fault::ResetMidResponse,
        name: "connection reset mid-response",
        expect: &[Some(ErrorKind::Protocol), Some(ErrorKind::Unreachable)],
        did: "reported the cut body, kept the session",
    },
    Case {
        fault: Fault::SlowAnswers,
        name: "5 s per answer (deadline 3 s)",
        expect: &[Some(ErrorKind::Timeout)],
        did: "gave up at the deadline",
    },
    Case {
        fault: Fault::SessionExpires,
        name: "HTTP 401 after a working session",
        expect: &[None],
        did: "logged in again once, read everything",
    },
    Case {
        fault: Fault::Busy503,
        name: "HTTP 503 with Retry-After",
        expect: &[Some(ErrorKind::Protocol)],
        did: "reported it, tried again next poll",
    },
    Case {
        fault: Fault::MaxSessions,
        name: "\"maximum sessions\" (iDRAC RAC0218)",
        expect: &[None],
        did: "fell back to basic auth, read everything",
    },
    Case {
        fault: Fault::MalformedJson,
        name: "malformed JSON (an HTML error page)",
        expect: &[Some(ErrorKind::Protocol)],
        did: "reported it per part",
    },
    Case {
        fault: Fault::TruncatedJson,
        name: "truncated JSON",
        expect: &[Some(ErrorKind::Protocol)],
        did: "reported it per part",
    },
    Case {
        fault: Fault::HugeBody,
        name: "a 50 MB response body",
        expect: &[Some(ErrorKind::Protocol)],
        did: "stopped reading at 16 MiB",
    },
    Case {
        fault: Fault::RebootMidRound,
        name: "BMC reboots: silent, then back without sessions",
        expect: &[Some(ErrorKind::Unreachable), Some(ErrorKind::Timeout), None],
        did: "recovered with one new session",
    },
    Case {
        fault: Fault::Flapping,
        name: "flapping: answers every other poll",
        expect: &[Some(ErrorKind::Unreachable), Some(ErrorKind::Timeout), None],
        did: "reported each poll as it was",
    },
    Case {
        fault: Fault::RefusedLogin,
        name: "login refused (wrong password)",
        expect: &[Some(ErrorKind::Auth)],
        did: "one login per poll, backed off by the poller",
    },
    Case {
        fault: Fault::IpmiSilent,
        name: "IPMI: no UDP reply at all",
        expect: &[Some(ErrorKind::Timeout)],
        did: "gave up at the deadline",
    },
    Case {
        fault: Fault::IpmiRefusedLogin,
        name: "IPMI: RAKP refuses the user",
        expect: &[Some(ErrorKind::Auth)],
        did: "reported auth, no retry loop",
    },
    Case {
        fault: Fault::IpmiReply(IpmiReplyDefect::BadIntegrity, true),
        name: "IPMI: a broken UDP reply (bad integrity AuthCode) before each right one",
        expect: &[None],
        did: "dropped the broken reply, took the right one",
    },
    Case {
        fault: Fault::IpmiReply(IpmiReplyDefect::WrongSessionId, true),
        name: "IPMI: a broken UDP reply (another session's ID, properly signed) before each right one",
        expect: &[None],
        did: "dropped the broken reply, took the right one",
    },
    Case {
        fault: Fault::IpmiReply(IpmiReplyDefect::StaleSequence, true),
        name: "IPMI: a broken UDP reply (a replayed sequence number, properly signed) before each right one",
        expect: &[None],
        did: "dropped the broken reply, took the right one",
    },
    Case {
        fault: Fault::IpmiReply(IpmiReplyDefect::Truncated, true),
        name: "IPMI: a broken UDP reply (cut to half its bytes) before each right one",
        expect: &[None],
        did: "dropped the broken reply, took the right one",
    },
    Case {
        fault: Fault::IpmiReply(IpmiReplyDefect::BadIntegrity, false),
        name: "IPMI: every UDP reply broken (bad integrity AuthCode)",
        expect: &[Some(ErrorKind::Timeout)],
        did: "dropped every reply, gave up at the deadline",
    },
    Case {
        fault: Fault::IpmiReply(IpmiReplyDefect::WrongSessionId, false),
        name: "IPMI: every UDP reply broken (another session's ID, properly signed)",
        expect: &[Some(ErrorKind::Timeout)],
        did: "dropped every reply, gave up at the deadline",
    },
    Case {
        fault: Fault::IpmiReply(IpmiReplyDefect::StaleSequence, false),
        name: "IPMI: every UDP reply broken (a replayed sequence number, properly signed)",
        expect: &[Some(ErrorKind::Timeout)],
        did: "dropped every reply, gave up at the deadline",
    },
    Case {
        fault: Fault::IpmiReply(IpmiReplyDefect::Truncated, false),
        name: "IPMI: every UDP reply broken (cut to half its bytes)",
        expect: &[Some(ErrorKind::Timeout)],
        did: "dropped every reply, gave up at the deadline",
    },
];

struct Outcome {
    kinds: Vec<Option<ErrorKind>>,
    worst_ms: u64,
    healthy_worst_ms: u64,
    healthy_reported: usize,
    healthy_expected: usize,
    sessions_per_poll_max: u64,
}

fn ipmi(case: &Case) -> bool {
    matches!(
        case.fault,
        Fault::IpmiSilent | Fault::IpmiRefusedLogin | Fault::IpmiReply(..)
    )
}

async fn run_case(case: &Case) -> Outcome {
    let cancel = CancellationToken::new();
    let protocol = if ipmi(case) {
        SimProtocol::Ipmi
    } else {
        SimProtocol::Redfish
    };
    let spec = FleetSpec {
        count: 3,
        first_ip: unique_ip(),
        protocols: vec![protocol],
        ..Default::default()
    };
    let fleet = SimFleet::start(&spec, cancel.clone()).await.expect("sim");
    let mut cfg = Config::default();
    cfg.poll.protocol = if ipmi(case) {
        ProtocolChoice::Ipmi
    } else {
        ProtocolChoice::Redfish
    };
    cfg.poll.timeout = DEADLINE;
    cfg.redfish.port = fleet.port();
    cfg.redfish.tls = TlsPolicy::Insecure;
    cfg.ipmi.port = fleet.ipmi_port();
    cfg.ipmi.request_timeout = Duration::from_millis(500);
    cfg.ipmi.retries = 1;
    let connector =
        Connector::new(&cfg, Credentials::single("admin", "password")).expect("connector");
    let mut targets: Vec<Target> = fleet
        .bmcs
        .iter()
        .map(|r| Target {
            mac: mac(r.bmc.mac),
            ip: r.ipmi.as_ref().map_or(r.addr.ip(), |(a, _)| a.ip()),
            port: None,
            hostname: None,
            lease_ends: None,
        })
        .collect();
    let sim: Arc<SimBmc> = fleet.bmcs[0].bmc.clone();
    // A "BMC" that accepts TCP and says nothing replaces the first one for that fault.
    let mut _hang = None;
    if let Fault::AcceptNoAnswer = case.fault {
        let ip = unique_ip();
        let l = tokio::net::TcpListener::bind((ip, fleet.port()))
            .await
            .expect("bind");
        _hang = Some(tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                held.push(s);
            }
        }));
        targets[0].ip = ip.into();
    }
    {
        let mut st = sim.state();
        // The faults `bmc-sim --fault NAME` sets, so a failure here can be reproduced by hand.
        let named = match case.fault {
            Fault::ResetMidResponse => Some(SimFault::ResetMidResponse),
            Fault::SlowAnswers => Some(SimFault::SlowAnswers),
            Fault::Busy503 => Some(SimFault::Busy503),
            Fault::MaxSessions => Some(SimFault::MaxSessions),
            Fault::MalformedJson => Some(SimFault::MalformedJson),
            Fault::TruncatedJson => Some(SimFault::TruncatedJson),
            Fault::HugeBody => Some(SimFault::HugeBody),
            Fault::RefusedLogin | Fault::IpmiRefusedLogin => Some(SimFault::RefusedLogin),
            Fault::IpmiSilent => Some(SimFault::Silent),
            Fault::IpmiReply(defect, then_good) => Some(SimFault::of_ipmi_reply(defect, then_good)),
            _ => None,
        };
        if let Some(f) = named {
            f.apply(&mut st);
        }
    }
    let bmcs: Vec<_> = targets.iter().map(|t| connector.connect(t)).collect();
    let mut out = Outcome {
        kinds: Vec::new(),
        worst_ms: 0,
        healthy_worst_ms: 0,
        healthy_reported: 0,
        healthy_expected: 0,
        sessions_per_poll_max: 0,
    };
    let sessions = |s: &SimBmc| {
        s.counters.sessions_created.load(Ordering::Relaxed)
            + fleet.bmcs[0]
                .ipmi
                .as_ref()
                .map_or(0, |(_, h)| h.sessions_created())
    };
    for attempt in 0..TRIES {
        match case.fault {
            Fault::SessionExpires if attempt > 0 => sim.sessions.lock().expect("lock").clear(),
            Fault::RebootMidRound => {
                let down = attempt == 1;
                sim.state().faults.drop_connections = down;
                if !down {
                    sim.sessions.lock().expect("lock").clear();
                }
            }
            Fault::Flapping => sim.state().faults.drop_connections = attempt % 2 == 1,
            _ => {}
        }
        let before = sessions(&sim);
        let polls = futures::future::join_all(
            targets
                .iter()
                .zip(&bmcs)
                .map(|(t, b)| poll_one(b.as_ref(), t, "faults", DEADLINE)),
        )
        .await;
        out.sessions_per_poll_max = out.sessions_per_poll_max.max(sessions(&sim) - before);
        let faulty = &polls[0];
        out.kinds.push(faulty.reading.first_error().map(|e| e.kind));
        out.worst_ms = out.worst_ms.max(faulty.duration_ms);
        for healthy in &polls[1..] {
            out.healthy_expected += 1;
            out.healthy_worst_ms = out.healthy_worst_ms.max(healthy.duration_ms);
            if healthy.up
                && healthy
                    .reading
                    .first_error()
                    .is_none_or(|e| e.kind == ErrorKind::Unsupported)
            {
                out.healthy_reported += 1;
            }
        }
    }
    if let Fault::IpmiReply(..) = case.fault {
        let broken = fleet.bmcs[0]
            .ipmi
            .as_ref()
            .map_or(0, |(_, h)| h.broken_replies());
        assert!(broken > 0, "{}: no broken reply was sent", case.name);
    }
    for b in &bmcs {
        b.close().await;
    }
    cancel.cancel();
    out
}

fn kinds_text(kinds: &[Option<ErrorKind>]) -> String {
    let seen: Vec<String> = kinds
        .iter()
        .map(|k| k.map_or("read".to_string(), |k| k.to_string()))
        .collect();
    seen.join(" or ")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_costs_only_its_deadline_and_loses_nothing() {
    let _heavy = crate::common::HEAVY.lock().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The Redfish scenarios run at once, then the IPMI ones: 66 simulated BMCs polled at once by a
    // debug build on two cores measured the machine, not the catcher.
    let mut outcomes = Vec::with_capacity(CASES.len());
    for over_ipmi in [false, true] {
        let group = CASES.iter().filter(|c| ipmi(c) == over_ipmi).map(run_case);
        outcomes.extend(
            CASES
                .iter()
                .filter(|c| ipmi(c) == over_ipmi)
                .zip(futures::future::join_all(group).await),
        );
    }
    outcomes.sort_by_key(|(c, _)| CASES.iter().position(|k| std::ptr::eq(k, *c)));
    let mut table = String::from(
        "| fault | tries | each poll of the faulty BMC ended as | within its deadline (3 s) | healthy neighbours polled and reported | sessions opened per poll | what the catcher did |\n|---|---|---|---|---|---|---|\n",
    );
    for (case, o) in outcomes.iter().map(|(c, o)| (*c, o)) {
        eprintln!(
            "TIMING {} faulty={} healthy={}",
            case.name, o.worst_ms, o.healthy_worst_ms
        );
        for k in &o.kinds {
            assert!(
                case.expect.contains(k),
                "{}: unexpected outcome {k:?} (all: {:?})",
                case.name,
                o.kinds
            );
        }
        assert!(
            o.worst_ms <= DEADLINE.as_millis() as u64 + 250,
            "{}: {} ms over the deadline",
            case.name,
            o.worst_ms
        );
        // The neighbours never wait for the faulty BMC: each of their polls ends well before the
        // deadline the faulty one runs into (a dozen scenarios at once, debug build).
        assert!(
            o.healthy_worst_ms < DEADLINE.as_millis() as u64 - 500,
            "{}: a healthy BMC took {} ms",
            case.name,
            o.healthy_worst_ms
        );
        assert_eq!(
            o.healthy_reported, o.healthy_expected,
            "{}: a healthy BMC went unreported",
            case.name
        );
        assert!(
            o.sessions_per_poll_max <= 1,
            "{}: {} sessions in one poll",
            case.name,
            o.sessions_per_poll_max
        );
        // The table states what was asserted (stable from run to run), not the raw timings.
        table.push_str(&format!(
            "| {} | {TRIES} | {} | yes | {}/{} | at most 1 | {} |\n",
            case.name,
            kinds_text(case.expect),
            o.healthy_reported,
            o.healthy_expected,
            case.did
        ));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reliability.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let begin = "<!-- faults table: generated by tests/it/faults.rs -->\n";
    let end = "<!-- end of generated table -->";
    let current = doc
        .split(begin)
        .nth(1)
        .and_then(|r| r.split(end).next())
        .unwrap_or("");
    if std::env::var_os("BMC_CATCHER_UPDATE_DOCS").is_some() {
        let (head, tail) = match (doc.split_once(begin), doc.split_once(end)) {
            (Some((h, _)), Some((_, t))) => (h.to_string(), t.to_string()),
            _ => (doc.clone(), "\n".to_string()),
        };
        std::fs::write(path, format!("{head}{begin}{table}{end}{tail}"))
            .expect("write docs/reliability.md");
    } else {
        assert_eq!(
            current, table,
            "docs/reliability.md is stale: rerun with BMC_CATCHER_UPDATE_DOCS=1"
        );
    }
}
