//! The audit log: one row per invocation of an app, so "who ran what, when,
//! and did it work" can always be answered.

use async_trait::async_trait;
use rusqlite::Connection;

use super::Db;
use crate::storage::{AuditStore, InvocationRecord, Outcome, StorageError};

const SELECT_COLUMNS: &str = "SELECT at_ms, app, version, kind, user, channel, detail, duration_us, outcome, error FROM audit";

/// One cached INSERT: it runs on every invocation, inside its unit.
pub(super) fn record(c: &Connection, record: &InvocationRecord) -> Result<(), StorageError> {
    let (outcome, error) = match &record.outcome {
        Outcome::Ok => ("ok", None),
        Outcome::Failed(error) => ("error", Some(error.as_str())),
    };
    c.prepare_cached(
        "INSERT INTO audit (at_ms, app, version, kind, user, channel, detail,
                            duration_us, outcome, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute((
        record.at_ms,
        &record.app,
        &record.version,
        &record.kind,
        &record.user,
        &record.channel,
        &record.detail,
        record.duration_us,
        outcome,
        error,
    ))?;
    Ok(())
}

#[async_trait]
impl AuditStore for Db {
    async fn recent(
        &self,
        app: Option<&str>,
        limit: u32,
    ) -> Result<Vec<InvocationRecord>, StorageError> {
        self.read(|c| {
            Ok(match app {
                Some(app) => c
                    .prepare_cached(&format!(
                        "{SELECT_COLUMNS} WHERE app = ?1 ORDER BY id DESC LIMIT ?2"
                    ))?
                    .query_map((app, limit), from_row)?
                    .collect::<Result<_, _>>()?,
                None => c
                    .prepare_cached(&format!("{SELECT_COLUMNS} ORDER BY id DESC LIMIT ?1"))?
                    .query_map([limit], from_row)?
                    .collect::<Result<_, _>>()?,
            })
        })
    }
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<InvocationRecord> {
    let outcome: String = row.get(8)?;
    let outcome = match outcome.as_str() {
        "ok" => Outcome::Ok,
        _ => Outcome::Failed(row.get::<_, Option<String>>(9)?.unwrap_or_default()),
    };
    Ok(InvocationRecord {
        at_ms: row.get(0)?,
        app: row.get(1)?,
        version: row.get(2)?,
        kind: row.get(3)?,
        user: row.get(4)?,
        channel: row.get(5)?,
        detail: row.get(6)?,
        duration_us: row.get(7)?,
        outcome,
    })
}
