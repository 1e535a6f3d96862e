//! The poll scheduler against a real warg-server behind a counting proxy: terminal records are
//! polled once and never again; pending records are polled on the interval; requests in flight
//! stay under the concurrency limit.

mod common;
#[path = "common/proxy.rs"]
mod proxy;

use common::TestRegistry;
use proxy::CountingProxy;
use std::time::Duration;
use wargdash::ids::RecordRef;
use wargdash::ids::{ContentDigest, PackageName, RecordId};
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::record::{Entry, RecordContent, RecordTime};
use wargdash::registry::{ClientOptions, RecordState, RegistryClient};
use wargdash::tracker::scheduler::{self, SchedCmd, SchedEvent, SchedulerConfig};

async fn published(client: &RegistryClient, name: &str, key: &SigningKey) -> RecordRef {
    let pkg: PackageName = name.parse().unwrap();
    let rec = RecordContent {
        prev: None,
        time: RecordTime::now(),
        entries: vec![Entry::Init {
            public_key: key.public_key(),
        }],
    }
    .sign(key);
    client
        .publish(&pkg.log_id(), pkg.as_str(), &rec.envelope)
        .await
        .unwrap();
    RecordRef::new(pkg.log_id(), rec.record_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_records_are_polled_once_pending_ones_on_the_interval() {
    let reg = TestRegistry::start();
    let direct = RegistryClient::new(&reg.url, ClientOptions::default()).unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let mut done = Vec::new();
    for i in 0..5 {
        done.push(published(&direct, &format!("demo:p{i}"), &key).await);
    }
    // A release whose content is never uploaded stays `processing` forever.
    let init = published(&direct, "demo:stuck", &key).await;
    for _ in 0..50 {
        let (r, _) = direct.get_record(&init.log, &init.record).await.unwrap();
        if r.state.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pkg: PackageName = "demo:stuck".parse().unwrap();
    let stuck = RecordContent {
        prev: Some(init.record),
        time: RecordTime::now(),
        entries: vec![Entry::Release {
            version: "1.0.0".into(),
            digest: ContentDigest::of_bytes(b"never uploaded"),
        }],
    }
    .sign(&key);
    let (ans, _) = direct
        .publish(&pkg.log_id(), pkg.as_str(), &stuck.envelope)
        .await
        .unwrap();
    assert!(matches!(ans.state, RecordState::Sourcing { .. }));
    // Let the five reach `published`.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let proxy = CountingProxy::start(&reg.url);
    let client = RegistryClient::new(&proxy.url, ClientOptions::default()).unwrap();
    let (ev_tx, mut ev_rx) = tokio::sync::mpsc::channel(1024);
    let (tx, _task) = scheduler::spawn(
        client,
        SchedulerConfig {
            interval: Duration::from_millis(200),
            concurrency: 2,
            ..SchedulerConfig::default()
        },
        ev_tx,
    );
    let mut items: Vec<_> = done.iter().map(|k| (*k, false)).collect();
    items.push((RecordRef::new(pkg.log_id(), stuck.record_id), false));
    tx.send(SchedCmd::Track(items)).unwrap();
    let drain = tokio::spawn(async move {
        let mut terminal = 0;
        while let Some(ev) = ev_rx.recv().await {
            if let SchedEvent::Polled { polled, .. } = ev {
                if polled
                    .result
                    .as_ref()
                    .is_ok_and(|(r, _)| r.state.is_terminal())
                {
                    terminal += 1;
                }
            }
        }
        terminal
    });

    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after_first = proxy.counts.record_gets();
    // 5 published records once each, plus the processing one about every 200 ms.
    assert!(after_first >= 6, "{after_first}");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let later = proxy.counts.record_gets();
    let extra = later - after_first;
    // Only the pending record is polled: ~10 polls in 2 s at 200 ms, never the published ones.
    assert!(
        (6..=12).contains(&extra),
        "pending record polled {extra} times in 2 s"
    );
    assert!(
        proxy
            .counts
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
            <= 2
    );

    // Untracking the pending record: the registry sees nothing more at all.
    tx.send(SchedCmd::Untrack(vec![RecordRef::new(
        pkg.log_id(),
        stuck.record_id,
    )]))
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let settled = proxy.counts.record_gets();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        proxy.counts.record_gets(),
        settled,
        "no requests once everything tracked is terminal"
    );

    // A manual refresh still polls a terminal record.
    tx.send(SchedCmd::Refresh(vec![done[0]])).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(proxy.counts.record_gets(), settled + 1);
    drop(tx);
    let terminal = drain.await.unwrap();
    assert_eq!(terminal, 6, "five first sweeps plus one manual refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_probed_not_hammered() {
    let client = RegistryClient::new(&common::refused_url(), ClientOptions::default()).unwrap();
    let (ev_tx, mut ev_rx) = tokio::sync::mpsc::channel(1024);
    let (tx, _task) = scheduler::spawn(
        client,
        SchedulerConfig {
            interval: Duration::from_millis(100),
            concurrency: 16,
            max_backoff: Duration::from_secs(2),
        },
        ev_tx,
    );
    let items: Vec<_> = (0..500u32)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_be_bytes());
            (
                RecordRef::new(
                    wargdash::ids::LogId(wargdash::ids::Sha256Hash(b)),
                    RecordId(wargdash::ids::Sha256Hash(b)),
                ),
                false,
            )
        })
        .collect();
    tx.send(SchedCmd::Track(items)).unwrap();
    let mut failures = 0;
    let mut holds = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, ev_rx.recv()).await {
        if let SchedEvent::Polled { polled, hold, .. } = ev {
            assert!(polled.result.is_err());
            failures += 1;
            holds.extend(hold);
        }
    }
    // The first wave (at most the concurrency limit) fails, then one probe at a time with
    // growing waits: far fewer than 500 records × 20 intervals.
    assert!(
        failures <= 16 + 10,
        "{failures} requests during a 2 s outage; holds {holds:?}"
    );
    assert!(
        holds.windows(2).any(|w| w[1] > w[0]),
        "backoff grows: {holds:?}"
    );
}
