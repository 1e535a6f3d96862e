//! The record table: only the visible rows are built.

#[allow(unused_imports)]
use super::*;

pub(super) fn sort_title(s: &State, key: SortKey, title: &str) -> String {
    if s.sort == key {
        format!("{title}{}", if s.ascending { "▲" } else { "▼" })
    } else {
        title.to_string()
    }
}

pub(super) fn table_row<'a>(s: &State, t: &Theme, r: &'a Row, selected: bool) -> TRow<'a> {
    let name = r.state_name();
    let (glyph, style) = t.state(name);
    let mut detail = r.detail();
    let mut detail_style = if name == "rejected" || (r.error.is_some() && r.state.is_none()) {
        t.error()
    } else {
        Style::default()
    };
    // What a published record did: from its validated package log, or the entries this app
    // signed.
    if name == "published" {
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
    match s.trust.proof(&r.key()) {
        Some(crate::trust::records::Proof::Proven { .. }) => {
            detail = format!("✔ proven · {detail}");
        }
        Some(crate::trust::records::Proof::NotIncluded { .. }) => {
            detail = format!("✗ NOT INCLUDED in the verified log · {detail}");
            detail_style = t.error();
        }
        _ => {}
    }
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

pub(super) fn draw_table(s: &State, t: &Theme, f: &mut Frame, area: Rect) {
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
