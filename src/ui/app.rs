//! The dashboard's state and its one reducer. No IO here: key presses and worker results arrive
//! as [`Action`]s; `update` changes [`State`] and returns [`Command`]s for the runtime.

use super::form::{Field, FileDigest, Form, Step};
use super::keymap;
use crate::ids::{ContentDigest, LogId, PackageName, RecordId};
use crate::keys::KeyInfo;
use crate::publish::Prepared;
use crate::registry::{ApiError, PackageRecord, RecordState};
use crate::tracker::store::{HistoryEntry, NewTracked, RawJson, Tracked};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

pub type Key = (LogId, RecordId);

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
    pub fn key(&self) -> Key {
        (self.tracked.log_id, self.tracked.record_id)
    }

    fn from_tracked(t: Tracked) -> Self {
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
            Some(s) => s.detail(),
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
    fn next(self) -> Self {
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
    ConfirmUntrack(Key),
    Form,
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
    index: HashMap<Key, usize>,
    /// Row indices after filter and sort, in the total order of [`State::cmp_rows`].
    pub view: Vec<usize>,
    view_stale: bool,
    /// Rows per state name, kept up to date as rows change (the header shows it every frame).
    counts: BTreeMap<&'static str, usize>,
    pub selected: Option<Key>,
    pub offset: usize,
    /// Table rows that fit on screen (set by the view each frame).
    pub page: usize,
    pub sort: SortKey,
    pub ascending: bool,
    pub filter: String,
    pub input: String,
    pub input_error: Option<String>,
    pub history: Vec<String>,
    history_pos: Option<usize>,
    pub mode: Mode,
    pub frozen: bool,
    frozen_updates: Vec<Action>,
    pub health: Health,
    pub checkpoint: Option<(u64, u64)>,
    pub keys: Vec<KeyInfo>,
    pub form: Form,
    pub detail_history: Option<(Key, Vec<HistoryEntry>)>,
    /// Logs whose package name was already asked of the registry.
    names_asked: std::collections::HashSet<LogId>,
    pub flash: Option<(String, i64)>,
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
    PollStarted(Vec<Key>),
    Polled {
        key: Key,
        result: Result<(PackageRecord, serde_json::Value), ApiError>,
        at: i64,
        latency: Duration,
        hold: Option<Duration>,
    },
    Checkpoint(Result<(u64, u64), ApiError>),
    History(Key, Vec<HistoryEntry>),
    KeysLoaded(Vec<KeyInfo>),
    KeyGenerated(Result<KeyInfo, String>),
    FileHashed {
        path: String,
        result: Result<(ContentDigest, u64), String>,
    },
    Prepared(Result<Prepared, String>),
    SubmitProgress(String),
    Submitted(Result<Key, String>),
    Flash(String),
    NamesResolved(BTreeMap<LogId, String>),
    Quit,
}

#[derive(Debug, Clone)]
pub enum Command {
    Schedule(Vec<(Key, bool)>),
    Unschedule(Vec<Key>),
    Refresh(Vec<Key>),
    RefreshAll,
    Track(Vec<NewTracked>),
    Untrack(Key),
    LoadHistory(Key),
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
}

fn state_rank(r: &Row) -> u8 {
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
            now,
            dirty: true,
            quit: false,
        }
    }

    pub fn row(&self, key: &Key) -> Option<&Row> {
        self.index.get(key).map(|i| &self.rows[*i])
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.selected.as_ref().and_then(|k| self.row(k))
    }

    /// Rows per state name (maintained incrementally: O(1) per frame).
    pub fn counts(&self) -> &BTreeMap<&'static str, usize> {
        &self.counts
    }

    fn recount(&mut self) {
        let mut c = BTreeMap::new();
        for r in &self.rows {
            *c.entry(r.state_name()).or_insert(0) += 1;
        }
        self.counts = c;
    }

    fn count_change(&mut self, from: &'static str, to: &'static str) {
        if from == to {
            return;
        }
        if let Some(n) = self.counts.get_mut(from) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.counts.remove(from);
            }
        }
        *self.counts.entry(to).or_insert(0) += 1;
    }

    fn matches_filter(&self, r: &Row) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let f = self.filter.to_lowercase();
        r.tracked.package.as_deref().unwrap_or("").contains(&f)
            || r.tracked.log_id.to_string().contains(&f)
            || r.tracked.record_id.to_string().contains(&f)
            || r.state_name().contains(&f)
            || r.detail().to_lowercase().contains(&f)
    }

    /// The view's order: the sort column, then the order rows were added (`added_at`, then
    /// position), reversed as a whole when descending. A total order, so a row's place in the
    /// view can be found by binary search.
    pub fn cmp_rows(&self, a: usize, b: usize) -> std::cmp::Ordering {
        let (a, b) = if self.ascending { (a, b) } else { (b, a) };
        let (ra, rb) = (&self.rows[a], &self.rows[b]);
        let by_column = match self.sort {
            SortKey::Added => ra.tracked.added_at.cmp(&rb.tracked.added_at),
            SortKey::Package => ra
                .tracked
                .package
                .cmp(&rb.tracked.package)
                .then(ra.tracked.added_at.cmp(&rb.tracked.added_at)),
            SortKey::State => state_rank(ra)
                .cmp(&state_rank(rb))
                .then(ra.tracked.added_at.cmp(&rb.tracked.added_at)),
            SortKey::Polled => ra
                .tracked
                .polled_at
                .unwrap_or(0)
                .cmp(&rb.tracked.polled_at.unwrap_or(0)),
        };
        by_column.then(a.cmp(&b))
    }

    /// Where row `i` is in the view, if it is shown (O(log N) while the view is current).
    fn view_pos(&self, i: usize) -> Option<usize> {
        if self.view_stale {
            return self.view.iter().position(|x| *x == i);
        }
        self.view.binary_search_by(|x| self.cmp_rows(*x, i)).ok()
    }

    /// Recomputes the filtered, sorted order (only when something changed).
    pub fn refresh_view(&mut self) {
        if !self.view_stale {
            return;
        }
        self.view_stale = false;
        let mut v: Vec<usize> = (0..self.rows.len())
            .filter(|i| self.matches_filter(&self.rows[*i]))
            .collect();
        v.sort_unstable_by(|a, b| self.cmp_rows(*a, *b));
        self.view = v;
        self.fix_selection();
    }

    /// Keeps a shown record selected (the first one when the selected one is not shown).
    fn fix_selection(&mut self) {
        if self.selected_pos().is_none() {
            self.selected = self.view.first().map(|i| self.rows[*i].key());
        }
        self.clamp_offset();
    }

    /// Moves row `i` to its place after a change to it, without re-sorting the view: `was_at`
    /// is where it was shown before the change. O(log N) plus one memmove.
    fn reposition(&mut self, i: usize, was_at: Option<usize>) {
        self.dirty = true;
        if self.view_stale {
            return;
        }
        let shown = self.matches_filter(&self.rows[i]);
        let in_place = |s: &Self, p: usize| {
            (p == 0 || s.cmp_rows(s.view[p - 1], i).is_lt())
                && (p + 1 >= s.view.len() || s.cmp_rows(i, s.view[p + 1]).is_lt())
        };
        let moved = match (was_at, shown) {
            (Some(p), true) => !in_place(self, p),
            (Some(_), false) | (None, true) => true,
            (None, false) => false,
        };
        if moved {
            if let Some(p) = was_at {
                self.view.remove(p);
            }
            if shown {
                let at = self
                    .view
                    .binary_search_by(|x| self.cmp_rows(*x, i))
                    .unwrap_or_else(|at| at);
                self.view.insert(at, i);
            }
        }
        self.fix_selection();
    }

    pub fn selected_pos(&self) -> Option<usize> {
        let k = self.selected?;
        let i = *self.index.get(&k)?;
        self.view_pos(i)
    }

    fn clamp_offset(&mut self) {
        let page = self.page.max(1);
        if let Some(p) = self.selected_pos() {
            if p < self.offset {
                self.offset = p;
            } else if p >= self.offset + page {
                self.offset = p + 1 - page;
            }
        }
        self.offset = self.offset.min(self.view.len().saturating_sub(1));
    }

    fn select_pos(&mut self, pos: usize) {
        if let Some(i) = self.view.get(pos.min(self.view.len().saturating_sub(1))) {
            self.selected = Some(self.rows[*i].key());
            self.clamp_offset();
        }
    }

    fn mark_view(&mut self) {
        self.view_stale = true;
        self.dirty = true;
    }

    fn upsert(&mut self, t: Tracked) -> bool {
        let key = (t.log_id, t.record_id);
        match self.index.get(&key) {
            Some(&i) => {
                let r = &mut self.rows[i];
                r.tracked.package = t.package.clone().or(r.tracked.package.take());
                r.tracked.entries = t.entries.clone().or(r.tracked.entries.take());
                r.tracked.origin = t.origin;
                false
            }
            None => {
                self.index.insert(key, self.rows.len());
                self.rows.push(Row::from_tracked(t));
                true
            }
        }
    }

    fn remove_rows(&mut self, keys: &[Key]) {
        if keys.is_empty() {
            return;
        }
        let gone: std::collections::HashSet<Key> = keys.iter().copied().collect();
        self.rows.retain(|r| !gone.contains(&r.key()));
        self.index = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key(), i))
            .collect();
        self.recount();
        self.mark_view();
    }

    fn flash(&mut self, msg: impl Into<String>) {
        self.flash = Some((msg.into(), self.now));
        self.dirty = true;
    }

    pub fn signer(&self) -> Option<&KeyInfo> {
        self.keys.get(self.form.signer)
    }
}

/// The reducer.
pub fn update(s: &mut State, action: Action) -> Vec<Command> {
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
            if s.flash.as_ref().is_some_and(|(_, at)| now - at > 5000) {
                s.flash = None;
            }
            // Only relative-time labels changed.
            s.dirty = true;
        }
        Action::StoreLoaded(list) => {
            let gone: Vec<Key> = if s.rows.is_empty() {
                Vec::new()
            } else {
                let keep: std::collections::HashSet<Key> =
                    list.iter().map(|t| (t.log_id, t.record_id)).collect();
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
                let key = (t.log_id, t.record_id);
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
                cmds.push(Command::ResolveNames(unnamed));
            }
            if !gone.is_empty() {
                cmds.push(Command::Unschedule(gone));
            }
            if !new.is_empty() {
                cmds.push(Command::Schedule(new));
            }
            s.recount();
            s.mark_view();
        }
        Action::StoreError(e) => s.flash(format!("store: {e}")),
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
            s.health.last_error = Some(e.headline());
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
            s.form.error = Some(e);
            s.dirty = true;
        }
        Action::SubmitProgress(p) => {
            if let Step::Submitting(lines) = &mut s.form.step {
                lines.push(p);
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
            s.flash(format!("submitted {}", key.1));
        }
        Action::Flash(m) => s.flash(m),
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

fn apply_poll(
    s: &mut State,
    key: Key,
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
            s.health.last_error = Some(e.headline());
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
                    s.flash = Some((msg, s.now));
                }
            }
            // A registry outage shows once, in the header, not on every row.
            Err(_) if registry_wide => {}
            Err(e) => r.error = Some(e.to_string()),
        }
        let now = s.rows[i].state_name();
        s.count_change(was, now);
        // One result moves one row: no re-sort of every row per poll.
        s.reposition(i, was_at);
    }
}

fn input_buffer(s: &mut State) -> Option<&mut String> {
    match s.mode {
        Mode::Filter | Mode::Command | Mode::Track => Some(&mut s.input),
        Mode::Form if matches!(s.form.step, Step::Edit) => {
            let f = s.form.focused();
            s.form.text_mut(f)
        }
        _ => None,
    }
}

fn after_edit(s: &mut State, cmds: &mut Vec<Command>) {
    s.dirty = true;
    s.input_error = None;
    match s.mode {
        Mode::Filter => {
            s.filter = s.input.clone();
            s.mark_view();
        }
        Mode::Form => {
            s.form.error = None;
            if s.form.focused() == Field::File {
                let path = s.form.file.trim().to_string();
                if !path.is_empty() {
                    s.form.file_digest = Some((s.form.file.clone(), FileDigest::Pending));
                    cmds.push(Command::HashFile(path));
                }
            }
        }
        _ => {}
    }
}

fn on_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Command>) {
    s.dirty = true;
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && k.code == KeyCode::Char('c') {
        s.quit = true;
        return;
    }
    match s.mode.clone() {
        Mode::Table => on_table_key(s, k, cmds),
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
                        cmds.push(Command::LoadHistory(key));
                    }
                }
            }
        }
        Mode::ConfirmUntrack(key) => {
            if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                s.remove_rows(&[key]);
                cmds.push(Command::Untrack(key));
                cmds.push(Command::Unschedule(vec![key]));
                s.flash(format!("untracked {}", key.1));
            }
            s.mode = Mode::Table;
        }
        Mode::Filter | Mode::Command | Mode::Track => on_line_key(s, k, cmds),
        Mode::Form => on_form_key(s, k, cmds),
    }
}

fn on_table_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Command>) {
    let Some(action) = keymap::table_action(&k, s.cfg.readonly) else {
        return;
    };
    use keymap::TableAction as T;
    let pos = s.selected_pos().unwrap_or(0);
    match action {
        T::Quit => s.quit = true,
        T::Down => s.select_pos(pos + 1),
        T::Up => s.select_pos(pos.saturating_sub(1)),
        T::Top => s.select_pos(0),
        T::Bottom => s.select_pos(s.view.len().saturating_sub(1)),
        T::PageDown => s.select_pos(pos + s.page.max(1)),
        T::PageUp => s.select_pos(pos.saturating_sub(s.page.max(1))),
        T::Detail => {
            if let Some(key) = s.selected {
                s.mode = Mode::Detail;
                cmds.push(Command::LoadHistory(key));
            }
        }
        T::Help => s.mode = Mode::Help,
        T::Filter => {
            s.mode = Mode::Filter;
            s.input = s.filter.clone();
        }
        T::Command => {
            s.mode = Mode::Command;
            s.input.clear();
            s.history_pos = None;
        }
        T::Track => {
            s.mode = Mode::Track;
            s.input.clear();
        }
        T::Untrack => {
            if let Some(key) = s.selected {
                s.mode = Mode::ConfirmUntrack(key);
            }
        }
        T::Refresh => {
            if let Some(key) = s.selected {
                cmds.push(Command::Refresh(vec![key]));
                s.flash("refreshing");
            }
        }
        T::RefreshAll => {
            cmds.push(Command::RefreshAll);
            s.flash("refreshing all");
        }
        T::Freeze => {
            s.frozen = !s.frozen;
            if !s.frozen {
                for a in std::mem::take(&mut s.frozen_updates) {
                    if let Action::Polled {
                        key,
                        result,
                        at,
                        latency,
                        hold,
                    } = a
                    {
                        apply_poll(s, key, result, at, latency, hold);
                    }
                }
            }
        }
        T::Sort => {
            s.sort = s.sort.next();
            s.mark_view();
        }
        T::Reverse => {
            s.ascending = !s.ascending;
            s.mark_view();
        }
        T::CopyRecord | T::CopyLog => {
            if let Some(r) = s.selected_row() {
                let (what, id) = if action == T::CopyRecord {
                    ("record ID", r.tracked.record_id.to_string())
                } else {
                    ("log ID", r.tracked.log_id.to_string())
                };
                cmds.push(Command::Copy(id));
                s.flash(format!("copied {what}"));
            }
        }
        T::Publish => open_form(s, cmds),
        T::Rebuild => rebuild(s, cmds),
        T::ClearFilter => {
            if !s.filter.is_empty() {
                s.filter.clear();
                s.mark_view();
            }
        }
    }
}

fn open_form(s: &mut State, cmds: &mut Vec<Command>) {
    if s.cfg.readonly {
        s.flash("read-only: publishing is disabled");
        return;
    }
    cmds.push(Command::LoadKeys);
    s.mode = Mode::Form;
    s.form.step = Step::Edit;
    s.form.error = None;
}

/// Whether a row is a record this app signed that was rejected because the head moved.
pub fn needs_rebuild(r: &Row) -> bool {
    matches!(&r.state, Some(RecordState::Rejected { reason }) if crate::publish::head_moved(reason))
        && r.tracked.entries.is_some()
        && r.tracked.package.is_some()
}

/// Rebuilds the selected rejected record's entries on the log's new head: straight to review.
fn rebuild(s: &mut State, cmds: &mut Vec<Command>) {
    let Some(r) = s.selected_row() else { return };
    if !needs_rebuild(r) {
        s.flash("b rebuilds records this app signed that were rejected because the head moved");
        return;
    }
    let (Some(entries), Some(package)) = (r.tracked.entries.clone(), r.tracked.package.clone())
    else {
        return;
    };
    let Ok(pkg) = package.parse::<PackageName>() else {
        return;
    };
    open_form(s, cmds);
    if s.mode != Mode::Form {
        return;
    }
    s.form = Form {
        package,
        signer: s.form.signer,
        staged: entries.clone(),
        step: Step::Preparing,
        ..Form::default()
    };
    cmds.push(Command::Prepare {
        package: pkg,
        entries,
    });
}

/// Parses `LOG_ID RECORD_ID` or `NS:NAME RECORD_ID`.
pub fn parse_track_input(text: &str) -> Result<NewTracked, String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [first, rec] = parts.as_slice() else {
        return Err("expected `LOG_ID RECORD_ID` or `NS:NAME RECORD_ID`".into());
    };
    let record_id: RecordId = rec
        .parse()
        .map_err(|e: crate::ids::IdError| e.to_string())?;
    // A `sha256:` prefix is an ID (even a malformed one); anything else is a package name.
    let (log_id, package) = if first.starts_with("sha256:") {
        (first.parse::<LogId>().map_err(|e| e.to_string())?, None)
    } else {
        let p: PackageName = first.parse()?;
        (p.log_id(), Some(p.to_string()))
    };
    Ok(NewTracked::by_hand(log_id, record_id, package))
}

fn run_line(s: &mut State, cmds: &mut Vec<Command>) -> Result<(), String> {
    let line = s.input.trim().to_string();
    match s.mode {
        Mode::Track => {
            let t = parse_track_input(&line)?;
            s.selected = Some((t.log_id, t.record_id));
            s.flash(format!("tracking {}", t.record_id));
            cmds.push(Command::Track(vec![t]));
        }
        Mode::Command => {
            if !line.is_empty() && s.history.last() != Some(&line) {
                s.history.push(line.clone());
            }
            let (cmd, rest) = line
                .split_once(' ')
                .map(|(a, b)| (a, b.trim()))
                .unwrap_or((line.as_str(), ""));
            match cmd {
                "q" | "quit" => s.quit = true,
                "track" => {
                    let t = parse_track_input(rest)?;
                    s.selected = Some((t.log_id, t.record_id));
                    cmds.push(Command::Track(vec![t]));
                }
                "untrack" => {
                    let key = if rest.is_empty() {
                        s.selected.ok_or("nothing selected")?
                    } else {
                        let t = parse_track_input(rest)?;
                        (t.log_id, t.record_id)
                    };
                    s.remove_rows(&[key]);
                    cmds.push(Command::Untrack(key));
                    cmds.push(Command::Unschedule(vec![key]));
                }
                "publish" => {
                    s.mode = Mode::Table;
                    open_form(s, cmds);
                    if !rest.is_empty() {
                        s.form.package = rest.to_string();
                    }
                    return Ok(());
                }
                "registry" => {
                    if rest.is_empty() {
                        return Err(format!(
                            "registry is {}; `:registry URL` switches",
                            s.cfg.registry
                        ));
                    }
                    crate::registry::client::parse_base_url(rest).map_err(|e| format!("{e:#}"))?;
                    s.cfg.registry = rest.to_string();
                    s.cfg.sandbox = false;
                    s.health = Health::default();
                    s.checkpoint = None;
                    cmds.push(Command::SetRegistry(rest.to_string()));
                }
                "" => {}
                other => {
                    return Err(format!(
                    "unknown command `{other}` (try :track, :untrack, :publish, :registry URL, :q)"
                ))
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn on_line_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Command>) {
    match k.code {
        KeyCode::Esc => {
            if s.mode == Mode::Filter {
                s.input.clear();
                s.filter.clear();
                s.mark_view();
            }
            s.mode = Mode::Table;
            s.input_error = None;
        }
        KeyCode::Enter => match run_line(s, cmds) {
            Ok(()) => {
                if matches!(s.mode, Mode::Command | Mode::Track | Mode::Filter) {
                    s.mode = Mode::Table;
                }
                s.input_error = None;
            }
            // The text stays so the operator can fix it.
            Err(e) => s.input_error = Some(e),
        },
        KeyCode::Backspace => {
            s.input.pop();
            after_edit(s, cmds);
        }
        KeyCode::Up | KeyCode::Down if s.mode == Mode::Command && !s.history.is_empty() => {
            let n = s.history.len();
            let pos = match (s.history_pos, k.code) {
                (None, KeyCode::Up) => Some(n - 1),
                (Some(p), KeyCode::Up) => Some(p.saturating_sub(1)),
                (Some(p), KeyCode::Down) if p + 1 < n => Some(p + 1),
                _ => None,
            };
            s.history_pos = pos;
            s.input = pos.map(|p| s.history[p].clone()).unwrap_or_default();
        }
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            s.input.push(c);
            after_edit(s, cmds);
        }
        _ => {}
    }
}

fn on_form_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Command>) {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    match &s.form.step {
        Step::Preparing | Step::Submitting(_) => {
            if k.code == KeyCode::Esc && matches!(s.form.step, Step::Preparing) {
                s.form.step = Step::Edit;
            }
            return;
        }
        Step::Review(p) => {
            match k.code {
                KeyCode::Esc => s.form.step = Step::Edit,
                KeyCode::Enter | KeyCode::Char('y') => {
                    let Some(signer) = s.signer().map(|k| k.name.clone()) else {
                        s.form.error = Some("no signing key".into());
                        s.form.step = Step::Edit;
                        return;
                    };
                    cmds.push(Command::Submit {
                        prepared: p.clone(),
                        key_name: signer,
                        files: s.form.files.clone(),
                    });
                    s.form.step = Step::Submitting(Vec::new());
                }
                _ => {}
            }
            return;
        }
        Step::Edit => {}
    }
    let field = s.form.focused();
    let nfields = s.form.fields().len();
    match k.code {
        KeyCode::Esc => s.mode = Mode::Table,
        KeyCode::Tab | KeyCode::Down => s.form.focus = (s.form.focus + 1) % nfields,
        KeyCode::BackTab | KeyCode::Up => s.form.focus = (s.form.focus + nfields - 1) % nfields,
        KeyCode::Left | KeyCode::Right if !field.is_text() => {
            s.form.cycle(
                field,
                if k.code == KeyCode::Left { -1 } else { 1 },
                s.keys.len(),
            );
        }
        KeyCode::Char('n') if ctrl => match s.form.current_entry(&s.keys) {
            Ok((entry, file)) => {
                s.form.staged.push(entry);
                if let Some((d, p)) = file {
                    s.form.files.insert(d, p);
                }
                s.form.version.clear();
                s.form.file.clear();
                s.form.file_digest = None;
                s.form.error = None;
            }
            Err((f, e)) => focus_error(s, f, e),
        },
        KeyCode::Char('g') if ctrl => cmds.push(Command::GenerateKey),
        KeyCode::Char('u') if ctrl => {
            s.form.staged.pop();
        }
        KeyCode::Enter | KeyCode::Char('s') if k.code == KeyCode::Enter || ctrl => {
            if k.code == KeyCode::Enter && s.form.focus + 1 < nfields {
                s.form.focus += 1;
                return;
            }
            submit_form(s, cmds);
        }
        KeyCode::Backspace => {
            if let Some(t) = s.form.text_mut(field) {
                t.pop();
                after_edit(s, cmds);
            }
        }
        KeyCode::Char(c) if !ctrl => {
            if let Some(t) = s.form.text_mut(field) {
                t.push(c);
                after_edit(s, cmds);
            }
        }
        _ => {}
    }
}

fn focus_error(s: &mut State, f: Field, e: String) {
    if let Some(pos) = s.form.fields().iter().position(|x| *x == f) {
        s.form.focus = pos;
    }
    s.form.error = Some(format!("{}: {e}", f.label()));
}

fn submit_form(s: &mut State, cmds: &mut Vec<Command>) {
    let package = match s.form.package.parse::<PackageName>() {
        Ok(p) => p,
        Err(e) => return focus_error(s, Field::Package, e),
    };
    if s.signer().is_none() {
        return focus_error(
            s,
            Field::Signer,
            "no signing key: Ctrl-G generates one".into(),
        );
    }
    let mut entries = s.form.staged.clone();
    match s.form.current_entry(&s.keys) {
        Ok((entry, file)) => {
            entries.push(entry);
            if let Some((d, p)) = file {
                s.form.files.insert(d, p);
            }
        }
        Err((f, e)) => return focus_error(s, f, e),
    }
    s.form.error = None;
    s.form.step = Step::Preparing;
    cmds.push(Command::Prepare { package, entries });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sha256Hash;
    use crate::tracker::store::Origin;

    fn tracked(n: u32, added_at: i64) -> Tracked {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&n.to_be_bytes());
        Tracked {
            log_id: LogId(Sha256Hash(b)),
            record_id: RecordId(Sha256Hash(b)),
            package: Some(format!("demo:p{}", n % 7)),
            origin: Origin::Tracked,
            entries: None,
            added_at,
            state: None,
            response: None,
            missing: None,
            polled_at: None,
            error: None,
        }
    }

    /// Moving single rows as poll results arrive gives exactly the view (and selection) a full
    /// filter-and-sort gives, for every sort column, both directions, with and without a filter.
    #[test]
    fn incremental_view_equals_full_recompute() {
        let cfg = AppConfig {
            registry: "http://127.0.0.1:1".into(),
            sandbox: false,
            readonly: false,
            interval: Duration::from_secs(2),
            color: false,
        };
        let mut s = State::new(cfg, 1_000_000);
        // Several rows share an `added_at` (as `track add -` does), so ties are exercised.
        let list: Vec<Tracked> = (0..60).map(|n| tracked(n, 1000 + (n / 4) as i64)).collect();
        let keys: Vec<Key> = list.iter().map(|t| (t.log_id, t.record_id)).collect();
        update(&mut s, Action::StoreLoaded(list));
        let bodies = [
            serde_json::json!({"state": "processing"}),
            serde_json::json!({"state": "published", "registryIndex": 3}),
            serde_json::json!({"state": "rejected", "reason": "bad beta"}),
        ];
        let mut seed = 7u64;
        for step in 0..1500u32 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (seed >> 33) as usize;
            match step % 150 {
                0 => s.sort = s.sort.next(),
                50 => s.ascending = !s.ascending,
                100 => s.filter = ["", "beta", "p3", "processing"][r % 4].into(),
                _ => {}
            }
            if step % 50 == 0 {
                s.mark_view();
                s.refresh_view();
            }
            if r % 5 == 0 {
                s.page = 1 + r % 9;
                s.select_pos(r % 60);
            }
            let key = keys[r % keys.len()];
            let result = if r % 11 == 0 {
                Err(ApiError::Invalid {
                    status: 400,
                    message: "beta".into(),
                })
            } else {
                let body = bodies[r % 3].clone();
                let mut with_id = body.clone();
                with_id["recordId"] = key.1.to_string().into();
                let rec: PackageRecord = serde_json::from_value(with_id).expect("record");
                Ok((rec, body))
            };
            update(
                &mut s,
                Action::Polled {
                    key,
                    result,
                    at: 2000 + (r % 13) as i64,
                    latency: Duration::ZERO,
                    hold: None,
                },
            );
            let mut full = s.clone();
            full.mark_view();
            full.refresh_view();
            assert_eq!(s.view, full.view, "step {step}: sort {:?}", s.sort);
            assert_eq!(s.selected, full.selected, "step {step}");
            assert_eq!(s.offset, full.offset, "step {step}");
            let mut counts = s.clone();
            counts.recount();
            assert_eq!(s.counts(), counts.counts(), "step {step}");
        }
    }
}
