//! Unit tests of the store (`src/tracker/store.rs`).

use super::*;
use crate::ids::Sha256Hash;

fn ids(n: u8) -> (LogId, RecordId) {
    (
        LogId(Sha256Hash([n; 32])),
        RecordId(Sha256Hash([n.wrapping_add(100); 32])),
    )
}

#[test]
fn events_list_state_changes_newest_first_with_where_they_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("s.db"), "http://r").unwrap();
    let (l, r) = ids(9);
    s.add(&[NewTracked::by_hand(l, r, Some("demo:ev".into()))])
        .unwrap();
    for (i, st) in ["sourcing", "processing", "published"].iter().enumerate() {
        s.record_polls(&[PollOutcome {
            log_id: l,
            record_id: r,
            at: i as i64,
            result: Ok(PolledState {
                state: st.to_string(),
                detail: String::new(),
                response: serde_json::json!({ "state": st }),
                missing: None,
            }),
        }])
        .unwrap();
    }
    let ev = s.events(10).unwrap();
    let seen: Vec<(Option<&str>, &str)> = ev
        .iter()
        .map(|e| (e.from.as_deref(), e.to.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("processing"), "published"),
            (Some("sourcing"), "processing"),
            (None, "sourcing")
        ]
    );
    assert_eq!(ev[0].package.as_deref(), Some("demo:ev"));
    // Another registry's store sees none of them.
    let other = Store::open(&dir.path().join("s.db"), "http://other").unwrap();
    assert!(other.events(10).unwrap().is_empty());
}

#[test]
fn history_is_capped_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("s.db"), "http://r").unwrap();
    s.set_history_limit(3);
    let (l, r) = ids(7);
    s.add(&[NewTracked::by_hand(l, r, None)]).unwrap();
    for i in 0..10 {
        s.record_polls(&[PollOutcome {
            log_id: l,
            record_id: r,
            at: i,
            result: Ok(PolledState {
                state: if i % 2 == 0 { "processing" } else { "sourcing" }.into(),
                detail: format!("change {i}"),
                response: serde_json::json!({ "n": i }),
                missing: None,
            }),
        }])
        .unwrap();
    }
    let h = s.history(&l, &r).unwrap();
    let details: Vec<&str> = h.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, ["change 7", "change 8", "change 9"]);
}

#[test]
fn add_poll_history_remove() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("s.db"), "http://r").unwrap();
    let (l, r) = ids(1);
    let new = NewTracked {
        log_id: l,
        record_id: r,
        package: None,
        origin: Origin::Tracked,
        entries: None,
    };
    assert_eq!(s.add(&[new.clone(), new.clone()]).unwrap(), 1);
    let polled = |state: &str, missing: Option<serde_json::Value>| PollOutcome {
        log_id: l,
        record_id: r,
        at: now_ms(),
        result: Ok(PolledState {
            state: state.into(),
            detail: String::new(),
            response: serde_json::json!({ "state": state }),
            missing,
        }),
    };
    s.record_polls(&[polled(
        "sourcing",
        Some(serde_json::json!({"sha256:aa": {}})),
    )])
    .unwrap();
    s.record_polls(&[polled("processing", None)]).unwrap();
    s.record_polls(&[polled("processing", None)]).unwrap();
    let t = &s.list().unwrap()[0];
    assert_eq!(t.state.as_deref(), Some("processing"));
    assert!(
        t.missing.is_some(),
        "missing content survives the sourcing→processing step"
    );
    assert_eq!(s.history(&l, &r).unwrap().len(), 2);
    assert!(s.remove(&l, &r).unwrap());
    assert!(s.list().unwrap().is_empty());
}

/// Another process holds the write lock: `add` and `record_polls` wait for it (busy
/// timeout) instead of failing with "database is locked".
#[test]
fn writes_wait_for_another_writer_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut s = Store::open(&path, "").unwrap();
    let (l, r) = ids(1);
    let new = |l, r| NewTracked {
        log_id: l,
        record_id: r,
        package: None,
        origin: Origin::Tracked,
        entries: None,
    };
    s.add(&[new(l, r)]).unwrap();
    for round in 0..2 {
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        other
            .execute(
                "UPDATE tracked SET polled_at = 1 WHERE log_id = ?1",
                params![l.to_string()],
            )
            .unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let res = if round == 0 {
            let (l2, r2) = ids(2);
            s.add(&[new(l2, r2)]).map(|_| ())
        } else {
            s.record_polls(&[PollOutcome {
                log_id: l,
                record_id: r,
                at: now_ms(),
                result: Err("x".into()),
            }])
        };
        holder.join().unwrap();
        res.unwrap_or_else(|e| panic!("round {round}: {e:#}"));
    }
    assert_eq!(s.list().unwrap().len(), 2);
}

#[test]
fn corrupt_store_is_reported_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    std::fs::write(
        &path,
        b"this is not a database, it is a note from the operator",
    )
    .unwrap();
    let err = Store::open(&path, "")
        .err()
        .expect("corrupt store must not open");
    let msg = format!("{err:#}");
    assert!(msg.contains(path.to_str().unwrap()), "{msg}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"this is not a database, it is a note from the operator"
    );
}

/// The change mark moves with every change to this registry's tracked rows, from any
/// connection, and not with the trust tables' writes or another registry's rows (the store
/// thread and the verifier rely on it to stay idle).
#[test]
fn the_change_mark_follows_this_registrys_tracked_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut a = Store::open(&path, "http://a").unwrap();
    let mut b = Store::open(&path, "http://b").unwrap();
    let (l, r) = ids(3);
    let m0 = a.change_mark().unwrap();
    a.add(&[NewTracked::by_hand(l, r, None)]).unwrap();
    let m1 = a.change_mark().unwrap();
    assert_ne!(m0, m1);
    a.record_polls(&[PollOutcome {
        log_id: l,
        record_id: r,
        at: 5,
        result: Err("down".into()),
    }])
    .unwrap();
    let m2 = a.change_mark().unwrap();
    assert_ne!(m1, m2);
    // Another registry's rows leave it alone (and so do the trust tables: trust::db's tests).
    b.add(&[NewTracked::by_hand(l, r, None)]).unwrap();
    assert_eq!(a.change_mark().unwrap(), m2);
    // A change from another connection to this registry's rows moves it.
    let mut a2 = Store::open(&path, "http://a").unwrap();
    a2.set_package(&l, "demo:named").unwrap();
    let m3 = a.change_mark().unwrap();
    assert_ne!(m2, m3);
    a.remove(&l, &r).unwrap();
    assert_ne!(a.change_mark().unwrap(), m3);
}

/// Issue 19: a poll that changed nothing only notes when it was asked (no history entry, no
/// move of the change mark: the verifier and the store thread stay idle), and a changed one
/// is recorded in full.
#[test]
fn an_unchanged_poll_only_notes_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut s = Store::open(&path, "http://a").unwrap();
    let (l, r) = ids(4);
    s.add(&[NewTracked::by_hand(l, r, None)]).unwrap();
    let outcome = |at: i64, state: &str| PollOutcome {
        log_id: l,
        record_id: r,
        at,
        result: Ok(PolledState {
            state: state.into(),
            detail: String::new(),
            response: serde_json::json!({"recordId": r.to_string(), "state": state}),
            missing: None,
        }),
    };
    s.record_polls(&[outcome(1, "processing")]).unwrap();
    let m = s.change_mark().unwrap();
    s.record_polls(&[outcome(2, "processing")]).unwrap();
    assert_eq!(s.change_mark().unwrap(), m, "nothing changed");
    let t = &s.list().unwrap()[0];
    assert_eq!(t.polled_at, Some(2));
    assert_eq!(s.history(&l, &r).unwrap().len(), 1);
    s.record_polls(&[outcome(3, "published")]).unwrap();
    assert_ne!(s.change_mark().unwrap(), m);
    assert_eq!(s.history(&l, &r).unwrap().len(), 2);
}
