//! The package log browser (`L`): every record of the selected row's package — what it did,
//! who signed it, when, and whether the chain is proven — with `Enter` to track a record.

use super::job::{LatestJob, Ticket};
pub use super::msg::LogView;
use super::msg::{Effect, Intent, Level};
use crate::ids::{LogId, RecordRef};
use crate::registry::RegistryClient;
use crate::trust::package::{self, PackageLogRecord};
use crossterm::event::{KeyCode, KeyEvent};

/// The browser's state: loading, loaded or failed, and the selected record.
#[derive(Debug, Clone, Default)]
pub struct LogBrowser {
    pub log_id: Option<LogId>,
    pub package: Option<String>,
    pub view: Option<Result<LogView, String>>,
    pub selected: usize,
    /// The log asked for last: only its answer is shown.
    job: LatestJob,
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

impl LogBrowser {
    /// Opens the browser on a log (the selected row's package).
    pub(super) fn open(&mut self, log: LogId, package: Option<String>) -> Effect {
        let ticket = self.job.start();
        *self = LogBrowser {
            log_id: Some(log),
            package: package.clone(),
            view: None,
            selected: 0,
            job: std::mem::take(&mut self.job),
        };
        Effect::LoadPackageLog(log, package, ticket)
    }

    /// A loaded log arrives: shown if it answers the request made last (an older one, `Ok` or
    /// `Err`, is dropped). Returns what each record did when the log was proven: kept for the
    /// table and the detail pane whichever request it answered.
    pub(super) fn loaded(
        &mut self,
        ticket: Ticket,
        result: Result<LogView, String>,
    ) -> Vec<(RecordRef, PackageLogRecord)> {
        let did = match &result {
            Ok(v) if v.status.is_ok() => v
                .records
                .iter()
                .map(|r| (RecordRef::new(v.log_id, r.record_id), r.clone()))
                .collect(),
            _ => Vec::new(),
        };
        if self.job.finish(ticket) {
            self.selected = result
                .as_ref()
                .map(|v| v.records.len().saturating_sub(1))
                .unwrap_or(0);
            self.view = Some(result);
        }
        did
    }

    fn len(&self) -> usize {
        match &self.view {
            Some(Ok(v)) => v.records.len(),
            _ => 0,
        }
    }

    /// The wheel: `by` records down (negative: up).
    pub(super) fn scroll_by(&mut self, by: isize) {
        let n = self.len();
        self.selected = self
            .selected
            .saturating_add_signed(by)
            .min(n.saturating_sub(1));
    }

    /// Keys in the browser: move, `Enter` tracks the selected record (`is_tracked` says
    /// which are), `Esc` closes.
    pub(super) fn on_key(
        &mut self,
        k: KeyEvent,
        is_tracked: impl Fn(&RecordRef) -> bool,
        cmds: &mut Vec<Effect>,
    ) -> Intent {
        let n = self.len();
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('L') => return Intent::Close,
            KeyCode::Char('j') | KeyCode::Down => {
                self.selected = (self.selected + 1).min(n.saturating_sub(1))
            }
            KeyCode::Char('k') | KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('g') | KeyCode::Home => self.selected = 0,
            KeyCode::Char('G') | KeyCode::End => self.selected = n.saturating_sub(1),
            KeyCode::Enter => {
                if let Some(Ok(v)) = &self.view {
                    if let Some(r) = v.records.get(self.selected) {
                        let key = RecordRef::new(v.log_id, r.record_id);
                        if is_tracked(&key) {
                            return Intent::Flash(
                                Level::Info,
                                format!(
                                    "already tracking {} record {}",
                                    v.package.as_deref().unwrap_or("this"),
                                    r.record_id.short(12)
                                ),
                            );
                        }
                        cmds.push(Effect::Track(vec![
                            crate::tracker::store::NewTracked::by_hand(
                                v.log_id,
                                r.record_id,
                                v.package.clone(),
                            ),
                        ]));
                        return Intent::Flash(
                            Level::Info,
                            format!(
                                "tracking {} record {}",
                                v.package.as_deref().unwrap_or("the"),
                                r.record_id.short(12)
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
        Intent::None
    }
}
