//! wargdash: a terminal dashboard and scriptable CLI for warg registry operators.
//!
//! The library holds everything but argument parsing: typed IDs ([`ids`]), keys ([`keys`]),
//! record building and signing ([`record`]), the registry HTTP API ([`registry`]), the publish
//! flow ([`publish`]), the tracked set ([`tracker`]), the embedded sandbox registry
//! ([`embedded`]) and the dashboard ([`ui`]).

pub mod cli;
pub mod config;
pub mod embedded;
pub mod exit;
pub mod fsutil;
pub mod ids;
pub mod keys;
pub mod logging;
pub mod publish;
pub mod record;
pub mod registry;
pub mod tracker;
pub mod trust;
pub mod ui;
