//! The command endpoint: a queue subscription on `<prefix>.<partition>.*.cmd`; each request runs
//! through [`crate::control::execute`] in its own task (at most [`MAX_IN_FLIGHT`] at once) and is
//! answered on its reply subject, errors included.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

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

pub async fn serve(
    mut sub: async_nats::Subscriber,
    client: async_nats::Client,
    store: Arc<Store>,
    fleet: Fleet,
    timeout: Duration,
    stats: Arc<NatsStats>,
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
        let (client, store, fleet, stats) =
            (client.clone(), store.clone(), fleet.clone(), stats.clone());
        tokio::spawn(async move {
            let mac = msg.subject.split('.').nth(2).unwrap_or("").to_string();
            let reply = crate::control::execute(&fleet, &store, &mac, &msg.payload, timeout).await;
            stats.command(reply.ok);
            let body = serde_json::to_vec(&reply).unwrap_or_default();
            if let Err(e) = client.publish(reply_to, body.into()).await {
                tracing::warn!(error = %e, "command reply not sent");
            }
            drop(permit);
        });
    }
}
