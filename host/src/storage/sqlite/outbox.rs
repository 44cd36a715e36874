//! The outbox: a durable record of every Slack Web API call an app asked
//! for, written before the call is attempted, so a message an app was told
//! is queued survives a crash and is delivered (at least once) after restart.
//!
//! Delivery claims an entry with a lease before sending it (`claimed_until`,
//! `claims`) and settles it with that claim, so a deliverer that stalled past
//! its lease cannot settle what another has taken over.
//!
//! **Lanes.** Each entry is queued in a lane ([`outbox_lane`]) and only a
//! lane's head — its oldest pending entry — is claimable
//! ([`claim_heads`](OutboxStore::claim_heads)). One process delivers a
//! SQLite file, and the choice of heads and their claims are one write
//! transaction, so no second claimer can slip in between. `outbox_lanes`
//! holds when each lane's head may go next (pacing, retry waits), and
//! `sending` whether an attempt may have reached Slack unrecorded: set by
//! every claim, cleared by a settlement that knows the outcome.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension};

use super::{Db, now_ms};
use crate::storage::{
    Claim, ClaimedHead, Heads, LaneHold, NewCall, OutboxEntry, OutboxStatus, OutboxStore,
    Settlement, StorageError, outbox_lane,
};

/// An entry's columns, in the order [`from_row`] reads them.
macro_rules! columns {
    () => {
        "id, created_ms, app, method, payload, status, attempts, last_error, result"
    };
}

const SELECT_COLUMNS: &str = concat!("SELECT ", columns!(), " FROM outbox");

pub(super) fn enqueue(c: &Connection, call: &NewCall<'_>) -> Result<i64, StorageError> {
    c.prepare_cached(
        "INSERT INTO outbox (created_ms, app, method, payload, status, lane)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute((
        now_ms(),
        call.app,
        call.method,
        call.payload.to_string(),
        call.status.as_str(),
        outbox_lane(call.app, call.method, call.payload),
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
                    "UPDATE outbox SET claimed_until = ?2, claims = claims + 1, claimed_by = ?4,
                                       sending = 1
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
        self.write_now(|c| settle(c, claim, &outcome))
    }

    async fn claim_heads(
        &self,
        limit: u32,
        lease: Duration,
        paced: &[&str],
    ) -> Result<Heads, StorageError> {
        let now = now_ms();
        let until = now.saturating_add(lease.as_millis() as i64);
        let paced =
            serde_json::to_string(paced).map_err(|e| StorageError::Backend(e.to_string()))?;
        self.write_now(|c| {
            let heads: Vec<(i64, String, bool)> = c
                .prepare_cached(
                    "SELECT o.id, o.lane, o.sending FROM outbox o
                     LEFT JOIN outbox_lanes l ON l.lane = o.lane
                     WHERE o.id IN (SELECT min(id) FROM outbox WHERE status = 'pending'
                                    GROUP BY lane)
                       AND o.status = 'pending' AND o.claimed_until <= ?1
                       AND coalesce(l.next_try_ms, 0) <= ?1
                       AND (o.method NOT IN (SELECT value FROM json_each(?2))
                            OR coalesce(l.next_post_ms, 0) <= ?1)
                     ORDER BY o.id LIMIT ?3",
                )?
                .query_map((now, &paced, limit), |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut claimed = Vec::with_capacity(heads.len());
            for (id, lane, in_doubt) in heads {
                let (entry, token) = c
                    .prepare_cached(concat!(
                        "UPDATE outbox SET claimed_until = ?2, claims = claims + 1,
                                           claimed_by = ?3, sending = 1
                         WHERE id = ?1
                         RETURNING ",
                        columns!(),
                        ", claims"
                    ))?
                    .query_row((id, until, &self.owner), |row| {
                        Ok((from_row(row)?, row.get::<_, i64>(9)?))
                    })?;
                claimed.push(ClaimedHead {
                    entry,
                    lane,
                    claim: Claim {
                        id,
                        token,
                        until_ms: until,
                    },
                    in_doubt,
                });
            }
            let next_ms: Option<i64> = c
                .prepare_cached(
                    "SELECT min(max(l.next_try_ms, l.next_post_ms)) FROM outbox_lanes l
                     WHERE (l.next_try_ms > ?1 OR l.next_post_ms > ?1)
                       AND EXISTS (SELECT 1 FROM outbox o
                                   WHERE o.lane = l.lane AND o.status = 'pending')",
                )?
                .query_row([now], |row| row.get(0))?;
            Ok(Heads { claimed, next_ms })
        })
    }

    async fn settle_head(
        &self,
        claim: &Claim,
        lane: &str,
        outcome: Settlement,
        hold: LaneHold,
    ) -> Result<bool, StorageError> {
        self.write_now(|c| {
            hold_lane(c, lane, hold)?;
            settle(c, claim, &outcome)
        })
    }

    async fn release(
        &self,
        claim: &Claim,
        lane: &str,
        hold: LaneHold,
    ) -> Result<bool, StorageError> {
        self.write_now(|c| {
            hold_lane(c, lane, hold)?;
            let changed = c
                .prepare_cached(
                    "UPDATE outbox SET claimed_until = 0, sending = 0
                     WHERE id = ?1 AND status = 'pending' AND claims = ?2",
                )?
                .execute((claim.id, claim.token))?;
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

/// Settles a claimed entry; see [`OutboxStore::settle`]. Every outcome but
/// [`Settlement::Unclear`] says what Slack made of the attempt, so it clears
/// `sending`.
fn settle(c: &Connection, claim: &Claim, outcome: &Settlement) -> Result<bool, StorageError> {
    let held = "WHERE id = ?1 AND status = 'pending' AND claims = ?2";
    let changed = match outcome {
        Settlement::Delivered(result) => c
            .prepare_cached(&format!(
                "UPDATE outbox SET status = 'delivered', attempts = attempts + 1,
                 result = ?3, claimed_until = 0, sending = 0 {held}"
            ))?
            .execute((claim.id, claim.token, result.to_string()))?,
        Settlement::Failed(error) => c
            .prepare_cached(&format!(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1,
                 last_error = ?3, claimed_until = 0, sending = 0 {held}"
            ))?
            .execute((claim.id, claim.token, error))?,
        Settlement::Retry(error) => c
            .prepare_cached(&format!(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?3,
                 claimed_until = 0, sending = 0 {held}"
            ))?
            .execute((claim.id, claim.token, error))?,
        Settlement::Unclear(error) => c
            .prepare_cached(&format!(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?3,
                 claimed_until = 0, sending = 1 {held}"
            ))?
            .execute((claim.id, claim.token, error))?,
    };
    Ok(changed > 0)
}

/// Moves `lane`'s hold later as `hold` says (never earlier).
fn hold_lane(c: &Connection, lane: &str, hold: LaneHold) -> Result<(), StorageError> {
    if hold == LaneHold::default() {
        return Ok(());
    }
    c.prepare_cached(
        "INSERT INTO outbox_lanes (lane, next_post_ms, next_try_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (lane) DO UPDATE SET
             next_post_ms = max(next_post_ms, excluded.next_post_ms),
             next_try_ms = max(next_try_ms, excluded.next_try_ms)",
    )?
    .execute((
        lane,
        hold.post_not_before_ms.unwrap_or(0),
        hold.try_not_before_ms.unwrap_or(0),
    ))?;
    Ok(())
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
