//! The dashboard drawn into ratatui's `TestBackend`, and the screen as text.
#![allow(dead_code)]

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use wargdash::ui::app::State;
use wargdash::ui::view;

/// Draws the real view of `s` on a `w`×`h` test terminal (the page size set as the runtime does,
/// the pulse strip taken into account).
pub fn render(s: &mut State, w: u16, h: u16) -> Terminal<TestBackend> {
    s.table.page = wargdash::ui::pulse::page_size(&s.pulse, h);
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| view::draw(s, f)).expect("draw");
    t
}

/// The screen's text, one line per row, trailing spaces trimmed.
pub fn text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
