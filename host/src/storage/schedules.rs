//! Schedules: one-off ticks apps asked for, and when each recurring (cron)
//! schedule last fired, so a restart neither loses nor repeats ticks.

use serde::Serialize;

use rusqlite::OptionalExtension;

use super::{Storage, StorageError};

/// A one-off tick whose time has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueTick {
    pub app: String,
    pub name: String,
    /// When it was scheduled for, Unix milliseconds.
    pub due_ms: i64,
}

impl Storage {
    /// Schedules a one-off tick `name` for `app` at `at_ms`, replacing any
    /// earlier one of the same name.
    pub fn schedule_once(&self, app: &str, name: &str, at_ms: i64) -> Result<(), StorageError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO schedule_once (app, name, due_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (app, name) DO UPDATE SET due_ms = excluded.due_ms",
            )?
            .execute((app, name, at_ms))?;
        Ok(())
    }

    /// Cancels a one-off tick; returns whether it was scheduled.
    pub fn cancel_schedule(&self, app: &str, name: &str) -> Result<bool, StorageError> {
        let deleted = self
            .conn()
            .prepare_cached("DELETE FROM schedule_once WHERE app = ?1 AND name = ?2")?
            .execute((app, name))?;
        Ok(deleted > 0)
    }

    /// Removes and returns every one-off tick due at or before `now_ms`,
    /// earliest first. One `DELETE … RETURNING` statement, so a tick is
    /// handed out exactly once even with several callers; the caller owns it
    /// from then on (a crash before running it drops it: at most once).
    pub fn take_due_schedules(&self, now_ms: i64) -> Result<Vec<DueTick>, StorageError> {
        let mut due: Vec<DueTick> = self
            .conn()
            .prepare_cached(
                "DELETE FROM schedule_once WHERE due_ms <= ?1 RETURNING app, name, due_ms",
            )?
            .query_map([now_ms], |row| {
                Ok(DueTick {
                    app: row.get(0)?,
                    name: row.get(1)?,
                    due_ms: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        // RETURNING order is unspecified.
        due.sort_by(|a, b| (a.due_ms, &a.app, &a.name).cmp(&(b.due_ms, &b.app, &b.name)));
        Ok(due)
    }

    /// When the recurring schedule `name` of `app` last fired, if ever.
    pub fn last_cron_fire(&self, app: &str, name: &str) -> Result<Option<i64>, StorageError> {
        let at = self
            .conn()
            .prepare_cached("SELECT at_ms FROM cron_last_fire WHERE app = ?1 AND name = ?2")?
            .query_row((app, name), |row| row.get(0))
            .optional()?;
        Ok(at)
    }

    /// Remembers that the recurring schedule `name` of `app` fired at `at_ms`.
    pub fn set_last_cron_fire(
        &self,
        app: &str,
        name: &str,
        at_ms: i64,
    ) -> Result<(), StorageError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO cron_last_fire (app, name, at_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (app, name) DO UPDATE SET at_ms = excluded.at_ms",
            )?
            .execute((app, name, at_ms))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_storage;
    use super::*;

    fn tick(app: &str, name: &str, due_ms: i64) -> DueTick {
        DueTick {
            app: app.into(),
            name: name.into(),
            due_ms,
        }
    }

    #[test]
    fn due_schedules_are_taken_once_in_time_order() {
        let (_dir, s) = temp_storage();
        s.schedule_once("poll", "close", 300).unwrap();
        s.schedule_once("lunch", "menu", 100).unwrap();
        s.schedule_once("poll", "remind", 200).unwrap();
        s.schedule_once("poll", "later", 1_000).unwrap();

        assert!(s.take_due_schedules(50).unwrap().is_empty());
        assert_eq!(
            s.take_due_schedules(300).unwrap(),
            vec![
                tick("lunch", "menu", 100),
                tick("poll", "remind", 200),
                tick("poll", "close", 300)
            ]
        );
        assert!(s.take_due_schedules(300).unwrap().is_empty());
        assert_eq!(
            s.take_due_schedules(5_000).unwrap(),
            vec![tick("poll", "later", 1_000)]
        );
        assert!(s.take_due_schedules(i64::MAX).unwrap().is_empty());
    }

    #[test]
    fn schedule_once_upserts_and_cancel() {
        let (_dir, s) = temp_storage();
        s.schedule_once("poll", "close", 100).unwrap();
        s.schedule_once("poll", "close", 500).unwrap();
        s.schedule_once("other", "close", 100).unwrap();
        assert!(s.cancel_schedule("other", "close").unwrap());
        assert!(!s.cancel_schedule("other", "close").unwrap());
        assert!(s.take_due_schedules(499).unwrap().is_empty());
        assert_eq!(
            s.take_due_schedules(500).unwrap(),
            vec![tick("poll", "close", 500)]
        );
    }

    #[test]
    fn due_schedules_taken_once_across_concurrent_callers() {
        let (_dir, s) = temp_storage();
        for i in 0..200 {
            s.schedule_once("app", &format!("t{i}"), i).unwrap();
        }
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .flat_map(|now| s.take_due_schedules(now * 4).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut names: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .map(|t| t.name)
            .collect();
        names.extend(
            s.take_due_schedules(i64::MAX)
                .unwrap()
                .into_iter()
                .map(|t| t.name),
        );
        names.sort();
        let mut expected: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn cron_last_fire_roundtrip_and_survives_reopen() {
        let (dir, s) = temp_storage();
        assert_eq!(s.last_cron_fire("lunch", "menu").unwrap(), None);
        s.set_last_cron_fire("lunch", "menu", 1_000).unwrap();
        s.set_last_cron_fire("lunch", "menu", 2_000).unwrap();
        s.set_last_cron_fire("other", "menu", 7).unwrap();
        s.schedule_once("lunch", "once", 10).unwrap();
        drop(s);
        let s = Storage::open(&dir.path().join("botyard.db")).unwrap();
        assert_eq!(s.last_cron_fire("lunch", "menu").unwrap(), Some(2_000));
        assert_eq!(s.last_cron_fire("other", "menu").unwrap(), Some(7));
        assert_eq!(s.last_cron_fire("lunch", "nope").unwrap(), None);
        assert_eq!(
            s.take_due_schedules(10).unwrap(),
            vec![tick("lunch", "once", 10)]
        );
    }
}
