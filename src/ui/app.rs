//! The dashboard's state and its one reducer. No IO here: key presses and worker results arrive
//! as [`Action`]s; `update` changes [`State`] and returns [`Effect`]s for the runtime.

use super::form::on_form_key;
use super::form::{FileDigest, Form, Step};
use super::keymap;
use super::prompt::{after_edit, input_buffer, on_line_key};
use super::table::{needs_rebuild, on_table_key};
use crate::ids::{ContentDigest, LogId, PackageName};
use crate::keys::KeyInfo;
use crate::publish::Prepared;
use crate::registry::{ApiError, PackageRecord, RecordState};
use crate::tracker::store::{HistoryEntry, NewTracked, RawJson, Tracked};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

pub use crate::ids::RecordRef;

/// One tracked record as the table shows it.
#[derive(Debug, Clone)]
pub struct Row {
    /// The record as tracked, with the latest response as compact JSON text (only the detail
    /// pane reads it: [`Row::response`]).
    pub tracked: Tracked,
    pub state: Option<RecordState>,
    pub in_flight: bool,
    pub error: Option<String>,
}

impl Row {
    pub fn key(&self) -> RecordRef {
        RecordRef::new(self.tracked.log_id, self.tracked.record_id)
    }

    pub(super) fn from_tracked(t: Tracked) -> Self {
        let state = t
            .response
            .as_ref()
            .and_then(RawJson::parse::<PackageRecord>)
            .map(|r| r.state);
        let error = t.error.clone();
        Self {
            tracked: t,
            state,
            in_flight: false,
            error,
        }
    }

    /// The latest response the registry gave for this record (parsed on demand).
    pub fn response(&self) -> Option<serde_json::Value> {
        self.tracked.response.as_ref().and_then(RawJson::value)
    }

    pub fn state_name(&self) -> &'static str {
        match &self.state {
            Some(s) => s.name(),
            None if self.error.is_some() => "error",
            None => "unknown",
        }
    }

    /// Missing content: from the latest answer, or kept from when the record was `sourcing`.
    pub fn missing(&self) -> Vec<(String, Vec<String>)> {
        let from_state = match &self.state {
            Some(RecordState::Sourcing { missing_content }) => {
                serde_json::to_value(missing_content).ok()
            }
            _ => None,
        };
        let Some(v) = from_state.or_else(|| self.tracked.missing.clone()) else {
            return Vec::new();
        };
        let Some(map) = v.as_object() else {
            return Vec::new();
        };
        map.iter()
            .map(|(digest, m)| {
                let urls = m["upload"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|u| u["url"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                (digest.clone(), urls)
            })
            .collect()
    }

    pub fn detail(&self) -> String {
        match &self.state {
            Some(RecordState::Processing) => {
                let n = self.missing().len();
                if n > 0 && self.tracked.state.as_deref() != Some("published") {
                    format!("{n} missing content (seen while sourcing)")
                } else {
                    String::new()
                }
            }
            Some(s) => crate::text::clean(&s.detail()).into_owned(),
            None => self.error.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Added,
    Package,
    State,
    Polled,
}

impl SortKey {
    pub fn name(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Package => "package",
            Self::State => "state",
            Self::Polled => "polled",
        }
    }
    pub(super) fn next(self) -> Self {
        match self {
            Self::Added => Self::Package,
            Self::Package => Self::State,
            Self::State => Self::Polled,
            Self::Polled => Self::Added,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Table,
    Filter,
    Command,
    Track,
    Help,
    Detail,
    ConfirmUntrack(RecordRef),
    /// The trust alerts pane.
    Alerts,
    /// The package log browser.
    LogBrowser,
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
    pub offset: usize,
    /// Table rows that fit on screen (set by the view each frame).
    pub page: usize,
    pub sort: SortKey,
    pub ascending: bool,
    pub filter: String,
    pub input: String,
    pub input_error: Option<String>,
    pub history: Vec<String>,
    pub(super) history_pos: Option<usize>,
    pub mode: Mode,
    pub frozen: bool,
    pub(super) frozen_updates: Vec<Action>,
    pub health: Health,
    pub checkpoint: Option<(u64, u64)>,
    pub keys: Vec<KeyInfo>,
    pub form: Form,
    pub detail_history: Option<(RecordRef, Vec<HistoryEntry>)>,
    /// Logs whose package name was already asked of the registry.
    pub(super) names_asked: std::collections::HashSet<LogId>,
    pub flash: Option<Flash>,
    /// First line shown in the help overlay.
    pub help_scroll: usize,
    /// What the verifier proved (or caught).
    pub trust: super::trust::TrustView,
    /// The package log browser.
    pub logs: super::logview::LogBrowser,
    pub now: i64,
    pub dirty: bool,
    pub quit: bool,
}

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
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
    KeysLoaded(Vec<KeyInfo>),
    KeyGenerated(Result<KeyInfo, String>),
    FileHashed {
        path: String,
        result: Result<(ContentDigest, u64), String>,
    },
    Prepared(Result<Prepared, String>),
    SubmitProgress(String),
    Submitted(Result<RecordRef, String>),
    Flash(String),
    NamesResolved(BTreeMap<LogId, String>),
    /// The verifier's results.
    Trust(crate::trust::worker::TrustEvent),
    /// A client for `:registry URL`, built off the loop.
    ClientReady(String, Result<crate::registry::RegistryClient, String>),
    /// A package log for the browser.
    PackageLog(Box<Result<super::logview::LogView, String>>),
    Quit,
}

impl From<crate::tracker::store_thread::StoreEvent> for Action {
    fn from(e: crate::tracker::store_thread::StoreEvent) -> Self {
        use crate::tracker::store_thread::StoreEvent;
        match e {
            StoreEvent::Loaded(list) => Self::StoreLoaded(list),
            StoreEvent::History(r, h) => Self::History(r, h),
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
    GenerateKey,
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
    },
    Copy(String),
    SetRegistry(String),
    /// Switch to this client (built for this registry URL).
    UseClient(String, Box<crate::registry::RegistryClient>),
    /// Fetch, validate and prove this package log for the browser.
    LoadPackageLog(LogId, Option<String>),
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
    pub fn new(cfg: AppConfig, now: i64) -> Self {
        Self {
            cfg,
            rows: Vec::new(),
            index: HashMap::new(),
            view: Vec::new(),
            view_stale: false,
            counts: BTreeMap::new(),
            selected: None,
            offset: 0,
            page: 20,
            sort: SortKey::Added,
            ascending: true,
            filter: String::new(),
            input: String::new(),
            input_error: None,
            history: Vec::new(),
            history_pos: None,
            mode: Mode::Table,
            frozen: false,
            frozen_updates: Vec::new(),
            health: Health::default(),
            checkpoint: None,
            keys: Vec::new(),
            form: Form::default(),
            detail_history: None,
            names_asked: Default::default(),
            flash: None,
            help_scroll: 0,
            trust: Default::default(),
            logs: Default::default(),
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

    pub fn signer(&self) -> Option<&KeyInfo> {
        self.keys.get(self.form.signer)
    }
}

/// The reducer.
pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let mut cmds = Vec::new();
    match action {
        Action::Key(k) => on_key(s, k, &mut cmds),
        Action::Paste(text) => {
            if let Some(buf) = input_buffer(s) {
                buf.push_str(text.trim_end_matches(['\n', '\r']));
                after_edit(s, &mut cmds);
            }
        }
        Action::Tick(now) => {
            s.now = now;
            if s.flash.as_ref().is_some_and(|f| now - f.at > 5000) {
                s.flash = None;
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
                if let Some(&i) = s.index.get(key) {
                    s.rows[i].in_flight = false;
                }
            }
            s.frozen_updates.push(a);
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
        Action::FileHashed { path, result } => {
            // A result for a path the field no longer holds is stale: drop it.
            if path != s.form.file.trim() {
                return cmds;
            }
            s.form.file_digest = Some((
                path,
                match result {
                    Ok((digest, size)) => FileDigest::Ready { digest, size },
                    Err(e) => FileDigest::Failed(e),
                },
            ));
            s.dirty = true;
        }
        Action::Prepared(Ok(p)) => {
            if matches!(s.form.step, Step::Preparing) {
                s.form.step = Step::Review(Box::new(p));
                s.dirty = true;
            }
        }
        Action::Prepared(Err(e)) | Action::Submitted(Err(e)) => {
            s.form.step = Step::Edit;
            s.form.error = Some(crate::text::clean(&e).into_owned());
            s.dirty = true;
        }
        Action::SubmitProgress(p) => {
            if let Step::Submitting(lines) = &mut s.form.step {
                lines.push(crate::text::clean(&p).into_owned());
            }
            s.dirty = true;
        }
        Action::Submitted(Ok(key)) => {
            s.form = Form {
                package: s.form.package.clone(),
                signer: s.form.signer,
                ..Form::default()
            };
            s.mode = Mode::Table;
            s.selected = Some(key);
            s.mark_view();
            s.flash(format!("submitted {}", key.record));
        }
        Action::Flash(m) => s.warn(m),
        Action::Trust(e) => super::trust::apply(s, e),
        Action::PackageLog(r) => super::logview::loaded(s, *r),
        // Only the registry asked for last is used.
        Action::ClientReady(url, Ok(c)) if url == s.cfg.registry => {
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
                if newly_rejected && needs_rebuild(r) {
                    let msg = format!(
                        "record {} was rejected because the head moved: select it and press b to rebuild on the new head",
                        r.tracked.record_id.short(8)
                    );
                    s.error(msg);
                }
            }
            // A registry outage shows once, in the header, not on every row.
            Err(_) if registry_wide => {}
            Err(e) => r.error = Some(crate::text::clean(&e.to_string()).into_owned()),
        }
        let now = s.rows[i].state_name();
        s.count_change(was, now);
        // One result moves one row: no re-sort of every row per poll.
        s.reposition(i, was_at);
    }
}

pub(super) fn on_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    s.dirty = true;
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && k.code == KeyCode::Char('c') {
        s.quit = true;
        return;
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
        Mode::Help | Mode::Detail => {
            if matches!(
                k.code,
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter | KeyCode::Char('?')
            ) {
                s.mode = Mode::Table;
            } else if s.mode == Mode::Detail {
                // Moving, copying and refreshing work in the detail pane; other keys wait.
                use keymap::TableAction as T;
                let allowed = matches!(
                    keymap::table_action(&k, s.cfg.readonly),
                    Some(
                        T::Down
                            | T::Up
                            | T::Top
                            | T::Bottom
                            | T::PageDown
                            | T::PageUp
                            | T::CopyRecord
                            | T::CopyLog
                            | T::Refresh
                    )
                );
                if !allowed {
                    return;
                }
                on_table_key(s, k, cmds);
                if let Some(key) = s.selected {
                    if s.detail_history.as_ref().is_none_or(|(k, _)| *k != key) {
                        cmds.push(Effect::LoadHistory(key));
                    }
                }
            }
        }
        Mode::ConfirmUntrack(key) => {
            if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                s.remove_rows(&[key]);
                cmds.push(Effect::Untrack(key));
                cmds.push(Effect::Unschedule(vec![key]));
                s.flash(format!("untracked {}", key.record));
            }
            s.mode = Mode::Table;
        }
        Mode::Filter | Mode::Command | Mode::Track => on_line_key(s, k, cmds),
        Mode::Form => on_form_key(s, k, cmds),
        Mode::Alerts => super::trust::on_key(s, k),
        Mode::LogBrowser => super::logview::on_key(s, k, cmds),
    }
}
