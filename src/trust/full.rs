//! The full audit (`verify --full`): the whole ledger streamed up to a checkpoint's length,
//! both roots recomputed in bounded memory; and the ledger paging shared with the cycle's sync.

use super::checkpoint::Checkpoint;
use super::cycle::LEDGER_PIPELINE;
use super::ledger::{parse_page, Frontier, MAX_PAGE_ENTRIES};
use super::map::MapAccumulator;
use crate::ids::Sha256Hash;
use crate::registry::{ApiError, RegistryClient};
use futures::StreamExt;
use serde::Serialize;

/// Ledger pages up to a checkpoint's length, fetched ahead: the starts of the full pages
/// (MAX_PAGE_ENTRIES each) from `from` to `to` are known in advance, so LEDGER_PIPELINE of them
/// are in flight while earlier ones are hashed; they are used in order. A page asked for off
/// that plan (after a short page, or past `to`) is fetched on its own.
pub(super) struct PagePlan<'a> {
    client: &'a RegistryClient,
    planned: Vec<u64>,
    next: usize,
    pages: futures::stream::BoxStream<'a, Result<Vec<u8>, ApiError>>,
}

impl<'a> PagePlan<'a> {
    pub(super) fn new(client: &'a RegistryClient, from: u64, to: u64) -> Self {
        let planned: Vec<u64> = (0u64..)
            .map(|i| from.saturating_add(i.saturating_mul(MAX_PAGE_ENTRIES as u64)))
            .take_while(|s| *s < to)
            .collect();
        let pages = futures::stream::iter(planned.clone())
            .map(move |s| client.ledger_page(s))
            .buffered(LEDGER_PIPELINE)
            .boxed();
        Self {
            client,
            planned,
            next: 0,
            pages,
        }
    }

    pub(super) async fn page(&mut self, start: u64) -> Result<Vec<u8>, ApiError> {
        if self.planned.get(self.next) == Some(&start) {
            self.next += 1;
            if let Some(page) = self.pages.next().await {
                return page;
            }
        }
        self.next = self.planned.len();
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

/// Result of a full audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FullReport {
    pub log_length: u64,
    pub computed_log_root: Option<String>,
    pub computed_map_root: Option<String>,
    pub log_root_matches: bool,
    pub map_root_matches: bool,
    /// Why the roots could not be computed (a short or malformed ledger).
    pub problem: Option<String>,
}

impl FullReport {
    pub fn ok(&self) -> bool {
        self.log_root_matches && self.map_root_matches
    }
}

/// The full audit: streams the ledger up to the checkpoint's length and recomputes both roots
/// in bounded memory.
pub async fn verify_full(
    client: &RegistryClient,
    checkpoint: &Checkpoint,
) -> Result<FullReport, ApiError> {
    let r = stream_roots(client, checkpoint.log_length, true).await?;
    Ok(match r {
        Ok((lr, mr)) => FullReport {
            log_length: checkpoint.log_length,
            computed_log_root: Some(lr.to_string()),
            computed_map_root: mr.map(|m| m.to_string()),
            log_root_matches: lr == checkpoint.log_root,
            map_root_matches: mr == Some(checkpoint.map_root),
            problem: None,
        },
        Err(p) => FullReport {
            log_length: checkpoint.log_length,
            computed_log_root: None,
            computed_map_root: None,
            log_root_matches: false,
            map_root_matches: false,
            problem: Some(p),
        },
    })
}
