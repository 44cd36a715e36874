//! The Socket Mode client against the Slack emulator over real loopback
//! WebSockets: commands answered through the ack payload, a forced refresh
//! in the middle of traffic losing nothing, and reconnecting after
//! `apps.connections.open` fails.

use std::sync::Arc;
use std::time::Duration;

use crate::support::TestHost;
use botyard::emulator::{DisconnectReason, Emulator, EmulatorConfig, Fault, Transport};
use botyard::inbound::dispatch::Dispatcher;
use botyard::inbound::socket_mode::{SocketMode, SocketModeConfig};
use botyard::routing::Apps;
use tokio::time::timeout;

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(20);
const GRACE: Duration = Duration::from_millis(400);
/// Long on purpose: a client that only reconnects after Slack closes the
/// old socket (instead of opening the new one first) would make envelopes
/// wait this long, and the latency assertions would catch it.
const BACKOFF: Duration = Duration::from_secs(3);

struct Harness {
    _host: TestHost,
    _runtime: Arc<Apps>,
    slack: Emulator,
    client: Option<SocketMode>,
}

async fn start(connections: usize, faults: &[(Fault, usize)]) -> Harness {
    let host = TestHost::new("", &[("hello", "hello-rust")]);
    let runtime = host.start().await;
    let slack = Emulator::start(EmulatorConfig {
        disconnect_grace: GRACE,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    for (fault, times) in faults {
        slack.inject("apps.connections.open", fault.clone(), *times);
    }
    let dispatcher = Dispatcher::new(
        runtime.clone(),
        Duration::from_millis(2500),
        Duration::from_secs(5),
    );
    let mut config = SocketModeConfig::new(slack.base_url(), slack.config().app_token.clone());
    config.connections = connections;
    config.backoff_min = if faults.is_empty() {
        BACKOFF
    } else {
        Duration::from_millis(50)
    };
    config.retire_timeout = Duration::from_secs(3);
    let client = SocketMode::start(config, dispatcher).expect("valid settings");
    assert!(
        slack.wait_for_sockets(connections, BOUND).await,
        "{connections} sockets open: {:?}",
        slack.socket_stats()
    );
    Harness {
        _host: host,
        _runtime: runtime,
        slack,
        client: Some(client),
    }
}

/// Sends `/hello <name>` as alice in #general; returns the ack's reply text.
async fn hello(slack: &Emulator, name: &str) -> (String, Duration) {
    let reply = timeout(
        BOUND,
        slack.send_slash_command("alice", "general", &format!("/hello {name}")),
    )
    .await
    .expect("answered in time")
    .expect("delivered");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.transport, Transport::SocketMode);
    let body = reply.json().unwrap_or_default();
    let text = body["text"].as_str().unwrap_or_default().to_string();
    (text, reply.elapsed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_is_answered_through_the_ack() {
    let mut h = start(1, &[]).await;
    let (text, elapsed) = hello(&h.slack, "world").await;
    assert!(text.contains("world! You have said hello 1 time"), "{text}");
    assert!(elapsed < Duration::from_secs(3), "acked in {elapsed:?}");
    // The emulator applied the ack payload: everyone sees the in-channel reply.
    let posted = h.slack.messages("general");
    assert!(
        posted.iter().any(|m| m.text == text),
        "reply in #general: {posted:?}"
    );
    let stats = h.slack.socket_stats();
    assert_eq!((stats.delivered, stats.acked, stats.pending), (1, 1, 0));

    // Shutting down closes the socket from our side.
    timeout(BOUND, h.client.take().unwrap().shutdown())
        .await
        .expect("shutdown is bounded");
    assert!(h.slack.wait_for_sockets(0, BOUND).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_refresh_in_the_middle_of_traffic_loses_nothing() {
    const SENDERS: usize = 4;
    const EACH: usize = 60;
    let connections = 2;
    let h = start(connections, &[]).await;
    let slack = h.slack.clone();

    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let slack = slack.clone();
            tokio::spawn(async move {
                let mut worst = Duration::ZERO;
                for i in 0..EACH {
                    let name = format!("s{s}n{i}");
                    let (text, elapsed) = hello(&slack, &name).await;
                    assert!(text.contains(&format!("{name}!")), "{name}: {text}");
                    worst = worst.max(elapsed);
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                worst
            })
        })
        .collect();

    // Refresh twice while the senders are busy.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(120)).await;
        slack.disconnect(DisconnectReason::RefreshRequested);
        // The replacements open while the old sockets are still there.
        assert!(
            slack
                .wait_for_sockets(2 * connections, GRACE - Duration::from_millis(50))
                .await,
            "new sockets opened before the old ones closed: {:?}",
            slack.socket_stats()
        );
        assert!(slack.wait_for_sockets(connections, BOUND).await);
    }

    assert!(
        !senders.iter().all(|s| s.is_finished()),
        "traffic still flowing after both refreshes"
    );
    for sender in senders {
        let worst = timeout(BOUND, sender)
            .await
            .expect("senders finish")
            .expect("sender ok");
        // No envelope waited for a reconnect backoff.
        assert!(worst < BACKOFF / 2, "slowest ack took {worst:?}");
    }

    let stats = slack.socket_stats();
    let sent = (SENDERS * EACH) as u64;
    assert_eq!(stats.acked, sent, "{stats:?}");
    assert_eq!(
        stats.delivered, stats.acked,
        "nothing redelivered: {stats:?}"
    );
    assert_eq!(
        (stats.redelivered, stats.pending, stats.unknown_acks),
        (0, 0, 0)
    );
    assert_eq!(
        stats.connections_opened,
        3 * connections as u64,
        "{stats:?}"
    );

    // Every command answered exactly once, in the channel.
    let posted = slack.messages("general");
    for s in 0..SENDERS {
        for i in 0..EACH {
            let name = format!("s{s}n{i}!");
            let n = posted.iter().filter(|m| m.text.contains(&name)).count();
            assert_eq!(n, 1, "{name} answered {n} times");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_failures_are_retried_with_backoff() {
    let h = start(
        1,
        &[
            (Fault::ServerError(503), 2),
            (Fault::Error("internal_error".into()), 1),
        ],
    )
    .await;
    assert_eq!(h.slack.pending_faults("apps.connections.open"), 0);
    assert_eq!(h.slack.calls("apps.connections.open"), 4);
    let (text, _) = hello(&h.slack, "again").await;
    assert!(text.contains("again!"), "{text}");
}
