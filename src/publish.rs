//! The publish flow shared by `wargdash publish` and the dashboard's form: find the log head,
//! build the record (prev = head, time = now), sign, submit without ever re-POSTing blindly,
//! upload missing content.

use crate::ids::{ContentDigest, KeyId, LogId, PackageName, RecordId, RecordRef};
use crate::keys::SigningKey;
use crate::record::{Entry, Permission, RecordContent, RecordTime, SignedRecord};
use crate::registry::{ApiError, PackageRecord, RecordState, RegistryClient};
use crate::tracker::poll::Polled;
use crate::tracker::store::{NewTracked, Origin};
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
    /// The package has no log on the registry and the record does not start with `init`.
    NoLog(PackageName),
    /// The submit was sent but no answer came back, and the registry does not know the record
    /// (yet). It may still be committed, so it is not sent again on its own.
    OutcomeUnknown {
        package: PackageName,
        record: RecordRef,
        cause: String,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(e) => e.fmt(f),
            Self::Refused(m) => f.write_str(m),
            Self::NoLog(package) => write!(
                f,
                "package `{package}` has no log on this registry yet: its first record must start with `init` (add an init entry; on the command line, --init puts init and this entry in one record)"
            ),
            Self::OutcomeUnknown {
                package,
                record,
                cause,
            } => write!(
                f,
                "outcome unknown: record {} to {package} was sent but no answer came back ({cause}), and the registry does not know it yet. It may still be committed: check with `wargdash status {} {}`, or submit it again deliberately with --resubmit",
                record.record, record.log, record.record
            ),
        }
    }
}

impl std::error::Error for PublishError {}

impl From<ApiError> for PublishError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
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
            Some(key) => entries.insert(
                0,
                Entry::Init {
                    public_key: key.public_key(),
                },
            ),
            None => return Err(PublishError::NoLog(package.clone())),
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
    let skew =
        clock_skew(now.seconds, checkpoint.contents.timestamp).map_err(PublishError::Refused)?;
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

/// How far the local clock (`now`, Unix seconds) is ahead of the registry's checkpoint
/// timestamp, without overflow: a timestamp no real clock can hold is refused, not wrapped.
pub fn clock_skew(now: i64, checkpoint_ts: u64) -> Result<i64, String> {
    let ts = i64::try_from(checkpoint_ts).map_err(|_| {
        format!("the registry's checkpoint timestamp {checkpoint_ts} is not a plausible time")
    })?;
    Ok(now.saturating_sub(ts))
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
    Submitting(RecordId, PackageName),
    /// The POST failed without an answer; checking whether the registry got it anyway.
    Recovering(String),
    Accepted(RecordState),
    Uploading {
        digest: ContentDigest,
        bytes: usize,
    },
    Uploaded(ContentDigest),
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Submitting(id, package) => write!(f, "submitting record {id} to {package}"),
            Self::Recovering(e) => write!(
                f,
                "no answer to the submit ({}); checking whether the registry received it",
                crate::text::clean(e)
            ),
            Self::Accepted(s) => write!(f, "accepted: {}", s.name()),
            Self::Uploading { digest, bytes } => write!(f, "uploading {digest} ({bytes} bytes)"),
            Self::Uploaded(d) => write!(f, "uploaded {d}"),
        }
    }
}

/// Submits a signed record, then uploads missing content from `contents`. After a network
/// error or timeout once the POST may have been sent, the record is looked up by its locally
/// computed ID: if the registry knows it, the flow carries on; if not, the outcome is unknown
/// and the record is not sent again unless `resubmit` says so (a first POST still in flight
/// may yet be committed, and the reference server corrupts a record's status on an identical
/// re-POST).
pub async fn submit(
    client: &RegistryClient,
    package: &PackageName,
    signed: &SignedRecord,
    contents: &Contents,
    resubmit: bool,
    mut progress: impl FnMut(Progress),
) -> Result<PackageRecord, PublishError> {
    let log_id = package.log_id();
    progress(Progress::Submitting(signed.record_id, package.clone()));
    let answer = match client
        .publish(&log_id, package.as_str(), &signed.envelope)
        .await
    {
        Ok((rec, _)) => rec,
        Err(e @ (ApiError::Network { .. } | ApiError::Timeout { .. })) => {
            progress(Progress::Recovering(e.to_string()));
            let unknown = |cause: String| PublishError::OutcomeUnknown {
                package: package.clone(),
                record: RecordRef::new(log_id, signed.record_id),
                cause,
            };
            match client.get_record(&log_id, &signed.record_id).await {
                Ok((rec, _)) => rec,
                Err(ApiError::NotFound { .. }) if resubmit => {
                    client
                        .publish(&log_id, package.as_str(), &signed.envelope)
                        .await?
                        .0
                }
                Err(ApiError::NotFound { .. }) => return Err(unknown(e.to_string())),
                Err(e2) => return Err(unknown(format!("{e}; then {e2}"))),
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

pub use crate::tracker::tracking::Tracking;

/// The one publish flow after a record is prepared, for the CLI and the dashboard: sign,
/// track, submit, upload, record the answer; untrack a record refused outright.
pub async fn sign_track_submit<T: Tracking>(
    client: &RegistryClient,
    tracking: &mut T,
    key: &SigningKey,
    prepared: &Prepared,
    contents: &Contents,
    resubmit: bool,
    progress: impl FnMut(Progress),
) -> Result<(RecordRef, PackageRecord), PublishError> {
    let signed = prepared.content.sign(key);
    let r = RecordRef::new(prepared.log_id, signed.record_id);
    tracking
        .track(NewTracked {
            log_id: prepared.log_id,
            record_id: signed.record_id,
            package: Some(prepared.package.to_string()),
            origin: Origin::Submitted,
            entries: Some(prepared.content.entries.clone()),
        })
        .await;
    match submit(
        client,
        &prepared.package,
        &signed,
        contents,
        resubmit,
        progress,
    )
    .await
    {
        Ok(answer) => {
            // The POST answer is the only place `sourcing` appears: keep it in the history.
            if let Ok(raw) = serde_json::to_value(&answer) {
                let polled = Polled {
                    log_id: r.log,
                    record_id: r.record,
                    result: Ok((answer.clone(), raw)),
                };
                tracking.record(polled.outcome());
            }
            Ok((r, answer))
        }
        Err(e) => {
            // Refused outright (401, 4xx invalid, 404 namespace or log): the registry never
            // stored it, so it is not left tracked — the same for every kind of refusal.
            if let PublishError::Api(
                ApiError::Unauthorized { .. }
                | ApiError::Invalid { .. }
                | ApiError::NotFound { .. },
            ) = &e
            {
                tracking.untrack(r);
            }
            Err(e)
        }
    }
}

/// The largest content file a prepared record's files may be (re-read at submit).
pub const MAX_CONTENT_FILE: u64 = 1 << 30;

/// Publishes a record prepared (and reviewed) earlier, as the dashboard's form does: loads
/// the signing key `key_name` from `keys`, re-reads each content file and checks it still has
/// the digest it had when it was chosen, then signs, tracks, submits and uploads
/// ([`sign_track_submit`]). A conflict (the log's head moved) says to review again. A record
/// that rebuilds a rejected one (`rebuilds`: its reference and why it was rejected) is linked
/// to it through `link` once submitted. Errors are messages for the operator.
#[allow(clippy::too_many_arguments)]
pub async fn publish_prepared<T: Tracking>(
    client: &RegistryClient,
    tracking: &mut T,
    keys: &crate::keys::KeyStore,
    key_name: &str,
    prepared: &Prepared,
    files: &BTreeMap<ContentDigest, std::path::PathBuf>,
    rebuilds: Option<(RecordRef, String)>,
    link: impl FnOnce(RecordRef, crate::tracker::links::RebuildLink),
    progress: impl FnMut(Progress),
) -> Result<RecordRef, String> {
    let (keys, name) = (keys.clone(), key_name.to_string());
    let key = tokio::task::spawn_blocking(move || keys.load(&name))
        .await
        .map_err(|e| format!("loading the key: {e}"))?
        .map_err(|e| format!("{e:#}"))?;
    let mut contents = Contents::new();
    for (digest, path) in files {
        let p = path.clone();
        let bytes =
            tokio::task::spawn_blocking(move || crate::fsutil::read_content(&p, MAX_CONTENT_FILE))
                .await
                .map_err(|e| format!("reading {}: {e}", path.display()))?
                .map_err(|e| e.to_string())?;
        if ContentDigest::of_bytes(&bytes) != *digest {
            return Err(format!(
                "{} changed since it was hashed; pick it again",
                path.display()
            ));
        }
        contents.insert(*digest, bytes);
    }
    let r = sign_track_submit(client, tracking, &key, prepared, &contents, false, progress)
        .await
        .map(|(r, _)| r)
        .map_err(|e| match e {
            PublishError::Api(ApiError::Conflict { .. }) => {
                format!("{e} — the head moved; review again to rebuild on the new head")
            }
            e => e.to_string(),
        })?;
    // A rebuild remembers the rejected record it replaces.
    if let Some((original, reason)) = rebuilds {
        link(
            r,
            crate::tracker::links::RebuildLink {
                original: original.record,
                reason,
            },
        );
    }
    Ok(r)
}

/// Why a package has no log yet when this app submitted its `init` and it is still pending:
/// among tracked records `(package, entries, state, record)`, the newest init of `package` not
/// yet published or rejected, as the message to show instead of "no log yet".
pub fn pending_init_message<'a>(
    package: &PackageName,
    tracked: impl IntoIterator<Item = (&'a str, Option<&'a [Entry]>, &'a str, RecordId)>,
) -> Option<String> {
    let (state, record) = tracked
        .into_iter()
        .filter(|(p, entries, state, _)| {
            *p == package.as_str()
                && matches!(entries, Some([Entry::Init { .. }, ..]))
                && !matches!(*state, "published" | "rejected")
        })
        .map(|(_, _, state, r)| (state, r))
        .last()?;
    let state = match state {
        "unknown" | "" => "not polled yet",
        "error" => "its last poll failed",
        other => other,
    };
    Some(format!(
        "the init record {record} of `{package}` is still pending ({state}); wait for it to publish, then submit this record"
    ))
}

/// What a package log says about the checks the registry makes on a new record: versions
/// released (and yanked), and which key holds which permission. Replayed from a validated log,
/// so the form can warn before signing a record the registry would reject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFacts {
    /// Version (semver text) → the record that released it (`None`: the record being checked).
    pub released: BTreeMap<String, Option<RecordId>>,
    pub yanked: std::collections::BTreeSet<String>,
    pub permissions: BTreeMap<KeyId, std::collections::BTreeSet<Permission>>,
}

/// A version's canonical text, so `1.0.0` and `1.0.0 ` compare equal (semver equality).
fn version_key(v: &str) -> String {
    semver::Version::parse(v.trim())
        .map(|v| v.to_string())
        .unwrap_or_else(|_| v.trim().to_string())
}

impl LogFacts {
    /// Replays a validated package log's records.
    pub fn from_records(records: &[crate::trust::package::PackageLogRecord]) -> Self {
        let mut f = Self::default();
        for r in records {
            for e in &r.entries {
                f.apply(e, Some(r.record_id));
            }
        }
        f
    }

    fn apply(&mut self, e: &Entry, record: Option<RecordId>) {
        match e {
            Entry::Init { public_key } => {
                self.permissions.insert(
                    KeyId::for_public_key(public_key),
                    [Permission::Release, Permission::Yank].into(),
                );
            }
            Entry::Grant {
                public_key,
                permissions,
            } => self
                .permissions
                .entry(KeyId::for_public_key(public_key))
                .or_default()
                .extend(permissions.iter().copied()),
            Entry::Revoke {
                key_id,
                permissions,
            } => {
                if let Some(held) = self.permissions.get_mut(key_id) {
                    for p in permissions {
                        held.remove(p);
                    }
                }
            }
            Entry::Release { version, .. } => {
                self.released.entry(version_key(version)).or_insert(record);
            }
            Entry::Yank { version } => {
                self.yanked.insert(version_key(version));
            }
        }
    }

    fn holds(&self, key: &KeyId, p: Permission) -> bool {
        self.permissions.get(key).is_some_and(|s| s.contains(&p))
    }

    /// Why the registry would reject `entries` signed by `signer` (named `signer_name`), entry by
    /// entry, as its validation would find it (earlier entries of the record count).
    pub fn warnings(&self, entries: &[Entry], signer: &KeyId, signer_name: &str) -> Vec<String> {
        let mut state = self.clone();
        let mut out = Vec::new();
        let lacks = |p: Permission, what: &str| {
            format!(
                "the signing key `{signer_name}` ({signer}) lacks the {p} permission on this package, needed to {what}: the registry will reject this record"
            )
        };
        for e in entries {
            match e {
                Entry::Init { .. } => {}
                Entry::Release { version, .. } => {
                    if let Some(r) = state.released.get(&version_key(version)) {
                        let by = match r {
                            Some(r) => format!("by record {r}"),
                            None => "earlier in this record".to_string(),
                        };
                        out.push(format!(
                            "version {version} is already released ({by}{}): the registry will reject this record",
                            if state.yanked.contains(&version_key(version)) { ", since yanked" } else { "" }
                        ));
                    }
                    if !state.holds(signer, Permission::Release) {
                        out.push(lacks(Permission::Release, &format!("release {version}")));
                    }
                }
                Entry::Yank { version } => {
                    if !state.released.contains_key(&version_key(version)) {
                        out.push(format!(
                            "version {version} is not released: the registry will reject yanking it"
                        ));
                    } else if state.yanked.contains(&version_key(version)) {
                        out.push(format!(
                            "version {version} is already yanked: the registry will reject this record"
                        ));
                    }
                    if !state.holds(signer, Permission::Yank) {
                        out.push(lacks(Permission::Yank, &format!("yank {version}")));
                    }
                }
                Entry::Grant { permissions, .. } | Entry::Revoke { permissions, .. } => {
                    for p in permissions {
                        if !state.holds(signer, *p) {
                            out.push(lacks(*p, &format!("{} it", e.kind())));
                        }
                    }
                }
            }
            state.apply(e, None);
        }
        out
    }
}

/// The facts of `log`'s package log at the registry's current checkpoint: fetched whole and
/// validated. A log the registry does not know has no facts (empty).
pub async fn log_facts(client: &RegistryClient, log: &LogId) -> Result<LogFacts, String> {
    let checkpoint = client
        .checkpoint()
        .await
        .map_err(|e| format!("fetching the checkpoint: {e}"))?;
    let envelopes =
        match crate::trust::package::fetch_package_log(client, checkpoint.contents.log_length, log)
            .await
        {
            Ok(e) => e,
            Err(ApiError::NotFound { what, .. }) if what == "log" => return Ok(LogFacts::default()),
            Err(e) => return Err(format!("fetching the package log: {e}")),
        };
    if envelopes.is_empty() {
        return Ok(LogFacts::default());
    }
    let validated = crate::trust::package::validate_package_log(log, &envelopes)
        .map_err(|e| format!("the package log does not validate: {e}"))?;
    Ok(LogFacts::from_records(&validated.records))
}

#[cfg(test)]
mod tests {
    use super::clock_skew;

    #[test]
    fn clock_skew_never_overflows_on_a_hostile_timestamp() {
        assert_eq!(clock_skew(1_000, 900), Ok(100));
        assert_eq!(clock_skew(1_000, 2_000), Ok(-1_000));
        assert!(clock_skew(1_000, u64::MAX).is_err());
        assert!(clock_skew(1_000, i64::MAX as u64 + 1).is_err());
        assert_eq!(clock_skew(i64::MIN, i64::MAX as u64), Ok(i64::MIN));
        assert_eq!(clock_skew(i64::MAX, 0), Ok(i64::MAX));
    }
}
