//! The trust engine: proves (or fails to prove) that a warg registry is not lying.
//!
//! Follows `warg-trust.md`: checkpoint signatures over the exact signed bytes
//! ([`checkpoint`]), operator log validation ([`operator`]), the ledger and its RFC 6962 log
//! root ([`ledger`]), the sparse map tree and strict inclusion proofs ([`map`]), alerts
//! ([`alerts`]), persisted trust state ([`state`], [`db`]) and one verification cycle
//! ([`cycle`]). Library only: the CLI and the dashboard call into it.

pub mod alerts;
pub mod batch;
pub mod checkpoint;
pub mod cycle;
pub mod db;
pub mod full;
pub mod heads;
pub mod ledger;
pub mod map;
pub mod notify;
pub mod operator;
pub mod package;
pub mod records;
pub mod state;
pub mod sync;
pub mod tracked;
pub mod worker;

use std::fmt;

/// Why registry data failed a trust check (or could not be decoded). Never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustError(pub String);

impl TrustError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TrustError {}

/// Shorthand for `Err(TrustError(format!(…)))`.
macro_rules! bail_trust {
    ($($arg:tt)*) => { return Err($crate::trust::TrustError(format!($($arg)*))) };
}
pub(crate) use bail_trust;
