//! Outbox: a durable record of every Slack Web API call an app asked for.
//!
//! Written before the call is attempted, so a message an app was told is
//! queued survives a crash and is delivered (at least once) after restart.

use rusqlite::types::Type;
use serde::Serialize;

use super::{Storage, StorageError, now_ms};

/// Where an outbox entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    /// To be delivered to Slack.
    Pending,
    /// Recorded only: no Slack connected (e.g. `botyard call`).
    Local,
    /// Slack accepted it; `result` holds its answer.
    Delivered,
    /// Given up on; `last_error` says why.
    Failed,
}

impl OutboxStatus {
    /// The text stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Local => "local",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => OutboxStatus::Pending,
            "local" => OutboxStatus::Local,
            "delivered" => OutboxStatus::Delivered,
            "failed" => OutboxStatus::Failed,
            _ => return None,
        })
    }
}

/// One recorded Slack Web API call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    /// Increases with every entry and is never reused, so it works as a cursor.
    pub id: i64,
    pub created_ms: i64,
    pub app: String,
    /// Slack Web API method, e.g. `chat.postMessage`.
    pub method: String,
    pub payload: serde_json::Value,
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Slack's response once delivered.
    pub result: Option<serde_json::Value>,
}

const SELECT_COLUMNS: &str =
    "SELECT id, created_ms, app, method, payload, status, attempts, last_error, result FROM outbox";

impl Storage {
    /// Records a call `app` asked for; returns its id.
    pub fn enqueue_outbox(
        &self,
        app: &str,
        method: &str,
        payload: &serde_json::Value,
        status: OutboxStatus,
    ) -> Result<i64, StorageError> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO outbox (created_ms, app, method, payload, status)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((now_ms(), app, method, payload.to_string(), status.as_str()))?;
        let id = conn.last_insert_rowid();
        drop(conn);
        if status == OutboxStatus::Pending {
            // A stored permit if nobody waits yet: the next wait returns at once.
            self.inner.outbox_waker.notify_one();
        }
        Ok(id)
    }

    /// Up to `limit` entries with id greater than `since_id`, oldest first,
    /// optionally only those of `app`. Pass the last id seen to page on.
    pub fn outbox_entries(
        &self,
        app: Option<&str>,
        since_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError> {
        let conn = self.conn();
        let entries = match app {
            Some(app) => conn
                .prepare_cached(&format!(
                    "{SELECT_COLUMNS} WHERE app = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                ))?
                .query_map((app, since_id, limit), from_row)?
                .collect::<Result<_, _>>()?,
            None => conn
                .prepare_cached(&format!(
                    "{SELECT_COLUMNS} WHERE id > ?1 ORDER BY id LIMIT ?2"
                ))?
                .query_map((since_id, limit), from_row)?
                .collect::<Result<_, _>>()?,
        };
        Ok(entries)
    }

    /// Up to `limit` entries still to be delivered to Slack, oldest first.
    pub fn pending_outbox(&self, limit: u32) -> Result<Vec<OutboxEntry>, StorageError> {
        let entries = self
            .conn()
            .prepare_cached(&format!(
                "{SELECT_COLUMNS} WHERE status = 'pending' ORDER BY id LIMIT ?1"
            ))?
            .query_map([limit], from_row)?
            .collect::<Result<_, _>>()?;
        Ok(entries)
    }

    /// Marks a pending entry delivered with Slack's `result`. Returns false if
    /// the entry does not exist or is not pending (already settled, or local).
    pub fn mark_outbox_delivered(
        &self,
        id: i64,
        result: &serde_json::Value,
    ) -> Result<bool, StorageError> {
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, result = ?2
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute((id, result.to_string()))?;
        Ok(changed > 0)
    }

    /// Marks a pending entry as given up on, with the reason. Returns false
    /// if the entry does not exist or is not pending.
    pub fn mark_outbox_failed(&self, id: i64, error: &str) -> Result<bool, StorageError> {
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute((id, error))?;
        Ok(changed > 0)
    }

    /// Counts a failed attempt that will be retried: the entry stays pending.
    /// Returns false if the entry does not exist or is not pending.
    pub fn record_outbox_attempt(&self, id: i64, error: &str) -> Result<bool, StorageError> {
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute((id, error))?;
        Ok(changed > 0)
    }
}

fn json_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let status: String = row.get(5)?;
    let status = OutboxStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            5,
            Type::Text,
            format!("unknown outbox status {status:?}").into(),
        )
    })?;
    let result = match row.get_ref(8)? {
        rusqlite::types::ValueRef::Null => None,
        _ => Some(json_column(row, 8)?),
    };
    Ok(OutboxEntry {
        id: row.get(0)?,
        created_ms: row.get(1)?,
        app: row.get(2)?,
        method: row.get(3)?,
        payload: json_column(row, 4)?,
        status,
        attempts: row.get(6)?,
        last_error: row.get(7)?,
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_storage;
    use super::*;
    use serde_json::json;

    #[test]
    fn enqueue_and_read_back() {
        let (_dir, s) = temp_storage();
        let before = now_ms();
        let payload = json!({"channel": "C1", "text": "hi", "blocks": [{"type": "divider"}]});
        let id = s
            .enqueue_outbox("poll", "chat.postMessage", &payload, OutboxStatus::Pending)
            .unwrap();
        let entries = s.outbox_entries(None, 0, 10).unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.id, id);
        assert!(e.created_ms >= before && e.created_ms <= now_ms());
        assert_eq!(e.app, "poll");
        assert_eq!(e.method, "chat.postMessage");
        assert_eq!(e.payload, payload);
        assert_eq!(e.status, OutboxStatus::Pending);
        assert_eq!(e.attempts, 0);
        assert_eq!(e.last_error, None);
        assert_eq!(e.result, None);
    }

    #[test]
    fn entries_filter_by_app_and_cursor_in_id_order() {
        let (_dir, s) = temp_storage();
        let p = json!({});
        let a1 = s
            .enqueue_outbox("a", "m1", &p, OutboxStatus::Local)
            .unwrap();
        let b1 = s
            .enqueue_outbox("b", "m2", &p, OutboxStatus::Pending)
            .unwrap();
        let a2 = s
            .enqueue_outbox("a", "m3", &p, OutboxStatus::Local)
            .unwrap();
        assert!(a1 < b1 && b1 < a2);
        let ids = |v: Vec<OutboxEntry>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.outbox_entries(None, 0, 10).unwrap()),
            vec![a1, b1, a2]
        );
        assert_eq!(ids(s.outbox_entries(None, a1, 10).unwrap()), vec![b1, a2]);
        assert_eq!(ids(s.outbox_entries(None, 0, 1).unwrap()), vec![a1]);
        assert_eq!(
            ids(s.outbox_entries(Some("a"), 0, 10).unwrap()),
            vec![a1, a2]
        );
        assert_eq!(ids(s.outbox_entries(Some("a"), a1, 10).unwrap()), vec![a2]);
        assert_eq!(ids(s.outbox_entries(Some("b"), 0, 10).unwrap()), vec![b1]);
    }

    #[test]
    fn status_changes() {
        let (_dir, s) = temp_storage();
        let p = json!({"text": "x"});
        let ok = s
            .enqueue_outbox("a", "chat.postMessage", &p, OutboxStatus::Pending)
            .unwrap();
        let bad = s
            .enqueue_outbox("a", "chat.postMessage", &p, OutboxStatus::Pending)
            .unwrap();
        let local = s
            .enqueue_outbox("a", "chat.postMessage", &p, OutboxStatus::Local)
            .unwrap();
        let pending_ids = |s: &Storage| {
            s.pending_outbox(10)
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(pending_ids(&s), vec![ok, bad]);

        assert!(s.record_outbox_attempt(bad, "ratelimited").unwrap());
        let slack_answer = json!({"ok": true, "ts": "1700000000.000100"});
        assert!(s.mark_outbox_delivered(ok, &slack_answer).unwrap());
        assert_eq!(pending_ids(&s), vec![bad]);
        assert!(s.mark_outbox_failed(bad, "channel_not_found").unwrap());
        assert!(pending_ids(&s).is_empty());

        // Settled and local entries cannot change any more.
        assert!(!s.mark_outbox_failed(ok, "late").unwrap());
        assert!(!s.mark_outbox_delivered(bad, &slack_answer).unwrap());
        assert!(!s.mark_outbox_delivered(local, &slack_answer).unwrap());
        assert!(!s.mark_outbox_delivered(9999, &slack_answer).unwrap());

        let all = s.outbox_entries(None, 0, 10).unwrap();
        assert_eq!(all[0].status, OutboxStatus::Delivered);
        assert_eq!(all[0].attempts, 1);
        assert_eq!(all[0].result.as_ref(), Some(&slack_answer));
        assert_eq!(all[0].last_error, None);
        assert_eq!(all[1].status, OutboxStatus::Failed);
        assert_eq!(all[1].attempts, 2);
        assert_eq!(all[1].last_error.as_deref(), Some("channel_not_found"));
        assert_eq!(all[1].result, None);
        assert_eq!(all[2].status, OutboxStatus::Local);
        assert_eq!(all[2].attempts, 0);
    }

    #[test]
    fn pending_survives_reopen() {
        let (dir, s) = temp_storage();
        let id = s
            .enqueue_outbox(
                "a",
                "chat.postMessage",
                &json!({"text": "vote"}),
                OutboxStatus::Pending,
            )
            .unwrap();
        drop(s);
        let s = Storage::open(&dir.path().join("botyard.db")).unwrap();
        let pending = s.pending_outbox(10).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, id);
        assert_eq!(pending[0].payload, json!({"text": "vote"}));
    }

    #[test]
    fn status_text_roundtrips() {
        for status in [
            OutboxStatus::Pending,
            OutboxStatus::Local,
            OutboxStatus::Delivered,
            OutboxStatus::Failed,
        ] {
            assert_eq!(OutboxStatus::parse(status.as_str()), Some(status));
        }
    }
}
