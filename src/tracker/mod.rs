//! The tracked set: its SQLite store and polling.

pub mod poll;
pub mod scheduler;
pub mod store;
