//! One verification cycle (warg-trust.md §7), in the order that keeps a lying registry from
//! steering it: the checkpoint's signature and the pin first (with the keys of the last clean
//! cycle, before anything is fetched from the checkpoint's numbers), then the operator log,
//! timestamps, length and roots, the ledger (or, without one, a consistency proof), and the
//! operator log's head. Every alert is stored as soon as it is found.

use super::alerts::{Alert, AlertKind};
use super::checkpoint::Checkpoint;
use super::db::TrustDb;
use super::ledger::Frontier;
use super::map::{verify_consistency, ProvedLeaf};
use super::operator::{fetch_operator_log, validate_operator_log, OperatorState};
use super::state::{PinSource, TrustState, VerifiedCheckpoint};
use super::sync::{sync_ledger, Synced};
use super::TrustError;
use crate::ids::{KeyId, LogId, RecordId, Sha256Hash};
use crate::registry::{ApiError, RegistryClient};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

pub use super::full::{verify_full, FullReport};
pub use super::heads::{
    not_included_alert, prove_heads, prove_heads_checked, HeadProofError, HEAD_PROOF_BATCH,
};
pub use super::sync::{Progress, LEDGER_PIPELINE, MAX_LEDGER_AHEAD};

/// `sha256:0db9…6bfb`: the operator log's id (`SHA256("WARG-OPERATOR-LOG-ID-V0")`).
pub fn operator_log_id() -> LogId {
    LogId(Sha256Hash::of(&[b"WARG-OPERATOR-LOG-ID-V0"]))
}

/// Ledger entries a dashboard cycle fetches at most; a longer first sync goes on next cycle.
pub const DASHBOARD_LEDGER_BUDGET: u64 = 250_000;

#[derive(Debug, Clone)]
pub struct CycleOptions {
    /// A pinned operator key id from the command line or the config; `None` = keep the stored
    /// pin, or trust on first use.
    pub pin: Option<(KeyId, PinSource)>,
    /// Older checkpoints are CHECKPOINT_STALE (the server re-signs every 5 s). Also the time a
    /// registry has to sign what it calls published.
    pub max_age: Duration,
    /// Forget the stored state first: re-pin and take this cycle's state as the baseline.
    pub reset_trust: bool,
    /// Checkpoints further ahead of the local clock are CHECKPOINT_FUTURE.
    pub future_skew: Duration,
    /// Told (entries verified, checkpoint length) after each ledger page: a long first sync
    /// shows how far it got.
    pub progress: Option<Progress>,
    /// Ledger entries fetched at most in one cycle (`None`: all). A sync cut short resumes
    /// next cycle.
    pub ledger_budget: Option<u64>,
}

impl Default for CycleOptions {
    fn default() -> Self {
        Self {
            pin: None,
            max_age: Duration::from_secs(60),
            reset_trust: false,
            future_skew: Duration::from_secs(60),
            progress: None,
            ledger_budget: None,
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
    /// The checkpoint this cycle verified (set only when the state advanced): what later
    /// checks in the same run (`verify --full`, `log`) stand on.
    #[serde(skip)]
    pub verified: Option<Checkpoint>,
    /// A ledger sync cut by the cycle's budget: (entries reached, the checkpoint's length).
    pub ledger_pending: Option<(u64, u64)>,
    /// Why the cycle did not finish without an alert (the registry could not be asked for a
    /// proof): asked again next cycle.
    pub incomplete: Option<String>,
}

fn store_err(e: TrustError) -> ApiError {
    ApiError::LocalStore {
        message: e.to_string(),
    }
}

fn envelope_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::String(text.to_string()))
}

/// Alerts found by a cycle, each stored the moment it is found (a long cycle never sits on
/// one).
struct Found {
    registry: String,
    now_ms: i64,
    list: Vec<Alert>,
}

impl Found {
    fn raise(&mut self, db: &mut TrustDb, a: Alert) {
        if let Err(e) = db.add_alert(&self.registry, &a, self.now_ms) {
            tracing::error!("storing an alert: {e}");
        }
        self.list.push(a);
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A key id as served, cut for a message (it may be megabytes of garbage).
fn short_key(k: &str) -> String {
    k.chars().take(80).collect()
}

/// One cycle: signature and pin, operator log, timestamps, length/roots, ledger, operator
/// head. The state advances only when there is no alert.
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
    let mut found = Found {
        registry: registry.clone(),
        now_ms,
        list: Vec::new(),
    };
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
        verified: None,
        ledger_pending: None,
        incomplete: None,
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
            found.raise(db, a);
            return Ok(finish(report, found));
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

    // 2. The signature, first with the keys that held `commit` at the last clean cycle: a
    // forged checkpoint is caught before anything is fetched from its numbers.
    let known_key = stored
        .as_ref()
        .zip(cp.key_id())
        .and_then(|(s, k)| s.commit_keys.get(&k).cloned());
    let mut signed_by_known = false;
    if let Some(pk) = &known_key {
        match cp.verify(pk) {
            Ok(()) => signed_by_known = true,
            Err(e) => {
                found.raise(
                    db,
                    Alert::new(
                        AlertKind::CheckpointSignature,
                        format!("checkpoint signature: {e}"),
                        evidence(),
                    ),
                );
                return Ok(finish(report, found));
            }
        }
    }

    // The pin, before anything is fetched: a checkpoint signed by another key than the pinned
    // one is an alert whatever the registry answers next.
    let stored_pin = stored
        .as_ref()
        .and_then(|s| s.pinned_key_id.zip(s.pin_source));
    let known_pin = opts.pin.or(stored_pin);
    let mut pin_raised = false;
    if let Some((pinned, source)) = known_pin {
        if cp.key_id() != Some(pinned) {
            pin_raised = true;
            found.raise(
                db,
                Alert::new(
                    AlertKind::OperatorKeyChanged,
                    format!(
                        "checkpoint signed by `{}`, but the operator key pinned ({}) is {pinned}",
                        short_key(&cp.key_id),
                        source.as_str()
                    ),
                    evidence(),
                ),
            );
        }
    }

    // 3. Operator log at the checkpoint's length.
    let records = match fetch_operator_log(client, cp.log_length).await {
        Ok(r) => r,
        // The pin already failed: that alert stands, whatever else the registry cannot serve.
        Err(e) if pin_raised => {
            report.incomplete = Some(e.headline());
            return Ok(finish(report, found));
        }
        // The registry does not hold the checkpoint it serves: with no known key to check the
        // signature, the checkpoint is not the registry's.
        Err(ApiError::NotFound { what, .. }) if what == "logLength" && !signed_by_known => {
            found.raise(
                db,
                Alert::new(
                    AlertKind::CheckpointSignature,
                    format!(
                        "the checkpoint says log length {}, but the registry has no operator log at that length (404): it does not hold the checkpoint it serves",
                        cp.log_length
                    ),
                    evidence(),
                ),
            );
            return Ok(finish(report, found));
        }
        Err(e) => return Err(e),
    };
    let op: Option<OperatorState> = match validate_operator_log(&records) {
        Ok(op) => Some(op),
        Err(e) => {
            found.raise(
                db,
                Alert::new(
                    AlertKind::OperatorLogInvalid,
                    e.to_string(),
                    json!({"checkpoint": cp_value, "operatorLog": records}),
                ),
            );
            None
        }
    };

    // 4. Signature with the key named by keyId in this operator log, which must hold `commit`.
    if let Some(op) = &op {
        let key = cp.key_id().and_then(|k| op.keys.get(&k).map(|pk| (k, pk)));
        let problem = match key {
            None => Some(format!(
                "checkpoint keyId `{}` is not a key of the operator log",
                short_key(&cp.key_id)
            )),
            Some((k, _)) if !op.commit_keys.contains(&k) => Some(format!(
                "operator key {k} does not hold the commit permission"
            )),
            // Checked in step 2 with this very key: not again.
            Some((_, pk)) if signed_by_known && known_key.as_ref() == Some(pk) => None,
            Some((_, pk)) => cp
                .verify(pk)
                .err()
                .map(|e| format!("checkpoint signature: {e}")),
        };
        match problem {
            None => report.checkpoint_verified = true,
            Some(p) => found.raise(
                db,
                Alert::new(AlertKind::CheckpointSignature, p, evidence()),
            ),
        }
    }

    // 5. Pin (a mismatch with a known pin was raised before the fetch).
    let pin = known_pin.or_else(|| {
        if report.checkpoint_verified {
            cp.key_id().map(|k| (k, PinSource::Tofu))
        } else {
            None
        }
    });
    let mut pinned_ok = false;
    if let Some((pinned, source)) = pin {
        report.pin = Some(source);
        report.pinned_key_id = Some(pinned);
        // A mismatch with a known pin was raised before the fetch; a new TOFU pin is this key.
        pinned_ok = cp.key_id() == Some(pinned);
        // Trust on first use: the pin is kept from the first contact on, clean or not.
        if stored_pin.is_none() && source == PinSource::Tofu {
            let mut s = stored.clone().unwrap_or_else(|| TrustState::new(&registry));
            s.pinned_key_id = Some(pinned);
            s.pin_source = Some(source);
            db.save_state(&s).map_err(store_err)?;
        }
    }

    // 6. Operator log identity and key set against the last clean cycle.
    if let (Some(op), Some(s)) = (&op, &stored) {
        if let Some(r0) = s.operator_record0 {
            if r0 != op.record0 {
                found.raise(
                    db,
                    Alert::new(
                        AlertKind::OperatorLogReplaced,
                        format!("operator log record 0 is {}, it was {r0}", op.record0),
                        json!({"checkpoint": cp_value, "lastVerified": prev_value,
                               "operatorRecord0": op.record0, "previousRecord0": r0}),
                    ),
                );
            }
            if s.operator_key_ids != op.key_ids() {
                let ids = |set: &std::collections::BTreeSet<KeyId>| {
                    set.iter().map(|k| k.to_string()).collect::<Vec<_>>()
                };
                found.raise(
                    db,
                    Alert::new(
                        AlertKind::OperatorKeysChanged,
                        format!(
                            "operator key ids are {:?}, they were {:?}",
                            ids(&op.key_ids()),
                            ids(&s.operator_key_ids)
                        ),
                        json!({"checkpoint": cp_value, "operatorKeys": op.keys,
                               "previousKeyIds": s.operator_key_ids}),
                    ),
                );
            }
        }
    }

    // 7. Timestamps.
    if cp.timestamp > now_secs.saturating_add(opts.future_skew.as_secs()) {
        found.raise(
            db,
            Alert::new(
                AlertKind::CheckpointFuture,
                format!(
                    "checkpoint timestamp {} is {} s ahead of this machine's clock (allowed skew {} s)",
                    cp.timestamp,
                    cp.timestamp - now_secs,
                    opts.future_skew.as_secs()
                ),
                evidence(),
            ),
        );
    } else if now_secs.saturating_sub(cp.timestamp) > opts.max_age.as_secs() {
        found.raise(
            db,
            Alert::new(
                AlertKind::CheckpointStale,
                format!(
                    "checkpoint timestamp {} is {} s old (maximum age {} s)",
                    cp.timestamp,
                    now_secs - cp.timestamp,
                    opts.max_age.as_secs()
                ),
                evidence(),
            ),
        );
    }
    if let Some(p) = &prev {
        if cp.timestamp < p.timestamp {
            found.raise(
                db,
                Alert::new(
                    AlertKind::TimestampBackwards,
                    format!(
                        "checkpoint timestamp {} is older than the last verified {}",
                        cp.timestamp, p.timestamp
                    ),
                    evidence(),
                ),
            );
        }
    }

    // Nothing below is asked for with the numbers of a checkpoint that is not the pinned
    // operator's.
    if !(report.checkpoint_verified && pinned_ok) {
        return Ok(finish(report, found));
    }

    // 8. Length and roots against the last verified checkpoint.
    let mut comparable = true;
    if let Some(p) = &prev {
        if cp.log_length < p.log_length {
            comparable = false;
            found.raise(
                db,
                Alert::new(
                    AlertKind::Rewind,
                    format!(
                        "log length {} is less than the verified {}",
                        cp.log_length, p.log_length
                    ),
                    evidence(),
                ),
            );
        } else if cp.log_length == p.log_length
            && (cp.log_root != p.log_root || cp.map_root != p.map_root)
        {
            comparable = false;
            found.raise(
                db,
                Alert::new(
                    AlertKind::Fork,
                    format!(
                        "log length {} is unchanged but the roots differ (logRoot {} was {}, mapRoot {} was {})",
                        cp.log_length, cp.log_root, p.log_root, cp.map_root, p.map_root
                    ),
                    evidence(),
                ),
            );
        }
    }

    // 9. Ledger (or, without one, a consistency proof).
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
                opts.ledger_budget,
            )
            .await?;
            report.synced_entries = outcome.synced;
            match outcome.result {
                Synced::Verified(f) => new_frontier = Some(f),
                Synced::Partial { reached } => {
                    report.ledger_pending = Some((reached, cp.log_length));
                }
                Synced::Failed(kind, detail) => {
                    found.raise(db, Alert::new(kind, detail, evidence()))
                }
            }
        } else {
            if let Some(s) = stored.as_ref().filter(|s| s.ledger_len > 0) {
                found.raise(
                    db,
                    Alert::new(
                        AlertKind::LedgerWithheld,
                        format!(
                            "the registry served its ledger before ({} entries verified) and now answers /v1/ledger with not found",
                            s.ledger_len
                        ),
                        evidence(),
                    ),
                );
            }
            if let Some(p) = prev.as_ref().filter(|p| p.log_length < cp.log_length) {
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
                    // Refused or not served (401, 403, 404, 429): not a proof that failed.
                    Err(
                        e @ (ApiError::Unauthorized { .. }
                        | ApiError::NoSuchEndpoint { .. }
                        | ApiError::Status {
                            status: 403 | 404 | 429,
                            ..
                        }),
                    ) => {
                        report.incomplete = Some(e.headline());
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = checked {
                    found.raise(
                        db,
                        Alert::new(
                            AlertKind::Fork,
                            format!(
                                "log {} → {} is not consistent with the verified history: {e}",
                                p.log_length, cp.log_length
                            ),
                            evidence(),
                        ),
                    );
                }
            }
        }
    }

    // 10. The operator log's head is in the signed log and map (a registry that cannot be
    // asked is asked again next cycle, never an alert).
    if let (Some(op), Some(last)) = (&op, records.last()) {
        if found.is_empty() {
            let leaf = ProvedLeaf {
                index: last.registry_index,
                log_id: operator_log_id(),
                record_id: op.head,
            };
            match prove_heads_checked(client, &cp, &[leaf])
                .await
                .into_iter()
                .next()
            {
                Some(Err(HeadProofError::Failed(e))) => {
                    found.raise(db, not_included_alert(&leaf, &e, &cp))
                }
                Some(Err(HeadProofError::Unreachable(e))) => report.incomplete = Some(e),
                _ => {}
            }
        }
    }

    // 11. Advance only when clean and complete.
    let complete = report.incomplete.is_none() && report.ledger_pending.is_none();
    if found.is_empty() && complete {
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
                commit_keys: op
                    .keys
                    .iter()
                    .filter(|(k, _)| op.commit_keys.contains(k))
                    .map(|(k, pk)| (*k, pk.clone()))
                    .collect(),
                checkpoint: Some(VerifiedCheckpoint {
                    envelope: cp.canonical.clone(),
                    log_length: cp.log_length,
                    log_root: cp.log_root,
                    map_root: cp.map_root,
                    timestamp: cp.timestamp,
                }),
                ledger_len,
                verified_at_ms: now_ms,
                frontier,
            };
            db.save_state(&s).map_err(store_err)?;
            db.close_alerts(&registry).map_err(store_err)?;
            report.ledger_len = ledger_len;
            report.state_advanced = true;
            report.verified = Some(cp.clone());
        }
    }
    let same_key = match (&stored, cp.key_id()) {
        (Some(s), Some(k)) => s.pinned_key_id == Some(k),
        _ => false,
    };
    report.explanation = explain(&found.list, same_key);
    Ok(finish(report, found))
}

fn finish(mut report: CycleReport, found: Found) -> CycleReport {
    report.alerts = found.list;
    report
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
