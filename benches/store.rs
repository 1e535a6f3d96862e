//! Bench 7 — the SQLite store: recording 10 000 state changes with `Store::record_polls` in
//! one batch (one transaction, as `poll --once` does after a sweep; the dashboard's store
//! thread batches whatever arrived together). Each iteration flips every record between
//! `processing` and `published`, so every outcome is a change: an UPDATE and a history row.
//! Also 10 000 changes in batches of 100, a smaller batch like the store thread's.
//! Target: under 1 s for the 10 000. `cargo bench --bench store` prints the figures.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::time::{Duration, Instant};
use wargdash::ids::{LogId, RecordId, Sha256Hash};
use wargdash::tracker::store::{NewTracked, Origin, PollOutcome, PolledState, Store};

const N: usize = 10_000;

fn ids(i: usize) -> (LogId, RecordId) {
    (
        LogId(Sha256Hash::of(&[b"log", &i.to_be_bytes()])),
        RecordId(Sha256Hash::of(&[b"record", &i.to_be_bytes()])),
    )
}

fn outcomes(round: u64) -> Vec<PollOutcome> {
    let published = round % 2 == 1;
    (0..N)
        .map(|i| {
            let (log_id, record_id) = ids(i);
            let (state, response) = if published {
                (
                    "published",
                    serde_json::json!({"recordId": record_id.to_string(), "state": "published", "registryIndex": i}),
                )
            } else {
                (
                    "processing",
                    serde_json::json!({"recordId": record_id.to_string(), "state": "processing"}),
                )
            };
            PollOutcome {
                log_id,
                record_id,
                at: 1_795_900_000_000 + round as i64,
                result: Ok(PolledState {
                    state: state.into(),
                    detail: if published {
                        format!("index {i}")
                    } else {
                        String::new()
                    },
                    response,
                    missing: None,
                }),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("bench.db"), "").expect("store");
    let items: Vec<NewTracked> = (0..N)
        .map(|i| NewTracked {
            log_id: ids(i).0,
            record_id: ids(i).1,
            package: Some(format!("demo:p{i}")),
            origin: Origin::Tracked,
            entries: None,
        })
        .collect();
    let t = Instant::now();
    store.add(&items).expect("add");
    let add = t.elapsed();
    let mut round = 0u64;
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("record_polls 10000 changes, one batch", |b| {
        b.iter_batched(
            || {
                round += 1;
                outcomes(round)
            },
            |o| store.record_polls(&o).expect("record polls"),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("record_polls 10000 changes, batches of 100", |b| {
        b.iter_batched(
            || {
                round += 1;
                outcomes(round)
            },
            |o| {
                for chunk in o.chunks(100) {
                    store.record_polls(chunk).expect("record polls");
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
    if std::env::args().any(|a| a == "--bench") {
        println!(
            "store: adding {N} tracked records in one transaction took {:.0} ms",
            add.as_secs_f64() * 1000.0
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
