//! Inbound webhooks end to end: a real host serving `POST
//! /hooks/<app>/<name>` on loopback, the `hooks` test guest handling them,
//! its messages delivered to the Slack emulator. Verification comes before
//! anything is kept, a delivery is answered only once it is durable, a
//! redelivery runs once, a failing handler is retried until it succeeds or
//! is dead, and a host killed between the answer and the handler runs the
//! delivery after restart — once.

use crate::support;

use std::time::{Duration, Instant};

use crate::support::TestHost;
use crate::support::alertmanager::Alertmanager;
use botyard::emulator::{Emulator, EmulatorConfig};
use botyard::host::Host;
use botyard::slack::delivery::DeliveryConfig;
use botyard::slack::web_api::WebApi;
use botyard::storage::{Delivery, DeliveryStatus, Storage};
use serde_json::{Value, json};

/// GitHub's documented values ("Validating webhook deliveries").
const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_PAYLOAD: &str = "Hello, World!";
const GITHUB_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
const BOUND: Duration = Duration::from_secs(20);

fn set_secrets() {
    // SAFETY: variables only these tests read, always set to the same values.
    unsafe {
        std::env::set_var("BOTYARD_TEST_GITHUB_SECRET", GITHUB_SECRET);
        std::env::set_var("BOTYARD_TEST_ALERTS_PASSWORD", "am-pass");
    }
}

/// `botyard.toml` for the `hooks` app posting to `channel`.
fn config(channel: &str, settings: &str, github: &str) -> String {
    format!(
        r#"
[apps.hooks]
grants = ["slack", "store", "settings", "clock"]
[apps.hooks.settings]
channel = "{channel}"
{settings}
[apps.hooks.webhooks.github]
verify = "github"
secret = "${{env:BOTYARD_TEST_GITHUB_SECRET}}"
retry_after_ms = 50
max_body_bytes = 4096
{github}
[apps.hooks.webhooks.alerts]
verify = "basic"
username = "alertmanager"
password = "${{env:BOTYARD_TEST_ALERTS_PASSWORD}}"
"#
    )
}

/// A host running `hooks`, its webhooks served on loopback, its Slack calls
/// delivered to an emulator.
struct Hooked {
    _dir: TestHost,
    host: Host,
    slack: Emulator,
    channel: String,
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Hooked {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Hooked {
    async fn start(settings: &str, github: &str) -> Hooked {
        set_secrets();
        let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let channel = slack.channel_id("general").unwrap();
        let dir = TestHost::new(&config(&channel, settings, github), &[("hooks", "hooks")]);
        let mut host = dir.builder().connected().webhooks().start().await.unwrap();
        let snapshot = host.apps().snapshot();
        assert!(
            snapshot.app("hooks").is_some(),
            "hooks did not load: {:?}",
            snapshot.apps["hooks"].last_error
        );
        host.connect_slack(
            WebApi::new(&slack.base_url(), &slack.config().bot_token),
            DeliveryConfig::default(),
        );
        let (url, server) = support::serve_webhooks(&host).await;
        Hooked {
            _dir: dir,
            host,
            slack,
            channel,
            url,
            server,
        }
    }

    fn storage(&self) -> &Storage {
        self.host.apps().storage()
    }

    async fn post(&self, hook: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/hooks/hooks/{hook}", self.url))
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn deliveries(&self) -> Vec<Delivery> {
        self.storage().webhooks.deliveries(None, 100).await.unwrap()
    }

    /// Waits until delivery `id` is done or dead.
    async fn settled(&self, id: i64) -> Delivery {
        let deadline = Instant::now() + BOUND;
        loop {
            let d = self.storage().webhooks.delivery(id).await.unwrap().unwrap();
            if d.status != DeliveryStatus::Pending {
                return d;
            }
            assert!(Instant::now() < deadline, "delivery never settled: {d:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The texts in the channel once there are `n` (panics after a while).
    async fn messages(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + BOUND;
        loop {
            let texts: Vec<String> = self
                .slack
                .messages(&self.channel)
                .into_iter()
                .map(|m| m.text)
                .collect();
            if texts.len() >= n {
                return texts;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages, have {texts:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn counter(&self, delivery_id: &str) -> Option<String> {
        self.storage()
            .kv_get("hooks", &format!("attempts/{delivery_id}"))
            .await
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    }
}

fn delivery_of(answer: &str) -> i64 {
    let value: Value = serde_json::from_str(answer).unwrap_or_else(|e| panic!("{answer}: {e}"));
    value["delivery"].as_i64().unwrap()
}

fn signed(delivery: &'static str, event: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("x-hub-signature-256", GITHUB_SIGNATURE),
        ("x-github-delivery", delivery),
        ("x-github-event", event),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn githubs_documented_vector_verifies_and_the_app_gets_the_delivery() {
    let hooked = Hooked::start("", "").await;
    let (status, answer) = hooked
        .post("github", GITHUB_PAYLOAD, &signed("d-1", "ping"))
        .await;
    assert_eq!(status, 202, "{answer}");
    let done = hooked.settled(delivery_of(&answer)).await;
    assert_eq!((done.status, done.attempts), (DeliveryStatus::Done, 1));
    assert_eq!(hooked.messages(1).await, ["ping from -: -"]);
    // What the app was handed: the body and headers as sent, less the
    // signature the host checked.
    assert_eq!(done.body_bytes, GITHUB_PAYLOAD.len() as u64);
    let names: Vec<&str> = done.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"x-github-event") && !names.contains(&"x-hub-signature-256"),
        "{names:?}"
    );
    let audit = hooked
        .storage()
        .audit
        .recent(Some("hooks"), 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.kind == "webhook" && r.detail == "github d-1"),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_is_not_verified_gets_401_and_nothing_is_kept() {
    let hooked = Hooked::start("", "").await;
    let wrong = "sha256=0000000000000000000000000000000000000000000000000000000000000000";
    // (headers, body, status, what the answer says)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("x-hub-signature-256", wrong)],
            GITHUB_PAYLOAD,
            401,
            "does not match",
        ),
        (vec![], GITHUB_PAYLOAD, 401, "missing X-Hub-Signature-256"),
        // The right signature over another body.
        (
            signed("d-2", "push"),
            "Hello, World?",
            401,
            "does not match",
        ),
    ];
    for (headers, body, want, says) in cases {
        let (status, answer) = hooked.post("github", body, &headers).await;
        assert_eq!((status, answer.contains(says)), (want, true), "{answer}");
    }
    // Basic auth with the wrong password; a webhook the operator never
    // configured; a body over the webhook's cap.
    let basic = format!("Basic {}", base64_encode("alertmanager:wrong"));
    let (status, _) = hooked
        .post("alerts", "{}", &[("authorization", &basic)])
        .await;
    assert_eq!(status, 401);
    let (status, answer) = hooked.post("gitlab", "{}", &[]).await;
    assert_eq!(status, 404);
    assert!(answer.contains("[apps.hooks.webhooks.gitlab]"), "{answer}");
    let big = "x".repeat(5000);
    let (status, _) = hooked.post("github", &big, &signed("d-3", "push")).await;
    assert_eq!(status, 413);

    assert!(hooked.deliveries().await.is_empty(), "nothing was recorded");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(hooked.slack.messages(&hooked.channel).is_empty());
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_with_the_same_id_runs_the_app_once() {
    let hooked = Hooked::start("", "").await;
    let body = json!({"action": "opened", "sender": {"login": "octocat"}}).to_string();
    let signature =
        botyard::inbound::webhooks::verify::github_signature(GITHUB_SECRET, body.as_bytes());
    let headers = [
        ("x-hub-signature-256", signature.as_str()),
        ("x-github-delivery", "72d3162e"),
        ("x-github-event", "pull_request"),
    ];
    let (first, answer) = hooked.post("github", &body, &headers).await;
    assert_eq!(first, 202, "{answer}");
    let id = delivery_of(&answer);
    hooked.settled(id).await;
    let (again, answer) = hooked.post("github", &body, &headers).await;
    assert_eq!(again, 200, "a redelivery is acknowledged: {answer}");
    assert_eq!(delivery_of(&answer), id);
    assert!(answer.contains("\"duplicate\":true"), "{answer}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        hooked.counter("72d3162e").await.as_deref(),
        Some("1"),
        "the app ran once"
    );
    assert_eq!(
        hooked.messages(1).await,
        ["pull_request from octocat: opened"]
    );
    assert_eq!(hooked.deliveries().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_fails_twice_then_succeeds_runs_three_times() {
    let hooked = Hooked::start("fail_times = 2", "").await;
    let (status, answer) = hooked
        .post("github", GITHUB_PAYLOAD, &signed("d-flaky", "push"))
        .await;
    assert_eq!(status, 202, "{answer}");
    let done = hooked.settled(delivery_of(&answer)).await;
    assert_eq!((done.status, done.attempts), (DeliveryStatus::Done, 3));
    assert_eq!(hooked.counter("d-flaky").await.as_deref(), Some("3"));
    assert_eq!(hooked.messages(1).await, ["push from -: -"]);
    let runs: Vec<bool> = hooked
        .storage()
        .audit
        .recent(Some("hooks"), 10)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.kind == "webhook")
        .map(|r| r.outcome == botyard::storage::Outcome::Ok)
        .collect();
    assert_eq!(runs, [true, false, false], "newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_its_last_try_a_delivery_is_dead_until_replayed() {
    let hooked = Hooked::start("fail_times = 3", "attempts = 2").await;
    let (_, answer) = hooked
        .post("github", GITHUB_PAYLOAD, &signed("d-dead", "push"))
        .await;
    let id = delivery_of(&answer);
    let dead = hooked.settled(id).await;
    assert_eq!((dead.status, dead.attempts), (DeliveryStatus::Dead, 2));
    assert_eq!(
        dead.last_error
            .as_deref()
            .map(|e| e.contains("failing on purpose (attempt 2)")),
        Some(true),
        "{dead:?}"
    );
    // Replayed, it gets its tries afresh: the third attempt still fails on
    // purpose, the fourth succeeds.
    assert!(
        hooked
            .storage()
            .webhooks
            .replay(id, botyard::contract::time::now_ms() as i64)
            .await
            .unwrap()
    );
    let done = hooked.settled(id).await;
    assert_eq!((done.status, done.attempts), (DeliveryStatus::Done, 2));
    assert_eq!(hooked.counter("d-dead").await.as_deref(), Some("4"));
    assert_eq!(hooked.messages(1).await, ["push from -: -"]);
}

/// `botyard serve` is killed with SIGKILL after it answered a delivery and
/// while the handler runs (it spins for `delay_ms`); restarted, the host
/// runs the delivery — and the app's writes and message happen once.
#[test]
fn a_host_killed_between_the_answer_and_the_handler_runs_the_delivery_after_restart_once() {
    use crate::support::serve::{Mode, serve, setup_dir};
    set_secrets();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let slack = rt
        .block_on(Emulator::start(EmulatorConfig::default()))
        .unwrap();
    let channel = slack.channel_id("general").unwrap();
    let dir = setup_dir(&slack, Mode::Http, &[("hooks", "hooks")]);
    let toml = dir.path().join("botyard.toml");
    let base = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        format!("{base}{}", config(&channel, "delay_ms = 3000", "")),
    )
    .unwrap();
    let served = serve(dir.path(), &slack);
    let (status, answer) = rt.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}/hooks/hooks/github", served.base_url))
            .header("x-hub-signature-256", GITHUB_SIGNATURE)
            .header("x-github-delivery", "d-killed")
            .header("x-github-event", "push")
            .body(GITHUB_PAYLOAD)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    });
    assert_eq!(status, 202, "{answer}");
    // The handler is spinning now; kill the host under it.
    std::thread::sleep(Duration::from_millis(500));
    drop(served);
    assert!(
        slack.messages(&channel).is_empty(),
        "the handler had not finished"
    );

    // Restarted (without the delay), the host picks the delivery up.
    std::fs::write(&toml, format!("{base}{}", config(&channel, "", ""))).unwrap();
    let served = serve(dir.path(), &slack);
    let deadline = Instant::now() + BOUND;
    while slack.messages(&channel).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the delivery never ran after restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    drop(served);
    let texts: Vec<String> = slack
        .messages(&channel)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["push from -: -"], "once");
    let storage = Storage::open(&dir.path().join("botyard.db")).unwrap();
    rt.block_on(async {
        assert_eq!(
            storage
                .kv_get("hooks", "attempts/d-killed")
                .await
                .unwrap()
                .as_deref(),
            Some(&b"1"[..]),
            "the killed run's writes were never kept; the second run's were, once"
        );
        let all = storage.webhooks.deliveries(None, 10).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].status, all[0].attempts), (DeliveryStatus::Done, 1));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_posts_firing_then_resolved_alerts_with_basic_auth() {
    let hooked = Hooked::start("", "").await;
    let am = Alertmanager::start(&format!("{}/hooks/hooks/alerts", hooked.url), "am-pass").await;

    am.alert("LunchQueueLong", None).await;
    assert_eq!(hooked.messages(1).await, ["[FIRING] LunchQueueLong"]);

    // Resolved: the same alert, ended a moment ago.
    let ended = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    am.alert("LunchQueueLong", Some(ended)).await;
    let texts = hooked.messages(2).await;
    assert_eq!(
        texts,
        ["[FIRING] LunchQueueLong", "[RESOLVED] LunchQueueLong"]
    );

    // Each came as a verified, recorded delivery the app handled once.
    let deliveries = hooked.deliveries().await;
    assert!(
        deliveries.len() >= 2
            && deliveries
                .iter()
                .all(|d| d.hook == "alerts" && d.status == DeliveryStatus::Done),
        "{deliveries:?}"
    );
}
