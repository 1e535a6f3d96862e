//! The pulse strip (`P`): two sparklines above the footer, one column a minute, newest at the
//! right — records published per minute, and the median submit → published latency of this
//! app's records — with their figures (total, p50/p95) at the right.

#[allow(unused_imports)]
use super::*;
use ratatui::widgets::{RenderDirection, Sparkline, SparklineBar};

/// Width of the labels at the left and of the figures at the right.
const LABEL: u16 = 16;
const FIGURES: u16 = 28;

/// The last `n` values of `v` (the newest minutes), newest first: drawn right to left, the
/// newest minute sits next to the figures whatever the width.
fn newest<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    v[v.len().saturating_sub(n)..]
        .iter()
        .rev()
        .cloned()
        .collect()
}

/// `1m05s`, `12s`: a latency as the table writes ages.
fn latency(ms: u64) -> String {
    ago(i64::try_from(ms).unwrap_or(i64::MAX))
}

pub(super) fn draw_pulse(
    pulse: &crate::ui::pulse::PulseView,
    t: &Theme,
    f: &mut Frame,
    area: Rect,
) {
    let rows = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).split(area);
    let Some(p) = &pulse.data else {
        f.render_widget(
            Paragraph::new(Span::styled("pulse: reading the store…", t.dim())),
            rows[0],
        );
        return;
    };
    let minutes = p.minutes();
    let p50 = p.p50().map_or("-".into(), latency);
    let p95 = p.p95().map_or("-".into(), latency);
    let lines = [
        (
            "published/min",
            p.published
                .iter()
                .map(|n| SparklineBar::from(*n))
                .collect::<Vec<_>>(),
            format!("{} in {minutes} min", p.total()),
            t.ok(),
        ),
        (
            "submit→publish",
            p.latency
                .iter()
                .map(|l| SparklineBar::from(*l))
                .collect::<Vec<_>>(),
            if p.latencies.is_empty() {
                "none of yours".to_string()
            } else {
                format!("p50 {p50} p95 {p95}")
            },
            t.accent(),
        ),
    ];
    for (row, (label, data, figures, style)) in rows.iter().zip(lines) {
        let [l, spark, fig] = Layout::horizontal([
            Constraint::Length(LABEL),
            Constraint::Min(1),
            Constraint::Length(FIGURES),
        ])
        .areas(*row);
        f.render_widget(Paragraph::new(Span::styled(label, t.bold())), l);
        f.render_widget(
            Sparkline::default()
                .data(newest(&data, spark.width as usize))
                .direction(RenderDirection::RightToLeft)
                .absent_value_symbol(" ")
                .style(style),
            spark,
        );
        f.render_widget(Paragraph::new(format!(" {figures}")), fig);
    }
}
