//! `verify` and `alerts`: what the registry proves, and what it was caught at.

use super::output::{errln, outln, print_json};
use super::Env;
use serde_json::json;
use wargdash::exit::{self, api_fail, fail, CmdResult};
use wargdash::ids::RecordRef;
use wargdash::text::clean;
use wargdash::trust::alerts::Alert;
use wargdash::trust::records::{self, Proof};
use wargdash::trust::{cycle, notify};

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
    ctx.check_trust_options()?;
    let mut phases = super::output::Phases::start();
    let client = ctx.client()?;
    let registry = client.base().to_string();
    let opts = ctx.cycle_options(&registry, reset_trust)?;
    let mut db = ctx.trust_db()?;
    phases.mark("open");
    let report = cycle::run_cycle(&client, &mut db, &opts, now_secs())
        .await
        .map_err(api_fail)?;
    phases.mark("cycle");
    let mut alerts = report.alerts.clone();
    let now_ms = wargdash::tracker::store::now_ms;

    // The tracked packages' logs: validated, equal to the verified ledger (or, without one,
    // proven by their heads), heads proven.
    let store = ctx.store()?;
    let tracked = store.list().map_err(|e| fail(exit::STORE, e))?;
    // Logs proven at an unmoved head by an earlier run are not fetched again.
    let mut cache = wargdash::trust::tracked::PackageCache::persisted();
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
        let _ = db.add_alert(&registry, a, now_ms());
    }
    alerts.extend(packages.new_alerts.iter().cloned());
    phases.mark("packages");

    // Tracked records: proven by the verified ledger or a proven chain, contradicted, or a
    // registry claim not proven yet.
    let items: Vec<RecordRef> = tracked
        .iter()
        .map(|t| RecordRef::new(t.log_id, t.record_id))
        .collect();
    let rules = records::ClaimRules::load(&db, &registry, opts.max_age, now_ms())
        .map_err(|e| fail(exit::STORE, e))?;
    let since = |r: &RecordRef| store.published_since(&r.log, &r.record).ok().flatten();
    let mut resolved = records::resolve(&client, &db, &items, 16, true, &rules, &since)
        .await
        .map_err(|e| fail(exit::STORE, e))?;
    let mut refs: Vec<_> = resolved
        .iter_mut()
        .map(|r| (r.record, &mut r.proof))
        .collect();
    records::apply_chains(
        &mut refs,
        packages.did.iter().map(|(r, l)| (*r, l.registry_index)),
    );
    phases.mark("records");
    let (mut verified, mut not_included, mut claimed, mut pending) = (0, 0, 0, 0);
    for r in &resolved {
        match &r.proof {
            Proof::Proven { .. } => verified += 1,
            Proof::NotIncluded { .. } => {
                not_included += 1;
                alerts.extend(records::raise_not_included(&mut db, &registry, r, now_ms()));
            }
            Proof::Claimed { .. } => claimed += 1,
            Proof::Unproven => pending += 1,
        }
    }

    // The full audit: both roots recomputed from the whole ledger, against the checkpoint this
    // run verified (never a second one fetched unverified).
    let mut full_report = None;
    if full {
        match &report.verified {
            Some(cp) => {
                let f = cycle::verify_full(&client, cp).await.map_err(api_fail)?;
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
                    let _ = db.add_alert(&registry, &a, now_ms());
                    alerts.push(a);
                }
                full_report = Some(f);
            }
            None => eprintln!(
                "warning: full audit skipped: no checkpoint was verified in this run{}",
                report
                    .incomplete
                    .as_deref()
                    .map(|e| format!(" ({})", clean(e)))
                    .unwrap_or_default()
            ),
        }
    }

    phases.mark("full");
    phases.log("verify");
    // The retention limit, kept by every verification.
    if let Err(e) = db.prune_alerts(&registry, ctx.alert_retention(), now_ms()) {
        tracing::warn!("pruning stored alerts: {e}");
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
            "records": {"verified": verified, "notIncluded": not_included, "claimed": claimed, "pending": pending},
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
        outln!("records: {verified} proven, {not_included} not included, {claimed} claimed published (not proven yet), {pending} pending")?;
        for r in &resolved {
            if let Some(why) = r.proof.claim_text() {
                outln!("  {}: {why}", r.record.record.short(16))?;
            }
        }
        if let Some((done, of)) = report.ledger_pending {
            outln!("ledger: {done}/{of} entries synced so far (continues next run)")?;
        }
        if let Some(e) = &report.incomplete {
            outln!("not finished: {} (asked again next run)", clean(e))?;
        }
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
    Ok(if !alerts.is_empty() {
        exit::ALERT
    } else if report.incomplete.is_some() {
        exit::UNREACHABLE
    } else if claimed > 0 || report.ledger_pending.is_some() {
        exit::PENDING
    } else {
        exit::OK
    })
}

pub fn alerts(env: &Env<'_>, limit: u32, prune: bool) -> CmdResult {
    let ctx = env.ctx;
    let client = ctx.client()?;
    let registry = client.base().to_string();
    let mut db = ctx.trust_db()?;
    if prune {
        let keep = ctx.alert_retention();
        let gone = db
            .prune_alerts(&registry, keep, (now_secs() * 1000) as i64)
            .map_err(|e| fail(exit::STORE, e))?;
        if env.json {
            print_json(&json!({"pruned": gone, "keptRows": keep.rows, "keptDays": keep.days}))?;
        } else {
            outln!(
                "pruned {gone} alert(s) of {registry} (kept: newest {} rows, seen within {} days)",
                keep.rows,
                keep.days
            )?;
        }
        return Ok(exit::OK);
    }
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
            let seen = if a.count > 1 {
                format!(
                    "  (seen {}×, last {})",
                    a.count,
                    wargdash::ui::view::fmt_time(a.last_ms)
                )
            } else {
                String::new()
            };
            outln!(
                "{}  {}{seen}",
                wargdash::ui::view::fmt_time(a.time_ms),
                a.alert.kind.as_str()
            )?;
            outln!("  {}", clean(&a.alert.detail))?;
            outln!("  do: {}", a.alert.kind.what_to_do())?;
        }
    }
    Ok(exit::OK)
}
