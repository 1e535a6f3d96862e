//! Modes and pipes through the real binary: `--demo` always means the sandbox, `--readonly`
//! hides publishing, and a closed stdout (`| head -1`) ends every printing command quietly.

mod common;
#[path = "common/tmux.rs"]
mod tmux;

use common::{bin, TestRegistry, Wd};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use tmux::Tmux;

#[test]
fn demo_always_means_the_sandbox_even_with_a_registry_configured() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let t = Tmux::start(&wd, "--demo --interval 0.3", "");
    let screen = t.wait_for("published 3", 40);
    assert!(screen.contains("[SANDBOX"), "{screen}");
    assert!(!screen.contains(&reg.url), "{screen}");
    t.wait_for("rejected 1", 20);
    t.wait_for("✔ verified", 20);
    t.keys(&["q"]);
    t.assert_exited_cleanly(0);
}

#[test]
fn readonly_hides_publishing() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let t = Tmux::start(&wd, "--readonly", "");
    let screen = t.wait_for("[READ-ONLY]", 15);
    assert!(!screen.contains("p publish"), "{screen}");
    t.keys(&["p"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after = t.screen();
    assert!(!after.contains("Publish a package record"), "{after}");
    t.keys(&["?"]);
    let help = t.wait_for("Keys (Esc closes", 5);
    assert!(!help.contains("publish form"), "{help}");
    t.keys(&["Escape", "q"]);
    t.assert_exited_cleanly(0);
}

/// Runs `wargdash ARGS`, reads one line of its stdout and closes the pipe, as `| head -1` does.
fn head_one(wd: &Wd, args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .env("WARGDASH_HOME", wd.home.path())
        .env_remove("WARGDASH_REGISTRY")
        .envs(
            wd.registry
                .iter()
                .map(|r| ("WARGDASH_REGISTRY", r.as_str())),
        )
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone: the rest of the output hits a closed pipe.
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        first,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    // Enough output to overflow the pipe buffer after the reader has gone.
    let lines: String = (0..1500)
        .map(|i| {
            format!(
                "sha256:{:064x} sha256:{:064x}\n",
                i as u128 + 1,
                i as u128 + 7
            )
        })
        .collect();
    let r = wd.run_stdin(&["track", "add", "-"], &lines);
    assert_eq!(r.code, 0, "{r:?}");
    for args in [
        vec!["track", "list"],
        vec!["--json", "track", "list"],
        vec!["poll", "--once", "--no-ledger"],
        vec!["--json", "poll", "--once", "--no-ledger"],
        vec![],
    ] {
        let (code, first, stderr) = head_one(&wd, &args);
        assert!(!first.is_empty(), "{args:?}: nothing printed");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains('\x1b'),
            "{args:?}: colour on a non-terminal: {stderr:?}"
        );
        assert_eq!(code, Some(141), "{args:?}: {stderr}");
    }
}

#[test]
fn track_list_and_poll_name_records_tracked_by_id() {
    let reg = TestRegistry::start();
    let publisher = Wd::new(Some(&reg.url));
    publisher.ok(&["key", "new"], 0);
    let v = publisher.json(&["--json", "publish", "demo:by-id", "init", "--wait"], 0);
    let wd = Wd::new(Some(&reg.url));
    wd.ok(
        &[
            "track",
            "add",
            v["logId"].as_str().unwrap(),
            v["recordId"].as_str().unwrap(),
        ],
        0,
    );
    let list = wd.ok(&["track", "list"], 0).stdout;
    assert!(list.contains("demo:by-id"), "{list}");
    let poll = wd.ok(&["--json", "poll", "--once"], 0).stdout;
    assert!(poll.contains("\"package\":\"demo:by-id\""), "{poll}");
}

#[test]
fn unique_prefixes_of_tracked_ids_are_accepted_and_ambiguous_ones_listed() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let a = wd.json(&["--json", "publish", "demo:pre-a", "init", "--wait"], 0);
    wd.json(&["--json", "publish", "demo:pre-b", "init", "--wait"], 0);
    let (log, rec) = (
        a["logId"].as_str().unwrap(),
        a["recordId"].as_str().unwrap(),
    );
    // Short forms, with and without `sha256:`.
    let st = wd.ok(&["status", &log[..15], &rec[7..17]], 0);
    assert!(st.stdout.contains("published"), "{st:?}");
    // Two tracked records sharing a prefix: the short form is ambiguous, and says which.
    let l = format!("sha256:{}", "ab".repeat(32));
    let r1 = format!("sha256:cd{}", "01".repeat(31));
    let r2 = format!("sha256:cd{}", "02".repeat(31));
    wd.ok(&["track", "add", &l, &r1], 0);
    wd.ok(&["track", "add", &l, &r2], 0);
    let r = wd.run(&["status", "abab", "cd"]);
    assert_eq!(r.code, wargdash::exit::USAGE, "{r:?}");
    assert!(
        r.stderr.contains("ambiguous: it matches 2 tracked records"),
        "{r:?}"
    );
    assert!(r.stderr.contains(&r1) && r.stderr.contains(&r2), "{r:?}");
    let r = wd.run(&["status", "abab", "ff"]);
    assert!(r.stderr.contains("matches no tracked record"), "{r:?}");
    wd.ok(&["track", "remove", "abab", &r2[..12]], 0);
    // Remove by prefix.
    wd.ok(&["track", "remove", &log[..12], &rec[..12]], 0);
    let list = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert_eq!(list.lines().count(), 2, "{list}");
}

/// Completions and the manual come from the clap definitions, with no config, store or
/// registry: the bash script parses (`bash -n`) and names every subcommand; the manual
/// renders with `man -l -`.
#[test]
fn completions_and_the_manual_are_generated_from_the_command_line() {
    let wd = Wd::new(None);
    let bash = wd.ok(&["completions", "bash"], 0).stdout;
    let path = wd.home.path().join("wargdash.bash");
    std::fs::write(&path, &bash).unwrap();
    let ok = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .expect("bash");
    assert!(ok.success(), "bash -n refused the script");
    for sub in ["verify", "poll", "publish", "track", "alerts", "log"] {
        assert!(bash.contains(sub), "{sub} not completed");
    }
    for shell in ["zsh", "fish", "powershell"] {
        let s = wd.ok(&["completions", shell], 0).stdout;
        assert!(s.contains("verify"), "{shell}: {s}");
    }
    let roff = wd.ok(&["man"], 0).stdout;
    assert!(
        roff.starts_with(".ie") || roff.contains(".TH wargdash"),
        "{roff}"
    );
    let mut man = std::process::Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("man (the man-db package)");
    use std::io::Write;
    man.stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let out = man.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NAME") && text.contains("wargdash"), "{text}");
    // A bad shell is a usage error.
    wd.ok(&["completions", "tcsh"], 2);
}
