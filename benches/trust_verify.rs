//! Bench 8 — the trust engine's verification cost, on synthetic ledgers (entry `i` is log
//! `i mod 100 000` with a record of its own; IDs come from a cheap mixer, not a registry).
//!
//! (b) `verify --full`: `trust::cycle::verify_full` itself, streaming 1 000 000 entries in
//!     100 000 logs from a loopback HTTP server that serves `GET /v1/ledger/records/{start}`
//!     pages of 1000 packed entries generated on the fly, recomputing logRoot and mapRoot.
//!     Goal ≤ 5 s and ≤ 200 MB peak RSS (VmHWM of this whole process, server included; (b)
//!     runs first so nothing else has raised it). The same computation from an in-memory
//!     iterator (no HTTP) splits compute from transport. Correctness: `verify_full` accepts
//!     roots computed by warg-transparency (`VecLog`, `Map`) over a 10 000-entry prefix, and at
//!     full size the logRoot is checked against `StackLog` and the mapRoot against a `Map` of
//!     each log's latest record.
//! (a) Incremental: a verified ledger of 1 000 000 entries (frontier built, serialized and
//!     deserialized as the trust state stores it; not timed), then a checkpoint adding 100:
//!     push 100 + root + compare with the root warg-transparency's `StackLog` computed (outside
//!     the timed region). Goal ≤ 5 ms. Second figure: the same plus storing the 100 entries with
//!     `TrustDb::write_ledger_batch` into a WAL SQLite file already holding the 1 000 000.
//!
//! `cargo bench --bench trust_verify` prints the figures; under `cargo test` it is a smoke run
//! on 10 000 entries.

// This bench starts no registry: the support module's re-export of it goes unused.
#[allow(unused_imports)]
#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wargdash::ids::{LogId, RecordId, Sha256Hash};
use wargdash::registry::model::{CheckpointContents, SignedCheckpoint};
use wargdash::trust::checkpoint::Checkpoint;
use wargdash::trust::db::TrustDb;
use wargdash::trust::ledger::{parse_page, Frontier, LedgerEntry, MAX_PAGE_ENTRIES};
use wargdash::trust::map::MapAccumulator;

use warg_crypto::hash::{AnyHash, Hash, HashAlgorithm, Sha256};
use warg_protocol::registry::{LogId as WLogId, LogLeaf, MapLeaf, RecordId as WRecordId};
use warg_transparency::log::{LogBuilder, StackLog, VecLog};
use warg_transparency::map::Map;

const LOGS: u64 = 100_000;
const NEW: usize = 100;
const SERVER_THREAD: &str = "ledger-srv";
const REGISTRY: &str = "http://registry.bench.invalid/";

// ---------------------------------------------------------------------------------------------
// Synthetic ledger.

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash32(seed: u64) -> Sha256Hash {
    let mut out = [0u8; 32];
    for (k, c) in out.chunks_exact_mut(8).enumerate() {
        c.copy_from_slice(&splitmix(seed.wrapping_mul(4).wrapping_add(k as u64)).to_le_bytes());
    }
    Sha256Hash(out)
}

/// Entry `i` of the synthetic ledger: log `i mod LOGS`, a record of its own.
fn entry(i: u64) -> LedgerEntry {
    LedgerEntry {
        log_id: LogId(hash32((1 << 62) | (i % LOGS))),
        record_id: RecordId(hash32((2 << 62) | i)),
    }
}

fn whash(h: &Sha256Hash) -> AnyHash {
    AnyHash::new(HashAlgorithm::Sha256, h.0.to_vec())
}

fn wleaf(e: &LedgerEntry) -> LogLeaf {
    LogLeaf {
        log_id: WLogId::from(whash(&e.log_id.0)),
        record_id: WRecordId::from(whash(&e.record_id.0)),
    }
}

fn ours(h: &Hash<Sha256>) -> Sha256Hash {
    Sha256Hash(h.bytes().try_into().expect("32 bytes"))
}

/// warg-transparency's `Map` over `entries` applied in order (latest record per log wins).
fn oracle_map(entries: impl Iterator<Item = LedgerEntry>) -> Sha256Hash {
    let mut m: Map<Sha256, WLogId, MapLeaf> = Map::default();
    for e in entries {
        m = m.insert(
            WLogId::from(whash(&e.log_id.0)),
            MapLeaf {
                record_id: WRecordId::from(whash(&e.record_id.0)),
            },
        );
    }
    ours(m.root())
}

/// A checkpoint with these roots (unsigned: `verify_full` compares roots only).
fn checkpoint(len: u64, log_root: Sha256Hash, map_root: Sha256Hash) -> Checkpoint {
    Checkpoint::from_signed(SignedCheckpoint {
        contents: CheckpointContents {
            log_root: log_root.to_string(),
            log_length: len,
            map_root: map_root.to_string(),
            timestamp: 1_795_900_000,
        },
        key_id: "sha256:bench".into(),
        signature: "ecdsa-p256:bench".into(),
    })
    .expect("checkpoint")
}

// ---------------------------------------------------------------------------------------------
// Loopback ledger server: `GET /v1/ledger/records/{start}` → up to 1000 packed entries of the
// synthetic ledger of `total` entries, generated per request (the server holds no ledger).

struct LedgerServer {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn start_server(total: u64) -> LedgerServer {
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(SERVER_THREAD.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(format!("http://{}/", l.local_addr().expect("addr")))
                    .expect("send url");
                loop {
                    let Ok((s, _)) = l.accept().await else { return };
                    let _ = s.set_nodelay(true);
                    tokio::spawn(serve_conn(s, total, count.clone()));
                }
            });
        })
        .expect("server thread");
    LedgerServer {
        url: rx.recv().expect("server url"),
        requests,
    }
}

async fn serve_conn(mut s: tokio::net::TcpStream, total: u64, requests: Arc<AtomicUsize>) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut tmp = [0u8; 4096];
    let mut out: Vec<u8> = Vec::with_capacity(64 * MAX_PAGE_ENTRIES + 256);
    loop {
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match s.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        requests.fetch_add(1, Ordering::Relaxed);
        let path = head.split_whitespace().nth(1).unwrap_or("");
        out.clear();
        let start = path
            .strip_prefix("/v1/ledger/records/")
            .and_then(|s| s.parse::<u64>().ok());
        let mut body = Vec::new();
        let status = match start {
            Some(start) => {
                let end = start.saturating_add(MAX_PAGE_ENTRIES as u64).min(total);
                body.reserve(64 * (end.saturating_sub(start)) as usize);
                for i in start..end {
                    body.extend_from_slice(&entry(i).to_bytes());
                }
                "200 OK\r\ncontent-type: application/vnd.warg.ledger.packed"
            }
            None => {
                body.extend_from_slice(b"{}");
                "404 Not Found\r\ncontent-type: application/json"
            }
        };
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&body);
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// (b) without HTTP: the same log and map computation over an in-memory iterator.
fn in_memory(total: u64, log_root: Sha256Hash, map_root: Sha256Hash) {
    let t = Instant::now();
    let mut f = Frontier::new();
    for i in 0..total {
        f.push_entry(&entry(i));
    }
    let lr = f.root();
    let t_log = t.elapsed();
    let t = Instant::now();
    let mut m = MapAccumulator::new();
    for i in 0..total {
        m.push(&entry(i));
    }
    let t_acc = t.elapsed();
    let t = Instant::now();
    let mr = m.root();
    let t_fold = t.elapsed();
    assert_eq!((lr, mr), (log_root, map_root));
    println!(
        "  (b) the same from an in-memory iterator (no HTTP): logRoot {:.2} s; mapRoot {:.2} s (accumulating the latest record of {} logs {:.2} s, folding the 256-level sparse tree {:.2} s); total {:.2} s",
        t_log.as_secs_f64(),
        (t_acc + t_fold).as_secs_f64(),
        m.logs(),
        t_acc.as_secs_f64(),
        t_fold.as_secs_f64(),
        (t_log + t_acc + t_fold).as_secs_f64()
    );
    drop(m);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let full = support::full_mode();
    let total: u64 = if full { 1_000_000 } else { 10_000 };
    let prefix: u64 = if full { 10_000 } else { 1_000 };
    println!("bench trust_verify: mode {}", support::mode_name());
    println!("  machine: {}", support::machine());
    let hwm0 = support::self_status_kb("VmHWM");

    // ----- (b) verify --full over loopback HTTP.
    let server = start_server(total);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = support::client(&server.url);

    // Correctness first, on a prefix: warg-transparency's roots are what verify_full accepts.
    let es: Vec<LedgerEntry> = (0..prefix).map(entry).collect();
    let mut vlog: VecLog<Sha256, LogLeaf> = VecLog::default();
    for e in &es {
        vlog.push(&wleaf(e));
    }
    let p_log = ours(&vlog.checkpoint().root());
    let p_map = oracle_map(es.iter().copied());
    drop((es, vlog));
    let cp = checkpoint(prefix, p_log, p_map);
    let r = rt
        .block_on(wargdash::trust::cycle::verify_full(&client, &cp))
        .expect("verify_full (prefix)");
    assert!(
        r.ok(),
        "verify_full disagrees with warg-transparency: {r:?}"
    );
    let bad = checkpoint(prefix, p_log, p_log);
    let r = rt
        .block_on(wargdash::trust::cycle::verify_full(&client, &bad))
        .expect("verify_full (bad map root)");
    assert!(
        r.log_root_matches && !r.map_root_matches,
        "a wrong mapRoot must be refused: {r:?}"
    );
    println!(
        "  (b) correctness: verify_full over the first {prefix} entries accepts the roots of warg-transparency's VecLog and Map ({p_log}, {p_map}) and refuses a wrong mapRoot"
    );
    let hwm_before = support::self_status_kb("VmHWM");

    // The timed full audit. The checkpoint's roots are not known yet: they are checked against
    // the oracles afterwards (outside the timed and the memory-measured region).
    let placeholder = checkpoint(total, Sha256Hash([0; 32]), Sha256Hash([0; 32]));
    let req0 = server.requests.load(Ordering::Relaxed);
    let server_cpu0 = support::threads_cpu(SERVER_THREAD);
    let cpu0 = support::cpu_time(std::process::id());
    let t = Instant::now();
    let r = rt
        .block_on(wargdash::trust::cycle::verify_full(&client, &placeholder))
        .expect("verify_full");
    let wall = t.elapsed();
    let server_cpu = support::threads_cpu(SERVER_THREAD).saturating_sub(server_cpu0);
    let cpu = support::cpu_time(std::process::id()).saturating_sub(cpu0);
    let hwm = support::self_status_kb("VmHWM");
    let pages = server.requests.load(Ordering::Relaxed) - req0;
    assert!(r.problem.is_none(), "{r:?}");
    let log_root: Sha256Hash = r
        .computed_log_root
        .as_deref()
        .expect("log root")
        .parse()
        .expect("hash");
    let map_root: Sha256Hash = r
        .computed_map_root
        .as_deref()
        .expect("map root")
        .parse()
        .expect("hash");
    println!(
        "  (b) verify --full (trust::cycle::verify_full, loopback HTTP, {pages} pages of ≤{MAX_PAGE_ENTRIES}): {total} entries in {} logs: {:.2} s wall (goal ≤ 5 s); CPU {:.2} s, of which the page server {:.2} s; peak RSS (VmHWM, whole process) {:.1} MB (goal ≤ 200 MB; {:.1} MB before the audit, {:.1} MB at start)",
        total.min(LOGS),
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        server_cpu.as_secs_f64(),
        hwm as f64 / 1024.0,
        hwm_before as f64 / 1024.0,
        hwm0 as f64 / 1024.0,
    );

    // The same computation from an in-memory iterator: the compute part, split log vs map
    // (full mode only: in a debug build it would double the smoke run).
    if full {
        in_memory(total, log_root, map_root);
    }

    // Full-size oracles (not timed): StackLog for the logRoot; for the mapRoot a Map holding
    // each log's latest record (the map's value after applying the whole ledger in order).
    let t = Instant::now();
    let mut stack: StackLog<Sha256, LogLeaf> = StackLog::default();
    for i in 0..total {
        stack.push(&wleaf(&entry(i)));
    }
    assert_eq!(
        ours(&stack.checkpoint().root()),
        log_root,
        "logRoot differs from StackLog's"
    );
    let heads = (total.saturating_sub(LOGS)..total).map(entry);
    assert_eq!(oracle_map(heads), map_root, "mapRoot differs from Map's");
    println!(
        "  (b) correctness at {total}: logRoot {log_root} = warg-transparency StackLog's; mapRoot {map_root} = warg-transparency Map's over each log's latest record (oracles took {:.1} s, not counted)",
        t.elapsed().as_secs_f64()
    );

    // ----- (a) incremental verification of a checkpoint adding 100 entries.
    let base = total;
    let t = Instant::now();
    let mut f = Frontier::new();
    let mut stack: StackLog<Sha256, LogLeaf> = StackLog::default();
    for i in 0..base {
        let e = entry(i);
        f.push_entry(&e);
        stack.push(&wleaf(&e));
    }
    assert_eq!(f.root(), ours(&stack.checkpoint().root()));
    let stored = f.to_bytes(); // what TrustState.frontier holds
    let new: Vec<LedgerEntry> = (base..base + NEW as u64).map(entry).collect();
    for e in &new {
        stack.push(&wleaf(e));
    }
    let oracle_root = ours(&stack.checkpoint().root());
    let page: Vec<u8> = new.iter().flat_map(|e| e.to_bytes()).collect();
    let setup = t.elapsed();

    let iters = if full { 2000 } else { 50 };
    let (mut de, mut verify, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..iters {
        let t0 = Instant::now();
        let mut f = Frontier::from_bytes(&stored).expect("frontier");
        let t1 = Instant::now();
        for e in &new {
            f.push_entry(e);
        }
        let ok = f.root() == oracle_root;
        let t2 = Instant::now();
        assert!(ok, "incremental root differs from StackLog's");
        // The whole in-memory step of a cycle: deserialize, parse the page, extend, compare,
        // serialize the new frontier for the trust state.
        let t3 = Instant::now();
        let mut g = Frontier::from_bytes(&stored).expect("frontier");
        for e in parse_page(&page).expect("page") {
            g.push_entry(&e);
        }
        let ok = g.root() == oracle_root;
        let bytes = g.to_bytes();
        let t4 = Instant::now();
        assert!(ok && !bytes.is_empty());
        de.push((t1 - t0).as_secs_f64() * 1e6);
        verify.push((t2 - t1).as_secs_f64() * 1e6);
        whole.push((t4 - t3).as_secs_f64() * 1e6);
    }
    println!(
        "  (a) incremental: verified ledger of {base} entries (frontier {} bytes; building it and the StackLog oracle took {:.1} s, not counted)",
        stored.len(),
        setup.as_secs_f64()
    );
    println!(
        "  (a) push {NEW} entries + root + compare with StackLog's root: median {:.0} µs, p99 {:.0} µs, max {:.0} µs over {iters} runs (goal ≤ 5 ms); Frontier::from_bytes median {:.1} µs; from_bytes + parse_page + push + root + compare + to_bytes median {:.0} µs",
        support::median(&mut verify.clone()),
        support::quantile(&mut verify.clone(), 0.99),
        support::quantile(&mut verify, 1.0),
        support::median(&mut de),
        support::median(&mut whole),
    );

    // The DB write: a WAL SQLite file (opened by the tracker's Store first, which sets WAL, as
    // the trust tables share its file) already holding the whole verified ledger, written the
    // way the first sync writes it: 1000-entry pages, one transaction each.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wargdash.db");
    drop(wargdash::tracker::store::Store::open(&path, "").expect("store"));
    let mut db = TrustDb::open(&path).expect("trust db");
    let t = Instant::now();
    let mut page_buf = Vec::with_capacity(MAX_PAGE_ENTRIES);
    let mut start = 0u64;
    while start < base {
        page_buf.clear();
        page_buf.extend((start..(start + MAX_PAGE_ENTRIES as u64).min(base)).map(entry));
        db.write_ledger_batch(REGISTRY, start, &page_buf)
            .expect("write ledger");
        start += page_buf.len() as u64;
    }
    let fill = t.elapsed();
    let db_iters = if full { 200 } else { 10 };
    let (mut write, mut both) = (Vec::new(), Vec::new());
    for _ in 0..db_iters {
        db.truncate_ledger(REGISTRY, base).expect("truncate");
        let t0 = Instant::now();
        let mut f = Frontier::from_bytes(&stored).expect("frontier");
        for e in &new {
            f.push_entry(e);
        }
        let ok = f.root() == oracle_root;
        let t1 = Instant::now();
        db.write_ledger_batch(REGISTRY, base, &new)
            .expect("write ledger");
        let t2 = Instant::now();
        assert!(ok);
        write.push(ms(t2 - t1));
        both.push(ms(t2 - t0));
    }
    assert_eq!(db.ledger_count(REGISTRY).expect("count"), base + NEW as u64);
    println!(
        "  (a) + TrustDb::write_ledger_batch of the {NEW} entries (WAL file on {}, holding {base}): write median {:.2} ms, p99 {:.2} ms; verify + write median {:.2} ms, p99 {:.2} ms over {db_iters} runs",
        support::fs_type(dir.path()),
        support::median(&mut write.clone()),
        support::quantile(&mut write, 0.99),
        support::median(&mut both.clone()),
        support::quantile(&mut both, 0.99),
    );
    println!(
        "  (a) storing the {base}-entry ledger in 1000-entry pages (as the first sync does) took {:.1} s ({:.0} entries/s)",
        fill.as_secs_f64(),
        base as f64 / fill.as_secs_f64()
    );
}
