//! The help overlay pane (`?`): its scroll and keys (the text is generated from the key map
//! by the view).

use super::msg::Intent;
use super::scroll::Scroll;
use crossterm::event::{KeyCode, KeyEvent};

#[derive(Debug, Clone, Default)]
pub struct HelpPane {
    pub scroll: Scroll,
}

impl HelpPane {
    pub(super) fn on_key(&mut self, k: KeyEvent, page: usize) -> Intent {
        if self.scroll.on_key(k.code, page) {
            return Intent::None;
        }
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter | KeyCode::Char('?') => {
                Intent::Close
            }
            _ => Intent::None,
        }
    }
}
