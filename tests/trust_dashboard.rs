//! Trust on the dashboard: the real runtime (`ui::runtime::Dashboard` with its verifier) on a
//! `TestBackend`, against a real in-process warg-server, directly or behind a tampering proxy
//! on loopback. The header states trust in words, proven rows carry a mark, `A` shows the
//! alert with what it means, and `--on-alert` gets each alert once.

mod common;
#[path = "common/dash.rs"]
mod dash;
#[path = "common/lies.rs"]
mod lies;
#[path = "common/screen.rs"]
mod screen;
#[path = "common/tamper.rs"]
mod tamper;

use common::{TestRegistry, Wd};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use dash::DashRun;
use std::time::Duration;
use wargdash::ui::app::Action;

/// The dashboard of `home` on `url` with its verifier, drawn 160×24.
fn start(url: &str, home: &std::path::Path, on_alert: Option<String>) -> DashRun {
    DashRun::start(url, home, 160, 24, Some(dash::verifier(home, on_alert)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_registry_shows_verified_and_proven_rows() {
    let reg = TestRegistry::start();
    // Published by someone else and tracked by hand: what it did is known only from its
    // package log.
    let publisher = Wd::new(Some(&reg.url));
    publisher.ok(&["key", "new"], 0);
    let v = publisher.json(&["--json", "publish", "demo:shown", "init", "--wait"], 0);
    assert_eq!(v["state"], "published");
    let wd = Wd::new(Some(&reg.url));
    let rid = v["recordId"].as_str().unwrap();
    wd.ok(&["track", "add", "--package", "demo:shown", rid], 0);
    let mut run = start(&reg.url, wd.home.path(), None);
    let screen = run.until("✔ proven").await;
    let header = screen.lines().next().unwrap();
    assert!(header.contains("✔ verified L="), "{screen}");
    assert!(header.contains("(TOFU)"), "{screen}");
    assert!(!screen.contains("ALERT"), "{screen}");
    // What the record did, from its package log (validated and proven by the verifier, with
    // no `L` opened).
    run.until("✔ proven · init · index").await;
}

/// One lie on screen: the header names one of exactly its alerts, `A` lists each with its
/// evidence, and `--on-alert` is handed exactly them.
async fn lie_on_screen(lie: lies::Lie) {
    let scene = lies::Scene::new(lie);
    scene.tell();
    let want = lies::expected(&scene.case);
    let home = scene.wd.home.path();
    let out = home.join("handed.txt");
    let cmd = format!("echo \"$WARGDASH_ALERT_KIND\" >> {}", out.display());
    let mut verifier = dash::verifier(home, Some(cmd));
    if let Some(g) = scene.case.grace {
        // The case's grace for claims, as its config gives the CLI.
        verifier.options = std::sync::Arc::new(move |_| wargdash::trust::cycle::CycleOptions {
            max_age: Duration::from_secs(g),
            ..Default::default()
        });
    }
    let mut run = DashRun::start(&scene.proxy.url, home, 160, 24, Some(verifier));
    let screen = run.until("⚠ ALERT ").await;
    let header = screen.lines().next().unwrap_or_default().to_string();
    assert!(
        want.iter()
            .any(|k| header.contains(&format!("⚠ ALERT {k}"))),
        "{lie:?}: {screen}"
    );
    // Sorted, duplicates kept: each alert is handed over exactly once.
    let read = || {
        let mut v: Vec<String> = std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    run.until_true("--on-alert", || read() == want).await;
    run.dash.apply(Action::Key(KeyEvent::new(
        KeyCode::Char('A'),
        KeyModifiers::NONE,
    )));
    let pane = run.until("Trust alerts").await;
    for k in &want {
        assert!(pane.contains(k.as_str()), "{lie:?}: {k} not in {pane}");
    }
    assert!(pane.contains("evidence:"), "{pane}");
    if lie == lies::Lie::PackageChain {
        // The package's rows say their log is not proven.
        run.dash
            .apply(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        let table = run.until(lies::PACKAGE).await;
        assert!(table.contains("✗ PACKAGE LOG NOT PROVEN (A)"), "{table}");
        run.dash.apply(Action::Key(KeyEvent::new(
            KeyCode::Char('A'),
            KeyModifiers::NONE,
        )));
    }
    // A few cycles later nothing else was handed over.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    run.until("Trust alerts").await;
    assert_eq!(read(), want, "{lie:?}");
}

macro_rules! lies_on_screen {
    ($($name:ident => $lie:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                lie_on_screen(lies::Lie::$lie).await;
            }
        )*
    };
}

lies_on_screen! {
    screen_checkpoint_altered_under_its_signature => AlteredUnderSignature,
    screen_checkpoint_from_the_future => Future,
    screen_stale_checkpoint => Stale,
    screen_checkpoint_timestamp_backwards => Backwards,
    screen_older_genuine_checkpoint_after_a_newer_one => OlderGenuine,
    screen_forked_checkpoint => Forked,
    screen_changed_ledger_entry => LedgerEntry,
    screen_published_answer_for_a_record_not_in_the_log => PublishedGhost,
    screen_invalid_package_chain => PackageChain,
    screen_invalid_operator_chain => OperatorChain,
    screen_checkpoint_key_without_commit => KeyWithoutCommit,
    screen_emptied_map_bundle => EmptiedMapBundle,
    screen_altered_map_bundle => AlteredMapBundle,
    screen_emptied_map_bundle_for_a_package_head => PackageHeadBundle,
    screen_published_past_the_signed_log => PublishedPastSignedLog,
    screen_ledger_withheld_after_it_was_served => LedgerWithheld,
    screen_no_ledger_and_a_published_ghost => NoLedgerGhost,
    screen_absurd_log_length_under_the_signature => AbsurdLength,
    screen_absurd_log_length_at_first_contact => AbsurdLengthFirstContact,
    screen_operator_keys_changed => KeysChanged,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_checkpoint_shows_the_alert_and_hands_it_to_on_alert_once() {
    let reg = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg.url);
    proxy.set_hook(Box::new(|_m, path, status, body| {
        if path != "/v1/fetch/checkpoint" || status != 200 {
            return body;
        }
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let ts = v["contents"]["timestamp"].as_u64().unwrap();
        v["contents"]["timestamp"] = (ts + 1).into();
        serde_json::to_vec(&v).unwrap()
    }));
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("handed.txt");
    let cmd = format!("echo \"$WARGDASH_ALERT_KIND\" >> {}", out.display());
    let mut run = start(&proxy.url, home.path(), Some(cmd));
    let screen = run.until("⚠ ALERT CHECKPOINT_SIGNATURE").await;
    assert!(!screen.contains("✔ verified"), "{screen}");
    // Several cycles later, the alert is still shown and was handed over once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    run.until("⚠ ALERT CHECKPOINT_SIGNATURE").await;
    let handed = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(
        handed.lines().collect::<Vec<_>>(),
        vec!["CHECKPOINT_SIGNATURE"],
        "{handed}"
    );
    // `A`: the alert with its meaning, what to do and the evidence.
    run.dash.apply(Action::Key(KeyEvent::new(
        KeyCode::Char('A'),
        KeyModifiers::NONE,
    )));
    let pane = run.until("Trust alerts").await;
    assert!(pane.contains("CHECKPOINT_SIGNATURE"), "{pane}");
    assert!(pane.contains("means:"), "{pane}");
    assert!(pane.contains("do:"), "{pane}");
    assert!(pane.contains("evidence:"), "{pane}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_browser_shows_what_each_record_did_and_tracks_one() {
    let reg = TestRegistry::start();
    let publisher = Wd::new(Some(&reg.url));
    publisher.ok(&["key", "new"], 0);
    publisher.json(&["--json", "publish", "demo:browse", "init", "--wait"], 0);
    let hello = common::repo_path("assets/hello.wasm");
    let rel = publisher.json(
        &[
            "--json",
            "publish",
            "demo:browse",
            "release",
            "1.0.0",
            hello.to_str().unwrap(),
            "--wait",
        ],
        0,
    );
    // The dashboard tracks only the release.
    let wd = Wd::new(Some(&reg.url));
    wd.ok(
        &[
            "track",
            "add",
            "--package",
            "demo:browse",
            rel["recordId"].as_str().unwrap(),
        ],
        0,
    );
    let mut run = start(&reg.url, wd.home.path(), None);
    run.until("✔ proven").await;
    let key = |c: KeyCode| Action::Key(KeyEvent::new(c, KeyModifiers::NONE));
    run.dash.apply(key(KeyCode::Char('L')));
    let pane = run.until("✔ proven: the chain validates").await;
    assert!(pane.contains("Package log demo:browse"), "{pane}");
    assert!(pane.contains("init"), "{pane}");
    assert!(pane.contains("release 1.0.0"), "{pane}");
    assert!(pane.contains("(tracked)"), "{pane}");
    // Enter on the init record tracks it; the table gains its row.
    run.dash.apply(key(KeyCode::Char('g')));
    run.dash.apply(key(KeyCode::Enter));
    run.dash.apply(key(KeyCode::Esc));
    let table = run.until("2 tracked").await;
    // What the records did, on their rows.
    assert!(table.contains("release 1.0.0 · index"), "{table}");
}

/// `e`: the events pane lists state changes (from the store, so they survive a restart) and
/// alerts as they happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_pane_lists_state_changes_and_survives_a_restart() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    wd.json(&["--json", "publish", "demo:events", "init", "--wait"], 0);
    let key = |c: KeyCode| Action::Key(KeyEvent::new(c, KeyModifiers::NONE));
    for _ in 0..2 {
        // The second round is a restart of the dashboard on the same store.
        let mut run = start(&reg.url, wd.home.path(), None);
        run.until("✔ proven").await;
        run.dash.apply(key(KeyCode::Char('e')));
        let pane = run.until("→ ✓ published").await;
        assert!(pane.contains("Events (Esc closes"), "{pane}");
        assert!(pane.contains("demo:events"), "{pane}");
        run.dash.apply(key(KeyCode::Esc));
    }
}

/// AGE counts from the record's own timestamp (from its validated package log), not from when
/// it was tracked: the record published later is the younger one, whatever order they were
/// tracked in; the detail pane says where the time comes from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn age_counts_from_the_records_own_timestamp() {
    let reg = TestRegistry::start();
    let publisher = Wd::new(Some(&reg.url));
    publisher.ok(&["key", "new"], 0);
    let older = publisher.json(&["--json", "publish", "demo:older", "init", "--wait"], 0);
    // Record timestamps are in seconds.
    std::thread::sleep(Duration::from_millis(2100));
    let newer = publisher.json(&["--json", "publish", "demo:newer", "init", "--wait"], 0);
    // Tracked in the other order: by tracking time `demo:older` would be the younger.
    let wd = Wd::new(Some(&reg.url));
    for (pkg, v) in [("demo:newer", &newer), ("demo:older", &older)] {
        let rid = v["recordId"].as_str().unwrap();
        wd.ok(&["track", "add", "--package", pkg, rid], 0);
        std::thread::sleep(Duration::from_millis(1100));
    }
    let mut run = start(&reg.url, wd.home.path(), None);
    let mut screen = run.until("✔ proven · init").await;
    for _ in 0..100 {
        if screen.matches("✔ proven · init").count() == 2 {
            break;
        }
        screen = run.until("✔ proven · init").await;
    }
    assert_eq!(screen.matches("✔ proven · init").count(), 2, "{screen}");
    let line = |pkg: &str| {
        screen
            .lines()
            .find(|l| l.contains(pkg))
            .unwrap_or_else(|| panic!("{pkg} not in {screen}"))
            .to_string()
    };
    // `42s` or `1m05s`, in seconds.
    let age = |l: &str| -> u64 {
        let cells: Vec<&str> = l.split_whitespace().collect();
        let a = cells[cells.len() - 2].trim_end_matches('s');
        let (m, sec) = a.split_once('m').unwrap_or(("0", a));
        let n = |t: &str| -> u64 { t.parse().unwrap_or_else(|_| panic!("age {a:?} in {l}")) };
        n(m) * 60 + n(sec)
    };
    let (o, n) = (line("demo:older"), line("demo:newer"));
    assert!(age(&o) >= age(&n) + 2, "older {o}\nnewer {n}\n{screen}");
    // The default sort (AGE▼, oldest first) puts the older record first, though it was
    // tracked last.
    assert!(screen.contains("AGE▼"), "{screen}");
    let pos = |pkg: &str| screen.find(pkg).unwrap();
    assert!(pos("demo:older") < pos("demo:newer"), "{screen}");
    run.dash.apply(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let detail = run.until("record time").await;
    assert!(detail.contains("(signed in the record)"), "{detail}");
}

/// Issue 15, finding 1: a published claim the signed log does not cover is never shown as a
/// fact nor left alone: the row says `published?` (no ✓) and the record keeps being asked, so
/// when the registry un-says it the row follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_shown_as_one_and_asked_again_until_it_is_unsaid() {
    let scene = lies::Scene::new(lies::Lie::PublishedPastSignedLog);
    scene.tell();
    let home = scene.wd.home.path();
    let mut verifier = dash::verifier(home, None);
    verifier.options = std::sync::Arc::new(|_| wargdash::trust::cycle::CycleOptions {
        max_age: Duration::from_secs(lies::GRACE),
        ..Default::default()
    });
    let mut run = DashRun::start(&scene.proxy.url, home, 200, 24, Some(verifier));
    let short = &scene.ghost["sha256:".len().."sha256:".len() + 8];
    let row = |screen: &str| {
        screen
            .lines()
            .find(|l| l.contains(short))
            .unwrap_or_default()
            .to_string()
    };
    let screen = run.until("published?").await;
    let ghost_row = row(&screen);
    assert!(ghost_row.contains("published?"), "{screen}");
    assert!(!ghost_row.contains("✓ published"), "{screen}");
    // The registry un-says it: the record is asked again and its row follows.
    scene.unsay();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        run.step().await;
        let screen = run.screen();
        if row(&screen).contains("processing") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the ghost was not asked again: {screen}"
        );
    }
}
