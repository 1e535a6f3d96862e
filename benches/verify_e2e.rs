//! Bench 19 — `verify` and `poll --once` as an operator runs them: the `wargdash` binary (the
//! bench profile's, i.e. release) as a whole process — start, store, cycle, proofs, outcomes
//! written, output printed — against a real in-process warg-server holding N published
//! records, one package each, all tracked. Registry requests are counted by the counting proxy
//! of `tests/common/proxy.rs` (it frames requests by their heads and Content-Length) the
//! timed processes talk through.
//!
//! Figures (full mode, N = 10 000):
//! - `verify`, fresh store, and a second run with nothing new: wall time and requests
//!   (goals: fresh ≤ 2 s and ≤ 100 requests; second ≤ 0.5 s and ≤ 10);
//! - `poll --once --json`, fresh store and a second run: wall time and requests, against
//!   `wrk -t2 -c16` over the same N record URLs (goals: fresh ≥ 2× faster than wrk's time for
//!   the N GETs, second ≥ 5×, each ≤ 100 requests).
//!
//! `cargo bench --bench verify_e2e` prints them; under `cargo test` it is a smoke run (N = 60)
//! that only checks the commands work end to end.

#[path = "support/mod.rs"]
mod support;

#[path = "../tests/common/proxy.rs"]
mod proxy;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 16;

/// One timed run of `wargdash ARGS` (home `home`, registry `url`): wall seconds, exit code,
/// the requests the proxy counted, stdout.
fn run(
    home: &std::path::Path,
    url: &str,
    counts: &proxy::Counts,
    args: &[&str],
) -> (f64, i32, usize, String) {
    let before = counts.total.load(Ordering::SeqCst);
    let log_before = std::fs::metadata(support::log_file(home))
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let t = Instant::now();
    let out = Command::new(support::bin())
        .args(args)
        .env("WARGDASH_HOME", home)
        .env("WARGDASH_REGISTRY", url)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run wargdash");
    let secs = t.elapsed().as_secs_f64();
    let n = counts.total.load(Ordering::SeqCst) - before;
    // Where the time went, as the command logged it (the lines this run added).
    let log = std::fs::read_to_string(support::log_file(home)).unwrap_or_default();
    for l in log.get(log_before..).unwrap_or_default().lines() {
        let at = l.find("package logs: ").or_else(|| {
            l.find(" took ")
                .and_then(|i| l[..i].rfind(' ').map(|j| j + 1))
        });
        if let Some(at) = at.filter(|_| l.contains(" took ") || l.contains("package logs: ")) {
            println!("    {}", &l[at..]);
        }
    }
    (
        secs,
        out.status.code().unwrap_or(-1),
        n,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn main() {
    let full = support::full_mode();
    let n = if full { 10_000 } else { 60 };
    println!("bench verify_e2e: mode {}", support::mode_name());
    println!("  machine: {}", support::machine());
    let reg = support::Registry::start_with_interval(Duration::from_millis(100));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let recs = rt.block_on(async {
        let t = Instant::now();
        let recs = support::publish_many(&reg.url, "e2e", n, false, CONCURRENCY).await;
        support::wait_terminal(&reg.url, &recs, Duration::from_secs(900)).await;
        println!(
            "  published {n} records (one package each) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        recs
    });
    // A checkpoint that covers them all.
    std::thread::sleep(Duration::from_millis(400));
    let counting = proxy::CountingProxy::start(&reg.url);
    let lines = support::track_lines(&recs);

    // verify: fresh store, then again.
    let home = tempfile::tempdir().expect("home");
    support::wargdash(home.path(), &["track", "add", "-"], &lines);
    let (v1, code1, r1, out1) = run(
        home.path(),
        &counting.url,
        &counting.counts,
        &["--json", "verify"],
    );
    assert_eq!(code1, 0, "verify: {out1}");
    let v: serde_json::Value =
        serde_json::from_str(out1.lines().last().unwrap_or_default()).expect("verify json");
    assert_eq!(v["records"]["verified"], n, "{v}");
    assert_eq!(v["packages"]["proven"], n, "{v}");
    let (v2, code2, r2, _) = run(
        home.path(),
        &counting.url,
        &counting.counts,
        &["--json", "verify"],
    );
    assert_eq!(code2, 0);
    let (vf, codef, rf, outf) = run(
        home.path(),
        &counting.url,
        &counting.counts,
        &["--json", "verify", "--full"],
    );
    assert_eq!(codef, 0, "verify --full: {outf}");

    // poll --once: fresh store, then again.
    let home = tempfile::tempdir().expect("home");
    support::wargdash(home.path(), &["track", "add", "-"], &lines);
    let poll = ["--json", "poll", "--once"];
    let (p1, pc1, q1, pout) = run(home.path(), &counting.url, &counting.counts, &poll);
    assert_eq!(pc1, 0, "poll: {pout}");
    assert_eq!(pout.lines().count(), n);
    assert!(pout.lines().all(|l| l.contains("\"verified\":true")));
    let (p2, pc2, q2, _) = run(home.path(), &counting.url, &counting.counts, &poll);
    assert_eq!(pc2, 0);

    println!(
        "  whole commands, the wargdash binary of this build as a process, {n} tracked packages:"
    );
    println!("  | command | wall | requests | goal |");
    println!("  |---|---|---|---|");
    println!("  | `verify --json`, fresh store | {v1:.2} s | {r1} | ≤ 2 s, ≤ 100 |");
    println!("  | `verify --json`, second run | {v2:.2} s | {r2} | ≤ 0.5 s, ≤ 10 |");
    println!("  | `verify --full --json` (third run: the whole ledger recomputed) | {vf:.2} s | {rf} | |");
    let wrk = if full {
        let paths: Vec<String> = recs
            .iter()
            .map(|(l, r, _)| format!("/v1/package/{l}/record/{r}"))
            .collect();
        support::wrk(&reg.url, &paths, CONCURRENCY, 10)
    } else {
        None
    };
    match wrk {
        Some(w) => {
            let wrk_secs = n as f64 / w.rps;
            println!(
                "  | `poll --once --json`, fresh store | {p1:.2} s ({:.1}× wrk) | {q1} | ≥ 2× wrk, ≤ 100 |",
                wrk_secs / p1
            );
            println!(
                "  | `poll --once --json`, second run | {p2:.2} s ({:.1}× wrk) | {q2} | ≥ 5× wrk, ≤ 100 |",
                wrk_secs / p2
            );
            println!(
                "  wrk -t2 -c{CONCURRENCY} over the same {n} record URLs: {:.0} req/s → {wrk_secs:.3} s for {n} GETs",
                w.rps
            );
        }
        None => {
            println!(
                "  | `poll --once --json`, fresh store | {p1:.2} s | {q1} | ≥ 2× wrk, ≤ 100 |"
            );
            println!("  | `poll --once --json`, second run | {p2:.2} s | {q2} | ≥ 5× wrk, ≤ 100 |");
            println!("  wrk: not installed or smoke mode, no comparison");
        }
    }
}
