//! The events pane (`e`): the latest state changes (newest first, from the store, so they
//! survive a restart), its scroll and keys.

use super::msg::Intent;
use super::scroll::Scroll;
use crate::tracker::store::StateEvent;
use crossterm::event::{KeyCode, KeyEvent};

#[derive(Debug, Clone, Default)]
pub struct EventsPane {
    pub events: Vec<StateEvent>,
    pub scroll: Scroll,
}

impl EventsPane {
    pub(super) fn on_key(&mut self, k: KeyEvent, page: usize) -> Intent {
        if self.scroll.on_key(k.code, page) {
            return Intent::None;
        }
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('e') => Intent::Close,
            _ => Intent::None,
        }
    }
}
