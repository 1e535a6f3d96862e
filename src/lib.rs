//! wargdash: a terminal dashboard and scriptable CLI for warg registry operators.
//!
//! The library holds everything but argument parsing (that lives in the binary, `src/cli/`):
//! the resolved environment ([`context`]), exit codes and failures ([`exit`]), typed IDs
//! ([`ids`]), keys ([`keys`]), record building and signing ([`record`]), the registry HTTP API
//! ([`registry`]), the one publish flow ([`publish`]), the tracked set, its store thread, the
//! poll scheduler and the checkpoint watcher ([`tracker`]), the embedded sandbox registry and
//! `--demo` ([`sandbox`]), terminal-safe text ([`text`]) and the dashboard ([`ui`]).

pub mod config;
pub mod context;
pub mod exit;
pub mod fsutil;
pub mod ids;
pub mod keys;
pub mod logging;
pub mod publish;
pub mod record;
pub mod registry;
pub mod sandbox;
pub mod text;
pub mod tracker;
pub mod trust;
pub mod ui;
