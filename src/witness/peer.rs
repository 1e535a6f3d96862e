//! Peers: other monitors of the same registry (same origin), each pinned by its verifier key.
//! Every cycle each peer's `GET /checkpoint` is fetched and checked — its cosignature with the
//! pinned key, the operator's signature with this registry's verified commit keys — and
//! compared with this monitor's verified ledger: the same size must have the same root, a
//! smaller size the root of the own prefix (RFC 6962, from the verified ledger rows); a larger
//! size is a view this monitor has not reached yet (it asks its registry again).

use super::note::{check_note, CheckedNote, CosignerKey, NoteError};
use super::tlog::prefix_root;
use crate::trust::alerts::{Alert, AlertKind};
use crate::trust::db::TrustDb;
use crate::trust::{bail_trust, TrustError};
use serde_json::json;
use std::time::Duration;

/// Longest `/checkpoint` answer read from a peer.
pub const MAX_PEER_BODY: usize = 64 * 1024;

/// A peer monitor: its base URL and its pinned verifier key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub url: String,
    pub key: CosignerKey,
}

impl Peer {
    /// `URL=VKEY`.
    pub fn parse(spec: &str) -> Result<Self, TrustError> {
        let Some((url, vkey)) = spec.split_once('=') else {
            bail_trust!("a peer is URL=VKEY");
        };
        let u = url::Url::parse(url.trim())
            .map_err(|e| TrustError(format!("peer URL `{}`: {e}", crate::text::clean(url))))?;
        if !matches!(u.scheme(), "http" | "https") {
            bail_trust!("peer URL `{}` is not http(s)", crate::text::clean(url));
        }
        Ok(Self {
            url: u.as_str().trim_end_matches('/').to_string(),
            key: CosignerKey::parse_vkey(vkey)?,
        })
    }

    pub fn checkpoint_url(&self) -> String {
        format!("{}/checkpoint", self.url)
    }
}

/// A client for peers: short timeouts, no redirects.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, TrustError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| TrustError(format!("peer HTTP client: {e}")))
}

/// Fetches a peer's note (any failure is "unreachable": a metric and a log line, never an
/// alert).
pub async fn fetch(http: &reqwest::Client, peer: &Peer) -> Result<String, String> {
    let mut resp = http
        .get(peer.checkpoint_url())
        .send()
        .await
        .map_err(|e| format!("{}: {e}", peer.checkpoint_url()))?;
    if !resp.status().is_success() {
        return Err(format!("{}: HTTP {}", peer.checkpoint_url(), resp.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("{}: {e}", peer.checkpoint_url()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_PEER_BODY {
            return Err(format!(
                "{}: answer larger than {MAX_PEER_BODY} bytes",
                peer.checkpoint_url()
            ));
        }
    }
    String::from_utf8(body).map_err(|_| format!("{}: answer is not UTF-8", peer.checkpoint_url()))
}

/// The outcome of one comparison.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Same size and root, or the root of the own prefix at the peer's size.
    Agree { note: Box<CheckedNote> },
    /// The peer cosigned a larger size than this monitor verified.
    Ahead { note: Box<CheckedNote>, own: u64 },
    /// A signed disagreement: SPLIT_VIEW.
    SplitView {
        note: Box<CheckedNote>,
        alert: Alert,
    },
    /// PEER_SIGNATURE: the peer's cosignature (or the operator signature it carries) is bad.
    BadSignature(Alert),
    /// The note is not a checkpoint for this origin, or nothing is verified here yet, or the
    /// ledger does not reach the peer's size: logged, not an alert.
    Incomparable(String),
}

/// Checks `text` (the peer's note) and compares it with the verified state of `registry`.
pub fn compare(
    tdb: &TrustDb,
    registry: &str,
    origin: &str,
    peer: &Peer,
    text: &str,
    own_note: Option<&str>,
) -> Result<Outcome, TrustError> {
    let Some(state) = tdb.load_state(registry)? else {
        return Ok(Outcome::Incomparable("nothing verified here yet".into()));
    };
    let Some(own) = state.checkpoint.clone() else {
        return Ok(Outcome::Incomparable("nothing verified here yet".into()));
    };
    let keys: Vec<String> = state.commit_keys.values().cloned().collect();
    let note = match check_note(text, origin, &peer.key, &keys) {
        Ok(n) => n,
        Err(NoteError::Malformed(e)) => return Ok(Outcome::Incomparable(e)),
        Err(e @ (NoteError::Cosignature(_) | NoteError::Operator(_))) => {
            return Ok(Outcome::BadSignature(Alert::new(
                AlertKind::PeerSignature,
                format!("peer {} served a checkpoint with a bad {e}", peer.url),
                json!({"peer": peer.url, "peerKey": peer.key.vkey(), "peerNote": text}),
            )))
        }
    };
    let size = note.body.size;
    let expected = if size == own.log_length {
        Some(own.log_root)
    } else if size < own.log_length {
        match prefix_root(tdb, registry, size)? {
            Some(r) => Some(r),
            None => {
                return Ok(Outcome::Incomparable(format!(
                    "the verified ledger does not hold the first {size} entries"
                )))
            }
        }
    } else {
        return Ok(Outcome::Ahead {
            note: Box::new(note),
            own: own.log_length,
        });
    };
    if expected == Some(note.body.root) {
        return Ok(Outcome::Agree {
            note: Box::new(note),
        });
    }
    let peer_envelope = note.operator.envelope(&note.body, &note.operator_key);
    let alert = split_view_alert(
        peer,
        &note,
        text,
        peer_envelope,
        format!(
            "peer {} cosigned size {size} with log root {}, but this monitor verified {} at that size (its own checkpoint: size {}, root {}); the operator signed both",
            peer.url,
            note.body.root,
            expected.map(|r| r.to_string()).unwrap_or_default(),
            own.log_length,
            own.log_root
        ),
        serde_json::from_str(&own.envelope).unwrap_or(serde_json::Value::String(own.envelope.clone())),
        own_note,
    );
    Ok(Outcome::SplitView {
        note: Box::new(note),
        alert,
    })
}

/// SPLIT_VIEW with both signed checkpoints as evidence.
pub fn split_view_alert(
    peer: &Peer,
    _note: &CheckedNote,
    text: &str,
    peer_envelope: serde_json::Value,
    detail: String,
    own_envelope: serde_json::Value,
    own_note: Option<&str>,
) -> Alert {
    Alert::new(
        AlertKind::SplitView,
        detail,
        json!({
            "peer": peer.url,
            "peerKey": peer.key.vkey(),
            "peerNote": text,
            "peerCheckpoint": peer_envelope,
            "ownCheckpoint": own_envelope,
            "ownNote": own_note,
        }),
    )
}
