//! The filter language (`/`): words are AND-ed; `state:rejected`, `pkg:demo:hello`, `log:…`,
//! `record:…`, `detail:…` look in one column; `!word` negates; `/regex/` is a regular
//! expression. Matching ignores case. Plain words and expressions are highlighted in the rows.

use regex::{Regex, RegexBuilder};
use std::ops::Range;

/// Where a term looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Any,
    State,
    Package,
    Log,
    Record,
    Detail,
}

#[derive(Debug, Clone)]
struct Term {
    negate: bool,
    field: Field,
    re: Regex,
}

/// A compiled filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub source: String,
    terms: Vec<Term>,
    /// Why part of the filter was taken literally (an expression that does not compile).
    pub error: Option<String>,
}

/// What a row offers the filter: each column's text.
pub struct Haystack<'a> {
    pub package: &'a str,
    pub log: &'a str,
    pub record: &'a str,
    pub state: &'a str,
    pub detail: &'a str,
}

/// Splits on whitespace, except inside `/…/`.
fn tokens(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_re = false;
    for c in src.chars() {
        if c.is_whitespace() && !in_re {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c == '/' {
            let value_start = cur.trim_start_matches('!');
            let value_start = value_start
                .split_once(':')
                .map(|(_, v)| v)
                .unwrap_or(value_start);
            if !in_re && value_start.is_empty() {
                in_re = true;
            } else if in_re {
                in_re = false;
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Filter {
    pub fn new(src: &str) -> Self {
        let mut f = Filter {
            source: src.to_string(),
            ..Default::default()
        };
        for tok in tokens(src) {
            let (negate, rest) = match tok.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, tok.as_str()),
            };
            let (field, value) = match rest.split_once(':') {
                Some(("state", v)) => (Field::State, v),
                Some(("pkg" | "package", v)) => (Field::Package, v),
                Some(("log", v)) => (Field::Log, v),
                Some(("record" | "rec", v)) => (Field::Record, v),
                Some(("detail", v)) => (Field::Detail, v),
                _ => (Field::Any, rest),
            };
            if value.is_empty() {
                continue;
            }
            let pattern = match value
                .strip_prefix('/')
                .and_then(|v| v.strip_suffix('/'))
                .filter(|v| !v.is_empty())
            {
                Some(re) => match RegexBuilder::new(re)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                {
                    Ok(_) => re.to_string(),
                    Err(e) => {
                        let first = e.to_string();
                        let first = first.lines().last().unwrap_or("").trim().to_string();
                        f.error = Some(format!("/{re}/ taken literally: {first}"));
                        regex::escape(value)
                    }
                },
                None => regex::escape(value),
            };
            if let Ok(re) = RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
            {
                f.terms.push(Term { negate, field, re });
            }
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Every term holds (a negated one: does not match).
    pub fn matches(&self, h: &Haystack) -> bool {
        self.terms.iter().all(|t| {
            let hit = match t.field {
                Field::Any => [h.package, h.log, h.record, h.state, h.detail]
                    .iter()
                    .any(|x| t.re.is_match(x)),
                Field::State => t.re.is_match(h.state),
                Field::Package => t.re.is_match(h.package),
                Field::Log => t.re.is_match(h.log),
                Field::Record => t.re.is_match(h.record),
                Field::Detail => t.re.is_match(h.detail),
            };
            hit != t.negate
        })
    }

    /// Byte ranges of `text` (shown in column `field`) that positive terms match, sorted and
    /// merged.
    pub fn highlights(&self, field: Field, text: &str) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        for t in &self.terms {
            if t.negate || !(t.field == Field::Any || t.field == field) {
                continue;
            }
            out.extend(
                t.re.find_iter(text)
                    .filter(|m| !m.is_empty())
                    .map(|m| m.range()),
            );
        }
        out.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::new();
        for r in out {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(package: &'a str, state: &'a str, detail: &'a str) -> Haystack<'a> {
        Haystack {
            package,
            log: "sha256:aaaa",
            record: "sha256:bbbb",
            state,
            detail,
        }
    }

    #[test]
    fn the_language() {
        let hello = row("demo:hello", "rejected", "version 1.0.0 already released");
        let world = row("demo:world", "published", "");
        let f = |s: &str| Filter::new(s);
        assert!(f("").matches(&hello));
        assert!(f("demo rejected").matches(&hello));
        assert!(!f("demo rejected").matches(&world));
        assert!(f("state:rejected").matches(&hello));
        assert!(!f("state:rejected").matches(&world));
        assert!(f("pkg:demo:hello").matches(&hello));
        assert!(!f("pkg:demo:hello").matches(&world));
        assert!(f("!hello").matches(&world));
        assert!(!f("!hello").matches(&hello));
        assert!(f("/w.rld$/").matches(&world));
        assert!(f("/^DEMO:(h|x)/").matches(&hello));
        assert!(f("pkg:/o$/").matches(&hello));
        assert!(f("/already released/").matches(&hello));
        assert!(f("!state:/^pub/").matches(&hello));
        let bad = f("/(unclosed/");
        assert!(bad.error.is_some());
        assert!(!bad.matches(&hello));
        assert_eq!(
            f("HEL").highlights(Field::Package, "demo:hello"),
            vec![5..8]
        );
        assert!(f("state:hel")
            .highlights(Field::Package, "demo:hello")
            .is_empty());
        assert_eq!(
            f("de mo").highlights(Field::Package, "demo:hello"),
            vec![0..4]
        );
    }
}
