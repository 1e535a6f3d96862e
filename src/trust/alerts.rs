//! What a monitor alerts on (warg-trust.md §7).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertKind {
    CheckpointSignature,
    OperatorKeyChanged,
    OperatorKeysChanged,
    OperatorLogReplaced,
    OperatorLogInvalid,
    Rewind,
    Fork,
    LedgerMismatch,
    LedgerWithheld,
    TimestampBackwards,
    CheckpointFuture,
    CheckpointStale,
    RecordNotIncluded,
    PackageLogInvalid,
    /// A peer monitor cosigned a checkpoint (signed by the operator) that contradicts this
    /// monitor's verified history: the registry shows different histories to different
    /// observers.
    SplitView,
    /// A peer monitor's cosignature (or the operator signature it carries) does not verify.
    PeerSignature,
}

impl AlertKind {
    pub const ALL: [AlertKind; 16] = [
        Self::CheckpointSignature,
        Self::OperatorKeyChanged,
        Self::OperatorKeysChanged,
        Self::OperatorLogReplaced,
        Self::OperatorLogInvalid,
        Self::Rewind,
        Self::Fork,
        Self::LedgerMismatch,
        Self::LedgerWithheld,
        Self::TimestampBackwards,
        Self::CheckpointFuture,
        Self::CheckpointStale,
        Self::RecordNotIncluded,
        Self::PackageLogInvalid,
        Self::SplitView,
        Self::PeerSignature,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CheckpointSignature => "CHECKPOINT_SIGNATURE",
            Self::OperatorKeyChanged => "OPERATOR_KEY_CHANGED",
            Self::OperatorKeysChanged => "OPERATOR_KEYS_CHANGED",
            Self::OperatorLogReplaced => "OPERATOR_LOG_REPLACED",
            Self::OperatorLogInvalid => "OPERATOR_LOG_INVALID",
            Self::Rewind => "REWIND",
            Self::Fork => "FORK",
            Self::LedgerMismatch => "LEDGER_MISMATCH",
            Self::LedgerWithheld => "LEDGER_WITHHELD",
            Self::TimestampBackwards => "TIMESTAMP_BACKWARDS",
            Self::CheckpointFuture => "CHECKPOINT_FUTURE",
            Self::CheckpointStale => "CHECKPOINT_STALE",
            Self::RecordNotIncluded => "RECORD_NOT_INCLUDED",
            Self::PackageLogInvalid => "PACKAGE_LOG_INVALID",
            Self::SplitView => "SPLIT_VIEW",
            Self::PeerSignature => "PEER_SIGNATURE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the alert means, in one line.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::CheckpointSignature => "the checkpoint's signature does not verify with an operator key allowed to commit (or its key id is unknown)",
            Self::OperatorKeyChanged => "the checkpoint is signed by another key than the pinned operator key",
            Self::OperatorKeysChanged => "the operator log's set of keys differs from the last verified cycle",
            Self::OperatorLogReplaced => "the operator log's first record differs: the registry's history was re-created",
            Self::OperatorLogInvalid => "the operator log does not validate (chain, version, timestamps, signatures or permissions)",
            Self::Rewind => "the registry's log is shorter than the length already verified",
            Self::Fork => "the registry's log disagrees with history already verified (same length with other roots, or a rewritten prefix)",
            Self::LedgerMismatch => "the ledger the registry serves does not hash to its signed log root, or a verified entry changed",
            Self::LedgerWithheld => "the registry served its ledger before and now refuses it: records can no longer be checked against it",
            Self::TimestampBackwards => "the checkpoint timestamp is older than the last verified one",
            Self::CheckpointFuture => "the checkpoint timestamp is ahead of this machine's clock by more than the allowed skew",
            Self::CheckpointStale => "the checkpoint is older than the maximum age: the registry stopped signing or serves an old view",
            Self::RecordNotIncluded => "a record could not be proven to be in the signed log and map",
            Self::PackageLogInvalid => "a package log does not validate",
            Self::SplitView => "a peer monitor holds a checkpoint signed by the operator that contradicts the history verified here: the registry shows different views",
            Self::PeerSignature => "a peer monitor served a checkpoint whose cosignature or operator signature does not verify",
        }
    }

    /// What an operator should do about it, in one line.
    pub fn what_to_do(self) -> &'static str {
        match self {
            Self::CheckpointSignature => "do not trust this registry's answers; check for a proxy or compromise between you and the registry",
            Self::OperatorKeyChanged => "confirm the key change with the registry operator out of band, then re-pin (--reset-trust)",
            Self::OperatorKeysChanged => "confirm the new or removed operator keys with the registry operator",
            Self::OperatorLogReplaced => "if the registry was restarted with a memory store this is expected; otherwise treat its history as rewritten",
            Self::OperatorLogInvalid => "report to the registry operator; do not trust keys from this operator log",
            Self::Rewind => "check whether the registry was restarted or restored from backup; otherwise records may have been removed",
            Self::Fork => "compare with other observers (e.g. the warg CLI cache); the registry may be showing different histories",
            Self::LedgerMismatch => "report to the registry operator; the published ledger cannot be trusted",
            Self::LedgerWithheld => "ask the registry operator why /v1/ledger is gone; until it is back, records are proven from their package logs only",
            Self::TimestampBackwards => "check the registry's clock; an old checkpoint may be being replayed",
            Self::CheckpointFuture => "check this machine's and the registry's clocks",
            Self::CheckpointStale => "check that the registry is running and signing; a stale view may hide new records",
            Self::RecordNotIncluded => "re-check the record; if it persists, the registry is not committing to it",
            Self::PackageLogInvalid => "report to the registry operator and the package's publishers",
            Self::SplitView => "keep both signed checkpoints (the evidence): they prove the operator signed two histories; stop trusting the registry and tell its operator and the other monitors",
            Self::PeerSignature => "check the peer's verifier key (--peer URL=VKEY) with its operator; a peer that keeps failing may be compromised or misconfigured",
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert: its kind, a specific detail, and the evidence (envelopes involved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub kind: AlertKind,
    pub detail: String,
    pub evidence: serde_json::Value,
}

impl Alert {
    pub fn new(kind: AlertKind, detail: impl Into<String>, evidence: serde_json::Value) -> Self {
        Self {
            kind,
            detail: detail.into(),
            evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_as_str() {
        for k in AlertKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<AlertKind>(&json).unwrap(), k);
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
            assert!(!k.meaning().is_empty() && !k.what_to_do().is_empty());
        }
        assert_eq!(AlertKind::Rewind.as_str(), "REWIND");
    }
}
