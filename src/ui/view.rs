//! Drawing: a pure function of [`State`]. Table rows are built only for the visible window.

use super::app::{Mode, Row, SortKey, State};
use super::form::{EntryKind, Field, Step};
use super::keymap;
use super::theme::{ago, Theme};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row as TRow, Table, Wrap};
use ratatui::Frame;

const HEADER_LINES: u16 = 3;

/// Table rows that fit in a terminal of `height` lines (header, column titles and footer aside).
pub fn page_size(height: u16) -> usize {
    height.saturating_sub(HEADER_LINES + 2) as usize
}

/// UTC `YYYY-MM-DD HH:MM:SSZ` from Unix milliseconds.
pub fn fmt_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

pub fn draw(s: &State, f: &mut Frame) {
    let t = Theme { color: s.cfg.color };
    let area = f.area();
    let [header, table, footer] = Layout::vertical([
        Constraint::Length(HEADER_LINES),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(s, &t, f, header);
    if s.rows.is_empty() {
        draw_splash(s, &t, f, table);
    } else {
        draw_table(s, &t, f, table);
    }
    draw_footer(s, &t, f, footer);
    match &s.mode {
        Mode::Help => draw_help(s, &t, f, area),
        Mode::Detail => draw_detail(s, &t, f, area),
        Mode::Form => draw_form(s, &t, f, area),
        Mode::ConfirmUntrack(key) => {
            let r = centered(area, 64, 5);
            f.render_widget(Clear, r);
            let text = vec![
                Line::from(format!("Stop tracking record {}…?", key.1.short(16))),
                Line::from(""),
                Line::from(vec![
                    Span::styled("y", t.bold()),
                    Span::raw(" untrack   any other key: keep"),
                ]),
            ];
            f.render_widget(
                Paragraph::new(text)
                    .block(Block::default().borders(Borders::ALL).title(" Untrack ")),
                r,
            );
        }
        _ => {}
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// `text` in at most `room` characters: when too long, its start (what failed, where) and its
/// end (the root cause) with `…` between.
fn fit(text: &str, room: usize) -> String {
    let n = text.chars().count();
    if n <= room {
        return text.to_string();
    }
    if room < 16 {
        return text.chars().take(room).collect();
    }
    let head = room * 2 / 5;
    let tail = room - head - 1;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(n - tail));
    out
}

fn draw_header(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let mut l1 = vec![
        Span::styled("wargdash ", t.bold()),
        Span::raw("registry "),
        Span::styled(s.cfg.registry.clone(), t.accent()),
    ];
    if s.cfg.sandbox {
        l1.push(Span::styled(
            "  [SANDBOX: local in-memory registry, records vanish on exit]",
            t.fg(ratatui::style::Color::Yellow),
        ));
    }
    if s.cfg.readonly {
        l1.push(Span::styled("  [READ-ONLY]", t.bold()));
    }
    if s.frozen {
        l1.push(Span::styled("  ❄ FROZEN (f to resume) ", t.selected()));
    }
    let mut l2 = Vec::new();
    let h = &s.health;
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
    match s.checkpoint {
        Some((len, ts)) => l2.push(Span::raw(format!(
            " · checkpoint: log length {len}, {} old",
            ago(s.now - (ts as i64) * 1000)
        ))),
        None => l2.push(Span::styled(" · checkpoint: none yet", t.dim())),
    }
    l2.push(Span::raw(format!(
        " · poll every {}s",
        s.cfg.interval.as_secs_f64()
    )));
    let counts = s.counts();
    let mut l3 = Vec::new();
    for name in [
        "published",
        "processing",
        "sourcing",
        "rejected",
        "error",
        "unknown",
    ] {
        let n = counts.get(name).copied().unwrap_or(0);
        if n == 0 && matches!(name, "error" | "unknown") {
            continue;
        }
        let (g, st) = t.state(name);
        l3.push(Span::styled(format!("{g} {name} {n}"), st));
        l3.push(Span::raw("  "));
    }
    l3.push(Span::styled(format!("· {} tracked", s.rows.len()), t.dim()));
    if !s.filter.is_empty() {
        l3.push(Span::raw(format!(
            " · filter \"{}\" ({} shown)",
            s.filter,
            s.view.len()
        )));
    }
    f.render_widget(
        Paragraph::new(vec![Line::from(l1), Line::from(l2), Line::from(l3)]),
        area,
    );
}

fn draw_splash(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
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

fn sort_title(s: &State, key: SortKey, title: &str) -> String {
    if s.sort == key {
        format!("{title}{}", if s.ascending { "▲" } else { "▼" })
    } else {
        title.to_string()
    }
}

fn table_row<'a>(s: &State, t: &Theme, r: &'a Row, selected: bool) -> TRow<'a> {
    let name = r.state_name();
    let (glyph, style) = t.state(name);
    let detail = r.detail();
    let detail_style = if name == "rejected" || (r.error.is_some() && r.state.is_none()) {
        t.error()
    } else {
        Style::default()
    };
    let row = TRow::new(vec![
        Cell::from(if r.in_flight { "⟳" } else { " " }),
        Cell::from(r.tracked.package.clone().unwrap_or_else(|| "-".into())),
        Cell::from(r.tracked.log_id.short(8)),
        Cell::from(r.tracked.record_id.short(8)),
        Cell::from(Span::styled(format!("{glyph} {name}"), style)),
        Cell::from(Span::styled(detail, detail_style)),
        Cell::from(ago(s.now - r.tracked.added_at)),
        Cell::from(
            r.tracked
                .polled_at
                .map(|p| ago(s.now - p))
                .unwrap_or_else(|| "never".into()),
        ),
    ]);
    if selected {
        row.style(t.selected())
    } else {
        row
    }
}

fn draw_table(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let page = area.height.saturating_sub(1) as usize;
    let sel = s.selected_pos();
    let mut offset = s.offset.min(s.view.len().saturating_sub(1));
    if let Some(p) = sel {
        if p < offset {
            offset = p;
        } else if page > 0 && p >= offset + page {
            offset = p + 1 - page;
        }
    }
    let end = (offset + page).min(s.view.len());
    let rows: Vec<TRow> = s.view[offset..end]
        .iter()
        .enumerate()
        .map(|(i, idx)| table_row(s, t, &s.rows[*idx], Some(offset + i) == sel))
        .collect();
    let header = TRow::new(vec![
        Cell::from(" "),
        Cell::from(sort_title(s, SortKey::Package, "PACKAGE")),
        Cell::from("LOG"),
        Cell::from("RECORD"),
        Cell::from(sort_title(s, SortKey::State, "STATE")),
        Cell::from("DETAIL"),
        Cell::from(sort_title(s, SortKey::Added, "AGE")),
        Cell::from(sort_title(s, SortKey::Polled, "POLLED")),
    ])
    .style(t.bold());
    let package_width = if area.width < 100 { 14 } else { 20 };
    let widths = [
        Constraint::Length(1),
        Constraint::Length(package_width),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(12),
        Constraint::Fill(1),
        Constraint::Length(5),
        Constraint::Length(7),
    ];
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

fn draw_footer(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
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

fn overlay(f: &mut Frame, area: Rect, title: &str, w_pct: u16, h_pct: u16) -> Rect {
    let w = (area.width * w_pct / 100).max(40.min(area.width));
    let h = (area.height * h_pct / 100).max(10.min(area.height));
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} "));
    let inner = block.inner(r);
    f.render_widget(block, r);
    inner
}

fn draw_help(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let inner = overlay(f, area, "Keys (Esc closes)", 80, 90);
    let mut lines: Vec<Line> = keymap::help_lines(s.cfg.readonly)
        .into_iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), t.bold()),
                Span::raw(d),
            ])
        })
        .collect();
    if !s.cfg.readonly {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("Publish form", t.bold())));
        for (k, d) in keymap::FORM_BINDINGS {
            lines.push(Line::from(vec![
                Span::styled(format!("{k:>16}  "), t.bold()),
                Span::raw(*d),
            ]));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_detail(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let inner = overlay(f, area, "Record detail (Esc closes, j/k moves)", 92, 90);
    let Some(r) = s.selected_row() else { return };
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<12}"), t.bold()),
            Span::raw(v),
        ])
    };
    let name = r.state_name();
    let (glyph, style) = t.state(name);
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
        kv("added", fmt_time(r.tracked.added_at)),
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
            lines.push(Line::from(Span::styled(reason.clone(), t.error())));
            if super::app::needs_rebuild(r) && !s.cfg.readonly {
                lines.push(Line::from(Span::styled(
                    "⟲ the log's head moved after this record was built (another record was published first); press b to rebuild it on the new head",
                    t.accent(),
                )));
            }
        }
        Some(crate::registry::RecordState::Published { registry_index }) => {
            lines.push(kv("reg. index", registry_index.to_string()))
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
                    format!("    upload → {u}"),
                    t.dim(),
                )));
            }
        }
    }
    if let Some(e) = &r.error {
        lines.push(kv("last error", e.clone()));
    }
    if let Some(entries) = &r.tracked.entries {
        lines.push(Line::from(Span::styled("signed entries:", t.bold())));
        for (i, e) in entries.iter().enumerate() {
            lines.push(Line::from(format!("  {}. {e}", i + 1)));
        }
    }
    if let Some((key, hist)) = &s.detail_history {
        if *key == r.key() && !hist.is_empty() {
            lines.push(Line::from(Span::styled("history:", t.bold())));
            for h in hist {
                let (g, st) = t.state(&h.state);
                lines.push(Line::from(vec![
                    Span::raw(format!("  {}  ", fmt_time(h.at))),
                    Span::styled(format!("{g} {}", h.state), st),
                    Span::raw(if h.detail.is_empty() {
                        String::new()
                    } else {
                        format!("  {}", h.detail)
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
            lines.push(Line::from(format!("  {l}")));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn draw_form(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
    let form = &s.form;
    match &form.step {
        Step::Review(p) => {
            let inner = overlay(f, area, "Review: exactly what will be signed", 90, 80);
            let kv = |k: &str, v: String| {
                Line::from(vec![
                    Span::styled(format!("{k:<11}"), t.bold()),
                    Span::raw(v),
                ])
            };
            let mut lines = vec![
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
                    s.signer()
                        .map(|k| format!("{} ({}, {})", k.key_id, k.name, k.algorithm))
                        .unwrap_or_else(|| "none".into()),
                ),
                Line::from(Span::styled("entries:", t.bold())),
            ];
            for (i, e) in p.content.entries.iter().enumerate() {
                lines.push(Line::from(format!("  {}. {e}", i + 1)));
            }
            for w in &p.warnings {
                lines.push(Line::from(Span::styled(format!("⚠ {w}"), t.error())));
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
        Step::Submitting(progress) => {
            let inner = overlay(f, area, "Submitting", 80, 50);
            let mut lines: Vec<Line> = progress.iter().map(|p| Line::from(p.clone())).collect();
            lines.push(Line::from(Span::styled("…", t.dim())));
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            return;
        }
        Step::Edit | Step::Preparing => {}
    }
    let inner = overlay(f, area, "Publish a package record", 90, 90);
    let mut lines = Vec::new();
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
            Field::Signer => match s.signer() {
                Some(k) => format!("◂ {} ({}) ▸", k.name, k.algorithm),
                None => "none — Ctrl-G generates an ecdsa-p256 key".into(),
            },
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
        let hint = form.check(field, &s.keys);
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
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(format!("✗ {e}"), t.error())));
    }
    lines.push(Line::from(Span::styled(
        "Tab/↓ next · ←/→ change · Ctrl-N add entry · Ctrl-G new key · Ctrl-S review · Esc back",
        t.dim(),
    )));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
