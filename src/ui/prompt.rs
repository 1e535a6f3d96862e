//! The prompt line pane: filter (`/`), command (`:`) and track (`a`) input — its text, cursor,
//! error and the command history — and its editing keys. What an entered line means is the
//! reducer's (`app::commands`): it reaches every pane.

use super::msg::{Intent, Mode};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Default)]
pub struct Prompt {
    pub input: String,
    /// Where the cursor is (a char index into `input`); `None` is the end.
    pub cursor: Option<usize>,
    pub error: Option<String>,
    pub history: Vec<String>,
    history_pos: Option<usize>,
}

impl Prompt {
    /// Opens the prompt for `mode`: the filter starts from the one in force, the others empty.
    pub(super) fn open(&mut self, mode: &Mode, filter: &str) {
        match mode {
            Mode::Filter => self.input = filter.to_string(),
            Mode::Command => {
                self.input.clear();
                self.history_pos = None;
            }
            _ => self.input.clear(),
        }
        self.cursor = None;
    }

    /// Remembers an entered command (not twice in a row).
    pub(super) fn remember(&mut self, line: &str) {
        if !line.is_empty() && self.history.last().map(String::as_str) != Some(line) {
            self.history.push(line.to_string());
        }
    }

    /// Applies one editing request at the cursor (tui-input does the editing); returns whether
    /// the text changed.
    pub(super) fn edit(&mut self, req: tui_input::InputRequest) -> bool {
        let len = self.input.chars().count();
        let at = self.cursor.unwrap_or(len).min(len);
        let mut i = tui_input::Input::new(std::mem::take(&mut self.input)).with_cursor(at);
        let changed = i.handle(req).is_some_and(|c| c.value);
        let end = i.value().chars().count();
        self.cursor = (i.cursor() < end).then_some(i.cursor());
        self.input = i.value().to_string();
        changed
    }

    /// Keys on the prompt line in `mode`: editing here; Esc, Enter and a changed text are the
    /// reducer's ([`Intent::PromptCancelled`], [`Intent::PromptEntered`],
    /// [`Intent::PromptEdited`]).
    pub(super) fn on_key(&mut self, k: KeyEvent, mode: &Mode) -> Intent {
        // After an error the line stays open for correction, but `:` starts a new command
        // (it used to be appended: `:sort bogus:so`).
        if *mode == Mode::Command
            && self.error.is_some()
            && k.code == KeyCode::Char(':')
            && k.modifiers.is_empty()
        {
            self.error = None;
            self.input.clear();
            self.cursor = None;
            self.history_pos = None;
            return Intent::PromptEdited;
        }
        if !matches!(
            k.code,
            KeyCode::Up | KeyCode::Down | KeyCode::Esc | KeyCode::Enter
        ) {
            if let Some(req) = edit_request(&k) {
                // Any editing key (even one that changes nothing) means the operator is fixing it.
                self.error = None;
                if self.edit(req) {
                    return Intent::PromptEdited;
                }
            }
            return Intent::None;
        }
        match k.code {
            KeyCode::Esc => return Intent::PromptCancelled,
            KeyCode::Enter => return Intent::PromptEntered,
            KeyCode::Up | KeyCode::Down if *mode == Mode::Command && !self.history.is_empty() => {
                let n = self.history.len();
                let pos = match (self.history_pos, k.code) {
                    (None, KeyCode::Up) => Some(n - 1),
                    (Some(p), KeyCode::Up) => Some(p.saturating_sub(1)),
                    (Some(p), KeyCode::Down) if p + 1 < n => Some(p + 1),
                    _ => None,
                };
                self.history_pos = pos;
                self.input = pos
                    .and_then(|p| self.history.get(p).cloned())
                    .unwrap_or_default();
                self.cursor = None;
            }
            _ => {}
        }
        Intent::None
    }
}

/// The editing keys of the prompt line: a real cursor (←/→, Home/End, Ctrl-A/E), deleting at
/// it (Backspace, Delete, Ctrl-W a word, Ctrl-U to the start, Ctrl-K to the end), Alt-←/→ by
/// word.
fn edit_request(k: &KeyEvent) -> Option<tui_input::InputRequest> {
    use tui_input::InputRequest as R;
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    Some(match k.code {
        KeyCode::Backspace if ctrl || alt => R::DeletePrevWord,
        KeyCode::Backspace => R::DeletePrevChar,
        KeyCode::Delete => R::DeleteNextChar,
        KeyCode::Left if ctrl || alt => R::GoToPrevWord,
        KeyCode::Right if ctrl || alt => R::GoToNextWord,
        KeyCode::Left => R::GoToPrevChar,
        KeyCode::Right => R::GoToNextChar,
        KeyCode::Home => R::GoToStart,
        KeyCode::End => R::GoToEnd,
        KeyCode::Char('a') if ctrl => R::GoToStart,
        KeyCode::Char('e') if ctrl => R::GoToEnd,
        KeyCode::Char('w') if ctrl => R::DeletePrevWord,
        KeyCode::Char('u') if ctrl => R::DeleteFromStart,
        KeyCode::Char('k') if ctrl => R::DeleteTillEnd,
        KeyCode::Char('b') if alt => R::GoToPrevWord,
        KeyCode::Char('f') if alt => R::GoToNextWord,
        KeyCode::Char(c) if !ctrl && !alt => R::InsertChar(c),
        _ => return None,
    })
}
