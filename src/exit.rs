//! Process exit codes. Documented in the README; scripts rely on them.

/// Success; for `status`/`poll`/`publish --wait`: the record is published.
pub const OK: i32 = 0;
/// An error that fits no other code (bad local state, I/O).
pub const ERROR: i32 = 1;
/// Bad command-line input: malformed ID, package name, version, missing argument.
pub const USAGE: i32 = 2;
/// The record is still pending (`sourcing` or `processing`).
pub const PENDING: i32 = 10;
/// The record was rejected by the registry.
pub const REJECTED: i32 = 11;
/// The record does not exist on the registry (404 record), or the thing named is not tracked.
pub const NOT_FOUND: i32 = 12;
/// The package log or namespace does not exist on the registry (404 log / namespace), or the
/// URL answered 404 without a warg error body.
pub const LOG_NOT_FOUND: i32 = 17;
/// The registry refused the key or signature (401, or a key algorithm it does not accept).
pub const UNAUTHORIZED: i32 = 13;
/// Conflict (409).
pub const CONFLICT: i32 = 14;
/// The registry rejected the request as invalid (400/405/415/422/501).
pub const INVALID: i32 = 15;
/// `--wait` ran out of time before the record became published or rejected.
pub const WAIT_TIMEOUT: i32 = 16;
/// The registry could not be reached, timed out, or the connection broke.
pub const UNREACHABLE: i32 = 20;
/// The registry answered something wrong: 5xx, garbage, oversized, or about another record.
pub const REGISTRY_FAULT: i32 = 21;
/// A key problem: missing, unreadable, wrong permissions.
pub const KEY: i32 = 22;
/// The local store could not be opened or written.
pub const STORE: i32 = 23;
