//! The operator log: fetched with `fetch/logs` at a checkpoint's length and validated with
//! warg-protocol's `operator::LogState` (warg-trust.md §1.3 rule 4), plus the checks it leaves to
//! callers (fetch tokens equal record ids, indices increasing, a non-empty log).

use super::{bail_trust, TrustError};
use crate::ids::{KeyId, RecordId, Sha256Hash};
use crate::registry::trust_api::OperatorEnvelope;
use crate::registry::{ApiError, RegistryClient};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use warg_protocol::operator::{LogState, OperatorRecord};
use warg_protocol::{ProtoEnvelope, ProtoEnvelopeBody};

/// Most operator records fetched (the reference server writes exactly one).
pub const MAX_OPERATOR_RECORDS: usize = 100_000;

/// The validated operator log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorState {
    /// The init record's id (changes when the registry's history is re-created).
    pub record0: RecordId,
    pub head: RecordId,
    /// Every key the log ever granted (revoking keeps the key), by key id: public key text.
    pub keys: BTreeMap<KeyId, String>,
    /// Keys currently holding the `commit` permission (allowed to sign checkpoints).
    pub commit_keys: BTreeSet<KeyId>,
    pub records: usize,
}

impl OperatorState {
    pub fn key_ids(&self) -> BTreeSet<KeyId> {
        self.keys.keys().copied().collect()
    }
}

/// `SHA256("WARG-OPERATOR-LOG-RECORD-V0:" ‖ contentBytes)`.
pub fn operator_record_id(content: &[u8]) -> RecordId {
    RecordId(Sha256Hash::of(&[b"WARG-OPERATOR-LOG-RECORD-V0:", content]))
}

/// Validates the whole operator log from its first record.
pub fn validate_operator_log(records: &[OperatorEnvelope]) -> Result<OperatorState, TrustError> {
    if records.is_empty() {
        bail_trust!("the operator log is empty");
    }
    let mut state = LogState::new();
    let mut ids = Vec::with_capacity(records.len());
    let mut last_index: Option<u64> = None;
    for (n, r) in records.iter().enumerate() {
        let bytes = B64.decode(r.content_bytes.trim()).map_err(|e| {
            TrustError(format!("operator record {n}: contentBytes not base64: {e}"))
        })?;
        let id = operator_record_id(&bytes);
        if r.fetch_token != id.to_string() {
            bail_trust!(
                "operator record {n}: fetchToken `{}` is not its record id {id}",
                r.fetch_token.chars().take(80).collect::<String>()
            );
        }
        if last_index.is_some_and(|l| r.registry_index <= l) {
            bail_trust!(
                "operator record {n}: registry index {} does not increase",
                r.registry_index
            );
        }
        last_index = Some(r.registry_index);
        let body: ProtoEnvelopeBody = serde_json::from_value(serde_json::json!({
            "contentBytes": r.content_bytes.trim(),
            "keyId": r.key_id,
            "signature": r.signature,
        }))
        .map_err(|e| TrustError(format!("operator record {n}: bad envelope: {e}")))?;
        let env: ProtoEnvelope<OperatorRecord> = body
            .try_into()
            .map_err(|e| TrustError(format!("operator record {n} does not decode: {e}")))?;
        state = state
            .validate(&env)
            .map_err(|e| TrustError(format!("operator record {n} ({id}) is invalid: {e}")))?;
        ids.push(id);
    }
    let head_ok = state
        .head()
        .as_ref()
        .is_some_and(|h| h.digest.to_string() == ids[ids.len() - 1].to_string());
    if !head_ok {
        bail_trust!("operator log head does not match its last record");
    }
    // LogState keeps keys and permissions private; its serde form exposes them.
    let v = serde_json::to_value(&state)
        .map_err(|e| TrustError(format!("reading the operator state: {e}")))?;
    let mut keys = BTreeMap::new();
    if let Some(obj) = v.get("keys").and_then(|k| k.as_object()) {
        for (id, key) in obj {
            let id: KeyId = id
                .parse()
                .map_err(|e| TrustError(format!("operator key id: {e}")))?;
            let key = key
                .as_str()
                .ok_or_else(|| TrustError::new("operator key is not text"))?;
            if KeyId::for_public_key(key) != id {
                bail_trust!("operator key {id} is not the fingerprint of its key");
            }
            keys.insert(id, key.to_string());
        }
    }
    let mut commit_keys = BTreeSet::new();
    if let Some(obj) = v.get("permissions").and_then(|k| k.as_object()) {
        for (id, perms) in obj {
            let has_commit = perms
                .as_array()
                .is_some_and(|a| a.iter().any(|p| p.as_str() == Some("commit")));
            if has_commit {
                let id: KeyId = id
                    .parse()
                    .map_err(|e| TrustError(format!("operator key id: {e}")))?;
                commit_keys.insert(id);
            }
        }
    }
    Ok(OperatorState {
        record0: ids[0],
        head: ids[ids.len() - 1],
        keys,
        commit_keys,
        records: records.len(),
    })
}

/// Fetches the whole operator log at `log_length` (a signed checkpoint's length), paging with
/// `limit` 1000 and the last fetch token.
pub async fn fetch_operator_log(
    client: &RegistryClient,
    log_length: u64,
) -> Result<Vec<OperatorEnvelope>, ApiError> {
    let mut out: Vec<OperatorEnvelope> = Vec::new();
    let mut since: Option<RecordId> = None;
    loop {
        let page = client
            .fetch_operator_log(log_length, since.as_ref(), 1000)
            .await?;
        let n = page.operator.len();
        out.extend(page.operator);
        if !page.more || n == 0 || out.len() >= MAX_OPERATOR_RECORDS {
            break;
        }
        let Some(last) = out.last() else { break };
        match last.fetch_token.parse::<RecordId>() {
            Ok(t) => since = Some(t),
            Err(e) => {
                return Err(ApiError::BadBody {
                    status: 200,
                    context: format!("operator fetchToken: {e}"),
                    excerpt: String::new(),
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Algorithm, SigningKey};
    use proptest::prelude::*;
    use std::time::{Duration, SystemTime};
    use warg_protocol::operator::OperatorEntry;

    fn wkey(k: &SigningKey) -> warg_crypto::signing::PrivateKey {
        warg_crypto::signing::PrivateKey::decode(k.encode_private().to_string()).unwrap()
    }

    fn env(
        key: &SigningKey,
        prev: Option<&RecordId>,
        t: u64,
        entries: Vec<OperatorEntry>,
        idx: u64,
    ) -> OperatorEnvelope {
        let rec = OperatorRecord {
            prev: prev.map(|p| {
                warg_protocol::registry::RecordId::from(
                    p.to_string().parse::<warg_crypto::hash::AnyHash>().unwrap(),
                )
            }),
            version: 0,
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(t),
            entries,
        };
        let e = ProtoEnvelope::signed_contents(&wkey(key), rec).unwrap();
        let body: ProtoEnvelopeBody = e.into();
        let v = serde_json::to_value(&body).unwrap();
        let content = v["contentBytes"].as_str().unwrap().to_string();
        let id = operator_record_id(&B64.decode(&content).unwrap());
        OperatorEnvelope {
            content_bytes: content,
            key_id: v["keyId"].as_str().unwrap().into(),
            signature: v["signature"].as_str().unwrap().into(),
            registry_index: idx,
            fetch_token: id.to_string(),
        }
    }

    fn init(k: &SigningKey) -> OperatorEntry {
        OperatorEntry::Init {
            hash_algorithm: warg_crypto::hash::HashAlgorithm::Sha256,
            key: wkey(k).public_key(),
        }
    }

    fn id(e: &OperatorEnvelope) -> RecordId {
        e.fetch_token.parse().unwrap()
    }

    #[test]
    fn valid_log_with_grant_and_revoke() {
        let a = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
        let b = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
        let r0 = env(&a, None, 10, vec![init(&a)], 0);
        let r1 = env(
            &a,
            Some(&id(&r0)),
            11,
            vec![OperatorEntry::GrantFlat {
                key: wkey(&b).public_key(),
                permissions: vec!["commit".parse().unwrap()],
            }],
            3,
        );
        let s = validate_operator_log(&[r0.clone(), r1.clone()]).unwrap();
        assert_eq!(s.record0, id(&r0));
        assert_eq!(s.head, id(&r1));
        assert_eq!(s.key_ids(), BTreeSet::from([a.key_id(), b.key_id()]));
        assert_eq!(s.commit_keys, BTreeSet::from([a.key_id(), b.key_id()]));
        assert_eq!(s.keys[&a.key_id()], a.public_key());
        let r2 = env(
            &a,
            Some(&id(&r1)),
            12,
            vec![OperatorEntry::RevokeFlat {
                key_id: wkey(&b).public_key().fingerprint(),
                permissions: vec!["commit".parse().unwrap()],
            }],
            4,
        );
        let s = validate_operator_log(&[r0.clone(), r1.clone(), r2]).unwrap();
        // Revoking removes the permission but the key stays known.
        assert_eq!(s.key_ids(), BTreeSet::from([a.key_id(), b.key_id()]));
        assert_eq!(s.commit_keys, BTreeSet::from([a.key_id()]));

        // Broken chains, versions, timestamps, signers: all refused.
        let back = env(&a, Some(&id(&r0)), 9, vec![], 3);
        assert!(validate_operator_log(&[r0.clone(), back]).is_err());
        let no_prev = env(&a, None, 11, vec![], 3);
        assert!(validate_operator_log(&[r0.clone(), no_prev]).is_err());
        let by_b = env(&b, Some(&id(&r0)), 11, vec![], 3);
        assert!(validate_operator_log(&[r0.clone(), by_b]).is_err());
        let not_self_signed = env(&b, None, 10, vec![init(&a)], 0);
        assert!(validate_operator_log(&[not_self_signed]).is_err());
        let mut bad_token = r0.clone();
        bad_token.fetch_token = format!("sha256:{}", "0".repeat(64));
        assert!(validate_operator_log(&[bad_token]).is_err());
        let mut bad_sig = r1.clone();
        bad_sig.signature = r0.signature.clone();
        assert!(validate_operator_log(&[r0.clone(), bad_sig]).is_err());
        assert!(validate_operator_log(&[]).is_err());
        assert!(validate_operator_log(&[r1]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_envelopes_never_panic(c in prop::collection::vec(any::<u8>(), 0..200), k in ".{0,80}", s in ".{0,120}") {
            let content = B64.encode(&c);
            let e = OperatorEnvelope { fetch_token: operator_record_id(&c).to_string(), content_bytes: content, key_id: k, signature: s, registry_index: 0 };
            prop_assert!(validate_operator_log(&[e]).is_err());
        }
    }
}
