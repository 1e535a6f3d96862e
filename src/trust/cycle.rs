//! One verification cycle (warg-trust.md §7), the verified-ledger fast path, head proofs and
//! the full audit.

use super::alerts::{Alert, AlertKind};
use super::checkpoint::Checkpoint;
use super::db::TrustDb;
use super::ledger::{parse_page, Frontier, MAX_PAGE_ENTRIES};
use super::map::{verify_consistency, verify_inclusion, ProvedLeaf};
use super::operator::{fetch_operator_log, validate_operator_log, OperatorState};
use super::state::{PinSource, TrustState, VerifiedCheckpoint};
use super::TrustError;
use crate::ids::{KeyId, LogId, RecordId, Sha256Hash};
use crate::registry::{ApiError, RegistryClient};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

/// `sha256:0db9…6bfb`: the operator log's id (`SHA256("WARG-OPERATOR-LOG-ID-V0")`).
pub fn operator_log_id() -> LogId {
    LogId(Sha256Hash::of(&[b"WARG-OPERATOR-LOG-ID-V0"]))
}

/// Ledger pages fetched at once during a sync.
pub const LEDGER_PIPELINE: usize = 4;

use super::full::{stream_roots, PagePlan};
pub use super::full::{verify_full, FullReport};

/// How far past the checkpoint's length the ledger is followed in one cycle.
pub const MAX_LEDGER_AHEAD: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct CycleOptions {
    /// A pinned operator key id from the command line or the config; `None` = keep the stored
    /// pin, or trust on first use.
    pub pin: Option<(KeyId, PinSource)>,
    /// Older checkpoints are CHECKPOINT_STALE (the server re-signs every 5 s).
    pub max_age: Duration,
    /// Forget the stored state first: re-pin and take this cycle's state as the baseline.
    pub reset_trust: bool,
    /// Checkpoints further ahead of the local clock are CHECKPOINT_FUTURE.
    pub future_skew: Duration,
    /// Told (entries verified, checkpoint length) after each ledger page: a long first sync
    /// shows how far it got.
    pub progress: Option<Progress>,
}

/// A callback for ledger-sync progress: `(entries hashed so far, entries to reach)`.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Default for CycleOptions {
    fn default() -> Self {
        Self {
            pin: None,
            max_age: Duration::from_secs(60),
            reset_trust: false,
            future_skew: Duration::from_secs(60),
            progress: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleReport {
    pub registry: String,
    pub log_length: u64,
    /// The signature verified with an operator key holding `commit`.
    pub checkpoint_verified: bool,
    pub operator_key_id: Option<KeyId>,
    /// The pin in force (None only when no key could be pinned).
    pub pin: Option<PinSource>,
    pub pinned_key_id: Option<KeyId>,
    pub alerts: Vec<Alert>,
    /// A likely benign cause of the alerts, when one is recognised.
    pub explanation: Option<String>,
    /// Verified ledger length after the cycle.
    pub ledger_len: u64,
    /// Ledger entries fetched beyond the verified length in this cycle.
    pub synced_entries: u64,
    /// Whether the ledger was used (false: the registry serves none; consistency proofs instead).
    pub ledger_available: bool,
    /// The stored state advanced to this checkpoint (only after a clean cycle).
    pub state_advanced: bool,
}

fn store_err(e: TrustError) -> ApiError {
    ApiError::Invalid {
        status: 0,
        message: e.to_string(),
    }
}

fn envelope_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::String(text.to_string()))
}

/// One cycle: checkpoint, operator log, signature, pin, timestamps, length/roots, ledger.
/// Every alert is stored; the state advances only when there is none.
pub async fn run_cycle(
    client: &RegistryClient,
    db: &mut TrustDb,
    opts: &CycleOptions,
    now_secs: u64,
) -> Result<CycleReport, ApiError> {
    let registry = client.base().to_string();
    let now_ms = (now_secs as i64).saturating_mul(1000);
    if opts.reset_trust {
        db.clear_state(&registry).map_err(store_err)?;
    }
    let stored = db.load_state(&registry).map_err(store_err)?;
    let prev = stored.as_ref().and_then(|s| s.checkpoint.clone());
    let mut alerts: Vec<Alert> = Vec::new();
    let mut report = CycleReport {
        registry: registry.clone(),
        log_length: 0,
        checkpoint_verified: false,
        operator_key_id: None,
        pin: None,
        pinned_key_id: None,
        alerts: Vec::new(),
        explanation: None,
        ledger_len: stored.as_ref().map(|s| s.ledger_len).unwrap_or(0),
        synced_entries: 0,
        ledger_available: true,
        state_advanced: false,
    };

    // 1. Checkpoint.
    let (typed, _raw) = client.checkpoint_raw().await?;
    let cp = match Checkpoint::from_signed(typed.clone()) {
        Ok(cp) => cp,
        Err(e) => {
            let a = Alert::new(
                AlertKind::CheckpointSignature,
                format!("the checkpoint is malformed: {e}"),
                json!({"checkpoint": typed}),
            );
            return finish(db, &registry, report, vec![a], now_ms);
        }
    };
    report.log_length = cp.log_length;
    report.operator_key_id = cp.key_id();
    db.archive_checkpoint(&registry, &cp, now_ms)
        .map_err(store_err)?;
    let cp_value = envelope_value(&cp.canonical);
    let prev_value = prev
        .as_ref()
        .map(|p| envelope_value(&p.envelope))
        .unwrap_or(Value::Null);
    let evidence = || json!({"checkpoint": cp_value, "lastVerified": prev_value});

    // 2. Operator log at the checkpoint's length.
    let records = fetch_operator_log(client, cp.log_length).await?;
    let op: Option<OperatorState> = match validate_operator_log(&records) {
        Ok(op) => Some(op),
        Err(e) => {
            alerts.push(Alert::new(
                AlertKind::OperatorLogInvalid,
                e.to_string(),
                json!({"checkpoint": cp_value, "operatorLog": records}),
            ));
            None
        }
    };

    // 3. Signature with the key named by keyId, which must hold `commit`.
    if let Some(op) = &op {
        let key = cp.key_id().and_then(|k| op.keys.get(&k).map(|pk| (k, pk)));
        match key {
            None => alerts.push(Alert::new(
                AlertKind::CheckpointSignature,
                format!(
                    "checkpoint keyId `{}` is not a key of the operator log",
                    cp.key_id.chars().take(80).collect::<String>()
                ),
                evidence(),
            )),
            Some((k, _)) if !op.commit_keys.contains(&k) => alerts.push(Alert::new(
                AlertKind::CheckpointSignature,
                format!("operator key {k} does not hold the commit permission"),
                evidence(),
            )),
            Some((_, pk)) => match cp.verify(pk) {
                Ok(()) => report.checkpoint_verified = true,
                Err(e) => alerts.push(Alert::new(
                    AlertKind::CheckpointSignature,
                    format!("checkpoint signature: {e}"),
                    evidence(),
                )),
            },
        }
    }

    // 4. Pin.
    let stored_pin = stored
        .as_ref()
        .and_then(|s| s.pinned_key_id.zip(s.pin_source));
    let pin = opts.pin.or(stored_pin).or_else(|| {
        if report.checkpoint_verified {
            cp.key_id().map(|k| (k, PinSource::Tofu))
        } else {
            None
        }
    });
    if let Some((pinned, source)) = pin {
        report.pin = Some(source);
        report.pinned_key_id = Some(pinned);
        if cp.key_id() != Some(pinned) {
            alerts.push(Alert::new(
                AlertKind::OperatorKeyChanged,
                format!(
                    "checkpoint signed by `{}`, but the operator key pinned ({}) is {pinned}",
                    cp.key_id.chars().take(80).collect::<String>(),
                    source.as_str()
                ),
                evidence(),
            ));
        }
        // Trust on first use: the pin is kept from the first contact on, clean or not.
        if stored_pin.is_none() && source == PinSource::Tofu {
            let mut s = stored.clone().unwrap_or_else(|| TrustState::new(&registry));
            s.pinned_key_id = Some(pinned);
            s.pin_source = Some(source);
            db.save_state(&s).map_err(store_err)?;
        }
    }

    // 5. Operator log identity and key set against the last clean cycle.
    if let (Some(op), Some(s)) = (&op, &stored) {
        if let Some(r0) = s.operator_record0 {
            if r0 != op.record0 {
                alerts.push(Alert::new(
                    AlertKind::OperatorLogReplaced,
                    format!("operator log record 0 is {}, it was {r0}", op.record0),
                    json!({"checkpoint": cp_value, "lastVerified": prev_value,
                           "operatorRecord0": op.record0, "previousRecord0": r0}),
                ));
            }
            if s.operator_key_ids != op.key_ids() {
                alerts.push(Alert::new(
                    AlertKind::OperatorKeysChanged,
                    format!(
                        "operator key ids are {:?}, they were {:?}",
                        op.key_ids()
                            .iter()
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>(),
                        s.operator_key_ids
                            .iter()
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>()
                    ),
                    json!({"checkpoint": cp_value, "operatorKeys": op.keys,
                           "previousKeyIds": s.operator_key_ids}),
                ));
            }
        }
    }

    // 6. Timestamps.
    if cp.timestamp > now_secs.saturating_add(opts.future_skew.as_secs()) {
        alerts.push(Alert::new(
            AlertKind::CheckpointFuture,
            format!(
                "checkpoint timestamp {} is {} s ahead of this machine's clock (allowed skew {} s)",
                cp.timestamp,
                cp.timestamp - now_secs,
                opts.future_skew.as_secs()
            ),
            evidence(),
        ));
    } else if now_secs.saturating_sub(cp.timestamp) > opts.max_age.as_secs() {
        alerts.push(Alert::new(
            AlertKind::CheckpointStale,
            format!(
                "checkpoint timestamp {} is {} s old (maximum age {} s)",
                cp.timestamp,
                now_secs - cp.timestamp,
                opts.max_age.as_secs()
            ),
            evidence(),
        ));
    }
    if let Some(p) = &prev {
        if cp.timestamp < p.timestamp {
            alerts.push(Alert::new(
                AlertKind::TimestampBackwards,
                format!(
                    "checkpoint timestamp {} is older than the last verified {}",
                    cp.timestamp, p.timestamp
                ),
                evidence(),
            ));
        }
    }

    // 7. Length and roots against the last verified checkpoint.
    let mut comparable = true;
    if let Some(p) = &prev {
        if cp.log_length < p.log_length {
            comparable = false;
            alerts.push(Alert::new(
                AlertKind::Rewind,
                format!(
                    "log length {} is less than the verified {}",
                    cp.log_length, p.log_length
                ),
                evidence(),
            ));
        } else if cp.log_length == p.log_length
            && (cp.log_root != p.log_root || cp.map_root != p.map_root)
        {
            comparable = false;
            alerts.push(Alert::new(
                AlertKind::Fork,
                format!(
                    "log length {} is unchanged but the roots differ (logRoot {} was {}, mapRoot {} was {})",
                    cp.log_length, cp.log_root, p.log_root, cp.map_root, p.map_root
                ),
                evidence(),
            ));
        }
    }

    // 8. Ledger (or, without one, a consistency proof).
    let mut new_frontier: Option<Frontier> = None;
    if comparable && cp.log_length > 0 {
        let ledger = match client.ledger_sources().await {
            Ok(_) => true,
            Err(ApiError::NoSuchEndpoint { .. }) | Err(ApiError::NotFound { .. }) => false,
            Err(e) => return Err(e),
        };
        report.ledger_available = ledger;
        if ledger {
            let outcome = sync_ledger(
                client,
                db,
                &registry,
                stored.as_ref(),
                &cp,
                opts.progress.as_ref(),
            )
            .await?;
            report.synced_entries = outcome.synced;
            match outcome.result {
                Ok(f) => new_frontier = Some(f),
                Err((kind, detail)) => alerts.push(Alert::new(kind, detail, evidence())),
            }
        } else if let Some(p) = prev.as_ref().filter(|p| p.log_length < cp.log_length) {
            let checked = match client.proof_consistency(p.log_length, cp.log_length).await {
                Ok(proof) => verify_consistency(
                    &proof,
                    p.log_length,
                    cp.log_length,
                    &p.log_root,
                    &cp.log_root,
                )
                .map_err(|e| e.to_string()),
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = checked {
                alerts.push(Alert::new(
                    AlertKind::Fork,
                    format!(
                        "log {} → {} is not consistent with the verified history: {e}",
                        p.log_length, cp.log_length
                    ),
                    evidence(),
                ));
            }
        }
    }

    // 9. The operator log's head is in the signed log and map.
    if let (Some(op), Some(last)) = (&op, records.last()) {
        if alerts.is_empty() {
            let leaf = ProvedLeaf {
                index: last.registry_index,
                log_id: operator_log_id(),
                record_id: op.head,
            };
            if let Some(Err(e)) = prove_heads(client, &cp, &[leaf]).await.into_iter().next() {
                alerts.push(not_included_alert(&leaf, &e, &cp));
            }
        }
    }

    // 10. Advance only when clean.
    if alerts.is_empty() {
        if let (Some(op), Some((pinned, source))) = (&op, pin) {
            let (ledger_len, frontier) = match &new_frontier {
                Some(f) => (f.len(), f.to_bytes()),
                None => (0, Frontier::new().to_bytes()),
            };
            let s = TrustState {
                registry: registry.clone(),
                pinned_key_id: Some(pinned),
                pin_source: Some(source),
                operator_record0: Some(op.record0),
                operator_key_ids: op.key_ids(),
                checkpoint: Some(VerifiedCheckpoint {
                    envelope: cp.canonical.clone(),
                    log_length: cp.log_length,
                    log_root: cp.log_root,
                    map_root: cp.map_root,
                    timestamp: cp.timestamp,
                }),
                ledger_len,
                frontier,
            };
            db.save_state(&s).map_err(store_err)?;
            report.ledger_len = ledger_len;
            report.state_advanced = true;
        }
    }
    let same_key = match (&stored, cp.key_id()) {
        (Some(s), Some(k)) => s.pinned_key_id == Some(k),
        _ => false,
    };
    report.explanation = explain(&alerts, same_key);
    finish(db, &registry, report, alerts, now_ms)
}

fn finish(
    db: &mut TrustDb,
    registry: &str,
    mut report: CycleReport,
    alerts: Vec<Alert>,
    now_ms: i64,
) -> Result<CycleReport, ApiError> {
    for a in &alerts {
        db.add_alert(registry, a, now_ms).map_err(store_err)?;
    }
    report.alerts = alerts;
    Ok(report)
}

/// Recognises the memory-store restart pattern: the operator log re-created under the same
/// operator key, with the log rewound or forked.
fn explain(alerts: &[Alert], same_key: bool) -> Option<String> {
    let has = |k: AlertKind| alerts.iter().any(|a| a.kind == k);
    if has(AlertKind::OperatorLogReplaced)
        && (has(AlertKind::Rewind) || has(AlertKind::Fork))
        && same_key
        && !has(AlertKind::OperatorKeyChanged)
        && !has(AlertKind::CheckpointSignature)
    {
        Some(
            "The registry's whole history was re-created under the same operator key: its operator log \
             starts with a new record and the log was rewound or rewritten. This is what restarting a \
             warg-server that uses the in-memory data store looks like (everything it held is lost and \
             re-signed). If the operator restarted it, accept the new history with --reset-trust; if \
             not, treat it as a rewrite of published history."
                .to_string(),
        )
    } else {
        None
    }
}

struct LedgerOutcome {
    synced: u64,
    result: Result<Frontier, (AlertKind, String)>,
}

/// Fetches the ledger from the verified length (one entry of overlap), stores it, extends the
/// verified frontier to the checkpoint's length and compares with its signed logRoot.
async fn sync_ledger(
    client: &RegistryClient,
    db: &mut TrustDb,
    registry: &str,
    stored: Option<&TrustState>,
    cp: &Checkpoint,
    progress: Option<&Progress>,
) -> Result<LedgerOutcome, ApiError> {
    let l = cp.log_length;
    let mut frontier = match stored.filter(|s| s.checkpoint.is_some() && s.ledger_len > 0) {
        Some(s) => Frontier::from_bytes(&s.frontier).unwrap_or_default(),
        None => Frontier::new(),
    };
    let verified = frontier.len();
    if stored.is_some_and(|s| s.ledger_len != verified) || verified > l {
        frontier = Frontier::new();
    }
    let verified = frontier.len();
    let mut start = verified.saturating_sub(1);
    let mut synced = 0u64;
    let mut prefix_changed: Option<String> = None;
    let mut problem: Option<String> = None;
    let mut pages = PagePlan::new(client, start, l);
    loop {
        let bytes = pages.page(start).await?;
        let entries = match parse_page(&bytes) {
            Ok(e) => e,
            Err(e) => {
                problem = Some(format!("ledger page at {start}: {e}"));
                break;
            }
        };
        let n = entries.len() as u64;
        if n == 0 {
            break;
        }
        let mut first_new = 0usize;
        for (i, e) in entries.iter().enumerate() {
            let idx = start + i as u64;
            if idx < verified {
                first_new = i + 1;
                let known = db.ledger_entry(registry, idx).map_err(store_err)?;
                if known.is_some_and(|k| k != *e) {
                    prefix_changed = Some(format!(
                        "verified ledger entry {idx} changed: it was ({}, {}), now ({}, {})",
                        known.map(|k| k.log_id.to_string()).unwrap_or_default(),
                        known.map(|k| k.record_id.to_string()).unwrap_or_default(),
                        e.log_id,
                        e.record_id
                    ));
                }
            } else if idx < l {
                frontier.push_entry(e);
            }
        }
        let new = &entries[first_new..];
        if !new.is_empty() {
            db.write_ledger_batch(registry, start + first_new as u64, new)
                .map_err(store_err)?;
            synced += new.len() as u64;
        }
        start += n;
        if let Some(p) = progress {
            (p.0)(frontier.len(), l);
        }
        // The ledger runs a few entries ahead of the checkpoint; never page on without end.
        if (n as usize) < MAX_PAGE_ENTRIES || start >= l.saturating_add(MAX_LEDGER_AHEAD) {
            break;
        }
    }
    db.truncate_ledger(registry, start.max(verified))
        .map_err(store_err)?;
    let result = if let Some(p) = problem {
        Err((AlertKind::LedgerMismatch, p))
    } else if frontier.len() < l {
        Err((
            AlertKind::LedgerMismatch,
            format!(
                "the ledger holds {} entries but the checkpoint says {l}",
                frontier.len()
            ),
        ))
    } else if frontier.root() == cp.log_root {
        match prefix_changed {
            // The signed root agrees with what was verified; the ledger page does not.
            Some(p) => Err((AlertKind::LedgerMismatch, p)),
            None => Ok(frontier),
        }
    } else if verified == 0 {
        Err((
            AlertKind::LedgerMismatch,
            format!(
                "the ledger's first {l} entries hash to {}, not the signed logRoot {}",
                frontier.root(),
                cp.log_root
            ),
        ))
    } else {
        // Is the registry's ledger consistent with its own signed root? Then it rewrote the
        // history verified before (FORK); otherwise its ledger is wrong.
        match stream_roots(client, l, false).await? {
            Ok((root, _)) if root == cp.log_root => Err((
                AlertKind::Fork,
                format!(
                    "the registry's log of length {l} hashes to its signed root but does not extend the {verified} entries verified before{}",
                    prefix_changed.map(|p| format!(" ({p})")).unwrap_or_default()
                ),
            )),
            Ok((root, _)) => Err((
                AlertKind::LedgerMismatch,
                format!(
                    "the ledger's first {l} entries hash to {root}, not the signed logRoot {}",
                    cp.log_root
                ),
            )),
            Err(e) => Err((AlertKind::LedgerMismatch, e)),
        }
    };
    Ok(LedgerOutcome { synced, result })
}

/// The alert for a record that could not be proven included.
pub fn not_included_alert(leaf: &ProvedLeaf, err: &str, cp: &Checkpoint) -> Alert {
    Alert::new(
        AlertKind::RecordNotIncluded,
        format!(
            "record {} of log {} at index {} is not proven in the checkpoint of length {}: {err}",
            leaf.record_id, leaf.log_id, leaf.index, cp.log_length
        ),
        json!({"checkpoint": envelope_value(&cp.canonical), "logId": leaf.log_id,
               "recordId": leaf.record_id, "registryIndex": leaf.index}),
    )
}

/// Why a head is not proven: the proof failed (an alert), or it could not be asked for (the
/// registry is unreachable or failing: try again later, no alert).
#[derive(Debug, Clone)]
pub enum HeadProofError {
    Failed(String),
    Unreachable(String),
}

impl std::fmt::Display for HeadProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Failed(e) | Self::Unreachable(e) => f.write_str(e),
        }
    }
}

/// Proves that each leaf (a log's head at the checkpoint) is in the signed log and map, with
/// the strict checks of [`verify_inclusion`]. One request for all; on failure, one per leaf to
/// tell which fail.
pub async fn prove_heads(
    client: &RegistryClient,
    checkpoint: &Checkpoint,
    leaves: &[ProvedLeaf],
) -> Vec<Result<(), String>> {
    prove_heads_checked(client, checkpoint, leaves)
        .await
        .into_iter()
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

/// [`prove_heads`], telling a proof that failed from a registry that could not be asked.
pub async fn prove_heads_checked(
    client: &RegistryClient,
    checkpoint: &Checkpoint,
    leaves: &[ProvedLeaf],
) -> Vec<Result<(), HeadProofError>> {
    async fn one(
        client: &RegistryClient,
        cp: &Checkpoint,
        leaves: &[ProvedLeaf],
    ) -> Result<(), HeadProofError> {
        let idx: Vec<u64> = leaves.iter().map(|l| l.index).collect();
        let answer = client
            .proof_inclusion(cp.log_length, &idx)
            .await
            .map_err(|e| {
                if e.is_unreachable() {
                    HeadProofError::Unreachable(e.to_string())
                } else {
                    HeadProofError::Failed(e.to_string())
                }
            })?;
        verify_inclusion(
            &answer.log,
            &answer.map,
            cp.log_length,
            &cp.log_root,
            &cp.map_root,
            leaves,
        )
        .map_err(|e| HeadProofError::Failed(e.to_string()))
    }
    if leaves.is_empty() {
        return Vec::new();
    }
    match one(client, checkpoint, leaves).await {
        Ok(()) => return vec![Ok(()); leaves.len()],
        // Asking again leaf by leaf would not help.
        Err(e @ HeadProofError::Unreachable(_)) => return vec![Err(e); leaves.len()],
        Err(HeadProofError::Failed(_)) => {}
    }
    let mut out = Vec::with_capacity(leaves.len());
    for l in leaves {
        out.push(one(client, checkpoint, std::slice::from_ref(l)).await);
    }
    out
}

/// The fast path: registry indices of published records in the verified ledger (below the
/// verified length), `None` for records not (yet) in it.
pub fn lookup_records(
    db: &TrustDb,
    registry: &str,
    records: &[(LogId, RecordId)],
) -> Result<Vec<Option<u64>>, TrustError> {
    let below = db.load_state(registry)?.map(|s| s.ledger_len).unwrap_or(0);
    db.find_records(registry, records, below)
}
