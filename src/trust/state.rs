//! What the monitor remembers about one registry between cycles (warg-trust.md §7).

use crate::ids::{KeyId, RecordId, Sha256Hash};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

/// Where the pinned operator key id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinSource {
    /// Given on the command line.
    Flag,
    /// From the config file.
    Config,
    /// Trust on first use: the key that signed the first checkpoint seen.
    Tofu,
}

impl PinSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Config => "config",
            Self::Tofu => "tofu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "flag" => Some(Self::Flag),
            "config" => Some(Self::Config),
            "tofu" => Some(Self::Tofu),
            _ => None,
        }
    }
}

fn hash_text<S: Serializer>(h: &Sha256Hash, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(h)
}

/// The last checkpoint that passed a clean cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedCheckpoint {
    /// The canonical envelope JSON (see [`super::checkpoint::Checkpoint::canonical`]).
    pub envelope: String,
    pub log_length: u64,
    #[serde(serialize_with = "hash_text")]
    pub log_root: Sha256Hash,
    #[serde(serialize_with = "hash_text")]
    pub map_root: Sha256Hash,
    pub timestamp: u64,
}

/// Trust state of one registry (keyed by its base URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustState {
    pub registry: String,
    pub pinned_key_id: Option<KeyId>,
    pub pin_source: Option<PinSource>,
    pub operator_record0: Option<RecordId>,
    pub operator_key_ids: BTreeSet<KeyId>,
    /// The keys that held `commit` at the last clean cycle (key id → public key text): the next
    /// checkpoint's signature is checked with them before anything is fetched from its numbers.
    pub commit_keys: BTreeMap<KeyId, String>,
    pub checkpoint: Option<VerifiedCheckpoint>,
    /// Ledger entries [0, ledger_len) are verified against `checkpoint`'s logRoot.
    pub ledger_len: u64,
    /// When (this machine's clock, Unix ms) `checkpoint` passed its clean cycle; 0 unknown.
    pub verified_at_ms: i64,
    /// Serialized [`super::ledger::Frontier`] of the verified ledger prefix.
    #[serde(skip)]
    pub frontier: Vec<u8>,
}

impl TrustState {
    pub fn new(registry: &str) -> Self {
        Self {
            registry: registry.to_string(),
            pinned_key_id: None,
            pin_source: None,
            operator_record0: None,
            operator_key_ids: BTreeSet::new(),
            commit_keys: BTreeMap::new(),
            checkpoint: None,
            ledger_len: 0,
            verified_at_ms: 0,
            frontier: super::ledger::Frontier::new().to_bytes(),
        }
    }
}
