//! Bench 2 — poll sweep vs the limit. One full `wargdash::tracker::poll::sweep` over N tracked
//! records at concurrency 16 against a real warg-server on 127.0.0.1, and in the same run the
//! ceiling: a bare reqwest loop doing the same GETs at the same concurrency (reading each body,
//! nothing else), and `wrk` with the same path list when `wrk` is installed.
//!
//! The records are real and distinct: N packages are each initialised with one `init` record
//! (checkpoint interval 100 ms so they publish quickly), so every GET is a different
//! `published` record, as in an operator's sweep.
//!
//! `cargo bench --bench sweep` prints the figures; under `cargo test` it is a quick smoke run.

#[path = "support/mod.rs"]
mod support;

use futures::stream::{self, StreamExt};
use std::time::{Duration, Instant};
use wargdash::ids::{LogId, RecordId};

const CONCURRENCY: usize = 16;
/// The name of the client runtime's threads (for per-thread CPU accounting and `perf`).
const CLIENT_THREADS: &str = "bench-client";

/// CPU used by the client and server threads while `f` runs, in µs per request.
struct Cpu {
    client: Duration,
    server: Duration,
}

impl Cpu {
    /// The client is everything in this process but the registry's threads: the runtime's
    /// workers and the main thread, which drives `block_on`.
    fn now() -> Self {
        let server = support::threads_cpu(support::SERVER_THREADS);
        Self {
            client: support::cpu_time(std::process::id()).saturating_sub(server),
            server,
        }
    }
    fn per_request(&self, before: &Self, n: usize) -> (f64, f64) {
        (
            // Clock-tick sampled and taken at slightly different moments: never negative.
            self.client.saturating_sub(before.client).as_secs_f64() * 1e6 / n as f64,
            self.server.saturating_sub(before.server).as_secs_f64() * 1e6 / n as f64,
        )
    }
}

async fn bare_loop(http: &reqwest::Client, urls: &[String]) -> usize {
    stream::iter(urls)
        .map(|u| async move {
            let resp = http.get(u).send().await.expect("GET");
            assert!(resp.status().is_success(), "{}", resp.status());
            resp.bytes().await.expect("body").len()
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0, |n, _| async move { n + 1 })
        .await
}

fn wrk(base: &str, paths: &[String], secs: u32) -> Option<Wrk> {
    let have = std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok();
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
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "wrk -t2 -c{CONCURRENCY} -d{secs}s -s {} {base}; times",
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
    let total = field("Requests/sec:").zip(
        text.lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok()),
    );
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
    Some(Wrk {
        rps: rps?,
        requests: total.map(|(_, n)| n)?,
        cpu_secs: cpu?,
    })
}

struct Wrk {
    rps: f64,
    requests: f64,
    cpu_secs: f64,
}

fn main() {
    let full = support::full_mode();
    let n = if full { 10_000 } else { 300 };
    let rounds = if full { 5 } else { 1 };
    println!("bench sweep: mode {}", support::mode_name());
    let reg = support::Registry::start_with_interval(Duration::from_millis(100));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(CLIENT_THREADS)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let t = Instant::now();
        let recs = support::publish_many(&reg.url, "sweep", n, false, CONCURRENCY).await;
        support::wait_terminal(&reg.url, &recs, Duration::from_secs(600)).await;
        println!(
            "  published {n} records (one init each) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let items: Vec<(LogId, RecordId)> = recs.iter().map(|(l, r, _)| (*l, *r)).collect();
        let paths: Vec<String> = items
            .iter()
            .map(|(l, r)| format!("/v1/package/{l}/record/{r}"))
            .collect();
        let urls: Vec<String> = paths.iter().map(|p| format!("{}{p}", reg.url)).collect();

        let client = support::client(&reg.url);
        let http = reqwest::Client::new();
        // Warm both: connections open, server caches hot.
        let warm = items.len().min(500);
        let res = wargdash::tracker::poll::sweep(&client, &items[..warm], CONCURRENCY).await;
        assert!(res.iter().all(|p| p.result.is_ok()));
        assert_eq!(bare_loop(&http, &urls[..warm]).await, warm);

        let (mut ours, mut bare) = (Vec::new(), Vec::new());
        let (mut ours_cpu, mut bare_cpu) = ((0.0, 0.0), (0.0, 0.0));
        for _ in 0..rounds {
            let c0 = Cpu::now();
            let t = Instant::now();
            let res = wargdash::tracker::poll::sweep(&client, &items, CONCURRENCY).await;
            let secs = t.elapsed().as_secs_f64();
            let published = res
                .iter()
                .filter(|p| {
                    p.result
                        .as_ref()
                        .is_ok_and(|(r, _)| r.state.name() == "published")
                })
                .count();
            assert_eq!(published, n, "every record answered published");
            ours.push(n as f64 / secs);
            let c1 = Cpu::now();
            let (c, s) = c1.per_request(&c0, n * rounds);
            ours_cpu = (ours_cpu.0 + c, ours_cpu.1 + s);

            let t = Instant::now();
            assert_eq!(bare_loop(&http, &urls).await, n);
            bare.push(n as f64 / t.elapsed().as_secs_f64());
            let (c, s) = Cpu::now().per_request(&c1, n * rounds);
            bare_cpu = (bare_cpu.0 + c, bare_cpu.1 + s);
        }
        let ours_med = support::median(&mut ours.clone());
        let bare_med = support::median(&mut bare.clone());
        println!(
            "  wargdash sweep  N={n} C={CONCURRENCY}: median {ours_med:.0} req/s  (rounds: {}); CPU per request: client {:.1} µs, server {:.1} µs",
            fmt_list(&ours),
            ours_cpu.0,
            ours_cpu.1
        );
        println!(
            "  bare reqwest    N={n} C={CONCURRENCY}: median {bare_med:.0} req/s  (rounds: {}); CPU per request: client {:.1} µs, server {:.1} µs",
            fmt_list(&bare),
            bare_cpu.0,
            bare_cpu.1
        );
        // Rounds alternate (ours, bare) so each pair saw the same load from anything else on
        // the machine: the median of the per-round ratios is the steadier comparison.
        let mut paired: Vec<f64> = ours.iter().zip(&bare).map(|(o, b)| o / b).collect();
        println!(
            "  ratio wargdash / bare reqwest: {:.2} (median of per-round ratios {:.2})",
            ours_med / bare_med,
            support::median(&mut paired)
        );
        let mut best = ("bare reqwest", bare_med);
        if full {
            let c0 = Cpu::now();
            match wrk(&reg.url, &paths, 10) {
                Some(w) => {
                    let server = Cpu::now().server.saturating_sub(c0.server).as_secs_f64() * 1e6 / w.requests;
                    println!(
                        "  wrk -t2 -c{CONCURRENCY} -d10s (same {n} paths): {:.0} req/s; CPU per request: client (wrk) {:.1} µs, server {server:.1} µs",
                        w.rps,
                        w.cpu_secs * 1e6 / w.requests
                    );
                    if w.rps > best.1 {
                        best = ("wrk", w.rps);
                    }
                }
                None => println!("  wrk: not installed, skipped"),
            }
        }
        println!(
            "  ratio wargdash / best baseline ({}): {:.2}",
            best.0,
            ours_med / best.1
        );
    });
}

fn fmt_list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}
