//! What each app uses of its quotas: one row per app in `app_usage`, kept
//! by triggers on `kv` and `webhook_deliveries` (migration 6) inside the
//! transaction of every write, so reading it is one row, and a write and
//! its quota check see the same numbers.

use rusqlite::{Connection, OptionalExtension};

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
