//! The alerts pane (`A`): each alert with what it means, what to do, and its evidence.

#[allow(unused_imports)]
use super::*;
use crate::text::clean;

pub(super) fn draw_alerts(
    trust: &crate::ui::trust::TrustView,
    t: &Theme,
    f: &mut Frame,
    area: Rect,
) {
    let inner = overlay(f, area, "Trust alerts (Esc closes, j/k scrolls)", 94, 92);
    let mut lines: Vec<Line> = Vec::new();
    let active = trust.active();
    if let Some((r, _)) = &trust.report {
        if let Some(e) = &r.explanation {
            lines.push(Line::from(Span::styled("What this looks like:", t.bold())));
            lines.push(Line::from(clean(e).into_owned()));
            lines.push(Line::from(""));
        }
    }
    if active.is_empty() {
        lines.push(Line::from(Span::styled(
            "No alert in force: the latest cycle verified.",
            t.ok(),
        )));
        lines.push(Line::from(""));
    }
    // Stored alerts, newest first: one row per attack, with how often and when it was seen.
    for a in &trust.stored {
        let mut head = vec![
            Span::styled(format!("⚠ {}", a.alert.kind.as_str()), t.error()),
            Span::raw(format!("  {}", fmt_time(a.time_ms))),
        ];
        if a.count > 1 {
            head.push(Span::styled(
                format!("  (seen {}×, last {})", a.count, fmt_time(a.last_ms)),
                t.dim(),
            ));
        }
        lines.push(Line::from(head));
        lines.push(Line::from(format!("  {}", clean(&a.alert.detail))));
        lines.push(Line::from(vec![
            Span::styled("  means: ", t.bold()),
            Span::raw(a.alert.kind.meaning()),
        ]));
        lines.push(Line::from(vec![
            Span::styled("  do:    ", t.bold()),
            Span::raw(a.alert.kind.what_to_do()),
        ]));
        match trust.evidence.get(&a.id) {
            Some(ev) => {
                lines.push(Line::from(Span::styled("  evidence:", t.bold())));
                for l in ev {
                    lines.push(Line::from(Span::styled(format!("    {l}"), t.dim())));
                }
            }
            None => lines.push(Line::from(Span::styled(
                "  evidence: wargdash alerts --json",
                t.dim(),
            ))),
        }
        lines.push(Line::from(""));
    }
    let skip = trust.scroll.clamp(lines.len().saturating_sub(1));
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
