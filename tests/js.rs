//! JavaScript guests: built from source with componentize-qjs, run with WASI that grants nothing ambient.

use crate::support;

use std::path::{Path, PathBuf};

use crate::support::requests::{
    check_hello_counts_and_clicks, check_kit_modal_submissions, click, command, context,
    hello_blocks, kit_order_modal,
};
use crate::support::{TestHost, guest_component, reply_text};
use botyard::build::{BuildError, BuildOptions, build_guest};
use botyard::contract::bindings::types::{
    ActionResponse, CommandRequest, Event, Tick, ViewResponse, ViewSubmission, Visibility,
};
use botyard::contract::request::{Request, Response};
use botyard::routing::{Apps, CallError};
use botyard::runtime::invoke::InvokeError;
use serde_json::{Value, json};
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
            assert_eq!(message, "app `hello` has no handler for action `nope`")
        }
        other => panic!("an unknown action should be the SDK's error: {other:?}"),
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
                "import { App } from \"botyard\";\nimport { greet } from \"./lib/greet.js\";\n\
                 export default new App(\"broken\").command(\"/broken\", () => greet());\n",
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
        let source = format!(
            "// {import}\n{line}\nimport {{ App }} from \"botyard\";\nexport default new App(\"x\");\n"
        );
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

    // The module must end `export default app`; what it exports instead is named.
    for (name, source, why) in [
        (
            "no-default",
            "import { App } from \"botyard\";\nexport const app = new App(\"x\");\n",
            "app.js: error: it has no default export.",
        ),
        (
            "old-style",
            "import { reply } from \"botyard\";\nexport const handler = { onCommand: () => reply.ephemeral(\"hi\") };\n",
            "app.js: error: it exports `handler`, the style before App;",
        ),
        (
            "not-an-app",
            "export default { command() {} };\n",
            "app.js: error: its default export is a plain object, not an App.",
        ),
    ] {
        let output = compile_error(&app_dir(root.path(), name, &[("app.js", source)]));
        assert!(output.starts_with(why), "{name}: {output}");
        assert!(output.contains("`export default app`"), "{name}: {output}");
    }

    // Registering an id twice fails the build at the second registration,
    // naming the first; one line per duplicate.
    let output = compile_error(&app_dir(
        root.path(),
        "twice",
        &[(
            "app.js",
            "import { App } from \"botyard\";\n\
             const app = new App(\"twice\");\n\
             app.action(\"vote:*\", () => {});\n\
             app.command(\"/spy status\", () => \"ok\");\n\
             app.action(\"vote:*\", () => {});\n\
             app.command(\"/spy status\", \"again\", () => \"ok\");\n\
             export default app;\n",
        )],
    ));
    assert_eq!(
        output.lines().collect::<Vec<_>>(),
        [
            "app.js:5:5: error: app `twice` registers action `vote:*` twice; the first is at app.js:3:5",
            "app.js:6:5: error: app `twice` registers command `/spy status` twice; the first is at app.js:4:5",
        ],
        "{output}"
    );

    // A registration the SDK cannot make is refused at its line.
    let output = compile_error(&app_dir(
        root.path(),
        "bad-command",
        &[(
            "app.js",
            "import { App } from \"botyard\";\n\
             const app = new App(\"bad\");\n\
             \n\
             app.command(\"hello\", () => \"hi\");\n\
             export default app;\n",
        )],
    ));
    assert!(
        output.starts_with("Error: app.command(\"hello\"): a command is \"/name\""),
        "{output}"
    );
    assert!(output.contains("(app.js:4:5)"), "{output}");
    assert!(
        !output.contains("botyard.js"),
        "the SDK's own frames are left out: {output}"
    );

    // Capabilities answer only while a handler runs, not at the top level
    // (which runs at build time).
    for (name, call, expected) in [
        (
            "top-store",
            "store.set(\"k\", \"v\");",
            "app.js: error: the module's top level calls store.set, but",
        ),
        (
            "top-console",
            "console.log(\"starting\");",
            "app.js: error: the module's top level calls log.write (console.* writes through it), but",
        ),
    ] {
        let source = format!(
            "import {{ App, store }} from \"botyard\";\nconst app = new App(\"x\");\n{call}\nexport default app;\n"
        );
        let output = compile_error(&app_dir(root.path(), name, &[("app.js", &source)]));
        assert!(output.starts_with(expected), "{name}: {output}");
        assert!(
            output.ends_with("move the call into a handler"),
            "{name}: {output}"
        );
    }

    // An exception while the module's top level runs (at build time) is
    // reported at the app's own line, not the bundle's.
    let dir = app_dir(
        root.path(),
        "bad-spec",
        &[(
            "app.js",
            "import { App } from \"botyard\";\n\nconst settings = undefined;\n\
             export default new App(settings.name);\n",
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
        ("update", "reply.update(…) answers a click (app.action)"),
        ("later", "handlers are synchronous"),
    ] {
        match reply_text(&runtime, &format!("/kit {text}"), "U1").await {
            Err(CallError::Invoke(InvokeError::Handler { message, .. })) => {
                assert!(message.starts_with(error), "{message}")
            }
            other => panic!("/kit {text}: {other:?}"),
        }
    }

    // The subcommand has its own registration, answering the same.
    assert_eq!(
        reply_text(&runtime, "/tools kit", "U1").await.unwrap(),
        "usage: /kit blocks|store|fail|later|update"
    );

    // Requests for what the app registered no handler for are errors naming them.
    let event = Request::Event(Event {
        event_type: "app_mention".into(),
        event_id: "Ev1".into(),
        payload: "{}".into(),
    });
    for (request, error) in [
        (
            click("go", "U1"),
            "app `kit` has no handler for action `go`",
        ),
        (event, "app `kit` has no handler for event `app_mention`"),
    ] {
        assert_eq!(handler_error(&runtime, "kit", request).await, error);
    }

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

/// The error app `app`'s handler answers `request` with.
async fn handler_error(runtime: &Apps, app: &str, request: Request) -> String {
    match runtime.invoke(app, request).await.map(|r| r.1.response) {
        Err(CallError::Invoke(InvokeError::Handler { message, .. })) => message,
        other => panic!("expected {app}'s handler to answer an error: {other:?}"),
    }
}

/// The text of the reply `request` gets from app `app`.
async fn reply_to(runtime: &Apps, app: &str, request: Request) -> String {
    match runtime.invoke(app, request).await.unwrap().1.response {
        Response::Command(Some(reply)) => reply.message.text,
        Response::Action(ActionResponse::Reply(reply)) => reply.message.text,
        other => panic!("expected a reply: {other:?}"),
    }
}

/// What the `routes` guest stored of the last request that reached a handler
/// answering nothing: `{route, request}`.
async fn last_recorded(runtime: &Apps) -> Value {
    let stored = runtime.storage().kv_get("routes", "last").await.unwrap();
    serde_json::from_slice(&stored.expect("a handler recorded its request")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_route_requests_and_derive_describe() {
    let host = TestHost::new("", &[("routes", "routes")]);
    let runtime = host.start().await;

    // describe, as the host loaded it: derived from the registrations.
    let snapshot = runtime.snapshot();
    let info = &snapshot.apps["routes"]
        .current
        .as_ref()
        .expect("routes loaded")
        .description
        .info;
    assert_eq!(
        (info.name.as_str(), info.description.as_str()),
        ("routes", "Router checks")
    );
    let commands: Vec<_> = info
        .commands
        .iter()
        .map(|c| (c.name.as_str(), c.description.as_str(), c.usage.as_str()))
        .collect();
    assert_eq!(commands, [("/routes", "Top", "[x]")]);
    let subcommands: Vec<_> = info
        .subcommands
        .iter()
        .map(|s| {
            (
                s.umbrella.as_str(),
                s.name.as_str(),
                s.description.as_str(),
                s.usage.as_str(),
            )
        })
        .collect();
    assert_eq!(
        subcommands,
        [
            ("/spy", "status", "Queue status", ""),
            ("/spy", "stores", "", "[shop]")
        ]
    );
    assert_eq!(info.events, ["app_mention", "view_closed"]);
    let schedules: Vec<_> = info
        .schedules
        .iter()
        .map(|s| (s.name.as_str(), s.cron.as_str()))
        .collect();
    assert_eq!(schedules, [("nightly", "0 3 * * *")]);

    // Commands and umbrella subcommands, as Slack's text arrives.
    for (line, expected) in [
        ("/routes a b", "/routes: a b"),
        ("/spy status chat", "/spy status: chat"),
        ("/spy stores", "/spy stores: "),
    ] {
        assert_eq!(reply_text(&runtime, line, "U1").await.unwrap(), expected);
    }

    // Actions: an exact id beats a prefix; the longest prefix wins.
    for (action_id, route) in [
        ("count", "count"),
        ("vote:1", "vote:*"),
        ("vote:special", "vote:special"),
        ("vote:long:2", "vote:long:*"),
        ("vote:", "vote:*"),
    ] {
        assert_eq!(
            reply_to(&runtime, "routes", click(action_id, "U1")).await,
            format!("{route}: {action_id}")
        );
    }

    // Views: exact, then by prefix.
    let submit = |callback_id: &str| {
        Request::ViewSubmission(ViewSubmission {
            callback_id: callback_id.into(),
            view_id: "V1".into(),
            values: "{}".into(),
            private_metadata: String::new(),
            context: context("U1"),
        })
    };
    for (callback_id, expected) in [("order", "order"), ("order:7", "order:* order:7")] {
        let (_, invocation) = runtime.invoke("routes", submit(callback_id)).await.unwrap();
        let Response::ViewSubmission(ViewResponse::Errors(errors)) = invocation.response else {
            panic!("{callback_id}: {:?}", invocation.response)
        };
        assert_eq!(errors[0].message, expected);
    }

    // A closed view arrives as the event `view_closed`, as the host sends it.
    let event = |event_type: &str, payload: Value| {
        Request::Event(Event {
            event_type: event_type.into(),
            event_id: "Ev1".into(),
            payload: payload.to_string(),
        })
    };
    let closed = json!({
        "user_id": "U2", "view_id": "V3", "callback_id": "order", "private_metadata": "m",
        "values": {"b": {"a": {"type": "plain_text_input", "value": "typed"}}}, "is_cleared": false,
    });
    runtime
        .invoke("routes", event("view_closed", closed))
        .await
        .unwrap();
    assert_eq!(
        last_recorded(&runtime).await,
        json!({"route": "closed order", "request": {
            "callbackId": "order", "viewId": "V3", "privateMetadata": "m", "isCleared": false,
            "values": r#"{"b":{"a":{"type":"plain_text_input","value":"typed"}}}"#,
            "context": {"userId": "U2", "channelId": "", "triggerId": null},
        }})
    );

    runtime
        .invoke("routes", event("app_mention", json!({"text": "hi"})))
        .await
        .unwrap();
    let last = last_recorded(&runtime).await;
    assert_eq!(last["route"], "app_mention");
    assert_eq!(last["request"]["data"], json!({"text": "hi"}));

    // Ticks: a schedule by its name, `schedule.once` names by prefix.
    for (name, route) in [("nightly", "nightly"), ("close:poll-1", "close:*")] {
        let tick = Request::Tick(Tick {
            name: name.into(),
            due_ms: 7,
        });
        runtime.invoke("routes", tick).await.unwrap();
        assert_eq!(
            last_recorded(&runtime).await,
            json!({"route": route, "request": {"name": name, "dueMs": 7}})
        );
    }

    // Anything else is an error naming it.
    let tick = Request::Tick(Tick {
        name: "later".into(),
        due_ms: 1,
    });
    let command = Request::Command(CommandRequest {
        command: "/spy".into(),
        subcommand: Some("servers".into()),
        text: String::new(),
        context: context("U1"),
    });
    for (request, error) in [
        (command, "command `/spy servers`"),
        (click("colour", "U1"), "action `colour`"),
        (click("vote", "U1"), "action `vote`"),
        (submit("poll"), "view `poll`"),
        (
            event("view_closed", json!({"callback_id": "order:1"})),
            "view_closed `order:1`",
        ),
        (event("reaction_added", json!({})), "event `reaction_added`"),
        (tick, "tick `later`"),
    ] {
        assert_eq!(
            handler_error(&runtime, "routes", request).await,
            format!("app `routes` has no handler for {error}")
        );
    }
}

/// Calls a component's `shortcuts` export the way a host that knows the
/// trigger does (the host links it separately): a plain wasmtime embedding of
/// world `app-with-triggers` with WASI that grants nothing and an in-memory `store`.
mod triggers {
    use std::collections::BTreeMap;

    use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
    use wasmtime::{Engine, Store};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    wasmtime::component::bindgen!({
        world: "app-with-triggers",
        path: "../wit",
        additional_derives: [PartialEq],
    });

    use self::botyard::app::store::StoreError;
    pub use self::botyard::app::types::{InvocationContext, MessageRef};
    pub use self::exports::botyard::app::settings_schema::SettingSpec;
    pub use self::exports::botyard::app::shortcuts::{
        ShortcutKind, ShortcutMessage, ShortcutRequest, ShortcutSpec,
    };
    pub use self::exports::botyard::app::webhooks::{WebhookRequest, WebhookSpec};

    pub struct Guest {
        wasi: WasiCtx,
        table: ResourceTable,
        pub kv: BTreeMap<String, Vec<u8>>,
    }

    impl WasiView for Guest {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    impl self::botyard::app::types::Host for Guest {}

    impl self::botyard::app::store::Host for Guest {
        fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self.kv.get(&key).cloned())
        }
        fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
            self.kv.insert(key, value);
            Ok(())
        }
        fn delete(&mut self, key: String) -> Result<bool, StoreError> {
            Ok(self.kv.remove(&key).is_some())
        }
        fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, StoreError> {
            Ok(self
                .kv
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .take(limit as usize)
                .cloned()
                .collect())
        }
        fn increment(&mut self, key: String, delta: i64) -> Result<i64, StoreError> {
            let old = match self.kv.get(&key) {
                Some(v) => std::str::from_utf8(v)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or(StoreError::NotANumber)?,
                None => 0,
            };
            self.kv.insert(key, (old + delta).to_string().into_bytes());
            Ok(old + delta)
        }
        fn compare_and_swap(
            &mut self,
            key: String,
            expected: Option<Vec<u8>>,
            new: Option<Vec<u8>>,
        ) -> Result<bool, StoreError> {
            if self.kv.get(&key) != expected.as_ref() {
                return Ok(false);
            }
            match new {
                Some(value) => self.kv.insert(key, value),
                None => self.kv.remove(&key),
            };
            Ok(true)
        }
    }

    /// A fresh instance of the component at `path`.
    pub fn instantiate(path: &std::path::Path) -> (Store<Guest>, AppWithTriggers) {
        let engine = Engine::default();
        let component = Component::from_file(&engine, path).unwrap();
        let mut linker = Linker::new(&engine);
        self::botyard::app::store::add_to_linker::<Guest, HasSelf<Guest>>(&mut linker, |g| g)
            .unwrap();
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        let guest = Guest {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            kv: BTreeMap::new(),
        };
        let mut store = Store::new(&engine, guest);
        let app = AppWithTriggers::instantiate(&mut store, &component, &linker).unwrap();
        (store, app)
    }
}

#[test]
fn a_shortcut_reaches_its_handler_through_the_component_export() {
    use triggers::{
        InvocationContext, MessageRef, ShortcutKind, ShortcutMessage, ShortcutRequest, ShortcutSpec,
    };

    let (mut store, app) = triggers::instantiate(&guest_component("routes"));
    let shortcuts = app.botyard_app_shortcuts();
    let offered: Vec<_> = shortcuts
        .call_describe_shortcuts(&mut store)
        .unwrap()
        .into_iter()
        .map(|s: ShortcutSpec| (s.callback_id, s.kind, s.name, s.description))
        .collect();
    assert_eq!(
        offered,
        [
            (
                "triage".to_string(),
                ShortcutKind::Message,
                "Send to a team".to_string(),
                "Forward it to a -help channel".to_string()
            ),
            (
                "new-poll".to_string(),
                ShortcutKind::Global,
                "New poll".to_string(),
                String::new()
            ),
        ]
    );
    // The same component still answers the handler interface.
    let info = app.botyard_app_handler().call_describe(&mut store).unwrap();
    assert_eq!(info.name, "routes");

    let request = |callback_id: &str, message: Option<ShortcutMessage>| ShortcutRequest {
        callback_id: callback_id.into(),
        kind: if message.is_some() {
            ShortcutKind::Message
        } else {
            ShortcutKind::Global
        },
        message,
        context: InvocationContext {
            user_id: "U1".into(),
            channel_id: "C1".into(),
            trigger_id: Some("T1".into()),
        },
    };
    let on_message = ShortcutMessage {
        target: MessageRef {
            channel: "C1".into(),
            ts: "1.5".into(),
        },
        user: "U3".into(),
        text: "where is my order?".into(),
    };
    shortcuts
        .call_on_shortcut(&mut store, &request("triage", Some(on_message)))
        .unwrap()
        .unwrap();
    let last: Value = serde_json::from_slice(&store.data().kv["last"]).unwrap();
    assert_eq!(
        last,
        json!({"route": "triage", "request": {
            "callbackId": "triage", "kind": "message",
            "message": {"target": {"channel": "C1", "ts": "1.5"}, "user": "U3", "text": "where is my order?"},
            "context": {"userId": "U1", "channelId": "C1", "triggerId": "T1"},
        }})
    );

    shortcuts
        .call_on_shortcut(&mut store, &request("new-poll", None))
        .unwrap()
        .unwrap();
    let last: Value = serde_json::from_slice(&store.data().kv["last"]).unwrap();
    assert_eq!(last["route"], "new-poll");
    assert_eq!(last["request"]["kind"], "global");
    assert_eq!(last["request"]["message"], Value::Null);

    let error = shortcuts
        .call_on_shortcut(&mut store, &request("nope", None))
        .unwrap()
        .unwrap_err();
    assert_eq!(error, "app `routes` has no handler for shortcut `nope`");
}

#[test]
fn webhooks_and_settings_reach_the_app_through_the_component_exports() {
    use triggers::{SettingSpec, WebhookRequest, WebhookSpec};

    let (mut store, app) = triggers::instantiate(&guest_component("routes"));
    let webhooks = app.botyard_app_webhooks();
    assert_eq!(
        webhooks.call_describe_webhooks(&mut store).unwrap(),
        [
            WebhookSpec {
                name: "github".into(),
                description: "Pushes and PRs".into()
            },
            WebhookSpec {
                name: "alerts".into(),
                description: String::new()
            },
        ]
    );
    assert_eq!(
        app.botyard_app_settings_schema()
            .call_describe_settings(&mut store)
            .unwrap(),
        [
            SettingSpec {
                name: "channel".into(),
                description: "Where to post".into(),
                default: Some("C0ROUTES".into()),
                required: false,
            },
            SettingSpec {
                name: "approver".into(),
                description: "Who approves".into(),
                default: None,
                required: false,
            },
        ]
    );

    let delivery = |name: &str, attempt: u32| WebhookRequest {
        name: name.into(),
        delivery_id: "d-7".into(),
        attempt,
        content_type: "application/json".into(),
        headers: vec![("X-GitHub-Event".into(), "push".into())],
        body: r#"{"sender": {"login": "ada"}, "note": "ÿ ✓"}"#.as_bytes().to_vec(),
    };
    // A thrown error is the WIT's `err`: the host tries again later.
    assert_eq!(
        webhooks
            .call_on_webhook(&mut store, &delivery("github", 1))
            .unwrap(),
        Err("try again (attempt 1)".into())
    );
    webhooks
        .call_on_webhook(&mut store, &delivery("github", 2))
        .unwrap()
        .unwrap();
    let last: Value = serde_json::from_slice(&store.data().kv["last"]).unwrap();
    assert_eq!(
        last,
        json!({"route": "github", "request": {
            "name": "github", "deliveryId": "d-7", "attempt": 2, "contentType": "application/json",
            "headers": [["X-GitHub-Event", "push"]], "event": "push",
            "text": r#"{"sender": {"login": "ada"}, "note": "ÿ ✓"}"#, "login": "ada",
        }})
    );
    assert_eq!(
        webhooks
            .call_on_webhook(&mut store, &delivery("gitlab", 1))
            .unwrap(),
        Err("app `routes` has no handler for webhook `gitlab`".into())
    );
}

/// A local HTTP server answering every request with 201, `x-echo: yes` and
/// what it received as JSON; its address.
async fn echo_server() -> std::net::SocketAddr {
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    let echo = |method: Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| async move {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let seen = json!({
            "method": method.as_str(),
            "path": uri.path(),
            "query": uri.query(),
            "x_app_header": header("x-app-header"),
            "content_type": header("content-type"),
            "body": String::from_utf8_lossy(&body),
        });
        (
            StatusCode::CREATED,
            [("x-echo", "yes"), ("content-type", "application/json")],
            seen.to_string(),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(echo))
            .await
            .unwrap()
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_reaches_what_the_operator_allows_and_nothing_else() {
    let server = echo_server().await;
    let config = format!(
        "[apps.fetcher]\ngrants = [\"http\"]\n[[apps.fetcher.http.allow]]\nurl = \"http://{server}/api/\"\n"
    );
    let host = TestHost::new(&config, &[("fetcher", "fetcher-js")]);
    let runtime = host.start().await;
    let fetch = async |args: &str| -> Value {
        let text = reply_text(&runtime, &format!("/fetch {args}"), "U1")
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };

    let answer = fetch(&format!("POST http://{server}/api/items?page=2 hello ÿ")).await;
    let echoed: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        echoed,
        json!({"method": "POST", "path": "/api/items", "query": "page=2", "x_app_header": "from-app",
               "content_type": "text/plain;charset=UTF-8", "body": "hello ÿ"})
    );
    assert_eq!(answer["status"], 201);
    // (The host reports the URL that answered without its query.)
    assert_eq!(answer["url"], format!("http://{server}/api/items"));
    assert_eq!(
        answer["request_headers"],
        json!([["X-App-Header", "from-app"]])
    );
    let response_headers = answer["response_headers"].as_array().unwrap();
    assert!(
        response_headers.contains(&json!(["x-echo", "yes"])),
        "{answer}"
    );
    assert_eq!(answer["error"], Value::Null);
    assert_eq!(answer["global"], true, "globalThis.fetch is the SDK's");

    // Outside the allow-list: the host's reason, thrown as the error's message.
    let answer = fetch(&format!("GET http://{server}/admin")).await;
    assert_eq!(answer["status"], Value::Null);
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("/admin") && error.contains("allow-list"),
        "{answer}"
    );

    // Only `http`: the app needs no other grant.
    let mut botyard: Vec<String> = imports("fetcher-js")
        .into_iter()
        .filter(|i| i.starts_with("botyard:"))
        .collect();
    botyard.sort();
    assert_eq!(
        botyard,
        ["botyard:app/http@0.1.0", "botyard:app/types@0.1.0"]
    );
}

#[test]
fn the_sdk_passes_its_unit_tests_under_node() {
    // Building a guest first makes sure Node.js is there (it installs it when
    // it can), as it is for every JS build.
    guest_component("escape");
    let sdk_tests = support::repo_root().join("guests/js/test");
    let out = std::process::Command::new("node")
        .arg("--import")
        .arg(sdk_tests.join("register.mjs"))
        .arg("--test")
        .arg("--test-reporter=tap")
        .arg(sdk_tests.join("sdk.test.mjs"))
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Make sure the tests ran, not just that node exited cleanly.
    let passed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(passed >= 40, "only {passed} SDK tests passed:\n{stdout}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
}
