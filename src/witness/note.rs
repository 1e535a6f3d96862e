//! C2SP signed notes (signed-note v1.0.0), checkpoint bodies (tlog-checkpoint), verifier keys,
//! `cosignature/v1` (tlog-cosignature, Ed25519, type 0x04) and the private (0xff) line that
//! carries the warg operator's own checkpoint signature, so that a peer can check it without
//! asking the registry.
//!
//! The operator line (a wargdash mapping, not a standard): key name = the origin, key ID =
//! `SHA-256(origin ‖ 0x0A ‖ 0xff ‖ "warg-checkpoint/v0" ‖ SEC1 public key)[:4]`, signature bytes
//! = `u64 BE timestamp ‖ mapRoot[32] ‖ DER ECDSA`. A verifier rebuilds warg's signed bytes
//! (`WARG-CHECKPOINT-SIGNATURE-V0:` ‖ `WARG-TIMESTAMPED-CHECKPOINT-V0` ‖ LEB128 len ‖ roots ‖
//! LEB128 timestamp) from the body and these fields, and checks them with the operator key.

use crate::ids::{KeyId, Sha256Hash};
use crate::trust::checkpoint::{signed_bytes, verify_signature};
use crate::trust::{bail_trust, TrustError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer, Verifier};
use sha2::{Digest, Sha256};

/// Signature type of `cosignature/v1`.
pub const TYPE_COSIGNATURE: u8 = 0x04;
/// Signature type of a private (non-standard) algorithm.
pub const TYPE_PRIVATE: u8 = 0xff;
/// What the private operator line's key ID is derived over, after the type byte.
pub const OPERATOR_LINE_TAG: &[u8] = b"warg-checkpoint/v0";
/// Signature lines in a note accepted at most (signed-note: "at least 16").
pub const MAX_SIGNATURES: usize = 100;
/// Longest note accepted (a genuine one is well under 1 KiB).
pub const MAX_NOTE: usize = 16 * 1024;

/// `SHA-256(name ‖ 0x0A ‖ rest)[:4]`.
pub fn key_id(name: &str, rest: &[&[u8]]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a]);
    for r in rest {
        h.update(r);
    }
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// A key name as the spec allows: non-empty, no whitespace, no `+`.
pub fn check_name(name: &str) -> Result<(), TrustError> {
    if name.is_empty()
        || name.len() > 256
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        bail_trust!(
            "`{}` is not a note key name (non-empty, no spaces, no `+`)",
            crate::text::clean(name)
        );
    }
    Ok(())
}

/// A cosigner's verifier key: name, key ID and Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignerKey {
    pub name: String,
    pub id: [u8; 4],
    pub key: ed25519_dalek::VerifyingKey,
}

impl CosignerKey {
    pub fn new(name: &str, key: ed25519_dalek::VerifyingKey) -> Result<Self, TrustError> {
        check_name(name)?;
        let id = key_id(name, &[&[TYPE_COSIGNATURE], key.as_bytes()]);
        Ok(Self {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// `name+hex(keyID)+base64(0x04 ‖ pk)`.
    pub fn vkey(&self) -> String {
        let mut b = vec![TYPE_COSIGNATURE];
        b.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id), B64.encode(b))
    }

    /// Parses a vkey; its key ID must match the one computed from name and key.
    pub fn parse_vkey(text: &str) -> Result<Self, TrustError> {
        let text = text.trim();
        // The name holds no `+`; the base64 may.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            bail_trust!("a verifier key is `name+hex(keyID)+base64(type ‖ key)`");
        };
        let raw = B64
            .decode(b64)
            .map_err(|e| TrustError(format!("verifier key: not base64: {e}")))?;
        if raw.len() != 33 || raw[0] != TYPE_COSIGNATURE {
            bail_trust!("verifier key: not a cosignature/v1 (0x04) Ed25519 key");
        }
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&raw[1..]);
        let key = ed25519_dalek::VerifyingKey::from_bytes(&pk)
            .map_err(|_| TrustError::new("verifier key: not an Ed25519 point"))?;
        let k = Self::new(name, key)?;
        if hex::encode(k.id) != id_hex.to_ascii_lowercase() {
            bail_trust!("verifier key: key ID {id_hex} does not match the name and key");
        }
        Ok(k)
    }

    /// Verifies a `cosignature/v1` signature (`u64 t ‖ sig`) over `body`; returns `t`.
    pub fn verify_cosignature(&self, body: &str, sig: &[u8]) -> Result<u64, TrustError> {
        if sig.len() != 72 {
            bail_trust!(
                "a cosignature/v1 signature is 8 + 64 bytes, this one {}",
                sig.len()
            );
        }
        let mut tb = [0u8; 8];
        tb.copy_from_slice(&sig[..8]);
        let t = u64::from_be_bytes(tb);
        let s = ed25519_dalek::Signature::from_slice(&sig[8..])
            .map_err(|_| TrustError::new("cosignature: malformed Ed25519 signature"))?;
        self.key
            .verify(&cosigned_message(body, t), &s)
            .map_err(|_| TrustError::new("cosignature does not verify"))?;
        Ok(t)
    }
}

/// `cosignature/v1\ntime <t>\n<body>`.
pub fn cosigned_message(body: &str, t: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {t}\n{body}").into_bytes()
}

/// Signs `body` as `cosignature/v1` at `t`: `keyID ‖ u64 t ‖ sig` (what goes after the name).
pub fn cosign(
    signer: &ed25519_dalek::SigningKey,
    key: &CosignerKey,
    body: &str,
    t: u64,
) -> Vec<u8> {
    let sig = signer.sign(&cosigned_message(body, t));
    let mut out = Vec::with_capacity(4 + 8 + 64);
    out.extend_from_slice(&key.id);
    out.extend_from_slice(&t.to_be_bytes());
    out.extend_from_slice(&sig.to_bytes());
    out
}

/// A checkpoint body: `<origin>\n<size>\n<base64 root>\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub origin: String,
    pub size: u64,
    pub root: Sha256Hash,
}

impl Body {
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root.0)
        )
    }

    /// Parses a checkpoint body (extension lines are refused: warg has none).
    pub fn parse(text: &str) -> Result<Self, TrustError> {
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        if !text.ends_with('\n') || lines.len() != 3 {
            bail_trust!("a checkpoint body is three lines: origin, size, base64 root");
        }
        if lines[0].is_empty() {
            bail_trust!("checkpoint origin is empty");
        }
        let size_ok = !lines[1].is_empty()
            && lines[1].bytes().all(|b| b.is_ascii_digit())
            && (lines[1] == "0" || !lines[1].starts_with('0'));
        let size: u64 = match lines[1].parse() {
            Ok(s) if size_ok => s,
            _ => bail_trust!(
                "checkpoint size `{}` is not a decimal number",
                crate::text::clean(lines[1])
            ),
        };
        let raw = B64
            .decode(lines[2])
            .map_err(|e| TrustError(format!("checkpoint root is not base64: {e}")))?;
        let root: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| TrustError::new("checkpoint root is not 32 bytes"))?;
        Ok(Self {
            origin: lines[0].to_string(),
            size,
            root: Sha256Hash(root),
        })
    }
}

/// One signature line: key name and the decoded `keyID ‖ signature` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigLine {
    pub name: String,
    pub id: [u8; 4],
    pub sig: Vec<u8>,
}

impl SigLine {
    pub fn text(&self) -> String {
        let mut b = self.id.to_vec();
        b.extend_from_slice(&self.sig);
        format!("\u{2014} {} {}\n", self.name, B64.encode(b))
    }
}

/// A signed note: its text (ending in `\n`) and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub sigs: Vec<SigLine>,
}

impl Note {
    pub fn render(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.sigs {
            out.push_str(&s.text());
        }
        out
    }

    pub fn parse(note: &str) -> Result<Self, TrustError> {
        if note.len() > MAX_NOTE {
            bail_trust!("note is {} bytes, more than {MAX_NOTE}", note.len());
        }
        let Some(split) = note.rfind("\n\n") else {
            bail_trust!("not a signed note: no blank line before the signatures");
        };
        let text = &note[..split + 1];
        let sigs_text = &note[split + 2..];
        if !sigs_text.ends_with('\n') || sigs_text.len() < 2 {
            bail_trust!("not a signed note: no signature lines");
        }
        let mut sigs = Vec::new();
        for line in sigs_text.split_terminator('\n') {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                bail_trust!(
                    "malformed signature line `{}`",
                    crate::text::clean(&line.chars().take(80).collect::<String>())
                );
            };
            let Some((name, b64)) = rest.split_once(' ') else {
                bail_trust!("malformed signature line: no signature");
            };
            check_name(name)?;
            let raw = B64.decode(b64).map_err(|e| {
                TrustError(format!(
                    "signature line of `{}`: not base64: {e}",
                    crate::text::clean(name)
                ))
            })?;
            if raw.len() < 5 {
                bail_trust!(
                    "signature line of `{}` is too short",
                    crate::text::clean(name)
                );
            }
            sigs.push(SigLine {
                name: name.to_string(),
                id: [raw[0], raw[1], raw[2], raw[3]],
                sig: raw[4..].to_vec(),
            });
            if sigs.len() > MAX_SIGNATURES {
                bail_trust!("note has more than {MAX_SIGNATURES} signatures");
            }
        }
        if text.contains('\u{0}') || text.chars().any(|c| c.is_control() && c != '\n') {
            bail_trust!("note text holds control characters");
        }
        Ok(Self {
            text: text.to_string(),
            sigs,
        })
    }

    /// The line signed by `name` with key ID `id`, if any.
    pub fn find(&self, name: &str, id: [u8; 4]) -> Option<&SigLine> {
        self.sigs.iter().find(|s| s.name == name && s.id == id)
    }
}

/// The operator's own checkpoint signature, as carried in the private line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSig {
    pub timestamp: u64,
    pub map_root: Sha256Hash,
    /// DER ECDSA P-256.
    pub der: Vec<u8>,
}

/// The SEC1 bytes of `ecdsa-p256:<base64>`.
fn sec1(public_key: &str) -> Result<Vec<u8>, TrustError> {
    let Some(b) = public_key.strip_prefix("ecdsa-p256:") else {
        bail_trust!("operator key is not an ecdsa-p256 key");
    };
    B64.decode(b.trim())
        .map_err(|e| TrustError(format!("operator key is not base64: {e}")))
}

/// The key ID of the operator line for `origin` and the operator key text.
pub fn operator_line_id(origin: &str, public_key: &str) -> Result<[u8; 4], TrustError> {
    Ok(key_id(
        origin,
        &[&[TYPE_PRIVATE], OPERATOR_LINE_TAG, &sec1(public_key)?],
    ))
}

impl OperatorSig {
    /// From a warg signature text `ecdsa-p256:<base64 DER>`.
    pub fn from_warg(
        timestamp: u64,
        map_root: Sha256Hash,
        signature: &str,
    ) -> Result<Self, TrustError> {
        let Some(b) = signature.strip_prefix("ecdsa-p256:") else {
            bail_trust!("checkpoint signature is not `ecdsa-p256:<base64 DER>`");
        };
        let der = B64
            .decode(b.trim())
            .map_err(|e| TrustError(format!("checkpoint signature is not base64: {e}")))?;
        Ok(Self {
            timestamp,
            map_root,
            der,
        })
    }

    pub fn line(&self, origin: &str, public_key: &str) -> Result<SigLine, TrustError> {
        let mut sig = self.timestamp.to_be_bytes().to_vec();
        sig.extend_from_slice(&self.map_root.0);
        sig.extend_from_slice(&self.der);
        Ok(SigLine {
            name: origin.to_string(),
            id: operator_line_id(origin, public_key)?,
            sig,
        })
    }

    pub fn from_line(line: &SigLine) -> Result<Self, TrustError> {
        if line.sig.len() < 8 + 32 + 8 || line.sig.len() > 8 + 32 + 80 {
            bail_trust!(
                "operator line has the wrong size ({} bytes)",
                line.sig.len()
            );
        }
        let mut tb = [0u8; 8];
        tb.copy_from_slice(&line.sig[..8]);
        let mut mr = [0u8; 32];
        mr.copy_from_slice(&line.sig[8..40]);
        Ok(Self {
            timestamp: u64::from_be_bytes(tb),
            map_root: Sha256Hash(mr),
            der: line.sig[40..].to_vec(),
        })
    }

    /// The warg signature text.
    pub fn warg_signature(&self) -> String {
        format!("ecdsa-p256:{}", B64.encode(&self.der))
    }

    /// Verifies warg's checkpoint signature for `body` with the operator key text.
    pub fn verify(&self, body: &Body, public_key: &str) -> Result<(), TrustError> {
        let bytes = signed_bytes(
            body.size,
            &body.root.to_string(),
            &self.map_root.to_string(),
            self.timestamp,
        );
        verify_signature(public_key, &bytes, &self.warg_signature())
    }

    /// The warg envelope this line and `body` stand for (evidence anyone can check).
    pub fn envelope(&self, body: &Body, public_key: &str) -> serde_json::Value {
        serde_json::json!({
            "contents": {
                "logRoot": body.root.to_string(),
                "logLength": body.size,
                "mapRoot": self.map_root.to_string(),
                "timestamp": self.timestamp,
            },
            "keyId": KeyId::for_public_key(public_key).to_string(),
            "signature": self.warg_signature(),
        })
    }
}

/// A note checked against a pinned cosigner and the operator's commit keys.
#[derive(Debug, Clone)]
pub struct CheckedNote {
    pub body: Body,
    pub note: Note,
    /// The cosignature's time.
    pub cosigned_at: u64,
    pub operator: OperatorSig,
    /// The operator key text that verified it.
    pub operator_key: String,
}

/// Why a note was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteError {
    /// Not a note, or not a checkpoint for this origin.
    Malformed(String),
    /// No cosignature by the pinned cosigner, or it does not verify.
    Cosignature(String),
    /// No operator line by a known operator key, or it does not verify.
    Operator(String),
}

impl std::fmt::Display for NoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed note: {e}"),
            Self::Cosignature(e) => write!(f, "cosignature: {e}"),
            Self::Operator(e) => write!(f, "operator signature: {e}"),
        }
    }
}

/// The operator line of `note` verified with one of `operator_keys` (key text), for `body`.
pub fn check_operator(
    note: &Note,
    body: &Body,
    operator_keys: &[String],
) -> Result<(OperatorSig, String), NoteError> {
    for pk in operator_keys {
        let Ok(id) = operator_line_id(&body.origin, pk) else {
            continue;
        };
        if let Some(line) = note.find(&body.origin, id) {
            let op =
                OperatorSig::from_line(line).map_err(|e| NoteError::Operator(e.to_string()))?;
            op.verify(body, pk)
                .map_err(|e| NoteError::Operator(e.to_string()))?;
            return Ok((op, pk.clone()));
        }
    }
    Err(NoteError::Operator(
        "no signature line by a known operator key".into(),
    ))
}

/// Parses and checks a peer's note: origin, a valid cosignature by `cosigner`, a valid operator
/// line.
pub fn check_note(
    text: &str,
    origin: &str,
    cosigner: &CosignerKey,
    operator_keys: &[String],
) -> Result<CheckedNote, NoteError> {
    let note = Note::parse(text).map_err(|e| NoteError::Malformed(e.to_string()))?;
    let body = Body::parse(&note.text).map_err(|e| NoteError::Malformed(e.to_string()))?;
    if body.origin != origin {
        return Err(NoteError::Malformed(format!(
            "origin `{}` is not `{origin}`",
            crate::text::clean(&body.origin)
        )));
    }
    let line = note
        .find(&cosigner.name, cosigner.id)
        .ok_or_else(|| NoteError::Cosignature(format!("no line by {}", cosigner.name)))?;
    let cosigned_at = cosigner
        .verify_cosignature(&note.text, &line.sig)
        .map_err(|e| NoteError::Cosignature(e.to_string()))?;
    let (operator, operator_key) = check_operator(&note, &body, operator_keys)?;
    Ok(CheckedNote {
        body,
        note,
        cosigned_at,
        operator,
        operator_key,
    })
}

/// The default origin for a registry URL: its host (and port) and path, without scheme or a
/// trailing `/`.
pub fn default_origin(registry: &str) -> String {
    match url::Url::parse(registry) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{host}{port}{}", u.path().trim_end_matches('/'))
        }
        Err(_) => registry.trim_end_matches('/').to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> (ed25519_dalek::SigningKey, CosignerKey) {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let k = CosignerKey::new("w.example", sk.verifying_key()).unwrap();
        (sk, k)
    }

    #[test]
    fn vkeys_round_trip_and_a_wrong_id_is_refused() {
        // Keys whose base64 holds a `+` too.
        for seed in 0..64u8 {
            let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            let k = CosignerKey::new("w", sk.verifying_key()).unwrap();
            assert_eq!(
                CosignerKey::parse_vkey(&k.vkey()).unwrap(),
                k,
                "{}",
                k.vkey()
            );
        }
        let (_, k) = signer();
        let v = k.vkey();
        assert_eq!(CosignerKey::parse_vkey(&v).unwrap(), k);
        let mut bad = v.clone();
        let i = bad.find('+').unwrap() + 1;
        bad.replace_range(i..i + 1, if &v[i..i + 1] == "0" { "1" } else { "0" });
        assert!(CosignerKey::parse_vkey(&bad).is_err());
    }

    #[test]
    fn a_cosigned_note_round_trips_and_a_changed_body_fails() {
        let (sk, k) = signer();
        let body = Body {
            origin: "example.org/log".into(),
            size: 9,
            root: Sha256Hash([3u8; 32]),
        };
        let text = body.text();
        let sig = cosign(&sk, &k, &text, 1234);
        let note = Note {
            text: text.clone(),
            sigs: vec![SigLine {
                name: k.name.clone(),
                id: k.id,
                sig: sig[4..].to_vec(),
            }],
        };
        let parsed = Note::parse(&note.render()).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(Body::parse(&parsed.text).unwrap(), body);
        let line = parsed.find(&k.name, k.id).unwrap();
        assert_eq!(k.verify_cosignature(&parsed.text, &line.sig).unwrap(), 1234);
        let other = text.replace("\n9\n", "\n10\n");
        assert!(k.verify_cosignature(&other, &line.sig).is_err());
    }

    #[test]
    fn bodies_refuse_leading_zeros_and_extra_lines() {
        assert!(Body::parse("o\n09\nAAAA\n").is_err());
        assert!(Body::parse("o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx\n").is_err());
    }

    #[test]
    fn default_origins_are_host_and_path() {
        assert_eq!(default_origin("http://127.0.0.1:8090/"), "127.0.0.1:8090");
        assert_eq!(
            default_origin("https://reg.example.org/warg"),
            "reg.example.org/warg"
        );
    }
}
