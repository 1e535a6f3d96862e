//! Which rejected record a rebuilt one replaces: kept per registry in the store's `rebuilds`
//! table when the publish form or `publish --rebuild` submits a rebuild, shown in the detail
//! pane and `track list --json`.

use super::store::Store;
use crate::ids::{LogId, RecordId, RecordRef};
use color_eyre::eyre::{Result, WrapErr};
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

/// The rejected record a rebuild replaces, and why it was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildLink {
    pub original: RecordId,
    pub reason: String,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS rebuilds (
    registry  TEXT NOT NULL,
    log_id    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    original  TEXT NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (registry, log_id, record_id)
)";

impl Store {
    fn ensure_rebuilds_table(&self) -> Result<()> {
        self.conn()
            .execute_batch(SCHEMA)
            .wrap_err_with(|| format!("creating the rebuilds table in {}", self.path().display()))
    }

    /// Records that `rebuilt` (tracked in this registry) replaces the rejected `original`.
    pub fn set_rebuilds(&self, rebuilt: &RecordRef, link: &RebuildLink) -> Result<()> {
        self.ensure_rebuilds_table()?;
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO rebuilds (registry, log_id, record_id, original, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    self.registry(),
                    rebuilt.log.to_string(),
                    rebuilt.record.to_string(),
                    link.original.to_string(),
                    link.reason
                ],
            )
            .wrap_err_with(|| format!("writing to {}", self.path().display()))?;
        Ok(())
    }

    /// The rejected record `r` rebuilds, if it is a rebuild.
    pub fn rebuilds(&self, r: &RecordRef) -> Result<Option<RebuildLink>> {
        self.ensure_rebuilds_table()?;
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT original, reason FROM rebuilds WHERE registry = ?1 AND log_id = ?2 AND record_id = ?3",
                params![self.registry(), r.log.to_string(), r.record.to_string()],
                |x| Ok((x.get(0)?, x.get(1)?)),
            )
            .optional()
            .wrap_err_with(|| format!("reading {}", self.path().display()))?;
        Ok(row.and_then(|(o, reason)| {
            Some(RebuildLink {
                original: o.parse().ok()?,
                reason,
            })
        }))
    }

    /// Every rebuild link of this registry.
    pub fn rebuild_links(&self) -> Result<HashMap<RecordRef, RebuildLink>> {
        self.ensure_rebuilds_table()?;
        let mut st = self.conn().prepare_cached(
            "SELECT log_id, record_id, original, reason FROM rebuilds WHERE registry = ?1",
        )?;
        let rows = st.query_map(params![self.registry()], |x| {
            Ok((
                x.get::<_, String>(0)?,
                x.get::<_, String>(1)?,
                x.get::<_, String>(2)?,
                x.get::<_, String>(3)?,
            ))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (l, r, o, reason) = row?;
            let (Ok(l), Ok(r), Ok(o)) = (l.parse::<LogId>(), r.parse::<RecordId>(), o.parse())
            else {
                continue;
            };
            out.insert(
                RecordRef::new(l, r),
                RebuildLink {
                    original: o,
                    reason,
                },
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sha256Hash;

    #[test]
    fn a_rebuild_link_is_kept_per_registry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let a = Store::open(&path, "http://a").unwrap();
        let b = Store::open(&path, "http://b").unwrap();
        let new = RecordRef::new(LogId(Sha256Hash([1; 32])), RecordId(Sha256Hash([2; 32])));
        let link = RebuildLink {
            original: RecordId(Sha256Hash([3; 32])),
            reason: "previous record hash does not match".into(),
        };
        assert_eq!(a.rebuilds(&new).unwrap(), None);
        a.set_rebuilds(&new, &link).unwrap();
        assert_eq!(a.rebuilds(&new).unwrap(), Some(link.clone()));
        assert_eq!(b.rebuilds(&new).unwrap(), None);
        let again = Store::open(&path, "http://a").unwrap();
        assert_eq!(again.rebuild_links().unwrap().get(&new), Some(&link));
    }
}
