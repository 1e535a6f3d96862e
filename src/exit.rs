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
/// A submit got no answer and the registry does not know the record: it may or may not be
/// committed (`publish --resubmit` sends it again deliberately).
pub const OUTCOME_UNKNOWN: i32 = 18;
/// The registry could not be reached, timed out, or the connection broke.
pub const UNREACHABLE: i32 = 20;
/// The registry answered something wrong: 5xx, garbage, oversized, or about another record.
pub const REGISTRY_FAULT: i32 = 21;
/// A key problem: missing, unreadable, wrong permissions.
pub const KEY: i32 = 22;
/// The local store could not be opened or written.
pub const STORE: i32 = 23;
/// At least one trust alert was raised (`wargdash verify`).
pub const ALERT: i32 = 30;

/// An error with the exit code it should end the process with.
#[derive(Debug)]
pub struct Fail {
    pub code: i32,
    pub report: color_eyre::Report,
}

impl<E: Into<color_eyre::Report>> From<E> for Fail {
    fn from(e: E) -> Self {
        Self {
            code: ERROR,
            report: e.into(),
        }
    }
}

/// A failure ending the process with `code`.
pub fn fail(code: i32, report: impl Into<color_eyre::Report>) -> Fail {
    Fail {
        code,
        report: report.into(),
    }
}

/// The exit code a registry error maps to (see README "Exit codes"). The mapping lives here
/// only: the registry client knows nothing of exit codes.
pub fn api_code(e: &crate::registry::ApiError) -> i32 {
    use crate::registry::ApiError as E;
    match e {
        E::Unreachable { .. } | E::Timeout { .. } | E::Network { .. } | E::Tls { .. } => {
            UNREACHABLE
        }
        E::NotFound { what, .. } if what == "record" => NOT_FOUND,
        E::NotFound { .. } | E::NoSuchEndpoint { .. } => LOG_NOT_FOUND,
        E::Unauthorized { .. } => UNAUTHORIZED,
        E::Invalid { message, .. } if crate::registry::error::is_key_refusal(message) => {
            UNAUTHORIZED
        }
        E::Conflict { .. } => CONFLICT,
        E::Invalid { .. } | E::NotSourcing | E::NotSupported { .. } => INVALID,
        E::BadBody { .. }
        | E::TooLarge { .. }
        | E::IdMismatch { .. }
        | E::RedirectLoop { .. }
        | E::Refused { .. }
        | E::Status { .. } => REGISTRY_FAULT,
        E::LocalStore { .. } => STORE,
    }
}

/// The exit code a publish failure maps to.
pub fn publish_code(e: &crate::publish::PublishError) -> i32 {
    use crate::publish::PublishError as E;
    match e {
        E::Api(e) => api_code(e),
        E::Refused(_) | E::NoLog(_) => USAGE,
        E::OutcomeUnknown { .. } => OUTCOME_UNKNOWN,
    }
}

/// A registry error, with the exit code its kind maps to.
pub fn api_fail(e: crate::registry::ApiError) -> Fail {
    Fail {
        code: api_code(&e),
        report: color_eyre::eyre::eyre!(e),
    }
}

/// What a command ends with: its exit code, or a failure carrying one.
pub type CmdResult = std::result::Result<i32, Fail>;
