//! Schedules: one-off ticks apps asked for, and when each cron schedule last
//! fired, so a restart neither loses nor repeats ticks.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};

use super::Db;
use crate::storage::{DueTick, ScheduleStore, StorageError};

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
