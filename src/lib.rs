//! wargdash: a terminal dashboard and scriptable CLI for warg registry operators.
//!
//! The library holds everything but argument parsing (that lives in the binary, `src/cli/`).
//! Modules, lowest layer first (`docs/architecture.md`; `tests/architecture.rs` keeps the
//! order):

/// Where files live, and the optional `config.json`.
pub mod config;
/// The resolved environment: paths, config and flags → client, store, keys, cycle options.
pub mod context;
/// Exit codes and the mapping from errors to them.
pub mod exit;
/// Atomic writes of private (0600) files.
pub mod fsutil;
/// Typed IDs (`LogId`, `RecordId`, `KeyId`, `RecordRef`, package names), parsed at the edge.
pub mod ids;
/// Signing keys (ecdsa-p256, ed25519) and the key store.
pub mod keys;
/// The log file (stdout is the dashboard's screen).
pub mod logging;
/// The headless monitor: the dashboard's workers without a terminal, a witness with an HTTP side.
pub mod monitor;
/// The one publish flow, for the CLI and the dashboard.
pub mod publish;
/// Building, encoding (warg-protobuf) and signing package records.
pub mod record;
/// The warg HTTP API: client, serde model, errors.
pub mod registry;
/// The embedded sandbox registry and `--demo`.
pub mod sandbox;
/// Terminal-safe text: registry strings cleaned of escapes and BiDi overrides.
pub mod text;
/// The tracked set: its store, the store thread, polling, the scheduler, the checkpoint watcher.
pub mod tracker;
/// The trust engine: proofs, the verification cycle, its store, alerts, the verifier task.
pub mod trust;
/// The dashboard: reducer, panes, runtime, views.
pub mod ui;
/// Witnessing: signed notes, cosignatures, peers, the monitor's HTTP side (metrics, checkpoint, add-checkpoint).
pub mod witness;
