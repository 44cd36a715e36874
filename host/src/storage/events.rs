//! Event de-duplication: Slack retries an Events API delivery it thinks we
//! missed (`X-Slack-Retry-Num`), with the same `event_id`. Remembering the ids
//! in SQLite makes "each event handled once" hold across restarts too.

use super::{Storage, StorageError, now_ms};

impl Storage {
    /// Records `event_id` as seen. Returns `true` the first time, `false`
    /// for every repeat: only the caller that got `true` handles the event.
    pub fn mark_event_seen(&self, event_id: &str) -> Result<bool, StorageError> {
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO seen_events (event_id, seen_ms) VALUES (?1, ?2)",
            )?
            .execute((event_id, now_ms()))?;
        Ok(inserted == 1)
    }

    /// Whether `event_id` has been marked seen (and not yet forgotten).
    pub fn event_seen(&self, event_id: &str) -> Result<bool, StorageError> {
        let found = self
            .conn()
            .prepare_cached("SELECT 1 FROM seen_events WHERE event_id = ?1")?
            .exists([event_id])?;
        Ok(found)
    }

    /// Forgets event ids seen before `cutoff_ms` (Unix ms); returns how many.
    pub fn forget_events_before(&self, cutoff_ms: i64) -> Result<usize, StorageError> {
        let removed = self
            .conn()
            .prepare_cached("DELETE FROM seen_events WHERE seen_ms < ?1")?
            .execute([cutoff_ms])?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_storage;
    use super::*;

    #[test]
    fn an_event_id_is_new_exactly_once() {
        let (_dir, storage) = temp_storage();
        assert!(!storage.event_seen("Ev1").unwrap());
        assert!(storage.mark_event_seen("Ev1").unwrap());
        assert!(!storage.mark_event_seen("Ev1").unwrap());
        assert!(storage.event_seen("Ev1").unwrap());
        assert!(storage.mark_event_seen("Ev2").unwrap());
    }

    #[test]
    fn seen_ids_survive_reopening() {
        let (dir, storage) = temp_storage();
        assert!(storage.mark_event_seen("Ev1").unwrap());
        let path = storage.path().to_path_buf();
        drop(storage);
        let reopened = Storage::open(&path).unwrap();
        assert!(!reopened.mark_event_seen("Ev1").unwrap());
        drop(dir);
    }

    #[test]
    fn old_ids_are_forgotten() {
        let (_dir, storage) = temp_storage();
        storage.mark_event_seen("Ev1").unwrap();
        assert_eq!(storage.forget_events_before(0).unwrap(), 0);
        assert_eq!(storage.forget_events_before(now_ms() + 1).unwrap(), 1);
        assert!(storage.mark_event_seen("Ev1").unwrap());
    }
}
