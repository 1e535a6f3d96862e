//! How commands print: JSON lines, the record table, state descriptions. Registry text goes
//! through [`wargdash::text::clean`] before it reaches a terminal. Every write returns its error
//! so a closed pipe (`wargdash track list | head -1`) ends the command quietly (see `main`).

use std::io::Write;
use wargdash::exit::{self, fail, Fail};
use wargdash::ids::{LogId, PackageName, RecordId};
use wargdash::registry::{PackageRecord, RecordState};
use wargdash::text::clean;

/// `writeln!` to stdout, returning the I/O error instead of panicking. The text goes through
/// [`wargdash::text::clean_lines`]: no control character or BiDi override reaches the terminal
/// whatever was formatted in.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($t)*);
        writeln!(std::io::stdout().lock(), "{}", wargdash::text::clean_lines(&text))
    }};
}
pub(crate) use outln;

/// `eprintln!` through [`wargdash::text::clean_lines`] (progress, warnings, notes).
macro_rules! errln {
    ($($t:tt)*) => {{
        let text = format!($($t)*);
        eprintln!("{}", wargdash::text::clean_lines(&text))
    }};
}
pub(crate) use errln;

pub fn print_json(v: &impl serde::Serialize) -> color_eyre::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

pub fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T, Fail>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| fail(exit::USAGE, color_eyre::eyre::eyre!("{e}")))
}

pub fn parse_package(s: &str) -> Result<PackageName, Fail> {
    s.parse::<PackageName>()
        .map_err(|e| fail(exit::USAGE, color_eyre::eyre::eyre!(e)))
}

/// The exit code that a record state maps to.
pub fn state_exit_code(state: &RecordState) -> i32 {
    match state {
        RecordState::Published { .. } => exit::OK,
        RecordState::Sourcing { .. } | RecordState::Processing => exit::PENDING,
        RecordState::Rejected { .. } => exit::REJECTED,
    }
}

/// A human description of a record state, with its full detail (registry text cleaned).
pub fn describe_state(rec: &PackageRecord) -> String {
    match &rec.state {
        RecordState::Sourcing { missing_content } => {
            let mut s = format!("sourcing: {} missing content", missing_content.len());
            for (digest, m) in missing_content {
                s.push_str(&format!("\n  {digest}"));
                for u in &m.upload {
                    s.push_str(&format!(
                        "\n    upload: {} {}",
                        clean(&u.method),
                        clean(&u.url)
                    ));
                }
            }
            s
        }
        RecordState::Processing => "processing".into(),
        RecordState::Rejected { reason } => format!("rejected: {}", clean(reason)),
        RecordState::Published { registry_index } => {
            format!("published at registry index {registry_index}")
        }
    }
}

pub fn print_table_header() -> std::io::Result<()> {
    outln!(
        "{:<20} {:<14} {:<14} {:<11} DETAIL",
        "PACKAGE",
        "LOG",
        "RECORD",
        "STATE"
    )
}

pub fn print_table_row(
    package: Option<&str>,
    log: &LogId,
    rec: &RecordId,
    state: &str,
    detail: &str,
) -> std::io::Result<()> {
    outln!(
        "{:<20} {:<14} {:<14} {:<11} {}",
        clean(package.unwrap_or("-")),
        log.short(12),
        rec.short(12),
        clean(state),
        clean(detail)
    )
}

/// A log ID and a record ID as typed: full IDs, or unique prefixes of a tracked record's IDs
/// (with or without `sha256:`, like git's short hashes). An ambiguous prefix is an error that
/// lists the candidates; an unknown one says it matches no tracked record.
pub fn resolve_ids(
    ctx: &wargdash::context::Ctx,
    log: &str,
    rec: &str,
) -> Result<(LogId, RecordId), Fail> {
    if let (Ok(l), Ok(r)) = (log.parse::<LogId>(), rec.parse::<RecordId>()) {
        return Ok((l, r));
    }
    let bare = |s: &str| s.trim().trim_start_matches("sha256:").to_string();
    let (lp, rp) = (bare(log), bare(rec));
    // A prefix is what an ID starts with: 1 to 63 lowercase hex digits.
    let is_hex = |s: &str| {
        (1..64).contains(&s.len()) && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    };
    if !is_hex(&lp) || !is_hex(&rp) {
        // Not a prefix either: report the parse error of the full form.
        let _: LogId = parse_id(log)?;
        let _: RecordId = parse_id(rec)?;
    }
    let tracked = ctx.store()?.list().map_err(|e| fail(exit::STORE, e))?;
    let hits: Vec<_> = tracked
        .iter()
        .filter(|t| t.log_id.0.hex().starts_with(&lp) && t.record_id.0.hex().starts_with(&rp))
        .collect();
    match hits.as_slice() {
        [one] => Ok((one.log_id, one.record_id)),
        [] => Err(fail(
            exit::USAGE,
            color_eyre::eyre::eyre!(
                "`{log} {rec}` is not a full log ID and record ID, and matches no tracked record"
            ),
        )),
        many => Err(fail(
            exit::USAGE,
            color_eyre::eyre::eyre!(
                "`{log} {rec}` is ambiguous: it matches {} tracked records:\n{}",
                many.len(),
                many.iter()
                    .take(10)
                    .map(|t| format!(
                        "  {} {} {}",
                        t.log_id,
                        t.record_id,
                        t.package.as_deref().unwrap_or("")
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        )),
    }
}

/// Where a command's time went, logged at its end (`verify took 3.71 s: cycle 0.82 s, …`):
/// the log file says what a slow run spent its time on.
pub struct Phases {
    start: std::time::Instant,
    last: std::time::Instant,
    parts: Vec<(&'static str, f64)>,
}

impl Phases {
    pub fn start() -> Self {
        let now = std::time::Instant::now();
        Self {
            start: now,
            last: now,
            parts: Vec::new(),
        }
    }

    /// The phase that just ended.
    pub fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.parts.push((name, (now - self.last).as_secs_f64()));
        self.last = now;
    }

    pub fn log(&self, command: &str) {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|(n, s)| format!("{n} {s:.3} s"))
            .collect();
        tracing::info!(
            "{command} took {:.3} s: {}",
            self.start.elapsed().as_secs_f64(),
            parts.join(", ")
        );
    }
}

/// How `published` claims are judged for `registry`: its verified state and the grace
/// (`--max-checkpoint-age`).
pub fn claim_rules(
    ctx: &wargdash::context::Ctx,
    db: &wargdash::trust::db::TrustDb,
    registry: &str,
) -> Result<wargdash::trust::records::ClaimRules, Fail> {
    let grace = ctx.cycle_options(registry, false)?.max_age;
    wargdash::trust::records::ClaimRules::load(
        db,
        registry,
        grace,
        wargdash::tracker::store::now_ms(),
    )
    .map_err(|e| fail(exit::STORE, e))
}
