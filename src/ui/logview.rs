//! The package log browser (`L`): every record of the selected row's package — what it did,
//! who signed it, when, and whether the chain is proven — with `Enter` to track a record.

use super::app::{Effect, Mode, State};
use crate::ids::{LogId, RecordRef};
use crate::registry::RegistryClient;
use crate::trust::package::{self, PackageLogRecord};
use crossterm::event::{KeyCode, KeyEvent};

/// A loaded package log.
#[derive(Debug, Clone)]
pub struct LogView {
    pub log_id: LogId,
    pub package: Option<String>,
    pub records: Vec<PackageLogRecord>,
    /// `Ok` when the chain validated and its head is proven in a verified checkpoint; else why
    /// not (the records are then what the registry served, unproven).
    pub status: Result<(), String>,
}

/// The browser's state: loading, loaded or failed, and the selected record.
#[derive(Debug, Clone, Default)]
pub struct LogBrowser {
    pub log_id: Option<LogId>,
    pub package: Option<String>,
    pub view: Option<Result<LogView, String>>,
    pub selected: usize,
}

/// Fetches, validates and proves a package log (the runtime runs this off the draw path) on
/// the last checkpoint the verifier verified for this registry (pinned key, rewinds, forks,
/// timestamps): never on a checkpoint fetched and checked on its own.
pub async fn load(
    client: &RegistryClient,
    store: std::path::PathBuf,
    log_id: LogId,
    package: Option<String>,
) -> Result<LogView, String> {
    let registry = client.base().to_string();
    let verified = tokio::task::spawn_blocking(move || {
        let db = crate::trust::db::TrustDb::open(&store).map_err(|e| e.to_string())?;
        package::last_verified(&db, &registry).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    // Without a verified checkpoint yet, the records are shown as the registry's latest
    // checkpoint has them, unproven.
    let unverified_len = match &verified {
        Some(_) => 0,
        None => {
            client
                .checkpoint_raw()
                .await
                .map_err(|e| e.to_string())?
                .0
                .contents
                .log_length
        }
    };
    let loaded = package::load_proven(
        client,
        verified.as_ref(),
        unverified_len,
        "not proven: no checkpoint of this registry has been verified yet",
        &log_id,
        package.as_deref(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(LogView {
        log_id,
        package,
        records: loaded.records,
        status: loaded.status,
    })
}

/// Opens the browser on the selected row's package.
pub(super) fn open(s: &mut State, cmds: &mut Vec<Effect>) {
    let Some(r) = s.selected_row() else {
        s.warn("select a record first: L shows its package's log");
        return;
    };
    let (log, package) = (r.tracked.log_id, r.tracked.package.clone());
    s.logs = LogBrowser {
        log_id: Some(log),
        package: package.clone(),
        view: None,
        selected: 0,
    };
    s.mode = Mode::LogBrowser;
    cmds.push(Effect::LoadPackageLog(log, package));
}

/// A loaded log arrives: shown if it is still the one asked for; what each record did is kept
/// for the table and the detail pane.
pub(super) fn loaded(s: &mut State, result: Result<LogView, String>) {
    if let Ok(v) = &result {
        if v.status.is_ok() {
            let did = v
                .records
                .iter()
                .map(|r| (RecordRef::new(v.log_id, r.record_id), r.clone()));
            super::trust::learned(s, did.collect::<Vec<_>>());
        }
    }
    let wanted = s.logs.log_id;
    let matches = match &result {
        Ok(v) => Some(v.log_id) == wanted,
        Err(_) => true,
    };
    if matches {
        s.logs.selected = result
            .as_ref()
            .map(|v| v.records.len().saturating_sub(1))
            .unwrap_or(0);
        s.logs.view = Some(result);
    }
    s.dirty = true;
}

/// Keys in the browser: move, `Enter` tracks the selected record, `Esc` closes.
pub(super) fn on_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    let n = match &s.logs.view {
        Some(Ok(v)) => v.records.len(),
        _ => 0,
    };
    match k.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('L') => s.mode = Mode::Table,
        KeyCode::Char('j') | KeyCode::Down => {
            s.logs.selected = (s.logs.selected + 1).min(n.saturating_sub(1))
        }
        KeyCode::Char('k') | KeyCode::Up => s.logs.selected = s.logs.selected.saturating_sub(1),
        KeyCode::Char('g') | KeyCode::Home => s.logs.selected = 0,
        KeyCode::Char('G') | KeyCode::End => s.logs.selected = n.saturating_sub(1),
        KeyCode::Enter => {
            if let Some(Ok(v)) = &s.logs.view {
                if let Some(r) = v.records.get(s.logs.selected) {
                    let key = RecordRef::new(v.log_id, r.record_id);
                    if s.row(&key).is_some() {
                        s.flash(format!(
                            "already tracking {} record {}",
                            v.package.as_deref().unwrap_or("this"),
                            r.record_id.short(12)
                        ));
                    } else {
                        cmds.push(Effect::Track(vec![
                            crate::tracker::store::NewTracked::by_hand(
                                v.log_id,
                                r.record_id,
                                v.package.clone(),
                            ),
                        ]));
                        s.flash(format!(
                            "tracking {} record {}",
                            v.package.as_deref().unwrap_or("the"),
                            r.record_id.short(12)
                        ));
                    }
                }
            }
        }
        _ => {}
    }
}
