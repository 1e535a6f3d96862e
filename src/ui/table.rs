//! The record table pane (bottom's `DataTable` + `DataTableState`): the tracked rows and
//! their view model — filter, sort, selection, marks, freeze, the incremental view that moves
//! one row per poll instead of re-sorting, the counts per state — and its keys.

mod keys;
mod view;

use super::filter::Filter;
use super::mouse::TableBody;
use super::msg::{Action, Effect};
use super::prefs::PrefsState;
use super::row::{Row, SortKey, StateKind};
use crate::ids::{LogId, RecordRef};
use crate::registry::{ApiError, PackageRecord, RecordState};
use crate::tracker::store::{Origin, RawJson, Tracked};
use crate::trust::package::PackageLogRecord;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The record table's state.
#[derive(Debug, Clone)]
pub struct RecordTable {
    pub rows: Vec<Row>,
    index: HashMap<RecordRef, usize>,
    /// Row indices after filter and sort, in the total order of [`RecordTable::cmp_rows`].
    pub view: Vec<usize>,
    view_stale: bool,
    /// Rows per state, kept up to date as rows change (the header shows it every frame).
    counts: BTreeMap<StateKind, usize>,
    pub selected: Option<RecordRef>,
    /// A record just tracked or submitted whose row has not arrived yet: it gets the
    /// selection when it does.
    pub(super) awaiting: Option<RecordRef>,
    /// A row marked for a moment (a record just submitted) until the time given (ms).
    pub fresh: Option<(RecordRef, i64)>,
    /// Rows marked with Space for a bulk action.
    pub marked: BTreeSet<RecordRef>,
    pub offset: usize,
    /// Table rows that fit on screen (set by the runtime from the terminal's height).
    pub page: usize,
    pub sort: SortKey,
    pub ascending: bool,
    pub filter: String,
    /// The compiled [`RecordTable::filter`].
    compiled: Filter,
    pub frozen: bool,
    /// Poll results held while frozen: the latest per record (bounded by the tracked set).
    frozen_updates: HashMap<RecordRef, Action>,
    /// Logs whose package name was already asked of the registry.
    names_asked: HashSet<LogId>,
    /// Where the rows were last drawn (for mouse clicks; set by the view).
    pub body: Cell<Option<TableBody>>,
    /// The sort and filter last saved (or loaded) and the registry they belong to.
    pub(super) prefs: PrefsState,
    /// Something shown changed (the reducer folds it into the screen's dirty flag).
    pub(super) dirty: bool,
}

impl RecordTable {
    /// An empty table for `registry`, oldest first (ages shrink down the list: ▼).
    pub fn new(registry: &str) -> Self {
        Self {
            rows: Vec::new(),
            index: HashMap::new(),
            view: Vec::new(),
            view_stale: false,
            counts: BTreeMap::new(),
            selected: None,
            awaiting: None,
            fresh: None,
            marked: BTreeSet::new(),
            offset: 0,
            page: 20,
            sort: SortKey::Age,
            ascending: false,
            filter: String::new(),
            compiled: Filter::default(),
            frozen: false,
            frozen_updates: HashMap::new(),
            names_asked: HashSet::new(),
            body: Cell::new(None),
            prefs: PrefsState::new(registry),
            dirty: true,
        }
    }

    /// Poll results waiting while the table is frozen.
    pub fn frozen_waiting(&self) -> usize {
        self.frozen_updates.len()
    }

    pub fn row(&self, key: &RecordRef) -> Option<&Row> {
        self.index.get(key).map(|i| &self.rows[*i])
    }

    pub fn contains(&self, key: &RecordRef) -> bool {
        self.index.contains_key(key)
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.selected.as_ref().and_then(|k| self.row(k))
    }

    /// Rows per state (maintained incrementally: O(1) per frame).
    pub fn counts(&self) -> &BTreeMap<StateKind, usize> {
        &self.counts
    }

    pub fn recount(&mut self) {
        let mut c = BTreeMap::new();
        for r in &self.rows {
            *c.entry(r.state_kind()).or_insert(0) += 1;
        }
        self.counts = c;
    }

    fn count_change(&mut self, from: StateKind, to: StateKind) {
        if from == to {
            return;
        }
        if let Some(n) = self.counts.get_mut(&from) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.counts.remove(&from);
            }
        }
        *self.counts.entry(to).or_insert(0) += 1;
    }

    fn upsert(&mut self, t: Tracked, did: &HashMap<RecordRef, PackageLogRecord>) -> bool {
        let key = RecordRef::new(t.log_id, t.record_id);
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
                let mut row = Row::from_tracked(t);
                if let Some(d) = did.get(&key) {
                    row.record_ms = Some(d.time_secs.saturating_mul(1000));
                }
                self.rows.push(row);
                true
            }
        }
    }

    /// The tracked set as the store has it: rows added, updated and removed; returns the
    /// effects (names to resolve, records to schedule and unschedule).
    pub(super) fn load(
        &mut self,
        list: Vec<Tracked>,
        did: &HashMap<RecordRef, PackageLogRecord>,
    ) -> Vec<Effect> {
        let mut cmds = Vec::new();
        let gone: Vec<RecordRef> = if self.rows.is_empty() {
            Vec::new()
        } else {
            let keep: HashSet<RecordRef> = list
                .iter()
                .map(|t| RecordRef::new(t.log_id, t.record_id))
                .collect();
            self.rows
                .iter()
                .map(Row::key)
                .filter(|k| !keep.contains(k))
                .collect()
        };
        let mut new = Vec::new();
        // Grown once, not by doubling: at 100 000 rows a doubling holds both copies.
        self.rows
            .reserve(list.len().saturating_sub(self.rows.len()));
        self.index
            .reserve(list.len().saturating_sub(self.index.len()));
        for t in list {
            let terminal = t
                .state
                .as_deref()
                .and_then(StateKind::parse)
                .is_some_and(StateKind::is_terminal);
            let key = RecordRef::new(t.log_id, t.record_id);
            if self.upsert(t, did) {
                new.push((key, terminal));
            }
        }
        self.remove_rows(&gone);
        let unnamed: Vec<LogId> = self
            .rows
            .iter()
            .filter(|r| r.tracked.package.is_none())
            .map(|r| r.tracked.log_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|l| self.names_asked.insert(*l))
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
        self.recount();
        self.mark_view();
        cmds
    }

    /// Package names the registry gave for logs whose rows had none.
    pub(super) fn names_resolved(&mut self, names: &BTreeMap<LogId, String>) {
        for r in &mut self.rows {
            if r.tracked.package.is_none() {
                if let Some(n) = names.get(&r.tracked.log_id) {
                    r.tracked.package = Some(n.clone());
                }
            }
        }
        self.mark_view();
    }

    /// Polls of these records started.
    pub(super) fn poll_started(&mut self, keys: &[RecordRef]) {
        for k in keys {
            if let Some(&i) = self.index.get(k) {
                self.rows[i].in_flight = true;
            }
        }
        self.dirty = true;
    }

    /// While frozen, a poll result is held (the latest per tracked record).
    pub(super) fn hold(&mut self, key: RecordRef, a: Action) {
        if let Some(&i) = self.index.get(&key) {
            self.rows[i].in_flight = false;
            self.frozen_updates.insert(key, a);
            self.dirty = true;
        }
    }

    /// Applies one poll result to its row; returns the message to show when a record this
    /// app signed was rejected.
    pub(super) fn apply_poll(
        &mut self,
        key: RecordRef,
        result: Result<(PackageRecord, serde_json::Value), ApiError>,
        at: i64,
    ) -> Option<String> {
        let registry_wide = matches!(&result, Err(e) if e.is_registry_wide());
        let &i = self.index.get(&key)?;
        let was_at = self.view_pos(i);
        let was = self.rows[i].state_kind();
        let r = &mut self.rows[i];
        r.in_flight = false;
        r.tracked.polled_at = Some(at);
        let mut msg = None;
        match result {
            Ok((rec, raw)) => {
                let newly_rejected = r.state_kind() != StateKind::Rejected
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
                    msg = Some(format!(
                        "{} record {} was rejected because the head moved: select it and press b to rebuild on the new head",
                        r.tracked.package.as_deref().unwrap_or("?"),
                        r.tracked.record_id.short(8)
                    ));
                } else if newly_rejected && r.tracked.origin == Origin::Submitted {
                    // A record this app signed was refused: say which and why, not only in a count.
                    msg = Some(format!(
                        "{} record {} was rejected: {}",
                        r.tracked.package.as_deref().unwrap_or("?"),
                        r.tracked.record_id.short(8),
                        r.detail()
                    ));
                }
            }
            // A registry outage: the header explains it; the row keeps its state and shows the
            // failure dimmed.
            Err(e) if registry_wide => r.outage = Some((outage_label(&e), at)),
            Err(e) => r.error = Some(crate::text::clean(&e.to_string()).into_owned()),
        }
        let now = self.rows[i].state_kind();
        self.count_change(was, now);
        // One result moves one row: no re-sort of every row per poll.
        self.reposition(i, was_at);
        msg
    }

    /// What records did, from validated package logs: each tracked row's AGE counts from its
    /// record's own timestamp from then on.
    pub(super) fn learn_times(&mut self, did: &[(RecordRef, PackageLogRecord)]) {
        let mut moved = false;
        for (key, rec) in did {
            let ms = Some(rec.time_secs.saturating_mul(1000));
            if let Some(&i) = self.index.get(key) {
                if self.rows[i].record_ms != ms {
                    self.rows[i].record_ms = ms;
                    moved = true;
                }
            }
        }
        if moved && self.sort == SortKey::Age {
            self.mark_view();
        }
    }

    pub(super) fn remove_rows(&mut self, keys: &[RecordRef]) {
        if keys.is_empty() {
            return;
        }
        let gone: HashSet<RecordRef> = keys.iter().copied().collect();
        // The selection moves to the row that takes the removed one's place (the next one
        // still shown, else the one before): the operator stays where they were.
        if self.selected.is_some_and(|k| gone.contains(&k)) {
            self.refresh_view();
            if let Some(p) = self.selected_pos() {
                let keep = |i: &&usize| !gone.contains(&self.rows[**i].key());
                let next = self.view[p..]
                    .iter()
                    .find(keep)
                    .or_else(|| self.view[..p].iter().rev().find(keep));
                self.selected = next.map(|i| self.rows[*i].key());
            }
        }
        for k in keys {
            self.marked.remove(k);
            // Held while frozen: no result waits for a record no longer tracked.
            self.frozen_updates.remove(k);
        }
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
}

/// Whether a row is a record this app signed that was rejected because the head moved.
pub fn needs_rebuild(r: &Row) -> bool {
    matches!(&r.state, Some(RecordState::Rejected { reason }) if crate::publish::head_moved(reason))
        && r.tracked.entries.is_some()
        && r.tracked.package.is_some()
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
