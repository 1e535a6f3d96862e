//! The pulse strip (`P`): records published per minute and the submit → published latency of
//! this app's records, as two sparklines above the footer. Its figures come from the store
//! thread, asked when the strip opens and every few seconds while it is shown — never on the
//! draw path.

use super::app::{Effect, State};
use crate::tracker::pulse::Pulse;

/// Minutes the strip covers (the sparklines show as many as fit, newest at the right).
pub const MINUTES: usize = 60;
/// Lines the strip takes.
pub const LINES: u16 = 2;
/// How often the figures are read again while the strip is shown (ms).
pub const REFRESH_MS: i64 = 5_000;

#[derive(Debug, Clone, Default)]
pub struct PulseView {
    pub shown: bool,
    /// The latest figures (`None` until the store answers).
    pub data: Option<Pulse>,
    /// When the figures were last asked for (ms).
    pub(super) asked_at: Option<i64>,
}

/// Table rows that fit in a terminal `height` lines high, the strip taken into account.
pub fn page_size(s: &State, height: u16) -> usize {
    let page = super::view::page_size(height);
    if s.pulse.shown {
        page.saturating_sub(LINES as usize)
    } else {
        page
    }
}

fn ask(s: &mut State, cmds: &mut Vec<Effect>) {
    s.pulse.asked_at = Some(s.now);
    cmds.push(Effect::LoadPulse);
}

/// `P`: shows or hides the strip (the table gives it its lines).
pub(super) fn toggle(s: &mut State, cmds: &mut Vec<Effect>) {
    s.pulse.shown = !s.pulse.shown;
    if s.pulse.shown {
        s.page = s.page.saturating_sub(LINES as usize).max(1);
        ask(s, cmds);
    } else {
        s.page += LINES as usize;
    }
    s.clamp_offset();
    s.dirty = true;
}

pub(super) fn on_tick(s: &mut State, cmds: &mut Vec<Effect>) {
    if s.pulse.shown && s.pulse.asked_at.is_none_or(|at| s.now - at >= REFRESH_MS) {
        ask(s, cmds);
    }
}

pub(super) fn loaded(s: &mut State, p: Pulse) {
    s.pulse.data = Some(p);
    s.dirty = true;
}
