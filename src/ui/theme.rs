//! Colours, glyphs and labels. Every state is glyph + word (+ colour when allowed), so the screen
//! reads the same under `NO_COLOR`; the selection is reverse video.

use super::row::StateKind;
use ratatui::style::{Color, Modifier, Style};

/// The STATE column: (state, glyph, meaning). The help legend and README are written from it.
pub const STATES: &[(&str, &str, &str)] = &[
    (
        "sourcing",
        "◌",
        "the registry waits for content to be uploaded",
    ),
    ("processing", "◐", "the registry is checking the record"),
    ("published", "✓", "in the log (IDX is its registry index)"),
    ("rejected", "✗", "refused; DETAIL says why"),
    (
        "error",
        "!",
        "not polled successfully yet; DETAIL has the last failure",
    ),
    ("unknown", "?", "not polled yet"),
];

/// The other glyphs on screen: (glyph, where, meaning). Shown in the help legend.
pub const GLYPHS: &[(&str, &str)] = &[
    ("⟳", "a poll of this record is in flight (left of PACKAGE)"),
    ("*", "marked with Space (d untracks the marked rows)"),
    ("+", "just submitted from here (for a few seconds)"),
    ("▲ ▼", "sort column and direction (▲ smallest first)"),
    ("● up / ● DOWN", "registry health (header)"),
    ("○", "not verified yet, or connecting (header)"),
    ("◌", "verifying or loading"),
    (
        "✔",
        "verified checkpoint, or record proven in the verified log",
    ),
    (
        "✗",
        "rejected, not in the verified log, package log not proven, or an error",
    ),
    (
        "⚠",
        "a trust alert, a warning, or a registry outage on a row (dimmed)",
    ),
    ("❄", "frozen table (f): results wait, polling continues"),
    ("…", "text cut to fit (the detail pane has it whole)"),
];

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    /// A state's glyph (from [`STATES`], which the help legend shows) and style.
    pub fn state(&self, kind: StateKind) -> (&'static str, Style) {
        let glyph = STATES
            .iter()
            .find(|(n, _, _)| *n == kind.name())
            .map_or("?", |(_, g, _)| *g);
        let style = match kind {
            StateKind::Published => self.fg(Color::Green),
            StateKind::Rejected => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            StateKind::Sourcing => self.fg(Color::Magenta),
            StateKind::Processing => self.fg(Color::Yellow),
            StateKind::Error => self.fg(Color::Red),
            StateKind::Unknown => self.fg(Color::DarkGray),
        };
        (glyph, style)
    }

    /// The glyph and style of a state word as stored (history, events): a word no state has
    /// shows as `unknown` does.
    pub fn state_named(&self, name: &str) -> (&'static str, Style) {
        self.state(StateKind::parse(name).unwrap_or(StateKind::Unknown))
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }

    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan)
    }
}

/// "3s", "1m05s", "2h03m", "4d05h" — compact ages for table columns, precise to the second
/// for the first hour (a minute alone hides whether a poll is late).
pub fn ago(ms: i64) -> String {
    let s = (ms.max(0)) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::ago;

    #[test]
    fn ages_keep_the_next_unit() {
        assert_eq!(ago(-5), "0s");
        assert_eq!(ago(59_999), "59s");
        assert_eq!(ago(65_000), "1m05s");
        assert_eq!(ago(3_599_000), "59m59s");
        assert_eq!(ago(3_600_000 + 3 * 60_000 + 59_000), "1h03m");
        assert_eq!(ago(86_400_000 * 4 + 3_600_000 * 5), "4d05h");
    }
}
