//! The publish form on the real runtime (`ui::runtime::Dashboard` on a `TestBackend`) against a
//! real in-process warg-server: the review's warnings come from the package log the runtime
//! fetches, and a release right after an init still processing says the init is pending.

mod common;
#[path = "common/dash.rs"]
mod dash;
#[path = "common/screen.rs"]
mod screen;

use common::{TestRegistry, Wd};
use crossterm::event::KeyCode;
use dash::DashRun;
use std::time::Duration;
use wargdash::ui::form::Field;

const W: u16 = 220;
const H: u16 = 50;

/// The dashboard (no verifier) with the form's own moves.
struct Run(DashRun);

impl std::ops::Deref for Run {
    type Target = DashRun;
    fn deref(&self) -> &DashRun {
        &self.0
    }
}

impl std::ops::DerefMut for Run {
    fn deref_mut(&mut self) -> &mut DashRun {
        &mut self.0
    }
}

impl Run {
    fn start(url: &str, home: &std::path::Path) -> Self {
        Self(DashRun::start(url, home, W, H, None))
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
        panic!("no signing key `{name}` in {:?}", self.dash.state.form.keys);
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

/// On the real runtime every keystroke in the content-file field starts a hash, and only the
/// newest request's answer is applied (`LatestJob`): an answer landing after it (sent through
/// the runtime's channel, as a late worker would) leaves the form showing the file the field
/// names. A read-only dashboard, built with the same options, refuses the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_hash_is_applied_on_the_real_runtime() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use wargdash::ui::app::Action;
    use wargdash::ui::form::FileDigest;
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let file = wd.home.path().join("x.wasm");
    std::fs::write(&file, b"\0asm\x0d\x00\x01\x00").expect("write");
    let mut run = Run::start(&reg.url, wd.home.path());
    let hashed = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(std::sync::Mutex::new(None::<Action>));
    let (seen, keep) = (hashed.clone(), first.clone());
    run.observe(move |a| {
        if matches!(a, Action::FileHashed { .. }) {
            seen.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut f) = keep.lock() {
                f.get_or_insert_with(|| a.clone());
            }
        }
    });
    run.key(KeyCode::Char('p'));
    run.focus(Field::File);
    let path = file.display().to_string();
    run.typed(&path);
    let screen = run.until("bytes)").await;
    let digest = wargdash::ids::ContentDigest::of_bytes(b"\0asm\x0d\x00\x01\x00");
    assert!(screen.contains(&digest.to_string()), "{screen}");
    // An answer the runtime sent (the first one seen: an older request's, or the newest one,
    // already applied) lands once more, last, as a failure.
    let Some(Action::FileHashed {
        ticket, path: p, ..
    }) = first.lock().expect("lock").clone()
    else {
        panic!("no hash came back");
    };
    let before = hashed.load(Ordering::SeqCst);
    let stale = Action::FileHashed {
        ticket,
        path: p,
        result: Err("a late failure".into()),
    };
    run.dash.sender().send(stale).await.expect("send");
    run.until_true("the stale answer to land", || {
        hashed.load(Ordering::SeqCst) > before
    })
    .await;
    run.step().await;
    match &run.dash.state.form.file_digest {
        Some((p, FileDigest::Ready { digest: d, .. })) => {
            assert_eq!(p, &path);
            assert_eq!(*d, digest);
        }
        other => panic!("{other:?}"),
    }

    let mut ro = DashRun::start_with(&reg.url, wd.home.path(), W, H, |b| b.readonly(true));
    ro.key(KeyCode::Char('p'));
    assert_eq!(ro.dash.state.mode, wargdash::ui::app::Mode::Table);
}
