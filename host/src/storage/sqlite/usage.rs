//! What each app uses of its quotas: one row per app in `app_usage`, kept
//! by triggers on `kv` and `webhook_deliveries` (migration 6) inside the
//! transaction of every write, so reading it is one row, and a write and
//! its quota check see the same numbers.

use rusqlite::{Connection, OptionalExtension};

use crate::contract::limits::Quota;
use crate::storage::{StorageError, Usage};

/// What `app` uses now (nothing, if it never wrote).
pub(super) fn of(c: &Connection, app: &str) -> Result<Usage, StorageError> {
    let row: Option<(i64, i64, i64)> = c
        .prepare_cached(
            "SELECT store_bytes, store_keys, webhook_deliveries FROM app_usage WHERE app = ?1",
        )?
        .query_row([app], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let (bytes, keys, deliveries) = row.unwrap_or_default();
    Ok(Usage {
        store_bytes: bytes.max(0) as u64,
        store_keys: keys.max(0) as u64,
        webhook_deliveries: deliveries.max(0) as u64,
    })
}

/// `Err(OverQuota)` if adding `adding` to `used` passes `limit` (0:
/// unlimited); what takes nothing (or gives back) always passes.
pub(super) fn check(
    app: &str,
    quota: Quota,
    used: u64,
    adding: i64,
    limit: u64,
) -> Result<(), StorageError> {
    if limit == 0 || adding <= 0 || used.saturating_add(adding as u64) <= limit {
        return Ok(());
    }
    Err(StorageError::OverQuota {
        app: app.to_string(),
        quota,
        used,
        limit,
        adding: adding as u64,
    })
}
