//! The trust engine against a real in-process warg-server: clean verification, the ledger fast
//! path, operator key changes and memory-store restarts, and a tampering proxy in front of the
//! real server for each alert a lying registry (or a man in the middle) should raise.

mod common;
#[path = "common/tamper.rs"]
mod tamper;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::TestRegistry;
use prost::Message;
use std::time::{Duration, SystemTime};
use tamper::TamperProxy;
use wargdash::ids::{PackageName, RecordId, Sha256Hash};
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::publish::{self, BuildOptions};
use wargdash::record::Entry;
use wargdash::registry::model::{CheckpointContents, RecordState, SignedCheckpoint};
use wargdash::registry::{ClientOptions, RegistryClient};
use wargdash::trust::alerts::AlertKind;
use wargdash::trust::checkpoint::{sign_contents, Checkpoint};
use wargdash::trust::cycle::{
    lookup_records, prove_heads, run_cycle, verify_full, CycleOptions, CycleReport,
};
use wargdash::trust::db::TrustDb;
use wargdash::trust::map::ProvedLeaf;
use wargdash::trust::state::PinSource;

const TICK: Duration = Duration::from_millis(300);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn client(url: &str) -> RegistryClient {
    RegistryClient::new(url, ClientOptions::default()).unwrap()
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::EcdsaP256).unwrap()
}

async fn cycle(c: &RegistryClient, db: &mut TrustDb, opts: &CycleOptions) -> CycleReport {
    run_cycle(c, db, opts, now()).await.unwrap()
}

fn kinds(r: &CycleReport) -> Vec<AlertKind> {
    r.alerts.iter().map(|a| a.kind).collect()
}

/// Publishes an init record for `name` and waits until a checkpoint includes it.
async fn publish_init(c: &RegistryClient, name: &str) -> ProvedLeaf {
    let k = key();
    let init = vec![Entry::Init {
        public_key: k.public_key(),
    }];
    publish_with(c, &k, name, init).await
}

/// Publishes a record of `entries` signed by `k` on the head of `name`'s log and waits for it.
async fn publish_with(
    c: &RegistryClient,
    k: &SigningKey,
    name: &str,
    entries: Vec<Entry>,
) -> ProvedLeaf {
    let pkg: PackageName = name.parse().unwrap();
    let p = publish::prepare(c, &pkg, entries, BuildOptions::default())
        .await
        .unwrap();
    let signed = p.content.sign(k);
    publish::submit(c, &pkg, &signed, &Default::default(), false, |_| {})
        .await
        .unwrap();
    for _ in 0..200 {
        let (rec, _) = c
            .get_record(&pkg.log_id(), &signed.record_id)
            .await
            .unwrap();
        if let RecordState::Published { registry_index } = rec.state {
            // The record is in a checkpoint from now on.
            return ProvedLeaf {
                index: registry_index,
                log_id: pkg.log_id(),
                record_id: signed.record_id,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} was not published");
}

async fn checkpoint(c: &RegistryClient) -> Checkpoint {
    Checkpoint::from_signed(c.checkpoint().await.unwrap()).unwrap()
}

/// A hook that rewrites the checkpoint's contents and re-signs them with `k` (as a registry
/// with that operator key would).
fn resign(
    k: SigningKey,
    f: impl Fn(&mut CheckpointContents) + Send + Sync + 'static,
) -> tamper::Hook {
    Box::new(move |_m, path, status, body| {
        if path != "/v1/fetch/checkpoint" || status != 200 {
            return body;
        }
        let mut cp: SignedCheckpoint = serde_json::from_slice(&body).unwrap();
        f(&mut cp.contents);
        serde_json::to_vec(&sign_contents(&k, &cp.contents)).unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_registry_verifies_and_published_records_resolve_from_the_ledger() {
    let op = key();
    let reg = TestRegistry::start_with_operator_key(&op, TICK);
    let c = client(&reg.url);
    let leaf = publish_init(&c, "demo:trusty").await;
    let mut db = TrustDb::in_memory().unwrap();
    // The first sync tells its progress page by page, ending at the checkpoint's length.
    let told: std::sync::Arc<std::sync::Mutex<Vec<(u64, u64)>>> = Default::default();
    let t = told.clone();
    let opts = CycleOptions {
        progress: Some(wargdash::trust::cycle::Progress(std::sync::Arc::new(
            move |done, of| t.lock().unwrap().push((done, of)),
        ))),
        ..Default::default()
    };
    let r = cycle(&c, &mut db, &opts).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    assert_eq!(
        told.lock().unwrap().last(),
        Some(&(r.log_length, r.log_length)),
        "{told:?}"
    );
    assert!(r.checkpoint_verified && r.state_advanced && r.ledger_available);
    assert_eq!(r.pin, Some(PinSource::Tofu));
    assert_eq!(r.pinned_key_id, Some(op.key_id()));
    assert_eq!(r.operator_key_id, Some(op.key_id()));
    assert!(r.log_length > leaf.index);
    assert_eq!(r.ledger_len, r.log_length);
    assert!(r.synced_entries >= r.log_length, "{r:#?}");

    let registry = c.base().to_string();
    let missing = (leaf.log_id, RecordId(Sha256Hash([7; 32])));
    let found = lookup_records(&db, &registry, &[(leaf.log_id, leaf.record_id), missing]).unwrap();
    assert_eq!(found, vec![Some(leaf.index), None]);

    // A second cycle is clean and fetches only what is new (plus one entry of overlap).
    let leaf2 = publish_init(&c, "demo:second").await;
    let r2 = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r2.alerts.is_empty(), "{r2:#?}");
    assert!(r2.ledger_len > leaf2.index);
    assert!(
        r2.synced_entries <= r2.ledger_len - r.ledger_len + 3,
        "{r2:#?}"
    );
    let found = lookup_records(&db, &registry, &[(leaf2.log_id, leaf2.record_id)]).unwrap();
    assert_eq!(found, vec![Some(leaf2.index)]);

    // Full audit and head proofs against the latest checkpoint.
    let cp = checkpoint(&c).await;
    let full = verify_full(&c, &cp).await.unwrap();
    assert!(full.ok(), "{full:?}");
    assert_eq!(
        prove_heads(&c, &cp, &[leaf, leaf2]).await,
        vec![Ok(()), Ok(())]
    );
    assert!(db.alerts(&registry, 10).unwrap().is_empty());
    assert!(!db.archived_checkpoints(&registry).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_another_operator_key_breaks_the_tofu_pin_until_reset() {
    let (k1, k2) = (key(), key());
    let reg1 = TestRegistry::start_with_operator_key(&k1, TICK);
    let proxy = TamperProxy::start(&reg1.url);
    let c = client(&proxy.url);
    let mut db = TrustDb::in_memory().unwrap();
    let r1 = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r1.alerts.is_empty(), "{r1:#?}");
    let registry = c.base().to_string();
    let baseline = db.load_state(&registry).unwrap().unwrap();

    drop(reg1);
    let reg2 = TestRegistry::start_with_operator_key(&k2, TICK);
    proxy.set_upstream(&reg2.url);
    for _ in 0..2 {
        let r = cycle(&c, &mut db, &CycleOptions::default()).await;
        let ks = kinds(&r);
        for k in [
            AlertKind::OperatorKeyChanged,
            AlertKind::OperatorKeysChanged,
            AlertKind::OperatorLogReplaced,
        ] {
            assert!(ks.contains(&k), "{k:?} missing: {r:#?}");
        }
        // The new checkpoint's signature itself is fine: only the pin catches this.
        assert!(r.checkpoint_verified);
        assert!(!ks.contains(&AlertKind::CheckpointSignature));
        assert!(r.explanation.is_none(), "another key is not a mere restart");
        assert!(!r.state_advanced);
        assert_eq!(db.load_state(&registry).unwrap().unwrap(), baseline);
    }
    // One attack, one stored row: seen by both cycles.
    let stored = db.alerts(&registry, 100).unwrap();
    let changed: Vec<_> = stored
        .iter()
        .filter(|a| a.alert.kind == AlertKind::OperatorKeyChanged)
        .collect();
    assert_eq!(changed.len(), 1, "{stored:#?}");
    assert_eq!(changed[0].count, 2, "{stored:#?}");

    let reset = CycleOptions {
        reset_trust: true,
        ..Default::default()
    };
    let r = cycle(&c, &mut db, &reset).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    assert_eq!(r.pinned_key_id, Some(k2.key_id()));
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r.alerts.is_empty(), "{r:#?}");

    // A pin given on the command line wins over the stored one.
    let flag = CycleOptions {
        pin: Some((k1.key_id(), PinSource::Flag)),
        ..Default::default()
    };
    let r = cycle(&c, &mut db, &flag).await;
    assert_eq!(kinds(&r), vec![AlertKind::OperatorKeyChanged], "{r:#?}");
    assert_eq!(r.pin, Some(PinSource::Flag));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_store_restart_under_the_same_key_is_recognised_and_explained() {
    let k = key();
    let reg1 = TestRegistry::start_with_operator_key(&k, TICK);
    let proxy = TamperProxy::start(&reg1.url);
    let c = client(&proxy.url);
    publish_init(&c, "demo:before").await;
    let mut db = TrustDb::in_memory().unwrap();
    let r1 = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r1.alerts.is_empty(), "{r1:#?}");
    assert!(r1.log_length >= 2);

    // Restart: length back to 1, new operator init record, same key id.
    drop(reg1);
    let reg2 = TestRegistry::start_with_operator_key(&k, TICK);
    proxy.set_upstream(&reg2.url);
    for _ in 0..2 {
        let r = cycle(&c, &mut db, &CycleOptions::default()).await;
        let ks = kinds(&r);
        assert!(ks.contains(&AlertKind::Rewind), "{r:#?}");
        assert!(ks.contains(&AlertKind::OperatorLogReplaced), "{r:#?}");
        assert!(!ks.contains(&AlertKind::OperatorKeyChanged), "{r:#?}");
        assert!(
            r.explanation.as_deref().unwrap_or("").contains("in-memory"),
            "{r:#?}"
        );
        assert!(!r.state_advanced);
    }

    // The new history grows past the verified length: its ledger no longer extends the
    // verified prefix — a fork, still explained as a restart.
    while checkpoint(&c).await.log_length <= r1.log_length {
        publish_init(
            &c,
            &format!("demo:after-n{}", checkpoint(&c).await.log_length),
        )
        .await;
    }
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    let ks = kinds(&r);
    assert!(ks.contains(&AlertKind::Fork), "{r:#?}");
    assert!(ks.contains(&AlertKind::OperatorLogReplaced), "{r:#?}");
    assert!(r.explanation.is_some());

    let reset = CycleOptions {
        reset_trust: true,
        ..Default::default()
    };
    let r = cycle(&c, &mut db, &reset).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    assert!(r.state_advanced);
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_restart_under_the_same_key_is_a_fork_at_equal_length() {
    let k = key();
    let reg1 = TestRegistry::start_with_operator_key(&k, TICK);
    let proxy = TamperProxy::start(&reg1.url);
    let c = client(&proxy.url);
    let mut db = TrustDb::in_memory().unwrap();
    assert!(cycle(&c, &mut db, &CycleOptions::default())
        .await
        .alerts
        .is_empty());
    drop(reg1);
    // The operator init record carries its creation time: wait so it differs.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reg2 = TestRegistry::start_with_operator_key(&k, TICK);
    proxy.set_upstream(&reg2.url);
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    let ks = kinds(&r);
    assert!(ks.contains(&AlertKind::Fork), "{r:#?}");
    assert!(ks.contains(&AlertKind::OperatorLogReplaced), "{r:#?}");
    assert!(r.explanation.is_some(), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_checkpoints_raise_signature_and_timestamp_alerts() {
    let op = key();
    let reg = TestRegistry::start_with_operator_key(&op, TICK);
    let proxy = TamperProxy::start(&reg.url);
    let c = client(&proxy.url);
    let opts = CycleOptions::default();

    // Timestamp bumped under the original signature.
    proxy.set_hook(Box::new(|_m, path, status, body| {
        if path != "/v1/fetch/checkpoint" || status != 200 {
            return body;
        }
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let ts = v["contents"]["timestamp"].as_u64().unwrap();
        v["contents"]["timestamp"] = (ts + 1).into();
        serde_json::to_vec(&v).unwrap()
    }));
    let mut db = TrustDb::in_memory().unwrap();
    let r = cycle(&c, &mut db, &opts).await;
    assert_eq!(kinds(&r), vec![AlertKind::CheckpointSignature], "{r:#?}");
    assert!(!r.checkpoint_verified && !r.state_advanced);

    // Re-signed with the real operator key, one hour ahead: valid signature, future.
    proxy.set_hook(resign(op.encode_private().parse_key(), |c| {
        c.timestamp += 3600
    }));
    let mut db = TrustDb::in_memory().unwrap();
    let r = cycle(&c, &mut db, &opts).await;
    assert_eq!(kinds(&r), vec![AlertKind::CheckpointFuture], "{r:#?}");
    assert!(r.checkpoint_verified);

    // One hour old: stale.
    proxy.set_hook(resign(op.encode_private().parse_key(), |c| {
        c.timestamp -= 3600
    }));
    let mut db = TrustDb::in_memory().unwrap();
    let r = cycle(&c, &mut db, &opts).await;
    assert_eq!(kinds(&r), vec![AlertKind::CheckpointStale], "{r:#?}");

    // 30 s ahead (within the skew) is verified; the real clock afterwards goes backwards.
    proxy.set_hook(resign(op.encode_private().parse_key(), |c| {
        c.timestamp += 30
    }));
    let mut db = TrustDb::in_memory().unwrap();
    let r = cycle(&c, &mut db, &opts).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    proxy.clear_hook();
    let r = cycle(&c, &mut db, &opts).await;
    assert_eq!(kinds(&r), vec![AlertKind::TimestampBackwards], "{r:#?}");
    // State did not advance: it keeps alerting.
    let r = cycle(&c, &mut db, &opts).await;
    assert_eq!(kinds(&r), vec![AlertKind::TimestampBackwards], "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_genuine_checkpoint_after_a_newer_one_is_a_rewind() {
    let reg = TestRegistry::start_with_operator_key(&key(), TICK);
    let proxy = TamperProxy::start(&reg.url);
    let c = client(&proxy.url);
    let (_, old_text) = c.checkpoint_raw().await.unwrap();
    let old = Checkpoint::parse(&old_text).unwrap();
    publish_init(&c, "demo:newer").await;
    let mut db = TrustDb::in_memory().unwrap();
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    assert!(r.log_length > old.log_length);
    let replay = old_text.into_bytes();
    proxy.set_hook(Box::new(move |_m, path, _s, body| {
        if path == "/v1/fetch/checkpoint" {
            replay.clone()
        } else {
            body
        }
    }));
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(kinds(&r).contains(&AlertKind::Rewind), "{r:#?}");
    assert!(r.checkpoint_verified, "the replayed checkpoint is genuine");
    assert!(r.explanation.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_ledger_entry_is_a_ledger_mismatch() {
    let reg = TestRegistry::start_with_operator_key(&key(), TICK);
    let proxy = TamperProxy::start(&reg.url);
    let c = client(&proxy.url);
    publish_init(&c, "demo:one").await;

    // First contact: entry 0's record id altered.
    proxy.set_hook(Box::new(|_m, path, _s, mut body| {
        if path == "/v1/ledger/records/0" && body.len() >= 64 {
            body[40] ^= 1;
        }
        body
    }));
    let mut db = TrustDb::in_memory().unwrap();
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert_eq!(kinds(&r), vec![AlertKind::LedgerMismatch], "{r:#?}");
    assert!(!r.state_advanced);
    // Issue 15, finding 9: the rows that failed the comparison are not left behind.
    assert_eq!(db.ledger_count(c.base().as_ref()).unwrap(), 0);
    let cp = checkpoint(&c).await;
    assert!(!verify_full(&c, &cp).await.unwrap().ok());

    // After a clean cycle, an already verified entry (the overlap the next sync re-reads)
    // changes while the signed root still matches the verified history.
    proxy.clear_hook();
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    let last = format!("/v1/ledger/records/{}", r.ledger_len - 1);
    proxy.set_hook(Box::new(move |_m, path, _s, mut body| {
        if path == last && body.len() >= 64 {
            body[0] ^= 1;
        }
        body
    }));
    let r2 = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert_eq!(kinds(&r2), vec![AlertKind::LedgerMismatch], "{r2:#?}");
    assert!(r2.alerts[0].detail.contains("changed"), "{r2:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptied_or_altered_inclusion_bundles_fail_head_proofs() {
    let reg = TestRegistry::start_with_operator_key(&key(), TICK);
    let proxy = TamperProxy::start(&reg.url);
    let c = client(&proxy.url);
    let leaf = publish_init(&c, "demo:proved").await;
    let cp = checkpoint(&c).await;
    assert_eq!(prove_heads(&c, &cp, &[leaf]).await, vec![Ok(())]);

    let edit = |f: fn(&mut serde_json::Value)| -> tamper::Hook {
        Box::new(move |_m, path, status, body| {
            if path != "/v1/proof/inclusion" || status != 200 {
                return body;
            }
            let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            f(&mut v);
            serde_json::to_vec(&v).unwrap()
        })
    };
    // The map bundle emptied (warg-client accepts this).
    proxy.set_hook(edit(|v| v["map"] = "".into()));
    let res = prove_heads(&c, &cp, &[leaf]).await;
    assert!(
        res[0]
            .as_ref()
            .is_err_and(|e| e.contains("map bundle holds 0 proofs")),
        "{res:?}"
    );
    // Both bundles without proofs.
    proxy.set_hook(edit(|v| {
        let log = B64.decode(v["log"].as_str().unwrap()).unwrap();
        let mut b = warg_protobuf::transparency::LogProofBundle::decode(log.as_slice()).unwrap();
        b.included_indices.clear();
        b.hashes.clear();
        v["log"] = B64.encode(b.encode_to_vec()).into();
        v["map"] = "".into();
    }));
    let res = prove_heads(&c, &cp, &[leaf]).await;
    assert!(
        res[0]
            .as_ref()
            .is_err_and(|e| e.contains("log bundle proves nodes [], expected [")),
        "{res:?}"
    );
    // One map peer altered.
    proxy.set_hook(edit(|v| {
        let mut map = B64.decode(v["map"].as_str().unwrap()).unwrap();
        let n = map.len();
        map[n - 1] ^= 1;
        v["map"] = B64.encode(map).into();
    }));
    let res = prove_heads(&c, &cp, &[leaf]).await;
    assert!(
        res[0].as_ref().is_err_and(|e| e.contains("mapRoot")),
        "{res:?}"
    );
    // A wrong record id for the leaf is refused by the registry or by the proof.
    proxy.clear_hook();
    let wrong = ProvedLeaf {
        record_id: RecordId(Sha256Hash([9; 32])),
        ..leaf
    };
    let res = prove_heads(&c, &cp, &[leaf, wrong]).await;
    assert!(res[0].is_ok(), "{res:?}");
    assert!(
        res[1]
            .as_ref()
            .is_err_and(|e| e.contains("evaluates to") && e.contains("not the signed logRoot")),
        "{res:?}"
    );

    // The cycle proves the operator log's head: an emptied map bundle is RECORD_NOT_INCLUDED.
    proxy.set_hook(edit(|v| v["map"] = "".into()));
    let mut db = TrustDb::in_memory().unwrap();
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert_eq!(kinds(&r), vec![AlertKind::RecordNotIncluded], "{r:#?}");
}

/// `encode_private()` text back to a key (the re-signing hooks own their key).
trait ParseKey {
    fn parse_key(&self) -> SigningKey;
}

impl ParseKey for zeroize::Zeroizing<String> {
    fn parse_key(&self) -> SigningKey {
        SigningKey::decode(self).unwrap()
    }
}

/// The package check after each cycle looks only at what moved: a quiet registry costs no
/// fetch; a new record in a tracked package is fetched, validated and its time learned; a
/// record in a package nobody tracks fetches nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_checks_follow_only_the_logs_that_moved() {
    use wargdash::trust::tracked::{check_packages, PackageCache};
    let reg = TestRegistry::start_with_operator_key(&key(), TICK);
    let c = client(&reg.url);
    let owner = key();
    let init = vec![Entry::Init {
        public_key: owner.public_key(),
    }];
    let first = publish_with(&c, &owner, "demo:moving", init).await;
    let mut db = TrustDb::in_memory().unwrap();
    let mut cache = PackageCache::default();
    let logs = vec![(first.log_id, Some("demo:moving".to_string()))];
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    let p = check_packages(&c, &mut db, &logs, &mut cache)
        .await
        .unwrap();
    assert_eq!(
        (p.checked, p.did.len(), p.proven_logs()),
        (1, 1, 1),
        "{p:#?}"
    );

    // Nothing moved: nothing fetched, the outcome stays.
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    let p = check_packages(&c, &mut db, &logs, &mut cache)
        .await
        .unwrap();
    assert_eq!((p.checked, p.did.len()), (0, 1), "{p:#?}");

    // Another package moved: still nothing fetched for this one.
    publish_init(&c, "demo:elsewhere").await;
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(
        r.alerts.is_empty() && r.ledger_len > first.index + 1,
        "{r:#?}"
    );
    let p = check_packages(&c, &mut db, &logs, &mut cache)
        .await
        .unwrap();
    assert_eq!((p.checked, p.did.len()), (0, 1), "{p:#?}");

    // This package moved: fetched again, both records known, the new one's own time.
    let friend = key();
    let grant = vec![Entry::Grant {
        public_key: friend.public_key(),
        permissions: vec![wargdash::record::Permission::Release],
    }];
    let second = publish_with(&c, &owner, "demo:moving", grant).await;
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    let p = check_packages(&c, &mut db, &logs, &mut cache)
        .await
        .unwrap();
    assert_eq!((p.checked, p.did.len()), (1, 2), "{p:#?}");
    let rec = p
        .did
        .iter()
        .find(|(k, _)| k.record == second.record_id)
        .map(|(_, r)| r.clone())
        .expect("the new record");
    assert_eq!(rec.registry_index, second.index);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - rec.time_secs).abs() < 120, "{rec:?}");
    assert!(p.active.is_empty() && p.skipped.is_empty(), "{p:#?}");
}

/// Issue 15, finding 9: cycles without a ledger (consistency proofs only), then a ledger that
/// hashes to the registry's new signed root but rewrites the history verified before: its
/// prefix must give the logRoot verified then, else FORK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_that_appears_must_extend_the_root_verified_without_it() {
    let op = key();
    let reg1 = TestRegistry::start_with_operator_key(&op, TICK);
    let proxy = TamperProxy::start(&reg1.url);
    let c = client(&proxy.url);
    publish_init(&c, "demo:first").await;
    proxy.set_status_hook(Box::new(
        |_m, path, s| if path == "/v1/ledger" { 404 } else { s },
    ));
    proxy.set_hook(Box::new(|_m, path, _s, body| {
        if path == "/v1/ledger" {
            br#"{"status":404,"message":"not found"}"#.to_vec()
        } else {
            body
        }
    }));
    let mut db = TrustDb::in_memory().unwrap();
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(r.alerts.is_empty(), "{r:#?}");
    assert!(!r.ledger_available && r.state_advanced, "{r:#?}");
    // Another history under the same key, longer than the one verified; its ledger is served.
    let reg2 = TestRegistry::start_with_operator_key(&op, TICK);
    proxy.set_upstream(&reg2.url);
    proxy.set_status_hook(Box::new(|_m, _p, s| s));
    proxy.clear_hook();
    publish_init(&c, "demo:other").await;
    publish_init(&c, "demo:third").await;
    let r = cycle(&c, &mut db, &CycleOptions::default()).await;
    assert!(kinds(&r).contains(&AlertKind::Fork), "{r:#?}");
    assert!(
        r.alerts
            .iter()
            .any(|a| a.detail.contains("verified before (without a ledger)")),
        "{r:#?}"
    );
    assert!(!r.state_advanced);
}

/// Issue 15, finding 3: the ledger sync has a per-cycle budget and resumes where it stopped:
/// with a budget of one page, a ledger of more than a page is verified over two cycles, the
/// second fetching only what the first did not (nothing is planned or fetched twice), and the
/// state advances only when the whole length is verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_over_budget_resumes_next_cycle() {
    let reg = TestRegistry::start_with_operator_key(&key(), TICK);
    let c = client(&reg.url);
    let k = key();
    let pkgs: Vec<PackageName> = (0..1100)
        .map(|i| format!("demo:many{i}").parse().unwrap())
        .collect();
    use futures::StreamExt;
    futures::stream::iter(&pkgs)
        .map(|pkg| {
            let (c, k) = (&c, &k);
            async move {
                let rec = wargdash::record::RecordContent {
                    prev: None,
                    time: wargdash::record::RecordTime::now(),
                    entries: vec![Entry::Init {
                        public_key: k.public_key(),
                    }],
                }
                .sign(k);
                c.publish(&pkg.log_id(), pkg.as_str(), &rec.envelope)
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    // Wait for a checkpoint covering them all.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while checkpoint(&c).await.log_length < 1101 {
        assert!(std::time::Instant::now() < deadline, "not all published");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut db = TrustDb::in_memory().unwrap();
    let budget = CycleOptions {
        ledger_budget: Some(1000),
        ..Default::default()
    };
    let r1 = cycle(&c, &mut db, &budget).await;
    assert!(r1.alerts.is_empty(), "{r1:#?}");
    let (reached, of) = r1.ledger_pending.expect("cut by the budget");
    assert_eq!(reached, 1000, "{r1:#?}");
    assert!(of >= 1101);
    assert!(!r1.state_advanced);
    assert_eq!(r1.synced_entries, 1000);
    let r2 = cycle(&c, &mut db, &budget).await;
    assert!(r2.alerts.is_empty(), "{r2:#?}");
    assert!(r2.state_advanced, "{r2:#?}");
    assert_eq!(r2.ledger_pending, None);
    assert!(r2.ledger_len >= 1101, "{r2:#?}");
    // Resumed: only the rest was fetched (the overlap entry is not counted as new).
    assert!(
        r2.synced_entries < 200,
        "the second cycle fetched {} entries",
        r2.synced_entries
    );
}
