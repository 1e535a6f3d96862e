//! Shared by the `harness = false` benches: full or smoke mode, a real warg-server on
//! 127.0.0.1, records published into it, and the `wargdash` binary in tmux.
//!
//! `cargo bench` passes `--bench` to every bench binary: that is the full run that prints the
//! figures for the README. `cargo test --all-targets` runs the same binaries without it: then
//! each does a quick smoke run that only checks it still works (never a timing assertion).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wargdash::ids::{ContentDigest, LogId, PackageName, RecordId};
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::record::{Entry, RecordContent, RecordTime};
use wargdash::registry::{ClientOptions, RegistryClient};

/// True under `cargo bench` (full figures), false under `cargo test` (smoke mode).
pub fn full_mode() -> bool {
    std::env::args().skip(1).any(|a| a == "--bench")
}

pub fn mode_name() -> &'static str {
    if full_mode() {
        "full"
    } else {
        "smoke (cargo test: checks the bench runs; figures are not meaningful)"
    }
}

/// CPU time (user + system) used so far by this process's threads whose name starts with
/// `prefix` (from /proc/self/task/*/stat). Threads that have exited are not counted.
pub fn threads_cpu(prefix: &str) -> Duration {
    let mut ticks = 0u64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        ticks += f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
    }
    Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64)
}

#[path = "../../tests/common/mod.rs"]
mod common;

/// A real warg-server 0.10 (memory store, namespace `demo`) on a random loopback port, on a
/// thread and 2-worker runtime of its own named [`SERVER_THREADS`] — the tests' own harness.
/// No tracing subscriber is installed, so its log goes nowhere. Stopped on drop.
pub use common::TestRegistry as Registry;

/// The name of the registry's runtime threads (for per-thread CPU accounting and `perf`).
pub const SERVER_THREADS: &str = common::SERVER_THREADS;

pub fn client(url: &str) -> RegistryClient {
    RegistryClient::new(url, ClientOptions::default()).expect("client")
}

/// Publishes `n` records, one per new package `demo:{prefix}{i}`, `concurrency` POSTs at a
/// time. With `stuck`, each record is `init` + a release whose content is never uploaded, so it
/// stays `processing` forever; otherwise it is a lone `init`, which becomes `published`.
pub async fn publish_many(
    url: &str,
    prefix: &str,
    n: usize,
    stuck: bool,
    concurrency: usize,
) -> Vec<(LogId, RecordId, String)> {
    use futures::stream::{self, StreamExt};
    let c = client(url);
    let key = SigningKey::generate(Algorithm::EcdsaP256).expect("key");
    let key = &key;
    let c = &c;
    stream::iter(0..n)
        .map(|i| async move {
            let pkg: PackageName = format!("demo:{prefix}{i}").parse().expect("package name");
            let mut entries = vec![Entry::Init {
                public_key: key.public_key(),
            }];
            if stuck {
                entries.push(Entry::Release {
                    version: "1.0.0".into(),
                    digest: ContentDigest::of_bytes(format!("never uploaded {i}").as_bytes()),
                });
            }
            let rec = RecordContent {
                prev: None,
                time: RecordTime::now(),
                entries,
            }
            .sign(key);
            c.publish(&pkg.log_id(), pkg.as_str(), &rec.envelope)
                .await
                .expect("publish");
            (pkg.log_id(), rec.record_id, pkg.to_string())
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// Waits until every record has reached a terminal state (published or rejected).
pub async fn wait_terminal(url: &str, recs: &[(LogId, RecordId, String)], timeout: Duration) {
    let c = client(url);
    let deadline = Instant::now() + timeout;
    // The server publishes in submission order: checking the last few is enough to wait, then
    // one pass over all of them confirms.
    for (l, r, _) in recs.iter().rev() {
        loop {
            let (rec, _) = c.get_record(l, r).await.expect("get record");
            if rec.state.is_terminal() {
                break;
            }
            assert!(Instant::now() < deadline, "records not published in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `LOG_ID RECORD_ID NS:NAME` lines for `wargdash track add -`.
pub fn track_lines(recs: &[(LogId, RecordId, String)]) -> String {
    let mut s = String::new();
    for (l, r, p) in recs {
        s.push_str(&format!("{l} {r} {p}\n"));
    }
    s
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wargdash")
}

/// Runs `wargdash ARGS` with `WARGDASH_HOME=home`, feeding `stdin`; panics unless it exits 0.
pub fn wargdash(home: &Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args(args)
        .env("WARGDASH_HOME", home)
        .env_remove("WARGDASH_REGISTRY")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wargdash");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(data.as_bytes());
    });
    let out = child.wait_with_output().expect("wait wargdash");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "wargdash {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Synthetic IDs for records that need not exist on any registry.
pub fn synthetic(n: usize) -> Vec<(LogId, RecordId, String)> {
    (0..n)
        .map(|i| {
            let pkg: PackageName = format!("demo:pkg{}", i % 5000).parse().expect("name");
            let rid = wargdash::ids::Sha256Hash::of(&[format!("record {i}").as_bytes()]);
            (pkg.log_id(), RecordId(rid), pkg.to_string())
        })
        .collect()
}

/// A `WARGDASH_HOME` holding `recs` tracked (through `wargdash track add -`, as an operator
/// would) and, with `published`, every one recorded as `published` the way a poll sweep
/// records it, so the dashboard starts with nothing left to poll.
pub fn seeded_home(recs: &[(LogId, RecordId, String)], published: bool) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    wargdash(home.path(), &["track", "add", "-"], &track_lines(recs));
    if published {
        let mut store = wargdash::tracker::store::Store::open(
            &home.path().join("data").join("wargdash.db"),
            "",
        )
        .expect("store");
        let outcomes: Vec<_> = recs
            .iter()
            .enumerate()
            .map(|(i, (l, r, _))| wargdash::tracker::store::PollOutcome {
                log_id: *l,
                record_id: *r,
                at: wargdash::tracker::store::now_ms(),
                result: Ok(wargdash::tracker::store::PolledState {
                    state: "published".into(),
                    detail: format!("index {}", i + 1),
                    response: serde_json::json!({
                        "recordId": r.to_string(),
                        "state": "published",
                        "registryIndex": i + 1,
                    }),
                    missing: None,
                }),
            })
            .collect();
        store.record_polls(&outcomes).expect("record polls");
    }
    home
}

/// The `wargdash` dashboard in a detached 200×50 tmux session of its own. Killed on drop.
pub struct Tmux {
    socket: String,
}

pub fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Tmux {
    pub fn start(home: &Path, registry: &str) -> Self {
        static LAUNCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let socket = format!(
            "wargdash-bench-{}-{}",
            std::process::id(),
            LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let script = format!(
            "exec env WARGDASH_HOME={home} TERM=xterm-256color {bin} --registry {registry}",
            home = home.display(),
            bin = bin(),
        );
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                "sh",
                "-c",
                &script,
            ])
            .status()
            .expect("tmux runs");
        assert!(ok.success(), "tmux new-session failed");
        Self { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The dashboard's pid (the pane's process: `exec` replaced the shell).
    pub fn pid(&self) -> u32 {
        for _ in 0..200 {
            if let Ok(p) = self
                .tmux(&["list-panes", "-F", "#{pane_pid}"])
                .trim()
                .parse()
            {
                return p;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no tmux pane pid");
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    pub fn wait_for(&self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "`{text}` not on screen after {timeout:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// utime + stime of a process, from /proc/PID/stat.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the `(comm)`, which may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64)
}

/// CPU time (utime + stime) of each thread of `pid`, by thread id, with its name.
pub fn thread_cpu(pid: u32) -> std::collections::BTreeMap<String, (String, Duration)> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in dir.flatten() {
        let tid = t.file_name().to_string_lossy().into_owned();
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        out.insert(
            tid,
            (
                name,
                Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64),
            ),
        );
    }
    out
}

/// USER_HZ (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// A `/proc/PID/status` field in kB (`VmHWM`, `VmRSS`).
pub fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("status field")
}

pub fn log_file(home: &Path) -> PathBuf {
    home.join("state").join("wargdash.log")
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One line describing the machine the figures came from: CPU model and count, memory, kernel,
/// build profile and the load average when the bench started (the cores may be shared).
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_string();
    let sha_ni = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == "sha_ni"));
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb / 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{model}, {cpus} CPUs available (SHA extensions: {}), {mem_mib} MiB RAM, Linux {}, {} build, load average {} at start",
        if sha_ni { "yes" } else { "no" },
        kernel.trim(),
        if cfg!(debug_assertions) { "debug" } else { "release" },
        load.join(" ")
    )
}

/// The filesystem type holding `path` (`stat -f`), for figures that write to disk.
pub fn fs_type(path: &Path) -> String {
    Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(path)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// This process's `/proc/self/status` field in kB (`VmHWM`: peak resident set so far).
pub fn self_status_kb(field: &str) -> u64 {
    status_kb(std::process::id(), field)
}

/// The `q`-quantile (0..=1) of `v` (sorted in place).
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// What `wrk` measured over a fixed list of paths.
pub struct WrkRun {
    pub rps: f64,
    pub requests: f64,
    /// User + system CPU wrk itself used.
    pub cpu_secs: f64,
}

/// `wrk -t2 -c{connections} -d{secs}s` cycling through `paths` on `base` (as `benches/sweep.rs`
/// runs it); `None` when wrk is not installed or gave no figure.
pub fn wrk(base: &str, paths: &[String], connections: usize, secs: u32) -> Option<WrkRun> {
    let have = Command::new("wrk").arg("--version").output().is_ok();
    if !have {
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("paths.lua");
    let mut lua = String::from("local paths = {\n");
    for p in paths {
        lua.push_str(&format!("  \"{p}\",\n"));
    }
    lua.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
    );
    std::fs::write(&script, lua).expect("write lua");
    // bash's `times` prints the CPU its children (wrk) used: the last line, user and system.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "wrk -t2 -c{connections} -d{secs}s -s {} {base}; times",
            script.display()
        ))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
    };
    let rps = field("Requests/sec:");
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok());
    let cpu = text.lines().last().and_then(|l| {
        let secs = |t: &str| {
            let (m, s) = t.trim_end_matches('s').split_once('m')?;
            Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
        };
        let mut it = l.split_whitespace();
        Some(secs(it.next()?)? + secs(it.next()?)?)
    });
    if rps.is_none() {
        eprintln!("wrk gave no figure:\n{text}");
    }
    Some(WrkRun {
        rps: rps?,
        requests: requests?,
        cpu_secs: cpu?,
    })
}
