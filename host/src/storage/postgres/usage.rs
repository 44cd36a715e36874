//! What each app uses of its quotas: a `store_usage` and a `webhook_usage`
//! row per app, kept by triggers (migration 1) in the transaction of every
//! write, so reading it is one row, and the lock on that row is what makes
//! a quota check and its write one step across concurrent units.

use super::{execute, query_opt};
use crate::storage::{StorageError, Usage};

/// What `app` uses now, as the calling transaction sees it.
pub(super) async fn of(c: &deadpool_postgres::Client, app: &str) -> Result<Usage, StorageError> {
    let row = query_opt(
        c,
        "SELECT coalesce((SELECT store_bytes FROM store_usage WHERE app = $1), 0),
                coalesce((SELECT store_keys FROM store_usage WHERE app = $1), 0),
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

/// `app`'s store usage; with `lock`, first locks its row (creating it if
/// need be) until the transaction ends. Every writer of an app's keys takes
/// this lock before it touches a key, so concurrent units cannot pass a
/// quota together, and no two of them can deadlock over keys (they all
/// queue on this row first).
pub(super) async fn store(
    c: &deadpool_postgres::Client,
    app: &str,
    lock: bool,
) -> Result<Usage, StorageError> {
    const LOCK: &str = "SELECT store_bytes, store_keys FROM store_usage WHERE app = $1 FOR UPDATE";
    const READ: &str = "SELECT store_bytes, store_keys FROM store_usage WHERE app = $1";
    let mut row = query_opt(c, if lock { LOCK } else { READ }, &[&app]).await?;
    if row.is_none() && lock {
        // A concurrent unit creating the same row makes this wait for it,
        // then do nothing: either way the row exists to be locked.
        execute(
            c,
            "INSERT INTO store_usage (app) VALUES ($1) ON CONFLICT (app) DO NOTHING",
            &[&app],
        )
        .await?;
        row = query_opt(c, LOCK, &[&app]).await?;
    }
    let (bytes, keys): (i64, i64) = match row {
        Some(row) => (row.try_get(0)?, row.try_get(1)?),
        None => (0, 0),
    };
    Ok(Usage {
        store_bytes: bytes.max(0) as u64,
        store_keys: keys.max(0) as u64,
        webhook_deliveries: 0,
    })
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
