//! The dashboard's state and its one reducer. No IO here: key presses and worker results arrive
//! as [`Action`]s; `update` routes each to the pane it concerns, carries out what the pane asks
//! beyond itself ([`Intent`]) and returns [`Effect`]s for the runtime. The panes own their
//! state and keys (`table`, `prompt`, `detail`, `help`, `events`, `form`, `trust`, `logview`,
//! `pulse`); none imports this module. What reaches several panes — the command line, opening
//! the form, rebuilding, the mouse, the saved sort and filter — is in [`commands`].

mod commands;
#[cfg(test)]
mod view_tests;

use super::detail::DetailPane;
use super::events::EventsPane;
use super::form::Form;
use super::help::HelpPane;
use super::logview::LogBrowser;
use super::prompt::Prompt;
use super::pulse::PulseView;
use super::status::Status;
use super::table::RecordTable;
use super::trust::TrustView;
use crate::keys::KeyInfo;
use crate::registry::{ApiError, PackageRecord};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;

pub use super::msg::*;
pub use super::row::{Row, SortKey, StateKind};

/// Everything the screen shows: the panes, and what they share.
#[derive(Debug, Clone)]
pub struct State {
    pub cfg: AppConfig,
    pub mode: Mode,
    /// The tracked records, their view (filter, sort, selection, marks, freeze).
    pub table: RecordTable,
    /// The filter, command and track line.
    pub prompt: Prompt,
    pub detail: DetailPane,
    pub help: HelpPane,
    pub events: EventsPane,
    /// The publish form (with the key store's keys).
    pub form: Form,
    /// What the verifier proved (or caught), and the alerts pane.
    pub trust: TrustView,
    /// The package log browser.
    pub logs: LogBrowser,
    /// The pulse strip (`P`) and its figures.
    pub pulse: PulseView,
    /// Registry health, the checkpoint, the footer's message.
    pub status: Status,
    pub now: i64,
    pub dirty: bool,
    pub quit: bool,
}

impl State {
    pub fn new(cfg: AppConfig, now: i64) -> Self {
        let table = RecordTable::new(&cfg.registry);
        Self {
            cfg,
            mode: Mode::Table,
            table,
            prompt: Prompt::default(),
            detail: DetailPane::default(),
            help: HelpPane::default(),
            events: EventsPane::default(),
            form: Form::default(),
            trust: TrustView::default(),
            logs: LogBrowser::default(),
            pulse: PulseView::default(),
            status: Status::default(),
            now,
            dirty: true,
            quit: false,
        }
    }

    pub fn row(&self, key: &RecordRef) -> Option<&Row> {
        self.table.row(key)
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.table.selected_row()
    }

    pub fn signer(&self) -> Option<&KeyInfo> {
        self.form.signer()
    }

    /// Records named for a confirmation or a message.
    pub fn describe(&self, keys: &[RecordRef]) -> String {
        self.table.describe(keys)
    }

    /// An informational message in the footer (for 5 s).
    pub(super) fn flash(&mut self, msg: impl Into<String>) {
        self.flash_at(Level::Info, msg);
    }

    /// A warning in the footer.
    pub(super) fn warn(&mut self, msg: impl Into<String>) {
        self.flash_at(Level::Warn, msg);
    }

    /// An error in the footer.
    pub(super) fn error(&mut self, msg: impl Into<String>) {
        self.flash_at(Level::Error, msg);
    }

    fn flash_at(&mut self, level: Level, msg: impl Into<String>) {
        self.status.flash(level, msg, self.now);
        self.dirty = true;
    }
}

/// The reducer: routes each action to the pane it concerns.
pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let mut cmds = Vec::new();
    match action {
        Action::Key(k) => on_key(s, k, &mut cmds),
        Action::Mouse(m) => commands::on_mouse(s, m),
        Action::Paste(text) if matches!(s.mode, Mode::Filter | Mode::Command | Mode::Track) => {
            for c in text.trim_end_matches(['\n', '\r']).chars() {
                s.prompt.edit(tui_input::InputRequest::InsertChar(c));
            }
            apply(s, Intent::PromptEdited, &mut cmds);
            s.dirty = true;
        }
        Action::Paste(text) => {
            if s.mode == Mode::Form {
                if s.form.key_name.is_none() {
                    let f = s.form.focused();
                    super::form_keys::begin_edit(&mut s.form, f);
                }
                if let Some(buf) = s.form.input_buffer() {
                    buf.push_str(text.trim_end_matches(['\n', '\r']));
                    cmds.extend(s.form.edited());
                    s.dirty = true;
                }
            }
        }
        Action::Tick(now) => {
            s.now = now;
            // The events pane follows the store as things happen.
            if s.mode == Mode::Events {
                cmds.push(Effect::LoadEvents);
            }
            cmds.extend(s.pulse.on_tick(now));
            if s.status.flash.as_ref().is_some_and(|f| now - f.at > 5000) {
                s.status.flash = None;
            }
            if s.table.fresh.is_some_and(|(_, until)| now >= until) {
                s.table.fresh = None;
            }
            // Only relative-time labels changed.
            s.dirty = true;
        }
        Action::StoreLoaded(list) => cmds.extend(s.table.load(list, &s.trust.did)),
        Action::StoreError(e) => s.error(format!("store: {e}")),
        Action::PollStarted(keys) => s.table.poll_started(&keys),
        a @ Action::Polled { .. } if s.table.frozen => {
            if let Action::Polled { key, .. } = &a {
                // Only tracked records are held, the latest result each: at most one per row.
                let key = *key;
                s.table.hold(key, a);
            }
        }
        Action::Polled {
            key,
            result,
            at,
            latency,
            hold,
        } => apply_poll(s, key, result, at, latency, hold),
        Action::Checkpoint(c) => {
            s.status.checkpoint(c, s.now);
            s.dirty = true;
        }
        Action::History(key, h) => {
            s.detail.history = Some((key, h));
            s.dirty = true;
        }
        Action::RebuildLink(key, link) => {
            s.detail.link = link.map(|l| (key, l));
            s.dirty = true;
        }
        Action::KeysLoaded(keys) => {
            s.form.keys = keys;
            s.form.signer = s.form.signer.min(s.form.keys.len().saturating_sub(1));
            s.dirty = true;
        }
        Action::KeyGenerated(Ok(k)) => {
            s.flash(format!("generated key `{}` ({})", k.name, k.key_id));
            s.form.keys.push(k);
            s.form.signer = s.form.keys.len() - 1;
        }
        Action::KeyGenerated(Err(e)) => s.form.error = Some(e),
        Action::FileHashed {
            ticket,
            path,
            result,
        } => s.dirty |= s.form.file_hashed(ticket, path, result),
        Action::Prepared(ticket, result) => s.dirty |= s.form.prepared(ticket, result),
        Action::Submitted(Err(e)) => {
            s.form.failed(&e);
            s.dirty = true;
        }
        Action::FormLog(ticket, package, facts) => s.form.log_fetched(ticket, package, facts),
        Action::NoLogYet(ticket, package) => {
            let msg = commands::no_log_message(s, package);
            s.dirty |= s.form.no_log(ticket, &msg);
        }
        Action::PathCompleted(ticket, c) => {
            if s.mode == Mode::Form {
                cmds.extend(s.form.completed(ticket, c));
                s.dirty = true;
            }
        }
        Action::SubmitProgress(p) => {
            if let super::form::Step::Submitting(lines) = &mut s.form.step {
                lines.push(crate::text::clean(&p).into_owned());
            }
            s.dirty = true;
        }
        Action::Submitted(Ok(key)) => {
            let msg = s.form.submitted(key);
            s.mode = Mode::Table;
            s.table.select_awaited(key);
            s.table.fresh = Some((key, s.now + 5000));
            s.flash(msg);
        }
        Action::Flash(m) => s.warn(m),
        Action::Trust(e) => {
            let learned = s.trust.apply(e, s.now);
            let claims: Vec<RecordRef> = learned
                .claims
                .into_iter()
                .filter(|r| s.table.contains(r))
                .collect();
            if !claims.is_empty() {
                cmds.push(Effect::Refresh(claims));
            }
            s.table.learn_times(&learned.did);
            s.dirty = true;
        }
        Action::PackageLog(ticket, r) => {
            let did = s.logs.loaded(ticket, *r);
            s.trust.learn(&did);
            s.table.learn_times(&did);
            s.dirty = true;
        }
        Action::Events(e) => {
            s.events.events = e;
            s.dirty = true;
        }
        Action::Pulse(p) => {
            s.pulse.data = Some(p);
            s.dirty = true;
        }
        Action::Prefs(registry, p) => commands::prefs_loaded(s, &registry, p),
        // Only the client for the registry asked for last is used (`Ok` or `Err`).
        Action::ClientReady(ticket, url, result) => {
            if s.status.switch.finish(ticket) {
                match result {
                    Ok(c) => {
                        // What was proven about the other registry says nothing about this one.
                        s.trust = TrustView::default();
                        cmds.push(Effect::UseClient(url, Box::new(c)));
                    }
                    Err(e) => s.error(format!("registry {url}: {e}")),
                }
            }
        }
        Action::NamesResolved(names) => s.table.names_resolved(&names),
        Action::Quit => s.quit = true,
    }
    s.table.refresh_view();
    commands::save_prefs_if_changed(s, &mut cmds);
    if std::mem::take(&mut s.table.dirty) {
        s.dirty = true;
    }
    cmds
}

/// A poll result: the header's health, then the row.
pub(super) fn apply_poll(
    s: &mut State,
    key: RecordRef,
    result: Result<(PackageRecord, serde_json::Value), ApiError>,
    at: i64,
    latency: Duration,
    hold: Option<Duration>,
) {
    s.status.polled(&result, at, latency, hold);
    if let Some(msg) = s.table.apply_poll(key, result, at) {
        s.error(msg);
    }
}

/// A key goes to the pane the mode shows; what it asks beyond itself is carried out here.
fn on_key(s: &mut State, k: KeyEvent, cmds: &mut Vec<Effect>) {
    s.dirty = true;
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && k.code == KeyCode::Char('c') {
        quit_or_ask(s);
        return;
    }
    let (readonly, page) = (s.cfg.readonly, s.table.page);
    let intent = match s.mode.clone() {
        Mode::Table => s.table.on_key(k, readonly, cmds),
        Mode::Help => s.help.on_key(k, page),
        Mode::Detail => s.detail.on_key(k, readonly, page),
        Mode::ConfirmUntrack(keys) => {
            if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                commands::untrack(s, keys, cmds);
            }
            Intent::Close
        }
        mode @ (Mode::Filter | Mode::Command | Mode::Track) => s.prompt.on_key(k, &mode),
        Mode::Form => s.form.on_key(k, cmds),
        Mode::Alerts => s.trust.on_key(k, page),
        Mode::LogBrowser => {
            let table = &s.table;
            s.logs.on_key(k, |r| table.contains(r), cmds)
        }
        Mode::Events => s.events.on_key(k, page),
    };
    apply(s, intent, cmds);
}

/// Quits at once unless a publish draft is kept (in the form or closed with Esc): a draft is
/// never thrown away unasked, from any view — the form shows "quit and discard the draft?
/// y/n" and its `y` quits.
pub(super) fn quit_or_ask(s: &mut State) {
    let answered = s.mode == Mode::Form && s.form.confirm_quit;
    if s.form.has_draft() && !answered {
        s.mode = Mode::Form;
        s.form.confirm_quit = true;
    } else {
        s.quit = true;
    }
}

/// Carries out what a pane asked beyond itself.
fn apply(s: &mut State, intent: Intent, cmds: &mut Vec<Effect>) {
    match intent {
        Intent::None => {}
        Intent::Quit => quit_or_ask(s),
        Intent::Flash(level, msg) => s.flash_at(level, msg),
        Intent::Close => {
            if s.mode == Mode::Form && s.form.has_draft() {
                s.flash("publish draft kept: p reopens it");
            }
            s.mode = Mode::Table;
        }
        Intent::Open(mode) => commands::open(s, mode, cmds),
        Intent::OpenForm => commands::open_form(s, cmds),
        Intent::Rebuild => commands::rebuild(s, cmds),
        Intent::RebuildRecord(key) => commands::rebuild_record(s, key, cmds),
        Intent::TogglePulse => {
            let (page, fx) = s.pulse.toggle(s.table.page, s.now);
            s.table.page = page;
            s.table.clamp_offset();
            cmds.extend(fx);
            s.dirty = true;
        }
        Intent::ApplyHeld(held) => {
            let n = held.len();
            for a in held {
                if let Action::Polled {
                    key,
                    result,
                    at,
                    latency,
                    hold,
                } = a
                {
                    apply_poll(s, key, result, at, latency, hold);
                }
            }
            s.flash(format!("resumed: {n} updates applied"));
        }
        Intent::SelectBy(by) => {
            s.table.select_by(by);
            s.detail.scroll.reset();
            if let Some(key) = s.table.selected {
                if s.detail.needs_history(&key) {
                    cmds.push(Effect::LoadHistory(key));
                }
            }
        }
        Intent::TableKey(k) => {
            let readonly = s.cfg.readonly;
            let next = s.table.on_key(k, readonly, cmds);
            apply(s, next, cmds);
        }
        Intent::PromptEdited => {
            s.prompt.error = None;
            if s.mode == Mode::Filter {
                s.prompt.error = s.table.set_filter(&s.prompt.input);
            }
        }
        Intent::PromptCancelled => {
            if s.mode == Mode::Filter {
                s.prompt.input.clear();
                s.table.filter.clear();
                s.table.mark_view();
            }
            s.mode = Mode::Table;
            s.prompt.error = None;
        }
        Intent::PromptEntered => match commands::run_line(s, cmds) {
            Ok(()) => {
                if matches!(s.mode, Mode::Command | Mode::Track | Mode::Filter) {
                    s.mode = Mode::Table;
                }
                s.prompt.error = None;
            }
            // The text stays so the operator can fix it.
            Err(e) => s.prompt.error = Some(e),
        },
    }
}
