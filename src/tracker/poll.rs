//! One sweep over many records with bounded concurrency (`poll --once`, the dashboard's
//! scheduler reuses [`poll_one`]).

use crate::ids::{LogId, RecordId};
use crate::registry::{ApiError, PackageRecord, RecordState, RegistryClient};
use crate::tracker::store::{now_ms, PollOutcome, PolledState};
use futures::stream::{self, StreamExt};

/// The result of polling one record.
#[derive(Debug, Clone)]
pub struct Polled {
    pub log_id: LogId,
    pub record_id: RecordId,
    pub result: Result<(PackageRecord, serde_json::Value), ApiError>,
}

impl Polled {
    /// What the store keeps of this poll.
    pub fn outcome(&self) -> PollOutcome {
        PollOutcome {
            log_id: self.log_id,
            record_id: self.record_id,
            at: now_ms(),
            result: match &self.result {
                Ok((rec, raw)) => Ok(PolledState {
                    state: rec.state.name().to_string(),
                    detail: rec.state.detail(),
                    response: raw.clone(),
                    missing: match &rec.state {
                        RecordState::Sourcing { missing_content } => {
                            serde_json::to_value(missing_content).ok()
                        }
                        _ => None,
                    },
                }),
                // Registry text (an error body) is stored cleaned: it is data, never control.
                Err(e) => Err(crate::text::clean(&e.to_string()).into_owned()),
            },
        }
    }
}

pub async fn poll_one(client: &RegistryClient, log_id: LogId, record_id: RecordId) -> Polled {
    let result = client.get_record(&log_id, &record_id).await;
    Polled {
        log_id,
        record_id,
        result,
    }
}

/// Polls every given record once, at most `concurrency` requests in flight; results in input order.
/// Each poll is a task of its own, so reading and parsing answers spreads over the runtime's
/// threads instead of all running on the one that awaits the sweep.
pub async fn sweep(
    client: &RegistryClient,
    items: &[(LogId, RecordId)],
    concurrency: usize,
) -> Vec<Polled> {
    let mut out: Vec<(usize, Polled)> = stream::iter(items.iter().copied().enumerate())
        .map(|(i, (l, r))| {
            let c = client.clone();
            let task = tokio::spawn(async move { poll_one(&c, l, r).await });
            async move {
                let polled = task.await.unwrap_or_else(|e| Polled {
                    log_id: l,
                    record_id: r,
                    result: Err(ApiError::Network {
                        url: String::new(),
                        cause: format!("the poll task failed: {e}"),
                    }),
                });
                (i, polled)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, p)| p).collect()
}
