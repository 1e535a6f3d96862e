//! Bench 1 — render: the real dashboard (`ui::app::State` fed `Action::StoreLoaded` and
//! `Action::Polled`, drawn by `ui::view::draw`) into a 200×50 ratatui `TestBackend`, with
//! N = 50, 1 000, 10 000 and 100 000 tracked records. Also the reducer's cost of one poll
//! result arriving (sorted by age, the default, and by last poll, where every result moves its
//! row), and of a full re-sort (`S`, which reverses the order) for comparison: before issue 4
//! every poll result re-sorted the whole table like that.
//! Targets: draw at 100 000 ≤ 1.5× draw at 50; under 1 ms median at 10 000.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::hint::black_box;
use std::time::Duration;
use wargdash::ids::RecordRef;
use wargdash::ids::{PackageName, RecordId, Sha256Hash};
use wargdash::registry::PackageRecord;
use wargdash::tracker::store::{Origin, Tracked};
use wargdash::ui::app::{update, Action, AppConfig, SortKey, State};
use wargdash::ui::view;

const NOW: i64 = 1_795_900_000_000;
const SIZES: [usize; 4] = [50, 1_000, 10_000, 100_000];

fn key_of(i: usize) -> RecordRef {
    let pkg: PackageName = format!("demo:pkg{}", i % 5000).parse().expect("name");
    RecordRef::new(
        pkg.log_id(),
        RecordId(Sha256Hash::of(&[b"record", &i.to_be_bytes()])),
    )
}

fn body(i: usize, record: &RecordId) -> serde_json::Value {
    let mut b = match i % 20 {
        0 => {
            serde_json::json!({"state": "rejected", "reason": "the package record was invalid: an entry attempted to release version 1.0.0 which is already released"})
        }
        1..=4 => serde_json::json!({"state": "processing"}),
        _ => serde_json::json!({"state": "published", "registryIndex": i}),
    };
    b["recordId"] = record.to_string().into();
    b
}

fn polled(i: usize, at: i64) -> Action {
    let key = key_of(i);
    let b = body(i, &key.record);
    let rec: PackageRecord = serde_json::from_value(b.clone()).expect("record");
    Action::Polled {
        key,
        result: Ok((rec, b)),
        at,
        latency: Duration::from_micros(900),
        hold: None,
    }
}

/// N tracked records as the store loads them, every one answered by a poll.
fn dashboard(n: usize) -> State {
    let mut s = State::new(
        AppConfig {
            registry: "http://127.0.0.1:8090".into(),
            sandbox: false,
            readonly: false,
            interval: Duration::from_secs(2),
            color: true,
        },
        NOW,
    );
    s.table.page = view::page_size(50);
    let list: Vec<Tracked> = (0..n)
        .map(|i| {
            let RecordRef {
                log: log_id,
                record: record_id,
            } = key_of(i);
            Tracked {
                log_id,
                record_id,
                package: Some(format!("demo:pkg{}", i % 5000)),
                origin: Origin::Tracked,
                entries: None,
                added_at: NOW - 3_600_000 + (i / 100) as i64,
                state: None,
                response: None,
                missing: None,
                polled_at: None,
                error: None,
            }
        })
        .collect();
    update(&mut s, Action::StoreLoaded(list));
    for i in 0..n {
        update(&mut s, polled(i, NOW - 5000 + (i % 1000) as i64));
    }
    update(
        &mut s,
        Action::Checkpoint(Ok((n as u64, (NOW / 1000) as u64))),
    );
    s
}

fn bench(c: &mut Criterion) {
    let states: Vec<(usize, State)> = SIZES.iter().map(|n| (*n, dashboard(*n))).collect();
    let mut g = c.benchmark_group("render 200x50");
    for (n, s) in &states {
        let mut term = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
        g.bench_with_input(BenchmarkId::from_parameter(n), s, |b, s| {
            b.iter(|| {
                term.draw(|f| view::draw(black_box(s), f)).expect("draw");
            })
        });
        let screen = format!("{:?}", term.backend().buffer());
        assert!(screen.contains(&format!("{n} tracked")), "{screen}");
    }
    g.finish();

    let mut g = c.benchmark_group("one poll result");
    for (n, s) in &states {
        for sort in [SortKey::Age, SortKey::Polled] {
            let mut s = s.clone();
            while s.table.sort != sort {
                update(
                    &mut s,
                    Action::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE)),
                );
            }
            let mut k = 0usize;
            g.bench_function(
                BenchmarkId::new(format!("sorted by {}", sort.name()), n),
                |b| {
                    b.iter_batched(
                        || {
                            k += 1;
                            polled(k % n, NOW + k as i64)
                        },
                        |a| update(&mut s, a),
                        BatchSize::SmallInput,
                    )
                },
            );
        }
    }
    g.finish();

    let mut g = c.benchmark_group("full re-sort (S key)");
    for (n, s) in &states {
        let mut s = s.clone();
        g.bench_with_input(BenchmarkId::from_parameter(n), n, |b, _| {
            b.iter(|| {
                update(
                    &mut s,
                    Action::Key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::NONE)),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
