//! The `wargdash` binary against a real warg-server started in this test process.

mod common;

use common::{repo_path, TestRegistry, Wd};
use wargdash::exit;

fn rid(v: &serde_json::Value) -> String {
    v["recordId"].as_str().expect("recordId").to_string()
}

#[test]
fn full_publish_lifecycle_reaches_published() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let pkg = "demo:pkg";
    let log = wd.ok(&["log-id", pkg], 0).stdout.trim().to_string();

    let init = wd.json(&["--json", "publish", pkg, "init", "--wait"], 0);
    assert_eq!(init["state"], "published", "{init}");

    let hello = repo_path("assets/hello.wasm");
    let r = wd.run(&[
        "--json",
        "publish",
        pkg,
        "release",
        "1.0.0",
        hello.to_str().unwrap(),
        "--wait",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("accepted: sourcing"),
        "the registry must ask for the content: {r:?}"
    );
    assert!(r.stderr.contains("uploading sha256:"), "{r:?}");
    let rel: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(rel["state"], "published");
    assert!(rel["registryIndex"].as_u64().is_some(), "{rel}");

    let second = repo_path("assets/hello-1.1.wasm");
    let rel2 = wd.json(
        &[
            "--json",
            "publish",
            pkg,
            "release",
            "1.1.0",
            second.to_str().unwrap(),
            "--wait",
        ],
        0,
    );
    let yank = wd.json(&["--json", "publish", pkg, "yank", "1.1.0", "--wait"], 0);

    let other = Wd::new(Some(&reg.url));
    let other_key = other.json(&["--json", "key", "new", "--name", "friend"], 0);
    let pubkey = other_key["publicKey"].as_str().unwrap();
    let keyid = other_key["keyId"].as_str().unwrap();
    let grant = wd.json(
        &[
            "--json", "publish", pkg, "grant", pubkey, "release", "--wait",
        ],
        0,
    );
    let revoke = wd.json(
        &[
            "--json", "publish", pkg, "revoke", keyid, "release", "--wait",
        ],
        0,
    );

    // Before anything is verified, `published` is the registry's claim, and says so.
    let st = wd.ok(&["status", &log, &rid(&init)], 0);
    assert!(
        st.stdout.starts_with("published? index ")
            && st.stdout.contains("no checkpoint verified yet"),
        "{st:?}"
    );
    let raw = wd.json(&["--json", "status", &log, &rid(&init)], 0);
    assert_eq!(raw["verified"], false, "{raw}");
    wd.ok(&["verify"], 0);
    for rec in [&init, &rel, &rel2, &yank, &grant, &revoke] {
        assert_eq!(rec["state"], "published", "{rec}");
        let st = wd.ok(&["status", &log, &rid(rec)], 0);
        let idx = rec["registryIndex"].as_u64().unwrap();
        assert_eq!(
            st.stdout.trim(),
            format!("published at registry index {idx} ✔ proven")
        );
        let raw = wd.json(&["--json", "status", &log, &rid(rec)], 0);
        assert_eq!(raw["recordId"], rec["recordId"]);
        assert_eq!(raw["registryIndex"], rec["registryIndex"]);
        assert_eq!(raw["verified"], true, "{raw}");
    }

    // Everything submitted is tracked, and poll --once sees them all published.
    let list = wd.ok(&["--json", "track", "list"], 0);
    assert_eq!(list.stdout.lines().count(), 6, "{list:?}");
    let polled = wd.ok(&["--json", "poll", "--once", "--concurrency", "3"], 0);
    assert_eq!(polled.stdout.lines().count(), 6);
    for line in polled.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["state"], "published", "{v}");
        assert_eq!(v["logId"], log.as_str());
    }
}

#[test]
fn rejections_show_the_servers_reason_verbatim() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let hello = repo_path("assets/hello.wasm");
    let hello = hello.to_str().unwrap();
    wd.ok(
        &[
            "publish", "demo:dup", "--init", "release", "1.0.0", hello, "--wait",
        ],
        0,
    );
    let r = wd.run(&["publish", "demo:dup", "release", "1.0.0", hello, "--wait"]);
    assert_eq!(r.code, exit::REJECTED, "{r:?}");
    assert!(
        r.stdout.contains(
            "rejected: the package record was invalid: an entry attempted to release version 1.0.0 which is already released"
        ),
        "{r:?}"
    );
    // The same through `status`.
    let log = wd.ok(&["log-id", "demo:dup"], 0).stdout.trim().to_string();
    let rec = r
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let st = wd.ok(&["status", &log, &rec], exit::REJECTED);
    assert_eq!(
        st.stdout.trim(),
        "rejected: the package record was invalid: an entry attempted to release version 1.0.0 which is already released"
    );
}

#[test]
fn unknown_namespace_and_unauthorized_key_get_specific_errors() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let r = wd.run(&["publish", "other:pkg", "init"]);
    assert_eq!(r.code, exit::LOG_NOT_FOUND, "{r:?}");
    assert!(
        r.stderr
            .contains("namespace `other` is not defined on this registry"),
        "{r:?}"
    );
    // Refused outright: not left tracked (so later polls do not keep failing on it).
    assert_eq!(wd.ok(&["--json", "track", "list"], 0).stdout.trim(), "");

    wd.ok(&["publish", "demo:owned", "init", "--wait"], 0);
    // A stranger's key may not release into someone else's package: 401 unknown key id.
    let stranger = Wd::new(Some(&reg.url));
    stranger.ok(&["key", "new"], 0);
    let hello = repo_path("assets/hello.wasm");
    let r = stranger.run(&[
        "publish",
        "demo:owned",
        "release",
        "1.0.0",
        hello.to_str().unwrap(),
    ]);
    assert_eq!(r.code, exit::UNAUTHORIZED, "{r:?}");
    assert!(
        r.stderr
            .contains("the registry refused the key or signature (401): unknown key id"),
        "{r:?}"
    );
    // A refused record is not left in the tracked set.
    assert_eq!(
        stranger.ok(&["--json", "track", "list"], 0).stdout.trim(),
        ""
    );
}

#[test]
fn ed25519_records_are_refused_clearly() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let r = wd.ok(&["key", "new", "--algorithm", "ed25519", "--name", "ed"], 0);
    assert!(r.stderr.contains("accepts only ecdsa-p256"), "{r:?}");
    let r = wd.run(&["publish", "demo:edpkg", "init", "--key", "ed"]);
    assert_eq!(r.code, exit::UNAUTHORIZED, "{r:?}");
    assert!(r.stderr.contains("refused this key's signature"), "{r:?}");
    assert!(r.stderr.contains("accepts only ecdsa-p256"), "{r:?}");
    assert!(!r.stderr.contains("panicked"), "{r:?}");
}

#[test]
fn status_errors_are_specific() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let pub_ = wd.json(&["--json", "publish", "demo:st", "init", "--wait"], 0);
    let log = wd.ok(&["log-id", "demo:st"], 0).stdout.trim().to_string();
    let unknown = format!("sha256:{}", "ab".repeat(32));

    let r = wd.run(&["status", &unknown, &rid(&pub_)]);
    assert_eq!(r.code, exit::LOG_NOT_FOUND, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("package log `{unknown}` was not found")),
        "{r:?}"
    );

    let r = wd.run(&["status", &log, &unknown]);
    assert_eq!(r.code, exit::NOT_FOUND, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("record `{unknown}` was not found")),
        "{r:?}"
    );

    let r = wd.run(&["status", "sha256:ABC", &unknown]);
    assert_eq!(r.code, exit::USAGE, "{r:?}");
    assert!(r.stderr.contains("malformed log ID `sha256:ABC`"), "{r:?}");

    let r = wd.run(&["status", &log, "xyz"]);
    assert_eq!(r.code, exit::USAGE, "{r:?}");
    assert!(r.stderr.contains("malformed record ID `xyz`"), "{r:?}");

    let down = Wd::new(Some(&common::refused_url()));
    let r = down.run(&["status", &log, &rid(&pub_)]);
    assert_eq!(r.code, exit::UNREACHABLE, "{r:?}");
    assert!(
        r.stderr
            .contains("registry unreachable at http://127.0.0.1:"),
        "{r:?}"
    );

    let r = Wd::new(None).run(&["status", &log, &rid(&pub_)]);
    assert_eq!(r.code, exit::USAGE, "{r:?}");
    assert!(r.stderr.contains("no registry configured"), "{r:?}");
}

#[test]
fn release_without_a_log_asks_for_init() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let hello = repo_path("assets/hello.wasm");
    let r = wd.run(&[
        "publish",
        "demo:fresh",
        "release",
        "1.0.0",
        hello.to_str().unwrap(),
    ]);
    assert_eq!(r.code, exit::USAGE, "{r:?}");
    assert!(
        r.stderr.contains("must start with `init`") && r.stderr.contains("--init puts init"),
        "{r:?}"
    );
    let v = wd.json(
        &[
            "--json",
            "publish",
            "demo:fresh",
            "--init",
            "release",
            "1.0.0",
            hello.to_str().unwrap(),
            "--wait",
        ],
        0,
    );
    assert_eq!(v["state"], "published");
}

#[test]
fn track_commands_manage_the_shared_set() {
    let wd = Wd::new(None);
    let a = format!("sha256:{}", "11".repeat(32));
    let b = format!("sha256:{}", "22".repeat(32));
    let c = format!("sha256:{}", "33".repeat(32));
    wd.ok(&["track", "add", &a, &b], 0);
    // stdin batch: all or nothing.
    let bad = wd.run_stdin(&["track", "add", "-"], &format!("{a} {c}\n{a} not-an-id\n"));
    assert_eq!(bad.code, exit::USAGE, "{bad:?}");
    assert!(bad.stderr.contains("line 2"), "{bad:?}");
    assert_eq!(
        wd.ok(&["--json", "track", "list"], 0)
            .stdout
            .lines()
            .count(),
        1
    );
    let good = wd.run_stdin(
        &["track", "add", "-"],
        &format!("# header\n{a} {c}\n\n{b} {c}\n"),
    );
    assert_eq!(good.code, 0, "{good:?}");
    assert_eq!(
        wd.ok(&["--json", "track", "list"], 0)
            .stdout
            .lines()
            .count(),
        3
    );
    let r = wd.ok(&["track", "add", "--package", "demo:hello", &c], 0);
    assert!(r.stdout.contains("tracking 1 new"), "{r:?}");
    let list = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert!(
        list.contains("sha256:7db5febe972ba3fa55ad508805add3dd8e8cfd64053b99b4835dc166f280278a"),
        "{list}"
    );
    wd.ok(&["track", "remove", &a, &b], 0);
    wd.ok(&["track", "remove", &a, &b], exit::NOT_FOUND);
    assert_eq!(
        wd.ok(&["--json", "track", "list"], 0)
            .stdout
            .lines()
            .count(),
        3
    );
}

#[test]
fn key_commands_and_file_modes() {
    use std::os::unix::fs::PermissionsExt;
    let wd = Wd::new(None);
    let k = wd.json(&["--json", "key", "new", "--name", "ops"], 0);
    assert_eq!(k["algorithm"], "ecdsa-p256");
    let path = wd.home.path().join("data/keys/ops.key");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let exported = wd.ok(&["key", "export", "ops"], 0).stdout;
    assert!(exported.starts_with("ecdsa-p256:"));
    // show/list never print the private key.
    for args in [
        &["key", "show", "ops"][..],
        &["key", "list"][..],
        &["--json", "key", "list"][..],
    ] {
        let out = wd.ok(args, 0).stdout;
        assert!(
            !out.contains(exported.trim().trim_start_matches("ecdsa-p256:")),
            "{args:?} leaked the key"
        );
    }
    let other = Wd::new(None);
    let imported = other.run_stdin(&["--json", "key", "import", "ops2", "-"], &exported);
    assert_eq!(imported.code, 0, "{imported:?}");
    let v: serde_json::Value = serde_json::from_str(imported.stdout.trim()).unwrap();
    assert_eq!(v["keyId"], k["keyId"]);
    other.ok(&["key", "new", "--name", "ops2"], exit::KEY);
    other.ok(&["key", "delete", "ops2"], 0);
    other.ok(&["key", "show", "ops2"], exit::KEY);
}
