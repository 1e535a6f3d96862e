//! Serde types for the registry's JSON bodies. Unknown fields are tolerated everywhere.

use crate::ids::{ContentDigest, LogId, RecordId};
use crate::record::Envelope;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An upload endpoint for missing content (`{"type":"http","method","url","headers"?}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadEndpoint {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

fn default_method() -> String {
    "POST".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingContent {
    #[serde(default)]
    pub upload: Vec<UploadEndpoint>,
}

/// The live state of a package record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RecordState {
    #[serde(rename_all = "camelCase")]
    Sourcing {
        #[serde(default)]
        missing_content: BTreeMap<ContentDigest, MissingContent>,
    },
    Processing,
    Rejected {
        reason: String,
    },
    #[serde(rename_all = "camelCase")]
    Published {
        registry_index: u64,
    },
}

impl RecordState {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sourcing { .. } => "sourcing",
            Self::Processing => "processing",
            Self::Rejected { .. } => "rejected",
            Self::Published { .. } => "published",
        }
    }

    /// Published and rejected records never change again.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Rejected { .. } | Self::Published { .. })
    }

    /// One line of detail: missing-content count, rejection reason, or registry index.
    pub fn detail(&self) -> String {
        match self {
            Self::Sourcing { missing_content } => {
                format!("{} missing content", missing_content.len())
            }
            Self::Processing => String::new(),
            Self::Rejected { reason } => reason.clone(),
            Self::Published { registry_index } => format!("index {registry_index}"),
        }
    }
}

/// `{"recordId": …, "state": …, …}` as returned by GET and POST of package records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageRecord {
    pub record_id: RecordId,
    #[serde(flatten)]
    pub state: RecordState,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishRecordRequest<'a> {
    pub package_name: &'a str,
    pub record: &'a Envelope,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointContents {
    pub log_root: String,
    pub log_length: u64,
    pub map_root: String,
    pub timestamp: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedCheckpoint {
    pub contents: CheckpointContents,
    pub key_id: String,
    pub signature: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchLogsRequest {
    pub log_length: u64,
    pub limit: u16,
    pub packages: BTreeMap<LogId, Option<RecordId>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedEnvelope {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub registry_index: u64,
    pub fetch_token: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchLogsResponse {
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub packages: BTreeMap<LogId, Vec<PublishedEnvelope>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FetchNamesRequest<'a> {
    pub packages: &'a [LogId],
}

#[derive(Debug, Clone, Deserialize)]
pub struct FetchNamesResponse {
    #[serde(default)]
    pub packages: BTreeMap<LogId, Option<String>>,
}

/// Every error body shape the reference server uses; all fields optional so any of them parses.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    pub status: Option<u16>,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<serde_json::Value>,
    pub reason: Option<String>,
}

/// `GET /v1/ledger`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerSources {
    pub hash_algorithm: String,
    #[serde(default)]
    pub sources: Vec<LedgerSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerSource {
    pub first_registry_index: u64,
    pub last_registry_index: u64,
    pub url: String,
    #[serde(default)]
    pub content_type: Option<String>,
}
