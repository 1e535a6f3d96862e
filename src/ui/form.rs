//! The publish form: fields, inline validation, staged entries.

use crate::ids::{ContentDigest, KeyId, PackageName};
use crate::keys::KeyInfo;
use crate::publish::Prepared;
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
            Self::KeyId => "Key ID",
            Self::Permissions => "Permissions",
            Self::Signer => "Signing key",
        }
    }
    pub fn is_text(self) -> bool {
        !matches!(self, Self::Kind | Self::Signer)
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
    pub key_id: String,
    pub permissions: String,
    pub signer: usize,
    /// Entries added with Ctrl-N, signed together with the current one.
    pub staged: Vec<Entry>,
    pub files: BTreeMap<ContentDigest, PathBuf>,
    pub step: Step,
    /// The last error from the registry or from building the record.
    pub error: Option<String>,
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
            permissions: "release".into(),
            signer: 0,
            staged: Vec::new(),
            files: BTreeMap::new(),
            step: Step::Edit,
            error: None,
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
            Field::Permissions => Some(&mut self.permissions),
            Field::Kind | Field::Signer => None,
        }
    }

    pub fn text(&self, field: Field) -> &str {
        match field {
            Field::Package => &self.package,
            Field::Version => &self.version,
            Field::File => &self.file,
            Field::PublicKey => &self.public_key,
            Field::KeyId => &self.key_id,
            Field::Permissions => &self.permissions,
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
            Field::File => match &self.file_digest {
                _ if self.file.trim().is_empty() => {
                    Err("required: path to the content (.wasm)".into())
                }
                Some((p, FileDigest::Ready { digest, size })) if *p == self.file.trim() => {
                    Ok(format!("{digest} ({size} bytes)"))
                }
                Some((p, FileDigest::Failed(e))) if *p == self.file.trim() => Err(e.clone()),
                _ => Ok("hashing…".into()),
            },
            Field::PublicKey => validate_public_key(self.public_key.trim())
                .map(|_| format!("key ID {}", KeyId::for_public_key(self.public_key.trim())))
                .map_err(|e| {
                    if self.public_key.is_empty() {
                        "required: ecdsa-p256:<base64>".into()
                    } else {
                        e.to_string()
                    }
                }),
            Field::KeyId => self
                .key_id
                .trim()
                .parse::<KeyId>()
                .map(|_| String::new())
                .map_err(|e| e.to_string()),
            Field::Permissions => Permission::parse_list(&self.permissions)
                .map(|_| String::new())
                .map_err(|e| e.to_string()),
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
        let perms = || {
            Permission::parse_list(&self.permissions)
                .map_err(|e| (Field::Permissions, e.to_string()))
        };
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
            EntryKind::Release => match &self.file_digest {
                Some((p, FileDigest::Ready { digest, .. })) if *p == self.file.trim() => (
                    Entry::Release {
                        version: self.version.trim().to_string(),
                        digest: *digest,
                    },
                    Some((*digest, PathBuf::from(self.file.trim()))),
                ),
                _ => return Err((Field::File, "still hashing the file".into())),
            },
            EntryKind::Yank => (
                Entry::Yank {
                    version: self.version.trim().to_string(),
                },
                None,
            ),
            EntryKind::Grant => (
                Entry::Grant {
                    public_key: self.public_key.trim().to_string(),
                    permissions: perms()?,
                },
                None,
            ),
            EntryKind::Revoke => (
                Entry::Revoke {
                    key_id: self
                        .key_id
                        .trim()
                        .parse()
                        .map_err(|e: crate::ids::IdError| (Field::KeyId, e.to_string()))?,
                    permissions: perms()?,
                },
                None,
            ),
        })
    }
}

// The form's keys and submit, dispatched from the reducer.

use super::app::{Effect, Mode, State};
use super::prompt::after_edit;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn on_form_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    match &s.form.step {
        Step::Preparing | Step::Submitting(_) => {
            if k.code == KeyCode::Esc && matches!(s.form.step, Step::Preparing) {
                s.form.step = Step::Edit;
            }
            return;
        }
        Step::Review(p) => {
            match k.code {
                KeyCode::Esc => s.form.step = Step::Edit,
                KeyCode::Enter | KeyCode::Char('y') => {
                    let Some(signer) = s.signer().map(|k| k.name.clone()) else {
                        s.form.error = Some("no signing key".into());
                        s.form.step = Step::Edit;
                        return;
                    };
                    cmds.push(Effect::Submit {
                        prepared: p.clone(),
                        key_name: signer,
                        files: s.form.files.clone(),
                    });
                    s.form.step = Step::Submitting(Vec::new());
                }
                _ => {}
            }
            return;
        }
        Step::Edit => {}
    }
    let field = s.form.focused();
    let nfields = s.form.fields().len();
    match k.code {
        KeyCode::Esc => s.mode = Mode::Table,
        KeyCode::Tab | KeyCode::Down => s.form.focus = (s.form.focus + 1) % nfields,
        KeyCode::BackTab | KeyCode::Up => s.form.focus = (s.form.focus + nfields - 1) % nfields,
        KeyCode::Left | KeyCode::Right if !field.is_text() => {
            s.form.cycle(
                field,
                if k.code == KeyCode::Left { -1 } else { 1 },
                s.keys.len(),
            );
        }
        KeyCode::Char('n') if ctrl => match s.form.current_entry(&s.keys) {
            Ok((entry, file)) => {
                s.form.staged.push(entry);
                if let Some((d, p)) = file {
                    s.form.files.insert(d, p);
                }
                s.form.version.clear();
                s.form.file.clear();
                s.form.file_digest = None;
                s.form.error = None;
            }
            Err((f, e)) => focus_error(s, f, e),
        },
        KeyCode::Char('g') if ctrl => cmds.push(Effect::GenerateKey),
        KeyCode::Char('u') if ctrl => {
            s.form.staged.pop();
        }
        KeyCode::Enter | KeyCode::Char('s') if k.code == KeyCode::Enter || ctrl => {
            if k.code == KeyCode::Enter && s.form.focus + 1 < nfields {
                s.form.focus += 1;
                return;
            }
            submit_form(s, cmds);
        }
        KeyCode::Backspace => {
            if let Some(t) = s.form.text_mut(field) {
                t.pop();
                after_edit(s, cmds);
            }
        }
        KeyCode::Char(c) if !ctrl => {
            if let Some(t) = s.form.text_mut(field) {
                t.push(c);
                after_edit(s, cmds);
            }
        }
        _ => {}
    }
}

pub(super) fn focus_error(s: &mut State, f: Field, e: String) {
    if let Some(pos) = s.form.fields().iter().position(|x| *x == f) {
        s.form.focus = pos;
    }
    s.form.error = Some(format!("{}: {e}", f.label()));
}

pub(super) fn submit_form(s: &mut State, cmds: &mut Vec<Effect>) {
    let package = match s.form.package.parse::<PackageName>() {
        Ok(p) => p,
        Err(e) => return focus_error(s, Field::Package, e),
    };
    if s.signer().is_none() {
        return focus_error(
            s,
            Field::Signer,
            "no signing key: Ctrl-G generates one".into(),
        );
    }
    let mut entries = s.form.staged.clone();
    match s.form.current_entry(&s.keys) {
        Ok((entry, file)) => {
            entries.push(entry);
            if let Some((d, p)) = file {
                s.form.files.insert(d, p);
            }
        }
        Err((f, e)) => return focus_error(s, f, e),
    }
    s.form.error = None;
    s.form.step = Step::Preparing;
    cmds.push(Effect::Prepare { package, entries });
}
