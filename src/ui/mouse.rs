//! The mouse (captured unless `--no-mouse`): a left click on a table row selects it; the wheel
//! moves the selection three rows in the table and scrolls the overlays (help, detail, alerts,
//! package log, events) three lines. Where the table's rows are is here; the reducer routes
//! the events (`app::commands::on_mouse`).

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

/// The wheel's step: down `WHEEL_STEP` lines or rows, or up.
pub fn wheel_step(down: bool) -> isize {
    if down {
        WHEEL_STEP as isize
    } else {
        -(WHEEL_STEP as isize)
    }
}
