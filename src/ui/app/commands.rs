//! What reaches several panes, for the reducer: the command line's commands, opening a pane,
//! the publish form and a rebuild, untracking, the mouse, and the sort and filter saved per
//! registry.

use super::*;
use crate::ids::PackageName;
use crate::tracker::prefs::TablePrefs;
use crate::tracker::store::NewTracked;
use crate::ui::form::{Form, Step};
use crate::ui::mouse::wheel_step;
use crate::ui::prefs::{current, PrefsState};
use crate::ui::table::needs_rebuild;
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

/// Runs the prompt's line: a record to track, or a command.
pub(super) fn run_line(s: &mut State, cmds: &mut Vec<Effect>) -> Result<(), String> {
    let line = s.prompt.input.trim().to_string();
    match s.mode {
        Mode::Track => track(s, NewTracked::parse_line(&line)?, cmds),
        Mode::Command => {
            s.prompt.remember(&line);
            let (cmd, rest) = line
                .split_once(' ')
                .map(|(a, b)| (a, b.trim()))
                .unwrap_or((line.as_str(), ""));
            match cmd {
                "q" | "quit" => super::quit_or_ask(s),
                "track" => track(s, NewTracked::parse_line(rest)?, cmds),
                "untrack" if rest == "rejected" || rest == "filtered" => {
                    s.table.refresh_view();
                    let keys: Vec<RecordRef> = s
                        .table
                        .view
                        .iter()
                        .map(|i| &s.table.rows[*i])
                        .filter(|r| rest == "filtered" || r.state_kind() == StateKind::Rejected)
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
                        s.table.selected.ok_or("nothing selected")?
                    } else {
                        let t = NewTracked::parse_line(rest)?;
                        RecordRef::new(t.log_id, t.record_id)
                    };
                    untrack(s, vec![key], cmds);
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
                    s.table.ascending = match words.next() {
                        None | Some("asc") => true,
                        Some("desc") => false,
                        Some(o) => return Err(format!("`{o}`: asc or desc")),
                    };
                    s.table.sort = key;
                    s.table.mark_view();
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
                    let keys: Vec<_> = s.table.rows.iter().map(|r| r.key()).collect();
                    s.table.remove_rows(&keys);
                    cmds.push(Effect::Unschedule(keys));
                    s.cfg.registry = rest.to_string();
                    s.cfg.sandbox = false;
                    s.status.health = Health::default();
                    s.status.checkpoint = None;
                    cmds.push(Effect::SetRegistry(
                        rest.to_string(),
                        s.status.switch.start(),
                    ));
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
        s.table.select(key);
        s.flash(format!("already tracking {what}"));
        return;
    }
    let name = t
        .package
        .as_ref()
        .map(|p| format!("{p} "))
        .unwrap_or_default();
    s.flash(format!("tracking {name}record {}…", t.record_id.short(8)));
    s.table.select_awaited(key);
    cmds.push(Effect::Track(vec![t]));
}

/// Untracks `keys` (after `y`, or `:untrack`): the rows go, the scheduler and the store are told.
pub(super) fn untrack(s: &mut State, keys: Vec<RecordRef>, cmds: &mut Vec<Effect>) {
    let what = s.describe(&keys);
    s.table.remove_rows(&keys);
    for key in &keys {
        cmds.push(Effect::Untrack(*key));
    }
    cmds.push(Effect::Unschedule(keys));
    s.flash(format!("untracked {what}"));
}

/// Opens `mode`, each pane starting as it should: overlays at their top, the prompt with the
/// filter in force (or empty), the log browser on the selected row's package.
pub(super) fn open(s: &mut State, mode: Mode, cmds: &mut Vec<Effect>) {
    match &mode {
        Mode::Detail => s.detail.scroll.reset(),
        Mode::Help => s.help.scroll.reset(),
        Mode::Alerts => s.trust.scroll.reset(),
        Mode::Events => s.events.scroll.reset(),
        Mode::LogBrowser => {
            let Some(r) = s.table.selected_row() else {
                s.warn("select a record first: L shows its package's log");
                return;
            };
            let (log, package) = (r.tracked.log_id, r.tracked.package.clone());
            cmds.push(s.logs.open(log, package));
        }
        Mode::Filter | Mode::Command | Mode::Track => s.prompt.open(&mode, &s.table.filter),
        _ => {}
    }
    s.mode = mode;
}

/// Opens the publish form (not when read-only): the package of the selected row, unless the
/// draft has one the operator typed.
pub(super) fn open_form(s: &mut State, cmds: &mut Vec<Effect>) {
    if s.cfg.readonly {
        s.warn("read-only: publishing is disabled");
        return;
    }
    cmds.push(Effect::LoadKeys);
    s.mode = Mode::Form;
    s.form.step = Step::Edit;
    s.form.error = None;
    if s.form.package.trim().is_empty() || s.form.prefilled {
        if let Some(p) = s
            .selected_row()
            .and_then(|r| r.tracked.package.clone())
            .filter(|p| p.parse::<PackageName>().is_ok())
        {
            s.form.package = p;
            s.form.prefilled = true;
        }
    }
}

/// Rebuilds the selected rejected record's entries on the log's new head: straight to review.
/// A publish draft open for something else is not replaced unasked.
pub(super) fn rebuild(s: &mut State, cmds: &mut Vec<Effect>) {
    let Some(r) = s.selected_row() else { return };
    if !needs_rebuild(r) {
        s.warn("b rebuilds records this app signed that were rejected because the head moved");
        return;
    }
    let key = r.key();
    if s.form.has_draft() && s.form.rebuilds.as_ref().is_none_or(|(k, _)| *k != key) {
        open_form(s, cmds);
        if s.mode == Mode::Form {
            s.form.confirm_rebuild = Some(key);
        }
        return;
    }
    rebuild_record(s, key, cmds);
}

/// Replaces the form with a rebuild of `key` (rejected because the head moved), linked to it.
pub(super) fn rebuild_record(s: &mut State, key: RecordRef, cmds: &mut Vec<Effect>) {
    let Some(r) = s.row(&key) else { return };
    let (Some(entries), Some(package)) = (r.tracked.entries.clone(), r.tracked.package.clone())
    else {
        return;
    };
    let reason = match &r.state {
        Some(crate::registry::RecordState::Rejected { reason }) => {
            crate::text::clean(reason).into_owned()
        }
        _ => String::new(),
    };
    let Ok(pkg) = package.parse::<PackageName>() else {
        return;
    };
    open_form(s, cmds);
    if s.mode != Mode::Form {
        return;
    }
    s.form = Form {
        package,
        signer: s.form.signer,
        staged: entries.clone(),
        paths: s.form.paths.clone(),
        rebuilds: Some((key, reason)),
        keys: std::mem::take(&mut s.form.keys),
        ..Form::default()
    };
    s.form.prepare(pkg, entries, cmds);
}

/// Why `package` has no log: if this app submitted its `init` and it is still pending, that is
/// the reason, not a missing log.
pub(super) fn no_log_message(s: &State, package: PackageName) -> String {
    let tracked = s.table.rows.iter().map(|r| {
        (
            r.tracked.package.as_deref().unwrap_or(""),
            r.tracked.entries.as_deref(),
            r.state_name(),
            r.tracked.record_id,
        )
    });
    crate::publish::pending_init_message(&package, tracked)
        .unwrap_or_else(|| crate::publish::PublishError::NoLog(package).to_string())
}

/// A click or the wheel: a left click on a table row selects it; the wheel moves the table's
/// selection or scrolls the overlay shown.
pub(super) fn on_mouse(s: &mut State, m: MouseEvent) {
    let by = match m.kind {
        MouseEventKind::ScrollDown => wheel_step(true),
        MouseEventKind::ScrollUp => wheel_step(false),
        MouseEventKind::Down(MouseButton::Left) => {
            if s.mode != Mode::Table {
                return;
            }
            let Some(pos) = s.table.body.get().and_then(|b| b.pos_at(m.column, m.row)) else {
                return;
            };
            if pos < s.table.view.len() {
                s.table.select_pos(pos);
                s.dirty = true;
            }
            return;
        }
        // Moves, drags and releases change nothing (and cost no redraw).
        _ => return,
    };
    match s.mode {
        Mode::Table => s.table.select_by(by),
        Mode::Help => s.help.scroll.by(by),
        Mode::Detail => s.detail.scroll.by(by),
        Mode::Alerts => s.trust.scroll.by(by),
        Mode::Events => s.events.scroll.by(by),
        Mode::LogBrowser => s.logs.scroll_by(by),
        // Prompts, the form and confirmations ignore the wheel.
        _ => return,
    }
    s.dirty = true;
}

/// Preferences read for `registry`: applied when they are for the registry in use (an answer
/// for a registry switched away from is dropped). None saved: the defaults.
pub(super) fn prefs_loaded(s: &mut State, registry: &str, p: Option<TablePrefs>) {
    if crate::tracker::store::registry_key(registry)
        != crate::tracker::store::registry_key(&s.cfg.registry)
    {
        return;
    }
    let p = p.unwrap_or_else(|| PrefsState::defaults(registry));
    let t = &mut s.table;
    t.sort = SortKey::parse(&p.sort).unwrap_or(SortKey::Age);
    t.ascending = p.ascending;
    t.filter = p.filter.clone();
    if s.mode == Mode::Filter {
        s.prompt.input = t.filter.clone();
        s.prompt.cursor = None;
    }
    let now = current(t.sort, t.ascending, &t.filter);
    t.prefs.saved_as(registry, now);
    t.mark_view();
    t.refresh_view();
    // The store now answers for this registry: the pulse strip reads it again on the next tick.
    s.pulse.forget();
}

/// After every action: when the sort or the filter changed (and the filter is not being
/// typed), asks the runtime to save them for the registry in use. Nothing is saved while a
/// `:registry` switch waits for the new registry's preferences.
pub(super) fn save_prefs_if_changed(s: &mut State, cmds: &mut Vec<Effect>) {
    if s.mode == Mode::Filter || !s.table.prefs.is_for(&s.cfg.registry) {
        return;
    }
    let t = &mut s.table;
    let now = current(t.sort, t.ascending, &t.filter);
    let registry = s.cfg.registry.clone();
    if t.prefs.saved_as(&registry, now.clone()) {
        cmds.push(Effect::SavePrefs(registry, now));
    }
}
