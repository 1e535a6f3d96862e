//! Many package logs at once: fetched with few `fetch/logs` requests (batches sized by what
//! the verified ledger holds for each log, split when an answer is too large, a log the
//! registry calls unknown answered alone) and validated on every core.

use super::package::{
    fault, validate_package_log, PackageEnvelope, PackageLog, MAX_PACKAGE_RECORDS, PAGE_LIMIT,
};
use super::TrustError;
use crate::ids::{LogId, RecordId};
use crate::registry::{ApiError, RegistryClient};

/// Expected records per `fetch/logs` request of a batch (about 2 MB of answer, well under the
/// client's body cap); a batch whose answer is too large anyway is split in two.
pub const BATCH_RECORDS: u64 = 4000;
/// Logs per `fetch/logs` request at most.
pub const BATCH_LOGS: usize = 2000;

/// What a batched fetch gives for one log.
pub type Fetched = Result<Vec<PackageEnvelope>, ApiError>;

/// Fetches many whole package logs at `log_length` with few requests: logs are packed into
/// batches of about [`BATCH_RECORDS`] expected records (`expected`: the record count the
/// verified ledger holds for the log, when known), each log paged on (its own fetch token)
/// while its list is full. A log the registry says does not exist is `NotFound { what: "log" }`
/// for that log alone (it is taken out and the rest asked again); an answer too large for the
/// body cap splits the batch; any other failure is that batch's logs' error. Each log is
/// checked as [`fetch_package_log_paged`] checks one (indices increase, pages advance, at most
/// [`MAX_PACKAGE_RECORDS`]).
pub async fn fetch_package_logs(
    client: &RegistryClient,
    log_length: u64,
    logs: &[(LogId, Option<u64>)],
) -> std::collections::HashMap<LogId, Fetched> {
    use futures::StreamExt;
    let mut batches: Vec<Vec<LogId>> = Vec::new();
    let (mut cur, mut weight) = (Vec::new(), 0u64);
    for (log, expected) in logs {
        let w = expected.unwrap_or(1).clamp(1, u64::from(PAGE_LIMIT));
        if !cur.is_empty() && (weight + w > BATCH_RECORDS || cur.len() >= BATCH_LOGS) {
            batches.push(std::mem::take(&mut cur));
            weight = 0;
        }
        cur.push(*log);
        weight += w;
    }
    if !cur.is_empty() {
        batches.push(cur);
    }
    let results: Vec<Vec<(LogId, Fetched)>> = futures::stream::iter(batches)
        .map(|b| fetch_batch(client, log_length, b))
        .buffer_unordered(2)
        .collect()
        .await;
    results.into_iter().flatten().collect()
}

/// One batch of [`fetch_package_logs`], with its splits and retries.
async fn fetch_batch(
    client: &RegistryClient,
    log_length: u64,
    logs: Vec<LogId>,
) -> Vec<(LogId, Fetched)> {
    let mut out: Vec<(LogId, Fetched)> = Vec::new();
    // Batches still to ask, each with every log's records so far and its next fetch token.
    type Open = std::collections::BTreeMap<LogId, (Vec<PackageEnvelope>, Option<RecordId>)>;
    let mut queue: Vec<Open> = vec![logs.into_iter().map(|l| (l, (Vec::new(), None))).collect()];
    while let Some(mut open) = queue.pop() {
        if open.is_empty() {
            continue;
        }
        let ask: std::collections::BTreeMap<LogId, Option<RecordId>> =
            open.iter().map(|(l, (_, s))| (*l, *s)).collect();
        let page = match client
            .fetch_package_logs_page(log_length, &ask, PAGE_LIMIT)
            .await
        {
            Ok(p) => p,
            Err(ApiError::NotFound { what, id }) if what == "log" => {
                match id.parse::<LogId>().ok().filter(|l| open.contains_key(l)) {
                    Some(gone) => {
                        open.remove(&gone);
                        out.push((
                            gone,
                            Err(ApiError::NotFound {
                                what: "log".into(),
                                id,
                            }),
                        ));
                        queue.push(open);
                    }
                    None => {
                        let e = ApiError::NotFound { what, id };
                        out.extend(open.into_keys().map(|l| (l, Err(e.clone()))));
                    }
                }
                continue;
            }
            Err(ApiError::TooLarge { .. }) if open.len() > 1 => {
                // Split in two (`open.len() > 1`, so the middle key exists).
                if let Some(mid) = open.keys().nth(open.len() / 2).copied() {
                    let rest = open.split_off(&mid);
                    queue.push(rest);
                }
                queue.push(open);
                continue;
            }
            Err(e) => {
                out.extend(open.into_keys().map(|l| (l, Err(e.clone()))));
                continue;
            }
        };
        let mut packages = page.packages;
        let mut next: Open = Open::new();
        for (log, (mut have, since)) in std::mem::take(&mut open) {
            let records = packages.remove(&log).unwrap_or_default();
            let full = records.len() >= usize::from(PAGE_LIMIT);
            let mut last_index = have.last().map(|r| r.registry_index);
            let mut bad = None;
            for r in &records {
                if last_index.is_some_and(|l| r.registry_index <= l) {
                    bad = Some(fault(format!(
                        "the package log page after {} does not advance: registry index {} follows {}",
                        since.map_or("the start".to_string(), |s| s.to_string()),
                        r.registry_index,
                        last_index.unwrap_or_default()
                    )));
                    break;
                }
                last_index = Some(r.registry_index);
            }
            if bad.is_none() && have.len().saturating_add(records.len()) > MAX_PACKAGE_RECORDS {
                bad = Some(fault(format!(
                    "package log {log} has more than {MAX_PACKAGE_RECORDS} records; refusing to fetch more"
                )));
            }
            if let Some(e) = bad {
                out.push((log, Err(e)));
                continue;
            }
            have.extend(records);
            if !(page.more && full) {
                out.push((log, Ok(have)));
                continue;
            }
            match have.last().map(|l| l.fetch_token.parse::<RecordId>()) {
                Some(Ok(token)) if since != Some(token) => {
                    next.insert(log, (have, Some(token)));
                }
                Some(Ok(token)) => out.push((
                    log,
                    Err(fault(format!(
                        "the package log page after {token} does not advance"
                    ))),
                )),
                Some(Err(e)) => out.push((log, Err(fault(format!("package log fetchToken: {e}"))))),
                None => out.push((log, Ok(have))),
            }
        }
        queue.push(next);
    }
    out
}

/// [`validate_package_log`] for many logs, spread over the machine's cores (signature checks
/// are most of a first pass over thousands of packages).
pub fn validate_all<'a>(
    logs: impl IntoIterator<Item = (LogId, &'a [PackageEnvelope])>,
) -> std::collections::HashMap<LogId, Result<PackageLog, TrustError>> {
    let items: Vec<(LogId, &[PackageEnvelope])> = logs.into_iter().collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    if threads == 1 || items.len() < 64 {
        return items
            .into_iter()
            .map(|(l, e)| (l, validate_package_log(&l, e)))
            .collect();
    }
    let per = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(l, e)| (*l, validate_package_log(l, e)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    // A panicking validation is a bug; its logs are reported unvalidated.
                    Vec::new()
                })
            })
            .collect()
    })
}
