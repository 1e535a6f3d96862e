//! The record table: only the visible rows are built. Column widths follow the screen: the
//! package name first, then DETAIL's minimum, then the record ID (full when it fits), then the
//! log ID; anything cut ends in `…`.

#[allow(unused_imports)]
use super::*;
use crate::ui::filter::{Field, Filter};
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthChar;

/// Display width of `text`.
pub(super) fn width_of(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `text` cut to `room` columns, ending in `…` when cut; the byte length kept is returned too.
pub(super) fn cut(text: &str, room: usize) -> (String, usize) {
    if width_of(text) <= room {
        return (text.to_string(), text.len());
    }
    if room == 0 {
        return (String::new(), 0);
    }
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > room - 1 {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    (format!("{}…", &text[..end]), end)
}

/// What the table is drawn from: its own pane, what the verifier knows of its records, and
/// the time ages count to.
pub(super) struct TableView<'a> {
    pub table: &'a crate::ui::table::RecordTable,
    pub trust: &'a crate::ui::trust::TrustView,
    pub now: i64,
}

/// The style of filter matches: reverse video is taken by the selection, so colour when
/// allowed, else bold underlined.
fn highlight(t: &Theme) -> Style {
    if t.color {
        Style::default()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
}

/// A cell's text cut to `room`, with the filter's matches (in column `field`) highlighted.
fn cell_line(
    text: &str,
    room: usize,
    style: Style,
    filter: &Filter,
    field: Field,
    t: &Theme,
) -> Line<'static> {
    let (shown, kept) = cut(text, room);
    let mut spans = Vec::new();
    let mut at = 0;
    for r in filter.highlights(field, text) {
        let (start, end) = (r.start.min(kept), r.end.min(kept));
        if start >= end {
            continue;
        }
        if start > at {
            spans.push(Span::styled(shown[at..start].to_string(), style));
        }
        spans.push(Span::styled(
            shown[start..end].to_string(),
            style.patch(highlight(t)),
        ));
        at = end;
    }
    spans.push(Span::styled(shown[at..].to_string(), style));
    Line::from(spans)
}

pub(super) fn sort_title(s: &TableView<'_>, key: SortKey, title: &str) -> String {
    if s.table.sort == key {
        format!("{title}{}", if s.table.ascending { "▲" } else { "▼" })
    } else {
        title.to_string()
    }
}

/// How wide each column is on a screen `width` wide (0: not shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Widths {
    pub package: usize,
    pub log: usize,
    pub record: usize,
    pub index: usize,
    pub detail: usize,
}

const MARK: usize = 2;
const STATE: usize = 12;
const AGE: usize = 6;
const POLLED: usize = 7;
const FULL_ID: usize = 64;
const MIN_ID: usize = 7;

/// Columns for a table `width` wide whose longest package name is `package` and largest
/// registry index has `index_digits` digits.
pub fn widths(width: usize, package: usize, index_digits: usize) -> Widths {
    let index = index_digits.max(3) + 1; // room for the sort arrow
                                         // Nine columns, one space between each.
    let fixed = MARK + STATE + AGE + POLLED + index + 8;
    let avail = width.saturating_sub(fixed);
    let detail_min = if width >= 160 { 30 } else { 14 };
    // The package name first (at least its title), then the minimum detail.
    let package = package
        .clamp(8, 48)
        .min(avail.saturating_sub(detail_min))
        .max(8.min(avail));
    let mut rest = avail.saturating_sub(package + detail_min);
    // The record ID next, in full when it fits with the log ID at its shortest.
    let record = if rest >= FULL_ID + MIN_ID {
        FULL_ID
    } else if rest >= 2 * MIN_ID {
        (rest / 2).clamp(MIN_ID, 12)
    } else if rest >= MIN_ID {
        rest
    } else {
        0
    };
    rest -= record;
    // The log ID: in full when it fits, else short (the package names the log anyway).
    let log = if rest >= FULL_ID {
        FULL_ID
    } else if rest >= MIN_ID {
        rest.min(record.min(12)).max(MIN_ID)
    } else {
        0
    };
    rest -= log;
    // A hidden column gives its space (and the gap before it) to DETAIL.
    let gaps_freed = usize::from(record == 0) + usize::from(log == 0);
    Widths {
        package,
        log,
        record,
        index,
        detail: detail_min + rest + gaps_freed,
    }
}

impl Widths {
    /// The columns shown (LOG and RECORD are left out when they get no room).
    fn keep<T>(&self, cols: Vec<T>) -> Vec<T> {
        cols.into_iter()
            .enumerate()
            .filter(|(i, _)| !(*i == 2 && self.log == 0 || *i == 3 && self.record == 0))
            .map(|(_, c)| c)
            .collect()
    }
}

pub(super) fn table_row(
    s: &TableView<'_>,
    t: &Theme,
    r: &Row,
    selected: bool,
    w: &Widths,
) -> TRow<'static> {
    let filter = s.table.filter_terms();
    let kind = r.state_kind();
    let (mut glyph, mut style) = t.state(kind);
    let proof = s.trust.proof(&r.key());
    // A published answer nothing verified proves is a claim: no ✓, dimmed, with why.
    let claim = proof.and_then(|p| p.claim_text());
    let mut state_text = kind.name().to_string();
    if claim.is_some() {
        (glyph, style) = ("?", t.dim());
        state_text = "published?".into();
    } else if kind == StateKind::Published
        && matches!(
            proof,
            Some(crate::trust::records::Proof::NotIncluded { .. })
        )
    {
        (glyph, style) = ("✗", t.error());
        state_text = "published?".into();
    }
    let mut detail = r.detail();
    let mut detail_style =
        if kind == StateKind::Rejected || (r.error.is_some() && r.state.is_none()) {
            t.error()
        } else {
            Style::default()
        };
    // What a published record did: from its validated package log, or the entries this app
    // signed.
    if kind == StateKind::Published {
        let did = s
            .trust
            .did
            .get(&r.key())
            .map(crate::trust::package::describe)
            .or_else(|| {
                r.tracked.entries.as_ref().map(|es| {
                    es.iter()
                        .map(crate::trust::package::describe_entry)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            });
        if let Some(did) = did {
            detail = format!("{} · {detail}", crate::text::clean(&did));
        }
    }
    match proof {
        Some(crate::trust::records::Proof::Proven { .. }) => {
            detail = format!("✔ proven · {detail}");
        }
        Some(p @ crate::trust::records::Proof::Claimed { .. }) => {
            detail = p.claim_text().unwrap_or_default();
            detail_style = t.dim();
        }
        Some(crate::trust::records::Proof::NotIncluded { .. }) => {
            detail = format!("✗ NOT INCLUDED in the verified log · {detail}");
            detail_style = t.error();
        }
        _ => {}
    }
    if s.trust.failed_logs.contains(&r.tracked.log_id) {
        detail = format!("✗ PACKAGE LOG NOT PROVEN (A) · {detail}");
        detail_style = t.error();
    }
    let mut detail_line = cell_line(&detail, w.detail, detail_style, filter, Field::Detail, t);
    // During an outage the row keeps its state and shows its last failure, dimmed.
    if let Some((e, at)) = &r.outage {
        let sep = if detail.is_empty() { "" } else { " · " };
        let room = w.detail.saturating_sub(width_of(&detail) + sep.len());
        if room > 0 {
            let (e, _) = cut(&format!("{sep}⚠ {e} ({} ago)", ago(s.now - at)), room);
            detail_line.spans.push(Span::styled(e, t.dim()));
        }
    }
    let marked = s.table.marked.contains(&r.key());
    let fresh = s.table.fresh.is_some_and(|(k, _)| k == r.key());
    let mark = format!(
        "{}{}",
        if marked {
            "*"
        } else if fresh {
            "+"
        } else {
            " "
        },
        if r.in_flight { "⟳" } else { " " }
    );
    let package = r.tracked.package.clone().unwrap_or_else(|| "-".into());
    let (log, record) = (r.tracked.log_id.short(64), r.tracked.record_id.short(64));
    let row = TRow::new(w.keep(vec![
        Cell::from(mark),
        Cell::from(cell_line(
            &package,
            w.package,
            Style::default(),
            filter,
            Field::Package,
            t,
        )),
        Cell::from(cell_line(
            &log,
            w.log,
            Style::default(),
            filter,
            Field::Log,
            t,
        )),
        Cell::from(cell_line(
            &record,
            w.record,
            Style::default(),
            filter,
            Field::Record,
            t,
        )),
        Cell::from(Span::styled(format!("{glyph} {state_text}"), style)),
        Cell::from(
            r.registry_index()
                .map(|i| i.to_string())
                .unwrap_or_default(),
        ),
        Cell::from(detail_line),
        // From the record's own timestamp; dimmed while only the time it was tracked is known.
        if r.record_ms.is_some() {
            Cell::from(ago(s.now - r.time_ms()))
        } else {
            Cell::from(Span::styled(ago(s.now - r.time_ms()), t.dim()))
        },
        Cell::from(
            r.tracked
                .polled_at
                .map(|p| ago(s.now - p))
                .unwrap_or_else(|| "never".into()),
        ),
    ]));
    if selected {
        row.style(t.selected())
    } else if fresh {
        // A record just submitted: marked for a moment.
        row.style(t.accent().add_modifier(Modifier::BOLD))
    } else if marked {
        row.style(t.bold())
    } else {
        row
    }
}

pub(super) fn draw_table(s: &TableView<'_>, t: &Theme, f: &mut Frame, area: Rect) {
    let page = area.height.saturating_sub(1) as usize;
    if s.table.view.is_empty() {
        let msg = if s.table.filter.is_empty() {
            "no records shown".to_string()
        } else {
            format!(
                "no matches for \"{}\" among {} tracked (Esc clears the filter)",
                crate::text::clean(&s.table.filter),
                s.table.rows.len()
            )
        };
        f.render_widget(
            Paragraph::new(vec![
                Line::from(""),
                Line::from(Span::styled(msg, t.bold())),
            ])
            .block(Block::default().borders(Borders::TOP)),
            area,
        );
        return;
    }
    let sel = s.table.selected_pos();
    let mut offset = s.table.offset.min(s.table.view.len().saturating_sub(1));
    if let Some(p) = sel {
        if p < offset {
            offset = p;
        } else if page > 0 && p >= offset + page {
            offset = p + 1 - page;
        }
    }
    let body = Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(1),
    );
    s.table
        .body
        .set(Some(crate::ui::mouse::TableBody { area: body, offset }));
    let end = (offset + page).min(s.table.view.len());
    let shown = &s.table.view[offset..end];
    let longest = shown
        .iter()
        .map(|i| width_of(s.table.rows[*i].tracked.package.as_deref().unwrap_or("-")))
        .max()
        .unwrap_or(0);
    let digits = shown
        .iter()
        .filter_map(|i| s.table.rows[*i].registry_index())
        .max()
        .map_or(1, |n| n.to_string().len());
    let w = widths(area.width as usize, longest, digits);
    let rows: Vec<TRow> = shown
        .iter()
        .enumerate()
        .map(|(i, idx)| table_row(s, t, &s.table.rows[*idx], Some(offset + i) == sel, &w))
        .collect();
    let title =
        |key: SortKey, text: &str, room: usize| Cell::from(cut(&sort_title(s, key, text), room).0);
    let header = TRow::new(w.keep(vec![
        Cell::from(" "),
        title(SortKey::Package, "PACKAGE", w.package),
        title(SortKey::Log, "LOG", w.log),
        title(SortKey::Record, "RECORD", w.record),
        title(SortKey::State, "STATE", STATE),
        title(SortKey::Index, "IDX", w.index),
        title(SortKey::Detail, "DETAIL", w.detail),
        title(SortKey::Age, "AGE", AGE),
        title(SortKey::Polled, "POLLED", POLLED),
    ]))
    .style(t.bold());
    let len = |n: usize| Constraint::Length(n as u16);
    let widths = w.keep(vec![
        len(MARK),
        len(w.package),
        len(w.log),
        len(w.record),
        len(STATE),
        len(w.index),
        len(w.detail),
        len(AGE),
        len(POLLED),
    ]);
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_fill_the_screen_in_priority_order() {
        for width in [60usize, 80, 100, 120, 160, 200, 240, 300] {
            for package in [8usize, 14, 22, 40] {
                let w = widths(width, package, 3);
                let hidden = usize::from(w.log == 0) + usize::from(w.record == 0);
                let used = MARK
                    + w.package
                    + w.log
                    + w.record
                    + STATE
                    + w.index
                    + w.detail
                    + AGE
                    + POLLED
                    + 8
                    - hidden;
                if width >= 70 {
                    assert_eq!(used, width, "{width} {package}: {w:?}");
                    // The package name is never cut while an ID column is shown.
                    assert!(w.package >= package.min(48) || w.record == 0, "{w:?}");
                }
            }
        }
        // At 80 columns a 22-character package name is whole.
        assert_eq!(widths(80, 22, 1).package, 22);
        // On wide screens the record ID is whole; wider still, the log ID too.
        assert_eq!(widths(200, 14, 2).record, 64);
        assert_eq!(widths(260, 14, 2).log, 64);
        assert_eq!(cut("demo:seed-cgcj-long", 10).0, "demo:seed…");
        assert_eq!(cut("short", 10).0, "short");
    }
}
