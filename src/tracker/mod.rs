//! The tracked set: its SQLite store, the thread that owns it in the dashboard, polling (one
//! sweep, and the scheduler), the checkpoint watcher and the [`tracking::Tracking`] trait the
//! publish flow records into.

pub mod capped;
pub mod links;
pub mod poll;
pub mod prefs;
pub mod pulse;
pub mod scheduler;
pub mod store;
pub mod store_thread;
pub mod tracking;
pub mod watcher;
