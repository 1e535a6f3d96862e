//! One tracked record as the table shows it, its state as a type ([`StateKind`]), and the
//! table's sort columns.

use crate::ids::RecordRef;
use crate::registry::{PackageRecord, RecordState};
use crate::tracker::store::{Origin, RawJson, Tracked};

/// One tracked record as the table shows it.
#[derive(Debug, Clone)]
pub struct Row {
    /// The record as tracked, with the latest response as compact JSON text (only the detail
    /// pane reads it: [`Row::response`]).
    pub tracked: Tracked,
    pub state: Option<RecordState>,
    pub in_flight: bool,
    pub error: Option<String>,
    /// The last registry-wide failure polling this record and when (cleared by an answer):
    /// during an outage each row shows it, dimmed.
    pub outage: Option<(String, i64)>,
    /// The record's own timestamp (Unix ms) when known: from its validated package log, or,
    /// for a record this app signed, when it was signed (it is tracked as it is signed).
    pub record_ms: Option<i64>,
}

impl Row {
    pub fn key(&self) -> RecordRef {
        RecordRef::new(self.tracked.log_id, self.tracked.record_id)
    }

    pub(super) fn from_tracked(t: Tracked) -> Self {
        let state = t
            .response
            .as_ref()
            .and_then(RawJson::parse::<PackageRecord>)
            .map(|r| r.state);
        // Stored errors may predate cleaning (or come from another writer): cleaned here too.
        let error = t
            .error
            .as_deref()
            .map(|e| crate::text::clean(e).into_owned());
        let record_ms = (t.origin == Origin::Submitted).then_some(t.added_at);
        Self {
            tracked: t,
            state,
            in_flight: false,
            error,
            outage: None,
            record_ms,
        }
    }

    /// What AGE counts from: the record's own timestamp, or when it was tracked while that is
    /// not known (a record tracked by hand, not yet in a validated package log).
    pub fn time_ms(&self) -> i64 {
        self.record_ms.unwrap_or(self.tracked.added_at)
    }

    /// The registry index of a published record.
    pub fn registry_index(&self) -> Option<u64> {
        match &self.state {
            Some(RecordState::Published { registry_index }) => Some(*registry_index),
            _ => None,
        }
    }

    /// The latest response the registry gave for this record (parsed on demand).
    pub fn response(&self) -> Option<serde_json::Value> {
        self.tracked.response.as_ref().and_then(RawJson::value)
    }

    /// The state the STATE column shows.
    pub fn state_kind(&self) -> StateKind {
        match &self.state {
            Some(s) => StateKind::of(s),
            None if self.error.is_some() => StateKind::Error,
            None => StateKind::Unknown,
        }
    }

    pub fn state_name(&self) -> &'static str {
        self.state_kind().name()
    }

    /// Missing content: from the latest answer, or kept from when the record was `sourcing`.
    pub fn missing(&self) -> Vec<(String, Vec<String>)> {
        let from_state = match &self.state {
            Some(RecordState::Sourcing { missing_content }) => {
                serde_json::to_value(missing_content).ok()
            }
            _ => None,
        };
        let Some(v) = from_state.or_else(|| self.tracked.missing.clone()) else {
            return Vec::new();
        };
        let Some(map) = v.as_object() else {
            return Vec::new();
        };
        map.iter()
            .map(|(digest, m)| {
                let urls = m["upload"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|u| u["url"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                (digest.clone(), urls)
            })
            .collect()
    }

    pub fn detail(&self) -> String {
        match &self.state {
            Some(RecordState::Processing) => {
                let n = self.missing().len();
                let was_published = self.tracked.state.as_deref().and_then(StateKind::parse)
                    == Some(StateKind::Published);
                if n > 0 && !was_published {
                    format!("{n} missing content (seen while sourcing)")
                } else {
                    String::new()
                }
            }
            Some(s) => crate::text::clean(&s.detail()).into_owned(),
            None => self.error.clone().unwrap_or_default(),
        }
    }
}

/// A row's state as the dashboard shows, sorts, counts and filters it: the registry's four
/// states, plus `error` (never answered, last poll failed) and `unknown` (not polled yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKind {
    Sourcing,
    Processing,
    Published,
    Rejected,
    Error,
    Unknown,
}

impl StateKind {
    /// In the order the header counts them.
    pub const ALL: [StateKind; 6] = [
        Self::Published,
        Self::Processing,
        Self::Sourcing,
        Self::Rejected,
        Self::Error,
        Self::Unknown,
    ];

    pub fn of(s: &RecordState) -> Self {
        match s {
            RecordState::Sourcing { .. } => Self::Sourcing,
            RecordState::Processing => Self::Processing,
            RecordState::Published { .. } => Self::Published,
            RecordState::Rejected { .. } => Self::Rejected,
        }
    }

    /// The word shown (and matched by the filter and stored in the history).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sourcing => "sourcing",
            Self::Processing => "processing",
            Self::Published => "published",
            Self::Rejected => "rejected",
            Self::Error => "error",
            Self::Unknown => "unknown",
        }
    }

    /// A state word as stored (history, events); `None` for a word no state has.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Published and rejected records never change.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Published | Self::Rejected)
    }

    /// The STATE sort: what needs the operator first.
    pub fn rank(self) -> u8 {
        match self {
            Self::Error => 0,
            Self::Rejected => 1,
            Self::Sourcing => 2,
            Self::Processing => 3,
            Self::Unknown => 4,
            Self::Published => 5,
        }
    }
}

/// A sort column: every column the table shows. Ascending (`▲`) puts the smallest value *as
/// shown* first: for AGE and POLLED that is the youngest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Package,
    Log,
    Record,
    State,
    /// The registry index of published records.
    Index,
    Detail,
    Age,
    Polled,
}

impl SortKey {
    /// Left to right, as `s` cycles.
    pub const ALL: [SortKey; 8] = [
        Self::Package,
        Self::Log,
        Self::Record,
        Self::State,
        Self::Index,
        Self::Detail,
        Self::Age,
        Self::Polled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Package => "package",
            Self::Log => "log",
            Self::Record => "record",
            Self::State => "state",
            Self::Index => "index",
            Self::Detail => "detail",
            Self::Age => "age",
            Self::Polled => "polled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s || (s == "idx" && *k == Self::Index))
    }

    pub(super) fn next(self) -> Self {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}
