//! The pulse strip's figures, from the store's history: how many tracked records were seen
//! published in each of the last minutes, and how long records this app submitted took from
//! submission (when they were tracked, just before the POST) to being seen published.

use super::store::Store;
use color_eyre::eyre::{Result, WrapErr};
use rusqlite::params;

const MINUTE: i64 = 60_000;

/// The window's `published` entries, found without reading the whole history.
const INDEX: &str = "CREATE INDEX IF NOT EXISTS history_published ON history (registry, state, at)";

/// Per-minute figures, oldest minute first; the last minute is the current (partial) one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pulse {
    /// Records first seen `published` in each minute.
    pub published: Vec<u64>,
    /// The median submit → published latency (ms) of this app's records published in each
    /// minute; `None` for a minute with none.
    pub latency: Vec<Option<u64>>,
    /// Every submit → published latency (ms) in the window, smallest first.
    pub latencies: Vec<u64>,
}

/// The `pct` percentile (nearest rank) of `sorted`, smallest first.
pub fn percentile(sorted: &[u64], pct: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (pct.min(100) as usize * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

impl Pulse {
    pub fn minutes(&self) -> usize {
        self.published.len()
    }
    pub fn total(&self) -> u64 {
        self.published.iter().sum()
    }
    pub fn p50(&self) -> Option<u64> {
        percentile(&self.latencies, 50)
    }
    pub fn p95(&self) -> Option<u64> {
        percentile(&self.latencies, 95)
    }
}

impl Store {
    /// The pulse of this registry's tracked records over the `minutes` wall-clock minutes up to
    /// and including the one `now` (Unix ms) is in. A record counts once, in the minute it was
    /// first recorded `published`.
    pub fn pulse(&self, now: i64, minutes: usize) -> Result<Pulse> {
        let minutes = minutes.max(1);
        let end = (now.div_euclid(MINUTE) + 1) * MINUTE;
        let start = end - minutes as i64 * MINUTE;
        // Only the window's `published` entries are read (through `history_published`); a record
        // already published before its first one in the window is not counted again.
        self.conn()
            .execute_batch(INDEX)
            .wrap_err_with(|| format!("indexing the history in {}", self.path().display()))?;
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT p.at, t.origin, t.added_at FROM (
                   SELECT h.log_id, h.record_id, MIN(h.at) AS at FROM history h
                   WHERE h.registry = ?1 AND h.state = 'published' AND h.at >= ?2 AND h.at < ?3
                   GROUP BY h.log_id, h.record_id) p
                 LEFT JOIN tracked t
                   ON t.registry = ?1 AND t.log_id = p.log_id AND t.record_id = p.record_id
                 WHERE NOT EXISTS (
                   SELECT 1 FROM history e
                   WHERE e.registry = ?1 AND e.log_id = p.log_id AND e.record_id = p.record_id
                     AND e.state = 'published' AND e.at < p.at)",
            )
            .wrap_err_with(|| format!("reading the pulse from {}", self.path().display()))?;
        let rows = stmt
            .query_map(params![self.registry(), start, end], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .wrap_err_with(|| format!("reading the pulse from {}", self.path().display()))?;
        let mut published = vec![0u64; minutes];
        let mut per_minute: Vec<Vec<u64>> = vec![Vec::new(); minutes];
        let mut latencies = Vec::new();
        for row in rows {
            let (at, origin, added_at) =
                row.wrap_err_with(|| format!("reading the pulse from {}", self.path().display()))?;
            let Ok(i) = usize::try_from((at - start) / MINUTE) else {
                continue;
            };
            let Some(n) = published.get_mut(i) else {
                continue;
            };
            *n += 1;
            if let (Some("submitted"), Some(added)) = (origin.as_deref(), added_at) {
                let ms = u64::try_from(at - added).unwrap_or(0);
                per_minute[i].push(ms);
                latencies.push(ms);
            }
        }
        latencies.sort_unstable();
        let latency = per_minute
            .into_iter()
            .map(|mut v| {
                v.sort_unstable();
                percentile(&v, 50)
            })
            .collect();
        Ok(Pulse {
            published,
            latency,
            latencies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LogId, RecordId, Sha256Hash};
    use crate::tracker::store::{NewTracked, Origin, PollOutcome, PolledState};

    fn ids(n: u8) -> (LogId, RecordId) {
        (LogId(Sha256Hash([n; 32])), RecordId(Sha256Hash([n; 32])))
    }

    fn poll(s: &mut Store, n: u8, at: i64, state: &str) {
        let (log_id, record_id) = ids(n);
        s.record_polls(&[PollOutcome {
            log_id,
            record_id,
            at,
            result: Ok(PolledState {
                state: state.into(),
                detail: String::new(),
                response: serde_json::json!({ "state": state, "n": at }),
                missing: None,
            }),
        }])
        .unwrap();
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 95), Some(7));
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50), Some(10));
        assert_eq!(percentile(&v, 95), Some(19));
        assert_eq!(percentile(&v, 100), Some(20));
    }

    /// Published records counted per wall-clock minute (once each, when first published),
    /// latencies only for records this app submitted, nothing from before the window or from
    /// another registry.
    #[test]
    fn pulse_counts_published_per_minute_and_submit_latencies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut s = Store::open(&path, "http://r").unwrap();
        let now = 100 * MINUTE + 30_000; // half-way through minute 100
        let submitted = |n: u8| {
            let (l, r) = ids(n);
            let mut t = NewTracked::by_hand(l, r, Some(format!("demo:p{n}")));
            t.origin = Origin::Submitted;
            t
        };
        let tracked = |n: u8| {
            let (l, r) = ids(n);
            NewTracked::by_hand(l, r, None)
        };
        s.add(&[
            submitted(1),
            submitted(2),
            submitted(3),
            tracked(4),
            tracked(5),
        ])
        .unwrap();
        // `added_at` is set by the store; pin it so the latencies are known.
        for n in 1..=3u8 {
            let (l, r) = ids(n);
            s.conn()
                .execute(
                    "UPDATE tracked SET added_at = ?3 WHERE log_id = ?1 AND record_id = ?2",
                    params![l.to_string(), r.to_string(), 97 * MINUTE],
                )
                .unwrap();
        }
        // 1: processing, then published in minute 98 (latency 1 min 10 s).
        poll(&mut s, 1, 97 * MINUTE + 5_000, "processing");
        poll(&mut s, 1, 98 * MINUTE + 10_000, "published");
        // A later change of the published answer does not count it again.
        poll(&mut s, 1, 99 * MINUTE, "published");
        // 2 and 3: published in the current minute (3 min 5 s, 3 min 25 s).
        poll(&mut s, 2, 100 * MINUTE + 5_000, "published");
        poll(&mut s, 3, 100 * MINUTE + 25_000, "published");
        // 4: tracked by hand, published in minute 99: counted, no latency.
        poll(&mut s, 4, 99 * MINUTE + 1_000, "published");
        // 5: published before the window.
        poll(&mut s, 5, 90 * MINUTE, "published");
        let p = s.pulse(now, 5).unwrap();
        assert_eq!(p.published, [0, 0, 1, 1, 2]);
        assert_eq!(p.total(), 4);
        assert_eq!(p.latencies, [70_000, 185_000, 205_000]);
        assert_eq!(
            p.latency,
            [None, None, Some(70_000), None, Some(185_000)],
            "median per minute (nearest rank)"
        );
        assert_eq!(p.p50(), Some(185_000));
        assert_eq!(p.p95(), Some(205_000));
        // A window starting after record 1 was first published does not count its later
        // `published` entry.
        assert_eq!(s.pulse(now, 2).unwrap().published, [1, 2]);
        // A wider window takes record 5 in too.
        assert_eq!(s.pulse(now, 11).unwrap().total(), 5);
        // Another registry sees nothing.
        let other = Store::open(&path, "http://other").unwrap();
        assert_eq!(other.pulse(now, 5).unwrap().total(), 0);
    }
}
