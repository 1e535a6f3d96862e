//! `verify` and `alerts`: what the registry proves, and what it was caught at.

use super::output::{errln, outln, print_json};
use super::Env;
use serde_json::json;
use wargdash::exit::{self, api_fail, fail, CmdResult};
use wargdash::ids::RecordRef;
use wargdash::text::clean;
use wargdash::trust::alerts::Alert;
use wargdash::trust::records::{self, Proof};
use wargdash::trust::{checkpoint::Checkpoint, cycle, notify};

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Prints an alert for a human: kind, detail, what it means and what to do.
fn print_alert(a: &Alert) -> std::io::Result<()> {
    outln!("ALERT {}: {}", a.kind.as_str(), clean(&a.detail))?;
    outln!("  means: {}", a.kind.meaning())?;
    outln!("  do:    {}", a.kind.what_to_do())
}

pub async fn verify(env: &Env<'_>, full: bool, reset_trust: bool) -> CmdResult {
    let ctx = env.ctx;
    let client = ctx.client()?;
    let registry = client.base().to_string();
    let opts = ctx.cycle_options(&registry, reset_trust)?;
    let mut db = ctx.trust_db()?;
    let report = cycle::run_cycle(&client, &mut db, &opts, now_secs())
        .await
        .map_err(api_fail)?;
    let mut alerts = report.alerts.clone();

    // Tracked records of this registry against the verified ledger.
    let tracked = ctx.store()?.list().map_err(|e| fail(exit::STORE, e))?;
    let items: Vec<RecordRef> = tracked
        .iter()
        .map(|t| RecordRef::new(t.log_id, t.record_id))
        .collect();
    let resolved = records::resolve(&client, &db, &items, 16, true)
        .await
        .map_err(|e| fail(exit::STORE, e))?;
    let (mut verified, mut not_included, mut pending) = (0, 0, 0);
    for r in &resolved {
        match &r.proof {
            Proof::Proven { .. } => verified += 1,
            Proof::NotIncluded { .. } => {
                not_included += 1;
                let now = (now_secs() * 1000) as i64;
                alerts.extend(records::raise_not_included(&mut db, &registry, r, now));
            }
            Proof::Unproven => pending += 1,
        }
    }

    // The tracked packages' logs: validated, equal to the verified ledger, heads proven.
    let mut cache = wargdash::trust::tracked::PackageCache::default();
    // A store failure here does not hide the cycle's alerts: they are printed below.
    let packages = match wargdash::trust::tracked::check_packages(
        &client,
        &mut db,
        &wargdash::trust::tracked::tracked_logs(&tracked),
        &mut cache,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("checking the tracked package logs: {e}");
            errln!("warning: the tracked package logs were not checked: {e}");
            Default::default()
        }
    };
    for a in &packages.new_alerts {
        let _ = db.add_alert(&registry, a, (now_secs() * 1000) as i64);
    }
    alerts.extend(packages.new_alerts.iter().cloned());

    // The full audit: both roots recomputed from the whole ledger.
    let mut full_report = None;
    if full {
        let (typed, _) = client.checkpoint_raw().await.map_err(api_fail)?;
        match Checkpoint::from_signed(typed) {
            Ok(cp) => {
                let f = cycle::verify_full(&client, &cp).await.map_err(api_fail)?;
                if !f.ok() {
                    let a =
                        Alert::new(
                            wargdash::trust::alerts::AlertKind::LedgerMismatch,
                            format!(
                            "the whole ledger does not hash to the signed roots of length {}: {}",
                            cp.log_length,
                            f.problem.clone().unwrap_or_else(|| format!(
                                "log root {}, map root {}",
                                if f.log_root_matches { "matches" } else { "differs" },
                                if f.map_root_matches { "matches" } else { "differs" }
                            ))
                        ),
                            json!({"checkpoint": cp.canonical, "computed": f}),
                        );
                    let _ = db.add_alert(&registry, &a, (now_secs() * 1000) as i64);
                    alerts.push(a);
                }
                full_report = Some(f);
            }
            Err(e) => tracing::warn!("full audit skipped: {e}"),
        }
    }

    if let Some(cmd) = ctx.on_alert() {
        for a in &alerts {
            notify::run_on_alert(&cmd, &registry, a).await;
        }
    }

    if env.json {
        let mut v = json!({
            "registry": registry,
            "logLength": report.log_length,
            "checkpointVerified": report.checkpoint_verified,
            "operatorKeyId": report.operator_key_id.map(|k| k.to_string()),
            "pin": report.pin.map(|p| p.as_str()),
            "alerts": alerts.iter().map(|a| json!({"kind": a.kind.as_str(), "detail": a.detail})).collect::<Vec<_>>(),
            "records": {"verified": verified, "notIncluded": not_included, "pending": pending},
            "packages": {
                "checked": packages.checked,
                "proven": packages.proven_logs(),
                "failed": packages.active.len(),
                "skipped": packages.skipped.len(),
            },
        });
        if let Some(e) = &report.explanation {
            v["explanation"] = json!(e);
        }
        if let Some(f) = &full_report {
            v["full"] = json!(f);
        }
        if reset_trust {
            v["accepted"] = json!({"logLength": report.ledger_len, "operatorKeyId": report.pinned_key_id.map(|k| k.to_string())});
        }
        print_json(&v)?;
    } else {
        let pin = match report.pin {
            Some(p) if p.as_str() == "tofu" => "TOFU".to_string(),
            Some(p) => format!("pinned ({})", p.as_str()),
            None => "not pinned".to_string(),
        };
        let key = report
            .operator_key_id
            .map(|k| k.short(16))
            .unwrap_or_else(|| "unknown".into());
        if alerts.is_empty() {
            outln!(
                "verified L={} · operator {key} ({pin}) · ledger {} entries",
                report.log_length,
                report.ledger_len
            )?;
        } else {
            outln!(
                "NOT VERIFIED L={} · operator {key} ({pin}) · {} alert(s)",
                report.log_length,
                alerts.len()
            )?;
            for a in &alerts {
                print_alert(a)?;
            }
            if let Some(e) = &report.explanation {
                outln!("note: {e}")?;
            }
        }
        outln!("records: {verified} proven, {not_included} not included, {pending} pending or unproven")?;
        if packages.checked > 0 || !packages.skipped.is_empty() {
            outln!(
                "package logs: {} proven, {} failed, {} not checked",
                packages.proven_logs(),
                packages.active.len(),
                packages.skipped.len()
            )?;
            for (log, why) in &packages.skipped {
                outln!("  not checked: {log}: {}", clean(why))?;
            }
        }
        if let Some(f) = &full_report {
            outln!(
                "full audit of {} entries: log root {}, map root {}",
                f.log_length,
                if f.log_root_matches {
                    "matches"
                } else {
                    "DIFFERS"
                },
                if f.map_root_matches {
                    "matches"
                } else {
                    "DIFFERS"
                }
            )?;
        }
        if reset_trust {
            outln!(
                "accepted as the new baseline: log length {}, operator key {}",
                report.ledger_len,
                report
                    .pinned_key_id
                    .map(|k| k.to_string())
                    .unwrap_or_else(|| "none".into())
            )?;
        }
    }
    Ok(if alerts.is_empty() {
        exit::OK
    } else {
        exit::ALERT
    })
}

pub fn alerts(env: &Env<'_>, limit: u32) -> CmdResult {
    let ctx = env.ctx;
    let client = ctx.client()?;
    let registry = client.base().to_string();
    let db = ctx.trust_db()?;
    let list = db
        .alerts(&registry, limit)
        .map_err(|e| fail(exit::STORE, e))?;
    if env.json {
        for a in &list {
            print_json(a)?;
        }
    } else if list.is_empty() {
        outln!("no alerts for {registry}")?;
    } else {
        for a in &list {
            outln!(
                "{}  {}",
                wargdash::ui::view::fmt_time(a.time_ms),
                a.alert.kind.as_str()
            )?;
            outln!("  {}", clean(&a.alert.detail))?;
            outln!("  do: {}", a.alert.kind.what_to_do())?;
        }
    }
    Ok(exit::OK)
}
