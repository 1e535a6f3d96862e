//! The messages of the dashboard, shared by the reducer ([`super::app`]), the panes and the
//! runtime: what happened ([`Action`]), what the runtime is asked to do ([`Effect`]), what a
//! pane asks the reducer to do beyond itself ([`Intent`]), and the mode the screen is in.
//! It imports no pane: every pane can import it.

use super::form_path::{Completion, PathEnv};
use super::job::Ticket;
use crate::ids::{ContentDigest, LogId, PackageName};
use crate::keys::KeyInfo;
use crate::publish::Prepared;
use crate::registry::{ApiError, PackageRecord};
use crate::tracker::store::{HistoryEntry, NewTracked, Tracked};
use crate::trust::package::PackageLogRecord;
use crossterm::event::KeyEvent;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::ids::RecordRef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Table,
    Filter,
    Command,
    Track,
    Help,
    Detail,
    /// Untrack these records (one, the marked ones, or a `:untrack` set) after `y`.
    ConfirmUntrack(Vec<RecordRef>),
    /// The trust alerts pane.
    Alerts,
    /// The package log browser.
    LogBrowser,
    /// State changes and alerts as they happen.
    Events,
    Form,
}

/// How much a footer message matters; each has its own style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A message in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub at: i64,
    pub level: Level,
}

/// Registry health as the header shows it.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub last_ok: Option<i64>,
    pub latency: Option<Duration>,
    pub last_error: Option<String>,
    /// When the next attempt happens during an outage (ms).
    pub retry_at: Option<i64>,
    pub down: bool,
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    pub registry: String,
    pub sandbox: bool,
    pub readonly: bool,
    pub interval: Duration,
    pub color: bool,
}

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    /// A click or the wheel (when the mouse is captured).
    Mouse(crossterm::event::MouseEvent),
    Paste(String),
    Tick(i64),
    StoreLoaded(Vec<Tracked>),
    StoreError(String),
    PollStarted(Vec<RecordRef>),
    Polled {
        key: RecordRef,
        result: Result<(PackageRecord, serde_json::Value), ApiError>,
        at: i64,
        latency: Duration,
        hold: Option<Duration>,
    },
    Checkpoint(Result<(u64, u64), ApiError>),
    History(RecordRef, Vec<HistoryEntry>),
    /// The rejected record a tracked one rebuilds (for the detail pane).
    RebuildLink(RecordRef, Option<crate::tracker::links::RebuildLink>),
    KeysLoaded(Vec<KeyInfo>),
    KeyGenerated(Result<KeyInfo, String>),
    FileHashed {
        ticket: Ticket,
        path: String,
        result: Result<(ContentDigest, u64), String>,
    },
    Prepared(Ticket, Result<Prepared, String>),
    /// The package log's facts, fetched with the head (sent before `Prepared`).
    FormLog(
        Ticket,
        PackageName,
        Result<crate::publish::LogFacts, String>,
    ),
    /// The package has no log on the registry (and the record does not start with `init`).
    NoLogYet(Ticket, PackageName),
    /// A Tab completion of the content-file path.
    PathCompleted(Ticket, Completion),
    SubmitProgress(String),
    Submitted(Result<RecordRef, String>),
    Flash(String),
    NamesResolved(BTreeMap<LogId, String>),
    /// The verifier's results.
    Trust(crate::trust::worker::TrustEvent),
    /// A client for `:registry URL`, built off the loop.
    ClientReady(
        Ticket,
        String,
        Result<crate::registry::RegistryClient, String>,
    ),
    /// The latest state changes, for the events pane.
    Events(Vec<crate::tracker::store::StateEvent>),
    /// A package log for the browser.
    PackageLog(Ticket, Box<Result<LogView, String>>),
    /// The pulse strip's figures.
    Pulse(crate::tracker::pulse::Pulse),
    /// The sort and filter saved for a registry (a URL), when the store is scoped to it.
    Prefs(String, Option<crate::tracker::prefs::TablePrefs>),
    Quit,
}

impl From<crate::tracker::store_thread::StoreEvent> for Action {
    fn from(e: crate::tracker::store_thread::StoreEvent) -> Self {
        use crate::tracker::store_thread::StoreEvent;
        match e {
            StoreEvent::Loaded(list) => Self::StoreLoaded(list),
            StoreEvent::History(r, h) => Self::History(r, h),
            StoreEvent::Rebuild(r, link) => Self::RebuildLink(r, link),
            StoreEvent::Events(e) => Self::Events(e),
            StoreEvent::Pulse(p) => Self::Pulse(p),
            StoreEvent::Prefs(r, p) => Self::Prefs(r, p),
            StoreEvent::Error(e) => Self::StoreError(e),
        }
    }
}

impl From<crate::trust::worker::TrustEvent> for Action {
    fn from(e: crate::trust::worker::TrustEvent) -> Self {
        Self::Trust(e)
    }
}

impl From<crate::tracker::watcher::CheckpointSeen> for Action {
    fn from(c: crate::tracker::watcher::CheckpointSeen) -> Self {
        Self::Checkpoint(c.0)
    }
}

/// What the reducer asks the runtime to do.
#[derive(Debug, Clone)]
pub enum Effect {
    Schedule(Vec<(RecordRef, bool)>),
    Unschedule(Vec<RecordRef>),
    Refresh(Vec<RecordRef>),
    RefreshAll,
    Track(Vec<NewTracked>),
    Untrack(RecordRef),
    LoadHistory(RecordRef),
    HashFile {
        path: String,
        ticket: Ticket,
    },
    /// Complete the content-file path (reads a directory).
    CompletePath {
        input: String,
        env: PathEnv,
        ticket: Ticket,
    },
    /// Generate an ecdsa-p256 key and store it under this name.
    GenerateKey(String),
    LoadKeys,
    /// Ask the registry for the package names of these logs.
    ResolveNames(Vec<LogId>),
    Prepare {
        package: PackageName,
        entries: Vec<crate::record::Entry>,
        ticket: Ticket,
    },
    Submit {
        prepared: Box<Prepared>,
        key_name: String,
        files: BTreeMap<ContentDigest, PathBuf>,
        /// The rejected record this one rebuilds, and why it was rejected.
        rebuilds: Option<(RecordRef, String)>,
    },
    Copy(String),
    SetRegistry(String, Ticket),
    /// Switch to this client (built for this registry URL).
    UseClient(String, Box<crate::registry::RegistryClient>),
    /// Read the latest state changes from the store.
    LoadEvents,
    /// Fetch, validate and prove this package log for the browser.
    LoadPackageLog(LogId, Option<String>, Ticket),
    /// Read the pulse strip's figures from the store.
    LoadPulse,
    /// Remember the table's sort and filter for this registry (a URL).
    SavePrefs(String, crate::tracker::prefs::TablePrefs),
}

/// A loaded package log (the `L` pane's content).
#[derive(Debug, Clone)]
pub struct LogView {
    pub log_id: LogId,
    pub package: Option<String>,
    pub records: Vec<PackageLogRecord>,
    /// `Ok` when the chain validated and its head is proven in a verified checkpoint; else why
    /// not (the records are then what the registry served, unproven).
    pub status: Result<(), String>,
}

/// What a pane's key handler asks of the reducer beyond its own state.
#[derive(Debug, Clone)]
pub enum Intent {
    /// Nothing beyond the pane.
    None,
    Quit,
    /// A message in the footer.
    Flash(Level, String),
    /// Close the overlay (back to the table).
    Close,
    /// Open a mode (an overlay, a prompt, a confirmation).
    Open(Mode),
    /// Open the publish form.
    OpenForm,
    /// Rebuild the selected rejected record on the new head.
    Rebuild,
    /// Replace the form with a rebuild of this record (confirmed).
    RebuildRecord(RecordRef),
    /// Show or hide the pulse strip.
    TogglePulse,
    /// Poll results held while frozen, to apply now (the table thawed).
    ApplyHeld(Vec<Action>),
    /// Move the table's selection by this many rows (the detail pane's n/N).
    SelectBy(isize),
    /// A table key pressed in another pane (copy, refresh, rebuild in the detail pane).
    TableKey(KeyEvent),
    /// The prompt's text changed.
    PromptEdited,
    /// The prompt was dismissed (Esc).
    PromptCancelled,
    /// The prompt's line was entered.
    PromptEntered,
}
