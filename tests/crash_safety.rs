//! Crash safety of the tracked set (SQLite, WAL): `kill -9` of the dashboard and of
//! `wargdash track add -` while both write, again and again, and two dashboards plus a
//! `track add` loop on one store at once. The store must always open afterwards, hold every
//! record whose `track add` exited 0, hold a killed batch entirely or not at all, and no
//! "database is locked" may reach any output or the log.

mod common;
#[path = "common/fault_server.rs"]
mod fault_server;
#[path = "common/tmux.rs"]
mod tmux;

use common::{Run, Wd};
use fault_server::{Fault, FaultServer};
use std::collections::BTreeSet;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tmux::Tmux;

/// Tiny deterministic PRNG (xorshift), seeded from the clock; the seed is printed on failure.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        eprintln!("crash-safety seed: {seed}");
        Self(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A record as `(LOG_ID, RECORD_ID)`.
type Ids = (String, String);

fn id(tag: u8, i: usize) -> String {
    let mut b = [tag; 32];
    b[..8].copy_from_slice(&(i as u64).to_be_bytes());
    format!("sha256:{}", hex::encode(b))
}

/// `LOG_ID RECORD_ID` lines for batch `batch` of `n` records (log tag 0xa0, record tag 0xb0).
fn batch_lines(batch: usize, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|j| (id(0xa0, batch * 1000 + j), id(0xb0, batch * 1000 + j)))
        .collect()
}

fn tracked_set(wd: &Wd) -> BTreeSet<(String, String)> {
    let r = wd.run(&["--json", "track", "list"]);
    assert_eq!(r.code, 0, "the store must always open: {r:?}");
    assert_no_lock_errors(&r.stdout, "track list stdout");
    assert_no_lock_errors(&r.stderr, "track list stderr");
    r.stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["logId"].as_str().unwrap().to_string(),
                v["recordId"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn assert_no_lock_errors(text: &str, what: &str) {
    let lower = text.to_lowercase();
    for bad in ["database is locked", "database is busy", "sqlite_busy"] {
        assert!(!lower.contains(bad), "{what} says {bad:?}:\n{text}");
    }
}

/// Seeds the store with `n` records (batch 0) so a dashboard has plenty to poll and write.
fn seed(wd: &Wd, n: usize) -> Vec<(String, String)> {
    let lines = batch_lines(0, n);
    let input: String = lines.iter().map(|(l, r)| format!("{l} {r}\n")).collect();
    let r = wd.run_stdin(&["track", "add", "-"], &input);
    assert_eq!(r.code, 0, "{r:?}");
    lines
}

fn integrity_ok(wd: &Wd) {
    let path = wd.home.path().join("data/wargdash.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", path.display());
}

#[test]
fn kill_9_of_the_dashboard_and_track_add_while_writing_loses_nothing_committed() {
    let registry = FaultServer::start(Fault::Healthy);
    let wd = Wd::new(Some(&registry.url));
    let seeded = seed(&wd, 150);
    let mut rng = Rng::from_clock();
    let mut committed: BTreeSet<(String, String)> = seeded.into_iter().collect();
    let mut killed_batches = Vec::new();
    let (mut kills_mid_write, mut completed) = (0, 0);
    let start = Instant::now();
    for i in 1..=20usize {
        // The dashboard polls 150+ pending records every 50 ms: its store thread writes
        // continuously.
        let dash = Tmux::start_exec(&wd, "--interval 0.05", "");
        std::thread::sleep(Duration::from_millis(150 + rng.below(250)));
        let lines = batch_lines(i, 40);
        let input: String = lines.iter().map(|(l, r)| format!("{l} {r}\n")).collect();
        let mut add = wd
            .command(&["track", "add", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        add.stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        // Kill `track add` somewhere between start-up and commit (or let it finish), and the
        // dashboard a moment later, mid-write.
        std::thread::sleep(Duration::from_millis(rng.below(40)));
        let _ = add.kill();
        std::thread::sleep(Duration::from_millis(rng.below(30)));
        let pid = dash.pane_pid().expect("dashboard pid");
        let killed = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success(), "kill -9 {pid}");
        drop(dash);
        let out = add.wait_with_output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_no_lock_errors(&run.stderr, "track add stderr");
        match out.status.code() {
            Some(0) => {
                completed += 1;
                assert!(run.stdout.contains("tracking 40 new"), "{run:?}");
                committed.extend(lines);
            }
            None => {
                kills_mid_write += 1;
                killed_batches.push(lines);
            }
            Some(c) => panic!("track add exited {c} (not killed): {run:?}"),
        }
        // After every crash: the store opens and holds everything committed; a killed batch
        // is there entirely or not at all (one transaction).
        let now = tracked_set(&wd);
        let lost: Vec<_> = committed.difference(&now).collect();
        assert!(
            lost.is_empty(),
            "iteration {i}: lost {} records",
            lost.len()
        );
        for b in &killed_batches {
            let present = b.iter().filter(|k| now.contains(*k)).count();
            assert!(
                present == 0 || present == b.len(),
                "iteration {i}: a killed batch is half there ({present} of {})",
                b.len()
            );
        }
    }
    integrity_ok(&wd);
    eprintln!(
        "20 crashes in {:?}: {completed} track add runs completed, {kills_mid_write} killed",
        start.elapsed()
    );
    // The kill lands anywhere in 0-40 ms: typically about a third of the runs die before
    // they commit, the rest complete (the counts are printed above).
    assert_eq!(completed + kills_mid_write, 20);
    let log = std::fs::read_to_string(wd.home.path().join("state/wargdash.log")).unwrap();
    assert_no_lock_errors(&log, "log file");
}

#[test]
fn two_dashboards_and_a_track_add_loop_share_one_store_without_lock_errors() {
    let registry = FaultServer::start(Fault::Healthy);
    let wd = Wd::new(Some(&registry.url));
    let mut expected: BTreeSet<(String, String)> = seed(&wd, 80).into_iter().collect();
    let a = Tmux::start(&wd, "--interval 0.05", "");
    let b = Tmux::start(&wd, "--interval 0.05", "");
    for t in [&a, &b] {
        t.wait_for("processing 80", 15);
    }
    // Two writers besides the dashboards, each alternating single adds and batches.
    let outputs: Vec<(Vec<Ids>, Vec<Run>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2usize)
            .map(|w| {
                let wd = &wd;
                s.spawn(move || {
                    let mut added = Vec::new();
                    let mut runs = Vec::new();
                    for k in 0..12usize {
                        let batch = 100 + w * 100 + k;
                        if k % 2 == 0 {
                            let (l, r) = batch_lines(batch, 1).remove(0);
                            runs.push(wd.run(&["track", "add", &l, &r]));
                            added.push((l, r));
                        } else {
                            let lines = batch_lines(batch, 5);
                            let input: String =
                                lines.iter().map(|(l, r)| format!("{l} {r}\n")).collect();
                            runs.push(wd.run_stdin(&["track", "add", "-"], &input));
                            added.extend(lines);
                        }
                    }
                    (added, runs)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (added, runs) in outputs {
        for r in &runs {
            assert_eq!(r.code, 0, "{r:?}");
            assert_no_lock_errors(&r.stdout, "track add stdout");
            assert_no_lock_errors(&r.stderr, "track add stderr");
        }
        expected.extend(added);
    }
    let total = expected.len();
    assert_eq!(total, 80 + 2 * (6 + 6 * 5));
    // Both dashboards see every record, and neither flashed a store error.
    let want = format!("· {total} tracked");
    for t in [&a, &b] {
        let screen = t.wait_for(&want, 10);
        assert!(!screen.contains("store:"), "{screen}");
        assert_no_lock_errors(&screen, "dashboard screen");
    }
    // Keep both polling a little longer against each other.
    std::thread::sleep(Duration::from_millis(1000));
    for t in [&a, &b] {
        let screen = t.screen();
        assert!(!screen.contains("store:"), "{screen}");
        assert_no_lock_errors(&t.history(), "dashboard screen");
        t.keys(&["q"]);
    }
    a.assert_exited_cleanly(0);
    b.assert_exited_cleanly(0);
    assert_eq!(tracked_set(&wd), expected);
    integrity_ok(&wd);
    let log = std::fs::read_to_string(wd.home.path().join("state/wargdash.log")).unwrap();
    assert_no_lock_errors(&log, "log file");
    assert!(!log.contains("store:"), "a store error was logged:\n{log}");
}
