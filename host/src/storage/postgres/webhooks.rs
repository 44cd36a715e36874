//! Webhook deliveries: recorded in a unit (so the sender is answered only
//! once the delivery is committed), de-duplicated by `(app, hook,
//! delivery_id)` — a unique index, so two replicas receiving the same
//! redelivery at once record it once — claimed with a lease like the
//! outbox, and settled in the unit of the invocation that handled them.
//!
//! Runners on several replicas claim with `FOR UPDATE SKIP LOCKED`: each
//! takes due rows nobody is claiming this instant, and a row claimed a
//! moment ago no longer matches (its lease is in the future), so every
//! delivery is handed to one runner.

use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::Row;

use super::{Db, execute, json_column, lease_end, now_ms, query, query_one, query_opt, shown};
use crate::contract::limits::Quota;
use crate::storage::{
    Claim, Delivery, DeliveryOutcome, DeliveryStatus, NewDelivery, Received, StorageError, Wakeup,
    WebhookStore,
};

/// The columns [`from_row`] reads (`claim_due` spells them out again,
/// qualified); `body` follows when asked for.
const COLUMNS: &str = "id, app, hook, delivery_id, received_ms, content_type, headers, \
     octet_length(body), status, attempts, next_ms, last_error, settled_ms";

/// Records `d` unless it is a redelivery, in a unit that holds `d.app`'s
/// `webhook_usage` row lock, `used` being what that row counts. With
/// `kept` (0: unlimited) deliveries already kept, the oldest settled ones
/// go to make room; if too few are settled, the delivery is refused
/// ([`StorageError::OverQuota`]) and nothing is written, so the sender
/// tries again later and nothing it was told was received is lost.
pub(super) async fn receive(
    c: &deadpool_postgres::Client,
    d: &NewDelivery<'_>,
    used: u64,
    kept: u32,
) -> Result<Received, StorageError> {
    let headers = serde_json::to_string(d.headers)
        .map_err(|e| StorageError::Backend(format!("encoding headers: {e}")))?;
    if kept > 0 {
        if let Some(id) = recorded(c, d).await? {
            return Ok(Received::Duplicate(id));
        }
        make_room(c, d.app, used, u64::from(kept)).await?;
    }
    let inserted = query_opt(
        c,
        "INSERT INTO webhook_deliveries
             (app, hook, delivery_id, received_ms, content_type, headers, body, status, next_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $4)
         ON CONFLICT (app, hook, delivery_id) DO NOTHING
         RETURNING id",
        &[
            &d.app,
            &d.hook,
            &d.delivery_id,
            &now_ms(),
            &shown(d.content_type),
            &headers,
            &d.body,
        ],
    )
    .await?;
    if let Some(row) = inserted {
        return Ok(Received::New(row.try_get(0)?));
    }
    let id = recorded(c, d).await?.ok_or_else(|| {
        StorageError::Backend("a delivery both conflicted and was not there".into())
    })?;
    Ok(Received::Duplicate(id))
}

/// The id `d` was recorded with before, if it was.
async fn recorded(
    c: &deadpool_postgres::Client,
    d: &NewDelivery<'_>,
) -> Result<Option<i64>, StorageError> {
    let row = query_opt(
        c,
        "SELECT id FROM webhook_deliveries WHERE app = $1 AND hook = $2 AND delivery_id = $3",
        &[&d.app, &d.hook, &d.delivery_id],
    )
    .await?;
    Ok(match row {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    })
}

/// Room for one more delivery of `app` within `kept`: forgets the oldest
/// settled deliveries past it, or refuses (writing nothing) when there are
/// not enough settled ones.
async fn make_room(
    c: &deadpool_postgres::Client,
    app: &str,
    recorded: u64,
    kept: u64,
) -> Result<(), StorageError> {
    if recorded < kept {
        return Ok(());
    }
    let excess = (recorded - kept + 1) as i64;
    // Counted before anything goes, so a refusal writes nothing.
    let settled: i64 = query_one(
        c,
        "SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
         WHERE app = $1 AND status <> 'pending' ORDER BY id LIMIT $2) AS oldest",
        &[&app, &excess],
    )
    .await?
    .try_get(0)?;
    if settled < excess {
        return Err(StorageError::OverQuota {
            app: app.to_string(),
            quota: Quota::WebhookDeliveriesKept,
            used: recorded,
            limit: kept,
            adding: 1,
        });
    }
    execute(
        c,
        "DELETE FROM webhook_deliveries WHERE id IN (
             SELECT id FROM webhook_deliveries
             WHERE app = $1 AND status <> 'pending' ORDER BY id LIMIT $2)",
        &[&app, &excess],
    )
    .await?;
    Ok(())
}

pub(super) async fn settle(
    c: &deadpool_postgres::Client,
    claim: &Claim,
    outcome: &DeliveryOutcome,
) -> Result<bool, StorageError> {
    let held = "WHERE id = $1 AND status = 'pending' AND claims = $2";
    let now = now_ms();
    let changed = match outcome {
        DeliveryOutcome::Done => {
            execute(
                c,
                &format!(
                    "UPDATE webhook_deliveries SET status = 'done', attempts = attempts + 1,
                     settled_ms = $3, claimed_until = 0 {held}"
                ),
                &[&claim.id, &claim.token, &now],
            )
            .await?
        }
        DeliveryOutcome::Retry { error, at_ms } => {
            execute(
                c,
                &format!(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $3,
                     next_ms = $4, claimed_until = 0 {held}"
                ),
                &[&claim.id, &claim.token, &shown(error), at_ms],
            )
            .await?
        }
        DeliveryOutcome::Dead(error) => {
            execute(
                c,
                &format!(
                    "UPDATE webhook_deliveries SET status = 'dead', attempts = attempts + 1,
                     last_error = $3, settled_ms = $4, claimed_until = 0 {held}"
                ),
                &[&claim.id, &claim.token, &shown(error), &now],
            )
            .await?
        }
    };
    Ok(changed == 1)
}

fn from_row(row: &Row, with_body: bool) -> Result<Delivery, StorageError> {
    let status: &str = row.try_get(8)?;
    let status = DeliveryStatus::parse(status)
        .ok_or_else(|| StorageError::Backend(format!("unknown delivery status {status:?}")))?;
    Ok(Delivery {
        id: row.try_get(0)?,
        app: row.try_get(1)?,
        hook: row.try_get(2)?,
        delivery_id: row.try_get(3)?,
        received_ms: row.try_get(4)?,
        content_type: row.try_get(5)?,
        headers: json_column(row, 6)?,
        body_bytes: row.try_get::<_, i32>(7)?.max(0) as u64,
        body: if with_body {
            row.try_get(13)?
        } else {
            Vec::new()
        },
        status,
        attempts: row.try_get::<_, i32>(9)?.max(0) as u32,
        next_ms: row.try_get(10)?,
        last_error: row.try_get(11)?,
        settled_ms: row.try_get(12)?,
    })
}

#[async_trait]
impl WebhookStore for Db {
    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<(Delivery, Claim)>, StorageError> {
        let until = lease_end(now_ms, lease);
        let rows = autocommit!(self, |c| query(
            c,
            "UPDATE webhook_deliveries AS d
             SET claims = d.claims + 1, claimed_until = $2,
                 claimed_replica = $4, claimed_by = $5
             FROM (SELECT id FROM webhook_deliveries
                   WHERE status = 'pending' AND next_ms <= $1 AND claimed_until <= $1
                   ORDER BY next_ms, id LIMIT $3
                   FOR UPDATE SKIP LOCKED) AS due
             WHERE d.id = due.id
             RETURNING d.id, d.app, d.hook, d.delivery_id, d.received_ms, d.content_type,
                       d.headers, octet_length(d.body), d.status, d.attempts, d.next_ms,
                       d.last_error, d.settled_ms, d.body, d.claims",
            &[
                &now_ms,
                &until,
                &i64::from(limit),
                &self.replica,
                &self.incarnation
            ],
        )
        .await)?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let delivery = from_row(row, true)?;
                let claim = Claim {
                    id: delivery.id,
                    token: row.try_get(14)?,
                    until_ms: until,
                };
                Ok((delivery, claim))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        claimed.sort_by_key(|(d, _)| (d.next_ms, d.id));
        Ok(claimed)
    }

    async fn release_orphaned(&self) -> Result<usize, StorageError> {
        autocommit!(self, |c| super::replicas::release_orphaned(
            c,
            "webhook_deliveries",
            &self.replica,
            self.incarnation
        )
        .await)
    }

    async fn next_due(&self) -> Result<Option<i64>, StorageError> {
        let row = autocommit!(self, |c| query_one(
            c,
            "SELECT min(greatest(next_ms, claimed_until)) FROM webhook_deliveries
             WHERE status = 'pending'",
            &[],
        )
        .await)?;
        Ok(row.try_get(0)?)
    }

    async fn deliveries(
        &self,
        app: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StorageError> {
        let limit = i64::from(limit);
        let rows = autocommit!(self, |c| query(
            c,
            &format!(
                "SELECT {COLUMNS} FROM webhook_deliveries
                 WHERE $1::text IS NULL OR app = $1::text ORDER BY id DESC LIMIT $2"
            ),
            &[&app, &limit],
        )
        .await)?;
        rows.iter().map(|row| from_row(row, false)).collect()
    }

    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StorageError> {
        let row = autocommit!(self, |c| query_opt(
            c,
            &format!("SELECT {COLUMNS}, body FROM webhook_deliveries WHERE id = $1"),
            &[&id],
        )
        .await)?;
        row.map(|row| from_row(&row, true)).transpose()
    }

    async fn replay(&self, id: i64, now_ms: i64) -> Result<bool, StorageError> {
        let replayed = autocommit!(self, |c| execute(
            c,
            "UPDATE webhook_deliveries
             SET status = 'pending', attempts = 0, next_ms = $2, settled_ms = NULL
             WHERE id = $1 AND NOT (status = 'pending' AND claimed_until > $2)",
            &[&id, &now_ms],
        )
        .await)?
            == 1;
        if replayed {
            self.webhook_wakeup.notify();
        }
        Ok(replayed)
    }

    /// Locks the usage rows of the apps it forgets deliveries of, in app
    /// order, before deleting (whose triggers update them): the order every
    /// multi-app writer takes them in, so this cannot deadlock with another.
    async fn forget_settled_before(&self, cutoff_ms: i64) -> Result<usize, StorageError> {
        let mut client = self.client().await?;
        let mut tries = 0;
        loop {
            tries += 1;
            let forgot = async {
                let tx = client.transaction().await?;
                tx.query(
                    "SELECT app FROM webhook_usage WHERE app IN (
                         SELECT app FROM webhook_deliveries
                         WHERE status <> 'pending' AND settled_ms < $1)
                     ORDER BY app FOR UPDATE",
                    &[&cutoff_ms],
                )
                .await?;
                let deleted = tx
                    .execute(
                        "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND settled_ms < $1",
                        &[&cutoff_ms],
                    )
                    .await?;
                tx.commit().await?;
                Ok::<_, StorageError>(deleted as usize)
            }
            .await;
            match forgot {
                Err(StorageError::Backend(why))
                    if tries < 3 && why.starts_with(super::CONFLICT) =>
                {
                    continue;
                }
                other => return other,
            }
        }
    }

    async fn pending_count(&self) -> Result<u64, StorageError> {
        let row = autocommit!(self, |c| query_one(
            c,
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
            &[],
        )
        .await)?;
        Ok(row.try_get::<_, i64>(0)?.max(0) as u64)
    }
}
