//! The monitor's Prometheus metrics (prometheus-client, OpenMetrics text), every one labelled
//! with the registry. Gauges that depend on time (ages) are set when scraped, from the store.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabel {
    pub peer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

type FGauge = Gauge<f64, AtomicU64>;

/// Every metric the monitor serves at `GET /metrics`.
pub struct Metrics {
    registry: Registry,
    pub log_length: Gauge,
    pub checkpoint_age: FGauge,
    pub cosigned_size: Gauge,
    pub cycles: Family<OutcomeLabel, Counter>,
    pub cycle_seconds: Histogram,
    pub alerts: Family<KindLabel, Counter>,
    pub records: Family<StateLabel, Gauge>,
    pub peer_agree: Family<PeerLabel, Gauge>,
    pub peer_age: Family<PeerLabel, FGauge>,
    pub peer_up: Family<PeerLabel, Gauge>,
    pub peer_fetch_errors: Family<PeerLabel, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(registry_url: &str) -> Self {
        let mut registry = Registry::with_labels(
            [("registry".into(), registry_url.to_string().into())].into_iter(),
        );
        let m = Self {
            log_length: Gauge::default(),
            checkpoint_age: FGauge::default(),
            cosigned_size: Gauge::default(),
            cycles: Family::default(),
            cycle_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            alerts: Family::default(),
            records: Family::default(),
            peer_agree: Family::default(),
            peer_age: Family::default(),
            peer_up: Family::default(),
            peer_fetch_errors: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "wargdash_checkpoint_log_length",
            "Log length of the latest checkpoint this monitor verified",
            m.log_length.clone(),
        );
        registry.register(
            "wargdash_checkpoint_age_seconds",
            "Seconds since the operator signed the latest verified checkpoint",
            m.checkpoint_age.clone(),
        );
        registry.register(
            "wargdash_cosigned_log_length",
            "Log length of the checkpoint this monitor cosigned last",
            m.cosigned_size.clone(),
        );
        registry.register(
            "wargdash_verify_cycles",
            "Verification cycles run, by outcome (clean, alert, failed)",
            m.cycles.clone(),
        );
        registry.register(
            "wargdash_verify_cycle_seconds",
            "Duration of a verification cycle",
            m.cycle_seconds.clone(),
        );
        registry.register(
            "wargdash_alerts",
            "Trust alerts raised, by kind (each cycle that sees one counts it)",
            m.alerts.clone(),
        );
        registry.register(
            "wargdash_records",
            "Tracked records by proof state: proven (in the verified ledger), claimed (the registry says published, nothing verified proves it), not_included",
            m.records.clone(),
        );
        registry.register(
            "wargdash_peer_agree",
            "1 when the peer's latest cosigned checkpoint agrees with this monitor's verified ledger, 0 when it disagrees (SPLIT_VIEW or bad signature)",
            m.peer_agree.clone(),
        );
        registry.register(
            "wargdash_peer_checkpoint_age_seconds",
            "Seconds since the peer cosigned its latest checkpoint",
            m.peer_age.clone(),
        );
        registry.register(
            "wargdash_peer_up",
            "1 when the peer's /checkpoint was fetched at the last attempt",
            m.peer_up.clone(),
        );
        registry.register(
            "wargdash_peer_fetch_errors",
            "Failed fetches of a peer's /checkpoint (unreachable peers are a metric, never an alert)",
            m.peer_fetch_errors.clone(),
        );
        for kind in crate::trust::alerts::AlertKind::ALL {
            // Every kind present from the start, so `increase()` sees the first one.
            let _ = m.alerts.get_or_create(&KindLabel {
                kind: kind.as_str().to_string(),
            });
        }
        for state in ["proven", "claimed", "not_included"] {
            let _ = m.records.get_or_create(&StateLabel {
                state: state.to_string(),
            });
        }
        Self { registry, ..m }
    }

    /// OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
