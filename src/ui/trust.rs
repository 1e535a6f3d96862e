//! The trust pane's state: the latest verification cycle, each tracked record's proof, the
//! stored alerts (the `A` pane) and its keys.

use super::msg::Intent;
use super::scroll::Scroll;
use crate::ids::RecordRef;
use crate::trust::alerts::AlertKind;
use crate::trust::cycle::CycleReport;
use crate::trust::db::StoredAlert;
use crate::trust::package::PackageLogRecord;
use crate::trust::records::Proof;
use crate::trust::worker::TrustEvent;
use crossterm::event::{KeyCode, KeyEvent};
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct TrustView {
    /// The latest cycle and when it finished (ms).
    pub report: Option<(CycleReport, i64)>,
    /// Why the latest cycle could not run.
    pub failed: Option<String>,
    pub proofs: HashMap<RecordRef, Proof>,
    /// Stored alerts, newest first (the newest with their evidence).
    pub stored: Vec<StoredAlert>,
    /// Each stored alert's evidence, pretty-printed and cleaned, by alert id.
    pub evidence: HashMap<i64, Vec<String>>,
    /// The alerts pane's scroll.
    pub scroll: Scroll,
    /// What records did, from package logs that validated and were proven.
    pub did: HashMap<RecordRef, crate::trust::package::PackageLogRecord>,
    /// Alerts in force about tracked packages' logs (PACKAGE_LOG_INVALID, or a head the map
    /// does not prove).
    pub package_alerts: Vec<crate::trust::alerts::Alert>,
    /// Tracked packages whose log failed its check (their rows say so).
    pub failed_logs: std::collections::HashSet<crate::ids::LogId>,
    /// A first ledger sync in progress: (entries verified, of).
    pub progress: Option<(u64, u64)>,
    /// The latest comparison with peer monitors, when peers are configured.
    pub witness: Option<crate::trust::worker::WitnessStatus>,
}

impl TrustView {
    /// The alerts in force: the latest cycle's and every tracked record not included.
    pub fn active(&self) -> Vec<(AlertKind, String)> {
        let mut v: Vec<(AlertKind, String)> = self
            .report
            .iter()
            .flat_map(|(r, _)| r.alerts.iter().map(|a| (a.kind, a.detail.clone())))
            .collect();
        v.extend(
            self.package_alerts
                .iter()
                .map(|a| (a.kind, a.detail.clone())),
        );
        for p in self.proofs.values() {
            if let Proof::NotIncluded { detail } = p {
                v.push((AlertKind::RecordNotIncluded, detail.clone()));
            }
        }
        if let Some(w) = &self.witness {
            v.extend(w.alerts.iter().map(|a| (a.kind, a.detail.clone())));
        }
        v
    }

    pub fn proof(&self, r: &RecordRef) -> Option<&Proof> {
        self.proofs.get(r)
    }
}

/// What a verifier event taught beyond the trust pane: records whose publication is only
/// claimed (to ask again: a claim is never terminal) and what records did (their times).
#[derive(Debug, Default)]
pub struct Learned {
    pub claims: Vec<RecordRef>,
    pub did: Vec<(RecordRef, PackageLogRecord)>,
}

impl TrustView {
    /// Applies a verifier event at `now` (ms).
    pub(super) fn apply(&mut self, e: TrustEvent, now: i64) -> Learned {
        let mut out = Learned::default();
        match e {
            TrustEvent::Cycle(report) => {
                self.report = Some((*report, now));
                self.failed = None;
                self.progress = None;
            }
            TrustEvent::Progress(done, of) => self.progress = Some((done, of)),
            TrustEvent::Failed(e) => self.failed = Some(crate::text::clean(&e).into_owned()),
            TrustEvent::Proofs(p) => {
                out.claims = p
                    .iter()
                    .filter(|(_, p)| p.is_suspect())
                    .map(|(r, _)| *r)
                    .collect();
                self.proofs = p.into_iter().collect();
            }
            TrustEvent::Alerts(a) => {
                // Evidence is pretty-printed once, here, not on every frame.
                self.evidence = a
                    .iter()
                    .filter(|a| !a.alert.evidence.is_null())
                    .map(|a| {
                        let text =
                            serde_json::to_string_pretty(&a.alert.evidence).unwrap_or_default();
                        let lines = text
                            .lines()
                            .map(|l| crate::text::clean(l).into_owned())
                            .collect();
                        (a.id, lines)
                    })
                    .collect();
                self.stored = a;
            }
            TrustEvent::Witness(w) => self.witness = Some(w),
            TrustEvent::Packages(p) => {
                let p = *p;
                self.learn(&p.did);
                out.did = p.did;
                self.package_alerts = p.active;
                self.failed_logs = p.failed_logs.into_iter().collect();
            }
        }
        out
    }

    /// What records did, learned from validated package logs (for the table and the detail
    /// pane).
    pub(super) fn learn(&mut self, did: &[(RecordRef, PackageLogRecord)]) {
        for (key, rec) in did {
            self.did.insert(*key, rec.clone());
        }
    }

    /// Keys in the alerts pane: scroll, close.
    pub(super) fn on_key(&mut self, k: KeyEvent, page: usize) -> Intent {
        if self.scroll.on_key(k.code, page) {
            return Intent::None;
        }
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('A') => Intent::Close,
            _ => Intent::None,
        }
    }
}
