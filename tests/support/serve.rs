//! `botyard serve` as a child process against the Slack emulator, over HTTP
//! (signed requests to the host's Request URLs) or Socket Mode (the host
//! dials the emulator's WebSocket). Used by tests/serve.rs and tests/flows.rs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use botyard::emulator::{Emulator, HostUrls, Message};
use serde_json::Value;

use super::guest_component;

/// How `botyard serve` receives Slack's requests (`[slack] mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Http,
    Socket,
}

/// A running `botyard serve`, killed (SIGKILL) when dropped.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT` over HTTP; empty over Socket Mode.
    pub base_url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Writes `botyard.toml` for `mode` into a fresh temp dir and copies each
/// `(app id, guest)` component into its `apps/`.
pub fn setup_dir(emulator: &Emulator, mode: Mode, apps: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let slack = match mode {
        Mode::Http => format!(
            "[slack]\nlisten = \"127.0.0.1:0\"\napi_url = \"{}\"\n",
            emulator.base_url()
        ),
        Mode::Socket => format!(
            "[slack]\nmode = \"socket\"\napi_url = \"{}\"\nconnections = 1\n",
            emulator.base_url()
        ),
    };
    std::fs::write(dir.path().join("botyard.toml"), slack).unwrap();
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

/// Starts `botyard serve` over HTTP and points the emulator's Request URLs at it.
pub fn serve(dir: &Path, emulator: &Emulator) -> Served {
    let (mut child, line) = spawn(dir, emulator);
    let base_url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    if !base_url.starts_with("http://127.0.0.1:") {
        child.kill().ok();
        child.wait().ok();
        panic!("unexpected first line: {line:?}");
    }
    emulator.set_request_urls(HostUrls {
        commands: Some(format!("{base_url}/slack/commands")),
        events: Some(format!("{base_url}/slack/events")),
        interactivity: Some(format!("{base_url}/slack/interactivity")),
    });
    Served { child, base_url }
}

/// Starts `botyard serve` in `mode` (the config in `dir` must match, see
/// [`setup_dir`]). Over Socket Mode, returns once the socket is open.
pub async fn serve_in(mode: Mode, dir: &Path, emulator: &Emulator, bound: Duration) -> Served {
    match mode {
        Mode::Http => serve(dir, emulator),
        Mode::Socket => {
            let (child, line) = spawn(dir, emulator);
            let served = Served {
                child,
                base_url: String::new(),
            };
            assert!(
                line.contains("Socket Mode"),
                "unexpected first line: {line:?}"
            );
            assert!(
                emulator.wait_for_sockets(1, bound).await,
                "serve opened its socket: {:?}",
                emulator.socket_stats()
            );
            served
        }
    }
}

/// Spawns `botyard serve` with the emulator's secrets; returns it and the
/// first line it printed on stdout.
fn spawn(dir: &Path, emulator: &Emulator) -> (Child, String) {
    let config = emulator.config();
    let mut child = Command::new(env!("CARGO_BIN_EXE_botyard"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--config")
        .arg(dir.join("botyard.toml"))
        .arg("--build-dir")
        .arg(super::shared_build_dir())
        .arg("serve")
        .env("SLACK_BOT_TOKEN", &config.bot_token)
        .env("SLACK_SIGNING_SECRET", &config.signing_secret)
        .env("SLACK_APP_TOKEN", &config.app_token)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting botyard serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("reading serve's first line");
    (child, line)
}

/// Polls `done` every 20 ms; panics naming `what` after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`wait_for`], for conditions that must await (storage reads).
pub async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    timeout: Duration,
    mut done: impl FnMut() -> F,
) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every `action_id` anywhere in a block tree, with the element's `value`.
pub fn action_ids(blocks: &Value, found: &mut Vec<(String, Option<String>)>) {
    match blocks {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("action_id") {
                let value = map.get("value").and_then(Value::as_str).map(String::from);
                found.push((id.clone(), value));
            }
            map.values().for_each(|inner| action_ids(inner, found));
        }
        Value::Array(items) => items.iter().for_each(|inner| action_ids(inner, found)),
        _ => {}
    }
}

pub fn find_message(
    slack: &Emulator,
    channel: &str,
    pred: impl Fn(&Message) -> bool,
) -> Option<Message> {
    slack.messages(channel).into_iter().find(|m| pred(m))
}
