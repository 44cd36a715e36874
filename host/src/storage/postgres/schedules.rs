//! Schedules: one-off ticks apps asked for, and when each cron schedule last
//! fired, so a restart — or another replica — neither loses nor repeats
//! ticks. A due tick is claimed and its run put in the inbox by one
//! statement ([`ScheduleStore::claim_tick`]), so the two commit together.

use std::time::Duration;

use async_trait::async_trait;

use super::{Db, execute, lease_end, query, query_opt};
use crate::storage::{Claim, CronFires, DueTick, ScheduleStore, StorageError, TickRun, TickSource};

/// The run's inbox row, claimed by this replica, inserted from the rows the
/// statement's first part claimed (none: nothing is inserted). `$1`–`$3`
/// name the tick; `$4` the key, `$5` the body, `$6` now, `$7` the lease's
/// end, `$8`/`$9` the replica and incarnation. The inbox's unique key is
/// the run's unique row: a key already there inserts nothing.
const TAKE_RUN: &str = "run AS (
        INSERT INTO inbox (key, app, body, status, received_ms, claims, claimed_until,
                           claimed_replica, claimed_by)
        SELECT $4::text, $1::text, $5::bytea, 'pending', $6::bigint, 1, $7::bigint,
               $8::text, $9::bigint
        FROM claimed
        ON CONFLICT (key) DO NOTHING
        RETURNING id
    )
    SELECT id FROM run";

pub(super) async fn once(
    c: &deadpool_postgres::Client,
    app: &str,
    name: &str,
    at_ms: i64,
) -> Result<(), StorageError> {
    execute(
        c,
        "INSERT INTO schedule_once (app, name, due_ms) VALUES ($1, $2, $3)
         ON CONFLICT (app, name) DO UPDATE SET due_ms = excluded.due_ms",
        &[&app, &name, &at_ms],
    )
    .await?;
    Ok(())
}

pub(super) async fn cancel(
    c: &deadpool_postgres::Client,
    app: &str,
    name: &str,
) -> Result<bool, StorageError> {
    Ok(execute(
        c,
        "DELETE FROM schedule_once WHERE app = $1 AND name = $2",
        &[&app, &name],
    )
    .await?
        > 0)
}

#[async_trait]
impl ScheduleStore for Db {
    /// One `DELETE … RETURNING`, committed before it returns: a tick is
    /// deleted by exactly one replica (a second deleter finds the row gone),
    /// and the one that deleted it owns it (a crash before running it drops
    /// it: at most once). Rows a unit is rescheduling right now are skipped
    /// (`SKIP LOCKED`) rather than waited for: the unit's commit decides
    /// when they are due.
    async fn take_due(&self, now_ms: i64) -> Result<Vec<DueTick>, StorageError> {
        let rows = autocommit!(self, |c| query(
            c,
            "DELETE FROM schedule_once AS s
             USING (SELECT app, name FROM schedule_once WHERE due_ms <= $1
                    FOR UPDATE SKIP LOCKED) AS due
             WHERE s.app = due.app AND s.name = due.name
             RETURNING s.app, s.name, s.due_ms",
            &[&now_ms],
        )
        .await)?;
        let mut due = rows
            .iter()
            .map(|row| {
                Ok(DueTick {
                    app: row.try_get(0)?,
                    name: row.try_get(1)?,
                    due_ms: row.try_get(2)?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        // RETURNING order is unspecified.
        due.sort_by(|a, b| (a.due_ms, &a.app, &a.name).cmp(&(b.due_ms, &b.app, &b.name)));
        Ok(due)
    }

    async fn due_once(&self, now_ms: i64, limit: u32) -> Result<Vec<DueTick>, StorageError> {
        let rows = autocommit!(self, |c| query(
            c,
            "SELECT app, name, due_ms FROM schedule_once WHERE due_ms <= $1
             ORDER BY due_ms, app, name LIMIT $2",
            &[&now_ms, &i64::from(limit)],
        )
        .await)?;
        rows.iter()
            .map(|row| {
                Ok(DueTick {
                    app: row.try_get(0)?,
                    name: row.try_get(1)?,
                    due_ms: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// One statement, so one commit: its first part claims the tick — a
    /// one-off's row deleted (skipping it when a unit rescheduling it holds
    /// it: that unit's commit decides), or a cron schedule's last fire time
    /// moved by compare-and-set (a concurrent claimer waits on the row
    /// lock, then finds the time moved) — and its second part inserts the
    /// run from what the first claimed.
    async fn claim_tick(
        &self,
        run: TickRun<'_>,
        now_ms: i64,
        lease: Duration,
    ) -> Result<Option<Claim>, StorageError> {
        let until = lease_end(now_ms, lease);
        let row = autocommit!(self, |c| match run.source {
            TickSource::Once => {
                query_opt(
                    c,
                    &format!(
                        "WITH due AS (
                            SELECT app, name FROM schedule_once
                            WHERE app = $1 AND name = $2 AND due_ms = $3
                            FOR UPDATE SKIP LOCKED
                        ), claimed AS (
                            DELETE FROM schedule_once AS s USING due
                            WHERE s.app = due.app AND s.name = due.name
                            RETURNING s.app
                        ), {TAKE_RUN}"
                    ),
                    &[
                        &run.app,
                        &run.name,
                        &run.due_ms,
                        &run.key,
                        &run.body,
                        &now_ms,
                        &until,
                        &self.replica,
                        &self.incarnation,
                    ],
                )
                .await
            }
            TickSource::Cron { after } => {
                query_opt(
                    c,
                    &format!(
                        "WITH claimed AS (
                            UPDATE cron_last_fire SET at_ms = $3
                            WHERE app = $1 AND name = $2 AND at_ms = $10
                            RETURNING app
                        ), {TAKE_RUN}"
                    ),
                    &[
                        &run.app,
                        &run.name,
                        &run.due_ms,
                        &run.key,
                        &run.body,
                        &now_ms,
                        &until,
                        &self.replica,
                        &self.incarnation,
                        &after,
                    ],
                )
                .await
            }
        })?;
        Ok(match row {
            Some(row) => Some(Claim {
                id: row.try_get(0)?,
                token: 1,
                until_ms: until,
            }),
            None => None,
        })
    }

    async fn next_once_due(&self) -> Result<Option<i64>, StorageError> {
        let rows = autocommit!(self, |c| query(
            c,
            "SELECT MIN(due_ms) FROM schedule_once",
            &[],
        )
        .await)?;
        match rows.first() {
            Some(row) => Ok(row.try_get(0)?),
            None => Ok(None),
        }
    }

    async fn last_cron_fire(&self, app: &str, name: &str) -> Result<Option<i64>, StorageError> {
        let row = autocommit!(self, |c| query_opt(
            c,
            "SELECT at_ms FROM cron_last_fire WHERE app = $1 AND name = $2",
            &[&app, &name],
        )
        .await)?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    async fn cron_fires(&self) -> Result<CronFires, StorageError> {
        let rows = autocommit!(self, |c| query(
            c,
            "SELECT app, name, at_ms FROM cron_last_fire",
            &[]
        )
        .await)?;
        rows.iter()
            .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?)))
            .collect()
    }

    /// Compare-and-set on one row: concurrent advances queue on its lock,
    /// and every one after the first finds the time moved and changes
    /// nothing.
    async fn advance_cron(
        &self,
        app: &str,
        name: &str,
        expected: Option<i64>,
        to: i64,
    ) -> Result<bool, StorageError> {
        let changed = autocommit!(self, |c| match expected {
            None => {
                execute(
                    c,
                    "INSERT INTO cron_last_fire (app, name, at_ms) VALUES ($1, $2, $3)
                     ON CONFLICT (app, name) DO NOTHING",
                    &[&app, &name, &to],
                )
                .await
            }
            Some(expected) => {
                execute(
                    c,
                    "UPDATE cron_last_fire SET at_ms = $4
                     WHERE app = $1 AND name = $2 AND at_ms = $3",
                    &[&app, &name, &expected, &to],
                )
                .await
            }
        })?;
        Ok(changed > 0)
    }
}
