//! Numbered SQL migrations embedded in the binary, applied in one transaction and tracked in the database.

use super::StorageError;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// Append only: a released migration is never edited, a new one is added with the next number.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sql: include_str!("migrations/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "identity",
        sql: include_str!("migrations/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "hub",
        sql: include_str!("migrations/0003_hub.sql"),
    },
    Migration {
        version: 4,
        name: "hub_scale",
        sql: include_str!("migrations/0004_hub_scale.sql"),
    },
    Migration {
        version: 5,
        name: "lists_at_scale",
        sql: include_str!("migrations/0005_lists_at_scale.sql"),
    },
    Migration {
        version: 6,
        name: "identity_hardening",
        sql: include_str!("migrations/0006_identity_hardening.sql"),
    },
    Migration {
        version: 7,
        name: "money_settings",
        sql: include_str!("migrations/0007_money_settings.sql"),
    },
    Migration {
        version: 8,
        name: "invoice_document",
        sql: include_str!("migrations/0008_invoice_document.sql"),
    },
    Migration {
        version: 9,
        name: "language",
        sql: include_str!("migrations/0009_language.sql"),
    },
    Migration {
        version: 10,
        name: "alerts",
        sql: include_str!("migrations/0010_alerts.sql"),
    },
    Migration {
        version: 11,
        name: "webhooks",
        sql: include_str!("migrations/0011_webhooks.sql"),
    },
    Migration {
        version: 12,
        name: "feeds",
        sql: include_str!("migrations/0012_feeds.sql"),
    },
    Migration {
        version: 13,
        name: "einvoice",
        sql: include_str!("migrations/0013_einvoice.sql"),
    },
    Migration {
        version: 14,
        name: "egress",
        sql: include_str!("migrations/0014_egress.sql"),
    },
    Migration {
        version: 15,
        name: "alert_words",
        sql: include_str!("migrations/0015_alert_words.sql"),
    },
    Migration {
        version: 16,
        name: "fewer_prefixes",
        sql: include_str!("migrations/0016_fewer_prefixes.sql"),
    },
    Migration {
        version: 17,
        name: "no_column_sizes",
        sql: include_str!("migrations/0017_no_column_sizes.sql"),
    },
    // Only in the drill build (feature `update-drill`, packaging/ci-package-check.sh): a real
    // schema change after the last shipped migration. It stays last: a shipped migration goes
    // above it, and it moves up to the next number (file name and LATEST_SCHEMA_VERSION with it).
    #[cfg(feature = "update-drill")]
    Migration {
        version: 18,
        name: "update_drill",
        sql: include_str!("migrations/0018_update_drill.sql"),
    },
];

#[cfg(not(feature = "update-drill"))]
pub const LATEST_SCHEMA_VERSION: i64 = 17;
// The drill build's (feature `update-drill`): one above the shipped schema, for its migration.
#[cfg(feature = "update-drill")]
pub const LATEST_SCHEMA_VERSION: i64 = 18;

pub(super) fn apply(conn: &mut Connection, path: &Path) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        ) STRICT;",
    )?;
    let current: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    if current > LATEST_SCHEMA_VERSION {
        return Err(StorageError::NewerSchema {
            path: path.to_path_buf(),
            found: current,
            known: LATEST_SCHEMA_VERSION,
        });
    }
    let started = std::time::Instant::now();
    if current > 0 && current < LATEST_SCHEMA_VERSION {
        tracing::info!(
            database = %path.display(),
            from = current,
            to = LATEST_SCHEMA_VERSION,
            "applying database migrations (minutes on a large instance)"
        );
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sql)
            .map_err(|e| StorageError::Migration {
                version: m.version,
                name: m.name,
                reason: e.to_string(),
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)
             VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            rusqlite::params![m.version, m.name],
        )?;
    }
    tx.commit()?;
    if current > 0 && current < LATEST_SCHEMA_VERSION {
        tracing::info!(
            database = %path.display(),
            schema = LATEST_SCHEMA_VERSION,
            ms = started.elapsed().as_millis() as u64,
            "database migrations applied"
        );
    }
    Ok(())
}

/// The schema version recorded in an open database.
pub(super) fn current_version(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_latest_matches() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
        }
        assert_eq!(
            MIGRATIONS.last().map(|m| m.version),
            Some(LATEST_SCHEMA_VERSION)
        );
    }
    /// A database as a holdfast of schema `version` left it.
    fn database_at(version: i64) -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL
            ) STRICT;",
        )
        .unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version <= version) {
            conn.execute_batch(m.sql).unwrap();
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, 'x')",
                rusqlite::params![m.version, m.name],
            )
            .unwrap();
        }
        (dir, path, conn)
    }

    /// An instance made before 0004 keeps its search: the entries of the shared table move into the
    /// per-module tables under their record ids, and the shared table goes.
    #[test]
    fn hub_scale_moves_existing_search_entries_into_the_module_tables() {
        let (_dir, path, mut conn) = database_at(3);
        // Rows as 0003-era holdfast wrote them (rowid derived from id and module, or any rowid).
        conn.execute_batch(
            "INSERT INTO search_index (rowid, module, record_id, title, body)
                 VALUES (112, 'clients', 7, 'Karoven Design GmbH', 'office@karoven.example');
             INSERT INTO search_index (module, record_id, title, body)
                 VALUES ('time-entries', 3, 'design iteration', 'anna');
             INSERT INTO search_index (module, record_id, title, body)
                 VALUES ('clients', 9, 'Other Ltd', '');",
        )
        .unwrap();
        apply(&mut conn, &path).unwrap();
        let ids = |table: &str, q: &str| -> Vec<i64> {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT rowid FROM {table} WHERE {table} MATCH ?1 ORDER BY rowid"
                ))
                .unwrap();
            stmt.query_map([q], |r| r.get(0))
                .unwrap()
                .collect::<Result<Vec<i64>, _>>()
                .unwrap()
        };
        assert_eq!(ids("search_clients", "\"karov\"*"), vec![7]);
        assert_eq!(ids("search_clients", "\"design\"*"), vec![7]);
        assert_eq!(ids("search_time_entries", "\"design\"*"), vec![3]);
        assert_eq!(
            ids("search_time_entries", "\"karoven\"*"),
            Vec::<i64>::new()
        );
        let shared: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'search_index'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(shared, 0);
        assert_eq!(current_version(&conn).unwrap(), LATEST_SCHEMA_VERSION);
    }

    /// 0005 rebuilds every module's search table with prefix indexes of 1 to 10 characters, 0016
    /// with those of 3, 5 and 8 and a higher automerge, and 0017 without the per-row size table;
    /// each keeps every entry under its record id, so the search finds after the upgrade what it
    /// found before.
    #[test]
    fn search_prefixes_rebuild_keeps_every_entry_under_its_record_id() {
        let (_dir, path, mut conn) = database_at(4);
        let tables = [
            "search_clients",
            "search_contacts",
            "search_projects",
            "search_tasks",
            "search_time_entries",
            "search_invoices",
            "search_documents",
        ];
        for (i, t) in tables.iter().enumerate() {
            conn.execute(
                &format!("INSERT INTO {t} (rowid, title, body) VALUES (?1, ?2, 'Zoë Ångström')"),
                rusqlite::params![100 + i as i64, format!("Documentation {t}")],
            )
            .unwrap();
            conn.execute(
                &format!("INSERT INTO {t} (rowid, title, body) VALUES (7, 'other', '')"),
                [],
            )
            .unwrap();
        }
        apply(&mut conn, &path).unwrap();
        assert_eq!(current_version(&conn).unwrap(), LATEST_SCHEMA_VERSION);
        for (i, t) in tables.iter().enumerate() {
            let sql: String = conn
                .query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [t], |r| {
                    r.get(0)
                })
                .unwrap();
            assert!(sql.contains("prefix = '3 5 8'"), "{t}: {sql}");
            assert!(sql.contains("columnsize = 0"), "{t}: {sql}");
            let docsize: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                    [format!("{t}_docsize")],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(docsize, 0, "{t}");
            let automerge: i64 = conn
                .query_row(
                    &format!("SELECT v FROM {t}_config WHERE k = 'automerge'"),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(automerge, 16, "{t}");
            let ids = |q: &str| -> Vec<i64> {
                let mut stmt = conn
                    .prepare(&format!(
                        "SELECT rowid FROM {t} WHERE {t} MATCH ?1 ORDER BY rowid DESC"
                    ))
                    .unwrap();
                stmt.query_map([q], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<Vec<i64>, _>>()
                    .unwrap()
            };
            let mine = 100 + i as i64;
            // Every prefix length, a word longer than the longest prefix index, diacritics folded.
            for q in [
                "\"d\"*",
                "\"docu\"*",
                "\"documentat\"*",
                "\"documentation\"*",
                "\"zoe\"*",
                "\"angstr\"*",
            ] {
                assert_eq!(ids(q), vec![mine], "{t} {q}");
            }
            assert_eq!(ids("\"o\"*"), vec![7], "{t}");
            let leftover: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                    [format!("{t}_new")],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(leftover, 0, "{t}");
        }
    }
}
