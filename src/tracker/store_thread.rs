//! The store on its own thread, so the dashboard never waits for a write. Poll results are
//! written in batches; changes made by other processes (`wargdash track add`) are noticed via
//! `PRAGMA data_version` within a second and sent on as a fresh list.

use super::tracking::Tracking;
use crate::ids::{LogId, RecordRef};
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
    /// The latest state changes (for the events pane).
    Events(usize),
    /// The pulse strip's figures: the minutes up to `now` (Unix ms).
    Pulse {
        now: i64,
        minutes: usize,
    },
    /// Remember the table's sort and filter for this registry (a URL).
    SavePrefs(String, crate::tracker::prefs::TablePrefs),
    /// Remember that a submitted record rebuilds a rejected one.
    SetRebuilds(RecordRef, crate::tracker::links::RebuildLink),
}

/// What the store thread reports.
#[derive(Debug, Clone)]
pub enum StoreEvent {
    /// The tracked set changed (here or in another process): the whole list.
    Loaded(Vec<Tracked>),
    /// The state history of one record, as asked by [`StoreOp::History`].
    History(RecordRef, Vec<HistoryEntry>),
    /// The rejected record it rebuilds, if any (sent with its history).
    Rebuild(RecordRef, Option<crate::tracker::links::RebuildLink>),
    /// The latest state changes, newest first, as asked by [`StoreOp::Events`].
    Events(Vec<crate::tracker::store::StateEvent>),
    /// The pulse strip's figures, as asked by [`StoreOp::Pulse`].
    Pulse(crate::tracker::pulse::Pulse),
    /// The table preferences saved for a registry (a URL) the store was just scoped to.
    Prefs(String, Option<crate::tracker::prefs::TablePrefs>),
    /// A store operation failed.
    Error(String),
}

/// Operations waiting for the store thread at most; beyond that, senders wait their turn.
pub const QUEUE: usize = 1024;

/// The sending side of the store thread. The queue is bounded: a sender that finds it full
/// waits asynchronously (never blocking a thread, so drawing never waits for the store).
#[derive(Clone)]
pub struct StoreHandle(std::sync::mpsc::SyncSender<StoreOp>);

impl StoreHandle {
    /// Queues an operation; `false` once the thread has stopped (the app is shutting down).
    /// When the queue is full the operation is handed to a task that waits for room.
    pub fn send(&self, op: StoreOp) -> bool {
        match self.0.try_send(op) {
            Ok(()) => true,
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => false,
            Err(std::sync::mpsc::TrySendError::Full(op)) => {
                let h = self.clone();
                match tokio::runtime::Handle::try_current() {
                    Ok(rt) => {
                        rt.spawn(async move { h.send_async(op).await });
                        true
                    }
                    Err(_) => self.0.send(op).is_ok(),
                }
            }
        }
    }

    /// Queues an operation, waiting (asynchronously) while the queue is full: back-pressure for
    /// the poll results.
    pub async fn send_async(&self, mut op: StoreOp) -> bool {
        loop {
            match self.0.try_send(op) {
                Ok(()) => return true,
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return false,
                Err(std::sync::mpsc::TrySendError::Full(back)) => {
                    op = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
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
    let (tx, rx) = std::sync::mpsc::sync_channel::<StoreOp>(QUEUE);
    let emit = move |e: StoreEvent| events.blocking_send(T::from(e)).is_ok();
    std::thread::Builder::new()
        .name("wargdash-store".into())
        .spawn(move || {
            let mut version = store.data_version().unwrap_or(0);
            let mut mark = store.change_mark().ok();
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
                let own_writes = !ops.is_empty();
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
                        StoreOp::Events(n) => store.events(n).map(|e| {
                            emit(StoreEvent::Events(e));
                        }),
                        StoreOp::SetRegistry(url) => {
                            reload = true;
                            // The new registry's sort and filter come with its tracked set.
                            store
                                .set_registry(&url)
                                .and_then(|()| store.load_prefs())
                                .map(|p| {
                                    emit(StoreEvent::Prefs(url, p));
                                })
                        }
                        StoreOp::Pulse { now, minutes } => store.pulse(now, minutes).map(|p| {
                            emit(StoreEvent::Pulse(p));
                        }),
                        StoreOp::SavePrefs(url, p) => store.save_prefs(&url, &p),
                        StoreOp::SetPackage(log, name) => {
                            store.set_package(&log, &name).map(|_| ())
                        }
                        StoreOp::History(r) => store.history(&r.log, &r.record).map(|h| {
                            emit(StoreEvent::History(r, h));
                            match store.rebuilds(&r) {
                                Ok(link) => {
                                    emit(StoreEvent::Rebuild(r, link));
                                }
                                Err(e) => tracing::warn!("reading the rebuild link: {e:#}"),
                            }
                        }),
                        StoreOp::SetRebuilds(r, link) => store.set_rebuilds(&r, &link),
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
                // Another connection committed: reloaded if the tracked set changed (the
                // verifier's trust tables share the file and commit every cycle; they leave the
                // mark alone). Own writes move the mark too, so with both in one pass, reload.
                match store.data_version() {
                    Ok(v) if v != version => {
                        version = v;
                        if own_writes || store.change_mark().ok() != mark {
                            reload = true;
                        }
                    }
                    _ if own_writes => mark = store.change_mark().ok(),
                    _ => {}
                }
                if reload {
                    mark = store.change_mark().ok();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LogId, RecordId, Sha256Hash};
    use crate::tracker::store::{now_ms, PolledState};

    /// More operations than the queue holds, sent from the runtime without waiting: `send`
    /// returns at once every time, and every operation lands (none dropped).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_never_blocks_the_sender_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path, "http://r").unwrap();
        let n = QUEUE * 3;
        let items: Vec<NewTracked> = (0..n)
            .map(|i| {
                let mut b = [0u8; 32];
                b[..8].copy_from_slice(&(i as u64).to_be_bytes());
                NewTracked::by_hand(LogId(Sha256Hash(b)), RecordId(Sha256Hash(b)), None)
            })
            .collect();
        store.add(&items).unwrap();
        let (tx, mut rx) = mpsc::channel::<StoreEvent>(16);
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let h = spawn(store, tx).unwrap();
        let started = std::time::Instant::now();
        for it in &items {
            let outcome = PollOutcome {
                log_id: it.log_id,
                record_id: it.record_id,
                at: now_ms(),
                result: Ok(PolledState {
                    state: "published".into(),
                    detail: String::new(),
                    response: serde_json::json!({"state": "published"}),
                    missing: None,
                }),
            };
            assert!(h.send(StoreOp::Polls(vec![outcome])));
        }
        assert!(started.elapsed() < Duration::from_secs(2), "send waited");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let list = Store::open(&path, "http://r").unwrap().list().unwrap();
            let done = list.iter().filter(|t| t.state.is_some()).count();
            if done == n {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{done} of {n} landed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
