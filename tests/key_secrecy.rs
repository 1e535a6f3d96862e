//! Private keys stay private: key files are 0600 in a 0700 directory however they were made
//! (`key new`, `key import`, Ctrl-G in the form); a key file readable by group or others is
//! refused with the fix in the message; and after full publishes — by the CLI and through the
//! dashboard's form in tmux, with logging at `trace` — the private key (its base64 text, its
//! raw 32 bytes, their hex) appears nowhere: not in stdout/stderr of any command but
//! `key export`, not in the screen captures, not in the log, not in the SQLite store and its
//! `-wal`/`-shm` files, not in any other file under the home directory.

mod common;
#[path = "common/tmux.rs"]
mod tmux;

use base64::Engine;
use common::{repo_path, Run, TestRegistry, Wd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use wargdash::exit;

/// A private key as `key export` prints it, in the forms it could leak in.
struct Secret {
    name: String,
    text: String,
    b64: String,
    raw: Vec<u8>,
    hex: String,
}

impl Secret {
    fn export(wd: &Wd, name: &str) -> Self {
        let r = wd.ok(&["key", "export", name], 0);
        let text = r.stdout.trim().to_string();
        let b64 = text
            .strip_prefix("ecdsa-p256:")
            .unwrap_or_else(|| panic!("not an ecdsa-p256 key: {r:?}"))
            .to_string();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .unwrap();
        assert_eq!(raw.len(), 32);
        Self {
            name: name.into(),
            hex: hex::encode(&raw),
            text,
            b64,
            raw,
        }
    }

    /// Which form of this key `hay` holds, if any.
    fn found_in(&self, hay: &[u8]) -> Option<&'static str> {
        let found = |needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        [
            ("base64", self.b64.as_bytes()),
            ("raw bytes", &self.raw[..]),
            ("hex", self.hex.as_bytes()),
            // Half of the base64 text: a truncated or wrapped leak counts too.
            ("base64 prefix", &self.b64.as_bytes()[..22]),
        ]
        .into_iter()
        .find(|(_, needle)| found(needle))
        .map(|(form, _)| form)
    }

    /// Panics if `hay` holds this key in any form.
    fn assert_absent(&self, hay: &[u8], what: &str) {
        if let Some(form) = self.found_in(hay) {
            panic!("the private key `{}` ({form}) appears in {what}", self.name);
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn assert_key_modes(wd: &Wd, name: &str) {
    let dir = wd.home.path().join("data/keys");
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    let file = dir.join(format!("{name}.key"));
    assert_eq!(mode(&file), 0o600, "{}", file.display());
}

/// Runs with logging at `trace`, so anything that reaches a tracing call lands in the log.
fn traced(wd: &Wd, args: &[&str]) -> Run {
    let out = wd
        .command(args)
        .env("WARGDASH_LOG", "trace")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file under `dir` except the key files themselves.
fn files_outside_keys(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "keys") {
                continue;
            }
            files_outside_keys(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Greps every file of the home (log, store, -wal, -shm, config…) for every secret.
fn assert_home_clean(wd: &Wd, secrets: &[Secret]) -> Vec<String> {
    let mut files = Vec::new();
    files_outside_keys(wd.home.path(), &mut files);
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(wd.home.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    for p in &files {
        let bytes = std::fs::read(p).unwrap();
        for s in secrets {
            s.assert_absent(&bytes, &p.display().to_string());
        }
    }
    names
}

#[test]
fn a_cli_publish_leaks_the_key_nowhere_and_only_key_export_prints_it() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let mut runs: Vec<(String, Run)> = Vec::new();
    // A bearer token is sent on every request; it must not leak either.
    let token = "wdtok-7f3a9c21e4b85d6f0a1b2c3d4e5f6a7b";
    let token_file = wd.home.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    // A token file others can read is refused (Hardening III): 0600 as a key file.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let token_file = token_file.to_str().unwrap().to_string();
    let mut run = |args: &[&str], code: i32| {
        let mut all = vec!["--token-file", token_file.as_str()];
        all.extend_from_slice(args);
        let r = traced(&wd, &all);
        assert_eq!(r.code, code, "{args:?}: {r:?}");
        runs.push((args.join(" "), r));
    };
    run(&["key", "new"], 0);
    run(&["--json", "key", "new", "--name", "second"], 0);
    let hello = repo_path("assets/hello.wasm");
    let hello = hello.to_str().unwrap();
    run(&["publish", "demo:secret", "init", "--wait"], 0);
    run(
        &[
            "publish",
            "demo:secret",
            "release",
            "1.0.0",
            hello,
            "--wait",
        ],
        0,
    );
    run(
        &[
            "--json",
            "publish",
            "demo:secret",
            "yank",
            "1.0.0",
            "--wait",
            "--key",
            "default",
        ],
        0,
    );
    // A key the log does not know: refused by the registry (the error path prints too).
    run(
        &["publish", "demo:secret", "yank", "1.0.0", "--key", "second"],
        exit::UNAUTHORIZED,
    );
    for args in [
        &["key", "list"][..],
        &["--json", "key", "list"],
        &["key", "show", "default"],
        &["--json", "key", "show", "second"],
        &["info"],
        &["track", "list"],
        &["--json", "track", "list"],
        &["--json", "poll", "--once"],
    ] {
        run(args, 0);
    }
    let first = Secret::export(&wd, "default");
    let second = Secret::export(&wd, "second");
    // Control: the needles do find the key where it is.
    let export = wd.ok(&["key", "export", "default"], 0);
    assert!(export.stdout.contains(&first.b64));
    let key_file = std::fs::read(wd.home.path().join("data/keys/default.key")).unwrap();
    assert_eq!(first.found_in(&key_file), Some("base64"));

    // Importing prints the public side only; importing it again is refused without echoing it.
    let imported = wd.run_stdin(&["key", "import", "copy", "-"], &first.text);
    assert_eq!(imported.code, 0, "{imported:?}");
    runs.push(("key import copy -".into(), imported));
    let again = wd.run_stdin(&["key", "import", "copy", "-"], &first.text);
    assert_eq!(again.code, exit::KEY, "{again:?}");
    runs.push(("key import copy - (again)".into(), again));
    let broken = format!("{}!", first.text);
    let bad = wd.run_stdin(&["key", "import", "broken", "-"], &broken);
    assert_eq!(bad.code, exit::KEY, "{bad:?}");
    assert!(bad.stderr.contains("not valid base64"), "{bad:?}");
    runs.push(("key import broken -".into(), bad));

    for (args, r) in &runs {
        for out in [&r.stdout, &r.stderr] {
            assert!(!out.contains(token), "`{args}` printed the token: {r:?}");
        }
        for s in [&first, &second] {
            s.assert_absent(r.stdout.as_bytes(), &format!("stdout of `{args}`"));
            s.assert_absent(r.stderr.as_bytes(), &format!("stderr of `{args}`"));
        }
    }
    for name in ["default", "second", "copy"] {
        assert_key_modes(&wd, name);
    }
    let files = assert_home_clean(&wd, &[first, second]);
    for f in &files {
        if f == "token" {
            continue;
        }
        let bytes = std::fs::read(wd.home.path().join(f)).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token appears in {f}"
        );
    }
    for f in ["state/wargdash.log", "data/wargdash.db"] {
        assert!(
            files.iter().any(|n| n == f),
            "{f} was not checked: {files:?}"
        );
    }
    let log = std::fs::read_to_string(wd.home.path().join("state/wargdash.log")).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log was not verbose, so it proves little"
    );
}

#[test]
fn a_publish_through_the_dashboard_form_leaks_the_key_nowhere() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let t = tmux::Tmux::start(&wd, "--interval 0.3", "WARGDASH_LOG=trace");
    let mut screens = Vec::new();
    screens.push(t.wait_for("No tracked records yet", 15));
    t.wait_for("● up", 10);
    t.keys(&["p"]);
    screens.push(t.wait_for("Publish a package record", 5));
    t.type_text("demo:formsecret");
    t.keys(&["Tab", "Left"]); // entry kind: release → init
    screens.push(t.wait_for("◂ init ▸", 5));
    // Generate a second key in the form and sign with it.
    // Ctrl-G asks for the name, suggesting a free one.
    t.keys(&["C-g"]);
    screens.push(t.wait_for("New key name: key-2", 5));
    t.keys(&["Enter"]);
    screens.push(t.wait_for("generated key `key-2`", 5));
    t.keys(&["C-s"]);
    screens.push(t.wait_for("Review: exactly what will be signed", 10));
    t.keys(&["Enter"]);
    screens.push(t.wait_for("✓ published", 20));
    // The detail pane shows the signed entries (public key, key ID).
    t.keys(&["Enter"]);
    screens.push(t.wait_for("signed entries", 5));
    t.keys(&["Escape", "?"]);
    screens.push(t.wait_for("Keys (Esc closes", 5));
    // The store's -wal and -shm files exist only while a connection is open: copy every file
    // of the home now, with the dashboard running.
    let mut live = Vec::new();
    files_outside_keys(wd.home.path(), &mut live);
    let live: Vec<(String, Vec<u8>)> = live
        .into_iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read(&p).ok()?)))
        .collect();
    assert!(
        live.iter().any(|(n, _)| n.ends_with("wargdash.db-wal")),
        "no WAL while the dashboard runs: {:?}",
        live.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    t.keys(&["Escape", "q"]);
    t.assert_exited_cleanly(0);
    screens.push(t.history());

    assert_key_modes(&wd, "default");
    assert_key_modes(&wd, "key-2");
    let secrets = [Secret::export(&wd, "default"), Secret::export(&wd, "key-2")];
    for (name, bytes) in &live {
        for s in &secrets {
            s.assert_absent(bytes, &format!("{name} (while the dashboard ran)"));
        }
    }
    for (i, screen) in screens.iter().enumerate() {
        for s in &secrets {
            s.assert_absent(screen.as_bytes(), &format!("screen capture {i}:\n{screen}"));
        }
    }
    let files = assert_home_clean(&wd, &secrets);
    assert!(files.iter().any(|n| n == "state/wargdash.log"), "{files:?}");
    assert!(files.iter().any(|n| n == "data/wargdash.db"), "{files:?}");
    let list = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert!(list.contains("\"state\":\"published\""), "{list}");
}

#[test]
fn key_files_readable_by_others_are_refused_with_the_fix() {
    let wd = Wd::new(None);
    // A key directory someone created wide open is tightened to 0700 by the first key.
    let dir = wd.home.path().join("data/keys");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    wd.ok(&["key", "new", "--name", "ops"], 0);
    assert_key_modes(&wd, "ops");
    let path = dir.join("ops.key");
    for m in [0o640, 0o604, 0o644, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
        for args in [
            vec!["key", "show", "ops"],
            vec!["key", "export", "ops"],
            vec![
                "--registry",
                "http://127.0.0.1:1",
                "publish",
                "demo:x",
                "init",
                "--key",
                "ops",
            ],
            vec![
                "--registry",
                "http://127.0.0.1:1",
                "publish",
                "demo:x",
                "init",
                "--key-file",
                path.to_str().unwrap(),
            ],
        ] {
            let r = wd.run(&args);
            assert_eq!(r.code, exit::KEY, "mode {m:o}, {args:?}: {r:?}");
            assert!(r.stdout.is_empty(), "{r:?}");
            assert!(
                r.stderr.contains(&format!("permissions {m:o}"))
                    && r.stderr
                        .contains(&format!("Fix with: chmod 600 {}", path.display())),
                "mode {m:o}, {args:?}: {r:?}"
            );
        }
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    wd.ok(&["key", "show", "ops"], 0);
}
