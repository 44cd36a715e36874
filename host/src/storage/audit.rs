//! Audit log: one row per invocation of an app, so "who ran what, when, and
//! did it work" can always be answered.

use serde::Serialize;

use super::{Storage, StorageError};

/// One invocation of an app, as recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvocationRecord {
    /// Start time, Unix milliseconds.
    pub at_ms: i64,
    pub app: String,
    /// Hash of the component version that ran.
    pub version: String,
    /// `command`, `action`, `view`, `event` or `tick`.
    pub kind: String,
    pub user: String,
    pub channel: String,
    /// What was invoked, e.g. `/hello world`.
    pub detail: String,
    pub duration_us: i64,
    pub outcome: Outcome,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    /// With the error shown to the user or operator.
    Failed(String),
}

const SELECT_COLUMNS: &str = "SELECT at_ms, app, version, kind, user, channel, detail, duration_us, outcome, error FROM audit";

impl Storage {
    /// Appends `record` to the audit log. One cached INSERT: it runs on every
    /// invocation.
    pub fn record_invocation(&self, record: &InvocationRecord) -> Result<(), StorageError> {
        let (outcome, error) = match &record.outcome {
            Outcome::Ok => ("ok", None),
            Outcome::Failed(error) => ("error", Some(error.as_str())),
        };
        self.conn()
            .prepare_cached(
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

    /// Up to `limit` most recently recorded invocations, newest first,
    /// optionally only those of `app`.
    pub fn recent_invocations(
        &self,
        app: Option<&str>,
        limit: u32,
    ) -> Result<Vec<InvocationRecord>, StorageError> {
        let conn = self.conn();
        let records = match app {
            Some(app) => conn
                .prepare_cached(&format!(
                    "{SELECT_COLUMNS} WHERE app = ?1 ORDER BY id DESC LIMIT ?2"
                ))?
                .query_map((app, limit), from_row)?
                .collect::<Result<_, _>>()?,
            None => conn
                .prepare_cached(&format!("{SELECT_COLUMNS} ORDER BY id DESC LIMIT ?1"))?
                .query_map([limit], from_row)?
                .collect::<Result<_, _>>()?,
        };
        Ok(records)
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

#[cfg(test)]
mod tests {
    use super::super::tests::temp_storage;
    use super::*;

    fn record(app: &str, at_ms: i64, outcome: Outcome) -> InvocationRecord {
        InvocationRecord {
            at_ms,
            app: app.into(),
            version: "abc123".into(),
            kind: "command".into(),
            user: "U1".into(),
            channel: "C1".into(),
            detail: format!("/{app} run {at_ms}"),
            duration_us: 42,
            outcome,
        }
    }

    #[test]
    fn newest_first_with_outcomes_roundtripped() {
        let (_dir, s) = temp_storage();
        let first = record("poll", 1_000, Outcome::Ok);
        let second = record(
            "unicorn",
            2_000,
            Outcome::Failed("trap: unreachable".into()),
        );
        let third = record("poll", 3_000, Outcome::Ok);
        for r in [&first, &second, &third] {
            s.record_invocation(r).unwrap();
        }
        assert_eq!(
            s.recent_invocations(None, 10).unwrap(),
            vec![third.clone(), second.clone(), first.clone()]
        );
        assert_eq!(
            s.recent_invocations(None, 2).unwrap(),
            vec![third.clone(), second.clone()]
        );
        assert_eq!(
            s.recent_invocations(Some("poll"), 10).unwrap(),
            vec![third, first]
        );
        assert_eq!(
            s.recent_invocations(Some("unicorn"), 10).unwrap(),
            vec![second]
        );
        assert!(s.recent_invocations(Some("nobody"), 10).unwrap().is_empty());
    }

    #[test]
    fn outcome_stored_as_ok_or_error_text() {
        let (_dir, s) = temp_storage();
        s.record_invocation(&record("a", 1, Outcome::Ok)).unwrap();
        s.record_invocation(&record("a", 2, Outcome::Failed("boom".into())))
            .unwrap();
        let rows: Vec<(String, Option<String>)> = s
            .conn()
            .prepare("SELECT outcome, error FROM audit ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![("ok".into(), None), ("error".into(), Some("boom".into()))]
        );
    }
}
