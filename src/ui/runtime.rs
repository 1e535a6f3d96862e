//! The dashboard's runtime: wires the workers (store thread, poll scheduler, checkpoint
//! watcher) to the reducer, carries out the [`Effect`]s `update` returns, and runs the event
//! loop on any ratatui backend — a real terminal in [`super::run`], a `TestBackend` in tests.

use super::app::{self, Action, AppConfig, Effect, State};
use super::{terminal, view};
use crate::ids::{ContentDigest, RecordRef};
use crate::keys::{Algorithm, KeyInfo, KeyStore, SigningKey};
use crate::publish::{self, PublishError};
use crate::registry::{ClientOptions, RegistryClient};
use crate::tracker::scheduler::{self, SchedCmd, SchedEvent, SchedulerConfig};
use crate::tracker::store::{now_ms, Store};
use crate::tracker::store_thread::{self, StoreHandle, StoreOp};
use crate::tracker::watcher;
use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, KeyEventKind, MouseEventKind};
use futures::{Stream, StreamExt};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Turns scheduler events into actions for the reducer; poll results also go to the store
/// thread, which writes them in batches.
fn forward_scheduler_events(
    mut events: mpsc::Receiver<SchedEvent>,
    actions: mpsc::Sender<Action>,
    store: StoreHandle,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            let a = match ev {
                SchedEvent::Started(keys) => Action::PollStarted(keys),
                SchedEvent::Polled {
                    polled,
                    latency,
                    hold,
                } => {
                    if !store
                        .send_async(StoreOp::Polls(vec![polled.outcome()]))
                        .await
                    {
                        return;
                    }
                    Action::Polled {
                        key: RecordRef::new(polled.log_id, polled.record_id),
                        result: polled.result,
                        at: now_ms(),
                        latency,
                        hold,
                    }
                }
            };
            if actions.send(a).await.is_err() {
                return;
            }
        }
    })
}

fn load_keys(keys: &KeyStore) -> Vec<KeyInfo> {
    keys.list().unwrap_or_else(|e| {
        tracing::warn!("listing keys: {e:#}");
        Vec::new()
    })
}

/// Hashes a content file for the form: one descriptor, a regular file of at most 1 GiB, read
/// through a bounded reader (a FIFO or `/dev/zero` is refused at once).
fn hash_file(path: &str) -> Result<(ContentDigest, u64), String> {
    let bytes = crate::fsutil::read_content(std::path::Path::new(path), publish::MAX_CONTENT_FILE)
        .map_err(|e| e.to_string())?;
    Ok((ContentDigest::of_bytes(&bytes), bytes.len() as u64))
}

/// How the workers run.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    pub scheduler: SchedulerConfig,
    /// Client options for `:registry URL` switches.
    pub client: ClientOptions,
    /// The verifier (trust worker); `None` runs without one.
    pub verifier: Option<crate::trust::worker::VerifierConfig>,
    /// The comparison with peer monitors (`None`: no peers configured).
    pub witness: Option<super::witness::WitnessConfig>,
}

/// The workers and the state: everything the dashboard is but the terminal.
pub struct Dashboard {
    pub state: State,
    client: RegistryClient,
    client_tx: watch::Sender<RegistryClient>,
    opts: ClientOptions,
    sched: mpsc::UnboundedSender<SchedCmd>,
    store: StoreHandle,
    /// The store file (the `L` pane reads the last verified checkpoint from it).
    store_path: std::path::PathBuf,
    actions_tx: mpsc::Sender<Action>,
    actions: mpsc::Receiver<Action>,
    keys: KeyStore,
    /// The newest content-file hash task (aborted when a newer one starts, if still queued).
    hashing: Option<tokio::task::AbortHandle>,
    /// Effects held back until the first frame is on screen.
    after_first_frame: Vec<Effect>,
    first_frame: bool,
}

/// Builds a [`Dashboard`]: the registry, its store and the key store are required; the rest
/// has defaults (not read-only, no colour, the scheduler's defaults, default client options,
/// no verifier). Used by [`super::run`] and by the tests.
pub struct DashboardBuilder {
    cfg: AppConfig,
    client: Option<RegistryClient>,
    store: Store,
    keys: KeyStore,
    opts: RuntimeOptions,
}

impl DashboardBuilder {
    /// Polls every `interval` (the header says so).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.cfg.interval = interval;
        self.opts.scheduler.interval = interval;
        self
    }

    /// The scheduler's whole configuration (its interval included; the header keeps the one
    /// [`DashboardBuilder::interval`] gave).
    pub fn scheduler(mut self, scheduler: SchedulerConfig) -> Self {
        self.opts.scheduler = scheduler;
        self
    }

    /// Client options, for the first client (unless [`DashboardBuilder::client`] gives one)
    /// and for `:registry` switches.
    pub fn client_options(mut self, options: ClientOptions) -> Self {
        self.opts.client = options;
        self
    }

    /// The client to start with (else one is built from the URL and the client options).
    pub fn client(mut self, client: RegistryClient) -> Self {
        self.client = Some(client);
        self
    }

    pub fn verifier(mut self, verifier: Option<crate::trust::worker::VerifierConfig>) -> Self {
        self.opts.verifier = verifier;
        self
    }

    /// Compare with these peer monitors every period (the header says `witnessed N/M`).
    pub fn witness(mut self, witness: Option<super::witness::WitnessConfig>) -> Self {
        self.opts.witness = witness;
        self
    }

    pub fn readonly(mut self, readonly: bool) -> Self {
        self.cfg.readonly = readonly;
        self
    }

    /// The registry is the embedded sandbox (the header says so).
    pub fn sandbox(mut self, sandbox: bool) -> Self {
        self.cfg.sandbox = sandbox;
        self
    }

    pub fn color(mut self, color: bool) -> Self {
        self.cfg.color = color;
        self
    }

    /// Starts the workers and loads the tracked set ([`Dashboard::start`]).
    pub fn start(self) -> Result<Dashboard> {
        let client = match self.client {
            Some(c) => c,
            None => RegistryClient::new(&self.cfg.registry, self.opts.client.clone())
                .wrap_err("building the registry client")?,
        };
        Dashboard::start(self.cfg, client, self.store, self.keys, self.opts)
    }
}

impl Dashboard {
    /// A builder for the dashboard of `registry` (a URL) on `store` and `keys`.
    pub fn builder(registry: &str, store: Store, keys: KeyStore) -> DashboardBuilder {
        let scheduler = SchedulerConfig::default();
        DashboardBuilder {
            cfg: AppConfig {
                registry: registry.to_string(),
                sandbox: false,
                readonly: false,
                interval: scheduler.interval,
                color: false,
            },
            client: None,
            store,
            keys,
            opts: RuntimeOptions {
                scheduler,
                client: ClientOptions::default(),
                verifier: None,
                witness: None,
            },
        }
    }

    /// Starts the workers on `store` and `client` and loads the tracked set. The first polls
    /// are held back until the first frame is drawn ([`Dashboard::run_loop`]). Reached through
    /// [`Dashboard::builder`].
    fn start(
        cfg: AppConfig,
        client: RegistryClient,
        store: Store,
        keys: KeyStore,
        opts: RuntimeOptions,
    ) -> Result<Self> {
        let initial = store.list().wrap_err("reading the tracked set")?;
        // The sort and filter this registry was last shown with (a failure only costs them).
        let prefs = store.load_prefs().map_err(|e| {
            tracing::warn!("{e:#}");
            format!("{e:#}")
        });
        let (actions_tx, actions) = mpsc::channel::<Action>(4096);
        let store_path = store.path().to_path_buf();
        let store =
            store_thread::spawn(store, actions_tx.clone()).wrap_err("starting the store thread")?;
        let (sched_ev_tx, sched_ev_rx) = mpsc::channel::<SchedEvent>(4096);
        // The token stays bound to the origin it was given for, whatever the switches.
        let mut client_opts = opts.client;
        if client_opts.token.is_some() && client_opts.token_origin.is_none() {
            client_opts.token_origin = client
                .options()
                .token_origin
                .clone()
                .or_else(|| Some(client.base().clone()));
        }
        let (sched, _task) = scheduler::spawn(client.clone(), opts.scheduler, sched_ev_tx);
        forward_scheduler_events(sched_ev_rx, actions_tx.clone(), store.clone());
        let (client_tx, client_rx) = watch::channel(client.clone());
        if let Some(v) = opts.verifier {
            tokio::spawn(crate::trust::worker::run(
                client_tx.subscribe(),
                v,
                actions_tx.clone(),
            ));
        }
        if let Some(w) = opts.witness {
            tokio::spawn(super::witness::watch(
                client_tx.subscribe(),
                w,
                actions_tx.clone(),
            ));
        }
        tokio::spawn(watcher::watch_checkpoint(client_rx, actions_tx.clone()));
        let registry = cfg.registry.clone();
        let mut state = State::new(cfg, now_ms());
        match prefs {
            Ok(p) => drop(app::update(&mut state, Action::Prefs(registry, p))),
            Err(e) => drop(app::update(&mut state, Action::Flash(e))),
        }
        let after_first_frame = app::update(&mut state, Action::StoreLoaded(initial));
        app::update(&mut state, Action::KeysLoaded(load_keys(&keys)));
        Ok(Self {
            state,
            client,
            client_tx,
            opts: client_opts,
            sched,
            store,
            store_path,
            actions_tx,
            actions,
            keys,
            hashing: None,
            after_first_frame,
            first_frame: true,
        })
    }

    /// A sender for actions from outside (signals, the demo).
    pub fn sender(&self) -> mpsc::Sender<Action> {
        self.actions_tx.clone()
    }

    /// The store thread, for workers that track what they submit.
    pub fn store(&self) -> StoreHandle {
        self.store.clone()
    }

    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// The client in use, following `:registry` switches (for workers started from outside).
    pub fn client_watch(&self) -> watch::Receiver<RegistryClient> {
        self.client_tx.subscribe()
    }

    /// Feeds one action to the reducer and carries out the effects it returns.
    pub fn apply(&mut self, a: Action) {
        for e in app::update(&mut self.state, a) {
            self.exec(e);
        }
    }

    /// Waits for the next action from the workers (for tests driving the loop by hand).
    pub async fn next_action(&mut self) -> Option<Action> {
        self.actions.recv().await
    }

    fn exec(&mut self, effect: Effect) {
        let actions = self.actions_tx.clone();
        // A closed channel means that worker has stopped: the app is shutting down.
        match effect {
            Effect::Schedule(items) => drop(self.sched.send(SchedCmd::Track(items))),
            Effect::Unschedule(keys) => drop(self.sched.send(SchedCmd::Untrack(keys))),
            Effect::Refresh(keys) => drop(self.sched.send(SchedCmd::Refresh(keys))),
            Effect::RefreshAll => drop(self.sched.send(SchedCmd::RefreshAll)),
            Effect::Track(items) => drop(self.store.send(StoreOp::Add(items, None))),
            Effect::Untrack(key) => drop(self.store.send(StoreOp::Remove(key))),
            Effect::LoadHistory(key) => drop(self.store.send(StoreOp::History(key))),
            Effect::LoadEvents => drop(self.store.send(StoreOp::Events(500))),
            Effect::LoadPulse => drop(self.store.send(StoreOp::Pulse {
                now: now_ms(),
                minutes: super::pulse::MINUTES,
            })),
            Effect::SavePrefs(url, p) => drop(self.store.send(StoreOp::SavePrefs(url, p))),
            // Only the newest request's result is applied (the reducer checks its ticket).
            Effect::HashFile { path, ticket } => {
                // An older hash not started yet is not worth reading: it is aborted (this only
                // saves work; its answer would be dropped anyway).
                if let Some(old) = self.hashing.take() {
                    old.abort();
                }
                let task = tokio::task::spawn_blocking(move || {
                    let result = hash_file(&path);
                    let _ = actions.blocking_send(Action::FileHashed {
                        ticket,
                        path,
                        result,
                    });
                });
                self.hashing = Some(task.abort_handle());
            }
            Effect::ResolveNames(logs) => {
                let client = self.client.clone();
                let store = self.store.clone();
                tokio::spawn(async move {
                    match client.resolve_names(&logs).await {
                        Ok(names) => {
                            for (log, name) in &names {
                                store.send(StoreOp::SetPackage(*log, name.clone()));
                            }
                            let _ = actions.send(Action::NamesResolved(names)).await;
                        }
                        Err(e) => tracing::warn!("fetching package names: {e}"),
                    }
                });
            }
            Effect::LoadKeys => {
                let keys = self.keys.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = actions.blocking_send(Action::KeysLoaded(load_keys(&keys)));
                });
            }
            Effect::GenerateKey(name) => {
                let keys = self.keys.clone();
                tokio::task::spawn_blocking(move || {
                    let res = SigningKey::generate(Algorithm::EcdsaP256)
                        .and_then(|k| keys.save(&name, &k).map(|_| KeyInfo::of(&name, &k)))
                        .map_err(|e| format!("{e:#}"));
                    let _ = actions.blocking_send(Action::KeyGenerated(res));
                });
            }
            Effect::Prepare {
                package,
                entries,
                ticket,
            } => {
                let client = self.client.clone();
                tokio::spawn(async move {
                    let res = match publish::prepare(&client, &package, entries, Default::default())
                        .await
                    {
                        Ok(p) => {
                            // The log's facts first, so the review can warn before signing.
                            let facts = publish::log_facts(&client, &p.log_id).await;
                            let _ = actions.send(Action::FormLog(ticket, package, facts)).await;
                            Action::Prepared(ticket, Ok(p))
                        }
                        Err(PublishError::NoLog(p)) => Action::NoLogYet(ticket, p),
                        Err(e) => Action::Prepared(ticket, Err(e.to_string())),
                    };
                    let _ = actions.send(res).await;
                });
            }
            Effect::CompletePath { input, env, ticket } => {
                tokio::task::spawn_blocking(move || {
                    let c = super::form_path::complete(&input, &env);
                    let _ = actions.blocking_send(Action::PathCompleted(ticket, c));
                });
            }
            Effect::Submit {
                prepared,
                key_name,
                files,
                rebuilds,
            } => {
                let client = self.client.clone();
                let mut store = self.store.clone();
                let keys = self.keys.clone();
                tokio::spawn(async move {
                    let progress_tx = actions.clone();
                    let links = store.clone();
                    let res = publish::publish_prepared(
                        &client,
                        &mut store,
                        &keys,
                        &key_name,
                        &prepared,
                        &files,
                        rebuilds,
                        |r, link| {
                            links.send(StoreOp::SetRebuilds(r, link));
                        },
                        move |p| {
                            let _ = progress_tx.try_send(Action::SubmitProgress(p.to_string()));
                        },
                    )
                    .await;
                    let _ = actions.send(Action::Submitted(res)).await;
                });
            }
            Effect::Copy(text) => terminal::copy(&text),
            Effect::LoadPackageLog(log, package, ticket) => {
                let client = self.client.clone();
                let store = self.store_path.clone();
                tokio::spawn(async move {
                    let r = super::logview::load(&client, store, log, package).await;
                    let _ = actions.send(Action::PackageLog(ticket, Box::new(r))).await;
                });
            }
            Effect::SetRegistry(url, ticket) => {
                // The bearer token belongs to the origin it was given for (not the current
                // client's: after a switch away, the current client is another origin):
                // another origin goes without it, and the flash says so. `RegistryClient::new`
                // enforces the same binding.
                let opts = self.opts.clone();
                let token_elsewhere = match (&opts.token, &opts.token_origin) {
                    (Some(_), Some(origin)) => crate::registry::client::parse_base_url(&url)
                        .map(|u| !crate::registry::client::same_origin(&u, origin))
                        .unwrap_or(false),
                    _ => false,
                };
                if token_elsewhere {
                    let _ = actions.try_send(Action::Flash(format!(
                        "the bearer token is not sent to {}: it was given for {}",
                        crate::text::clean(url.trim()),
                        opts.token_origin
                            .as_ref()
                            .map(|o| o.to_string())
                            .unwrap_or_default()
                    )));
                }
                // Building a client reads the CA file and the system roots: off the loop.
                tokio::task::spawn_blocking(move || {
                    let client = RegistryClient::new(&url, opts).map_err(|e| format!("{e:#}"));
                    let _ = actions.blocking_send(Action::ClientReady(ticket, url, client));
                });
            }
            Effect::UseClient(url, c) => {
                self.client = (*c).clone();
                let _ = self.client_tx.send((*c).clone());
                let _ = self.sched.send(SchedCmd::SetClient(*c));
                self.store.send(StoreOp::SetRegistry(url));
            }
        }
    }

    /// Runs the event loop on `terminal` until the app quits, `input` ends, or `until` passes:
    /// draws when the state changed (at most ~30 frames a second), feeds terminal events and
    /// worker actions to the reducer in batches, ticks once a second for the ages on screen.
    /// `observe` sees every action before the reducer does.
    pub async fn run_loop<B: ratatui::backend::Backend>(
        &mut self,
        terminal: &mut ratatui::Terminal<B>,
        mut input: impl Stream<Item = std::io::Result<Event>> + Unpin,
        until: Option<tokio::time::Instant>,
        mut observe: impl FnMut(&Action),
    ) -> Result<()>
    where
        B::Error: Send + Sync + 'static,
    {
        let size = terminal
            .size()
            .map_err(|e| color_eyre::eyre::eyre!("reading the terminal size: {e}"))?;
        self.state.table.page = super::pulse::page_size(&self.state.pulse, size.height);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let frame_gap = Duration::from_millis(33);
        let mut last_draw = tokio::time::Instant::now() - frame_gap;
        let mut batch = Vec::with_capacity(256);
        loop {
            let now = tokio::time::Instant::now();
            if self.state.dirty && now >= last_draw + frame_gap {
                self.state.dirty = false;
                let state = &self.state;
                terminal
                    .draw(|f| view::draw(state, f))
                    .map_err(|e| color_eyre::eyre::eyre!("drawing: {e}"))?;
                last_draw = now;
                if self.first_frame {
                    self.first_frame = false;
                    let since = super::PROCESS_START
                        .get_or_init(std::time::Instant::now)
                        .elapsed();
                    tracing::info!(
                        rows = self.state.table.rows.len(),
                        "first frame drawn after {} ms",
                        since.as_millis()
                    );
                    for e in std::mem::take(&mut self.after_first_frame) {
                        self.exec(e);
                    }
                }
            }
            let next_frame = self.state.dirty.then_some(last_draw + frame_gap);
            tokio::select! {
                ev = input.next() => match ev {
                    Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                        #[cfg(debug_assertions)]
                        if k.code == crossterm::event::KeyCode::Char('!') {
                            match debug_panic().as_deref() {
                                Some("1") => panic!("injected panic (WARGDASH_DEBUG_PANIC)"),
                                Some("worker") => {
                                    tokio::spawn(async {
                                        panic!("injected worker panic (WARGDASH_DEBUG_PANIC)")
                                    });
                                }
                                _ => {}
                            }
                        }
                        batch.push(Action::Key(k));
                    }
                    Some(Ok(Event::Paste(p))) => batch.push(Action::Paste(p)),
                    // Clicks and the wheel; moves and drags (a flood while captured) are dropped here.
                    Some(Ok(Event::Mouse(m))) if matches!(
                        m.kind,
                        MouseEventKind::Down(_) | MouseEventKind::ScrollDown | MouseEventKind::ScrollUp
                    ) => batch.push(Action::Mouse(m)),
                    Some(Ok(Event::Resize(_, h))) => {
                        self.state.table.page = super::pulse::page_size(&self.state.pulse, h);
                        self.state.dirty = true;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::warn!("terminal event error: {e}"),
                    None => break,
                },
                Some(a) = self.actions.recv() => {
                    batch.push(a);
                    while batch.len() < 1024 {
                        match self.actions.try_recv() {
                            Ok(a) => batch.push(a),
                            Err(_) => break,
                        }
                    }
                }
                _ = tick.tick() => {
                    batch.push(Action::Tick(now_ms()));
                    if let Some(p) = terminal::take_worker_panic() {
                        batch.push(Action::Flash(format!(
                            "a background task failed ({p}); the dashboard carries on — see the log"
                        )));
                    }
                }
                _ = async { match until { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending::<()>().await } } => break,
                _ = async { match next_frame { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending::<()>().await } } => {}
            }
            for a in batch.drain(..) {
                observe(&a);
                self.apply(a);
            }
            if self.state.quit {
                break;
            }
        }
        Ok(())
    }
}

/// A test hook proving panics are handled: with WARGDASH_DEBUG_PANIC=1 the key `!` panics the
/// UI (the terminal is restored); with `worker`, a background task panics (the dashboard
/// carries on and says so). Debug builds only: not compiled into release builds.
#[cfg(debug_assertions)]
fn debug_panic() -> Option<String> {
    static ON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ON.get_or_init(|| std::env::var("WARGDASH_DEBUG_PANIC").ok())
        .clone()
}
