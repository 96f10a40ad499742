//! The command endpoint: a queue subscription on `<prefix>.<partition>.*.cmd`; each request goes
//! to the [`Controller`] in its own task, at once (the controller queues per BMC, so a BMC that
//! hangs holds up only its own commands), and is answered on its reply subject, errors included.
//! The request id is the `Nats-Msg-Id` header, when there is one.

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

pub async fn subscribe(
    client: &async_nats::Client,
    cfg: &NatsConfig,
    partition: &str,
) -> Result<async_nats::Subscriber, NatsError> {
    let subject = format!("{}.{partition}.*.cmd", cfg.subject_prefix);
    client
        .queue_subscribe(subject.clone(), format!("bmc-catcher.{partition}"))
        .await
        .map_err(|e| NatsError::Subscribe {
            subject,
            detail: e.to_string(),
        })
}

/// What every command task needs.
#[derive(Clone)]
pub struct Context {
    pub client: async_nats::Client,
    pub controller: Arc<Controller>,
    pub stats: Arc<NatsStats>,
}

/// How long the replies of the last commands may take to leave at shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Takes requests until `cancel`, each in its own task; then waits for the commands in flight
/// (each bounded by its deadline) and flushes their replies, so the daemon, which waits for this,
/// closes no session under a running command and loses no reply.
pub async fn serve(sub: async_nats::Subscriber, ctx: Context, cancel: CancellationToken) {
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
    mut sub: async_nats::Subscriber,
    ctx: &Context,
    in_flight: &TaskTracker,
    cancel: CancellationToken,
) {
    loop {
        let msg = tokio::select! {
            m = sub.next() => match m { Some(m) => m, None => return },
            _ = cancel.cancelled() => return,
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
        in_flight.spawn(async move {
            let id = msg
                .headers
                .as_ref()
                .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                .map(|v| v.as_str().to_string());
            let reply = ctx
                .controller
                .handle(&mac, &msg.payload, id.as_deref(), received)
                .await;
            send_reply(&ctx, reply_to, &reply).await;
        });
    }
}

async fn send_reply(ctx: &Context, reply_to: async_nats::Subject, reply: &crate::control::Reply) {
    ctx.stats.command(reply.ok);
    let body = serde_json::to_vec(reply).unwrap_or_default();
    if let Err(e) = ctx.client.publish(reply_to, body.into()).await {
        tracing::warn!(error = %e, "command reply not sent");
    }
}
