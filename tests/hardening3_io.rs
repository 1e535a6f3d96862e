//! Hardening III (issue 16), what wargdash runs, sends and reads: `--on-alert` hooks (H3-6),
//! upload targets (H3-7), content files and Tab completion (H3-8), key saves and the header's
//! checkpoint age (H3-9), the stored copy of an answer (H3-10). Against the real in-process
//! warg-server where it can play the part, loopback listeners that record what reaches them
//! where it cannot, and real processes (`sh`, the binary).

mod common;
#[path = "common/http_stub.rs"]
mod http_stub;
#[path = "common/screen.rs"]
mod screen;

use common::{repo_path, TestRegistry, Wd};
use http_stub::{forward, Reply, Stub};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use wargdash::exit;
use wargdash::trust::alerts::{Alert, AlertKind};

fn wait_for(path: &Path, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            if !s.is_empty() {
                return s;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pid_alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{}", pid.trim())).exists()
        && !std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
            .unwrap_or_default()
            .contains(") Z ")
}

// ---------------------------------------------------------------------------------------------
// H3-6: --on-alert hooks.

/// H3-6. Through the binary: `verify` against a real registry with a wrong pinned operator key
/// raises an alert and hands it to `--on-alert`; the hook's environment has the alert but not
/// `WARGDASH_TOKEN` (nor `WARGDASH_KEY`), and its stdin is the alert as one JSON object.
#[test]
fn the_hook_gets_the_alert_as_json_on_stdin_and_never_the_token() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let dir = wd.home.path();
    let (env_out, json_out) = (dir.join("env.txt"), dir.join("alert.json"));
    let hook = format!(
        "cat > {}.tmp; env > {}; mv {}.tmp {}",
        json_out.display(),
        env_out.display(),
        json_out.display(),
        json_out.display()
    );
    let pin = format!("sha256:{}", "00".repeat(32));
    let o = wd
        .command(&["--on-alert", &hook, "--pin-operator-key", &pin, "verify"])
        .env("WARGDASH_TOKEN", "tok-hook-secret")
        .env("WARGDASH_KEY", "some-key-name")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(exit::ALERT), "{o:?}");
    let env = wait_for(&env_out, 10);
    assert!(env.contains("WARGDASH_ALERT_KIND="), "{env}");
    assert!(
        !env.contains("tok-hook-secret"),
        "the token reached the hook:\n{env}"
    );
    assert!(!env.contains("WARGDASH_TOKEN"), "{env}");
    assert!(!env.contains("WARGDASH_KEY="), "{env}");
    let v: serde_json::Value = serde_json::from_str(&wait_for(&json_out, 10)).unwrap();
    assert!(v["kind"].as_str().is_some_and(|k| !k.is_empty()), "{v}");
    assert!(v["detail"].is_string(), "{v}");
    assert_eq!(v["registry"], format!("{}/", reg.url), "{v}");
    assert!(v.get("evidence").is_some(), "{v}");
}

fn alert(detail: String) -> Alert {
    Alert::new(AlertKind::CheckpointStale, detail, json!({"n": 1}))
}

/// H3-6. An alert detail with a NUL byte and over 128 KiB (the kernel's limit for one
/// environment string) still runs the hook: the detail in its environment is cleaned and cut;
/// stdin carries all of it.
#[tokio::test]
async fn a_nul_or_oversized_detail_still_runs_the_hook() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("detail.txt");
    let cmd = format!("printf '%s' \"$WARGDASH_ALERT_DETAIL\" > {}", out.display());
    let detail = format!("before\0after {}", "x".repeat(200 * 1024));
    let ran = wargdash::trust::notify::run_on_alert(&cmd, "http://r/", &alert(detail)).await;
    assert!(ran, "the hook did not run");
    let got = std::fs::read_to_string(&out).unwrap();
    assert!(got.starts_with("before\\x00after xxx"), "{}", &got[..40]);
    assert!(got.len() <= 8 * 1024 + 64, "{} bytes", got.len());
    assert!(got.contains("[cut:"), "the cut is marked");
}

/// H3-6. A hook that leaves a sleeping grandchild behind and never finishes: at the timeout
/// its whole process group is killed, the grandchild too (`kill_on_drop` killed only `sh`).
#[tokio::test]
async fn a_hook_past_its_time_is_killed_with_its_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let cmd = format!("sleep 300 & echo $! > {}; wait", pid_file.display());
    let started = Instant::now();
    let r = wargdash::trust::notify::run_hook(
        &cmd,
        "http://r/",
        &alert("d".into()),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(r, Ok(false), "timed out, so not a success");
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid_alive(&pid) {
        assert!(
            Instant::now() < deadline,
            "the grandchild {} outlived the hook's timeout",
            pid.trim()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// H3-7: upload targets.

fn is_record_post(r: &http_stub::Req) -> bool {
    r.method == "POST" && r.path.starts_with("/v1/package/") && r.path.ends_with("/record")
}

/// A change to one upload endpoint of the registry's answer.
type Edit = fn(&mut serde_json::Value);

/// A proxy in front of the real registry that rewrites every upload endpoint of the record
/// POST's answer with `edit`.
fn rewriting_proxy(upstream: String, edit: Edit) -> Stub {
    Stub::start(move |req| {
        let reply = forward(&upstream, req);
        if !is_record_post(req) {
            return reply;
        }
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
                    edit(u);
                }
            }
        }
        Reply::Respond {
            status,
            content_type,
            body: v.to_string().into_bytes(),
        }
    })
}

fn release(wd: &Wd, package: &str) -> common::Run {
    wd.ok(&["key", "new"], 0);
    let hello = repo_path("assets/hello.wasm");
    wd.run(&[
        "--request-timeout",
        "3",
        "publish",
        package,
        "--init",
        "release",
        "1.0.0",
        hello.to_str().unwrap(),
    ])
}

/// H3-7. The real registry's own upload URLs point at itself on loopback: allowed, because
/// the registry is on loopback too.
#[test]
fn uploads_to_the_loopback_registry_itself_are_allowed() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let r = release(&wd, "demo:up-ok");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("uploaded sha256:"), "{r:?}");
}

/// H3-7. A registry on loopback that hands out a cloud-metadata upload target, another
/// method, or a header outside the allowlist: refused before anything is sent, saying what
/// and why (exit 21).
#[test]
fn a_bad_upload_target_is_refused_with_what_and_why() {
    let reg = TestRegistry::start();
    let cases: [(Edit, &str); 3] = [
        (
            |u| u["url"] = json!("http://169.254.169.254/latest/meta-data/"),
            "link-local",
        ),
        (|u| u["method"] = json!("DELETE"), "method `DELETE`"),
        (
            |u| u["headers"] = json!({"X-Forwarded-For": "10.0.0.1"}),
            "header `X-Forwarded-For`",
        ),
    ];
    for (i, (edit, says)) in cases.into_iter().enumerate() {
        let proxy = rewriting_proxy(reg.url.clone(), edit);
        let wd = Wd::new(Some(&proxy.url));
        let started = Instant::now();
        let r = release(&wd, &format!("demo:up-bad{i}"));
        assert_eq!(r.code, exit::REGISTRY_FAULT, "{says}: {r:?}");
        assert!(r.stderr.contains("wargdash refused the upload"), "{r:?}");
        assert!(r.stderr.contains(says), "{says}: {r:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{says}: waited");
        // Nothing but the registry's own API went through the proxy: no DELETE.
        assert!(proxy.requests("DELETE", "/").is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// H3-8: content files and Tab completion.

/// H3-8. A FIFO with no writer (which hung the open) and `/dev/zero` (read up to 1 GiB into
/// memory) as the release file: refused at once, before a byte is read, saying what it is.
#[test]
fn a_fifo_or_a_device_as_content_is_refused_at_once() {
    let wd = Wd::new(Some(&common::refused_url()));
    wd.ok(&["key", "new"], 0);
    let fifo = wd.home.path().join("pipe.wasm");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (file, says) in [
        (fifo.to_str().unwrap(), "a FIFO"),
        ("/dev/zero", "a character device"),
    ] {
        let mut child = wd
            .command(&["publish", "demo:x", "release", "1.0.0", file])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{file}: still running after 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(status.code(), Some(exit::USAGE), "{file}: {stderr}");
        assert!(stderr.contains("is not a regular file"), "{file}: {stderr}");
        assert!(stderr.contains(says), "{file}: {stderr}");
    }
}

/// H3-8. Tab completion does not offer a name with a BiDi override (it would show as
/// another name: `evil\u{202e}mvs.wasm` reads as `evilsawm.svm`…).
#[test]
fn tab_completion_hides_names_with_bidi_controls() {
    use wargdash::ui::form_path::{complete, PathEnv};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evil\u{202e}mvs.wasm"), b"x").unwrap();
    let env = PathEnv {
        home: None,
        cwd: Some(dir.path().to_path_buf()),
    };
    let c = complete("ev", &env);
    assert!(!c.text.contains('\u{202e}'), "{c:?}");
    assert!(
        c.candidates.iter().all(|n| !n.contains('\u{202e}')),
        "{c:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// H3-9: key saves, the header's checkpoint age.

/// H3-9. Sixteen threads save a key under one name at once: exactly one wins, the others are
/// told it exists, and the file holds the winner's key (the existence check alone was raced:
/// a later rename replaced an earlier key).
#[test]
fn concurrent_saves_of_one_key_name_never_overwrite() {
    use wargdash::keys::{Algorithm, KeyStore, SigningKey};
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(KeyStore::new(dir.path().join("keys")));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let k = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
                    barrier.wait();
                    store.save("same", &k).map(|_| k.key_id().to_string())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let won: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "{} saves succeeded", won.len());
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(format!("{e:#}").contains("already exists"), "{e:#}");
        }
        assert_eq!(&store.load("same").unwrap().key_id().to_string(), won[0]);
    }
}

/// H3-9. A checkpoint dated near the end of time does not overflow the header's age (it
/// panicked the draw in debug builds).
#[test]
fn a_huge_checkpoint_timestamp_does_not_panic_the_header() {
    use wargdash::ui::app::{AppConfig, State};
    let mut s = State::new(
        AppConfig {
            registry: "http://x".into(),
            sandbox: false,
            readonly: false,
            interval: Duration::from_secs(1),
            color: false,
        },
        1_700_000_000_000,
    );
    for ts in [u64::MAX, i64::MAX as u64, (i64::MAX / 1000) as u64 + 1] {
        s.status.checkpoint = Some((5, ts));
        let text = screen::text(&screen::render(&mut s, 160, 12));
        assert!(text.contains("checkpoint: log length 5"), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// H3-10: the stored copy of an answer.

/// H3-10. A 1 MiB answer (a rejection with a 1 MiB reason) is polled and stored: the stored
/// copy is at most 16 KiB, still JSON of the same shape (state and reason readable), and says
/// it was cut and how big the whole was.
#[test]
fn a_huge_answer_is_stored_capped() {
    let stub = Stub::start(|req| {
        let rec = req.path.rsplit('/').next().unwrap_or_default().to_string();
        Reply::json(
            200,
            &json!({"recordId": rec, "state": "rejected", "reason": "r".repeat(1 << 20)}),
        )
    });
    let wd = Wd::new(Some(&stub.url));
    let log = format!("sha256:{}", "aa".repeat(32));
    let rec = format!("sha256:{}", "bb".repeat(32));
    wd.ok(&["track", "add", &log, &rec], 0);
    wd.ok(&["poll", "--once"], exit::REJECTED);
    let db = rusqlite::Connection::open(wd.home.path().join("data/wargdash.db")).unwrap();
    let (len, text): (i64, String) = db
        .query_row("SELECT length(response), response FROM tracked", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(len <= 16 * 1024, "stored {len} bytes");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["state"], "rejected");
    assert!(
        v["wargdashTruncated"]["bytes"].as_u64().unwrap() > 1 << 20,
        "{v}"
    );
    // The record still reads as rejected.
    let list = wd.ok(&["track", "list"], 0).stdout;
    assert!(list.contains("rejected"), "{list}");
}
