//! The audit log: one row per invocation of an app, so "who ran what, when,
//! and did it work" can always be answered, for as long as retention keeps
//! it ([`AuditStore::prune_before`]).
//!
//! The `outcome` column holds `ok`, `error` (a failure: the word every
//! version has written, so binaries before and after `refused` existed read
//! each other's rows) or `refused`; `error` holds the message of the last
//! two.

use async_trait::async_trait;
use rusqlite::Connection;
use rusqlite::types::Value;

use super::Db;
use crate::storage::{
    AuditQuery, AuditStore, InvocationRecord, Outcome, OutcomeKind, StorageError,
};

const SELECT_COLUMNS: &str = "SELECT at_ms, app, version, kind, user, channel, detail, duration_us, outcome, error FROM audit";

/// Rows [`AuditStore::prune_before`] deletes per transaction: a few
/// milliseconds of holding the write lock each.
const PRUNE_BATCH: i64 = 1_000;

/// The stored word for each outcome kind.
fn stored(kind: OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Ok => "ok",
        OutcomeKind::Failed => "error",
        OutcomeKind::Refused => "refused",
    }
}

/// One cached INSERT: it runs on every invocation, inside its unit.
pub(super) fn record(c: &Connection, record: &InvocationRecord) -> Result<(), StorageError> {
    c.prepare_cached(
        "INSERT INTO audit (at_ms, app, version, kind, user, channel, detail,
                            duration_us, outcome, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute((
        record.at_ms,
        &record.app,
        &record.version,
        &record.kind,
        &record.user,
        &record.channel,
        &record.detail,
        record.duration_us,
        stored(record.outcome.kind()),
        record.outcome.error(),
    ))?;
    Ok(())
}

#[async_trait]
impl AuditStore for Db {
    async fn recent(
        &self,
        app: Option<&str>,
        limit: u32,
    ) -> Result<Vec<InvocationRecord>, StorageError> {
        self.read(|c| {
            Ok(match app {
                Some(app) => c
                    .prepare_cached(&format!(
                        "{SELECT_COLUMNS} WHERE app = ?1 ORDER BY id DESC LIMIT ?2"
                    ))?
                    .query_map((app, limit), from_row)?
                    .collect::<Result<_, _>>()?,
                None => c
                    .prepare_cached(&format!("{SELECT_COLUMNS} ORDER BY id DESC LIMIT ?1"))?
                    .query_map([limit], from_row)?
                    .collect::<Result<_, _>>()?,
            })
        })
    }

    async fn query(&self, query: &AuditQuery) -> Result<Vec<InvocationRecord>, StorageError> {
        let mut filters = Vec::new();
        let mut params = Vec::new();
        let mut filter = |column: &str, value: Value| {
            params.push(value);
            filters.push(format!("{column} ?{}", params.len()));
        };
        if let Some(app) = &query.app {
            filter("app =", Value::Text(app.clone()));
        }
        if let Some(user) = &query.user {
            filter("user =", Value::Text(user.clone()));
        }
        if let Some(since) = query.since_ms {
            filter("at_ms >=", Value::Integer(since));
        }
        if let Some(outcome) = query.outcome {
            filter("outcome =", Value::Text(stored(outcome).into()));
        }
        params.push(Value::Integer(query.limit.into()));
        let filters = match filters.is_empty() {
            true => String::new(),
            false => format!(" WHERE {}", filters.join(" AND ")),
        };
        // At most sixteen shapes of statement, each cached.
        let sql = format!(
            "{SELECT_COLUMNS}{filters} ORDER BY at_ms DESC, id DESC LIMIT ?{}",
            params.len()
        );
        self.read(|c| {
            Ok(c.prepare_cached(&sql)?
                .query_map(rusqlite::params_from_iter(params), from_row)?
                .collect::<Result<_, _>>()?)
        })
    }

    async fn prune_before(&self, at_ms: i64) -> Result<u64, StorageError> {
        let mut pruned = 0;
        loop {
            let deleted = self.write_now(|c| {
                Ok(c.prepare_cached(
                    "DELETE FROM audit WHERE id IN
                         (SELECT id FROM audit WHERE at_ms < ?1 LIMIT ?2)",
                )?
                .execute((at_ms, PRUNE_BATCH))?)
            })?;
            pruned += deleted as u64;
            if (deleted as i64) < PRUNE_BATCH {
                return Ok(pruned);
            }
            // Let the invocations waiting on the connection in first.
            tokio::task::yield_now().await;
        }
    }
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<InvocationRecord> {
    let outcome: String = row.get(8)?;
    let outcome = Outcome::from_stored(&outcome, || row.get(9))?;
    Ok(InvocationRecord {
        at_ms: row.get(0)?,
        app: row.get(1)?,
        version: row.get(2)?,
        kind: row.get(3)?,
        user: row.get(4)?,
        channel: row.get(5)?,
        detail: row.get(6)?,
        duration_us: row.get(7)?,
        outcome,
    })
}
