//! `botyard serve` as a process, against the Slack emulator over loopback:
//! Slack's signed requests in, Web API calls out, and the durable outbox
//! surviving `kill -9`.

use std::time::Duration;

use crate::support::serve::{Mode, serve, setup_dir, wait_for};
use botyard::emulator::{Emulator, EmulatorConfig, Fault};

fn setup(emulator: &Emulator) -> tempfile::TempDir {
    setup_dir(
        emulator,
        Mode::Http,
        &[("hello", "hello-rust"), ("poster", "ungranted")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_is_answered_in_the_channel() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup(&emulator);
    let served = serve(dir.path(), &emulator);
    let answer = emulator
        .send_slash_command("alice", "general", "/hello")
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.within_slack_deadline());
    let messages = emulator.messages("general");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].text.starts_with("Hello, <@") && messages[0].text.contains("1 time(s)"),
        "{messages:?}"
    );
    drop(served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_message_survives_kill_9_and_is_delivered_once() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup(&emulator);
    // Slack says "come back in 30 s": the post waits in the outbox meanwhile.
    emulator.inject(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 30,
        },
        1,
    );
    let served = serve(dir.path(), &emulator);
    let answer = emulator
        .send_slash_command("alice", "general", "/post")
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body.contains("posted botyard-outbox-"),
        "the app was told it is queued: {}",
        answer.body
    );
    wait_for("the first delivery attempt", Duration::from_secs(5), || {
        emulator.calls("chat.postMessage") >= 1
    })
    .await;
    let channel = emulator.channel_id("general").unwrap();
    let posted = |e: &Emulator| {
        e.messages(&channel)
            .iter()
            .filter(|m| m.text == "posted by ungranted")
            .count()
    };
    assert_eq!(posted(&emulator), 0);

    drop(served); // SIGKILL: no graceful shutdown, nothing flushed
    let restarted = serve(dir.path(), &emulator);
    wait_for(
        "delivery after the restart",
        Duration::from_secs(10),
        || posted(&emulator) == 1,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(posted(&emulator), 1, "delivered exactly once");
    assert!(restarted.base_url.starts_with("http://"));
}
