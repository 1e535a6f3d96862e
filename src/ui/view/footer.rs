//! The footer: mode, input line, flash message and key hints.

#[allow(unused_imports)]
use super::*;

pub(super) fn draw_footer(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let line = match s.mode {
        Mode::Filter | Mode::Command | Mode::Track => {
            let prompt = match s.mode {
                Mode::Filter => "/",
                Mode::Command => ":",
                _ => "track (LOG_ID|NS:NAME RECORD_ID): ",
            };
            let mut spans = vec![
                Span::styled(prompt, t.bold()),
                Span::raw(s.input.clone()),
                Span::styled("▏", t.dim()),
            ];
            if let Some(e) = &s.input_error {
                spans.push(Span::styled(format!("  ✗ {e}"), t.error()));
            }
            Line::from(spans)
        }
        _ => match &s.flash {
            Some((m, _)) => Line::from(Span::styled(m.clone(), t.accent())),
            None => {
                let mut hints = vec![
                    "? help",
                    "Enter detail",
                    "a track",
                    "d untrack",
                    "/ filter",
                    ": command",
                    "f freeze",
                    "q quit",
                ];
                if !s.cfg.readonly {
                    hints.insert(1, "p publish");
                }
                Line::from(Span::styled(hints.join("  "), t.dim()))
            }
        },
    };
    f.render_widget(Paragraph::new(line), area);
}
