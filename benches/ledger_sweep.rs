//! Bench 9 — a cold sweep of N published records: per-record GETs vs the verified ledger.
//!
//! N packages are each initialised with one `init` record in a real in-process warg-server
//! (checkpoint interval 100 ms), then the same N records are resolved three ways:
//! (i)   `wargdash::tracker::poll::sweep`: one `GET /v1/package/{log}/record/{rec}` per record,
//!       concurrency 16 (as `benches/sweep.rs`);
//! (ii)  `wrk -t2 -c16` cycling through the same N paths (when wrk is installed; full mode
//!       only): the ceiling for N GETs, as N / wrk's requests per second;
//! (iii) the ledger path from an empty trust store: `trust::cycle::run_cycle` (checkpoint,
//!       operator log, signature, ledger sync of ~N/1000 pages into a WAL SQLite file,
//!       logRoot check, operator-head inclusion proof) then `trust::cycle::lookup_records`
//!       for the N records; every registry index must equal the one the GET answered.
//! Registry requests are counted by a counting proxy (below; it frames requests by their
//! headers and Content-Length, as `tests/common/proxy.rs`'s line matching misses a request
//! that follows a POST body on a kept-alive connection) in a separate, untimed pass of (i) and
//! (iii), so the timed runs go straight to the registry.
//! Also the warm path: a second cycle on the same store (fetches only what is new) + lookups.
//!
//! Product goal: (iii) at least 3× faster than (ii)'s time for the N GETs, in ≤ 100 requests.
//! `cargo bench --bench ledger_sweep` prints the figures (N = 10 000); under `cargo test` it
//! is a smoke run with N = 50.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wargdash::ids::{LogId, RecordId};
use wargdash::registry::model::RecordState;
use wargdash::registry::RegistryClient;
use wargdash::trust::cycle::{lookup_records, run_cycle, CycleOptions};
use wargdash::trust::db::TrustDb;

const CONCURRENCY: usize = 16;
const CLIENT_THREADS: &str = "bench-client";

/// Requests per `METHOD /first/two` path prefix, counted by [`CountingProxy`].
type Counts = Arc<Mutex<BTreeMap<String, usize>>>;

/// A TCP proxy on 127.0.0.1 in front of the registry that counts the HTTP requests passing
/// through, framing each by its header block and Content-Length.
struct CountingProxy {
    url: String,
    counts: Counts,
}

impl CountingProxy {
    fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let counts = Counts::default();
        let c = counts.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(format!("http://{}", l.local_addr().expect("addr")))
                    .expect("url");
                while let Ok((client, _)) = l.accept().await {
                    tokio::spawn(relay(client, upstream.clone(), c.clone()));
                }
            });
        });
        Self {
            url: rx.recv().expect("proxy url"),
            counts,
        }
    }

    fn total(&self) -> usize {
        self.counts.lock().expect("counts").values().sum()
    }

    fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.counts.lock().expect("counts"))
    }
}

/// Splits a client's byte stream into requests: header block, then Content-Length body bytes.
#[derive(Default)]
struct Framer {
    head: Vec<u8>,
    body_left: usize,
}

impl Framer {
    fn feed(&mut self, mut data: &[u8], counts: &Counts) {
        while !data.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(data.len());
                self.body_left -= n;
                data = &data[n..];
                continue;
            }
            self.head.extend_from_slice(data);
            data = &[];
            let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            let text = String::from_utf8_lossy(&self.head[..end]).into_owned();
            let rest = self.head.split_off(end + 4);
            self.head.clear();
            let mut words = text.split_whitespace();
            let method = words.next().unwrap_or("?");
            let path = words.next().unwrap_or("?");
            let prefix: Vec<&str> = path.split('/').take(3).collect();
            *counts
                .lock()
                .expect("counts")
                .entry(format!("{method} {}", prefix.join("/")))
                .or_default() += 1;
            self.body_left = text
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            // Whatever followed the header block: body bytes, then maybe the next request.
            self.feed(&rest, counts);
        }
    }
}

async fn relay(mut client: tokio::net::TcpStream, upstream: String, counts: Counts) {
    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut framer = Framer::default();
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            framer.feed(&buf[..n], &counts);
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A trust store as the product keeps it: the trust tables in the tracker's WAL SQLite file.
fn trust_db(dir: &std::path::Path) -> TrustDb {
    let path = dir.join("wargdash.db");
    drop(wargdash::tracker::store::Store::open(&path, "").expect("store"));
    TrustDb::open(&path).expect("trust db")
}

/// Registry indices from one sweep (all must be published).
async fn sweep_indices(client: &RegistryClient, items: &[(LogId, RecordId)]) -> Vec<u64> {
    wargdash::tracker::poll::sweep(client, items, CONCURRENCY)
        .await
        .into_iter()
        .map(|p| match p.result {
            Ok((rec, _)) => match rec.state {
                RecordState::Published { registry_index } => registry_index,
                s => panic!("record {} is {}", p.record_id, s.name()),
            },
            Err(e) => panic!("GET {}: {e}", p.record_id),
        })
        .collect()
}

struct LedgerRun {
    cycle: Duration,
    lookup: Duration,
    synced: u64,
    ledger_len: u64,
}

/// (iii) from an empty store: one cycle, then the lookups; checks every index.
async fn ledger_path(
    client: &RegistryClient,
    db: &mut TrustDb,
    items: &[(LogId, RecordId)],
    want: &[u64],
) -> LedgerRun {
    let t = Instant::now();
    let r = run_cycle(client, db, &CycleOptions::default(), now_secs())
        .await
        .expect("run_cycle");
    let cycle = t.elapsed();
    assert!(
        r.alerts.is_empty() && r.state_advanced,
        "the cycle was not clean: {r:#?}"
    );
    let t = Instant::now();
    let found = lookup_records(db, client.base().as_str(), items).expect("lookup_records");
    let lookup = t.elapsed();
    let found: Vec<u64> = found
        .into_iter()
        .map(|f| f.expect("every record is in the verified ledger"))
        .collect();
    assert_eq!(found, want, "ledger indices differ from the GET answers");
    LedgerRun {
        cycle,
        lookup,
        synced: r.synced_entries,
        ledger_len: r.ledger_len,
    }
}

/// The `find_record` query with `+idx` (no primary-key range scan): time for all `items`,
/// checked against `want`; and the plan SQLite picks for the query as `find_record` writes it.
fn forced_lookup(
    path: &std::path::Path,
    registry: &str,
    items: &[(LogId, RecordId)],
    want: &[u64],
) -> (Duration, String) {
    const AS_IS: &str = "SELECT MIN(idx) FROM trust_ledger WHERE registry = ?1 AND log_id = ?2 AND record_id = ?3 AND idx < ?4";
    const FORCED: &str = "SELECT MIN(+idx) FROM trust_ledger WHERE registry = ?1 AND log_id = ?2 AND record_id = ?3 AND +idx < ?4";
    let conn = rusqlite::Connection::open(path).expect("open store");
    let below = i64::MAX;
    let plan: String = conn
        .query_row(
            &format!("EXPLAIN QUERY PLAN {AS_IS}"),
            rusqlite::params![registry, &[0u8; 32][..], &[0u8; 32][..], below],
            |r| r.get(3),
        )
        .expect("query plan");
    let t = Instant::now();
    let mut st = conn.prepare_cached(FORCED).expect("prepare");
    let got: Vec<u64> = items
        .iter()
        .map(|(l, r)| {
            let v: Option<i64> = st
                .query_row(
                    rusqlite::params![registry, &l.0 .0[..], &r.0 .0[..], below],
                    |row| row.get(0),
                )
                .expect("lookup");
            v.expect("found") as u64
        })
        .collect();
    let took = t.elapsed();
    assert_eq!(got, want);
    (took, plan)
}

fn s(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    let full = support::full_mode();
    let n = if full { 10_000 } else { 50 };
    let rounds = if full { 3 } else { 1 };
    println!("bench ledger_sweep: mode {}", support::mode_name());
    println!("  machine: {}", support::machine());
    let reg = support::Registry::start_with_interval(Duration::from_millis(100));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(CLIENT_THREADS)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let t = Instant::now();
        let recs = support::publish_many(&reg.url, "ledger", n, false, CONCURRENCY).await;
        support::wait_terminal(&reg.url, &recs, Duration::from_secs(900)).await;
        println!(
            "  published {n} records (one init each, {CONCURRENCY} POSTs in flight) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let items: Vec<(LogId, RecordId)> = recs.iter().map(|(l, r, _)| (*l, *r)).collect();
        let client = support::client(&reg.url);

        // Warm the connections and the server, and learn each record's registry index.
        let want = sweep_indices(&client, &items).await;
        let last = *want.iter().max().expect("records");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let cp = client.checkpoint().await.expect("checkpoint");
            if cp.contents.log_length > last {
                break;
            }
            assert!(Instant::now() < deadline, "no checkpoint covers index {last}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // (i) per-record GETs.
        let mut gets = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let got = sweep_indices(&client, &items).await;
            gets.push(s(t.elapsed()));
            assert_eq!(got, want);
        }
        let get_med = support::median(&mut gets.clone());
        println!(
            "  (i)   wargdash sweep, {n} GETs at C={CONCURRENCY}: median {get_med:.3} s ({:.0} req/s; rounds: {})",
            n as f64 / get_med,
            list(&gets)
        );

        // (ii) wrk over the same paths.
        let paths: Vec<String> = items
            .iter()
            .map(|(l, r)| format!("/v1/package/{l}/record/{r}"))
            .collect();
        let wrk_time = if full {
            match support::wrk(&reg.url, &paths, CONCURRENCY, 10) {
                Some(w) => {
                    let secs = n as f64 / w.rps;
                    println!(
                        "  (ii)  wrk -t2 -c{CONCURRENCY} -d10s over the same {n} paths: {:.0} req/s ({:.0} requests, wrk CPU {:.1} s) → {secs:.3} s for {n} GETs",
                        w.rps, w.requests, w.cpu_secs
                    );
                    Some(secs)
                }
                None => {
                    println!("  (ii)  wrk: not installed, skipped");
                    None
                }
            }
        } else {
            println!("  (ii)  wrk: skipped in smoke mode");
            None
        };

        // (iii) the verified ledger, cold: an empty store each round.
        let mut runs = Vec::new();
        let mut last_dir = None;
        for _ in 0..rounds {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut db = trust_db(dir.path());
            runs.push(ledger_path(&client, &mut db, &items, &want).await);
            last_dir = Some(dir);
        }
        let totals: Vec<f64> = runs.iter().map(|r| s(r.cycle + r.lookup)).collect();
        let ledger_med = support::median(&mut totals.clone());
        let mid = runs
            .iter()
            .min_by(|a, b| {
                (s(a.cycle + a.lookup) - ledger_med)
                    .abs()
                    .total_cmp(&(s(b.cycle + b.lookup) - ledger_med).abs())
            })
            .expect("a run");
        println!(
            "  (iii) ledger path from an empty store: median {ledger_med:.3} s = run_cycle {:.3} s (synced {} entries, verified ledger {}) + lookup_records of {n} {:.3} s (rounds: {})",
            s(mid.cycle),
            mid.synced,
            mid.ledger_len,
            s(mid.lookup),
            list(&totals),
        );

        // The lookups again with the record index forced (`+idx` keeps SQLite from answering
        // `MIN(idx) … idx < ?` by range-scanning the (registry, idx) primary key, the plan it
        // picks for `TrustDb::find_record`'s query), on the store the last round left.
        let dir = last_dir.expect("a round");
        let (forced, plan) = forced_lookup(
            &dir.path().join("wargdash.db"),
            client.base().as_str(),
            &items,
            &want,
        );
        println!(
            "  (iii) lookups of the same {n} with the index forced (rusqlite on that store, not TrustDb): {:.3} s; find_record's query plan: {plan}",
            s(forced)
        );

        // Warm: a second cycle on a store that has the ledger, then the lookups.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut db = trust_db(dir.path());
        ledger_path(&client, &mut db, &items, &want).await;
        tokio::time::sleep(Duration::from_millis(250)).await; // a newer checkpoint
        let warm = ledger_path(&client, &mut db, &items, &want).await;
        println!(
            "  (iii) warm (second cycle on the same store): run_cycle {:.3} s (synced {} entries) + lookup_records {:.3} s",
            s(warm.cycle),
            warm.synced,
            s(warm.lookup)
        );

        // Requests, counted in untimed passes through a counting proxy.
        let px = CountingProxy::start(&reg.url);
        let pc = support::client(&px.url);
        let got = sweep_indices(&pc, &items).await;
        assert_eq!(got, want);
        let sweep_counts = px.take();
        let sweep_requests: usize = sweep_counts.values().sum();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut db = trust_db(dir.path());
        ledger_path(&pc, &mut db, &items, &want).await;
        let ledger_requests = px.total();
        println!(
            "  registry requests (counting proxy): (i) {sweep_requests} ({sweep_counts:?}); (iii) {ledger_requests} for the cycle and the {n} lookups ({:?}) (goal ≤ 100)",
            px.take()
        );

        let best_get = wrk_time.map_or(("wargdash sweep", get_med), |w| ("wrk", w));
        let speedup = best_get.1 / ledger_med;
        println!(
            "  ledger path vs {} for the {n} GETs: {speedup:.1}× faster (goal ≥ 3×: {}); {ledger_requests} requests vs {n} (goal ≤ 100: {})",
            best_get.0,
            if speedup >= 3.0 { "met" } else { "not met" },
            if ledger_requests <= 100 { "met" } else { "not met" },
        );
        let fixed = s(mid.cycle) + s(forced);
        println!(
            "  with the index forced (run_cycle + forced lookups): {fixed:.3} s → {:.1}× faster than {} (goal ≥ 3×)",
            best_get.1 / fixed,
            best_get.0
        );
    });
}

fn list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}
