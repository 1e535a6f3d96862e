//! Registry-supplied text (rejection reasons, error messages, package names) is data, never
//! terminal control. [`clean`] escapes every control character (C0, DEL, C1) and every Unicode
//! BiDi control (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), so an `ESC ] 52` clipboard
//! write, an `ESC [ 2J` screen clear or a U+202E reversal is shown as visible escapes
//! (`\x1b`, `\u{202e}`) and the readable rest of the text is kept. JSON output does not need
//! this: serde escapes control characters and keeps the text exact.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal as itself.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every unsafe character escaped; borrowed when nothing needed escaping.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// Text for a terminal that may span lines: [`clean`] on each line, the line breaks and tabs
/// kept. The CLI's print helpers (`outln!`, `errln!`) put everything through it, so no path
/// can print registry text raw.
pub fn clean_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (j, part) in line.split('\t').enumerate() {
            if j > 0 {
                out.push('\t');
            }
            out.push_str(&clean(part));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_control_and_keeps_the_text() {
        assert_eq!(clean("plain reason"), "plain reason");
        assert_eq!(clean("a\x1b]52;c;aGk=\x07b"), "a\\x1b]52;c;aGk=\\x07b");
        assert_eq!(clean("x\x1b[2Jy"), "x\\x1b[2Jy");
        assert_eq!(clean("\u{202e}gnp.exe"), "\\u{202e}gnp.exe");
        assert_eq!(clean("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(clean("line\nnext\ttab\x7f"), "line\\x0anext\\x09tab\\x7f");
        assert_eq!(clean("é ü 漢字 ✓"), "é ü 漢字 ✓");
    }
}
