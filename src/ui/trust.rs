//! The trust pane's state: the latest verification cycle, each tracked record's proof, the
//! stored alerts (the `A` pane) and its keys.

use super::app::{Effect, Mode, State};
use crate::ids::RecordRef;
use crate::trust::alerts::AlertKind;
use crate::trust::cycle::CycleReport;
use crate::trust::db::StoredAlert;
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
    /// First line shown in the alerts pane.
    pub scroll: usize,
    /// What records did, from package logs that validated and were proven.
    pub did: HashMap<RecordRef, crate::trust::package::PackageLogRecord>,
    /// Alerts in force about tracked packages' logs (PACKAGE_LOG_INVALID, or a head the map
    /// does not prove).
    pub package_alerts: Vec<crate::trust::alerts::Alert>,
    /// Tracked packages whose log failed its check (their rows say so).
    pub failed_logs: std::collections::HashSet<crate::ids::LogId>,
    /// A first ledger sync in progress: (entries verified, of).
    pub progress: Option<(u64, u64)>,
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
        v
    }

    pub fn proof(&self, r: &RecordRef) -> Option<&Proof> {
        self.proofs.get(r)
    }
}

/// Applies a verifier event. Records the registry calls published but nothing proves are
/// asked again (a claim is never terminal).
pub(super) fn apply(s: &mut State, e: TrustEvent, cmds: &mut Vec<Effect>) {
    match e {
        TrustEvent::Cycle(report) => {
            s.trust.report = Some((*report, s.now));
            s.trust.failed = None;
            s.trust.progress = None;
        }
        TrustEvent::Progress(done, of) => s.trust.progress = Some((done, of)),
        TrustEvent::Failed(e) => s.trust.failed = Some(crate::text::clean(&e).into_owned()),
        TrustEvent::Proofs(p) => {
            let claims: Vec<RecordRef> = p
                .iter()
                .filter(|(_, p)| p.is_suspect())
                .map(|(r, _)| *r)
                .filter(|r| s.index.contains_key(r))
                .collect();
            if !claims.is_empty() {
                cmds.push(Effect::Refresh(claims));
            }
            s.trust.proofs = p.into_iter().collect();
        }
        TrustEvent::Alerts(a) => {
            // Evidence is pretty-printed once, here, not on every frame.
            s.trust.evidence = a
                .iter()
                .filter(|a| !a.alert.evidence.is_null())
                .map(|a| {
                    let text = serde_json::to_string_pretty(&a.alert.evidence).unwrap_or_default();
                    let lines = text
                        .lines()
                        .map(|l| crate::text::clean(l).into_owned())
                        .collect();
                    (a.id, lines)
                })
                .collect();
            s.trust.stored = a;
        }
        TrustEvent::Packages(p) => {
            learned(s, p.did);
            s.trust.package_alerts = p.active;
            s.trust.failed_logs = p.failed_logs.into_iter().collect();
        }
    }
    s.dirty = true;
}

/// What records did, learned from validated package logs: kept for the table and the detail
/// pane, and each tracked row's AGE counts from its record's own timestamp from then on.
pub(super) fn learned(
    s: &mut State,
    did: impl IntoIterator<Item = (RecordRef, crate::trust::package::PackageLogRecord)>,
) {
    let mut moved = false;
    for (key, rec) in did {
        let ms = Some(rec.time_secs.saturating_mul(1000));
        if let Some(&i) = s.index.get(&key) {
            if s.rows[i].record_ms != ms {
                s.rows[i].record_ms = ms;
                moved = true;
            }
        }
        s.trust.did.insert(key, rec);
    }
    if moved && s.sort == super::row::SortKey::Age {
        s.mark_view();
    }
}

/// Keys in the alerts pane: scroll, close.
pub(super) fn on_key(s: &mut State, k: KeyEvent) {
    match k.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('A') => s.mode = Mode::Table,
        KeyCode::Char('j') | KeyCode::Down => s.trust.scroll += 1,
        KeyCode::Char('k') | KeyCode::Up => s.trust.scroll = s.trust.scroll.saturating_sub(1),
        KeyCode::PageDown => s.trust.scroll += s.page.max(1),
        KeyCode::PageUp => s.trust.scroll = s.trust.scroll.saturating_sub(s.page.max(1)),
        KeyCode::Char('g') | KeyCode::Home => s.trust.scroll = 0,
        _ => {}
    }
}
