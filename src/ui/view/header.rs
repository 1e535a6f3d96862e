//! The header: registry, health, checkpoint, counts; and the empty-table splash.

#[allow(unused_imports)]
use super::*;

pub(super) fn draw_header(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let mut l1 = vec![Span::styled("wargdash ", t.bold())];
    if s.table.frozen {
        // First on the line, so it is never cut off at 80 columns.
        l1.push(Span::styled(
            format!(
                "❄ FROZEN: {} updates wait, f resumes",
                s.table.frozen_waiting()
            ),
            t.selected(),
        ));
        l1.push(Span::raw(" "));
    }
    l1.extend([
        Span::raw("registry "),
        Span::styled(s.cfg.registry.clone(), t.accent()),
        Span::raw("  "),
    ]);
    l1.extend(trust_spans(s, t));
    if s.cfg.sandbox {
        l1.push(Span::styled(
            "  [SANDBOX: records vanish on exit]",
            t.fg(ratatui::style::Color::Yellow),
        ));
    }
    if s.cfg.readonly {
        l1.push(Span::styled("  [READ-ONLY]", t.bold()));
    }

    let mut l2 = Vec::new();
    let h = &s.status.health;
    if h.down {
        let retry = h
            .retry_at
            .map(|at| format!(" · retry in {}", ago(at - s.now)));
        let last_ok = h
            .last_ok
            .map(|ok| format!(" · last ok {} ago", ago(s.now - ok)));
        l2.push(Span::styled("● DOWN", t.error()));
        if let Some(e) = &h.last_error {
            // The error gets the room the countdown leaves, so both stay on screen.
            let room = (area.width as usize).saturating_sub(
                "● DOWN ".chars().count()
                    + retry.as_ref().map_or(0, |r| r.chars().count())
                    + last_ok.as_ref().map_or(0, |l| l.chars().count()),
            );
            l2.push(Span::raw(format!(" {}", fit(e, room))));
        }
        if let Some(retry) = retry {
            l2.push(Span::raw(retry));
        }
        if let Some(last_ok) = last_ok {
            l2.push(Span::styled(last_ok, t.dim()));
        }
    } else if let Some(ok) = h.last_ok {
        l2.push(Span::styled("● up", t.ok()));
        l2.push(Span::raw(format!(" · contact {} ago", ago(s.now - ok))));
        if let Some(lat) = h.latency {
            l2.push(Span::raw(format!(
                " · {:.1} ms",
                lat.as_secs_f64() * 1000.0
            )));
        }
    } else {
        l2.push(Span::styled("○ connecting…", t.dim()));
    }
    match s.status.checkpoint {
        Some((len, ts)) => l2.push(Span::raw(format!(
            " · checkpoint: log length {len}, {} old",
            // A hostile timestamp (up to u64::MAX seconds) must not overflow: saturate.
            ago(s
                .now
                .saturating_sub(i64::try_from(ts).unwrap_or(i64::MAX).saturating_mul(1000)))
        ))),
        None => l2.push(Span::styled(" · checkpoint: none yet", t.dim())),
    }
    l2.push(Span::raw(format!(
        " · poll every {}s",
        s.cfg.interval.as_secs_f64()
    )));
    let counts = s.table.counts();
    // Where the selection is, always first on the line: `31/303`.
    let mut l3 = vec![
        Span::styled(
            format!(
                "{}/{}",
                s.table.selected_pos().map_or(0, |p| p + 1),
                s.table.view.len()
            ),
            t.bold(),
        ),
        Span::raw("  "),
    ];
    for kind in StateKind::ALL {
        let n = counts.get(&kind).copied().unwrap_or(0);
        if n == 0 && matches!(kind, StateKind::Error | StateKind::Unknown) {
            continue;
        }
        let (g, st) = t.state(kind);
        let name = kind.name();
        l3.push(Span::styled(format!("{g} {name} {n}"), st));
        l3.push(Span::raw("  "));
    }
    l3.push(Span::styled(
        format!("· {} tracked", s.table.rows.len()),
        t.dim(),
    ));
    if !s.table.filter.is_empty() {
        l3.push(Span::raw(format!(
            " · filter \"{}\" ({} shown)",
            crate::text::clean(&s.table.filter),
            s.table.view.len()
        )));
    }
    f.render_widget(
        Paragraph::new(vec![Line::from(l1), Line::from(l2), Line::from(l3)]),
        area,
    );
}

use crate::trust::alerts::AlertKind;

/// Trust in words: `✔ verified L=12 3s · operator sha256:1a2b… (TOFU)`, or `⚠ ALERT KIND`
/// with a count, in the alert style.
pub(super) fn trust_spans(s: &State, t: &Theme) -> Vec<Span<'static>> {
    let active = s.trust.active();
    if let Some((kind, _)) = active.first() {
        let more = if active.len() > 1 {
            format!(" (+{} more)", active.len() - 1)
        } else {
            String::new()
        };
        let mut spans = vec![Span::styled(
            format!("⚠ ALERT {}{more} · A for details", kind.as_str()),
            t.error(),
        )];
        // History in question: what is shown proven stands on the last verified checkpoint.
        let history = active.iter().any(|(k, _)| {
            matches!(
                k,
                AlertKind::Fork | AlertKind::Rewind | AlertKind::LedgerMismatch
            )
        });
        if let (true, Some((r, _))) = (history, &s.trust.report) {
            spans.push(Span::styled(
                format!(
                    " · proofs as of the last verified checkpoint (L={})",
                    r.ledger_len
                ),
                t.dim(),
            ));
        }
        return spans;
    }
    match (&s.trust.report, &s.trust.failed) {
        (Some((r, _)), None) if r.ledger_pending.is_some() => {
            let (done, of) = r.ledger_pending.unwrap_or_default();
            vec![Span::styled(
                format!(
                    "◌ verifying… ledger {done}/{of} entries ({}%)",
                    done.min(of) * 100 / of.max(1)
                ),
                t.dim(),
            )]
        }
        (Some((r, _)), None) if r.incomplete.is_some() => vec![Span::styled(
            format!(
                "○ unverified: {}",
                crate::text::clean(r.incomplete.as_deref().unwrap_or_default())
            ),
            t.dim(),
        )],
        (Some((r, at)), None) => {
            let pin = match r.pin.map(|p| p.as_str()) {
                Some("tofu") | None => "TOFU",
                Some(_) => "pinned",
            };
            let key = r
                .operator_key_id
                .map(|k| format!("{}…", &k.to_string()[..15]))
                .unwrap_or_else(|| "?".into());
            let mut spans = vec![
                Span::styled("✔ verified", t.ok()),
                Span::raw(format!(
                    " L={} {} · operator {key} ({pin})",
                    r.log_length,
                    ago(s.now - at)
                )),
            ];
            // Peer monitors that agree with this view (their disagreement is an alert).
            if let Some(w) = &s.trust.witness {
                let style = if w.agree == w.total { t.ok() } else { t.dim() };
                spans.push(Span::styled(
                    format!(" · witnessed {}/{}", w.agree, w.total),
                    style,
                ));
            }
            spans
        }
        // The outage itself is said once, on the next line.
        (_, Some(_)) if s.status.health.down => {
            vec![Span::styled("○ unverified (registry down)", t.dim())]
        }
        (_, Some(e)) => vec![Span::styled(format!("○ unverified: {e}"), t.dim())],
        (None, None) => match s.trust.progress {
            // A long first ledger sync: how far it got.
            Some((done, of)) if of > 0 => vec![Span::styled(
                format!(
                    "◌ verifying… ledger {done}/{of} entries ({}%)",
                    done.min(of) * 100 / of
                ),
                t.dim(),
            )],
            _ => vec![Span::styled("◌ verifying…", t.dim())],
        },
    }
}

pub(super) fn draw_splash(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::from(""),
        Line::from(Span::styled("No tracked records yet.", t.bold())),
        Line::from(""),
    ];
    if !s.cfg.readonly {
        lines.push(Line::from(
            "  p        publish a record (init, release, yank, grant, revoke)",
        ));
    }
    lines.extend([
        Line::from("  a        track a record: LOG_ID RECORD_ID, or NS:NAME RECORD_ID"),
        Line::from("  ?        all keys"),
        Line::from(""),
        Line::from(Span::styled(
            "From another shell: wargdash track add LOG_ID RECORD_ID",
            t.dim(),
        )),
    ]);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP)),
        area,
    );
}
