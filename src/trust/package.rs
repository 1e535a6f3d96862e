//! Package logs: fetched whole with `fetch/logs` at a signed checkpoint's length, validated with
//! warg-protocol's `package::LogState` (prev chain, version, timestamps, init first, signatures
//! by a key holding the needed permission, grant/revoke), plus the checks it leaves to callers
//! (fetch tokens equal record ids, registry indices increasing, a non-empty log). Proving the
//! validated chain's head in a verified checkpoint proves every record of the chain
//! (warg-trust.md §5 route (a)).

use super::alerts::{Alert, AlertKind};
use super::checkpoint::Checkpoint;
use super::map::ProvedLeaf;
use super::{bail_trust, TrustError};
use crate::ids::{KeyId, LogId, RecordId};
use crate::record::{Entry, Permission, RecordContent};
use crate::registry::{ApiError, RegistryClient};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Serialize;
use serde_json::json;
use warg_protocol::package::{LogState, PackageRecord};
use warg_protocol::{ProtoEnvelope, ProtoEnvelopeBody};

pub use crate::registry::trust_api::PackageEnvelope;

/// Most package records fetched for one log; a longer log is refused (registry fault).
pub const MAX_PACKAGE_RECORDS: usize = 100_000;
/// Records asked for per `fetch/logs` page (the server's maximum).
pub const PAGE_LIMIT: u16 = 1000;

/// One validated record of a package log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageLogRecord {
    /// Position in the package log (0 = the init record).
    pub index: usize,
    /// Position in the registry's global log.
    pub registry_index: u64,
    pub record_id: RecordId,
    /// The record's own timestamp (Unix seconds, signed by its publisher).
    pub time_secs: i64,
    /// The key that signed it (validated to hold the permissions its entries need).
    pub signer: KeyId,
    pub entries: Vec<Entry>,
}

/// A package log whose whole chain validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageLog {
    pub log_id: LogId,
    pub records: Vec<PackageLogRecord>,
    /// The last record's id (what the map must hold for this log at the checkpoint).
    pub head: RecordId,
}

impl PackageLog {
    /// The leaf to prove: the head record at its registry index.
    pub fn head_leaf(&self) -> Option<ProvedLeaf> {
        self.records.last().map(|r| ProvedLeaf {
            index: r.registry_index,
            log_id: self.log_id,
            record_id: r.record_id,
        })
    }
}

/// Fetches the whole package log at `log_length` (a signed checkpoint's length), paging with
/// [`PAGE_LIMIT`]. An unknown log is `ApiError::NotFound { what: "log", .. }`.
pub async fn fetch_package_log(
    client: &RegistryClient,
    log_length: u64,
    log: &LogId,
) -> Result<Vec<PackageEnvelope>, ApiError> {
    fetch_package_log_paged(client, log_length, log, PAGE_LIMIT).await
}

pub(super) fn fault(context: String) -> ApiError {
    ApiError::BadBody {
        status: 200,
        context,
        excerpt: String::new(),
    }
}

/// [`fetch_package_log`] with a page size of `limit` (1–1000). Paging goes on while a page is
/// full and says `more`. Bounded: more than [`MAX_PACKAGE_RECORDS`] records, a page that does
/// not advance (registry indices not increasing, the same last fetch token twice), or an
/// unparsable fetch token is a registry fault.
pub async fn fetch_package_log_paged(
    client: &RegistryClient,
    log_length: u64,
    log: &LogId,
    limit: u16,
) -> Result<Vec<PackageEnvelope>, ApiError> {
    let limit = limit.clamp(1, PAGE_LIMIT);
    let mut out: Vec<PackageEnvelope> = Vec::new();
    let mut since: Option<RecordId> = None;
    let mut last_index: Option<u64> = None;
    loop {
        let mut page = client
            .fetch_package_log_page(log_length, log, since.as_ref(), limit)
            .await?;
        let records = page.packages.remove(log).unwrap_or_default();
        // `more` is true when ANY list hit the limit, and the operator log is always listed
        // from its start: only a full page of this log's records means there may be more.
        let full = records.len() >= usize::from(limit);
        for r in &records {
            if last_index.is_some_and(|l| r.registry_index <= l) {
                return Err(fault(format!(
                    "the package log page after {} does not advance: registry index {} follows {}",
                    since.map_or("the start".to_string(), |s| s.to_string()),
                    r.registry_index,
                    last_index.unwrap_or_default()
                )));
            }
            last_index = Some(r.registry_index);
        }
        if out.len().saturating_add(records.len()) > MAX_PACKAGE_RECORDS {
            return Err(fault(format!(
                "package log {log} has more than {MAX_PACKAGE_RECORDS} records; refusing to fetch more"
            )));
        }
        out.extend(records);
        if !(page.more && full) {
            break;
        }
        let Some(last) = out.last() else { break };
        let token: RecordId = last
            .fetch_token
            .parse()
            .map_err(|e| fault(format!("package log fetchToken: {e}")))?;
        if since == Some(token) {
            return Err(fault(format!(
                "the package log page after {token} does not advance"
            )));
        }
        since = Some(token);
    }
    Ok(out)
}

fn short_text(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Validates the whole package log of `log` from its first record. The error names the record
/// (position, registry index, record id, signer) and why it fails.
pub fn validate_package_log(
    log: &LogId,
    records: &[PackageEnvelope],
) -> Result<PackageLog, TrustError> {
    if records.is_empty() {
        bail_trust!("package log {log} is empty");
    }
    let mut state = LogState::new();
    let mut out: Vec<PackageLogRecord> = Vec::with_capacity(records.len());
    let mut last_index: Option<u64> = None;
    for (n, r) in records.iter().enumerate() {
        let at = format!("package record {n} (registry index {})", r.registry_index);
        let bytes = B64
            .decode(r.content_bytes.trim())
            .map_err(|e| TrustError(format!("{at}: contentBytes is not base64: {e}")))?;
        let id = RecordId::for_package_record(&bytes);
        let at = format!(
            "package record {n} (registry index {}, {id})",
            r.registry_index
        );
        if r.fetch_token != id.to_string() {
            bail_trust!(
                "{at}: fetchToken `{}` is not its record id",
                short_text(&r.fetch_token)
            );
        }
        if last_index.is_some_and(|l| r.registry_index <= l) {
            bail_trust!("{at}: registry index does not increase");
        }
        last_index = Some(r.registry_index);
        let body: ProtoEnvelopeBody = serde_json::from_value(json!({
            "contentBytes": r.content_bytes.trim(),
            "keyId": r.key_id,
            "signature": r.signature,
        }))
        .map_err(|e| TrustError(format!("{at}: bad envelope: {e}")))?;
        let env: ProtoEnvelope<PackageRecord> = body
            .try_into()
            .map_err(|e| TrustError(format!("{at} does not decode: {e}")))?;
        state = state.validate(&env).map_err(|e| {
            TrustError(format!(
                "{at} signed by `{}` is invalid: {e}",
                short_text(&r.key_id)
            ))
        })?;
        let content = RecordContent::decode(&bytes)
            .map_err(|e| TrustError(format!("{at} does not decode: {e}")))?;
        let signer: KeyId = r
            .key_id
            .parse()
            .map_err(|e| TrustError(format!("{at}: signer: {e}")))?;
        out.push(PackageLogRecord {
            index: n,
            registry_index: r.registry_index,
            record_id: id,
            time_secs: content.time.seconds,
            signer,
            entries: content.entries,
        });
    }
    let Some(last) = out.last() else {
        bail_trust!("package log {log} is empty");
    };
    let head = last.record_id;
    let head_ok = state
        .head()
        .as_ref()
        .is_some_and(|h| h.digest.to_string() == head.to_string());
    if !head_ok {
        bail_trust!("package log {log}: the validated head does not match its last record");
    }
    Ok(PackageLog {
        log_id: *log,
        records: out,
        head,
    })
}

/// Best effort, nothing validated: the records of a log that failed validation which still
/// decode, to show what the registry served. Undecodable envelopes are skipped.
pub fn decode_unverified(records: &[PackageEnvelope]) -> Vec<PackageLogRecord> {
    records
        .iter()
        .enumerate()
        .filter_map(|(n, r)| {
            let bytes = B64.decode(r.content_bytes.trim()).ok()?;
            let content = RecordContent::decode(&bytes).ok()?;
            Some(PackageLogRecord {
                index: n,
                registry_index: r.registry_index,
                record_id: RecordId::for_package_record(&bytes),
                time_secs: content.time.seconds,
                signer: r.key_id.parse().ok()?,
                entries: content.entries,
            })
        })
        .collect()
}

/// The PACKAGE_LOG_INVALID alert for a log that failed [`validate_package_log`], with the
/// envelopes as evidence.
pub fn invalid_log_alert(
    log: &LogId,
    package: Option<&str>,
    err: &TrustError,
    records: &[PackageEnvelope],
) -> Alert {
    let name = package.map_or(String::new(), |p| format!(" ({p})"));
    Alert::new(
        AlertKind::PackageLogInvalid,
        format!("package log {log}{name}: {err}"),
        json!({"logId": log, "package": package, "packageLog": records}),
    )
}

fn perms(p: &[Permission]) -> String {
    p.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn short_key(k: &KeyId) -> String {
    format!("sha256:{}…", k.short(8))
}

/// What one entry did, in a few words: `init`, `release 2.0.0`, `yank 1.1.0`,
/// `grant release → sha256:1a2b3c4d…`, `revoke release from sha256:1a2b3c4d…`. Registry text
/// (versions) is not escaped: clean it before printing to a terminal.
pub fn describe_entry(e: &Entry) -> String {
    match e {
        Entry::Init { .. } => "init".into(),
        Entry::Release { version, .. } => format!("release {version}"),
        Entry::Yank { version } => format!("yank {version}"),
        Entry::Grant {
            public_key,
            permissions,
        } => format!(
            "grant {} → {}",
            perms(permissions),
            short_key(&KeyId::for_public_key(public_key))
        ),
        Entry::Revoke {
            key_id,
            permissions,
        } => format!("revoke {} from {}", perms(permissions), short_key(key_id)),
    }
}

/// What the record did: its entries described and joined with `; ` (`no entries` for an
/// empty record, which is valid).
pub fn describe(r: &PackageLogRecord) -> String {
    if r.entries.is_empty() {
        return "no entries".into();
    }
    r.entries
        .iter()
        .map(describe_entry)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Proves the validated log's head (registry index, record id) in the log and map of
/// `checkpoint` with the strict checks of [`super::map::verify_inclusion`]: the chain is
/// hash-linked to its head, so every record of it is committed. `checkpoint` must be verified
/// (see [`verify_checkpoint`]).
pub async fn prove_package(
    client: &RegistryClient,
    checkpoint: &Checkpoint,
    log: &PackageLog,
) -> Result<(), super::heads::HeadProofError> {
    let Some(leaf) = log.head_leaf() else {
        return Err(super::heads::HeadProofError::Failed(
            "the package log is empty".into(),
        ));
    };
    super::heads::prove_heads_checked(client, checkpoint, &[leaf])
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| {
            Err(super::heads::HeadProofError::Failed(
                "no proof result".into(),
            ))
        })
}

/// A package log as the trust engine sees it: the records the registry served at a checkpoint
/// length, and whether they are proven.
#[derive(Debug, Clone)]
pub struct LoadedLog {
    pub records: Vec<PackageLogRecord>,
    /// The checkpoint length it was fetched at.
    pub length: u64,
    /// `Ok` when the chain validated and its head is proven in a verified checkpoint; else why
    /// not (`KIND: detail`, or why nothing verified stands behind it).
    pub status: Result<(), String>,
    /// Alerts found in the log itself (PACKAGE_LOG_INVALID, RECORD_NOT_INCLUDED).
    pub alerts: Vec<Alert>,
}

/// Fetches a package log at `verified`'s length — a checkpoint that passed a verification
/// cycle (signature, pin, timestamps, rewinds and forks) — validates its chain and proves its
/// head there. Without one (`None`), the log is fetched at `unverified_len` and shown
/// unproven, `why` saying why. The one route to "proven" for `log` and the `L` pane.
pub async fn load_proven(
    client: &RegistryClient,
    verified: Option<&Checkpoint>,
    unverified_len: u64,
    why: &str,
    log_id: &LogId,
    package: Option<&str>,
) -> Result<LoadedLog, ApiError> {
    let length = verified.map(|c| c.log_length).unwrap_or(unverified_len);
    let envelopes = fetch_package_log(client, length, log_id).await?;
    Ok(match validate_package_log(log_id, &envelopes) {
        Err(e) => LoadedLog {
            records: decode_unverified(&envelopes),
            length,
            status: Err(format!("chain invalid: {e}")),
            alerts: vec![invalid_log_alert(log_id, package, &e, &envelopes)],
        },
        Ok(pl) => match verified {
            None => LoadedLog {
                records: pl.records,
                length,
                status: Err(why.to_string()),
                alerts: Vec::new(),
            },
            Some(cp) => {
                let (status, alerts) = match prove_package(client, cp, &pl).await {
                    Ok(()) => (Ok(()), Vec::new()),
                    // Not asked (timeout, 5xx, refused): not proven this time, no alert.
                    Err(super::heads::HeadProofError::Unreachable(e)) => {
                        (Err(format!("head proof not asked: {e}")), Vec::new())
                    }
                    Err(super::heads::HeadProofError::Failed(e)) => (
                        Err(format!("head proof failed: {e}")),
                        pl.head_leaf()
                            .map(|leaf| super::heads::not_included_alert(&leaf, &e, cp))
                            .into_iter()
                            .collect(),
                    ),
                };
                LoadedLog {
                    records: pl.records,
                    length,
                    status,
                    alerts,
                }
            }
        },
    })
}

/// The last checkpoint that passed a verification cycle for `registry`, from the store.
pub fn last_verified(
    db: &super::db::TrustDb,
    registry: &str,
) -> Result<Option<Checkpoint>, TrustError> {
    match db.load_state(registry)?.and_then(|s| s.checkpoint) {
        Some(vc) => Ok(Some(Checkpoint::parse(&vc.envelope)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Algorithm, SigningKey};
    use proptest::prelude::*;
    use std::time::{Duration, SystemTime};
    use warg_protocol::package::{PackageEntry, Permission as WPerm};

    fn wkey(k: &SigningKey) -> warg_crypto::signing::PrivateKey {
        warg_crypto::signing::PrivateKey::decode(k.encode_private().to_string()).unwrap()
    }

    fn key() -> SigningKey {
        SigningKey::generate(Algorithm::EcdsaP256).unwrap()
    }

    fn log() -> LogId {
        "demo:unit"
            .parse::<crate::ids::PackageName>()
            .unwrap()
            .log_id()
    }

    fn env_v(
        key: &SigningKey,
        prev: Option<&PackageEnvelope>,
        t: u64,
        version: u32,
        entries: Vec<PackageEntry>,
        idx: u64,
    ) -> PackageEnvelope {
        let rec = PackageRecord {
            prev: prev.map(|p| {
                warg_protocol::registry::RecordId::from(
                    p.fetch_token.parse::<warg_crypto::hash::AnyHash>().unwrap(),
                )
            }),
            version,
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(t),
            entries,
        };
        let e = ProtoEnvelope::signed_contents(&wkey(key), rec).unwrap();
        let body: ProtoEnvelopeBody = e.into();
        let v = serde_json::to_value(&body).unwrap();
        let content = v["contentBytes"].as_str().unwrap().to_string();
        let id = RecordId::for_package_record(&B64.decode(&content).unwrap());
        PackageEnvelope {
            content_bytes: content,
            key_id: v["keyId"].as_str().unwrap().into(),
            signature: v["signature"].as_str().unwrap().into(),
            registry_index: idx,
            fetch_token: id.to_string(),
        }
    }

    fn env(
        key: &SigningKey,
        prev: Option<&PackageEnvelope>,
        t: u64,
        entries: Vec<PackageEntry>,
        idx: u64,
    ) -> PackageEnvelope {
        env_v(key, prev, t, 0, entries, idx)
    }

    fn init(k: &SigningKey) -> PackageEntry {
        PackageEntry::Init {
            hash_algorithm: warg_crypto::hash::HashAlgorithm::Sha256,
            key: wkey(k).public_key(),
        }
    }

    fn release(v: &str) -> PackageEntry {
        PackageEntry::Release {
            version: v.parse().unwrap(),
            content: format!("sha256:{}", "ab".repeat(32)).parse().unwrap(),
        }
    }

    fn yank(v: &str) -> PackageEntry {
        PackageEntry::Yank {
            version: v.parse().unwrap(),
        }
    }

    fn err(records: &[PackageEnvelope]) -> String {
        validate_package_log(&log(), records).unwrap_err().0
    }

    /// init, release, yank, grant release to b, b releases, revoke from b.
    fn good(a: &SigningKey, b: &SigningKey) -> Vec<PackageEnvelope> {
        let r0 = env(a, None, 10, vec![init(a)], 1);
        let r1 = env(a, Some(&r0), 11, vec![release("1.0.0")], 3);
        let r2 = env(a, Some(&r1), 11, vec![yank("1.0.0")], 4);
        let r3 = env(
            a,
            Some(&r2),
            12,
            vec![PackageEntry::GrantFlat {
                key: wkey(b).public_key(),
                permissions: vec![WPerm::Release],
            }],
            7,
        );
        let r4 = env(b, Some(&r3), 13, vec![release("2.0.0")], 8);
        let r5 = env(
            a,
            Some(&r4),
            14,
            vec![PackageEntry::RevokeFlat {
                key_id: wkey(b).public_key().fingerprint(),
                permissions: vec![WPerm::Release],
            }],
            9,
        );
        vec![r0, r1, r2, r3, r4, r5]
    }

    #[test]
    fn a_valid_log_validates_with_what_each_record_did() {
        let (a, b) = (key(), key());
        let recs = good(&a, &b);
        let l = validate_package_log(&log(), &recs).unwrap();
        assert_eq!(l.records.len(), 6);
        assert_eq!(l.head.to_string(), recs[5].fetch_token);
        let did: Vec<String> = l.records.iter().map(describe).collect();
        let bk = format!("sha256:{}…", b.key_id().short(8));
        assert_eq!(
            did,
            [
                "init".to_string(),
                "release 1.0.0".into(),
                "yank 1.0.0".into(),
                format!("grant release → {bk}"),
                "release 2.0.0".into(),
                format!("revoke release from {bk}"),
            ]
        );
        let r = &l.records[4];
        assert_eq!(
            (r.index, r.registry_index, r.time_secs, r.signer),
            (4, 8, 13, b.key_id())
        );
        assert_eq!(l.records[0].signer, a.key_id());
        let leaf = l.head_leaf().unwrap();
        assert_eq!((leaf.index, leaf.record_id), (9, l.head));
        // Several entries in one record are joined.
        let r0 = env(
            &a,
            None,
            10,
            vec![init(&a), release("1.0.0"), yank("1.0.0")],
            1,
        );
        let l = validate_package_log(&log(), &[r0]).unwrap();
        assert_eq!(describe(&l.records[0]), "init; release 1.0.0; yank 1.0.0");
        let empty = env(&a, Some(&recs[5]), 20, vec![], 10);
        let mut with_empty = recs.clone();
        with_empty.push(empty);
        let l = validate_package_log(&log(), &with_empty).unwrap();
        assert_eq!(describe(&l.records[6]), "no entries");
    }

    #[test]
    fn each_broken_rule_names_the_record_and_the_reason() {
        let (a, b) = (key(), key());
        let g = good(&a, &b);
        assert!(err(&[]).contains("is empty"));
        // First record without init / with prev.
        let no_init = env(&a, None, 10, vec![release("1.0.0")], 1);
        let e = err(&[no_init]);
        assert!(e.starts_with("package record 0 (registry index 1,"), "{e}");
        assert!(
            e.contains("did not have required permission release"),
            "{e}"
        );
        let first_prev = env(&a, Some(&g[0]), 10, vec![init(&a)], 1);
        assert!(err(&[first_prev]).contains("the first record contained a previous hash"));
        // Init signed by another key.
        let stolen = env(&b, None, 10, vec![init(&a)], 1);
        assert!(err(&[stolen]).contains("is invalid"));
        // Broken prev chain: record 2 points at record 0.
        let skip = env(&a, Some(&g[0]), 11, vec![yank("1.0.0")], 4);
        let e = err(&[g[0].clone(), g[1].clone(), skip]);
        assert!(e.starts_with("package record 2 (registry index 4,"), "{e}");
        assert!(e.contains("previous record hash does not match"), "{e}");
        // Missing prev after init.
        let orphan = env(&a, None, 11, vec![release("1.0.0")], 3);
        assert!(err(&[g[0].clone(), orphan]).contains("no previous hash"));
        // Timestamp going backwards.
        let back = env(&a, Some(&g[0]), 9, vec![release("1.0.0")], 3);
        let e = err(&[g[0].clone(), back]);
        assert!(
            e.contains("package record 1") && e.contains("lower timestamp"),
            "{e}"
        );
        // Version other than 0.
        let v1 = env_v(&a, Some(&g[0]), 11, 1, vec![], 3);
        assert!(err(&[g[0].clone(), v1]).contains("protocol version 1 not allowed"));
        // Release by a key that was never granted anything.
        let by_b = env(&b, Some(&g[0]), 11, vec![release("1.0.0")], 3);
        let e = err(&[g[0].clone(), by_b]);
        assert!(e.contains(&b.key_id().to_string()), "{e}");
        // b holds release but not yank.
        let b_yanks = env(&b, Some(&g[4]), 13, vec![yank("2.0.0")], 9);
        let e = err(&[&g[..5], &[b_yanks]].concat());
        assert!(
            e.starts_with("package record 5") && e.contains("required permission yank"),
            "{e}"
        );
        // After the revoke b cannot release.
        let b_after = env(&b, Some(&g[5]), 15, vec![release("3.0.0")], 10);
        let e = err(&[&g[..], &[b_after]].concat());
        assert!(
            e.starts_with("package record 6") && e.contains("release"),
            "{e}"
        );
        // Revoking what the key does not hold; granting what the signer lacks.
        let again = env(
            &a,
            Some(&g[5]),
            15,
            vec![PackageEntry::RevokeFlat {
                key_id: wkey(&b).public_key().fingerprint(),
                permissions: vec![WPerm::Release],
            }],
            10,
        );
        assert!(err(&[&g[..], &[again]].concat()).contains("which did not have it"));
        let b_grants_yank = env(
            &b,
            Some(&g[4]),
            13,
            vec![PackageEntry::GrantFlat {
                key: wkey(&b).public_key(),
                permissions: vec![WPerm::Yank],
            }],
            9,
        );
        assert!(err(&[&g[..5], &[b_grants_yank]].concat()).contains("required permission yank"));
        // Release twice, yank unreleased, second init.
        let twice = env(&a, Some(&g[1]), 11, vec![release("1.0.0")], 4);
        assert!(err(&[g[0].clone(), g[1].clone(), twice]).contains("already released"));
        let yank_none = env(&a, Some(&g[0]), 11, vec![yank("9.0.0")], 3);
        assert!(err(&[g[0].clone(), yank_none]).contains("not yet been released"));
        let reinit = env(&a, Some(&g[0]), 11, vec![init(&a)], 3);
        assert!(err(&[g[0].clone(), reinit]).contains("second \"init\""));
        // Tampered signature (another record's), tampered content (fetch token then differs),
        // wrong fetch token, indices not increasing.
        let mut sig = g.clone();
        sig[3].signature = g[2].signature.clone();
        let e = err(&sig);
        assert!(
            e.starts_with("package record 3") && e.contains("unable to verify signature"),
            "{e}"
        );
        let mut content = g.clone();
        content[2].content_bytes = g[1].content_bytes.clone();
        assert!(err(&content).contains("fetchToken"));
        let mut content_and_token = content.clone();
        content_and_token[2].fetch_token = g[1].fetch_token.clone();
        assert!(err(&content_and_token).contains("package record 2"));
        let mut idx = g.clone();
        idx[2].registry_index = 3;
        assert!(err(&idx).contains("registry index does not increase"));
        let mut garbage = g.clone();
        garbage[1].content_bytes = "!!".into();
        assert!(err(&garbage).contains("not base64"));
        // The alert names the package and carries the detail.
        let a = invalid_log_alert(&log(), Some("demo:unit"), &TrustError::new("x"), &g);
        assert_eq!(a.kind, AlertKind::PackageLogInvalid);
        assert_eq!(a.detail, format!("package log {} (demo:unit): x", log()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_envelopes_never_panic(c in prop::collection::vec(any::<u8>(), 0..200), k in ".{0,80}", s in ".{0,120}") {
            let content = B64.encode(&c);
            let e = PackageEnvelope { fetch_token: RecordId::for_package_record(&c).to_string(), content_bytes: content, key_id: k, signature: s, registry_index: 0 };
            prop_assert!(validate_package_log(&log(), &[e]).is_err());
        }
    }
}
