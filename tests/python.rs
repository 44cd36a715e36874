//! Python guests: built from source with componentize-py, run with WASI that grants nothing ambient.

use crate::support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::requests::{
    check_hello_counts_and_clicks, check_kit_modal_submissions, click, context, kit_order_modal,
};
use crate::support::upstream::Upstream;
use crate::support::{TestHost, guest_component, reply_text};
use botyard::build::{BuildError, BuildOptions, build_guest};
use botyard::contract::bindings::types::{ActionResponse, CommandRequest, Event, Tick};
use botyard::contract::request::{Request, Response};
use botyard::routing::{Apps, CallError};
use botyard::runtime::app::LoadError;
use botyard::runtime::invoke::InvokeError;
use botyard::storage::{Delivery, DeliveryStatus};
use serde_json::{Value, json};

/// What `app` answers to `request`, or the error message its handler gave.
async fn handler_answer(runtime: &Apps, app: &str, request: Request) -> Result<Response, String> {
    match runtime.invoke(app, request).await {
        Ok((_, invocation)) => Ok(invocation.response),
        Err(CallError::Invoke(InvokeError::Handler { message, .. })) => Err(message),
        Err(other) => panic!("{app} failed other than by its handler's error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_builds_from_source_and_answers_like_hello_rust() {
    let host = TestHost::new("", &[("hello", "hello-python")]);
    let runtime = host.start().await;

    assert_eq!(
        reply_text(&runtime, "/hello world", "U1").await.unwrap(),
        "Hello, world! You have said hello 1 time(s)."
    );
    check_hello_counts_and_clicks(&runtime).await;

    // A click nobody registered for is an error naming it, as in every SDK.
    assert_eq!(
        handler_answer(&runtime, "hello", click("nope", "U1"))
            .await
            .unwrap_err(),
        "app `hello` has no handler for action `nope`"
    );

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
        "import botyard\nimport helpers\n\napp = botyard.App(\"broken\")\n",
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
        !output.contains("Stack backtrace")
            && !output.contains("sys.exit(script())")
            && !output.contains("_component.py")
            && !output.contains("importlib"),
        "only the Python error, from the app's files: {output}"
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

    // A request nobody registered for is an error that names it.
    assert_eq!(
        handler_answer(&runtime, "kit", click("nope", "U1"))
            .await
            .unwrap_err(),
        "app `py-kit` has no handler for action `nope`"
    );
    assert_eq!(
        handler_answer(&runtime, "kit", tick("later", 1))
            .await
            .unwrap_err(),
        "app `py-kit` has no handler for tick `later`"
    );
    assert_eq!(
        handler_answer(&runtime, "kit", event("reaction_added", json!({})))
            .await
            .unwrap_err(),
        "app `py-kit` has no handler for event `reaction_added`"
    );

    // Ids match exactly, else by the longest `*` prefix.
    for (id, expected) in [
        ("vote:1", "prefix vote:* took vote:1"),
        ("vote:xy", "prefix vote:x* took vote:xy"),
        ("vote:x", "prefix vote:x* took vote:x"),
        ("vote:closed", "prefix vote:* took vote:closed"),
    ] {
        match handler_answer(&runtime, "kit", click(id, "U1")).await {
            Ok(Response::Action(ActionResponse::Reply(reply))) => {
                assert_eq!(reply.message.text, expected, "{id}")
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    match handler_answer(&runtime, "kit", click("vote:close", "U1")).await {
        Ok(Response::Action(ActionResponse::Update(message))) => {
            assert_eq!(message.text, "closed")
        }
        other => panic!("the exact registration wins: {other:?}"),
    }

    // `/pykit status` is a subcommand of the umbrella `/pykit`.
    assert_eq!(
        reply_text(&runtime, "/pykit status now", "U1")
            .await
            .unwrap(),
        "status now"
    );

    // Modal submissions: field errors, then a replacement view.
    check_kit_modal_submissions(&runtime).await;

    // A closed modal arrives (today) as the event `view_closed`, and goes to
    // the view_closed handler of its callback id.
    let closed = json!({"user_id": "U2", "view_id": "V9", "callback_id": "order",
                        "private_metadata": "m", "values": {}, "is_cleared": false});
    handler_answer(&runtime, "kit", event("view_closed", closed))
        .await
        .unwrap();
    let other = json!({"user_id": "U2", "view_id": "V9", "callback_id": "survey"});
    assert_eq!(
        handler_answer(&runtime, "kit", event("view_closed", other))
            .await
            .unwrap_err(),
        "app `py-kit` has no handler for view_closed `survey`"
    );

    // Ticks (a schedule's and one-offs by prefix) and events run; print()
    // and log lines reach the app's log.
    for request in [
        tick("nightly", 42),
        tick("remind:U1", 7),
        event("app_mention", json!({"text": "hi kit"})),
    ] {
        handler_answer(&runtime, "kit", request).await.unwrap();
    }
    let logs: Vec<String> = runtime
        .recent_logs("kit")
        .into_iter()
        .map(|l| format!("{} {}", l.level, l.message))
        .collect();
    for line in [
        "info tick nightly",
        "warn due 42",
        "info remind remind:U1",
        "info mentioned: hi kit",
        "info closed V9 by U2 cleared=False",
    ] {
        assert!(logs.iter().any(|l| l == line), "{line:?} in {logs:?}");
    }
}

fn tick(name: &str, due_ms: u64) -> Request {
    Request::Tick(Tick {
        name: name.into(),
        due_ms,
    })
}

fn event(event_type: &str, payload: Value) -> Request {
    Request::Event(Event {
        event_type: event_type.into(),
        event_id: format!("Ev-{event_type}"),
        payload: payload.to_string(),
    })
}

/// The botyard interfaces a component imports and those it exports (without
/// versions), each sorted.
fn botyard_imports_and_exports(component: &Path) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(component).unwrap();
    let wit_component::DecodedWasm::Component(resolve, world) =
        wit_component::decode(&bytes).unwrap()
    else {
        panic!("{} is not a component", component.display())
    };
    let world = &resolve.worlds[world];
    let botyard = |keys: Vec<&wit_parser::WorldKey>| -> Vec<String> {
        let mut names: Vec<String> = keys
            .into_iter()
            .map(|k| resolve.name_world_key(k))
            .filter(|n| n.starts_with("botyard:"))
            .map(|n| n.split('@').next().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    (
        botyard(world.imports.keys().collect()),
        botyard(world.exports.keys().collect()),
    )
}

#[test]
fn a_component_imports_only_the_capabilities_its_code_uses() {
    // `types` has no functions: it comes with the handler and needs no grant.
    for (guest, expected) in [
        ("hello-python", &["store", "types"][..]),
        ("py-escape", &["types"][..]),
        ("py-kit", &["clock", "log", "store", "types"][..]),
        // Nothing of Slack: only what /pyfetch, /pygreet and the webhook call.
        ("py-fetcher", &["http", "settings", "store", "types"][..]),
    ] {
        let (imports, exports) = botyard_imports_and_exports(&guest_component(guest));
        let expected: Vec<String> = expected
            .iter()
            .map(|i| format!("botyard:app/{i}"))
            .collect();
        assert_eq!(imports, expected, "{guest}");
        assert_eq!(
            exports,
            [
                "botyard:app/handler",
                "botyard:app/phrases",
                "botyard:app/settings-schema",
                "botyard:app/shortcuts",
                "botyard:app/webhooks"
            ],
            "{guest} exports the handler and every optional trigger"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_needs_only_the_grants_its_code_uses() {
    let config = "[apps.hello]\ngrants = [\"store\"]\n[apps.escape]\ngrants = []\n";
    let host = TestHost::new(
        config,
        &[("hello", "hello-python"), ("escape", "py-escape")],
    );
    let runtime = host.start().await;
    assert_eq!(
        reply_text(&runtime, "/hello", "U1").await.unwrap(),
        "Hello, <@U1>! You have said hello 1 time(s)."
    );
    check_hello_counts_and_clicks(&runtime).await;
    assert!(
        runtime.snapshot().app("escape").is_some(),
        "an app that uses no capability loads with no grant"
    );

    // The store import is real: without the grant, the starter is refused.
    let host = TestHost::new(
        "[apps.hello]\ngrants = [\"log\"]\n",
        &[("hello", "hello-python")],
    );
    let runtime = host.start().await;
    match runtime.reload("hello").await {
        Err(LoadError::NotGranted { interface, .. }) => {
            assert!(interface.starts_with("botyard:app/store"), "{interface}")
        }
        other => panic!("hello-python without `store` must be refused: {other:?}"),
    }
}

/// Builds the app whose only file is `app_py` and returns the build's error.
fn build_error(name: &str, app_py: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join(name);
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("app.py"), app_py).unwrap();
    let opts = BuildOptions {
        data_dir: support::shared_build_dir(),
        release: true,
    };
    match build_guest(&app, &opts) {
        Err(BuildError::Compile { output, .. }) => output,
        Err(other) => panic!("{name}: expected a compile error, got {other}"),
        Ok(path) => panic!("{name}: built {}", path.display()),
    }
}

#[test]
fn the_build_finds_the_one_app_and_refuses_duplicate_registrations() {
    assert_eq!(
        build_error(
            "no-app",
            "import botyard\n\nclass Handler(botyard.App):\n    name = \"old\"\n"
        ),
        "app.py defines no botyard App (a class deriving from botyard.App is the old style: \
         make an instance instead and register its handlers with decorators): create one at \
         module level, `app = App(\"name\", \"what it does\")`, and register handlers on it, \
         `@app.command(\"/name\", \"Do it\")` (see examples/hello-python)"
    );
    assert_eq!(
        build_error(
            "two-apps",
            "from botyard import App\n\napp = bot = App(\"one\")\nother = App(\"two\")\n"
        ),
        "app.py defines 2 botyard Apps, `app = bot` (one), `other` (two); a component serves \
         exactly one: keep one at module level (build the others as apps of their own)"
    );
    let twice = "from botyard import App\n\napp = App(\"dup\")\n\n\
                 @app.action(\"count\")\ndef count(request):\n    pass\n\n\
                 @app.action(\"count\")\ndef count_again(request):\n    pass\n";
    assert_eq!(
        build_error("dup", twice),
        "app `dup`: action `count` is registered 2 times (@app.action(\"count\") on count, \
         @app.action(\"count\") on count_again)"
    );
}

/// The toolchain's Python, in the venv the builds install (README: `<build-dir>/toolchains/python`).
fn toolchain_bin(program: &str) -> PathBuf {
    // Building any Python guest installs the toolchain first.
    guest_component("py-escape");
    support::shared_build_dir()
        .join("toolchains/python/bin")
        .join(program)
}

/// Python bindings for botyard's world `world` (with `extra` WIT beside it), in a new directory.
fn bindings(world: &str, extra: Option<&str>) -> tempfile::TempDir {
    let wit = tempfile::tempdir().unwrap();
    std::fs::write(wit.path().join("botyard.wit"), botyard::build::BOTYARD_WIT).unwrap();
    if let Some(extra) = extra {
        std::fs::write(wit.path().join("extra.wit"), extra).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(toolchain_bin("componentize-py"))
        .arg("-d")
        .arg(wit.path())
        .args(["-w", world, "bindings"])
        .arg(out.path())
        .env_remove("PYTHONPATH")
        .status()
        .unwrap();
    assert!(status.success(), "componentize-py bindings for {world}");
    out
}

#[test]
fn the_sdk_router_and_the_capability_scan_pass_their_python_tests() {
    let full = bindings("app-with-triggers", None);
    // No capability at all, as for an app whose code uses none.
    let bare = bindings(
        "bare",
        Some(
            "package botyard:app@0.1.0;\nworld bare {\n    export handler;\n    export shortcuts;\n    \
             export webhooks;\n    export settings-schema;\n    export phrases;\n}\n",
        ),
    );
    let python = support::repo_root().join("guests/python");
    let path = std::env::join_paths([full.path(), &python, &python.join("tools")]).unwrap();
    let out = Command::new(toolchain_bin("python"))
        .args(["-m", "unittest", "discover", "-v", "-s"])
        .arg(python.join("tests"))
        .arg("-t")
        .arg(&python)
        .env("PYTHONPATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1") // nothing written into the sources
        .env("BOTYARD_BARE_BINDINGS", bare.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    let ran: usize = report
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no unittest summary:\n{report}"));
    assert!(ran >= 30, "only {ran} tests ran:\n{report}");
}

/// `botyard.toml` for py-fetcher as app `fetcher`: granted `http`,
/// `settings` and `store`, allowed to reach `allowed`, then `extra`.
fn fetcher_config(allowed: &Upstream, extra: &str) -> String {
    format!(
        "[apps.fetcher]\ngrants = [\"http\", \"settings\", \"store\"]\n\
         [[apps.fetcher.http.allow]]\nurl = \"{}/\"\n{extra}",
        allowed.url()
    )
}

/// py-fetcher's answer to `/pyfetch <line>`, as JSON.
async fn pyfetch(runtime: &Apps, line: &str) -> Value {
    let text = reply_text(runtime, &format!("/pyfetch {line}"), "U1")
        .await
        .unwrap_or_else(|e| panic!("/pyfetch {line}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_reaches_what_the_operator_allows_and_reads_its_settings() {
    let up = Upstream::start("127.0.0.1").await;
    let elsewhere = Upstream::start("127.0.0.1").await;
    let host = TestHost::new(&fetcher_config(&up, ""), &[("fetcher", "py-fetcher")]);
    let runtime = host.start().await;

    assert_eq!(
        pyfetch(&runtime, &format!("GET {}/hello", up.url())).await,
        json!({"status": 200, "body": "hello", "url": format!("{}/hello", up.url())})
    );
    assert_eq!(
        pyfetch(&runtime, &format!("POST {}/echo lunch at noon", up.url())).await,
        json!({"status": 200, "body": "lunch at noon", "url": format!("{}/echo", up.url())})
    );

    // Not on the list: `http.NotAllowed`, with the host's message naming the
    // rule to add; no connection was made.
    let refused = pyfetch(&runtime, &format!("GET {}/x", elsewhere.url())).await;
    let error = refused["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {refused}"));
    assert!(
        error.starts_with(&format!(
            "NotAllowed: {}/x is not in app `fetcher`'s allow-list",
            elsewhere.url()
        )) && error.ends_with(&format!(
            "[[apps.fetcher.http.allow]] url = \"{}/\"",
            elsewhere.url()
        )),
        "{error}"
    );
    assert_eq!(elsewhere.requests(), 0);

    // A declared setting: its default, until the operator sets it.
    assert_eq!(reply_text(&runtime, "/pygreet", "U1").await.unwrap(), "hi");
    let host = TestHost::new(
        &fetcher_config(&up, "[apps.fetcher.settings]\ngreeting = \"bonjour\"\n"),
        &[("fetcher", "py-fetcher")],
    );
    let runtime = host.start().await;
    assert_eq!(
        reply_text(&runtime, "/pygreet", "U1").await.unwrap(),
        "bonjour"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_webhook_stores_its_delivery_and_a_failing_one_is_retried() {
    const TOKEN: &str = "py-ping-token";
    // SAFETY: a variable only this test reads, always set to the same value.
    unsafe { std::env::set_var("BOTYARD_TEST_PY_PING_TOKEN", TOKEN) };
    let up = Upstream::start("127.0.0.1").await;
    let webhook = "[apps.fetcher.webhooks.ping]\nverify = \"bearer\"\n\
                   token = \"${env:BOTYARD_TEST_PY_PING_TOKEN}\"\n\
                   attempts = 3\nretry_after_ms = 50\n";
    let dir = TestHost::new(&fetcher_config(&up, webhook), &[("fetcher", "py-fetcher")]);
    let host = dir.builder().webhooks().start().await.unwrap();
    let (base, server) = support::serve_webhooks(&host).await;
    let url = format!("{base}/hooks/fetcher/ping");
    let storage = host.apps().storage();
    let post = async |body: &str, token: &str| -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(&url)
            .bearer_auth(token)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    };
    // Waits until delivery `id` is done or dead.
    let settled = async |id: i64| -> Delivery {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let d = storage.webhooks.delivery(id).await.unwrap().unwrap();
            if d.status != DeliveryStatus::Pending {
                return d;
            }
            assert!(Instant::now() < deadline, "delivery never settled: {d:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };

    // Another token is refused before anything is kept.
    let (status, answer) = post("hello", "wrong").await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        storage
            .webhooks
            .deliveries(None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Accepted once recorded; the handler stores the body under the delivery's id.
    let (status, answer) = post("hello from a test", TOKEN).await;
    assert_eq!(status, 202, "{answer}");
    let done = settled(answer["delivery"].as_i64().unwrap()).await;
    assert_eq!(
        (done.status, done.attempts),
        (DeliveryStatus::Done, 1),
        "{done:?}"
    );
    let stored = storage
        .kv_get("fetcher", &format!("ping/{}", done.delivery_id))
        .await
        .unwrap();
    assert_eq!(stored.as_deref(), Some(&b"hello from a test"[..]));

    // An exception asks the host to try again, until the delivery is dead.
    let (status, answer) = post("fail", TOKEN).await;
    assert_eq!(status, 202, "{answer}");
    let dead = settled(answer["delivery"].as_i64().unwrap()).await;
    assert_eq!(
        (dead.status, dead.attempts),
        (DeliveryStatus::Dead, 3),
        "{dead:?}"
    );
    assert_eq!(
        dead.last_error.as_deref(),
        Some("app `fetcher` answered with an error: RuntimeError: failing on purpose"),
        "{dead:?}"
    );
    // (Its traceback went to the app's log first.)
    let logs: Vec<String> = host
        .apps()
        .recent_logs("fetcher")
        .into_iter()
        .map(|l| format!("{} {}", l.level, l.message))
        .collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("RuntimeError: failing on purpose")),
        "{logs:?}"
    );
    assert_eq!(
        storage
            .kv_get("fetcher", &format!("ping/{}", dead.delivery_id))
            .await
            .unwrap(),
        None
    );
    server.abort();
}
