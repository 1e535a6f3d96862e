//! The table's sort column, direction and filter, remembered per registry in the store's
//! `table_prefs` table (one row per registry key), so each registry comes back as it was left.

use super::store::{registry_key, Store};
use color_eyre::eyre::{Result, WrapErr};
use rusqlite::{params, OptionalExtension};

/// How the table was last shown for one registry. `sort` is a column name as `:sort` takes it
/// (`package`, `age`, …); the UI falls back to its default for a name it does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePrefs {
    pub sort: String,
    pub ascending: bool,
    pub filter: String,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS table_prefs (
    registry  TEXT PRIMARY KEY,
    sort      TEXT NOT NULL,
    ascending INTEGER NOT NULL,
    filter    TEXT NOT NULL
)";

impl Store {
    fn ensure_prefs_table(&self) -> Result<()> {
        self.conn().execute_batch(SCHEMA).wrap_err_with(|| {
            format!(
                "creating the table_prefs table in {}",
                self.path().display()
            )
        })
    }

    /// The table preferences saved for the registry this store is scoped to, if any.
    pub fn load_prefs(&self) -> Result<Option<TablePrefs>> {
        self.ensure_prefs_table()?;
        self.conn()
            .query_row(
                "SELECT sort, ascending, filter FROM table_prefs WHERE registry = ?1",
                params![self.registry()],
                |r| {
                    Ok(TablePrefs {
                        sort: r.get(0)?,
                        ascending: r.get::<_, i64>(1)? != 0,
                        filter: r.get(2)?,
                    })
                },
            )
            .optional()
            .wrap_err_with(|| {
                format!(
                    "reading the table preferences of {} from {}",
                    self.registry(),
                    self.path().display()
                )
            })
    }

    /// Saves the table preferences of `registry` (a URL, normalised as the tracked set is; empty:
    /// the registry this store is scoped to).
    pub fn save_prefs(&self, registry: &str, p: &TablePrefs) -> Result<()> {
        self.ensure_prefs_table()?;
        let key = if registry.trim().is_empty() {
            self.registry().to_string()
        } else {
            registry_key(registry)
        };
        self.conn()
            .execute(
                "INSERT INTO table_prefs (registry, sort, ascending, filter) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (registry) DO UPDATE SET
                   sort = excluded.sort, ascending = excluded.ascending, filter = excluded.filter",
                params![key, p.sort, i64::from(p.ascending), p.filter],
            )
            .wrap_err_with(|| {
                format!(
                    "saving the table preferences of {key} to {}",
                    self.path().display()
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(sort: &str, ascending: bool, filter: &str) -> TablePrefs {
        TablePrefs {
            sort: sort.into(),
            ascending,
            filter: filter.into(),
        }
    }

    /// Saved preferences survive reopening the store, each registry keeps its own, and saving
    /// again replaces them.
    #[test]
    fn prefs_are_kept_per_registry_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let a = Store::open(&path, "http://a.example").unwrap();
            assert_eq!(a.load_prefs().unwrap(), None);
            a.save_prefs(
                "http://a.example",
                &prefs("package", true, "state:rejected"),
            )
            .unwrap();
            a.save_prefs("http://b.example/", &prefs("polled", false, ""))
                .unwrap();
        }
        let mut a = Store::open(&path, "http://a.example/").unwrap();
        assert_eq!(
            a.load_prefs().unwrap(),
            Some(prefs("package", true, "state:rejected"))
        );
        a.save_prefs("", &prefs("state", false, "demo")).unwrap();
        assert_eq!(a.load_prefs().unwrap(), Some(prefs("state", false, "demo")));
        a.set_registry("http://b.example").unwrap();
        assert_eq!(a.load_prefs().unwrap(), Some(prefs("polled", false, "")));
        let c = Store::open(&path, "http://c.example").unwrap();
        assert_eq!(c.load_prefs().unwrap(), None);
    }
}
