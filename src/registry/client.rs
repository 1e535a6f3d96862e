//! The warg HTTP API over one shared reqwest client: timeouts, a response size cap, an optional
//! bearer token, and bodies parsed into typed results or specific [`ApiError`]s.

use super::error::{excerpt, ApiError, TlsProblem};
use super::model::*;
use crate::ids::{LogId, RecordId};
use crate::record::{Envelope, RecordContent};
use color_eyre::eyre::{eyre, Result, WrapErr};
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use zeroize::Zeroizing;

/// Default cap on any response body.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_body: usize,
    pub token: Option<Arc<Zeroizing<String>>>,
    /// The registry origin the token was given for. A client for any other origin does not
    /// carry it (unset: the first client built with these options binds it to its own base).
    pub token_origin: Option<Url>,
    /// Send the token over plain http to a registry that is not on loopback.
    pub allow_http_token: bool,
    /// Extra PEM CA certificate file trusted besides the system store.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_body: DEFAULT_MAX_BODY,
            token: None,
            token_origin: None,
            allow_http_token: false,
            ca_file: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_body", &self.max_body)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_origin", &self.token_origin.as_ref().map(Url::as_str))
            .field("allow_http_token", &self.allow_http_token)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// The head of a package log as fetch/logs reports it.
#[derive(Debug, Clone)]
pub struct LogHead {
    pub record_id: RecordId,
    pub content: RecordContent,
    pub registry_index: u64,
}

/// A cheaply clonable registry client (clones share the connection pool).
#[derive(Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    /// Uploads: no redirects, and a resolver that refuses internal addresses (see
    /// [`super::upload`]).
    upload: Arc<(reqwest::Client, Arc<super::upload::Guard>)>,
    base: Url,
    opts: Arc<ClientOptions>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RegistryClient({})", self.base)
    }
}

/// Parses a registry URL, reading one without a scheme as `https://` (as cargo and browsers
/// do: a token must never go out in cleartext because a scheme was left off), and adding a
/// trailing `/` so relative paths join under it.
pub fn parse_base_url(url: &str) -> Result<Url> {
    let url = url.trim();
    let with_scheme = if url.contains("://") {
        url.to_string()
    } else {
        format!("https://{url}")
    };
    let mut u =
        Url::parse(&with_scheme).wrap_err_with(|| format!("invalid registry URL `{url}`"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(eyre!(
            "invalid registry URL `{url}`: scheme must be http or https"
        ));
    }
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    Ok(u)
}

/// Whether two URLs share scheme, host and port (the port defaulted by scheme).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

pub use super::upload::is_loopback;

/// Whether a redirect from `previous` (the hops so far, oldest first) to `next` may be
/// followed: at most 5 hops, and never from https down to http (reqwest keeps the
/// `Authorization` header on a redirect to the same host and port, whatever the scheme).
pub fn redirect_verdict(next: &Url, previous: &[Url]) -> Result<(), String> {
    if previous.len() > 5 {
        return Err("too many redirects".into());
    }
    if next.scheme() == "http" && previous.iter().any(|u| u.scheme() == "https") {
        return Err(format!(
            "refusing to follow a redirect from https down to plain http ({})",
            crate::text::clean(next.as_str())
        ));
    }
    Ok(())
}

impl RegistryClient {
    /// Whether this client sends a bearer token.
    pub fn has_token(&self) -> bool {
        self.opts.token.is_some()
    }

    /// The options this client was built with (the token bound to its origin).
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// A client for the registry at `base`. The token (if any) is bound to the origin it was
    /// given for: a client for another origin goes without it; plain `http://` carries it only
    /// to a loopback registry unless `allow_http_token` says otherwise.
    pub fn new(base: &str, mut opts: ClientOptions) -> Result<Self> {
        let base = parse_base_url(base)?;
        if opts.token.is_some() {
            let origin = opts.token_origin.get_or_insert_with(|| base.clone());
            if !same_origin(origin, &base) {
                opts.token = None;
            } else if base.scheme() == "http" && !is_loopback(&base) && !opts.allow_http_token {
                return Err(eyre!(
                    "refusing to send the bearer token in cleartext to {base}: over plain http a token goes only to a loopback registry. Use https://{}, or pass --allow-http-token if the network path to the registry is trusted",
                    base.as_str().trim_start_matches("http://")
                ));
            }
        }
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            match redirect_verdict(attempt.url(), attempt.previous()) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(why),
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .redirect(policy)
            .pool_max_idle_per_host(64)
            .user_agent(concat!("wargdash/", env!("CARGO_PKG_VERSION")));
        let upload_guard = Arc::new(super::upload::Guard::default());
        let mut upload_builder = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(upload_guard.clone())
            .user_agent(concat!("wargdash/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &opts.ca_file {
            let pem = std::fs::read(ca)
                .wrap_err_with(|| format!("reading CA certificate {}", ca.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    eyre!(
                        "CA file {} holds no valid PEM certificate (expected `-----BEGIN CERTIFICATE-----` blocks)",
                        ca.display()
                    )
                })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert.clone());
                upload_builder = upload_builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().wrap_err("building the HTTP client")?;
        let upload_http = upload_builder
            .build()
            .wrap_err("building the upload HTTP client")?;
        Ok(Self {
            http,
            upload: Arc::new((upload_http, upload_guard)),
            base,
            opts: Arc::new(opts),
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.base.join(path).map_err(|e| ApiError::Invalid {
            status: 0,
            message: format!("cannot build a URL from `{path}`: {e}"),
        })
    }

    fn classify(&self, url: &Url, e: reqwest::Error) -> ApiError {
        let url = url.to_string();
        // The URL is in the message already; reqwest would repeat it in the cause.
        let e = e.without_url();
        let cause = cause_chain(&e);
        if let Some(problem) = TlsProblem::of(&cause) {
            ApiError::Tls {
                url,
                problem,
                cause,
            }
        } else if e.is_timeout() {
            ApiError::Timeout {
                url,
                secs: self.opts.request_timeout.as_secs(),
            }
        } else if e.is_connect() {
            ApiError::Unreachable { url, cause }
        } else if e.is_redirect() && cause.contains("refusing to follow") {
            ApiError::Refused {
                what: format!("a redirect from {url}"),
                why: cause,
            }
        } else if e.is_redirect() {
            ApiError::RedirectLoop { url, cause }
        } else {
            ApiError::Network { url, cause }
        }
    }

    /// Sends a request and reads the body up to the size cap.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Body>,
    ) -> Result<(StatusCode, Vec<u8>), ApiError> {
        self.send_on(&self.http, method, url, body).await
    }

    /// [`Self::send`] on the given HTTP client (the upload client for uploads).
    pub(super) async fn send_on(
        &self,
        http: &reqwest::Client,
        method: Method,
        url: Url,
        body: Option<Body>,
    ) -> Result<(StatusCode, Vec<u8>), ApiError> {
        let mut req = http.request(method, url.clone());
        // The token is the registry's: never sent to another origin (upload URLs come from the
        // registry and often point at object storage). reqwest drops it on a redirect to
        // another origin too.
        if let Some(token) = &self.opts.token {
            if same_origin(&url, &self.base) {
                req = req.bearer_auth(token.as_str());
            }
        }
        match body {
            Some(Body::Json(v)) => req = req.header("content-type", "application/json").body(v),
            Some(Body::Raw(bytes, headers)) => {
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                req = req.body(bytes);
            }
            None => {}
        }
        let mut resp = req.send().await.map_err(|e| self.classify(&url, e))?;
        let status = resp.status();
        if let Some(len) = resp.content_length() {
            if len as usize > self.opts.max_body {
                return Err(ApiError::TooLarge {
                    url: url.to_string(),
                    limit: self.opts.max_body,
                });
            }
        }
        let mut buf = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if buf.len() + chunk.len() > self.opts.max_body {
                        return Err(ApiError::TooLarge {
                            url: url.to_string(),
                            limit: self.opts.max_body,
                        });
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(self.classify(&url, e)),
                // A reset mid-body is the connection breaking, not the registry's answer.
                Err(e) if is_connection_broken(&e) => return Err(self.classify(&url, e)),
                Err(e) => {
                    return Err(ApiError::BadBody {
                        status: status.as_u16(),
                        context: format!(
                            "the body was cut off after {} bytes: {}",
                            buf.len(),
                            cause_chain(&e)
                        ),
                        excerpt: excerpt(&buf, 200),
                    })
                }
            }
        }
        Ok((status, buf))
    }

    /// Maps a non-success status and its body to the specific error.
    pub(super) fn error_for(&self, url: &Url, status: StatusCode, body: &[u8]) -> ApiError {
        let code = status.as_u16();
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let b = parsed.unwrap_or_default();
        let id = || match &b.id {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        let message = || {
            b.message
                .clone()
                .or(b.reason.clone())
                .unwrap_or_else(|| excerpt(body, 200))
        };
        match code {
            404 if b.kind.is_some() => ApiError::NotFound {
                what: b.kind.clone().unwrap_or_default(),
                id: id(),
            },
            404 => ApiError::NoSuchEndpoint {
                url: url.to_string(),
            },
            401 => ApiError::Unauthorized { message: message() },
            409 => ApiError::Conflict {
                what: b.kind.clone().unwrap_or_default(),
                id: id(),
            },
            405 if b.status == Some(405) => ApiError::NotSourcing,
            400 | 415 | 422 if b.message.is_some() || b.reason.is_some() => ApiError::Invalid {
                status: code,
                message: message(),
            },
            501 => ApiError::NotSupported { message: message() },
            _ => ApiError::Status {
                status: code,
                excerpt: excerpt(body, 200),
            },
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(
        status: StatusCode,
        body: &[u8],
        what: &str,
    ) -> Result<T, ApiError> {
        serde_json::from_slice(body).map_err(|e| ApiError::BadBody {
            status: status.as_u16(),
            context: format!("{what}: {e}"),
            excerpt: excerpt(body, 200),
        })
    }

    pub(super) async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Body>,
        what: &str,
    ) -> Result<(T, serde_json::Value), ApiError> {
        let url = self.url(path)?;
        let (status, bytes) = self.send(method, url.clone(), body).await?;
        if !status.is_success() {
            return Err(self.error_for(&url, status, &bytes));
        }
        let raw: serde_json::Value = Self::parse(status, &bytes, &format!("{what} is not JSON"))?;
        let typed = serde_json::from_value(raw.clone()).map_err(|e| ApiError::BadBody {
            status: status.as_u16(),
            context: format!("{what} has the wrong shape: {e}"),
            excerpt: excerpt(&bytes, 200),
        })?;
        Ok((typed, raw))
    }

    /// `GET /v1/package/{logId}/record/{recordId}`; also returns the raw JSON object.
    pub async fn get_record(
        &self,
        log: &LogId,
        record: &RecordId,
    ) -> Result<(PackageRecord, serde_json::Value), ApiError> {
        let (rec, raw): (PackageRecord, _) = self
            .call(
                Method::GET,
                &format!("v1/package/{log}/record/{record}"),
                None,
                "the record status",
            )
            .await?;
        if rec.record_id != *record {
            return Err(ApiError::IdMismatch {
                asked: record.to_string(),
                answered: rec.record_id.to_string(),
            });
        }
        Ok((rec, raw))
    }

    /// `POST /v1/package/{logId}/record`. Never call this twice for one envelope: see
    /// [`crate::publish`] for the safe submit.
    pub async fn publish(
        &self,
        log: &LogId,
        package_name: &str,
        envelope: &Envelope,
    ) -> Result<(PackageRecord, serde_json::Value), ApiError> {
        let body = serde_json::to_vec(&PublishRecordRequest {
            package_name,
            record: envelope,
        })
        .map_err(|e| ApiError::Invalid {
            status: 0,
            message: format!("encoding the request: {e}"),
        })?;
        self.call(
            Method::POST,
            &format!("v1/package/{log}/record"),
            Some(Body::Json(body)),
            "the publish answer",
        )
        .await
    }

    /// Uploads content to an endpoint the registry gave, after [`super::upload::check`]
    /// accepted it (POST or PUT, allowed headers only, https when the registry is, no internal
    /// address unless the registry's own is of that kind); relative URLs are joined to the
    /// registry base URL; redirects are not followed.
    pub async fn upload(&self, endpoint: &UploadEndpoint, bytes: Vec<u8>) -> Result<(), ApiError> {
        let url = self.url(&endpoint.url)?;
        let checked = super::upload::check(&self.base, endpoint, &url).await?;
        let (upload_http, guard) = &*self.upload;
        guard.allow(checked.allow);
        let (status, body) = self
            .send_on(
                upload_http,
                checked.method,
                url.clone(),
                Some(Body::Raw(bytes, checked.headers)),
            )
            .await?;
        if status.is_redirection() {
            return Err(ApiError::Refused {
                what: format!("the upload to {}", crate::text::clean(url.as_str())),
                why: format!(
                    "the upload target answered a redirect ({status}); uploads do not follow redirects"
                ),
            });
        }
        if status.is_success() {
            Ok(())
        } else {
            Err(self.error_for(&url, status, &body))
        }
    }

    /// `GET /v1/fetch/checkpoint`.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, ApiError> {
        Ok(self
            .call(Method::GET, "v1/fetch/checkpoint", None, "the checkpoint")
            .await?
            .0)
    }

    /// Finds a package log's head (its latest published record) at `log_length` via
    /// `POST /v1/fetch/logs`, paging as needed. `None` when the registry has no such log.
    pub async fn log_head(
        &self,
        log_length: u64,
        log: &LogId,
    ) -> Result<Option<LogHead>, ApiError> {
        const LIMIT: usize = 1000;
        // A registry that keeps saying `more` (or repeats a page) must not keep wargdash
        // paging forever: at most this many pages (100 000 records).
        const MAX_PAGES: usize = 100;
        let mut token: Option<RecordId> = None;
        let mut head: Option<LogHead> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ApiError::BadBody {
                    status: 200,
                    context: format!(
                        "the log {log} did not end after {MAX_PAGES} pages of {LIMIT} records"
                    ),
                    excerpt: String::new(),
                });
            }
            let req = FetchLogsRequest {
                log_length,
                limit: LIMIT as u16,
                packages: BTreeMap::from([(*log, token)]),
            };
            let body = serde_json::to_vec(&req).map_err(|e| ApiError::Invalid {
                status: 0,
                message: format!("encoding the request: {e}"),
            })?;
            let page: FetchLogsResponse = match self
                .call(
                    Method::POST,
                    "v1/fetch/logs",
                    Some(Body::Json(body)),
                    "the log fetch",
                )
                .await
            {
                Ok((page, _)) => page,
                Err(ApiError::NotFound { what, .. }) if what == "log" => return Ok(None),
                Err(e) => return Err(e),
            };
            let records = page.packages.get(log).cloned().unwrap_or_default();
            let Some(last) = records.last() else { break };
            let record_id = RecordId::for_package_record(&last.envelope.content_bytes);
            if token == Some(record_id) {
                return Err(ApiError::BadBody {
                    status: 200,
                    context: format!("the registry served the same page of {log} twice"),
                    excerpt: String::new(),
                });
            }
            if last.fetch_token != record_id.to_string() {
                return Err(ApiError::IdMismatch {
                    asked: record_id.to_string(),
                    answered: last.fetch_token.clone(),
                });
            }
            let content = RecordContent::decode(&last.envelope.content_bytes).map_err(|e| {
                ApiError::BadBody {
                    status: 200,
                    context: format!("the head record of {log} does not decode: {e}"),
                    excerpt: String::new(),
                }
            })?;
            token = Some(record_id);
            head = Some(LogHead {
                record_id,
                content,
                registry_index: last.registry_index,
            });
            // `more` also counts other logs in the answer: this log ends with a short page.
            if !page.more || records.len() < LIMIT {
                break;
            }
        }
        Ok(head)
    }

    /// Package names for log IDs, skipping IDs the registry does not know (`fetch/names` is
    /// all-or-nothing, so each unknown ID is dropped and the batch retried). Names whose log ID
    /// does not match are dropped: the registry would be misbehaving.
    pub async fn resolve_names(&self, logs: &[LogId]) -> Result<BTreeMap<LogId, String>, ApiError> {
        let mut out = BTreeMap::new();
        for chunk in logs.chunks(1000) {
            let mut ids = chunk.to_vec();
            for _ in 0..=chunk.len() {
                if ids.is_empty() {
                    break;
                }
                match self.fetch_names(&ids).await {
                    Ok(names) => {
                        for (log, name) in names {
                            let Some(name) = name else { continue };
                            match name.parse::<crate::ids::PackageName>() {
                                Ok(p) if p.log_id() == log => {
                                    out.insert(log, name);
                                }
                                _ => {
                                    tracing::warn!(%log, name, "registry named a log with a name that does not derive to it")
                                }
                            }
                        }
                        break;
                    }
                    Err(ApiError::NotFound { what, id }) if what == "log" => {
                        ids.retain(|l| l.to_string() != id)
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }

    /// `POST /v1/fetch/names`: package names for log IDs. The server answers all-or-nothing, so
    /// an unknown ID yields `NotFound` for the whole batch.
    pub async fn fetch_names(
        &self,
        logs: &[LogId],
    ) -> Result<BTreeMap<LogId, Option<String>>, ApiError> {
        let body = serde_json::to_vec(&FetchNamesRequest { packages: logs }).map_err(|e| {
            ApiError::Invalid {
                status: 0,
                message: format!("encoding the request: {e}"),
            }
        })?;
        let (names, _): (FetchNamesResponse, _) = self
            .call(
                Method::POST,
                "v1/fetch/names",
                Some(Body::Json(body)),
                "the names answer",
            )
            .await?;
        Ok(names.packages)
    }
}

/// An error and its sources, `: `-separated (reqwest's own text rarely names the cause),
/// without the generic wrappers ("error sending request", "client error (Connect)", …) that say
/// nothing about what failed and would push the cause off the dashboard's header.
fn cause_chain(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    let generic = |p: &&String| {
        p.starts_with("error sending request")
            || p.starts_with("client error (")
            || p.starts_with("error decoding response body")
            || p.starts_with("request or response body error")
            || p.starts_with("error reading a body from connection")
    };
    let specific: Vec<&String> = parts.iter().filter(|p| !generic(p)).collect();
    if specific.is_empty() {
        parts.join(": ")
    } else {
        specific
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(": ")
    }
}

/// Whether the peer reset or aborted the connection (as opposed to closing it cleanly early).
fn is_connection_broken(e: &reqwest::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(io.kind(), ConnectionReset | ConnectionAborted | BrokenPipe) {
                return true;
            }
        }
        src = s.source();
    }
    false
}

pub(super) enum Body {
    Json(Vec<u8>),
    Raw(Vec<u8>, Vec<(String, String)>),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// H3-2. reqwest keeps `Authorization` on a redirect to the same host and port whatever
    /// the scheme: the client's redirect policy refuses https → http (so the token is never
    /// sent in cleartext), and still allows ordinary hops and cuts loops.
    #[test]
    fn a_redirect_from_https_down_to_http_is_refused() {
        let u = |s: &str| Url::parse(s).unwrap();
        let down = redirect_verdict(
            &u("http://r.example:8443/v1/x"),
            &[u("https://r.example:8443/v1/x")],
        );
        assert!(down.unwrap_err().contains("from https down to plain http"));
        assert!(redirect_verdict(&u("https://r.example/b"), &[u("https://r.example/a")]).is_ok());
        assert!(redirect_verdict(&u("http://127.0.0.1/b"), &[u("http://127.0.0.1/a")]).is_ok());
        let six: Vec<Url> = (0..6)
            .map(|i| u(&format!("https://r.example/{i}")))
            .collect();
        assert!(redirect_verdict(&u("https://r.example/7"), &six).is_err());
    }

    /// H3-2. A URL without a scheme is https; a token over plain http goes only to loopback
    /// unless allowed; a client for another origin than the token's goes without it.
    #[test]
    fn the_token_is_bound_to_its_origin_and_scheme() {
        assert_eq!(parse_base_url("127.0.0.1:8080").unwrap().scheme(), "https");
        let tok = Some(Arc::new(Zeroizing::new("t".to_string())));
        let opts = |allow| ClientOptions {
            token: tok.clone(),
            allow_http_token: allow,
            ..ClientOptions::default()
        };
        let e = RegistryClient::new("http://10.0.0.5:8090", opts(false)).unwrap_err();
        assert!(format!("{e}").contains("--allow-http-token"), "{e}");
        assert!(RegistryClient::new("http://10.0.0.5:8090", opts(true))
            .unwrap()
            .has_token());
        assert!(RegistryClient::new("http://localhost:8090", opts(false))
            .unwrap()
            .has_token());
        let a = RegistryClient::new("https://a.example", opts(false)).unwrap();
        let b = RegistryClient::new("https://b.example", a.options().clone()).unwrap();
        assert!(!b.has_token());
        let back = RegistryClient::new("https://a.example/", b.options().clone()).unwrap();
        assert!(!back.has_token(), "b's options carry no token any more");
    }
}
