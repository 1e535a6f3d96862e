//! `log-id`, `status`, `poll --once`: reading record states.

use super::output::{
    errln, outln, parse_package, print_json, print_table_header, print_table_row, state_exit_code,
};
use super::Env;
use wargdash::exit::{self, api_fail, fail, CmdResult};
use wargdash::ids::RecordRef;
use wargdash::tracker::poll;
use wargdash::trust::records::Proof;

pub async fn status(env: &Env<'_>, log: &str, rec: &str) -> CmdResult {
    let (log, rec) = super::output::resolve_ids(env.ctx, log, rec)?;
    let client = env.ctx.client()?;
    let (record, raw) = client.get_record(&log, &rec).await.map_err(api_fail)?;
    // A published answer is a claim unless the verified state (the last `verify`, `poll
    // --once` or dashboard cycle) proves it.
    let registry = client.base().to_string();
    let proof = match record.state {
        wargdash::registry::RecordState::Published { .. } => {
            let db = env.ctx.trust_db()?;
            let rules = super::output::claim_rules(env.ctx, &db, &registry)?;
            let r = RecordRef::new(log, rec);
            Some(
                wargdash::trust::records::check_answer(&db, &registry, r, &record, &rules, None)
                    .map_err(|e| fail(exit::STORE, e))?,
            )
        }
        _ => None,
    };
    if env.json {
        let mut v = raw.clone();
        if let (Some(p), Some(obj)) = (&proof, v.as_object_mut()) {
            obj.insert("verified".into(), p.is_proven().into());
            if let Some(why) = p.claim_text() {
                obj.insert("claim".into(), why.into());
            }
        }
        print_json(&v)?;
    } else {
        match &proof {
            Some(Proof::Proven { .. }) => {
                outln!("{} ✔ proven", super::output::describe_state(&record))?
            }
            Some(Proof::NotIncluded { detail }) => outln!(
                "{} ✗ NOT INCLUDED: {}",
                super::output::describe_state(&record),
                wargdash::text::clean(detail)
            )?,
            Some(p) => outln!(
                "{} (not proven: run `wargdash verify`)",
                p.claim_text().unwrap_or_default()
            )?,
            None => outln!("{}", super::output::describe_state(&record))?,
        }
    }
    Ok(match proof {
        Some(Proof::NotIncluded { .. }) => exit::ALERT,
        _ => state_exit_code(&record.state),
    })
}

pub fn log_id(env: &Env<'_>, package: &str) -> CmdResult {
    let name = parse_package(package)?;
    if env.json {
        print_json(&serde_json::json!({ "package": name.to_string(), "logId": name.log_id() }))?;
    } else {
        outln!("{}", name.log_id())?;
    }
    Ok(exit::OK)
}

/// Severity order for `poll --once`'s exit code: published < pending < rejected < error <
/// a record the registry claims but does not hold (alert).
fn severity(code: i32) -> u8 {
    match code {
        exit::OK => 0,
        exit::PENDING => 1,
        exit::REJECTED => 2,
        exit::ALERT => 4,
        _ => 3,
    }
}

/// One verification cycle so the verified ledger is current. `None` when it could not run
/// (unreachable, no trust endpoints): trust is off for this run and every record is asked
/// with a GET. Its alerts are printed on stderr.
async fn run_cycle(
    env: &Env<'_>,
    client: &wargdash::registry::RegistryClient,
    db: &mut wargdash::trust::db::TrustDb,
) -> Result<Cycle, wargdash::exit::Fail> {
    let registry = client.base().to_string();
    let opts = env.ctx.cycle_options(&registry, false)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(
        match wargdash::trust::cycle::run_cycle(client, db, &opts, now).await {
            Ok(report) => {
                for a in &report.alerts {
                    errln!(
                        "ALERT {}: {}",
                        a.kind.as_str(),
                        wargdash::text::clean(&a.detail)
                    );
                }
                Some(report)
            }
            Err(e) => {
                tracing::info!("poll --once without verification: {e}");
                // A registry without the trust endpoints: trust is off. Any other failure
                // (5xx, refused, garbage) leaves trust on but nothing verified this run.
                if !matches!(
                    e,
                    wargdash::registry::ApiError::NoSuchEndpoint { .. }
                        | wargdash::registry::ApiError::NotFound { .. }
                ) {
                    errln!(
                        "warning: the registry could not be verified this run: {}",
                        e.headline()
                    );
                    return Ok(Cycle::Failed);
                }
                None
            }
        }
        .map_or(Cycle::Off, |r| Cycle::Ran(Box::new(r))),
    )
}

/// What the verification cycle of a `poll --once` run gave.
enum Cycle {
    /// It ran (clean or with alerts).
    Ran(Box<wargdash::trust::cycle::CycleReport>),
    /// The registry serves no trust endpoints: trust is off for this run.
    Off,
    /// It could not finish: trust is on, nothing was verified this run.
    Failed,
}

pub async fn poll_once(env: &Env<'_>, concurrency: usize, use_ledger: bool) -> CmdResult {
    let ctx = env.ctx;
    ctx.check_trust_options()?;
    let mut phases = super::output::Phases::start();
    let mut store = ctx.store()?;
    let mut tracked =
        tokio::task::block_in_place(|| store.list()).map_err(|e| fail(exit::STORE, e))?;
    let client = ctx.client()?;
    // Records tracked by ID get their package names from the registry (best effort).
    super::track::fill_names(&client, &mut store, &mut tracked).await;
    let items: Vec<RecordRef> = tracked
        .iter()
        .map(|t| RecordRef::new(t.log_id, t.record_id))
        .collect();
    // Published records come from the verified ledger (a dozen requests for 10 000 records);
    // the rest, and every record without a ledger, with one GET each.
    let mut db = env.ctx.trust_db()?;
    phases.mark("open");
    let outcome = if use_ledger && !items.is_empty() {
        run_cycle(env, &client, &mut db).await?
    } else {
        Cycle::Off
    };
    let trust_on = !matches!(outcome, Cycle::Off);
    let cycle = match outcome {
        Cycle::Ran(r) => Some(*r),
        _ => None,
    };
    phases.mark("cycle");
    let registry = client.base().to_string();
    let ledger = cycle.as_ref().is_some_and(|r| r.ledger_available);
    let rules = super::output::claim_rules(ctx, &db, &registry)?;
    let since = |r: &RecordRef| store.published_since(&r.log, &r.record).ok().flatten();
    let mut resolved = wargdash::trust::records::resolve(
        &client,
        &db,
        &items,
        concurrency,
        ledger,
        &rules,
        &since,
    )
    .await
    .map_err(|e| fail(exit::STORE, e))?;
    // Without a ledger, claims are proven by their package chains.
    let claimed: Vec<RecordRef> = resolved
        .iter()
        .filter(|r| matches!(r.proof, Proof::Claimed { .. }))
        .map(|r| r.record)
        .collect();
    if cycle.is_some() && !ledger && !claimed.is_empty() {
        let logs: Vec<_> = wargdash::trust::tracked::tracked_logs(&tracked)
            .into_iter()
            .filter(|(l, _)| claimed.iter().any(|r| r.log == *l))
            .collect();
        let mut cache = wargdash::trust::tracked::PackageCache::default();
        match wargdash::trust::tracked::check_packages(&client, &mut db, &logs, &mut cache).await {
            Ok(p) => {
                let mut refs: Vec<_> = resolved
                    .iter_mut()
                    .map(|r| (r.record, &mut r.proof))
                    .collect();
                wargdash::trust::records::apply_chains(
                    &mut refs,
                    p.did.iter().map(|(r, l)| (*r, l.registry_index)),
                );
            }
            Err(e) => tracing::warn!("proving package chains: {e}"),
        }
    }
    for r in &resolved {
        let now = wargdash::tracker::store::now_ms();
        if let Some(a) = wargdash::trust::records::raise_not_included(&mut db, &registry, r, now) {
            errln!(
                "ALERT {}: {}",
                a.kind.as_str(),
                wargdash::text::clean(&a.detail)
            );
        }
    }
    phases.mark("records");
    let results: Vec<&poll::Polled> = resolved.iter().map(|r| &r.polled).collect();
    let outcomes: Vec<_> = results.iter().map(|p| p.outcome()).collect();
    tokio::task::block_in_place(|| store.record_polls(&outcomes))
        .map_err(|e| fail(exit::STORE, e))?;
    phases.mark("store");
    // The cycle's own alerts fail the run as a record's would.
    let mut worst = if cycle.as_ref().is_some_and(|c| !c.alerts.is_empty()) {
        exit::ALERT
    } else {
        exit::OK
    };
    if !env.json && !results.is_empty() {
        print_table_header()?;
    }
    for ((t, p), r) in tracked.iter().zip(&results).zip(&resolved) {
        let code = match (&p.result, &r.proof) {
            (_, Proof::NotIncluded { .. }) => exit::ALERT,
            // A claim is not a fact while trust is on (even when this run verified nothing).
            (_, Proof::Claimed { .. }) if trust_on => exit::PENDING,
            (Ok((rec, _)), _) => state_exit_code(&rec.state),
            (Err(e), _) => exit::api_code(e),
        };
        if severity(code) > severity(worst) {
            worst = code;
        }
        if env.json {
            let mut obj = serde_json::json!({
                "logId": p.log_id, "recordId": p.record_id, "package": t.package,
                "verified": r.proof.is_proven(),
            });
            if let Proof::NotIncluded { detail } = &r.proof {
                obj["alert"] = "RECORD_NOT_INCLUDED".into();
                obj["alertDetail"] = detail.clone().into();
            }
            if let Some(why) = r.proof.claim_text() {
                obj["claim"] = why.into();
            }
            match &p.result {
                Ok((rec, raw)) => {
                    obj["state"] = rec.state.name().into();
                    obj["detail"] = rec.state.detail().into();
                    obj["response"] = raw.clone();
                }
                Err(e) => {
                    obj["state"] = "error".into();
                    obj["error"] = e.to_string().into();
                }
            }
            print_json(&obj)?;
        } else {
            let (state, detail) = match (&p.result, &r.proof) {
                (Ok((rec, _)), Proof::NotIncluded { .. }) => (
                    rec.state.name().to_string(),
                    format!("! RECORD_NOT_INCLUDED: {}", rec.state.detail()),
                ),
                (Ok((rec, _)), Proof::Proven { .. }) => (
                    rec.state.name().to_string(),
                    format!("{} ✔ proven", rec.state.detail()),
                ),
                (Ok(_), p @ Proof::Claimed { .. }) => {
                    ("published?".to_string(), p.claim_text().unwrap_or_default())
                }
                (Ok((rec, _)), _) => (rec.state.name().to_string(), rec.state.detail()),
                (Err(e), _) => ("error".to_string(), e.to_string()),
            };
            print_table_row(
                t.package.as_deref(),
                &t.log_id,
                &t.record_id,
                &state,
                &detail,
            )?;
        }
    }
    phases.mark("print");
    phases.log("poll --once");
    Ok(worst)
}
