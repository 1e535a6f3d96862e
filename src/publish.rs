//! The publish flow shared by `wargdash publish` and the dashboard's form: find the log head,
//! build the record (prev = head, time = now), sign, submit without ever re-POSTing blindly,
//! upload missing content.

use crate::ids::{ContentDigest, LogId, PackageName, RecordId};
use crate::keys::SigningKey;
use crate::record::{Entry, RecordContent, RecordTime, SignedRecord};
use crate::registry::{ApiError, PackageRecord, RecordState, RegistryClient};
use std::collections::BTreeMap;
use std::fmt;

/// Content to upload, by digest.
pub type Contents = BTreeMap<ContentDigest, Vec<u8>>;

/// A record built on the registry's current head, ready for review and signing.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub package: PackageName,
    pub log_id: LogId,
    pub head: Option<RecordId>,
    pub content: RecordContent,
    /// Things the operator should know before signing (e.g. clock skew).
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub enum PublishError {
    Api(ApiError),
    /// A problem found before anything was sent.
    Refused(String),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(e) => e.fmt(f),
            Self::Refused(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for PublishError {}

impl From<ApiError> for PublishError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl PublishError {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Api(e) => e.exit_code(),
            Self::Refused(_) => crate::exit::USAGE,
        }
    }
}

/// How far the local clock may run ahead of the registry's latest checkpoint before signing is
/// refused (the reference server re-signs its checkpoint every 5 s, so its timestamp tracks the
/// registry's clock).
pub const CLOCK_SKEW_LIMIT_SECS: i64 = 60;

/// How a record is built.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions<'a> {
    /// For a package with no log yet: put `init` with this key first.
    pub auto_init: Option<&'a SigningKey>,
    /// The record time; `None` is the local clock now.
    pub now: Option<RecordTime>,
    /// Sign even when the local clock is ahead of the registry's (only a warning then).
    pub allow_clock_skew: bool,
}

/// Fetches the checkpoint and the log head, and builds the record content.
pub async fn prepare(
    client: &RegistryClient,
    package: &PackageName,
    entries: Vec<Entry>,
    opts: BuildOptions<'_>,
) -> Result<Prepared, PublishError> {
    if entries.is_empty() {
        return Err(PublishError::Refused(
            "a record needs at least one entry".into(),
        ));
    }
    for e in &entries {
        e.validate()
            .map_err(|err| PublishError::Refused(format!("{}: {err}", e.kind())))?;
    }
    let log_id = package.log_id();
    let checkpoint = client.checkpoint().await?;
    let head = client
        .log_head(checkpoint.contents.log_length, &log_id)
        .await?;
    let mut entries = entries;
    let mut warnings = Vec::new();
    let starts_with_init = matches!(entries.first(), Some(Entry::Init { .. }));
    match (&head, starts_with_init) {
        (None, false) => match opts.auto_init {
            Some(key) => entries.insert(0, Entry::Init { public_key: key.public_key() }),
            None => {
                return Err(PublishError::Refused(format!(
                    "package `{package}` has no log on this registry yet: its first record must start with `init` (add an init entry; on the command line, --init puts init and this entry in one record)"
                )))
            }
        },
        (Some(h), true) => {
            return Err(PublishError::Refused(format!(
                "package `{package}` is already initialized (head {}); a second init would be rejected",
                h.record_id
            )))
        }
        _ => {}
    }
    let now = opts.now.unwrap_or_else(RecordTime::now);
    let skew = now.seconds - checkpoint.contents.timestamp as i64;
    if skew > CLOCK_SKEW_LIMIT_SECS {
        let msg = format!(
            "the local clock is {skew}s ahead of the registry's latest checkpoint; a record dated in the future blocks its package log until real time catches up"
        );
        if !opts.allow_clock_skew {
            return Err(PublishError::Refused(format!(
                "refusing to sign: {msg}. Fix the clock (or pass --allow-clock-skew if the registry's checkpoint is known to be stale)"
            )));
        }
        warnings.push(msg);
    }
    if let Some(h) = &head {
        if now < h.content.time {
            return Err(PublishError::Refused(format!(
                "refusing to sign: the local clock ({}s) is earlier than the head record's time ({}s); the registry would reject the record. Fix the clock",
                now.seconds, h.content.time.seconds
            )));
        }
    }
    Ok(Prepared {
        package: package.clone(),
        log_id,
        head: head.map(|h| h.record_id),
        content: RecordContent {
            prev: None,
            time: now,
            entries,
        },
        warnings,
    }
    .with_prev())
}

impl Prepared {
    fn with_prev(mut self) -> Self {
        self.content.prev = self.head;
        self
    }
}

/// Whether a rejection reason means the log's head moved after the record was built (another
/// record was published first): rebuilding on the new head fixes it.
pub fn head_moved(reason: &str) -> bool {
    reason.contains("previous record hash does not match")
}

/// The explanation shown with such a rejection.
pub fn head_moved_hint(package: &PackageName) -> String {
    format!(
        "the head of `{package}` moved after this record was built: another record was published first. Rebuilding on the new head fixes it"
    )
}

/// What happened during a submit, for progress display.
#[derive(Debug, Clone)]
pub enum Progress {
    Submitting(RecordId),
    /// The POST failed without an answer; checking whether the registry got it anyway.
    Recovering(String),
    Accepted(RecordState),
    Uploading {
        digest: ContentDigest,
        bytes: usize,
    },
    Uploaded(ContentDigest),
}

/// Submits a signed record. On a network error after the POST, the record is looked up by its
/// locally computed ID and resubmitted only if the registry has never seen it (the reference
/// server corrupts a record's status on an identical re-POST). Then uploads missing content
/// from `contents`.
pub async fn submit(
    client: &RegistryClient,
    package: &PackageName,
    signed: &SignedRecord,
    contents: &Contents,
    mut progress: impl FnMut(Progress),
) -> Result<PackageRecord, PublishError> {
    let log_id = package.log_id();
    progress(Progress::Submitting(signed.record_id));
    let answer = match client
        .publish(&log_id, package.as_str(), &signed.envelope)
        .await
    {
        Ok((rec, _)) => rec,
        Err(e @ (ApiError::Network { .. } | ApiError::Timeout { .. })) => {
            progress(Progress::Recovering(e.to_string()));
            match client.get_record(&log_id, &signed.record_id).await {
                Ok((rec, _)) => rec,
                Err(ApiError::NotFound { .. }) => {
                    client
                        .publish(&log_id, package.as_str(), &signed.envelope)
                        .await?
                        .0
                }
                Err(_) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    if answer.record_id != signed.record_id {
        return Err(ApiError::IdMismatch {
            asked: signed.record_id.to_string(),
            answered: answer.record_id.to_string(),
        }
        .into());
    }
    progress(Progress::Accepted(answer.state.clone()));
    if let RecordState::Sourcing { missing_content } = &answer.state {
        for (digest, missing) in missing_content {
            let bytes = contents.get(digest).ok_or_else(|| {
                PublishError::Refused(format!(
                    "the registry asks for content {digest}, which wargdash does not have here (select the content file again)"
                ))
            })?;
            let endpoint = missing
                .upload
                .iter()
                .find(|e| e.kind == "http")
                .ok_or_else(|| {
                    PublishError::Refused(format!(
                        "the registry offers no http upload endpoint for {digest}"
                    ))
                })?;
            progress(Progress::Uploading {
                digest: *digest,
                bytes: bytes.len(),
            });
            client.upload(endpoint, bytes.clone()).await?;
            progress(Progress::Uploaded(*digest));
        }
    }
    Ok(answer)
}
