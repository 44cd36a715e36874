//! The inbox for a cluster (see [`InboxStore`]): the first replica to take
//! a key wins (`ON CONFLICT DO NOTHING`), claims carry the replica and its
//! incarnation like the outbox's, expired ones are claimed again with
//! `FOR UPDATE SKIP LOCKED`, and the `claims` count is the fencing token a
//! settle must still hold.

use std::time::Duration;

use async_trait::async_trait;

use super::{Db, execute, lease_end, now_ms, query, query_one, query_opt};
use crate::storage::{Claim, Inbound, InboxStore, NewInbound, StorageError};

/// Marks claimed work done, in the invocation's transaction. The row stays
/// locked until that transaction ends, so no other replica can claim it
/// meanwhile.
pub(super) async fn settle(
    c: &deadpool_postgres::Client,
    claim: &Claim,
) -> Result<bool, StorageError> {
    let settled = execute(
        c,
        "UPDATE inbox SET status = 'done', settled_ms = $3
         WHERE id = $1 AND claims = $2 AND status = 'pending'",
        &[&claim.id, &claim.token, &now_ms()],
    )
    .await?;
    Ok(settled == 1)
}

/// Records work done on time, in the invocation's transaction; `false` if
/// the key is known. A concurrent unit inserting the same key holds its
/// index entry until it ends, so the second one waits and then finds it.
pub(super) async fn record(
    c: &deadpool_postgres::Client,
    item: &NewInbound<'_>,
) -> Result<bool, StorageError> {
    let now = now_ms();
    let recorded = execute(
        c,
        "INSERT INTO inbox (key, app, body, status, received_ms, settled_ms)
         VALUES ($1, $2, $3, 'done', $4, $4)
         ON CONFLICT (key) DO NOTHING",
        &[&item.key, &item.app, &item.body, &now],
    )
    .await?;
    Ok(recorded == 1)
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
        let keys: Vec<&str> = items.iter().map(|i| i.key).collect();
        let apps: Vec<&str> = items.iter().map(|i| i.app).collect();
        let bodies: Vec<&[u8]> = items.iter().map(|i| i.body).collect();
        // One statement: every item of a delivery is taken, or none is.
        let rows = autocommit!(self, |c| query(
            c,
            "INSERT INTO inbox (key, app, body, status, received_ms, claims, claimed_until,
                                claimed_replica, claimed_by)
             SELECT k, a, b, 'pending', $4, 1, $5, $6, $7
             FROM unnest($1::text[], $2::text[], $3::bytea[]) AS t(k, a, b)
             ON CONFLICT (key) DO NOTHING
             RETURNING id, key",
            &[
                &keys,
                &apps,
                &bodies,
                &now_ms,
                &until,
                &self.replica,
                &self.incarnation
            ],
        )
        .await)?;
        let mut taken = std::collections::HashMap::new();
        for row in &rows {
            taken.insert(row.try_get::<_, String>(1)?, row.try_get::<_, i64>(0)?);
        }
        Ok(items
            .iter()
            .map(|item| {
                taken.remove(item.key).map(|id| Claim {
                    id,
                    token: 1,
                    until_ms: until,
                })
            })
            .collect())
    }

    async fn claim_expired(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: u32,
        skip: &[i64],
    ) -> Result<Vec<(Inbound, Claim)>, StorageError> {
        let until = lease_end(now_ms, lease);
        let rows = autocommit!(self, |c| query(
            c,
            "UPDATE inbox AS i
             SET claims = i.claims + 1, claimed_until = $2,
                 claimed_replica = $4, claimed_by = $5
             FROM (SELECT id FROM inbox
                   WHERE status = 'pending' AND claimed_until <= $1 AND NOT (id = ANY($6))
                   ORDER BY id LIMIT $3
                   FOR UPDATE SKIP LOCKED) AS due
             WHERE i.id = due.id
             RETURNING i.id, i.key, i.app, i.body, i.received_ms, i.claims",
            &[
                &now_ms,
                &until,
                &i64::from(limit),
                &self.replica,
                &self.incarnation,
                &skip
            ],
        )
        .await)?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let item = Inbound {
                    id: row.try_get(0)?,
                    key: row.try_get(1)?,
                    app: row.try_get(2)?,
                    body: row.try_get(3)?,
                    received_ms: row.try_get(4)?,
                };
                let claim = Claim {
                    id: item.id,
                    token: row.try_get(5)?,
                    until_ms: until,
                };
                Ok((item, claim))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        claimed.sort_by_key(|(item, _)| item.id);
        Ok(claimed)
    }

    async fn release_orphaned(&self) -> Result<usize, StorageError> {
        autocommit!(self, |c| super::replicas::release_orphaned(
            c,
            "inbox",
            &self.replica,
            self.incarnation
        )
        .await)
    }

    async fn seen(&self, key: &str) -> Result<bool, StorageError> {
        let row = autocommit!(self, |c| query_opt(
            c,
            "SELECT 1 FROM inbox WHERE key = $1",
            &[&key]
        )
        .await)?;
        Ok(row.is_some())
    }

    async fn forget_before(&self, cutoff_ms: i64) -> Result<usize, StorageError> {
        let deleted = autocommit!(self, |c| execute(
            c,
            "DELETE FROM inbox WHERE status = 'done' AND received_ms < $1",
            &[&cutoff_ms],
        )
        .await)?;
        Ok(deleted as usize)
    }

    async fn pending_count(&self) -> Result<u64, StorageError> {
        let row = autocommit!(self, |c| query_one(
            c,
            "SELECT count(*) FROM inbox WHERE status = 'pending'",
            &[]
        )
        .await)?;
        Ok(row.try_get::<_, i64>(0)?.max(0) as u64)
    }
}
