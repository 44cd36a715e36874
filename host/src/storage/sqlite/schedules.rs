//! Schedules: one-off ticks apps asked for, and when each cron schedule last
//! fired, so a restart neither loses nor repeats ticks. A due tick is
//! claimed and its run put in the inbox in one commit
//! ([`ScheduleStore::claim_tick`]).

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};

use super::Db;
use super::inbox::lease_end;
use crate::storage::{Claim, CronFires, DueTick, ScheduleStore, StorageError, TickRun, TickSource};

/// Claims `run` off its schedule and inserts its inbox row, claimed by
/// `owner` until `until`; the inbox row's id, or `None` when the schedule
/// had moved on or the run's key was known.
fn claim(
    c: &Connection,
    run: &TickRun<'_>,
    now_ms: i64,
    until: i64,
    owner: &str,
) -> Result<Option<i64>, StorageError> {
    let claimed = match run.source {
        TickSource::Once => c
            .prepare_cached(
                "DELETE FROM schedule_once WHERE app = ?1 AND name = ?2 AND due_ms = ?3",
            )?
            .execute((run.app, run.name, run.due_ms))?,
        TickSource::Cron { after } => c
            .prepare_cached(
                "UPDATE cron_last_fire SET at_ms = ?3
                 WHERE app = ?1 AND name = ?2 AND at_ms = ?4",
            )?
            .execute((run.app, run.name, run.due_ms, after))?,
    };
    if claimed == 0 {
        return Ok(None);
    }
    Ok(c.prepare_cached(
        "INSERT INTO inbox (key, app, body, status, received_ms, claims, claimed_until,
                            claimed_by)
         VALUES (?1, ?2, ?3, 'pending', ?4, 1, ?5, ?6)
         ON CONFLICT (key) DO NOTHING RETURNING id",
    )?
    .query_row((run.key, run.app, run.body, now_ms, until, owner), |row| {
        row.get(0)
    })
    .optional()?)
}

pub(super) fn once(c: &Connection, app: &str, name: &str, at_ms: i64) -> Result<(), StorageError> {
    c.prepare_cached(
        "INSERT INTO schedule_once (app, name, due_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (app, name) DO UPDATE SET due_ms = excluded.due_ms",
    )?
    .execute((app, name, at_ms))?;
    Ok(())
}

pub(super) fn cancel(c: &Connection, app: &str, name: &str) -> Result<bool, StorageError> {
    Ok(
        c.prepare_cached("DELETE FROM schedule_once WHERE app = ?1 AND name = ?2")?
            .execute((app, name))?
            > 0,
    )
}

#[async_trait]
impl ScheduleStore for Db {
    /// One `DELETE … RETURNING`, committed before it returns, so a tick is
    /// handed out exactly once even with several callers; the caller owns it
    /// from then on (a crash before running it drops it: at most once).
    async fn take_due(&self, now_ms: i64) -> Result<Vec<DueTick>, StorageError> {
        let mut due: Vec<DueTick> = self.write_now(|c| {
            Ok(c.prepare_cached(
                "DELETE FROM schedule_once WHERE due_ms <= ?1 RETURNING app, name, due_ms",
            )?
            .query_map([now_ms], |row| {
                Ok(DueTick {
                    app: row.get(0)?,
                    name: row.get(1)?,
                    due_ms: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?)
        })?;
        // RETURNING order is unspecified.
        due.sort_by(|a, b| (a.due_ms, &a.app, &a.name).cmp(&(b.due_ms, &b.app, &b.name)));
        Ok(due)
    }

    async fn due_once(&self, now_ms: i64, limit: u32) -> Result<Vec<DueTick>, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT app, name, due_ms FROM schedule_once WHERE due_ms <= ?1
                 ORDER BY due_ms, app, name LIMIT ?2",
            )?
            .query_map((now_ms, i64::from(limit)), |row| {
                Ok(DueTick {
                    app: row.get(0)?,
                    name: row.get(1)?,
                    due_ms: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?)
        })
    }

    /// Both writes in one savepoint of the shared transaction, committed
    /// before it returns: should the second fail, the first is undone too,
    /// rather than left for the group's next commit to keep (a tick taken
    /// off its schedule with no run to show for it).
    async fn claim_tick(
        &self,
        run: TickRun<'_>,
        now_ms: i64,
        lease: Duration,
    ) -> Result<Option<Claim>, StorageError> {
        let until = lease_end(now_ms, lease);
        let id = self.write_now(|c| {
            c.prepare_cached("SAVEPOINT claim_tick")?.execute([])?;
            match claim(c, &run, now_ms, until, &self.owner) {
                Ok(id) => {
                    c.prepare_cached("RELEASE claim_tick")?.execute([])?;
                    Ok(id)
                }
                Err(e) => {
                    // Best effort: an error that ended the whole
                    // transaction left no savepoint to go back to.
                    let _ = c.execute_batch("ROLLBACK TO claim_tick; RELEASE claim_tick");
                    Err(e)
                }
            }
        })?;
        Ok(id.map(|id| Claim {
            id,
            token: 1,
            until_ms: until,
        }))
    }

    async fn next_once_due(&self) -> Result<Option<i64>, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT MIN(due_ms) FROM schedule_once")?
                .query_row([], |row| row.get(0))?)
        })
    }

    async fn last_cron_fire(&self, app: &str, name: &str) -> Result<Option<i64>, StorageError> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT at_ms FROM cron_last_fire WHERE app = ?1 AND name = ?2")?
                    .query_row((app, name), |row| row.get(0))
                    .optional()?,
            )
        })
    }

    async fn cron_fires(&self) -> Result<CronFires, StorageError> {
        self.read(|c| {
            let mut statement = c.prepare_cached("SELECT app, name, at_ms FROM cron_last_fire")?;
            let rows = statement.query_map((), |row| {
                Ok((
                    (row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                    row.get(2)?,
                ))
            })?;
            Ok(rows.collect::<Result<CronFires, _>>()?)
        })
    }

    async fn advance_cron(
        &self,
        app: &str,
        name: &str,
        expected: Option<i64>,
        to: i64,
    ) -> Result<bool, StorageError> {
        self.write_now(|c| {
            let changed = match expected {
                None => c
                    .prepare_cached(
                        "INSERT INTO cron_last_fire (app, name, at_ms) VALUES (?1, ?2, ?3)
                         ON CONFLICT (app, name) DO NOTHING",
                    )?
                    .execute((app, name, to))?,
                Some(expected) => c
                    .prepare_cached(
                        "UPDATE cron_last_fire SET at_ms = ?4
                         WHERE app = ?1 AND name = ?2 AND at_ms = ?3",
                    )?
                    .execute((app, name, expected, to))?,
            };
            Ok(changed > 0)
        })
    }
}
