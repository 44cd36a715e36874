//! `botyard call` and `botyard apps` as a user runs them: every call is a new
//! host process, so state that persists across calls survives a restart.

use crate::support;

use std::path::Path;
use std::process::Command;

use crate::support::guest_component;
use serde_json::Value;

fn botyard(data_dir: &Path, args: &[&str]) -> (bool, Value, String) {
    botyard_at(data_dir, None, args)
}

/// Runs `botyard <args>` over `data_dir` and its `botyard.toml`, building
/// (and keeping its compile cache) in `build_dir` when given, else in the
/// data directory: whether it succeeded, stdout as JSON (`Null` when it is
/// not), and stdout with stderr for messages.
pub(crate) fn botyard_at(
    data_dir: &Path,
    build_dir: Option<&Path>,
    args: &[&str],
) -> (bool, Value, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_botyard"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(data_dir.join("botyard.toml"));
    if let Some(dir) = build_dir {
        command.arg("--build-dir").arg(dir);
    }
    let out = command.args(args).output().expect("running botyard");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out.status.success(), json, format!("{stdout}{stderr}"))
}

fn call(data_dir: &Path, line: &str, user: &str) -> Value {
    let (ok, json, output) = botyard(
        data_dir,
        &["call", line, "--user", user, "--channel", "C1", "--json"],
    );
    assert!(ok, "botyard call {line} failed: {output}");
    json
}

fn setup(apps: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("botyard.toml"), "").unwrap();
    std::fs::create_dir_all(dir.path().join("apps")).unwrap();
    for (id, guest) in apps {
        std::fs::copy(
            guest_component(guest),
            dir.path().join(format!("apps/{id}.wasm")),
        )
        .unwrap();
    }
    dir
}

#[test]
fn hello_replies_and_its_count_survives_restarts() {
    let dir = setup(&[("hello", "hello-rust")]);
    let first = call(dir.path(), "/hello world", "U1");
    assert_eq!(first["app"], "hello");
    assert_eq!(first["reply"]["visibility"], "in_channel");
    assert_eq!(
        first["reply"]["text"],
        "Hello, world! You have said hello 1 time(s)."
    );
    let button = &first["reply"]["blocks"][1]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(button["action_id"], "count");

    // Each `botyard call` is a fresh host process: the count lives in SQLite.
    assert!(
        call(dir.path(), "/hello", "U1")["reply"]["text"]
            .as_str()
            .unwrap()
            .contains("2 time(s)")
    );
    assert!(
        call(dir.path(), "/hello", "U2")["reply"]["text"]
            .as_str()
            .unwrap()
            .contains("1 time(s)")
    );
    assert!(
        call(dir.path(), "/hello", "U1")["reply"]["text"]
            .as_str()
            .unwrap()
            .contains("3 time(s)")
    );
}

#[test]
fn two_apps_never_see_each_others_keys() {
    let dir = setup(&[("hello", "hello-rust"), ("peeker", "peeker")]);
    call(dir.path(), "/hello", "U1");
    // hello keeps its count under `calls/U1`; peeker asks for the same key.
    assert_eq!(
        call(dir.path(), "/peek calls/U1", "U1")["reply"]["text"],
        "absent"
    );
    call(dir.path(), "/put calls/U1 999", "U1");
    assert_eq!(
        call(dir.path(), "/peek calls/U1", "U1")["reply"]["text"],
        "999"
    );
    assert!(
        call(dir.path(), "/hello", "U1")["reply"]["text"]
            .as_str()
            .unwrap()
            .contains("2 time(s)")
    );
}

#[test]
fn unknown_commands_and_crashes_are_clear_errors() {
    let dir = setup(&[("hello", "hello-rust"), ("panicker", "panicker")]);
    let (ok, json, _) = botyard(dir.path(), &["call", "/nope", "--json"]);
    assert!(!ok);
    let error = json["error"].as_str().unwrap();
    assert!(
        error.contains("no such command `/nope`") && error.contains("/hello"),
        "{error}"
    );
    let (ok, _, output) = botyard(dir.path(), &["call", "/panic"]);
    assert!(!ok);
    assert!(output.contains("app `panicker` crashed"), "{output}");
}

#[test]
fn apps_lists_versions_commands_grants_and_why_a_load_failed() {
    let dir = setup(&[("hello", "hello-rust")]);
    std::fs::write(
        dir.path().join("botyard.toml"),
        "[apps.ungranted]\ngrants = [\"log\"]\n",
    )
    .unwrap();
    std::fs::copy(
        guest_component("ungranted"),
        dir.path().join("apps/ungranted.wasm"),
    )
    .unwrap();
    std::fs::write(dir.path().join("apps/broken.wasm"), b"not wasm at all").unwrap();
    let (ok, json, output) = botyard(dir.path(), &["apps", "--json"]);
    assert!(ok, "{output}");
    let apps = json.as_array().unwrap();
    let find = |id: &str| {
        apps.iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing: {json}"))
    };
    let hello = find("hello");
    assert_eq!(hello["commands"], serde_json::json!(["/hello"]));
    assert_eq!(hello["version"].as_str().unwrap().len(), 64);
    assert!(hello["last_error"].is_null());
    assert_eq!(
        hello["grants"],
        serde_json::json!(["slack", "store", "schedule", "log", "clock"])
    );
    assert!(
        find("ungranted")["last_error"]
            .as_str()
            .unwrap()
            .contains("botyard:app/slack")
    );
    assert!(find("ungranted")["version"].is_null());
    assert!(
        find("broken")["last_error"]
            .as_str()
            .unwrap()
            .contains("not a WebAssembly component")
    );

    assert_eq!(hello["code"], "compiled", "first load: {hello}");

    // A restarted host maps the compiled code from the cache.
    let (ok, _, text) = botyard(dir.path(), &["apps"]);
    assert!(
        ok && text.contains("last error:") && text.contains("/hello"),
        "{text}"
    );
    assert!(text.contains("code:       cached"), "{text}");
}

#[test]
fn a_broken_replacement_keeps_the_last_good_version_serving_and_apps_says_why() {
    let dir = setup(&[("hello", "hello-rust")]);
    let good = call(dir.path(), "/hello", "U1")["version"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(
        dir.path().join("apps/hello.wasm"),
        b"\0asm\x0d\0\x01\0 truncated",
    )
    .unwrap();

    let (ok, json, output) = botyard(dir.path(), &["apps", "--json"]);
    assert!(ok, "{output}");
    let hello = &json[0];
    assert_eq!(hello["id"], "hello");
    assert!(
        hello["version"].as_str().unwrap().starts_with(&good),
        "the last good version serves: {hello}"
    );
    assert!(
        hello["last_error"]
            .as_str()
            .unwrap()
            .contains("not a WebAssembly component"),
        "{hello}"
    );
    let again = call(dir.path(), "/hello", "U1");
    assert!(
        again["reply"]["text"]
            .as_str()
            .unwrap()
            .contains("2 time(s)"),
        "{again}"
    );
}

#[test]
fn slack_calls_are_recorded_in_the_outbox_and_shown() {
    // The `ungranted` guest posts a message; by default `slack` is granted.
    let dir = setup(&[("poster", "ungranted")]);
    let out = call(dir.path(), "/post", "U1");
    let calls = out["slack_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{out}");
    assert_eq!(calls[0]["method"], "chat.postMessage");
    assert_eq!(calls[0]["payload"]["channel"], "C1");
    assert_eq!(calls[0]["payload"]["text"], "posted by ungranted");
    // The app got a message reference it can update later.
    let id = calls[0]["id"].as_i64().unwrap();
    assert_eq!(out["reply"]["text"], format!("posted botyard-outbox-{id}"));
    // Recorded durably: a later process sees it in the outbox.
    let storage = botyard::storage::Storage::open(&dir.path().join("botyard.db")).unwrap();
    let entries = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(storage.outbox.entries(Some("poster"), 0, 10))
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, botyard::storage::OutboxStatus::Local);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_status_shows_replicas_their_leases_and_who_stopped() {
    use botyard::storage::postgres::Options;
    use botyard::storage::{NewInbound, Storage};
    use std::time::Duration;

    let url = support::postgres::database();
    let dir = setup(&[]);
    std::fs::write(
        dir.path().join("botyard.toml"),
        format!("[storage]\nbackend = \"postgres\"\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let replica = |name: &str| {
        let mut options = Options::new(url.clone(), name);
        options.heartbeat = Duration::from_millis(200);
        Storage::connect_postgres(options)
    };
    let a = replica("bot-a").await.unwrap();
    let b = replica("bot-b").await.unwrap();
    let now = botyard::contract::time::now_ms() as i64;
    let item = NewInbound {
        key: "event:Ev1/x",
        app: "x",
        body: b"{}",
    };
    a.inbox
        .take(&[item], now, Duration::from_secs(60))
        .await
        .unwrap();
    // bot-a connects to Slack over Socket Mode: three slots and the spare.
    let lease = Duration::from_secs(60);
    assert_eq!(a.slots.lease_slots(3, lease).await.unwrap().slots.len(), 3);
    assert!(a.slots.lease_spare(lease).await.unwrap().is_some());

    let status = |dir: &Path| {
        let (ok, json, output) = botyard(dir, &["cluster", "status", "--json"]);
        assert!(ok, "cluster status failed: {output}");
        json
    };
    let json = status(dir.path());
    let replicas = json["replicas"].as_array().unwrap();
    let names: Vec<&str> = replicas
        .iter()
        .map(|r| r["replica"].as_str().unwrap())
        .collect();
    // The tool itself registered nothing.
    assert_eq!(names, ["bot-a", "bot-b"], "{json}");
    assert!(replicas.iter().all(|r| r["alive"] == true), "{json}");
    assert_eq!(replicas[0]["inbox_leases"], 1, "{json}");
    assert_eq!(replicas[1]["inbox_leases"], 0, "{json}");
    assert_eq!(json["inbox_pending"], 1);
    assert!(json["storage"].as_str().unwrap().starts_with("postgres://"));
    let slots = json["socket_slots"].as_array().unwrap();
    assert_eq!(slots.len(), 4, "{json}");
    assert!(slots.iter().all(|s| s["replica"] == "bot-a"), "{json}");
    assert_eq!(slots.iter().filter(|s| s["spare"] == true).count(), 1);
    let (_, _, text) = botyard(dir.path(), &["cluster", "status"]);
    assert!(
        text.contains("socket mode: 4 of 10 slots held — bot-a 3 (+ spare)"),
        "{text}"
    );

    // bot-b stops: three missed heartbeats and a second later it shows so.
    drop(b);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let json = status(dir.path());
    let state: Vec<(String, bool)> = json["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["replica"].as_str().unwrap().to_string(),
                r["alive"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        state,
        [("bot-a".to_string(), true), ("bot-b".to_string(), false)]
    );
    let (ok, _, text) = botyard(dir.path(), &["cluster", "status"]);
    assert!(
        ok && text.contains("stopped") && text.contains("inbox: 1 pending"),
        "{text}"
    );
    drop(a);
}

#[test]
fn cluster_status_on_one_machine_says_how_to_get_replicas() {
    let dir = setup(&[]);
    let (ok, json, output) = botyard(dir.path(), &["cluster", "status", "--json"]);
    assert!(ok, "{output}");
    assert_eq!(json["replicas"], serde_json::json!([]));
    let (_, _, text) = botyard(dir.path(), &["cluster", "status"]);
    assert!(text.contains("backend = \"postgres\""), "{text}");
}
