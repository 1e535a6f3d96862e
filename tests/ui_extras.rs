//! The operator's daily driver (issue 11): the mouse, the pulse strip, the sort and filter
//! remembered per registry, and the wording of the glyph legend and the copy message — driven
//! through the real reducer, drawn into ratatui's TestBackend, and (for the preferences) through
//! the real runtime and store across a restart.

#[path = "common/reducer.rs"]
mod reducer;
#[path = "common/screen.rs"]
mod screen;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use reducer::{ids, key, typed, NOW, REGISTRY};
use screen::{render, text};
use std::time::Duration;
use wargdash::ids::RecordRef;
use wargdash::tracker::prefs::TablePrefs;
use wargdash::tracker::pulse::Pulse;
use wargdash::tracker::store::{Origin, Tracked};
use wargdash::ui::app::{update, Action, Effect, Mode, SortKey, State};

fn state() -> State {
    reducer::state_with(false)
}

fn tracked(n: u8) -> Tracked {
    let RecordRef { log, record } = ids(n);
    Tracked {
        log_id: log,
        record_id: record,
        package: Some(format!("demo:p{n:02}")),
        origin: Origin::Tracked,
        entries: None,
        added_at: NOW - 100_000 + n as i64 * 1000,
        state: None,
        response: None,
        missing: None,
        polled_at: None,
        error: None,
    }
}

/// `n` rows, sorted by package name ascending (so view position `i` is `demo:p{i+1}`).
fn rows(n: u8) -> State {
    let mut s = state();
    update(&mut s, Action::StoreLoaded((1..=n).map(tracked).collect()));
    command(&mut s, "sort package asc");
    s
}

fn command(s: &mut State, line: &str) -> Vec<Effect> {
    let mut e = key(s, KeyCode::Char(':'));
    e.extend(typed(s, line));
    e.extend(key(s, KeyCode::Enter));
    e
}

fn mouse(s: &mut State, kind: MouseEventKind, column: u16, row: u16) -> Vec<Effect> {
    update(
        s,
        Action::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    )
}

fn click(s: &mut State, column: u16, row: u16) {
    mouse(s, MouseEventKind::Down(MouseButton::Left), column, row);
}

fn selected_package(s: &State) -> String {
    s.selected_row()
        .and_then(|r| r.tracked.package.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------- mouse

/// Header 3 lines, then the column titles: the first table row is drawn on line 4.
const FIRST_ROW_Y: u16 = 4;

#[test]
fn a_click_selects_the_row_under_the_pointer_at_any_scroll() {
    let mut s = rows(30);
    // 100×20: 15 rows shown (20 − header 3 − titles 1 − footer 1).
    render(&mut s, 100, 20);
    assert_eq!(selected_package(&s), "demo:p01");
    click(&mut s, 30, FIRST_ROW_Y + 4);
    assert_eq!(selected_package(&s), "demo:p05");
    render(&mut s, 100, 20);
    // Scrolled to the end, the top line shows row 16 (of 30): a click there selects it.
    key(&mut s, KeyCode::Char('G'));
    render(&mut s, 100, 20);
    click(&mut s, 5, FIRST_ROW_Y);
    assert_eq!(selected_package(&s), "demo:p16");
    render(&mut s, 100, 20);
    click(&mut s, 5, FIRST_ROW_Y + 14);
    assert_eq!(selected_package(&s), "demo:p30");
    // The header, the column titles, the footer and past the right edge select nothing.
    for (x, y) in [
        (5, 1),
        (5, FIRST_ROW_Y - 1),
        (5, 19),
        (100, FIRST_ROW_Y + 2),
    ] {
        click(&mut s, x, y);
        assert_eq!(selected_package(&s), "demo:p30", "click at {x},{y}");
    }
    // Other buttons and releases do nothing.
    mouse(
        &mut s,
        MouseEventKind::Down(MouseButton::Right),
        5,
        FIRST_ROW_Y,
    );
    mouse(
        &mut s,
        MouseEventKind::Up(MouseButton::Left),
        5,
        FIRST_ROW_Y,
    );
    assert_eq!(selected_package(&s), "demo:p30");
}

#[test]
fn a_click_below_the_last_row_or_under_an_overlay_selects_nothing() {
    let mut s = rows(3);
    render(&mut s, 100, 20);
    click(&mut s, 5, FIRST_ROW_Y + 1);
    assert_eq!(selected_package(&s), "demo:p02");
    click(&mut s, 5, FIRST_ROW_Y + 6);
    assert_eq!(selected_package(&s), "demo:p02");
    key(&mut s, KeyCode::Char('?'));
    render(&mut s, 100, 20);
    click(&mut s, 5, FIRST_ROW_Y + 2);
    assert_eq!(selected_package(&s), "demo:p02");
    assert_eq!(s.mode, Mode::Help);
}

#[test]
fn the_wheel_moves_three_rows_and_scrolls_overlays() {
    let mut s = rows(30);
    render(&mut s, 100, 20);
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 10);
    assert_eq!(selected_package(&s), "demo:p04");
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 10);
    assert_eq!(selected_package(&s), "demo:p07");
    mouse(&mut s, MouseEventKind::ScrollUp, 5, 10);
    assert_eq!(selected_package(&s), "demo:p04");
    mouse(&mut s, MouseEventKind::ScrollUp, 5, 10);
    mouse(&mut s, MouseEventKind::ScrollUp, 5, 10);
    assert_eq!(selected_package(&s), "demo:p01");
    // Help scrolls: the first lines go off the top.
    key(&mut s, KeyCode::Char('?'));
    let before = text(&render(&mut s, 100, 20));
    assert!(before.contains("move down"), "{before}");
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 10);
    assert_eq!(s.help.scroll.top(), 3);
    let after = text(&render(&mut s, 100, 20));
    assert!(!after.contains("move down"), "{after}");
    mouse(&mut s, MouseEventKind::ScrollUp, 5, 10);
    assert_eq!(s.help.scroll.top(), 0);
    assert_eq!(selected_package(&s), "demo:p01", "the table stays put");
    key(&mut s, KeyCode::Esc);
    // The events pane and the alerts pane scroll too.
    key(&mut s, KeyCode::Char('e'));
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 10);
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 10);
    assert_eq!(s.events.scroll.top(), 6);
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('A'));
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 10);
    assert_eq!(s.trust.scroll.top(), 3);
    key(&mut s, KeyCode::Esc);
    // The detail pane scrolls, never past its last line.
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.mode, Mode::Detail);
    render(&mut s, 100, 20);
    let max = s.detail.scroll.max();
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 10);
    assert_eq!(s.detail.scroll.top(), 3.min(max));
    for _ in 0..50 {
        mouse(&mut s, MouseEventKind::ScrollDown, 5, 10);
    }
    assert_eq!(s.detail.scroll.top(), max);
    assert_eq!(selected_package(&s), "demo:p01");
}

// ---------------------------------------------------------------------------------- pulse

fn pulse() -> Pulse {
    Pulse {
        published: vec![0, 0, 1, 1, 2],
        latency: vec![None, None, Some(70_000), None, Some(185_000)],
        latencies: vec![70_000, 185_000, 205_000],
    }
}

#[test]
fn the_pulse_strip_toggles_loads_off_the_draw_path_and_draws_two_sparklines() {
    let mut s = rows(30);
    let plain = text(&render(&mut s, 100, 20));
    assert!(!plain.contains("published/min"), "{plain}");
    let page = s.table.page;
    let e = key(&mut s, KeyCode::Char('P'));
    assert!(e.iter().any(|e| matches!(e, Effect::LoadPulse)), "{e:?}");
    assert!(s.pulse.shown);
    let waiting = text(&render(&mut s, 100, 20));
    assert!(waiting.contains("pulse: reading the store…"), "{waiting}");
    // The strip takes two of the table's lines.
    assert_eq!(s.table.page, page - 2);
    update(&mut s, Action::Pulse(pulse()));
    let out = text(&render(&mut s, 100, 20));
    let lines: Vec<&str> = out.lines().collect();
    // Above the footer: one column a minute, scaled to the busiest (2 → █, 1 → ▄, 0 → blank),
    // the newest minute at the right end of the sparkline (column 71 of 100: 100 − figures 28 −
    // 1), next to its figures.
    assert_eq!(
        lines[17],
        format!("published/min{}▄▄█ 4 in 5 min", " ".repeat(69 - 13)),
        "{out}"
    );
    assert_eq!(
        lines[18],
        format!(
            "submit→publish{}▃ █ p50 3m05s p95 3m25s",
            " ".repeat(69 - 14)
        ),
        "{out}"
    );
    // The table ends above the strip: 13 rows (p01..p13), p14 is not drawn.
    assert!(
        out.contains("demo:p13") && !out.contains("demo:p14"),
        "{out}"
    );
    // While shown, the figures are read again every 5 s (on the 1 Hz tick), not on each tick.
    let t0 = s.now;
    let e = update(&mut s, Action::Tick(t0 + 1000));
    assert!(!e.iter().any(|e| matches!(e, Effect::LoadPulse)), "{e:?}");
    let e = update(&mut s, Action::Tick(t0 + 5000));
    assert!(e.iter().any(|e| matches!(e, Effect::LoadPulse)), "{e:?}");
    // With no submission of this app's published, the latency line says so.
    update(
        &mut s,
        Action::Pulse(Pulse {
            latency: vec![None; 5],
            latencies: vec![],
            ..pulse()
        }),
    );
    let out = text(&render(&mut s, 100, 20));
    assert!(out.contains("none of yours"), "{out}");
    // An hour of minutes on a narrow screen: the newest minutes are shown, at the right.
    let mut hour = vec![0u64; 60];
    hour[59] = 4;
    hour[0] = 9;
    update(
        &mut s,
        Action::Pulse(Pulse {
            published: hour,
            latency: vec![None; 60],
            latencies: vec![],
        }),
    );
    let out = text(&render(&mut s, 60, 20));
    let line = out.lines().nth(17).unwrap_or_default().to_string();
    // 16 columns of sparkline (60 − label 16 − figures 28): the rightmost is minute 59 (4 of
    // 4 → █; minute 0's 9 is not shown, so it does not set the scale).
    assert_eq!(
        line,
        format!("published/min   {}█ 13 in 60 min", " ".repeat(15)),
        "{out}"
    );
    // P again hides it: the table has its lines back, and ticks read nothing.
    key(&mut s, KeyCode::Char('P'));
    assert!(!s.pulse.shown);
    assert_eq!(s.table.page, page);
    let out = text(&render(&mut s, 100, 20));
    assert!(!out.contains("published/min"), "{out}");
    let e = update(&mut s, Action::Tick(t0 + 20_000));
    assert!(!e.iter().any(|e| matches!(e, Effect::LoadPulse)), "{e:?}");
}

// ------------------------------------------------------------------------ prefs (reducer)

fn saved(e: &[Effect]) -> Vec<(String, TablePrefs)> {
    e.iter()
        .filter_map(|e| match e {
            Effect::SavePrefs(r, p) => Some((r.clone(), p.clone())),
            _ => None,
        })
        .collect()
}

fn prefs(sort: &str, ascending: bool, filter: &str) -> TablePrefs {
    TablePrefs {
        sort: sort.into(),
        ascending,
        filter: filter.into(),
    }
}

#[test]
fn sort_and_filter_changes_are_saved_once_the_filter_is_entered() {
    let mut s = state();
    update(&mut s, Action::StoreLoaded((1..=3).map(tracked).collect()));
    // Age ▼ is the default: nothing to save yet.
    assert!(saved(&update(&mut s, Action::Tick(NOW + 1000))).is_empty());
    let e = key(&mut s, KeyCode::Char('s'));
    assert_eq!(saved(&e), [(REGISTRY.into(), prefs("polled", false, ""))]);
    let e = key(&mut s, KeyCode::Char('S'));
    assert_eq!(saved(&e), [(REGISTRY.into(), prefs("polled", true, ""))]);
    // Typing the filter saves nothing until Enter.
    let mut e = key(&mut s, KeyCode::Char('/'));
    e.extend(typed(&mut s, "p02"));
    assert!(saved(&e).is_empty(), "{e:?}");
    let e = key(&mut s, KeyCode::Enter);
    assert_eq!(saved(&e), [(REGISTRY.into(), prefs("polled", true, "p02"))]);
    // `:sort` and Esc (clearing the filter) are saved too; an unchanged state is not.
    let e = command(&mut s, "sort state desc");
    assert_eq!(saved(&e), [(REGISTRY.into(), prefs("state", false, "p02"))]);
    let e = key(&mut s, KeyCode::Esc);
    assert_eq!(saved(&e), [(REGISTRY.into(), prefs("state", false, ""))]);
    assert!(saved(&key(&mut s, KeyCode::Char('j'))).is_empty());
}

#[test]
fn loaded_prefs_apply_only_to_the_registry_in_use() {
    let mut s = state();
    update(&mut s, Action::StoreLoaded((1..=3).map(tracked).collect()));
    let e = update(
        &mut s,
        Action::Prefs(format!("{REGISTRY}/"), Some(prefs("package", true, "p0"))),
    );
    assert!(
        saved(&e).is_empty(),
        "loading is not a change to save: {e:?}"
    );
    assert_eq!(
        (s.table.sort, s.table.ascending, s.table.filter.as_str()),
        (SortKey::Package, true, "p0")
    );
    // An answer for another registry (one switched away from) is dropped.
    update(
        &mut s,
        Action::Prefs("http://elsewhere:1".into(), Some(prefs("log", false, "x"))),
    );
    assert_eq!(
        (s.table.sort, s.table.ascending, s.table.filter.as_str()),
        (SortKey::Package, true, "p0")
    );
    // During a `:registry` switch nothing is saved until the new registry's prefs arrive;
    // none saved there means the defaults.
    let e = command(&mut s, "registry http://127.0.0.1:8091");
    assert!(saved(&e).is_empty(), "{e:?}");
    assert!(saved(&key(&mut s, KeyCode::Char('s'))).is_empty());
    // The pulse strip shows the registry switched away from until the new one's prefs arrive
    // (the store is scoped to it from then on): then it is read again.
    key(&mut s, KeyCode::Char('P'));
    update(&mut s, Action::Pulse(pulse()));
    update(&mut s, Action::Prefs("http://127.0.0.1:8091".into(), None));
    assert_eq!(
        (s.table.sort, s.table.ascending, s.table.filter.as_str()),
        (SortKey::Age, false, "")
    );
    assert!(
        s.pulse.data.is_none(),
        "the old registry's pulse is not shown"
    );
    let e = update(&mut s, Action::Tick(NOW + 1000));
    assert!(e.iter().any(|e| matches!(e, Effect::LoadPulse)), "{e:?}");
    key(&mut s, KeyCode::Char('P'));
    let e = key(&mut s, KeyCode::Char('s'));
    assert_eq!(
        saved(&e),
        [("http://127.0.0.1:8091".into(), prefs("polled", false, ""))]
    );
}

// ---------------------------------------------------------------------------------- wording

#[test]
fn copying_says_which_id_of_which_package() {
    let mut s = rows(3);
    let e = key(&mut s, KeyCode::Char('y'));
    let record = ids(1).record.to_string();
    assert!(
        e.iter()
            .any(|e| matches!(e, Effect::Copy(t) if *t == record)),
        "{e:?}"
    );
    let flash = s.status.flash.clone().unwrap().text;
    assert_eq!(
        flash,
        format!("copied record ID sha256:{}… (demo:p01)", &record[7..15])
    );
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('Y'));
    let log = ids(2).log.to_string();
    assert_eq!(
        s.status.flash.clone().unwrap().text,
        format!("copied log ID sha256:{}… (demo:p02)", &log[7..15])
    );
}

#[test]
fn help_and_readme_explain_every_glyph() {
    let mut s = state();
    key(&mut s, KeyCode::Char('?'));
    let out = text(&render(&mut s, 120, 200));
    // The glyph legend and the key table live in the operating guide (the README links it).
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operating.md"))
        .expect("docs/operating.md");
    for (name, glyph, meaning) in wargdash::ui::theme::STATES {
        assert!(
            out.contains(&format!("{glyph} {name}  {meaning}")),
            "help: {glyph} {name}\n{out}"
        );
        assert!(
            readme.contains(&format!("`{glyph}` {name}")),
            "README: {glyph} {name}"
        );
    }
    for (glyph, meaning) in wargdash::ui::theme::GLYPHS {
        assert!(
            out.contains(&format!("{glyph}  {meaning}")),
            "help: {glyph}\n{out}"
        );
        for g in glyph.split(" / ") {
            let g = g.split(' ').next().unwrap_or(g);
            assert!(readme.contains(&format!("`{g}")), "README lacks {g}");
        }
    }
    // The table draws its states with the legend's glyphs.
    let mut s = rows(1);
    let out = text(&render(&mut s, 120, 10));
    assert!(out.contains("? unknown"), "{out}");
    for (keys, _) in wargdash::ui::keymap::MOUSE_HELP {
        assert!(readme.contains(keys), "README lacks {keys}");
    }
    assert!(readme.contains("--no-mouse"));
    assert!(readme.contains("| `P`"), "README key table lacks P");
}

// ----------------------------------------------------------- prefs (runtime, store, restart)

mod restart {
    use super::*;
    use wargdash::keys::KeyStore;
    use wargdash::tracker::scheduler::SchedulerConfig;
    use wargdash::tracker::store::Store;
    use wargdash::ui::runtime::Dashboard;

    /// Nothing listens here: the dashboard starts anyway (the header says the registry is down).
    const A: &str = "http://127.0.0.1:9";
    const B: &str = "http://127.0.0.1:7";

    fn start(home: &std::path::Path) -> Dashboard {
        let store = Store::open(&home.join("wargdash.db"), A).unwrap();
        Dashboard::builder(A, store, KeyStore::new(home.join("keys")))
            .interval(Duration::from_secs(60))
            .scheduler(SchedulerConfig::default())
            .start()
            .unwrap()
    }

    fn press(d: &mut Dashboard, text: &str) {
        for c in text.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\x1b' => KeyCode::Esc,
                c => KeyCode::Char(c),
            };
            d.apply(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        }
    }

    /// Runs the loop until `done` holds (bounded).
    async fn until(d: &mut Dashboard, what: &str, done: impl Fn(&State) -> bool) {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 24)).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(&d.state) {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            let stop = tokio::time::Instant::now() + Duration::from_millis(100);
            d.run_loop(&mut term, futures::stream::pending(), Some(stop), |_| {})
                .await
                .unwrap();
        }
    }

    fn stored(home: &std::path::Path, registry: &str) -> Option<TablePrefs> {
        Store::open(&home.join("wargdash.db"), registry)
            .unwrap()
            .load_prefs()
            .unwrap()
    }

    async fn saved_as(home: &std::path::Path, registry: &str, want: &TablePrefs) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while stored(home, registry).as_ref() != Some(want) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not saved: {:?}",
                stored(home, registry)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn shown(s: &State) -> (SortKey, bool, String) {
        (s.table.sort, s.table.ascending, s.table.filter.clone())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sort_and_filter_come_back_after_a_restart_and_per_registry() {
        let home = tempfile::tempdir().unwrap();
        let mut d = start(home.path());
        assert_eq!(shown(&d.state), (SortKey::Age, false, String::new()));
        // `s` twice (AGE → POLLED → PACKAGE), `S` (ascending), then a filter.
        press(&mut d, "ssS/demo\n");
        let a = prefs("package", true, "demo");
        saved_as(home.path(), A, &a).await;
        drop(d);

        // A new process: the same store brings them back before the first frame.
        let mut d = start(home.path());
        assert_eq!(shown(&d.state), (SortKey::Package, true, "demo".into()));

        // Another registry has its own (none yet: the defaults), and keeps what is set there.
        press(&mut d, &format!(":registry {B}\n"));
        until(&mut d, "B's defaults", |s| {
            shown(s) == (SortKey::Age, false, String::new())
        })
        .await;
        press(&mut d, "S");
        saved_as(home.path(), B, &prefs("age", true, "")).await;
        assert_eq!(stored(home.path(), A), Some(a.clone()), "A's are untouched");

        // Back to A: A's sort and filter again.
        press(&mut d, &format!(":registry {A}\n"));
        until(&mut d, "A's prefs", |s| {
            shown(s) == (SortKey::Package, true, "demo".into())
        })
        .await;
    }
}

/// Issue 18, item 3: after a command error the `:` line stays open for correction, and a new
/// `:` starts a fresh command instead of being appended to the failed one.
#[test]
fn a_colon_after_a_command_error_starts_a_fresh_command() {
    let mut s = state();
    key(&mut s, KeyCode::Char(':'));
    typed(&mut s, "sort bogus");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.mode, Mode::Command, "the line stays open after an error");
    assert!(s.prompt.error.is_some(), "{:?}", s.prompt.error);
    key(&mut s, KeyCode::Char(':'));
    assert_eq!(s.prompt.input, "", "a fresh command");
    assert!(s.prompt.error.is_none());
    typed(&mut s, "sort age");
    key(&mut s, KeyCode::Enter);
    assert!(s.prompt.error.is_none(), "{:?}", s.prompt.error);
}

/// Issue 18, item 2: a kept publish draft is never lost by a key: `q`, `:q` and Ctrl-C from the
/// table ask ("quit and discard the draft? y/n"); `n` goes back to the draft, `y` quits.
#[test]
fn quitting_from_the_table_asks_when_a_draft_is_kept() {
    let mut s = state();
    s.cfg.readonly = false;
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.mode, Mode::Form, "the form opens");
    typed(&mut s, "demo:draft");
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.mode, Mode::Table, "Esc keeps the draft");
    for quit in [
        vec![KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)],
        vec![KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)],
    ] {
        for k in quit {
            update(&mut s, Action::Key(k));
        }
        assert!(!s.quit, "a kept draft is not thrown away unasked");
        assert_eq!(s.mode, Mode::Form);
        assert!(s.form.confirm_quit);
        let out = text(&render(&mut s, 120, 30));
        assert!(out.contains("quit and discard the draft? y/n"), "{out}");
        key(&mut s, KeyCode::Char('n'));
        assert!(!s.quit);
        assert!(s.form.has_draft(), "n goes back to the draft");
        key(&mut s, KeyCode::Esc);
    }
    key(&mut s, KeyCode::Char(':'));
    typed(&mut s, "q");
    key(&mut s, KeyCode::Enter);
    assert!(!s.quit && s.form.confirm_quit, ":q asks too");
    key(&mut s, KeyCode::Char('y'));
    assert!(s.quit, "y quits");
}
