//! How commands print: JSON lines, the record table, state descriptions. Registry text goes
//! through [`wargdash::text::clean`] before it reaches a terminal. Every write returns its error
//! so a closed pipe (`wargdash track list | head -1`) ends the command quietly (see `main`).

use std::io::Write;
use wargdash::exit::{self, fail, Fail};
use wargdash::ids::{LogId, PackageName, RecordId};
use wargdash::registry::{PackageRecord, RecordState};
use wargdash::text::clean;

/// `writeln!` to stdout, returning the I/O error instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)
    }};
}
pub(crate) use outln;

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
