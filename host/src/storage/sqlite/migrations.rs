//! Schema migrations, tracked with `PRAGMA user_version`.
//!
//! Append only: never edit a migration that has shipped, add a new one. The
//! version of a database is the number of migrations applied to it.

use rusqlite::Connection;

use crate::storage::StorageError;

/// Ordered migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: key-value namespaces, audit log, outbox, schedules.
    r#"
    CREATE TABLE kv (
        app   TEXT NOT NULL,
        key   TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (app, key)
    ) STRICT;

    CREATE TABLE audit (
        id          INTEGER PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        app         TEXT NOT NULL,
        version     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        user        TEXT NOT NULL,
        channel     TEXT NOT NULL,
        detail      TEXT NOT NULL,
        duration_us INTEGER NOT NULL,
        outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
        error       TEXT
    ) STRICT;
    CREATE INDEX audit_by_app ON audit (app);

    CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        created_ms INTEGER NOT NULL,
        app        TEXT NOT NULL,
        method     TEXT NOT NULL,
        payload    TEXT NOT NULL,
        status     TEXT NOT NULL
                   CHECK (status IN ('pending', 'local', 'delivered', 'failed')),
        attempts   INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        result     TEXT
    ) STRICT;
    CREATE INDEX outbox_by_app ON outbox (app, id);
    CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';

    CREATE TABLE schedule_once (
        app    TEXT NOT NULL,
        name   TEXT NOT NULL,
        due_ms INTEGER NOT NULL,
        PRIMARY KEY (app, name)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX schedule_once_by_due ON schedule_once (due_ms);

    CREATE TABLE cron_last_fire (
        app   TEXT NOT NULL,
        name  TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (app, name)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 2: Events API ids already handled, so Slack's retries run once.
    r#"
    CREATE TABLE seen_events (
        event_id TEXT PRIMARY KEY,
        seen_ms  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX seen_events_by_time ON seen_events (seen_ms);
    "#,
    // 3: outbox claims, so delivery takes an entry with a lease and settles
    // it with the claim it holds.
    r#"
    ALTER TABLE outbox ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
    "#,
    // 4: webhook deliveries, recorded before the sender is answered and
    // claimed like the outbox; one per (app, webhook, sender's delivery id).
    r#"
    CREATE TABLE webhook_deliveries (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        app           TEXT NOT NULL,
        hook          TEXT NOT NULL,
        delivery_id   TEXT NOT NULL,
        received_ms   INTEGER NOT NULL,
        content_type  TEXT NOT NULL,
        headers       TEXT NOT NULL,
        body          BLOB NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_ms       INTEGER NOT NULL,
        last_error    TEXT,
        settled_ms    INTEGER,
        claims        INTEGER NOT NULL DEFAULT 0,
        claimed_until INTEGER NOT NULL DEFAULT 0,
        claimed_by    TEXT NOT NULL DEFAULT '',
        UNIQUE (app, hook, delivery_id)
    ) STRICT;
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_ms) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_settled ON webhook_deliveries (settled_ms) WHERE status != 'pending';
    "#,
];

/// The schema version this binary writes.
pub(super) fn latest_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Brings the database up to [`latest_version`]. Runs in one write
/// transaction, so two processes opening the same file at once cannot both
/// migrate, and a crash mid-way leaves the old version intact.
pub(super) fn migrate(conn: &Connection) -> Result<(), StorageError> {
    let supported = latest_version();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let migrated = (|| {
        let found: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found > supported {
            return Err(StorageError::SchemaTooNew { found, supported });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            conn.execute_batch(sql)?;
            conn.pragma_update(None, "user_version", index as u32 + 1)?;
        }
        if found < supported {
            tracing::info!(from = found, to = supported, "migrated storage schema");
        }
        Ok(())
    })();
    match migrated {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(error) => {
            conn.execute_batch("ROLLBACK").ok();
            Err(error)
        }
    }
}
