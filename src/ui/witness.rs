//! The dashboard's witness check: with peers configured for the registry
//! (`registries.<URL>.peers` in the config), every period each peer monitor's cosigned
//! checkpoint is fetched and compared with this dashboard's verified view, as `wargdash
//! monitor` does; the header says `witnessed 2/2`, or the SPLIT_VIEW / PEER_SIGNATURE alert
//! (stored, with both signed checkpoints as evidence). An unreachable peer is counted, never
//! an alert.

use super::msg::Action;
use crate::registry::RegistryClient;
use crate::trust::db::TrustDb;
use crate::trust::worker::{TrustEvent, WitnessStatus};
use crate::witness::peer::{self, Outcome, Peer};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What the witness check needs.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// The registry the peers witness (the check is off on any other).
    pub registry: String,
    pub peers: Vec<Peer>,
    /// The checkpoint origin the peers use (default: the registry URL's host and path).
    pub origin: String,
    /// The store file (its verified state and alerts).
    pub store: PathBuf,
    pub period: Duration,
}

/// Runs until the actions channel closes.
pub async fn watch(
    client: watch::Receiver<RegistryClient>,
    cfg: WitnessConfig,
    actions: mpsc::Sender<Action>,
) {
    let http = match peer::http_client(Duration::from_secs(5)) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("witness check off: {e}");
            return;
        }
    };
    let wanted = crate::tracker::store::registry_key(&cfg.registry);
    let mut db: Option<TrustDb> = None;
    loop {
        let registry = client.borrow().base().to_string();
        if crate::tracker::store::registry_key(&registry) == wanted {
            if db.is_none() {
                db = TrustDb::open(&cfg.store)
                    .map_err(|e| tracing::warn!("witness check: {e}"))
                    .ok();
            }
            if let Some(db) = db.as_mut() {
                let status = round(&http, db, &registry, &cfg).await;
                if actions
                    .send(Action::Trust(TrustEvent::Witness(status)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        tokio::time::sleep(cfg.period).await;
    }
}

/// One comparison with every peer.
async fn round(
    http: &reqwest::Client,
    db: &mut TrustDb,
    registry: &str,
    cfg: &WitnessConfig,
) -> WitnessStatus {
    let fetched = futures::future::join_all(cfg.peers.iter().map(|p| peer::fetch(http, p))).await;
    let mut status = WitnessStatus {
        total: cfg.peers.len(),
        ..Default::default()
    };
    let now = crate::tracker::store::now_ms();
    for (p, got) in cfg.peers.iter().zip(fetched) {
        let text = match got {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(
                    "witness check: peer unreachable: {}",
                    crate::text::clean(&e)
                );
                status.unreachable += 1;
                continue;
            }
        };
        match peer::compare(db, registry, &cfg.origin, p, &text, None) {
            Ok(Outcome::Agree { .. }) => status.agree += 1,
            Ok(Outcome::SplitView { alert, .. }) | Ok(Outcome::BadSignature(alert)) => {
                if let Err(e) = db.add_alert(registry, &alert, now) {
                    tracing::error!("storing an alert: {e}");
                }
                status.alerts.push(alert);
            }
            // Ahead of this view (the verifier catches up next cycle), or not comparable yet.
            Ok(Outcome::Ahead { .. }) | Ok(Outcome::Incomparable(_)) => {}
            Err(e) => tracing::warn!("witness check: comparing with {}: {e}", p.url),
        }
    }
    status
}
