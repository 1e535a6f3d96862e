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
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tmux::Tmux;

/// Tiny deterministic PRNG (xorshift). The seed comes from `CRASH_SAFETY_SEED=<n>` (to replay a
/// failing run's schedule: kill modes and delays) or else the clock, and is always printed.
struct Rng(u64);

impl Rng {
    fn from_env_or_clock() -> Self {
        let seed = match std::env::var("CRASH_SAFETY_SEED") {
            Ok(s) => s
                .trim()
                .parse::<u64>()
                .unwrap_or_else(|e| panic!("CRASH_SAFETY_SEED={s:?} is not a u64: {e}")),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64,
        };
        eprintln!("crash-safety seed: {seed} (replay with CRASH_SAFETY_SEED={seed})");
        // xorshift is stuck at 0.
        Self(seed | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The store's debug-build fail-point (see `test_stall_in_tx` in `src/tracker/store.rs`): the
/// marker exists from just after `BEGIN IMMEDIATE` until just before `COMMIT`, with a 150 ms
/// stall inside.
const STALL_IN_TX: &str = "WARGDASH_TEST_STALL_IN_TX";

/// Waits until `marker` exists (`true`), or `exited()` says the process is gone or 10 s pass
/// (`false`: without the fail-point no marker ever appears).
fn wait_for_marker(marker: &Path, mut exited: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if marker.exists() {
            return true;
        }
        if exited() || Instant::now() > deadline {
            return marker.exists();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `pid` has finished (gone, or a zombie not yet reaped by tmux).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

fn kill_9(pid: u32) {
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -9 {pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dead(pid) {
        assert!(Instant::now() < deadline, "{pid} survived kill -9");
        std::thread::sleep(Duration::from_millis(2));
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

/// How `track add` ends in an iteration.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    /// Waits for the fail-point's marker, then `kill -9`: provably inside the transaction.
    InTransaction,
    /// `kill -9` after a random 0-60 ms: before, inside or (rarely) after the transaction.
    Anywhere,
    /// Left to finish: it must commit.
    Complete,
}

#[test]
fn kill_9_of_the_dashboard_and_track_add_while_writing_loses_nothing_committed() {
    let registry = FaultServer::start(Fault::Healthy);
    let wd = Wd::new(Some(&registry.url));
    let markers = tempfile::tempdir().unwrap();
    let seeded = seed(&wd, 150);
    let mut rng = Rng::from_env_or_clock();
    let mut committed: BTreeSet<(String, String)> = seeded.into_iter().collect();
    let mut killed_batches = Vec::new();
    // Kills of `track add` found dead with the marker still there (killed between BEGIN and
    // COMMIT), other kills of `track add`, runs that completed, and dashboard kills inside
    // its own write transaction.
    let (mut add_in_tx, mut add_killed_elsewhere, mut completed, mut dash_in_tx) = (0, 0, 0, 0);
    let start = Instant::now();
    for i in 1..=20usize {
        let mode = match rng.below(3) {
            _ if i % 4 == 1 => Mode::InTransaction,
            0 => Mode::InTransaction,
            1 => Mode::Anywhere,
            _ => Mode::Complete,
        };
        // Every 5th dashboard stalls in its write transactions and is killed inside one,
        // before `track add` starts (a dashboard that stalls in every transaction would
        // starve `track add` of the write lock). The others poll 150+ pending records every
        // 50 ms, writing continuously while `track add` runs, and die at a random moment.
        let dash_stalls = i % 5 == 0;
        let dash_marker = markers.path().join(format!("dash-{i}"));
        let dash = Tmux::start_exec(
            &wd,
            "--interval 0.05",
            &if dash_stalls {
                format!("{STALL_IN_TX}={}", dash_marker.display())
            } else {
                String::new()
            },
        );
        let pid = dash.pane_pid().expect("dashboard pid");
        if dash_stalls {
            let in_tx = wait_for_marker(&dash_marker, || dead(pid));
            kill_9(pid);
            if in_tx && dash_marker.exists() {
                dash_in_tx += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(150 + rng.below(250)));
        let lines = batch_lines(i, 40);
        let input: String = lines.iter().map(|(l, r)| format!("{l} {r}\n")).collect();
        let add_marker = markers.path().join(format!("add-{i}"));
        let mut add = wd
            .command(&["track", "add", "-"])
            .env(STALL_IN_TX, &add_marker)
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
        match mode {
            Mode::InTransaction => {
                // (Should this thread stall past the 150 ms window, the run completes or the
                // kill lands after the marker is gone: counted below, not as in-transaction.)
                if wait_for_marker(&add_marker, || add.try_wait().unwrap().is_some()) {
                    let _ = add.kill();
                }
            }
            Mode::Anywhere => {
                std::thread::sleep(Duration::from_millis(rng.below(60)));
                let _ = add.kill();
            }
            Mode::Complete => {}
        }
        let out = add.wait_with_output().unwrap();
        let marker_left = add_marker.exists();
        if !dash_stalls {
            std::thread::sleep(Duration::from_millis(rng.below(30)));
            kill_9(pid);
        }
        drop(dash);
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_no_lock_errors(&run.stderr, "track add stderr");
        // After every crash: the store opens and holds everything committed.
        let now = tracked_set(&wd);
        let present = lines.iter().filter(|k| now.contains(*k)).count();
        match out.status.code() {
            Some(0) => {
                completed += 1;
                assert!(run.stdout.contains("tracking 40 new"), "{run:?}");
                committed.extend(lines);
            }
            None if marker_left => {
                // Killed between BEGIN and COMMIT: the batch must not be there at all.
                add_in_tx += 1;
                assert_eq!(
                    present, 0,
                    "iteration {i} ({mode:?}): track add was killed inside its transaction, \
                     yet {present} of its 40 records were committed"
                );
                killed_batches.push(lines);
            }
            None => {
                assert_ne!(mode, Mode::Complete, "iteration {i}: {run:?}");
                add_killed_elsewhere += 1;
                killed_batches.push(lines);
            }
            Some(c) => panic!("track add exited {c} (not killed): {run:?}"),
        }
        let lost: Vec<_> = committed.difference(&now).collect();
        assert!(
            lost.is_empty(),
            "iteration {i}: lost {} records",
            lost.len()
        );
        // A batch killed at any moment is there entirely or not at all (one transaction).
        for b in &killed_batches {
            let present = b.iter().filter(|k| now.contains(*k)).count();
            assert!(
                present == 0 || present == b.len(),
                "iteration {i}: a killed batch is half there ({present} of {})",
                b.len()
            );
        }
        integrity_ok(&wd);
    }
    eprintln!(
        "20 crashes in {:?}: track add killed inside its transaction {add_in_tx} times, \
         killed elsewhere {add_killed_elsewhere}, completed {completed}; \
         dashboards killed inside a transaction {dash_in_tx}",
        start.elapsed()
    );
    // Kills that provably landed between BEGIN and COMMIT (marker still there, batch absent):
    // the all-or-nothing checks above were exercised where they can fail.
    assert!(
        add_in_tx > 0,
        "no kill of track add landed inside a transaction"
    );
    assert!(
        dash_in_tx > 0,
        "no kill of a dashboard landed inside a transaction"
    );
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
