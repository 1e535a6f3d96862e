//! The pulse strip (`P`): records published per minute and the submit → published latency of
//! this app's records, as two sparklines above the footer. Its figures come from the store
//! thread, asked when the strip opens and every few seconds while it is shown — never on the
//! draw path.

use super::msg::Effect;
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
pub fn page_size(pulse: &PulseView, height: u16) -> usize {
    let page = super::view::page_size(height);
    if pulse.shown {
        page.saturating_sub(LINES as usize)
    } else {
        page
    }
}

impl PulseView {
    fn ask(&mut self, now: i64) -> Effect {
        self.asked_at = Some(now);
        Effect::LoadPulse
    }

    /// `P`: shows or hides the strip; returns the table's page size with it, and the effect
    /// reading its figures.
    pub(super) fn toggle(&mut self, page: usize, now: i64) -> (usize, Option<Effect>) {
        self.shown = !self.shown;
        if self.shown {
            let page = page.saturating_sub(LINES as usize).max(1);
            (page, Some(self.ask(now)))
        } else {
            (page + LINES as usize, None)
        }
    }

    /// Every tick: the figures again every few seconds while shown.
    pub(super) fn on_tick(&mut self, now: i64) -> Option<Effect> {
        (self.shown && self.asked_at.is_none_or(|at| now - at >= REFRESH_MS)).then(|| self.ask(now))
    }

    /// The store now answers for another registry: read again on the next tick.
    pub(super) fn forget(&mut self) {
        self.data = None;
        self.asked_at = None;
    }
}
