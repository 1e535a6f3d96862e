//! The publish form: fields, inline validation, staged entries. Its keys are in
//! [`super::form_keys`], its paths in [`super::form_path`].

pub use super::form_keys::{next_key_name, resolve_key};
pub use super::form_path::{Completion, PathEnv};
use super::job::LatestJob;
use crate::ids::{ContentDigest, KeyId, PackageName, RecordRef};
use crate::keys::KeyInfo;
use crate::publish::{LogFacts, Prepared};
use crate::record::{validate_public_key, Entry, Permission};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An entry and, for a release, its content file.
pub type EntryWithFile = (Entry, Option<(ContentDigest, PathBuf)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Init,
    Release,
    Yank,
    Grant,
    Revoke,
}

impl EntryKind {
    pub const ALL: [EntryKind; 5] = [
        Self::Init,
        Self::Release,
        Self::Yank,
        Self::Grant,
        Self::Revoke,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::Release => "release",
            Self::Yank => "yank",
            Self::Grant => "grant",
            Self::Revoke => "revoke",
        }
    }
    fn step(self, d: i32) -> Self {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0) as i32;
        Self::ALL[(i + d).rem_euclid(Self::ALL.len() as i32) as usize]
    }
}

/// The permissions a grant or revoke names: picked from these, not typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Perms {
    #[default]
    Release,
    Yank,
    Both,
}

impl Perms {
    pub const ALL: [Perms; 3] = [Self::Release, Self::Yank, Self::Both];
    pub fn list(self) -> Vec<Permission> {
        match self {
            Self::Release => vec![Permission::Release],
            Self::Yank => vec![Permission::Yank],
            Self::Both => vec![Permission::Release, Permission::Yank],
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Yank => "yank",
            Self::Both => "release,yank",
        }
    }
    fn step(self, d: i32) -> Self {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0) as i32;
        Self::ALL[(i + d).rem_euclid(Self::ALL.len() as i32) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Package,
    Kind,
    Version,
    File,
    PublicKey,
    KeyId,
    Permissions,
    Signer,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Self::Package => "Package",
            Self::Kind => "Entry",
            Self::Version => "Version",
            Self::File => "Content file",
            Self::PublicKey => "Public key",
            Self::KeyId => "Key",
            Self::Permissions => "Permissions",
            Self::Signer => "Signing key",
        }
    }
    pub fn is_text(self) -> bool {
        !matches!(self, Self::Kind | Self::Signer | Self::Permissions)
    }
}

#[derive(Debug, Clone)]
pub enum Step {
    Edit,
    /// Fetching the head and building the record.
    Preparing,
    /// Exactly what will be signed, waiting for confirmation.
    Review(Box<Prepared>),
    Submitting(Vec<String>),
}

/// A content file's digest, computed off the UI thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDigest {
    Pending,
    Ready { digest: ContentDigest, size: u64 },
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Form {
    pub focus: usize,
    pub package: String,
    pub kind: EntryKind,
    pub version: String,
    pub file: String,
    pub file_digest: Option<(String, FileDigest)>,
    pub public_key: String,
    /// The key to revoke: a key ID, a key name from the key store, or a public key.
    pub key_id: String,
    pub permissions: Perms,
    pub signer: usize,
    /// The package came from the selected row and was not edited: typing replaces it.
    pub prefilled: bool,
    /// Ctrl-C with a draft: "quit and discard the draft? y/n" is showing.
    pub confirm_quit: bool,
    /// `b` on a rejected record while a draft is open: "replace the draft?" is showing.
    pub confirm_rebuild: Option<RecordRef>,
    /// Ctrl-G: the new key's name being typed.
    pub key_name: Option<String>,
    /// Where `~` and relative content paths point.
    pub paths: PathEnv,
    /// The last Tab completion's candidates (several matches) or why there was none.
    pub completion: Option<Completion>,
    /// The package log's facts fetched with the head, for the review's warnings.
    pub log: Option<(PackageName, Result<LogFacts, String>)>,
    /// This record rebuilds a rejected one: its reference and the rejection reason.
    pub rebuilds: Option<(RecordRef, String)>,
    /// Entries added with Ctrl-N, signed together with the current one.
    pub staged: Vec<Entry>,
    pub files: BTreeMap<ContentDigest, PathBuf>,
    pub step: Step,
    /// The last error from the registry or from building the record.
    pub error: Option<String>,
    /// The signing keys in the key store (`signer` indexes them).
    pub keys: Vec<KeyInfo>,
    /// The content file's hash in flight: only the newest one's digest is shown.
    pub hash_job: LatestJob,
    /// The Tab completion in flight.
    pub complete_job: LatestJob,
    /// The record being prepared (its head fetched): only the newest one goes to review.
    pub prepare_job: LatestJob,
}

impl Default for Form {
    fn default() -> Self {
        Self {
            focus: 0,
            package: String::new(),
            kind: EntryKind::Release,
            version: String::new(),
            file: String::new(),
            file_digest: None,
            public_key: String::new(),
            key_id: String::new(),
            permissions: Perms::default(),
            signer: 0,
            prefilled: false,
            confirm_quit: false,
            confirm_rebuild: None,
            key_name: None,
            paths: PathEnv::from_process(),
            completion: None,
            log: None,
            rebuilds: None,
            staged: Vec::new(),
            files: BTreeMap::new(),
            step: Step::Edit,
            error: None,
            keys: Vec::new(),
            hash_job: LatestJob::default(),
            complete_job: LatestJob::default(),
            prepare_job: LatestJob::default(),
        }
    }
}

impl Form {
    /// The fields shown for the current entry kind, in focus order.
    pub fn fields(&self) -> Vec<Field> {
        let mut f = vec![Field::Package, Field::Kind];
        match self.kind {
            EntryKind::Init => {}
            EntryKind::Release => f.extend([Field::Version, Field::File]),
            EntryKind::Yank => f.push(Field::Version),
            EntryKind::Grant => f.extend([Field::PublicKey, Field::Permissions]),
            EntryKind::Revoke => f.extend([Field::KeyId, Field::Permissions]),
        }
        f.push(Field::Signer);
        f
    }

    pub fn focused(&self) -> Field {
        let f = self.fields();
        f[self.focus.min(f.len() - 1)]
    }

    pub fn text_mut(&mut self, field: Field) -> Option<&mut String> {
        match field {
            Field::Package => Some(&mut self.package),
            Field::Version => Some(&mut self.version),
            Field::File => Some(&mut self.file),
            Field::PublicKey => Some(&mut self.public_key),
            Field::KeyId => Some(&mut self.key_id),
            Field::Kind | Field::Signer | Field::Permissions => None,
        }
    }

    pub fn text(&self, field: Field) -> &str {
        match field {
            Field::Package => &self.package,
            Field::Version => &self.version,
            Field::File => &self.file,
            Field::PublicKey => &self.public_key,
            Field::KeyId => &self.key_id,
            Field::Permissions => self.permissions.name(),
            Field::Kind | Field::Signer => "",
        }
    }

    pub fn cycle(&mut self, field: Field, d: i32, keys: usize) {
        match field {
            Field::Kind => {
                self.kind = self.kind.step(d);
                self.focus = self.focus.min(self.fields().len() - 1);
            }
            Field::Signer if keys > 0 => {
                self.signer = (self.signer as i32 + d).rem_euclid(keys as i32) as usize
            }
            Field::Permissions => self.permissions = self.permissions.step(d),
            _ => {}
        }
    }

    /// Inline validation of one field: `Err` is shown under it, `Ok` is a hint (log ID, digest).
    pub fn check(&self, field: Field, keys: &[KeyInfo]) -> Result<String, String> {
        match field {
            Field::Package => self
                .package
                .parse::<PackageName>()
                .map(|p| format!("log ID {}", p.log_id()))
                .map_err(|e| {
                    if self.package.is_empty() {
                        "required, e.g. demo:hello".into()
                    } else {
                        e
                    }
                }),
            Field::Kind => Ok(match self.staged.len() {
                0 => "←/→ to change; Ctrl-N adds another entry to the same record".into(),
                n => format!(
                    "{n} entr{} staged; Ctrl-N adds this one too",
                    if n == 1 { "y" } else { "ies" }
                ),
            }),
            Field::Version => semver::Version::parse(self.version.trim())
                .map(|_| String::new())
                .map_err(|e| {
                    if self.version.is_empty() {
                        "required, e.g. 1.0.0".into()
                    } else {
                        format!("not semver: {e}")
                    }
                }),
            Field::File => {
                if self.file.trim().is_empty() {
                    return Err("required: path to the content (.wasm); Tab completes".into());
                }
                let abs = self.file_path()?;
                // A relative or `~` path shows what it resolves to.
                let shown = if abs.as_os_str() == self.file.trim() {
                    String::new()
                } else {
                    format!("→ {} · ", abs.display())
                };
                let key = abs.display().to_string();
                match &self.file_digest {
                    Some((p, FileDigest::Ready { digest, size })) if *p == key => {
                        Ok(format!("{shown}{digest} ({size} bytes)"))
                    }
                    Some((p, FileDigest::Failed(e))) if *p == key => Err(format!("{shown}{e}")),
                    _ => Ok(format!("{shown}hashing…")),
                }
            }
            Field::PublicKey => validate_public_key(self.public_key.trim())
                .map(|_| format!("key ID {}", KeyId::for_public_key(self.public_key.trim())))
                .map_err(|e| {
                    if self.public_key.is_empty() {
                        "required: ecdsa-p256:<base64>".into()
                    } else {
                        e.to_string()
                    }
                }),
            Field::KeyId => resolve_key(&self.key_id, keys).map(|(id, how)| match how {
                Some(how) => format!("key ID {id} ({how})"),
                None => String::new(),
            }),
            Field::Permissions => Ok("←/→ picks: release / yank / release,yank".into()),
            Field::Signer => match keys.get(self.signer) {
                None => Err("no signing key: Ctrl-G generates one".into()),
                Some(k) if k.algorithm == crate::keys::Algorithm::Ed25519 => Ok(format!(
                    "{} — warg-server 0.10 accepts only ecdsa-p256 and will refuse this key",
                    k.key_id
                )),
                Some(k) => Ok(format!("{} {}", k.algorithm, k.key_id)),
            },
        }
    }

    /// The entry the current fields describe, or the first field error.
    pub fn current_entry(&self, keys: &[KeyInfo]) -> Result<EntryWithFile, (Field, String)> {
        for f in self.fields() {
            if f != Field::Signer {
                self.check(f, keys).map_err(|e| (f, e))?;
            }
        }
        Ok(match self.kind {
            EntryKind::Init => {
                let k = keys
                    .get(self.signer)
                    .ok_or((Field::Signer, "no signing key".to_string()))?;
                (
                    Entry::Init {
                        public_key: k.public_key.clone(),
                    },
                    None,
                )
            }
            EntryKind::Release => {
                let path = self.file_path().map_err(|e| (Field::File, e))?;
                match &self.file_digest {
                    Some((p, FileDigest::Ready { digest, .. }))
                        if *p == path.display().to_string() =>
                    {
                        (
                            Entry::Release {
                                version: self.version.trim().to_string(),
                                digest: *digest,
                            },
                            Some((*digest, path)),
                        )
                    }
                    _ => return Err((Field::File, "still hashing the file".into())),
                }
            }
            EntryKind::Yank => (
                Entry::Yank {
                    version: self.version.trim().to_string(),
                },
                None,
            ),
            EntryKind::Grant => (
                Entry::Grant {
                    public_key: self.public_key.trim().to_string(),
                    permissions: self.permissions.list(),
                },
                None,
            ),
            EntryKind::Revoke => (
                Entry::Revoke {
                    key_id: resolve_key(&self.key_id, keys)
                        .map_err(|e| (Field::KeyId, e))?
                        .0,
                    permissions: self.permissions.list(),
                },
                None,
            ),
        })
    }
}

impl Form {
    /// The key that signs: the one chosen among the key store's.
    pub fn signer(&self) -> Option<&KeyInfo> {
        self.keys.get(self.signer)
    }

    /// The content file's absolute path (`~` expanded, a relative path under the working
    /// directory).
    pub fn file_path(&self) -> Result<PathBuf, String> {
        super::form_path::resolve(&self.file, &self.paths)
    }

    /// Whether there is anything the operator would lose: typed fields, staged entries, a
    /// rebuild, or a record under review or being submitted. A package only prefilled from the
    /// selected row is not a draft.
    pub fn has_draft(&self) -> bool {
        (!self.package.trim().is_empty() && !self.prefilled)
            || [&self.version, &self.file, &self.public_key, &self.key_id]
                .iter()
                .any(|t| !t.trim().is_empty())
            || !self.staged.is_empty()
            || self.rebuilds.is_some()
            || !matches!(self.step, Step::Edit)
    }

    /// What the package log says against the record under review, signed by `signer`.
    pub fn log_warnings(&self, p: &Prepared, signer: Option<&KeyInfo>) -> Vec<String> {
        match (&self.log, signer) {
            (Some((pkg, Ok(facts))), Some(k)) if *pkg == p.package => {
                facts.warnings(&p.content.entries, &k.key_id, &k.name)
            }
            (Some((pkg, Err(e))), _) if *pkg == p.package => vec![format!(
                "not checked against the package log (versions, permissions): {e}"
            )],
            _ => Vec::new(),
        }
    }
}
