//! The monitor's HTTP side (axum): read-only `GET /checkpoint` (the latest cosigned signed
//! note), `GET /checkpoint.json` (the warg envelope it was made from), `GET /metrics`
//! (OpenMetrics text) and `POST /add-checkpoint` (C2SP tlog-witness, for this origin only).
//! Requests are bounded in time and size; nothing else is served.

use super::metrics::{Metrics, PeerLabel};
use super::note::{check_operator, Body, Note};
use super::store::WitnessDb;
use super::tlog::{prefix_root, verify_consistency, MAX_PROOF};
use crate::ids::Sha256Hash;
use crate::trust::alerts::{Alert, AlertKind};
use crate::trust::db::TrustDb;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Largest request body accepted (an add-checkpoint is well under 4 KiB).
pub const MAX_BODY: usize = 64 * 1024;
/// Time a request may take at most (add-checkpoint waits for a cycle at most `add_wait`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the handlers need: where the store is, which registry and origin, the metrics, a way
/// to make the verifier run now, and where to report alerts found here.
#[derive(Clone)]
pub struct ServerState {
    pub store: PathBuf,
    pub registry: String,
    pub origin: String,
    pub metrics: Arc<Metrics>,
    pub nudge: Arc<dyn Fn() + Send + Sync>,
    pub alerts: mpsc::UnboundedSender<Alert>,
    /// How long add-checkpoint waits for the verifier to reach a newer checkpoint.
    pub add_wait: Duration,
}

pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/checkpoint.json", get(checkpoint_json))
        .route("/metrics", get(metrics))
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::new(REQUEST_TIMEOUT))
        .with_state(state)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("witness server: {e}");
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(internal(e)),
    }
}

async fn checkpoint(State(s): State<ServerState>) -> Response {
    let origin = s.origin.clone();
    let store = s.store.clone();
    let got = blocking(move || {
        WitnessDb::open(&store)
            .and_then(|db| db.cosigned(&origin))
            .map_err(|e| e.to_string())
    })
    .await;
    match got {
        Ok(Some(c)) => text(StatusCode::OK, c.note),
        Ok(None) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no checkpoint verified and cosigned yet\n",
        ),
        Err(r) => r,
    }
}

async fn checkpoint_json(State(s): State<ServerState>) -> Response {
    let origin = s.origin.clone();
    let store = s.store.clone();
    let got = blocking(move || {
        WitnessDb::open(&store)
            .and_then(|db| db.cosigned(&origin))
            .map_err(|e| e.to_string())
    })
    .await;
    match got {
        Ok(Some(c)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            c.envelope,
        )
            .into_response(),
        Ok(None) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no checkpoint verified and cosigned yet\n",
        ),
        Err(r) => r,
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn metrics(State(s): State<ServerState>) -> Response {
    let (store, registry, origin) = (s.store.clone(), s.registry.clone(), s.origin.clone());
    let m = s.metrics.clone();
    let r = blocking(move || {
        let now = now_secs();
        let tdb = TrustDb::open(&store).map_err(|e| e.to_string())?;
        if let Some(cp) = tdb
            .load_state(&registry)
            .map_err(|e| e.to_string())?
            .and_then(|st| st.checkpoint)
        {
            m.log_length.set(cp.log_length as i64);
            m.checkpoint_age
                .set(now.saturating_sub(cp.timestamp) as f64);
        }
        let wdb = WitnessDb::open(&store).map_err(|e| e.to_string())?;
        if let Some(c) = wdb.cosigned(&origin).map_err(|e| e.to_string())? {
            m.cosigned_size.set(c.size as i64);
        }
        for p in wdb.peers(&registry).map_err(|e| e.to_string())? {
            if let Some(t) = p.cosigned_at {
                m.peer_age
                    .get_or_create(&PeerLabel {
                        peer: p.peer.clone(),
                    })
                    .set(now.saturating_sub(t) as f64);
            }
        }
        Ok(m.encode())
    })
    .await;
    match r {
        Ok(body) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(r) => r,
    }
}

/// An add-checkpoint request: `old <N>\n`, 0–63 base64 proof lines, a blank line, the note.
#[derive(Debug)]
struct AddRequest {
    old: u64,
    proof: Vec<Sha256Hash>,
    note: String,
}

fn parse_add(body: &str) -> Result<AddRequest, String> {
    let Some((first, rest)) = body.split_once('\n') else {
        return Err("the body starts with `old <size>`".into());
    };
    let old = first
        .strip_prefix("old ")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("the body starts with `old <size>`")?;
    let mut proof = Vec::new();
    let mut rest = rest;
    loop {
        let Some((line, after)) = rest.split_once('\n') else {
            return Err("no blank line before the checkpoint".into());
        };
        rest = after;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF {
            return Err(format!("more than {MAX_PROOF} proof lines"));
        }
        let raw = B64
            .decode(line)
            .map_err(|_| "a proof line is not base64".to_string())?;
        let h: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| "a proof line is not a 32-byte hash".to_string())?;
        proof.push(Sha256Hash(h));
    }
    Ok(AddRequest {
        old,
        proof,
        note: rest.to_string(),
    })
}

/// What the blocking part of add-checkpoint decided.
enum Added {
    Respond(Response),
    /// The proof holds and the checkpoint is newer than anything verified here: wait for the
    /// verifier to reach it.
    Wait {
        size: u64,
        root: Sha256Hash,
    },
}

fn size_conflict(size: u64) -> Response {
    (
        StatusCode::CONFLICT,
        [(header::CONTENT_TYPE, "text/x.tlog.size")],
        format!("{size}\n"),
    )
        .into_response()
}

/// The cosignature lines of the note stored for (`size`, `root`), if that is what is cosigned.
fn cosignature_lines(
    db: &WitnessDb,
    origin: &str,
    size: u64,
    root: &Sha256Hash,
    witness: Option<&str>,
) -> Result<Option<String>, String> {
    let Some(c) = db.cosigned(origin).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    if c.size != size || &c.root != root {
        return Ok(None);
    }
    let note = Note::parse(&c.note).map_err(|e| e.to_string())?;
    let lines: String = note
        .sigs
        .iter()
        .filter(|l| l.name != origin && witness.is_none_or(|w| l.name == w))
        .map(|l| l.text())
        .collect();
    Ok(Some(lines))
}

fn raise(s: &ServerState, tdb: &mut TrustDb, a: Alert) {
    if let Err(e) = tdb.add_alert(&s.registry, &a, (now_secs() as i64) * 1000) {
        tracing::error!("storing an alert: {e}");
    }
    let _ = s.alerts.send(a);
}

/// 400 with the reason: a body that is not an add-checkpoint request, a note or a checkpoint.
fn bad_request(e: impl std::fmt::Display) -> Added {
    Added::Respond(text(StatusCode::BAD_REQUEST, format!("{e}\n")))
}

fn decide(s: &ServerState, body: &str) -> Result<Added, String> {
    let req = match parse_add(body) {
        Ok(r) => r,
        Err(e) => return Ok(bad_request(e)),
    };
    let note = match Note::parse(&req.note) {
        Ok(n) => n,
        Err(e) => return Ok(bad_request(e)),
    };
    let cp = match Body::parse(&note.text) {
        Ok(b) => b,
        Err(e) => return Ok(bad_request(e)),
    };
    if cp.origin != s.origin {
        return Ok(Added::Respond(text(
            StatusCode::NOT_FOUND,
            "unknown origin\n",
        )));
    }
    let mut tdb = TrustDb::open(&s.store).map_err(|e| e.to_string())?;
    let state = tdb.load_state(&s.registry).map_err(|e| e.to_string())?;
    let keys: Vec<String> = state
        .as_ref()
        .map(|st| st.commit_keys.values().cloned().collect())
        .unwrap_or_default();
    let op = match check_operator(&note, &cp, &keys) {
        Ok((op, pk)) => (op, pk),
        Err(e) => {
            return Ok(Added::Respond(text(
                StatusCode::FORBIDDEN,
                format!("{e}\n"),
            )))
        }
    };
    if req.old > cp.size {
        return Ok(Added::Respond(text(
            StatusCode::BAD_REQUEST,
            "old size is larger than the checkpoint's\n",
        )));
    }
    let wdb = WitnessDb::open(&s.store).map_err(|e| e.to_string())?;
    let current = wdb.cosigned(&s.origin).map_err(|e| e.to_string())?;
    let (cur_size, cur_root) = current
        .as_ref()
        .map(|c| (c.size, c.root))
        .unwrap_or((0, crate::trust::ledger::empty_root()));
    // A checkpoint the operator signed that the verified ledger contradicts is a split view,
    // whatever the proof says.
    let verified_len = state.as_ref().map(|st| st.ledger_len).unwrap_or(0);
    let contradicts = if cp.size <= verified_len && cp.size > 0 {
        prefix_root(&tdb, &s.registry, cp.size)
            .map_err(|e| e.to_string())?
            .is_some_and(|r| r != cp.root)
    } else {
        false
    };
    if contradicts || (cp.size == cur_size && cp.root != cur_root && current.is_some()) {
        let own = state
            .as_ref()
            .and_then(|st| st.checkpoint.as_ref())
            .map(|c| serde_json::from_str(&c.envelope).unwrap_or(json!(c.envelope)));
        raise(
            s,
            &mut tdb,
            Alert::new(
                AlertKind::SplitView,
                format!(
                    "add-checkpoint: the operator signed size {} with log root {}, which the verified ledger contradicts",
                    cp.size, cp.root
                ),
                json!({
                    "peer": "add-checkpoint",
                    "peerNote": req.note,
                    "peerCheckpoint": op.0.envelope(&cp, &op.1),
                    "ownCheckpoint": own,
                    "ownNote": current.as_ref().map(|c| c.note.clone()),
                }),
            ),
        );
        return Ok(Added::Respond(text(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the checkpoint conflicts with the verified history\n",
        )));
    }
    if req.old != cur_size {
        return Ok(Added::Respond(size_conflict(cur_size)));
    }
    if let Err(e) = verify_consistency(req.old, cp.size, &cur_root, &cp.root, &req.proof) {
        return Ok(Added::Respond(text(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("consistency proof: {e}\n"),
        )));
    }
    if let Some(lines) = cosignature_lines(&wdb, &s.origin, cp.size, &cp.root, None)? {
        return Ok(Added::Respond(text(StatusCode::OK, lines)));
    }
    Ok(Added::Wait {
        size: cp.size,
        root: cp.root,
    })
}

async fn add_checkpoint(State(s): State<ServerState>, body: String) -> Response {
    let st = s.clone();
    let decided = match blocking(move || decide(&st, &body)).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (size, root) = match decided {
        Added::Respond(r) => return r,
        Added::Wait { size, root } => (size, root),
    };
    // Cosigned only once the verifier's full cycle has reached it.
    (s.nudge)();
    let deadline = tokio::time::Instant::now() + s.add_wait;
    loop {
        let (store, origin) = (s.store.clone(), s.origin.clone());
        let got = blocking(move || {
            let db = WitnessDb::open(&store).map_err(|e| e.to_string())?;
            let lines = cosignature_lines(&db, &origin, size, &root, None)?;
            let cur = db.cosigned(&origin).map_err(|e| e.to_string())?;
            Ok((lines, cur.map(|c| c.size)))
        })
        .await;
        match got {
            Ok((Some(lines), _)) => return text(StatusCode::OK, lines),
            Ok((None, Some(cur))) if cur > size => return size_conflict(cur),
            Ok(_) => {}
            Err(r) => return r,
        }
        if tokio::time::Instant::now() >= deadline {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "the checkpoint is consistent but not verified here yet; try again\n",
            )
                .into_response();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_requests_parse() {
        let h = B64.encode([1u8; 32]);
        let r = parse_add(&format!("old 3\n{h}\n{h}\n\norigin\n4\nx\n\n— a b\n")).unwrap();
        assert_eq!(r.old, 3);
        assert_eq!(r.proof.len(), 2);
        assert!(r.note.starts_with("origin\n4\n"));
        assert!(parse_add("old x\n\n").is_err());
        assert!(parse_add("old 1\nnotbase64!\n\n").is_err());
    }
}
