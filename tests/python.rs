//! Python guests: built from source with componentize-py, run with WASI that grants nothing ambient.

#[path = "support/mod.rs"]
mod support;

use std::net::TcpListener;

use botyard::build::{BuildError, BuildOptions, build_guest};
use botyard::contract::bindings::types::{CommandRequest, Tick};
use botyard::contract::request::{Request, Response};
use botyard::routing::CallError;
use botyard::runtime::invoke::InvokeError;
use serde_json::{Value, json};
use support::requests::{
    check_hello_counts_and_clicks, check_kit_modal_submissions, click, context, kit_order_modal,
};
use support::{TestHost, reply_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_builds_from_source_and_answers_like_hello_rust() {
    let host = TestHost::new("", &[("hello", "hello-python")]);
    let runtime = host.start().await;

    assert_eq!(
        reply_text(&runtime, "/hello world", "U1").await.unwrap(),
        "Hello, world! You have said hello 1 time(s)."
    );
    check_hello_counts_and_clicks(&runtime).await;

    let Err(err) = runtime.invoke("hello", click("nope", "U1")).await else {
        panic!("an unknown action should fail")
    };
    assert!(err.to_string().contains("unknown action nope"), "{err}");

    // The same keys as hello-rust, so the starters are interchangeable.
    let storage = runtime.storage();
    assert_eq!(
        storage.kv_get("hello", "calls/U1").await.unwrap().unwrap(),
        b"2"
    );
    assert_eq!(
        storage.kv_get("hello", "clicks/U2").await.unwrap().unwrap(),
        b"1"
    );
}

#[test]
fn a_syntax_error_is_reported_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("broken-bot");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("app.py"),
        "import botyard\nimport helpers\n\nclass Handler(botyard.App):\n    name = \"broken\"\n",
    )
    .unwrap();
    std::fs::write(app.join("helpers.py"), "X = 1\n\ndef oops(:\n    pass\n").unwrap();
    let opts = BuildOptions {
        data_dir: support::shared_build_dir(),
        release: true,
    };
    let err = build_guest(&app, &opts).unwrap_err();
    let BuildError::Compile { app: name, output } = &err else {
        panic!("expected a compile error, got {err}")
    };
    assert_eq!(name, "broken-bot");
    let helpers = app.join("helpers.py");
    assert!(
        output.contains(&format!("File \"{}\", line 3", helpers.display())),
        "{output}"
    );
    assert!(output.contains("SyntaxError"), "{output}");
    assert!(
        !output.contains("Stack backtrace") && !output.contains("sys.exit(script())"),
        "only the Python error: {output}"
    );
    assert!(
        !app.join("__pycache__").exists(),
        "the build must not write into the app's sources"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_read_files_the_environment_or_the_network() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();

    let host = TestHost::new("", &[("escape", "py-escape")]);
    let runtime = host.start().await;
    // Module state never outlives a call, instances made ahead included
    // (CPython's large image is reset by copy, not page scan: engine.rs).
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let report = reply_text(&runtime, &format!("/escape {port}"), "U1")
            .await
            .unwrap();
        assert_eq!(report.lines().last(), Some("instance calls: 1"), "{report}");
    }
    let report = reply_text(&runtime, &format!("/escape {port}"), "U1")
        .await
        .unwrap();
    let lines: Vec<&str> = report.lines().collect();
    // Each probe and the error it must get: no preopened directory, an empty
    // environment, TCP and name lookups refused by the host.
    let probes = [
        ("absolute file", "FileNotFoundError"),
        ("relative file", "FileNotFoundError"),
        ("list /", "FileNotFoundError"),
        ("write file", "FileNotFoundError"),
        ("environ", "LookupError: empty: {}"),
        ("getenv PATH", "LookupError: empty: None"),
        ("getenv HOME", "LookupError: empty: None"),
        ("connect", "PermissionError"),
        ("dns", "gaierror"),
    ];
    assert_eq!(lines.len(), probes.len() + 1, "{report}");
    for (line, (probe, error)) in lines.iter().zip(probes) {
        assert!(
            line.starts_with(&format!("{probe}: denied ({error}")),
            "{probe} should have failed with {error}: {line}\n{report}"
        );
    }

    // The kernel completes a handshake without accept(): any connection the
    // guest made is waiting in the backlog now.
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the guest reached the test's listener: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_builds_block_kit_uses_the_store_and_answers_every_handler() {
    let host = TestHost::new("", &[("kit", "py-kit")]);
    let runtime = host.start().await;

    // Block Kit: the modal travels as the section text, so it comes back verbatim.
    let (_, invocation) = runtime
        .invoke(
            "kit",
            Request::Command(CommandRequest {
                command: "/kit".into(),
                subcommand: None,
                text: "blocks".into(),
                context: context("U1"),
            }),
        )
        .await
        .unwrap();
    let Response::Command(Some(reply)) = invocation.response else {
        panic!("{:?}", invocation.response)
    };
    let blocks: Value = serde_json::from_str(reply.message.blocks.as_deref().unwrap()).unwrap();
    let view: Value = serde_json::from_str(blocks[0]["text"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(view, kit_order_modal());

    // Store helpers, and the host clock agreeing with Python's.
    let text = reply_text(&runtime, "/kit store", "U1").await.unwrap();
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        got,
        json!({
            "poll": {"q": "Lunch?", "open": true},
            "missing": {"d": 1},
            "voters": ["U1", "U2"],
            "raw": "bytes",
            "keys": ["voters"],
            "cas_absent": true,
            "cas_again": false,
            "deleted": true,
            "clock_ok": true,
        })
    );
    let stored = runtime
        .storage()
        .kv_get("kit", "voters")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, br#"["U1","U2"]"#);

    // A string answer is an ephemeral reply; botyard.Error reaches the user
    // as the handler's error; any other exception is a crash.
    let usage = reply_text(&runtime, "/kit", "U1").await.unwrap();
    assert_eq!(usage, "usage: /kit blocks|store|fail|crash");
    match reply_text(&runtime, "/kit fail", "U1").await {
        Err(CallError::Invoke(InvokeError::Handler { message, .. })) => {
            assert_eq!(message, "no poll is open")
        }
        other => panic!("{other:?}"),
    }
    match reply_text(&runtime, "/kit crash", "U1").await {
        Err(CallError::Invoke(InvokeError::Crashed { .. })) => {}
        other => panic!("{other:?}"),
    }

    // Handlers the app did not write have defaults.
    let Err(err) = runtime.invoke("kit", click("nope", "U1")).await else {
        panic!("an unknown action should fail")
    };
    assert!(
        err.to_string().contains("no handler for the action `nope`"),
        "{err}"
    );

    // Modal submissions: field errors, then a replacement view.
    check_kit_modal_submissions(&runtime).await;

    // Ticks run; print() and log lines reach the app's log.
    runtime
        .invoke(
            "kit",
            Request::Tick(Tick {
                name: "nightly".into(),
                due_ms: 42,
            }),
        )
        .await
        .unwrap();
    let logs: Vec<String> = runtime
        .recent_logs("kit")
        .into_iter()
        .map(|l| format!("{} {}", l.level, l.message))
        .collect();
    assert!(logs.iter().any(|l| l.ends_with("tick nightly")), "{logs:?}");
    assert!(logs.iter().any(|l| l == "warn due 42"), "{logs:?}");
}
