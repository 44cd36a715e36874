//! Per-app key-value namespaces: rows keyed by `(app, key)`, each write
//! checked against the app's store quotas in the same step (see
//! [`admit`]).

use rusqlite::{Connection, OptionalExtension};

use super::usage;
use crate::contract::limits::Quotas;
use crate::storage::{StorageError, checks, quota};

const GET: &str = "SELECT value FROM kv WHERE app = ?1 AND key = ?2";
const SET: &str = "INSERT INTO kv (app, key, value) VALUES (?1, ?2, ?3)
                   ON CONFLICT (app, key) DO UPDATE SET value = excluded.value";
const DELETE: &str = "DELETE FROM kv WHERE app = ?1 AND key = ?2";

pub(super) fn get(c: &Connection, app: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
    checks::key(key)?;
    Ok(c.prepare_cached(GET)?
        .query_row((app, key), |row| row.get(0))
        .optional()?)
}

pub(super) fn set(
    c: &Connection,
    app: &str,
    key: &str,
    value: &[u8],
    quotas: &Quotas,
) -> Result<(), StorageError> {
    if quota::limits_store(quotas) {
        let old = stored_len(c, app, key)?;
        admit(c, app, key, old, Some(value.len()), quotas)?;
    }
    c.prepare_cached(SET)?.execute((app, key, value))?;
    Ok(())
}

/// The length of the value at `key`, if there is one.
fn stored_len(c: &Connection, app: &str, key: &str) -> Result<Option<usize>, StorageError> {
    Ok(
        c.prepare_cached("SELECT length(value) FROM kv WHERE app = ?1 AND key = ?2")?
            .query_row((app, key), |row| row.get::<_, i64>(0))
            .optional()?
            .map(|n| n as usize),
    )
}

/// Refuses replacing a value of `old` bytes at `key` (`None`: absent) by
/// one of `new` bytes (`None`: deleted) if that takes `app` past its store
/// quotas. Runs inside the write's transaction, before anything is
/// written, so the check and the write are one step; a write that frees
/// bytes or keys always passes, without reading the usage.
fn admit(
    c: &Connection,
    app: &str,
    key: &str,
    old: Option<usize>,
    new: Option<usize>,
    quotas: &Quotas,
) -> Result<(), StorageError> {
    match quota::store_growth(key, old, new) {
        Some(growth) => quota::admit_store(app, growth, usage::of(c, app)?, quotas),
        None => Ok(()),
    }
}

pub(super) fn delete(c: &Connection, app: &str, key: &str) -> Result<bool, StorageError> {
    Ok(c.prepare_cached(DELETE)?.execute((app, key))? > 0)
}

/// The prefix is matched literally (`%` and `_` are ordinary characters):
/// the query is a range scan `prefix <= key < successor(prefix)`, which also
/// uses the primary-key index.
pub(super) fn list(
    c: &Connection,
    app: &str,
    prefix: &str,
    limit: u32,
) -> Result<Vec<String>, StorageError> {
    checks::prefix(prefix)?;
    let keys = match prefix_upper_bound(prefix) {
        Some(upper) => c
            .prepare_cached(
                "SELECT key FROM kv WHERE app = ?1 AND key >= ?2 AND key < ?3
                 ORDER BY key LIMIT ?4",
            )?
            .query_map((app, prefix, upper, limit), |row| row.get(0))?
            .collect::<Result<_, _>>()?,
        None => c
            .prepare_cached(
                "SELECT key FROM kv WHERE app = ?1 AND key >= ?2 ORDER BY key LIMIT ?3",
            )?
            .query_map((app, prefix, limit), |row| row.get(0))?
            .collect::<Result<_, _>>()?,
    };
    Ok(keys)
}

/// Read and write happen inside the shared `BEGIN IMMEDIATE` transaction,
/// which holds the database's write lock, so the increment is atomic even
/// against other processes. Stored as decimal ASCII (`b"42"`).
pub(super) fn increment(
    c: &Connection,
    app: &str,
    key: &str,
    delta: i64,
    quotas: &Quotas,
) -> Result<i64, StorageError> {
    let current: Option<Vec<u8>> = c
        .prepare_cached(GET)?
        .query_row((app, key), |row| row.get(0))
        .optional()?;
    let next = checks::incremented(key, current.as_deref(), delta)?;
    let text = next.to_string();
    if quota::limits_store(quotas) {
        admit(
            c,
            app,
            key,
            current.map(|v| v.len()),
            Some(text.len()),
            quotas,
        )?;
    }
    c.prepare_cached(SET)?
        .execute((app, key, text.as_bytes()))?;
    Ok(next)
}

pub(super) fn compare_and_swap(
    c: &Connection,
    app: &str,
    key: &str,
    expected: Option<&[u8]>,
    new: Option<&[u8]>,
    quotas: &Quotas,
) -> Result<bool, StorageError> {
    let current: Option<Vec<u8>> = c
        .prepare_cached(GET)?
        .query_row((app, key), |row| row.get(0))
        .optional()?;
    if current.as_deref() != expected {
        return Ok(false);
    }
    if quota::limits_store(quotas) {
        admit(
            c,
            app,
            key,
            current.map(|v| v.len()),
            new.map(<[u8]>::len),
            quotas,
        )?;
    }
    match new {
        Some(new) => c.prepare_cached(SET)?.execute((app, key, new))?,
        None => c.prepare_cached(DELETE)?.execute((app, key))?,
    };
    Ok(true)
}

/// The smallest string greater than every string starting with `prefix`, or
/// `None` if there is none (empty prefix, or only `char::MAX`s).
///
/// UTF-8 byte order equals code-point order, so bumping the last bumpable
/// character gives the exclusive upper bound of the prefix range.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut bound = prefix.to_owned();
    while let Some(last) = bound.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'), // skip the surrogate gap
            char::MAX => None,
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            bound.push(next);
            return Some(bound);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_upper_bound_edges() {
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound("a%").as_deref(), Some("a&"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }
}
