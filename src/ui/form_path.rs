//! The content-file field's paths: `~` expansion, the absolute path a relative one resolves to,
//! and Tab completion (run off the reducer by the runtime: it reads a directory).

use std::path::{Path, PathBuf};

/// Where `~` and relative paths point: the process's home and working directory, captured
/// when the form is created (tests set their own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathEnv {
    pub home: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
}

impl PathEnv {
    pub fn from_process() -> Self {
        Self {
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
            cwd: std::env::current_dir().ok(),
        }
    }
}

/// The absolute path `text` names: `~` and `~/…` under the home directory, a relative path
/// under the working directory (`.` components dropped, nothing else touched, no IO).
pub fn resolve(text: &str, env: &PathEnv) -> Result<PathBuf, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("no path".into());
    }
    let joined = if text == "~" || text.starts_with("~/") {
        let home = env
            .home
            .as_ref()
            .ok_or("`~` needs $HOME, which is not set")?;
        home.join(text.trim_start_matches('~').trim_start_matches('/'))
    } else if text.starts_with('~') {
        return Err("`~user` paths are not expanded: give the full path".into());
    } else if Path::new(text).is_absolute() {
        PathBuf::from(text)
    } else {
        let cwd = env
            .cwd
            .as_ref()
            .ok_or("relative path, but the working directory is unknown")?;
        cwd.join(text)
    };
    Ok(joined.components().collect())
}

/// At most this many directory entries are read for one completion.
const MAX_ENTRIES: usize = 10_000;
/// At most this many candidates are kept to show.
pub const MAX_CANDIDATES: usize = 12;

/// What a Tab in the content-file field produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The field's text the completion was asked for (a result for older text is dropped).
    pub input: String,
    /// The completed text (the same as `input` when nothing could be added).
    pub text: String,
    /// Several matches: their names (directories end with `/`), sorted, at most
    /// [`MAX_CANDIDATES`]; `more` counts the rest.
    pub candidates: Vec<String>,
    pub more: usize,
    /// No match, or the directory cannot be read.
    pub error: Option<String>,
}

/// Completes `input` against the directory it names: one match completes fully (a directory
/// gets a trailing `/`), several complete to their longest common prefix and are listed.
/// Hidden entries are offered only when the typed name starts with `.`.
pub fn complete(input: &str, env: &PathEnv) -> Completion {
    let mut out = Completion {
        input: input.to_string(),
        text: input.to_string(),
        candidates: Vec::new(),
        more: 0,
        error: None,
    };
    let typed = input.trim();
    if typed == "~" {
        out.text = "~/".into();
        return out;
    }
    let (dir_part, prefix) = match typed.rfind('/') {
        Some(i) => typed.split_at(i + 1),
        None => ("", typed),
    };
    let dir = match resolve(if dir_part.is_empty() { "." } else { dir_part }, env) {
        Ok(d) => d,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            out.error = Some(format!("cannot list {}: {e}", dir.display()));
            return out;
        }
    };
    let mut names: Vec<(String, bool)> = entries
        .take(MAX_ENTRIES)
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            // A name with control characters could not be typed, and one with a BiDi control
            // would show as another name: neither is offered (the same test as `text::clean`).
            if name.chars().any(crate::text::is_unsafe)
                || !name.starts_with(prefix)
                || (name.starts_with('.') && !prefix.starts_with('.'))
            {
                return None;
            }
            // Follows symlinks: a link to a directory completes as one.
            let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            Some((name, is_dir))
        })
        .collect();
    names.sort();
    match names.as_slice() {
        [] => {
            out.error = Some(format!(
                "nothing in {} starts with `{prefix}`",
                dir.display()
            ))
        }
        [(name, is_dir)] => {
            out.text = format!("{dir_part}{name}{}", if *is_dir { "/" } else { "" });
        }
        many => {
            let first = &many[0].0;
            let common = many.iter().skip(1).fold(first.len(), |n, (other, _)| {
                first
                    .char_indices()
                    .zip(other.chars())
                    .take_while(|((_, a), b)| a == b)
                    .last()
                    .map_or(0, |((i, a), _)| i + a.len_utf8())
                    .min(n)
            });
            out.text = format!("{dir_part}{}", &first[..common]);
            out.candidates = many
                .iter()
                .take(MAX_CANDIDATES)
                .map(|(n, d)| format!("{n}{}", if *d { "/" } else { "" }))
                .collect();
            out.more = many.len().saturating_sub(MAX_CANDIDATES);
        }
    }
    out
}
