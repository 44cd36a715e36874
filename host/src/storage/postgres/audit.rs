//! The audit log: one row per invocation, written in the invocation's unit,
//! so "who ran what, when, and did it work" can always be answered, for as
//! long as retention keeps it ([`AuditStore::prune_before`]). `outcome` holds
//! `ok`, `failed` or `refused` ([`OutcomeKind::as_str`]); `error` the
//! message of the last two.

use async_trait::async_trait;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{Db, execute, query, shown};
use crate::storage::{
    AuditQuery, AuditStore, InvocationRecord, Outcome, OutcomeKind, StorageError,
};

const SELECT_COLUMNS: &str = "SELECT at_ms, app, version, kind, user_id, channel, detail, \
     duration_us, outcome, error FROM audit";

/// Rows [`AuditStore::prune_before`] deletes per transaction: each holds
/// its row locks for a few milliseconds only.
const PRUNE_BATCH: i64 = 1_000;

/// The audit row's INSERT: it runs on every invocation, inside its unit,
/// sent with the unit's `COMMIT` (see `PgUnit`'s commit in `mod.rs`).
pub(super) const INSERT: &str = "INSERT INTO audit (at_ms, app, version, kind, user_id, channel,
                                          detail, duration_us, outcome, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Inserts `record` with [`INSERT`], prepared by the caller. The texts are
/// what people typed and apps said: a NUL in them is shown as U+FFFD rather
/// than failing the invocation's unit. The statement is sent when this is
/// first polled, so a caller can send another behind it in the same round
/// trip.
pub(super) async fn insert(
    c: &deadpool_postgres::Client,
    statement: &tokio_postgres::Statement,
    record: &InvocationRecord,
) -> Result<(), StorageError> {
    c.execute(
        statement,
        &[
            &record.at_ms,
            &record.app,
            &shown(&record.version),
            &shown(&record.kind),
            &shown(&record.user),
            &shown(&record.channel),
            &shown(&record.detail),
            &record.duration_us,
            &record.outcome.kind().as_str(),
            &record.outcome.error().map(shown),
        ],
    )
    .await?;
    Ok(())
}

/// Prepares (cached) and inserts `record`.
pub(super) async fn record(
    c: &deadpool_postgres::Client,
    record: &InvocationRecord,
) -> Result<(), StorageError> {
    let statement = c.prepare_cached(INSERT).await?;
    insert(c, &statement, record).await
}

#[async_trait]
impl AuditStore for Db {
    async fn recent(
        &self,
        app: Option<&str>,
        limit: u32,
    ) -> Result<Vec<InvocationRecord>, StorageError> {
        let limit = i64::from(limit);
        let rows = autocommit!(self, |c| match app {
            Some(app) => {
                query(
                    c,
                    &format!("{SELECT_COLUMNS} WHERE app = $1 ORDER BY id DESC LIMIT $2"),
                    &[&app, &limit],
                )
                .await
            }
            None => {
                query(
                    c,
                    &format!("{SELECT_COLUMNS} ORDER BY id DESC LIMIT $1"),
                    &[&limit],
                )
                .await
            }
        })?;
        rows.iter().map(from_row).collect()
    }

    async fn query(&self, query: &AuditQuery) -> Result<Vec<InvocationRecord>, StorageError> {
        let since = query.since_ms;
        let outcome = query.outcome.map(OutcomeKind::as_str);
        let limit = i64::from(query.limit);
        let mut filters = Vec::new();
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(app) = &query.app {
            params.push(app);
            filters.push(format!("app = ${}", params.len()));
        }
        if let Some(user) = &query.user {
            params.push(user);
            filters.push(format!("user_id = ${}", params.len()));
        }
        if let Some(since) = &since {
            params.push(since);
            filters.push(format!("at_ms >= ${}", params.len()));
        }
        if let Some(outcome) = &outcome {
            params.push(outcome);
            filters.push(format!("outcome = ${}", params.len()));
        }
        params.push(&limit);
        let filters = match filters.is_empty() {
            true => String::new(),
            false => format!(" WHERE {}", filters.join(" AND ")),
        };
        // At most sixteen shapes of statement, each cached.
        let sql = format!(
            "{SELECT_COLUMNS}{filters} ORDER BY at_ms DESC, id DESC LIMIT ${}",
            params.len()
        );
        let rows = autocommit!(self, |c| super::query(c, &sql, &params).await)?;
        rows.iter().map(from_row).collect()
    }

    async fn prune_before(&self, at_ms: i64) -> Result<u64, StorageError> {
        let mut pruned = 0;
        loop {
            let deleted = autocommit!(self, |c| execute(
                c,
                "DELETE FROM audit WHERE id IN
                     (SELECT id FROM audit WHERE at_ms < $1 LIMIT $2)",
                &[&at_ms, &PRUNE_BATCH],
            )
            .await)?;
            pruned += deleted;
            if (deleted as i64) < PRUNE_BATCH {
                return Ok(pruned);
            }
            tokio::task::yield_now().await;
        }
    }
}

fn from_row(row: &Row) -> Result<InvocationRecord, StorageError> {
    let outcome: &str = row.try_get(8)?;
    let outcome = Outcome::from_stored(outcome, || row.try_get(9))?;
    Ok(InvocationRecord {
        at_ms: row.try_get(0)?,
        app: row.try_get(1)?,
        version: row.try_get(2)?,
        kind: row.try_get(3)?,
        user: row.try_get(4)?,
        channel: row.try_get(5)?,
        detail: row.try_get(6)?,
        duration_us: row.try_get(7)?,
        outcome,
    })
}
