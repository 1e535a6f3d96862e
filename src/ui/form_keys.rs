//! The publish form's keys and submit, dispatched from the reducer; and the form's share of
//! worker results (path completion, the package log, a package with no log yet).

use super::app::{Effect, Mode, State};
use super::form::{Completion, Field, FileDigest, Form, Step};
use super::prompt::after_edit;
use crate::ids::{KeyId, PackageName};
use crate::keys::KeyInfo;
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

pub(super) fn on_form_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if s.form.confirm_quit {
        match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => s.quit = true,
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => s.form.confirm_quit = false,
            _ => {}
        }
        return;
    }
    if let Some(key) = s.form.confirm_rebuild {
        match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                s.form.confirm_rebuild = None;
                super::table::rebuild_record(s, key, cmds);
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => s.form.confirm_rebuild = None,
            _ => {}
        }
        return;
    }
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
                        rebuilds: s.form.rebuilds.clone(),
                    });
                    s.form.step = Step::Submitting(Vec::new());
                }
                _ => {}
            }
            return;
        }
        Step::Edit => {}
    }
    if s.form.key_name.is_some() {
        return on_key_name_key(s, k, cmds);
    }
    let field = s.form.focused();
    let nfields = s.form.fields().len();
    match k.code {
        KeyCode::Esc => {
            s.mode = Mode::Table;
            if s.form.has_draft() {
                s.flash("publish draft kept: p reopens it");
            }
        }
        // Tab completes a content path that does not name a hashed file yet.
        KeyCode::Tab
            if field == Field::File
                && !s.form.file.trim().is_empty()
                && !matches!(
                    (&s.form.file_digest, s.form.file_path()),
                    (Some((p, FileDigest::Ready { .. })), Ok(abs)) if *p == abs.display().to_string()
                ) =>
        {
            cmds.push(Effect::CompletePath {
                input: s.form.file.clone(),
                env: s.form.paths.clone(),
            });
        }
        KeyCode::Tab | KeyCode::Down => s.form.focus = (s.form.focus + 1) % nfields,
        KeyCode::BackTab | KeyCode::Up => s.form.focus = (s.form.focus + nfields - 1) % nfields,
        KeyCode::Left | KeyCode::Right if !field.is_text() => {
            s.form.cycle(
                field,
                if k.code == KeyCode::Left { -1 } else { 1 },
                s.keys.len(),
            );
        }
        KeyCode::Char(' ') if field == Field::Permissions => s.form.cycle(field, 1, 0),
        KeyCode::Char('n') if ctrl => match s.form.current_entry(&s.keys) {
            Ok((entry, file)) => {
                s.form.staged.push(entry);
                if let Some((d, p)) = file {
                    s.form.files.insert(d, p);
                }
                s.form.version.clear();
                s.form.file.clear();
                s.form.file_digest = None;
                s.form.completion = None;
                s.form.error = None;
            }
            Err((f, e)) => focus_error(s, f, e),
        },
        KeyCode::Char('g') if ctrl => {
            s.form.key_name = Some(next_key_name(&s.keys));
            s.form.error = None;
        }
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
            if field == Field::Package {
                s.form.prefilled = false;
            }
            if let Some(t) = s.form.text_mut(field) {
                t.pop();
                after_edit(s, cmds);
            }
        }
        KeyCode::Char(c) if !ctrl => {
            begin_edit(&mut s.form, field);
            if let Some(t) = s.form.text_mut(field) {
                t.push(c);
                after_edit(s, cmds);
            }
        }
        _ => {}
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

/// Keys while Ctrl-G asks for the new key's name.
fn on_key_name_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let Some(name) = s.form.key_name.as_mut() else {
        return;
    };
    match k.code {
        KeyCode::Esc => s.form.key_name = None,
        KeyCode::Backspace => {
            name.pop();
            s.form.error = None;
        }
        KeyCode::Char(c) if !ctrl => {
            name.push(c);
            s.form.error = None;
        }
        KeyCode::Enter => {
            let name = name.trim().to_string();
            if let Err(e) = crate::keys::validate_key_name(&name) {
                s.form.error = Some(format!("{e:#}"));
            } else if s.keys.iter().any(|k| k.name == name) {
                s.form.error = Some(format!(
                    "a key named `{name}` already exists; pick another name"
                ));
            } else {
                s.form.key_name = None;
                s.form.error = None;
                cmds.push(Effect::GenerateKey(name));
            }
        }
        _ => {}
    }
}

/// Ctrl-C: quits at once unless a form holds a draft, which is never thrown away unasked.
pub(super) fn on_ctrl_c(s: &mut State) {
    if s.mode == Mode::Form && s.form.has_draft() {
        s.form.confirm_quit = true;
    } else {
        s.quit = true;
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
    s.form.log = None;
    s.form.step = Step::Preparing;
    cmds.push(Effect::Prepare { package, entries });
}

/// A Tab completion came back: applied only if the field still holds what was completed.
pub(super) fn completed(s: &mut State, c: Completion, cmds: &mut Vec<Effect>) {
    if c.input != s.form.file || s.mode != Mode::Form {
        return;
    }
    let changed = c.text != s.form.file;
    s.form.file = c.text.clone();
    if changed && s.form.focused() == Field::File {
        after_edit(s, cmds);
    }
    // After the edit, which clears an older completion's list.
    s.form.completion = (!c.candidates.is_empty() || c.error.is_some()).then_some(c);
    s.dirty = true;
}

/// The registry has no log for the package: if this app submitted its `init` and it is still
/// pending, that is the reason, not a missing log.
pub(super) fn no_log_yet(s: &mut State, package: PackageName) {
    let tracked = s.rows.iter().map(|r| {
        (
            r.tracked.package.as_deref().unwrap_or(""),
            r.tracked.entries.as_deref(),
            r.state_name(),
            r.tracked.record_id,
        )
    });
    let msg = crate::publish::pending_init_message(&package, tracked)
        .unwrap_or_else(|| crate::publish::PublishError::NoLog(package).to_string());
    s.form.step = Step::Edit;
    s.form.error = Some(crate::text::clean(&msg).into_owned());
    s.dirty = true;
}

/// A content file's digest came back: applied only if the field still names that file.
pub(super) fn file_hashed(
    s: &mut State,
    path: String,
    result: Result<(crate::ids::ContentDigest, u64), String>,
) {
    if s.form.file_path().map(|p| p.display().to_string()).as_ref() != Ok(&path) {
        return;
    }
    s.form.file_digest = Some((
        path,
        match result {
            Ok((digest, size)) => FileDigest::Ready { digest, size },
            Err(e) => FileDigest::Failed(e),
        },
    ));
    s.dirty = true;
}

/// The record was submitted: a fresh form (same package and key, not a draft any more), the
/// new row selected and marked a moment, and a message naming the rebuilt original if any.
pub(super) fn submitted(s: &mut State, key: crate::ids::RecordRef) {
    let package = crate::text::clean(s.form.package.trim()).into_owned();
    let rebuilt = s.form.rebuilds.take().map_or(String::new(), |(r, _)| {
        format!(" (rebuilds rejected record {}…)", r.record.short(12))
    });
    s.form = Form {
        package: s.form.package.clone(),
        prefilled: true,
        signer: s.form.signer,
        paths: s.form.paths.clone(),
        ..Form::default()
    };
    s.mode = Mode::Table;
    s.selected = Some(key);
    s.awaiting = Some(key);
    s.fresh = Some((key, s.now + 5000));
    s.mark_view();
    s.flash(format!(
        "submitted {package} record {}…{rebuilt}",
        key.record.short(12)
    ));
}
