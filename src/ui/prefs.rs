//! The table's sort and filter, remembered per registry: loaded when the dashboard starts and
//! when `:registry` switches (through the store thread), saved when they change (never while
//! the filter is still being typed).

use super::app::{Effect, Mode, SortKey, State};
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

/// The table's preferences as they are now.
pub fn current(s: &State) -> TablePrefs {
    TablePrefs {
        sort: s.sort.name().into(),
        ascending: s.ascending,
        filter: s.filter.clone(),
    }
}

/// Preferences read for `registry`: applied when they are for the registry in use (an answer
/// for a registry switched away from is dropped). None saved: the defaults.
pub(super) fn loaded(s: &mut State, registry: &str, p: Option<TablePrefs>) {
    let key = registry_key(registry);
    if key != registry_key(&s.cfg.registry) {
        return;
    }
    let p = p.unwrap_or_else(|| PrefsState::new(registry).saved);
    s.sort = SortKey::parse(&p.sort).unwrap_or(SortKey::Age);
    s.ascending = p.ascending;
    s.filter = p.filter.clone();
    if s.mode == Mode::Filter {
        s.input = s.filter.clone();
        s.cursor = None;
    }
    s.prefs = PrefsState {
        saved: current(s),
        registry: key,
    };
    s.mark_view();
    s.refresh_view();
    // The store now answers for this registry: the pulse strip reads it again on the next tick.
    s.pulse.data = None;
    s.pulse.asked_at = None;
}

/// After every action: when the sort or the filter changed (and the filter is not being
/// typed), asks the runtime to save them for the registry in use. Nothing is saved while a
/// `:registry` switch waits for the new registry's preferences.
pub(super) fn save_if_changed(s: &mut State, cmds: &mut Vec<Effect>) {
    if s.mode == Mode::Filter || s.prefs.registry != registry_key(&s.cfg.registry) {
        return;
    }
    let now = current(s);
    if now != s.prefs.saved {
        cmds.push(Effect::SavePrefs(s.cfg.registry.clone(), now.clone()));
        s.prefs.saved = now;
    }
}
