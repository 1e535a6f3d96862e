//! The detail pane of the selected record.

#[allow(unused_imports)]
use super::*;
use crate::text::clean;

/// The pane for `row` (the selected one), with what the verifier knows of it.
pub(super) fn draw_detail(
    pane: &crate::ui::detail::DetailPane,
    row: Option<&Row>,
    trust: &crate::ui::trust::TrustView,
    readonly: bool,
    t: &Theme,
    f: &mut Frame,
    area: Rect,
) {
    let inner = overlay(
        f,
        area,
        "Record detail (Esc closes · j/k PgDn scroll · n/N next/previous record)",
        92,
        90,
    );
    let Some(r) = row else { return };
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<12}"), t.bold()),
            Span::raw(clean(&v).into_owned()),
        ])
    };
    let kind = r.state_kind();
    let (glyph, style) = t.state(kind);
    let name = kind.name();
    let mut lines = vec![
        kv(
            "package",
            r.tracked
                .package
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        ),
        kv("log ID", r.tracked.log_id.to_string()),
        kv("record ID", r.tracked.record_id.to_string()),
        kv("origin", format!("{:?}", r.tracked.origin).to_lowercase()),
        kv(
            "record time",
            match (r.record_ms, trust.did.contains_key(&r.key())) {
                (Some(ms), true) => format!("{} (signed in the record)", fmt_time(ms)),
                (Some(ms), false) => format!("{} (signed by this app)", fmt_time(ms)),
                (None, _) => "not known until its package log is proven".into(),
            },
        ),
        kv("tracked", fmt_time(r.tracked.added_at)),
        kv(
            "polled",
            r.tracked
                .polled_at
                .map(fmt_time)
                .unwrap_or_else(|| "never".into()),
        ),
        Line::from(vec![
            Span::styled(format!("{:<12}", "state"), t.bold()),
            Span::styled(format!("{glyph} {name}"), style),
        ]),
    ];
    match &r.state {
        Some(crate::registry::RecordState::Rejected { reason }) => {
            lines.push(Line::from(Span::styled("rejection reason:", t.bold())));
            lines.push(Line::from(Span::styled(
                clean(reason).into_owned(),
                t.error(),
            )));
            if crate::ui::table::needs_rebuild(r) && !readonly {
                lines.push(Line::from(Span::styled(
                    "⟲ the log's head moved after this record was built (another record was published first); press b to rebuild it on the new head",
                    t.accent(),
                )));
            }
        }
        Some(crate::registry::RecordState::Published { registry_index }) => {
            lines.push(kv("reg. index", registry_index.to_string()));
            use crate::trust::records::Proof;
            let (text, style) = match trust.proof(&r.key()) {
                Some(Proof::Proven { .. }) => (
                    "✔ proven in the latest verified checkpoint".to_string(),
                    t.ok(),
                ),
                Some(Proof::NotIncluded { detail }) => {
                    (format!("✗ NOT INCLUDED: {}", clean(detail)), t.error())
                }
                Some(p @ Proof::Claimed { .. }) => (
                    format!(
                        "{} — the registry's claim, not proven",
                        p.claim_text().unwrap_or_default()
                    ),
                    t.dim(),
                ),
                _ => (
                    "not checked yet (the verifier's first cycle)".to_string(),
                    t.dim(),
                ),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{:<12}", "proof"), t.bold()),
                Span::styled(text, style),
            ]));
        }
        _ => {}
    }
    let missing = r.missing();
    if !missing.is_empty() {
        lines.push(Line::from(Span::styled("missing content:", t.bold())));
        for (digest, urls) in missing {
            lines.push(Line::from(format!("  {digest}")));
            for u in urls {
                lines.push(Line::from(Span::styled(
                    format!("    upload → {}", clean(&u)),
                    t.dim(),
                )));
            }
        }
    }
    if let Some(e) = &r.error {
        lines.push(kv("last error", e.clone()));
    }
    if let Some((_, link)) = pane.link.as_ref().filter(|(k, _)| *k == r.key()) {
        lines.push(kv(
            "rebuilds",
            format!("{} (rejected: {})", link.original, link.reason),
        ));
    }
    if let Some(rec) = trust.did.get(&r.key()) {
        lines.push(kv("signer", rec.signer.to_string()));
        lines.push(kv("log index", rec.index.to_string()));
        lines.push(Line::from(Span::styled(
            "entries (validated log):",
            t.bold(),
        )));
        for (i, e) in rec.entries.iter().enumerate() {
            lines.push(Line::from(format!(
                "  {}. {}",
                i + 1,
                clean(&e.to_string())
            )));
        }
    }
    if let Some(entries) = &r.tracked.entries {
        lines.push(Line::from(Span::styled("signed entries:", t.bold())));
        for (i, e) in entries.iter().enumerate() {
            lines.push(Line::from(format!("  {}. {e}", i + 1)));
        }
    }
    if let Some((key, hist)) = &pane.history {
        if *key == r.key() && !hist.is_empty() {
            lines.push(Line::from(Span::styled("history:", t.bold())));
            for h in hist {
                let (g, st) = t.state_named(&h.state);
                lines.push(Line::from(vec![
                    Span::raw(format!("  {}  ", fmt_time(h.at))),
                    Span::styled(format!("{g} {}", clean(&h.state)), st),
                    Span::raw(if h.detail.is_empty() {
                        String::new()
                    } else {
                        format!("  {}", clean(&h.detail))
                    }),
                ]));
            }
        }
    }
    if let Some(resp) = r.response() {
        lines.push(Line::from(Span::styled("latest response:", t.bold())));
        for l in serde_json::to_string_pretty(&resp)
            .unwrap_or_default()
            .lines()
        {
            lines.push(Line::from(format!("  {}", clean(l))));
        }
    }
    // Wrapped here, so the pane knows how far it scrolls (80×24 shows ~18 lines).
    let lines = wrap(lines, inner.width as usize);
    let room = inner.height as usize;
    let max = lines.len().saturating_sub(room);
    let skip = pane.scroll.clamp(max);
    let more_below = lines.len() > skip + room;
    let mut lines: Vec<Line> = lines.into_iter().skip(skip).take(room).collect();
    if skip > 0 {
        if let Some(first) = lines.first_mut() {
            *first = Line::from(Span::styled(
                format!("  … {skip} lines above (k / PgUp)"),
                t.dim(),
            ));
        }
    }
    if more_below {
        if let Some(last) = lines.last_mut() {
            *last = Line::from(Span::styled("  … more below (j / PgDn)", t.dim()));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// Hard-wraps `lines` at `width` columns, keeping each span's style.
fn wrap(lines: Vec<Line>, width: usize) -> Vec<Line<'static>> {
    use unicode_width::UnicodeWidthChar;
    let width = width.max(1);
    let mut out = Vec::new();
    for line in lines {
        let mut cur: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for span in line.spans {
            let mut piece = String::new();
            for c in span.content.chars() {
                let w = c.width().unwrap_or(0);
                if used + w > width {
                    if !piece.is_empty() {
                        cur.push(Span::styled(std::mem::take(&mut piece), span.style));
                    }
                    out.push(Line::from(std::mem::take(&mut cur)));
                    used = 0;
                }
                piece.push(c);
                used += w;
            }
            if !piece.is_empty() {
                cur.push(Span::styled(piece, span.style));
            }
        }
        out.push(Line::from(cur));
    }
    out
}
