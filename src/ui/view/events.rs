//! The events pane (`e`): state changes of the tracked records and trust alerts, newest first,
//! from the store (so it survives a restart).

#[allow(unused_imports)]
use super::*;
use crate::text::clean;

pub(super) fn draw_events(
    pane: &crate::ui::events::EventsPane,
    alerts: &[crate::trust::db::StoredAlert],
    t: &Theme,
    f: &mut Frame,
    area: Rect,
) {
    let inner = overlay(f, area, "Events (Esc closes, j/k scrolls)", 94, 90);
    // State changes and alerts merged by time, newest first.
    let mut items: Vec<(i64, Line)> = Vec::new();
    for e in &pane.events {
        let (g, st) = t.state_named(&e.to);
        let from = e.from.clone().unwrap_or_else(|| "new".into());
        items.push((
            e.at,
            Line::from(vec![
                Span::raw(format!("{}  ", fmt_time(e.at))),
                Span::styled(
                    format!("{:<22}", clean(e.package.as_deref().unwrap_or("-"))),
                    t.bold(),
                ),
                Span::raw(format!("{}  {} → ", e.record_id.short(12), clean(&from))),
                Span::styled(format!("{g} {}", clean(&e.to)), st),
                Span::styled(
                    if e.detail.is_empty() {
                        String::new()
                    } else {
                        format!("  {}", clean(&e.detail))
                    },
                    t.dim(),
                ),
            ]),
        ));
    }
    for a in alerts {
        items.push((
            a.time_ms,
            Line::from(vec![
                Span::raw(format!("{}  ", fmt_time(a.time_ms))),
                Span::styled(format!("⚠ {}", a.alert.kind.as_str()), t.error()),
                Span::raw(format!("  {}", clean(&a.alert.detail))),
            ]),
        ));
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.0));
    let lines: Vec<Line> = if items.is_empty() {
        vec![Line::from(Span::styled(
            "No state change yet: records appear here as they move (sourcing → processing → published).",
            t.dim(),
        ))]
    } else {
        let skip = pane.scroll.clamp(items.len().saturating_sub(1));
        items.into_iter().map(|(_, l)| l).skip(skip).collect()
    };
    f.render_widget(Paragraph::new(lines), inner);
}
