//! The outbox: a durable record of every Slack Web API call an app asked
//! for, written before the call is attempted, so a message an app was told
//! is queued survives a crash and is delivered (at least once) after restart.
//!
//! Delivery claims an entry with a lease before sending it (`claimed_until`,
//! `claims`) and settles it with that claim, so a deliverer that stalled past
//! its lease cannot settle what another has taken over.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension};

use super::{Db, now_ms};
use crate::storage::{
    Claim, NewCall, OutboxEntry, OutboxStatus, OutboxStore, Settlement, StorageError,
};

const SELECT_COLUMNS: &str =
    "SELECT id, created_ms, app, method, payload, status, attempts, last_error, result FROM outbox";

pub(super) fn enqueue(c: &Connection, call: &NewCall<'_>) -> Result<i64, StorageError> {
    c.prepare_cached(
        "INSERT INTO outbox (created_ms, app, method, payload, status)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute((
        now_ms(),
        call.app,
        call.method,
        call.payload.to_string(),
        call.status.as_str(),
    ))?;
    Ok(c.last_insert_rowid())
}

#[async_trait]
impl OutboxStore for Db {
    async fn pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "{SELECT_COLUMNS} WHERE status = 'pending' ORDER BY id LIMIT ?1"
            ))?
            .query_map([limit], from_row)?
            .collect::<Result<_, _>>()?)
        })
    }

    async fn claim(&self, id: i64, lease: Duration) -> Result<Option<Claim>, StorageError> {
        let now = now_ms();
        let until = now.saturating_add(lease.as_millis() as i64);
        self.write_now(|c| {
            let token: Option<i64> = c
                .prepare_cached(
                    "UPDATE outbox SET claimed_until = ?2, claims = claims + 1, claimed_by = ?4
                     WHERE id = ?1 AND status = 'pending' AND claimed_until <= ?3
                     RETURNING claims",
                )?
                .query_row((id, until, now, &self.owner), |row| row.get(0))
                .optional()?;
            Ok(token.map(|token| Claim {
                id,
                token,
                until_ms: until,
            }))
        })
    }

    async fn release_orphaned(&self) -> Result<usize, StorageError> {
        self.write_now(|c| Ok(super::release_orphaned(c, "outbox", &self.owner)?))
    }

    async fn settle(&self, claim: &Claim, outcome: Settlement) -> Result<bool, StorageError> {
        self.write_now(|c| {
            let held = "WHERE id = ?1 AND status = 'pending' AND claims = ?2";
            let changed = match &outcome {
                Settlement::Delivered(result) => c
                    .prepare_cached(&format!(
                        "UPDATE outbox SET status = 'delivered', attempts = attempts + 1,
                         result = ?3, claimed_until = 0 {held}"
                    ))?
                    .execute((claim.id, claim.token, result.to_string()))?,
                Settlement::Failed(error) => c
                    .prepare_cached(&format!(
                        "UPDATE outbox SET status = 'failed', attempts = attempts + 1,
                         last_error = ?3, claimed_until = 0 {held}"
                    ))?
                    .execute((claim.id, claim.token, error))?,
                Settlement::Retry(error) => c
                    .prepare_cached(&format!(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?3,
                         claimed_until = 0 {held}"
                    ))?
                    .execute((claim.id, claim.token, error))?,
            };
            Ok(changed > 0)
        })
    }

    async fn entries(
        &self,
        app: Option<&str>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError> {
        self.read(|c| {
            Ok(match app {
                Some(app) => c
                    .prepare_cached(&format!(
                        "{SELECT_COLUMNS} WHERE app = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                    ))?
                    .query_map((app, after_id, limit), from_row)?
                    .collect::<Result<_, _>>()?,
                None => c
                    .prepare_cached(&format!(
                        "{SELECT_COLUMNS} WHERE id > ?1 ORDER BY id LIMIT ?2"
                    ))?
                    .query_map((after_id, limit), from_row)?
                    .collect::<Result<_, _>>()?,
            })
        })
    }

    async fn pending_summary(&self) -> Result<(u64, Option<i64>), StorageError> {
        // Both through the partial index on pending ids: ids grow with
        // time, so the lowest pending id is the oldest pending entry.
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT count(*),
                        (SELECT created_ms FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1)
                 FROM outbox WHERE status = 'pending'",
            )?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?)
        })
    }
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let status: String = row.get(5)?;
    let status = OutboxStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            5,
            Type::Text,
            format!("unknown outbox status {status:?}").into(),
        )
    })?;
    let result = match row.get_ref(8)? {
        rusqlite::types::ValueRef::Null => None,
        _ => Some(super::json_column(row, 8)?),
    };
    Ok(OutboxEntry {
        id: row.get(0)?,
        created_ms: row.get(1)?,
        app: row.get(2)?,
        method: row.get(3)?,
        payload: super::json_column(row, 4)?,
        status,
        attempts: row.get(6)?,
        last_error: row.get(7)?,
        result,
    })
}
