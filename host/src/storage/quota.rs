//! The store and webhook quota arithmetic every backend applies inside the
//! write's own transaction. Backends differ in how they read what an app
//! uses (SQLite sums it; PostgreSQL keeps a usage row locked per app); what
//! counts as growth and when a write is refused is decided here, once, so
//! the two cannot drift apart.

use super::{StorageError, Usage};
use crate::contract::limits::{Quota, Quotas};

/// Whether `quotas` limit the store at all (else nothing is checked).
pub(crate) fn limits_store(quotas: &Quotas) -> bool {
    quotas.store_bytes > 0 || quotas.store_keys > 0
}

/// What replacing a value of `old` bytes at `key` (`None`: absent) by one
/// of `new` bytes (`None`: deleted) adds to an app's store, as (bytes,
/// keys); `None` when it adds neither — a write that frees always passes,
/// and the caller need not read the usage at all.
pub(crate) fn store_growth(
    key: &str,
    old: Option<usize>,
    new: Option<usize>,
) -> Option<(i64, i64)> {
    let entry = |len: usize| (key.len() + len) as i64;
    let bytes = new.map_or(0, entry) - old.map_or(0, entry);
    let keys = i64::from(new.is_some()) - i64::from(old.is_some());
    (bytes > 0 || keys > 0).then_some((bytes, keys))
}

/// Refuses a store write that grows `app`'s store by `growth` (from
/// [`store_growth`]) past its quotas, given what it `used`.
pub(crate) fn admit_store(
    app: &str,
    (bytes, keys): (i64, i64),
    used: Usage,
    quotas: &Quotas,
) -> Result<(), StorageError> {
    check(
        app,
        Quota::StoreBytes,
        used.store_bytes,
        bytes,
        quotas.store_bytes,
    )?;
    check(
        app,
        Quota::StoreKeys,
        used.store_keys,
        keys,
        quotas.store_keys,
    )
}

/// `Err(OverQuota)` if adding `adding` to `used` passes `limit` (0:
/// unlimited); what takes nothing (or gives back) always passes.
pub(crate) fn check(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_counts_key_and_value_and_frees_pass() {
        assert_eq!(store_growth("ab", None, Some(3)), Some((5, 1)));
        assert_eq!(store_growth("ab", Some(3), Some(4)), Some((1, 0)));
        assert_eq!(store_growth("ab", Some(3), Some(3)), None);
        assert_eq!(store_growth("ab", Some(3), None), None);
        let quotas = Quotas {
            store_bytes: 10,
            store_keys: 1,
            ..Quotas::default()
        };
        let used = Usage {
            store_bytes: 6,
            store_keys: 0,
            webhook_deliveries: 0,
        };
        assert!(admit_store("a", (4, 1), used, &quotas).is_ok());
        let over = admit_store("a", (5, 1), used, &quotas).unwrap_err();
        assert!(matches!(
            over,
            StorageError::OverQuota {
                quota: Quota::StoreBytes,
                ..
            }
        ));
    }
}
