//! The command endpoint: a queue subscription on `<prefix>.<partition>.*.cmd`; each request runs
//! through [`crate::control::execute`] in its own task (at most [`MAX_IN_FLIGHT`] at once) and is
//! answered on its reply subject, errors included.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{NatsError, NatsStats};
use crate::config::Nats as NatsConfig;
use crate::poller::Fleet;
use crate::store::Store;

/// Commands executing at once, over all BMCs (each BMC serialises its own).
const MAX_IN_FLIGHT: usize = 64;

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
    pub store: Arc<Store>,
    pub fleet: Fleet,
    pub timeout: Duration,
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
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let msg = tokio::select! {
            m = sub.next() => match m { Some(m) => m, None => return },
            _ = cancel.cancelled() => return,
        };
        let Some(reply_to) = msg.reply.clone() else {
            tracing::warn!(subject = %msg.subject, "command without a reply subject ignored");
            continue;
        };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let ctx2 = ctx.clone();
        in_flight.spawn(async move {
            let ctx = ctx2;
            let mac = msg.subject.split('.').nth(2).unwrap_or("").to_string();
            let reply =
                crate::control::execute(&ctx.fleet, &ctx.store, &mac, &msg.payload, ctx.timeout)
                    .await;
            ctx.stats.command(reply.ok);
            let body = serde_json::to_vec(&reply).unwrap_or_default();
            if let Err(e) = ctx.client.publish(reply_to, body.into()).await {
                tracing::warn!(error = %e, "command reply not sent");
            }
            drop(permit);
        });
    }
}
