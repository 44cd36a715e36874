//! Logs and the audit log as an operator uses them: `botyard audit` over
//! invocations a host ran (beside that host), `--log-format json` as a log
//! shipper reads it, and retention pruning old rows in the background.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{TestHost, reply_text};
use async_trait::async_trait;
use botyard::contract::time::now_ms;
use botyard::runtime::hooks::{Call, Hook, Refusal};
use botyard::storage::{AuditQuery, InvocationRecord, Outcome, Storage};
use serde_json::Value;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Runs the built `botyard` over `data_dir`: success, stdout, stderr. The
/// configuration is the data directory's `botyard.toml` (empty unless the
/// test wrote one): `audit` reads its `[storage]`.
fn botyard(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let config = data_dir.join("botyard.toml");
    if !config.exists() {
        std::fs::write(&config, "").unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_botyard"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(data_dir.join("botyard.toml"))
        .arg("--build-dir")
        .arg(support::shared_build_dir())
        .args(args)
        .env_remove("BOTYARD_LOG")
        .env_remove("BOTYARD_LOG_FORMAT")
        .envs(env.iter().copied())
        .output()
        .expect("running botyard");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `botyard audit <args> --json`, each line parsed.
fn audit(data_dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "--json"];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = botyard(data_dir, &all, &[]);
    assert!(ok, "botyard {all:?} failed: {stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn column<'a>(rows: &'a [Value], name: &str) -> Vec<&'a str> {
    rows.iter().map(|r| r[name].as_str().unwrap()).collect()
}

/// Turns one user away, as a permission rule would.
struct Bouncer(&'static str);

#[async_trait]
impl Hook for Bouncer {
    async fn before(&self, call: &Call<'_>) -> Result<(), Refusal> {
        match call.request.user() == self.0 {
            true => Err(Refusal("you may not run this here".into())),
            false => Ok(()),
        }
    }
}

fn row(app: &str, user: &str, at_ms: i64) -> InvocationRecord {
    InvocationRecord {
        at_ms,
        app: app.into(),
        version: "0ld".into(),
        kind: "command".into(),
        user: user.into(),
        channel: "C1".into(),
        detail: format!("/{app}"),
        duration_us: 10,
        outcome: Outcome::Ok,
    }
}

async fn record(storage: &Storage, rows: &[InvocationRecord]) {
    let mut unit = storage.begin();
    for r in rows {
        unit.record(r).await.unwrap();
    }
    unit.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_answers_who_ran_what_when_beside_a_running_host() {
    let t = TestHost::new("", &[("hello", "hello-rust"), ("panicker", "panicker")]);
    let host = t
        .builder()
        .hook(Arc::new(Bouncer("U_OUT")))
        .start()
        .await
        .expect("starting the host");
    let apps = host.apps();
    record(
        apps.storage(),
        &[row("hello", "U_OLD", now_ms() as i64 - 3 * DAY_MS)],
    )
    .await;
    reply_text(apps, "/hello", "U1").await.unwrap();
    reply_text(apps, "/hello there", "U2").await.unwrap();
    let _ = reply_text(apps, "/panic", "U1").await;
    let _ = reply_text(apps, "/hello", "U_OUT").await;

    // The host is still running: the CLI reads beside it.
    let all = audit(t.data_dir(), &[]);
    assert_eq!(column(&all, "user"), ["U_OUT", "U1", "U2", "U1", "U_OLD"]);
    let times: Vec<i64> = all.iter().map(|r| r["at_ms"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(all[0]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(all[0]["kind"], "command");
    assert_eq!(all[0]["channel"], "C1");
    assert!(all[1]["duration_us"].as_i64().is_some());

    let panicked = audit(t.data_dir(), &["--app", "panicker"]);
    assert_eq!(panicked.len(), 1);
    assert_eq!(panicked[0]["outcome"], "failed");
    assert!(
        panicked[0]["error"].as_str().unwrap().contains("crashed"),
        "{panicked:?}"
    );

    let by_u2 = audit(t.data_dir(), &["--user", "U2"]);
    assert_eq!(column(&by_u2, "detail"), ["/hello there"]);

    let refused = audit(t.data_dir(), &["--outcome", "refused"]);
    assert_eq!(column(&refused, "user"), ["U_OUT"]);
    assert_eq!(refused[0]["error"], "you may not run this here");
    assert_eq!(refused[0]["app"], "hello");

    let recent_ok = audit(t.data_dir(), &["--outcome", "ok", "--since", "2h"]);
    assert_eq!(column(&recent_ok, "user"), ["U2", "U1"]);
    let failed = audit(t.data_dir(), &["--outcome", "failed"]);
    assert_eq!(column(&failed, "app"), ["panicker"]);

    assert_eq!(audit(t.data_dir(), &["--since", "2020-01-01"]).len(), 5);
    let day_ago = chrono::DateTime::from_timestamp_millis(now_ms() as i64 - DAY_MS)
        .unwrap()
        .to_rfc3339();
    assert_eq!(audit(t.data_dir(), &["--since", &day_ago]).len(), 4);
    assert_eq!(
        column(
            &audit(t.data_dir(), &["--app", "hello", "--limit", "2"]),
            "user"
        ),
        ["U_OUT", "U2"]
    );

    // For people: a table, with each refusal's reason.
    let (ok, table, stderr) = botyard(t.data_dir(), &["audit", "--app", "hello"], &[]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(lines[0].starts_with("TIME (UTC)"), "{table}");
    assert!(
        lines[1].contains("U_OUT") && lines[1].ends_with("refused: you may not run this here"),
        "{table}"
    );
    assert!(
        lines[4].contains("U_OLD") && lines[4].ends_with("ok"),
        "{table}"
    );

    // A --since it cannot read says what it can.
    let (ok, _, stderr) = botyard(t.data_dir(), &["audit", "--since", "yesterday"], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("yesterday") && stderr.contains("3d") && stderr.contains("2026-12-01"),
        "{stderr}"
    );
    let (ok, _, stderr) = botyard(t.data_dir(), &["audit", "--outcome", "maybe"], &[]);
    assert!(!ok && stderr.contains("refused"), "{stderr}");

    // A data directory no host ran in has no audit log (and gets none).
    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = botyard(empty.path(), &["audit"], &[]);
    assert!(!ok && stderr.contains("no audit log"), "{stderr}");
    assert!(!empty.path().join("botyard.db").exists());
}

/// Every stderr line parsed as JSON (each must be); the invocation's line (the one whose
/// message is `message`), with its span's fields.
fn invocation_line(stderr: &str, message: &str) -> Value {
    let lines: Vec<Value> = stderr
        .lines()
        // The verb's own message when it fails, not a log line.
        .filter(|line| !line.starts_with("error: "))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    lines
        .into_iter()
        .find(|line| line["message"] == message)
        .unwrap_or_else(|| panic!("no `{message}` line in:\n{stderr}"))
}

#[test]
fn json_logs_carry_each_invocation_and_never_what_was_typed() {
    let t = TestHost::new("", &[("hello", "hello-rust"), ("panicker", "panicker")]);
    std::fs::write(t.data_dir().join("botyard.toml"), "").unwrap();
    let log = [("BOTYARD_LOG", "info")];
    let (ok, stdout, stderr) = botyard(
        t.data_dir(),
        &[
            "--log-format",
            "json",
            "call",
            "/hello hunter2-typed-here",
            "--user",
            "U7",
            "--channel",
            "C9",
        ],
        &log,
    );
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("hunter2-typed-here"), "the reply: {stdout}");
    assert!(
        !stderr.contains("hunter2"),
        "what the user typed reached the logs:\n{stderr}"
    );
    let done = invocation_line(&stderr, "invocation done");
    assert_eq!(done["level"], "INFO");
    // On the line itself, and on the span every line inside the invocation
    // carries.
    for fields in [&done, &done["span"]] {
        assert_eq!(fields["app"], "hello", "{done}");
        assert_eq!(fields["kind"], "command");
        assert_eq!(fields["user"], "U7");
        assert_eq!(fields["channel"], "C9");
        assert_eq!(fields["detail"], "/hello");
        assert_eq!(fields["outcome"], "ok");
        assert!(fields["duration_us"].as_u64().is_some(), "{done}");
        assert!(fields["version"].as_str().is_some_and(|v| v.len() == 12));
    }
    assert_eq!(done["span"]["name"], "invoke");
    // `describe`, at load, is no one's invocation.
    assert!(!stderr.contains("describe"), "{stderr}");

    // The same flag from the environment, for a failure, at the default
    // level (warn), which filters the invocation's span out: the line
    // still says whose it was.
    let (ok, _, stderr) = botyard(
        t.data_dir(),
        &["call", "/panic", "--user", "U8"],
        &[("BOTYARD_LOG_FORMAT", "json")],
    );
    assert!(!ok);
    let failed = invocation_line(&stderr, "invocation failed");
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["app"], "panicker", "{failed}");
    assert_eq!(failed["kind"], "command");
    assert_eq!(failed["user"], "U8");
    assert_eq!(failed["detail"], "/panic");
    assert!(
        ["failed", "stopped"].contains(&failed["outcome"].as_str().unwrap()),
        "{failed}"
    );
    assert!(failed["error"].as_str().unwrap().contains("crashed"));
    assert!(failed["duration_us"].as_u64().is_some());

    // Text stays the default.
    let (ok, _, stderr) = botyard(t.data_dir(), &["call", "/hello"], &log);
    assert!(ok, "{stderr}");
    let text = stderr
        .lines()
        .find(|l| l.contains("invocation done"))
        .map(without_colors)
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert!(
        text.contains(r#"app="hello""#) && text.contains(r#"outcome="ok""#),
        "{text}"
    );
}

/// `line` less its ANSI colour sequences.
fn without_colors(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_rows_in_the_background_and_keeps_newer_ones() {
    let t = TestHost::new("[audit]\nkeep_days = 1\n", &[]);
    let now = now_ms() as i64;
    let old = [
        row("hello", "U1", now - 30 * DAY_MS),
        row("hello", "U2", now - DAY_MS - 60_000),
    ];
    let newer = [
        row("hello", "U3", now - DAY_MS + 60_000),
        row("hello", "U4", now),
    ];
    {
        let storage = Storage::open(&t.data_dir().join("botyard.db")).unwrap();
        record(&storage, &old).await;
        record(&storage, &newer).await;
    }
    // A host that is not asked to prune keeps everything.
    let host = t.builder().start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        host.apps()
            .storage()
            .audit
            .recent(None, 10)
            .await
            .unwrap()
            .len(),
        4
    );
    host.shutdown().await;

    let host = t.builder().prune_audit().start().await.unwrap();
    let audit = host.apps().storage().audit.clone();
    let everything = AuditQuery::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let left = loop {
        let left = audit.query(&everything).await.unwrap();
        if left.len() < 4 || Instant::now() > deadline {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(left, [newer[1].clone(), newer[0].clone()]);
    host.shutdown().await;
}
