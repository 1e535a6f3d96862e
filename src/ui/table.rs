//! The record table: its view model (filter, sort, selection, the incremental view that moves
//! one row per poll instead of re-sorting) and its keys.

use super::app::*;
use super::filter::{Filter, Haystack};
use super::form::{Form, Step};
use super::keymap;
use crate::ids::PackageName;
use crate::ids::RecordRef;
use crate::registry::RecordState;
use crate::tracker::store::Tracked;
use crossterm::event::KeyEvent;
use std::collections::BTreeMap;

impl State {
    pub fn row(&self, key: &RecordRef) -> Option<&Row> {
        self.index.get(key).map(|i| &self.rows[*i])
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.selected.as_ref().and_then(|k| self.row(k))
    }

    /// Rows per state name (maintained incrementally: O(1) per frame).
    pub fn counts(&self) -> &BTreeMap<&'static str, usize> {
        &self.counts
    }

    pub(super) fn recount(&mut self) {
        let mut c = BTreeMap::new();
        for r in &self.rows {
            *c.entry(r.state_name()).or_insert(0) += 1;
        }
        self.counts = c;
    }

    pub(super) fn count_change(&mut self, from: &'static str, to: &'static str) {
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

    pub(super) fn matches_filter(&self, r: &Row) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let (log, record) = (r.tracked.log_id.short(64), r.tracked.record_id.short(64));
        let detail = r.detail();
        let h = Haystack {
            package: r.tracked.package.as_deref().unwrap_or(""),
            log: &log,
            record: &record,
            state: r.state_name(),
            detail: &detail,
        };
        if self.compiled.source == self.filter {
            self.compiled.matches(&h)
        } else {
            Filter::new(&self.filter).matches(&h)
        }
    }

    /// The filter in force, compiled.
    pub fn filter_terms(&self) -> &Filter {
        &self.compiled
    }

    /// The view's order: the sort column, then (within a package or log) the registry index,
    /// then the order rows were added (`added_at`, then position), reversed as a whole when
    /// descending. A total order, so a row's place in the view can be found by binary search.
    pub fn cmp_rows(&self, a: usize, b: usize) -> std::cmp::Ordering {
        let (a, b) = if self.ascending { (a, b) } else { (b, a) };
        let (ra, rb) = (&self.rows[a], &self.rows[b]);
        let index = |r: &Row| r.registry_index().unwrap_or(u64::MAX);
        let added = ra.tracked.added_at.cmp(&rb.tracked.added_at);
        let by_column = match self.sort {
            // Rows within a package (or log) in registry order, then the order added.
            SortKey::Package => ra
                .tracked
                .package
                .cmp(&rb.tracked.package)
                .then(index(ra).cmp(&index(rb)))
                .then(added),
            SortKey::Log => ra
                .tracked
                .log_id
                .cmp(&rb.tracked.log_id)
                .then(index(ra).cmp(&index(rb)))
                .then(added),
            SortKey::Record => ra.tracked.record_id.cmp(&rb.tracked.record_id),
            SortKey::State => state_rank(ra).cmp(&state_rank(rb)).then(added),
            SortKey::Index => index(ra).cmp(&index(rb)).then(added),
            SortKey::Detail => ra.detail().cmp(&rb.detail()).then(added),
            // Ages as shown: the youngest (the latest record time) is the smallest.
            SortKey::Age => rb.time_ms().cmp(&ra.time_ms()).then(added.reverse()),
            // Polled ages as shown: the most recently polled first, never-polled last.
            SortKey::Polled => rb
                .tracked
                .polled_at
                .unwrap_or(i64::MIN)
                .cmp(&ra.tracked.polled_at.unwrap_or(i64::MIN)),
        };
        by_column.then(a.cmp(&b))
    }

    /// Where row `i` is in the view, if it is shown (O(log N) while the view is current).
    pub(super) fn view_pos(&self, i: usize) -> Option<usize> {
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
        if self.compiled.source != self.filter {
            self.compiled = Filter::new(&self.filter);
        }
        let mut v: Vec<usize> = (0..self.rows.len())
            .filter(|i| self.matches_filter(&self.rows[*i]))
            .collect();
        v.sort_unstable_by(|a, b| self.cmp_rows(*a, *b));
        self.view = v;
        self.fix_selection();
    }

    /// Keeps a shown record selected (the first one when the selected one is not shown).
    pub(super) fn fix_selection(&mut self) {
        // A record just tracked or submitted stays selected until its row arrives.
        let awaited = self.selected.is_some()
            && self.selected == self.awaiting
            && !self.index.contains_key(&self.selected.unwrap());
        if !awaited && self.awaiting.is_some_and(|k| self.index.contains_key(&k)) {
            self.awaiting = None;
        }
        if self.selected_pos().is_none() && !awaited {
            self.selected = self.view.first().map(|i| self.rows[*i].key());
        }
        self.clamp_offset();
    }

    /// Moves row `i` to its place after a change to it, without re-sorting the view: `was_at`
    /// is where it was shown before the change. O(log N) plus one memmove.
    pub(super) fn reposition(&mut self, i: usize, was_at: Option<usize>) {
        self.dirty = true;
        if self.compiled.source != self.filter {
            self.mark_view();
        }
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

    pub(super) fn clamp_offset(&mut self) {
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

    pub(super) fn select_pos(&mut self, pos: usize) {
        if let Some(i) = self.view.get(pos.min(self.view.len().saturating_sub(1))) {
            self.selected = Some(self.rows[*i].key());
            self.clamp_offset();
        }
    }

    pub(super) fn mark_view(&mut self) {
        self.view_stale = true;
        self.dirty = true;
    }

    pub(super) fn upsert(&mut self, t: Tracked) -> bool {
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
                if let Some(d) = self.trust.did.get(&key) {
                    row.record_ms = Some(d.time_secs.saturating_mul(1000));
                }
                self.rows.push(row);
                true
            }
        }
    }

    pub(super) fn remove_rows(&mut self, keys: &[RecordRef]) {
        if keys.is_empty() {
            return;
        }
        let gone: std::collections::HashSet<RecordRef> = keys.iter().copied().collect();
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
}

pub(super) fn on_table_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
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
                s.detail_scroll = 0;
                cmds.push(Effect::LoadHistory(key));
            }
        }
        T::Help => {
            s.help_scroll = 0;
            s.mode = Mode::Help;
        }
        T::Alerts => {
            s.trust.scroll = 0;
            s.mode = Mode::Alerts;
        }
        T::Log => super::logview::open(s, cmds),
        T::Events => {
            s.events_scroll = 0;
            s.mode = Mode::Events;
            cmds.push(Effect::LoadEvents);
        }
        T::Filter => {
            s.mode = Mode::Filter;
            s.input = s.filter.clone();
            s.cursor = None;
        }
        T::Command => {
            s.mode = Mode::Command;
            s.input.clear();
            s.cursor = None;
            s.history_pos = None;
        }
        T::Track => {
            s.mode = Mode::Track;
            s.input.clear();
            s.cursor = None;
        }
        T::Untrack => {
            if !s.marked.is_empty() {
                s.mode = Mode::ConfirmUntrack(s.marked.iter().copied().collect());
            } else if let Some(key) = s.selected {
                s.mode = Mode::ConfirmUntrack(vec![key]);
            }
        }
        T::Mark => {
            if let Some(key) = s.selected.filter(|k| s.index.contains_key(k)) {
                if !s.marked.remove(&key) {
                    s.marked.insert(key);
                }
                s.select_pos(pos + 1);
            }
        }
        T::ClearMarks => {
            if !s.marked.is_empty() {
                s.flash(format!("cleared {} marks", s.marked.len()));
                s.marked.clear();
            }
        }
        T::Refresh => {
            if let Some(key) = s.selected {
                cmds.push(Effect::Refresh(vec![key]));
                s.flash("refreshing");
            }
        }
        T::RefreshAll => {
            cmds.push(Effect::RefreshAll);
            s.flash("refreshing all");
        }
        T::Freeze => {
            s.frozen = !s.frozen;
            if s.frozen {
                s.flash("frozen: polling continues; f applies what arrived");
            } else {
                let mut held: Vec<Action> = std::mem::take(&mut s.frozen_updates)
                    .into_values()
                    .collect();
                // In the order they arrived, so health ends as the newest result left it.
                held.sort_by_key(|a| match a {
                    Action::Polled { at, .. } => *at,
                    _ => 0,
                });
                let n = held.len();
                for a in held {
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
                s.flash(format!("resumed: {n} updates applied"));
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
                // Which ID was copied: `copied record ID sha256:1a2b3c4d… (demo:hello)`.
                let (what, id, short) = if action == T::CopyRecord {
                    let id = &r.tracked.record_id;
                    ("record ID", id.to_string(), id.short(8))
                } else {
                    let id = &r.tracked.log_id;
                    ("log ID", id.to_string(), id.short(8))
                };
                let algo = id.split(':').next().unwrap_or("sha256");
                let package = r.tracked.package.as_deref().unwrap_or("package unknown");
                let msg = format!(
                    "copied {what} {algo}:{short}… ({})",
                    crate::text::clean(package)
                );
                cmds.push(Effect::Copy(id));
                s.flash(msg);
            }
        }
        T::Publish => open_form(s, cmds),
        T::Pulse => super::pulse::toggle(s, cmds),
        T::Rebuild => rebuild(s, cmds),
        T::ClearFilter => {
            if !s.filter.is_empty() {
                s.filter.clear();
                s.mark_view();
            }
        }
    }
}

pub(super) fn open_form(s: &mut State, cmds: &mut Vec<Effect>) {
    if s.cfg.readonly {
        s.warn("read-only: publishing is disabled");
        return;
    }
    cmds.push(Effect::LoadKeys);
    s.mode = Mode::Form;
    s.form.step = Step::Edit;
    s.form.error = None;
    // The package of the selected row, unless the draft has one the operator typed.
    if s.form.package.trim().is_empty() || s.form.prefilled {
        if let Some(p) = s
            .selected_row()
            .and_then(|r| r.tracked.package.clone())
            .filter(|p| p.parse::<PackageName>().is_ok())
        {
            s.form.package = p;
            s.form.prefilled = true;
        }
    }
}

/// Whether a row is a record this app signed that was rejected because the head moved.
pub fn needs_rebuild(r: &Row) -> bool {
    matches!(&r.state, Some(RecordState::Rejected { reason }) if crate::publish::head_moved(reason))
        && r.tracked.entries.is_some()
        && r.tracked.package.is_some()
}

/// Rebuilds the selected rejected record's entries on the log's new head: straight to review.
/// A publish draft open for something else is not replaced unasked.
pub(super) fn rebuild(s: &mut State, cmds: &mut Vec<Effect>) {
    let Some(r) = s.selected_row() else { return };
    if !needs_rebuild(r) {
        s.warn("b rebuilds records this app signed that were rejected because the head moved");
        return;
    }
    let key = r.key();
    if s.form.has_draft() && s.form.rebuilds.as_ref().is_none_or(|(k, _)| *k != key) {
        open_form(s, cmds);
        if s.mode == Mode::Form {
            s.form.confirm_rebuild = Some(key);
        }
        return;
    }
    rebuild_record(s, key, cmds);
}

/// Replaces the form with a rebuild of `key` (rejected because the head moved), linked to it.
pub(super) fn rebuild_record(s: &mut State, key: RecordRef, cmds: &mut Vec<Effect>) {
    let Some(r) = s.row(&key) else { return };
    let (Some(entries), Some(package)) = (r.tracked.entries.clone(), r.tracked.package.clone())
    else {
        return;
    };
    let reason = match &r.state {
        Some(RecordState::Rejected { reason }) => crate::text::clean(reason).into_owned(),
        _ => String::new(),
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
        paths: s.form.paths.clone(),
        rebuilds: Some((key, reason)),
        ..Form::default()
    };
    cmds.push(Effect::Prepare {
        package: pkg,
        entries,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LogId, RecordId, Sha256Hash};
    use crate::registry::{ApiError, PackageRecord};
    use crate::tracker::store::Origin;
    use std::time::Duration;

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
    pub(super) fn incremental_view_equals_full_recompute() {
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
        let keys: Vec<RecordRef> = list
            .iter()
            .map(|t| RecordRef::new(t.log_id, t.record_id))
            .collect();
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
                with_id["recordId"] = key.record.to_string().into();
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
