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
    // 5: refused invocations in the audit log (a hook refused them before
    // the app ran), and an index on time for retention and `botyard audit
    // --since`. SQLite cannot change a CHECK, so the table is rebuilt, its
    // rows copied as they are: `error` stays the word for a failure, so a
    // host of the previous version still running on this file keeps
    // writing, and reads a refusal as a failure with its message.
    r#"
    CREATE TABLE audit_v5 (
        id          INTEGER PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        app         TEXT NOT NULL,
        version     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        user        TEXT NOT NULL,
        channel     TEXT NOT NULL,
        detail      TEXT NOT NULL,
        duration_us INTEGER NOT NULL,
        outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'refused')),
        error       TEXT
    ) STRICT;
    INSERT INTO audit_v5 (id, at_ms, app, version, kind, user, channel, detail,
                          duration_us, outcome, error)
        SELECT id, at_ms, app, version, kind, user, channel, detail,
               duration_us, outcome, error
        FROM audit;
    DROP TABLE audit;
    ALTER TABLE audit_v5 RENAME TO audit;
    CREATE INDEX audit_by_app ON audit (app);
    CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_ms);
    "#,
    // 6: what each app uses of its quotas, counted once from what is there
    // and then kept by triggers in the transaction of every write (so it is
    // right across restarts and for every process writing the file);
    // deliveries by app, to make room for a new one by its oldest settled.
    r#"
    CREATE TABLE app_usage (
        app                TEXT PRIMARY KEY,
        store_bytes        INTEGER NOT NULL DEFAULT 0,
        store_keys         INTEGER NOT NULL DEFAULT 0,
        webhook_deliveries INTEGER NOT NULL DEFAULT 0
    ) STRICT, WITHOUT ROWID;
    INSERT INTO app_usage (app, store_bytes, store_keys)
        SELECT app, sum(length(CAST(key AS BLOB)) + length(value)), count(*)
        FROM kv GROUP BY app;
    INSERT INTO app_usage (app, webhook_deliveries)
        SELECT app, count(*) FROM webhook_deliveries WHERE true GROUP BY app
        ON CONFLICT (app) DO UPDATE SET webhook_deliveries = excluded.webhook_deliveries;

    CREATE TRIGGER kv_usage_insert AFTER INSERT ON kv BEGIN
        INSERT OR IGNORE INTO app_usage (app) VALUES (NEW.app);
        UPDATE app_usage
        SET store_bytes = store_bytes + length(CAST(NEW.key AS BLOB)) + length(NEW.value),
            store_keys = store_keys + 1
        WHERE app = NEW.app;
    END;
    CREATE TRIGGER kv_usage_update AFTER UPDATE OF value ON kv BEGIN
        UPDATE app_usage SET store_bytes = store_bytes + length(NEW.value) - length(OLD.value)
        WHERE app = NEW.app;
    END;
    CREATE TRIGGER kv_usage_delete AFTER DELETE ON kv BEGIN
        UPDATE app_usage
        SET store_bytes = store_bytes - length(CAST(OLD.key AS BLOB)) - length(OLD.value),
            store_keys = store_keys - 1
        WHERE app = OLD.app;
    END;
    CREATE TRIGGER webhook_usage_insert AFTER INSERT ON webhook_deliveries BEGIN
        INSERT OR IGNORE INTO app_usage (app) VALUES (NEW.app);
        UPDATE app_usage SET webhook_deliveries = webhook_deliveries + 1 WHERE app = NEW.app;
    END;
    CREATE TRIGGER webhook_usage_delete AFTER DELETE ON webhook_deliveries BEGIN
        UPDATE app_usage SET webhook_deliveries = webhook_deliveries - 1 WHERE app = OLD.app;
    END;
    CREATE INDEX webhook_deliveries_by_app ON webhook_deliveries (app, id);
    "#,
    // 7: the inbox (replaces seen_events): every Slack delivery whose work
    // is promised before it is done, claimed with a lease and marked done
    // in the unit of the invocation that did it. Ids already seen stay seen.
    r#"
    CREATE TABLE inbox (
        id            INTEGER PRIMARY KEY,
        key           TEXT NOT NULL UNIQUE,
        app           TEXT NOT NULL,
        body          BLOB NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'done')),
        received_ms   INTEGER NOT NULL,
        settled_ms    INTEGER,
        claims        INTEGER NOT NULL DEFAULT 1,
        claimed_until INTEGER NOT NULL DEFAULT 0,
        claimed_by    TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX inbox_pending ON inbox (claimed_until) WHERE status = 'pending';
    CREATE INDEX inbox_by_time ON inbox (received_ms);
    INSERT INTO inbox (key, app, body, status, received_ms, settled_ms)
        SELECT event_id, '', x'', 'done', seen_ms, seen_ms FROM seen_events;
    DROP TABLE seen_events;
    "#,
    // 8: apps published into the database (`botyard publish`): versions by
    // the sha256 of their bytes, each app's current one, and what each
    // replica runs.
    r#"
    CREATE TABLE published_versions (
        hash       TEXT PRIMARY KEY,
        component  BLOB NOT NULL,
        size       INTEGER NOT NULL,
        created_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE published_apps (
        app          TEXT PRIMARY KEY,
        hash         TEXT NOT NULL REFERENCES published_versions (hash),
        published_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE published_running (
        replica TEXT NOT NULL,
        app     TEXT NOT NULL,
        hash    TEXT,
        error   TEXT,
        at_ms   INTEGER NOT NULL,
        PRIMARY KEY (replica, app)
    ) STRICT;
    "#,
    // 9: outbox lanes (see outbox.rs): each entry's lane, whether an attempt
    // may have reached Slack unrecorded (`sending`), and per lane when its
    // head may go next. Entries queued before get their lane as
    // `storage::outbox_lane` computes it.
    r#"
    ALTER TABLE outbox ADD COLUMN lane TEXT;
    ALTER TABLE outbox ADD COLUMN sending INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET lane = CASE
            WHEN method = 'response_url' THEN 'url:' || coalesce(json_extract(payload, '$.url'), '')
            ELSE coalesce(nullif(json_extract(payload, '$.channel'), ''),
                          nullif(json_extract(payload, '$.channel_id'), ''),
                          nullif(json_extract(payload, '$.user_id'), ''),
                          'app:' || app)
        END,
        sending = claims > 0
        WHERE status = 'pending';
    CREATE INDEX outbox_pending_lanes ON outbox (lane, id) WHERE status = 'pending';
    CREATE TABLE outbox_lanes (
        lane         TEXT PRIMARY KEY,
        next_post_ms INTEGER NOT NULL DEFAULT 0,
        next_try_ms  INTEGER NOT NULL DEFAULT 0
    ) STRICT, WITHOUT ROWID;
    "#,
    // 10: the cluster-wide configuration published into the database
    // (`botyard publish --cluster-config`): one current document, named by
    // the sha256 of its text. Replicas report it in published_running
    // under the app name `botyard.toml`.
    r#"
    CREATE TABLE published_config (
        singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
        hash         TEXT NOT NULL,
        text         TEXT NOT NULL,
        published_ms INTEGER NOT NULL
    ) STRICT;
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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::MIGRATIONS;
    use crate::storage::{AuditQuery, InvocationRecord, Outcome, Storage};

    #[tokio::test]
    async fn audit_rows_from_before_refusals_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("botyard.db");
        {
            let c = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..4] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", 4).unwrap();
            c.execute_batch(
                "INSERT INTO audit (at_ms, app, version, kind, user, channel, detail,
                                    duration_us, outcome, error)
                 VALUES (1000, 'poll', 'v1', 'command', 'U1', 'C1', '/poll', 5, 'ok', NULL),
                        (2000, 'poll', 'v1', 'command', 'U2', 'C1', '/poll x', 7, 'error', 'boom');",
            )
            .unwrap();
        }
        let s = Storage::open(&path).unwrap();
        let outcomes = |rows: Vec<InvocationRecord>| {
            rows.into_iter()
                .map(|r| (r.at_ms, r.user, r.outcome))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            outcomes(s.audit.recent(None, 10).await.unwrap()),
            [
                (2000, "U2".into(), Outcome::Failed("boom".into())),
                (1000, "U1".into(), Outcome::Ok)
            ]
        );
        // Refusals can now be written beside them, and time is indexed.
        let mut unit = s.begin();
        unit.record(&InvocationRecord {
            at_ms: 3000,
            app: "poll".into(),
            version: "v2".into(),
            kind: "command".into(),
            user: "U3".into(),
            channel: "C1".into(),
            detail: "/poll".into(),
            duration_us: 0,
            outcome: Outcome::Refused("not allowed".into()),
        })
        .await
        .unwrap();
        unit.commit().await.unwrap();
        let since = AuditQuery {
            since_ms: Some(2000),
            ..AuditQuery::default()
        };
        assert_eq!(
            outcomes(s.audit.query(&since).await.unwrap()),
            [
                (3000, "U3".into(), Outcome::Refused("not allowed".into())),
                (2000, "U2".into(), Outcome::Failed("boom".into()))
            ]
        );
        let c = Connection::open(&path).unwrap();
        let plan: String = c
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM audit WHERE at_ms < 5",
                [],
                |row| row.get(3),
            )
            .unwrap();
        assert!(plan.contains("audit_by_time"), "{plan}");
    }
}
