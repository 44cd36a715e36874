//! The Web API client and durable outbox delivery against the Slack emulator
//! over real loopback HTTP: placeholders resolved to real ids, 429 and 5xx
//! retried, Slack errors final, and a restart delivering what was pending —
//! once. Outbox entries are written as the `slack` capability writes them.

use std::time::{Duration, Instant};

use botyard::contract::retry::Backoff;
use botyard::emulator::{Emulator, EmulatorConfig, Fault};
use botyard::slack::delivery::{Delivery, DeliveryConfig};
use botyard::slack::web_api::{RetryPolicy, WebApi, WebApiError};
use botyard::storage::{NewCall, OutboxEntry, OutboxStatus, Storage};
use serde_json::{Value, json};

/// Longest any test waits for delivery; far above what the work needs.
const BOUND: Duration = Duration::from_secs(10);

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
        max_retry_after: Duration::from_secs(5),
        request_timeout: Duration::from_secs(3),
    }
}

fn fast_delivery() -> DeliveryConfig {
    DeliveryConfig {
        post_interval: Duration::from_millis(20),
        poll_interval: Duration::from_millis(200),
        retry: Backoff::new(Duration::from_millis(50), Duration::from_millis(200)),
        batch: 100,
        lease: Duration::from_secs(60),
    }
}

struct Setup {
    dir: tempfile::TempDir,
    storage: Storage,
    slack: Emulator,
}

impl Setup {
    async fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(&dir.path().join("botyard.db")).unwrap();
        let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
        Setup {
            dir,
            storage,
            slack,
        }
    }

    fn api(&self) -> WebApi {
        WebApi::with_retry(
            &self.slack.base_url(),
            &self.slack.config().bot_token,
            fast_retry(),
        )
    }

    fn start(&self, config: DeliveryConfig) -> Delivery {
        Delivery::start(self.storage.clone(), self.api(), config)
    }

    async fn enqueue(&self, method: &str, payload: Value) -> i64 {
        enqueue_as(&self.storage, "app", method, payload).await
    }

    async fn entry(&self, id: i64) -> OutboxEntry {
        self.storage
            .outbox
            .entries(None, id - 1, 1)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.id == id)
            .unwrap()
    }

    /// Waits until none of `ids` is pending; panics after [`BOUND`].
    async fn settled(&self, ids: &[i64]) -> Vec<OutboxEntry> {
        let deadline = Instant::now() + BOUND;
        loop {
            let mut entries = Vec::new();
            for id in ids {
                entries.push(self.entry(*id).await);
            }
            if entries.iter().all(|e| e.status != OutboxStatus::Pending) {
                return entries;
            }
            assert!(
                Instant::now() < deadline,
                "outbox not settled in time: {entries:#?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Queues a pending Slack call for `app`, as an app's invocation would.
async fn enqueue_as(storage: &Storage, app: &str, method: &str, payload: Value) -> i64 {
    storage
        .enqueue(NewCall {
            app,
            method,
            payload: &payload,
            status: OutboxStatus::Pending,
        })
        .await
        .unwrap()
}

fn placeholder(id: i64) -> String {
    format!("botyard-outbox-{id}")
}

#[tokio::test]
async fn post_then_update_of_its_placeholder_is_one_edited_message() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let alice = s.slack.user_id("alice").unwrap();
    let post = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "Lunch? 0 votes"}),
        )
        .await;
    let update = s
        .enqueue(
            "chat.update",
            json!({"channel": general, "ts": placeholder(post), "text": "Lunch? 1 vote"}),
        )
        .await;
    // A DM is posted to the user id; its update must name the D… channel.
    let dm = s
        .enqueue("chat.postMessage", json!({"channel": alice, "text": "hi"}))
        .await;
    let dm_update = s
        .enqueue(
            "chat.update",
            json!({"channel": alice, "ts": placeholder(dm), "text": "hi again"}),
        )
        .await;
    let delivery = s.start(fast_delivery());
    let entries = s.settled(&[post, update, dm, dm_update]).await;
    delivery.stop().await;

    for e in &entries {
        assert_eq!(e.status, OutboxStatus::Delivered, "{e:#?}");
        assert_eq!(e.attempts, 1);
    }
    let messages = s.slack.messages(&general);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0].text, "Lunch? 1 vote");
    assert!(messages[0].edited);
    // The stored result holds Slack's real ts, which later placeholders use.
    assert_eq!(
        entries[0].result.as_ref().unwrap()["ts"].as_str(),
        Some(messages[0].ts.as_str())
    );
    let dms = s.slack.messages(&s.slack.dm_channel("alice").unwrap());
    assert_eq!(dms.len(), 1, "{dms:#?}");
    assert_eq!(dms[0].text, "hi again");
    assert!(dms[0].edited);
    assert_eq!(s.slack.calls("chat.postMessage"), 2);
    assert_eq!(s.slack.calls("chat.update"), 2);
}

#[tokio::test]
async fn rate_limit_is_waited_out_as_slack_asks() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    s.slack.inject(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    let id = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "menu"}),
        )
        .await;
    let started = Instant::now();
    let delivery = s.start(fast_delivery());
    let entries = s.settled(&[id]).await;
    let elapsed = started.elapsed();
    delivery.stop().await;

    assert_eq!(entries[0].status, OutboxStatus::Delivered);
    assert!(
        elapsed >= Duration::from_secs(1),
        "Retry-After: 1 not honoured, delivered after {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert_eq!(s.slack.calls("chat.postMessage"), 2);
    assert_eq!(s.slack.messages(&general).len(), 1);
}

#[tokio::test]
async fn client_honours_retry_after_and_returns_the_answer() {
    let s = Setup::new().await;
    s.slack.inject(
        "auth.test",
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    let started = Instant::now();
    let auth = s.api().auth_test().await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(1), "after {elapsed:?}");
    assert_eq!(auth.user_id, s.slack.config().bot_user_id);
    assert_eq!(auth.team_id, s.slack.config().team_id);
    assert_eq!(s.slack.calls("auth.test"), 2);

    // A Retry-After longer than the policy allows ends the call at once,
    // typed, so delivery can park the entry instead of blocking.
    s.slack.inject(
        "auth.test",
        Fault::RateLimited {
            retry_after_secs: 30,
        },
        1,
    );
    let err = s.api().auth_test().await.unwrap_err();
    assert!(
        matches!(err, WebApiError::RateLimited { retry_after } if retry_after == Duration::from_secs(30)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(s.slack.calls("auth.test"), 3);
}

#[tokio::test]
async fn server_errors_are_retried_until_slack_takes_the_post() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    // More failures than one call's 3 attempts: the entry stays pending
    // (attempt recorded) and a later pass delivers it.
    s.slack
        .inject("chat.postMessage", Fault::ServerError(503), 2);
    s.slack
        .inject("chat.postMessage", Fault::ServerError(500), 2);
    let id = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "up"}),
        )
        .await;
    let delivery = s.start(fast_delivery());
    let entries = s.settled(&[id]).await;
    delivery.stop().await;

    assert_eq!(entries[0].status, OutboxStatus::Delivered, "{entries:#?}");
    assert_eq!(
        entries[0].attempts, 2,
        "one failed call, one that succeeded"
    );
    assert_eq!(s.slack.calls("chat.postMessage"), 5);
    assert_eq!(s.slack.pending_faults("chat.postMessage"), 0);
    assert_eq!(s.slack.messages(&general).len(), 1);
}

#[tokio::test]
async fn slack_error_fails_the_entry_without_retry() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let bad = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": "C0NOSUCH", "text": "x"}),
        )
        .await;
    // An update of a message that was never posted cannot be sent either.
    let update = s
        .enqueue(
            "chat.update",
            json!({"channel": "C0NOSUCH", "ts": placeholder(bad), "text": "y"}),
        )
        .await;
    let good = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "ok"}),
        )
        .await;
    let delivery = s.start(fast_delivery());
    let entries = s.settled(&[bad, update, good]).await;
    delivery.stop().await;

    assert_eq!(entries[0].status, OutboxStatus::Failed);
    assert_eq!(entries[0].last_error.as_deref(), Some("channel_not_found"));
    assert_eq!(entries[0].attempts, 1);
    assert_eq!(entries[1].status, OutboxStatus::Failed);
    assert!(
        entries[1]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("message_not_found"),
        "{entries:#?}"
    );
    assert_eq!(entries[2].status, OutboxStatus::Delivered);
    assert_eq!(
        s.slack.calls("chat.postMessage"),
        2,
        "no retry of the error"
    );
    assert_eq!(s.slack.calls("chat.update"), 0);
    assert_eq!(s.slack.messages(&general).len(), 1);
}

#[tokio::test]
async fn placeholders_of_another_app_are_not_resolved() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let theirs = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "mine"}),
        )
        .await;
    let attack = enqueue_as(
        &s.storage,
        "other",
        "chat.update",
        json!({"channel": general, "ts": placeholder(theirs), "text": "pwned"}),
    )
    .await;
    let delivery = s.start(fast_delivery());
    let entries = s.settled(&[theirs, attack]).await;
    delivery.stop().await;
    assert_eq!(entries[0].status, OutboxStatus::Delivered);
    assert_eq!(entries[1].status, OutboxStatus::Failed);
    assert_eq!(s.slack.calls("chat.update"), 0);
    assert_eq!(s.slack.messages(&general)[0].text, "mine");
}

#[tokio::test]
async fn pending_entries_from_before_a_restart_are_delivered_exactly_once() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let random = s.slack.channel_id("random").unwrap();
    let path = s.dir.path().join("botyard.db");
    // The previous host queued these and was killed before delivering any.
    let ids = {
        let before = Storage::open(&path).unwrap();
        let mut ids = Vec::new();
        for (channel, text) in [(&general, "one"), (&random, "two"), (&general, "three")] {
            ids.push(
                enqueue_as(
                    &before,
                    "app",
                    "chat.postMessage",
                    json!({"channel": channel, "text": text}),
                )
                .await,
            );
        }
        ids.push(
            enqueue_as(
                &before,
                "app",
                "chat.update",
                json!({"channel": general, "ts": placeholder(ids[0]), "text": "one, edited"}),
            )
            .await,
        );
        ids
    };
    let restarted = Storage::open(&path).unwrap();
    let delivery = Delivery::start(restarted.clone(), s.api(), fast_delivery());
    let entries = s.settled(&ids).await;
    assert!(entries.iter().all(|e| e.status == OutboxStatus::Delivered));
    delivery.stop().await;

    // Restart again: nothing is sent twice.
    let again = Delivery::start(Storage::open(&path).unwrap(), s.api(), fast_delivery());
    tokio::time::sleep(Duration::from_millis(500)).await;
    again.stop().await;

    let texts = |ch: &str| {
        s.slack
            .messages(ch)
            .into_iter()
            .map(|m| m.text)
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&general), ["one, edited", "three"]);
    assert_eq!(texts(&random), ["two"]);
    assert_eq!(s.slack.calls("chat.postMessage"), 3);
    assert_eq!(s.slack.calls("chat.update"), 1);
}

#[tokio::test]
async fn enqueue_wakes_delivery_without_waiting_for_the_poll() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let config = DeliveryConfig {
        poll_interval: Duration::from_secs(60),
        ..fast_delivery()
    };
    let delivery = s.start(config);
    // Let the first (empty) pass finish so the task is asleep.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let id = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "now"}),
        )
        .await;
    let entries = s.settled(&[id]).await;
    let elapsed = started.elapsed();
    delivery.stop().await;
    assert_eq!(entries[0].status, OutboxStatus::Delivered);
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[tokio::test]
async fn posts_to_one_channel_are_paced() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let random = s.slack.channel_id("random").unwrap();
    let interval = Duration::from_millis(300);
    let config = DeliveryConfig {
        post_interval: interval,
        ..fast_delivery()
    };
    let mut paced: Vec<i64> = Vec::new();
    for i in 0..3 {
        paced.push(
            s.enqueue(
                "chat.postMessage",
                json!({"channel": general, "text": i.to_string()}),
            )
            .await,
        );
    }
    let other = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": random, "text": "other"}),
        )
        .await;
    let started = Instant::now();
    let delivery = s.start(config);
    // Another channel does not queue behind the paced one.
    s.settled(&[other]).await;
    let other_elapsed = started.elapsed();
    s.settled(&paced).await;
    let elapsed = started.elapsed();
    delivery.stop().await;

    assert!(elapsed >= interval * 2, "3 posts in {elapsed:?}");
    assert!(
        other_elapsed < interval,
        "other channel waited {other_elapsed:?}"
    );
    let texts: Vec<_> = s
        .slack
        .messages(&general)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["0", "1", "2"], "order kept within the channel");
}

#[tokio::test]
async fn auth_errors_are_typed_and_unreachable_slack_is_bounded() {
    let s = Setup::new().await;
    let wrong = WebApi::with_retry(&s.slack.base_url(), "xoxb-wrong", fast_retry());
    let err = wrong.auth_test().await.unwrap_err();
    assert!(
        matches!(&err, WebApiError::Slack(code) if code == "invalid_auth"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(s.slack.calls("auth.test"), 1);

    // Nothing listens here: each attempt is refused, then the call gives up.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let gone = WebApi::with_retry(
        &format!("http://127.0.0.1:{port}/api/"),
        "xoxb-x",
        fast_retry(),
    );
    let started = Instant::now();
    let err = gone.call("chat.postMessage", &json!({})).await.unwrap_err();
    assert!(matches!(err, WebApiError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(3));
}

// --- lanes across replicas ------------------------------------------------

/// `n` replicas on one fresh PostgreSQL database: each its own `Storage`
/// (pool, replica name, incarnation), as separate processes would be.
async fn replicas(n: usize) -> Vec<Storage> {
    let url = tokio::task::spawn_blocking(crate::support::postgres::database)
        .await
        .unwrap();
    let mut replicas = Vec::new();
    for i in 0..n {
        let options = botyard::storage::postgres::Options::new(&url, format!("replica-{i}"));
        replicas.push(Storage::connect_postgres(options).await.unwrap());
    }
    replicas
}

/// Waits until none of `ids` is pending in `storage`; panics after [`BOUND`].
async fn settled_in(storage: &Storage, ids: &[i64]) -> Vec<OutboxEntry> {
    let deadline = Instant::now() + BOUND;
    loop {
        let entries: Vec<OutboxEntry> = storage
            .outbox
            .entries(None, 0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| ids.contains(&e.id))
            .collect();
        if entries.len() == ids.len() && entries.iter().all(|e| e.status != OutboxStatus::Pending) {
            return entries;
        }
        assert!(
            Instant::now() < deadline,
            "outbox not settled in time: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn texts(slack: &Emulator, channel: &str) -> Vec<String> {
    slack
        .messages(channel)
        .into_iter()
        .map(|m| m.text)
        .collect()
}

#[tokio::test]
async fn two_replicas_keep_each_channels_order_and_post_each_once() {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let replicas = replicas(2).await;
    let channels = ["general", "random", "support"].map(|c| slack.channel_id(c).unwrap());
    let mut ids = Vec::new();
    for i in 0..5 {
        for channel in &channels {
            let id = enqueue_as(
                &replicas[i % 2],
                "app",
                "chat.postMessage",
                json!({"channel": channel, "text": format!("{i}")}),
            )
            .await;
            ids.push(id);
        }
    }
    // An edit of the first post, whichever replica takes it.
    let first_post = ids[0];
    ids.push(
        enqueue_as(
            &replicas[1],
            "app",
            "chat.update",
            json!({"channel": channels[0], "ts": placeholder(first_post), "text": "0, edited"}),
        )
        .await,
    );
    let api = WebApi::with_retry(&slack.base_url(), &slack.config().bot_token, fast_retry());
    let deliveries: Vec<Delivery> = replicas
        .iter()
        .map(|r| Delivery::start(r.clone(), api.clone(), fast_delivery()))
        .collect();
    let entries = settled_in(&replicas[0], &ids).await;
    for delivery in deliveries {
        delivery.stop().await;
    }

    assert!(
        entries
            .iter()
            .all(|e| e.status == OutboxStatus::Delivered && e.attempts == 1),
        "{entries:#?}"
    );
    assert_eq!(
        texts(&slack, &channels[0]),
        ["0, edited", "1", "2", "3", "4"]
    );
    for channel in &channels[1..] {
        assert_eq!(
            texts(&slack, channel),
            ["0", "1", "2", "3", "4"],
            "order in {channel}"
        );
    }
    assert_eq!(slack.calls("chat.postMessage"), 15, "each posted once");
    assert_eq!(slack.calls("chat.update"), 1);
}

#[tokio::test]
async fn independent_channels_proceed_in_parallel() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let random = s.slack.channel_id("random").unwrap();
    // Each post takes Slack 800 ms: one after the other they need 1.6 s.
    let slow = Duration::from_millis(800);
    s.slack.inject("chat.postMessage", Fault::Delay(slow), 2);
    let a = s
        .enqueue("chat.postMessage", json!({"channel": general, "text": "a"}))
        .await;
    let b = s
        .enqueue("chat.postMessage", json!({"channel": random, "text": "b"}))
        .await;
    let started = Instant::now();
    let delivery = s.start(fast_delivery());
    let entries = s.settled(&[a, b]).await;
    let elapsed = started.elapsed();
    delivery.stop().await;
    assert!(entries.iter().all(|e| e.status == OutboxStatus::Delivered));
    assert!(elapsed >= slow, "{elapsed:?}");
    assert!(
        elapsed < slow * 2 - Duration::from_millis(200),
        "one after the other: {elapsed:?}"
    );
}

/// Slack's `ts` as seconds.
fn ts_secs(ts: &str) -> f64 {
    ts.parse().unwrap()
}

#[tokio::test]
async fn pacing_is_shared_across_two_replicas() {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let replicas = replicas(2).await;
    let general = slack.channel_id("general").unwrap();
    let interval = Duration::from_millis(300);
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            enqueue_as(
                &replicas[i % 2],
                "app",
                "chat.postMessage",
                json!({"channel": general, "text": format!("{i}")}),
            )
            .await,
        );
    }
    let api = WebApi::with_retry(&slack.base_url(), &slack.config().bot_token, fast_retry());
    let config = DeliveryConfig {
        post_interval: interval,
        ..fast_delivery()
    };
    let deliveries: Vec<Delivery> = replicas
        .iter()
        .map(|r| Delivery::start(r.clone(), api.clone(), config.clone()))
        .collect();
    settled_in(&replicas[0], &ids).await;
    for delivery in deliveries {
        delivery.stop().await;
    }
    let messages = slack.messages(&general);
    assert_eq!(
        messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
    for pair in messages.windows(2) {
        let gap = ts_secs(&pair[1].ts) - ts_secs(&pair[0].ts);
        assert!(
            gap >= interval.as_secs_f64() - 0.001,
            "posts {} and {} {gap:.3}s apart",
            pair[0].text,
            pair[1].text
        );
    }
}

#[tokio::test]
async fn a_post_sent_by_a_replica_killed_before_settling_is_not_posted_again() {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let replicas = replicas(2).await;
    let general = slack.channel_id("general").unwrap();
    let api = WebApi::with_retry(&slack.base_url(), &slack.config().bot_token, fast_retry());
    let random = slack.channel_id("random").unwrap();
    let parent = api
        .call(
            "chat.postMessage",
            &json!({"channel": random, "text": "lunch?"}),
        )
        .await
        .unwrap()["ts"]
        .clone();
    let top = enqueue_as(
        &replicas[0],
        "app",
        "chat.postMessage",
        json!({"channel": general, "text": "top"}),
    )
    .await;
    let reply = enqueue_as(
        &replicas[0],
        "app",
        "chat.postMessage",
        json!({"channel": random, "thread_ts": parent, "text": "in thread"}),
    )
    .await;
    let after = enqueue_as(
        &replicas[0],
        "app",
        "chat.update",
        json!({"channel": general, "ts": placeholder(top), "text": "top, edited"}),
    )
    .await;
    // Replica 0 claims the first post, sends it … and is killed before it
    // records the answer; its lease runs out.
    let dying = &replicas[0];
    let head = dying
        .outbox
        .claim_heads(1, Duration::from_millis(200), &["chat.postMessage"])
        .await
        .unwrap()
        .claimed
        .remove(0);
    assert_eq!(head.entry.id, top);
    let sent = botyard::slack::delivery::with_outbox_metadata(head.entry.payload.clone(), top);
    let answer = api.call("chat.postMessage", &sent).await.unwrap();
    // And the reply in a thread of another channel (another lane).
    let reply_sent = {
        let claimed = dying
            .outbox
            .claim_heads(1, Duration::from_millis(200), &["chat.postMessage"])
            .await
            .unwrap()
            .claimed;
        assert_eq!(claimed[0].entry.id, reply);
        let payload =
            botyard::slack::delivery::with_outbox_metadata(claimed[0].entry.payload.clone(), reply);
        api.call("chat.postMessage", &payload).await.unwrap()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let delivery = Delivery::start(replicas[1].clone(), api.clone(), fast_delivery());
    let entries = settled_in(&replicas[1], &[top, reply, after]).await;
    delivery.stop().await;

    assert!(
        entries.iter().all(|e| e.status == OutboxStatus::Delivered),
        "{entries:#?}"
    );
    assert_eq!(
        slack.calls("chat.postMessage"),
        3,
        "the parent, and each entry once"
    );
    assert!(slack.calls("conversations.history") >= 1);
    assert!(slack.calls("conversations.replies") >= 1);
    assert_eq!(entries[0].result.as_ref().unwrap()["ts"], answer["ts"]);
    assert_eq!(entries[1].result.as_ref().unwrap()["ts"], reply_sent["ts"]);
    // The edit found the real ts through the settled entry.
    assert_eq!(texts(&slack, &general), ["top, edited"]);
    let thread: Vec<String> = slack
        .thread(&random, parent.as_str().unwrap())
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(thread, ["lunch?", "in thread"]);
}

/// A loopback proxy in front of the emulator that passes everything
/// through, except that the first connection carrying a `chat.postMessage`
/// is cut once Slack has answered, before the answer reaches the client:
/// the post happened, and its sender cannot know. Returns the proxy's
/// Web API base URL.
async fn answer_losing_proxy(slack: &Emulator) -> String {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let upstream = {
        let base = slack.base_url();
        let url = reqwest::Url::parse(&base).unwrap();
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let armed = Arc::new(AtomicBool::new(true));
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let upstream = upstream.clone();
            let armed = armed.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let mut first = vec![0; 64 * 1024];
                let n = client.read(&mut first).await.unwrap_or(0);
                let posts = first[..n].windows(16).any(|w| w == b"chat.postMessage");
                server.write_all(&first[..n]).await.unwrap();
                if !(posts && armed.swap(false, Ordering::SeqCst)) {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                // Pass the rest of the request on; once Slack answers, cut
                // the client off without it.
                let (mut from_client, _to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
                });
                let mut answer = [0; 1024];
                let _ = from_server.read(&mut answer).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/api/")
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_not_posted_twice() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let base = answer_losing_proxy(&s.slack).await;
    let policy = RetryPolicy {
        request_timeout: Duration::from_millis(500),
        ..fast_retry()
    };
    let api = WebApi::with_retry(&base, &s.slack.config().bot_token, policy);
    let id = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "once"}),
        )
        .await;
    let delivery = Delivery::start(s.storage.clone(), api, fast_delivery());
    let entries = s.settled(&[id]).await;
    delivery.stop().await;

    let messages = s.slack.messages(&general);
    assert_eq!(
        messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["once"],
        "{entries:#?}"
    );
    assert_eq!(entries[0].status, OutboxStatus::Delivered);
    assert_eq!(entries[0].attempts, 2, "the lost answer, then the look");
    assert_eq!(
        entries[0].result.as_ref().unwrap()["ts"].as_str(),
        Some(messages[0].ts.as_str())
    );
    assert_eq!(s.slack.calls("conversations.history"), 1, "looked first");
    assert_eq!(
        s.slack.calls("chat.postMessage"),
        1,
        "the post whose answer was lost was found, not sent again"
    );
}

#[tokio::test]
async fn a_posts_metadata_carries_its_outbox_id_beside_the_apps() {
    let s = Setup::new().await;
    let general = s.slack.channel_id("general").unwrap();
    let plain = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "plain"}),
        )
        .await;
    let own = s
        .enqueue(
            "chat.postMessage",
            json!({"channel": general, "text": "own", "metadata":
                {"event_type": "poll_created", "event_payload": {"poll": "lunch"}}}),
        )
        .await;
    let delivery = s.start(fast_delivery());
    s.settled(&[plain, own]).await;
    delivery.stop().await;
    let metadata: Vec<Value> = s
        .slack
        .messages(&general)
        .into_iter()
        .map(|m| m.metadata.unwrap())
        .collect();
    assert_eq!(
        metadata,
        [
            json!({"event_type": "botyard_outbox", "event_payload": {"outbox_id": plain}}),
            json!({"event_type": "poll_created",
                   "event_payload": {"poll": "lunch", "botyard_outbox_id": own}}),
        ]
    );
}
