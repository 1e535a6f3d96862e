//! `log-id`, `status`, `poll --once`: reading record states.

use super::output::{
    outln, parse_id, parse_package, print_json, print_table_header, print_table_row,
    state_exit_code,
};
use super::Env;
use wargdash::exit::{self, api_fail, fail, CmdResult};
use wargdash::ids::{LogId, RecordId};
use wargdash::tracker::poll;

pub async fn status(env: &Env<'_>, log: &str, rec: &str) -> CmdResult {
    let log: LogId = parse_id(log)?;
    let rec: RecordId = parse_id(rec)?;
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

/// Severity order for `poll --once`'s exit code: published < pending < rejected < error.
fn severity(code: i32) -> u8 {
    match code {
        exit::OK => 0,
        exit::PENDING => 1,
        exit::REJECTED => 2,
        _ => 3,
    }
}

pub async fn poll_once(env: &Env<'_>, concurrency: usize) -> CmdResult {
    let ctx = env.ctx;
    let mut store = ctx.store()?;
    let mut tracked =
        tokio::task::block_in_place(|| store.list()).map_err(|e| fail(exit::STORE, e))?;
    let client = ctx.client()?;
    // Records tracked by ID get their package names from the registry (best effort).
    let unnamed: Vec<LogId> = {
        let mut v: Vec<LogId> = tracked
            .iter()
            .filter(|t| t.package.is_none())
            .map(|t| t.log_id)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if !unnamed.is_empty() {
        match client.resolve_names(&unnamed).await {
            Ok(names) => {
                for t in tracked.iter_mut().filter(|t| t.package.is_none()) {
                    t.package = names.get(&t.log_id).cloned();
                }
                tokio::task::block_in_place(|| {
                    for (log, name) in &names {
                        if let Err(e) = store.set_package(log, name) {
                            tracing::warn!("storing the name of {log}: {e:#}");
                        }
                    }
                });
            }
            Err(e) => tracing::warn!("fetching package names: {e}"),
        }
    }
    let items: Vec<(LogId, RecordId)> = tracked.iter().map(|t| (t.log_id, t.record_id)).collect();
    let results = poll::sweep(&client, &items, concurrency).await;
    let outcomes: Vec<_> = results.iter().map(poll::Polled::outcome).collect();
    tokio::task::block_in_place(|| store.record_polls(&outcomes))
        .map_err(|e| fail(exit::STORE, e))?;
    let mut worst = exit::OK;
    if !env.json && !results.is_empty() {
        print_table_header()?;
    }
    for (t, p) in tracked.iter().zip(&results) {
        let code = match &p.result {
            Ok((rec, _)) => state_exit_code(&rec.state),
            Err(e) => e.exit_code(),
        };
        if severity(code) > severity(worst) {
            worst = code;
        }
        if env.json {
            let mut obj = serde_json::json!({
                "logId": p.log_id, "recordId": p.record_id, "package": t.package,
            });
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
            let (state, detail) = match &p.result {
                Ok((rec, _)) => (rec.state.name().to_string(), rec.state.detail()),
                Err(e) => ("error".to_string(), e.to_string()),
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
