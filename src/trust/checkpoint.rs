//! Signed checkpoints: parsing, the exact signed bytes (warg-trust.md §1.2), ECDSA-P256
//! verification against an operator public key, and the canonical envelope text.

use super::{bail_trust, TrustError};
use crate::ids::{leb128, KeyId, Sha256Hash};
use crate::registry::model::{CheckpointContents, SignedCheckpoint};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// Signature prefix of `TimestampedCheckpoint` (`Signable::PREFIX`).
pub const SIGNATURE_PREFIX: &[u8] = b"WARG-CHECKPOINT-SIGNATURE-V0";
/// First bytes of the prefix-encoded `TimestampedCheckpoint`.
pub const CONTENT_PREFIX: &[u8] = b"WARG-TIMESTAMPED-CHECKPOINT-V0";

/// A checkpoint envelope with its roots parsed. Nothing about it is verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub log_length: u64,
    pub log_root: Sha256Hash,
    pub map_root: Sha256Hash,
    pub timestamp: u64,
    /// The envelope's key id text as served (may be garbage: then no key verifies it).
    pub key_id: String,
    pub signature: String,
    /// The envelope as served (typed).
    pub envelope: SignedCheckpoint,
    /// Canonical compact JSON of the envelope (`{"contents":{logRoot,logLength,mapRoot,timestamp},"keyId","signature"}`):
    /// the archive/evidence form. Identical envelopes give identical text.
    pub canonical: String,
}

impl Checkpoint {
    /// Parses the typed envelope; roots must be `sha256:<64 lowercase hex>`.
    pub fn from_signed(envelope: SignedCheckpoint) -> Result<Self, TrustError> {
        let log_root: Sha256Hash = envelope
            .contents
            .log_root
            .parse()
            .map_err(|e| TrustError(format!("checkpoint logRoot: {e}")))?;
        let map_root: Sha256Hash = envelope
            .contents
            .map_root
            .parse()
            .map_err(|e| TrustError(format!("checkpoint mapRoot: {e}")))?;
        let canonical = canonical_json(&envelope)?;
        Ok(Self {
            log_length: envelope.contents.log_length,
            log_root,
            map_root,
            timestamp: envelope.contents.timestamp,
            key_id: envelope.key_id.clone(),
            signature: envelope.signature.clone(),
            envelope,
            canonical,
        })
    }

    /// Parses envelope JSON text (as fetched, or as archived).
    pub fn parse(text: &str) -> Result<Self, TrustError> {
        let envelope: SignedCheckpoint = serde_json::from_str(text)
            .map_err(|e| TrustError(format!("not a checkpoint envelope: {e}")))?;
        Self::from_signed(envelope)
    }

    /// The bytes the operator key signs: `PREFIX ":" M` (§1.2).
    pub fn signed_bytes(&self) -> Vec<u8> {
        signed_bytes(
            self.log_length,
            &self.log_root.to_string(),
            &self.map_root.to_string(),
            self.timestamp,
        )
    }

    /// The envelope's key id, if it is a well-formed key id.
    pub fn key_id(&self) -> Option<KeyId> {
        self.key_id.parse().ok()
    }

    /// Verifies the signature with `public_key` (`ecdsa-p256:<base64 SEC1>`), also requiring
    /// the envelope's keyId to be that key's fingerprint.
    pub fn verify(&self, public_key: &str) -> Result<(), TrustError> {
        let want = KeyId::for_public_key(public_key);
        if self.key_id != want.to_string() {
            bail_trust!(
                "checkpoint keyId `{}` is not the fingerprint {want} of the given key",
                short(&self.key_id)
            );
        }
        verify_signature(public_key, &self.signed_bytes(), &self.signature)
    }

    /// Same length, log root and map root (timestamps and signatures may differ).
    pub fn same_tree(&self, other: &Checkpoint) -> bool {
        self.log_length == other.log_length
            && self.log_root == other.log_root
            && self.map_root == other.map_root
    }
}

/// Canonical compact JSON text of an envelope.
pub fn canonical_json(envelope: &SignedCheckpoint) -> Result<String, TrustError> {
    serde_json::to_string(envelope).map_err(|e| TrustError(format!("encoding checkpoint: {e}")))
}

/// `SIGNATURE_PREFIX ‖ ":" ‖ CONTENT_PREFIX ‖ LEB128(len) ‖ str(logRoot) ‖ str(mapRoot) ‖ LEB128(ts)`
/// with `str(s) = LEB128(len(s)) ‖ s`.
pub fn signed_bytes(log_length: u64, log_root: &str, map_root: &str, timestamp: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 2 * 72 + 20);
    out.extend_from_slice(SIGNATURE_PREFIX);
    out.push(b':');
    out.extend_from_slice(CONTENT_PREFIX);
    out.extend_from_slice(&leb128(log_length));
    for s in [log_root, map_root] {
        out.extend_from_slice(&leb128(s.len() as u64));
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&leb128(timestamp));
    out
}

/// The contents of a checkpoint re-signed with `key` (tests and tamper proxies use this; it is
/// the operator's job, never the monitor's).
pub fn sign_contents(
    key: &crate::keys::SigningKey,
    contents: &CheckpointContents,
) -> SignedCheckpoint {
    let full = signed_bytes(
        contents.log_length,
        &contents.log_root,
        &contents.map_root,
        contents.timestamp,
    );
    let message = &full[SIGNATURE_PREFIX.len() + 1..];
    SignedCheckpoint {
        contents: contents.clone(),
        key_id: key.key_id().to_string(),
        signature: key.sign_prefixed(SIGNATURE_PREFIX, message),
    }
}

/// ECDSA P-256 / SHA-256 verification of `ecdsa-p256:<base64 DER>` over `message` with the
/// public key text `ecdsa-p256:<base64 SEC1 point>`.
pub fn verify_signature(
    public_key: &str,
    message: &[u8],
    signature: &str,
) -> Result<(), TrustError> {
    use p256::ecdsa::signature::Verifier;
    let Some(kb64) = public_key.strip_prefix("ecdsa-p256:") else {
        bail_trust!("operator key is not an ecdsa-p256 key");
    };
    let Some(sb64) = signature.strip_prefix("ecdsa-p256:") else {
        bail_trust!("signature is not `ecdsa-p256:<base64 DER>`");
    };
    let kb = B64
        .decode(kb64.trim())
        .map_err(|e| TrustError(format!("operator key is not base64: {e}")))?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&kb)
        .map_err(|_| TrustError::new("operator key is not a P-256 point"))?;
    let sb = B64
        .decode(sb64.trim())
        .map_err(|e| TrustError(format!("signature is not base64: {e}")))?;
    let sig = p256::ecdsa::Signature::from_der(&sb)
        .map_err(|_| TrustError::new("signature is not a DER ECDSA signature"))?;
    key.verify(message, &sig)
        .map_err(|_| TrustError::new("signature does not verify"))
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Algorithm, SigningKey};
    use proptest::prelude::*;
    use std::str::FromStr;
    use warg_crypto::hash::AnyHash;
    use warg_crypto::Signable;
    use warg_protocol::registry::{Checkpoint as WCheckpoint, TimestampedCheckpoint};

    fn oracle_signed(
        key: &SigningKey,
        len: u64,
        log_root: &Sha256Hash,
        map_root: &Sha256Hash,
        ts: u64,
    ) -> (String, String) {
        let private =
            warg_crypto::signing::PrivateKey::decode(key.encode_private().to_string()).unwrap();
        let tc = TimestampedCheckpoint {
            checkpoint: WCheckpoint {
                log_root: AnyHash::from_str(&log_root.to_string()).unwrap(),
                log_length: len as usize,
                map_root: AnyHash::from_str(&map_root.to_string()).unwrap(),
            },
            timestamp: ts,
        };
        let sig = tc.sign(&private).unwrap();
        let env = serde_json::json!({
            "contents": {"logRoot": log_root.to_string(), "logLength": len,
                          "mapRoot": map_root.to_string(), "timestamp": ts},
            "keyId": private.public_key().fingerprint().to_string(),
            "signature": sig.to_string(),
        });
        (env.to_string(), private.public_key().to_string())
    }

    #[test]
    fn reference_message_bytes() {
        // §1.2: length 13 and timestamp 1795898776 encode as 0d … 98fbacd806.
        let lr = format!("sha256:{}", "8d".repeat(32));
        let b = signed_bytes(13, &lr, &lr, 1795898776);
        let m = &b[SIGNATURE_PREFIX.len() + 1..];
        assert!(m.starts_with(CONTENT_PREFIX));
        assert_eq!(m[CONTENT_PREFIX.len()], 0x0d);
        assert_eq!(m[CONTENT_PREFIX.len() + 1], 0x47);
        assert!(m.ends_with(&hex::decode("98fbacd806").unwrap()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn crate_signature_verifies_and_tampering_fails(len in 1u64..1_000_000, ts in 0u64..u64::MAX / 2, a in any::<[u8;32]>(), m in any::<[u8;32]>()) {
            let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
            let (text, public) = oracle_signed(&key, len, &Sha256Hash(a), &Sha256Hash(m), ts);
            let cp = Checkpoint::parse(&text).unwrap();
            prop_assert_eq!(&public, &key.public_key());
            cp.verify(&public).unwrap();
            // Our own signing (RFC 6979, deterministic) reproduces the crate's signature string.
            let ours = sign_contents(&key, &cp.envelope.contents);
            prop_assert_eq!(&ours.signature, &cp.signature);
            prop_assert_eq!(&ours.key_id, &cp.key_id);
            let mut bumped = cp.envelope.clone();
            bumped.contents.timestamp = bumped.contents.timestamp.wrapping_add(1);
            prop_assert!(Checkpoint::from_signed(bumped).unwrap().verify(&public).is_err());
            let other = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
            prop_assert!(cp.verify(&other.public_key()).is_err());
        }

        #[test]
        fn random_text_never_panics(s in ".{0,300}") {
            if let Ok(cp) = Checkpoint::parse(&s) {
                let _ = cp.verify("ecdsa-p256:AAAA");
            }
            let _ = verify_signature(&s, b"x", &s);
        }
    }

    #[test]
    fn canonical_text_is_stable() {
        let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
        let (text, _) = oracle_signed(&key, 3, &Sha256Hash([1; 32]), &Sha256Hash([2; 32]), 9);
        let a = Checkpoint::parse(&text).unwrap();
        let b = Checkpoint::parse(&a.canonical).unwrap();
        assert_eq!(a.canonical, b.canonical);
        assert!(a.canonical.starts_with("{\"contents\":{\"logRoot\":"));
    }
}
