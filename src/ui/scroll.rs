//! One scroll position for every scrolling overlay (help, events, alerts, detail) and the
//! mouse wheel over them (gitui's `VerticalScroll`): the first line shown, clamped to the last
//! position that still shows content. The view sets that limit when it draws (it knows the
//! content's length and the page); keys and the wheel move within it.

use crossterm::event::KeyCode;
use std::cell::Cell;

#[derive(Debug, Clone)]
pub struct Scroll {
    top: usize,
    /// The last useful first line (set by the view each frame; unbounded until drawn).
    max: Cell<usize>,
}

impl Default for Scroll {
    fn default() -> Self {
        Self {
            top: 0,
            max: Cell::new(usize::MAX),
        }
    }
}

impl Scroll {
    /// The first line shown.
    pub fn top(&self) -> usize {
        self.top.min(self.max.get())
    }

    /// The last useful first line, as last drawn.
    pub fn max(&self) -> usize {
        self.max.get()
    }

    /// Back to the top.
    pub fn reset(&mut self) {
        self.top = 0;
    }

    /// Down `n` lines (up when negative).
    pub fn by(&mut self, n: isize) {
        if n < 0 {
            self.up(n.unsigned_abs());
        } else {
            self.down(n.unsigned_abs());
        }
    }

    pub fn down(&mut self, n: usize) {
        self.top = self.top().saturating_add(n).min(self.max.get());
    }

    pub fn up(&mut self, n: usize) {
        self.top = self.top().saturating_sub(n);
    }

    pub fn bottom(&mut self) {
        self.top = self.max.get();
    }

    /// Called by the view: `max` is the last first line that still shows content; returns the
    /// first line to draw.
    pub fn clamp(&self, max: usize) -> usize {
        self.max.set(max);
        self.top()
    }

    /// The scrolling keys every overlay shares: j/k/↓/↑ a line, PgDn/PgUp a `page`, g/Home the
    /// top, G/End the bottom. Returns whether the key was one of them.
    pub fn on_key(&mut self, code: KeyCode, page: usize) -> bool {
        let page = page.max(1);
        match code {
            KeyCode::Char('j') | KeyCode::Down => self.down(1),
            KeyCode::Char('k') | KeyCode::Up => self.up(1),
            KeyCode::PageDown => self.down(page),
            KeyCode::PageUp => self.up(page),
            KeyCode::Char('g') | KeyCode::Home => self.reset(),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_to_what_the_view_said() {
        let mut s = Scroll::default();
        s.down(5);
        assert_eq!(s.top(), 5, "unbounded until drawn");
        assert_eq!(s.clamp(3), 3);
        s.down(10);
        assert_eq!(s.top(), 3);
        s.up(1);
        assert_eq!(s.top(), 2, "one step up from the end moves at once");
        s.bottom();
        assert_eq!(s.top(), 3);
        assert!(s.on_key(KeyCode::Home, 10));
        assert_eq!(s.top(), 0);
        assert!(!s.on_key(KeyCode::Char('x'), 10));
    }
}
