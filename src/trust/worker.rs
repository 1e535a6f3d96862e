//! The dashboard's verifier: one verification cycle on the checkpoint watcher's cadence (5 s),
//! off the draw path, following `:registry` switches; after each cycle, the tracked records of
//! the registry are checked against the verified ledger (proven, or RECORD_NOT_INCLUDED when a
//! stored `published` answer contradicts it), and the tracked packages' logs are validated
//! against the verified ledger ([`super::tracked`]). New alerts go to `--on-alert` once each.

use super::alerts::{Alert, AlertKind};
use super::cycle::{self, CycleOptions, CycleReport};
use super::db::{StoredAlert, TrustDb};
use super::records::{self, Proof};
use super::tracked::{check_packages, tracked_logs, PackageCache, PackagesReport};
use crate::ids::RecordRef;
use crate::registry::{PackageRecord, RegistryClient};
use crate::tracker::store::{now_ms, Store};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What the verifier reports.
#[derive(Debug, Clone)]
pub enum TrustEvent {
    /// A cycle finished (clean or with alerts).
    Cycle(Box<CycleReport>),
    /// A cycle could not run (registry unreachable, no trust endpoints).
    Failed(String),
    /// Each tracked record's proof, after the verified ledger or the tracked set changed.
    Proofs(Vec<(RecordRef, Proof)>),
    /// The stored alerts of this registry, newest first.
    Alerts(Vec<StoredAlert>),
    /// A ledger sync in progress: (entries verified so far, the checkpoint's length).
    Progress(u64, u64),
    /// The tracked packages' logs checked: what each proven record did, and the package alerts
    /// in force.
    Packages(Box<PackagesReport>),
    /// The latest comparison with peer monitors (the dashboard's witness check).
    Witness(WitnessStatus),
}

/// How this verifier's view compares with its peers' cosigned checkpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WitnessStatus {
    /// Peers whose checkpoint agrees with the verified view.
    pub agree: usize,
    /// Peers configured.
    pub total: usize,
    /// Peers that could not be asked this time (never an alert).
    pub unreachable: usize,
    /// SPLIT_VIEW and PEER_SIGNATURE alerts of the latest comparison.
    pub alerts: Vec<Alert>,
}

impl std::fmt::Debug for VerifierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierConfig")
            .field("store", &self.store)
            .field("on_alert", &self.on_alert)
            .field("period", &self.period)
            .finish()
    }
}

#[derive(Clone)]
pub struct VerifierConfig {
    /// The store file (tracked set and trust tables).
    pub store: PathBuf,
    /// Per-registry cycle options (pin, stale limit).
    pub options: std::sync::Arc<dyn Fn(&str) -> CycleOptions + Send + Sync>,
    pub on_alert: Option<String>,
    pub period: Duration,
}

fn now_secs() -> u64 {
    (now_ms() / 1000).max(0) as u64
}

/// Each tracked record of `store`'s registry: proven by the verified ledger or a proven
/// package chain, contradicted (an alert), or a registry claim (judged by `rules`).
type Proofs = Vec<(RecordRef, Proof)>;

fn proofs(
    db: &TrustDb,
    store: &Store,
    registry: &str,
    list: &[crate::tracker::store::Tracked],
    rules: &records::ClaimRules,
    chains: &[(RecordRef, u64)],
) -> Result<(Proofs, Vec<Alert>), String> {
    let mut out = Vec::with_capacity(list.len());
    let pairs: Vec<_> = list.iter().map(|t| (t.log_id, t.record_id)).collect();
    let found = db
        .find_records(registry, &pairs, rules.verified)
        .map_err(|e| e.to_string())?;
    for (t, found) in list.iter().zip(found) {
        let r = RecordRef::new(t.log_id, t.record_id);
        let proof = match found {
            Some(index) => Proof::Proven { index },
            None => match t.response.as_ref().and_then(|j| j.parse::<PackageRecord>()) {
                Some(answer) => {
                    let since = if rules.ages(&answer) {
                        store
                            .published_since(&t.log_id, &t.record_id)
                            .map_err(|e| format!("{e:#}"))?
                    } else {
                        None
                    };
                    records::check_answer(db, registry, r, &answer, rules, since)
                        .map_err(|e| e.to_string())?
                }
                None => Proof::Unproven,
            },
        };
        out.push((t, r, proof));
    }
    let mut refs: Vec<(RecordRef, &mut Proof)> = out.iter_mut().map(|(_, r, p)| (*r, p)).collect();
    records::apply_chains(&mut refs, chains.iter().copied());
    let mut alerts = Vec::new();
    let mut proofs = Vec::new();
    for (t, r, proof) in out {
        if let Proof::NotIncluded { detail } = &proof {
            let raw = t
                .response
                .as_ref()
                .and_then(|j| j.value())
                .unwrap_or_default();
            alerts.push(records::not_included(r, detail, &raw));
        }
        // Unproven is what the dashboard assumes of a record it has no proof for.
        if proof != Proof::Unproven {
            proofs.push((r, proof));
        }
    }
    Ok((proofs, alerts))
}

/// What an alert is about, so that `--on-alert` hears of it once while it lasts (see
/// [`super::db::alert_subject`]).
fn about(a: &Alert) -> (AlertKind, String) {
    (a.kind, super::db::alert_subject(a))
}

/// Stored alerts whose evidence the dashboard loads (the newest); older ones are listed
/// without it (`wargdash alerts --json` has it all).
const ALERTS_WITH_EVIDENCE: usize = 20;

/// Runs until `events` closes or the client channel is dropped.
pub async fn run<T>(
    mut client: watch::Receiver<RegistryClient>,
    cfg: VerifierConfig,
    events: mpsc::Sender<T>,
) where
    T: From<TrustEvent> + Send + 'static,
{
    let send = |e: TrustEvent| {
        let events = events.clone();
        async move { events.send(T::from(e)).await.is_ok() }
    };
    // What `--on-alert` was handed, by what the alert is about (see `about`).
    let mut handed: HashSet<(AlertKind, String)> = HashSet::new();
    // `--on-alert` runs off this loop, from a bounded queue (see `notify`).
    let mut hooks = cfg
        .on_alert
        .clone()
        .map(|cmd| super::notify::Hooks::start(cmd, super::notify::HOOK_TIMEOUT));
    // The tracked records found not included at the last check (see `about`).
    let mut not_included: HashSet<(AlertKind, String)> = HashSet::new();
    // What the proofs depend on: the registry, the verified length, the tracked set's mark.
    type ProofKey = (String, u64, i64);
    let mut last_key: Option<ProofKey> = None;
    // The connections are kept from cycle to cycle, and opened again for another registry.
    let mut conns: Option<(String, TrustDb, Store)> = None;
    // Package logs already checked (per registry: cleared on a switch).
    let mut packages = PackageCache::default();
    // The tracked set and its logs, listed again when the tracked set changes.
    let mut logs = Vec::new();
    // Records of proven package chains (the route without a ledger) and their registry
    // indices, from the last check.
    let mut chains: Vec<(RecordRef, u64)> = Vec::new();
    // Whether the last proofs held a claim (judged again every cycle).
    let mut claims = false;
    // The stored alerts' mark when they were last sent.
    let mut last_alerts: Option<(i64, i64)> = None;
    loop {
        let c = client.borrow().clone();
        let registry = c.base().to_string();
        if conns.as_ref().is_none_or(|(r, _, _)| *r != registry) {
            let opened = TrustDb::open(&cfg.store)
                .map_err(|e| e.to_string())
                .and_then(|db| {
                    Store::open(&cfg.store, &registry)
                        .map(|s| (db, s))
                        .map_err(|e| format!("{e:#}"))
                });
            match opened {
                Ok((db, store)) => {
                    conns = Some((registry.clone(), db, store));
                    packages = PackageCache::default();
                    not_included.clear();
                    last_key = None;
                    last_alerts = None;
                    chains.clear();
                }
                Err(e) => {
                    if !send(TrustEvent::Failed(e)).await {
                        return;
                    }
                    tokio::time::sleep(cfg.period).await;
                    continue;
                }
            }
        }
        let Some((_, db, store)) = conns.as_mut() else {
            continue;
        };
        let mut opts = (cfg.options)(&registry);
        opts.ledger_budget = Some(cycle::DASHBOARD_LEDGER_BUDGET);
        let grace = opts.max_age;
        // Progress of a long ledger sync, dropped when the dashboard is busy (the next page
        // tells again).
        let tx = events.clone();
        opts.progress = Some(cycle::Progress(std::sync::Arc::new(move |done, of| {
            let _ = tx.try_send(T::from(TrustEvent::Progress(done, of)));
        })));
        let mut new_alerts = Vec::new();
        match cycle::run_cycle(&c, db, &opts, now_secs()).await {
            Ok(report) => {
                if report.alerts.is_empty() {
                    // The registry is clean again: a later attack is news.
                    handed.retain(|(_, what)| !what.is_empty());
                }
                new_alerts.extend(report.alerts.iter().cloned());
                if !send(TrustEvent::Cycle(Box::new(report))).await {
                    return;
                }
            }
            Err(e) => {
                if !send(TrustEvent::Failed(e.headline())).await {
                    return;
                }
            }
        }
        // What the proofs depend on: the registry, the verified length, the tracked set's
        // mark. Listed again only when one changed.
        let verified = records::verified_len(db, &registry).unwrap_or(0);
        // Not `data_version`: this task's own trust writes would change it every cycle.
        let mark = store.change_mark().unwrap_or_default();
        let key = (registry.clone(), verified, mark);
        let mut changed = last_key.as_ref() != Some(&key);
        // The tracked set as listed this cycle, if it was (not kept between cycles).
        let mut fresh: Option<Vec<crate::tracker::store::Tracked>> = None;
        // A store that cannot be read now keeps what was shown (and is read again next cycle).
        if changed {
            match store.list() {
                Ok(l) => {
                    last_key = Some(key);
                    logs = tracked_logs(&l);
                    fresh = Some(l);
                }
                Err(e) => {
                    tracing::warn!("listing tracked records: {e:#}");
                    changed = false;
                }
            }
        }
        // The tracked packages' logs (fetched again only when their verified head moved).
        let mut chains_moved = false;
        match check_packages(&c, db, &logs, &mut packages).await {
            Ok(report) => {
                for a in &report.new_alerts {
                    let _ = db.add_alert(&registry, a, now_ms());
                }
                new_alerts.extend(report.new_alerts.iter().cloned());
                let did: Vec<(RecordRef, u64)> = report
                    .did
                    .iter()
                    .map(|(r, p)| (*r, p.registry_index))
                    .collect();
                chains_moved = did != chains;
                chains = did;
                let news = changed || report.checked > 0;
                if news && !send(TrustEvent::Packages(Box::new(report))).await {
                    return;
                }
            }
            Err(e) => tracing::warn!("checking tracked package logs: {e}"),
        }
        // Proofs when something they depend on changed, and every cycle while a claim stands
        // (a claim is judged again, and its record asked again).
        if changed || chains_moved || claims {
            let listed = match fresh.take() {
                Some(l) => Ok(l),
                None => store
                    .list()
                    .map_err(|e| format!("listing tracked records: {e:#}")),
            };
            let result = listed.and_then(|list| {
                let rules = records::ClaimRules::load(db, &registry, grace, now_ms())
                    .map_err(|e| e.to_string())?;
                proofs(db, store, &registry, &list, &rules, &chains)
            });
            match result {
                Ok((p, alerts)) => {
                    // Stored once per record while it lasts (proofs are re-checked whenever
                    // the ledger grows).
                    let now: HashSet<(AlertKind, String)> = alerts.iter().map(about).collect();
                    for a in alerts {
                        if !not_included.contains(&about(&a)) {
                            let _ = db.add_alert(&registry, &a, now_ms());
                            new_alerts.push(a);
                        }
                    }
                    not_included = now;
                    claims = p.iter().any(|(_, p)| p.is_suspect());
                    if !send(TrustEvent::Proofs(p)).await {
                        return;
                    }
                }
                Err(e) => tracing::warn!("checking tracked records: {e}"),
            }
        }
        // The stored alerts, read again only when one was stored or seen again.
        let alerts_mark = db.alerts_mark(&registry).ok();
        if alerts_mark != last_alerts {
            if let Ok(mut stored) = db.alert_summaries(&registry, 200) {
                for a in stored.iter_mut().take(ALERTS_WITH_EVIDENCE) {
                    if let Ok(Some(e)) = db.alert_evidence(a.id) {
                        a.alert.evidence = e;
                    }
                }
                last_alerts = alerts_mark;
                if !send(TrustEvent::Alerts(stored)).await {
                    return;
                }
            }
        }
        if let Some(hooks) = hooks.as_mut() {
            // Handed only once its hook started: one that could not is handed again.
            for k in hooks.take_failed() {
                handed.remove(&k);
            }
            for a in new_alerts {
                let key = about(&a);
                if !handed.contains(&key) && hooks.hand(key.clone(), &registry, &a) {
                    handed.insert(key);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.period) => {}
            changed = client.changed() => if changed.is_err() { return },
        }
    }
}
