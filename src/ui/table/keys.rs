//! The table's keys: moving, marking, sorting and freezing stay in the table; opening another
//! pane, quitting and messages are the reducer's ([`Intent`]).

use super::RecordTable;
use crate::ui::keymap;
use crate::ui::msg::{Action, Effect, Intent, Level, Mode};
use crossterm::event::KeyEvent;

impl RecordTable {
    /// Keys in the table. Moving, marking, sorting and freezing stay here; opening another
    /// pane, quitting and messages are the reducer's ([`Intent`]).
    pub(in crate::ui) fn on_key(
        &mut self,
        k: KeyEvent,
        readonly: bool,
        cmds: &mut Vec<Effect>,
    ) -> Intent {
        let Some(action) = keymap::table_action(&k, readonly) else {
            return Intent::None;
        };
        use keymap::TableAction as T;
        let pos = self.selected_pos().unwrap_or(0);
        let info = |m: String| Intent::Flash(Level::Info, m);
        match action {
            T::Quit => return Intent::Quit,
            T::Down => self.select_pos(pos + 1),
            T::Up => self.select_pos(pos.saturating_sub(1)),
            T::Top => self.select_pos(0),
            T::Bottom => self.select_pos(self.view.len().saturating_sub(1)),
            T::PageDown => self.select_pos(pos + self.page.max(1)),
            T::PageUp => self.select_pos(pos.saturating_sub(self.page.max(1))),
            T::Detail => {
                if let Some(key) = self.selected {
                    cmds.push(Effect::LoadHistory(key));
                    return Intent::Open(Mode::Detail);
                }
            }
            T::Help => return Intent::Open(Mode::Help),
            T::Alerts => return Intent::Open(Mode::Alerts),
            T::Log => return Intent::Open(Mode::LogBrowser),
            T::Events => {
                cmds.push(Effect::LoadEvents);
                return Intent::Open(Mode::Events);
            }
            T::Filter => return Intent::Open(Mode::Filter),
            T::Command => return Intent::Open(Mode::Command),
            T::Track => return Intent::Open(Mode::Track),
            T::Untrack => {
                if !self.marked.is_empty() {
                    return Intent::Open(Mode::ConfirmUntrack(
                        self.marked.iter().copied().collect(),
                    ));
                } else if let Some(key) = self.selected {
                    return Intent::Open(Mode::ConfirmUntrack(vec![key]));
                }
            }
            T::Mark => {
                if let Some(key) = self.selected.filter(|k| self.index.contains_key(k)) {
                    if !self.marked.remove(&key) {
                        self.marked.insert(key);
                    }
                    self.select_pos(pos + 1);
                }
            }
            T::ClearMarks => {
                if !self.marked.is_empty() {
                    let n = self.marked.len();
                    self.marked.clear();
                    return info(format!("cleared {n} marks"));
                }
            }
            T::Refresh => {
                if let Some(key) = self.selected {
                    cmds.push(Effect::Refresh(vec![key]));
                    return info("refreshing".into());
                }
            }
            T::RefreshAll => {
                cmds.push(Effect::RefreshAll);
                return info("refreshing all".into());
            }
            T::Freeze => {
                self.frozen = !self.frozen;
                if self.frozen {
                    return info("frozen: polling continues; f applies what arrived".into());
                }
                let mut held: Vec<Action> = std::mem::take(&mut self.frozen_updates)
                    .into_values()
                    .collect();
                // In the order they arrived, so health ends as the newest result left it.
                held.sort_by_key(|a| match a {
                    Action::Polled { at, .. } => *at,
                    _ => 0,
                });
                return Intent::ApplyHeld(held);
            }
            T::Sort => {
                self.sort = self.sort.next();
                self.mark_view();
            }
            T::Reverse => {
                self.ascending = !self.ascending;
                self.mark_view();
            }
            T::CopyRecord | T::CopyLog => {
                if let Some(r) = self.selected_row() {
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
                    return info(msg);
                }
            }
            T::Publish => return Intent::OpenForm,
            T::Pulse => return Intent::TogglePulse,
            T::Rebuild => return Intent::Rebuild,
            T::ClearFilter => {
                if !self.filter.is_empty() {
                    self.filter.clear();
                    self.mark_view();
                }
            }
        }
        Intent::None
    }
}
