//! Replica incarnations, heartbeats, and which claims are orphans.
//!
//! Every [`connect`](super::connect) registers an *incarnation*: a row in
//! `replicas` with the replica's name (stable across its restarts), a new
//! incarnation id (drawn from an identity, so a later start of a name has
//! a larger one), when it started, and a heartbeat refreshed every
//! `heartbeat_every_ms` by a background task. Times here are the
//! database's (`botyard_now_ms()`, from `clock_timestamp()`), so liveness
//! does not depend on the replicas' clocks agreeing.
//!
//! Claims on outbox entries and webhook deliveries record their holder's
//! incarnation (and name, for whoever reads the table). A claim is an
//! **orphan** — freed at once by `release_orphaned`, instead of when its
//! lease runs out — when its holder is not this incarnation and either
//!
//! - (a) an incarnation of the same name started after it: the replica
//!   restarted, so the holder is gone (one process per name is the rule;
//!   a later process under a name takes over what the earlier one held), or
//! - (b) its heartbeat is older than three of its own periods and
//!   [`MARGIN`] (each row says its own period, so replicas configured
//!   differently judge each other right), or its row is gone.
//!
//! A replica's own claims are never orphans. A replica that was only slow
//! (a pause longer than the bound) may find its claims freed and taken: the
//! claim tokens make its late settlement change nothing, as with any
//! overtaken lease.

use std::time::Duration;

use tokio::sync::watch;

use super::{execute, query_one};
use crate::storage::StorageError;

/// Added to three heartbeat periods before a silent replica counts as
/// stopped: room for a slow heartbeat round trip.
pub(super) const MARGIN: Duration = Duration::from_secs(1);

/// How many heartbeat periods a replica may miss.
const MISSED: i64 = 3;

/// Registrations older than this (by heartbeat) are deleted at connect:
/// their claims are orphans either way.
const FORGET_AFTER: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Registers a new incarnation of `replica`; returns its id.
pub(super) async fn register(
    c: &deadpool_postgres::Client,
    replica: &str,
    heartbeat: Duration,
) -> Result<i64, StorageError> {
    let every = heartbeat.as_millis() as i64;
    let row = query_one(
        c,
        "INSERT INTO replicas (replica, started_ms, heartbeat_ms, heartbeat_every_ms)
         VALUES ($1, botyard_now_ms(), botyard_now_ms(), $2)
         RETURNING incarnation",
        &[&replica, &every],
    )
    .await?;
    let incarnation: i64 = row.try_get(0)?;
    // Another process heartbeating under this name is a misconfiguration:
    // this one will free its claims as a restart's.
    let live = query_one(
        c,
        &format!(
            "SELECT count(*) FROM replicas
             WHERE replica = $1 AND incarnation <> $2
               AND heartbeat_ms >= botyard_now_ms() - ({MISSED} * heartbeat_every_ms + $3)"
        ),
        &[&replica, &incarnation, &(MARGIN.as_millis() as i64)],
    )
    .await?;
    if live.try_get::<_, i64>(0)? > 0 {
        tracing::warn!(
            replica,
            "another process is heartbeating under this replica name; give each process its own \
             ([storage] replica), or they will take over each other's work"
        );
    }
    execute(
        c,
        "DELETE FROM replicas WHERE heartbeat_ms < botyard_now_ms() - $1",
        &[&(FORGET_AFTER.as_millis() as i64)],
    )
    .await?;
    Ok(incarnation)
}

/// Refreshes `incarnation`'s heartbeat every `every` until `stop` is
/// dropped. A failed beat is logged and the next one tried; a row found
/// gone (deleted by hand) is put back, so the replica stays known.
pub(super) fn spawn_heartbeat(
    pool: deadpool_postgres::Pool,
    replica: String,
    incarnation: i64,
    every: Duration,
    mut stop: watch::Receiver<()>,
) {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            let beat = async {
                let c = pool.get().await.map_err(|e| {
                    StorageError::Backend(format!("no connection for the heartbeat: {e}"))
                })?;
                let changed = execute(
                    &c,
                    "UPDATE replicas SET heartbeat_ms = botyard_now_ms() WHERE incarnation = $1",
                    &[&incarnation],
                )
                .await?;
                if changed == 0 {
                    tracing::warn!(
                        incarnation,
                        "this replica's registration was deleted; registering it again"
                    );
                    execute(
                        &c,
                        "INSERT INTO replicas (incarnation, replica, started_ms, heartbeat_ms,
                                               heartbeat_every_ms)
                         VALUES ($1, $3, botyard_now_ms(), botyard_now_ms(), $2)",
                        &[&incarnation, &(every.as_millis() as i64), &replica],
                    )
                    .await?;
                }
                Ok::<_, StorageError>(())
            };
            match beat.await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!(incarnation, "replica heartbeat recovered");
                }
                Ok(()) => {}
                Err(error) => {
                    if !failing {
                        tracing::warn!(
                            incarnation,
                            %error,
                            "replica heartbeat failed; other replicas take this one for stopped \
                             (and take over its claims) if it stays silent"
                        );
                    }
                    failing = true;
                }
            }
        }
    });
}

/// Frees the orphaned claims on `table`'s pending rows (see the module's
/// doc) and says how many.
pub(super) async fn release_orphaned(
    c: &deadpool_postgres::Client,
    table: &'static str,
    replica: &str,
    incarnation: i64,
) -> Result<usize, StorageError> {
    let released = execute(
        c,
        &format!(
            "UPDATE {table} AS t
             SET claimed_until = 0, claimed_by = NULL, claimed_replica = NULL
             WHERE t.status = 'pending' AND t.claimed_until > 0
               AND t.claimed_by IS NOT NULL AND t.claimed_by <> $2
               AND NOT EXISTS (
                   SELECT 1 FROM replicas r
                   WHERE r.incarnation = t.claimed_by
                     AND r.heartbeat_ms >= botyard_now_ms() - ({MISSED} * r.heartbeat_every_ms + $3)
                     AND NOT (r.replica = $1 AND r.incarnation < $2))"
        ),
        &[&replica, &incarnation, &(MARGIN.as_millis() as i64)],
    )
    .await?;
    Ok(released as usize)
}

#[async_trait::async_trait]
impl crate::storage::ClusterStore for super::Db {
    async fn replicas(&self) -> Result<Vec<crate::storage::ReplicaStatus>, StorageError> {
        let margin = MARGIN.as_millis() as i64;
        let rows = autocommit!(self, |c| {
            super::query(
            c,
            &format!(
                "WITH r AS (
                     SELECT *, botyard_now_ms() AS now,
                            heartbeat_ms >= botyard_now_ms() - ({MISSED} * heartbeat_every_ms + $1) AS alive,
                            incarnation = max(incarnation) OVER (PARTITION BY replica) AS latest
                     FROM replicas)
                 SELECT replica, incarnation, started_ms, heartbeat_ms, heartbeat_every_ms, now, alive,
                     (SELECT count(*) FROM inbox i WHERE i.status = 'pending'
                        AND i.claimed_by = r.incarnation AND i.claimed_until > $2),
                     (SELECT count(*) FROM outbox o WHERE o.status = 'pending'
                        AND o.claimed_by = r.incarnation AND o.claimed_until > $2),
                     (SELECT count(*) FROM webhook_deliveries w WHERE w.status = 'pending'
                        AND w.claimed_by = r.incarnation AND w.claimed_until > $2)
                 FROM r WHERE alive OR latest ORDER BY replica, incarnation"
            ),
            &[&margin, &super::now_ms()],
        )
        .await
        })?;
        rows.iter()
            .map(|row| {
                let count = |i: usize| row.try_get::<_, i64>(i).map(|n| n.max(0) as u64);
                Ok(crate::storage::ReplicaStatus {
                    replica: row.try_get(0)?,
                    incarnation: row.try_get(1)?,
                    started_ms: row.try_get(2)?,
                    heartbeat_ms: row.try_get(3)?,
                    heartbeat_every_ms: row.try_get(4)?,
                    now_ms: row.try_get(5)?,
                    alive: row.try_get(6)?,
                    inbox_leases: count(7)?,
                    outbox_leases: count(8)?,
                    webhook_leases: count(9)?,
                })
            })
            .collect()
    }
}
