//! What each app uses of its quotas.
//!
//! **Webhook deliveries**: a `webhook_usage` row per app, kept by a trigger
//! in the transaction of every write and locked by the writer first
//! ([`webhooks`]), so the quota check and the write are one step.
//!
//! **The store** is every app's busiest path, so its writers must not queue
//! on one row for the whole of their units. `store_usage` holds what the
//! committed writes use; a unit's own writes are added up by the `kv`
//! trigger in its row of `store_usage_tx` (keyed by its transaction id, so
//! no other transaction touches it) and folded into `store_usage` in the
//! round trip that commits the unit ([`FOLD`]): the app's row is locked from
//! that fold to the end of the commit only. Quotas stay exact without
//! holding it: a write that grows the store first reserves the growth
//! ([`reserve`]) in a short transaction of its own on a separate pool,
//! which locks the app's usage row, counts the committed use plus every
//! reservation whose transaction is still in progress (`txid_status`:
//! a unit that rolled back, or whose replica died, stops counting by
//! itself), and records the new reservation only if it fits. The commit
//! deletes the unit's reservations as it folds what it actually wrote, so
//! a reserver sees each write counted once — as a reservation before the
//! commit, as use after it. A unit's own frees count from its commit.

use super::{execute, query_opt};
use crate::contract::limits::Quotas;
use crate::storage::{StorageError, Usage, quota};

/// What `app` uses now, as the calling transaction sees it: the committed
/// use plus what this transaction wrote (its `store_usage_tx` row).
pub(super) async fn of(c: &deadpool_postgres::Client, app: &str) -> Result<Usage, StorageError> {
    let row = query_opt(
        c,
        "SELECT coalesce((SELECT store_bytes FROM store_usage WHERE app = $1), 0)
                  + coalesce((SELECT store_bytes FROM store_usage_tx
                              WHERE txid = txid_current_if_assigned() AND app = $1), 0),
                coalesce((SELECT store_keys FROM store_usage WHERE app = $1), 0)
                  + coalesce((SELECT store_keys FROM store_usage_tx
                              WHERE txid = txid_current_if_assigned() AND app = $1), 0),
                coalesce((SELECT deliveries FROM webhook_usage WHERE app = $1), 0)",
        &[&app],
    )
    .await?;
    let (bytes, keys, deliveries): (i64, i64, i64) = match row {
        Some(row) => (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?),
        None => (0, 0, 0),
    };
    Ok(Usage {
        store_bytes: bytes.max(0) as u64,
        store_keys: keys.max(0) as u64,
        webhook_deliveries: deliveries.max(0) as u64,
    })
}

/// Sent with `COMMIT` by a unit whose writes may have changed what its
/// store uses: moves what the transaction wrote from `store_usage_tx` into
/// `store_usage` (apps in order, so two units folding the same apps lock
/// their rows in one order). A write that changed no size left no row, so
/// the app's row is not even locked. No parameters: it runs in the simple
/// protocol, in the same message as `COMMIT`.
pub(super) const FOLD: &str = "
    WITH mine AS (
        DELETE FROM store_usage_tx WHERE txid = txid_current()
        RETURNING app, store_bytes, store_keys
    )
    INSERT INTO store_usage AS u (app, store_bytes, store_keys)
        SELECT app, store_bytes, store_keys FROM mine ORDER BY app
        ON CONFLICT (app) DO UPDATE
        SET store_bytes = u.store_bytes + excluded.store_bytes,
            store_keys = u.store_keys + excluded.store_keys;
";

/// Sent with `COMMIT` (after [`FOLD`]) by a unit that reserved: what it
/// reserved is use now, or was never written.
pub(super) const UNRESERVE: &str = "DELETE FROM store_reservations WHERE txid = txid_current();";

/// Reserves `growth` (bytes, keys) of `app`'s store for the unit whose
/// transaction is `txid`, or refuses it with the quota error if it does not
/// fit what `quotas` allow. One round trip on `c` (a connection of its own,
/// outside the unit), and one message: the statements go as one simple
/// query, which the server runs as one transaction once it has all of it,
/// so the app's usage row is never locked while the server waits for this
/// replica — a replica paused or cut off mid-reservation must not stop
/// every other writer of the app. The lock is taken by its own statement,
/// so the next one, which sums the reservations, reads them with a
/// snapshot taken once the lock is held: every reservation made before it
/// is seen. The reservation counts while `txid` is in progress.
pub(super) async fn reserve(
    c: &deadpool_postgres::Client,
    app: &str,
    txid: i64,
    growth: (i64, i64),
    quotas: &Quotas,
) -> Result<(), StorageError> {
    let (bytes, keys) = growth;
    let max_bytes = i64::try_from(quotas.store_bytes).unwrap_or(i64::MAX);
    let max_keys = i64::try_from(quotas.store_keys).unwrap_or(i64::MAX);
    let app_literal = literal(app)?;
    let sql = format!(
        "INSERT INTO store_usage AS u (app) VALUES ({app_literal})
             ON CONFLICT (app) DO UPDATE SET app = excluded.app;
         WITH used AS (
             SELECT coalesce((SELECT store_bytes FROM store_usage WHERE app = {app_literal}), 0)
                      + coalesce(sum(r.store_bytes), 0)::bigint AS bytes,
                    coalesce((SELECT store_keys FROM store_usage WHERE app = {app_literal}), 0)
                      + coalesce(sum(r.store_keys), 0)::bigint AS keys
             FROM store_reservations r
             WHERE r.app = {app_literal} AND txid_status(r.txid) = 'in progress'
         ), live AS (
             SELECT txid_status({txid}) = 'in progress' AS live
         ), kept AS (
             INSERT INTO store_reservations (txid, app, store_bytes, store_keys)
             SELECT {txid}, {app_literal}, {bytes}, {keys} FROM used, live
             WHERE live.live
               AND ({max_bytes} = 0 OR {bytes} <= 0 OR used.bytes + {bytes} <= {max_bytes})
               AND ({max_keys} = 0 OR {keys} <= 0 OR used.keys + {keys} <= {max_keys})
             RETURNING 1
         ), gone AS (
             DELETE FROM store_reservations
             WHERE app = {app_literal} AND txid_status(txid) IS DISTINCT FROM 'in progress'
         )
         SELECT used.bytes, used.keys, (SELECT count(*) FROM kept), live.live
         FROM used, live"
    );
    let messages = c.simple_query(&sql).await?;
    let Some(row) = messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    }) else {
        return Err(StorageError::Backend(
            "reserving store use: the database answered no row".into(),
        ));
    };
    let number = |i: usize| -> Result<i64, StorageError> {
        row.get(i).and_then(|v| v.parse().ok()).ok_or_else(|| {
            StorageError::Backend(format!("reserving store use: column {i} is not a number"))
        })
    };
    let used = Usage {
        store_bytes: number(0)?.max(0) as u64,
        store_keys: number(1)?.max(0) as u64,
        webhook_deliveries: 0,
    };
    if number(2)? == 1 {
        return Ok(());
    }
    if row.get(3) != Some("t") {
        // Reservations count only while their transaction runs; this one's
        // ended (its connection broke, or the database failed over).
        return Err(StorageError::Lost(
            "the unit's transaction ended before its write was reserved; nothing of it was kept"
                .into(),
        ));
    }
    quota::admit_store(app, growth, used, quotas)?;
    Err(StorageError::Backend(format!(
        "reserving {bytes} bytes and {keys} keys of `{app}`'s store was refused, \
         though {used:?} leaves room; nothing was written"
    )))
}

/// `text` as an SQL string literal (standard_conforming_strings, on since
/// PostgreSQL 9.1: only `'` is special). A NUL cannot be sent at all.
fn literal(text: &str) -> Result<String, StorageError> {
    if text.contains('\0') {
        return Err(StorageError::Backend(
            "an app name with a NUL character cannot be stored in PostgreSQL".into(),
        ));
    }
    Ok(format!("'{}'", text.replace('\'', "''")))
}

/// `app`'s webhook deliveries kept; with `lock`, first locks its row, as
/// [`store`] does for keys.
pub(super) async fn webhooks(
    c: &deadpool_postgres::Client,
    app: &str,
    lock: bool,
) -> Result<u64, StorageError> {
    const LOCK: &str = "SELECT deliveries FROM webhook_usage WHERE app = $1 FOR UPDATE";
    const READ: &str = "SELECT deliveries FROM webhook_usage WHERE app = $1";
    let mut row = query_opt(c, if lock { LOCK } else { READ }, &[&app]).await?;
    if row.is_none() && lock {
        execute(
            c,
            "INSERT INTO webhook_usage (app) VALUES ($1) ON CONFLICT (app) DO NOTHING",
            &[&app],
        )
        .await?;
        row = query_opt(c, LOCK, &[&app]).await?;
    }
    let deliveries: i64 = match row {
        Some(row) => row.try_get(0)?,
        None => 0,
    };
    Ok(deliveries.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn literals_double_quotes_and_refuse_nul() {
        assert_eq!(literal("poll").unwrap(), "'poll'");
        assert_eq!(literal("o'brien").unwrap(), "'o''brien'");
        assert_eq!(literal("a\\b").unwrap(), "'a\\b'");
        assert!(literal("a\0b").is_err());
    }
}
