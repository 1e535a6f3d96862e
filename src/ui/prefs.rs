//! The table's sort and filter, remembered per registry: loaded when the dashboard starts and
//! when `:registry` switches (through the store thread), saved when they change (never while
//! the filter is still being typed).

use super::row::SortKey;
use crate::tracker::prefs::TablePrefs;
use crate::tracker::store::registry_key;

/// What was last saved or loaded, and for which registry (a key, see [`registry_key`]).
#[derive(Debug, Clone)]
pub struct PrefsState {
    saved: TablePrefs,
    registry: String,
}

impl PrefsState {
    /// The defaults, as [`State::new`] starts with them, for `registry`.
    pub(super) fn new(registry: &str) -> Self {
        Self {
            saved: TablePrefs {
                sort: SortKey::Age.name().into(),
                ascending: false,
                filter: String::new(),
            },
            registry: registry_key(registry),
        }
    }
}

impl PrefsState {
    /// The preferences saved for a registry that has none.
    pub(super) fn defaults(registry: &str) -> TablePrefs {
        Self::new(registry).saved
    }

    /// Whether these preferences belong to `registry`.
    pub(super) fn is_for(&self, registry: &str) -> bool {
        self.registry == registry_key(registry)
    }

    /// Remembers `now` as saved (or loaded) for `registry`; returns whether it differs from
    /// what was saved before.
    pub(super) fn saved_as(&mut self, registry: &str, now: TablePrefs) -> bool {
        let changed = now != self.saved;
        self.saved = now;
        self.registry = registry_key(registry);
        changed
    }
}

/// The table's preferences as they are now.
pub fn current(sort: SortKey, ascending: bool, filter: &str) -> TablePrefs {
    TablePrefs {
        sort: sort.name().into(),
        ascending,
        filter: filter.to_string(),
    }
}
