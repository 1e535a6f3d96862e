//! Building, encoding and signing package records, and computing their record IDs.

pub mod proto;

use crate::ids::{ContentDigest, KeyId, RecordId};
use crate::keys::SigningKey;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use color_eyre::eyre::{bail, eyre, Result};
use prost::Message;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

pub const PACKAGE_RECORD_SIGNATURE_PREFIX: &[u8] = b"WARG-PACKAGE-RECORD-SIGNATURE-V0";

/// A package permission a key can be granted or have revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Release,
    Yank,
}

impl Permission {
    fn proto(self) -> i32 {
        match self {
            Self::Release => proto::PackagePermission::Release as i32,
            Self::Yank => proto::PackagePermission::Yank as i32,
        }
    }

    /// Parses `release`, `yank`, or a comma-separated list of them.
    pub fn parse_list(s: &str) -> Result<Vec<Permission>> {
        let mut out = Vec::new();
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let perm = match p {
                "release" => Self::Release,
                "yank" => Self::Yank,
                other => {
                    bail!("unknown permission `{other}` (use `release`, `yank` or `release,yank`)")
                }
            };
            if !out.contains(&perm) {
                out.push(perm);
            }
        }
        if out.is_empty() {
            bail!("no permission given (use `release`, `yank` or `release,yank`)");
        }
        Ok(out)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Release => "release",
            Self::Yank => "yank",
        })
    }
}

/// One entry of a package record, in wargdash's own terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Entry {
    Init {
        #[serde(rename = "publicKey")]
        public_key: String,
    },
    Grant {
        #[serde(rename = "publicKey")]
        public_key: String,
        permissions: Vec<Permission>,
    },
    Revoke {
        #[serde(rename = "keyId")]
        key_id: KeyId,
        permissions: Vec<Permission>,
    },
    Release {
        version: String,
        digest: ContentDigest,
    },
    Yank {
        version: String,
    },
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let perms = |p: &[Permission]| {
            p.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Entry::Init { public_key } => write!(f, "init key {public_key}"),
            Entry::Grant {
                public_key,
                permissions,
            } => write!(f, "grant {} to {public_key}", perms(permissions)),
            Entry::Revoke {
                key_id,
                permissions,
            } => write!(f, "revoke {} from {key_id}", perms(permissions)),
            Entry::Release { version, digest } => write!(f, "release {version} content {digest}"),
            Entry::Yank { version } => write!(f, "yank {version}"),
        }
    }
}

impl Entry {
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Init { .. } => "init",
            Entry::Grant { .. } => "grant",
            Entry::Revoke { .. } => "revoke",
            Entry::Release { .. } => "release",
            Entry::Yank { .. } => "yank",
        }
    }

    /// Checks what the registry would refuse synchronously (bad versions, key strings).
    pub fn validate(&self) -> Result<()> {
        match self {
            Entry::Release { version, .. } | Entry::Yank { version } => {
                semver::Version::parse(version)
                    .map_err(|e| eyre!("version `{version}` is not semver (e.g. 1.0.0): {e}"))?;
            }
            Entry::Init { public_key } | Entry::Grant { public_key, .. } => {
                validate_public_key(public_key)?;
            }
            Entry::Revoke { .. } => {}
        }
        Ok(())
    }

    fn to_proto(&self) -> proto::PackageEntry {
        use proto::Contents;
        let contents = match self {
            Entry::Init { public_key } => Contents::Init(proto::PackageInit {
                key: public_key.clone(),
                hash_algorithm: "sha256".into(),
            }),
            Entry::Grant {
                public_key,
                permissions,
            } => Contents::GrantFlat(proto::PackageGrantFlat {
                key: public_key.clone(),
                permissions: permissions.iter().map(|p| p.proto()).collect(),
            }),
            Entry::Revoke {
                key_id,
                permissions,
            } => Contents::RevokeFlat(proto::PackageRevokeFlat {
                key_id: key_id.to_string(),
                permissions: permissions.iter().map(|p| p.proto()).collect(),
            }),
            Entry::Release { version, digest } => Contents::Release(proto::PackageRelease {
                version: version.clone(),
                content_hash: digest.to_string(),
            }),
            Entry::Yank { version } => Contents::Yank(proto::PackageYank {
                version: version.clone(),
            }),
        };
        proto::PackageEntry {
            contents: Some(contents),
        }
    }

    fn from_proto(e: &proto::PackageEntry) -> Result<Self> {
        use proto::Contents;
        let perms = |p: &[i32]| -> Result<Vec<Permission>> {
            p.iter()
                .map(|v| match *v {
                    1 => Ok(Permission::Release),
                    2 => Ok(Permission::Yank),
                    other => Err(eyre!("unknown permission value {other}")),
                })
                .collect()
        };
        Ok(
            match e
                .contents
                .as_ref()
                .ok_or_else(|| eyre!("entry has no content"))?
            {
                Contents::Init(i) => Entry::Init {
                    public_key: i.key.clone(),
                },
                Contents::GrantFlat(g) => Entry::Grant {
                    public_key: g.key.clone(),
                    permissions: perms(&g.permissions)?,
                },
                Contents::RevokeFlat(r) => Entry::Revoke {
                    key_id: r.key_id.parse().map_err(|e| eyre!("{e}"))?,
                    permissions: perms(&r.permissions)?,
                },
                Contents::Release(r) => Entry::Release {
                    version: r.version.clone(),
                    digest: r.content_hash.parse().map_err(|e| eyre!("{e}"))?,
                },
                Contents::Yank(y) => Entry::Yank {
                    version: y.version.clone(),
                },
            },
        )
    }
}

/// Checks a public key string (`ecdsa-p256:<base64 SEC1>` or `ed25519:<base64 32 bytes>`).
pub fn validate_public_key(text: &str) -> Result<()> {
    let (algo, b64) = text
        .split_once(':')
        .ok_or_else(|| eyre!("public key must look like `ecdsa-p256:<base64>`"))?;
    // The algorithm first: `rsa:abc` and `rsa:AAAA` both say the algorithm is unknown, whatever
    // the text after it.
    if !matches!(algo, "ecdsa-p256" | "ed25519") {
        bail!("unknown key algorithm `{algo}` in public key (use `ecdsa-p256` or `ed25519`)");
    }
    let bytes = B64
        .decode(b64)
        .map_err(|e| eyre!("public key is not valid base64: {e}"))?;
    if algo == "ecdsa-p256" {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes)
            .map_err(|_| eyre!("public key is not a valid P-256 point"))?;
    } else {
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| eyre!("ed25519 public key must be 32 bytes"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&arr)
            .map_err(|_| eyre!("not a valid ed25519 public key"))?;
    }
    Ok(())
}

/// A record timestamp (Unix seconds + nanos), as in `google.protobuf.Timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordTime {
    pub seconds: i64,
    pub nanos: i32,
}

impl RecordTime {
    pub fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }
    }
}

/// The content of a package record before signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordContent {
    pub prev: Option<RecordId>,
    pub time: RecordTime,
    pub entries: Vec<Entry>,
}

impl RecordContent {
    /// The exact protobuf bytes that are signed and sent as `contentBytes`.
    pub fn encode(&self) -> Vec<u8> {
        proto::PackageRecord {
            prev: self.prev.map(|p| p.to_string()),
            version: 0,
            time: Some(proto::Timestamp {
                seconds: self.time.seconds,
                nanos: self.time.nanos,
            }),
            entries: self.entries.iter().map(Entry::to_proto).collect(),
        }
        .encode_to_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let rec = proto::PackageRecord::decode(bytes)
            .map_err(|e| eyre!("record content is not a valid package record: {e}"))?;
        let time = rec.time.ok_or_else(|| eyre!("record has no timestamp"))?;
        Ok(Self {
            prev: rec
                .prev
                .map(|p| p.parse())
                .transpose()
                .map_err(|e| eyre!("{e}"))?,
            time: RecordTime {
                seconds: time.seconds,
                nanos: time.nanos,
            },
            entries: rec
                .entries
                .iter()
                .map(Entry::from_proto)
                .collect::<Result<_>>()?,
        })
    }

    pub fn sign(&self, key: &SigningKey) -> SignedRecord {
        let content_bytes = self.encode();
        let signature = key.sign_prefixed(PACKAGE_RECORD_SIGNATURE_PREFIX, &content_bytes);
        SignedRecord {
            record_id: RecordId::for_package_record(&content_bytes),
            envelope: Envelope {
                content_bytes,
                key_id: key.key_id(),
                signature,
            },
        }
    }
}

/// The JSON envelope `{contentBytes, keyId, signature}` the registry receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    #[serde(with = "b64")]
    pub content_bytes: Vec<u8>,
    pub key_id: KeyId,
    pub signature: String,
}

#[derive(Debug, Clone)]
pub struct SignedRecord {
    pub record_id: RecordId,
    pub envelope: Envelope,
}

mod b64 {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI init record captured in warg-protocol.md §4.1, re-encoded byte for byte.
    #[test]
    fn reproduces_the_captured_cli_init_record() {
        let captured = B64
            .decode("GgwI++2s2AYQisb01QMiQwpBCjdlY2RzYS1wMjU2OkFnTjJYSlg3UUZRVlhuejRMMmk0V3FzdS9sN3BaYmVQSnhraVl1Zm9aYk1VEgZzaGEyNTY=")
            .unwrap();
        let content = RecordContent::decode(&captured).unwrap();
        assert_eq!(
            content.time,
            RecordTime {
                seconds: 1795897083,
                nanos: 985473802
            }
        );
        assert_eq!(content.encode(), captured);
        assert_eq!(
            RecordId::for_package_record(&captured).to_string(),
            "sha256:a26928fb4d1d632001d415a6c99b73710043e425e09a3879d85df980615f169f"
        );
    }

    #[test]
    fn permissions_parse() {
        assert_eq!(
            Permission::parse_list("release,yank").unwrap(),
            vec![Permission::Release, Permission::Yank]
        );
        assert!(Permission::parse_list("admin").is_err());
        assert!(Permission::parse_list("").is_err());
    }

    /// The algorithm is checked before the key text: an unknown algorithm is named whatever
    /// follows it, and a known one with bad text says what is wrong with the text.
    #[test]
    fn public_key_errors_name_the_algorithm_first() {
        let e = |t: &str| format!("{:#}", validate_public_key(t).unwrap_err());
        for t in ["rsa:abc", "rsa:AAAA", "rsa:"] {
            let msg = e(t);
            assert!(msg.contains("unknown key algorithm `rsa`"), "{t}: {msg}");
        }
        assert!(e("ed25519:abc").contains("not valid base64"));
        assert!(e("ecdsa-p256:AAAA").contains("not a valid P-256 point"));
        assert!(e("ed25519:AAAA").contains("must be 32 bytes"));
        assert!(e("nocolon").contains("must look like"));
    }
}
