//! The [`Tracking`] trait: where the publish flow keeps what it submits (the store itself for
//! the CLI, the store thread for the dashboard). It lives with the tracked set, below the
//! publish flow that uses it.

use super::store::{NewTracked, PollOutcome, Store};
use crate::ids::RecordRef;
use std::future::Future;

/// Where the publish flow keeps track of what it submits: the store itself (the CLI) or the
/// dashboard's store thread. The record is tracked before it is sent, so the operator sees it
/// whatever happens next; a record the registry refused outright is untracked again.
pub trait Tracking {
    /// Starts tracking `item`; resolves once it is stored.
    fn track(&mut self, item: NewTracked) -> impl Future<Output = ()> + Send;
    /// Stops tracking a record.
    fn untrack(&mut self, record: RecordRef);
    /// Records a state the registry answered.
    fn record(&mut self, outcome: PollOutcome);
}

impl Tracking for Store {
    fn track(&mut self, item: NewTracked) -> impl Future<Output = ()> + Send {
        if let Err(e) = self.add(&[item]) {
            tracing::error!("tracking a submitted record: {e:#}");
        }
        std::future::ready(())
    }
    fn untrack(&mut self, r: RecordRef) {
        if let Err(e) = self.remove(&r.log, &r.record) {
            tracing::error!("untracking a refused record: {e:#}");
        }
    }
    fn record(&mut self, outcome: PollOutcome) {
        if let Err(e) = self.record_polls(&[outcome]) {
            tracing::error!("recording a submit answer: {e:#}");
        }
    }
}
