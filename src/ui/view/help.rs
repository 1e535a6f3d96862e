//! The help overlay, generated from the key map.

#[allow(unused_imports)]
use super::*;

pub(super) fn draw_help(
    help: &crate::ui::help::HelpPane,
    readonly: bool,
    t: &Theme,
    f: &mut Frame,
    area: Rect,
) {
    let inner = overlay(f, area, "Keys (Esc closes, j/k scrolls)", 80, 90);
    let mut lines: Vec<Line> = keymap::help_lines(readonly)
        .into_iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), t.bold()),
                Span::raw(d),
            ])
        })
        .collect();
    for (title, list) in [
        ("Commands (:)", keymap::COMMANDS),
        ("Filter (/)", keymap::FILTER_HELP),
        ("Mouse", keymap::MOUSE_HELP),
    ] {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(title, t.bold())));
        for (k, d) in list {
            lines.push(Line::from(vec![
                Span::styled(format!("{k:>26}  "), t.bold()),
                Span::raw(*d),
            ]));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Glyphs", t.bold())));
    for (name, glyph, meaning) in crate::ui::theme::STATES {
        let (_, style) = t.state_named(name);
        lines.push(Line::from(vec![
            Span::styled(format!("{:>16}  ", format!("{glyph} {name}")), style),
            Span::raw(*meaning),
        ]));
    }
    for (glyph, meaning) in crate::ui::theme::GLYPHS {
        lines.push(Line::from(vec![
            Span::styled(format!("{glyph:>16}  "), t.bold()),
            Span::raw(*meaning),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Detail pane", t.bold())));
    for (k, d, _) in keymap::DETAIL_BINDINGS {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:>16}  "), t.bold()),
            Span::raw(*d),
        ]));
    }
    if !readonly {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("Publish form", t.bold())));
        for (k, d) in keymap::FORM_BINDINGS {
            lines.push(Line::from(vec![
                Span::styled(format!("{k:>16}  "), t.bold()),
                Span::raw(*d),
            ]));
        }
    }
    // Scrolls when it does not fit (80×24 shows about 16 lines).
    let room = inner.height as usize;
    let skip = help.scroll.clamp(lines.len().saturating_sub(room));
    let more = lines.len() > skip + room;
    let mut lines: Vec<Line> = lines.into_iter().skip(skip).take(room).collect();
    if more {
        if let Some(last) = lines.last_mut() {
            *last = Line::from(Span::styled("  … more below (j / PgDn)", t.dim()));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}
