//! Metrics and health: `GET /metrics`, `/healthz` and `/readyz`.
//!
//! `botyard serve` runs as a process against the Slack emulator for what an
//! operator sees (commands counted by outcome, Slack calls by method and
//! status, readiness turning when the database file goes away); an
//! in-process host for what needs a hook, a webhook or a Socket Mode client
//! of the test's own; and a real Prometheus (Debian's `prometheus`,
//! installed on first use) scrapes `serve` and counts the commands sent.

use crate::support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::TestHost;
use crate::support::prometheus::Prometheus;
use crate::support::serve::{Mode, serve, setup_dir, wait_for};
use async_trait::async_trait;
use botyard::emulator::{Emulator, EmulatorConfig, Fault};
use botyard::host::Host;
use botyard::inbound::dispatch::Dispatcher;
use botyard::inbound::socket_mode::{SocketMode, SocketModeConfig};
use botyard::runtime::hooks::{Call, Hook, Refusal};
use botyard::slack::delivery::DeliveryConfig;
use botyard::slack::web_api::WebApi;
use serde_json::Value;

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(30);

/// `GET url`: the status and the body.
async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// `GET <base>/readyz`: the status and the JSON.
async fn readyz(base: &str) -> (u16, Value) {
    let (status, body) = get(&format!("{base}/readyz")).await;
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, json)
}

/// The names of the checks `/readyz` says fail.
fn failing(readyz: &Value) -> Vec<&str> {
    readyz["failing"]
        .as_array()
        .unwrap_or_else(|| panic!("no `failing` in {readyz}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// One sample of Prometheus' text format: `name{label="value",…} number`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let mut map = BTreeMap::new();
            let mut rest = labels;
            while let Some((key, after)) = rest.split_once("=\"") {
                let end = after.find('"').expect("a closed label value");
                map.insert(
                    key.trim_start_matches(',').to_string(),
                    after[..end].to_string(),
                );
                rest = &after[end + 1..];
            }
            Sample {
                name: name.to_string(),
                labels: map,
                value: value.parse().unwrap_or_else(|e| panic!("{e}: {line}")),
            }
        })
        .collect()
}

/// The value of the series `name` with exactly `labels`, if shown.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse_samples(text)
        .into_iter()
        .find(|s| s.name == name && s.labels == wanted)
        .map(|s| s.value)
}

/// `botyard_invocations_total` for `app`'s commands with `outcome`.
fn commands(text: &str, app: &str, outcome: &str) -> Option<f64> {
    value(
        text,
        "botyard_invocations_total",
        &[("app", app), ("kind", "command"), ("outcome", outcome)],
    )
}

/// Serves `router` on a free loopback port; its base URL and task.
async fn serve_router(router: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    (url, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer_and_readiness_names_storage_when_the_database_file_is_gone() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup_dir(&emulator, Mode::Http, &[("hello", "hello-rust")]);
    let served = serve(dir.path(), &emulator);
    let base = &served.base_url;

    let (status, body) = get(&format!("{base}/healthz")).await;
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, ready) = readyz(base).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["ready"], true, "{ready}");
    assert!(failing(&ready).is_empty(), "{ready}");
    for check in ["storage", "apps", "slack"] {
        assert_eq!(ready["checks"][check]["ok"], true, "{check}: {ready}");
    }
    assert!(
        ready["checks"]["apps"]["detail"]
            .as_str()
            .unwrap()
            .contains("1 app(s) loaded"),
        "{ready}"
    );

    // The database file goes away behind the host's back (a clean-up, a
    // volume swapped): SQLite carries on with the open file, and everything
    // written from now on would be lost at the next start. Not ready.
    let db = dir.path().join("botyard.db");
    let away = dir.path().join("moved-away.db");
    std::fs::rename(&db, &away).unwrap();
    let (status, ready) = readyz(base).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(failing(&ready), ["storage"], "{ready}");
    assert_eq!(ready["ready"], false);
    let detail = ready["checks"]["storage"]["detail"].as_str().unwrap();
    assert!(detail.contains("botyard.db"), "names the file: {detail}");
    // The process is up all the same.
    let (status, _) = get(&format!("{base}/healthz")).await;
    assert_eq!(status, 200);

    std::fs::rename(&away, &db).unwrap();
    let (status, ready) = readyz(base).await;
    assert_eq!(status, 200, "ready again once the file is back: {ready}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_apps_and_slack_until_an_app_loads_and_slack_is_connected() {
    let test = TestHost::new("", &[]);
    std::fs::write(test.apps_dir().join("broken.wasm"), b"not a component").unwrap();
    let mut host = test.builder().connected().start().await.unwrap();
    let (base, server) = serve_router(host.ops_router()).await;

    let (status, ready) = readyz(&base).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(failing(&ready), ["apps", "slack"], "{ready}");
    let apps = ready["checks"]["apps"]["detail"].as_str().unwrap();
    assert!(apps.contains("none of the 1 app(s)"), "{apps}");
    assert_eq!(ready["checks"]["storage"]["ok"], true, "{ready}");

    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let api = WebApi::new(&slack.base_url(), &slack.config().bot_token);
    host.connect_slack(api, DeliveryConfig::default());
    let (status, ready) = readyz(&base).await;
    assert_eq!((status, failing(&ready)), (503, vec!["apps"]), "{ready}");

    std::fs::copy(
        support::guest_component("hello-rust"),
        test.apps_dir().join("hello.wasm"),
    )
    .unwrap();
    host.apps().reload("hello").await.unwrap();
    let (status, ready) = readyz(&base).await;
    assert_eq!(status, 200, "{ready}");

    server.abort();
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_socket_mode_connection() {
    let test = TestHost::new("", &[("hello", "hello-rust")]);
    let mut host = test.builder().connected().start().await.unwrap();
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let api = WebApi::new(&slack.base_url(), &slack.config().bot_token);
    host.connect_slack(api, DeliveryConfig::default());
    let dispatcher = Dispatcher::new(
        host.apps().clone(),
        Duration::from_millis(2500),
        Duration::from_secs(5),
    );
    let config = SocketModeConfig::new(slack.base_url(), slack.config().app_token.clone());
    let client = SocketMode::start(config, dispatcher).unwrap();
    host.readiness().slack_sockets(client.open_counter());
    let (base, server) = serve_router(host.ops_router()).await;

    assert!(slack.wait_for_sockets(1, BOUND).await, "the socket opened");
    wait_for("the socket to count as open", BOUND, || {
        client.open_connections() == 1
    })
    .await;
    let (status, ready) = readyz(&base).await;
    assert_eq!(status, 200, "{ready}");
    let detail = ready["checks"]["slack"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 Socket Mode connection(s) open"),
        "{detail}"
    );

    client.shutdown().await;
    let (status, ready) = readyz(&base).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(failing(&ready), ["slack"], "{ready}");

    server.abort();
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_commands_by_outcome_and_slack_calls_by_method_and_status() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup_dir(
        &emulator,
        Mode::Http,
        &[
            ("hello", "hello-rust"),
            ("poster", "ungranted"),
            ("panicker", "panicker"),
            ("looper", "looper"),
            ("peeker", "peeker"),
        ],
    );
    let toml = dir.path().join("botyard.toml");
    let config = std::fs::read_to_string(&toml).unwrap() + "[apps.looper]\ndeadline_ms = 300\n";
    std::fs::write(&toml, config).unwrap();
    // Slack says "wait a second" to the first post.
    emulator.inject(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    let served = serve(dir.path(), &emulator);
    const N: usize = 3;
    for _ in 0..N {
        emulator
            .send_slash_command("alice", "general", "/hello")
            .await
            .unwrap();
    }
    for line in ["/panic", "/loop", "/peek", "/post"] {
        emulator
            .send_slash_command("alice", "general", line)
            .await
            .unwrap();
    }
    let channel = emulator.channel_id("general").unwrap();
    wait_for("the post to be delivered", BOUND, || {
        emulator
            .messages(&channel)
            .iter()
            .any(|m| m.text == "posted by ungranted")
    })
    .await;

    let url = format!("{}/metrics", served.base_url);
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let mut text = response.text().await.unwrap();
    // The delivery settles just after Slack answered: wait for the outbox
    // to show empty.
    let started = Instant::now();
    while value(&text, "botyard_outbox_depth", &[]) != Some(0.0) {
        assert!(started.elapsed() < BOUND, "the outbox empties:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        text = get(&url).await.1;
    }

    assert_eq!(commands(&text, "hello", "ok"), Some(N as f64), "{text}");
    assert_eq!(commands(&text, "poster", "ok"), Some(1.0), "{text}");
    assert_eq!(commands(&text, "panicker", "stopped"), Some(1.0), "{text}");
    assert_eq!(commands(&text, "looper", "stopped"), Some(1.0), "{text}");
    assert_eq!(commands(&text, "peeker", "failed"), Some(1.0), "{text}");
    assert_eq!(commands(&text, "hello", "failed"), None, "{text}");
    let stops = |app: &str, cause: &str| {
        value(
            &text,
            "botyard_sandbox_stops_total",
            &[("app", app), ("cause", cause)],
        )
    };
    assert_eq!(stops("panicker", "crash"), Some(1.0), "{text}");
    assert_eq!(stops("looper", "deadline"), Some(1.0), "{text}");
    assert_eq!(
        value(
            &text,
            "botyard_invocation_duration_seconds_count",
            &[("app", "hello"), ("kind", "command")]
        ),
        Some(N as f64),
        "{text}"
    );

    let slack = |method: &str, status: &str| {
        value(
            &text,
            "botyard_slack_api_calls_total",
            &[("method", method), ("status", status)],
        )
    };
    assert_eq!(slack("auth.test", "ok"), Some(1.0), "{text}");
    assert_eq!(slack("chat.postMessage", "http_429"), Some(1.0), "{text}");
    assert_eq!(slack("chat.postMessage", "ok"), Some(1.0), "{text}");
    assert_eq!(
        value(
            &text,
            "botyard_slack_rate_limited_total",
            &[("method", "chat.postMessage")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "botyard_outbox_oldest_age_seconds", &[]),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "botyard_webhook_deliveries_pending", &[]),
        Some(0.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            "botyard_reloads_total",
            &[("app", "hello"), ("outcome", "loaded")]
        )
        .is_some(),
        "the load at start is counted:\n{text}"
    );
    assert!(text.contains("# HELP botyard_invocations_total"), "{text}");
}

/// Refuses every invocation by `mallory`, as a permission rule would.
struct RefuseMallory;

#[async_trait]
impl Hook for RefuseMallory {
    async fn before(&self, call: &Call<'_>) -> Result<(), Refusal> {
        match call.request.user() {
            "mallory" => Err(Refusal("mallory may not".into())),
            _ => Ok(()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_invocation_and_webhook_deliveries_are_counted() {
    // Counts exactly what this process's recorder saw: no other test of the
    // suite may record to it meanwhile.
    if support::alone(
        module_path!(),
        "a_refused_invocation_and_webhook_deliveries_are_counted",
    ) {
        return;
    }
    botyard::telemetry::install();
    let config = r#"
[apps.guarded]
grants = ["slack", "store", "settings", "clock"]
[apps.guarded.settings]
fail_times = 1
[apps.guarded.webhooks.github]
verify = "none"
retry_after_ms = 50
"#;
    let test = TestHost::new(config, &[("greeter", "hello-rust"), ("guarded", "hooks")]);
    let host: Host = test
        .builder()
        .hook(Arc::new(RefuseMallory))
        .webhooks()
        .start()
        .await
        .unwrap();
    let router = host.ops_router().merge(host.webhook_receiver());
    let (base, server) = serve_router(router).await;

    let apps = host.apps();
    support::reply_text(apps, "/hello", "alice").await.unwrap();
    let refused = support::reply_text(apps, "/hello", "mallory").await;
    assert!(refused.is_err(), "{:?}", refused.ok());

    // A delivery that fails once, then succeeds; and one to a webhook
    // nobody configured.
    let http = reqwest::Client::new();
    let sent = http
        .post(format!("{base}/hooks/guarded/github"))
        .header("x-github-event", "push")
        .body(r#"{"action":"opened","sender":{"login":"octocat"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let unknown = http
        .post(format!("{base}/hooks/guarded/nope"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let webhook = |text: &str, outcome: &str| {
        value(
            text,
            "botyard_webhook_deliveries_total",
            &[("app", "guarded"), ("hook", "github"), ("outcome", outcome)],
        )
    };
    let started = Instant::now();
    let text = loop {
        let (status, text) = get(&format!("{base}/metrics")).await;
        assert_eq!(status, 200);
        if webhook(&text, "done").is_some() {
            break text;
        }
        assert!(started.elapsed() < BOUND, "the delivery is done:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(commands(&text, "greeter", "ok"), Some(1.0), "{text}");
    assert_eq!(commands(&text, "greeter", "refused"), Some(1.0), "{text}");
    assert_eq!(webhook(&text, "received"), Some(1.0), "{text}");
    assert_eq!(webhook(&text, "retry"), Some(1.0), "{text}");
    assert_eq!(webhook(&text, "done"), Some(1.0), "{text}");
    assert_eq!(webhook(&text, "dead"), None, "{text}");
    assert_eq!(
        value(
            &text,
            "botyard_invocations_total",
            &[
                ("app", "guarded"),
                ("kind", "webhook"),
                ("outcome", "failed")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    // The path of a refused request is anyone's to choose: not a label.
    assert_eq!(
        value(
            &text,
            "botyard_webhook_deliveries_total",
            &[("app", ""), ("hook", ""), ("outcome", "refused")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("nope"), "{text}");

    server.abort();
    host.shutdown().await;
}

#[tokio::test]
async fn the_outbox_and_webhook_gauges_read_what_is_pending() {
    use botyard::storage::{NewCall, NewDelivery, OutboxStatus, Settlement, Storage};
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("botyard.db")).unwrap();
    assert_eq!(storage.outbox.pending_summary().await.unwrap(), (0, None));
    assert_eq!(storage.webhooks.pending_count().await.unwrap(), 0);

    let payload = serde_json::json!({"channel": "C1", "text": "hi"});
    let mut ids = Vec::new();
    for status in [
        OutboxStatus::Pending,
        OutboxStatus::Pending,
        OutboxStatus::Local,
    ] {
        let call = NewCall {
            app: "hello",
            method: "chat.postMessage",
            payload: &payload,
            status,
        };
        ids.push(storage.enqueue(call).await.unwrap());
    }
    let entries = storage.outbox.entries(None, 0, 10).await.unwrap();
    let created = |id: i64| entries.iter().find(|e| e.id == id).unwrap().created_ms;
    assert_eq!(
        storage.outbox.pending_summary().await.unwrap(),
        (2, Some(created(ids[0]))),
        "local calls are not waiting for Slack"
    );
    // Delivered, the oldest no longer waits.
    let claim = storage
        .outbox
        .claim(ids[0], Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let delivered = Settlement::Delivered(serde_json::json!({"ok": true}));
    assert!(storage.outbox.settle(&claim, delivered).await.unwrap());
    assert_eq!(
        storage.outbox.pending_summary().await.unwrap(),
        (1, Some(created(ids[1])))
    );

    let mut unit = storage.begin();
    unit.receive(NewDelivery {
        app: "hooks",
        hook: "github",
        delivery_id: "d-1",
        content_type: "application/json",
        headers: &[],
        body: b"{}",
    })
    .await
    .unwrap();
    unit.commit().await.unwrap();
    assert_eq!(storage.webhooks.pending_count().await.unwrap(), 1);
}

/// The single value of an instant PromQL query, if it has one.
async fn query(prometheus: &Prometheus, promql: &str) -> Option<f64> {
    let data = prometheus.query(promql).await.ok()?;
    data["result"].as_array()?.first()?["value"][1]
        .as_str()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_serve_and_counts_the_commands_sent() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup_dir(&emulator, Mode::Http, &[("hello", "hello-rust")]);
    let served = serve(dir.path(), &emulator);
    let target = served.base_url.trim_start_matches("http://").to_string();
    let prometheus = Prometheus::start(&[&target]).await;

    const N: usize = 7;
    for _ in 0..N {
        let answer = emulator
            .send_slash_command("alice", "general", "/hello")
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    let promql = r#"sum(botyard_invocations_total{kind="command"})"#;
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < BOUND {
        last = query(&prometheus, promql).await;
        if last == Some(N as f64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        last,
        Some(N as f64),
        "Prometheus counted the commands within {BOUND:?}"
    );
    let up = query(&prometheus, &format!(r#"up{{instance="{target}"}}"#)).await;
    assert_eq!(up, Some(1.0), "the scrape target is up");
    drop(prometheus);
    drop(served);
}
