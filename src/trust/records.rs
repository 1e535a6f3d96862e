//! Tracked records against the verified ledger: the fast path (published records resolved from
//! the ledger without a GET each) and the check behind `RECORD_NOT_INCLUDED` (a registry that
//! answers `published` for a record its own verified ledger does not hold where it says).

use super::alerts::{Alert, AlertKind};
use super::db::TrustDb;
use super::TrustError;
use crate::ids::RecordRef;
use crate::registry::{PackageRecord, RecordState, RegistryClient};
use crate::tracker::poll::{self, Polled};
use serde::Serialize;
use serde_json::json;

/// What the verified ledger says about one tracked record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "proof")]
pub enum Proof {
    /// In the verified ledger below the latest verified checkpoint: published and committed,
    /// at this registry index.
    Proven { index: u64 },
    /// The registry said `published` but its verified ledger does not hold the record there.
    NotIncluded { detail: String },
    /// Not (yet) in the verified ledger: pending, rejected, unknown, or published after the
    /// latest verified checkpoint.
    Unproven,
}

impl Proof {
    pub fn is_proven(&self) -> bool {
        matches!(self, Self::Proven { .. })
    }
}

/// One tracked record resolved: its proof, and the registry's answer when it was asked (records
/// found in the verified ledger are not asked: their answer is built from the ledger).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub record: RecordRef,
    pub proof: Proof,
    pub polled: Polled,
    /// Whether a GET was sent for it.
    pub asked: bool,
}

/// The answer a GET would give for a record proven at `index`.
pub fn published_answer(r: RecordRef, index: u64) -> Polled {
    let raw =
        json!({"recordId": r.record.to_string(), "state": "published", "registryIndex": index});
    let rec = PackageRecord {
        record_id: r.record,
        state: RecordState::Published {
            registry_index: index,
        },
    };
    Polled {
        log_id: r.log,
        record_id: r.record,
        result: Ok((rec, raw)),
    }
}

/// The verified ledger length for `registry` (0 when nothing is verified yet).
pub fn verified_len(db: &TrustDb, registry: &str) -> Result<u64, TrustError> {
    Ok(db.load_state(registry)?.map(|s| s.ledger_len).unwrap_or(0))
}

/// Checks one registry answer against the verified ledger.
pub fn check_answer(
    db: &TrustDb,
    registry: &str,
    r: RecordRef,
    answer: &PackageRecord,
    verified: u64,
) -> Result<Proof, TrustError> {
    let RecordState::Published { registry_index } = answer.state else {
        return Ok(Proof::Unproven);
    };
    if registry_index >= verified {
        // Published after the latest verified checkpoint: the next cycle proves it.
        return Ok(Proof::Unproven);
    }
    match db.ledger_entry(registry, registry_index)? {
        Some(e) if e.log_id == r.log && e.record_id == r.record => Ok(Proof::Proven {
            index: registry_index,
        }),
        Some(e) => Ok(Proof::NotIncluded {
            detail: format!(
                "the registry says record {} of log {} is published at index {registry_index}, but its verified ledger holds record {} of log {} there",
                r.record, r.log, e.record_id, e.log_id
            ),
        }),
        None => Ok(Proof::NotIncluded {
            detail: format!(
                "the registry says record {} of log {} is published at index {registry_index}, but its verified ledger has no entry there",
                r.record, r.log
            ),
        }),
    }
}

/// The alert for a record the registry claims but its verified ledger does not hold.
pub fn not_included(r: RecordRef, detail: &str, answer: &serde_json::Value) -> Alert {
    Alert::new(
        AlertKind::RecordNotIncluded,
        detail.to_string(),
        json!({"logId": r.log.to_string(), "recordId": r.record.to_string(), "answer": answer}),
    )
}

/// Resolves tracked records: those in the verified ledger without a request (`use_ledger`),
/// the rest with one GET each (at most `concurrency` in flight); every published answer is
/// checked against the verified ledger.
pub async fn resolve(
    client: &RegistryClient,
    db: &TrustDb,
    items: &[RecordRef],
    concurrency: usize,
    use_ledger: bool,
) -> Result<Vec<Resolved>, TrustError> {
    let registry = client.base().to_string();
    let verified = verified_len(db, &registry)?;
    let mut out: Vec<Option<Resolved>> = vec![None; items.len()];
    let mut ask = Vec::new();
    let found = if use_ledger {
        let pairs: Vec<_> = items.iter().map(|r| (r.log, r.record)).collect();
        db.find_records(&registry, &pairs, verified)?
    } else {
        vec![None; items.len()]
    };
    for (i, (r, found)) in items.iter().zip(found).enumerate() {
        match found {
            Some(index) => {
                out[i] = Some(Resolved {
                    record: *r,
                    proof: Proof::Proven { index },
                    polled: published_answer(*r, index),
                    asked: false,
                })
            }
            None => ask.push(i),
        }
    }
    let pairs: Vec<_> = ask
        .iter()
        .map(|&i| (items[i].log, items[i].record))
        .collect();
    let polled = poll::sweep(client, &pairs, concurrency).await;
    for (i, p) in ask.into_iter().zip(polled) {
        let r = items[i];
        let proof = match &p.result {
            Ok((rec, _)) => check_answer(db, &registry, r, rec, verified)?,
            Err(_) => Proof::Unproven,
        };
        out[i] = Some(Resolved {
            record: r,
            proof,
            polled: p,
            asked: true,
        });
    }
    Ok(out.into_iter().flatten().collect())
}

/// For a record the registry claims but its ledger contradicts: the alert, stored. `None` for
/// every other proof.
pub fn raise_not_included(
    db: &mut TrustDb,
    registry: &str,
    r: &Resolved,
    now_ms: i64,
) -> Option<Alert> {
    let Proof::NotIncluded { detail } = &r.proof else {
        return None;
    };
    let answer = r
        .polled
        .result
        .as_ref()
        .map(|(_, raw)| raw.clone())
        .unwrap_or_default();
    let a = not_included(r.record, detail, &answer);
    if let Err(e) = db.add_alert(registry, &a, now_ms) {
        tracing::error!("storing an alert: {e}");
    }
    Some(a)
}
