//! Per-app key-value namespaces: rows keyed by `(app, key)`, keys as bytes
//! (bytewise order, as the conformance suite asks, whatever the database's
//! collation), and what a unit's store writes do.
//!
//! **No app-wide lock.** A write locks only its own key's row, read
//! `FOR UPDATE` before it is written, so an increment or a swap reads and
//! writes one value no other unit can change in between, and the quota
//! check knows exactly what the write replaces. Growth is reserved before
//! it is written ([`super::usage::reserve`]), so units of one app run side
//! by side, on every replica, and still cannot pass a quota together. A key
//! that does not exist yet has no row to lock: a write from nothing inserts
//! with `ON CONFLICT DO NOTHING` (which waits for a concurrent insert of the
//! same key to end) and, if another unit created it first, reads it again
//! under its lock ([`PgUnit::create`]).

use super::{PgUnit, query, query_opt, usage};
use crate::storage::{StorageError, checks, quota};

const GET: &str = "SELECT value FROM kv WHERE app = $1 AND key = $2";
/// What a write reads of the value it replaces, locking its row: all of it
/// (increment, compare-and-swap) or only its length (a set's quota check).
const GET_FOR_WRITE: &str = "SELECT value FROM kv WHERE app = $1 AND key = $2 FOR UPDATE";
const LENGTH_FOR_WRITE: &str =
    "SELECT octet_length(value) FROM kv WHERE app = $1 AND key = $2 FOR UPDATE";
const SET: &str = "INSERT INTO kv (app, key, value) VALUES ($1, $2, $3)
                   ON CONFLICT (app, key) DO UPDATE SET value = excluded.value";
const CREATE: &str = "INSERT INTO kv (app, key, value) VALUES ($1, $2, $3)
                      ON CONFLICT (app, key) DO NOTHING";
const DELETE: &str = "DELETE FROM kv WHERE app = $1 AND key = $2";

/// How often a write that found its key absent tries again when another
/// unit created it first (after one retry the row exists and is locked, so
/// a second is a surprise — the key deleted again at once — and a third an
/// error).
const CREATE_TRIES: usize = 3;

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

impl PgUnit {
    /// The value at `key`, its row locked until the unit ends.
    async fn value_for_write(
        &mut self,
        app: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let row = self
            .query_opt_in_tx(GET_FOR_WRITE, &[&app, &key.as_bytes()])
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// Reserves what replacing a value of `old` bytes at `key` by one of
    /// `new` bytes adds to `app`'s store, when the unit's quotas limit it
    /// and the write grows it; refuses it (nothing written) if it does not
    /// fit.
    async fn admit(
        &mut self,
        app: &str,
        key: &str,
        old: Option<usize>,
        new: Option<usize>,
    ) -> Result<(), StorageError> {
        let quotas = self.quotas;
        if !quota::limits_store(&quotas) {
            return Ok(());
        }
        let Some(growth) = quota::store_growth(key, old, new) else {
            return Ok(());
        };
        let txid = self.txid().await?;
        // On a connection of its own: a refusal (or an error there) leaves
        // the unit's transaction as it was.
        let c = self.db.reserver().await?;
        usage::reserve(&c, app, txid, growth, &quotas).await
    }

    /// Runs one write statement in the unit, which may change what the
    /// store uses (see [`Self::rewrite`] for one that does not).
    async fn write(
        &mut self,
        sql: &str,
        app: &str,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<u64, StorageError> {
        self.wrote_store = true;
        self.run(sql, app, key, value).await
    }

    /// Replaces the value of a key this unit holds locked by one of the
    /// same length: the store's use is unchanged (the trigger writes no
    /// delta), so the commit need not fold it — the common counter
    /// increment costs no statement more.
    async fn rewrite(&mut self, app: &str, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.run(SET, app, key, Some(value)).await?;
        Ok(())
    }

    async fn run(
        &mut self,
        sql: &str,
        app: &str,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<u64, StorageError> {
        let key = key.as_bytes();
        match value {
            Some(value) => self.execute_in_tx(sql, &[&app, &key, &value]).await,
            None => self.execute_in_tx(sql, &[&app, &key]).await,
        }
    }

    /// Creates `key`, which this unit's locked read found absent; `false`
    /// if another unit created it first (it waits for that unit to end, as
    /// the insert does), so the caller reads it again, locked. Under a
    /// store quota the key is inserted first, under a savepoint, and only
    /// then its growth reserved, undone if that is refused: reserving first
    /// would count the key once per unit creating it at the same moment,
    /// and refuse writes near the quota that fit.
    async fn create(&mut self, app: &str, key: &str, value: &[u8]) -> Result<bool, StorageError> {
        if !quota::limits_store(&self.quotas) {
            return Ok(self.write(CREATE, app, key, Some(value)).await? == 1);
        }
        let c = self.tx().await?;
        let created = async {
            let statement = c.prepare_cached(CREATE).await?;
            let key = key.as_bytes();
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&app, &key, &value];
            let (saved, inserted) = tokio::join!(
                c.batch_execute("SAVEPOINT botyard_create"),
                c.execute(&statement, &params)
            );
            saved?;
            Ok::<_, StorageError>(inserted? == 1)
        }
        .await;
        self.wrote_store = true;
        if !self.after(created)? {
            return Ok(false);
        }
        let Err(refused) = self.admit(app, key, None, Some(value.len())).await else {
            return Ok(true);
        };
        let c = self.tx().await?;
        let undone = c
            .batch_execute("ROLLBACK TO SAVEPOINT botyard_create")
            .await
            .map_err(StorageError::from);
        self.after(undone)?;
        Err(refused)
    }

    pub(super) async fn kv_set(
        &mut self,
        app: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), StorageError> {
        if !quota::limits_store(&self.quotas) {
            self.write(SET, app, key, Some(value)).await?;
            return Ok(());
        }
        for _ in 0..CREATE_TRIES {
            let old = self
                .query_opt_in_tx(LENGTH_FOR_WRITE, &[&app, &key.as_bytes()])
                .await?
                .map(|row| row.try_get::<_, i32>(0))
                .transpose()?
                .map(|n| n as usize);
            if old.is_none() {
                if self.create(app, key, value).await? {
                    return Ok(());
                }
                continue;
            }
            if old == Some(value.len()) {
                self.rewrite(app, key, value).await?;
                return Ok(());
            }
            self.admit(app, key, old, Some(value.len())).await?;
            self.write(SET, app, key, Some(value)).await?;
            return Ok(());
        }
        Err(raced(key))
    }

    pub(super) async fn kv_delete(&mut self, app: &str, key: &str) -> Result<bool, StorageError> {
        Ok(self.write(DELETE, app, key, None).await? > 0)
    }

    /// Stored as decimal ASCII (`b"42"`), so it reads the same in every
    /// backend.
    pub(super) async fn kv_increment(
        &mut self,
        app: &str,
        key: &str,
        delta: i64,
    ) -> Result<i64, StorageError> {
        for _ in 0..CREATE_TRIES {
            let current = self.value_for_write(app, key).await?;
            let next = checks::incremented(key, current.as_deref(), delta)?;
            let text = next.to_string();
            let Some(current) = current else {
                if self.create(app, key, text.as_bytes()).await? {
                    return Ok(next);
                }
                continue;
            };
            if current.len() == text.len() {
                self.rewrite(app, key, text.as_bytes()).await?;
                return Ok(next);
            }
            self.admit(app, key, Some(current.len()), Some(text.len()))
                .await?;
            self.write(SET, app, key, Some(text.as_bytes())).await?;
            return Ok(next);
        }
        Err(raced(key))
    }

    pub(super) async fn kv_compare_and_swap(
        &mut self,
        app: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, StorageError> {
        let current = self.value_for_write(app, key).await?;
        if current.as_deref() != expected {
            return Ok(false);
        }
        match (current, new) {
            (Some(current), Some(new)) if current.len() == new.len() => {
                self.rewrite(app, key, new).await?;
            }
            (Some(current), Some(new)) => {
                self.admit(app, key, Some(current.len()), Some(new.len()))
                    .await?;
                self.write(SET, app, key, Some(new)).await?;
            }
            (Some(_), None) => {
                self.write(DELETE, app, key, None).await?;
            }
            // From nothing: if another unit created the key first, the
            // absence this swap expected is gone.
            (None, Some(new)) => return self.create(app, key, new).await,
            (None, None) => {}
        }
        Ok(true)
    }
}

/// A write that kept finding its key created and deleted under it.
fn raced(key: &str) -> StorageError {
    StorageError::Backend(format!(
        "writing `{key}`: other units kept creating and deleting it; nothing was written, try again"
    ))
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
