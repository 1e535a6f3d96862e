//! Registry errors: one variant per thing an operator must act on differently, each with a
//! specific message and a documented exit code.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Nothing listens at the registry address (connection refused, DNS failure, TLS failure).
    Unreachable { url: String, cause: String },
    /// The registry did not answer in time.
    Timeout { url: String, secs: u64 },
    /// TLS failed: the certificate was not accepted, or the handshake failed.
    Tls {
        url: String,
        problem: TlsProblem,
        cause: String,
    },
    /// The connection broke mid-request (reset, closed without a response).
    Network { url: String, cause: String },
    /// 404 with a typed body: `what` is log, record, namespace, logLength, fetchToken, contentDigest…
    NotFound { what: String, id: String },
    /// 404 without a typed body (a wrong path or a registry that is not warg).
    NoSuchEndpoint { url: String },
    /// 401: the key was refused or the signature did not verify.
    Unauthorized { message: String },
    /// 409: the namespace is imported, or a record conflicts with a pending publish.
    Conflict { what: String, id: String },
    /// 400 / 415 / 422 with the registry's message verbatim.
    Invalid { status: u16, message: String },
    /// 405 `{"status":405}` on upload: the record is no longer waiting for content.
    NotSourcing,
    /// 501: content sources are not supported by this registry.
    NotSupported { message: String },
    /// The body could not be understood: non-JSON, truncated, wrong shape.
    BadBody {
        status: u16,
        context: String,
        excerpt: String,
    },
    /// The body exceeded the response size cap.
    TooLarge { url: String, limit: usize },
    /// The registry answered about a different record than the one asked for.
    IdMismatch { asked: String, answered: String },
    /// The registry kept redirecting (a loop, or more than 5 hops).
    RedirectLoop { url: String, cause: String },
    /// Any other status: its code and the first 200 bytes of the body.
    Status { status: u16, excerpt: String },
    /// wargdash refused to send what the registry asked for (an unsafe upload target, a
    /// redirect from https to http): `what` was refused, `why`.
    Refused { what: String, why: String },
    /// Not the registry: this machine's store failed in the middle of a registry exchange (a
    /// verification cycle writing what it learned).
    LocalStore { message: String },
}

/// What went wrong in a TLS handshake, so the message can say what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProblem {
    /// The certificate chain does not lead to a trusted CA (self-signed, private CA).
    UnknownIssuer,
    Expired,
    NotYetValid,
    /// The certificate was issued for other host names.
    WrongName,
    /// Any other certificate problem (revoked, bad signature, wrong usage…).
    Certificate,
    /// No certificate got as far as being checked (the peer does not speak TLS, or no common
    /// protocol version or cipher suite).
    Handshake,
}

impl TlsProblem {
    /// Recognizes a TLS failure in an error's cause chain (rustls's messages).
    pub fn of(cause: &str) -> Option<Self> {
        let has = |s: &str| cause.contains(s);
        if has("UnknownIssuer") {
            Some(Self::UnknownIssuer)
        } else if has("certificate expired") || has("Expired") {
            Some(Self::Expired)
        } else if has("certificate not valid yet") || has("NotValidYet") {
            Some(Self::NotYetValid)
        } else if has("not valid for name") || has("NotValidForName") {
            Some(Self::WrongName)
        } else if has("invalid peer certificate") {
            Some(Self::Certificate)
        } else if has("corrupt message")
            || has("InvalidContentType")
            || has("peer is incompatible")
            || has("received fatal alert")
            || has("tls handshake eof")
        {
            Some(Self::Handshake)
        } else {
            None
        }
    }
}

impl ApiError {
    /// The error in a few words and without the URL, for the dashboard's header (which names
    /// the registry already): what failed comes first, so a narrow terminal still shows it.
    pub fn headline(&self) -> String {
        match self {
            Self::Unreachable { cause, .. } => format!("registry unreachable: {cause}"),
            Self::Timeout { secs, .. } => format!("registry did not answer within {secs}s"),
            Self::Network { cause, .. } => format!("connection broke: {cause}"),
            Self::Tls { problem, cause, .. } => match problem {
                TlsProblem::UnknownIssuer => {
                    "TLS certificate not trusted: not signed by a trusted CA (--ca-file CA.pem trusts one)".into()
                }
                TlsProblem::Expired => "TLS certificate expired".into(),
                TlsProblem::NotYetValid => "TLS certificate not valid yet (check the clock)".into(),
                TlsProblem::WrongName => format!("TLS certificate for another name ({cause})"),
                TlsProblem::Certificate => format!("TLS certificate refused: {cause}"),
                TlsProblem::Handshake => {
                    format!("TLS handshake failed ({cause}): does the registry serve https?")
                }
            },
            Self::NoSuchEndpoint { .. } => {
                "404 with no warg error body: is this a warg registry URL?".into()
            }
            Self::Status { status, excerpt } => format!("HTTP {status}: {excerpt:?}"),
            // The body's first bytes are in the full message (`wargdash status`, the log).
            Self::BadBody {
                status, context, ..
            } => format!("unreadable answer ({status}): {context}"),
            Self::TooLarge { limit, .. } => {
                format!("an answer exceeded the {limit}-byte size limit")
            }
            Self::RedirectLoop { cause, .. } => format!("redirect loop ({cause})"),
            other => other.to_string(),
        }
    }

    /// Transient failures worth retrying with backoff.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } | Self::Network { .. } => true,
            Self::Status { status, .. } => *status >= 500,
            Self::BadBody { .. } | Self::TooLarge { .. } | Self::RedirectLoop { .. } => true,
            _ => false,
        }
    }

    /// Whether the registry could not be asked (down, timing out, failing with 5xx): worth
    /// asking again later. Anything else is an answer about what was asked.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } | Self::Network { .. } => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Whether this error says the registry as a whole is unhealthy (rather than one record).
    pub fn is_registry_wide(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Timeout { .. }
                | Self::Network { .. }
                | Self::Tls { .. }
                | Self::NoSuchEndpoint { .. }
                | Self::Status { .. }
                | Self::BadBody { .. }
                | Self::TooLarge { .. }
                | Self::RedirectLoop { .. }
        )
    }
}

/// A 400/422 caused by a key or signature algorithm the registry does not accept (e.g. ed25519).
pub fn is_key_refusal(message: &str) -> bool {
    message.contains("signature algorithm") || message.contains("record.signature")
}

fn entity(what: &str) -> &str {
    match what {
        "log" => "package log",
        "record" => "record",
        "namespace" => "namespace",
        "logLength" => "checkpoint with log length",
        "fetchToken" => "fetch token",
        "contentDigest" => "content",
        "leaf" => "log leaf",
        other => other,
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable { url, cause } => write!(f, "registry unreachable at {url}: {cause}"),
            Self::Timeout { url, secs } => write!(f, "registry at {url} did not answer within {secs}s"),
            Self::Network { url, cause } => write!(f, "connection to {url} broke: {cause}"),
            Self::Tls { url, problem, cause } => match problem {
                TlsProblem::UnknownIssuer => write!(
                    f,
                    "TLS certificate of {url} is not signed by a trusted certificate authority ({cause}). If the registry uses a private CA, trust it with --ca-file CA.pem, `caFile` in the config file, or SSL_CERT_FILE=CA.pem"
                ),
                TlsProblem::Expired => write!(
                    f,
                    "TLS certificate of {url} has expired ({cause}); the registry's operator must renew it"
                ),
                TlsProblem::NotYetValid => write!(
                    f,
                    "TLS certificate of {url} is not valid yet ({cause}); check this machine's clock"
                ),
                TlsProblem::WrongName => write!(
                    f,
                    "TLS certificate of {url} is for another name ({cause}); use the host name the certificate was issued for"
                ),
                TlsProblem::Certificate => {
                    write!(f, "TLS certificate of {url} was not accepted: {cause}")
                }
                TlsProblem::Handshake => write!(
                    f,
                    "TLS handshake with {url} failed ({cause}); does it serve https on this port?"
                ),
            },
            Self::NotFound { what, id } if what == "namespace" => write!(
                f,
                "namespace `{id}` is not defined on this registry (404); the operator must define it first"
            ),
            Self::NotFound { what, id } => write!(f, "{} `{id}` was not found on the registry (404)", entity(what)),
            Self::NoSuchEndpoint { url } => {
                write!(f, "{url} answered 404 with no warg error body: is this a warg registry URL?")
            }
            Self::Unauthorized { message } => write!(f, "the registry refused the key or signature (401): {message}"),
            Self::Conflict { what, id } if what == "namespaceImport" => {
                write!(f, "conflict (409): namespace `{id}` is imported from another registry; publish there")
            }
            Self::Conflict { what, id } => {
                write!(f, "conflict (409): the record conflicts with the pending publish of {} `{id}`", entity(what))
            }
            Self::Invalid { status, message } if is_key_refusal(message) => write!(
                f,
                "the registry refused this key's signature ({status}): {message}. This registry accepts only ecdsa-p256 keys (warg-server 0.10); sign with an ecdsa-p256 key"
            ),
            Self::Invalid { status, message } => write!(f, "the registry rejected the request ({status}): {message}"),
            Self::NotSourcing => write!(f, "the record is no longer waiting for content (405)"),
            Self::NotSupported { message } => write!(f, "not supported by this registry (501): {message}"),
            Self::BadBody { status, context, excerpt } => {
                write!(f, "the registry answered {status} with a body wargdash cannot read ({context}); body starts: {excerpt:?}")
            }
            Self::TooLarge { url, limit } => write!(f, "the answer from {url} exceeded the {limit}-byte size limit"),
            Self::IdMismatch { asked, answered } => write!(
                f,
                "the registry is misbehaving: asked for record {asked} but it answered about {answered}"
            ),
            Self::RedirectLoop { url, cause } => {
                write!(f, "redirect loop: {url} redirected more than 5 times ({cause})")
            }
            Self::Status { status, excerpt } => write!(f, "the registry answered HTTP {status}: {excerpt:?}"),
            Self::Refused { what, why } => write!(f, "wargdash refused {what}: {why}"),
            Self::LocalStore { message } => write!(f, "the local store failed: {message}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// The first `n` bytes of a body, lossily decoded, for error messages.
pub fn excerpt(body: &[u8], n: usize) -> String {
    let cut = &body[..body.len().min(n)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if body.len() > n {
        s.push('…');
    }
    s
}
