//! The tracked set: its SQLite store, the thread that owns it in the dashboard, polling (one
//! sweep, and the scheduler) and the checkpoint watcher.

pub mod capped;
pub mod links;
pub mod poll;
pub mod prefs;
pub mod pulse;
pub mod scheduler;
pub mod store;
pub mod store_thread;
pub mod watcher;
