//! The help overlay, generated from the key map.

#[allow(unused_imports)]
use super::*;

pub(super) fn draw_help(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let inner = overlay(f, area, "Keys (Esc closes)", 80, 90);
    let mut lines: Vec<Line> = keymap::help_lines(s.cfg.readonly)
        .into_iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), t.bold()),
                Span::raw(d),
            ])
        })
        .collect();
    if !s.cfg.readonly {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("Publish form", t.bold())));
        for (k, d) in keymap::FORM_BINDINGS {
            lines.push(Line::from(vec![
                Span::styled(format!("{k:>16}  "), t.bold()),
                Span::raw(*d),
            ]));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}
