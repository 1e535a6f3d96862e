//! Tests of the trust store (real SQLite, in memory or in a temporary file).

use super::*;

#[test]
fn state_round_trips_and_ledger_lookups() {
    let mut db = TrustDb::in_memory().unwrap();
    let reg = "http://127.0.0.1:1/";
    assert!(db.load_state(reg).unwrap().is_none());
    let mut s = TrustState::new(reg);
    s.pinned_key_id = Some(KeyId(Sha256Hash([1; 32])));
    s.pin_source = Some(PinSource::Tofu);
    s.operator_record0 = Some(RecordId(Sha256Hash([2; 32])));
    s.operator_key_ids.insert(KeyId(Sha256Hash([1; 32])));
    let mut f = Frontier::new();
    let es: Vec<LedgerEntry> = (0..5u8)
        .map(|i| LedgerEntry {
            log_id: LogId(Sha256Hash([i % 2; 32])),
            record_id: RecordId(Sha256Hash([i; 32])),
        })
        .collect();
    for e in &es {
        f.push_entry(e);
    }
    s.frontier = f.to_bytes();
    s.ledger_len = 5;
    s.checkpoint = Some(VerifiedCheckpoint {
        envelope: "{}".into(),
        log_length: 5,
        log_root: f.root(),
        map_root: Sha256Hash([3; 32]),
        timestamp: 77,
    });
    db.save_state(&s).unwrap();
    assert_eq!(db.load_state(reg).unwrap().unwrap(), s);
    db.write_ledger_batch(reg, 0, &es).unwrap();
    assert_eq!(db.ledger_entry(reg, 3).unwrap(), Some(es[3]));
    assert_eq!(
        db.find_record(reg, &es[3].log_id, &es[3].record_id, 5)
            .unwrap(),
        Some(3)
    );
    assert_eq!(
        db.find_record(reg, &es[3].log_id, &es[3].record_id, 3)
            .unwrap(),
        None
    );
    db.truncate_ledger(reg, 2).unwrap();
    assert_eq!(db.ledger_count(reg).unwrap(), 2);
    let a = Alert::new(AlertKind::Fork, "x", serde_json::json!({"a": 1}));
    db.add_alert(reg, &a, 5).unwrap();
    assert_eq!(db.alerts(reg, 10).unwrap()[0].alert, a);
    db.clear_state(reg).unwrap();
    assert!(db.load_state(reg).unwrap().is_none());
    assert_eq!(db.ledger_count(reg).unwrap(), 0);
    assert_eq!(db.alerts(reg, 10).unwrap().len(), 1);
}

/// Both strategies of `find_records` (one query each; one scan for a large batch) give
/// what `find_record` gives, below the bound, with duplicates at their lowest index, and
/// `log_entries` lists one log in registry order.
#[test]
fn batch_lookups_agree_with_single_ones() {
    let mut db = TrustDb::in_memory().unwrap();
    let reg = "http://127.0.0.1:1/";
    let entry = |i: u32| LedgerEntry {
        log_id: LogId(Sha256Hash([(i % 7) as u8; 32])),
        record_id: RecordId(Sha256Hash::of(&[&i.to_le_bytes()])),
    };
    let mut es: Vec<LedgerEntry> = (0..300).map(entry).collect();
    // The same (log, record) again later: the lowest index counts.
    es.push(es[10]);
    db.write_ledger_batch(reg, 0, &es).unwrap();
    let other = LedgerEntry {
        log_id: LogId(Sha256Hash([9; 32])),
        record_id: RecordId(Sha256Hash([9; 32])),
    };
    for below in [0u64, 5, 150, 301] {
        // 3 items: one query each; 200 items next to a ledger of ≤ 301: one scan.
        for n in [3usize, 200] {
            let mut items: Vec<(LogId, RecordId)> = (0..n)
                .map(|i| (es[i * 3 % 300].log_id, es[i * 3 % 300].record_id))
                .collect();
            items.push((other.log_id, other.record_id));
            items.push((es[10].log_id, es[10].record_id));
            let want: Vec<Option<u64>> = items
                .iter()
                .map(|(l, r)| db.find_record(reg, l, r, below).unwrap())
                .collect();
            assert_eq!(
                db.find_records(reg, &items, below).unwrap(),
                want,
                "{below} {n}"
            );
            if below == 301 {
                assert_eq!(want.last(), Some(&Some(10)));
            }
        }
    }
    let log = es[3].log_id;
    let listed = db.log_entries(reg, &log, 100).unwrap();
    let want: Vec<(u64, RecordId)> = (0..100u64)
        .filter(|i| es[*i as usize].log_id == log)
        .map(|i| (i, es[i as usize].record_id))
        .collect();
    assert_eq!(listed, want);
}

fn checkpoint(len: u64, ts: u64, key_id: &str) -> Checkpoint {
    let env = crate::registry::model::SignedCheckpoint {
        contents: crate::registry::model::CheckpointContents {
            log_length: len,
            log_root: format!("sha256:{}", "11".repeat(32)),
            map_root: format!("sha256:{}", "22".repeat(32)),
            timestamp: ts,
        },
        key_id: key_id.to_string(),
        signature: "ecdsa-p256:AAAA".into(),
    };
    Checkpoint::from_signed(env).unwrap()
}

/// Issue 15, finding 8: one attack is one row (first seen, last seen, count) however many
/// cycles see it; a clean cycle closes it; record alerts are one row per record.
#[test]
fn one_attack_is_one_row_until_a_clean_cycle() {
    let mut db = TrustDb::in_memory().unwrap();
    let fork = |n: u32| {
        Alert::new(
            AlertKind::Fork,
            format!("detail {n}"),
            serde_json::json!({"n": n}),
        )
    };
    for (i, t) in [10, 20, 30].into_iter().enumerate() {
        db.add_alert("r", &fork(i as u32), t).unwrap();
    }
    let rows = db.alerts("r", 10).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].time_ms, rows[0].last_ms, rows[0].count),
        (10, 30, 3)
    );
    // The first detail and evidence are kept.
    assert_eq!(rows[0].alert.detail, "detail 0");
    db.close_alerts("r").unwrap();
    db.add_alert("r", &fork(9), 40).unwrap();
    assert_eq!(db.alerts("r", 10).unwrap().len(), 2);
    // Records: one row per record, whatever the cycles.
    let rec = |r: &str| {
        Alert::new(
            AlertKind::RecordNotIncluded,
            "x",
            serde_json::json!({"logId": "sha256:aa", "recordId": r}),
        )
    };
    db.add_alert("r", &rec("sha256:01"), 50).unwrap();
    db.add_alert("r", &rec("sha256:01"), 60).unwrap();
    db.add_alert("r", &rec("sha256:02"), 70).unwrap();
    db.close_alerts("r").unwrap();
    db.add_alert("r", &rec("sha256:01"), 80).unwrap();
    assert_eq!(db.alerts("r", 10).unwrap().len(), 4);
    // Another registry is another subject.
    db.add_alert("s", &fork(1), 90).unwrap();
    assert_eq!(db.alerts("s", 10).unwrap().len(), 1);
    // The mark moves when an alert is seen again.
    let m = db.alerts_mark("r").unwrap();
    db.add_alert("r", &rec("sha256:02"), 95).unwrap();
    assert_ne!(db.alerts_mark("r").unwrap(), m);
}

/// Issue 15, finding 8: evidence is capped and marked; a 1 MiB key id is not archived and
/// changes nothing but the alert's (capped) text; the same tree re-signed is archived once.
#[test]
fn evidence_and_the_archive_are_bounded() {
    let mut db = TrustDb::in_memory().unwrap();
    let huge = "k".repeat(1 << 20);
    let cp = checkpoint(5, 100, &huge);
    assert!(!db.archive_checkpoint("r", &cp, 1).unwrap());
    assert!(db.archived_checkpoints("r").unwrap().is_empty());
    let a = Alert::new(
        AlertKind::CheckpointSignature,
        huge.clone(),
        serde_json::json!({"checkpoint": cp.envelope}),
    );
    let id = db.add_alert("r", &a, 1).unwrap();
    let ev = db.alert_evidence(id).unwrap().unwrap();
    assert_eq!(ev["truncated"], true, "{}", ev.to_string().len());
    assert!(
        ev.to_string().len() <= MAX_EVIDENCE,
        "{}",
        ev.to_string().len()
    );
    let stored = db.alerts("r", 1).unwrap();
    assert!(stored[0].alert.detail.len() < 5000);
    assert!(stored[0]
        .alert
        .detail
        .ends_with(&format!("({} bytes)", huge.len())));
    // One envelope per tree: re-signed with later timestamps, archived once.
    let k = format!("sha256:{}", "33".repeat(32));
    assert!(db
        .archive_checkpoint("r", &checkpoint(5, 100, &k), 1)
        .unwrap());
    assert!(!db
        .archive_checkpoint("r", &checkpoint(5, 105, &k), 2)
        .unwrap());
    assert!(db
        .archive_checkpoint("r", &checkpoint(6, 110, &k), 3)
        .unwrap());
    assert_eq!(db.archived_checkpoints("r").unwrap().len(), 2);
}

/// Issue 15, finding 8: the retention limit keeps the newest rows, seen within the days.
#[test]
fn pruning_keeps_the_newest_within_the_days() {
    let mut db = TrustDb::in_memory().unwrap();
    let day = 86_400_000i64;
    for i in 0..10 {
        db.add_alert(
            "r",
            &Alert::new(AlertKind::Rewind, "x", serde_json::Value::Null),
            i * day,
        )
        .unwrap();
        db.close_alerts("r").unwrap();
    }
    let gone = db
        .prune_alerts("r", Retention { rows: 5, days: 7 }, 10 * day)
        .unwrap();
    assert_eq!(gone, 5);
    let left: Vec<i64> = db
        .alerts("r", 100)
        .unwrap()
        .iter()
        .map(|a| a.time_ms)
        .collect();
    assert_eq!(left, (5..10).rev().map(|i| i * day).collect::<Vec<_>>());
    let gone = db
        .prune_alerts("r", Retention { rows: 100, days: 3 }, 10 * day)
        .unwrap();
    assert_eq!(gone, 2);
}

/// The trust tables share the store's file; writing them leaves the tracked set's change
/// mark alone (the dashboard's store thread and verifier stay idle).
#[test]
fn trust_writes_leave_the_tracked_sets_mark_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wargdash.db");
    let store = crate::tracker::store::Store::open(&path, "http://a").unwrap();
    let m = store.change_mark().unwrap();
    let mut trust = TrustDb::open(&path).unwrap();
    let alert = Alert::new(AlertKind::Fork, "x", serde_json::json!({}));
    trust.add_alert("http://a/", &alert, 1).unwrap();
    assert_eq!(store.change_mark().unwrap(), m);
}
