//! The publish form on the real runtime (`ui::runtime::Dashboard` on a `TestBackend`) against a
//! real in-process warg-server: the review's warnings come from the package log the runtime
//! fetches, and a release right after an init still processing says the init is pending.

mod common;
#[path = "common/screen.rs"]
mod screen;

use common::{TestRegistry, Wd};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;
use wargdash::keys::KeyStore;
use wargdash::registry::{ClientOptions, RegistryClient};
use wargdash::tracker::scheduler::SchedulerConfig;
use wargdash::tracker::store::Store;
use wargdash::ui::app::{Action, AppConfig};
use wargdash::ui::form::Field;
use wargdash::ui::runtime::{Dashboard, RuntimeOptions};

const W: u16 = 220;
const H: u16 = 50;

struct Run {
    dash: Dashboard,
    term: ratatui::Terminal<ratatui::backend::TestBackend>,
}

impl Run {
    fn start(url: &str, home: &std::path::Path) -> Self {
        let store = Store::open(&home.join("data").join("wargdash.db"), url).expect("store");
        let dash = Dashboard::start(
            AppConfig {
                registry: url.to_string(),
                sandbox: false,
                readonly: false,
                interval: Duration::from_millis(300),
                color: false,
            },
            RegistryClient::new(url, ClientOptions::default()).expect("client"),
            store,
            KeyStore::new(home.join("data").join("keys")),
            RuntimeOptions {
                scheduler: SchedulerConfig {
                    interval: Duration::from_millis(300),
                    ..SchedulerConfig::default()
                },
                client: ClientOptions::default(),
                verifier: None,
            },
        )
        .expect("dashboard");
        Self {
            dash,
            term: ratatui::Terminal::new(ratatui::backend::TestBackend::new(W, H))
                .expect("terminal"),
        }
    }

    /// Runs the runtime's loop until the screen contains `text` (bounded).
    async fn until(&mut self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let until = tokio::time::Instant::now() + Duration::from_millis(150);
            self.dash
                .run_loop(
                    &mut self.term,
                    futures::stream::pending(),
                    Some(until),
                    |_| {},
                )
                .await
                .expect("loop");
            let screen = screen::text(&screen::render(&mut self.dash.state, W, H));
            if screen.contains(text) {
                return screen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {text:?}:\n{screen}"
            );
        }
    }

    fn key(&mut self, code: KeyCode) {
        self.dash
            .apply(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn ctrl(&mut self, c: char) {
        self.dash.apply(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn focus(&mut self, f: Field) {
        for _ in 0..10 {
            if self.dash.state.form.focused() == f {
                return;
            }
            self.key(KeyCode::Down);
        }
        panic!("no field {f:?}");
    }

    /// Picks the signing key named `name`.
    fn sign_with(&mut self, name: &str) {
        self.focus(Field::Signer);
        for _ in 0..5 {
            if self.dash.state.signer().map(|k| k.name.as_str()) == Some(name) {
                return;
            }
            self.key(KeyCode::Right);
        }
        panic!("no signing key `{name}` in {:?}", self.dash.state.keys);
    }

    /// Fills a release of `version` with `file` (waiting for its hash).
    async fn release(&mut self, version: &str, file: &std::path::Path) {
        self.focus(Field::Version);
        self.typed(version);
        self.focus(Field::File);
        self.typed(&file.display().to_string());
        self.until("bytes)").await;
    }
}

/// The review warns, from the package log the runtime fetched with the head, that 1.0.0 is
/// already released and that the chosen signing key holds no release permission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_warns_from_the_real_package_log() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    wd.ok(&["key", "new", "--name", "helper"], 0);
    let file = wd.home.path().join("c.wasm");
    std::fs::write(&file, b"\0asm\x0d\x00\x01\x00").expect("write");
    let v = wd.json(
        &[
            "--json",
            "publish",
            "demo:warned",
            "release",
            "1.0.0",
            &file.display().to_string(),
            "--init",
            "--wait",
        ],
        0,
    );
    assert_eq!(v["state"], "published", "{v}");

    let mut run = Run::start(&reg.url, wd.home.path());
    run.until("● up").await;
    run.key(KeyCode::Char('p'));
    run.typed("demo:warned");
    run.release("1.0.0", &file).await;
    run.sign_with("helper");
    run.ctrl('s');
    let screen = run.until("Review: exactly what will be signed").await;
    assert!(
        screen.contains("⚠ version 1.0.0 is already released (by record sha256:"),
        "{screen}"
    );
    assert!(
        screen.contains("⚠ the signing key `helper` (sha256:"),
        "{screen}"
    );
    assert!(screen.contains("lacks the release permission"), "{screen}");
    // With the owner's key and a new version: nothing to warn of.
    run.key(KeyCode::Esc);
    run.focus(Field::Version);
    run.key(KeyCode::Backspace);
    run.typed("1");
    run.sign_with("default");
    run.ctrl('s');
    let screen = run.until("Review: exactly what will be signed").await;
    assert!(screen.contains("release 1.0.1"), "{screen}");
    assert!(!screen.contains('⚠'), "{screen}");
}

/// Right after an init submitted from the form (still processing: the registry checkpoints
/// only every minute here), a release of the same package says the init is pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_right_after_an_init_says_the_init_is_pending() {
    let reg = TestRegistry::start_with_interval(Duration::from_secs(60));
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let file = wd.home.path().join("c.wasm");
    std::fs::write(&file, b"\0asm\x0d\x00\x01\x00").expect("write");
    let mut run = Run::start(&reg.url, wd.home.path());
    run.until("No tracked records yet").await;
    run.key(KeyCode::Char('p'));
    run.typed("demo:pending");
    run.focus(Field::Kind);
    run.key(KeyCode::Left);
    run.ctrl('s');
    run.until("Review: exactly what will be signed").await;
    run.key(KeyCode::Enter);
    run.until("◐ processing").await;
    // The new row is selected: the form opens on its package.
    run.key(KeyCode::Char('p'));
    assert_eq!(run.dash.state.form.package, "demo:pending");
    run.release("1.0.0", &file).await;
    run.ctrl('s');
    let screen = run
        .until("is still pending (processing); wait for it to publish")
        .await;
    assert!(screen.contains("✗ the init record sha256:"), "{screen}");
    assert!(screen.contains("of `demo:pending`"), "{screen}");
    assert!(!screen.contains("no log"), "{screen}");
}

/// The same on the command line: `publish … release` right after `publish … init` (not
/// waited for, still processing) says the init is pending, not that there is no log.
#[test]
fn the_cli_release_right_after_an_init_says_the_init_is_pending() {
    let reg = TestRegistry::start_with_interval(Duration::from_secs(60));
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let file = wd.home.path().join("c.wasm");
    std::fs::write(&file, b"\0asm\x0d\x00\x01\x00").expect("write");
    let init = wd.json(&["--json", "publish", "demo:clipending", "init"], 0);
    let rid = init["recordId"].as_str().expect("record id");
    let path = file.display().to_string();
    let args = [
        "publish",
        "demo:clipending",
        "release",
        "1.0.0",
        path.as_str(),
    ];
    let r = wd.ok(&args, 2);
    assert!(
        r.stderr.contains(&format!(
            "the init record {rid} of `demo:clipending` is still pending (processing); wait for it to publish"
        )),
        "{r:?}"
    );
    assert!(!r.stderr.contains("no log"), "{r:?}");
    // A package this app never initialized still has no log.
    let r = wd.ok(&["publish", "demo:never", "release", "1.0.0", &path], 2);
    assert!(
        r.stderr.contains("has no log on this registry yet"),
        "{r:?}"
    );
}
