//! The package log browser pane (`L`).

#[allow(unused_imports)]
use super::*;
use crate::text::clean;

/// The browser's log; `is_tracked` says which of its records the table tracks.
pub(super) fn draw_log(
    logs: &crate::ui::logview::LogBrowser,
    is_tracked: impl Fn(&crate::ids::RecordRef) -> bool,
    t: &Theme,
    f: &mut Frame,
    area: Rect,
) {
    let name = logs
        .package
        .clone()
        .or_else(|| logs.log_id.map(|l| l.short(16)))
        .unwrap_or_default();
    let inner = overlay(
        f,
        area,
        &format!("Package log {} (Enter tracks, Esc closes)", clean(&name)),
        96,
        92,
    );
    let mut lines: Vec<Line> = Vec::new();
    match &logs.view {
        None => lines.push(Line::from(Span::styled(
            "◌ fetching, validating and proving the log…",
            t.dim(),
        ))),
        Some(Err(e)) => lines.push(Line::from(Span::styled(
            format!("✗ {}", clean(e)),
            t.error(),
        ))),
        Some(Ok(v)) => {
            lines.push(match &v.status {
                Ok(()) => Line::from(Span::styled(
                    format!(
                        "✔ proven: the chain validates and its head is in the verified log ({} records)",
                        v.records.len()
                    ),
                    t.ok(),
                )),
                Err(e) => Line::from(Span::styled(format!("⚠ NOT PROVEN: {}", clean(e)), t.error())),
            });
            lines.push(Line::from(Span::styled(
                format!(
                    "{:>4} {:>7}  {:<14} {:<20} {:<16} WHAT",
                    "#", "INDEX", "RECORD", "TIME", "SIGNER"
                ),
                t.bold(),
            )));
            let room = (inner.height as usize).saturating_sub(2).max(1);
            let first = logs.selected.saturating_sub(room.saturating_sub(1));
            for (i, r) in v.records.iter().enumerate().skip(first).take(room) {
                let tracked = is_tracked(&crate::ids::RecordRef::new(v.log_id, r.record_id));
                let line = format!(
                    "{:>4} {:>7}  {:<14} {:<20} {:<16} {}{}",
                    r.index,
                    r.registry_index,
                    r.record_id.short(12),
                    fmt_time(r.time_secs.saturating_mul(1000)),
                    r.signer.short(12),
                    clean(&crate::trust::package::describe(r)),
                    if tracked { "  (tracked)" } else { "" }
                );
                let style = if i == logs.selected {
                    t.selected()
                } else {
                    Style::default()
                };
                lines.push(Line::from(Span::styled(line, style)));
            }
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}
