//! The checkpoint watcher: reads the registry's checkpoint (health and log length) every 5 s,
//! backing off while the registry is down, and follows `:registry` switches.

use crate::registry::{ApiError, RegistryClient};
use crate::tracker::scheduler;
use crate::tracker::store::now_ms;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// One reading: the checkpoint's (log length, timestamp), or why it could not be read.
#[derive(Debug, Clone)]
pub struct CheckpointSeen(pub Result<(u64, u64), ApiError>);

/// Runs until `events` closes or the client channel is dropped.
pub async fn watch_checkpoint<T>(
    mut client: watch::Receiver<RegistryClient>,
    events: mpsc::Sender<T>,
) where
    T: From<CheckpointSeen> + Send + 'static,
{
    let mut failures = 0u32;
    loop {
        let c = client.borrow().clone();
        let res = c
            .checkpoint()
            .await
            .map(|cp| (cp.contents.log_length, cp.contents.timestamp));
        let wait = match &res {
            Ok(_) => {
                failures = 0;
                Duration::from_secs(5)
            }
            Err(_) => {
                failures += 1;
                scheduler::backoff(
                    Duration::from_secs(2),
                    failures,
                    Duration::from_secs(60),
                    now_ms() as u64,
                )
            }
        };
        if events.send(T::from(CheckpointSeen(res))).await.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = client.changed() => if changed.is_err() { return },
        }
    }
}
