//! The headless monitor: the dashboard's verifier ([`crate::trust::worker`]), the poll
//! scheduler and the package checks, with no terminal — a witness that cosigns what its cycles
//! verified, compares with its peers every cycle, and serves `/checkpoint`, `/metrics` and
//! `/add-checkpoint` ([`crate::witness::server`]). One line per event on stderr. Everything it
//! knows is in the store: the verified state and ledger, the alerts, what it cosigned, each
//! peer's last comparison.

use crate::context::Ctx;
use crate::exit::{self, fail, CmdResult};
use crate::ids::RecordRef;
use crate::tracker::scheduler::{self, SchedCmd, SchedEvent, SchedulerConfig};
use crate::tracker::store_thread::{self, StoreEvent, StoreOp};
use crate::trust::alerts::{Alert, AlertKind};
use crate::trust::db::TrustDb;
use crate::trust::notify::{Hooks, HOOK_TIMEOUT};
use crate::trust::records::Proof;
use crate::trust::worker::{self, TrustEvent, VerifierConfig};
use crate::witness::metrics::{KindLabel, Metrics, OutcomeLabel, PeerLabel, StateLabel};
use crate::witness::peer::{self, Outcome, Peer};
use crate::witness::server::{self, ServerState};
use crate::witness::store::{PeerRow, WitnessDb};
use crate::witness::{cosign_verified, WitnessKey};
use color_eyre::eyre::{eyre, WrapErr};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How the monitor runs.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    pub listen: SocketAddr,
    /// The checkpoint origin (default: the registry URL's host and path).
    pub origin: Option<String>,
    pub peers: Vec<Peer>,
    /// The witness key's name in the key store (created on first use).
    pub witness_key: String,
    /// Time between verification cycles.
    pub period: Duration,
    /// Timeout of a peer's `/checkpoint`.
    pub peer_timeout: Duration,
    /// A peer ahead of this monitor for longer than this, with the registry never showing
    /// that size here, is a withheld view: SPLIT_VIEW.
    pub withheld_after: Duration,
    pub scheduler: SchedulerConfig,
}

/// Events reaching the monitor's loop, stamped when the worker sent them.
#[derive(Debug)]
pub enum MonitorEvent {
    Trust(Instant, TrustEvent),
    Store(StoreEvent),
}

impl From<TrustEvent> for MonitorEvent {
    fn from(e: TrustEvent) -> Self {
        Self::Trust(Instant::now(), e)
    }
}

impl From<StoreEvent> for MonitorEvent {
    fn from(e: StoreEvent) -> Self {
        Self::Store(e)
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_ms() -> i64 {
    crate::tracker::store::now_ms()
}

/// stderr logging for the monitor: one line per event, no colours; without timestamps under
/// journald (`JOURNAL_STREAM`), which adds its own.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARGDASH_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,warg_server=warn,tower_http=warn,hyper=warn")
    });
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .with_writer(std::io::stderr);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        let _ = b.without_time().try_init();
    } else {
        let _ = b.try_init();
    }
}

/// What the loop hands to `--on-alert` once while it lasts.
type About = (AlertKind, String);

struct Loop {
    registry: String,
    origin: String,
    store: PathBuf,
    key: WitnessKey,
    peers: Vec<Peer>,
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    hooks: Option<Hooks<About>>,
    handed: HashSet<About>,
    nudge: Arc<dyn Fn() + Send + Sync>,
    withheld_after: Duration,
    period: Duration,
    /// When the worker last went to sleep (its last event of a round), for the cycle's time.
    last_round_end: Option<Instant>,
    nudged: bool,
}

impl Loop {
    fn open(&self) -> Result<(TrustDb, WitnessDb), String> {
        let t = TrustDb::open(&self.store).map_err(|e| e.to_string())?;
        let w = WitnessDb::open(&self.store).map_err(|e| e.to_string())?;
        Ok((t, w))
    }

    fn hand(&mut self, a: &Alert) {
        self.metrics
            .alerts
            .get_or_create(&KindLabel {
                kind: a.kind.as_str().to_string(),
            })
            .inc();
        let key = (a.kind, crate::trust::db::alert_subject(a));
        if let Some(h) = self.hooks.as_mut() {
            for k in h.take_failed() {
                self.handed.remove(&k);
            }
            if !self.handed.contains(&key) && h.hand(key.clone(), &self.registry, a) {
                self.handed.insert(key);
            }
        }
    }

    fn cycle(&mut self, at: Instant, report: &crate::trust::cycle::CycleReport) {
        let outcome = if report.alerts.is_empty() {
            "clean"
        } else {
            "alert"
        };
        self.metrics
            .cycles
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
        if let Some(start) = self.last_round_end.filter(|_| !self.nudged) {
            let took = at
                .saturating_duration_since(start)
                .saturating_sub(self.period);
            self.metrics.cycle_seconds.observe(took.as_secs_f64());
        }
        self.nudged = false;
        for a in &report.alerts {
            tracing::warn!(
                "alert {}: {}",
                a.kind.as_str(),
                crate::text::clean(&a.detail)
            );
            self.metrics
                .alerts
                .get_or_create(&KindLabel {
                    kind: a.kind.as_str().to_string(),
                })
                .inc();
        }
        self.metrics.log_length.set(report.log_length as i64);
        let Some(cp) = &report.verified else {
            tracing::info!(
                "cycle: log length {}, {} alert(s), state not advanced{}",
                report.log_length,
                report.alerts.len(),
                report
                    .incomplete
                    .as_ref()
                    .map(|e| format!(" ({})", crate::text::clean(e)))
                    .unwrap_or_default()
            );
            return;
        };
        let (tdb, mut wdb) = match self.open() {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("opening the store: {e}");
                return;
            }
        };
        let before = wdb.cosigned(&self.origin).ok().flatten().map(|c| c.size);
        match cosign_verified(
            &mut wdb,
            &tdb,
            &self.key,
            &self.registry,
            &self.origin,
            cp,
            now_secs(),
        ) {
            Ok(c) if before == Some(c.size) => {
                tracing::debug!(
                    "cycle: verified and cosigned again {} size {}",
                    self.origin,
                    c.size
                )
            }
            Ok(c) => {
                self.metrics.cosigned_size.set(c.size as i64);
                tracing::info!(
                    "cycle: verified and cosigned {} size {} root {}",
                    self.origin,
                    c.size,
                    c.root
                )
            }
            Err(e) => tracing::error!("not cosigned: {e}"),
        }
    }

    fn proofs(&mut self, list: &[(RecordRef, Proof)]) {
        let (mut proven, mut claimed, mut not) = (0i64, 0i64, 0i64);
        for (_, p) in list {
            match p {
                Proof::Proven { .. } => proven += 1,
                Proof::Claimed { .. } => claimed += 1,
                Proof::NotIncluded { .. } => not += 1,
                Proof::Unproven => {}
            }
        }
        for (s, n) in [
            ("proven", proven),
            ("claimed", claimed),
            ("not_included", not),
        ] {
            self.metrics
                .records
                .get_or_create(&StateLabel { state: s.into() })
                .set(n);
        }
    }

    /// One round over the peers: fetch all at once, then compare each with the verified
    /// state.
    async fn peers(&mut self) {
        if self.peers.is_empty() {
            return;
        }
        let fetched =
            futures::future::join_all(self.peers.iter().map(|p| peer::fetch(&self.http, p))).await;
        let (mut tdb, mut wdb) = match self.open() {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("opening the store: {e}");
                return;
            }
        };
        let own_note = wdb.cosigned(&self.origin).ok().flatten().map(|c| c.note);
        let mut ahead = false;
        let peers = self.peers.clone();
        for (p, got) in peers.iter().zip(fetched) {
            let label = PeerLabel {
                peer: p.url.clone(),
            };
            let mut row = wdb
                .peer(&self.registry, &p.url)
                .ok()
                .flatten()
                .unwrap_or_else(|| PeerRow {
                    peer: p.url.clone(),
                    ..Default::default()
                });
            row.checked_ms = now_ms();
            let text = match got {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!("peer unreachable: {}", crate::text::clean(&e));
                    self.metrics.peer_up.get_or_create(&label).set(0);
                    self.metrics.peer_fetch_errors.get_or_create(&label).inc();
                    row.error = Some(e);
                    let _ = wdb.save_peer(&self.registry, &row);
                    continue;
                }
            };
            self.metrics.peer_up.get_or_create(&label).set(1);
            let outcome = match peer::compare(
                &tdb,
                &self.registry,
                &self.origin,
                p,
                &text,
                own_note.as_deref(),
            ) {
                Ok(o) => o,
                Err(e) => {
                    tracing::error!("comparing with peer {}: {e}", p.url);
                    continue;
                }
            };
            row.error = None;
            let mut alert = None;
            match outcome {
                Outcome::Agree { note } => {
                    row.ok_ms = Some(now_ms());
                    row.size = Some(note.body.size);
                    row.root = Some(note.body.root);
                    row.cosigned_at = Some(note.cosigned_at);
                    if row.agree != Some(true) {
                        tracing::info!("peer {} agrees at size {}", p.url, note.body.size);
                    }
                    row.agree = Some(true);
                    row.ahead_since_ms = None;
                    self.metrics.peer_agree.get_or_create(&label).set(1);
                }
                Outcome::Ahead { note, own } => {
                    row.ok_ms = Some(now_ms());
                    row.cosigned_at = Some(note.cosigned_at);
                    let since = match (row.size, row.ahead_since_ms) {
                        (Some(s), Some(t)) if s > own => t,
                        _ => now_ms(),
                    };
                    row.size = Some(note.body.size);
                    row.root = Some(note.body.root);
                    row.ahead_since_ms = Some(since);
                    ahead = true;
                    let waited = Duration::from_millis((now_ms() - since).max(0) as u64);
                    tracing::info!(
                        "peer {} is at size {}, this monitor at {own}: asking the registry again",
                        p.url,
                        note.body.size
                    );
                    if waited > self.withheld_after {
                        let text_note = note.note.render();
                        let env = note.operator.envelope(&note.body, &note.operator_key);
                        let own_env = tdb
                            .load_state(&self.registry)
                            .ok()
                            .flatten()
                            .and_then(|s| s.checkpoint)
                            .map(|c| serde_json::from_str(&c.envelope).unwrap_or_default())
                            .unwrap_or_default();
                        alert = Some(peer::split_view_alert(
                            p,
                            &note,
                            &text_note,
                            env,
                            format!(
                                "peer {} has cosigned size {} (signed by the operator) for {} s, but this registry still shows this monitor size {own}: a withheld view",
                                p.url,
                                note.body.size,
                                waited.as_secs()
                            ),
                            own_env,
                            own_note.as_deref(),
                        ));
                        row.agree = Some(false);
                        self.metrics.peer_agree.get_or_create(&label).set(0);
                    }
                }
                Outcome::SplitView { note, alert: a } => {
                    row.ok_ms = Some(now_ms());
                    row.size = Some(note.body.size);
                    row.root = Some(note.body.root);
                    row.cosigned_at = Some(note.cosigned_at);
                    row.agree = Some(false);
                    self.metrics.peer_agree.get_or_create(&label).set(0);
                    alert = Some(a);
                }
                Outcome::BadSignature(a) => {
                    row.agree = Some(false);
                    self.metrics.peer_agree.get_or_create(&label).set(0);
                    alert = Some(a);
                }
                Outcome::Incomparable(why) => {
                    tracing::info!("peer {}: not compared: {}", p.url, crate::text::clean(&why));
                    row.error = Some(why);
                }
            }
            if let Err(e) = wdb.save_peer(&self.registry, &row) {
                tracing::error!("storing peer {}: {e}", p.url);
            }
            if let Some(a) = alert {
                tracing::warn!(
                    "alert {}: {}",
                    a.kind.as_str(),
                    crate::text::clean(&a.detail)
                );
                if let Err(e) = tdb.add_alert(&self.registry, &a, now_ms()) {
                    tracing::error!("storing an alert: {e}");
                }
                self.hand(&a);
            }
        }
        if ahead {
            self.nudged = true;
            (self.nudge)();
        }
    }
}

/// Runs the monitor until `shutdown` resolves; then stops the HTTP side and the workers and
/// returns exit 0.
pub async fn run(
    ctx: &Ctx,
    opts: MonitorOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> CmdResult {
    ctx.check_trust_options()?;
    let client = ctx.client()?;
    let registry = client.base().to_string();
    let origin = opts
        .origin
        .clone()
        .unwrap_or_else(|| crate::witness::note::default_origin(&registry));
    crate::witness::note::check_name(&origin)
        .map_err(|e| fail(exit::USAGE, eyre!("--origin: {e}")))?;
    // The trust tables exist (and the store is private) before anything reads them.
    drop(ctx.trust_db()?);
    let store_path = ctx.paths.store_file();
    WitnessDb::open(&store_path).map_err(|e| fail(exit::STORE, e))?;
    let (key, created) = WitnessKey::load_or_create(&ctx.keys(), &opts.witness_key)
        .map_err(|e| fail(exit::KEY, e))?;
    if created {
        tracing::info!("created witness key `{}`", opts.witness_key);
    }
    let store = ctx.store()?;
    let tracked = store.list().map_err(|e| fail(exit::STORE, e))?;
    let metrics = Arc::new(Metrics::new(&registry));
    let http = peer::http_client(opts.peer_timeout).map_err(|e| fail(exit::ERROR, e))?;

    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .wrap_err_with(|| format!("listening on {}", opts.listen))
        .map_err(|e| fail(exit::ERROR, e))?;
    let local = listener.local_addr().map_err(|e| fail(exit::ERROR, e))?;

    // The workers, as the dashboard starts them.
    let (events_tx, mut events) = mpsc::channel::<MonitorEvent>(256);
    let store_handle = store_thread::spawn(store, events_tx.clone())
        .wrap_err("starting the store thread")
        .map_err(|e| fail(exit::STORE, e))?;
    let (sched_tx, mut sched_events) = mpsc::channel::<SchedEvent>(1024);
    let (sched, sched_task) = scheduler::spawn(client.clone(), opts.scheduler.clone(), sched_tx);
    let options = {
        let (config, overrides, paths) =
            (ctx.config.clone(), ctx.overrides.clone(), ctx.paths.clone());
        Arc::new(move |r: &str| {
            let c = Ctx {
                paths: paths.clone(),
                config: config.clone(),
                overrides: overrides.clone(),
            };
            c.cycle_options(r, false).unwrap_or_default()
        })
    };
    let (client_tx, client_rx) = watch::channel(client.clone());
    let verifier = tokio::spawn(worker::run(
        client_rx,
        VerifierConfig {
            store: store_path.clone(),
            options,
            on_alert: ctx.on_alert(),
            period: opts.period,
        },
        events_tx.clone(),
    ));
    drop(events_tx);
    let client_tx = Arc::new(client_tx);
    let nudge: Arc<dyn Fn() + Send + Sync> = {
        let tx = client_tx.clone();
        Arc::new(move || {
            // The same client again: the verifier wakes and runs a cycle now.
            tx.send_modify(|_| {});
        })
    };
    let mut scheduled: HashSet<RecordRef> = HashSet::new();
    let schedule = |list: &[crate::tracker::store::Tracked], scheduled: &mut HashSet<RecordRef>| {
        let now: HashSet<RecordRef> = list
            .iter()
            .map(|t| RecordRef::new(t.log_id, t.record_id))
            .collect();
        let add: Vec<(RecordRef, bool)> = list
            .iter()
            .map(|t| {
                let terminal = matches!(t.state.as_deref(), Some("published" | "rejected"));
                (RecordRef::new(t.log_id, t.record_id), terminal)
            })
            .filter(|(r, _)| !scheduled.contains(r))
            .collect();
        let gone: Vec<RecordRef> = scheduled.difference(&now).copied().collect();
        if !add.is_empty() {
            let _ = sched.send(SchedCmd::Track(add));
        }
        if !gone.is_empty() {
            let _ = sched.send(SchedCmd::Untrack(gone));
        }
        *scheduled = now;
    };
    schedule(&tracked, &mut scheduled);

    let (alerts_tx, mut alerts_rx) = mpsc::unbounded_channel::<Alert>();
    let app = server::router(ServerState {
        store: store_path.clone(),
        registry: registry.clone(),
        origin: origin.clone(),
        metrics: metrics.clone(),
        nudge: nudge.clone(),
        alerts: alerts_tx,
        // Within the request timeout, whatever the period (a nudge runs a cycle at once).
        add_wait: (opts.period * 2 + Duration::from_secs(2)).min(Duration::from_secs(20)),
    });
    let (stop_http, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let http_task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await
    });
    tracing::info!(
        "monitor started: registry {registry}, origin {origin}, listening on http://{local}, witness {}, {} peer(s), {} tracked record(s)",
        key.key.vkey(),
        opts.peers.len(),
        tracked.len()
    );

    let mut lp = Loop {
        registry: registry.clone(),
        origin,
        store: store_path,
        key,
        peers: opts.peers.clone(),
        http,
        metrics,
        hooks: ctx.on_alert().map(|cmd| Hooks::start(cmd, HOOK_TIMEOUT)),
        handed: HashSet::new(),
        nudge,
        withheld_after: opts.withheld_after,
        period: opts.period,
        last_round_end: None,
        nudged: false,
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                match ev {
                    MonitorEvent::Trust(at, TrustEvent::Cycle(report)) => {
                        lp.cycle(at, &report);
                        lp.peers().await;
                        lp.last_round_end = Some(Instant::now());
                    }
                    MonitorEvent::Trust(_, TrustEvent::Failed(e)) => {
                        lp.metrics.cycles.get_or_create(&OutcomeLabel { outcome: "failed".into() }).inc();
                        tracing::warn!("cycle failed: {}", crate::text::clean(&e));
                        lp.peers().await;
                        lp.last_round_end = Some(Instant::now());
                    }
                    MonitorEvent::Trust(_, TrustEvent::Proofs(p)) => {
                        lp.proofs(&p);
                        lp.last_round_end = Some(Instant::now());
                    }
                    MonitorEvent::Trust(_, TrustEvent::Packages(r)) => {
                        for a in &r.new_alerts {
                            tracing::warn!("alert {}: {}", a.kind.as_str(), crate::text::clean(&a.detail));
                        }
                        lp.last_round_end = Some(Instant::now());
                    }
                    MonitorEvent::Trust(_, TrustEvent::Alerts(_)) => {
                        lp.last_round_end = Some(Instant::now());
                    }
                    MonitorEvent::Trust(_, TrustEvent::Progress(done, of)) => {
                        tracing::debug!("ledger sync: {done} of {of} entries verified");
                    }
                    // The monitor compares with its peers itself (`peers` above).
                    MonitorEvent::Trust(_, TrustEvent::Witness(_)) => {}
                    MonitorEvent::Store(StoreEvent::Loaded(list)) => schedule(&list, &mut scheduled),
                    MonitorEvent::Store(StoreEvent::Error(e)) => tracing::error!("store: {e}"),
                    MonitorEvent::Store(_) => {}
                }
            }
            ev = sched_events.recv() => {
                if let Some(SchedEvent::Polled { polled, .. }) = ev {
                    if let Err(e) = &polled.result {
                        tracing::warn!("poll {}: {}", polled.record_id, crate::text::clean(&e.to_string()));
                    }
                    if !store_handle.send_async(StoreOp::Polls(vec![polled.outcome()])).await {
                        tracing::error!("the store thread stopped");
                    }
                }
            }
            a = alerts_rx.recv() => {
                if let Some(a) = a {
                    tracing::warn!("alert {}: {}", a.kind.as_str(), crate::text::clean(&a.detail));
                    lp.hand(&a);
                }
            }
        }
    }
    tracing::info!("monitor stopping");
    let _ = stop_http.send(());
    verifier.abort();
    sched_task.abort();
    drop(sched);
    // In-flight requests get a moment; the process exits anyway.
    let _ = tokio::time::timeout(Duration::from_secs(1), http_task).await;
    Ok(exit::OK)
}
