//! The tracked set and each record's state history, in SQLite (WAL mode) so that a dashboard and
//! `wargdash track add` in another shell see each other's changes and a crash loses nothing
//! committed.

use crate::ids::{LogId, RecordId};
use crate::record::Entry;
use color_eyre::eyre::{eyre, Result, WrapErr};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Added by hand (`track add`, `a`).
    Tracked,
    /// Submitted by wargdash itself.
    Submitted,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Self::Tracked => "tracked",
            Self::Submitted => "submitted",
        }
    }
}

/// A record to start tracking.
#[derive(Debug, Clone)]
pub struct NewTracked {
    pub log_id: LogId,
    pub record_id: RecordId,
    pub package: Option<String>,
    pub origin: Origin,
    pub entries: Option<Vec<Entry>>,
}

/// A JSON document kept as its compact text, as the store holds it: ~110 bytes for a record
/// status where a parsed `serde_json::Value` takes ~850 (a B-tree node and a string per key),
/// which with 100 000 tracked records was most of the dashboard's memory. Serializes as the
/// JSON document itself; [`RawJson::value`] parses it.
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(Box<str>);

impl RawJson {
    pub fn new(v: &serde_json::Value) -> Self {
        Self(v.to_string().into_boxed_str())
    }

    /// `None` unless `text` is one well-formed JSON document.
    pub fn from_text(text: String) -> Option<Self> {
        serde_json::from_str::<serde::de::IgnoredAny>(&text).ok()?;
        Some(Self(text.into_boxed_str()))
    }

    pub fn get(&self) -> &str {
        &self.0
    }

    pub fn value(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.0).ok()
    }

    /// Deserializes the document into `T` (without building a `Value` first).
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.0).ok()
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::Error;
        serde_json::from_str::<serde_json::Value>(&self.0)
            .map_err(S::Error::custom)?
            .serialize(s)
    }
}

impl NewTracked {
    /// Parses what an operator types to track a record, on the command line (`track add -`
    /// lines) and in the dashboard (`a`, `:track`): `LOG_ID RECORD_ID`, `LOG_ID RECORD_ID NS:NAME`
    /// or `NS:NAME RECORD_ID`. A first word starting with `sha256:` is an ID (even a malformed
    /// one); anything else is a package name.
    pub fn parse_line(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let (first, rec, name) = match parts.as_slice() {
            [first, rec] => (*first, *rec, None),
            [first, rec, name] => (*first, *rec, Some(*name)),
            _ => {
                return Err(
                    "expected `LOG_ID RECORD_ID [NS:NAME]` or `NS:NAME RECORD_ID`".to_string(),
                )
            }
        };
        let record_id: RecordId = rec
            .parse()
            .map_err(|e: crate::ids::IdError| e.to_string())?;
        if !first.starts_with("sha256:") && name.is_none() {
            let p: crate::ids::PackageName = first.parse()?;
            return Ok(Self::by_hand(p.log_id(), record_id, Some(p.to_string())));
        }
        let log_id: LogId = first
            .parse()
            .map_err(|e: crate::ids::IdError| e.to_string())?;
        let package = match name {
            Some(n) => {
                let p: crate::ids::PackageName = n.parse()?;
                if p.log_id() != log_id {
                    return Err(format!(
                        "package `{p}` has log ID {}, not {log_id}",
                        p.log_id()
                    ));
                }
                Some(p.to_string())
            }
            None => None,
        };
        Ok(Self::by_hand(log_id, record_id, package))
    }

    /// A record tracked by hand (`track add`, `a`, `:track`): no signed entries known.
    pub fn by_hand(log_id: LogId, record_id: RecordId, package: Option<String>) -> Self {
        Self {
            log_id,
            record_id,
            package,
            origin: Origin::Tracked,
            entries: None,
        }
    }
}

/// A tracked record with its last known state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tracked {
    pub log_id: LogId,
    pub record_id: RecordId,
    pub package: Option<String>,
    pub origin: Origin,
    pub entries: Option<Vec<Entry>>,
    /// Unix milliseconds.
    pub added_at: i64,
    pub state: Option<String>,
    /// The latest answer, as the registry's JSON.
    pub response: Option<RawJson>,
    /// Missing content seen while `sourcing`, kept after the registry starts saying `processing`.
    pub missing: Option<serde_json::Value>,
    pub polled_at: Option<i64>,
    pub error: Option<String>,
}

/// The result of one poll, to be recorded.
#[derive(Debug, Clone)]
pub struct PollOutcome {
    pub log_id: LogId,
    pub record_id: RecordId,
    pub at: i64,
    pub result: Result<PolledState, String>,
}

#[derive(Debug, Clone)]
pub struct PolledState {
    pub state: String,
    pub detail: String,
    pub response: serde_json::Value,
    pub missing: Option<serde_json::Value>,
}

/// One state change of a tracked record, for the events pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEvent {
    pub at: i64,
    pub log_id: LogId,
    pub record_id: RecordId,
    pub package: Option<String>,
    /// The state before (none for the first one seen).
    pub from: Option<String>,
    pub to: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub at: i64,
    pub state: String,
    pub detail: String,
}

/// The tracked records of one registry (a registry is its URL): every read and write is
/// scoped to it, so `--registry B` never polls A's records against B. Records tracked with no
/// registry configured (and those of a store from before registries were told apart) belong to
/// the first registry that opens the store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    registry: String,
    history_limit: usize,
}

/// State changes kept per record unless [`Store::set_history_limit`] says otherwise.
pub const DEFAULT_HISTORY_LIMIT: usize = 200;

/// The key a registry's records are stored under: its normalised base URL.
pub fn registry_key(url: &str) -> String {
    crate::registry::client::parse_base_url(url)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| url.trim().to_string())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tracked (
    registry  TEXT NOT NULL DEFAULT '',
    log_id    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    package   TEXT,
    origin    TEXT NOT NULL DEFAULT 'tracked',
    entries   TEXT,
    added_at  INTEGER NOT NULL,
    state     TEXT,
    response  TEXT,
    missing   TEXT,
    polled_at INTEGER,
    error     TEXT,
    PRIMARY KEY (registry, log_id, record_id)
);
CREATE TABLE IF NOT EXISTS history (
    id        INTEGER PRIMARY KEY,
    registry  TEXT NOT NULL DEFAULT '',
    log_id    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    at        INTEGER NOT NULL,
    state     TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_record ON history (registry, log_id, record_id);
CREATE TABLE IF NOT EXISTS tracked_rev (
    registry TEXT PRIMARY KEY,
    rev      INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS tracked_rev_insert AFTER INSERT ON tracked BEGIN
    INSERT INTO tracked_rev (registry, rev) VALUES (NEW.registry, 1)
        ON CONFLICT (registry) DO UPDATE SET rev = rev + 1;
END;
CREATE TRIGGER IF NOT EXISTS tracked_rev_update
    AFTER UPDATE OF state, response, package, error, missing, entries, origin ON tracked BEGIN
    INSERT INTO tracked_rev (registry, rev) VALUES (NEW.registry, 1)
        ON CONFLICT (registry) DO UPDATE SET rev = rev + 1;
END;
CREATE TRIGGER IF NOT EXISTS tracked_rev_delete AFTER DELETE ON tracked BEGIN
    INSERT INTO tracked_rev (registry, rev) VALUES (OLD.registry, 1)
        ON CONFLICT (registry) DO UPDATE SET rev = rev + 1;
END;
";

/// Stores from before the tracked set was per registry: move their rows into the new shape
/// (registry '' = claimed by the first registry that opens the store).
const MIGRATE_V1: &str = "
ALTER TABLE tracked RENAME TO tracked_v1;
ALTER TABLE history RENAME TO history_v1;
DROP INDEX IF EXISTS history_record;
";
const MIGRATE_V1_COPY: &str = "
INSERT INTO tracked (registry, log_id, record_id, package, origin, entries, added_at, state, response, missing, polled_at, error)
  SELECT '', log_id, record_id, package, origin, entries, added_at, state, response, missing, polled_at, error FROM tracked_v1;
INSERT INTO history (id, registry, log_id, record_id, at, state, detail)
  SELECT id, '', log_id, record_id, at, state, detail FROM history_v1;
DROP TABLE tracked_v1;
DROP TABLE history_v1;
";

/// TEST HOOK (debug builds only; used by `tests/crash_safety.rs`, compiled out of release
/// builds). With `WARGDASH_TEST_STALL_IN_TX=<path>` set, every write transaction of
/// [`Store::add`] and [`Store::record_polls`] creates `<path>` right after `BEGIN IMMEDIATE`
/// (`begin`), then stalls 150 ms and removes `<path>` just before `COMMIT` (`!begin`). A
/// process found dead with `<path>` present was provably killed inside a write transaction.
#[cfg(debug_assertions)]
fn test_stall_in_tx(begin: bool) {
    let Some(path) = std::env::var_os("WARGDASH_TEST_STALL_IN_TX") else {
        return;
    };
    if begin {
        let _ = std::fs::write(&path, std::process::id().to_string());
    } else {
        std::thread::sleep(Duration::from_millis(150));
        let _ = std::fs::remove_file(&path);
    }
}

#[cfg(not(debug_assertions))]
fn test_stall_in_tx(_begin: bool) {}

impl Store {
    /// Opens (creating if needed) the store, scoped to `registry` (a URL; see
    /// [`registry_key`]). A file that is not a readable wargdash store is reported with its
    /// path and left untouched.
    pub fn open(path: &Path, registry: &str) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .wrap_err_with(|| format!("creating data directory {}", dir.display()))?;
        }
        // Private: the directory 0700, the file and its -wal/-shm 0600 (also when they existed
        // before with wider permissions).
        crate::fsutil::private_store(path)
            .wrap_err_with(|| format!("keeping the store {} private", path.display()))?;
        let broken = |e: rusqlite::Error| {
            eyre!(
                "the store {} cannot be used: {e}. It was left untouched; move it aside to start with an empty store",
                path.display()
            )
        };
        let conn = Connection::open(path).map_err(broken)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(broken)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(broken)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(broken)?;
        let mut conn = conn;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(broken)?;
        let has_registry: bool = tx
            .prepare("SELECT 1 FROM pragma_table_info('tracked') WHERE name = 'registry'")
            .and_then(|mut st| st.exists([]))
            .map_err(broken)?;
        let has_table: bool = tx
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tracked'")
            .and_then(|mut st| st.exists([]))
            .map_err(broken)?;
        if has_table && !has_registry {
            tx.execute_batch(MIGRATE_V1).map_err(broken)?;
            tx.execute_batch(SCHEMA).map_err(broken)?;
            tx.execute_batch(MIGRATE_V1_COPY).map_err(broken)?;
        } else {
            tx.execute_batch(SCHEMA).map_err(broken)?;
        }
        // Stores from before: the revision trigger fired on every update, `polled_at` alone
        // included (a poll that changed nothing moved the mark and woke the verifier).
        let old_trigger: bool = tx
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'tracked_rev_update'
                   AND sql NOT LIKE '%UPDATE OF%'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(broken)?
            > 0;
        if old_trigger {
            tx.execute_batch("DROP TRIGGER tracked_rev_update;")
                .map_err(broken)?;
            tx.execute_batch(SCHEMA).map_err(broken)?;
        }
        tx.commit().map_err(broken)?;
        // The -wal and -shm exist now: narrow them too if an older run left them wider.
        crate::fsutil::private_store(path)
            .wrap_err_with(|| format!("keeping the store {} private", path.display()))?;
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
            registry: String::new(),
            history_limit: DEFAULT_HISTORY_LIMIT,
        };
        store.set_registry(registry)?;
        Ok(store)
    }

    /// Keep at most `n` state changes per record (at least 1).
    pub fn set_history_limit(&mut self, n: usize) {
        self.history_limit = n.max(1);
    }

    /// The registry this store is scoped to (its key).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Scopes the store to another registry; records tracked with none are claimed by it.
    pub fn set_registry(&mut self, registry: &str) -> Result<()> {
        let key = if registry.trim().is_empty() {
            String::new()
        } else {
            registry_key(registry)
        };
        if !key.is_empty() {
            let tx = self.write_tx()?;
            tx.execute(
                "UPDATE OR IGNORE tracked SET registry = ?1 WHERE registry = ''",
                params![key],
            )?;
            tx.execute(
                "UPDATE history SET registry = ?1 WHERE registry = ''",
                params![key],
            )?;
            tx.commit()
                .wrap_err_with(|| format!("committing to {}", self.path.display()))?;
        }
        self.registry = key;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for queries kept in their own files (`prefs.rs`, `pulse.rs`).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts a write transaction. `IMMEDIATE` takes the write lock up front, waiting for it
    /// under the busy timeout. A deferred transaction that reads first and then writes cannot
    /// wait: when another process committed in between, SQLite fails it at once with
    /// "database is locked" (SQLITE_BUSY_SNAPSHOT), whatever the busy timeout.
    fn write_tx(&mut self) -> Result<Transaction<'_>> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .wrap_err_with(|| format!("starting a write to {}", self.path.display()))
    }

    /// How many records this registry's set holds (cheap: no rows are read).
    pub fn count(&self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM tracked WHERE registry = ?1",
                params![self.registry],
                |r| r.get(0),
            )
            .wrap_err_with(|| format!("reading {}", self.path.display()))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// A revision of this registry's tracked set, moved by every insert, update and delete of
    /// its rows (triggers), by any connection. Another connection's commit that leaves it alone
    /// (the trust tables, another registry) changes nothing shown. One indexed read.
    pub fn change_mark(&self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT coalesce((SELECT rev FROM tracked_rev WHERE registry = ?1), 0)",
                params![self.registry],
                |r| r.get(0),
            )
            .wrap_err_with(|| format!("reading {}", self.path.display()))
    }

    /// Changes whenever another connection commits; cheap to poll.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .wrap_err_with(|| format!("reading {}", self.path.display()))
    }

    /// Adds records in one transaction. Already-tracked records keep their state; a package
    /// name or signed entries given now fill in what was unknown. Returns how many were new.
    pub fn add(&mut self, items: &[NewTracked]) -> Result<usize> {
        let reg = self.registry.clone();
        let tx = self.write_tx()?;
        test_stall_in_tx(true);
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO tracked (log_id, record_id, package, origin, entries, added_at, registry)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (registry, log_id, record_id) DO UPDATE SET
                   package = COALESCE(excluded.package, tracked.package),
                   entries = COALESCE(excluded.entries, tracked.entries),
                   origin = CASE WHEN excluded.origin = 'submitted' THEN 'submitted' ELSE tracked.origin END",
            )?;
            let mut exists = tx.prepare_cached(
                "SELECT 1 FROM tracked WHERE log_id = ?1 AND record_id = ?2 AND registry = ?3",
            )?;
            let now = now_ms();
            for it in items {
                let (log, rec) = (it.log_id.to_string(), it.record_id.to_string());
                let known: Option<i64> = exists
                    .query_row(params![log, rec, reg], |r| r.get(0))
                    .optional()?;
                let entries = it.entries.as_ref().map(serde_json::to_string).transpose()?;
                insert.execute(params![
                    log,
                    rec,
                    it.package,
                    it.origin.as_str(),
                    entries,
                    now,
                    reg
                ])?;
                if known.is_none() {
                    added += 1;
                }
            }
        }
        test_stall_in_tx(false);
        tx.commit()
            .wrap_err_with(|| format!("committing to {}", self.path.display()))?;
        Ok(added)
    }

    /// Stops tracking a record (and forgets its history). Returns whether it was tracked.
    pub fn remove(&mut self, log: &LogId, rec: &RecordId) -> Result<bool> {
        let reg = self.registry.clone();
        let tx = self.write_tx()?;
        let n = tx.execute(
            "DELETE FROM tracked WHERE log_id = ?1 AND record_id = ?2 AND registry = ?3",
            params![log.to_string(), rec.to_string(), reg],
        )?;
        tx.execute(
            "DELETE FROM history WHERE log_id = ?1 AND record_id = ?2 AND registry = ?3",
            params![log.to_string(), rec.to_string(), reg],
        )?;
        tx.commit()
            .wrap_err_with(|| format!("committing to {}", self.path.display()))?;
        Ok(n > 0)
    }

    pub fn list(&self) -> Result<Vec<Tracked>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT log_id, record_id, package, origin, entries, added_at, state, response, missing, polled_at, error
             FROM tracked WHERE registry = ?1 ORDER BY added_at, log_id, record_id",
        )?;
        let rows = stmt.query_map(params![self.registry], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<i64>>(9)?,
                r.get::<_, Option<String>>(10)?,
            ))
        })?;
        // Sized once: at 100 000 records a doubling Vec holds two copies at its peak.
        let count: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM tracked WHERE registry = ?1",
                params![self.registry],
                |r| r.get(0),
            )
            .unwrap_or(0);
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for row in rows {
            let (
                log,
                rec,
                package,
                origin,
                entries,
                added_at,
                state,
                response,
                missing,
                polled_at,
                error,
            ) = row?;
            let bad = |what: &str, e: &dyn std::fmt::Display| {
                eyre!(
                    "the store {} holds a bad {what} for {log}/{rec}: {e}",
                    self.path.display()
                )
            };
            out.push(Tracked {
                log_id: log.parse().map_err(|e| bad("log ID", &e))?,
                record_id: rec.parse().map_err(|e| bad("record ID", &e))?,
                package,
                origin: if origin == "submitted" {
                    Origin::Submitted
                } else {
                    Origin::Tracked
                },
                entries: entries
                    .as_deref()
                    .and_then(|e| serde_json::from_str(e).ok()),
                added_at,
                state,
                response: response.and_then(RawJson::from_text),
                missing: missing
                    .as_deref()
                    .and_then(|m| serde_json::from_str(m).ok()),
                polled_at,
                error,
            });
        }
        Ok(out)
    }

    /// Records a batch of poll results in one transaction, appending to a record's history when
    /// its state or detail changed. Untracked records are ignored.
    pub fn record_polls(&mut self, outcomes: &[PollOutcome]) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let reg = self.registry.clone();
        let limit = self.history_limit as i64;
        let tx = self.write_tx()?;
        test_stall_in_tx(true);
        {
            let mut current = tx.prepare_cached(
                "SELECT state, response, error IS NOT NULL FROM tracked WHERE log_id = ?1 AND record_id = ?2 AND registry = ?3",
            )?;
            // A poll that changed nothing: only when it was asked.
            let mut polled = tx.prepare_cached(
                "UPDATE tracked SET polled_at = ?3 WHERE log_id = ?1 AND record_id = ?2 AND registry = ?4",
            )?;
            let mut ok = tx.prepare_cached(
                "UPDATE tracked SET state = ?3, response = ?4, polled_at = ?5, error = NULL,
                   missing = CASE WHEN ?3 = 'published' THEN NULL ELSE COALESCE(?6, missing) END
                 WHERE log_id = ?1 AND record_id = ?2 AND registry = ?7",
            )?;
            let mut err = tx.prepare_cached(
                "UPDATE tracked SET error = ?3, polled_at = ?4 WHERE log_id = ?1 AND record_id = ?2 AND registry = ?5",
            )?;
            let mut hist = tx.prepare_cached(
                "INSERT INTO history (log_id, record_id, at, state, detail, registry) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            // The history is capped per record: the oldest entries beyond the limit go.
            let mut trim = tx.prepare_cached(
                "DELETE FROM history WHERE log_id = ?1 AND record_id = ?2 AND registry = ?3 AND id NOT IN
                   (SELECT id FROM history WHERE log_id = ?1 AND record_id = ?2 AND registry = ?3 ORDER BY id DESC LIMIT ?4)",
            )?;
            for o in outcomes {
                let (log, rec) = (o.log_id.to_string(), o.record_id.to_string());
                match &o.result {
                    Ok(s) => {
                        type Current = (Option<String>, Option<String>, bool);
                        let prev: Option<Current> = current
                            .query_row(params![log, rec, reg], |r| {
                                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                            })
                            .optional()?;
                        let Some((prev_state, prev_response, had_error)) = prev else {
                            continue;
                        };
                        let response = super::capped::stored_text(&s.response);
                        let same = prev_state.as_deref() == Some(s.state.as_str())
                            && prev_response.as_deref() == Some(response.as_str());
                        if same && !had_error && (s.missing.is_none() || s.state == "published") {
                            polled.execute(params![log, rec, o.at, reg])?;
                            continue;
                        }
                        let missing = s.missing.as_ref().map(|m| m.to_string());
                        ok.execute(params![log, rec, s.state, response, o.at, missing, reg])?;
                        if !same {
                            hist.execute(params![log, rec, o.at, s.state, s.detail, reg])?;
                            // A record's first answer leaves one entry: nothing to trim.
                            if prev_state.is_some() {
                                trim.execute(params![log, rec, reg, limit])?;
                            }
                        }
                    }
                    Err(e) => {
                        let e = crate::text::clean(e);
                        err.execute(params![log, rec, e.as_ref(), o.at, reg])?;
                    }
                }
            }
        }
        test_stall_in_tx(false);
        tx.commit()
            .wrap_err_with(|| format!("committing to {}", self.path.display()))?;
        Ok(())
    }

    /// Fills in the package name of every tracked record in `log` that has none.
    pub fn set_package(&mut self, log: &LogId, package: &str) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE tracked SET package = ?2 WHERE log_id = ?1 AND package IS NULL AND registry = ?3",
                params![log.to_string(), package, self.registry],
            )
            .wrap_err_with(|| format!("writing to {}", self.path.display()))
    }

    /// The latest `limit` state changes of this registry's records, newest first, each with the
    /// state it came from.
    pub fn events(&self, limit: usize) -> Result<Vec<StateEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, log_id, record_id, package, prev, state, detail FROM (
               SELECT h.id, h.at, h.log_id, h.record_id, t.package, h.state, h.detail,
                 LAG(h.state) OVER (PARTITION BY h.log_id, h.record_id ORDER BY h.id) AS prev
               FROM history h LEFT JOIN tracked t
                 ON t.registry = h.registry AND t.log_id = h.log_id AND t.record_id = h.record_id
               WHERE h.registry = ?1)
             ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![self.registry, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, log, rec, package, from, to, detail) = row?;
            let (Ok(log_id), Ok(record_id)) = (log.parse(), rec.parse()) else {
                continue;
            };
            out.push(StateEvent {
                at,
                log_id,
                record_id,
                package,
                from,
                to,
                detail,
            });
        }
        Ok(out)
    }

    pub fn history(&self, log: &LogId, rec: &RecordId) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, state, detail FROM history WHERE log_id = ?1 AND record_id = ?2 AND registry = ?3 ORDER BY id",
        )?;
        let rows = stmt.query_map(
            params![log.to_string(), rec.to_string(), self.registry],
            |r| {
                Ok(HistoryEntry {
                    at: r.get(0)?,
                    state: r.get(1)?,
                    detail: r.get(2)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the registry started saying `published` for a record it still says it of (the
    /// first of the latest run of published answers in its history); `None` if it does not.
    pub fn published_since(&self, log: &LogId, rec: &RecordId) -> Result<Option<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT MIN(at) FROM history WHERE log_id = ?1 AND record_id = ?2 AND registry = ?3
               AND state = 'published'
               AND id > COALESCE((SELECT MAX(id) FROM history WHERE log_id = ?1 AND record_id = ?2
                                    AND registry = ?3 AND state != 'published'), 0)",
        )?;
        let at: Option<i64> = stmt.query_row(
            params![log.to_string(), rec.to_string(), self.registry],
            |r| r.get(0),
        )?;
        Ok(at)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
