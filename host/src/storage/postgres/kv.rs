//! Per-app key-value namespaces: rows keyed by `(app, key)`, keys as bytes
//! (bytewise order, as the conformance suite asks, whatever the database's
//! collation). Every write runs in a unit that already holds the app's
//! `store_usage` row lock ([`super::usage::store`]), so the quota check
//! below and the write are one step.

use super::{execute, query, query_opt};
use crate::contract::limits::Quotas;
use crate::storage::{StorageError, Usage, checks, quota};

const GET: &str = "SELECT value FROM kv WHERE app = $1 AND key = $2";
const SET: &str = "INSERT INTO kv (app, key, value) VALUES ($1, $2, $3)
                   ON CONFLICT (app, key) DO UPDATE SET value = excluded.value";
const DELETE: &str = "DELETE FROM kv WHERE app = $1 AND key = $2";

pub(super) async fn get(
    c: &deadpool_postgres::Client,
    app: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    let row = query_opt(c, GET, &[&app, &key.as_bytes()]).await?;
    Ok(match row {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    })
}

pub(super) async fn set(
    c: &deadpool_postgres::Client,
    app: &str,
    key: &str,
    value: &[u8],
    used: Usage,
    quotas: &Quotas,
) -> Result<(), StorageError> {
    if quota::limits_store(quotas) {
        let old = query_opt(
            c,
            "SELECT octet_length(value) FROM kv WHERE app = $1 AND key = $2",
            &[&app, &key.as_bytes()],
        )
        .await?
        .map(|row| row.try_get::<_, i32>(0))
        .transpose()?
        .map(|n| n as usize);
        admit(app, key, old, Some(value.len()), used, quotas)?;
    }
    execute(c, SET, &[&app, &key.as_bytes(), &value]).await?;
    Ok(())
}

/// Refuses replacing a value of `old` bytes at `key` (`None`: absent) by
/// one of `new` bytes (`None`: deleted) if that takes `app` past its store
/// quotas, given what it `used` (read under the usage row lock). A write
/// that frees bytes or keys always passes.
fn admit(
    app: &str,
    key: &str,
    old: Option<usize>,
    new: Option<usize>,
    used: Usage,
    quotas: &Quotas,
) -> Result<(), StorageError> {
    match quota::store_growth(key, old, new) {
        Some(growth) => quota::admit_store(app, growth, used, quotas),
        None => Ok(()),
    }
}

pub(super) async fn delete(
    c: &deadpool_postgres::Client,
    app: &str,
    key: &str,
) -> Result<bool, StorageError> {
    Ok(execute(c, DELETE, &[&app, &key.as_bytes()]).await? > 0)
}

/// The prefix is matched literally: a range scan `prefix <= key <
/// successor(prefix)` over the bytes, on the primary key's index.
pub(super) async fn list(
    c: &deadpool_postgres::Client,
    app: &str,
    prefix: &str,
    limit: u32,
) -> Result<Vec<String>, StorageError> {
    let limit = i64::from(limit);
    let rows = match prefix_upper_bound(prefix.as_bytes()) {
        Some(upper) => {
            query(
                c,
                "SELECT key FROM kv WHERE app = $1 AND key >= $2 AND key < $3
                 ORDER BY key LIMIT $4",
                &[&app, &prefix.as_bytes(), &upper, &limit],
            )
            .await?
        }
        None => {
            query(
                c,
                "SELECT key FROM kv WHERE app = $1 AND key >= $2 ORDER BY key LIMIT $3",
                &[&app, &prefix.as_bytes(), &limit],
            )
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            let key: Vec<u8> = row.try_get(0)?;
            String::from_utf8(key)
                .map_err(|_| StorageError::Backend("a stored key is not UTF-8".into()))
        })
        .collect()
}

/// The current value at `key`, read under the app's usage row lock (no
/// other unit writes the app's keys until this one commits).
async fn current(
    c: &deadpool_postgres::Client,
    app: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    get(c, app, key).await
}

/// Stored as decimal ASCII (`b"42"`), so it reads the same in every backend.
pub(super) async fn increment(
    c: &deadpool_postgres::Client,
    app: &str,
    key: &str,
    delta: i64,
    used: Usage,
    quotas: &Quotas,
) -> Result<i64, StorageError> {
    let current = current(c, app, key).await?;
    let next = checks::incremented(key, current.as_deref(), delta)?;
    let text = next.to_string();
    if quota::limits_store(quotas) {
        admit(
            app,
            key,
            current.map(|v| v.len()),
            Some(text.len()),
            used,
            quotas,
        )?;
    }
    execute(c, SET, &[&app, &key.as_bytes(), &text.as_bytes()]).await?;
    Ok(next)
}

pub(super) async fn compare_and_swap(
    c: &deadpool_postgres::Client,
    app: &str,
    key: &str,
    expected: Option<&[u8]>,
    new: Option<&[u8]>,
    used: Usage,
    quotas: &Quotas,
) -> Result<bool, StorageError> {
    let current = current(c, app, key).await?;
    if current.as_deref() != expected {
        return Ok(false);
    }
    if quota::limits_store(quotas) {
        admit(
            app,
            key,
            current.map(|v| v.len()),
            new.map(<[u8]>::len),
            used,
            quotas,
        )?;
    }
    match new {
        Some(new) => execute(c, SET, &[&app, &key.as_bytes(), &new]).await?,
        None => execute(c, DELETE, &[&app, &key.as_bytes()]).await?,
    };
    Ok(true)
}

/// The smallest byte string greater than every one starting with `prefix`,
/// or `None` if there is none (empty, or all `0xFF`, which UTF-8 never is).
fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut bound = prefix.to_vec();
    while let Some(last) = bound.pop() {
        if last < u8::MAX {
            bound.push(last + 1);
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
        assert_eq!(prefix_upper_bound(b""), None);
        assert_eq!(prefix_upper_bound(b"ab").as_deref(), Some(&b"ac"[..]));
        assert_eq!(prefix_upper_bound(b"a%").as_deref(), Some(&b"a&"[..]));
        assert_eq!(prefix_upper_bound(b"a\xff").as_deref(), Some(&b"b"[..]));
        assert_eq!(prefix_upper_bound(b"\xff\xff"), None);
        // U+10FFFF is F4 8F BF BF: its successor prefix is F4 8F BF C0.
        assert_eq!(
            prefix_upper_bound("\u{10FFFF}".as_bytes()).as_deref(),
            Some(&[0xF4, 0x8F, 0xBF, 0xC0][..])
        );
    }
}
