//! Hardening (issue 10) through the real binary: the bearer token stays with the registry's
//! origin, registry text never reaches the terminal as control characters, an ambiguous POST
//! is never sent twice, hostile option values are usage errors, and the exit codes the README
//! promises. The registry is the real in-process warg-server wherever it can play the part;
//! `tests/common/http_stub.rs` (a hand-written loopback HTTP server) stands in front of it or
//! in its place only where it cannot: another origin for uploads, hostile text, 409, a dropped
//! answer.

mod common;
#[path = "common/http_stub.rs"]
mod http_stub;
#[path = "common/screen.rs"]
mod screen;

use common::{repo_path, TestRegistry, Wd};
use http_stub::{forward, Reply, Stub};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wargdash::exit;

/// A well-formed (unsigned) checkpoint of `len` entries, dated now, for stubs that stand in for
/// a registry.
fn checkpoint_reply(len: u64) -> Reply {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let h = format!("sha256:{}", "ab".repeat(32));
    Reply::json(
        200,
        &json!({"contents": {"logLength": len, "logRoot": h, "mapRoot": h, "timestamp": now}, "keyId": h, "signature": "ecdsa-p256:AAAA"}),
    )
}

fn is_record_post(r: &http_stub::Req) -> bool {
    r.method == "POST" && r.path.starts_with("/v1/package/") && r.path.ends_with("/record")
}

// ---------------------------------------------------------------------------------------------
// 1. The bearer token goes to the registry and nowhere else.

/// A release through the real registry, behind a proxy that points the upload URL at another
/// loopback port: the registry's own origin gets the token on every request, the other origin
/// never does.
#[test]
fn the_token_goes_to_the_registry_origin_and_never_to_an_upload_host() {
    let reg = TestRegistry::start();
    let upload = Stub::start(|_| Reply::json(200, &json!({})));
    let upload_url = upload.url.clone();
    let upstream = reg.url.clone();
    let proxy = Stub::start(move |req| {
        let reply = forward(&upstream, req);
        if !is_record_post(req) {
            return reply;
        }
        // Point every upload URL of the answer at the other origin.
        let Reply::Respond {
            status,
            content_type,
            body,
        } = reply
        else {
            return reply;
        };
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if let Some(missing) = v["missingContent"].as_object_mut() {
            for (_, m) in missing.iter_mut() {
                for u in m["upload"].as_array_mut().unwrap() {
                    u["url"] = json!(format!("{upload_url}/content/elsewhere"));
                }
            }
        }
        Reply::Respond {
            status,
            content_type,
            body: v.to_string().into_bytes(),
        }
    });
    let wd = Wd::new(Some(&proxy.url));
    let token = wd.home.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    // A token file others can read is refused (Hardening III): 0600 as a key file.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tf = token.to_str().unwrap();
    wd.ok(&["key", "new"], 0);
    let hello = repo_path("assets/hello.wasm");
    let r = wd.run(&[
        "--token-file",
        tf,
        "publish",
        "demo:tok",
        "--init",
        "release",
        "1.0.0",
        hello.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("uploading sha256:"), "{r:?}");
    // The upload went to the other origin, without the token.
    let uploads = upload.seen.lock().unwrap().clone();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].header("authorization"), None, "{:?}", uploads[0]);
    // Every request to the registry's origin carried it.
    let to_registry = proxy.seen.lock().unwrap().clone();
    assert!(to_registry.len() >= 3, "{to_registry:?}");
    for req in &to_registry {
        assert_eq!(
            req.header("authorization"),
            Some("Bearer s3cret-token"),
            "{} {}",
            req.method,
            req.path
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Registry text is data, never terminal control.

const HOSTILE: &str = "evil\x1b]52;c;aGVsbG8=\x07 clear\x1b[2J c1\u{9b}31m bidi\u{202e}gnp.exe end";

fn assert_terminal_safe(what: &str, text: &str) {
    for c in text.chars() {
        let unsafe_char = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(
            !unsafe_char,
            "{what}: unsafe character U+{:04X} in {text:?}",
            c as u32
        );
    }
    // wargdash's own escaping, not a terminal library dropping bytes: the escapes are visible.
    assert!(text.contains("\\x1b]52;c;aGVsbG8=\\x07"), "{what}: {text}");
    assert!(text.contains("\\x1b[2J"), "{what}: {text}");
    assert!(text.contains("\\u{9b}31m"), "{what}: {text}");
    assert!(text.contains("\\u{202e}gnp.exe end"), "{what}: {text}");
}

#[test]
fn registry_text_is_escaped_wherever_it_is_printed() {
    let bad_rec = format!("sha256:{}", "ee".repeat(32));
    let stub = Stub::start(move |req| {
        if req.path.ends_with(&format!("/record/{bad_rec}")) {
            // An error answer whose message carries the hostile text.
            return Reply::json(422, &json!({"status": 422, "message": HOSTILE}));
        }
        let rec = req.path.rsplit('/').next().unwrap_or_default().to_string();
        Reply::json(
            200,
            &json!({"recordId": rec, "state": "rejected", "reason": HOSTILE}),
        )
    });
    let wd = Wd::new(Some(&stub.url));
    let log = format!("sha256:{}", "aa".repeat(32));
    let rec = format!("sha256:{}", "bb".repeat(32));
    let status = wd.ok(&["status", &log, &rec], exit::REJECTED);
    assert_terminal_safe("status", &status.stdout);
    // JSON keeps the text exact (serde escapes the control characters).
    let v = wd.json(&["--json", "status", &log, &rec], exit::REJECTED);
    assert_eq!(v["reason"], HOSTILE);
    wd.ok(&["track", "add", &log, &rec], 0);
    let poll = wd.ok(&["poll", "--once"], exit::REJECTED);
    assert_terminal_safe("poll --once", &poll.stdout);
    let list = wd.ok(&["track", "list"], 0);
    assert_terminal_safe("track list", &list.stdout);
    let err = wd.ok(
        &["status", &log, &format!("sha256:{}", "ee".repeat(32))],
        exit::INVALID,
    );
    assert_terminal_safe("an error on stderr", &err.stderr);
}

#[test]
fn the_dashboard_shows_registry_text_escaped() {
    use wargdash::ids::{LogId, RecordId, RecordRef, Sha256Hash};
    use wargdash::registry::PackageRecord;
    use wargdash::tracker::store::{Origin, Tracked};
    use wargdash::ui::app::{update, Action, AppConfig, State};
    let r = RecordRef::new(LogId(Sha256Hash([1; 32])), RecordId(Sha256Hash([2; 32])));
    let mut s = State::new(
        AppConfig {
            registry: "http://x".into(),
            sandbox: false,
            readonly: false,
            interval: std::time::Duration::from_secs(1),
            color: false,
        },
        0,
    );
    update(
        &mut s,
        Action::StoreLoaded(vec![Tracked {
            log_id: r.log,
            record_id: r.record,
            package: Some("demo:x".into()),
            origin: Origin::Tracked,
            entries: None,
            added_at: 0,
            state: None,
            polled_at: None,
            response: None,
            error: None,
            missing: None,
        }]),
    );
    let raw = json!({"recordId": r.record.to_string(), "state": "rejected", "reason": HOSTILE});
    let rec: PackageRecord = serde_json::from_value(raw.clone()).unwrap();
    update(
        &mut s,
        Action::Polled {
            key: r,
            result: Ok((rec, raw)),
            at: 0,
            latency: std::time::Duration::from_millis(1),
            hold: None,
        },
    );
    let table = screen::text(&screen::render(&mut s, 300, 10));
    assert!(table.contains("evil\\x1b]52;c;aGVsbG8=\\x07"), "{table}");
    assert!(!table.contains('\u{202e}'), "{table}");
    // The detail pane: the reason, and the latest response (JSON escapes the C0 controls but
    // not U+202E, so the pane escapes that line too).
    update(
        &mut s,
        Action::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    let detail = screen::text(&screen::render(&mut s, 300, 40));
    assert!(detail.contains("\\u{202e}gnp.exe end"), "{detail}");
    assert!(!detail.contains('\u{202e}'), "{detail}");
    // A flash message built from registry text.
    update(&mut s, Action::Flash(format!("failed: {HOSTILE}")));
    let flashed = screen::text(&screen::render(&mut s, 300, 40));
    assert!(flashed.contains("failed: evil\\x1b]52"), "{flashed}");
}

// ---------------------------------------------------------------------------------------------
// 3. An ambiguous POST is never sent twice.

/// A proxy in front of the real registry whose answer to the record POST is lost (`forward`
/// first: the registry got it; or not: it never did). Counts the POSTs it saw.
fn lossy_proxy(upstream: String, forward_first: bool) -> (Stub, Arc<AtomicUsize>) {
    let posts = Arc::new(AtomicUsize::new(0));
    let p = posts.clone();
    let stub = Stub::start(move |req| {
        if is_record_post(req) {
            p.fetch_add(1, Ordering::SeqCst);
            if forward_first {
                let _ = forward(&upstream, req);
            }
            return Reply::Close;
        }
        forward(&upstream, req)
    });
    (stub, posts)
}

#[test]
fn a_post_whose_answer_is_lost_is_found_and_not_sent_again() {
    let reg = TestRegistry::start();
    let (proxy, posts) = lossy_proxy(reg.url.clone(), true);
    let wd = Wd::new(Some(&proxy.url));
    wd.ok(&["key", "new"], 0);
    let r = wd.run(&[
        "--json",
        "publish",
        "demo:lost",
        "init",
        "--wait",
        "--timeout",
        "30",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("checking whether the registry received it"),
        "{r:?}"
    );
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["state"], "published", "{v}");
    assert_eq!(
        posts.load(Ordering::SeqCst),
        1,
        "the record was posted twice"
    );
}

#[test]
fn a_post_that_never_arrived_is_reported_as_unknown_and_not_sent_again() {
    let reg = TestRegistry::start();
    let (proxy, posts) = lossy_proxy(reg.url.clone(), false);
    let wd = Wd::new(Some(&proxy.url));
    wd.ok(&["key", "new"], 0);
    let r = wd.run(&["publish", "demo:swallowed", "init"]);
    assert_eq!(r.code, exit::OUTCOME_UNKNOWN, "{r:?}");
    assert!(r.stderr.contains("outcome unknown"), "{r:?}");
    assert!(r.stderr.contains("wargdash status sha256:"), "{r:?}");
    assert!(r.stderr.contains("--resubmit"), "{r:?}");
    assert_eq!(
        posts.load(Ordering::SeqCst),
        1,
        "the record was posted twice"
    );
    // The record stays tracked, so the operator can check on it.
    let list = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert_eq!(list.lines().count(), 1, "{list}");
}

// ---------------------------------------------------------------------------------------------
// 5–6. Exit codes, modes and option values.

#[test]
fn hostile_option_values_are_usage_errors() {
    let wd = Wd::new(Some("http://127.0.0.1:1"));
    for args in [
        vec!["--interval", "nan", "poll", "--once"],
        vec!["--interval", "0", "info"],
        vec!["--interval", "-1", "info"],
        vec!["--interval", "1e300", "info"],
        vec!["--concurrency", "0", "info"],
        vec!["--concurrency", "99999999999", "info"],
        vec!["poll", "--once", "--concurrency", "0"],
        vec!["--request-timeout", "18446744073709551615", "info"],
        vec!["--request-timeout", "0", "info"],
        vec![
            "publish",
            "demo:x",
            "--timeout",
            "18446744073709551615",
            "init",
        ],
        vec!["--interval", "nan"],
    ] {
        let r = wd.run(&args);
        assert_eq!(r.code, exit::USAGE, "{args:?}: {r:?}");
        assert!(!r.stderr.contains("panicked"), "{args:?}: {r:?}");
    }
}

#[test]
fn a_409_from_the_registry_exits_14() {
    let stub = Stub::start(|req| {
        if req.path.ends_with("/fetch/checkpoint") {
            return checkpoint_reply(1);
        }
        if req.path.ends_with("/fetch/logs") {
            return Reply::json(
                200,
                &json!({"more": false, "operator": [], "packages": {}, "warnings": []}),
            );
        }
        Reply::json(
            409,
            &json!({"status": 409, "type": "namespaceImport", "id": "demo"}),
        )
    });
    let wd = Wd::new(Some(&stub.url));
    wd.ok(&["key", "new"], 0);
    let r = wd.ok(&["publish", "demo:conflict", "init"], exit::CONFLICT);
    assert!(r.stderr.contains("409"), "{r:?}");
}

#[test]
fn an_invalid_answer_exits_15_and_an_unusable_store_exits_23() {
    let stub = Stub::start(|_| Reply::json(422, &json!({"status": 422, "message": "bad request"})));
    let wd = Wd::new(Some(&stub.url));
    let log = format!("sha256:{}", "aa".repeat(32));
    let rec = format!("sha256:{}", "bb".repeat(32));
    let r = wd.ok(&["status", &log, &rec], exit::INVALID);
    assert!(r.stderr.contains("bad request"), "{r:?}");
    // The store's directory is a file: the store cannot be opened.
    let data = wd.home.path().join("data");
    std::fs::write(&data, "not a directory").unwrap();
    let r = wd.ok(&["track", "list"], exit::STORE);
    assert!(r.stderr.contains("data directory"), "{r:?}");
}

#[test]
fn publish_wait_runs_out_of_time_with_exit_16() {
    let reg = TestRegistry::start();
    let upstream = reg.url.clone();
    // The registry never says more than `processing` about the record.
    let proxy = Stub::start(move |req| {
        let reply = forward(&upstream, req);
        if req.method == "GET" && req.path.contains("/record/") {
            let rec = req.path.rsplit('/').next().unwrap_or_default().to_string();
            return Reply::json(200, &json!({"recordId": rec, "state": "processing"}));
        }
        reply
    });
    let wd = Wd::new(Some(&proxy.url));
    wd.ok(&["key", "new"], 0);
    let r = wd.ok(
        &["publish", "demo:slow", "init", "--wait", "--timeout", "2"],
        exit::WAIT_TIMEOUT,
    );
    assert!(r.stderr.contains("still processing after 2s"), "{r:?}");
}

#[test]
fn the_sandbox_subcommand_serves_a_real_registry() {
    let wd = Wd::new(None);
    let mut child = wd
        .command(&["sandbox"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let other = Wd::new(Some(&url));
    other.ok(&["key", "new"], 0);
    let v = other.json(&["--json", "publish", "demo:sb", "init", "--wait"], 0);
    assert_eq!(v["state"], "published", "{v}");
    unsafe { libc_kill(child.id() as i32, 2) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C stops the sandbox cleanly");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// `:registry URL` to another origin does not carry the token along, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_another_registry_drops_the_token_and_says_so() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::time::Duration;
    use wargdash::registry::ClientOptions;
    use wargdash::tracker::store::Store;
    use wargdash::ui::app::Action;
    use wargdash::ui::runtime::Dashboard;
    let answer = |_: &http_stub::Req| Reply::json(404, &json!({"status": 404, "message": "no"}));
    let a = Stub::start(answer);
    let b = Stub::start(answer);
    let dir = tempfile::tempdir().unwrap();
    let opts = ClientOptions {
        token: Some(Arc::new(zeroize::Zeroizing::new("tok-A".to_string()))),
        ..ClientOptions::default()
    };
    let mut dash = Dashboard::builder(
        &a.url,
        Store::open(&dir.path().join("s.db"), &a.url).unwrap(),
        wargdash::keys::KeyStore::new(dir.path().join("keys")),
    )
    .client_options(opts)
    .interval(Duration::from_millis(200))
    .scheduler(Default::default())
    .start()
    .unwrap();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 20)).unwrap();
    async fn run(d: &mut Dashboard, t: &mut ratatui::Terminal<ratatui::backend::TestBackend>) {
        let until = tokio::time::Instant::now() + Duration::from_millis(700);
        d.run_loop(t, futures::stream::pending(), Some(until), |_| {})
            .await
            .unwrap();
    }
    run(&mut dash, &mut term).await;
    let key = |c: KeyCode| Action::Key(KeyEvent::new(c, KeyModifiers::NONE));
    dash.apply(key(KeyCode::Char(':')));
    for c in format!("registry {}", b.url).chars() {
        dash.apply(key(KeyCode::Char(c)));
    }
    dash.apply(key(KeyCode::Enter));
    run(&mut dash, &mut term).await;
    let flash = dash
        .state
        .status
        .flash
        .clone()
        .map(|f| f.text)
        .unwrap_or_default();
    assert!(flash.contains("bearer token is not sent"), "{flash}");
    let to_a = a.seen.lock().unwrap().clone();
    let to_b = b.seen.lock().unwrap().clone();
    assert!(!to_a.is_empty() && !to_b.is_empty(), "{to_a:?} {to_b:?}");
    assert!(to_a
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer tok-A")));
    assert!(
        to_b.iter().all(|r| r.header("authorization").is_none()),
        "{to_b:?}"
    );
}

/// A registry that answers `more` with the same page forever: the log fetch stops (bounded,
/// with a clear error) instead of paging forever.
#[test]
fn a_log_that_never_ends_is_refused_not_paged_forever() {
    use wargdash::keys::{Algorithm, SigningKey};
    use wargdash::record::{Entry, RecordContent, RecordTime};
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let pkg: wargdash::ids::PackageName = "demo:endless".parse().unwrap();
    let signed = RecordContent {
        prev: None,
        time: RecordTime::now(),
        entries: vec![Entry::Init {
            public_key: key.public_key(),
        }],
    }
    .sign(&key);
    let mut entry = serde_json::to_value(&signed.envelope).unwrap();
    entry["registryIndex"] = json!(1);
    entry["fetchToken"] = json!(signed.record_id.to_string());
    let page: Vec<serde_json::Value> = (0..1000).map(|_| entry.clone()).collect();
    let log = pkg.log_id().to_string();
    let stub = Stub::start(move |req| {
        if req.path.ends_with("/fetch/checkpoint") {
            return checkpoint_reply(5);
        }
        Reply::json(
            200,
            &json!({"more": true, "operator": [], "packages": {log.clone(): page.clone()}, "warnings": []}),
        )
    });
    let wd = Wd::new(Some(&stub.url));
    wd.ok(&["key", "new"], 0);
    let r = wd.run(&["publish", "demo:endless", "yank", "1.0.0"]);
    assert_eq!(r.code, exit::REGISTRY_FAULT, "{r:?}");
    assert!(r.stderr.contains("served the same page"), "{r:?}");
    assert!(stub.requests("POST", "/v1/fetch/logs").len() <= 2);
}

/// A submit refused with 404 (namespace or log) is not left tracked, like a 401 or 422.
#[test]
fn a_submit_refused_with_404_is_not_left_tracked() {
    let stub = Stub::start(|req| {
        if req.path.ends_with("/fetch/checkpoint") {
            return checkpoint_reply(1);
        }
        if req.path.ends_with("/fetch/logs") {
            return Reply::json(
                200,
                &json!({"more": false, "operator": [], "packages": {}, "warnings": []}),
            );
        }
        Reply::json(
            404,
            &json!({"status": 404, "type": "namespace", "id": "demo"}),
        )
    });
    let wd = Wd::new(Some(&stub.url));
    wd.ok(&["key", "new"], 0);
    let r = wd.ok(&["publish", "demo:gone", "init"], exit::LOG_NOT_FOUND);
    assert!(r.stderr.contains("namespace"), "{r:?}");
    assert_eq!(wd.ok(&["--json", "track", "list"], 0).stdout.trim(), "");
}
