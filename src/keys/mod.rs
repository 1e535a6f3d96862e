//! Signing keys: ecdsa-p256 (the only algorithm warg-server 0.10 accepts) and ed25519, in the text
//! formats the warg CLI uses, stored one file per key with mode 0600 in a 0700 directory.

use crate::ids::KeyId;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Algorithm {
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    #[serde(rename = "ed25519")]
    Ed25519,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ecdsa-p256" => Ok(Self::EcdsaP256),
            "ed25519" => Ok(Self::Ed25519),
            other => Err(format!(
                "unknown key algorithm `{other}` (use `ecdsa-p256` or `ed25519`)"
            )),
        }
    }
}

/// A private signing key. Its secret never appears in `Debug` output; the underlying key types
/// zeroize their memory on drop.
pub enum SigningKey {
    EcdsaP256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}, key id {})",
            self.algorithm(),
            self.key_id()
        )
    }
}

fn random_32() -> Result<Zeroizing<[u8; 32]>> {
    let mut buf = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(buf.as_mut()).map_err(|e| eyre!("the OS random source failed: {e}"))?;
    Ok(buf)
}

impl SigningKey {
    pub fn generate(algorithm: Algorithm) -> Result<Self> {
        match algorithm {
            Algorithm::EcdsaP256 => loop {
                // A uniformly random 32-byte string is a valid scalar with overwhelming probability;
                // retry in the astronomically rare case it is zero or above the group order.
                let bytes = random_32()?;
                if let Ok(k) = p256::ecdsa::SigningKey::from_slice(bytes.as_ref()) {
                    return Ok(Self::EcdsaP256(k));
                }
            },
            Algorithm::Ed25519 => {
                let bytes = random_32()?;
                Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes)))
            }
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::EcdsaP256(_) => Algorithm::EcdsaP256,
            Self::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Parses `ecdsa-p256:<base64 32-byte scalar>` or `ed25519:<base64 32-byte seed>`.
    /// Errors never echo the input (it is a secret).
    pub fn decode(text: &str) -> Result<Self> {
        let text = text.trim();
        let (algo, b64) = text.split_once(':').ok_or_else(|| {
            eyre!("not a private key: expected `ecdsa-p256:<base64>` or `ed25519:<base64>`")
        })?;
        let algorithm: Algorithm = algo.parse().map_err(|e: String| {
            // Name the algorithm only when it looks like one: the text before the first `:`
            // may as well be a pasted secret.
            if algo.len() < 12
                && algo
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                eyre!(e)
            } else {
                eyre!("not a private key: expected `ecdsa-p256:<base64>` or `ed25519:<base64>`")
            }
        })?;
        let bytes = Zeroizing::new(
            B64.decode(b64)
                .map_err(|e| eyre!("the {algorithm} private key is not valid base64: {e}"))?,
        );
        match algorithm {
            Algorithm::EcdsaP256 => p256::ecdsa::SigningKey::from_slice(&bytes)
                .map(Self::EcdsaP256)
                .map_err(|_| eyre!("the ecdsa-p256 private key must be a 32-byte scalar in range (got {} bytes)", bytes.len())),
            Algorithm::Ed25519 => {
                let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    eyre!("the ed25519 private key must be 32 bytes (got {})", bytes.len())
                })?;
                let seed = Zeroizing::new(seed);
                Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
            }
        }
    }

    /// The private key text. The only callers are the key file writer and `key export`.
    /// Every heap copy of the secret is zeroized when dropped: the bytes, their base64, and
    /// the text (sized up front so it never reallocates and leaves a copy behind).
    pub fn encode_private(&self) -> Zeroizing<String> {
        let bytes: Zeroizing<Vec<u8>> = match self {
            Self::EcdsaP256(k) => Zeroizing::new(k.to_bytes().to_vec()),
            Self::Ed25519(k) => Zeroizing::new(k.to_bytes().to_vec()),
        };
        let b64 = Zeroizing::new(B64.encode(bytes.as_slice()));
        let algorithm = self.algorithm().as_str();
        let mut text = Zeroizing::new(String::with_capacity(algorithm.len() + 2 + b64.len()));
        text.push_str(algorithm);
        text.push(':');
        text.push_str(&b64);
        text
    }

    /// The public key text: `ecdsa-p256:` + base64(SEC1 compressed point) or `ed25519:` + base64(32 bytes).
    pub fn public_key(&self) -> String {
        match self {
            Self::EcdsaP256(k) => format!(
                "ecdsa-p256:{}",
                B64.encode(k.verifying_key().to_encoded_point(true).as_bytes())
            ),
            Self::Ed25519(k) => format!("ed25519:{}", B64.encode(k.verifying_key().to_bytes())),
        }
    }

    pub fn key_id(&self) -> KeyId {
        KeyId::for_public_key(&self.public_key())
    }

    /// Signs `prefix ‖ ":" ‖ message` and returns the signature text
    /// (`ecdsa-p256:` + base64(DER) or `ed25519:` + base64(64 bytes)).
    pub fn sign_prefixed(&self, prefix: &[u8], message: &[u8]) -> String {
        let mut msg = Vec::with_capacity(prefix.len() + 1 + message.len());
        msg.extend_from_slice(prefix);
        msg.push(b':');
        msg.extend_from_slice(message);
        match self {
            Self::EcdsaP256(k) => {
                use p256::ecdsa::signature::Signer;
                let sig: p256::ecdsa::Signature = k.sign(&msg);
                format!("ecdsa-p256:{}", B64.encode(sig.to_der().as_bytes()))
            }
            Self::Ed25519(k) => {
                use ed25519_dalek::Signer;
                format!("ed25519:{}", B64.encode(k.sign(&msg).to_bytes()))
            }
        }
    }
}

/// A key as listed: name, algorithm, public key, key ID.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    pub name: String,
    pub algorithm: Algorithm,
    #[serde(rename = "publicKey")]
    pub public_key: String,
    #[serde(rename = "keyId")]
    pub key_id: KeyId,
}

impl KeyInfo {
    pub fn of(name: &str, key: &SigningKey) -> Self {
        Self {
            name: name.to_string(),
            algorithm: key.algorithm(),
            public_key: key.public_key(),
            key_id: key.key_id(),
        }
    }
}

/// The key directory: `<data dir>/keys/<name>.key`, 0700, files 0600.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

pub fn validate_key_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        || name.starts_with('.')
    {
        bail!("invalid key name `{name}`: use 1-64 characters from a-z, A-Z, 0-9, `-`, `_`, `.` (not starting with `.`)");
    }
    Ok(())
}

impl KeyStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        validate_key_name(name)?;
        Ok(self.dir.join(format!("{name}.key")))
    }

    fn ensure_dir(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .wrap_err_with(|| format!("creating key directory {}", self.dir.display()))?;
        set_mode(&self.dir, 0o700)
    }

    /// Stores a key under `name`; refuses to overwrite an existing key.
    pub fn save(&self, name: &str, key: &SigningKey) -> Result<PathBuf> {
        let path = self.path(name)?;
        if path.exists() {
            bail!(
                "a key named `{name}` already exists ({}); delete it first or pick another name",
                path.display()
            );
        }
        self.ensure_dir()?;
        let mut text = key.encode_private();
        // Capacity was left for the newline: no reallocation, no stray copy.
        text.push('\n');
        // The check above gives the friendly message; this is what makes it true: the file is
        // linked into place only if no other writer (a concurrent `key new --name` of the same
        // name) got there first.
        match crate::fsutil::write_new(&path, text.as_bytes(), 0o600) {
            Ok(()) => Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
                "a key named `{name}` already exists ({}); delete it first or pick another name",
                path.display()
            ),
            Err(e) => Err(e).wrap_err_with(|| format!("writing key file {}", path.display())),
        }
    }

    pub fn load(&self, name: &str) -> Result<SigningKey> {
        let path = self.path(name)?;
        if !path.exists() {
            let known = self
                .list()
                .map(|l| l.into_iter().map(|k| k.name).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            bail!(
                "no key named `{name}` in {} (known keys: {}); create one with `wargdash key new --name {name}`",
                self.dir.display(),
                if known.is_empty() { "none".to_string() } else { known }
            );
        }
        load_key_file(&path)
    }

    pub fn delete(&self, name: &str) -> Result<()> {
        let path = self.path(name)?;
        std::fs::remove_file(&path)
            .wrap_err_with(|| format!("deleting key file {}", path.display()))
    }

    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => {
                return Err(e)
                    .wrap_err_with(|| format!("reading key directory {}", self.dir.display()))
            }
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".key"))
            else {
                continue;
            };
            let key = load_key_file(&path)?;
            out.push(KeyInfo::of(name, &key));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Reads a private key file, refusing one that group or others can read (as ssh does).
pub fn load_key_file(path: &Path) -> Result<SigningKey> {
    crate::fsutil::refuse_readable(path, "key file")?;
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .wrap_err_with(|| format!("reading key file {}", path.display()))?,
    );
    SigningKey::decode(&text).wrap_err_with(|| {
        format!(
            "key file {} does not hold a valid private key",
            path.display()
        )
    })
}

pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .wrap_err_with(|| format!("setting mode {mode:o} on {}", path.display()))?;
    }
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_algorithms() {
        for algo in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
            let k = SigningKey::generate(algo).unwrap();
            let again = SigningKey::decode(&k.encode_private()).unwrap();
            assert_eq!(k.public_key(), again.public_key());
            assert!(k.public_key().starts_with(algo.as_str()));
        }
    }

    #[test]
    fn ed25519_signature_verifies_with_dalek() {
        let k = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let sig = k.sign_prefixed(b"WARG-PACKAGE-RECORD-SIGNATURE-V0", b"hello");
        let raw = B64.decode(sig.strip_prefix("ed25519:").unwrap()).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&raw).unwrap();
        let SigningKey::Ed25519(inner) = &k else {
            unreachable!()
        };
        inner
            .verifying_key()
            .verify_strict(b"WARG-PACKAGE-RECORD-SIGNATURE-V0:hello", &sig)
            .unwrap();
    }

    #[test]
    fn bad_key_text_never_echoes_the_secret() {
        let err = SigningKey::decode("ecdsa-p256:c2VjcmV0").unwrap_err();
        assert!(!format!("{err:#}").contains("c2VjcmV0"));
        let rsa = format!("{:#}", SigningKey::decode("rsa:AAAA").unwrap_err());
        assert!(rsa.contains("unknown key algorithm `rsa`"), "{rsa}");
        // Text before the colon that is no algorithm name is not echoed either.
        let pasted = format!(
            "{:#}",
            SigningKey::decode("c2VjcmV0c2VjcmV0:x").unwrap_err()
        );
        assert!(!pasted.contains("c2VjcmV0"), "{pasted}");
        assert!(SigningKey::decode("nocolon").is_err());
    }

    #[test]
    fn refuses_group_readable_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path().join("keys"));
        let k = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
        let path = store.save("op", &k).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        set_mode(&path, 0o644).unwrap();
        let err = format!("{:#}", store.load("op").unwrap_err());
        assert!(err.contains("chmod 600"), "{err}");
    }
}
