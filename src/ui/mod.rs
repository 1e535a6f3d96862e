//! The dashboard runtime: terminal setup and restore, the event loop, and the workers (store
//! thread, poll scheduler, checkpoint watcher) that talk to the reducer in [`app`] through
//! [`app::Action`]s.

pub mod app;
pub mod form;
pub mod keymap;
pub mod theme;
pub mod view;

use crate::cli::{fail, CmdResult, Ctx, DashArgs};
use crate::embedded::Sandbox;
use crate::exit;
use crate::ids::{ContentDigest, PackageName};
use crate::keys::{Algorithm, KeyInfo, KeyStore, SigningKey};
use crate::publish::{self, Progress, PublishError};
use crate::record::Entry;
use crate::registry::{ApiError, RegistryClient};
use crate::tracker::scheduler::{self, SchedCmd, SchedEvent, SchedulerConfig};
use crate::tracker::store::{now_ms, NewTracked, Origin, PollOutcome, Store};
use app::{Action, AppConfig, Command, Key, State};
use color_eyre::eyre::{eyre, WrapErr};
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// When the process started (as near as `main` can tell); see [`mark_process_start`].
static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Called first thing in `main`: the start-up time logged with the first frame
/// (`first frame drawn after N ms`, info level) is measured from here. The start-up benchmark
/// (`benches/startup.rs`) reads that line from the log file.
pub fn mark_process_start() {
    PROCESS_START.get_or_init(std::time::Instant::now);
}

/// Operations for the store thread (the only owner of the SQLite connection in the dashboard).
pub enum StoreOp {
    Add(Vec<NewTracked>, Option<oneshot::Sender<()>>),
    Remove(Key),
    Polls(Vec<PollOutcome>),
    History(Key),
    SetPackage(crate::ids::LogId, String),
}

/// Runs the store on its own thread so drawing never waits for a write. Poll results are
/// written in batches; changes made by other processes (`wargdash track add`) are noticed via
/// `PRAGMA data_version` within a second and sent to the UI as a fresh list.
pub fn spawn_store_thread(
    mut store: Store,
    actions: mpsc::Sender<Action>,
) -> std::sync::mpsc::Sender<StoreOp> {
    let (tx, rx) = std::sync::mpsc::channel::<StoreOp>();
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
                        StoreOp::Remove(key) => store.remove(&key.0, &key.1).map(|_| ()),
                        StoreOp::Polls(p) => {
                            polls.extend(p);
                            Ok(())
                        }
                        StoreOp::SetPackage(log, name) => {
                            store.set_package(&log, &name).map(|_| ())
                        }
                        StoreOp::History(key) => store.history(&key.0, &key.1).map(|h| {
                            let _ = actions.blocking_send(Action::History(key, h));
                        }),
                    };
                    if let Err(e) = res {
                        tracing::error!("store: {e:#}");
                        let _ = actions.blocking_send(Action::StoreError(format!("{e:#}")));
                    }
                }
                if let Err(e) = store.record_polls(&polls) {
                    tracing::error!("store: {e:#}");
                    let _ = actions.blocking_send(Action::StoreError(format!("{e:#}")));
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
                            if actions.blocking_send(Action::StoreLoaded(list)).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = actions.blocking_send(Action::StoreError(format!("{e:#}")));
                        }
                    }
                }
            }
        })
        .expect("spawning the store thread");
    tx
}

/// Turns scheduler events into actions for the reducer; poll results also go to the store
/// thread, which writes them in batches.
pub fn forward_scheduler_events(
    mut events: mpsc::Receiver<SchedEvent>,
    actions: mpsc::Sender<Action>,
    store: std::sync::mpsc::Sender<StoreOp>,
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
                    let _ = store.send(StoreOp::Polls(vec![polled.outcome()]));
                    Action::Polled {
                        key: (polled.log_id, polled.record_id),
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

/// Publishes a record the way both the form and the demo do: prepare (unless given), sign,
/// track, submit, upload; refused records are untracked again.
pub async fn sign_track_submit(
    client: &RegistryClient,
    store: &std::sync::mpsc::Sender<StoreOp>,
    key: &SigningKey,
    prepared: &publish::Prepared,
    contents: &publish::Contents,
    mut progress: impl FnMut(String),
) -> Result<Key, PublishError> {
    let signed = prepared.content.sign(key);
    let k = (prepared.log_id, signed.record_id);
    let (ack_tx, ack_rx) = oneshot::channel();
    let _ = store.send(StoreOp::Add(
        vec![NewTracked {
            log_id: prepared.log_id,
            record_id: signed.record_id,
            package: Some(prepared.package.to_string()),
            origin: Origin::Submitted,
            entries: Some(prepared.content.entries.clone()),
        }],
        Some(ack_tx),
    ));
    let _ = ack_rx.await;
    let result = publish::submit(client, &prepared.package, &signed, contents, |p| {
        progress(match p {
            Progress::Submitting(id) => format!("submitting record {id}"),
            Progress::Recovering(e) => {
                format!("no answer ({e}); checking whether the registry received it")
            }
            Progress::Accepted(s) => format!("accepted: {}", s.name()),
            Progress::Uploading { digest, bytes } => format!("uploading {digest} ({bytes} bytes)"),
            Progress::Uploaded(d) => format!("uploaded {d}"),
        })
    })
    .await;
    match result {
        Ok(answer) => {
            // The POST answer is the only place `sourcing` appears: keep it in the history.
            if let Ok(raw) = serde_json::to_value(&answer) {
                let polled = crate::tracker::poll::Polled {
                    log_id: k.0,
                    record_id: k.1,
                    result: Ok((answer, raw)),
                };
                let _ = store.send(StoreOp::Polls(vec![polled.outcome()]));
            }
            Ok(k)
        }
        Err(e) => {
            if let PublishError::Api(ApiError::Unauthorized { .. } | ApiError::Invalid { .. }) = &e
            {
                let _ = store.send(StoreOp::Remove(k));
            }
            Err(e)
        }
    }
}

fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::event::DisableMouseCapture,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped (normal exit, `?` error paths).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn install_panic_hook() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        tracing::error!("panic: {info}");
        prev(info);
    }));
}

/// The sample records `--demo` publishes into the sandbox.
const HELLO: &[u8] = include_bytes!("../../assets/hello.wasm");
const HELLO_1_1: &[u8] = include_bytes!("../../assets/hello-1.1.wasm");
const GREETER: &[u8] = include_bytes!("../../assets/greeter.wasm");

async fn demo(
    client: RegistryClient,
    keys: KeyStore,
    store: std::sync::mpsc::Sender<StoreOp>,
    actions: mpsc::Sender<Action>,
) {
    let run = async {
        let key = match keys.load("demo") {
            Ok(k) => k,
            Err(_) => {
                let k = SigningKey::generate(Algorithm::EcdsaP256)?;
                keys.save("demo", &k)?;
                k
            }
        };
        let mut published = Vec::new();
        let release = |v: &str, bytes: &[u8]| Entry::Release {
            version: v.into(),
            digest: ContentDigest::of_bytes(bytes),
        };
        let contents: BTreeMap<ContentDigest, Vec<u8>> = [HELLO, HELLO_1_1, GREETER]
            .iter()
            .map(|b| (ContentDigest::of_bytes(b), b.to_vec()))
            .collect();
        let init = Entry::Init {
            public_key: key.public_key(),
        };
        for (name, entries) in [
            ("demo:hello", vec![init.clone(), release("1.0.0", HELLO)]),
            (
                "demo:greeter",
                vec![init.clone(), release("0.1.0", GREETER)],
            ),
        ] {
            let pkg: PackageName = name.parse().map_err(|e: String| eyre!(e))?;
            let p = publish::prepare(&client, &pkg, entries, Default::default()).await?;
            published.push(sign_track_submit(&client, &store, &key, &p, &contents, |_| {}).await?);
        }
        // The second round builds on the first: wait for it to be published.
        for _ in 0..120 {
            let mut done = 0;
            for k in &published {
                if let Ok((r, _)) = client.get_record(&k.0, &k.1).await {
                    done += usize::from(r.state.is_terminal());
                }
            }
            if done == published.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for (name, entries) in [
            ("demo:hello", vec![release("1.1.0", HELLO_1_1)]),
            // Yanking a version that was never released: the registry rejects it.
            (
                "demo:greeter",
                vec![Entry::Yank {
                    version: "9.9.9".into(),
                }],
            ),
        ] {
            let pkg: PackageName = name.parse().map_err(|e: String| eyre!(e))?;
            let p = publish::prepare(&client, &pkg, entries, Default::default()).await?;
            sign_track_submit(&client, &store, &key, &p, &contents, |_| {}).await?;
        }
        Ok::<(), color_eyre::Report>(())
    };
    if let Err(e) = run.await {
        tracing::error!("demo: {e:#}");
        let _ = actions
            .send(Action::Flash(format!("demo failed: {e:#}")))
            .await;
    }
}

/// Watches the registry's checkpoint (health and log length) every 5 s, backing off when down.
async fn watch_checkpoint(
    mut client: watch::Receiver<RegistryClient>,
    actions: mpsc::Sender<Action>,
) {
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
        if actions.send(Action::Checkpoint(res)).await.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = client.changed() => if changed.is_err() { return },
        }
    }
}

fn load_keys(keys: &KeyStore) -> Vec<KeyInfo> {
    keys.list().unwrap_or_else(|e| {
        tracing::warn!("listing keys: {e:#}");
        Vec::new()
    })
}

fn next_key_name(existing: &[KeyInfo]) -> String {
    if !existing.iter().any(|k| k.name == "default") {
        return "default".into();
    }
    (2..)
        .map(|i| format!("key-{i}"))
        .find(|n| !existing.iter().any(|k| &k.name == n))
        .unwrap_or_else(|| "key".into())
}

/// Hashes a content file for the form (bounded: at most 1 GiB).
fn hash_file(path: &str) -> Result<(ContentDigest, u64), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{path} is not a file"));
    }
    if meta.len() > 1 << 30 {
        return Err(format!("{path} is larger than 1 GiB"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    Ok((ContentDigest::of_bytes(&bytes), bytes.len() as u64))
}

/// Carries out the commands that only touch the scheduler and the store (the dashboard's
/// tracking loop); returns any other command for the caller.
pub fn route_tracking_command(
    cmd: Command,
    sched: &mpsc::UnboundedSender<SchedCmd>,
    store: &std::sync::mpsc::Sender<StoreOp>,
) -> Option<Command> {
    // A closed channel means that worker has stopped: the app is shutting down.
    match cmd {
        Command::Schedule(items) => drop(sched.send(SchedCmd::Track(items))),
        Command::Unschedule(keys) => drop(sched.send(SchedCmd::Untrack(keys))),
        Command::Refresh(keys) => drop(sched.send(SchedCmd::Refresh(keys))),
        Command::RefreshAll => drop(sched.send(SchedCmd::RefreshAll)),
        Command::Track(items) => drop(store.send(StoreOp::Add(items, None))),
        Command::Untrack(key) => drop(store.send(StoreOp::Remove(key))),
        Command::LoadHistory(key) => drop(store.send(StoreOp::History(key))),
        other => return Some(other),
    }
    None
}

struct Runtime {
    client: RegistryClient,
    client_tx: watch::Sender<RegistryClient>,
    opts: crate::registry::ClientOptions,
    sched: mpsc::UnboundedSender<SchedCmd>,
    store: std::sync::mpsc::Sender<StoreOp>,
    actions: mpsc::Sender<Action>,
    keys: KeyStore,
}

impl Runtime {
    fn exec(&mut self, cmd: Command) {
        let actions = self.actions.clone();
        let Some(cmd) = route_tracking_command(cmd, &self.sched, &self.store) else {
            return;
        };
        match cmd {
            Command::HashFile(path) => {
                tokio::task::spawn_blocking(move || {
                    let result = hash_file(&path);
                    let _ = actions.blocking_send(Action::FileHashed { path, result });
                });
            }
            Command::ResolveNames(logs) => {
                let client = self.client.clone();
                let store = self.store.clone();
                tokio::spawn(async move {
                    match client.resolve_names(&logs).await {
                        Ok(names) => {
                            for (log, name) in &names {
                                let _ = store.send(StoreOp::SetPackage(*log, name.clone()));
                            }
                            let _ = actions.send(Action::NamesResolved(names)).await;
                        }
                        Err(e) => tracing::warn!("fetching package names: {e}"),
                    }
                });
            }
            Command::LoadKeys => {
                let keys = self.keys.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = actions.blocking_send(Action::KeysLoaded(load_keys(&keys)));
                });
            }
            Command::GenerateKey => {
                let keys = self.keys.clone();
                tokio::task::spawn_blocking(move || {
                    let name = next_key_name(&load_keys(&keys));
                    let res = SigningKey::generate(Algorithm::EcdsaP256)
                        .and_then(|k| keys.save(&name, &k).map(|_| KeyInfo::of(&name, &k)))
                        .map_err(|e| format!("{e:#}"));
                    let _ = actions.blocking_send(Action::KeyGenerated(res));
                });
            }
            Command::Prepare { package, entries } => {
                let client = self.client.clone();
                tokio::spawn(async move {
                    let res = publish::prepare(&client, &package, entries, Default::default())
                        .await
                        .map_err(|e| e.to_string());
                    let _ = actions.send(Action::Prepared(res)).await;
                });
            }
            Command::Submit {
                prepared,
                key_name,
                files,
            } => {
                let client = self.client.clone();
                let store = self.store.clone();
                let keys = self.keys.clone();
                tokio::spawn(async move {
                    let res = async {
                        let key = keys.load(&key_name).map_err(|e| format!("{e:#}"))?;
                        let mut contents = BTreeMap::new();
                        for (digest, path) in &files {
                            let bytes = tokio::fs::read(path)
                                .await
                                .map_err(|e| format!("reading {}: {e}", path.display()))?;
                            if ContentDigest::of_bytes(&bytes) != *digest {
                                return Err(format!(
                                    "{} changed since it was hashed; pick it again",
                                    path.display()
                                ));
                            }
                            contents.insert(*digest, bytes);
                        }
                        let progress_tx = actions.clone();
                        sign_track_submit(&client, &store, &key, &prepared, &contents, move |p| {
                            let _ = progress_tx.try_send(Action::SubmitProgress(p));
                        })
                        .await
                        .map_err(|e| match e {
                            PublishError::Api(ApiError::Conflict { .. }) => format!(
                                "{e} — the head moved; review again to rebuild on the new head"
                            ),
                            e => e.to_string(),
                        })
                    }
                    .await;
                    let _ = actions.send(Action::Submitted(res)).await;
                });
            }
            Command::Copy(text) => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                let mut out = std::io::stdout();
                let _ = write!(out, "\x1b]52;c;{b64}\x07");
                let _ = out.flush();
            }
            Command::SetRegistry(url) => match RegistryClient::new(&url, self.opts.clone()) {
                Ok(c) => {
                    self.client = c.clone();
                    let _ = self.client_tx.send(c.clone());
                    let _ = self.sched.send(SchedCmd::SetClient(c));
                }
                Err(e) => {
                    let _ = actions.try_send(Action::Flash(format!("{e:#}")));
                }
            },
            // Routed above.
            Command::Schedule(_)
            | Command::Unschedule(_)
            | Command::Refresh(_)
            | Command::RefreshAll
            | Command::Track(_)
            | Command::Untrack(_)
            | Command::LoadHistory(_) => {}
        }
    }
}

/// Asks the event loop to quit on SIGTERM, SIGINT, SIGHUP, or when the terminal goes away
/// (stdout stops being a terminal once a tty is hung up). If the loop has not stopped two
/// seconds later, the process exits from here: on a vanished tty crossterm's event reader spins
/// without returning (crossterm-rs/crossterm#793), so the loop itself may never see the request.
fn spawn_quit_watchdog(actions: mpsc::Sender<Action>) -> std::io::Result<()> {
    use std::io::IsTerminal;
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        let mut check = tokio::time::interval(Duration::from_secs(1));
        let (reason, code) = loop {
            tokio::select! {
                _ = term.recv() => break ("SIGTERM", 143),
                _ = int.recv() => break ("SIGINT", 130),
                _ = hup.recv() => break ("SIGHUP", 129),
                _ = check.tick() => if !std::io::stdout().is_terminal() {
                    break ("the terminal went away", 129);
                },
            }
        };
        tracing::info!("{reason}: quitting");
        let _ = actions.send(Action::Quit).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        tracing::warn!("the event loop did not stop after {reason}; exiting");
        restore_terminal();
        std::process::exit(code);
    });
    Ok(())
}

/// Runs the dashboard until `q`, Ctrl-C, SIGTERM or SIGHUP.
pub async fn run(ctx: &Ctx, args: DashArgs) -> CmdResult {
    let (url, sandbox) = match ctx.registry_url() {
        Some(u) => (u, None),
        None => {
            let sb = Sandbox::start(&ctx.paths, Duration::from_secs(2))
                .await
                .map_err(|e| fail(exit::ERROR, e))?;
            (sb.url.clone(), Some(sb))
        }
    };
    // The sandbox forgets everything on exit, so it gets a fresh store of its own.
    let store_path: PathBuf = match &sandbox {
        Some(sb) => {
            let p = sb.dir.join("sandbox.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
            p
        }
        None => ctx.paths.store_file(),
    };
    let store = Store::open(&store_path).map_err(|e| fail(exit::STORE, e))?;
    let initial = store.list().map_err(|e| fail(exit::STORE, e))?;
    let opts = ctx.client_options().map_err(|e| fail(exit::USAGE, e))?;
    let client = RegistryClient::new(&url, opts.clone()).map_err(|e| fail(exit::USAGE, e))?;
    let interval = Duration::from_secs_f64(
        args.interval
            .or(ctx.config.interval)
            .unwrap_or(2.0)
            .clamp(0.1, 3600.0),
    );
    let concurrency = args
        .concurrency
        .or(ctx.config.concurrency)
        .unwrap_or(16)
        .max(1);
    tracing::info!(registry = %url, sandbox = sandbox.is_some(), store = %store_path.display(), "dashboard starting");

    let (action_tx, mut action_rx) = mpsc::channel::<Action>(4096);
    let store_tx = spawn_store_thread(store, action_tx.clone());
    let (sched_ev_tx, sched_ev_rx) = mpsc::channel::<SchedEvent>(4096);
    let (sched_tx, _sched_task) = scheduler::spawn(
        client.clone(),
        SchedulerConfig {
            interval,
            concurrency,
            ..SchedulerConfig::default()
        },
        sched_ev_tx,
    );
    forward_scheduler_events(sched_ev_rx, action_tx.clone(), store_tx.clone());
    let (client_tx, client_rx) = watch::channel(client.clone());
    tokio::spawn(watch_checkpoint(client_rx, action_tx.clone()));
    let keys = KeyStore::new(ctx.paths.keys_dir());
    if args.demo {
        if sandbox.is_some() {
            tokio::spawn(demo(
                client.clone(),
                keys.clone(),
                store_tx.clone(),
                action_tx.clone(),
            ));
        } else {
            let _ = action_tx.try_send(Action::Flash(
                "--demo publishes only into the sandbox registry; ignored".into(),
            ));
        }
    }

    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut state = State::new(
        AppConfig {
            registry: url.clone(),
            sandbox: sandbox.is_some(),
            readonly: args.readonly,
            interval,
            color: !no_color,
        },
        now_ms(),
    );
    let mut rt = Runtime {
        client,
        client_tx,
        opts,
        sched: sched_tx,
        store: store_tx,
        actions: action_tx.clone(),
        keys: keys.clone(),
    };
    // The first frame must not wait for (or compete with) the network: the first polls are
    // scheduled once it is on screen.
    let mut after_first_frame = app::update(&mut state, Action::StoreLoaded(initial));
    app::update(&mut state, Action::KeysLoaded(load_keys(&keys)));

    install_panic_hook();
    crossterm::terminal::enable_raw_mode().wrap_err("switching the terminal to raw mode")?;
    let _guard = TerminalGuard;
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        crossterm::event::EnableBracketedPaste
    )
    .wrap_err("entering the alternate screen")?;
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
            .wrap_err("initialising the terminal")?;
    let size = terminal.size().wrap_err("reading the terminal size")?;
    state.page = view::page_size(size.height);

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    spawn_quit_watchdog(action_tx.clone()).wrap_err("installing signal handlers")?;
    let frame_gap = Duration::from_millis(33);
    let mut last_draw = tokio::time::Instant::now() - frame_gap;
    let mut batch = Vec::with_capacity(256);
    // A test hook proving the terminal is restored on panic: with WARGDASH_DEBUG_PANIC=1 the
    // key `!` panics.
    let debug_panic = std::env::var_os("WARGDASH_DEBUG_PANIC").is_some_and(|v| v == "1");
    let mut first_frame = true;
    loop {
        let now = tokio::time::Instant::now();
        if state.dirty && now >= last_draw + frame_gap {
            state.dirty = false;
            terminal
                .draw(|f| view::draw(&state, f))
                .wrap_err("drawing")?;
            last_draw = now;
            if first_frame {
                first_frame = false;
                let since = PROCESS_START.get_or_init(std::time::Instant::now).elapsed();
                tracing::info!(
                    rows = state.rows.len(),
                    "first frame drawn after {} ms",
                    since.as_millis()
                );
                for c in std::mem::take(&mut after_first_frame) {
                    rt.exec(c);
                }
            }
        }
        let next_frame = if state.dirty {
            Some(last_draw + frame_gap)
        } else {
            None
        };
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    if debug_panic && k.code == crossterm::event::KeyCode::Char('!') {
                        panic!("injected panic (WARGDASH_DEBUG_PANIC)");
                    }
                    batch.push(Action::Key(k));
                }
                Some(Ok(Event::Paste(p))) => batch.push(Action::Paste(p)),
                Some(Ok(Event::Resize(_, h))) => {
                    state.page = view::page_size(h);
                    state.dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => tracing::warn!("terminal event error: {e}"),
                None => break,
            },
            Some(a) = action_rx.recv() => {
                batch.push(a);
                while batch.len() < 1024 {
                    match action_rx.try_recv() {
                        Ok(a) => batch.push(a),
                        Err(_) => break,
                    }
                }
            }
            _ = tick.tick() => batch.push(Action::Tick(now_ms())),
            _ = async { if let Some(t) = next_frame { tokio::time::sleep_until(t).await } else { std::future::pending::<()>().await } } => {}
        }
        for a in batch.drain(..) {
            for c in app::update(&mut state, a) {
                rt.exec(c);
            }
        }
        if state.quit {
            break;
        }
    }
    drop(terminal);
    drop(_guard);
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    tracing::info!("dashboard stopped");
    Ok(exit::OK)
}
