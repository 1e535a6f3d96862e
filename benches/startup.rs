//! Bench 5 — start-up: launch of the real `wargdash` binary in a pseudo-terminal (tmux,
//! 200×50) to its first full frame, with N = 10 000 tracked records. The dashboard logs
//! `first frame drawn after N ms` (measured from the start of `main`) when it draws its first
//! frame; this bench reads that line from the log file. It also reports the wall time from
//! just before `tmux new-session` to the moment the line appears in the log (an upper bound
//! that includes tmux, exec and the 5 ms polling of the log).
//!
//! Registries: a real warg-server on 127.0.0.1, a refused port, and a listener that accepts
//! and never answers — the first frame must not wait for the network, so all three match.
//! Records: freshly tracked (nothing known yet, all to be polled) and all `published`.
//!
//! `cargo bench --bench startup` prints the figures; under `cargo test` it is a smoke run.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

/// One launch: (ms logged by the dashboard, ms from launch to the log line seen here).
fn launch(home: &std::path::Path, registry: &str) -> (f64, f64) {
    let log = support::log_file(home);
    let _ = std::fs::remove_file(&log);
    let t0 = Instant::now();
    let tmux = support::Tmux::start(home, registry);
    let pid = tmux.pid();
    let deadline = t0 + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(ms) = text.lines().find_map(|l| {
            let rest = &l[l.find("first frame drawn after ")? + 24..];
            rest.split_whitespace().next()?.parse::<f64>().ok()
        }) {
            let seen = t0.elapsed().as_secs_f64() * 1000.0;
            drop(tmux);
            // The next launch must not share the CPU with this one shutting down.
            let gone = Instant::now() + Duration::from_secs(10);
            while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < gone {
                std::thread::sleep(Duration::from_millis(20));
            }
            return (ms, seen);
        }
        assert!(Instant::now() < deadline, "no first frame logged:\n{text}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let full = support::full_mode();
    println!("bench startup: mode {}", support::mode_name());
    if !support::have_tmux() {
        println!("  tmux is not installed: skipped (.ci/run installs it)");
        return;
    }
    let (n, runs) = if full { (10_000, 7) } else { (200, 1) };
    let reg = support::Registry::start_with_interval(Duration::from_secs(5));
    // Accepts connections and never answers.
    let stall = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let stall_url = format!("http://{}", stall.local_addr().expect("addr"));
    let recs = support::synthetic(n);
    for (what, published) in [("unpolled", false), ("published", true)] {
        let home = support::seeded_home(&recs, published);
        for (name, url) in [
            ("real server", reg.url.as_str()),
            ("refused", "http://127.0.0.1:1"),
            ("stalled", stall_url.as_str()),
        ] {
            let (mut logged, mut seen) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let (l, s) = launch(home.path(), url);
                logged.push(l);
                seen.push(s);
            }
            let min = logged.iter().copied().fold(f64::MAX, f64::min);
            let max = logged.iter().copied().fold(0.0, f64::max);
            println!(
                "  N={n} {what:<9} registry {name:<11}: first frame {:.0} ms after main (min {min:.0}, max {max:.0}, {runs} runs); launch → logged {:.0} ms",
                support::median(&mut logged),
                support::median(&mut seen)
            );
        }
    }
    drop(stall);
}
