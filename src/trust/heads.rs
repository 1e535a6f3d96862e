//! Head proofs: a log's head at a checkpoint proven in its signed log and map with
//! `proof/inclusion`, many heads per request, each proof checked leaf by leaf with the strict
//! checks of [`super::map::verify_inclusion`] (the checks warg-client lacks), off the async
//! threads; a failed batch searched by halves for the leaves that fail.

use super::alerts::{Alert, AlertKind};
use super::checkpoint::Checkpoint;
use super::map::{verify_inclusion, ProvedLeaf};
use crate::registry::RegistryClient;
use serde_json::{json, Value};

fn envelope_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::String(text.to_string()))
}

/// The alert for a record that could not be proven included.
pub fn not_included_alert(leaf: &ProvedLeaf, err: &str, cp: &Checkpoint) -> Alert {
    Alert::new(
        AlertKind::RecordNotIncluded,
        format!(
            "record {} of log {} at index {} is not proven in the checkpoint of length {}: {err}",
            leaf.record_id, leaf.log_id, leaf.index, cp.log_length
        ),
        json!({"checkpoint": envelope_value(&cp.canonical), "logId": leaf.log_id,
               "recordId": leaf.record_id, "registryIndex": leaf.index}),
    )
}

/// Why a head is not proven: the proof failed (an alert), or it could not be asked for (the
/// registry is unreachable or failing: try again later, no alert).
#[derive(Debug, Clone)]
pub enum HeadProofError {
    Failed(String),
    Unreachable(String),
}

impl std::fmt::Display for HeadProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Failed(e) | Self::Unreachable(e) => f.write_str(e),
        }
    }
}

/// Proves that each leaf (a log's head at the checkpoint) is in the signed log and map, with
/// the strict checks of [`verify_inclusion`]. One request for all; on failure, one per leaf to
/// tell which fail.
pub async fn prove_heads(
    client: &RegistryClient,
    checkpoint: &Checkpoint,
    leaves: &[ProvedLeaf],
) -> Vec<Result<(), String>> {
    prove_heads_checked(client, checkpoint, leaves)
        .await
        .into_iter()
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

/// [`prove_heads`], telling a proof that failed from a registry that could not be asked.
pub async fn prove_heads_checked(
    client: &RegistryClient,
    checkpoint: &Checkpoint,
    leaves: &[ProvedLeaf],
) -> Vec<Result<(), HeadProofError>> {
    if leaves.is_empty() {
        return Vec::new();
    }
    // At most HEAD_PROOF_BATCH leaves per request (the answer stays under the body cap), two
    // requests in flight; a batch that fails is split in halves until the failing leaves are
    // found (a bad leaf among n costs about 2·log2(n) more requests, not n).
    use futures::StreamExt;
    // Owned chunks: a stream over borrowed ones trips rustc's higher-ranked `Send` check in
    // the spawned tasks that await this.
    let chunks: Vec<Vec<ProvedLeaf>> = leaves.chunks(HEAD_PROOF_BATCH).map(<[_]>::to_vec).collect();
    let per_chunk: Vec<Vec<Result<(), HeadProofError>>> = futures::stream::iter(chunks)
        .map(|chunk| prove_chunk(client, checkpoint, chunk))
        .buffered(2)
        .collect()
        .await;
    per_chunk.into_iter().flatten().collect()
}

/// One request for `leaves`; on a failed proof, halves asked again until each failing leaf is
/// found.
async fn prove_chunk(
    client: &RegistryClient,
    cp: &Checkpoint,
    leaves: Vec<ProvedLeaf>,
) -> Vec<Result<(), HeadProofError>> {
    let mut out: Vec<Option<Result<(), HeadProofError>>> = vec![None; leaves.len()];
    let mut stack = vec![(0usize, leaves.len())];
    while let Some((from, to)) = stack.pop() {
        match prove_once(client, cp, &leaves[from..to]).await {
            Ok(()) => out[from..to].iter_mut().for_each(|o| *o = Some(Ok(()))),
            // Asking again in parts would not help.
            Err(e @ HeadProofError::Unreachable(_)) => out[from..to]
                .iter_mut()
                .for_each(|o| *o = Some(Err(e.clone()))),
            Err(e) if to - from == 1 => out[from] = Some(Err(e)),
            Err(HeadProofError::Failed(_)) => {
                let mid = from + (to - from) / 2;
                stack.push((mid, to));
                stack.push((from, mid));
            }
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(HeadProofError::Failed("not asked".into()))))
        .collect()
}

/// One `proof/inclusion` request for `leaves`, checked strictly.
async fn prove_once(
    client: &RegistryClient,
    cp: &Checkpoint,
    leaves: &[ProvedLeaf],
) -> Result<(), HeadProofError> {
    let idx: Vec<u64> = leaves.iter().map(|l| l.index).collect();
    let answer = client
        .proof_inclusion(cp.log_length, &idx)
        .await
        .map_err(|e| {
            // Only a proof that was received and fails its checks is a failed proof; a
            // registry that could not be asked, or refused to answer (401, 403, 429), is
            // asked again later.
            let refused = matches!(
                e,
                crate::registry::ApiError::Unauthorized { .. }
                    | crate::registry::ApiError::Status {
                        status: 403 | 429,
                        ..
                    }
            );
            if e.is_unreachable() || refused {
                HeadProofError::Unreachable(e.to_string())
            } else {
                HeadProofError::Failed(e.to_string())
            }
        })?;
    // Checking a batch (256 hashes per map proof) is CPU work: off the async threads, so two
    // batches in flight are checked on two cores.
    let (len, log_root, map_root, leaves) =
        (cp.log_length, cp.log_root, cp.map_root, leaves.to_vec());
    tokio::task::spawn_blocking(move || {
        verify_inclusion(&answer.log, &answer.map, len, &log_root, &map_root, &leaves)
            .map_err(|e| HeadProofError::Failed(e.to_string()))
    })
    .await
    .unwrap_or_else(|e| Err(HeadProofError::Failed(format!("proof check stopped: {e}"))))
}

/// Leaves per `proof/inclusion` request.
pub const HEAD_PROOF_BATCH: usize = 1000;
