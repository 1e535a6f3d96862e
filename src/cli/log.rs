//! `log NS:NAME|LOG_ID`: a package log's records, each with what it did and whether it is
//! proven in the registry's latest signed checkpoint (warg-trust.md §5 route (a): the chain
//! validates and its head is proven in the log and map of a checkpoint whose signature verifies
//! with an operator key holding `commit`).

use super::output::{errln, outln, parse_id, parse_package, print_json};
use super::Env;
use color_eyre::eyre::eyre;
use wargdash::exit::{self, api_fail, fail, CmdResult};
use wargdash::ids::LogId;
use wargdash::registry::ApiError;
use wargdash::text::clean;
use wargdash::trust::alerts::Alert;
use wargdash::trust::checkpoint::Checkpoint;
use wargdash::trust::cycle::not_included_alert;
use wargdash::trust::package::{
    decode_unverified, describe, fetch_package_log, invalid_log_alert, prove_package,
    validate_package_log, verify_checkpoint, PackageLogRecord,
};
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
    let client = env.ctx.client()?;

    let (typed, _raw) = client.checkpoint_raw().await.map_err(api_fail)?;
    let cp = Checkpoint::from_signed(typed).map_err(|e| {
        fail(
            exit::REGISTRY_FAULT,
            eyre!("the checkpoint is malformed: {e}"),
        )
    })?;
    let envelopes = match fetch_package_log(&client, cp.log_length, &log).await {
        Ok(v) => v,
        Err(ApiError::NotFound { what, .. }) if what == "log" => {
            return Err(fail(
                exit::LOG_NOT_FOUND,
                eyre!("package log {shown} does not exist on this registry"),
            ))
        }
        Err(e) => return Err(api_fail(e)),
    };
    if envelopes.is_empty() {
        return Err(fail(
            exit::LOG_NOT_FOUND,
            eyre!(
                "package log {shown} has no records in the latest checkpoint (length {}): nothing is published yet",
                cp.log_length
            ),
        ));
    }

    // The proof status in full (JSON) and in a few words (the table; the alert on stderr has
    // the detail).
    let mut alerts: Vec<Alert> = Vec::new();
    let (records, proof): (Vec<PackageLogRecord>, String) =
        match validate_package_log(&log, &envelopes) {
            Err(e) => {
                alerts.push(invalid_log_alert(&log, package.as_deref(), &e, &envelopes));
                // What the registry served, marked unproven.
                (decode_unverified(&envelopes), format!("chain invalid: {e}"))
            }
            Ok(pl) => {
                let status = match verify_checkpoint(&client, &cp).await.map_err(api_fail)? {
                    Err(a) => {
                        let s = format!("checkpoint not verified: {}", a.detail);
                        alerts.push(a);
                        s
                    }
                    Ok(()) => match prove_package(&client, &cp, &pl).await {
                        Ok(()) => "proven".to_string(),
                        Err(e) => {
                            if let Some(leaf) = pl.head_leaf() {
                                alerts.push(not_included_alert(&leaf, &e, &cp));
                            }
                            format!("head proof failed: {e}")
                        }
                    },
                };
                (pl.records, status)
            }
        };

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
            cp.log_length
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
    Ok(if alerts.is_empty() {
        exit::OK
    } else {
        exit::ALERT
    })
}
