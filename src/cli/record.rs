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
    if env.json {
        print_json(&raw)?;
    } else {
        outln!("{}", super::output::describe_state(&record))?;
    }
    Ok(state_exit_code(&record.state))
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

/// One verification cycle so the verified ledger is current; `false` when the registry could
/// not be verified (no ledger, unreachable: every record is then asked with a GET).
async fn sync_ledger(
    env: &Env<'_>,
    client: &wargdash::registry::RegistryClient,
    db: &mut wargdash::trust::db::TrustDb,
) -> bool {
    let registry = client.base().to_string();
    let Ok(opts) = env.ctx.cycle_options(&registry, false) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match wargdash::trust::cycle::run_cycle(client, db, &opts, now).await {
        Ok(report) => {
            for a in &report.alerts {
                errln!(
                    "ALERT {}: {}",
                    a.kind.as_str(),
                    wargdash::text::clean(&a.detail)
                );
            }
            report.ledger_available
        }
        Err(e) => {
            tracing::info!("poll --once without the ledger: {e}");
            false
        }
    }
}

pub async fn poll_once(env: &Env<'_>, concurrency: usize, use_ledger: bool) -> CmdResult {
    let ctx = env.ctx;
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
    let ledger = use_ledger && !items.is_empty() && sync_ledger(env, &client, &mut db).await;
    let resolved = wargdash::trust::records::resolve(&client, &db, &items, concurrency, ledger)
        .await
        .map_err(|e| fail(exit::STORE, e))?;
    let registry = client.base().to_string();
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
    let results: Vec<&poll::Polled> = resolved.iter().map(|r| &r.polled).collect();
    let outcomes: Vec<_> = results.iter().map(|p| p.outcome()).collect();
    tokio::task::block_in_place(|| store.record_polls(&outcomes))
        .map_err(|e| fail(exit::STORE, e))?;
    let mut worst = exit::OK;
    if !env.json && !results.is_empty() {
        print_table_header()?;
    }
    for ((t, p), r) in tracked.iter().zip(&results).zip(&resolved) {
        let code = match (&p.result, &r.proof) {
            (_, Proof::NotIncluded { .. }) => exit::ALERT,
            (Ok((rec, _)), _) => state_exit_code(&rec.state),
            (Err(e), _) => e.exit_code(),
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
                    format!("{} ✓ proven", rec.state.detail()),
                ),
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
    Ok(worst)
}
