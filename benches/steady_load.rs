//! Bench 3 — steady-state load on the registry. The real `tracker::scheduler` against a real
//! warg-server behind a counting proxy (tests/common/proxy.rs), counting record GETs:
//!
//! * 10 000 records that are all `published`: after the first sweep, requests over the window
//!   (target 0);
//! * 1 000 records that stay `processing` (init + a release whose content is never uploaded)
//!   at a 2 s interval: requests/s over the window vs 1 000 / 2 (target within 5 %), and the
//!   most requests in flight at once vs the concurrency limit (16).
//!
//! Window: 60 s under `cargo bench --bench steady_load`, a few seconds in smoke mode.

#[path = "../tests/common/proxy.rs"]
mod proxy;
#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use wargdash::tracker::scheduler::{self, SchedCmd, SchedEvent, SchedulerConfig};

const CONCURRENCY: usize = 16;

/// Tracks `recs` in a fresh scheduler behind a fresh proxy; returns the proxy, the command
/// sender and a counter of terminal results, after draining events on a task.
fn start_scheduler(
    upstream: &str,
    recs: &[(wargdash::ids::LogId, wargdash::ids::RecordId, String)],
    interval: Duration,
) -> (
    proxy::CountingProxy,
    tokio::sync::mpsc::UnboundedSender<SchedCmd>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let proxy = proxy::CountingProxy::start(upstream);
    let (ev_tx, mut ev_rx) = tokio::sync::mpsc::channel(4096);
    let (tx, _task) = scheduler::spawn(
        support::client(&proxy.url),
        SchedulerConfig {
            interval,
            concurrency: CONCURRENCY,
            ..SchedulerConfig::default()
        },
        ev_tx,
    );
    let polled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let p = polled.clone();
    tokio::spawn(async move {
        while let Some(ev) = ev_rx.recv().await {
            if let SchedEvent::Polled { polled, .. } = ev {
                assert!(polled.result.is_ok(), "{:?}", polled.result);
                p.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let items = recs
        .iter()
        .map(|(l, r, _)| (wargdash::ids::RecordRef::new(*l, *r), false))
        .collect();
    tx.send(SchedCmd::Track(items)).expect("scheduler runs");
    (proxy, tx, polled)
}

fn main() {
    let full = support::full_mode();
    let (n_terminal, n_pending) = if full { (10_000, 1_000) } else { (300, 100) };
    let window = if full {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(3)
    };
    let interval = Duration::from_secs(2);
    println!("bench steady_load: mode {}", support::mode_name());
    let reg = support::Registry::start_with_interval(Duration::from_millis(100));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Part 1: terminal records.
        let recs = support::publish_many(&reg.url, "done", n_terminal, false, CONCURRENCY).await;
        support::wait_terminal(&reg.url, &recs, Duration::from_secs(600)).await;
        let (proxy, tx, polled) = start_scheduler(&reg.url, &recs, interval);
        let t = Instant::now();
        while polled.load(Ordering::SeqCst) < n_terminal {
            assert!(t.elapsed() < Duration::from_secs(300), "first sweep too slow");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let first = t.elapsed();
        let after_first = proxy.counts.record_gets();
        tokio::time::sleep(window).await;
        let extra = proxy.counts.record_gets() - after_first;
        let total_extra = proxy.counts.total.load(Ordering::SeqCst) - after_first;
        println!(
            "  {n_terminal} published records: first sweep {after_first} GETs in {:.2} s; then {extra} record GETs ({total_extra} requests of any kind) in {} s (target 0)",
            first.as_secs_f64(),
            window.as_secs()
        );
        assert_eq!(extra, 0, "terminal records were polled again");
        drop(tx);

        // Part 2: records that stay `processing`.
        let stuck = support::publish_many(&reg.url, "stuck", n_pending, true, CONCURRENCY).await;
        let (proxy, tx, _polled) = start_scheduler(&reg.url, &stuck, interval);
        // Settle: the first sweep, then a few intervals so the schedule is spread out.
        tokio::time::sleep(interval * 3).await;
        let c0 = proxy.counts.record_gets();
        proxy.counts.max_in_flight.store(0, Ordering::SeqCst);
        let t0 = Instant::now();
        tokio::time::sleep(window).await;
        let gets = proxy.counts.record_gets() - c0;
        let secs = t0.elapsed().as_secs_f64();
        let rate = gets as f64 / secs;
        let target = n_pending as f64 / interval.as_secs_f64();
        let max_in_flight = proxy.counts.max_in_flight.load(Ordering::SeqCst);
        println!(
            "  {n_pending} processing records, interval {} s: {gets} GETs in {secs:.1} s = {rate:.1} req/s vs {target:.0} target ({:+.2} %); max in flight {max_in_flight} (limit {CONCURRENCY})",
            interval.as_secs(),
            (rate / target - 1.0) * 100.0
        );
        assert!(gets > 0, "pending records are polled");
        drop(tx);
    });
}
