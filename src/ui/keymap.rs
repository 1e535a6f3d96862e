//! The table's key map. The help overlay is generated from [`BINDINGS`], so it cannot drift.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableAction {
    Quit,
    Down,
    Up,
    Top,
    Bottom,
    PageDown,
    PageUp,
    Detail,
    Help,
    Filter,
    ClearFilter,
    Command,
    Track,
    Untrack,
    Refresh,
    RefreshAll,
    Freeze,
    Sort,
    Reverse,
    CopyRecord,
    CopyLog,
    Publish,
    Rebuild,
    Alerts,
    Log,
    Events,
    Pulse,
    Mark,
    ClearMarks,
}

/// (keys shown in help, description, action).
pub const BINDINGS: &[(&str, &str, TableAction)] = &[
    ("j ↓", "move down", TableAction::Down),
    ("k ↑", "move up", TableAction::Up),
    ("g Home", "first record", TableAction::Top),
    ("G End", "last record", TableAction::Bottom),
    ("PgDn PgUp", "page down / up", TableAction::PageDown),
    ("Enter", "detail pane", TableAction::Detail),
    ("/", "filter", TableAction::Filter),
    (
        "Esc",
        "clear filter / close overlay",
        TableAction::ClearFilter,
    ),
    (":", "command line (commands below)", TableAction::Command),
    (
        "a",
        "track a record (log ID or NS:NAME, then record ID)",
        TableAction::Track,
    ),
    (
        "Space",
        "mark / unmark the selected record (then d untracks the marked ones)",
        TableAction::Mark,
    ),
    ("u", "clear the marks", TableAction::ClearMarks),
    (
        "d",
        "untrack the selected record, or the marked ones",
        TableAction::Untrack,
    ),
    ("r", "refresh the selected record now", TableAction::Refresh),
    ("R", "refresh every record now", TableAction::RefreshAll),
    (
        "f",
        "freeze the table (polling continues)",
        TableAction::Freeze,
    ),
    (
        "s",
        "next sort column (any column; ▲ smallest value first)",
        TableAction::Sort,
    ),
    ("S", "reverse the sort (▲ / ▼)", TableAction::Reverse),
    ("y", "copy record ID (OSC 52)", TableAction::CopyRecord),
    ("Y", "copy log ID (OSC 52)", TableAction::CopyLog),
    ("p", "publish form", TableAction::Publish),
    (
        "b",
        "rebuild a record rejected because the head moved",
        TableAction::Rebuild,
    ),
    (
        "A",
        "trust: alerts with evidence, meaning and what to do",
        TableAction::Alerts,
    ),
    (
        "L",
        "package log of the selected record (Enter tracks one)",
        TableAction::Log,
    ),
    (
        "e",
        "events: state changes and alerts as they happen",
        TableAction::Events,
    ),
    (
        "P",
        "pulse strip: published per minute, submit → published latency p50/p95",
        TableAction::Pulse,
    ),
    ("?", "this help", TableAction::Help),
    ("q Ctrl-C", "quit", TableAction::Quit),
];

/// The table's footer: these actions, each shown with its first key from [`BINDINGS`] (so the
/// hints cannot drift from the key map) and a short word.
pub const FOOTER: &[(TableAction, &str)] = &[
    (TableAction::Help, "help"),
    (TableAction::Publish, "publish"),
    (TableAction::Detail, "detail"),
    (TableAction::Track, "track"),
    (TableAction::Untrack, "untrack"),
    (TableAction::Filter, "filter"),
    (TableAction::Command, "command"),
    (TableAction::Freeze, "freeze"),
    (TableAction::Alerts, "alerts"),
    (TableAction::Quit, "quit"),
];

/// The footer hints in effect (`? help  p publish  …`; publishing hidden when read-only).
pub fn footer_hints(readonly: bool) -> Vec<String> {
    FOOTER
        .iter()
        .filter(|(a, _)| !(readonly && matches!(a, TableAction::Publish)))
        .filter_map(|(a, word)| {
            let keys = BINDINGS.iter().find(|(_, _, b)| b == a)?.0;
            let first = keys.split_whitespace().next()?;
            Some(format!("{first} {word}"))
        })
        .collect()
}

/// The command line's commands, shown in help.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        ":track LOG|NS:NAME RECORD",
        "track a record (says so if it already is)",
    ),
    (
        ":untrack [LOG RECORD]",
        "untrack the selected (or given) record",
    ),
    (
        ":untrack rejected",
        "untrack the rejected records shown (asks once)",
    ),
    (
        ":untrack filtered",
        "untrack every record the filter shows (asks once)",
    ),
    (
        ":sort COLUMN [asc|desc]",
        "package log record state index detail age polled",
    ),
    (":publish [NS:NAME]", "publish form"),
    (":registry URL", "switch registry"),
    (":q", "quit"),
];

/// The mouse (captured unless `--no-mouse`), shown in help.
pub const MOUSE_HELP: &[(&str, &str)] = &[
    ("click", "select the row under the pointer"),
    ("wheel", "move 3 rows; in an overlay, scroll it"),
    (
        "--no-mouse",
        "start without capture: the terminal's own selection works",
    ),
];

/// The filter language (`/`), shown in help.
pub const FILTER_HELP: &[(&str, &str)] = &[
    ("word word", "all words match (any column, any case)"),
    (
        "state:rejected",
        "in one column: state: pkg: log: record: detail:",
    ),
    ("!word", "does not match"),
    ("/regex/", "a regular expression (pkg:/^demo:/ too)"),
];

/// What a key does in the detail pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailAction {
    Close,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Next,
    Prev,
}

/// Detail pane keys, shown in help. `y`, `Y`, `r` and `b` act as in the table.
pub const DETAIL_BINDINGS: &[(&str, &str, DetailAction)] = &[
    ("j ↓ / k ↑", "scroll a line", DetailAction::Down),
    ("PgDn / PgUp", "scroll a page", DetailAction::PageDown),
    ("g G", "top / bottom", DetailAction::Top),
    ("n ] / N [", "next / previous record", DetailAction::Next),
    (
        "y Y r b",
        "copy IDs, refresh, rebuild (as in the table)",
        DetailAction::Close,
    ),
    ("Esc q Enter", "close", DetailAction::Close),
];

pub fn detail_action(k: &KeyEvent) -> Option<DetailAction> {
    use DetailAction as D;
    if k.modifiers.contains(KeyModifiers::CONTROL) || k.modifiers.contains(KeyModifiers::ALT) {
        return None;
    }
    Some(match k.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter | KeyCode::Char('?') => D::Close,
        KeyCode::Char('j') | KeyCode::Down => D::Down,
        KeyCode::Char('k') | KeyCode::Up => D::Up,
        KeyCode::PageDown | KeyCode::Char(' ') => D::PageDown,
        KeyCode::PageUp => D::PageUp,
        KeyCode::Char('g') | KeyCode::Home => D::Top,
        KeyCode::Char('G') | KeyCode::End => D::Bottom,
        KeyCode::Char('n') | KeyCode::Char(']') => D::Next,
        KeyCode::Char('N') | KeyCode::Char('[') => D::Prev,
        _ => return None,
    })
}

/// Form keys, shown in help and the form footer.
pub const FORM_BINDINGS: &[(&str, &str)] = &[
    ("Tab ↓ / S-Tab ↑", "next / previous field"),
    ("Tab (file)", "complete the content file's path"),
    ("← → Space", "pick entry kind, permissions, signing key"),
    (
        "Ctrl-N",
        "stage this entry and add another to the same record",
    ),
    ("Ctrl-U", "drop the last staged entry"),
    ("Ctrl-G", "new ecdsa-p256 signing key (asks its name)"),
    ("Enter / Ctrl-S", "next field / review what will be signed"),
    ("Ctrl-C", "quit (asks first if a draft would be lost)"),
    ("Esc", "back (never quits); the draft is kept"),
];

pub fn table_action(k: &KeyEvent, readonly: bool) -> Option<TableAction> {
    use TableAction as T;
    let a = match k.code {
        KeyCode::Char('q') => T::Quit,
        KeyCode::Char('j') | KeyCode::Down => T::Down,
        KeyCode::Char('k') | KeyCode::Up => T::Up,
        KeyCode::Char('g') | KeyCode::Home => T::Top,
        KeyCode::Char('G') | KeyCode::End => T::Bottom,
        KeyCode::PageDown => T::PageDown,
        KeyCode::PageUp => T::PageUp,
        KeyCode::Enter => T::Detail,
        KeyCode::Char('?') => T::Help,
        KeyCode::Char('/') => T::Filter,
        KeyCode::Esc => T::ClearFilter,
        KeyCode::Char(':') => T::Command,
        KeyCode::Char('a') => T::Track,
        KeyCode::Char('d') => T::Untrack,
        KeyCode::Char('r') => T::Refresh,
        KeyCode::Char('R') => T::RefreshAll,
        KeyCode::Char('f') => T::Freeze,
        KeyCode::Char('s') => T::Sort,
        KeyCode::Char('S') => T::Reverse,
        KeyCode::Char('y') => T::CopyRecord,
        KeyCode::Char('Y') => T::CopyLog,
        KeyCode::Char('p') if !readonly => T::Publish,
        KeyCode::Char('b') if !readonly => T::Rebuild,
        KeyCode::Char('A') => T::Alerts,
        KeyCode::Char('L') => T::Log,
        KeyCode::Char('e') => T::Events,
        KeyCode::Char('P') => T::Pulse,
        KeyCode::Char(' ') => T::Mark,
        KeyCode::Char('u') => T::ClearMarks,
        _ => return None,
    };
    if k.modifiers.contains(KeyModifiers::CONTROL) || k.modifiers.contains(KeyModifiers::ALT) {
        return None;
    }
    Some(a)
}

/// The bindings in effect (publishing hidden when read-only).
pub fn help_lines(readonly: bool) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|(_, _, a)| !(readonly && matches!(a, TableAction::Publish | TableAction::Rebuild)))
        .map(|(k, d, _)| (*k, *d))
        .collect()
}
