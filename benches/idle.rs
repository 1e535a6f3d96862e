//! Bench 4 — idle CPU and memory of the real `wargdash` binary: the dashboard open in a
//! pseudo-terminal (tmux, 200×50) with N tracked records that are all `published` (so nothing
//! is left to poll), `--registry` pointing at a real warg-server on 127.0.0.1, for a window:
//! CPU time (utime + stime from /proc/PID/stat) over the window and in total, and peak RSS
//! (VmHWM). At N = 10 000 and 100 000, giving bytes per extra record.
//!
//! The store is seeded with `wargdash track add -` (stdin), then every record is recorded as
//! `published` in the store the way a poll sweep records it (the records need not exist on the
//! server: terminal records are never polled, which bench 3 checks against the real server).
//!
//! Window: 60 s under `cargo bench --bench idle`, 2 s in smoke mode.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

struct Figures {
    n: usize,
    cpu_window: Duration,
    cpu_total: Duration,
    hwm_kb: u64,
    rss_kb: u64,
}

fn run(n: usize, registry: &str, window: Duration) -> Figures {
    let recs = support::synthetic(n);
    let home = support::seeded_home(&recs, true);
    let tmux = support::Tmux::start(home.path(), registry);
    let pid = tmux.pid();
    tmux.wait_for(&format!("{n} tracked"), Duration::from_secs(60));
    // Let start-up settle (first checkpoint fetch, store thread's first pass).
    std::thread::sleep(Duration::from_secs(2));
    let c0 = support::cpu_time(pid);
    let threads0 = support::thread_cpu(pid);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let c1 = support::cpu_time(pid);
    let threads1 = support::thread_cpu(pid);
    let elapsed = t0.elapsed();
    let f = Figures {
        n,
        cpu_window: c1.saturating_sub(c0),
        cpu_total: c1,
        hwm_kb: support::status_kb(pid, "VmHWM"),
        rss_kb: support::status_kb(pid, "VmRSS"),
    };
    let screen = tmux.screen();
    assert!(screen.contains("published"), "{screen}");
    println!(
        "  N={n:>6}: CPU {:.3} s over {:.0} s idle (total since launch {:.3} s); peak RSS {:.1} MiB (now {:.1} MiB)",
        f.cpu_window.as_secs_f64(),
        elapsed.as_secs_f64(),
        f.cpu_total.as_secs_f64(),
        f.hwm_kb as f64 / 1024.0,
        f.rss_kb as f64 / 1024.0
    );
    // Where the window's CPU went, by thread name (tokio workers summed).
    let mut by_name: std::collections::BTreeMap<String, f64> = Default::default();
    for (tid, (name, t1)) in &threads1 {
        let t0 = threads0.get(tid).map(|(_, t)| *t).unwrap_or_default();
        *by_name.entry(name.clone()).or_default() += t1.saturating_sub(t0).as_secs_f64();
    }
    let mut by_name: Vec<(String, f64)> = by_name.into_iter().filter(|(_, s)| *s > 0.0).collect();
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    let parts: Vec<String> = by_name
        .iter()
        .map(|(n, s)| format!("{n} {s:.2} s"))
        .collect();
    println!("      by thread: {}", parts.join(", "));
    f
}

fn main() {
    let full = support::full_mode();
    println!("bench idle: mode {}", support::mode_name());
    if !support::have_tmux() {
        println!("  tmux is not installed: skipped (.ci/run installs it)");
        return;
    }
    let reg = support::Registry::start_with_interval(Duration::from_secs(5));
    let (sizes, window): (&[usize], _) = if full {
        (&[10_000, 100_000], Duration::from_secs(60))
    } else {
        (&[200], Duration::from_secs(2))
    };
    let figs: Vec<Figures> = sizes.iter().map(|n| run(*n, &reg.url, window)).collect();
    if let [a, b] = figs.as_slice() {
        let per = (b.hwm_kb as f64 - a.hwm_kb as f64) * 1024.0 / (b.n - a.n) as f64;
        println!(
            "  peak RSS per extra record ({} → {}): {per:.0} bytes",
            a.n, b.n
        );
    }
}
