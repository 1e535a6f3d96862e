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
            let at = s
                .prompt
                .cursor
                .unwrap_or(usize::MAX)
                .min(s.prompt.input.chars().count());
            let mut spans = vec![
                Span::styled(prompt, t.bold()),
                Span::raw(s.prompt.input.chars().take(at).collect::<String>()),
                Span::styled("▏", t.dim()),
                Span::raw(s.prompt.input.chars().skip(at).collect::<String>()),
            ];
            if let Some(e) = &s.prompt.error {
                spans.push(Span::styled(format!("  ✗ {e}"), t.error()));
            }
            Line::from(spans)
        }
        _ => {
            // Marked rows are counted first, so the count is never cut off.
            let mut spans = Vec::new();
            if !s.table.marked.is_empty() {
                spans.push(Span::styled(
                    format!("* {} marked (d untracks, u clears)", s.table.marked.len()),
                    t.bold(),
                ));
                spans.push(Span::raw("  "));
            }
            spans.push(match &s.status.flash {
                Some(m) => {
                    let (prefix, style) = match m.level {
                        crate::ui::msg::Level::Info => ("", t.accent()),
                        crate::ui::msg::Level::Warn => ("⚠ ", t.fg(ratatui::style::Color::Yellow)),
                        crate::ui::msg::Level::Error => ("✗ ", t.error()),
                    };
                    Span::styled(format!("{prefix}{}", m.text), style)
                }
                None => Span::styled(keymap::footer_hints(s.cfg.readonly).join("  "), t.dim()),
            });
            Line::from(spans)
        }
    };
    f.render_widget(Paragraph::new(line), area);
}
