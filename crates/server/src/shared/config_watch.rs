//! Keeps the cached configuration in step with changes other nodes (or the
//! CLI, beside a SQLite file) make: a reload when the store pushes a change
//! (PostgreSQL's LISTEN/NOTIFY), and a look at the store's change stamp
//! every `POLL` in case a push was missed, so a change made through one
//! node is live on every node within a second.
//!
//! The node that made a change has reloaded already (under the admin lock,
//! noting the stamp), so it does not reload it again: under that lock the
//! watcher reads the stamp once more and skips a stamp already seen.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::AppState;

const POLL: Duration = Duration::from_millis(500);
/// At most one "stamp unreadable" warning per this many polls (10 s).
const WARN_EVERY_POLLS: u32 = 20;

pub fn spawn(state: &Arc<AppState>) {
    let weak = Arc::downgrade(state);
    let changes = state.store.config_changes();
    tokio::spawn(watch(weak, changes));
}

async fn watch(weak: Weak<AppState>, mut changes: Option<broadcast::Receiver<()>>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed_polls = 0u32;
    loop {
        let pushed = tokio::select! {
            pushed = pushed(&mut changes) => pushed,
            _ = tick.tick() => false,
        };
        let Some(state) = weak.upgrade() else { break };
        let changed = pushed
            || {
                match state.store.config_stamp().await {
                    Ok(stamp) => {
                        failed_polls = 0;
                        stamp != state.seen_config_stamp()
                    }
                    Err(e) => {
                        if failed_polls.is_multiple_of(WARN_EVERY_POLLS) {
                            tracing::warn!(error = %e, "config stamp not read; serving the cached config");
                        }
                        failed_polls = failed_polls.wrapping_add(1);
                        false
                    }
                }
            };
        if changed {
            // serialized with this node's admin changes, so an older
            // snapshot never replaces a newer one
            let _guard = state.admin_lock.lock().await;
            // a push of this node's own change: the change reloaded under
            // this lock and noted its stamp (reloading again read every
            // link once more per change: 2,224 loads of up to 1,000 links
            // for the benchmark's 1,112 setup writes)
            if state
                .store
                .config_stamp()
                .await
                .is_ok_and(|stamp| stamp == state.seen_config_stamp())
            {
                continue;
            }
            if let Err(e) = state.reload().await {
                tracing::warn!(error = %e, "config reload failed; serving the previous config");
            }
        }
    }
}

/// Waits for the store's next push; a burst of pushes is one reload. Never
/// answers for a store that cannot push (polling alone then).
async fn pushed(changes: &mut Option<broadcast::Receiver<()>>) -> bool {
    let Some(rx) = changes else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(()) | Err(RecvError::Lagged(_)) => {
            while !matches!(
                rx.try_recv(),
                Err(TryRecvError::Empty | TryRecvError::Closed)
            ) {}
            true
        }
        Err(RecvError::Closed) => {
            tracing::warn!("the store stopped pushing config changes; polling its stamp");
            *changes = None;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_of_pushes_is_one_reload_and_a_closed_channel_leaves_polling() {
        let (tx, rx) = broadcast::channel(4);
        let mut changes = Some(rx);
        for _ in 0..3 {
            tx.send(()).unwrap();
        }
        assert!(pushed(&mut changes).await);
        // the burst was drained: nothing is waiting
        let waiting = tokio::time::timeout(Duration::from_millis(20), pushed(&mut changes)).await;
        assert!(waiting.is_err());
        // more pushes than the channel holds still wake once
        for _ in 0..10 {
            tx.send(()).unwrap();
        }
        assert!(pushed(&mut changes).await);
        drop(tx);
        assert!(!pushed(&mut changes).await);
        assert!(changes.is_none());
        // without a channel it never answers (the poll does)
        let never = tokio::time::timeout(Duration::from_millis(20), pushed(&mut changes)).await;
        assert!(never.is_err());
    }
}
