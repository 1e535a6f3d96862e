//! The poll scheduler: a tokio task with per-record next-poll times, bounded requests in flight,
//! exponential backoff with jitter, and a registry-wide hold during outages (one probe at a time
//! instead of thousands of failing requests). Published and rejected records are polled until
//! first seen terminal, then never again unless refreshed by hand.

use crate::ids::RecordRef;
use crate::registry::RegistryClient;
use crate::tracker::poll::{poll_one, Polled};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Interval between polls of a pending record.
    pub interval: Duration,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Cap on the backoff after failures.
    pub max_backoff: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            concurrency: 16,
            max_backoff: Duration::from_secs(60),
        }
    }
}

#[derive(Debug)]
pub enum SchedCmd {
    /// Start scheduling records; `true` marks one already known terminal (not polled).
    Track(Vec<(RecordRef, bool)>),
    Untrack(Vec<RecordRef>),
    /// Poll these now, terminal or not.
    Refresh(Vec<RecordRef>),
    /// Poll every tracked record now.
    RefreshAll,
    /// Use another registry client (e.g. after `:registry URL`); everything is polled again.
    SetClient(RegistryClient),
}

#[derive(Debug)]
pub enum SchedEvent {
    /// Requests for these records were sent.
    Started(Vec<RecordRef>),
    /// A poll finished. `hold` is set while the registry as a whole is failing: the time until
    /// the next attempt.
    Polled {
        polled: Polled,
        latency: Duration,
        hold: Option<Duration>,
    },
}

#[derive(Debug, Default)]
struct Ent {
    next: Option<Instant>,
    failures: u32,
    in_flight: bool,
    terminal: bool,
    /// The next pending answer is the first since the record was (re)scheduled: the poll after
    /// it is spread over [0.5, 1.5) × interval, so records tracked (or refreshed) together do
    /// not stay in lockstep and the registry sees a steady N / interval instead of bursts.
    spread: bool,
}

/// Exponential backoff `base · 2^(failures-1)`, capped, scaled by a jitter in [0.5, 1.0).
pub fn backoff(base: Duration, failures: u32, cap: Duration, jitter_seed: u64) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let capped = exp.min(cap);
    let mut x = jitter_seed ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    let frac = 0.5 + (x % 1000) as f64 / 2000.0;
    capped.mul_f64(frac)
}

struct Scheduler {
    client: RegistryClient,
    cfg: SchedulerConfig,
    ents: HashMap<RecordRef, Ent>,
    due: BTreeSet<(Instant, RecordRef)>,
    sem: Arc<Semaphore>,
    /// Polls launched whose results the loop has not processed yet. Counted here rather than
    /// from the semaphore: a task frees its permit before the loop sees its result, and
    /// launching in that gap would let a failing wave start another before the outage counts.
    running: usize,
    /// Registry-wide failures in a row, and when to try again.
    outage: u32,
    hold_until: Option<Instant>,
    seed: u64,
}

impl Scheduler {
    fn set_due(&mut self, key: RecordRef, at: Option<Instant>) {
        if let Some(e) = self.ents.get_mut(&key) {
            if let Some(old) = e.next.take() {
                self.due.remove(&(old, key));
            }
            e.next = at;
            if let Some(t) = at {
                self.due.insert((t, key));
            }
        }
    }

    fn track(&mut self, items: Vec<(RecordRef, bool)>) {
        let now = Instant::now();
        for (key, terminal) in items {
            if self.ents.contains_key(&key) {
                continue;
            }
            self.ents.insert(
                key,
                Ent {
                    terminal,
                    spread: true,
                    ..Ent::default()
                },
            );
            if !terminal {
                self.set_due(key, Some(now));
            }
        }
    }

    fn jitter(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.seed
    }

    fn finished(&mut self, polled: &Polled) -> Option<Duration> {
        let key = RecordRef::new(polled.log_id, polled.record_id);
        let now = Instant::now();
        let interval = self.cfg.interval;
        let cap = self.cfg.max_backoff;
        let seed = self.jitter();
        let mut hold = None;
        let next = match &polled.result {
            Ok((rec, _)) => {
                self.outage = 0;
                self.hold_until = None;
                if rec.state.is_terminal() {
                    if let Some(e) = self.ents.get_mut(&key) {
                        e.terminal = true;
                        e.failures = 0;
                    }
                    None
                } else {
                    let spread = self.ents.get_mut(&key).is_some_and(|e| {
                        e.failures = 0;
                        std::mem::take(&mut e.spread)
                    });
                    if spread {
                        let frac = (seed >> 11) as f64 / (1u64 << 53) as f64;
                        Some(now + interval.mul_f64(0.5 + frac))
                    } else {
                        Some(now + interval)
                    }
                }
            }
            Err(err) => {
                if err.is_registry_wide() {
                    self.outage += 1;
                    let wait = backoff(interval, self.outage, cap, seed);
                    self.hold_until = Some(now + wait);
                    hold = Some(wait);
                }
                let failures = self.ents.get_mut(&key).map(|e| {
                    e.failures += 1;
                    e.failures
                });
                failures.map(|f| now + backoff(interval, f, cap, seed).max(interval))
            }
        };
        if let Some(e) = self.ents.get_mut(&key) {
            e.in_flight = false;
        }
        if self.ents.contains_key(&key) {
            self.set_due(key, next);
        }
        hold
    }

    /// Requests allowed in flight now: one probe at a time during an outage.
    fn limit(&self) -> usize {
        if self.outage > 0 {
            1
        } else {
            self.cfg.concurrency.max(1)
        }
    }

    fn in_flight(&self) -> usize {
        self.running
    }
}

/// Starts the scheduler. Send it [`SchedCmd`]s; it reports [`SchedEvent`]s.
pub fn spawn(
    client: RegistryClient,
    cfg: SchedulerConfig,
    events: mpsc::Sender<SchedEvent>,
) -> (mpsc::UnboundedSender<SchedCmd>, tokio::task::JoinHandle<()>) {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let handle = tokio::spawn(run(client, cfg, cmd_rx, events));
    (cmd_tx, handle)
}

async fn run(
    client: RegistryClient,
    cfg: SchedulerConfig,
    mut cmds: mpsc::UnboundedReceiver<SchedCmd>,
    events: mpsc::Sender<SchedEvent>,
) {
    let sem = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut s = Scheduler {
        client,
        cfg,
        ents: HashMap::new(),
        due: BTreeSet::new(),
        sem,
        running: 0,
        outage: 0,
        hold_until: None,
        seed,
    };
    // Polls carry the generation of the client they were sent with: an answer from the
    // registry switched away from (`SetClient`) is dropped, never recorded as this one's.
    let mut generation = 0u64;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Polled, Duration, u64)>();
    loop {
        // Launch what is due, within the concurrency limit and outside an outage hold.
        let now = Instant::now();
        let held = s.hold_until.is_some_and(|h| h > now);
        let mut started = Vec::new();
        while !held && s.in_flight() < s.limit() {
            let Some(&(t, key)) = s.due.first() else {
                break;
            };
            if t > now {
                break;
            }
            let Ok(permit) = s.sem.clone().try_acquire_owned() else {
                break;
            };
            s.due.remove(&(t, key));
            s.running += 1;
            if let Some(e) = s.ents.get_mut(&key) {
                e.next = None;
                e.in_flight = true;
            }
            let client = s.client.clone();
            let done = done_tx.clone();
            let sent_with = generation;
            tokio::spawn(async move {
                let start = Instant::now();
                let polled = poll_one(&client, key.log, key.record).await;
                drop(permit);
                let _ = done.send((polled, start.elapsed(), sent_with));
            });
            started.push(key);
        }
        if !started.is_empty() && events.send(SchedEvent::Started(started)).await.is_err() {
            return;
        }
        let wake = match (s.due.first().map(|(t, _)| *t), s.hold_until) {
            (Some(t), Some(h)) => Some(t.max(h)),
            (t, _) => t,
        };
        let can_launch = s.in_flight() < s.limit();
        tokio::select! {
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else { return };
                let now = Instant::now();
                match cmd {
                    SchedCmd::Track(items) => s.track(items),
                    SchedCmd::Untrack(keys) => {
                        for k in keys {
                            s.set_due(k, None);
                            s.ents.remove(&k);
                        }
                    }
                    SchedCmd::Refresh(keys) => {
                        for k in keys {
                            if let Some(e) = s.ents.get_mut(&k).filter(|e| !e.in_flight) {
                                e.spread = true;
                                s.set_due(k, Some(now));
                            }
                        }
                        s.hold_until = None;
                    }
                    SchedCmd::RefreshAll | SchedCmd::SetClient(_) => {
                        if let SchedCmd::SetClient(c) = cmd {
                            s.client = c;
                            s.outage = 0;
                            generation += 1;
                        }
                        let keys: Vec<RecordRef> = s.ents.iter_mut().filter(|(_, e)| !e.in_flight).map(|(k, e)| {
                            e.spread = true;
                            *k
                        }).collect();
                        for k in keys {
                            s.set_due(k, Some(now));
                        }
                        s.hold_until = None;
                    }
                }
            }
            Some((polled, latency, sent_with)) = done_rx.recv() => {
                s.running = s.running.saturating_sub(1);
                if sent_with != generation {
                    // Asked of the registry before the switch: ask this one instead.
                    let key = RecordRef::new(polled.log_id, polled.record_id);
                    if let Some(e) = s.ents.get_mut(&key) {
                        e.in_flight = false;
                    }
                    if s.ents.contains_key(&key) {
                        s.set_due(key, Some(Instant::now()));
                    }
                    continue;
                }
                let hold = s.finished(&polled);
                if events.send(SchedEvent::Polled { polled, latency, hold }).await.is_err() {
                    return;
                }
            }
            _ = sleep_until_opt(wake), if can_launch && wake.is_some() => {}
        }
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        let b1 = backoff(base, 1, cap, 42);
        let b5 = backoff(base, 5, cap, 42);
        assert!(b1 >= Duration::from_millis(500) && b1 < base, "{b1:?}");
        assert!(
            b5 >= Duration::from_secs(8) && b5 < Duration::from_secs(16),
            "{b5:?}"
        );
        assert!(backoff(base, 40, cap, 7) < cap);
        assert!(backoff(base, 40, cap, 7) >= cap / 2);
    }
}
