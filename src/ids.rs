//! Typed identifiers: `sha256:<hex>` hashes (log IDs, record IDs, key IDs, content digests) and
//! package names, parsed at the edge with specific errors and derived exactly as warg-protocol does.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Why an `algo:hex` string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashParseError {
    MissingAlgorithm,
    UnsupportedAlgorithm(String),
    Uppercase,
    NotHex(char),
    WrongLength(usize),
}

impl fmt::Display for HashParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingAlgorithm => write!(
                f,
                "expected `sha256:<64 hex digits>`, found no `algorithm:` prefix"
            ),
            Self::UnsupportedAlgorithm(a) => {
                write!(f, "unsupported hash algorithm `{a}` (only `sha256` exists)")
            }
            Self::Uppercase => write!(
                f,
                "hash contains uppercase hex digits (warg IDs are lowercase)"
            ),
            Self::NotHex(c) => write!(f, "hash contains `{c}`, which is not a hex digit"),
            Self::WrongLength(n) => write!(f, "hash has {n} hex digits; sha256 needs 64"),
        }
    }
}

impl std::error::Error for HashParseError {}

/// A SHA-256 hash in warg's `sha256:<hex>` text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hash(pub [u8; 32]);

impl Sha256Hash {
    /// Hashes `parts` concatenated.
    pub fn of(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Self(h.finalize().into())
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Sha256Hash {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (algo, hex_part) = s.split_once(':').ok_or(HashParseError::MissingAlgorithm)?;
        if algo != "sha256" {
            return Err(HashParseError::UnsupportedAlgorithm(algo.to_string()));
        }
        // The common case in one pass (a dashboard start parses tens of thousands of IDs);
        // anything else goes through the checks below for its specific error.
        if let Some(out) = decode_lower_hex_32(hex_part.as_bytes()) {
            return Ok(Self(out));
        }
        if let Some(c) = hex_part.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(HashParseError::NotHex(c));
        }
        if hex_part.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(HashParseError::Uppercase);
        }
        if hex_part.len() != 64 {
            return Err(HashParseError::WrongLength(hex_part.len()));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out)
            .map_err(|_| HashParseError::WrongLength(hex_part.len()))?;
        Ok(Self(out))
    }
}

/// 64 lowercase hex digits to 32 bytes; `None` for anything else.
fn decode_lower_hex_32(hex: &[u8]) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *o = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

macro_rules! typed_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A ", $what, " (`sha256:<hex>`).")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(pub Sha256Hash);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                s.parse().map(Self).map_err(|source| IdError {
                    what: $what,
                    input: s.chars().take(80).collect(),
                    source,
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// The first `n` hex digits, for narrow table columns.
            pub fn short(&self, n: usize) -> String {
                let hex = self.0.hex();
                hex[..n.min(hex.len())].to_string()
            }
        }
    };
}

typed_id!(LogId, "log ID");
typed_id!(RecordId, "record ID");
typed_id!(KeyId, "key ID");
typed_id!(ContentDigest, "content digest");

/// A malformed ID, naming which kind of ID and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    pub what: &'static str,
    pub input: String,
    pub source: HashParseError,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed {} `{}`: {}",
            self.what, self.input, self.source
        )
    }
}

impl std::error::Error for IdError {}

impl LogId {
    /// The log ID of a package, as `warg_protocol::registry::LogId::package_log` derives it.
    pub fn for_package(name: &PackageName) -> Self {
        let n = name.as_str().as_bytes();
        let len = leb128(n.len() as u64);
        Self(Sha256Hash::of(&[
            b"WARG-PACKAGE-LOG-ID-V0:",
            b"WARG-PACKAGE-ID-V0",
            &len,
            n,
        ]))
    }
}

impl RecordId {
    /// The ID of a package record: a hash of its exact content bytes.
    pub fn for_package_record(content_bytes: &[u8]) -> Self {
        Self(Sha256Hash::of(&[
            b"WARG-PACKAGE-LOG-RECORD-V0:",
            content_bytes,
        ]))
    }
}

impl KeyId {
    /// The ID of a public key: a hash of its text form (`ecdsa-p256:<base64>`).
    pub fn for_public_key(public_key: &str) -> Self {
        Self(Sha256Hash::of(&[public_key.as_bytes()]))
    }
}

impl ContentDigest {
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(Sha256Hash::of(&[bytes]))
    }
}

/// LEB128 (unsigned) as warg-crypto's prefix encoding writes lengths.
pub fn leb128(mut n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A package name `<namespace>:<name>`, both kebab-case, no uppercase.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PackageName {
    name: String,
    colon: usize,
}

impl PackageName {
    pub fn as_str(&self) -> &str {
        &self.name
    }
    pub fn namespace(&self) -> &str {
        &self.name[..self.colon]
    }
    pub fn name(&self) -> &str {
        &self.name[self.colon + 1..]
    }
    pub fn log_id(&self) -> LogId {
        LogId::for_package(self)
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// What is wrong with `s` as a lowercase kebab-case word list (the wasmparser `KebabStr` rule,
/// restricted to lowercase as warg requires), naming the offending character and where it is
/// (1-based, counted in characters); `None` when it is valid.
fn kebab_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("is empty".into());
    }
    let mut word_start = true;
    let mut prev = None;
    for (i, c) in s.chars().enumerate() {
        let at = i + 1;
        let problem = match c {
            '-' if word_start && prev == Some('-') => {
                Some(format!("has `--` at {at}: words are joined by one `-`"))
            }
            '-' if word_start => Some("starts with `-`".into()),
            '-' => None,
            'a'..='z' => None,
            '0'..='9' if word_start => Some(format!(
                "has `{c}` at {at}: a word must start with a letter"
            )),
            '0'..='9' => None,
            'A'..='Z' => Some(format!("has `{c}` at {at}: uppercase is not allowed")),
            _ => Some(format!(
                "has `{}` at {at}: only a-z, 0-9 and `-` are allowed",
                c.escape_debug()
            )),
        };
        if problem.is_some() {
            return problem;
        }
        word_start = c == '-';
        prev = Some(c);
    }
    if prev == Some('-') {
        return Some("ends with `-`".into());
    }
    None
}

impl FromStr for PackageName {
    type Err = String;

    /// `<namespace>:<name>`, split at the first `:`: whatever follows it is the name, so a
    /// stray character after the colon is blamed on the name, by character and position.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let shown: String = s.chars().take(80).collect();
        let colon = s.find(':').ok_or_else(|| {
            format!(
                "invalid package name `{shown}`: expected `<namespace>:<name>`, e.g. `demo:hello`"
            )
        })?;
        let (ns, name) = (&s[..colon], &s[colon + 1..]);
        for (part, text) in [("namespace", ns), ("name", name)] {
            if let Some(problem) = kebab_problem(text) {
                let text: String = text.chars().take(80).collect();
                return Err(format!(
                    "invalid package name `{shown}`: the {part} `{text}` {problem}"
                ));
            }
        }
        Ok(Self {
            name: s.to_string(),
            colon,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ids_match_the_reference_examples() {
        let cases = [
            (
                "demo:hello",
                "sha256:7db5febe972ba3fa55ad508805add3dd8e8cfd64053b99b4835dc166f280278a",
            ),
            (
                "demo:world",
                "sha256:1bcf3c0ccd5ab21ed6095418b636020aa13dfc20c2249c4ab2d6d26ddeb967d9",
            ),
            (
                "demo:alpha",
                "sha256:2ccc3627a46d245d040005282dc496e6618d5361d8703c63e0be8c4973c2f21f",
            ),
        ];
        for (name, want) in cases {
            let name: PackageName = name.parse().unwrap();
            assert_eq!(name.log_id().to_string(), want);
        }
    }

    #[test]
    fn key_id_matches_the_reference_example() {
        let id = KeyId::for_public_key("ecdsa-p256:AgN2XJX7QFQVXnz4L2i4Wqsu/l7pZbePJxkiYufoZbMU");
        assert_eq!(
            id.to_string(),
            "sha256:56a604d16f146b3f34c3c6c0d68e1ac3e66027b373a2c31118e8ae62668bf8b2"
        );
    }

    #[test]
    fn malformed_ids_get_specific_errors() {
        let e = |s: &str| s.parse::<RecordId>().unwrap_err().source;
        assert_eq!(e("xyz"), HashParseError::MissingAlgorithm);
        assert_eq!(
            e("sha512:00"),
            HashParseError::UnsupportedAlgorithm("sha512".into())
        );
        assert_eq!(
            e(&format!("sha256:{}", "A".repeat(64))),
            HashParseError::Uppercase
        );
        assert_eq!(e("sha256:abc"), HashParseError::WrongLength(3));
        assert_eq!(e("sha256:zz"), HashParseError::NotHex('z'));
        let msg = "nope".parse::<LogId>().unwrap_err().to_string();
        assert!(msg.starts_with("malformed log ID `nope`"), "{msg}");
    }

    #[test]
    fn package_names_follow_warg_rules() {
        for ok in ["demo:hello", "a:b", "my-ns:pkg-v2", "ns2:a1-b2"] {
            assert!(ok.parse::<PackageName>().is_ok(), "{ok}");
        }
        for bad in [
            "demo",
            "demo:Alpha",
            ":x",
            "demo:",
            "demo:-a",
            "demo:a-",
            "demo:1a",
            "de mo:x",
            "demo:a--b",
            "x:y:z-a",
        ] {
            assert!(bad.parse::<PackageName>().is_err(), "{bad}");
        }
    }

    /// Errors name the part at fault (namespace or name) and the offending character with its
    /// position: a stray character after the colon is the name's, not the namespace's.
    #[test]
    fn package_name_errors_blame_the_part_and_the_character() {
        let e = |s: &str| s.parse::<PackageName>().unwrap_err();
        let msg = e("demo:q?x/:");
        assert!(msg.contains("the name `q?x/:` has `?` at 2"), "{msg}");
        assert!(!msg.contains("namespace `"), "{msg}");
        for (bad, want) in [
            ("Demo:x", "the namespace `Demo` has `D` at 1: uppercase"),
            ("de mo:x", "the namespace `de mo` has ` ` at 3"),
            (":x", "the namespace `` is empty"),
            ("demo:", "the name `` is empty"),
            ("demo:-a", "the name `-a` starts with `-`"),
            ("demo:a-", "the name `a-` ends with `-`"),
            ("demo:a--b", "the name `a--b` has `--` at 3"),
            (
                "demo:1a",
                "the name `1a` has `1` at 1: a word must start with a letter",
            ),
            ("demo:a-2b", "the name `a-2b` has `2` at 3"),
            ("x:y:z-a", "the name `y:z-a` has `:` at 2"),
            ("demo:caf\u{e9}", "the name `caf\u{e9}` has `\u{e9}` at 4"),
        ] {
            let msg = e(bad);
            assert!(msg.contains(want), "{bad}: {msg}");
        }
    }
}

/// One record of one package log: what the tracker tracks, the scheduler polls and a table row
/// shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordRef {
    pub log: LogId,
    pub record: RecordId,
}

impl RecordRef {
    pub fn new(log: LogId, record: RecordId) -> Self {
        Self { log, record }
    }
}
