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
    /// Where command tasks run; the daemon waits for it before closing sessions.
    pub in_flight: TaskTracker,
}

/// Takes requests until `cancel`; each runs in its own task on `ctx.in_flight`.
pub async fn serve(mut sub: async_nats::Subscriber, ctx: Context, cancel: CancellationToken) {
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
        ctx.in_flight.spawn(async move {
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
