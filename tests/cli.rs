//! `botyard call` and `botyard apps` as a user runs them: every call is a new
//! host process, so state that persists across calls survives a restart.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::guest_component;

fn botyard(data_dir: &Path, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_botyard"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(data_dir.join("botyard.toml"))
        .args(args)
        .output()
        .expect("running botyard");
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

    let (ok, _, text) = botyard(dir.path(), &["apps"]);
    assert!(
        ok && text.contains("last error:") && text.contains("/hello"),
        "{text}"
    );
}
