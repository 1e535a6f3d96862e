//! The warg registry HTTP API: client, JSON model, errors.

pub mod client;
pub mod error;
pub mod model;
pub mod trust_api;
pub mod upload;

pub use client::{ClientOptions, LogHead, RegistryClient};
pub use error::ApiError;
pub use model::{PackageRecord, RecordState};
