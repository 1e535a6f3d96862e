//! Colours, glyphs and labels. Every state is glyph + word (+ colour when allowed), so the screen
//! reads the same under `NO_COLOR`; the selection is reverse video.

use ratatui::style::{Color, Modifier, Style};

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

    pub fn state(&self, name: &str) -> (&'static str, Style) {
        match name {
            "published" => ("✓", self.fg(Color::Green)),
            "rejected" => ("✗", self.fg(Color::Red).add_modifier(Modifier::BOLD)),
            "sourcing" => ("◌", self.fg(Color::Magenta)),
            "processing" => ("◐", self.fg(Color::Yellow)),
            "error" => ("!", self.fg(Color::Red)),
            _ => ("?", self.fg(Color::DarkGray)),
        }
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

/// "3s", "5m", "2h", "4d" — compact ages for table columns.
pub fn ago(ms: i64) -> String {
    let s = (ms.max(0)) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
