//! Event de-duplication: Slack retries an Events API delivery it thinks we
//! missed (`X-Slack-Retry-Num`) with the same `event_id`. Remembering the ids
//! makes "each event handled once" hold across restarts too.

use async_trait::async_trait;

use super::{Db, now_ms};
use crate::storage::{EventStore, StorageError};

#[async_trait]
impl EventStore for Db {
    async fn mark_seen(&self, event_id: &str) -> Result<bool, StorageError> {
        self.write_now(|c| {
            Ok(c.prepare_cached(
                "INSERT OR IGNORE INTO seen_events (event_id, seen_ms) VALUES (?1, ?2)",
            )?
            .execute((event_id, now_ms()))?
                == 1)
        })
    }

    async fn seen(&self, event_id: &str) -> Result<bool, StorageError> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT 1 FROM seen_events WHERE event_id = ?1")?
                    .exists([event_id])?,
            )
        })
    }

    async fn forget_before(&self, cutoff_ms: i64) -> Result<usize, StorageError> {
        self.write_now(|c| {
            Ok(
                c.prepare_cached("DELETE FROM seen_events WHERE seen_ms < ?1")?
                    .execute([cutoff_ms])?,
            )
        })
    }
}
