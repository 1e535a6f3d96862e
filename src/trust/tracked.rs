//! The package logs of tracked records, checked after every verification cycle (by the
//! dashboard's verifier and by `verify`). Each tracked package with records below the verified
//! length is fetched with `fetch/logs` at that length and validated as warg-protocol validates
//! it ([`super::package::validate_package_log`]); its records must be exactly the verified
//! ledger's entries for that log (same registry indices, same record ids, nothing missing or
//! extra), and its head is proven in the verified checkpoint's map. A chain that fails any of
//! this is `PACKAGE_LOG_INVALID`; a head the map does not prove is `RECORD_NOT_INCLUDED`. What
//! each record of a proven chain did (entries, signer, its own timestamp) is kept for the table.
//!
//! A log is fetched again only when its head in the verified ledger moved: a quiet registry
//! costs one indexed store query per tracked package per cycle and no requests.

use super::alerts::{Alert, AlertKind};
use super::batch::{fetch_package_logs, validate_all};
use super::checkpoint::Checkpoint;
use super::db::TrustDb;
use super::heads::{not_included_alert, prove_heads_checked, HeadProofError};
use super::ledger::LedgerEntry;
use super::package::{invalid_log_alert, validate_package_log, PackageLogRecord};
use super::TrustError;
use crate::ids::{LogId, RecordId, RecordRef};
use crate::registry::{ApiError, RegistryClient};
use serde_json::json;
use std::collections::HashMap;

/// What a check of one package log concluded.
#[derive(Debug, Clone)]
enum Outcome {
    /// Validated, equal to the verified ledger, head proven.
    Proven(Vec<PackageLogRecord>),
    /// An alert (PACKAGE_LOG_INVALID or RECORD_NOT_INCLUDED).
    Failed(Alert),
}

/// Package logs already checked, by the head the verified ledger held for them then. Keep one
/// per registry.
#[derive(Debug, Default)]
pub struct PackageCache {
    logs: HashMap<LogId, (u64, RecordId, Outcome)>,
    /// At the last pass: the verified length, the ledger entry at its last index, and a digest
    /// of the sorted log IDs asked about. While the logs asked about stay the same, only logs
    /// with entries in the newly verified range (and those skipped last time) are looked at, so
    /// an idle dashboard makes no queries; a ledger re-synced from scratch after a trust reset
    /// differs at that entry and gets a full pass.
    seen: Option<(u64, Option<LedgerEntry>, crate::ids::Sha256Hash)>,
    retry: std::collections::HashSet<LogId>,
    /// Whether proven heads are kept in the store (the CLI, run after run) and were loaded.
    persist: bool,
    loaded: bool,
}

impl PackageCache {
    /// A cache that remembers proven heads in the store, so that a log whose head has not
    /// moved since an earlier run is not fetched again (`verify`, `poll --once`). What those
    /// logs' records did is then not known to this run (the dashboard keeps its own cache).
    pub fn persisted() -> Self {
        Self {
            persist: true,
            ..Self::default()
        }
    }
}

/// The result of [`check_packages`].
#[derive(Debug, Default, Clone)]
pub struct PackagesReport {
    /// What each record of every proven package log did.
    pub did: Vec<(RecordRef, PackageLogRecord)>,
    /// Alerts found by this check (a log whose head did not move is not checked again, and its
    /// alert is not repeated here).
    pub new_alerts: Vec<Alert>,
    /// Every package alert in force, new or remembered.
    pub active: Vec<Alert>,
    /// The logs those alerts are about.
    pub failed_logs: Vec<LogId>,
    /// Logs fetched and checked this time.
    pub checked: usize,
    /// Logs that could not be checked this time (registry unreachable, checkpoint gone), and why.
    pub skipped: Vec<(LogId, String)>,
    /// Logs whose chain validated and whose head is proven (this time or at an unmoved head).
    pub proven: Vec<LogId>,
}

impl PackagesReport {
    /// Package logs whose chain validated and whose head is proven.
    pub fn proven_logs(&self) -> usize {
        self.proven.len()
    }
}

/// Compares a validated chain with the verified ledger's entries of its log.
fn against_ledger(
    log: &LogId,
    chain: &[PackageLogRecord],
    ledger: &[(u64, RecordId)],
) -> Result<(), String> {
    for (n, (r, (idx, id))) in chain.iter().zip(ledger).enumerate() {
        if r.registry_index != *idx || r.record_id != *id {
            return Err(format!(
                "fetch/logs served record {n} of log {log} as {} at registry index {}, but the verified ledger holds {id} at index {idx}",
                r.record_id, r.registry_index
            ));
        }
    }
    if chain.len() != ledger.len() {
        return Err(format!(
            "fetch/logs served {} records of log {log}, but the verified ledger holds {}",
            chain.len(),
            ledger.len()
        ));
    }
    Ok(())
}

/// Checks the package logs `logs` (log id and package name, when known) against the verified
/// state of `client`'s registry. Logs with no record below the verified length are not
/// published yet: nothing to check. A log whose head in the verified ledger has not moved since
/// its last check keeps that outcome (a proven chain stays proven; a failed one keeps alerting).
/// A log the registry could not be asked about this time is skipped and asked again next time.
/// The error is the store's (`db` is `&mut` so that the future is `Send`).
pub async fn check_packages(
    client: &RegistryClient,
    db: &mut TrustDb,
    logs: &[(LogId, Option<String>)],
    cache: &mut PackageCache,
) -> Result<PackagesReport, TrustError> {
    let registry = client.base().to_string();
    let mut report = PackagesReport::default();
    // Only the logs asked about are remembered.
    let asked: std::collections::HashSet<LogId> = logs.iter().map(|(l, _)| *l).collect();
    cache.logs.retain(|l, _| asked.contains(l));

    let state = db.load_state(&registry)?;
    let verified = state.as_ref().and_then(|s| {
        let cp = s.checkpoint.clone()?;
        Some((s.ledger_len, cp))
    });
    match verified {
        // No verified ledger (the registry serves none): every tracked log's chain, at the
        // verified checkpoint's length, proven by its head (warg's own route).
        Some((0, vc)) => {
            let cp = Checkpoint::parse(&vc.envelope)?;
            check_chains(client, logs, cache, &cp, &mut report).await;
        }
        Some((verified, vc)) => {
            let cp = Checkpoint::parse(&vc.envelope)?;
            check_moved(
                client,
                db,
                &registry,
                logs,
                cache,
                verified,
                &cp,
                &mut report,
            )
            .await?;
        }
        None => {
            for (log, _) in logs {
                report
                    .skipped
                    .push((*log, "no verified checkpoint for this registry yet".into()));
            }
        }
    }

    // Everything in force for the logs asked about.
    for (log, _) in logs {
        match cache.logs.get(log) {
            Some((_, _, Outcome::Proven(records))) => {
                report.proven.push(*log);
                report.did.extend(
                    records
                        .iter()
                        .map(|r| (RecordRef::new(*log, r.record_id), r.clone())),
                )
            }
            Some((_, _, Outcome::Failed(a))) => {
                report.active.push(a.clone());
                report.failed_logs.push(*log);
            }
            None => {}
        }
    }
    Ok(report)
}

/// Fetches, validates and proves the logs whose head in the verified ledger (of length
/// `verified`, signed by `cp`) moved since they were last checked.
#[allow(clippy::too_many_arguments)]
async fn check_moved(
    client: &RegistryClient,
    db: &mut TrustDb,
    registry: &str,
    logs: &[(LogId, Option<String>)],
    cache: &mut PackageCache,
    verified: u64,
    cp: &Checkpoint,
    report: &mut PackagesReport,
) -> Result<(), TrustError> {
    // (log, package name, its verified ledger entries)
    type Todo = (LogId, Option<String>, Vec<(u64, RecordId)>);
    let mut todo: Vec<Todo> = Vec::new();
    let mut sorted: Vec<&[u8]> = logs.iter().map(|(l, _)| &l.0 .0[..]).collect();
    sorted.sort_unstable();
    let asked = crate::ids::Sha256Hash::of(&sorted);
    // Which logs can have moved: all of them on a first pass (or another tracked set, or a
    // verified ledger that shrank); else those with entries newly verified, and the retries.
    let last_of = |db: &TrustDb, len: u64| match len {
        0 => Ok(None),
        n => db.ledger_entry(registry, n - 1),
    };
    let candidates: Option<std::collections::HashSet<LogId>> = match &cache.seen {
        Some((v0, e0, set)) if *set == asked && *v0 <= verified && last_of(db, *v0)? == *e0 => {
            let mut c = db.logs_between(registry, *v0, verified)?;
            c.extend(cache.retry.iter().copied());
            Some(c)
        }
        _ => None,
    };
    cache.seen = Some((verified, last_of(db, verified)?, asked));
    cache.retry.clear();
    if cache.persist && !cache.loaded {
        for (log, (idx, head)) in db.proven_heads(registry)? {
            cache
                .logs
                .entry(log)
                .or_insert((idx, head, Outcome::Proven(Vec::new())));
        }
        cache.loaded = true;
    }
    for (log, name) in logs {
        if candidates.as_ref().is_some_and(|c| !c.contains(log)) {
            continue;
        }
        let ledger = db.log_entries(registry, log, verified)?;
        let Some(&(head_idx, head)) = ledger.last() else {
            cache.logs.remove(log);
            continue;
        };
        match cache.logs.get(log) {
            Some((i, h, _)) if *i == head_idx && *h == head => {}
            _ => todo.push((*log, name.clone(), ledger)),
        }
    }

    // A log's outcome, remembered under its head (a failure is also a new alert).
    let mut fail_or_prove =
        |log: LogId, head_idx: u64, head: RecordId, r: Result<Vec<PackageLogRecord>, Alert>| {
            let outcome = match r {
                Ok(records) => Outcome::Proven(records),
                Err(a) => {
                    report.new_alerts.push(a.clone());
                    Outcome::Failed(a)
                }
            };
            cache.logs.insert(log, (head_idx, head, outcome));
        };
    let mut fail = |log, head_idx, head, a| fail_or_prove(log, head_idx, head, Err(a));
    let named = |log: &LogId, name: &Option<String>| {
        format!(
            "package log {log}{}",
            name.as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )
    };
    let mut proven: Vec<(LogId, u64, RecordId, Vec<PackageLogRecord>)> = Vec::new();
    let mut skipped: Vec<(LogId, String)> = Vec::new();
    // Fetched in batches (many logs per request, sized by what the verified ledger holds for
    // each), checked one by one.
    let asks: Vec<(LogId, Option<u64>)> = todo
        .iter()
        .map(|(l, _, ledger)| (*l, Some(ledger.len() as u64)))
        .collect();
    let t0 = std::time::Instant::now();
    let mut fetched = fetch_package_logs(client, verified, &asks).await;
    let t_fetch = t0.elapsed();
    // Chains validated on every core first, then checked against the ledger one by one.
    let mut validated = validate_all(
        fetched
            .iter()
            .filter_map(|(l, got)| got.as_ref().ok().map(|e| (*l, e.as_slice()))),
    );
    let t_validate = t0.elapsed() - t_fetch;
    for (log, name, ledger) in todo {
        let got = fetched.remove(&log).unwrap_or_else(|| {
            Err(ApiError::Invalid {
                status: 0,
                message: "no answer for this log in its batch".into(),
            })
        });
        let Some(&(head_idx, head)) = ledger.last() else {
            continue;
        };
        let evidence = || json!({"logId": log, "package": name, "ledger": ledger.iter().map(|(i, r)| json!({"index": i, "recordId": r})).collect::<Vec<_>>()});
        let envelopes = match got {
            Ok(v) => v,
            Err(ApiError::NotFound { what, .. }) if what == "logLength" => {
                // The verified checkpoint is gone (a restarted registry): the cycle says so.
                skipped.push((log, format!("checkpoint {verified} is no longer served")));
                continue;
            }
            Err(e) if e.is_unreachable() => {
                tracing::warn!("package log {log}: {e}");
                skipped.push((log, e.to_string()));
                continue;
            }
            Err(e) => {
                // A log the verified ledger holds, denied or served as garbage.
                let why = match &e {
                    ApiError::NotFound { what, .. } if what == "log" => format!(
                        "fetch/logs says it does not exist, but the verified ledger holds {} of its records (head {head} at index {head_idx})",
                        ledger.len()
                    ),
                    e => format!("fetch/logs cannot be read: {e}"),
                };
                report.checked += 1;
                let a = Alert::new(
                    AlertKind::PackageLogInvalid,
                    format!("{}: {why}", named(&log, &name)),
                    evidence(),
                );
                fail(log, head_idx, head, a);
                continue;
            }
        };
        report.checked += 1;
        let valid = validated
            .remove(&log)
            .unwrap_or_else(|| validate_package_log(&log, &envelopes));
        let checked = valid.and_then(|pl| {
            against_ledger(&log, &pl.records, &ledger)
                .map(|()| pl.records)
                .map_err(TrustError)
        });
        match checked {
            Ok(records) => proven.push((log, head_idx, head, records)),
            Err(e) => fail(
                log,
                head_idx,
                head,
                invalid_log_alert(&log, name.as_deref(), &e, &envelopes),
            ),
        }
    }

    // The heads of the chains that matched the ledger, proven in the map (batched).
    let leaves: Vec<super::map::ProvedLeaf> = proven
        .iter()
        .map(|(log, idx, head, _)| super::map::ProvedLeaf {
            index: *idx,
            log_id: *log,
            record_id: *head,
        })
        .collect();
    let t_prove = std::time::Instant::now();
    let results = prove_heads_checked(client, cp, &leaves).await;
    if !leaves.is_empty() {
        tracing::info!(
            "package logs: {} fetched in {:.3} s, validated in {:.3} s, {} heads proven in {:.3} s",
            asks.len(),
            t_fetch.as_secs_f64(),
            t_validate.as_secs_f64(),
            leaves.len(),
            t_prove.elapsed().as_secs_f64()
        );
    }
    let mut newly: Vec<(LogId, u64, RecordId)> = Vec::new();
    for ((log, idx, head, records), (leaf, result)) in
        proven.into_iter().zip(leaves.iter().zip(results))
    {
        match result {
            Ok(()) => {
                newly.push((log, idx, head));
                fail_or_prove(log, idx, head, Ok(records))
            }
            Err(HeadProofError::Unreachable(e)) => skipped.push((log, e)),
            Err(HeadProofError::Failed(e)) => {
                fail_or_prove(log, idx, head, Err(not_included_alert(leaf, &e, cp)))
            }
        }
    }
    cache.retry.extend(skipped.iter().map(|(l, _)| *l));
    report.skipped.extend(skipped);
    if cache.persist {
        let failed: Vec<LogId> = cache
            .logs
            .iter()
            .filter(|(_, (_, _, o))| matches!(o, Outcome::Failed(_)))
            .map(|(l, _)| *l)
            .collect();
        db.save_proven_heads(registry, &newly, &failed)?;
    }
    Ok(())
}

/// Without a verified ledger: fetches each tracked log at the verified checkpoint's length
/// (again only when that length moved), validates its chain and proves its head in the
/// checkpoint's log and map. A log the registry says does not exist at that length is not
/// published yet (nothing to prove, no alert: without a ledger there is nothing to contradict).
async fn check_chains(
    client: &RegistryClient,
    logs: &[(LogId, Option<String>)],
    cache: &mut PackageCache,
    cp: &Checkpoint,
    report: &mut PackagesReport,
) {
    let len = cp.log_length;
    let todo: Vec<(LogId, Option<String>)> = logs
        .iter()
        .filter(|(l, _)| {
            cache.retry.contains(l) || cache.logs.get(l).is_none_or(|(at, _, _)| *at != len)
        })
        .cloned()
        .collect();
    cache.retry.clear();
    let asks: Vec<(LogId, Option<u64>)> = todo.iter().map(|(l, _)| (*l, None)).collect();
    let mut answers = fetch_package_logs(client, len, &asks).await;
    let mut proven: Vec<(LogId, Vec<PackageLogRecord>)> = Vec::new();
    for (log, name) in todo {
        let got = answers.remove(&log).unwrap_or_else(|| {
            Err(ApiError::Invalid {
                status: 0,
                message: "no answer for this log in its batch".into(),
            })
        });
        let envelopes = match got {
            Ok(v) => v,
            Err(ApiError::NotFound { what, .. }) if what == "log" => {
                cache.logs.remove(&log);
                continue;
            }
            Err(e) => {
                tracing::warn!("package log {log}: {e}");
                report.skipped.push((log, e.to_string()));
                continue;
            }
        };
        report.checked += 1;
        match validate_package_log(&log, &envelopes) {
            Ok(pl) if pl.records.is_empty() => {
                cache.logs.remove(&log);
            }
            Ok(pl) => proven.push((log, pl.records)),
            Err(e) => {
                let a = invalid_log_alert(&log, name.as_deref(), &e, &envelopes);
                report.new_alerts.push(a.clone());
                let head = RecordId(crate::ids::Sha256Hash([0; 32]));
                cache.logs.insert(log, (len, head, Outcome::Failed(a)));
            }
        }
    }
    let leaves: Vec<super::map::ProvedLeaf> = proven
        .iter()
        .filter_map(|(log, records)| {
            records.last().map(|h| super::map::ProvedLeaf {
                index: h.registry_index,
                log_id: *log,
                record_id: h.record_id,
            })
        })
        .collect();
    let results = prove_heads_checked(client, cp, &leaves).await;
    for ((log, records), (leaf, result)) in proven.into_iter().zip(leaves.iter().zip(results)) {
        let outcome = match result {
            Ok(()) => Outcome::Proven(records),
            Err(HeadProofError::Unreachable(e)) => {
                cache.retry.insert(log);
                report.skipped.push((log, e));
                continue;
            }
            Err(HeadProofError::Failed(e)) => {
                let a = not_included_alert(leaf, &e, cp);
                report.new_alerts.push(a.clone());
                Outcome::Failed(a)
            }
        };
        cache.logs.insert(log, (len, leaf.record_id, outcome));
    }
    cache.retry.extend(report.skipped.iter().map(|(l, _)| *l));
}

/// The distinct logs of tracked records, with a package name when one is known.
pub fn tracked_logs(tracked: &[crate::tracker::store::Tracked]) -> Vec<(LogId, Option<String>)> {
    let mut by_log: HashMap<LogId, Option<String>> = HashMap::new();
    for t in tracked {
        let e = by_log.entry(t.log_id).or_default();
        if e.is_none() {
            e.clone_from(&t.package);
        }
    }
    let mut v: Vec<_> = by_log.into_iter().collect();
    v.sort_unstable_by_key(|(l, _)| *l);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(index: usize, registry_index: u64, id: u8) -> PackageLogRecord {
        PackageLogRecord {
            index,
            registry_index,
            record_id: RecordId(crate::ids::Sha256Hash([id; 32])),
            time_secs: 0,
            signer: crate::ids::KeyId(crate::ids::Sha256Hash([9; 32])),
            entries: Vec::new(),
        }
    }

    #[test]
    fn chain_must_equal_the_ledger_entries_of_its_log() {
        let log = LogId(crate::ids::Sha256Hash([1; 32]));
        let id = |b: u8| RecordId(crate::ids::Sha256Hash([b; 32]));
        let chain = vec![rec(0, 2, 5), rec(1, 7, 6)];
        assert!(against_ledger(&log, &chain, &[(2, id(5)), (7, id(6))]).is_ok());
        // Another record at an index, another index, one missing, one extra.
        let e = against_ledger(&log, &chain, &[(2, id(5)), (7, id(8))]).unwrap_err();
        assert!(e.contains("record 1") && e.contains("index 7"), "{e}");
        assert!(against_ledger(&log, &chain, &[(2, id(5)), (8, id(6))]).is_err());
        let e = against_ledger(&log, &chain, &[(2, id(5))]).unwrap_err();
        assert!(e.contains("served 2") && e.contains("holds 1"), "{e}");
        assert!(against_ledger(&log, &chain, &[(2, id(5)), (7, id(6)), (9, id(7))]).is_err());
    }
}
