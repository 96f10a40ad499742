//! SIGHUP: what a re-read config changes in the running daemon. Sections are compared as values
//! (they derive `PartialEq`); each change goes to the task that owns it.

use std::sync::Arc;

use super::{Daemon, timing_of};
use crate::config::{Config, Credentials};
use crate::discovery;
use crate::hal::Connector;
use crate::poller::{Reload, Schedule};

impl Daemon {
    /// Applies a re-read config and credentials (SIGHUP). Sessions are kept wherever they stay
    /// valid: new credentials re-open only the sessions whose credential changed; new `[poll]`
    /// timing restarts the workers on their backends; new `[redfish]`, `[ipmi]` or `[poll]
    /// protocol` settings re-create every backend; `[discovery]` restarts the watcher; `[issues]`
    /// applies at the next evaluation. `partition`, `session-journal`, `[poll] profile-file`,
    /// `[logs]`, `[http]` and `[nats]` need a restart and are reported as such.
    pub async fn reload(&self, new: Config, credentials: Credentials) {
        let old = self
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let needs_restart = [
            ("partition", old.partition != new.partition),
            (
                "session-journal",
                old.session_journal != new.session_journal,
            ),
            (
                "poll.profile-file",
                old.poll.profile_file != new.poll.profile_file,
            ),
            ("logs", old.logs != new.logs),
            ("http", old.http != new.http),
            ("nats", old.nats != new.nats),
        ];
        for (key, changed) in needs_restart {
            if changed {
                tracing::warn!(
                    key,
                    "changed in the config file; takes effect after a restart"
                );
            }
        }
        if old.discovery != new.discovery {
            let mut w = self.watcher.lock().unwrap_or_else(|p| p.into_inner());
            w.token.cancel();
            w.token = self.cancel.child_token();
            self.tracker.spawn(
                discovery::watcher(&new)
                    .with_health(w.health.clone())
                    .run(w.targets.clone(), w.token.clone()),
            );
            tracing::info!("discovery settings reloaded");
        }
        self.issue_timing.send_if_modified(|t| {
            let new = timing_of(&new);
            std::mem::replace(t, new) != new
        });
        let transport = old.redfish != new.redfish
            || old.ipmi != new.ipmi
            || old.poll.protocol != new.poll.protocol
            || old.poll.limits() != new.poll.limits();
        let mut changes = Vec::new();
        let schedule = Schedule::of(&new.poll);
        if Schedule::of(&old.poll) != schedule {
            changes.push(Reload::Schedule(schedule));
        }
        let (journal, cursors) = (self.journal.clone(), self.cursors.clone());
        let profiles = self.profiles.clone();
        match transport.then(|| {
            Connector::new(&new, credentials.clone()).map(|c| {
                c.with_journal(journal)
                    .with_cursors(cursors)
                    .with_profiles(profiles)
            })
        }) {
            Some(Ok(c)) => changes.push(Reload::Backends(Arc::new(c))),
            Some(Err(e)) => {
                tracing::error!(error = %e, "[redfish]/[ipmi] not reloaded; keeping the running backends");
                changes.push(Reload::Credentials(credentials));
            }
            None => changes.push(Reload::Credentials(credentials)),
        }
        for change in changes {
            if self.reload.send(change).await.is_err() {
                tracing::warn!("the poller is gone; reload not applied");
            }
        }
        *self.config.lock().unwrap_or_else(|p| p.into_inner()) = new;
    }
}
