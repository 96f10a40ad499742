//! The command endpoint: a queue subscription on `<prefix>.<partition>.*.cmd`; each request goes
//! to the [`Controller`] in its own task, at once (the controller queues per BMC, so a BMC that
//! hangs holds up only its own commands), and is answered on its reply subject, errors included.
//! The request id is the `Nats-Msg-Id` header, when there is one. With peers in the partition a
//! request for a BMC another catcher owns is forwarded to it once ([`forward`]).

pub mod forward;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{NatsError, NatsStats};
use crate::config::Nats as NatsConfig;
use crate::control::Controller;

/// Commands waiting or running at once, over all BMCs; beyond, a request is answered `busy` at
/// once (each BMC's own queue is much smaller, `[nats] command-queue`).
const MAX_IN_FLIGHT: usize = 4096;

/// The partition's queue subscription, and with peers this catcher's own (forwarded requests).
pub async fn subscribe(
    client: &async_nats::Client,
    cfg: &NatsConfig,
    partition: &str,
    routing: Option<&forward::Routing>,
) -> Result<Requests, NatsError> {
    let subject = format!("{}.{partition}.*.cmd", cfg.subject_prefix);
    let queue = client
        .queue_subscribe(subject.clone(), format!("bmc-catcher.{partition}"))
        .await
        .map_err(|e| NatsError::Subscribe {
            subject,
            detail: e.to_string(),
        })?;
    let Some(routing) = routing else {
        return Ok(Requests {
            queue: Some(queue),
            own: None,
        });
    };
    let subject = routing.own_subject();
    let own = client
        .subscribe(subject.clone())
        .await
        .map_err(|e| NatsError::Subscribe {
            subject,
            detail: e.to_string(),
        })?;
    Ok(Requests {
        queue: Some(queue),
        own: Some(own),
    })
}

/// The requests of [`subscribe`]: the queue subscription and, with peers, this catcher's own.
pub struct Requests {
    queue: Option<async_nats::Subscriber>,
    own: Option<async_nats::Subscriber>,
}

/// The next message of a subscription that may have ended.
async fn next_of(s: &mut Option<async_nats::Subscriber>) -> Option<async_nats::Message> {
    match s {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

impl Requests {
    /// The next request of either subscription; `None` once both ended.
    async fn next(&mut self) -> Option<async_nats::Message> {
        enum From {
            Queue(Option<async_nats::Message>),
            Own(Option<async_nats::Message>),
        }
        loop {
            if self.queue.is_none() && self.own.is_none() {
                return None;
            }
            let got = tokio::select! {
                m = next_of(&mut self.queue) => From::Queue(m),
                m = next_of(&mut self.own) => From::Own(m),
            };
            match got {
                From::Queue(Some(m)) | From::Own(Some(m)) => return Some(m),
                From::Queue(None) => self.queue = None,
                From::Own(None) => self.own = None,
            }
        }
    }

    /// Unsubscribes both, keeping what the server delivered before: [`Requests::next`] hands
    /// those out, then ends. A request the queue group gave this catcher is answered, not dropped.
    async fn drain(&mut self) {
        for s in [&mut self.queue, &mut self.own].into_iter().flatten() {
            if let Err(e) = s.drain().await {
                tracing::warn!(error = %e, "cannot unsubscribe from commands");
            }
        }
    }
}

/// What every command task needs.
#[derive(Clone)]
pub struct Context {
    pub client: async_nats::Client,
    pub controller: Arc<Controller>,
    pub stats: Arc<NatsStats>,
    /// Set when the partition may have peers.
    pub routing: Option<forward::Routing>,
}

/// How long the replies of the last commands may take to leave at shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a forwarded request for a BMC this catcher does not poll yet waits for it: the peer
/// that forwarded it may have seen a member join or leave a moment before this catcher's poller
/// took the BMC over. Bounded by half the command deadline.
const ADOPTION_WAIT: Duration = Duration::from_secs(2);

/// Waits (bounded like [`until_adopted`]) until this catcher knows the partition's members: one
/// that has just started takes requests from the queue group before it has joined, and does not
/// know yet which BMCs are its own.
async fn until_joined(routing: &forward::Routing, received: Instant) {
    let budget = ADOPTION_WAIT.min(routing.command_timeout / 2);
    let mut members = routing.members.clone();
    while members.borrow_and_update().is_none() {
        let Some(left) = budget.checked_sub(received.elapsed()) else {
            return;
        };
        if !matches!(
            tokio::time::timeout(left, members.changed()).await,
            Ok(Ok(()))
        ) {
            return;
        }
    }
}

/// Waits (bounded) until the controller knows `mac`: a forwarded request that arrives just before
/// its BMC is taken over runs once it is, instead of being refused as `unknown-bmc`.
async fn until_adopted(ctx: &Context, mac: &str, received: Instant) {
    let budget = ctx
        .routing
        .as_ref()
        .map_or(Duration::ZERO, |r| ADOPTION_WAIT.min(r.command_timeout / 2));
    while !ctx.controller.knows(mac) && received.elapsed() < budget {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Takes requests until `cancel`, each in its own task; then unsubscribes, takes the requests
/// already delivered (for at most [`FLUSH_TIMEOUT`]), waits for the commands in flight (each
/// bounded by its deadline) and flushes their replies, so the daemon, which waits for this,
/// closes no session under a running command and loses no reply.
pub async fn serve(sub: Requests, ctx: Context, cancel: CancellationToken) {
    let in_flight = TaskTracker::new();
    take_requests(sub, &ctx, &in_flight, cancel).await;
    in_flight.close();
    in_flight.wait().await;
    if !matches!(
        tokio::time::timeout(FLUSH_TIMEOUT, ctx.client.flush()).await,
        Ok(Ok(()))
    ) {
        tracing::warn!("the last command replies may not have reached NATS");
    }
}

async fn take_requests(
    mut sub: Requests,
    ctx: &Context,
    in_flight: &TaskTracker,
    cancel: CancellationToken,
) {
    let mut drained_by: Option<tokio::time::Instant> = None;
    loop {
        let msg = match drained_by {
            None => tokio::select! {
                m = sub.next() => match m { Some(m) => m, None => return },
                _ = cancel.cancelled() => {
                    sub.drain().await;
                    drained_by = Some(tokio::time::Instant::now() + FLUSH_TIMEOUT);
                    continue;
                }
            },
            Some(by) => match tokio::time::timeout_at(by, sub.next()).await {
                Ok(Some(m)) => m,
                Ok(None) => return,
                Err(_) => {
                    tracing::warn!(
                        "commands: the unsubscribe did not complete; the rest are not taken"
                    );
                    return;
                }
            },
        };
        let received = Instant::now();
        let Some(reply_to) = msg.reply.clone() else {
            tracing::warn!(subject = %msg.subject, "command without a reply subject ignored");
            continue;
        };
        let mac = msg.subject.split('.').nth(2).unwrap_or("").to_string();
        if in_flight.len() >= MAX_IN_FLIGHT {
            let reply = ctx.controller.overloaded(&mac, in_flight.len(), received);
            send_reply(ctx, reply_to, &reply).await;
            continue;
        }
        let ctx = ctx.clone();
        let hops = forward::hops(msg.headers.as_ref());
        let forwarded = hops > 0;
        let route = ctx
            .routing
            .as_ref()
            .map_or(forward::Route::Here, |r| r.route(&msg.subject, forwarded));
        if let (forward::Route::To(owner), Some(routing)) = (route, ctx.routing.clone()) {
            in_flight.spawn(async move {
                relay(&ctx, &routing, msg, &mac, &owner, reply_to, received).await;
            });
            continue;
        }
        in_flight.spawn(async move {
            run_here(
                &ctx,
                &msg,
                &mac,
                reply_to,
                received,
                hops < forward::MAX_HOPS,
            )
            .await;
        });
    }
}

/// Runs a request on this catcher and answers it. In a partition with peers, a BMC this catcher
/// does not poll is first looked up in the member view: handed over to a peer since the request was
/// routed here, it is forwarded to the new owner (when `may_forward`: fewer than
/// [`forward::MAX_HOPS`] forwards so far);
/// else it is waited for (bounded), as a member that just joined owns BMCs before its poller has
/// adopted them, and a peer may forward a request a moment before the take-over.
async fn run_here(
    ctx: &Context,
    msg: &async_nats::Message,
    mac: &str,
    reply_to: async_nats::Subject,
    received: Instant,
    may_forward: bool,
) {
    if let Some(routing) = ctx.routing.as_ref().filter(|_| !ctx.controller.knows(mac)) {
        until_joined(routing, received).await;
        if let (forward::Route::To(owner), true) = (routing.owner(mac), may_forward) {
            let msg = msg.clone();
            return Box::pin(relay(ctx, routing, msg, mac, &owner, reply_to, received)).await;
        }
        until_adopted(ctx, mac, received).await;
    }
    let id = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|v| v.as_str().to_string());
    let reply = ctx
        .controller
        .handle(mac, &msg.payload, id.as_deref(), received)
        .await;
    send_reply(ctx, reply_to, &reply).await;
}

/// Forwards a request to the BMC's owner and relays its reply (or, when the owner cannot be
/// reached, an error: the request ran nowhere). When no catcher listens on the owner's subject (it
/// left, and this catcher's view has not caught up yet), the request was delivered nowhere: it is
/// routed again once the view moves on (within [`REROUTE_WAIT`]), and run here or forwarded to the
/// new owner, still at most once.
async fn relay(
    ctx: &Context,
    routing: &forward::Routing,
    msg: async_nats::Message,
    mac: &str,
    owner: &str,
    reply_to: async_nats::Subject,
    received: Instant,
) {
    let mut owner = owner.to_string();
    let mut rerouted = false;
    loop {
        let hops = forward::hops(msg.headers.as_ref()) + 1;
        let mut headers = msg.headers.clone().unwrap_or_default();
        headers.insert(forward::FORWARDED, routing.own.as_str());
        headers.insert(forward::HOPS, hops.to_string().as_str());
        let request = async_nats::Request::new()
            .payload(msg.payload.clone())
            .headers(headers)
            .timeout(Some(routing.relay_timeout(received)));
        let subject = routing.owner_subject(mac, &owner);
        let e = match ctx.client.send_request(subject.clone(), request).await {
            Ok(answer) => {
                if let Err(e) = ctx.client.publish(reply_to, answer.payload).await {
                    tracing::warn!(error = %e, "forwarded command reply not sent");
                }
                return;
            }
            Err(e) => e,
        };
        if e.kind() == async_nats::RequestErrorKind::NoResponders && !rerouted {
            rerouted = true;
            match reroute(routing, mac, &owner, received).await {
                Some(forward::Route::Here) => {
                    return run_here(ctx, &msg, mac, reply_to, received, false).await;
                }
                Some(forward::Route::To(next)) => {
                    owner = next;
                    continue;
                }
                None => {}
            }
        }
        tracing::warn!(subject, owner, error = %e, "command not forwarded to the BMC's owner");
        let reached = e.kind() == async_nats::RequestErrorKind::TimedOut;
        let reply = ctx.controller.unforwarded(mac, &owner, reached, received);
        return send_reply(ctx, reply_to, &reply).await;
    }
}

/// How long a request whose owner had no listener waits for the member view to name another.
const REROUTE_WAIT: Duration = Duration::from_secs(2);

/// The request's route once the member view no longer names `gone` as its owner; `None` when the
/// view did not change within [`REROUTE_WAIT`] (or half the command deadline).
async fn reroute(
    routing: &forward::Routing,
    mac: &str,
    gone: &str,
    received: Instant,
) -> Option<forward::Route> {
    let budget = REROUTE_WAIT.min(routing.command_timeout / 2);
    let mut members = routing.members.clone();
    loop {
        match routing.owner(mac) {
            forward::Route::To(o) if o == gone => {}
            route => return Some(route),
        }
        let left = budget.checked_sub(received.elapsed())?;
        match tokio::time::timeout(left, members.changed()).await {
            Ok(Ok(())) => {}
            // No change in time, or no view any more.
            Ok(Err(_)) | Err(_) => return None,
        }
    }
}

async fn send_reply(ctx: &Context, reply_to: async_nats::Subject, reply: &crate::control::Reply) {
    ctx.stats.command(reply.ok);
    let body = serde_json::to_vec(reply).unwrap_or_default();
    if let Err(e) = ctx.client.publish(reply_to, body.into()).await {
        tracing::warn!(error = %e, "command reply not sent");
    }
}
