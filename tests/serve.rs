//! `botyard serve` as a process, against the Slack emulator over loopback:
//! Slack's signed requests in, Web API calls out, and the durable outbox
//! surviving `kill -9`.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use botyard::emulator::{Emulator, EmulatorConfig, Fault, HostUrls};
use support::guest_component;

/// A running `botyard serve`, killed (SIGKILL) when dropped.
struct Served {
    child: Child,
    base_url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn serve(dir: &Path, emulator: &Emulator) -> Served {
    let config = emulator.config();
    let mut child = Command::new(env!("CARGO_BIN_EXE_botyard"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--config")
        .arg(dir.join("botyard.toml"))
        .arg("serve")
        .env("SLACK_BOT_TOKEN", &config.bot_token)
        .env("SLACK_SIGNING_SECRET", &config.signing_secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting botyard serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("reading serve's address");
    let base_url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        base_url.starts_with("http://127.0.0.1:"),
        "unexpected first line: {line:?}"
    );
    emulator.set_request_urls(HostUrls {
        commands: Some(format!("{base_url}/slack/commands")),
        events: Some(format!("{base_url}/slack/events")),
        interactivity: Some(format!("{base_url}/slack/interactivity")),
    });
    Served { child, base_url }
}

fn setup(emulator: &Emulator) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("botyard.toml"),
        format!(
            "[slack]\nlisten = \"127.0.0.1:0\"\napi_url = \"{}\"\n",
            emulator.base_url()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("apps")).unwrap();
    for (id, guest) in [("hello", "hello-rust"), ("poster", "ungranted")] {
        std::fs::copy(
            guest_component(guest),
            dir.path().join(format!("apps/{id}.wasm")),
        )
        .unwrap();
    }
    dir
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
