//! Hardening III (issue 16), the token and the store, through the real binary or the real
//! dashboard runtime: the bearer token stays with the origin and the scheme it was given for
//! (H3-1, H3-2), registry text stored by `poll --once` is drawn inert (H3-3), the store and the
//! log are private (H3-4), a token file others can read is refused (H3-5). The registries are
//! loopback listeners that record every request that reaches them
//! (`tests/common/http_stub.rs`).

mod common;
#[path = "common/dash.rs"]
mod dash;
#[path = "common/http_stub.rs"]
mod http_stub;
#[path = "common/screen.rs"]
mod screen;

use common::{Run, Wd};
use http_stub::{Reply, Stub};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wargdash::exit;

const TOKEN: &str = "tok-3f9a-secret";

fn run_env(wd: &Wd, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = wd.command(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run wargdash");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ids() -> (String, String) {
    (
        format!("sha256:{}", "aa".repeat(32)),
        format!("sha256:{}", "bb".repeat(32)),
    )
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn no_answer(_: &http_stub::Req) -> Reply {
    Reply::json(404, &json!({"status": 404, "type": "record", "id": "x"}))
}

// ---------------------------------------------------------------------------------------------
// H3-1: the token is compared with the origin it was given for, not the current client's.

/// H3-1. The dashboard started on A with a token; `:registry B` drops the token and says so;
/// a second `:registry B/` (the *current* client's origin) must not send A's token to B
/// either; `:registry A` gets it back. Two loopback listeners record every Authorization.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_switch_to_the_same_other_registry_still_sends_no_token() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use wargdash::registry::ClientOptions;
    use wargdash::tracker::store::Store;
    use wargdash::ui::app::Action;
    use wargdash::ui::runtime::Dashboard;
    let a = Stub::start(no_answer);
    let b = Stub::start(no_answer);
    let dir = tempfile::tempdir().unwrap();
    let opts = ClientOptions {
        token: Some(Arc::new(zeroize::Zeroizing::new(TOKEN.to_string()))),
        ..ClientOptions::default()
    };
    let store = Store::open(&dir.path().join("s.db"), &a.url).unwrap();
    let (log, rec) = ids();
    let mut dash = Dashboard::builder(
        &a.url,
        store,
        wargdash::keys::KeyStore::new(dir.path().join("keys")),
    )
    .client_options(opts)
    .interval(Duration::from_millis(200))
    .scheduler(Default::default())
    .start()
    .unwrap();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 20)).unwrap();
    async fn run(d: &mut Dashboard, t: &mut ratatui::Terminal<ratatui::backend::TestBackend>) {
        let until = tokio::time::Instant::now() + Duration::from_millis(900);
        d.run_loop(t, futures::stream::pending(), Some(until), |_| {})
            .await
            .unwrap();
    }
    let key = |c: KeyCode| Action::Key(KeyEvent::new(c, KeyModifiers::NONE));
    let command = |dash: &mut Dashboard, text: &str| {
        dash.apply(key(KeyCode::Char(':')));
        for c in text.chars() {
            dash.apply(key(KeyCode::Char(c)));
        }
        dash.apply(key(KeyCode::Enter));
    };
    run(&mut dash, &mut term).await;
    command(&mut dash, &format!("registry {}", b.url));
    run(&mut dash, &mut term).await;
    let flash = dash
        .state
        .status
        .flash
        .clone()
        .map(|f| f.text)
        .unwrap_or_default();
    assert!(flash.contains("bearer token is not sent"), "{flash}");
    // Something to poll on B, so requests reach it.
    command(&mut dash, &format!("track {log} {rec}"));
    run(&mut dash, &mut term).await;
    let seen_b = b.seen.lock().unwrap().len();
    // The same origin as the current client (B), written differently.
    command(&mut dash, &format!("registry {}/", b.url));
    run(&mut dash, &mut term).await;
    command(&mut dash, &format!("track {log} {rec}"));
    run(&mut dash, &mut term).await;
    run(&mut dash, &mut term).await;
    let to_b = b.seen.lock().unwrap().clone();
    assert!(
        to_b.len() > seen_b,
        "B was asked nothing after the second switch: {to_b:?}"
    );
    for r in &to_b {
        assert_eq!(
            r.header("authorization"),
            None,
            "A's token reached B: {} {}",
            r.method,
            r.path
        );
    }
    // Back on A, the token is A's again.
    let seen_a = a.seen.lock().unwrap().len();
    command(&mut dash, &format!("registry {}", a.url));
    run(&mut dash, &mut term).await;
    command(&mut dash, &format!("track {log} {rec}"));
    run(&mut dash, &mut term).await;
    run(&mut dash, &mut term).await;
    let to_a = a.seen.lock().unwrap().clone();
    assert!(to_a.len() > seen_a, "{to_a:?}");
    for r in &to_a {
        assert_eq!(r.header("authorization"), Some(&*format!("Bearer {TOKEN}")));
    }
}

// ---------------------------------------------------------------------------------------------
// H3-2: no token in cleartext because a scheme was left off, or to a non-loopback http host.

/// H3-2. `--registry 127.0.0.1:PORT` (no scheme) with a token is https, as cargo and browsers
/// read it: the plain listener on that port never sees the token in cleartext.
#[test]
fn a_registry_without_a_scheme_is_https_and_the_token_never_goes_out_in_cleartext() {
    let stub = Stub::start(no_answer);
    let hostport = stub.url.trim_start_matches("http://").to_string();
    let wd = Wd::new(None);
    let (log, rec) = ids();
    let r = run_env(
        &wd,
        &[
            "--registry",
            &hostport,
            "--request-timeout",
            "2",
            "status",
            &log,
            &rec,
        ],
        &[("WARGDASH_TOKEN", TOKEN)],
    );
    assert_eq!(
        r.code,
        exit::UNREACHABLE,
        "spoke https to a plain port: {r:?}"
    );
    assert!(r.stderr.contains("https://"), "{r:?}");
    for req in stub.seen.lock().unwrap().iter() {
        assert_eq!(req.header("authorization"), None, "{req:?}");
    }
    assert!(!r.stderr.contains(TOKEN) && !r.stdout.contains(TOKEN));
}

/// H3-2. Plain `http://` to a host that is not loopback carries no token: refused up front
/// (exit 2) with why and how (`https://…` or `--allow-http-token`); the flag lets it go.
#[test]
fn a_token_over_plain_http_goes_only_to_loopback_or_with_the_flag() {
    let wd = Wd::new(None);
    let (log, rec) = ids();
    // TEST-NET-1: never routed, so nothing could receive it anyway.
    let url = "http://192.0.2.1:9";
    let args = [
        "--registry",
        url,
        "--request-timeout",
        "1",
        "status",
        &log,
        &rec,
    ];
    let r = run_env(&wd, &args, &[("WARGDASH_TOKEN", TOKEN)]);
    assert_eq!(r.code, exit::USAGE, "{r:?}");
    assert!(r.stderr.contains("cleartext"), "{r:?}");
    assert!(r.stderr.contains("--allow-http-token"), "{r:?}");
    assert!(r.stderr.contains("https://192.0.2.1:9"), "{r:?}");
    assert!(!r.stderr.contains(TOKEN) && !r.stdout.contains(TOKEN));
    // Without a token there is nothing to protect: it just tries (and cannot connect).
    let r = run_env(&wd, &args, &[]);
    assert_eq!(r.code, exit::UNREACHABLE, "{r:?}");
    let mut with_flag = vec!["--allow-http-token"];
    with_flag.extend_from_slice(&args);
    let r = run_env(&wd, &with_flag, &[("WARGDASH_TOKEN", TOKEN)]);
    assert_eq!(r.code, exit::UNREACHABLE, "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// H3-3: registry text stored as a row's error is drawn inert.

const HOSTILE: &str = "gone\x1b]52;c;aGVsbG8=\x07 c1\u{9b}31m bidi\u{202e}gnp.exe end";

/// H3-3. A 404 whose body (the ID it names) carries an OSC 52 clipboard write, a C1 CSI and a BiDi override:
/// `poll --once` stores it (cleaned), and a later dashboard on the same store draws the row
/// from the store (the registry then stops answering, so no fresh poll replaces it) with no
/// ESC, C1 or BiDi character on screen — the escapes visible instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_error_stored_by_poll_once_is_drawn_inert() {
    let hostile = Arc::new(AtomicBool::new(true));
    let h = hostile.clone();
    let stub = Stub::start(move |_| {
        if h.load(Ordering::SeqCst) {
            Reply::json(404, &json!({"status": 404, "type": "log", "id": HOSTILE}))
        } else {
            Reply::Close
        }
    });
    let wd = Wd::new(Some(&stub.url));
    let (log, rec) = ids();
    wd.ok(&["track", "add", &log, &rec], 0);
    let r = wd.run(&["poll", "--once"]);
    assert!(r.stdout.contains("\\x1b]52"), "{r:?}");
    // Stored cleaned.
    let db = rusqlite::Connection::open(dash::store_path(wd.home.path())).unwrap();
    let stored: String = db
        .query_row("SELECT error FROM tracked", [], |r| r.get(0))
        .unwrap();
    drop(db);
    assert!(stored.contains("\\x1b]52"), "{stored}");
    assert!(!stored.chars().any(wargdash::text::is_unsafe), "{stored:?}");
    // The registry stops answering: the row keeps the stored error.
    hostile.store(false, Ordering::SeqCst);
    let mut d = dash::DashRun::start(&stub.url, wd.home.path(), 250, 30, None);
    let screen = d.until("\\x1b]52").await;
    assert_inert(&screen);
    d.key(crossterm::event::KeyCode::Enter);
    let detail = d.until("last error").await;
    assert_inert(&detail);
}

fn assert_inert(screen: &str) {
    for c in screen.chars() {
        assert!(
            c == '\n' || !wargdash::text::is_unsafe(c),
            "U+{:04X} reached the screen:\n{screen}",
            c as u32
        );
    }
    assert!(screen.contains("\\u{202e}gnp.exe"), "{screen}");
}

// ---------------------------------------------------------------------------------------------
// H3-4: the store and the log are private.

/// H3-4. A home whose data directory is 0755 and whose store, `-wal`, `-shm` and log are 0644
/// (as an older wargdash left them, with another process holding the store open so the
/// `-wal` and `-shm` exist): one command later the directories are 0700 and the files 0600.
/// A fresh home gets the same modes from the start.
#[test]
fn the_store_and_the_log_are_private_and_fixed_when_wider() {
    let wd = Wd::new(None);
    let (log, rec) = ids();
    wd.ok(&["track", "add", &log, &rec], 0);
    let data = wd.home.path().join("data");
    let db = data.join("wargdash.db");
    let state = wd.home.path().join("state");
    let logf = state.join("wargdash.log");
    assert_eq!(mode(&data), 0o700, "fresh data directory");
    assert_eq!(mode(&db), 0o600, "fresh store");
    assert_eq!(mode(&logf), 0o600, "fresh log");
    // Another connection keeps the -wal and -shm in place.
    let other = rusqlite::Connection::open(&db).unwrap();
    other.pragma_update(None, "journal_mode", "WAL").unwrap();
    other
        .execute("CREATE TABLE IF NOT EXISTS held (x)", [])
        .unwrap();
    let wal = data.join("wargdash.db-wal");
    let shm = data.join("wargdash.db-shm");
    let set = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    for (p, m) in [
        (&data, 0o755),
        (&state, 0o755),
        (&db, 0o644),
        (&wal, 0o644),
        (&shm, 0o644),
        (&logf, 0o644),
    ] {
        set(p, m);
    }
    wd.ok(&["track", "list"], 0);
    for (p, m) in [
        (&data, 0o700),
        (&state, 0o700),
        (&db, 0o600),
        (&wal, 0o600),
        (&shm, 0o600),
        (&logf, 0o600),
    ] {
        assert_eq!(mode(p), m, "{}", p.display());
    }
    drop(other);
}

// ---------------------------------------------------------------------------------------------
// H3-5: a token file others can read is refused.

/// H3-5. A token file with mode 0644 is refused as a key file is (exit 22, the `chmod 600`
/// fix in the message), its contents never echoed and never sent; at 0600 it is used.
#[test]
fn a_token_file_others_can_read_is_refused() {
    let stub = Stub::start(no_answer);
    let wd = Wd::new(Some(&stub.url));
    let tf = wd.home.path().join("token");
    std::fs::write(&tf, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&tf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (log, rec) = ids();
    let t = tf.to_str().unwrap();
    let r = wd.run(&["--token-file", t, "status", &log, &rec]);
    assert_eq!(r.code, exit::KEY, "{r:?}");
    assert!(r.stderr.contains(&format!("chmod 600 {t}")), "{r:?}");
    assert!(r.stderr.contains("permissions 644"), "{r:?}");
    assert!(
        !r.stderr.contains(TOKEN) && !r.stdout.contains(TOKEN),
        "{r:?}"
    );
    assert!(stub.seen.lock().unwrap().is_empty(), "a request went out");
    std::fs::set_permissions(&tf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = wd.run(&["--token-file", t, "status", &log, &rec]);
    assert_eq!(r.code, exit::NOT_FOUND, "{r:?}");
    let seen = stub.seen.lock().unwrap().clone();
    assert_eq!(
        seen.last().and_then(|q| q.header("authorization")),
        Some(&*format!("Bearer {TOKEN}"))
    );
}
