//! Witnessing: a monitor cosigns (C2SP `cosignature/v1`) the checkpoints its trust cycle
//! verified, serves them as signed notes, compares them with its peers' to catch a split view,
//! and accepts `add-checkpoint` (C2SP tlog-witness) for its origin. See `docs/witness.md`.
//!
//! [`note`] (signed notes, vkeys, cosignatures, the operator line), [`tlog`] (RFC 6962
//! consistency proofs), [`store`] (what is cosigned, the peers' last comparison), [`peer`]
//! (fetching and comparing a peer's note), [`metrics`] (Prometheus), [`server`] (the HTTP side).

pub mod metrics;
pub mod note;
pub mod peer;
pub mod server;
pub mod store;
pub mod tlog;

use crate::keys::{Algorithm, KeyStore, SigningKey};
use crate::trust::checkpoint::Checkpoint;
use crate::trust::db::TrustDb;
use crate::trust::{bail_trust, TrustError};
use note::{Body, CosignerKey, Note, OperatorSig, SigLine};
use store::{Cosigned, WitnessDb};

/// The key store name of the witness key unless another is given.
pub const DEFAULT_KEY: &str = "witness";

/// This monitor's witness key: the Ed25519 signing key and its verifier key. Its note name is
/// the key's name in the key store.
pub struct WitnessKey {
    signer: ed25519_dalek::SigningKey,
    pub key: CosignerKey,
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WitnessKey({})", self.key.vkey())
    }
}

impl WitnessKey {
    pub fn from_signing(name: &str, key: &SigningKey) -> Result<Self, TrustError> {
        let SigningKey::Ed25519(sk) = key else {
            bail_trust!("the witness key `{name}` is not an ed25519 key");
        };
        Ok(Self {
            signer: sk.clone(),
            key: CosignerKey::new(name, sk.verifying_key())?,
        })
    }

    /// The key named `name`, created (Ed25519, 0600) if the store has none.
    pub fn load_or_create(keys: &KeyStore, name: &str) -> color_eyre::Result<(Self, bool)> {
        use color_eyre::eyre::WrapErr;
        note::check_name(name)?;
        let exists = keys
            .list()
            .wrap_err("listing the key store")?
            .iter()
            .any(|k| k.name == name);
        let created = !exists;
        let key = if exists {
            keys.load(name)?
        } else {
            let k = SigningKey::generate(Algorithm::Ed25519)?;
            match keys.save(name, &k) {
                Ok(_) => k,
                // Another process created it first: use that one.
                Err(_) => keys.load(name)?,
            }
        };
        Ok((Self::from_signing(name, &key)?, created))
    }

    /// The `cosignature/v1` line over `body` at time `t`.
    pub fn cosign_line(&self, body: &str, t: u64) -> SigLine {
        let raw = note::cosign(&self.signer, &self.key, body, t);
        SigLine {
            name: self.key.name.clone(),
            id: self.key.id,
            sig: raw[4..].to_vec(),
        }
    }
}

/// Cosigns `cp` — a checkpoint a full cycle verified for `registry` — for `origin`, and stores
/// the note before returning it. Refused (stored nothing) when a larger size or another root
/// for this size is already cosigned.
pub fn cosign_verified(
    wdb: &mut WitnessDb,
    tdb: &TrustDb,
    key: &WitnessKey,
    registry: &str,
    origin: &str,
    cp: &Checkpoint,
    now: u64,
) -> Result<Cosigned, TrustError> {
    let state = tdb
        .load_state(registry)?
        .ok_or_else(|| TrustError::new("nothing verified for this registry yet"))?;
    let verified = state
        .checkpoint
        .as_ref()
        .ok_or_else(|| TrustError::new("no verified checkpoint"))?;
    if verified.log_length != cp.log_length || verified.log_root != cp.log_root {
        bail_trust!(
            "checkpoint {} is not the verified one ({})",
            cp.log_length,
            verified.log_length
        );
    }
    let pk = cp
        .key_id()
        .and_then(|k| state.commit_keys.get(&k).cloned())
        .ok_or_else(|| TrustError::new("the checkpoint's key is not a verified commit key"))?;
    let body = Body {
        origin: origin.to_string(),
        size: cp.log_length,
        root: cp.log_root,
    };
    let text = body.text();
    let op = OperatorSig::from_warg(cp.timestamp, cp.map_root, &cp.signature)?;
    let note = Note {
        text: text.clone(),
        sigs: vec![op.line(origin, &pk)?, key.cosign_line(&text, now)],
    };
    let c = Cosigned {
        origin: origin.to_string(),
        registry: registry.to_string(),
        size: cp.log_length,
        root: cp.log_root,
        op_timestamp: cp.timestamp,
        cosigned_at: now,
        note: note.render(),
        envelope: cp.canonical.clone(),
    };
    wdb.save_cosigned(&c)?;
    Ok(c)
}

/// The operator keys (text) allowed to sign checkpoints, from the last clean cycle.
pub fn operator_keys(tdb: &TrustDb, registry: &str) -> Result<Vec<String>, TrustError> {
    Ok(tdb
        .load_state(registry)?
        .map(|s| s.commit_keys.into_values().collect())
        .unwrap_or_default())
}
