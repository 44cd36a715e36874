//! The outbox: every Slack Web API call an app asked for, written in the
//! app's unit before the call is attempted, claimed with a lease by whichever
//! replica delivers it, and settled with that claim.
//!
//! A claim is one `UPDATE … WHERE claimed_until <= now RETURNING`: two
//! replicas claiming the same entry queue on its row lock, and the second
//! finds the lease taken, so exactly one wins. The claim records its holder
//! (`claimed_replica`, `claimed_by` = incarnation) for
//! [`release_orphaned`](OutboxStore::release_orphaned) (see `replicas.rs`).
//!
//! Ids come from an identity column: they only grow, but they are drawn
//! when a unit inserts, not when it commits, so a reader paging with
//! `entries(after_id)` may see id 8 before a slower unit commits id 7.
//! Delivery does not page by id (it reads `pending` and claims), so nothing
//! is missed there.

use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::Row;

use super::{Db, execute, json_column, lease_end, now_ms, query, query_one, query_opt, shown};
use crate::storage::{
    Claim, NewCall, OutboxEntry, OutboxStatus, OutboxStore, Settlement, StorageError,
};

const SELECT_COLUMNS: &str =
    "SELECT id, created_ms, app, method, payload, status, attempts, last_error, result FROM outbox";

pub(super) async fn enqueue(
    c: &deadpool_postgres::Client,
    call: &NewCall<'_>,
) -> Result<i64, StorageError> {
    let row = query_one(
        c,
        "INSERT INTO outbox (created_ms, app, method, payload, status)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[
            &now_ms(),
            &call.app,
            &call.method,
            &call.payload.to_string(),
            &call.status.as_str(),
        ],
    )
    .await?;
    Ok(row.try_get(0)?)
}

#[async_trait]
impl OutboxStore for Db {
    async fn pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, StorageError> {
        let rows = autocommit!(self, |c| query(
            c,
            &format!("{SELECT_COLUMNS} WHERE status = 'pending' ORDER BY id LIMIT $1"),
            &[&i64::from(limit)],
        )
        .await)?;
        rows.iter().map(from_row).collect()
    }

    async fn claim(&self, id: i64, lease: Duration) -> Result<Option<Claim>, StorageError> {
        let now = now_ms();
        let until = lease_end(now, lease);
        let row = autocommit!(self, |c| query_opt(
            c,
            "UPDATE outbox SET claimed_until = $2, claims = claims + 1,
                    claimed_replica = $4, claimed_by = $5
             WHERE id = $1 AND status = 'pending' AND claimed_until <= $3
             RETURNING claims",
            &[&id, &until, &now, &self.replica, &self.incarnation],
        )
        .await)?;
        Ok(match row {
            Some(row) => Some(Claim {
                id,
                token: row.try_get(0)?,
                until_ms: until,
            }),
            None => None,
        })
    }

    async fn release_orphaned(&self) -> Result<usize, StorageError> {
        autocommit!(self, |c| super::replicas::release_orphaned(
            c,
            "outbox",
            &self.replica,
            self.incarnation
        )
        .await)
    }

    async fn settle(&self, claim: &Claim, outcome: Settlement) -> Result<bool, StorageError> {
        let held = "WHERE id = $1 AND status = 'pending' AND claims = $2";
        let changed = autocommit!(self, |c| match &outcome {
            Settlement::Delivered(result) => {
                execute(
                    c,
                    &format!(
                        "UPDATE outbox SET status = 'delivered', attempts = attempts + 1,
                         result = $3, claimed_until = 0 {held}"
                    ),
                    &[&claim.id, &claim.token, &result.to_string()],
                )
                .await
            }
            Settlement::Failed(error) => {
                execute(
                    c,
                    &format!(
                        "UPDATE outbox SET status = 'failed', attempts = attempts + 1,
                         last_error = $3, claimed_until = 0 {held}"
                    ),
                    &[&claim.id, &claim.token, &shown(error)],
                )
                .await
            }
            Settlement::Retry(error) => {
                execute(
                    c,
                    &format!(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $3,
                         claimed_until = 0 {held}"
                    ),
                    &[&claim.id, &claim.token, &shown(error)],
                )
                .await
            }
        })?;
        Ok(changed > 0)
    }

    async fn entries(
        &self,
        app: Option<&str>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError> {
        let limit = i64::from(limit);
        let rows = autocommit!(self, |c| match app {
            Some(app) => {
                query(
                    c,
                    &format!("{SELECT_COLUMNS} WHERE app = $1 AND id > $2 ORDER BY id LIMIT $3"),
                    &[&app, &after_id, &limit],
                )
                .await
            }
            None => {
                query(
                    c,
                    &format!("{SELECT_COLUMNS} WHERE id > $1 ORDER BY id LIMIT $2"),
                    &[&after_id, &limit],
                )
                .await
            }
        })?;
        rows.iter().map(from_row).collect()
    }

    async fn pending_summary(&self) -> Result<(u64, Option<i64>), StorageError> {
        // Both through the partial index on pending ids: ids grow with
        // time, so the lowest pending id is (nearly) the oldest entry.
        let row = autocommit!(self, |c| query_one(
            c,
            "SELECT count(*),
                    (SELECT created_ms FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1)
             FROM outbox WHERE status = 'pending'",
            &[],
        )
        .await)?;
        let count: i64 = row.try_get(0)?;
        Ok((count.max(0) as u64, row.try_get(1)?))
    }
}

fn from_row(row: &Row) -> Result<OutboxEntry, StorageError> {
    let status: &str = row.try_get(5)?;
    let status = OutboxStatus::parse(status)
        .ok_or_else(|| StorageError::Backend(format!("unknown outbox status {status:?}")))?;
    let result = match row.try_get::<_, Option<&str>>(8)? {
        None => None,
        Some(_) => Some(json_column(row, 8)?),
    };
    Ok(OutboxEntry {
        id: row.try_get(0)?,
        created_ms: row.try_get(1)?,
        app: row.try_get(2)?,
        method: row.try_get(3)?,
        payload: json_column(row, 4)?,
        status,
        attempts: row.try_get::<_, i32>(6)?.max(0) as u32,
        last_error: row.try_get(7)?,
        result,
    })
}
