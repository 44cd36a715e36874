//! The inbox on one machine (see [`InboxStore`]). Claims carry the opening
//! process's owner tag, like the outbox's, so a claim of another owner
//! still pending at start belongs to a run that is gone.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};

use super::{Db, now_ms};
use crate::storage::{Claim, Inbound, InboxStore, NewInbound, StorageError};

pub(super) fn lease_end(now_ms: i64, lease: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

/// Marks claimed work done, in the invocation's transaction.
pub(super) fn settle(c: &Connection, claim: &Claim) -> Result<bool, StorageError> {
    Ok(c.prepare_cached(
        "UPDATE inbox SET status = 'done', settled_ms = ?3
         WHERE id = ?1 AND claims = ?2 AND status = 'pending'",
    )?
    .execute((claim.id, claim.token, now_ms()))?
        == 1)
}

/// Records work done on time, in the invocation's transaction; `false` if
/// the key is known (a unit of this process holding it uncommitted counts:
/// the units share the write connection).
pub(super) fn record(c: &Connection, item: &NewInbound<'_>) -> Result<bool, StorageError> {
    let now = now_ms();
    Ok(c.prepare_cached(
        "INSERT INTO inbox (key, app, body, status, received_ms, settled_ms)
         VALUES (?1, ?2, ?3, 'done', ?4, ?4)
         ON CONFLICT (key) DO NOTHING",
    )?
    .execute((item.key, item.app, item.body, now))?
        == 1)
}

#[async_trait]
impl InboxStore for Db {
    async fn take(
        &self,
        items: &[NewInbound<'_>],
        now_ms: i64,
        lease: Duration,
    ) -> Result<Vec<Option<Claim>>, StorageError> {
        let until = lease_end(now_ms, lease);
        self.write_now(|c| {
            let mut insert = c.prepare_cached(
                "INSERT INTO inbox (key, app, body, status, received_ms, claims, claimed_until,
                                    claimed_by)
                 VALUES (?1, ?2, ?3, 'pending', ?4, 1, ?5, ?6)
                 ON CONFLICT (key) DO NOTHING RETURNING id",
            )?;
            items
                .iter()
                .map(|item| {
                    let id: Option<i64> = insert
                        .query_row(
                            (item.key, item.app, item.body, now_ms, until, &self.owner),
                            |row| row.get(0),
                        )
                        .optional()?;
                    Ok(id.map(|id| Claim {
                        id,
                        token: 1,
                        until_ms: until,
                    }))
                })
                .collect()
        })
    }

    async fn claim_expired(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: u32,
        skip: &[i64],
    ) -> Result<Vec<(Inbound, Claim)>, StorageError> {
        let until = lease_end(now_ms, lease);
        self.write_now(|c| {
            let mut due = c.prepare_cached(
                "SELECT id, key, app, body, received_ms, claims FROM inbox
                 WHERE status = 'pending' AND claimed_until <= ?1 ORDER BY id LIMIT ?2",
            )?;
            let mut claim = c.prepare_cached(
                "UPDATE inbox SET claims = claims + 1, claimed_until = ?2, claimed_by = ?3
                 WHERE id = ?1",
            )?;
            let rows = due
                .query_map((now_ms, i64::from(limit) + skip.len() as i64), |row| {
                    Ok((
                        Inbound {
                            id: row.get(0)?,
                            key: row.get(1)?,
                            app: row.get(2)?,
                            body: row.get(3)?,
                            received_ms: row.get(4)?,
                        },
                        row.get::<_, i64>(5)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut claimed = Vec::new();
            for (item, claims) in rows {
                if claimed.len() >= limit as usize {
                    break;
                }
                if skip.contains(&item.id) {
                    continue;
                }
                claim.execute((item.id, until, &self.owner))?;
                let claim = Claim {
                    id: item.id,
                    token: claims + 1,
                    until_ms: until,
                };
                claimed.push((item, claim));
            }
            Ok(claimed)
        })
    }

    async fn release_orphaned(&self) -> Result<usize, StorageError> {
        self.write_now(|c| Ok(super::release_orphaned(c, "inbox", &self.owner)?))
    }

    async fn seen(&self, key: &str) -> Result<bool, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT 1 FROM inbox WHERE key = ?1")?
                .exists([key])?)
        })
    }

    async fn forget_before(&self, cutoff_ms: i64) -> Result<usize, StorageError> {
        self.write_now(|c| {
            Ok(
                c.prepare_cached("DELETE FROM inbox WHERE status = 'done' AND received_ms < ?1")?
                    .execute([cutoff_ms])?,
            )
        })
    }

    async fn pending_count(&self) -> Result<u64, StorageError> {
        self.read(|c| {
            let n: i64 = c
                .prepare_cached("SELECT count(*) FROM inbox WHERE status = 'pending'")?
                .query_row([], |row| row.get(0))?;
            Ok(n.max(0) as u64)
        })
    }
}
