//! `botyard audit`: who ran what, when, and how it ended, from the audit
//! log in the data directory. It reads beside a running host: SQLite's WAL
//! lets a reader in while the host writes.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::json;

use crate::config::Config;
use crate::config::storage::StorageConfig;
use crate::host::open_storage;
use crate::storage::{AuditQuery, InvocationRecord, OutcomeKind};

/// What `--since` accepts, for its help and its errors.
pub(super) const SINCE_FORMS: &str = "a span back from now (45s, 30m, 2h, 3d, 1w), a date (2026-12-01, from midnight UTC) or an RFC 3339 time (2026-12-01T09:30:00Z)";

/// `--since`: a time, or a span back from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Since {
    Ago(Duration),
    /// Unix milliseconds.
    At(i64),
}

impl Since {
    fn at_ms(self, now_ms: i64) -> i64 {
        match self {
            Since::Ago(span) => now_ms.saturating_sub(span.as_millis() as i64),
            Since::At(ms) => ms,
        }
    }
}

/// Parses `--since` (see [`SINCE_FORMS`]).
pub(super) fn parse_since(text: &str) -> Result<Since, String> {
    let text = text.trim();
    if let Some((unit_at, _)) = text.char_indices().last()
        && let Ok(count) = text[..unit_at].parse::<u64>()
    {
        let seconds = match &text[unit_at..] {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(60 * 60),
            "d" => Some(24 * 60 * 60),
            "w" => Some(7 * 24 * 60 * 60),
            _ => None,
        };
        if let Some(span) = seconds.and_then(|s| count.checked_mul(s)) {
            return Ok(Since::Ago(Duration::from_secs(span)));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
        return Ok(Since::At(midnight.and_utc().timestamp_millis()));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(Since::At(time.timestamp_millis()));
    }
    Err(format!("`{text}` is not a time: expected {SINCE_FORMS}"))
}

/// `--outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum OutcomeArg {
    Ok,
    Failed,
    Refused,
}

impl From<OutcomeArg> for OutcomeKind {
    fn from(outcome: OutcomeArg) -> OutcomeKind {
        match outcome {
            OutcomeArg::Ok => OutcomeKind::Ok,
            OutcomeArg::Failed => OutcomeKind::Failed,
            OutcomeArg::Refused => OutcomeKind::Refused,
        }
    }
}

/// What to show.
pub(super) struct Filters<'a> {
    pub app: Option<&'a str>,
    pub user: Option<&'a str>,
    pub since: Option<Since>,
    pub outcome: Option<OutcomeArg>,
    pub limit: u32,
    pub json: bool,
}

/// Prints the invocations matching `filters`, newest first: a table, or
/// one JSON object per line.
pub(super) async fn print(
    data_dir: &Path,
    config: &Config,
    filters: Filters<'_>,
) -> Result<ExitCode> {
    let path = data_dir.join("botyard.db");
    if config.storage == StorageConfig::Sqlite && !path.exists() {
        bail!(
            "no audit log at {}: no host has run with --data-dir {} yet",
            path.display(),
            data_dir.display()
        );
    }
    // On PostgreSQL, as an observer: reading registers no replica.
    let storage = open_storage(config, data_dir, true)
        .await
        .context("opening the audit log")?;
    let now_ms = crate::contract::time::now_ms() as i64;
    let query = AuditQuery {
        app: filters.app.map(String::from),
        user: filters.user.map(String::from),
        since_ms: filters.since.map(|since| since.at_ms(now_ms)),
        outcome: filters.outcome.map(OutcomeKind::from),
        limit: filters.limit,
    };
    let rows = storage
        .audit
        .query(&query)
        .await
        .context("reading the audit log")?;
    if filters.json {
        for row in &rows {
            println!("{}", json_line(row));
        }
    } else if rows.is_empty() {
        println!("no invocations match");
    } else {
        print!("{}", table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// `at_ms` in UTC, to the second or the millisecond.
fn utc(at_ms: i64, precision: SecondsFormat) -> String {
    DateTime::<Utc>::from_timestamp_millis(at_ms)
        .map(|t| t.to_rfc3339_opts(precision, true))
        .unwrap_or_else(|| at_ms.to_string())
}

fn json_line(row: &InvocationRecord) -> serde_json::Value {
    json!({
        "at": utc(row.at_ms, SecondsFormat::Millis),
        "at_ms": row.at_ms,
        "app": row.app,
        "version": row.version,
        "kind": row.kind,
        "user": row.user,
        "channel": row.channel,
        "detail": row.detail,
        "duration_us": row.duration_us,
        "outcome": row.outcome.kind().as_str(),
        "error": row.outcome.error(),
    })
}

/// Longest detail a table shows (`--json` has all of it).
const DETAIL_CHARS: usize = 48;

/// The rows as an aligned table; the outcome, with its message, last.
fn table(rows: &[InvocationRecord]) -> String {
    let dash = |text: &str| match text {
        "" => "-".to_string(),
        text => text.to_string(),
    };
    let mut lines = vec![
        [
            "TIME (UTC)",
            "APP",
            "USER",
            "CHANNEL",
            "KIND",
            "DETAIL",
            "DURATION",
            "OUTCOME",
        ]
        .map(String::from),
    ];
    for row in rows {
        let outcome = match row.outcome.error() {
            None => row.outcome.kind().as_str().to_string(),
            Some(error) => format!(
                "{}: {}",
                row.outcome.kind().as_str(),
                error.replace('\n', " ")
            ),
        };
        lines.push([
            utc(row.at_ms, SecondsFormat::Secs),
            row.app.clone(),
            dash(&row.user),
            dash(&row.channel),
            row.kind.clone(),
            dash(&shorten(&row.detail.replace('\n', " "), DETAIL_CHARS)),
            took(row.duration_us),
            outcome,
        ]);
    }
    let mut widths = [0; 8];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in &lines {
        let last = line.len() - 1;
        for (i, cell) in line.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
        _ => text.to_string(),
    }
}

fn took(duration_us: i64) -> String {
    match duration_us {
        us if us < 1_000 => format!("{us} µs"),
        us if us < 1_000_000 => format!("{:.1} ms", us as f64 / 1e3),
        us => format!("{:.2} s", us as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_spans_dates_and_rfc3339() {
        let hours = |h: u64| Since::Ago(Duration::from_secs(h * 3600));
        assert_eq!(parse_since("2h"), Ok(hours(2)));
        assert_eq!(parse_since("3d"), Ok(hours(72)));
        assert_eq!(parse_since("1w"), Ok(hours(168)));
        assert_eq!(
            parse_since("30m"),
            Ok(Since::Ago(Duration::from_secs(1800)))
        );
        assert_eq!(parse_since("2026-12-01"), Ok(Since::At(1_796_083_200_000)));
        assert_eq!(
            parse_since("2026-12-01T09:30:00+01:00"),
            Ok(Since::At(1_796_083_200_000 + 30 * 60_000 + 8 * 3_600_000))
        );
        for bad in ["yesterday", "2x", "h", "", "2026-13-01", "-2h", "2 h", "2µ"] {
            let error = parse_since(bad).unwrap_err();
            assert!(error.contains("2026-12-01T09:30:00Z"), "{bad}: {error}");
        }
        assert_eq!(hours(2).at_ms(10 * 3_600_000), 8 * 3_600_000);
    }

    #[test]
    fn a_table_aligns_and_shortens() {
        let row = |detail: &str, outcome| InvocationRecord {
            at_ms: 1_796_083_200_000,
            app: "hello".into(),
            version: "abc".into(),
            kind: "command".into(),
            user: "U1".into(),
            channel: String::new(),
            detail: detail.into(),
            duration_us: 1_500,
            outcome,
        };
        let long = "x".repeat(60);
        let text = table(&[
            row("/hello", crate::storage::Outcome::Ok),
            row(&long, crate::storage::Outcome::Refused("not you".into())),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("TIME (UTC)"), "{text}");
        assert!(
            lines[1].starts_with("2026-12-01T00:00:00Z  hello  U1"),
            "{text}"
        );
        assert!(lines[1].ends_with("1.5 ms    ok"), "{text}");
        assert!(lines[2].ends_with("refused: not you"), "{text}");
        assert!(lines[2].contains(&format!("{}…", "x".repeat(47))), "{text}");
        let column = |line: &str| line[..line.find("1.5 ms").unwrap()].chars().count();
        assert_eq!(column(lines[1]), column(lines[2]));
        assert_eq!(took(999), "999 µs");
        assert_eq!(took(2_500_000), "2.50 s");
    }
}
