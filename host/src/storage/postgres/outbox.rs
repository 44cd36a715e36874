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
//! **Lanes.** Each entry is queued in a lane ([`outbox_lane`]: its channel,
//! else its app) and only a lane's head — its oldest pending entry — is
//! claimable ([`claim_heads`](OutboxStore::claim_heads)). Heads are chosen
//! and claimed in one statement, `FOR UPDATE OF o SKIP LOCKED`: replicas
//! claiming at once take different heads. A replica whose snapshot is
//! older than a settlement still sees the settled entry as its lane's head
//! and finds it locked or no longer pending (PostgreSQL re-checks a locked
//! row's latest version), so it never takes the entry behind a head that
//! is still pending: one lane's entries go one at a time, in id order.
//! (Two units committing out of id order can put a later id ahead in a
//! lane; nothing orders those two units' calls anyway.)
//!
//! `outbox_lanes` holds each lane's hold — when its next paced post, and
//! its next try after a retryable failure, may go — written in the
//! settling statement, so every replica paces one channel together.
//! `sending` says an attempt may have reached Slack unrecorded: every
//! claim sets it, a settlement that knows the outcome clears it, and the
//! next claim reports what it found (`ClaimedHead::in_doubt`).
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

/// A lane's hold, upserted as a data-modifying CTE in front of the
/// statement that settles or releases, so both are one statement and one
/// transaction. Its parameters (lane, post, try) are numbered from `first`.
fn hold_cte(first: usize) -> String {
    let (lane, post, next_try) = (first, first + 1, first + 2);
    format!(
        "WITH hold AS (
            INSERT INTO outbox_lanes AS l (lane, next_post_ms, next_try_ms)
            VALUES (${lane}, ${post}, ${next_try})
            ON CONFLICT (lane) DO UPDATE SET
                next_post_ms = GREATEST(l.next_post_ms, excluded.next_post_ms),
                next_try_ms = GREATEST(l.next_try_ms, excluded.next_try_ms))"
    )
}

pub(super) async fn enqueue(
    c: &deadpool_postgres::Client,
    call: &NewCall<'_>,
) -> Result<i64, StorageError> {
    let row = query_one(
        c,
        "INSERT INTO outbox (created_ms, app, method, payload, status, lane)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            &now_ms(),
            &call.app,
            &call.method,
            &call.payload.to_string(),
            &call.status.as_str(),
            &outbox_lane(call.app, call.method, call.payload),
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
                    claimed_replica = $4, claimed_by = $5, sending = true
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
        self.settle_head(claim, "", outcome, LaneHold::default())
            .await
    }

    async fn claim_heads(
        &self,
        limit: u32,
        lease: Duration,
        paced: &[&str],
    ) -> Result<Heads, StorageError> {
        let now = now_ms();
        let until = lease_end(now, lease);
        let limit = i64::from(limit);
        let (rows, next) = autocommit!(self, |c| {
            let rows = query(
                c,
                concat!(
                    "WITH heads AS (
                         SELECT o.id, o.sending FROM outbox o
                         LEFT JOIN outbox_lanes l ON l.lane = o.lane
                         WHERE o.id IN (SELECT min(id) FROM outbox WHERE status = 'pending'
                                        GROUP BY lane)
                           AND o.status = 'pending' AND o.claimed_until <= $1
                           AND coalesce(l.next_try_ms, 0) <= $1
                           AND (o.method <> ALL($2::text[]) OR coalesce(l.next_post_ms, 0) <= $1)
                         ORDER BY o.id LIMIT $3
                         FOR UPDATE OF o SKIP LOCKED)
                     UPDATE outbox o SET claimed_until = $4, claims = o.claims + 1,
                            claimed_replica = $5, claimed_by = $6, sending = true
                     FROM heads WHERE o.id = heads.id
                     RETURNING ",
                    "o.id, o.created_ms, o.app, o.method, o.payload, o.status, o.attempts,
                     o.last_error, o.result",
                    ", o.claims, o.lane, heads.sending"
                ),
                &[
                    &now,
                    &paced,
                    &limit,
                    &until,
                    &self.replica,
                    &self.incarnation,
                ],
            )
            .await?;
            let next = query_one(
                c,
                "SELECT min(GREATEST(l.next_try_ms, l.next_post_ms)) FROM outbox_lanes l
                 WHERE (l.next_try_ms > $1 OR l.next_post_ms > $1)
                   AND EXISTS (SELECT 1 FROM outbox o
                               WHERE o.lane = l.lane AND o.status = 'pending')",
                &[&now],
            )
            .await?;
            Ok((rows, next))
        })?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(ClaimedHead {
                    entry: from_row(row)?,
                    claim: Claim {
                        id: row.try_get(0)?,
                        token: row.try_get(9)?,
                        until_ms: until,
                    },
                    lane: row.try_get::<_, Option<String>>(10)?.unwrap_or_default(),
                    in_doubt: row.try_get(11)?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        claimed.sort_by_key(|head| head.entry.id);
        Ok(Heads {
            claimed,
            next_ms: next.try_get(0)?,
        })
    }

    async fn settle_head(
        &self,
        claim: &Claim,
        lane: &str,
        outcome: Settlement,
        hold: LaneHold,
    ) -> Result<bool, StorageError> {
        // Every outcome but `Unclear` says what Slack made of the attempt.
        let (set, detail, sending) = match &outcome {
            Settlement::Delivered(result) => (
                "status = 'delivered', result = $3",
                result.to_string(),
                false,
            ),
            Settlement::Failed(error) => (
                "status = 'failed', last_error = $3",
                shown(error).into_owned(),
                false,
            ),
            Settlement::Retry(error) => ("last_error = $3", shown(error).into_owned(), false),
            Settlement::Unclear(error) => ("last_error = $3", shown(error).into_owned(), true),
        };
        let update = format!(
            "UPDATE outbox SET {set}, attempts = attempts + 1, claimed_until = 0,
                    sending = {sending}
             WHERE id = $1 AND status = 'pending' AND claims = $2"
        );
        let changed = autocommit!(self, |c| if hold == LaneHold::default() {
            execute(c, &update, &[&claim.id, &claim.token, &detail]).await
        } else {
            execute(
                c,
                &format!("{} {update}", hold_cte(4)),
                &[
                    &claim.id,
                    &claim.token,
                    &detail,
                    &lane,
                    &hold.post_not_before_ms.unwrap_or(0),
                    &hold.try_not_before_ms.unwrap_or(0),
                ],
            )
            .await
        })?;
        Ok(changed > 0)
    }

    async fn release(
        &self,
        claim: &Claim,
        lane: &str,
        hold: LaneHold,
    ) -> Result<bool, StorageError> {
        let changed = autocommit!(self, |c| execute(
            c,
            &format!(
                "{} UPDATE outbox SET claimed_until = 0, sending = false
                 WHERE id = $1 AND status = 'pending' AND claims = $2",
                hold_cte(3)
            ),
            &[
                &claim.id,
                &claim.token,
                &lane,
                &hold.post_not_before_ms.unwrap_or(0),
                &hold.try_not_before_ms.unwrap_or(0),
            ],
        )
        .await)?;
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
