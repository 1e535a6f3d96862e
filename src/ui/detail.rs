//! The detail pane of the selected record: its history and rebuild link as the store gave
//! them, its scroll, and its keys (j/k/PgDn scroll, n/N move between records; copying,
//! refreshing and rebuilding work as in the table).

use super::keymap;
use super::msg::{Intent, RecordRef};
use super::scroll::Scroll;
use crate::tracker::links::RebuildLink;
use crate::tracker::store::HistoryEntry;
use crossterm::event::KeyEvent;

#[derive(Debug, Clone, Default)]
pub struct DetailPane {
    pub history: Option<(RecordRef, Vec<HistoryEntry>)>,
    /// The rejected record the shown record rebuilds, once the store said.
    pub link: Option<(RecordRef, RebuildLink)>,
    pub scroll: Scroll,
}

impl DetailPane {
    /// Whether the history of `key` is still to be read.
    pub fn needs_history(&self, key: &RecordRef) -> bool {
        self.history.as_ref().is_none_or(|(k, _)| k != key)
    }

    pub(super) fn on_key(&mut self, k: KeyEvent, readonly: bool, page: usize) -> Intent {
        use keymap::DetailAction as D;
        let Some(action) = keymap::detail_action(&k) else {
            // Table keys the pane advertises act here too; other keys wait.
            use keymap::TableAction as T;
            if matches!(
                keymap::table_action(&k, readonly),
                Some(T::CopyRecord | T::CopyLog | T::Refresh | T::Rebuild)
            ) {
                return Intent::TableKey(k);
            }
            return Intent::None;
        };
        let page = page.max(1);
        match action {
            D::Close => {
                self.scroll.reset();
                return Intent::Close;
            }
            D::Down => self.scroll.down(1),
            D::Up => self.scroll.up(1),
            D::PageDown => self.scroll.down(page),
            D::PageUp => self.scroll.up(page),
            D::Top => self.scroll.reset(),
            D::Bottom => self.scroll.bottom(),
            D::Next => return Intent::SelectBy(1),
            D::Prev => return Intent::SelectBy(-1),
        }
        Intent::None
    }
}
