//! `log NS:NAME|LOG_ID`: a package log's records, each with what it did and whether it is
//! proven (warg-trust.md §5 route (a): the chain validates and its head is proven in the log
//! and map of the checkpoint a full verification cycle verified in this run — pin, stored
//! state, rewinds, forks and timestamps included).

use super::output::{errln, outln, parse_id, parse_package, print_json};
use super::Env;
use color_eyre::eyre::eyre;
use wargdash::exit::{self, api_fail, fail, CmdResult};
use wargdash::ids::LogId;
use wargdash::registry::ApiError;
use wargdash::text::clean;
use wargdash::trust::alerts::Alert;
use wargdash::trust::cycle::run_cycle;
use wargdash::trust::package::{describe, load_proven, PackageLogRecord};
use wargdash::ui::view::fmt_time;

/// UTC `YYYY-MM-DD HH:MM:SSZ`.
fn utc(secs: i64) -> String {
    fmt_time(secs.saturating_mul(1000))
}

/// RFC 3339 UTC, for JSON.
fn rfc3339(secs: i64) -> String {
    utc(secs).replacen(' ', "T", 1)
}

fn print_alert(a: &Alert) {
    errln!("alert {}: {}", a.kind, clean(&a.detail));
}

pub async fn log(env: &Env<'_>, target: &str) -> CmdResult {
    let (package, log): (Option<String>, LogId) = if target.starts_with("sha256:") {
        (None, parse_id(target)?)
    } else {
        let name = parse_package(target)?;
        (Some(name.to_string()), name.log_id())
    };
    let shown = package.clone().unwrap_or_else(|| log.to_string());
    env.ctx.check_trust_options()?;
    let client = env.ctx.client()?;
    let registry = client.base().to_string();

    // The same cycle `verify` runs (pin, stored state, rewinds, forks, timestamps): "proven"
    // stands on the checkpoint it verified, never on one checked on its own.
    let opts = env.ctx.cycle_options(&registry, false)?;
    let mut db = env.ctx.trust_db()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let report = run_cycle(&client, &mut db, &opts, now)
        .await
        .map_err(api_fail)?;
    let mut alerts: Vec<Alert> = report.alerts.clone();
    let why = if !report.alerts.is_empty() {
        let kinds: Vec<&str> = report.alerts.iter().map(|a| a.kind.as_str()).collect();
        format!("checkpoint not verified: {}", kinds.join(", "))
    } else if let Some(e) = &report.incomplete {
        format!("checkpoint not verified: {e}")
    } else {
        "checkpoint not verified: the ledger sync has not finished".to_string()
    };
    // Not verified this run: shown (unproven) at the last checkpoint verified before, if any,
    // never at the length of a checkpoint that did not verify.
    let unverified_len = match &report.verified {
        Some(_) => report.log_length,
        None => wargdash::trust::package::last_verified(&db, &registry)
            .ok()
            .flatten()
            .map(|c| c.log_length)
            .unwrap_or(report.log_length),
    };
    let loaded = match load_proven(
        &client,
        report.verified.as_ref(),
        unverified_len,
        &why,
        &log,
        package.as_deref(),
    )
    .await
    {
        Ok(v) => v,
        Err(ApiError::NotFound { what, .. }) if what == "log" => {
            return Err(fail(
                exit::LOG_NOT_FOUND,
                eyre!("package log {shown} does not exist on this registry"),
            ))
        }
        Err(e) => return Err(api_fail(e)),
    };
    if loaded.records.is_empty() {
        return Err(fail(
            exit::LOG_NOT_FOUND,
            eyre!(
                "package log {shown} has no records in the checkpoint of length {}: nothing is published yet",
                loaded.length
            ),
        ));
    }
    for a in &loaded.alerts {
        let _ = db.add_alert(&registry, a, (now as i64).saturating_mul(1000));
    }
    alerts.extend(loaded.alerts.iter().cloned());
    let records: Vec<PackageLogRecord> = loaded.records;
    let proof = match &loaded.status {
        Ok(()) => "proven".to_string(),
        Err(e) => e.clone(),
    };
    let cp_length = loaded.length;

    let brief = match proof.split_once(':') {
        Some((why, _)) => format!("not proven: {why} (see alert)"),
        None => proof.clone(),
    };
    if env.json {
        for r in &records {
            let mut v = serde_json::json!({
                "logId": log,
                "index": r.index,
                "registryIndex": r.registry_index,
                "recordId": r.record_id,
                "time": rfc3339(r.time_secs),
                "signer": r.signer,
                "entries": r.entries,
                "proof": proof,
            });
            if let (Some(p), Some(obj)) = (&package, v.as_object_mut()) {
                obj.insert("package".into(), p.clone().into());
            }
            print_json(&v)?;
        }
    } else if !records.is_empty() {
        outln!(
            "{} ({log}) at checkpoint length {}",
            clean(&shown),
            cp_length
        )?;
        outln!(
            "{:>5} {:>8} {:<14} {:<20} {:<18} {:<40} PROOF",
            "INDEX",
            "REGISTRY",
            "RECORD",
            "TIME (UTC)",
            "SIGNER",
            "WHAT"
        )?;
        for r in &records {
            outln!(
                "{:>5} {:>8} {:<14} {:<20} {:<18} {:<40} {}",
                r.index,
                r.registry_index,
                r.record_id.short(12),
                utc(r.time_secs),
                format!("sha256:{}…", r.signer.short(8)),
                clean(&describe(r)),
                clean(&brief)
            )?;
        }
    }
    for a in &alerts {
        print_alert(a);
    }
    Ok(if !alerts.is_empty() {
        exit::ALERT
    } else if loaded.status.is_err() {
        exit::UNREACHABLE
    } else {
        exit::OK
    })
}
