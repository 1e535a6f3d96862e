//! Persistence of the trust engine in SQLite: trust state per registry, the checkpoint archive,
//! the verified ledger, and alerts. Tables are prefixed `trust_`; any SQLite file works (the
//! main store sets WAL).

use super::alerts::{Alert, AlertKind};
use super::checkpoint::Checkpoint;
use super::ledger::{Frontier, LedgerEntry};
use super::state::{PinSource, TrustState, VerifiedCheckpoint};
use super::TrustError;
use crate::ids::{KeyId, LogId, RecordId, Sha256Hash};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS trust_state (
    registry TEXT PRIMARY KEY,
    pinned_key_id TEXT,
    pin_source TEXT,
    operator_record0 TEXT,
    operator_key_ids TEXT NOT NULL,
    checkpoint TEXT,
    log_length INTEGER,
    log_root TEXT,
    map_root TEXT,
    timestamp INTEGER,
    ledger_len INTEGER NOT NULL,
    frontier BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS trust_checkpoints (
    id INTEGER PRIMARY KEY,
    registry TEXT NOT NULL,
    envelope TEXT NOT NULL,
    log_length INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    UNIQUE (registry, envelope)
);
CREATE TABLE IF NOT EXISTS trust_ledger (
    registry TEXT NOT NULL,
    idx INTEGER NOT NULL,
    log_id BLOB NOT NULL,
    record_id BLOB NOT NULL,
    PRIMARY KEY (registry, idx)
);
CREATE INDEX IF NOT EXISTS trust_ledger_record ON trust_ledger (registry, log_id, record_id);
CREATE TABLE IF NOT EXISTS trust_heads (
    registry TEXT NOT NULL,
    log_id BLOB NOT NULL,
    head_idx INTEGER NOT NULL,
    head BLOB NOT NULL,
    PRIMARY KEY (registry, log_id)
);
CREATE TABLE IF NOT EXISTS trust_sync (
    registry TEXT PRIMARY KEY,
    base INTEGER NOT NULL,
    len INTEGER NOT NULL,
    frontier BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS trust_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    registry TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    evidence TEXT NOT NULL
);
";

/// Columns added after the first release of the trust tables: (table, column, definition).
/// Added on open when missing, so older stores keep working.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("trust_state", "commit_keys", "TEXT"),
    ("trust_state", "verified_at", "INTEGER"),
    ("trust_checkpoints", "tree", "TEXT"),
    ("trust_alerts", "subject", "TEXT NOT NULL DEFAULT ''"),
    ("trust_alerts", "last_ms", "INTEGER"),
    ("trust_alerts", "count", "INTEGER NOT NULL DEFAULT 1"),
    ("trust_alerts", "open", "INTEGER NOT NULL DEFAULT 0"),
];

const INDEXES: &str = "
CREATE UNIQUE INDEX IF NOT EXISTS trust_checkpoints_tree ON trust_checkpoints (registry, tree);
CREATE INDEX IF NOT EXISTS trust_alerts_open ON trust_alerts (registry, kind, subject, open);
";

/// Evidence larger than this is stored cut, marked `truncated` (a 4 MiB key id must not make a
/// 4 MiB row per cycle).
pub const MAX_EVIDENCE: usize = 64 * 1024;

/// Archived envelopes larger than this are not archived (a genuine one is a few hundred bytes).
const MAX_ARCHIVED_ENVELOPE: usize = 4 * 1024;

/// Alert rows kept per registry, and for how long, unless configured otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub rows: u64,
    pub days: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            rows: 10_000,
            days: 90,
        }
    }
}

/// The evidence as stored: its JSON text, or, past [`MAX_EVIDENCE`], a marked excerpt.
pub fn capped_evidence(v: &serde_json::Value) -> String {
    let text = v.to_string();
    if text.len() <= MAX_EVIDENCE {
        return text;
    }
    let mut cut = MAX_EVIDENCE / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    serde_json::json!({
        "truncated": true,
        "bytes": text.len(),
        "excerpt": &text[..cut],
    })
    .to_string()
}

/// `s` cut to at most `max` bytes at a character boundary, marked `…` when cut.
fn cap_text(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &s[..cut], s.len())
}

/// Opens (creating if needed) the store's SQLite file for the trust and witness tables: its
/// directory, a 10 s busy timeout, WAL (as the tracked-set store on the same file) with NORMAL
/// sync — a commit per ledger page does not wait for a disk flush; a crash loses at most the
/// latest pages, which the next sync fetches again.
pub fn open_connection(path: &Path) -> Result<Connection, TrustError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| TrustError(format!("creating data directory {}: {e}", dir.display())))?;
    }
    let conn = Connection::open(path).map_err(db_err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(db_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(db_err)?;
    Ok(conn)
}

/// What an alert is about: the record or package log its evidence names, empty for the
/// registry-wide kinds (whose detail changes with every checkpoint re-signed during an attack).
pub fn alert_subject(a: &Alert) -> String {
    let ev = |k: &str| a.evidence.get(k).and_then(|v| v.as_str()).unwrap_or("");
    match a.kind {
        AlertKind::RecordNotIncluded | AlertKind::PackageLogInvalid => {
            format!("{} {}", ev("logId"), ev("recordId"))
                .trim()
                .to_string()
        }
        // One row per peer while a split view with it lasts.
        AlertKind::SplitView | AlertKind::PeerSignature => ev("peer").to_string(),
        _ => String::new(),
    }
}

fn db_err(e: rusqlite::Error) -> TrustError {
    TrustError(format!("trust store: {e}"))
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAlert {
    pub id: i64,
    /// When it was first seen.
    pub time_ms: i64,
    /// When it was last seen (the same attack seen again by a later cycle).
    pub last_ms: i64,
    /// How many times it was seen.
    pub count: u64,
    pub registry: String,
    #[serde(flatten)]
    pub alert: Alert,
}

pub struct TrustDb {
    conn: Connection,
}

impl std::fmt::Debug for TrustDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrustDb")
    }
}

fn blob32(b: Vec<u8>) -> rusqlite::Result<Sha256Hash> {
    let a: [u8; 32] = b.as_slice().try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "not a 32-byte hash".into(),
        )
    })?;
    Ok(Sha256Hash(a))
}

fn parse_text<T: std::str::FromStr>(s: Option<String>, what: &str) -> Result<Option<T>, TrustError>
where
    T::Err: std::fmt::Display,
{
    s.map(|s| {
        s.parse::<T>()
            .map_err(|e| TrustError(format!("trust store: bad {what}: {e}")))
    })
    .transpose()
}

impl TrustDb {
    /// Opens (creating if needed) an SQLite file and its `trust_` tables.
    pub fn open(path: &Path) -> Result<Self, TrustError> {
        Self::from_connection(open_connection(path)?)
    }

    /// A private in-memory store (tests, one-shot checks).
    pub fn in_memory() -> Result<Self, TrustError> {
        Self::from_connection(Connection::open_in_memory().map_err(db_err)?)
    }

    pub fn from_connection(conn: Connection) -> Result<Self, TrustError> {
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        // Two processes opening an older store at once: one adds the columns, the other sees
        // them added (the check runs inside the write lock).
        conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
        let added = Self::add_columns(&conn);
        let end = if added.is_ok() { "COMMIT" } else { "ROLLBACK" };
        conn.execute_batch(end).map_err(db_err)?;
        added?;
        conn.execute_batch(INDEXES).map_err(db_err)?;
        Ok(Self { conn })
    }

    fn add_columns(conn: &Connection) -> Result<(), TrustError> {
        for (table, column, def) in ADDED_COLUMNS {
            let has: bool = conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
                    [column],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(db_err)?
                > 0;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {def}"))
                    .map_err(db_err)?;
            }
        }
        Ok(())
    }

    pub fn load_state(&self, registry: &str) -> Result<Option<TrustState>, TrustError> {
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<i64>,
            i64,
            Vec<u8>,
            Option<String>,
            Option<i64>,
        );
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT pinned_key_id, pin_source, operator_record0, operator_key_ids, checkpoint,
                        log_length, log_root, map_root, timestamp, ledger_len, frontier, commit_keys,
                        verified_at
                 FROM trust_state WHERE registry = ?1",
                [registry],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                        r.get(10)?,
                        r.get(11)?,
                        r.get(12)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?;
        let Some((
            pin,
            source,
            rec0,
            keys,
            env,
            len,
            lr,
            mr,
            ts,
            ledger_len,
            frontier,
            commit,
            verified_at,
        )) = row
        else {
            return Ok(None);
        };
        let key_list: Vec<String> = serde_json::from_str(&keys)
            .map_err(|e| TrustError(format!("trust store: bad key id list: {e}")))?;
        let mut operator_key_ids = BTreeSet::new();
        for k in key_list {
            if let Some(k) = parse_text::<KeyId>(Some(k), "key id")? {
                operator_key_ids.insert(k);
            }
        }
        let checkpoint = match (env, len, lr, mr, ts) {
            (Some(envelope), Some(len), Some(lr), Some(mr), Some(ts)) => Some(VerifiedCheckpoint {
                envelope,
                log_length: len as u64,
                log_root: parse_text::<Sha256Hash>(Some(lr), "log root")?
                    .unwrap_or(Sha256Hash([0; 32])),
                map_root: parse_text::<Sha256Hash>(Some(mr), "map root")?
                    .unwrap_or(Sha256Hash([0; 32])),
                timestamp: ts as u64,
            }),
            _ => None,
        };
        Frontier::from_bytes(&frontier)?;
        let commit: std::collections::BTreeMap<String, String> = match commit {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| TrustError(format!("trust store: bad commit key list: {e}")))?,
            None => Default::default(),
        };
        let mut commit_keys = std::collections::BTreeMap::new();
        for (k, pk) in commit {
            if let Some(k) = parse_text::<KeyId>(Some(k), "key id")? {
                commit_keys.insert(k, pk);
            }
        }
        Ok(Some(TrustState {
            registry: registry.to_string(),
            pinned_key_id: parse_text(pin, "pinned key id")?,
            pin_source: source.as_deref().and_then(PinSource::parse),
            operator_record0: parse_text::<RecordId>(rec0, "operator record id")?,
            operator_key_ids,
            commit_keys,
            checkpoint,
            ledger_len: ledger_len as u64,
            verified_at_ms: verified_at.unwrap_or(0),
            frontier,
        }))
    }

    pub fn save_state(&mut self, s: &TrustState) -> Result<(), TrustError> {
        let keys: Vec<String> = s.operator_key_ids.iter().map(|k| k.to_string()).collect();
        let keys = serde_json::to_string(&keys).unwrap_or_else(|_| "[]".into());
        let cp = s.checkpoint.as_ref();
        let commit: std::collections::BTreeMap<String, &String> = s
            .commit_keys
            .iter()
            .map(|(k, pk)| (k.to_string(), pk))
            .collect();
        let commit = serde_json::to_string(&commit).unwrap_or_else(|_| "{}".into());
        self.conn
            .execute(
                "INSERT OR REPLACE INTO trust_state (registry, pinned_key_id, pin_source,
                    operator_record0, operator_key_ids, checkpoint, log_length, log_root, map_root,
                    timestamp, ledger_len, frontier, commit_keys, verified_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    s.registry,
                    s.pinned_key_id.map(|k| k.to_string()),
                    s.pin_source.map(|p| p.as_str()),
                    s.operator_record0.map(|r| r.to_string()),
                    keys,
                    cp.map(|c| c.envelope.clone()),
                    cp.map(|c| c.log_length as i64),
                    cp.map(|c| c.log_root.to_string()),
                    cp.map(|c| c.map_root.to_string()),
                    cp.map(|c| c.timestamp as i64),
                    s.ledger_len as i64,
                    s.frontier,
                    commit,
                    s.verified_at_ms,
                ],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Forgets a registry's trust state and its stored ledger (alerts and the checkpoint
    /// archive are kept).
    pub fn clear_state(&mut self, registry: &str) -> Result<(), TrustError> {
        let tx = self.conn.transaction().map_err(db_err)?;
        tx.execute("DELETE FROM trust_state WHERE registry = ?1", [registry])
            .map_err(db_err)?;
        tx.execute("DELETE FROM trust_ledger WHERE registry = ?1", [registry])
            .map_err(db_err)?;
        tx.execute("DELETE FROM trust_sync WHERE registry = ?1", [registry])
            .map_err(db_err)?;
        tx.execute("DELETE FROM trust_heads WHERE registry = ?1", [registry])
            .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    /// Package logs whose chain was proven (validated, equal to the verified ledger, head in
    /// the map), by the head they were proven at: a log whose head has not moved since needs
    /// no request (`verify` and `poll --once` run after run).
    pub fn proven_heads(
        &self,
        registry: &str,
    ) -> Result<std::collections::HashMap<LogId, (u64, RecordId)>, TrustError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT log_id, head_idx, head FROM trust_heads WHERE registry = ?1")
            .map_err(db_err)?;
        let rows = st
            .query_map([registry], |r| {
                Ok((
                    LogId(blob32(r.get(0)?)?),
                    (r.get::<_, i64>(1)? as u64, RecordId(blob32(r.get(2)?)?)),
                ))
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// Remembers these logs as proven at these heads (one transaction); `forget` drops others.
    pub fn save_proven_heads(
        &mut self,
        registry: &str,
        proven: &[(LogId, u64, RecordId)],
        forget: &[LogId],
    ) -> Result<(), TrustError> {
        if proven.is_empty() && forget.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(db_err)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO trust_heads (registry, log_id, head_idx, head) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db_err)?;
            for (log, idx, head) in proven {
                put.execute(params![
                    registry,
                    &log.0 .0[..],
                    *idx as i64,
                    &head.0 .0[..]
                ])
                .map_err(db_err)?;
            }
            let mut del = tx
                .prepare_cached("DELETE FROM trust_heads WHERE registry = ?1 AND log_id = ?2")
                .map_err(db_err)?;
            for log in forget {
                del.execute(params![registry, &log.0 .0[..]])
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// A ledger sync cut by its per-cycle budget: the verified length it started from, how far
    /// it got, and the (unverified) frontier there.
    pub fn sync_progress(&self, registry: &str) -> Result<Option<(u64, u64, Vec<u8>)>, TrustError> {
        self.conn
            .query_row(
                "SELECT base, len, frontier FROM trust_sync WHERE registry = ?1",
                [registry],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)
    }

    pub fn save_sync(
        &mut self,
        registry: &str,
        base: u64,
        frontier: &Frontier,
    ) -> Result<(), TrustError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO trust_sync (registry, base, len, frontier) VALUES (?1, ?2, ?3, ?4)",
                params![registry, base as i64, frontier.len() as i64, frontier.to_bytes()],
            )
            .map_err(db_err)?;
        Ok(())
    }

    pub fn clear_sync(&mut self, registry: &str) -> Result<(), TrustError> {
        self.conn
            .execute("DELETE FROM trust_sync WHERE registry = ?1", [registry])
            .map_err(db_err)?;
        Ok(())
    }

    /// Archives an envelope; `true` if it was not archived before. One envelope is kept per
    /// distinct tree (length, log root, map root): the registry re-signs the same tree every few
    /// seconds, and only the first signature of it is kept. Envelopes larger than a genuine
    /// one can be (a 4 MiB key id) are not archived: the alert that cites them keeps a capped
    /// copy.
    pub fn archive_checkpoint(
        &mut self,
        registry: &str,
        cp: &Checkpoint,
        now_ms: i64,
    ) -> Result<bool, TrustError> {
        if cp.canonical.len() > MAX_ARCHIVED_ENVELOPE {
            return Ok(false);
        }
        let tree = format!("{}:{}:{}", cp.log_length, cp.log_root, cp.map_root);
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO trust_checkpoints (registry, envelope, log_length, timestamp, first_seen_ms, tree)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![registry, cp.canonical, cp.log_length as i64, cp.timestamp as i64, now_ms, tree],
            )
            .map_err(db_err)?;
        Ok(n == 1)
    }

    /// Archived envelopes of a registry, oldest first.
    pub fn archived_checkpoints(&self, registry: &str) -> Result<Vec<String>, TrustError> {
        let mut st = self
            .conn
            .prepare("SELECT envelope FROM trust_checkpoints WHERE registry = ?1 ORDER BY id")
            .map_err(db_err)?;
        let rows = st
            .query_map([registry], |r| r.get::<_, String>(0))
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// Writes ledger entries `start, start+1, …` in one transaction with one prepared statement.
    pub fn write_ledger_batch(
        &mut self,
        registry: &str,
        start: u64,
        entries: &[LedgerEntry],
    ) -> Result<(), TrustError> {
        let tx = self.conn.transaction().map_err(db_err)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO trust_ledger (registry, idx, log_id, record_id) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db_err)?;
            for (i, e) in entries.iter().enumerate() {
                st.execute(params![
                    registry,
                    (start + i as u64) as i64,
                    &e.log_id.0 .0[..],
                    &e.record_id.0 .0[..]
                ])
                .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// For a bulk first sync: the record-ID index is dropped, so each page's rows go in at the
    /// end of the table's key order instead of at random places in a second B-tree (random
    /// 32-byte IDs), and built again at the end in one sorted pass ([`Self::restore_record_index`]).
    pub fn suspend_record_index(&mut self) -> Result<(), TrustError> {
        self.conn
            .execute_batch("DROP INDEX IF EXISTS trust_ledger_record")
            .map_err(db_err)
    }

    /// Builds the record-ID index again (a no-op when it exists).
    pub fn restore_record_index(&mut self) -> Result<(), TrustError> {
        self.conn
            .execute_batch(
                "CREATE INDEX IF NOT EXISTS trust_ledger_record ON trust_ledger (registry, log_id, record_id)",
            )
            .map_err(db_err)
    }

    /// Drops stored ledger entries at `from` and beyond.
    pub fn truncate_ledger(&mut self, registry: &str, from: u64) -> Result<(), TrustError> {
        self.conn
            .execute(
                "DELETE FROM trust_ledger WHERE registry = ?1 AND idx >= ?2",
                params![registry, from as i64],
            )
            .map_err(db_err)?;
        Ok(())
    }

    pub fn ledger_entry(
        &self,
        registry: &str,
        idx: u64,
    ) -> Result<Option<LedgerEntry>, TrustError> {
        self.conn
            .query_row(
                "SELECT log_id, record_id FROM trust_ledger WHERE registry = ?1 AND idx = ?2",
                params![registry, idx as i64],
                |r| {
                    Ok(LedgerEntry {
                        log_id: LogId(blob32(r.get(0)?)?),
                        record_id: RecordId(blob32(r.get(1)?)?),
                    })
                },
            )
            .optional()
            .map_err(db_err)
    }

    /// Number of stored ledger entries (verified or not).
    pub fn ledger_count(&self, registry: &str) -> Result<u64, TrustError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM trust_ledger WHERE registry = ?1",
                [registry],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(db_err)
    }

    /// Every verified entry of one log below `below`, in registry order: (index, record id).
    pub fn log_entries(
        &self,
        registry: &str,
        log: &LogId,
        below: u64,
    ) -> Result<Vec<(u64, RecordId)>, TrustError> {
        let mut st = self
            .conn
            .prepare_cached(
                // `+idx` (in the filter and the order) keeps SQLite on the (registry, log_id,
                // record_id) index instead of scanning the registry's whole ledger by idx.
                "SELECT idx, record_id FROM trust_ledger WHERE registry = ?1 AND log_id = ?2 AND +idx < ?3 ORDER BY +idx",
            )
            .map_err(db_err)?;
        let rows = st
            .query_map(params![registry, &log.0 .0[..], below as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, RecordId(blob32(r.get(1)?)?)))
            })
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    /// The logs with a ledger entry at an index in `from..to`.
    pub fn logs_between(
        &self,
        registry: &str,
        from: u64,
        to: u64,
    ) -> Result<std::collections::HashSet<LogId>, TrustError> {
        if from >= to {
            return Ok(Default::default());
        }
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT log_id FROM trust_ledger WHERE registry = ?1 AND idx >= ?2 AND idx < ?3",
            )
            .map_err(db_err)?;
        let rows = st
            .query_map(params![registry, from as i64, to as i64], |r| {
                Ok(LogId(blob32(r.get(0)?)?))
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// [`Self::find_record`] for many records at once. When the batch is large next to the
    /// ledger (a cold sweep), one scan of the ledger below `below` into memory beats one
    /// indexed query per record; otherwise it is one query each.
    pub fn find_records(
        &self,
        registry: &str,
        items: &[(LogId, RecordId)],
        below: u64,
    ) -> Result<Vec<Option<u64>>, TrustError> {
        if below == 0 {
            return Ok(vec![None; items.len()]);
        }
        if items.len() < 64 || (items.len() as u64).saturating_mul(4) < below {
            return items
                .iter()
                .map(|(l, r)| self.find_record(registry, l, r, below))
                .collect();
        }
        let wanted: std::collections::HashSet<(LogId, RecordId)> = items.iter().copied().collect();
        let mut found: std::collections::HashMap<(LogId, RecordId), u64> =
            std::collections::HashMap::with_capacity(items.len());
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT idx, log_id, record_id FROM trust_ledger WHERE registry = ?1 AND idx < ?2",
            )
            .map_err(db_err)?;
        let mut rows = st.query(params![registry, below as i64]).map_err(db_err)?;
        while let Some(r) = rows.next().map_err(db_err)? {
            let idx = r.get::<_, i64>(0).map_err(db_err)? as u64;
            let key = (
                LogId(blob32(r.get(1).map_err(db_err)?).map_err(db_err)?),
                RecordId(blob32(r.get(2).map_err(db_err)?).map_err(db_err)?),
            );
            if wanted.contains(&key) {
                let e = found.entry(key).or_insert(idx);
                *e = (*e).min(idx);
            }
        }
        Ok(items.iter().map(|k| found.get(k).copied()).collect())
    }

    /// The lowest registry index below `below` holding (log, record).
    pub fn find_record(
        &self,
        registry: &str,
        log: &LogId,
        record: &RecordId,
        below: u64,
    ) -> Result<Option<u64>, TrustError> {
        let mut st = self
            .conn
            .prepare_cached(
                // `+idx`: the range on idx must not steer SQLite to the (registry, idx) key —
                // a scan of the whole ledger per lookup — instead of the record index.
                "SELECT MIN(+idx) FROM trust_ledger WHERE registry = ?1 AND log_id = ?2 AND record_id = ?3 AND +idx < ?4",
            )
            .map_err(db_err)?;
        let v: Option<i64> = st
            .query_row(
                params![registry, &log.0 .0[..], &record.0 .0[..], below as i64],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        Ok(v.map(|v| v as u64))
    }

    /// Stores an alert. While one of the same kind about the same subject (see
    /// [`alert_subject`]) is open for this registry, that row is updated instead (last seen,
    /// count): one attack is one row, however many cycles it lasts. Evidence is capped at
    /// [`MAX_EVIDENCE`]. Returns the row's id.
    pub fn add_alert(&mut self, registry: &str, a: &Alert, now_ms: i64) -> Result<i64, TrustError> {
        let subject = alert_subject(a);
        let open: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM trust_alerts WHERE registry = ?1 AND kind = ?2 AND subject = ?3 AND open = 1
                 ORDER BY id DESC LIMIT 1",
                params![registry, a.kind.as_str(), subject],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        if let Some(id) = open {
            self.conn
                .execute(
                    "UPDATE trust_alerts SET last_ms = ?2, count = count + 1 WHERE id = ?1",
                    params![id, now_ms],
                )
                .map_err(db_err)?;
            return Ok(id);
        }
        self.conn
            .execute(
                "INSERT INTO trust_alerts (time_ms, registry, kind, detail, evidence, subject, last_ms, count, open)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?1, 1, 1)",
                params![
                    now_ms,
                    registry,
                    a.kind.as_str(),
                    cap_text(&a.detail, 4096),
                    capped_evidence(&a.evidence),
                    subject
                ],
            )
            .map_err(db_err)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// A clean cycle ends the attack: the registry-wide alerts of `registry` are closed, so the
    /// next one is a new row. Alerts about a record or a package log stay open (their subject
    /// is checked on its own).
    pub fn close_alerts(&mut self, registry: &str) -> Result<(), TrustError> {
        self.conn
            .execute(
                "UPDATE trust_alerts SET open = 0 WHERE registry = ?1 AND open = 1 AND subject = ''",
                [registry],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// What changes when an alert is stored or seen again (the dashboard reloads the list only
    /// then): the newest row id and the sum of the counts.
    pub fn alerts_mark(&self, registry: &str) -> Result<(i64, i64), TrustError> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(id), 0), COALESCE(SUM(count), 0) FROM trust_alerts WHERE registry = ?1",
                [registry],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db_err)
    }

    /// Deletes alerts of `registry` beyond the newest `keep.rows` or older than `keep.days`.
    /// Returns how many went.
    pub fn prune_alerts(
        &mut self,
        registry: &str,
        keep: Retention,
        now_ms: i64,
    ) -> Result<usize, TrustError> {
        let oldest = now_ms.saturating_sub((keep.days as i64).saturating_mul(86_400_000));
        let by_age = self
            .conn
            .execute(
                "DELETE FROM trust_alerts WHERE registry = ?1 AND COALESCE(last_ms, time_ms) < ?2",
                params![registry, oldest],
            )
            .map_err(db_err)?;
        let by_count = self
            .conn
            .execute(
                "DELETE FROM trust_alerts WHERE registry = ?1 AND id NOT IN
                   (SELECT id FROM trust_alerts WHERE registry = ?1 ORDER BY id DESC LIMIT ?2)",
                params![registry, keep.rows.min(i64::MAX as u64) as i64],
            )
            .map_err(db_err)?;
        Ok(by_age + by_count)
    }

    /// The latest `limit` alerts of a registry, newest first, with their evidence.
    pub fn alerts(&self, registry: &str, limit: u32) -> Result<Vec<StoredAlert>, TrustError> {
        self.alerts_with(registry, limit, true)
    }

    /// [`Self::alerts`] without the evidence (`null`): what a list shows.
    pub fn alert_summaries(
        &self,
        registry: &str,
        limit: u32,
    ) -> Result<Vec<StoredAlert>, TrustError> {
        self.alerts_with(registry, limit, false)
    }

    /// One stored alert's evidence.
    pub fn alert_evidence(&self, id: i64) -> Result<Option<serde_json::Value>, TrustError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT evidence FROM trust_alerts WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        Ok(text.map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::Null)))
    }

    fn alerts_with(
        &self,
        registry: &str,
        limit: u32,
        evidence: bool,
    ) -> Result<Vec<StoredAlert>, TrustError> {
        let sql = format!(
            "SELECT id, time_ms, kind, detail, {}, COALESCE(last_ms, time_ms), count
             FROM trust_alerts WHERE registry = ?1 ORDER BY id DESC LIMIT ?2",
            if evidence { "evidence" } else { "NULL" }
        );
        let mut st = self.conn.prepare(&sql).map_err(db_err)?;
        let rows = st
            .query_map(params![registry, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, time_ms, kind, detail, evidence, last_ms, count) = row.map_err(db_err)?;
            let Some(kind) = AlertKind::parse(&kind) else {
                continue;
            };
            out.push(StoredAlert {
                id,
                time_ms,
                last_ms,
                count: count.max(1) as u64,
                registry: registry.to_string(),
                alert: Alert {
                    kind,
                    detail,
                    evidence: evidence
                        .and_then(|e| serde_json::from_str(&e).ok())
                        .unwrap_or(serde_json::Value::Null),
                },
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "db_tests.rs"]
mod tests;
