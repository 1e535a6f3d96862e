//! The dashboard: one reducer ([`app`]) fed by key presses and worker results and routing them
//! to the panes that own their state and keys (the record [`table`], the [`prompt`], the
//! [`detail`], [`help`] and [`events`] overlays, the publish [`form`], the alerts
//! ([`trust`]), the package log browser ([`logview`]), the [`pulse`] strip); the messages they
//! share ([`msg`]); the view ([`view`]), the runtime that wires workers to the reducer
//! ([`runtime`]) and the terminal ([`terminal`]). [`run`] takes resolved options; it never sees the command line.

pub mod app;
pub mod detail;
pub mod events;
pub mod filter;
pub mod form;
mod form_keys;
pub mod form_path;
pub mod help;
pub mod job;
pub mod keymap;
pub mod logview;
pub mod mouse;
pub mod msg;
mod prefs;
pub mod prompt;
pub mod pulse;
pub mod row;
pub mod runtime;
pub mod scroll;
pub mod status;
pub mod table;
pub mod terminal;
pub mod theme;
pub mod trust;
pub mod view;
pub mod witness;

use crate::context::Ctx;
use crate::exit::{self, fail, CmdResult};
use crate::sandbox::Sandbox;
use crate::tracker::scheduler::SchedulerConfig;
use app::Action;
use color_eyre::eyre::WrapErr;
use crossterm::event::EventStream;
use runtime::Dashboard;
use std::path::PathBuf;
use std::time::Duration;

/// When the process started (as near as `main` can tell); see [`mark_process_start`].
static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Called first thing in `main`: the start-up time logged with the first frame
/// (`first frame drawn after N ms`, info level) is measured from here. The start-up benchmark
/// (`benches/startup.rs`) reads that line from the log file.
pub fn mark_process_start() {
    PROCESS_START.get_or_init(std::time::Instant::now);
}

/// How the dashboard runs (resolved from flags and the config file by the caller).
#[derive(Debug, Clone)]
pub struct DashOptions {
    /// Seconds between polls of pending records.
    pub interval: Duration,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Hide publishing.
    pub readonly: bool,
    /// Run on the sandbox registry (whatever registry is configured) and publish sample records.
    pub demo: bool,
    /// Capture the mouse (click selects, wheel scrolls); `--no-mouse` leaves it to the terminal.
    pub mouse: bool,
}

/// Runs the dashboard until `q`, Ctrl-C, SIGTERM or SIGHUP.
pub async fn run(ctx: &Ctx, opts: DashOptions) -> CmdResult {
    // A malformed pin or age limit is a usage error before the terminal is taken.
    ctx.check_trust_options()?;
    // `--demo` is explicit: it always means the sandbox, even with a registry configured.
    let configured = if opts.demo { None } else { ctx.registry_url() };
    let (url, sandbox) = match configured {
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
    let store = match &sandbox {
        Some(_) => ctx.store_at(&store_path, &url)?,
        None => ctx.store()?,
    };
    let client_opts = ctx.client_options_for(&url)?;
    let client = crate::registry::RegistryClient::new(&url, client_opts.clone())
        .map_err(|e| fail(exit::USAGE, e))?;
    tracing::info!(registry = %url, sandbox = sandbox.is_some(), store = %store_path.display(), "dashboard starting");
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    // The verifier: one cycle every 5 s, off the draw path, following `:registry`.
    let options = {
        let (config, overrides, paths) =
            (ctx.config.clone(), ctx.overrides.clone(), ctx.paths.clone());
        std::sync::Arc::new(move |registry: &str| {
            let c = Ctx {
                paths: paths.clone(),
                config: config.clone(),
                overrides: overrides.clone(),
            };
            // Checked at start-up (`check_trust_options`): a registry switched to later gets
            // its own pin, or none.
            c.cycle_options(registry, false).unwrap_or_default()
        })
    };
    let verifier = crate::trust::worker::VerifierConfig {
        store: store_path.clone(),
        options,
        on_alert: ctx.on_alert(),
        period: Duration::from_secs(5),
    };
    // Peer monitors to compare with (`registries.<URL>.peers`): a malformed one is a usage
    // error, before the terminal is taken.
    let peers: Vec<crate::witness::peer::Peer> = ctx
        .config
        .registry(&url)
        .map(|r| r.peers.clone())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            crate::witness::peer::Peer::parse(p)
                .map_err(|e| fail(exit::USAGE, color_eyre::eyre::eyre!("peer `{p}`: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let witness = (!peers.is_empty()).then(|| witness::WitnessConfig {
        registry: url.clone(),
        peers,
        origin: crate::witness::note::default_origin(&url),
        store: store_path.clone(),
        period: Duration::from_secs(5),
    });
    let keys = ctx.keys();
    let mut dash = Dashboard::builder(&url, store, keys.clone())
        .client(client)
        .client_options(client_opts)
        .sandbox(sandbox.is_some())
        .readonly(opts.readonly)
        .color(!no_color)
        .interval(opts.interval)
        .scheduler(SchedulerConfig {
            interval: opts.interval,
            concurrency: opts.concurrency,
            ..SchedulerConfig::default()
        })
        .verifier(Some(verifier))
        .witness(witness)
        .start()
        .map_err(|e| fail(exit::STORE, e))?;
    if opts.demo {
        let client = dash.client().clone();
        let store = dash.store();
        let actions = dash.sender();
        tokio::spawn(async move {
            if let Err(e) = crate::sandbox::seed_demo(client, keys, store).await {
                tracing::error!("demo: {e:#}");
                let _ = actions
                    .send(Action::Flash(format!("demo failed: {e:#}")))
                    .await;
            }
        });
    }

    let guard = terminal::TerminalGuard::enter(opts.mouse)?;
    let mut term =
        ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
            .wrap_err("initialising the terminal")?;
    terminal::spawn_quit_watchdog(dash.sender(), Action::Quit)
        .wrap_err("installing signal handlers")?;
    let result = dash
        .run_loop(&mut term, EventStream::new(), None, |_| {})
        .await;
    drop(term);
    drop(guard);
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    result?;
    tracing::info!("dashboard stopped");
    Ok(exit::OK)
}
