//! JavaScript guests: built from source with componentize-qjs, run with WASI that grants nothing ambient.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use botyard::build::{BuildError, BuildOptions, build_guest};
use botyard::contract::bindings::types::{ActionResponse, Event, Tick, Visibility};
use botyard::contract::request::{Request, Response};
use botyard::routing::CallError;
use botyard::runtime::invoke::InvokeError;
use serde_json::{Value, json};
use support::requests::{
    check_hello_counts_and_clicks, check_kit_modal_submissions, click, command, hello_blocks,
    kit_order_modal,
};
use support::{TestHost, guest_component, reply_text};
use wit_component::DecodedWasm;

/// The interfaces a built guest imports, by name.
fn imports(guest: &str) -> Vec<String> {
    let bytes = std::fs::read(guest_component(guest)).unwrap();
    let Ok(DecodedWasm::Component(resolve, world)) = wit_component::decode(&bytes) else {
        panic!("{guest} is not a component")
    };
    resolve.worlds[world]
        .imports
        .keys()
        .map(|key| resolve.name_world_key(key))
        .collect()
}

fn build_opts() -> BuildOptions {
    BuildOptions {
        data_dir: Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-build"),
        release: true,
    }
}

/// An app directory `name` under `root` holding `files`.
fn app_dir(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// Builds `dir`, which must fail to compile; returns the compiler's output.
fn compile_error(dir: &Path) -> String {
    match build_guest(dir, &build_opts()) {
        Err(BuildError::Compile { output, .. }) => output,
        Err(other) => panic!("{}: expected a compile error, got {other}", dir.display()),
        Ok(path) => panic!("{} built into {}", dir.display(), path.display()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_builds_from_source_and_answers_like_hello_rust() {
    let host = TestHost::new("", &[("hello", "hello-js")]);
    let runtime = host.start().await;

    let Response::Command(Some(reply)) = command(&runtime, "hello", "world").await else {
        panic!("/hello should reply")
    };
    let text = "Hello, world! You have said hello 1 time(s).";
    assert_eq!(reply.visibility, Visibility::InChannel);
    assert_eq!(reply.message.text, text);
    let blocks: Value = serde_json::from_str(reply.message.blocks.as_deref().unwrap()).unwrap();
    assert_eq!(blocks, hello_blocks(text, "U1"));
    check_hello_counts_and_clicks(&runtime).await;

    match runtime
        .invoke("hello", click("nope", "U1"))
        .await
        .map(|r| r.1)
    {
        Err(CallError::Invoke(InvokeError::Handler { message, .. })) => {
            assert_eq!(message, "unknown action nope")
        }
        other => panic!("an unknown action should be the handler's error: {other:?}"),
    }

    // The same keys as hello-rust, so the starters are interchangeable.
    let storage = runtime.storage();
    assert_eq!(
        storage.kv_get("hello", "calls/U1").await.unwrap().unwrap(),
        b"2"
    );
    assert_eq!(
        storage.kv_get("hello", "clicks/U1").await.unwrap().unwrap(),
        b"2"
    );
    assert_eq!(
        storage.kv_get("hello", "clicks/U2").await.unwrap().unwrap(),
        b"1"
    );

    // The SDK imports every capability; the build keeps only what hello uses,
    // so it needs the same grants as hello-rust.
    let mut botyard: Vec<String> = imports("hello-js")
        .into_iter()
        .filter(|i| i.starts_with("botyard:"))
        .collect();
    botyard.sort();
    assert_eq!(
        botyard,
        ["botyard:app/store@0.1.0", "botyard:app/types@0.1.0"]
    );
}

#[test]
fn build_errors_name_the_file_and_line() {
    let root = tempfile::tempdir().unwrap();

    // A syntax error in a module the entry imports: esbuild's location.
    let dir = app_dir(
        root.path(),
        "broken-bot",
        &[
            (
                "app.js",
                "import { app } from \"botyard\";\nimport { greet } from \"./lib/greet.js\";\n\
                 export const handler = app({ name: \"broken\", onCommand: () => greet() });\n",
            ),
            ("package.json", r#"{"name": "broken-bot"}"#),
        ],
    );
    std::fs::create_dir(dir.join("lib")).unwrap();
    std::fs::write(
        dir.join("lib/greet.js"),
        "// greets\nexport function greet() {\n  return \"hi\" +;\n}\n",
    )
    .unwrap();
    let err = build_guest(&dir, &build_opts()).unwrap_err();
    let BuildError::Compile { app, output } = &err else {
        panic!("expected a compile error, got {err}")
    };
    assert_eq!(app, "broken-bot");
    assert!(output.starts_with("lib/greet.js:3:16: error: "), "{output}");
    assert!(output.contains(" 3 |   return \"hi\" +;"), "{output}");

    // What the sandbox would refuse at run time is refused here, where it is written.
    for (line, import) in [
        ("import { readFileSync } from \"node:fs\";", "node:fs"),
        ("import fs from \"fs\";", "fs"),
        (
            "import { getEnvironment } from \"wasi:cli/environment@0.2.3\";",
            "wasi:cli/environment@0.2.3",
        ),
        (
            "import { get } from \"botyard:app/secrets@0.1.0\";",
            "botyard:app/secrets@0.1.0",
        ),
    ] {
        let name = format!("imports-{}", import.replace([':', '/', '@', '.'], "-"));
        let source = format!("// {import}\n{line}\nexport const handler = {{}};\n");
        let output = compile_error(&app_dir(root.path(), &name, &[("app.js", &source)]));
        let column = line.find('"').unwrap() + 1;
        assert!(
            output.starts_with(&format!("app.js:2:{column}: error: \"{import}\"")),
            "{output}"
        );
        assert!(
            output.contains("sandbox") || output.contains("may import"),
            "{output}"
        );
    }

    let output = compile_error(&app_dir(
        root.path(),
        "no-handler",
        &[("app.js", "export const app = 1;\n")],
    ));
    assert!(
        output.contains("app.js: error: exports no `handler`"),
        "{output}"
    );

    // An exception while the module's top level runs (at build time) is
    // reported at the app's own line, not the bundle's.
    let dir = app_dir(
        root.path(),
        "bad-spec",
        &[(
            "app.js",
            "import { app } from \"botyard\";\n\nconst settings = undefined;\n\
             export const handler = app({ name: settings.name });\n",
        )],
    );
    let output = compile_error(&dir);
    assert!(output.contains("app.js:4:"), "{output}");
    assert!(output.contains("'name' of undefined"), "{output}");
    assert!(!output.contains("bad-spec.bundle.js"), "{output}");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(
        files.len(),
        1,
        "the build must not write into the app: {files:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_read_files_the_environment_or_the_network() {
    // A module the guest will try to import by its absolute host path.
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.mjs");
    std::fs::write(&secret, "export default \"s3cret\";\n").unwrap();

    let host = TestHost::new("", &[("escape", "escape")]);
    let runtime = host.start().await;
    let attempt = async |what: &str| -> Result<Value, CallError> {
        let text = reply_text(&runtime, &format!("/escape {what}"), "U1").await?;
        Ok(serde_json::from_str(&text).unwrap())
    };

    // No API to reach the environment, files or sockets exists in the guest.
    let globals = attempt("globals").await.unwrap();
    for name in [
        "process",
        "require",
        "Deno",
        "WebSocket",
        "XMLHttpRequest",
        "std",
        "os",
    ] {
        assert_eq!(globals["data"][name], "undefined", "{globals}");
    }
    let env = attempt("env").await.unwrap();
    assert!(env["data"].is_null() && env["error"].is_string(), "{env}");

    // fetch exists but has nothing to reach: it throws the reason.
    let fetch = attempt("fetch").await.unwrap();
    assert!(
        fetch["error"]
            .as_str()
            .is_some_and(|e| e.contains("no network access")),
        "{fetch}"
    );

    // A dynamic import is the only JS construct that names a file; the
    // host preopens nothing, so whatever the attempt ends in, it is not the file.
    let file = attempt(&format!("file {}", secret.display())).await;
    assert!(!format!("{file:?}").contains("s3cret"), "{file:?}");

    // What WASI does grant works: random and clocks.
    assert_eq!(attempt("random").await.unwrap(), json!({"data": 4}));
    assert_eq!(attempt("clock").await.unwrap(), json!({"data": true}));

    // Underneath, the component cannot even ask for a socket, HTTP or the environment.
    let imports = imports("escape");
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:cli/stdout")),
        "{imports:?}"
    );
    // (QuickJS's runtime imports wasi:cli/environment; the host's is empty,
    // as `env` above and the Python guest in tests/python.rs show.)
    for denied in ["wasi:sockets", "wasi:http", "botyard:app/"] {
        assert!(
            !imports
                .iter()
                .any(|i| i.starts_with(denied) && i != "botyard:app/types@0.1.0"),
            "escape imports {denied}: {imports:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_builds_block_kit_uses_the_store_and_answers_every_handler() {
    let host = TestHost::new("", &[("kit", "kit")]);
    let runtime = host.start().await;

    let Response::Command(Some(reply)) = command(&runtime, "kit", "blocks").await else {
        panic!("/kit blocks should reply")
    };
    assert_eq!(reply.visibility, Visibility::Ephemeral);
    let blocks: Value = serde_json::from_str(reply.message.blocks.as_deref().unwrap()).unwrap();
    let view: Value = serde_json::from_str(blocks[0]["text"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(view, kit_order_modal());

    let text = reply_text(&runtime, "/kit store", "U1").await.unwrap();
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        got,
        json!({
            "poll": {"q": "Lunch?", "open": true},
            "missing": {"d": 1},
            "voters": ["U1", "U2"],
            "raw": "bytes",
            "utf8": "ÿ ✓ 😀",
            "keys": ["voters"],
            "count": 5,
            "casAbsent": true,
            "casAgain": false,
            "deleted": true,
            "clockOk": true,
        })
    );
    let stored = runtime
        .storage()
        .kv_get("kit", "voters")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, br#"["U1","U2"]"#);
    let stored = runtime
        .storage()
        .kv_get("kit", "utf8")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, "ÿ ✓ 😀".as_bytes(), "the SDK stores text as UTF-8");

    // A string is an ephemeral reply; a thrown error reaches the user as the
    // handler's error, and so does the reason an async handler is refused.
    assert_eq!(
        reply_text(&runtime, "/kit", "U1").await.unwrap(),
        "usage: /kit blocks|store|fail|later|update"
    );
    for (text, error) in [
        ("fail", "no poll is open"),
        ("update", "reply.update(…) answers a click (onAction)"),
        ("later", "handlers are synchronous"),
    ] {
        match reply_text(&runtime, &format!("/kit {text}"), "U1").await {
            Err(CallError::Invoke(InvokeError::Handler { message, .. })) => {
                assert!(message.starts_with(error), "{message}")
            }
            other => panic!("/kit {text}: {other:?}"),
        }
    }

    // Handlers the app did not write answer their defaults.
    let (_, invocation) = runtime.invoke("kit", click("go", "U1")).await.unwrap();
    assert!(
        matches!(invocation.response, Response::Action(ActionResponse::None)),
        "{:?}",
        invocation.response
    );
    let event = Request::Event(Event {
        event_type: "app_mention".into(),
        event_id: "Ev1".into(),
        payload: "{}".into(),
    });
    let (_, invocation) = runtime.invoke("kit", event).await.unwrap();
    assert!(matches!(invocation.response, Response::Done));

    // Modal submissions: field errors, then a replacement view.
    check_kit_modal_submissions(&runtime).await;

    // Ticks arrive with a number; console.log and log.* reach the app's log.
    let tick = Request::Tick(Tick {
        name: "nightly".into(),
        due_ms: 42,
    });
    runtime.invoke("kit", tick).await.unwrap();
    let logs: Vec<String> = runtime
        .recent_logs("kit")
        .into_iter()
        .map(|l| format!("{} {}", l.level, l.message))
        .collect();
    assert!(logs.iter().any(|l| l == "info tick nightly"), "{logs:?}");
    assert!(logs.iter().any(|l| l == "warn due 43"), "{logs:?}");
    assert!(logs.iter().any(|l| l == "error two"), "{logs:?}");
    assert!(logs.iter().any(|l| l == "error lines"), "{logs:?}");
}
