//! The store on its own thread, so the dashboard never waits for a write. Poll results are
//! written in batches; changes made by other processes (`wargdash track add`) are noticed via
//! `PRAGMA data_version` within a second and sent on as a fresh list.

use crate::ids::{LogId, RecordRef};
use crate::publish::Tracking;
use crate::tracker::store::{HistoryEntry, NewTracked, PollOutcome, Store, Tracked};
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Operations for the store thread (the only owner of the SQLite connection in the dashboard).
pub enum StoreOp {
    Add(Vec<NewTracked>, Option<oneshot::Sender<()>>),
    Remove(RecordRef),
    Polls(Vec<PollOutcome>),
    History(RecordRef),
    SetPackage(LogId, String),
    /// Scope the store to another registry (its tracked set is sent as a fresh list).
    SetRegistry(String),
}

/// What the store thread reports.
#[derive(Debug, Clone)]
pub enum StoreEvent {
    /// The tracked set changed (here or in another process): the whole list.
    Loaded(Vec<Tracked>),
    /// The state history of one record, as asked by [`StoreOp::History`].
    History(RecordRef, Vec<HistoryEntry>),
    /// A store operation failed.
    Error(String),
}

/// The sending side of the store thread.
#[derive(Clone)]
pub struct StoreHandle(std::sync::mpsc::Sender<StoreOp>);

impl StoreHandle {
    /// Sends an operation; `false` once the thread has stopped (the app is shutting down).
    pub fn send(&self, op: StoreOp) -> bool {
        self.0.send(op).is_ok()
    }
}

impl Tracking for StoreHandle {
    fn track(&mut self, item: NewTracked) -> impl Future<Output = ()> + Send {
        let (ack_tx, ack_rx) = oneshot::channel();
        self.send(StoreOp::Add(vec![item], Some(ack_tx)));
        async move {
            let _ = ack_rx.await;
        }
    }
    fn untrack(&mut self, r: RecordRef) {
        self.send(StoreOp::Remove(r));
    }
    fn record(&mut self, outcome: PollOutcome) {
        self.send(StoreOp::Polls(vec![outcome]));
    }
}

/// Starts the store thread. Its events go to `events` as `T` (the dashboard's action type).
pub fn spawn<T>(mut store: Store, events: mpsc::Sender<T>) -> std::io::Result<StoreHandle>
where
    T: From<StoreEvent> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel::<StoreOp>();
    let emit = move |e: StoreEvent| events.blocking_send(T::from(e)).is_ok();
    std::thread::Builder::new()
        .name("wargdash-store".into())
        .spawn(move || {
            let mut version = store.data_version().unwrap_or(0);
            loop {
                let first = match rx.recv_timeout(Duration::from_millis(500)) {
                    Ok(op) => Some(op),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                };
                let mut ops: Vec<StoreOp> = first.into_iter().collect();
                while let Ok(op) = rx.try_recv() {
                    ops.push(op);
                }
                let mut polls = Vec::new();
                let mut reload = false;
                for op in ops {
                    let res = match op {
                        StoreOp::Add(items, ack) => {
                            let r = store.add(&items).map(|_| ());
                            reload = true;
                            if let Some(ack) = ack {
                                let _ = ack.send(());
                            }
                            r
                        }
                        StoreOp::Remove(r) => store.remove(&r.log, &r.record).map(|_| ()),
                        StoreOp::Polls(p) => {
                            polls.extend(p);
                            Ok(())
                        }
                        StoreOp::SetRegistry(url) => {
                            reload = true;
                            store.set_registry(&url)
                        }
                        StoreOp::SetPackage(log, name) => {
                            store.set_package(&log, &name).map(|_| ())
                        }
                        StoreOp::History(r) => store.history(&r.log, &r.record).map(|h| {
                            emit(StoreEvent::History(r, h));
                        }),
                    };
                    if let Err(e) = res {
                        tracing::error!("store: {e:#}");
                        emit(StoreEvent::Error(format!("{e:#}")));
                    }
                }
                if let Err(e) = store.record_polls(&polls) {
                    tracing::error!("store: {e:#}");
                    emit(StoreEvent::Error(format!("{e:#}")));
                }
                match store.data_version() {
                    Ok(v) if v != version => {
                        version = v;
                        reload = true;
                    }
                    _ => {}
                }
                if reload {
                    match store.list() {
                        Ok(list) => {
                            if !emit(StoreEvent::Loaded(list)) {
                                return;
                            }
                        }
                        Err(e) => {
                            emit(StoreEvent::Error(format!("{e:#}")));
                        }
                    }
                }
            }
        })?;
    Ok(StoreHandle(tx))
}
