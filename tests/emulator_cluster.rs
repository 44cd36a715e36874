//! One Slack emulator in front of several hosts, as the cluster's chaos
//! tests use it: HTTP requests spread at random over the hosts (reproducibly
//! for a seed), events retried the way Slack retries them (same `event_id`,
//! `X-Slack-Retry-Num`/`-Reason`, a host drawn again), slash commands and
//! interactions never retried; Socket Mode envelopes spread at random over
//! the connections, redelivered or retried when not acked, and Slack's limit
//! of ten connections per app; and the ground truth a checker reads: every
//! Web API call and every delivery, with Slack's verdict on each.
//!
//! The hosts are small axum servers on loopback that answer 200, answer
//! 500, answer too late, or are not there at all.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use botyard::emulator::{
    CallToken, Delivery, Emulator, EmulatorConfig, Endpoint, Failure, Fault, HostUrls, Outcome,
    Transport,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as Ws;

const BOUND: Duration = Duration::from_secs(10);
/// Short retry delays standing in for Slack's immediately / 1 min / 5 min.
const QUICK_RETRIES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(20),
    Duration::from_millis(40),
];

/// How a stand-in host answers.
#[derive(Clone, Copy)]
enum Behavior {
    Ok,
    Status(u16),
    /// 500 with `X-Slack-No-Retry: 1`.
    NoRetry,
    /// 200, after this long.
    Slow(Duration),
}

/// What a host received.
#[derive(Clone, Debug)]
struct Seen {
    headers: HeaderMap,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Clone)]
struct Host {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Host {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn urls(&self) -> HostUrls {
        HostUrls::all(&self.url)
    }
}

async fn host(behavior: Behavior) -> Host {
    async fn receive(
        State((behavior, seen)): State<(Behavior, Arc<Mutex<Vec<Seen>>>)>,
        headers: HeaderMap,
        body: String,
    ) -> Response {
        seen.lock().unwrap().push(Seen { headers, body });
        match behavior {
            Behavior::Ok => StatusCode::OK.into_response(),
            Behavior::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
            Behavior::NoRetry => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [("X-Slack-No-Retry", "1")],
            )
                .into_response(),
            Behavior::Slow(delay) => {
                tokio::time::sleep(delay).await;
                StatusCode::OK.into_response()
            }
        }
    }
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let router = Router::new()
        .fallback(receive)
        .with_state((behavior, seen.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slack", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Host { url, seen }
}

/// A Request URL nobody listens on: connections are refused.
async fn absent_host() -> HostUrls {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slack", listener.local_addr().unwrap());
    drop(listener);
    HostUrls::all(&url)
}

async fn emulator(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).await.expect("emulator starts")
}

fn quick(seed: u64) -> EmulatorConfig {
    EmulatorConfig {
        seed: Some(seed),
        event_retries: QUICK_RETRIES.to_vec(),
        delivery_deadline: Duration::from_millis(300),
        ack_timeout: Duration::from_secs(5),
        ..EmulatorConfig::default()
    }
}

fn event(text: &str) -> Value {
    json!({"type": "app_mention", "user": "U0EMU000001", "text": text, "channel": "C0EMU00001"})
}

/// The deliveries of one event, in the order sent.
fn of_event<'a>(deliveries: &'a [Delivery], event_id: &str) -> Vec<&'a Delivery> {
    deliveries
        .iter()
        .filter(|d| d.event_id.as_deref() == Some(event_id))
        .collect()
}

/// Which of `hosts` each delivery went to, by index.
fn targets(slack: &Emulator, hosts: &[&Host]) -> Vec<usize> {
    slack
        .deliveries()
        .iter()
        .map(|d| {
            hosts
                .iter()
                .position(|h| h.url == d.target)
                .expect("a delivery to a known host")
        })
        .collect()
}

#[tokio::test]
async fn requests_spread_over_the_hosts_at_random_and_a_seed_replays_the_draw() {
    let hosts = [
        host(Behavior::Ok).await,
        host(Behavior::Ok).await,
        host(Behavior::Ok).await,
    ];
    let all: Vec<&Host> = hosts.iter().collect();
    let mut draws = Vec::new();
    for _ in 0..2 {
        let slack = emulator(EmulatorConfig {
            seed: Some(7),
            ..EmulatorConfig::default()
        })
        .await;
        assert_eq!(slack.seed(), 7);
        slack.set_hosts(hosts.iter().map(Host::urls).collect());
        for n in 0..30 {
            let reply = slack
                .send_slash_command("alice", "general", &format!("/poll {n}"))
                .await
                .unwrap();
            assert_eq!(reply.status, 200);
        }
        let deliveries = slack.deliveries();
        assert_eq!(deliveries.len(), 30);
        assert!(deliveries.iter().all(|d| d.acked()
            && d.endpoint == Endpoint::Commands
            && d.transport == Transport::Http
            && d.retry_num == 0));
        draws.push(targets(&slack, &all));
    }
    assert_eq!(draws[0], draws[1], "the same seed draws the same hosts");
    let used: BTreeSet<usize> = draws[0].iter().copied().collect();
    assert_eq!(used.len(), 3, "every host gets some: {:?}", draws[0]);
    assert!(
        draws[0].windows(2).any(|w| w[0] == w[1]) && draws[0].windows(2).any(|w| w[0] != w[1]),
        "random, not round-robin: {:?}",
        draws[0]
    );
    for (i, host) in hosts.iter().enumerate() {
        let times = draws.iter().flatten().filter(|&&t| t == i).count();
        assert_eq!(host.seen().len(), times, "host {i} saw what was sent to it");
    }

    let other = emulator(EmulatorConfig {
        seed: Some(8),
        ..EmulatorConfig::default()
    })
    .await;
    other.set_hosts(hosts.iter().map(Host::urls).collect());
    for n in 0..30 {
        other
            .send_slash_command("alice", "general", &format!("/poll {n}"))
            .await
            .unwrap();
    }
    assert_ne!(
        targets(&other, &all),
        draws[0],
        "another seed, another draw"
    );
}

#[tokio::test]
async fn a_failing_event_is_retried_like_slack_with_its_event_id_and_headers() {
    let failing = host(Behavior::Status(500)).await;
    let slack = emulator(quick(1)).await;
    slack.set_hosts(vec![failing.urls()]);
    let reply = slack.send_event(event("one"), None).await.unwrap();
    assert_eq!(reply.status, 500, "the last attempt's answer");
    let seen = failing.seen();
    assert_eq!(
        seen.len(),
        4,
        "the first delivery and Slack's three retries"
    );
    let event_id = reply.event_id.clone().unwrap();
    for (n, request) in seen.iter().enumerate() {
        assert_eq!(request.json()["event_id"], event_id.as_str(), "one event");
        let num = request.header("x-slack-retry-num");
        let reason = request.header("x-slack-retry-reason");
        if n == 0 {
            assert_eq!((num, reason), (None, None));
        } else {
            assert_eq!(
                (num, reason),
                (Some(n.to_string().as_str()), Some("http_error"))
            );
        }
    }
    let deliveries = slack.deliveries();
    assert_eq!(
        deliveries.iter().map(|d| d.retry_num).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.outcome == Outcome::Unacked(Failure::Status(500))
                && d.event_id.as_deref() == Some(event_id.as_str()))
    );
    assert_eq!(deliveries[3].retry_reason.as_deref(), Some("http_error"));

    // A host nobody listens on: connection_failed, and an error in the end.
    let slack = emulator(quick(2)).await;
    slack.set_hosts(vec![absent_host().await]);
    assert!(slack.send_event(event("two"), None).await.is_err());
    let deliveries = slack.deliveries();
    assert_eq!(deliveries.len(), 4);
    assert!(matches!(
        deliveries[0].outcome,
        Outcome::Unacked(Failure::Connection(_))
    ));
    assert_eq!(
        deliveries[1].retry_reason.as_deref(),
        Some("connection_failed")
    );

    // X-Slack-No-Retry: 1 turns the retries off.
    let refusing = host(Behavior::NoRetry).await;
    let slack = emulator(quick(3)).await;
    slack.set_hosts(vec![refusing.urls()]);
    let reply = slack.send_event(event("three"), None).await.unwrap();
    assert!(reply.no_retry);
    assert_eq!(refusing.seen().len(), 1);
}

#[tokio::test]
async fn a_retry_goes_to_a_host_drawn_again_until_one_acknowledges() {
    let failing = host(Behavior::Status(503)).await;
    let answering = host(Behavior::Ok).await;
    let slack = emulator(quick(11)).await;
    slack.set_hosts(vec![failing.urls(), answering.urls()]);
    let mut event_ids = Vec::new();
    for n in 0..12 {
        let reply = slack
            .send_event(event(&format!("e{n}")), None)
            .await
            .unwrap();
        event_ids.push(reply.event_id.unwrap());
    }
    let deliveries = slack.deliveries();
    let mut rescued = 0;
    for event_id in &event_ids {
        let attempts = of_event(&deliveries, event_id);
        let (last, earlier) = attempts.split_last().unwrap();
        assert_eq!(
            attempts.iter().map(|d| d.retry_num).collect::<Vec<_>>(),
            (0..attempts.len() as u32).collect::<Vec<_>>(),
            "attempts numbered in order"
        );
        for failed in earlier {
            assert_eq!(failed.target, failing.url);
            assert_eq!(failed.outcome, Outcome::Unacked(Failure::Status(503)));
        }
        if last.target == answering.url {
            assert!(last.acked());
            rescued += usize::from(!earlier.is_empty());
        } else {
            assert_eq!(attempts.len(), 4, "only four failures end an event");
        }
    }
    assert!(
        rescued > 0,
        "some retry reached the other host: {deliveries:#?}"
    );
    let acked: BTreeSet<String> = answering
        .seen()
        .iter()
        .map(|s| s.json()["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        acked.len(),
        answering.seen().len(),
        "a host that acknowledged is not sent the event again"
    );
}

#[tokio::test]
async fn an_event_answered_too_late_is_retried_at_once_and_the_late_answer_kept() {
    let slow = host(Behavior::Slow(Duration::from_millis(600))).await;
    let slack = emulator(EmulatorConfig {
        event_retries: vec![Duration::ZERO],
        ..quick(4)
    })
    .await;
    slack.set_hosts(vec![slow.urls()]);
    let started = std::time::Instant::now();
    let reply = slack.send_event(event("slow"), None).await.unwrap();
    // The retry left at the 300 ms deadline, not after the 600 ms answer.
    assert!(
        started.elapsed() < Duration::from_millis(1100),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, 200);
    let seen = slow.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("x-slack-retry-reason"), Some("http_timeout"));
    // Both requests ran to the end: the first one's answer is recorded too.
    let deadline = tokio::time::Instant::now() + BOUND;
    while !slack.deliveries().iter().all(|d| d.status.is_some()) {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deliveries = slack.deliveries();
    for d in &deliveries {
        assert_eq!(d.outcome, Outcome::Unacked(Failure::Timeout), "{d:?}");
        assert!(
            d.answered_late(),
            "the host did answer 200, after Slack gave up"
        );
        assert!(d.elapsed.unwrap() >= Duration::from_millis(600));
    }
}

#[tokio::test]
async fn slash_commands_and_interactions_are_never_retried() {
    let failing = host(Behavior::Status(500)).await;
    let slack = emulator(quick(5)).await;
    slack.set_hosts(vec![failing.urls()]);
    let reply = slack
        .send_slash_command("alice", "general", "/deploy now")
        .await
        .unwrap();
    assert_eq!(reply.status, 500);
    slack.send_global_shortcut("bob", "app.cb").await.unwrap();
    assert_eq!(failing.seen().len(), 2, "one request each");
    let deliveries = slack.deliveries();
    assert_eq!(
        deliveries.iter().map(|d| d.endpoint).collect::<Vec<_>>(),
        [Endpoint::Commands, Endpoint::Interactivity]
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.outcome == Outcome::Unacked(Failure::Status(500)) && d.event_id.is_none())
    );

    // Too slow for Slack's deadline: unacknowledged, though answered 200.
    let slow = host(Behavior::Slow(Duration::from_millis(500))).await;
    let slack = emulator(quick(6)).await;
    slack.set_hosts(vec![slow.urls()]);
    let reply = slack
        .send_slash_command("alice", "general", "/deploy later")
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.elapsed >= Duration::from_millis(500));
    let deliveries = slack.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].outcome, Outcome::Unacked(Failure::Timeout));
    assert!(deliveries[0].answered_late());

    // Nobody there: the command fails, once.
    let slack = emulator(quick(7)).await;
    slack.set_hosts(vec![absent_host().await]);
    assert!(
        slack
            .send_slash_command("alice", "general", "/deploy never")
            .await
            .is_err()
    );
    let deliveries = slack.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert!(matches!(
        deliveries[0].outcome,
        Outcome::Unacked(Failure::Connection(_))
    ));
}

// --- Socket Mode ---

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(slack: &Emulator) -> (Socket, Value) {
    let opened: Value = reqwest::Client::new()
        .post(format!("{}apps.connections.open", slack.base_url()))
        .bearer_auth(&slack.config().app_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(opened["ok"], true, "{opened}");
    let url = opened["url"].as_str().unwrap().to_string();
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let first = next_json(&mut socket).await;
    (socket, first)
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match timeout(BOUND, socket.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Ws::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Ws::Close(_))) | None => return json!({"type": "closed"}),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return json!({"type": "error", "error": e.to_string()}),
        }
    }
}

async fn ack(socket: &mut Socket, envelope: &Value) {
    let ack = json!({"envelope_id": envelope["envelope_id"]});
    socket.send(Ws::Text(ack.to_string().into())).await.unwrap();
}

/// A socket that acks everything, recording each envelope under its name.
fn acking(mut socket: Socket, name: usize, log: Arc<Mutex<Vec<(usize, Value)>>>) {
    tokio::spawn(async move {
        while let Some(Ok(frame)) = socket.next().await {
            if let Ws::Text(text) = frame {
                let envelope: Value = serde_json::from_str(&text).unwrap();
                if envelope["envelope_id"].is_string() {
                    ack(&mut socket, &envelope).await;
                    log.lock().unwrap().push((name, envelope));
                }
            }
        }
    });
}

#[tokio::test]
async fn envelopes_spread_over_the_connections_at_random() {
    let slack = emulator(quick(21)).await;
    let log: Arc<Mutex<Vec<(usize, Value)>>> = Arc::default();
    for name in 0..3 {
        let (socket, hello) = connect(&slack).await;
        assert_eq!(hello["type"], "hello");
        acking(socket, name, log.clone());
    }
    for n in 0..30 {
        let reply = slack
            .send_event(event(&format!("s{n}")), None)
            .await
            .unwrap();
        assert_eq!(reply.transport, Transport::SocketMode);
    }
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 30);
    let per_socket: BTreeMap<usize, usize> = log.iter().fold(BTreeMap::new(), |mut m, (s, _)| {
        *m.entry(*s).or_default() += 1;
        m
    });
    assert_eq!(
        per_socket.len(),
        3,
        "every connection gets some: {per_socket:?}"
    );
    let order: Vec<usize> = log.iter().map(|(s, _)| *s).collect();
    assert!(
        order.windows(2).any(|w| w[0] == w[1]),
        "random, not round-robin: {order:?}"
    );
    let deliveries = slack.deliveries();
    assert!(deliveries.iter().all(|d| d.acked()
        && d.transport == Transport::SocketMode
        && d.target.starts_with("socket:")
        && d.envelope_id.is_some()
        && d.event_id.is_some()));
    let targets: BTreeSet<&str> = deliveries.iter().map(|d| d.target.as_str()).collect();
    assert_eq!(targets.len(), 3);
    assert_eq!(slack.socket_stats().acked, 30);
}

#[tokio::test]
async fn an_envelope_not_acked_in_time_is_retried_and_one_on_a_lost_socket_redelivered() {
    let slack = emulator(quick(22)).await;
    let (mut socket, _) = connect(&slack).await;
    let sender = slack.clone();
    let sent = tokio::spawn(async move { sender.send_event(event("retry me"), None).await });
    let first = next_json(&mut socket).await;
    assert_eq!(
        (
            first["retry_attempt"].as_u64(),
            first["retry_reason"].as_str()
        ),
        (Some(0), Some(""))
    );
    // Not acked within the deadline: a new envelope, same event, retry 1.
    let second = next_json(&mut socket).await;
    assert_ne!(second["envelope_id"], first["envelope_id"]);
    assert_eq!(second["payload"]["event_id"], first["payload"]["event_id"]);
    assert_eq!(
        (
            second["retry_attempt"].as_u64(),
            second["retry_reason"].as_str()
        ),
        (Some(1), Some("timeout"))
    );
    ack(&mut socket, &second).await;
    let reply = timeout(BOUND, sent).await.unwrap().unwrap().unwrap();
    assert_eq!(reply.envelope_id.as_deref(), second["envelope_id"].as_str());
    // The first envelope's ack comes too late to count, and is kept.
    ack(&mut socket, &first).await;
    let deadline = tokio::time::Instant::now() + BOUND;
    while slack.socket_stats().late_acks == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the late ack is seen"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deliveries = slack.deliveries();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].outcome, Outcome::Unacked(Failure::Timeout));
    assert!(deliveries[0].answered_late());
    assert!(deliveries[1].acked());
    assert_eq!(deliveries[1].retry_num, 1);
    let stats = slack.socket_stats();
    assert_eq!(
        (
            stats.retries,
            stats.acked,
            stats.late_acks,
            stats.unknown_acks
        ),
        (1, 1, 1, 0)
    );

    // A socket lost with an envelope on it: the same envelope on another.
    let (mut other, _) = connect(&slack).await;
    let sender = slack.clone();
    let command =
        tokio::spawn(async move { sender.send_slash_command("bob", "random", "/ping").await });
    // Envelopes are text frames; the emulator sends these sockets nothing else.
    let (got, envelope) = timeout(BOUND, async {
        tokio::select! {
            Some(Ok(Ws::Text(t))) = socket.next() => (0, t),
            Some(Ok(Ws::Text(t))) = other.next() => (1, t),
        }
    })
    .await
    .expect("the command arrives on one of the sockets");
    let envelope: Value = serde_json::from_str(&envelope).unwrap();
    assert_eq!(envelope["type"], "slash_commands");
    // Whichever socket got it goes away unacked; the other gets it again.
    let (lost, mut keep) = if got == 0 {
        (socket, other)
    } else {
        (other, socket)
    };
    drop(lost);
    let again = next_json(&mut keep).await;
    assert_eq!(again["envelope_id"], envelope["envelope_id"]);
    ack(&mut keep, &again).await;
    assert_eq!(
        timeout(BOUND, command)
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .status,
        200
    );
    let deliveries = slack.deliveries();
    let of_envelope: Vec<&Delivery> = deliveries
        .iter()
        .filter(|d| d.envelope_id.as_deref() == envelope["envelope_id"].as_str())
        .collect();
    assert_eq!(of_envelope.len(), 2);
    assert_eq!(
        of_envelope[0].outcome,
        Outcome::Unacked(Failure::SocketClosed)
    );
    assert!(of_envelope[1].acked());
    assert_ne!(of_envelope[0].target, of_envelope[1].target);
    assert_eq!(slack.socket_stats().redelivered, 1);
}

#[tokio::test]
async fn an_eleventh_connection_is_refused_as_slack_refuses_it() {
    let slack = emulator(quick(23)).await;
    let mut sockets = Vec::new();
    for n in 1..=10 {
        let (socket, hello) = connect(&slack).await;
        assert_eq!(hello["type"], "hello");
        assert_eq!(hello["num_connections"], n);
        sockets.push(socket);
    }
    // apps.connections.open still answers; the socket itself is refused.
    let (mut eleventh, first) = connect(&slack).await;
    assert_eq!(
        (first["type"].as_str(), first["reason"].as_str()),
        (Some("disconnect"), Some("too_many_websockets"))
    );
    assert_eq!(next_json(&mut eleventh).await["type"], "closed");
    let stats = slack.socket_stats();
    assert_eq!(
        (
            stats.open_connections,
            stats.max_open_connections,
            stats.refused_connections
        ),
        (10, 10, 1)
    );
    // Envelopes never go to the refused one.
    let log: Arc<Mutex<Vec<(usize, Value)>>> = Arc::default();
    for (name, socket) in sockets.drain(1..).enumerate() {
        acking(socket, name, log.clone());
    }
    // One closes: there is room for another.
    drop(sockets);
    assert!(slack.wait_for_sockets(9, BOUND).await);
    let (socket, hello) = connect(&slack).await;
    assert_eq!(hello["type"], "hello");
    acking(socket, 9, log.clone());
    for n in 0..5 {
        slack
            .send_event(event(&format!("c{n}")), None)
            .await
            .unwrap();
    }
    assert_eq!(log.lock().unwrap().len(), 5);
    assert_eq!(
        slack.socket_stats().max_open_connections,
        10,
        "never above Slack's limit"
    );
}

// --- the ground truth ---

#[tokio::test]
async fn every_web_api_call_is_logged_with_its_arguments_and_answer() {
    let answering = host(Behavior::Ok).await;
    let slack = emulator(quick(31)).await;
    slack.set_hosts(vec![answering.urls()]);
    let client = reqwest::Client::new();
    let api = |method: &str| format!("{}{method}", slack.base_url());
    let bot = slack.config().bot_token.clone();
    let general = slack.channel_id("general").unwrap();

    let posted: Value = client
        .post(api("chat.postMessage"))
        .bearer_auth(&bot)
        .json(&json!({"channel": general, "text": "hello",
            "metadata": {"event_type": "botyard_outbox", "event_payload": {"outbox_id": "o-42"}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posted["ok"], true);
    client
        .post(api("reactions.add"))
        .form(&[
            ("token", bot.as_str()),
            ("channel", &general),
            ("timestamp", posted["ts"].as_str().unwrap()),
            ("name", "tada"),
        ])
        .send()
        .await
        .unwrap();
    client.post(api("auth.test")).send().await.unwrap();
    client
        .post(api("auth.test"))
        .bearer_auth("xoxb-not-ours")
        .send()
        .await
        .unwrap();
    slack.inject("chat.update", Fault::ServerError(503), 1);
    let faulted = client
        .post(api("chat.update"))
        .bearer_auth(&bot)
        .json(&json!({"channel": general, "ts": posted["ts"], "text": "edited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status(), 503);
    // A command's response_url post is how a host answers too.
    let reply = slack
        .send_slash_command("alice", "general", "/ask")
        .await
        .unwrap();
    client
        .post(reply.response_url.unwrap())
        .json(&json!({"text": "later", "response_type": "in_channel"}))
        .send()
        .await
        .unwrap();

    let log = slack.call_log();
    let methods: Vec<&str> = log.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "chat.postMessage",
            "reactions.add",
            "auth.test",
            "auth.test",
            "chat.update",
            "response_url"
        ]
    );
    assert_eq!(
        log.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let app = Some(slack.config().api_app_id.clone());

    let post = &log[0];
    assert_eq!(
        (post.app.clone(), post.token, post.ok, post.status),
        (app.clone(), CallToken::Bot, true, 200)
    );
    assert_eq!(post.args["text"], "hello");
    assert_eq!(post.args["metadata"]["event_payload"]["outbox_id"], "o-42");
    assert_eq!(post.response["ts"], posted["ts"]);
    assert!(post.received_micros <= post.answered_micros);

    let react = &log[1];
    assert_eq!(react.args["name"], "tada", "form arguments");
    assert!(react.args.get("token").is_none(), "the token is not logged");
    assert_eq!(react.token, CallToken::Bot);

    assert_eq!(
        (log[2].token, log[2].app.clone(), log[2].error.as_deref()),
        (CallToken::Missing, None, Some("not_authed"))
    );
    assert_eq!(
        (log[3].token, log[3].app.clone(), log[3].error.as_deref()),
        (CallToken::Invalid, None, Some("invalid_auth"))
    );

    let update = &log[4];
    assert_eq!((update.status, update.ok), (503, false));
    assert_eq!(update.fault.as_deref(), Some("ServerError(503)"));
    assert_eq!(update.args["text"], "edited");

    let later = &log[5];
    assert_eq!(
        (later.token, later.app.clone(), later.ok),
        (CallToken::Url, app, true)
    );
    assert_eq!(later.args["text"], "later");
    assert!(later.response_url.is_some());
    assert_eq!(slack.messages("general").last().unwrap().text, "later");
}

#[tokio::test]
async fn message_metadata_round_trips_through_conversations_history() {
    let slack = emulator(quick(32)).await;
    let client = reqwest::Client::new();
    let bot = slack.config().bot_token.clone();
    let general = slack.channel_id("general").unwrap();
    let metadata = json!({"event_type": "botyard_outbox", "event_payload": {"outbox_id": "o-7", "attempt": 1}});
    // As a form, metadata is JSON text, the way Slack's SDKs send it.
    let posted: Value = client
        .post(format!("{}chat.postMessage", slack.base_url()))
        .bearer_auth(&bot)
        .form(&[
            ("channel", general.as_str()),
            ("text", "done"),
            ("metadata", &metadata.to_string()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posted["message"]["metadata"], metadata);
    let history = |include: bool| {
        let mut query = vec![("channel", general.clone())];
        if include {
            query.push(("include_all_metadata", "true".into()));
        }
        client
            .get(format!("{}conversations.history", slack.base_url()))
            .bearer_auth(&bot)
            .query(&query)
            .send()
    };
    let with: Value = history(true).await.unwrap().json().await.unwrap();
    let message = &with["messages"][0];
    assert_eq!(message["ts"], posted["ts"]);
    assert_eq!(
        message["metadata"], metadata,
        "the outbox id is found again"
    );
    let without: Value = history(false).await.unwrap().json().await.unwrap();
    assert!(
        without["messages"][0].get("metadata").is_none(),
        "only when asked for"
    );
    assert_eq!(
        slack.messages("general").last().unwrap().metadata,
        Some(metadata)
    );
}
