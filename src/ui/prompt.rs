//! The prompt line: filter (`/`), command (`:`) and track (`a`) input with history.

use super::app::*;
use super::form::{Field, FileDigest, Step};
use super::table::open_form;
use crate::tracker::store::NewTracked;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn input_buffer(s: &mut State) -> Option<&mut String> {
    match s.mode {
        Mode::Filter | Mode::Command | Mode::Track => Some(&mut s.input),
        Mode::Form if matches!(s.form.step, Step::Edit) => {
            if s.form.confirm_quit || s.form.confirm_rebuild.is_some() {
                return None;
            }
            if s.form.key_name.is_some() {
                return s.form.key_name.as_mut();
            }
            let f = s.form.focused();
            s.form.text_mut(f)
        }
        _ => None,
    }
}

pub(super) fn after_edit(s: &mut State, cmds: &mut Vec<Effect>) {
    s.dirty = true;
    s.input_error = None;
    match s.mode {
        Mode::Filter => {
            s.filter = s.input.clone();
            let compiled = super::filter::Filter::new(&s.filter);
            s.input_error = compiled.error.clone();
            s.compiled = compiled;
            s.mark_view();
        }
        Mode::Form => {
            s.form.error = None;
            if s.form.focused() == Field::File && s.form.key_name.is_none() {
                s.form.completion = None;
                // Hashed by its absolute path (`~` expanded, relative under the working
                // directory): the path the hint shows is the one read.
                if let Ok(path) = s.form.file_path() {
                    let path = path.display().to_string();
                    s.form.file_digest = Some((path.clone(), FileDigest::Pending));
                    cmds.push(Effect::HashFile(path));
                } else {
                    s.form.file_digest = None;
                }
            }
        }
        _ => {}
    }
}

pub(super) fn run_line(s: &mut State, cmds: &mut Vec<Effect>) -> Result<(), String> {
    let line = s.input.trim().to_string();
    match s.mode {
        Mode::Track => track(s, NewTracked::parse_line(&line)?, cmds),
        Mode::Command => {
            if !line.is_empty() && s.history.last() != Some(&line) {
                s.history.push(line.clone());
            }
            let (cmd, rest) = line
                .split_once(' ')
                .map(|(a, b)| (a, b.trim()))
                .unwrap_or((line.as_str(), ""));
            match cmd {
                "q" | "quit" => s.quit = true,
                "track" => track(s, NewTracked::parse_line(rest)?, cmds),
                "untrack" if rest == "rejected" || rest == "filtered" => {
                    s.refresh_view();
                    let keys: Vec<RecordRef> = s
                        .view
                        .iter()
                        .map(|i| &s.rows[*i])
                        .filter(|r| rest == "filtered" || r.state_name() == "rejected")
                        .map(|r| r.key())
                        .collect();
                    if keys.is_empty() {
                        return Err(format!("no {rest} records shown to untrack"));
                    }
                    // One confirmation, naming how many.
                    s.mode = Mode::ConfirmUntrack(keys);
                    return Ok(());
                }
                "untrack" => {
                    let key = if rest.is_empty() {
                        s.selected.ok_or("nothing selected")?
                    } else {
                        let t = NewTracked::parse_line(rest)?;
                        RecordRef::new(t.log_id, t.record_id)
                    };
                    let what = s.describe(&[key]);
                    s.remove_rows(&[key]);
                    cmds.push(Effect::Untrack(key));
                    cmds.push(Effect::Unschedule(vec![key]));
                    s.flash(format!("untracked {what}"));
                }
                "sort" => {
                    let mut words = rest.split_whitespace();
                    let col = words.next().unwrap_or("");
                    let key = SortKey::parse(col).ok_or_else(|| {
                        format!(
                            "sort by one of: {}",
                            SortKey::ALL.map(|k| k.name()).join(", ")
                        )
                    })?;
                    s.ascending = match words.next() {
                        None | Some("asc") => true,
                        Some("desc") => false,
                        Some(o) => return Err(format!("`{o}`: asc or desc")),
                    };
                    s.sort = key;
                    s.mark_view();
                }
                "publish" => {
                    s.mode = Mode::Table;
                    open_form(s, cmds);
                    if !rest.is_empty() {
                        s.form.package = rest.to_string();
                        s.form.prefilled = false;
                    }
                    return Ok(());
                }
                "registry" => {
                    if rest.is_empty() {
                        return Err(format!(
                            "registry is {}; `:registry URL` switches",
                            s.cfg.registry
                        ));
                    }
                    crate::registry::client::parse_base_url(rest).map_err(|e| format!("{e:#}"))?;
                    // Another registry has its own tracked set: this one's rows stop being
                    // polled now, and the new set arrives from the store.
                    let keys: Vec<_> = s.rows.iter().map(|r| r.key()).collect();
                    s.remove_rows(&keys);
                    cmds.push(Effect::Unschedule(keys));
                    s.cfg.registry = rest.to_string();
                    s.cfg.sandbox = false;
                    s.health = Health::default();
                    s.checkpoint = None;
                    cmds.push(Effect::SetRegistry(rest.to_string()));
                }
                "" => {}
                other => {
                    return Err(format!(
                    "unknown command `{other}` (try :track, :untrack [rejected|filtered], :sort COLUMN [asc|desc], :publish, :registry URL, :q)"
                ))
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Tracks a record (`a` or `:track`): a new one is confirmed and selected when its row
/// arrives; one already tracked is selected, and the footer says so.
fn track(s: &mut State, t: NewTracked, cmds: &mut Vec<Effect>) {
    let key = RecordRef::new(t.log_id, t.record_id);
    if s.row(&key).is_some() {
        let what = s.describe(&[key]);
        s.selected = Some(key);
        s.mark_view();
        s.flash(format!("already tracking {what}"));
        return;
    }
    let name = t
        .package
        .as_ref()
        .map(|p| format!("{p} "))
        .unwrap_or_default();
    s.flash(format!("tracking {name}record {}…", t.record_id.short(8)));
    s.selected = Some(key);
    s.awaiting = Some(key);
    s.mark_view();
    cmds.push(Effect::Track(vec![t]));
}

/// Applies one editing request to the prompt line at its cursor (tui-input does the editing);
/// returns whether the text changed.
pub(super) fn edit(s: &mut State, req: tui_input::InputRequest) -> bool {
    let len = s.input.chars().count();
    let at = s.cursor.unwrap_or(len).min(len);
    let mut i = tui_input::Input::new(std::mem::take(&mut s.input)).with_cursor(at);
    let changed = i.handle(req).is_some_and(|c| c.value);
    let end = i.value().chars().count();
    s.cursor = (i.cursor() < end).then_some(i.cursor());
    s.input = i.value().to_string();
    changed
}

/// The editing keys of the prompt line: a real cursor (←/→, Home/End, Ctrl-A/E), deleting at
/// it (Backspace, Delete, Ctrl-W a word, Ctrl-U to the start, Ctrl-K to the end), Alt-←/→ by
/// word.
fn edit_request(k: &KeyEvent) -> Option<tui_input::InputRequest> {
    use tui_input::InputRequest as R;
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    Some(match k.code {
        KeyCode::Backspace if ctrl || alt => R::DeletePrevWord,
        KeyCode::Backspace => R::DeletePrevChar,
        KeyCode::Delete => R::DeleteNextChar,
        KeyCode::Left if ctrl || alt => R::GoToPrevWord,
        KeyCode::Right if ctrl || alt => R::GoToNextWord,
        KeyCode::Left => R::GoToPrevChar,
        KeyCode::Right => R::GoToNextChar,
        KeyCode::Home => R::GoToStart,
        KeyCode::End => R::GoToEnd,
        KeyCode::Char('a') if ctrl => R::GoToStart,
        KeyCode::Char('e') if ctrl => R::GoToEnd,
        KeyCode::Char('w') if ctrl => R::DeletePrevWord,
        KeyCode::Char('u') if ctrl => R::DeleteFromStart,
        KeyCode::Char('k') if ctrl => R::DeleteTillEnd,
        KeyCode::Char('b') if alt => R::GoToPrevWord,
        KeyCode::Char('f') if alt => R::GoToNextWord,
        KeyCode::Char(c) if !ctrl && !alt => R::InsertChar(c),
        _ => return None,
    })
}

pub(super) fn on_line_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    if !matches!(
        k.code,
        KeyCode::Up | KeyCode::Down | KeyCode::Esc | KeyCode::Enter
    ) {
        if let Some(req) = edit_request(&k) {
            // Any editing key (even one that changes nothing) means the operator is fixing it.
            s.input_error = None;
            s.dirty = true;
            if edit(s, req) {
                after_edit(s, cmds);
            }
        }
        return;
    }
    match k.code {
        KeyCode::Esc => {
            if s.mode == Mode::Filter {
                s.input.clear();
                s.filter.clear();
                s.mark_view();
            }
            s.mode = Mode::Table;
            s.input_error = None;
        }
        KeyCode::Enter => match run_line(s, cmds) {
            Ok(()) => {
                if matches!(s.mode, Mode::Command | Mode::Track | Mode::Filter) {
                    s.mode = Mode::Table;
                }
                s.input_error = None;
            }
            // The text stays so the operator can fix it.
            Err(e) => s.input_error = Some(e),
        },
        KeyCode::Up | KeyCode::Down if s.mode == Mode::Command && !s.history.is_empty() => {
            let n = s.history.len();
            let pos = match (s.history_pos, k.code) {
                (None, KeyCode::Up) => Some(n - 1),
                (Some(p), KeyCode::Up) => Some(p.saturating_sub(1)),
                (Some(p), KeyCode::Down) if p + 1 < n => Some(p + 1),
                _ => None,
            };
            s.history_pos = pos;
            s.input = pos.map(|p| s.history[p].clone()).unwrap_or_default();
            s.cursor = None;
        }
        _ => {}
    }
}
