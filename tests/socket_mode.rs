//! The Socket Mode client against the Slack emulator over real loopback
//! WebSockets: commands answered through the ack payload, a forced refresh
//! in the middle of traffic losing nothing, and reconnecting after
//! `apps.connections.open` fails. Replicas on one PostgreSQL database
//! lease Slack's 10 sockets between them: never an eleventh, refreshes
//! included, and a stopped replica's slots picked up by the others.

use std::sync::Arc;
use std::time::Duration;

use crate::support::TestHost;
use botyard::emulator::{DisconnectReason, Emulator, EmulatorConfig, Fault, Transport};
use botyard::inbound::dispatch::Dispatcher;
use botyard::inbound::socket_mode::{SocketMode, SocketModeConfig};
use botyard::routing::Apps;
use botyard::storage::{Storage, postgres};
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

// --- replicas sharing Slack's 10 sockets --------------------------------------

/// How long the replicas' slot leases last: a killed replica's slots are
/// free again after at most this long.
const SLOT_LEASE: Duration = Duration::from_secs(5);

/// Replicas of one app sharing one database and one Slack: one loaded host
/// answers for all of them (what each dispatches does not matter here),
/// each replica its own PostgreSQL incarnation and Socket Mode client.
struct Cluster {
    _host: TestHost,
    dispatcher: Dispatcher,
    url: String,
    slack: Emulator,
    replicas: Vec<Option<SocketMode>>,
}

impl Cluster {
    async fn start(grace: Duration) -> Cluster {
        Self::start_on(grace, crate::support::postgres::database()).await
    }

    /// [`Cluster::start`] on the database at `url`.
    async fn start_on(grace: Duration, url: String) -> Cluster {
        let host = TestHost::new("", &[("hello", "hello-rust")]);
        let apps = host.start().await;
        let slack = Emulator::start(EmulatorConfig {
            disconnect_grace: grace,
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator starts");
        let dispatcher = Dispatcher::new(apps, Duration::from_millis(2500), Duration::from_secs(5));
        Cluster {
            _host: host,
            dispatcher,
            url,
            slack,
            replicas: Vec::new(),
        }
    }

    /// Starts replica `name` asking for `connections` sockets.
    async fn replica(&mut self, name: &str, connections: usize) {
        let storage = Storage::connect_postgres(postgres::Options::new(&self.url, name))
            .await
            .expect("replica connects");
        let mut config =
            SocketModeConfig::new(self.slack.base_url(), self.slack.config().app_token.clone());
        config.connections = connections;
        config.backoff_min = Duration::from_millis(50);
        config.retire_timeout = Duration::from_secs(3);
        config.slot_lease = SLOT_LEASE;
        let client =
            SocketMode::start_with_slots(config, self.dispatcher.clone(), storage.slots.clone())
                .expect("valid settings");
        self.replicas.push(Some(client));
    }

    /// Who holds which slot, as the database says.
    async fn holders(&self) -> Vec<(u32, String)> {
        let observer = Storage::connect_postgres(postgres::Options {
            observer: true,
            ..postgres::Options::new(&self.url, "observer")
        })
        .await
        .unwrap();
        observer
            .slots
            .slot_leases()
            .await
            .unwrap()
            .into_iter()
            .map(|h| (h.slot, h.replica))
            .collect()
    }

    /// Waits until `count` sockets are open and stay so for a moment.
    async fn settle(&self, count: usize, within: Duration) {
        assert!(
            self.slack.wait_for_sockets(count, within).await,
            "{count} sockets open within {within:?}: {:?}, slots {:?}",
            self.slack.socket_stats(),
            self.holders().await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            self.slack.socket_stats().open_connections,
            count,
            "slots {:?}",
            self.holders().await
        );
    }

    /// Sends `n` commands and checks each is answered through its ack.
    async fn traffic(&self, tag: &str, n: usize) {
        for i in 0..n {
            let name = format!("{tag}{i}");
            let (text, _) = hello(&self.slack, &name).await;
            assert!(text.contains(&format!("{name}!")), "{name}: {text}");
        }
    }

    /// Slack's limit held all along: never an eleventh socket, none refused,
    /// everything sent acknowledged.
    fn assert_within_slacks_limit(&self) {
        let stats = self.slack.socket_stats();
        assert!(stats.max_open_connections <= 10, "{stats:?}");
        assert_eq!(stats.refused_connections, 0, "{stats:?}");
        assert_eq!((stats.pending, stats.unknown_acks), (0, 0), "{stats:?}");
        assert_eq!(
            stats.acked,
            stats.delivered - stats.redelivered,
            "{stats:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_of_four_sockets_never_open_more_than_slacks_ten() {
    let grace = Duration::from_secs(2);
    let mut cluster = Cluster::start(grace).await;
    for name in ["a", "b", "c"] {
        cluster.replica(name, 4).await;
    }
    // Twelve asked for; nine steady slots, the tenth kept for refreshes.
    cluster.settle(9, BOUND).await;
    let holders = cluster.holders().await;
    assert_eq!(holders.len(), 9, "{holders:?}");
    for name in ["a", "b", "c"] {
        let held = holders.iter().filter(|(_, r)| r == name).count();
        assert!((1..=4).contains(&held), "{name} holds {held}: {holders:?}");
    }
    cluster.traffic("steady", 20).await;

    // Slack refreshes every socket at once: one slot at a time borrows the
    // spare and opens its replacement before the old socket closes; the
    // others keep serving until Slack closes theirs, then reconnect.
    let opened_before = cluster.slack.socket_stats().connections_opened;
    let slack = cluster.slack.clone();
    let during = tokio::spawn(async move {
        for i in 0..10 {
            let name = format!("during{i}");
            let (text, _) = hello(&slack, &name).await;
            assert!(text.contains(&format!("{name}!")), "{name}: {text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    for _ in 0..2 {
        cluster.slack.disconnect(DisconnectReason::RefreshRequested);
        // The spare in use: ten open, the tenth before any old one closed.
        assert!(
            cluster.slack.wait_for_sockets(10, grace).await,
            "a replacement opened on the spare before the old sockets closed: {:?}",
            cluster.slack.socket_stats()
        );
        cluster.settle(9, BOUND).await;
    }
    timeout(BOUND, during).await.unwrap().unwrap();
    let stats = cluster.slack.socket_stats();
    assert_eq!(stats.connections_opened, opened_before + 18, "{stats:?}");
    cluster.traffic("after", 20).await;
    cluster.assert_within_slacks_limit();
    assert_eq!(cluster.slack.socket_stats().max_open_connections, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replicas_slots_are_taken_by_the_others() {
    let mut cluster = Cluster::start(GRACE).await;
    for name in ["a", "b", "c"] {
        cluster.replica(name, 4).await;
    }
    cluster.settle(9, BOUND).await;
    let count =
        |holders: &[(u32, String)], name: &str| holders.iter().filter(|(_, r)| r == name).count();
    let holders = cluster.holders().await;
    // The replicas lease in turn: two got four, one what was left.
    let mut held: Vec<(usize, usize)> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, name)| (count(&holders, name), i))
        .collect();
    held.sort_unstable();
    assert_eq!(
        held.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 4, 4],
        "{holders:?}"
    );
    let (short, full, other) = (held[0].1, held[1].1, held[2].1);
    let names = ["a", "b", "c"];

    // Killed: nothing released, its sockets just gone. Once its leases run
    // out the short replica takes what it lacks.
    cluster.replicas[full].take().unwrap().abort();
    cluster
        .settle(8, SLOT_LEASE + Duration::from_secs(10))
        .await;
    let holders = cluster.holders().await;
    assert_eq!(count(&holders, names[short]), 4, "{holders:?}");
    assert_eq!(count(&holders, names[full]), 0, "{holders:?}");
    cluster.traffic("after-kill", 10).await;

    // A new replica gets the one slot left; then one stops cleanly,
    // releasing its slots at once, and the newcomer takes what it wants.
    cluster.replica("d", 4).await;
    cluster.settle(9, BOUND).await;
    timeout(BOUND, cluster.replicas[other].take().unwrap().shutdown())
        .await
        .expect("shutdown is bounded");
    cluster.settle(8, BOUND).await;
    let holders = cluster.holders().await;
    assert_eq!(count(&holders, "d"), 4, "{holders:?}");
    assert_eq!(count(&holders, names[other]), 0, "{holders:?}");
    cluster.traffic("after-stop", 10).await;
    cluster.assert_within_slacks_limit();
}

/// A replica that cannot renew its leases (the database is gone) closes
/// their sockets before the leases run out, since another replica may take
/// the slots then; once the database is back it leases them and reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_cannot_renew_its_leases_closes_their_sockets() {
    use crate::support::postgres::Server;
    // Durable: what was committed survives the crash.
    let mut server = tokio::task::block_in_place(Server::start_durable);
    let mut cluster = Cluster::start_on(GRACE, server.url("postgres")).await;
    cluster.replica("a", 2).await;
    cluster.settle(2, BOUND).await;
    cluster.traffic("before", 5).await;

    tokio::task::block_in_place(|| server.crash());
    assert!(
        cluster
            .slack
            .wait_for_sockets(0, SLOT_LEASE + Duration::from_secs(5))
            .await,
        "sockets closed once the leases could not be renewed: {:?}",
        cluster.slack.socket_stats()
    );

    tokio::task::block_in_place(|| server.restart());
    cluster.settle(2, BOUND).await;
    cluster.traffic("after", 5).await;
    cluster.assert_within_slacks_limit();
}

/// One machine (SQLite) shares its sockets with nobody: every connection
/// asked for is opened, the tenth too, as without slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_machine_every_connection_asked_for_is_opened() {
    let cluster = Cluster::start_on(GRACE, String::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("botyard.db")).unwrap();
    assert!(!storage.slots.shared());
    let mut config = SocketModeConfig::new(
        cluster.slack.base_url(),
        cluster.slack.config().app_token.clone(),
    );
    config.connections = 10;
    let client =
        SocketMode::start_with_slots(config, cluster.dispatcher.clone(), storage.slots.clone())
            .expect("valid settings");
    assert!(
        cluster.slack.wait_for_sockets(10, BOUND).await,
        "{:?}",
        cluster.slack.socket_stats()
    );
    cluster.traffic("local", 5).await;
    timeout(BOUND, client.shutdown()).await.expect("bounded");
    assert!(cluster.slack.wait_for_sockets(0, BOUND).await);
}
