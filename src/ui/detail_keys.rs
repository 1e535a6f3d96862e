//! Keys in the detail pane (moved out of `app.rs` to keep it under 800 lines).

use super::app::{Effect, Mode, State};
use super::keymap;
use super::table::on_table_key;
use crossterm::event::KeyEvent;

/// Keys in the detail pane: j/k/PgDn scroll it, n/N (or ]/[) move between records; copying,
/// refreshing and rebuilding work as in the table.
pub(super) fn on_detail_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    use keymap::DetailAction as D;
    let Some(action) = keymap::detail_action(&k) else {
        // Table keys the pane advertises act here too; other keys wait.
        use keymap::TableAction as T;
        if matches!(
            keymap::table_action(&k, s.cfg.readonly),
            Some(T::CopyRecord | T::CopyLog | T::Refresh | T::Rebuild)
        ) {
            on_table_key(s, k, cmds);
        }
        return;
    };
    let page = s.page.max(1);
    let max = s.detail_max_scroll.get();
    match action {
        D::Close => {
            s.mode = Mode::Table;
            s.detail_scroll = 0;
        }
        D::Down => s.detail_scroll = (s.detail_scroll + 1).min(max),
        D::Up => s.detail_scroll = s.detail_scroll.saturating_sub(1),
        D::PageDown => s.detail_scroll = (s.detail_scroll + page).min(max),
        D::PageUp => s.detail_scroll = s.detail_scroll.saturating_sub(page),
        D::Top => s.detail_scroll = 0,
        D::Bottom => s.detail_scroll = max,
        D::Next | D::Prev => {
            let pos = s.selected_pos().unwrap_or(0);
            let to = if action == D::Next {
                pos + 1
            } else {
                pos.saturating_sub(1)
            };
            s.select_pos(to);
            s.detail_scroll = 0;
            if let Some(key) = s.selected {
                if s.detail_history.as_ref().is_none_or(|(k, _)| *k != key) {
                    cmds.push(Effect::LoadHistory(key));
                }
            }
        }
    }
}
