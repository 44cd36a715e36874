//! Webhook deliveries: recorded (in a unit, so the sender is answered only
//! once the delivery is durable), de-duplicated by `(app, hook,
//! delivery_id)`, claimed with a lease like the outbox, and settled in the
//! unit of the invocation that handled them.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};

use super::{Db, now_ms};
use crate::contract::limits::Quota;
use crate::storage::{
    Claim, Delivery, DeliveryOutcome, DeliveryStatus, NewDelivery, Received, StorageError, Wakeup,
    WebhookStore,
};

/// The columns [`from_row`] reads; `body` last, so listings can leave it out.
const COLUMNS: &str = "id, app, hook, delivery_id, received_ms, content_type, headers, \
     length(body), status, attempts, next_ms, last_error, settled_ms";

/// Records `d` unless it is a redelivery. With `kept` (0: unlimited)
/// deliveries of the app already kept, the oldest settled ones go to make
/// room; if too few are settled, the delivery is refused
/// ([`StorageError::OverQuota`]) and nothing is written, so the sender
/// tries again later and nothing it was told was received is lost.
pub(super) fn receive(
    c: &Connection,
    d: &NewDelivery<'_>,
    kept: u32,
) -> Result<Received, StorageError> {
    let headers = serde_json::to_string(d.headers)
        .map_err(|e| StorageError::Backend(format!("encoding headers: {e}")))?;
    if kept > 0 {
        if let Some(id) = recorded(c, d)? {
            return Ok(Received::Duplicate(id));
        }
        make_room(c, d.app, u64::from(kept))?;
    }
    let now = now_ms();
    let inserted: Option<i64> = c
        .prepare_cached(
            "INSERT INTO webhook_deliveries
                 (app, hook, delivery_id, received_ms, content_type, headers, body, status, next_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?4)
             ON CONFLICT (app, hook, delivery_id) DO NOTHING
             RETURNING id",
        )?
        .query_row(
            (
                d.app,
                d.hook,
                d.delivery_id,
                now,
                d.content_type,
                headers,
                d.body,
            ),
            |row| row.get(0),
        )
        .optional()?;
    if let Some(id) = inserted {
        return Ok(Received::New(id));
    }
    let id = recorded(c, d)?.ok_or_else(|| {
        StorageError::Backend("a delivery both conflicted and was not there".into())
    })?;
    Ok(Received::Duplicate(id))
}

/// The id `d` was recorded with before, if it was.
fn recorded(c: &Connection, d: &NewDelivery<'_>) -> Result<Option<i64>, StorageError> {
    Ok(c.prepare_cached(
        "SELECT id FROM webhook_deliveries WHERE app = ?1 AND hook = ?2 AND delivery_id = ?3",
    )?
    .query_row((d.app, d.hook, d.delivery_id), |row| row.get(0))
    .optional()?)
}

/// Room for one more delivery of `app` within `kept`: forgets the oldest
/// settled deliveries past it, or refuses (writing nothing) when there are
/// not enough settled ones.
fn make_room(c: &Connection, app: &str, kept: u64) -> Result<(), StorageError> {
    let recorded = super::usage::of(c, app)?.webhook_deliveries;
    if recorded < kept {
        return Ok(());
    }
    let excess = recorded - kept + 1;
    // Counted before anything goes, so a refusal writes nothing.
    let settled: u64 = c
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
             WHERE app = ?1 AND status != 'pending' ORDER BY id LIMIT ?2)",
        )?
        .query_row((app, excess as i64), |row| row.get::<_, i64>(0))? as u64;
    if settled < excess {
        return Err(StorageError::OverQuota {
            app: app.to_string(),
            quota: Quota::WebhookDeliveriesKept,
            used: recorded,
            limit: kept,
            adding: 1,
        });
    }
    c.prepare_cached(
        "DELETE FROM webhook_deliveries WHERE id IN (
             SELECT id FROM webhook_deliveries
             WHERE app = ?1 AND status != 'pending' ORDER BY id LIMIT ?2)",
    )?
    .execute((app, excess as i64))?;
    Ok(())
}

pub(super) fn settle(
    c: &Connection,
    claim: &Claim,
    outcome: &DeliveryOutcome,
) -> Result<bool, StorageError> {
    let held = "WHERE id = ?1 AND status = 'pending' AND claims = ?2";
    let now = now_ms();
    let changed = match outcome {
        DeliveryOutcome::Done => c
            .prepare_cached(&format!(
                "UPDATE webhook_deliveries SET status = 'done', attempts = attempts + 1,
                 settled_ms = ?3, claimed_until = 0 {held}"
            ))?
            .execute((claim.id, claim.token, now))?,
        DeliveryOutcome::Retry { error, at_ms } => c
            .prepare_cached(&format!(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = ?3,
                 next_ms = ?4, claimed_until = 0 {held}"
            ))?
            .execute((claim.id, claim.token, error, at_ms))?,
        DeliveryOutcome::Dead(error) => c
            .prepare_cached(&format!(
                "UPDATE webhook_deliveries SET status = 'dead', attempts = attempts + 1,
                 last_error = ?3, settled_ms = ?4, claimed_until = 0 {held}"
            ))?
            .execute((claim.id, claim.token, error, now))?,
    };
    Ok(changed == 1)
}

fn from_row(row: &Row<'_>, with_body: bool) -> rusqlite::Result<Delivery> {
    let headers = super::json_column(row, 6)?;
    let status: String = row.get(8)?;
    let status = DeliveryStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            8,
            Type::Text,
            format!("unknown delivery status {status:?}").into(),
        )
    })?;
    Ok(Delivery {
        id: row.get(0)?,
        app: row.get(1)?,
        hook: row.get(2)?,
        delivery_id: row.get(3)?,
        received_ms: row.get(4)?,
        content_type: row.get(5)?,
        headers,
        body_bytes: row.get::<_, i64>(7)? as u64,
        body: if with_body { row.get(13)? } else { Vec::new() },
        status,
        attempts: row.get(9)?,
        next_ms: row.get(10)?,
        last_error: row.get(11)?,
        settled_ms: row.get(12)?,
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
        let until = now_ms.saturating_add(lease.as_millis() as i64);
        self.write_now(|c| {
            let mut claimed = c
                .prepare_cached(&format!(
                    "UPDATE webhook_deliveries
                     SET claims = claims + 1, claimed_until = ?2, claimed_by = ?4
                     WHERE id IN (
                         SELECT id FROM webhook_deliveries
                         WHERE status = 'pending' AND next_ms <= ?1 AND claimed_until <= ?1
                         ORDER BY next_ms, id LIMIT ?3)
                     RETURNING {COLUMNS}, body, claims"
                ))?
                .query_map((now_ms, until, limit, &self.owner), |row| {
                    let delivery = from_row(row, true)?;
                    let claim = Claim {
                        id: delivery.id,
                        token: row.get(14)?,
                        until_ms: until,
                    };
                    Ok((delivery, claim))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            claimed.sort_by_key(|(d, _)| (d.next_ms, d.id));
            Ok(claimed)
        })
    }

    async fn release_orphaned(&self) -> Result<usize, StorageError> {
        self.write_now(|c| {
            Ok(super::release_orphaned(
                c,
                "webhook_deliveries",
                &self.owner,
            )?)
        })
    }

    async fn next_due(&self) -> Result<Option<i64>, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT min(max(next_ms, claimed_until)) FROM webhook_deliveries WHERE status = 'pending'",
            )?
            .query_row([], |row| row.get(0))?)
        })
    }

    async fn deliveries(
        &self,
        app: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM webhook_deliveries
                 WHERE ?1 IS NULL OR app = ?1 ORDER BY id DESC LIMIT ?2"
            ))?
            .query_map((app, limit), |row| from_row(row, false))?
            .collect::<Result<_, _>>()?)
        })
    }

    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {COLUMNS}, body FROM webhook_deliveries WHERE id = ?1"
            ))?
            .query_row([id], |row| from_row(row, true))
            .optional()?)
        })
    }

    async fn replay(&self, id: i64, now_ms: i64) -> Result<bool, StorageError> {
        let replayed = self.write_now(|c| {
            Ok(c.prepare_cached(
                "UPDATE webhook_deliveries
                 SET status = 'pending', attempts = 0, next_ms = ?2, settled_ms = NULL
                 WHERE id = ?1 AND NOT (status = 'pending' AND claimed_until > ?2)",
            )?
            .execute((id, now_ms))?
                == 1)
        })?;
        if replayed {
            self.webhook_wakeup.notify();
        }
        Ok(replayed)
    }

    async fn forget_settled_before(&self, cutoff_ms: i64) -> Result<usize, StorageError> {
        self.write_now(|c| {
            Ok(c.prepare_cached(
                "DELETE FROM webhook_deliveries WHERE status != 'pending' AND settled_ms < ?1",
            )?
            .execute([cutoff_ms])?)
        })
    }

    async fn pending_count(&self) -> Result<u64, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
            )?
            .query_row([], |row| row.get(0))?)
        })
    }
}
