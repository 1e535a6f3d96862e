//! The batched paths of issue 19 against a real warg-server (directly, through a counting
//! proxy, or through a tampering one): many package logs per `fetch/logs` request and many
//! heads per `proof/inclusion` request must raise exactly what one request per log or per head
//! raised — a bad leaf among many, a log dropped from or added to a batch's answer, an answer
//! cut by the body cap — and a second `verify` asks for nothing it proved before.

mod common;
#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/tamper.rs"]
mod tamper;

use common::{TestRegistry, Wd};
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::time::Duration;
use wargdash::ids::{LogId, PackageName, RecordId, Sha256Hash};
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::record::{Entry, RecordContent, RecordTime};
use wargdash::registry::{ClientOptions, RegistryClient};
use wargdash::trust::batch::fetch_package_logs;
use wargdash::trust::checkpoint::Checkpoint;
use wargdash::trust::cycle::{prove_heads_checked, HeadProofError};
use wargdash::trust::map::ProvedLeaf;

/// Publishes `n` packages (one init each) and waits until a checkpoint covers them; returns
/// their log IDs, record IDs and the checkpoint.
async fn publish_n(
    c: &RegistryClient,
    prefix: &str,
    n: usize,
) -> (Vec<(LogId, RecordId)>, Checkpoint) {
    let k = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let pkg: PackageName = format!("demo:{prefix}{i}").parse().unwrap();
        let rec = RecordContent {
            prev: None,
            time: RecordTime::now(),
            entries: vec![Entry::Init {
                public_key: k.public_key(),
            }],
        }
        .sign(&k);
        c.publish(&pkg.log_id(), pkg.as_str(), &rec.envelope)
            .await
            .unwrap();
        out.push((pkg.log_id(), rec.record_id));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let cp = Checkpoint::from_signed(c.checkpoint().await.unwrap()).unwrap();
        if cp.log_length > n as u64 {
            return (out, cp);
        }
        assert!(std::time::Instant::now() < deadline, "not published");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each log's head leaf at the checkpoint (its only record), from the registry.
async fn leaves(
    c: &RegistryClient,
    cp: &Checkpoint,
    logs: &[(LogId, RecordId)],
) -> Vec<ProvedLeaf> {
    let asks: Vec<(LogId, Option<u64>)> = logs.iter().map(|(l, _)| (*l, Some(1))).collect();
    let got = fetch_package_logs(c, cp.log_length, &asks).await;
    logs.iter()
        .map(|(l, r)| {
            let recs = got[l].as_ref().unwrap();
            ProvedLeaf {
                index: recs[0].registry_index,
                log_id: *l,
                record_id: *r,
            }
        })
        .collect()
}

/// One bad leaf among 40: only it fails, with what a request of its own would say, and the
/// search for it costs a few requests, not one per leaf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_leaf_among_many_fails_alone_in_few_requests() {
    let reg = TestRegistry::start();
    let counting = proxy::CountingProxy::start(&reg.url);
    let c = RegistryClient::new(&counting.url, ClientOptions::default()).unwrap();
    let (logs, cp) = publish_n(&c, "leaf", 40).await;
    let mut ls = leaves(&c, &cp, &logs).await;
    ls[17].record_id = RecordId(Sha256Hash([9; 32]));
    let before = counting.counts.total.load(Ordering::SeqCst);
    let res = prove_heads_checked(&c, &cp, &ls).await;
    let asked = counting.counts.total.load(Ordering::SeqCst) - before;
    for (i, r) in res.iter().enumerate() {
        assert_eq!(r.is_err(), i == 17, "leaf {i}: {r:?}");
    }
    let alone = prove_heads_checked(&c, &cp, &ls[17..18]).await;
    match (&res[17], &alone[0]) {
        (Err(HeadProofError::Failed(a)), Err(HeadProofError::Failed(b))) => assert_eq!(a, b),
        other => panic!("{other:?}"),
    }
    // 1 for all, then halves down to the leaf: about 2·log2(40) ≈ 11.
    assert!(asked <= 13, "{asked} requests for one bad leaf among 40");
}

/// A batch's answer that drops one asked log gives that log an empty list (its chain does not
/// validate: PACKAGE_LOG_INVALID, as when asked alone); a log the registry adds unasked is
/// ignored; an answer over the body cap is asked again in halves, and every log arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_answers_dropped_added_or_too_large() {
    let reg = TestRegistry::start();
    let tamper = tamper::TamperProxy::start(&reg.url);
    let c = RegistryClient::new(&tamper.url, ClientOptions::default()).unwrap();
    let (logs, cp) = publish_n(&c, "batch", 8).await;
    let asks: Vec<(LogId, Option<u64>)> = logs.iter().map(|(l, _)| (*l, Some(1))).collect();
    let dropped = logs[3].0.to_string();
    let extra = format!("sha256:{}", "ee".repeat(32));
    let (d, e) = (dropped.clone(), extra.clone());
    tamper.set_hook(Box::new(move |_m, path, status, body| {
        if path != "/v1/fetch/logs" || status != 200 {
            return body;
        }
        let mut v: Value = serde_json::from_slice(&body).unwrap();
        if let Some(p) = v["packages"].as_object_mut() {
            if let Some(first) = p.values().next().cloned() {
                p.insert(e.clone(), first);
            }
            p.remove(&d);
        }
        serde_json::to_vec(&v).unwrap()
    }));
    let got = fetch_package_logs(&c, cp.log_length, &asks).await;
    assert_eq!(got.len(), 8, "only the logs asked about: {:?}", got.keys());
    for (l, _) in &logs {
        let recs = got[l].as_ref().unwrap();
        assert_eq!(recs.len(), usize::from(l.to_string() != dropped), "{l}");
    }
    let e = wargdash::trust::package::validate_package_log(&logs[3].0, &[]).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    tamper.clear_hook();

    // A body cap one log's answer fits under, but not two: halves until each fits.
    let small = ClientOptions {
        max_body: 2500,
        ..ClientOptions::default()
    };
    let c = RegistryClient::new(&reg.url, small).unwrap();
    let got = fetch_package_logs(&c, cp.log_length, &asks).await;
    for (l, r) in &logs {
        let recs = got[l].as_ref().unwrap_or_else(|e| panic!("{l}: {e}"));
        assert_eq!(recs[0].fetch_token, r.to_string());
    }
}

/// `verify --json` exits 0: its report, and the registry requests it made.
fn verify_counted(wd: &Wd, counting: &proxy::CountingProxy) -> (Value, usize) {
    let before = counting.counts.total.load(Ordering::SeqCst);
    let out = wd.ok(&["--json", "verify"], 0).stdout;
    let v: Value = serde_json::from_str(out.lines().last().unwrap_or_default()).unwrap();
    (v, counting.counts.total.load(Ordering::SeqCst) - before)
}

/// `verify` batches: a fresh store proves 60 tracked packages in a handful of requests, and a
/// second run with nothing new asks for no package log and no proof of theirs.
#[test]
fn verify_batches_and_a_second_run_asks_for_nothing_it_proved() {
    let reg = TestRegistry::start();
    let counting = proxy::CountingProxy::start(&reg.url);
    let wd = Wd::new(Some(&counting.url));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = RegistryClient::new(&reg.url, ClientOptions::default()).unwrap();
    let (logs, _cp) = rt.block_on(publish_n(&c, "many", 60));
    let lines: String = logs.iter().map(|(l, r)| format!("{l} {r}\n")).collect();
    let r = wd.run_stdin(&["track", "add", "-"], &lines);
    assert_eq!(r.code, 0, "{r:?}");
    let (v, first) = verify_counted(&wd, &counting);
    assert_eq!(v["packages"]["proven"], 60, "{v}");
    assert_eq!(v["records"]["verified"], 60, "{v}");
    // checkpoint, operator log, ledger sources + page, operator head, one fetch/logs batch,
    // one proof/inclusion batch (and room for a retried page).
    assert!(
        first <= 10,
        "{first} requests for a fresh verify of 60 packages"
    );
    let (v, second) = verify_counted(&wd, &counting);
    assert_eq!(v["packages"]["proven"], 60, "{v}");
    assert_eq!(v["packages"]["checked"], 0, "nothing fetched again: {v}");
    assert!(second <= 6, "{second} requests for a second verify");
}
