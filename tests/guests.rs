//! Every guest the suite loads builds into a component whose imports are
//! exactly the capabilities it uses: wit-component drops unused imports, which
//! is what makes per-app grants meaningful. Guests on the Rust SDK also
//! export every optional interface of world `app-with-triggers`
//! (`shortcuts`, `webhooks`, `settings-schema`), which this file calls
//! directly too.

use crate::support;

use crate::support::{TestHost, guest_component, reply_text, repo_root};
use botyard::contract::bindings::shortcuts::{ShortcutKind, ShortcutMessage, ShortcutRequest};
use botyard::contract::bindings::types::{InvocationContext, MessageRef};
use botyard::contract::request::Request;
use botyard::routing::table::ShortcutRoute;
use wasmtime::component::{Component, Instance, Linker, Val};
use wasmtime::{Engine, Store};
use wit_component::DecodedWasm;

/// The interface of the optional shortcuts trigger.
const SHORTCUTS: &str = "botyard:app/shortcuts@0.1.0";

/// The interface of the optional webhooks trigger.
const WEBHOOKS: &str = "botyard:app/webhooks@0.1.0";

/// The interface an app declares its settings through.
const SETTINGS_SCHEMA: &str = "botyard:app/settings-schema@0.1.0";

/// The guest's imports (less the types-only interface); checks that it
/// exports the handler, and every optional interface too.
fn imports(name: &str) -> Vec<String> {
    let bytes = std::fs::read(guest_component(name)).unwrap();
    let Ok(DecodedWasm::Component(resolve, world)) = wit_component::decode(&bytes) else {
        panic!("{name} is not a component")
    };
    let world = &resolve.worlds[world];
    let iface = |key: &wit_parser::WorldKey| match key {
        wit_parser::WorldKey::Interface(id) => resolve.id_of(*id).unwrap(),
        wit_parser::WorldKey::Name(name) => name.clone(),
    };
    assert!(
        world
            .exports
            .keys()
            .map(iface)
            .any(|e| e.starts_with("botyard:app/handler")),
        "{name} does not export the handler"
    );
    for optional in [SHORTCUTS, WEBHOOKS, SETTINGS_SCHEMA] {
        assert!(
            world.exports.keys().map(iface).any(|e| e == optional),
            "{name} does not export {optional}: the Rust SDK builds for world app-with-triggers"
        );
    }
    world
        .imports
        .keys()
        .map(iface)
        .filter(|i| !i.starts_with("botyard:app/types"))
        .collect()
}

#[test]
fn every_guest_builds_into_a_component_importing_only_what_it_uses() {
    let expect: &[(&str, &[&str])] = &[
        ("hello-rust", &["botyard:app/store@0.1.0"]),
        ("looper", &[]),
        ("memory-bomb", &[]),
        ("deep-recursion", &[]),
        ("panicker", &[]),
        ("bad-describe", &[]),
        ("ungranted", &["botyard:app/slack@0.1.0"]),
        ("peeker", &["botyard:app/store@0.1.0"]),
        ("sleeper", &["botyard:app/clock@0.1.0"]),
        ("triage", &["botyard:app/slack@0.1.0"]),
        ("modal", &["botyard:app/slack@0.1.0"]),
        ("mimic", &[]),
        ("configured", &["botyard:app/settings@0.1.0"]),
        (
            "mentions",
            &["botyard:app/slack@0.1.0", "botyard:app/store@0.1.0"],
        ),
        ("fetcher", &["botyard:app/http@0.1.0"]),
        (
            "hooks",
            &[
                "botyard:app/slack@0.1.0",
                "botyard:app/store@0.1.0",
                "botyard:app/clock@0.1.0",
                "botyard:app/settings@0.1.0",
            ],
        ),
        (
            "slacker",
            &["botyard:app/slack@0.1.0", "botyard:app/clock@0.1.0"],
        ),
    ];
    for (name, want) in expect {
        assert_eq!(imports(name), *want, "imports of {name}");
    }
}

/// A guest's component instantiated on its own, every import a trap: enough
/// to call exports that touch no capability.
fn instantiate(name: &str) -> (Store<()>, Instance) {
    let engine = Engine::default();
    let component = Component::from_file(&engine, guest_component(name)).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&component).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    (store, instance)
}

/// Calls `function` of the exported `interface` with `params`; its result.
fn call(
    (store, instance): &mut (Store<()>, Instance),
    interface: &str,
    function: &str,
    params: &[Val],
) -> Val {
    let exported = instance
        .get_export_index(&mut *store, None, interface)
        .unwrap_or_else(|| panic!("no export {interface}"));
    let index = instance
        .get_export_index(&mut *store, Some(&exported), function)
        .unwrap_or_else(|| panic!("no {function} in {interface}"));
    let func = instance.get_func(&mut *store, index).unwrap();
    let mut results = [Val::Bool(false)];
    func.call(&mut *store, params, &mut results).unwrap();
    let [result] = results;
    result
}

fn text(value: &str) -> Val {
    Val::String(value.into())
}

/// A `shortcut-request` for `callback_id` with no message, as a `Val`.
fn shortcut_request(callback_id: &str, kind: &str) -> Val {
    Val::Record(vec![
        ("callback-id".into(), text(callback_id)),
        ("kind".into(), Val::Enum(kind.into())),
        ("message".into(), Val::Option(None)),
        (
            "context".into(),
            Val::Record(vec![
                ("user-id".into(), text("U1")),
                ("channel-id".into(), text("")),
                ("trigger-id".into(), Val::Option(Some(Box::new(text("T1"))))),
            ]),
        ),
    ])
}

/// The error text of a `result<_, string>`.
fn error_text(result: Val) -> String {
    match result {
        Val::Result(Err(Some(message))) => match *message {
            Val::String(message) => message,
            other => panic!("not a string: {other:?}"),
        },
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn shortcuts_registered_in_rust_are_described_and_dispatched_by_the_component() {
    let mut triage = instantiate("triage");
    let spec = |id: &str, kind: &str, name: &str, description: &str| {
        Val::Record(vec![
            ("callback-id".into(), text(id)),
            ("kind".into(), Val::Enum(kind.into())),
            ("name".into(), text(name)),
            ("description".into(), text(description)),
        ])
    };
    assert_eq!(
        call(&mut triage, SHORTCUTS, "describe-shortcuts", &[]),
        Val::List(vec![
            spec(
                "triage",
                "message",
                "Send to triage",
                "Ask the triage team to look at this message"
            ),
            spec("help", "global", "Ask for help", "Ask for help"),
        ])
    );
    // Routed to the `triage` handler, which refuses a request without its
    // message before it would call Slack.
    let request = shortcut_request("triage", "message");
    assert_eq!(
        error_text(call(&mut triage, SHORTCUTS, "on-shortcut", &[request])),
        "`triage` is a message shortcut, but no message came with it"
    );
    let request = shortcut_request("escalate", "global");
    assert_eq!(
        error_text(call(&mut triage, SHORTCUTS, "on-shortcut", &[request])),
        "app `triage` has no handler for shortcut `escalate`"
    );

    // An app with no shortcuts offers none, and says so when asked for one.
    let mut hello = instantiate("hello-rust");
    assert_eq!(
        call(&mut hello, SHORTCUTS, "describe-shortcuts", &[]),
        Val::List(vec![])
    );
    let request = shortcut_request("triage", "global");
    assert_eq!(
        error_text(call(&mut hello, SHORTCUTS, "on-shortcut", &[request])),
        "app `hello` has no handler for shortcut `triage`"
    );
}

/// A `webhook-request` for webhook `name`, as a `Val`.
fn webhook_request(name: &str) -> Val {
    Val::Record(vec![
        ("name".into(), text(name)),
        ("delivery-id".into(), text("d-1")),
        ("attempt".into(), Val::U32(1)),
        ("content-type".into(), text("application/json")),
        ("headers".into(), Val::List(vec![])),
        ("body".into(), Val::List(vec![])),
    ])
}

#[test]
fn webhooks_and_settings_registered_in_rust_are_declared_by_the_component() {
    let mut hooks = instantiate("hooks");
    let webhook = |name: &str, description: &str| {
        Val::Record(vec![
            ("name".into(), text(name)),
            ("description".into(), text(description)),
        ])
    };
    assert_eq!(
        call(&mut hooks, WEBHOOKS, "describe-webhooks", &[]),
        Val::List(vec![
            webhook("github", "Pushes and PRs"),
            webhook("alerts", "Alertmanager alerts"),
        ])
    );
    let setting = |name: &str, description: &str, default: &str| {
        Val::Record(vec![
            ("name".into(), text(name)),
            ("description".into(), text(description)),
            ("default".into(), Val::Option(Some(Box::new(text(default))))),
            ("required".into(), Val::Bool(false)),
        ])
    };
    assert_eq!(
        call(&mut hooks, SETTINGS_SCHEMA, "describe-settings", &[]),
        Val::List(vec![
            setting("channel", "Where to post", "C0HOOKS"),
            setting(
                "fail_times",
                "How many attempts at each GitHub delivery fail on purpose",
                "0"
            ),
            setting("delay_ms", "How long each GitHub delivery spins first", "0"),
        ])
    );
    // A webhook it does not serve is the SDK's error, before any capability.
    assert_eq!(
        error_text(call(
            &mut hooks,
            WEBHOOKS,
            "on-webhook",
            &[webhook_request("gitlab")]
        )),
        "app `hooks` has no handler for webhook `gitlab`"
    );

    // An app that registers none declares none.
    let mut hello = instantiate("hello-rust");
    assert_eq!(
        call(&mut hello, WEBHOOKS, "describe-webhooks", &[]),
        Val::List(vec![])
    );
    assert_eq!(
        call(&mut hello, SETTINGS_SCHEMA, "describe-settings", &[]),
        Val::List(vec![])
    );
    assert_eq!(
        error_text(call(
            &mut hello,
            WEBHOOKS,
            "on-webhook",
            &[webhook_request("github")]
        )),
        "app `hello` has no handler for webhook `github`"
    );
}

/// A component exporting the optional shortcuts trigger loads, declares its
/// shortcuts through the trigger, and gets them there; a component built
/// before the trigger existed still loads and is told plainly it has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_finds_optional_triggers_and_calls_them() {
    let fixture = repo_root().join("tests/fixtures/hello-rust-0.1.0.wasm");
    let host = TestHost::new("", &[("triage", "triage")]).with_component("old", &fixture);
    let runtime = host.start().await;
    let snapshot = runtime.snapshot();
    let triage = snapshot.app("triage").expect("triage serves");
    // The Rust SDK exports every optional trigger it knows; triage declares
    // only shortcuts through them.
    assert_eq!(
        triage.triggers().names(),
        ["shortcuts", "webhooks", "settings-schema", "phrases"]
    );
    assert!(triage.description.webhooks.is_empty() && triage.description.settings.is_empty());
    assert!(triage.description.phrases.is_empty());
    let info = &triage.description.info;
    assert_eq!(info.name, "triage");
    assert!(
        info.commands.is_empty() && info.events.is_empty(),
        "{info:?}"
    );
    let declared: Vec<(&str, &str)> = triage
        .description
        .shortcuts
        .iter()
        .map(|s| (s.callback_id.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        declared,
        [("triage", "Send to triage"), ("help", "Ask for help")]
    );
    let old = snapshot.app("old").expect("the old component serves");
    assert!(old.triggers().names().is_empty());

    // The routing table sends the declared shortcut to the trigger.
    let owner = snapshot.routes.owner("triage.triage").unwrap();
    assert_eq!(snapshot.routes.shortcut(&owner), ShortcutRoute::Trigger);
    let owner = snapshot.routes.owner("old.triage").unwrap();
    assert_eq!(snapshot.routes.shortcut(&owner), ShortcutRoute::Action);

    let shortcut = |callback_id: &str| {
        Request::Shortcut(ShortcutRequest {
            callback_id: callback_id.into(),
            kind: ShortcutKind::Message,
            message: Some(ShortcutMessage {
                target: MessageRef {
                    channel: "C1".into(),
                    ts: "1700000000.000100".into(),
                },
                user: "U2".into(),
                text: "the build is red".into(),
            }),
            context: InvocationContext {
                user_id: "U1".into(),
                channel_id: "C1".into(),
                trigger_id: Some("T1".into()),
            },
        })
    };
    let (_, invocation) = runtime.invoke("triage", shortcut("triage")).await.unwrap();
    let calls = runtime
        .storage()
        .outbox
        .entries(Some("triage"), 0, 10)
        .await
        .unwrap();
    assert_eq!(invocation.slack_calls, [calls[0].id]);
    assert_eq!(calls[0].method, "chat.postMessage");
    assert_eq!(calls[0].payload["thread_ts"], "1700000000.000100");
    assert_eq!(
        calls[0].payload["text"],
        "<@U1> sent this to triage: the build is red"
    );
    let audit = runtime
        .storage()
        .audit
        .recent(Some("triage"), 1)
        .await
        .unwrap();
    assert_eq!(
        (audit[0].kind.as_str(), audit[0].detail.as_str()),
        ("shortcut", "triage")
    );

    let Err(err) = runtime.invoke("old", shortcut("triage")).await else {
        panic!("a component without the trigger answered a shortcut")
    };
    assert!(
        err.to_string().contains("does not handle shortcuts"),
        "{err}"
    );
}

/// The Rust SDK's own unit and doc tests (its crate is outside the host
/// workspace, which builds for the host, so they run here natively).
#[test]
fn the_rust_sdk_passes_its_own_tests() {
    let sdk = support::repo_root().join("guests/rust/botyard-sdk");
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-target");
    let out = std::process::Command::new(env!("CARGO"))
        .arg("test")
        .arg("--manifest-path")
        .arg(sdk.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target)
        .output()
        .expect("running cargo test for the SDK");
    assert!(
        out.status.success(),
        "the SDK's tests failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tests/fixtures/hello-rust-0.1.0.wasm` is examples/hello-rust as built
/// against `botyard:app@0.1.0` before the contract grew optional triggers
/// and the SDKs changed shape. Components already deployed must keep
/// loading and answering, whatever the host learns later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_built_against_the_first_contract_still_loads_and_answers() {
    let fixture = repo_root().join("tests/fixtures/hello-rust-0.1.0.wasm");
    let host = TestHost::new("", &[]).with_component("hello", &fixture);
    let runtime = host.start().await;
    let snapshot = runtime.snapshot();
    let entry = snapshot.apps.get("hello").expect("the fixture is listed");
    assert!(entry.last_error.is_none(), "{:?}", entry.last_error);
    assert_eq!(
        reply_text(&runtime, "/hello old friend", "U1")
            .await
            .unwrap(),
        "Hello, old friend! You have said hello 1 time(s)."
    );
    assert_eq!(
        reply_text(&runtime, "/hello", "U1").await.unwrap(),
        "Hello, <@U1>! You have said hello 2 time(s)."
    );
}

/// `settings`, the capability added after the first five: the operator's
/// `[apps.<id>.settings]` reach the app that is granted them, as text; an
/// app that imports it without the grant is refused at load, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_settings_reach_the_app_granted_them() {
    let config = r##"
[apps.configured]
grants = ["settings"]
[apps.configured.settings]
channel = "#lunch"
seats = 12
offices = ["Paris", "Seoul"]

[apps.nosy.settings]
channel = "#elsewhere"

[apps.forgotten]
grants = ["settings"]
"##;
    let host = TestHost::new(
        config,
        &[
            ("configured", "configured"),
            ("nosy", "configured"),
            ("forgotten", "configured"),
        ],
    );
    let runtime = host.start().await;
    let ask = |line: &'static str| {
        let runtime = runtime.clone();
        async move { reply_text(&runtime, line, "U1").await.unwrap() }
    };
    assert_eq!(ask("/setting channel").await, "#lunch");
    assert_eq!(ask("/setting seats").await, "12");
    assert_eq!(ask("/setting offices").await, r#"["Paris","Seoul"]"#);
    assert_eq!(ask("/setting missing").await, "unset");
    // A declared default the operator did not override is filled in by the
    // host: it is among the names too.
    assert_eq!(ask("/setting greeting").await, "hello");
    assert_eq!(ask("/setting").await, "channel, greeting, offices, seats");
    // A required setting nobody set is a load error naming it and the line
    // to add, not a crash at the first request.
    let forgotten = runtime.snapshot().apps["forgotten"].clone();
    assert!(forgotten.current.is_none());
    let error = forgotten.last_error.unwrap().message;
    assert!(
        error.contains("requires setting `channel` (Where to post)")
            && error.contains("[apps.forgotten.settings] channel = "),
        "{error}"
    );
    // `nosy` was not granted settings (new capabilities are opt-in).
    let nosy = runtime.snapshot().apps["nosy"].clone();
    assert!(nosy.current.is_none());
    let error = nosy.last_error.unwrap().message;
    assert!(
        error.contains("botyard:app/settings") && error.contains("grants = [..., \"settings\"]"),
        "{error}"
    );
}
