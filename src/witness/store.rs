//! What a witness keeps, in the same SQLite file as the trust engine (tables `witness_`): the
//! checkpoint cosigned last per origin (never a smaller size, never two roots for one size,
//! written before anything is answered with it), and each peer's last comparison.

use crate::ids::Sha256Hash;
use crate::trust::{bail_trust, TrustError};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS witness_cosigned (
    origin TEXT PRIMARY KEY,
    registry TEXT NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    op_timestamp INTEGER NOT NULL,
    cosigned_at INTEGER NOT NULL,
    note TEXT NOT NULL,
    envelope TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS witness_peers (
    registry TEXT NOT NULL,
    peer TEXT NOT NULL,
    checked_ms INTEGER NOT NULL,
    ok_ms INTEGER,
    size INTEGER,
    root BLOB,
    cosigned_at INTEGER,
    agree INTEGER,
    ahead_since_ms INTEGER,
    error TEXT,
    PRIMARY KEY (registry, peer)
);
";

/// The checkpoint cosigned last for an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub origin: String,
    pub registry: String,
    pub size: u64,
    pub root: Sha256Hash,
    /// The operator's checkpoint timestamp (Unix seconds).
    pub op_timestamp: u64,
    /// The cosignature's time (Unix seconds).
    pub cosigned_at: u64,
    /// The whole signed note served at `GET /checkpoint`.
    pub note: String,
    /// The warg envelope it was made from (`GET /checkpoint.json`).
    pub envelope: String,
}

/// A peer's last comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerRow {
    pub peer: String,
    pub checked_ms: i64,
    /// When a verified note was last fetched.
    pub ok_ms: Option<i64>,
    pub size: Option<u64>,
    pub root: Option<Sha256Hash>,
    pub cosigned_at: Option<u64>,
    /// Some(true): agrees; Some(false): disagrees; None: not compared.
    pub agree: Option<bool>,
    /// Since when the peer has cosigned a larger size than this monitor verified.
    pub ahead_since_ms: Option<i64>,
    pub error: Option<String>,
}

pub struct WitnessDb {
    conn: Connection,
}

impl std::fmt::Debug for WitnessDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WitnessDb")
    }
}

fn db_err(e: rusqlite::Error) -> TrustError {
    TrustError(format!("witness store: {e}"))
}

fn hash(b: Option<Vec<u8>>) -> Option<Sha256Hash> {
    b.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok().map(Sha256Hash))
}

impl WitnessDb {
    pub fn open(path: &Path) -> Result<Self, TrustError> {
        Self::from_connection(crate::trust::db::open_connection(path)?)
    }

    pub fn in_memory() -> Result<Self, TrustError> {
        Self::from_connection(Connection::open_in_memory().map_err(db_err)?)
    }

    fn from_connection(conn: Connection) -> Result<Self, TrustError> {
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        Ok(Self { conn })
    }

    pub fn cosigned(&self, origin: &str) -> Result<Option<Cosigned>, TrustError> {
        type Row = (String, i64, Vec<u8>, i64, i64, String, String);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT registry, size, root, op_timestamp, cosigned_at, note, envelope
                 FROM witness_cosigned WHERE origin = ?1",
                [origin],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?;
        let Some((registry, size, root, op_ts, at, note, envelope)) = row else {
            return Ok(None);
        };
        let Some(root) = hash(Some(root)) else {
            bail_trust!("witness store: a stored root is not 32 bytes");
        };
        Ok(Some(Cosigned {
            origin: origin.to_string(),
            registry,
            size: size as u64,
            root,
            op_timestamp: op_ts as u64,
            cosigned_at: at as u64,
            note,
            envelope,
        }))
    }

    /// Stores `c` as the latest cosigned checkpoint of its origin, in one transaction that
    /// refuses a smaller size or another root for the same size than the one stored.
    pub fn save_cosigned(&mut self, c: &Cosigned) -> Result<(), TrustError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let old: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT size, root FROM witness_cosigned WHERE origin = ?1",
                [&c.origin],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
        if let Some((size, root)) = old {
            let size = size as u64;
            if c.size < size {
                bail_trust!(
                    "refusing to cosign size {} for {}: size {size} is already cosigned",
                    c.size,
                    c.origin
                );
            }
            if c.size == size && root.as_slice() != c.root.0.as_slice() {
                bail_trust!(
                    "refusing to cosign another root for size {} of {}",
                    c.size,
                    c.origin
                );
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO witness_cosigned
             (origin, registry, size, root, op_timestamp, cosigned_at, note, envelope)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                c.origin,
                c.registry,
                c.size as i64,
                &c.root.0[..],
                c.op_timestamp as i64,
                c.cosigned_at as i64,
                c.note,
                c.envelope
            ],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    pub fn peers(&self, registry: &str) -> Result<Vec<PeerRow>, TrustError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT peer, checked_ms, ok_ms, size, root, cosigned_at, agree, ahead_since_ms, error
                 FROM witness_peers WHERE registry = ?1 ORDER BY peer",
            )
            .map_err(db_err)?;
        let rows = st
            .query_map([registry], |r| {
                Ok(PeerRow {
                    peer: r.get(0)?,
                    checked_ms: r.get(1)?,
                    ok_ms: r.get(2)?,
                    size: r.get::<_, Option<i64>>(3)?.map(|s| s as u64),
                    root: hash(r.get(4)?),
                    cosigned_at: r.get::<_, Option<i64>>(5)?.map(|s| s as u64),
                    agree: r.get::<_, Option<i64>>(6)?.map(|a| a != 0),
                    ahead_since_ms: r.get(7)?,
                    error: r.get(8)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    pub fn peer(&self, registry: &str, peer: &str) -> Result<Option<PeerRow>, TrustError> {
        Ok(self.peers(registry)?.into_iter().find(|p| p.peer == peer))
    }

    pub fn save_peer(&mut self, registry: &str, p: &PeerRow) -> Result<(), TrustError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO witness_peers
                 (registry, peer, checked_ms, ok_ms, size, root, cosigned_at, agree, ahead_since_ms, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    registry,
                    p.peer,
                    p.checked_ms,
                    p.ok_ms,
                    p.size.map(|s| s as i64),
                    p.root.map(|r| r.0.to_vec()),
                    p.cosigned_at.map(|s| s as i64),
                    p.agree.map(|a| a as i64),
                    p.ahead_since_ms,
                    p.error
                ],
            )
            .map_err(db_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(size: u64, root: u8) -> Cosigned {
        Cosigned {
            origin: "o".into(),
            registry: "http://r/".into(),
            size,
            root: Sha256Hash([root; 32]),
            op_timestamp: 1,
            cosigned_at: 2,
            note: "n".into(),
            envelope: "{}".into(),
        }
    }

    #[test]
    fn never_a_smaller_size_nor_two_roots_for_one_size() {
        let mut db = WitnessDb::in_memory().unwrap();
        db.save_cosigned(&c(5, 1)).unwrap();
        db.save_cosigned(&c(5, 1)).unwrap();
        assert!(db.save_cosigned(&c(4, 1)).is_err());
        assert!(db.save_cosigned(&c(5, 2)).is_err());
        db.save_cosigned(&c(6, 2)).unwrap();
        assert_eq!(db.cosigned("o").unwrap().unwrap().size, 6);
    }
}
