//! `track add | list | remove`: the tracked set.

use super::output::{
    outln, parse_id, parse_package, print_json, print_table_header, print_table_row,
};
use super::{Env, TrackCmd};
use color_eyre::eyre::{eyre, WrapErr};
use std::io::BufRead;
use wargdash::exit::{self, fail, CmdResult, Fail};
use wargdash::ids::{LogId, RecordId};
use wargdash::registry::PackageRecord;
use wargdash::tracker::store::NewTracked;

/// Package names for records tracked by ID, from the registry (`fetch/names`, best effort: a
/// registry that is down leaves them unnamed, bounded to 5 s), filled into `tracked` and stored
/// for next time.
pub async fn fill_names(
    client: &wargdash::registry::RegistryClient,
    store: &mut wargdash::tracker::store::Store,
    tracked: &mut [wargdash::tracker::store::Tracked],
) {
    let mut logs: Vec<LogId> = tracked
        .iter()
        .filter(|t| t.package.is_none())
        .map(|t| t.log_id)
        .collect();
    logs.sort();
    logs.dedup();
    if logs.is_empty() {
        return;
    }
    let names = match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.resolve_names(&logs),
    )
    .await
    {
        Ok(Ok(names)) => names,
        Ok(Err(e)) => return tracing::info!("package names: {e}"),
        Err(_) => return tracing::info!("package names: the registry did not answer in 5 s"),
    };
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

/// The tracked set for `track list`, records tracked by ID named from the registry when one
/// is configured (best effort).
async fn named_list(env: &Env<'_>) -> Result<Vec<wargdash::tracker::store::Tracked>, Fail> {
    let ctx = env.ctx;
    let mut store = ctx.store()?;
    let mut list =
        tokio::task::block_in_place(|| store.list()).map_err(|e| fail(exit::STORE, e))?;
    if ctx.registry_url().is_some() {
        if let Ok(client) = ctx.client() {
            fill_names(&client, &mut store, &mut list).await;
        }
    }
    Ok(list)
}

pub async fn track(env: &Env<'_>, cmd: TrackCmd) -> CmdResult {
    let ctx = env.ctx;
    let listed = match cmd {
        TrackCmd::List => Some(named_list(env).await?),
        _ => None,
    };
    tokio::task::block_in_place(|| match cmd {
        TrackCmd::Add { package, ids } => {
            let items = match (package, ids.as_slice()) {
                (None, [dash]) if dash == "-" => {
                    let mut items = Vec::new();
                    for (i, line) in std::io::stdin().lock().lines().enumerate() {
                        let line = line.wrap_err("reading stdin")?;
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        let item = NewTracked::parse_line(line)
                            .map_err(|e| fail(exit::USAGE, eyre!("line {}: {e} (got {line:?})", i + 1)))?;
                        items.push(item);
                    }
                    items
                }
                (Some(p), [rec]) => {
                    let name = parse_package(&p)?;
                    vec![NewTracked::by_hand(
                        name.log_id(),
                        parse_id(rec)?,
                        Some(name.to_string()),
                    )]
                }
                (None, [log, rec]) => {
                    vec![NewTracked::by_hand(parse_id(log)?, parse_id(rec)?, None)]
                }
                _ => {
                    return Err(fail(
                        exit::USAGE,
                        eyre!("usage: track add LOG_ID RECORD_ID | track add --package NS:NAME RECORD_ID | track add -"),
                    ))
                }
            };
            let added = ctx.store()?.add(&items).map_err(|e| fail(exit::STORE, e))?;
            if env.json {
                print_json(&serde_json::json!({ "added": added, "given": items.len() }))?;
            } else {
                outln!("tracking {added} new record(s) ({} given)", items.len())?;
            }
            Ok(exit::OK)
        }
        TrackCmd::List => {
            let list = listed.unwrap_or_default();
            if env.json {
                // A rebuilt record names the rejected one it replaces.
                let links = match ctx
                    .store()
                    .and_then(|s| s.rebuild_links().map_err(|e| fail(exit::STORE, e)))
                {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!("reading rebuild links: {e:?}");
                        Default::default()
                    }
                };
                for t in &list {
                    let key = wargdash::ids::RecordRef::new(t.log_id, t.record_id);
                    match links.get(&key) {
                        Some(l) => {
                            let mut v = serde_json::to_value(t)?;
                            v["rebuilds"] =
                                serde_json::json!({"recordId": l.original, "reason": l.reason});
                            print_json(&v)?;
                        }
                        None => print_json(t)?,
                    }
                }
            } else if list.is_empty() {
                outln!("no tracked records (add one with `wargdash track add LOG_ID RECORD_ID`)")?;
            } else {
                print_table_header()?;
                for t in &list {
                    let detail = match (&t.error, &t.response) {
                        (Some(e), _) => format!("last poll failed: {e}"),
                        (None, Some(r)) => r
                            .parse::<PackageRecord>()
                            .map(|r| r.state.detail())
                            .unwrap_or_default(),
                        (None, None) => String::new(),
                    };
                    print_table_row(
                        t.package.as_deref(),
                        &t.log_id,
                        &t.record_id,
                        t.state.as_deref().unwrap_or("unknown"),
                        &detail,
                    )?;
                }
            }
            Ok(exit::OK)
        }
        TrackCmd::Remove { log_id, record_id } => {
            let (l, r): (LogId, RecordId) = super::output::resolve_ids(ctx, &log_id, &record_id)?;
            if ctx
                .store()?
                .remove(&l, &r)
                .map_err(|e| fail(exit::STORE, e))?
            {
                outln!("stopped tracking {r}")?;
                Ok(exit::OK)
            } else {
                Err(fail(
                    exit::NOT_FOUND,
                    eyre!("record {r} in log {l} is not tracked"),
                ))
            }
        }
    })
}
