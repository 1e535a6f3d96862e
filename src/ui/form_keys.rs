//! The publish form's keys and submit; and the form's share of worker results (a file's hash,
//! a path completion, the prepared record, the package log, a package with no log yet), each
//! applied only when it answers the form's newest request ([`super::job::LatestJob`]).

use super::form::{Completion, Field, FileDigest, Form, Step};
use super::job::Ticket;
use super::msg::{Effect, Intent};
use crate::ids::{KeyId, PackageName};
use crate::keys::KeyInfo;
use crate::publish::{LogFacts, Prepared};
use crate::record::validate_public_key;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The key a revoke names: a key ID (`sha256:…`), a key name from the key store, or a public
/// key (`ecdsa-p256:…`, converted to its key ID). `Ok` says how it was resolved when that was
/// not a key ID typed as such.
pub fn resolve_key(text: &str, keys: &[KeyInfo]) -> Result<(KeyId, Option<String>), String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("required: a key ID (sha256:…), a key name, or a public key".into());
    }
    if let Some(k) = keys.iter().find(|k| k.name == t) {
        return Ok((k.key_id, Some(format!("key `{}` in the key store", k.name))));
    }
    if t.starts_with("sha256:") {
        let id: KeyId = t.parse().map_err(|e: crate::ids::IdError| e.to_string())?;
        let how = keys
            .iter()
            .find(|k| k.key_id == id)
            .map(|k| format!("key `{}` in the key store", k.name));
        return Ok((id, how));
    }
    if t.contains(':') {
        validate_public_key(t).map_err(|e| format!("{e:#}"))?;
        return Ok((KeyId::for_public_key(t), Some("from the public key".into())));
    }
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    Err(format!(
        "no key named `{t}` in the key store ({}); give a key ID (sha256:…) or a public key",
        if names.is_empty() {
            "it is empty".to_string()
        } else {
            format!("known: {}", names.join(", "))
        }
    ))
}

/// The name suggested for a key generated with Ctrl-G: `default`, then `key-2`, `key-3`, …
pub fn next_key_name(existing: &[KeyInfo]) -> String {
    if !existing.iter().any(|k| k.name == "default") {
        return "default".into();
    }
    (2..)
        .map(|i| format!("key-{i}"))
        .find(|n| !existing.iter().any(|k| &k.name == n))
        .unwrap_or_else(|| "key".into())
}

impl Form {
    /// Keys in the form. Quitting, closing and replacing the form with a rebuild are the
    /// reducer's ([`Intent`]).
    pub(super) fn on_key(&mut self, k: KeyEvent, cmds: &mut Vec<Effect>) -> Intent {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if self.confirm_quit {
            match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => return Intent::Quit,
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => self.confirm_quit = false,
                _ => {}
            }
            return Intent::None;
        }
        if let Some(key) = self.confirm_rebuild {
            match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    self.confirm_rebuild = None;
                    return Intent::RebuildRecord(key);
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.confirm_rebuild = None
                }
                _ => {}
            }
            return Intent::None;
        }
        match &self.step {
            Step::Preparing | Step::Submitting(_) => {
                if k.code == KeyCode::Esc && matches!(self.step, Step::Preparing) {
                    // The record being prepared is forgotten: its answer is dropped.
                    self.prepare_job.cancel();
                    self.step = Step::Edit;
                }
                return Intent::None;
            }
            Step::Review(p) => {
                match k.code {
                    KeyCode::Esc => self.step = Step::Edit,
                    KeyCode::Enter | KeyCode::Char('y') => {
                        let Some(signer) = self.signer().map(|k| k.name.clone()) else {
                            self.error = Some("no signing key".into());
                            self.step = Step::Edit;
                            return Intent::None;
                        };
                        cmds.push(Effect::Submit {
                            prepared: p.clone(),
                            key_name: signer,
                            files: self.files.clone(),
                            rebuilds: self.rebuilds.clone(),
                        });
                        self.step = Step::Submitting(Vec::new());
                    }
                    _ => {}
                }
                return Intent::None;
            }
            Step::Edit => {}
        }
        if self.key_name.is_some() {
            self.on_key_name_key(k, cmds);
            return Intent::None;
        }
        let field = self.focused();
        let nfields = self.fields().len();
        match k.code {
            KeyCode::Esc => return Intent::Close,
            // Tab completes a content path that does not name a hashed file yet.
            KeyCode::Tab
                if field == Field::File
                    && !self.file.trim().is_empty()
                    && !matches!(
                        (&self.file_digest, self.file_path()),
                        (Some((p, FileDigest::Ready { .. })), Ok(abs)) if *p == abs.display().to_string()
                    ) =>
            {
                cmds.push(Effect::CompletePath {
                    input: self.file.clone(),
                    env: self.paths.clone(),
                    ticket: self.complete_job.start(),
                });
            }
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % nfields,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + nfields - 1) % nfields,
            KeyCode::Left | KeyCode::Right if !field.is_text() => {
                let n = self.keys.len();
                self.cycle(field, if k.code == KeyCode::Left { -1 } else { 1 }, n);
            }
            KeyCode::Char(' ') if field == Field::Permissions => self.cycle(field, 1, 0),
            KeyCode::Char('n') if ctrl => match self.current_entry(&self.keys) {
                Ok((entry, file)) => {
                    self.staged.push(entry);
                    if let Some((d, p)) = file {
                        self.files.insert(d, p);
                    }
                    self.version.clear();
                    self.file.clear();
                    self.file_digest = None;
                    self.hash_job.cancel();
                    self.completion = None;
                    self.complete_job.cancel();
                    self.error = None;
                }
                Err((f, e)) => self.focus_error(f, e),
            },
            KeyCode::Char('g') if ctrl => {
                self.key_name = Some(next_key_name(&self.keys));
                self.error = None;
            }
            KeyCode::Char('u') if ctrl => {
                self.staged.pop();
            }
            KeyCode::Enter | KeyCode::Char('s') if k.code == KeyCode::Enter || ctrl => {
                if k.code == KeyCode::Enter && self.focus + 1 < nfields {
                    self.focus += 1;
                    return Intent::None;
                }
                self.submit(cmds);
            }
            KeyCode::Backspace => {
                if field == Field::Package {
                    self.prefilled = false;
                }
                if let Some(t) = self.text_mut(field) {
                    t.pop();
                    cmds.extend(self.edited());
                }
            }
            KeyCode::Char(c) if !ctrl => {
                begin_edit(self, field);
                if let Some(t) = self.text_mut(field) {
                    t.push(c);
                    cmds.extend(self.edited());
                }
            }
            _ => {}
        }
        Intent::None
    }

    /// The text being edited: the new key's name while Ctrl-G asks for it, else the focused
    /// field's (none outside the edit step or while a question is showing).
    pub(super) fn input_buffer(&mut self) -> Option<&mut String> {
        if !matches!(self.step, Step::Edit) || self.confirm_quit || self.confirm_rebuild.is_some() {
            return None;
        }
        if self.key_name.is_some() {
            return self.key_name.as_mut();
        }
        let f = self.focused();
        self.text_mut(f)
    }

    /// After a field's text changed: the error goes, and a content path is hashed again (by
    /// its absolute path: `~` expanded, relative under the working directory — the path the
    /// hint shows is the one read).
    pub(super) fn edited(&mut self) -> Option<Effect> {
        self.error = None;
        if self.focused() != Field::File || self.key_name.is_some() {
            return None;
        }
        self.completion = None;
        // A completion asked for the text before this edit is stale.
        self.complete_job.cancel();
        match self.file_path() {
            Ok(path) => {
                let path = path.display().to_string();
                self.file_digest = Some((path.clone(), FileDigest::Pending));
                Some(Effect::HashFile {
                    path,
                    ticket: self.hash_job.start(),
                })
            }
            Err(_) => {
                self.file_digest = None;
                self.hash_job.cancel();
                None
            }
        }
    }

    /// Keys while Ctrl-G asks for the new key's name.
    fn on_key_name_key(&mut self, k: KeyEvent, cmds: &mut Vec<Effect>) {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let Some(name) = self.key_name.as_mut() else {
            return;
        };
        match k.code {
            KeyCode::Esc => self.key_name = None,
            KeyCode::Backspace => {
                name.pop();
                self.error = None;
            }
            KeyCode::Char(c) if !ctrl => {
                name.push(c);
                self.error = None;
            }
            KeyCode::Enter => {
                let name = name.trim().to_string();
                if let Err(e) = crate::keys::validate_key_name(&name) {
                    self.error = Some(format!("{e:#}"));
                } else if self.keys.iter().any(|k| k.name == name) {
                    self.error = Some(format!(
                        "a key named `{name}` already exists; pick another name"
                    ));
                } else {
                    self.key_name = None;
                    self.error = None;
                    cmds.push(Effect::GenerateKey(name));
                }
            }
            _ => {}
        }
    }

    pub(super) fn focus_error(&mut self, f: Field, e: String) {
        if let Some(pos) = self.fields().iter().position(|x| *x == f) {
            self.focus = pos;
        }
        self.error = Some(format!("{}: {e}", f.label()));
    }

    /// Checks the form and asks for the record to be prepared (the log's head fetched).
    pub(super) fn submit(&mut self, cmds: &mut Vec<Effect>) {
        let package = match self.package.parse::<PackageName>() {
            Ok(p) => p,
            Err(e) => return self.focus_error(Field::Package, e),
        };
        if self.signer().is_none() {
            return self.focus_error(Field::Signer, "no signing key: Ctrl-G generates one".into());
        }
        let mut entries = self.staged.clone();
        match self.current_entry(&self.keys) {
            Ok((entry, file)) => {
                entries.push(entry);
                if let Some((d, p)) = file {
                    self.files.insert(d, p);
                }
            }
            Err((f, e)) => return self.focus_error(f, e),
        }
        self.error = None;
        self.log = None;
        self.prepare(package, entries, cmds);
    }

    /// Waits for a record being prepared (as [`Form::submit`] does before it asks): the ticket
    /// its answer must carry. For callers that prepare the record themselves, and tests.
    pub fn preparing(&mut self) -> Ticket {
        self.step = Step::Preparing;
        self.prepare_job.start()
    }

    /// Asks for `entries` to be prepared on `package`'s head: only this request's answer goes
    /// to review.
    pub(super) fn prepare(
        &mut self,
        package: PackageName,
        entries: Vec<crate::record::Entry>,
        cmds: &mut Vec<Effect>,
    ) {
        self.step = Step::Preparing;
        cmds.push(Effect::Prepare {
            package,
            entries,
            ticket: self.prepare_job.start(),
        });
    }

    /// The prepared record (or why it could not be): to review, if it answers the newest
    /// request.
    pub(super) fn prepared(&mut self, ticket: Ticket, result: Result<Prepared, String>) -> bool {
        if !self.prepare_job.finish(ticket) {
            return false;
        }
        match result {
            Ok(mut p) => {
                p.warnings.extend(self.log_warnings(&p, self.signer()));
                self.step = Step::Review(Box::new(p));
            }
            Err(e) => self.failed(&e),
        }
        true
    }

    /// The package log's facts, fetched with the head of the record being prepared.
    pub(super) fn log_fetched(
        &mut self,
        ticket: Ticket,
        package: PackageName,
        facts: Result<LogFacts, String>,
    ) {
        if self.prepare_job.is_current(ticket) {
            self.log = Some((package, facts));
        }
    }

    /// Preparing or submitting failed: back to editing, with the reason.
    pub(super) fn failed(&mut self, e: &str) {
        self.step = Step::Edit;
        self.error = Some(crate::text::clean(e).into_owned());
    }

    /// The registry has no log for the package being prepared (answering the newest request):
    /// `msg` says why.
    pub(super) fn no_log(&mut self, ticket: Ticket, msg: &str) -> bool {
        if !self.prepare_job.finish(ticket) {
            return false;
        }
        self.failed(msg);
        true
    }

    /// A Tab completion came back: applied only if it answers the newest Tab (an edit since
    /// makes it stale).
    pub(super) fn completed(&mut self, ticket: Ticket, c: Completion) -> Option<Effect> {
        if !self.complete_job.finish(ticket) {
            return None;
        }
        let changed = c.text != self.file;
        self.file = c.text.clone();
        let fx = if changed && self.focused() == Field::File {
            self.edited()
        } else {
            None
        };
        // After the edit, which clears an older completion's list.
        self.completion = (!c.candidates.is_empty() || c.error.is_some()).then_some(c);
        fx
    }

    /// A content file's digest came back: applied only if it answers the newest hash.
    pub(super) fn file_hashed(
        &mut self,
        ticket: Ticket,
        path: String,
        result: Result<(crate::ids::ContentDigest, u64), String>,
    ) -> bool {
        if !self.hash_job.finish(ticket) {
            return false;
        }
        self.file_digest = Some((
            path,
            match result {
                Ok((digest, size)) => FileDigest::Ready { digest, size },
                Err(e) => FileDigest::Failed(e),
            },
        ));
        true
    }

    /// The record was submitted: a fresh form (same package and key, not a draft any more);
    /// returns the message naming the rebuilt original if any.
    pub(super) fn submitted(&mut self, key: crate::ids::RecordRef) -> String {
        let package = crate::text::clean(self.package.trim()).into_owned();
        let rebuilt = self.rebuilds.take().map_or(String::new(), |(r, _)| {
            format!(" (rebuilds rejected record {}…)", r.record.short(12))
        });
        *self = Form {
            package: self.package.clone(),
            prefilled: true,
            signer: self.signer,
            paths: self.paths.clone(),
            keys: std::mem::take(&mut self.keys),
            ..Form::default()
        };
        format!(
            "submitted {package} record {}…{rebuilt}",
            key.record.short(12)
        )
    }
}

/// Typing into a package prefilled from the selected row replaces it (as a selected default
/// would); editing it with Backspace keeps it.
pub(super) fn begin_edit(form: &mut Form, field: Field) {
    if field == Field::Package && form.prefilled {
        form.package.clear();
        form.prefilled = false;
    }
}
