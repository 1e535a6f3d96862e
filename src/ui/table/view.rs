//! The table's view model: which rows are shown (the filter), in what order (the sort, a
//! total order), the incremental view that moves one row per poll instead of re-sorting, and
//! the selection and scroll offset within it.

use super::RecordTable;
use crate::ids::RecordRef;
use crate::ui::filter::{Filter, Haystack};
use crate::ui::row::{Row, SortKey};

impl RecordTable {
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

    /// Sets the filter as typed; returns why it does not compile, if it does not.
    pub(in crate::ui) fn set_filter(&mut self, text: &str) -> Option<String> {
        self.filter = text.to_string();
        let compiled = Filter::new(&self.filter);
        let error = compiled.error.clone();
        self.compiled = compiled;
        self.mark_view();
        error
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
            SortKey::State => ra
                .state_kind()
                .rank()
                .cmp(&rb.state_kind().rank())
                .then(added),
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
        let awaited = self
            .selected
            .is_some_and(|k| self.awaiting == Some(k) && !self.index.contains_key(&k));
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

    pub(in crate::ui) fn clamp_offset(&mut self) {
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

    pub(in crate::ui) fn select_pos(&mut self, pos: usize) {
        if let Some(i) = self.view.get(pos.min(self.view.len().saturating_sub(1))) {
            self.selected = Some(self.rows[*i].key());
            self.clamp_offset();
        }
    }

    /// Moves the selection by `by` rows (clamped to the view).
    pub(in crate::ui) fn select_by(&mut self, by: isize) {
        let pos = self.selected_pos().unwrap_or(0);
        self.select_pos(pos.saturating_add_signed(by));
    }

    /// Selects `key` (a record just tracked or submitted: kept selected until its row comes).
    pub(in crate::ui) fn select_awaited(&mut self, key: RecordRef) {
        self.selected = Some(key);
        self.awaiting = Some(key);
        self.mark_view();
    }

    /// Selects a tracked record.
    pub(in crate::ui) fn select(&mut self, key: RecordRef) {
        self.selected = Some(key);
        self.mark_view();
    }

    pub fn mark_view(&mut self) {
        self.view_stale = true;
        self.dirty = true;
    }
}
