//! The table's incremental view against a full recompute, through the reducer.

use super::*;
use crate::ids::{LogId, RecordId, Sha256Hash};
use crate::registry::{ApiError, PackageRecord};
use crate::tracker::store::{Origin, Tracked};
use std::time::Duration;

fn tracked(n: u32, added_at: i64) -> Tracked {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&n.to_be_bytes());
    Tracked {
        log_id: LogId(Sha256Hash(b)),
        record_id: RecordId(Sha256Hash(b)),
        package: Some(format!("demo:p{}", n % 7)),
        origin: Origin::Tracked,
        entries: None,
        added_at,
        state: None,
        response: None,
        missing: None,
        polled_at: None,
        error: None,
    }
}

/// Moving single rows as poll results arrive gives exactly the view (and selection) a full
/// filter-and-sort gives, for every sort column, both directions, with and without a filter.
#[test]
fn incremental_view_equals_full_recompute() {
    let cfg = AppConfig {
        registry: "http://127.0.0.1:1".into(),
        sandbox: false,
        readonly: false,
        interval: Duration::from_secs(2),
        color: false,
    };
    let mut s = State::new(cfg, 1_000_000);
    // Several rows share an `added_at` (as `track add -` does), so ties are exercised.
    let list: Vec<Tracked> = (0..60).map(|n| tracked(n, 1000 + (n / 4) as i64)).collect();
    let keys: Vec<RecordRef> = list
        .iter()
        .map(|t| RecordRef::new(t.log_id, t.record_id))
        .collect();
    update(&mut s, Action::StoreLoaded(list));
    let bodies = [
        serde_json::json!({"state": "processing"}),
        serde_json::json!({"state": "published", "registryIndex": 3}),
        serde_json::json!({"state": "rejected", "reason": "bad beta"}),
    ];
    let mut seed = 7u64;
    for step in 0..1500u32 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (seed >> 33) as usize;
        match step % 150 {
            0 => s.table.sort = s.table.sort.next(),
            50 => s.table.ascending = !s.table.ascending,
            100 => s.table.filter = ["", "beta", "p3", "processing"][r % 4].into(),
            _ => {}
        }
        if step % 50 == 0 {
            s.table.mark_view();
            s.table.refresh_view();
        }
        if r % 5 == 0 {
            s.table.page = 1 + r % 9;
            s.table.select_pos(r % 60);
        }
        let key = keys[r % keys.len()];
        let result = if r % 11 == 0 {
            Err(ApiError::Invalid {
                status: 400,
                message: "beta".into(),
            })
        } else {
            let body = bodies[r % 3].clone();
            let mut with_id = body.clone();
            with_id["recordId"] = key.record.to_string().into();
            let rec: PackageRecord = serde_json::from_value(with_id).expect("record");
            Ok((rec, body))
        };
        update(
            &mut s,
            Action::Polled {
                key,
                result,
                at: 2000 + (r % 13) as i64,
                latency: Duration::ZERO,
                hold: None,
            },
        );
        let mut full = s.clone();
        full.table.mark_view();
        full.table.refresh_view();
        assert_eq!(
            s.table.view, full.table.view,
            "step {step}: sort {:?}",
            s.table.sort
        );
        assert_eq!(s.table.selected, full.table.selected, "step {step}");
        assert_eq!(s.table.offset, full.table.offset, "step {step}");
        let mut counts = s.table.clone();
        counts.recount();
        assert_eq!(s.table.counts(), counts.counts(), "step {step}");
    }
}
