//! The publish form pane.

#[allow(unused_imports)]
use super::*;

pub(super) fn draw_form(form: &crate::ui::form::Form, t: &Theme, f: &mut Frame, area: Rect) {
    match &form.step {
        Step::Review(p) if !form.confirm_quit => {
            let inner = overlay(f, area, "Review: exactly what will be signed", 90, 80);
            let kv = |k: &str, v: String| {
                Line::from(vec![
                    Span::styled(format!("{k:<11}"), t.bold()),
                    Span::raw(v),
                ])
            };
            let mut lines = Vec::new();
            if let Some(l) = rebuild_line(form, t) {
                lines.push(l);
            }
            lines.extend([
                kv("package", p.package.to_string()),
                kv("log ID", p.log_id.to_string()),
                kv(
                    "prev",
                    p.head
                        .map(|h| h.to_string())
                        .unwrap_or_else(|| "none (first record of the log)".into()),
                ),
                kv(
                    "timestamp",
                    format!(
                        "{} ({}.{:09})",
                        fmt_time(p.content.time.seconds * 1000),
                        p.content.time.seconds,
                        p.content.time.nanos
                    ),
                ),
                kv(
                    "key ID",
                    form.signer()
                        .map(|k| format!("{} ({}, {})", k.key_id, k.name, k.algorithm))
                        .unwrap_or_else(|| "none".into()),
                ),
                Line::from(Span::styled("entries:", t.bold())),
            ]);
            for (i, e) in p.content.entries.iter().enumerate() {
                lines.push(Line::from(format!("  {}. {e}", i + 1)));
            }
            for w in &p.warnings {
                lines.push(Line::from(Span::styled(
                    format!("⚠ {}", crate::text::clean(w)),
                    t.error(),
                )));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(vec![
                Span::styled("Enter", t.bold()),
                Span::raw(" sign and submit   "),
                Span::styled("Esc", t.bold()),
                Span::raw(" back to the form"),
            ]));
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            return;
        }
        Step::Submitting(progress) if !form.confirm_quit => {
            let inner = overlay(f, area, "Submitting", 80, 50);
            let mut lines: Vec<Line> = progress.iter().map(|p| Line::from(p.clone())).collect();
            lines.push(Line::from(Span::styled("…", t.dim())));
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            return;
        }
        _ => {}
    }
    let inner = overlay(f, area, "Publish a package record", 90, 90);
    let mut lines = Vec::new();
    if let Some(l) = rebuild_line(form, t) {
        lines.push(l);
    }
    let focused = form.focused();
    for field in form.fields() {
        let is_focus = field == focused;
        let marker = if is_focus { "▸ " } else { "  " };
        let value = match field {
            Field::Kind => format!(
                "◂ {} ▸   ({})",
                form.kind.name(),
                EntryKind::ALL.map(|k| k.name()).join(" / ")
            ),
            Field::Signer => match form.signer() {
                Some(k) => format!("◂ {} ({}) ▸", k.name, k.algorithm),
                None => "none — Ctrl-G generates an ecdsa-p256 key".into(),
            },
            Field::Permissions => format!("◂ {} ▸", form.permissions.name()),
            other => format!("{}{}", form.text(other), if is_focus { "▏" } else { "" }),
        };
        let value_style = if is_focus {
            t.selected()
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::raw(marker),
            Span::styled(format!("{:<13}", field.label()), t.bold()),
            Span::styled(value, value_style),
        ]));
        let hint = form.check(field, &form.keys);
        if field == Field::Package && form.prefilled {
            lines.push(Line::from(Span::styled(
                "               from the selected row: type to replace",
                t.dim(),
            )));
        }
        let show_err = !form.text(field).is_empty() || !field.is_text() || form.error.is_some();
        match hint {
            Ok(h) if !h.is_empty() => lines.push(Line::from(Span::styled(
                format!("               {h}"),
                t.dim(),
            ))),
            Err(e) if show_err => lines.push(Line::from(Span::styled(
                format!("               ✗ {e}"),
                t.error(),
            ))),
            _ => {}
        }
        if let (Field::File, Some(c)) = (field, &form.completion) {
            let text = match &c.error {
                Some(e) => format!("               ✗ {e}"),
                None => format!(
                    "               {}{}",
                    c.candidates.join("  "),
                    if c.more > 0 {
                        format!("  (+{} more)", c.more)
                    } else {
                        String::new()
                    }
                ),
            };
            let style = if c.error.is_some() {
                t.error()
            } else {
                t.dim()
            };
            lines.push(Line::from(Span::styled(text, style)));
        }
    }
    if !form.staged.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "staged entries (signed together with the one above):",
            t.bold(),
        )));
        for (i, e) in form.staged.iter().enumerate() {
            lines.push(Line::from(format!("  {}. {e}", i + 1)));
        }
    }
    lines.push(Line::from(""));
    if matches!(form.step, Step::Preparing) {
        lines.push(Line::from(Span::styled(
            "fetching the log head and building the record…",
            t.accent(),
        )));
    }
    if let Some(name) = &form.key_name {
        lines.push(Line::from(vec![
            Span::styled("New key name: ", t.bold()),
            Span::styled(format!("{name}▏"), t.selected()),
            Span::styled("  Enter generates an ecdsa-p256 key · Esc cancels", t.dim()),
        ]));
    }
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(format!("✗ {e}"), t.error())));
    }
    if form.confirm_quit {
        lines.push(Line::from(Span::styled(
            "quit and discard the draft? y/n",
            t.error(),
        )));
    } else if let Some(r) = form.confirm_rebuild {
        lines.push(Line::from(Span::styled(
            format!(
                "replace this draft with a rebuild of record {}…? y/n",
                r.record.short(12)
            ),
            t.error(),
        )));
    }
    lines.push(Line::from(Span::styled(
        "Tab/↓ next · ←/→ change · Ctrl-N add entry · Ctrl-G new key · Ctrl-S review · Esc back",
        t.dim(),
    )));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// "rebuilds sha256:… (rejected: reason)" for a record rebuilt from a rejected one.
fn rebuild_line(form: &super::super::form::Form, t: &Theme) -> Option<Line<'static>> {
    let (r, reason) = form.rebuilds.as_ref()?;
    Some(Line::from(Span::styled(
        format!("rebuilds {} (rejected: {reason})", r.record),
        t.accent(),
    )))
}
