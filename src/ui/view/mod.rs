//! Drawing: a pure function of [`State`], each overlay drawn from its own pane's state. Table
//! rows are built only for the visible window.

use super::app::State;
use super::form::{EntryKind, Field, Step};
use super::keymap;
use super::msg::Mode;
use super::row::{Row, SortKey, StateKind};
use super::theme::{ago, Theme};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row as TRow, Table, Wrap};
use ratatui::Frame;

const HEADER_LINES: u16 = 3;

mod alerts;
mod detail;
mod events;
mod footer;
mod form;
mod header;
mod help;
mod log;
mod pulse;
mod table;

use alerts::draw_alerts;
use detail::draw_detail;
use events::draw_events;
use footer::draw_footer;
use form::draw_form;
use header::{draw_header, draw_splash};
use help::draw_help;
use log::draw_log;
use table::draw_table;

/// Table rows that fit in a terminal of `height` lines (header, column titles and footer aside).
pub fn page_size(height: u16) -> usize {
    height.saturating_sub(HEADER_LINES + 2) as usize
}

/// UTC `YYYY-MM-DD HH:MM:SSZ` from Unix milliseconds.
pub fn fmt_time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

pub fn draw(s: &State, f: &mut Frame) {
    let t = Theme { color: s.cfg.color };
    let area = f.area();
    let strip = if s.pulse.shown {
        crate::ui::pulse::LINES
    } else {
        0
    };
    let [header, table, strip, footer] = Layout::vertical([
        Constraint::Length(HEADER_LINES),
        Constraint::Min(1),
        Constraint::Length(strip),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(s, &t, f, header);
    // Set again by the table when it draws rows (mouse clicks map through it).
    s.table.body.set(None);
    if s.pulse.shown {
        pulse::draw_pulse(&s.pulse, &t, f, strip);
    }
    if s.table.rows.is_empty() {
        draw_splash(s, &t, f, table);
    } else {
        let view = table::TableView {
            table: &s.table,
            trust: &s.trust,
            now: s.now,
        };
        draw_table(&view, &t, f, table);
    }
    draw_footer(s, &t, f, footer);
    match &s.mode {
        Mode::Help => draw_help(&s.help, s.cfg.readonly, &t, f, area),
        Mode::Alerts => draw_alerts(&s.trust, &t, f, area),
        Mode::LogBrowser => draw_log(&s.logs, |k| s.table.contains(k), &t, f, area),
        Mode::Events => draw_events(&s.events, &s.trust.stored, &t, f, area),
        Mode::Detail => draw_detail(
            &s.detail,
            s.selected_row(),
            &s.trust,
            s.cfg.readonly,
            &t,
            f,
            area,
        ),
        Mode::Form => draw_form(&s.form, &t, f, area),
        Mode::ConfirmUntrack(keys) => {
            let r = centered(area, 72, 6);
            f.render_widget(Clear, r);
            let inner_w = r.width.saturating_sub(2) as usize;
            let what = s.describe(keys);
            let text = vec![
                Line::from(table::cut(&format!("Stop tracking {what}?"), inner_w).0),
                Line::from(Span::styled(
                    if keys.len() > 1 {
                        format!("{} records will no longer be polled", keys.len())
                    } else {
                        "it will no longer be polled".to_string()
                    },
                    t.dim(),
                )),
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
    scrub(f.buffer_mut());
}

/// The one place every drawn cell passes: a cell holding a control character or a BiDi
/// control (whatever path put it there: registry text a pane forgot to clean, a stored error
/// from an older version) shows U+FFFD instead. The panes clean registry text themselves so
/// it reads as visible escapes (`\x1b`); this is the backstop that no path can miss.
fn scrub(buf: &mut ratatui::buffer::Buffer) {
    for cell in buf.content.iter_mut() {
        if cell.symbol().chars().any(crate::text::is_unsafe) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
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
pub(super) fn fit(text: &str, room: usize) -> String {
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

pub(super) fn overlay(f: &mut Frame, area: Rect, title: &str, w_pct: u16, h_pct: u16) -> Rect {
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
