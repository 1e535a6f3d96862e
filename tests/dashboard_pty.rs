//! The real binary in a pseudo-terminal (tmux) against a real warg-server: the dashboard opens,
//! a record is published through the form, its row reaches `published`, changes made by another
//! process show up, and every way out (q, Ctrl-C, SIGTERM, panic) restores the terminal.

mod common;
#[path = "common/tmux.rs"]
mod tmux;

use common::{TestRegistry, Wd};
use std::process::Command;
use std::time::Duration;
use tmux::Tmux;

#[test]
fn publish_through_the_form_and_watch_it_reach_published() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let t = Tmux::start(&wd, "--interval 0.3", "");
    t.wait_for("No tracked records yet", 15);
    t.wait_for("● up", 10);

    // A record tracked by IDs alone gets its package name from the registry (fetch/names).
    let elsewhere = Wd::new(Some(&reg.url));
    elsewhere.ok(&["key", "new"], 0);
    let named = elsewhere.json(
        &[
            "--json",
            "publish",
            "demo:named-by-registry",
            "init",
            "--wait",
        ],
        0,
    );
    wd.ok(
        &[
            "track",
            "add",
            named["logId"].as_str().unwrap(),
            named["recordId"].as_str().unwrap(),
        ],
        0,
    );
    t.wait_for("demo:named-by-regis", 5);

    t.keys(&["p"]);
    t.wait_for("Publish a package record", 5);
    t.type_text("demo:ptypkg");
    t.keys(&["Tab", "Left"]); // entry kind: release → init
    t.wait_for("◂ init ▸", 5);
    t.keys(&["C-s"]);
    let review = t.wait_for("Review: exactly what will be signed", 10);
    assert!(
        review.contains("none (first record of the log)"),
        "{review}"
    );
    t.keys(&["Enter"]);
    let screen = t.wait_for("✓ published", 20);
    assert!(screen.contains("demo:ptypkg"), "{screen}");

    // Another process tracks a record: it appears within a couple of seconds; untracked, it goes.
    let other = format!("sha256:{}", "cd".repeat(32));
    wd.ok(&["track", "add", "--package", "demo:elsewhere", &other], 0);
    t.wait_for("demo:elsewhere", 4);
    let log = wd
        .ok(&["log-id", "demo:elsewhere"], 0)
        .stdout
        .trim()
        .to_string();
    wd.ok(&["track", "remove", &log, &other], 0);
    t.wait_gone("demo:elsewhere", 4);

    t.keys(&["q"]);
    t.assert_exited_cleanly(0);
    // The published record is in the store for the next run.
    let list = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert!(list.contains("\"state\":\"published\""), "{list}");
}

fn quick_dashboard(extra_env: &str) -> (TestRegistry, Wd, Tmux) {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let t = Tmux::start(&wd, "", extra_env);
    t.wait_for("No tracked records yet", 15);
    (reg, wd, t)
}

#[test]
fn ctrl_c_restores_the_terminal() {
    let (_reg, _wd, t) = quick_dashboard("");
    t.keys(&["C-c"]);
    t.assert_exited_cleanly(0);
}

/// Ctrl-C in the publish form with a draft asks first; `n` returns to the draft, `y` quits
/// and restores the terminal.
#[test]
fn ctrl_c_in_the_form_asks_before_discarding_the_draft() {
    let (_reg, _wd, t) = quick_dashboard("");
    t.keys(&["p"]);
    t.wait_for("Publish a package record", 5);
    t.type_text("demo:draftq");
    t.keys(&["C-c"]);
    t.wait_for("quit and discard the draft? y/n", 5);
    t.keys(&["n"]);
    t.wait_gone("quit and discard the draft?", 5);
    let screen = t.wait_for("demo:draftq", 5);
    assert!(screen.contains("Publish a package record"), "{screen}");
    t.keys(&["C-c"]);
    t.wait_for("quit and discard the draft? y/n", 5);
    t.keys(&["y"]);
    t.assert_exited_cleanly(0);
}

#[test]
fn sigterm_restores_the_terminal() {
    let (_reg, _wd, t) = quick_dashboard("");
    let pid = t.tmux(&["list-panes", "-F", "#{pane_pid}"]);
    // The pane runs `sh -c`; signal its child, the dashboard.
    let out = Command::new("pkill")
        .args(["-TERM", "-P", pid.trim()])
        .status()
        .unwrap();
    assert!(out.success());
    t.assert_exited_cleanly(0);
}

#[test]
fn a_vanished_terminal_ends_the_process() {
    // crossterm spins on a hung-up tty (crossterm-rs/crossterm#793): the dashboard must still
    // notice and exit instead of burning a core forever.
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    // The pane runs `sh -c`, as an operator's shell would; the dashboard is its child.
    let t = Tmux::start(&wd, "", "");
    t.wait_for("No tracked records yet", 15);
    let sh = t.pane_pid().expect("pane pid");
    let children = Command::new("pgrep")
        .args(["-P", &sh.to_string()])
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&children.stdout)
        .trim()
        .parse()
        .expect("one child: the dashboard");
    t.tmux(&["kill-server"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.split_whitespace().nth(2) == Some("Z") {
            break; // exited; waiting to be reaped
        }
        assert!(
            std::time::Instant::now() < deadline,
            "wargdash {pid} still running after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn esc_in_the_form_never_quits() {
    let (_reg, _wd, t) = quick_dashboard("");
    t.keys(&["p"]);
    t.wait_for("Publish a package record", 5);
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["Escape"]);
    t.wait_for("No tracked records yet", 5);
    assert!(!t.exit_file().exists(), "Esc quit the dashboard");
    t.keys(&["q"]);
    t.assert_exited_cleanly(0);
}

#[test]
fn a_worker_panic_is_shown_and_the_dashboard_carries_on() {
    let (_reg, wd, t) = quick_dashboard("WARGDASH_DEBUG_PANIC=worker");
    t.keys(&["!"]);
    t.wait_for("a background task failed", 10);
    // Still answering keys.
    t.keys(&["?"]);
    t.wait_for("Keys (Esc closes", 5);
    t.keys(&["Escape", "q"]);
    t.assert_exited_cleanly(0);
    let log = std::fs::read_to_string(wd.home.path().join("state/wargdash.log")).unwrap();
    assert!(
        log.contains("injected worker panic"),
        "not in the log: {log}"
    );
}

#[test]
fn a_panic_restores_the_terminal_and_is_reported() {
    let (_reg, wd, t) = quick_dashboard("WARGDASH_DEBUG_PANIC=1");
    t.keys(&["!"]);
    t.assert_exited_cleanly(101);
    let log = std::fs::read_to_string(wd.home.path().join("state/wargdash.log")).unwrap();
    assert!(log.contains("panic"), "panic not in the log file: {log}");
    let history = t.history();
    assert!(
        history.contains("injected panic"),
        "panic report not on stderr after restore:\n{history}"
    );
}

/// The mouse modes the pane's program asked for, as tmux saw them: any-motion tracking and SGR
/// coordinates (what crossterm's mouse capture turns on).
fn mouse_flags(t: &Tmux) -> String {
    t.tmux(&[
        "display-message",
        "-p",
        "#{mouse_any_flag} #{mouse_sgr_flag}",
    ])
    .trim()
    .to_string()
}

#[test]
fn the_mouse_is_captured_unless_no_mouse_and_a_click_selects_a_row() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let log = format!("sha256:{}", "1a".repeat(32));
    let records = [
        format!("sha256:{}", "2b".repeat(32)),
        format!("sha256:{}", "3c".repeat(32)),
    ];
    for r in &records {
        wd.ok(&["track", "add", &log, r], 0);
    }
    let t = Tmux::start(&wd, "", "");
    t.wait_for("2 tracked", 15);
    assert_eq!(mouse_flags(&t), "1 1", "mouse captured");
    // The first row is selected; a click (SGR press and release, 1-based column;line) on the
    // second table row (screen line 6) selects it, and `y` copies that row's record ID.
    let screen = t.screen();
    let line = screen.lines().nth(5).unwrap_or_default().to_string();
    let second = records
        .iter()
        .find(|r| line.contains(&r[7..15]))
        .unwrap_or_else(|| panic!("no record on line 6:\n{screen}"));
    t.type_text("\x1b[<0;20;6M\x1b[<0;20;6m");
    t.keys(&["y"]);
    t.wait_for(&format!("copied record ID sha256:{}…", &second[7..15]), 5);
    t.keys(&["q"]);
    t.assert_exited_cleanly(0);
    assert_eq!(mouse_flags(&t), "0 0", "mouse capture released on exit");

    // `--no-mouse` leaves the mouse to the terminal.
    let t = Tmux::start(&wd, "--no-mouse", "");
    t.wait_for("2 tracked", 15);
    assert_eq!(mouse_flags(&t), "0 0", "not captured with --no-mouse");
    t.keys(&["q"]);
    t.assert_exited_cleanly(0);
}
