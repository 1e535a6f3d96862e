//! The ledger sync of a verification cycle: ledger pages fetched ahead (planned lazily, never
//! all at once), stored, folded into the RFC 6962 frontier up to the checkpoint's length and
//! compared with its signed logRoot. Rows past the verified length are never read as proof
//! (lookups stop at the verified length) and are deleted when the comparison fails. A sync
//! larger than the cycle's budget stops there and resumes from that point next cycle.

use super::alerts::AlertKind;
use super::checkpoint::Checkpoint;
use super::db::TrustDb;
use super::ledger::{parse_page, Frontier, MAX_PAGE_ENTRIES};
use super::map::MapAccumulator;
use super::state::TrustState;
use super::TrustError;
use crate::ids::Sha256Hash;
use crate::registry::{ApiError, RegistryClient};
use futures::StreamExt;

/// A callback for ledger-sync progress: `(entries hashed so far, entries to reach)`.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// Ledger pages fetched at once during a sync.
pub const LEDGER_PIPELINE: usize = 4;

/// How far past the checkpoint's length the ledger is followed in one cycle.
pub const MAX_LEDGER_AHEAD: u64 = 10_000;

/// Ledger pages from `from` up to `to`, fetched ahead: page starts (MAX_PAGE_ENTRIES apart) are
/// produced one by one as the stream is read (a length of 10^12 plans nothing in advance), so
/// LEDGER_PIPELINE of them are in flight while earlier ones are hashed; they are used in order.
/// A page asked for off that plan (after a short page, or past `to`) is fetched on its own.
pub(super) struct PagePlan<'a> {
    client: &'a RegistryClient,
    from: u64,
    to: u64,
    next: u64,
    pages: futures::stream::BoxStream<'a, Result<Vec<u8>, ApiError>>,
    off_plan: bool,
}

impl<'a> PagePlan<'a> {
    pub(super) fn new(client: &'a RegistryClient, from: u64, to: u64) -> Self {
        let step = MAX_PAGE_ENTRIES as u64;
        let starts = (0u64..)
            .map(move |i| from.saturating_add(i.saturating_mul(step)))
            .take_while(move |s| *s < to);
        let pages = futures::stream::iter(starts)
            .map(move |s| client.ledger_page(s))
            .buffered(LEDGER_PIPELINE)
            .boxed();
        Self {
            client,
            from,
            to,
            next: 0,
            pages,
            off_plan: false,
        }
    }

    pub(super) async fn page(&mut self, start: u64) -> Result<Vec<u8>, ApiError> {
        let planned = self
            .from
            .saturating_add(self.next.saturating_mul(MAX_PAGE_ENTRIES as u64));
        if !self.off_plan && planned == start && start < self.to {
            self.next += 1;
            if let Some(page) = self.pages.next().await {
                return page;
            }
        }
        self.off_plan = true;
        self.client.ledger_page(start).await
    }
}

/// Streams ledger entries [0, len) and returns (logRoot, mapRoot if `with_map`), or the
/// problem with the ledger. Memory: the frontier plus one (key, leaf) per distinct log.
pub(super) async fn stream_roots(
    client: &RegistryClient,
    len: u64,
    with_map: bool,
) -> Result<Result<(Sha256Hash, Option<Sha256Hash>), String>, ApiError> {
    let mut f = Frontier::new();
    let mut m = MapAccumulator::new();
    let mut pages = PagePlan::new(client, 0, len);
    while f.len() < len {
        let start = f.len();
        let bytes = pages.page(start).await?;
        let entries = match parse_page(&bytes) {
            Ok(e) => e,
            Err(e) => return Ok(Err(format!("ledger page at {start}: {e}"))),
        };
        if entries.is_empty() {
            return Ok(Err(format!(
                "the ledger ends at {start} entries but the checkpoint says {len}"
            )));
        }
        for e in entries.iter().take((len - start) as usize) {
            f.push_entry(e);
            if with_map {
                m.push(e);
            }
        }
    }
    Ok(Ok((f.root(), with_map.then(|| m.root()))))
}

/// How a sync ended.
pub(super) enum Synced {
    /// The ledger hashes to the signed root: the new verified frontier.
    Verified(Frontier),
    /// Stopped by the budget (or restarted after an unverified row changed): resumed next
    /// cycle from `reached` entries.
    Partial { reached: u64 },
    /// An alert.
    Failed(AlertKind, String),
}

pub(super) struct LedgerOutcome {
    pub synced: u64,
    pub result: Synced,
}

fn store_err(e: TrustError) -> ApiError {
    ApiError::LocalStore {
        message: e.to_string(),
    }
}

/// Fetches the ledger from the verified length (one entry of overlap), stores it, extends the
/// verified frontier to the checkpoint's length and compares with its signed logRoot. After
/// cycles without a ledger (consistency proofs only), the ledger's prefix must also hash to
/// the logRoot verified then (else FORK). `budget`: entries fetched at most this time.
pub(super) async fn sync_ledger(
    client: &RegistryClient,
    db: &mut TrustDb,
    registry: &str,
    stored: Option<&TrustState>,
    cp: &Checkpoint,
    progress: Option<&Progress>,
    budget: Option<u64>,
) -> Result<LedgerOutcome, ApiError> {
    let l = cp.log_length;
    let mut frontier = match stored.filter(|s| s.checkpoint.is_some() && s.ledger_len > 0) {
        Some(s) => Frontier::from_bytes(&s.frontier).unwrap_or_default(),
        None => Frontier::new(),
    };
    let verified = frontier.len();
    if stored.is_some_and(|s| s.ledger_len != verified) || verified > l {
        frontier = Frontier::new();
    }
    let verified = frontier.len();
    // Verified before without a ledger: its prefix must give the root verified then.
    let check_at = stored
        .filter(|s| s.ledger_len == 0)
        .and_then(|s| s.checkpoint.as_ref())
        .filter(|c| c.log_length > 0 && c.log_length <= l)
        .map(|c| (c.log_length, c.log_root));
    // A sync cut by the budget last cycle resumes where it stopped.
    let mut known = verified;
    match db.sync_progress(registry).map_err(store_err)? {
        Some((base, len, bytes)) if base == verified && len > verified && len <= l => {
            match Frontier::from_bytes(&bytes) {
                Ok(f) if f.len() == len => {
                    frontier = f;
                    known = len;
                }
                _ => db.clear_sync(registry).map_err(store_err)?,
            }
        }
        Some(_) => db.clear_sync(registry).map_err(store_err)?,
        None => {}
    }
    let start = known.saturating_sub(1);
    let mut synced = 0u64;
    // A long sync writes without the record-ID index and builds it once at the
    // end, instead of inserting random 32-byte keys into it page by page.
    let bulk = l.saturating_sub(known) > BULK_SYNC;
    if bulk {
        db.suspend_record_index().map_err(store_err)?;
    }
    let outcome = sync_pages(
        client,
        db,
        registry,
        cp,
        progress,
        budget,
        &mut frontier,
        verified,
        known,
        check_at,
        start,
        &mut synced,
    )
    .await;
    if bulk {
        db.restore_record_index().map_err(store_err)?;
    }
    let (start, prefix_changed, problem, forked, restart, cut) = outcome?;
    if restart {
        db.clear_sync(registry).map_err(store_err)?;
        drop_unverified(db, registry, verified)?;
        return Ok(LedgerOutcome {
            synced,
            result: Synced::Partial { reached: verified },
        });
    }
    if cut && problem.is_none() && forked.is_none() && prefix_changed.is_none() {
        db.save_sync(registry, verified, &frontier)
            .map_err(store_err)?;
        return Ok(LedgerOutcome {
            synced,
            result: Synced::Partial {
                reached: frontier.len(),
            },
        });
    }
    db.clear_sync(registry).map_err(store_err)?;
    db.truncate_ledger(registry, start.max(known))
        .map_err(store_err)?;
    let result = if let Some(p) = problem {
        Synced::Failed(AlertKind::LedgerMismatch, p)
    } else if let Some(f) = forked {
        Synced::Failed(AlertKind::Fork, f)
    } else if frontier.len() < l {
        Synced::Failed(
            AlertKind::LedgerMismatch,
            format!(
                "the ledger holds {} entries but the checkpoint says {l}",
                frontier.len()
            ),
        )
    } else if frontier.root() == cp.log_root {
        match prefix_changed {
            // The signed root agrees with what was verified; the ledger page does not.
            Some(p) => Synced::Failed(AlertKind::LedgerMismatch, p),
            None => Synced::Verified(frontier),
        }
    } else if verified == 0 {
        Synced::Failed(
            AlertKind::LedgerMismatch,
            format!(
                "the ledger's first {l} entries hash to {}, not the signed logRoot {}",
                frontier.root(),
                cp.log_root
            ),
        )
    } else {
        // Is the registry's ledger consistent with its own signed root? Then it rewrote the
        // history verified before (FORK); otherwise its ledger is wrong.
        match stream_roots(client, l, false).await? {
            Ok((root, _)) if root == cp.log_root => Synced::Failed(
                AlertKind::Fork,
                format!(
                    "the registry's log of length {l} hashes to its signed root but does not extend the {verified} entries verified before{}",
                    prefix_changed.map(|p| format!(" ({p})")).unwrap_or_default()
                ),
            ),
            Ok((root, _)) => Synced::Failed(
                AlertKind::LedgerMismatch,
                format!(
                    "the ledger's first {l} entries hash to {root}, not the signed logRoot {}",
                    cp.log_root
                ),
            ),
            Err(e) => Synced::Failed(AlertKind::LedgerMismatch, e),
        }
    };
    if !matches!(result, Synced::Verified(_)) {
        drop_unverified(db, registry, verified)?;
    }
    Ok(LedgerOutcome { synced, result })
}

/// Deletes the ledger rows past what is verified: past `verified`, and past what another
/// process (a dashboard beside a cron job) verified meanwhile, which stays.
fn drop_unverified(db: &mut TrustDb, registry: &str, verified: u64) -> Result<(), ApiError> {
    let now_verified = db
        .load_state(registry)
        .map_err(store_err)?
        .map_or(0, |s| s.ledger_len);
    db.truncate_ledger(registry, verified.max(now_verified))
        .map_err(store_err)
}

/// Entries a sync must have ahead of it to be done without the record-ID index.
const BULK_SYNC: u64 = 50_000;

type PagesOutcome = (
    u64,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    bool,
);

/// The page loop of [`sync_ledger`]: fetches, compares the known rows, stores the new ones,
/// folds them into `frontier`. Returns (where it stopped, a verified entry that changed, an
/// unreadable page, a prefix that forks the root verified without a ledger, a changed
/// unverified row, cut by the budget).
#[allow(clippy::too_many_arguments)]
async fn sync_pages(
    client: &RegistryClient,
    db: &mut TrustDb,
    registry: &str,
    cp: &Checkpoint,
    progress: Option<&Progress>,
    budget: Option<u64>,
    frontier: &mut Frontier,
    verified: u64,
    known: u64,
    check_at: Option<(u64, Sha256Hash)>,
    mut start: u64,
    synced: &mut u64,
) -> Result<PagesOutcome, ApiError> {
    let l = cp.log_length;
    let mut prefix_changed: Option<String> = None;
    let mut problem: Option<String> = None;
    let mut forked: Option<String> = None;
    let mut restart = false;
    let mut cut = false;
    let mut pages = PagePlan::new(client, start, l);
    loop {
        let bytes = pages.page(start).await?;
        let entries = match parse_page(&bytes) {
            Ok(e) => e,
            Err(e) => {
                problem = Some(format!("ledger page at {start}: {e}"));
                break;
            }
        };
        let n = entries.len() as u64;
        if n == 0 {
            break;
        }
        let mut first_new = 0usize;
        for (i, e) in entries.iter().enumerate() {
            let idx = start + i as u64;
            if idx < known {
                first_new = i + 1;
                let stored_row = db.ledger_entry(registry, idx).map_err(store_err)?;
                if stored_row.is_some_and(|k| k != *e) {
                    if idx >= verified {
                        // A row fetched last cycle (not verified yet) changed: start over.
                        restart = true;
                    } else {
                        prefix_changed = Some(format!(
                            "verified ledger entry {idx} changed: it was ({}, {}), now ({}, {})",
                            stored_row.map(|k| k.log_id.to_string()).unwrap_or_default(),
                            stored_row
                                .map(|k| k.record_id.to_string())
                                .unwrap_or_default(),
                            e.log_id,
                            e.record_id
                        ));
                    }
                }
            } else if idx < l {
                frontier.push_entry(e);
                if let Some((at, root)) = check_at {
                    if frontier.len() == at && frontier.root() != root && forked.is_none() {
                        forked = Some(format!(
                            "the ledger's first {at} entries hash to {}, but the checkpoint of length {at} verified before (without a ledger) has logRoot {root}",
                            frontier.root()
                        ));
                    }
                }
            }
        }
        let new = &entries[first_new..];
        if !new.is_empty() {
            db.write_ledger_batch(registry, start + first_new as u64, new)
                .map_err(store_err)?;
            *synced += new.len() as u64;
        }
        start += n;
        if let Some(p) = progress {
            (p.0)(frontier.len(), l);
        }
        if restart {
            break;
        }
        // The ledger runs a few entries ahead of the checkpoint; never page on without end. A
        // short page before the checkpoint's length is not the end (a server or proxy may page
        // smaller): the next page says.
        if ((n as usize) < MAX_PAGE_ENTRIES && start >= l)
            || start >= l.saturating_add(MAX_LEDGER_AHEAD)
        {
            break;
        }
        if frontier.len() < l && budget.is_some_and(|b| *synced >= b) {
            cut = true;
            break;
        }
    }
    drop(pages);
    Ok((start, prefix_changed, problem, forked, restart, cut))
}
