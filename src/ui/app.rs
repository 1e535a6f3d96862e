//! The dashboard's state and its one reducer. No IO here: key presses and worker results arrive
//! as [`Action`]s; `update` changes [`State`] and returns [`Effect`]s for the runtime.

use super::form::{Completion, Form, PathEnv, Step};
use super::form_keys::on_form_key;
use super::prompt::{after_edit, input_buffer, on_line_key};
use super::table::{needs_rebuild, on_table_key};
use crate::ids::{ContentDigest, LogId, PackageName};
use crate::keys::KeyInfo;
use crate::publish::Prepared;
use crate::registry::{ApiError, PackageRecord, RecordState};
use crate::tracker::store::{HistoryEntry, NewTracked, Origin, RawJson, Tracked};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

pub use super::row::{Row, SortKey};
pub use crate::ids::RecordRef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Table,
    Filter,
    Command,
    Track,
    Help,
    Detail,
    /// Untrack these records (one, the marked ones, or a `:untrack` set) after `y`.
    ConfirmUntrack(Vec<RecordRef>),
    /// The trust alerts pane.
    Alerts,
    /// The package log browser.
    LogBrowser,
    /// State changes and alerts as they happen.
    Events,
    Form,
}

/// How much a footer message matters; each has its own style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A message in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub at: i64,
    pub level: Level,
}

/// Registry health as the header shows it.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub last_ok: Option<i64>,
    pub latency: Option<Duration>,
    pub last_error: Option<String>,
    /// When the next attempt happens during an outage (ms).
    pub retry_at: Option<i64>,
    pub down: bool,
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    pub registry: String,
    pub sandbox: bool,
    pub readonly: bool,
    pub interval: Duration,
    pub color: bool,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct State {
    pub cfg: AppConfig,
    pub rows: Vec<Row>,
    pub(super) index: HashMap<RecordRef, usize>,
    /// Row indices after filter and sort, in the total order of [`State::cmp_rows`].
    pub view: Vec<usize>,
    pub(super) view_stale: bool,
    /// Rows per state name, kept up to date as rows change (the header shows it every frame).
    pub(super) counts: BTreeMap<&'static str, usize>,
    pub selected: Option<RecordRef>,
    /// A record just tracked or submitted whose row has not arrived yet: it gets the
    /// selection when it does.
    pub(super) awaiting: Option<RecordRef>,
    /// A row marked for a moment (a record just submitted) until the time given (ms).
    pub fresh: Option<(RecordRef, i64)>,
    /// Rows marked with Space for a bulk action.
    pub marked: std::collections::BTreeSet<RecordRef>,
    pub offset: usize,
    /// Table rows that fit on screen (set by the view each frame).
    pub page: usize,
    pub sort: SortKey,
    pub ascending: bool,
    pub filter: String,
    pub input: String,
    /// Where the prompt's cursor is (a char index into `input`); `None` is the end.
    pub cursor: Option<usize>,
    pub input_error: Option<String>,
    pub history: Vec<String>,
    pub(super) history_pos: Option<usize>,
    pub mode: Mode,
    pub frozen: bool,
    /// Poll results held while frozen: the latest per record (bounded by the tracked set).
    pub(super) frozen_updates: HashMap<RecordRef, Action>,
    /// The compiled [`State::filter`].
    pub(super) compiled: super::filter::Filter,
    pub health: Health,
    pub checkpoint: Option<(u64, u64)>,
    pub keys: Vec<KeyInfo>,
    pub form: Form,
    pub detail_history: Option<(RecordRef, Vec<HistoryEntry>)>,
    /// The rejected record the detail pane's record rebuilds, once the store said.
    pub detail_link: Option<(RecordRef, crate::tracker::links::RebuildLink)>,
    /// Logs whose package name was already asked of the registry.
    pub(super) names_asked: std::collections::HashSet<LogId>,
    pub flash: Option<Flash>,
    /// First line shown in the help overlay.
    pub help_scroll: usize,
    /// First line shown in the detail pane.
    pub detail_scroll: usize,
    /// The detail pane's last scroll position that still shows a line (set when drawn).
    pub detail_max_scroll: std::cell::Cell<usize>,
    /// What the verifier proved (or caught).
    pub trust: super::trust::TrustView,
    /// The package log browser.
    pub logs: super::logview::LogBrowser,
    /// The events pane: the latest state changes (newest first) and its scroll.
    pub events: Vec<crate::tracker::store::StateEvent>,
    pub events_scroll: usize,
    /// Where the table's rows were last drawn (for mouse clicks; set by the view).
    pub table_body: std::cell::Cell<Option<super::mouse::TableBody>>,
    /// The pulse strip (`P`) and its figures.
    pub pulse: super::pulse::PulseView,
    /// The sort and filter last saved (or loaded) and the registry they belong to.
    pub(super) prefs: super::prefs::PrefsState,
    pub now: i64,
    pub dirty: bool,
    pub quit: bool,
}

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    /// A click or the wheel (when the mouse is captured).
    Mouse(crossterm::event::MouseEvent),
    Paste(String),
    Tick(i64),
    StoreLoaded(Vec<Tracked>),
    StoreError(String),
    PollStarted(Vec<RecordRef>),
    Polled {
        key: RecordRef,
        result: Result<(PackageRecord, serde_json::Value), ApiError>,
        at: i64,
        latency: Duration,
        hold: Option<Duration>,
    },
    Checkpoint(Result<(u64, u64), ApiError>),
    History(RecordRef, Vec<HistoryEntry>),
    /// The rejected record a tracked one rebuilds (for the detail pane).
    RebuildLink(RecordRef, Option<crate::tracker::links::RebuildLink>),
    KeysLoaded(Vec<KeyInfo>),
    KeyGenerated(Result<KeyInfo, String>),
    FileHashed {
        path: String,
        result: Result<(ContentDigest, u64), String>,
    },
    Prepared(Result<Prepared, String>),
    /// The package log's facts, fetched with the head (sent before `Prepared`).
    FormLog(PackageName, Result<crate::publish::LogFacts, String>),
    /// The package has no log on the registry (and the record does not start with `init`).
    NoLogYet(PackageName),
    /// A Tab completion of the content-file path.
    PathCompleted(Completion),
    SubmitProgress(String),
    Submitted(Result<RecordRef, String>),
    Flash(String),
    NamesResolved(BTreeMap<LogId, String>),
    /// The verifier's results.
    Trust(crate::trust::worker::TrustEvent),
    /// A client for `:registry URL`, built off the loop.
    ClientReady(String, Result<crate::registry::RegistryClient, String>),
    /// The latest state changes, for the events pane.
    Events(Vec<crate::tracker::store::StateEvent>),
    /// A package log for the browser.
    PackageLog(Box<Result<super::logview::LogView, String>>),
    /// The pulse strip's figures.
    Pulse(crate::tracker::pulse::Pulse),
    /// The sort and filter saved for a registry (a URL), when the store is scoped to it.
    Prefs(String, Option<crate::tracker::prefs::TablePrefs>),
    Quit,
}

impl From<crate::tracker::store_thread::StoreEvent> for Action {
    fn from(e: crate::tracker::store_thread::StoreEvent) -> Self {
        use crate::tracker::store_thread::StoreEvent;
        match e {
            StoreEvent::Loaded(list) => Self::StoreLoaded(list),
            StoreEvent::History(r, h) => Self::History(r, h),
            StoreEvent::Rebuild(r, link) => Self::RebuildLink(r, link),
            StoreEvent::Events(e) => Self::Events(e),
            StoreEvent::Pulse(p) => Self::Pulse(p),
            StoreEvent::Prefs(r, p) => Self::Prefs(r, p),
            StoreEvent::Error(e) => Self::StoreError(e),
        }
    }
}

impl From<crate::trust::worker::TrustEvent> for Action {
    fn from(e: crate::trust::worker::TrustEvent) -> Self {
        Self::Trust(e)
    }
}

impl From<crate::tracker::watcher::CheckpointSeen> for Action {
    fn from(c: crate::tracker::watcher::CheckpointSeen) -> Self {
        Self::Checkpoint(c.0)
    }
}

/// What the reducer asks the runtime to do.
#[derive(Debug, Clone)]
pub enum Effect {
    Schedule(Vec<(RecordRef, bool)>),
    Unschedule(Vec<RecordRef>),
    Refresh(Vec<RecordRef>),
    RefreshAll,
    Track(Vec<NewTracked>),
    Untrack(RecordRef),
    LoadHistory(RecordRef),
    HashFile(String),
    /// Complete the content-file path (reads a directory).
    CompletePath {
        input: String,
        env: PathEnv,
    },
    /// Generate an ecdsa-p256 key and store it under this name.
    GenerateKey(String),
    LoadKeys,
    /// Ask the registry for the package names of these logs.
    ResolveNames(Vec<LogId>),
    Prepare {
        package: PackageName,
        entries: Vec<crate::record::Entry>,
    },
    Submit {
        prepared: Box<Prepared>,
        key_name: String,
        files: BTreeMap<ContentDigest, PathBuf>,
        /// The rejected record this one rebuilds, and why it was rejected.
        rebuilds: Option<(RecordRef, String)>,
    },
    Copy(String),
    SetRegistry(String),
    /// Switch to this client (built for this registry URL).
    UseClient(String, Box<crate::registry::RegistryClient>),
    /// Read the latest state changes from the store.
    LoadEvents,
    /// Fetch, validate and prove this package log for the browser.
    LoadPackageLog(LogId, Option<String>),
    /// Read the pulse strip's figures from the store.
    LoadPulse,
    /// Remember the table's sort and filter for this registry (a URL).
    SavePrefs(String, crate::tracker::prefs::TablePrefs),
}

pub(super) fn state_rank(r: &Row) -> u8 {
    match r.state_name() {
        "error" => 0,
        "rejected" => 1,
        "sourcing" => 2,
        "processing" => 3,
        "unknown" => 4,
        _ => 5,
    }
}

impl State {
    /// Poll results waiting while the table is frozen.
    pub fn frozen_waiting(&self) -> usize {
        self.frozen_updates.len()
    }

    pub fn new(cfg: AppConfig, now: i64) -> Self {
        let cfg_registry = cfg.registry.clone();
        Self {
            cfg,
            rows: Vec::new(),
            index: HashMap::new(),
            view: Vec::new(),
            view_stale: false,
            counts: BTreeMap::new(),
            selected: None,
            awaiting: None,
            fresh: None,
            marked: Default::default(),
            offset: 0,
            page: 20,
            // Oldest first: ages shrink down the list, so the arrow reads ▼.
            sort: SortKey::Age,
            ascending: false,
            filter: String::new(),
            input: String::new(),
            cursor: None,
            input_error: None,
            history: Vec::new(),
            history_pos: None,
            mode: Mode::Table,
            frozen: false,
            frozen_updates: HashMap::new(),
            compiled: Default::default(),
            health: Health::default(),
            checkpoint: None,
            keys: Vec::new(),
            form: Form::default(),
            detail_history: None,
            detail_link: None,
            names_asked: Default::default(),
            flash: None,
            help_scroll: 0,
            detail_scroll: 0,
            detail_max_scroll: std::cell::Cell::new(usize::MAX),
            trust: Default::default(),
            logs: Default::default(),
            events: Vec::new(),
            events_scroll: 0,
            table_body: Default::default(),
            pulse: Default::default(),
            prefs: super::prefs::PrefsState::new(&cfg_registry),
            now,
            dirty: true,
            quit: false,
        }
    }

    /// An informational message in the footer (for 5 s).
    pub(super) fn flash(&mut self, msg: impl Into<String>) {
        self.flash_at(Level::Info, msg);
    }

    /// A warning in the footer.
    pub(super) fn warn(&mut self, msg: impl Into<String>) {
        self.flash_at(Level::Warn, msg);
    }

    /// An error in the footer.
    pub(super) fn error(&mut self, msg: impl Into<String>) {
        self.flash_at(Level::Error, msg);
    }

    fn flash_at(&mut self, level: Level, msg: impl Into<String>) {
        self.flash = Some(Flash {
            text: crate::text::clean(&msg.into()).into_owned(),
            at: self.now,
            level,
        });
        self.dirty = true;
    }

    /// Records named for a confirmation or a message: `demo:hello record 1a2b3c4d…`, or
    /// `3 records (demo:a, demo:b +1 more)`.
    pub fn describe(&self, keys: &[RecordRef]) -> String {
        let name = |k: &RecordRef| {
            let pkg = self
                .row(k)
                .and_then(|r| r.tracked.package.clone())
                .unwrap_or_else(|| format!("log {}…", k.log.short(8)));
            crate::text::clean(&pkg).into_owned()
        };
        match keys {
            [] => "no records".into(),
            [k] => format!("{} record {}…", name(k), k.record.short(8)),
            _ => {
                let mut names: Vec<String> = Vec::new();
                for k in keys {
                    let n = name(k);
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
                let more = names.len().saturating_sub(2);
                names.truncate(2);
                let mut list = names.join(", ");
                if more > 0 {
                    list.push_str(&format!(" +{more} more"));
                }
                format!("{} records ({list})", keys.len())
            }
        }
    }

    pub fn signer(&self) -> Option<&KeyInfo> {
        self.keys.get(self.form.signer)
    }
}

/// The reducer.
pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let mut cmds = Vec::new();
    match action {
        Action::Key(k) => on_key(s, k, &mut cmds),
        Action::Mouse(m) => super::mouse::on_mouse(s, m),
        Action::Paste(text) if matches!(s.mode, Mode::Filter | Mode::Command | Mode::Track) => {
            for c in text.trim_end_matches(['\n', '\r']).chars() {
                super::prompt::edit(s, tui_input::InputRequest::InsertChar(c));
            }
            after_edit(s, &mut cmds);
        }
        Action::Paste(text) => {
            if s.mode == Mode::Form && s.form.key_name.is_none() {
                let f = s.form.focused();
                super::form_keys::begin_edit(&mut s.form, f);
            }
            if let Some(buf) = input_buffer(s) {
                buf.push_str(text.trim_end_matches(['\n', '\r']));
                after_edit(s, &mut cmds);
            }
        }
        Action::Tick(now) => {
            s.now = now;
            // The events pane follows the store as things happen.
            if s.mode == Mode::Events {
                cmds.push(Effect::LoadEvents);
            }
            super::pulse::on_tick(s, &mut cmds);
            if s.flash.as_ref().is_some_and(|f| now - f.at > 5000) {
                s.flash = None;
            }
            if s.fresh.is_some_and(|(_, until)| now >= until) {
                s.fresh = None;
            }
            // Only relative-time labels changed.
            s.dirty = true;
        }
        Action::StoreLoaded(list) => {
            let gone: Vec<RecordRef> = if s.rows.is_empty() {
                Vec::new()
            } else {
                let keep: std::collections::HashSet<RecordRef> = list
                    .iter()
                    .map(|t| RecordRef::new(t.log_id, t.record_id))
                    .collect();
                s.rows
                    .iter()
                    .map(Row::key)
                    .filter(|k| !keep.contains(k))
                    .collect()
            };
            let mut new = Vec::new();
            // Grown once, not by doubling: at 100 000 rows a doubling holds both copies.
            s.rows.reserve(list.len().saturating_sub(s.rows.len()));
            s.index.reserve(list.len().saturating_sub(s.index.len()));
            for t in list {
                let terminal = matches!(t.state.as_deref(), Some("published" | "rejected"));
                let key = RecordRef::new(t.log_id, t.record_id);
                if s.upsert(t) {
                    new.push((key, terminal));
                }
            }
            s.remove_rows(&gone);
            let unnamed: Vec<LogId> = s
                .rows
                .iter()
                .filter(|r| r.tracked.package.is_none())
                .map(|r| r.tracked.log_id)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|l| s.names_asked.insert(*l))
                .collect();
            if !unnamed.is_empty() {
                cmds.push(Effect::ResolveNames(unnamed));
            }
            if !gone.is_empty() {
                cmds.push(Effect::Unschedule(gone));
            }
            if !new.is_empty() {
                cmds.push(Effect::Schedule(new));
            }
            s.recount();
            s.mark_view();
        }
        Action::StoreError(e) => s.error(format!("store: {e}")),
        Action::PollStarted(keys) => {
            for k in keys {
                if let Some(&i) = s.index.get(&k) {
                    s.rows[i].in_flight = true;
                }
            }
            s.dirty = true;
        }
        a @ Action::Polled { .. } if s.frozen => {
            if let Action::Polled { key, .. } = &a {
                // Only tracked records are held, the latest result each: at most one per row.
                if let Some(&i) = s.index.get(key) {
                    s.rows[i].in_flight = false;
                    s.frozen_updates.insert(*key, a);
                    s.dirty = true;
                }
            }
        }
        Action::Polled {
            key,
            result,
            at,
            latency,
            hold,
        } => apply_poll(s, key, result, at, latency, hold),
        Action::Checkpoint(Ok((len, ts))) => {
            s.checkpoint = Some((len, ts));
            s.health.last_ok = Some(s.now);
            s.health.down = false;
            s.health.retry_at = None;
            s.dirty = true;
        }
        Action::Checkpoint(Err(e)) => {
            if e.is_registry_wide() {
                s.health.down = true;
            }
            s.health.last_error = Some(crate::text::clean(&e.headline()).into_owned());
            s.dirty = true;
        }
        Action::History(key, h) => {
            s.detail_history = Some((key, h));
            s.dirty = true;
        }
        Action::RebuildLink(key, link) => {
            s.detail_link = link.map(|l| (key, l));
            s.dirty = true;
        }
        Action::KeysLoaded(keys) => {
            s.keys = keys;
            s.form.signer = s.form.signer.min(s.keys.len().saturating_sub(1));
            s.dirty = true;
        }
        Action::KeyGenerated(Ok(k)) => {
            s.flash(format!("generated key `{}` ({})", k.name, k.key_id));
            s.keys.push(k);
            s.form.signer = s.keys.len() - 1;
        }
        Action::KeyGenerated(Err(e)) => s.form.error = Some(e),
        Action::FileHashed { path, result } => super::form_keys::file_hashed(s, path, result),
        Action::Prepared(Ok(mut p)) => {
            if matches!(s.form.step, Step::Preparing) {
                p.warnings.extend(s.form.log_warnings(&p, s.signer()));
                s.form.step = Step::Review(Box::new(p));
                s.dirty = true;
            }
        }
        Action::Prepared(Err(e)) | Action::Submitted(Err(e)) => {
            s.form.step = Step::Edit;
            s.form.error = Some(crate::text::clean(&e).into_owned());
            s.dirty = true;
        }
        Action::FormLog(package, facts) => s.form.log = Some((package, facts)),
        Action::NoLogYet(package) => super::form_keys::no_log_yet(s, package),
        Action::PathCompleted(c) => super::form_keys::completed(s, c, &mut cmds),
        Action::SubmitProgress(p) => {
            if let Step::Submitting(lines) = &mut s.form.step {
                lines.push(crate::text::clean(&p).into_owned());
            }
            s.dirty = true;
        }
        Action::Submitted(Ok(key)) => super::form_keys::submitted(s, key),
        Action::Flash(m) => s.warn(m),
        Action::Trust(e) => super::trust::apply(s, e, &mut cmds),
        Action::PackageLog(r) => super::logview::loaded(s, *r),
        Action::Events(e) => {
            s.events = e;
            s.dirty = true;
        }
        Action::Pulse(p) => super::pulse::loaded(s, p),
        Action::Prefs(registry, p) => super::prefs::loaded(s, &registry, p),
        // Only the registry asked for last is used.
        Action::ClientReady(url, Ok(c)) if url == s.cfg.registry => {
            // What was proven about the other registry says nothing about this one.
            s.trust = super::trust::TrustView::default();
            cmds.push(Effect::UseClient(url, Box::new(c)))
        }
        Action::ClientReady(_, Ok(_)) => {}
        Action::ClientReady(url, Err(e)) => s.error(format!("registry {url}: {e}")),
        Action::NamesResolved(names) => {
            for r in &mut s.rows {
                if r.tracked.package.is_none() {
                    if let Some(n) = names.get(&r.tracked.log_id) {
                        r.tracked.package = Some(n.clone());
                    }
                }
            }
            s.mark_view();
        }
        Action::Quit => s.quit = true,
    }
    s.refresh_view();
    super::prefs::save_if_changed(s, &mut cmds);
    cmds
}

pub(super) fn apply_poll(
    s: &mut State,
    key: RecordRef,
    result: Result<(PackageRecord, serde_json::Value), ApiError>,
    at: i64,
    latency: Duration,
    hold: Option<Duration>,
) {
    let registry_wide = matches!(&result, Err(e) if e.is_registry_wide());
    match &result {
        Ok(_) => {
            s.health.last_ok = Some(at);
            s.health.latency = Some(latency);
            s.health.down = false;
            s.health.retry_at = None;
        }
        Err(e) if registry_wide => {
            s.health.down = true;
            s.health.last_error = Some(crate::text::clean(&e.headline()).into_owned());
            s.health.retry_at = hold.map(|h| at + h.as_millis() as i64);
        }
        Err(_) => {}
    }
    if let Some(&i) = s.index.get(&key) {
        let was_at = s.view_pos(i);
        let was = s.rows[i].state_name();
        let r = &mut s.rows[i];
        r.in_flight = false;
        r.tracked.polled_at = Some(at);
        match result {
            Ok((rec, raw)) => {
                let newly_rejected = r.state_name() != "rejected"
                    && matches!(rec.state, RecordState::Rejected { .. });
                if let RecordState::Sourcing { missing_content } = &rec.state {
                    r.tracked.missing = serde_json::to_value(missing_content).ok();
                }
                if matches!(rec.state, RecordState::Published { .. }) {
                    r.tracked.missing = None;
                }
                r.tracked.state = Some(rec.state.name().to_string());
                r.tracked.response = Some(RawJson::new(&raw));
                r.state = Some(rec.state);
                r.error = None;
                r.outage = None;
                if newly_rejected && needs_rebuild(r) {
                    let msg = format!(
                        "{} record {} was rejected because the head moved: select it and press b to rebuild on the new head",
                        r.tracked.package.as_deref().unwrap_or("?"),
                        r.tracked.record_id.short(8)
                    );
                    s.error(msg);
                } else if newly_rejected && r.tracked.origin == Origin::Submitted {
                    // A record this app signed was refused: say which and why, not only in a count.
                    let msg = format!(
                        "{} record {} was rejected: {}",
                        r.tracked.package.as_deref().unwrap_or("?"),
                        r.tracked.record_id.short(8),
                        r.detail()
                    );
                    s.error(msg);
                }
            }
            // A registry outage: the header explains it; the row keeps its state and shows the
            // failure dimmed.
            Err(e) if registry_wide => r.outage = Some((outage_label(&e), at)),
            Err(e) => r.error = Some(crate::text::clean(&e.to_string()).into_owned()),
        }
        let now = s.rows[i].state_name();
        s.count_change(was, now);
        // One result moves one row: no re-sort of every row per poll.
        s.reposition(i, was_at);
    }
}

/// A registry-wide failure in a few words for a row: the header has the whole message, so the
/// rows do not repeat it.
fn outage_label(e: &ApiError) -> String {
    match e {
        ApiError::Unreachable { .. } => "unreachable".into(),
        ApiError::Timeout { .. } => "no answer in time".into(),
        ApiError::Network { .. } => "connection broke".into(),
        ApiError::Tls { .. } => "TLS failed".into(),
        ApiError::NoSuchEndpoint { .. } => "no such endpoint".into(),
        ApiError::Status { status, .. } => format!("answered {status}"),
        ApiError::BadBody { .. } => "unreadable answer".into(),
        ApiError::TooLarge { .. } => "answer too large".into(),
        ApiError::RedirectLoop { .. } => "too many redirects".into(),
        _ => "failed".into(),
    }
}

pub(super) fn on_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    s.dirty = true;
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && k.code == KeyCode::Char('c') {
        return super::form_keys::on_ctrl_c(s);
    }
    match s.mode.clone() {
        Mode::Table => on_table_key(s, k, cmds),
        Mode::Help
            if matches!(
                k.code,
                KeyCode::Char('j')
                    | KeyCode::Down
                    | KeyCode::Char('k')
                    | KeyCode::Up
                    | KeyCode::PageDown
                    | KeyCode::PageUp
                    | KeyCode::Char('g')
                    | KeyCode::Home
            ) =>
        {
            s.help_scroll = match k.code {
                KeyCode::Char('j') | KeyCode::Down => s.help_scroll + 1,
                KeyCode::Char('k') | KeyCode::Up => s.help_scroll.saturating_sub(1),
                KeyCode::PageDown => s.help_scroll + s.page.max(1),
                KeyCode::PageUp => s.help_scroll.saturating_sub(s.page.max(1)),
                _ => 0,
            };
        }
        Mode::Help => {
            if matches!(
                k.code,
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter | KeyCode::Char('?')
            ) {
                s.mode = Mode::Table;
            }
        }
        Mode::Detail => super::detail_keys::on_detail_key(s, k, cmds),
        Mode::ConfirmUntrack(keys) => {
            if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                let what = s.describe(&keys);
                s.remove_rows(&keys);
                for key in &keys {
                    cmds.push(Effect::Untrack(*key));
                }
                cmds.push(Effect::Unschedule(keys));
                s.flash(format!("untracked {what}"));
            }
            s.mode = Mode::Table;
        }
        Mode::Filter | Mode::Command | Mode::Track => on_line_key(s, k, cmds),
        Mode::Form => on_form_key(s, k, cmds),
        Mode::Alerts => super::trust::on_key(s, k),
        Mode::LogBrowser => super::logview::on_key(s, k, cmds),
        Mode::Events => match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('e') => s.mode = Mode::Table,
            KeyCode::Char('j') | KeyCode::Down => s.events_scroll += 1,
            KeyCode::Char('k') | KeyCode::Up => s.events_scroll = s.events_scroll.saturating_sub(1),
            KeyCode::PageDown => s.events_scroll += s.page.max(1),
            KeyCode::PageUp => s.events_scroll = s.events_scroll.saturating_sub(s.page.max(1)),
            KeyCode::Char('g') | KeyCode::Home => s.events_scroll = 0,
            _ => {}
        },
    }
}
