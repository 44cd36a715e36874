//! The three starters — `examples/hello-rust`, `hello-js`, `hello-python` —
//! behave identically, proven end to end: each runs under `botyard serve`
//! behind the Slack emulator (signed HTTP requests, Web API delivery) through
//! the same script of commands and clicks by two users, and every message,
//! block and stored key must come out the same.

use std::time::Duration;

use crate::support::serve::{Mode, action_ids, serve_in, setup_dir, wait_for};
use botyard::emulator::{Emulator, EmulatorConfig, Message};
use botyard::storage::Storage;
use serde_json::{Value, json};
use tokio::time::timeout;

const BOUND: Duration = Duration::from_secs(30);

/// What a user sees of a message: its text and its blocks.
fn seen(message: &Message) -> Value {
    json!({ "text": message.text, "blocks": message.blocks })
}

/// Runs the script against one starter; returns everything observed, in order.
async fn transcript(starter: &str) -> Vec<Value> {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup_dir(&slack, Mode::Http, &[("hello", starter)]);
    let _served = serve_in(Mode::Http, dir.path(), &slack, BOUND).await;
    let alice = slack.user_id("alice").unwrap();
    let bob = slack.user_id("bob").unwrap();
    let mut seen_so_far = Vec::new();

    let command = async |user: &str, line: &str, expect: String| {
        let answer = timeout(BOUND, slack.send_slash_command(user, "general", line))
            .await
            .expect("answered in time")
            .expect("delivered");
        assert_eq!(answer.status, 200, "{starter} {line}: {}", answer.body);
        wait_for(&format!("{starter}: {expect:?}"), BOUND, || {
            slack.messages("general").iter().any(|m| m.text == expect)
        })
        .await;
        slack
            .messages("general")
            .into_iter()
            .find(|m| m.text == expect)
            .unwrap()
    };
    let click = async |user: &str, message: &Message, expect: String| {
        let mut ids = Vec::new();
        action_ids(message.blocks.as_ref().expect("blocks"), &mut ids);
        let (action_id, value) = ids
            .into_iter()
            .find(|(id, _)| id == "hello.count")
            .unwrap_or_else(|| panic!("{starter}: no count button in {message:?}"));
        let answer = timeout(
            BOUND,
            slack.send_block_actions(
                user,
                "general",
                &message.ts,
                &action_id,
                value.as_deref().unwrap_or_default(),
            ),
        )
        .await
        .expect("answered in time")
        .expect("delivered");
        assert_eq!(answer.status, 200, "{starter}: {}", answer.body);
        wait_for(&format!("{starter}: {expect:?}"), BOUND, || {
            slack
                .messages("general")
                .iter()
                .any(|m| m.ts == message.ts && m.text == expect)
        })
        .await;
        slack
            .messages("general")
            .into_iter()
            .find(|m| m.ts == message.ts)
            .unwrap()
    };

    let first = command(
        "alice",
        "/hello",
        format!("Hello, <@{alice}>! You have said hello 1 time(s)."),
    )
    .await;
    seen_so_far.push(seen(&first));
    let second = command(
        "bob",
        "/hello world",
        "Hello, world! You have said hello 1 time(s).".into(),
    )
    .await;
    seen_so_far.push(seen(&second));
    let clicked = click("alice", &first, format!("<@{alice}> clicked 1 time(s).")).await;
    seen_so_far.push(seen(&clicked));
    let clicked = click("alice", &clicked, format!("<@{alice}> clicked 2 time(s).")).await;
    seen_so_far.push(seen(&clicked));
    let clicked = click("bob", &clicked, format!("<@{bob}> clicked 1 time(s).")).await;
    seen_so_far.push(seen(&clicked));
    let third = command(
        "alice",
        "/hello",
        format!("Hello, <@{alice}>! You have said hello 2 time(s)."),
    )
    .await;
    seen_so_far.push(seen(&third));
    seen_so_far.push(json!({ "messages_in_general": slack.messages("general").len() }));

    // What the app stored, read from the host's database.
    let storage = Storage::open(&dir.path().join("botyard.db")).unwrap();
    let keys = storage.kv_list("hello", "", 100).await.unwrap();
    let mut stored: Vec<Value> = Vec::new();
    for key in &keys {
        let value = storage
            .kv_get("hello", key)
            .await
            .unwrap()
            .unwrap_or_default();
        stored.push(
            json!({ "key": key.replace(&alice, "<alice>").replace(&bob, "<bob>"),
                            "value": String::from_utf8_lossy(&value) }),
        );
    }
    seen_so_far.push(json!({ "store": stored }));
    seen_so_far
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_starters_behave_identically() {
    let rust = transcript("hello-rust").await;
    // The reference itself must show the whole behaviour.
    assert_eq!(rust.len(), 8, "{rust:#?}");
    assert_eq!(rust[6], json!({ "messages_in_general": 3 }));
    let store = rust[7]["store"].as_array().unwrap();
    assert!(
        store.len() >= 3,
        "calls and clicks stored per user: {store:?}"
    );
    for starter in ["hello-js", "hello-python"] {
        let other = transcript(starter).await;
        for (step, (expected, got)) in rust.iter().zip(&other).enumerate() {
            assert_eq!(
                got, expected,
                "{starter} differs from hello-rust at step {step}"
            );
        }
        assert_eq!(other.len(), rust.len());
    }
}
