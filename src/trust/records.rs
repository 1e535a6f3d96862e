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
    /// The registry says `published` at `index`, but nothing verified proves it yet: a claim,
    /// not a fact. `signed` is the length of the latest verified checkpoint (0: none yet).
    Claimed { index: u64, signed: u64 },
    /// Not a published answer (pending, rejected, unknown, an error).
    Unproven,
}

impl Proof {
    pub fn is_proven(&self) -> bool {
        matches!(self, Self::Proven { .. })
    }

    /// A claim the latest verified checkpoint does not cover (or a contradicted answer): worth
    /// asking again every cycle. A claim below the signed length only waits for the ledger
    /// sync to reach it (asking the registry again would not help).
    pub fn is_suspect(&self) -> bool {
        match self {
            Self::Claimed { index, signed } => *signed > 0 && index >= signed,
            Self::NotIncluded { .. } => true,
            _ => false,
        }
    }

    /// Why a claim is not proven, in a few words (`None` for anything but a claim).
    pub fn claim_text(&self) -> Option<String> {
        match self {
            Self::Claimed { index, signed: 0 } => Some(format!(
                "published? index {index}: no checkpoint verified yet"
            )),
            Self::Claimed { index, signed } if index >= signed => Some(format!(
                "published? index {index} is past the signed log ({signed})"
            )),
            Self::Claimed { index, .. } => Some(format!("published? index {index} not proven yet")),
            _ => None,
        }
    }
}

/// What a `published` claim is judged against: the verified state and the grace a registry has
/// to sign what it calls published (`--max-checkpoint-age`).
#[derive(Debug, Clone, Copy)]
pub struct ClaimRules {
    /// Ledger entries verified (proof by lookup below this).
    pub verified: u64,
    /// The latest verified checkpoint's length (0: none).
    pub signed: u64,
    /// Whether that checkpoint is recent (signed within the grace): only then is a claim past
    /// it the registry's fault rather than the verifier's lag.
    pub signed_fresh: bool,
    pub grace_ms: i64,
    pub now_ms: i64,
}

impl ClaimRules {
    /// The rules for `registry` from its stored trust state.
    pub fn load(
        db: &TrustDb,
        registry: &str,
        grace: std::time::Duration,
        now_ms: i64,
    ) -> Result<Self, TrustError> {
        let state = db.load_state(registry)?;
        let verified = state.as_ref().map(|s| s.ledger_len).unwrap_or(0);
        let verified_at = state.as_ref().map_or(0, |s| s.verified_at_ms);
        let cp = state.and_then(|s| s.checkpoint);
        let grace_ms = grace.as_millis().min(i64::MAX as u128) as i64;
        Ok(Self {
            verified,
            signed: cp.as_ref().map(|c| c.log_length).unwrap_or(0),
            // Verified within the grace, by this machine's clock (not the registry's
            // timestamp): a stuck verifier never turns claims into alerts.
            signed_fresh: cp.is_some() && verified_at > 0 && now_ms - verified_at <= grace_ms,
            grace_ms,
            now_ms,
        })
    }

    /// Whether a `published` answer at `index` is judged by how long it has been claimed (a
    /// claim past the signed log); only then is its first-claimed time needed.
    pub fn ages(&self, answer: &PackageRecord) -> bool {
        matches!(answer.state, RecordState::Published { registry_index }
            if self.signed > 0 && registry_index >= self.signed)
    }

    /// A claim of `r` at `index`, first made at `since_ms` (`None`: just now): still a claim,
    /// or, once a fresh signed log has not covered it for longer than the grace, not included.
    pub fn judge(&self, r: RecordRef, index: u64, since_ms: Option<i64>) -> Proof {
        let age = self.now_ms.saturating_sub(since_ms.unwrap_or(self.now_ms));
        if index >= self.signed && self.signed > 0 && self.signed_fresh && age > self.grace_ms {
            return Proof::NotIncluded {
                detail: format!(
                    "the registry says record {} of log {} is published at index {index}, but {} s later its signed log still has only {} entries",
                    r.record,
                    r.log,
                    age / 1000,
                    self.signed
                ),
            };
        }
        Proof::Claimed {
            index,
            signed: self.signed,
        }
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

/// Claims proven by package chains (warg's own route, used when there is no verified ledger):
/// a claimed record in a chain that validated and whose head is proven in the verified
/// checkpoint is proven at its index there; a claim below the signed length in a proven log
/// that does not hold it is not included.
pub fn apply_chains(
    proofs: &mut [(RecordRef, &mut Proof)],
    did: impl IntoIterator<Item = (RecordRef, u64)>,
) {
    let by_record: std::collections::HashMap<RecordRef, u64> = did.into_iter().collect();
    let logs: std::collections::HashSet<crate::ids::LogId> =
        by_record.keys().map(|r| r.log).collect();
    for (r, proof) in proofs.iter_mut() {
        let Proof::Claimed { index, signed } = **proof else {
            continue;
        };
        match by_record.get(r) {
            Some(&at) if at == index => **proof = Proof::Proven { index },
            Some(&at) => {
                **proof = Proof::NotIncluded {
                    detail: format!(
                        "the registry says record {} of log {} is published at index {index}, but its proven package log holds it at index {at}",
                        r.record, r.log
                    ),
                }
            }
            None if index < signed && logs.contains(&r.log) => {
                **proof = Proof::NotIncluded {
                    detail: format!(
                        "the registry says record {} of log {} is published at index {index}, but its package log, proven in the checkpoint of length {signed}, does not hold it",
                        r.record, r.log
                    ),
                }
            }
            None => {}
        }
    }
}

/// Checks one registry answer against the verified ledger: a published answer below the
/// verified length is proven or contradicted; past it, it is a claim (see [`ClaimRules`]),
/// first made at `since_ms`.
pub fn check_answer(
    db: &TrustDb,
    registry: &str,
    r: RecordRef,
    answer: &PackageRecord,
    rules: &ClaimRules,
    since_ms: Option<i64>,
) -> Result<Proof, TrustError> {
    let RecordState::Published { registry_index } = answer.state else {
        return Ok(Proof::Unproven);
    };
    if registry_index >= rules.verified {
        return Ok(rules.judge(r, registry_index, since_ms));
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
    rules: &ClaimRules,
    since: &dyn Fn(&RecordRef) -> Option<i64>,
) -> Result<Vec<Resolved>, TrustError> {
    let registry = client.base().to_string();
    let verified = rules.verified;
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
            Ok((rec, _)) => {
                let when = if rules.ages(rec) { since(&r) } else { None };
                check_answer(db, &registry, r, rec, rules, when)?
            }
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
