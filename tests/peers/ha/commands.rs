//! Commands while members join and leave: 1,000 `power-cycle` requests over 200 simulated BMCs
//! reach two, then three, then two catchers (the queue group picks one; a non-owner forwards to
//! the owner). Every request gets exactly one reply, and bmc-sim counts exactly one reset per
//! request answered `ok` (a power-cycle always acts, so a second execution would show), none for
//! a request refused.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Catcher, catcher_config};
use crate::common::*;
use futures::StreamExt;

const REQUESTS: usize = 1000;

#[tokio::test(flavor = "multi_thread")]
async fn every_command_runs_once_and_is_answered_once_while_members_change() {
    let _heavy = HEAVY.lock().await;
    let (bed, _nats, url) = super::partition_of_200().await;
    let config = |id: &str| {
        let mut c = catcher_config(&bed, &url, id);
        c.nats.command_rate_limit = 0;
        c
    };
    let a = Catcher::start(config("mgmt-a"), &bed);
    let _b = Catcher::start(config("mgmt-b"), &bed);
    wait_until(Duration::from_secs(20), "a owns its share", || {
        let n = a.macs().len();
        n > 0 && n < 200
    })
    .await;

    let client = async_nats::connect(url.as_str()).await.expect("connect");
    let mut replies = client.subscribe("test-replies.>").await.expect("subscribe");
    let tokens: Vec<String> = bed
        .fleet
        .bmcs
        .iter()
        .map(|r| r.bmc.mac.to_string().replace(':', "-"))
        .collect();
    let mut c: Option<Catcher> = None;
    for i in 0..REQUESTS {
        // A third member joins a fifth of the way in and leaves (the normal way) at three fifths.
        if i == REQUESTS / 5 {
            c = Some(tokio::task::block_in_place(|| {
                Catcher::start(config("mgmt-c"), &bed)
            }));
        }
        if i == REQUESTS * 3 / 5
            && let Some(mut c) = c.take()
        {
            tokio::task::block_in_place(|| c.end(true));
        }
        send(&client, &tokens, i).await;
        if i % 20 == 19 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Every reply, and any second one, within the command deadline's reach.
    let mut answers: HashMap<usize, Vec<serde_json::Value>> = HashMap::new();
    collect(&mut replies, &mut answers, Duration::from_secs(15)).await;
    // A request the queue group gave a member in the moment it left is lost unrun (async-nats
    // drops what reaches a drained subscription after its UNSUB, without the PING/PONG fence of
    // other NATS clients): the client sends it again with the same id, and it runs once.
    let unanswered: Vec<usize> = (0..REQUESTS).filter(|n| !answers.contains_key(n)).collect();
    if !unanswered.is_empty() {
        eprintln!("RESENT (no reply within 15 s): {unanswered:?}");
        for &i in &unanswered {
            send(&client, &tokens, i).await;
        }
        collect(&mut replies, &mut answers, Duration::from_secs(15)).await;
    }
    let unanswered: Vec<usize> = (0..REQUESTS).filter(|n| !answers.contains_key(n)).collect();
    assert!(
        unanswered.is_empty(),
        "every request answered; none for {unanswered:?} (the third member joined before request \
         {} and left before {})",
        REQUESTS / 5,
        REQUESTS * 3 / 5
    );
    let twice: Vec<_> = answers.iter().filter(|(_, v)| v.len() != 1).collect();
    assert!(twice.is_empty(), "answered more than once: {twice:?}");
    let mut ok_per_bmc: HashMap<String, u64> = HashMap::new();
    let mut refused = Vec::new();
    for (n, v) in &answers {
        let reply = &v[0];
        if reply["ok"] == true {
            *ok_per_bmc
                .entry(tokens[n % tokens.len()].clone())
                .or_default() += 1;
        } else {
            let kind = reply["error"]["kind"].as_str().unwrap_or("").to_string();
            assert_ne!(
                kind, "timeout",
                "a timeout leaves the count unknowable: {reply}"
            );
            eprintln!("REFUSED {n}: {reply}");
            refused.push(kind);
        }
    }
    for (r, token) in bed.fleet.bmcs.iter().zip(&tokens) {
        let resets = r.bmc.counters.resets.load(Ordering::Relaxed);
        assert_eq!(
            resets,
            ok_per_bmc.get(token).copied().unwrap_or(0),
            "{token}: resets on the BMC against ok replies"
        );
    }
    eprintln!(
        "{} commands ok, {} refused ({refused:?})",
        REQUESTS - refused.len(),
        refused.len()
    );
    assert!(
        refused.len() < REQUESTS / 10,
        "most commands run: {refused:?}"
    );
}

/// Sends request `i` (a power-cycle of BMC `i % 200`), with the id `req-i` (`Nats-Msg-Id`).
async fn send(client: &async_nats::Client, tokens: &[String], i: usize) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        async_nats::header::NATS_MESSAGE_ID,
        format!("req-{i}").as_str(),
    );
    client
        .publish_with_reply_and_headers(
            format!("bmc.test.{}.cmd", tokens[i % tokens.len()]),
            format!("test-replies.{i}"),
            headers,
            r#"{"action":"power-cycle"}"#.into(),
        )
        .await
        .expect("publish");
}

/// Takes replies into `answers` (by request number) for at most `window`; once every request has
/// one, waits two seconds more for any second reply (which fails the test), not the whole window.
async fn collect(
    replies: &mut async_nats::Subscriber,
    answers: &mut HashMap<usize, Vec<serde_json::Value>>,
    window: Duration,
) {
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, replies.next()).await {
        let n: usize = msg
            .subject
            .rsplit('.')
            .next()
            .and_then(|t| t.parse().ok())
            .expect("reply subject");
        answers
            .entry(n)
            .or_default()
            .push(serde_json::from_slice(&msg.payload).expect("reply JSON"));
        if answers.len() == REQUESTS
            && deadline - tokio::time::Instant::now() > Duration::from_secs(3)
        {
            // All in: wait a little longer for any second reply, not the whole window.
            tokio::time::sleep(Duration::from_secs(2)).await;
            if let Ok(Some(msg)) =
                tokio::time::timeout(Duration::from_millis(10), replies.next()).await
            {
                panic!("a second reply: {}", msg.subject);
            }
            break;
        }
    }
}
