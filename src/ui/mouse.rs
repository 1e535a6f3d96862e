//! The mouse (captured unless `--no-mouse`): a left click on a table row selects it; the wheel
//! moves the selection three rows in the table and scrolls the overlays (help, detail, alerts,
//! package log, events) three lines.

use super::app::{Mode, State};
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

/// Rows (or lines) one wheel step moves.
pub const WHEEL_STEP: usize = 3;

/// Where the table's rows were drawn: the screen area below the column titles and the view
/// position of its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableBody {
    pub area: Rect,
    pub offset: usize,
}

impl TableBody {
    /// The view position of the row drawn at screen `(column, row)`, if a row is there.
    pub fn pos_at(&self, column: u16, row: u16) -> Option<usize> {
        self.area
            .contains(Position::new(column, row))
            .then(|| self.offset + usize::from(row - self.area.y))
    }
}

pub(super) fn on_mouse(s: &mut State, m: MouseEvent) {
    match m.kind {
        MouseEventKind::ScrollDown => wheel(s, true),
        MouseEventKind::ScrollUp => wheel(s, false),
        MouseEventKind::Down(MouseButton::Left) => click(s, m.column, m.row),
        // Moves, drags and releases change nothing (and cost no redraw).
        _ => {}
    }
}

fn step(v: usize, down: bool) -> usize {
    if down {
        v.saturating_add(WHEEL_STEP)
    } else {
        v.saturating_sub(WHEEL_STEP)
    }
}

fn wheel(s: &mut State, down: bool) {
    match s.mode {
        Mode::Table => {
            let pos = s.selected_pos().unwrap_or(0);
            s.select_pos(step(pos, down));
        }
        Mode::Help => s.help_scroll = step(s.help_scroll, down),
        Mode::Detail => {
            s.detail_scroll = step(s.detail_scroll, down).min(s.detail_max_scroll.get());
        }
        Mode::Alerts => s.trust.scroll = step(s.trust.scroll, down),
        Mode::Events => s.events_scroll = step(s.events_scroll, down),
        Mode::LogBrowser => {
            let n = match &s.logs.view {
                Some(Ok(v)) => v.records.len(),
                _ => 0,
            };
            s.logs.selected = step(s.logs.selected, down).min(n.saturating_sub(1));
        }
        // Prompts, the form and confirmations ignore the wheel.
        _ => return,
    }
    s.dirty = true;
}

fn click(s: &mut State, column: u16, row: u16) {
    if s.mode != Mode::Table {
        return;
    }
    let Some(pos) = s.table_body.get().and_then(|b| b.pos_at(column, row)) else {
        return;
    };
    if pos < s.view.len() {
        s.select_pos(pos);
        s.dirty = true;
    }
}
