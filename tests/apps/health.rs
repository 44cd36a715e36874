//! The shipped health app (`apps/health`, Rust) end to end: a real
//! Prometheus Alertmanager (`support::alertmanager`) posting to the app's
//! `alertmanager` webhook through the host's receiver (basic auth), the
//! Slack emulator behind the outbox, the Twilio stand-in
//! (`botyard::standins::twilio`) for SMS, and a manual clock moved minute
//! by minute for the escalation. The app reaches Twilio only through the
//! host's `http` capability: an allow rule naming the stand-in, whose
//! `basic` credential (the Account SID and Auth Token, read from file
//! secrets) the host adds — the stand-in answers 401 to anything else, and
//! records only what it accepted.
//!
//! Every count is read from the stand-in and the emulator, never taken on
//! the app's word.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use botyard::contract::bindings::types::{ActionRequest, InvocationContext, MessageRef};
use botyard::contract::request::Request;
use botyard::contract::retry::Backoff;
use botyard::contract::time::Clock;
use botyard::emulator::{Emulator, EmulatorConfig, Message};
use botyard::host::Host;
use botyard::inbound::scheduler::fire_due;
use botyard::slack::delivery::DeliveryConfig;
use botyard::slack::web_api::WebApi;
use botyard::standins::twilio::TwilioStandIn;
use serde_json::{Value, json};

use crate::support::TestHost;
use crate::support::alertmanager::Alertmanager;
use crate::support::serve::wait_for;

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(30);

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-5e2a";
const AM_PASSWORD: &str = "am-pass-health";
const ONCALL: [&str; 2] = ["+15551230001", "+15551230002"];
const LEAD: &str = "+15551230003";
const FROM: &str = "+15550000000";

struct World {
    slack: Emulator,
    twilio: TwilioStandIn,
    host: Host,
    clock: Clock,
    am: Alertmanager,
    /// What the `shop` check's server answers.
    probe_status: Arc<AtomicU16>,
    _probe: tokio::task::JoinHandle<()>,
    _webhooks: tokio::task::JoinHandle<()>,
    _data: TestHost,
    _secrets: tempfile::TempDir,
}

/// A server answering `GET /healthz` with whatever `status` holds.
async fn probe(status: Arc<AtomicU16>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/healthz",
        axum::routing::get(move || {
            let status = status.clone();
            async move { axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap() }
        }),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    (url, task)
}

/// The app with M = 5, L = 10, two on-call people and one lead; Twilio's
/// credentials in files, as `${file:…}` secrets on the allow rule.
async fn world(token_on_rule: &str) -> World {
    let twilio = TwilioStandIn::start("127.0.0.1:0".parse().unwrap(), SID, SID, TOKEN)
        .await
        .unwrap();
    let probe_status = Arc::new(AtomicU16::new(200));
    let (probe_url, probe_task) = probe(probe_status.clone()).await;
    let secrets = tempfile::tempdir().unwrap();
    let secret = |name: &str, value: &str| {
        let path = secrets.path().join(name);
        std::fs::write(&path, format!("{value}\n")).unwrap();
        path.display().to_string()
    };
    let (sid_file, token_file, am_file) = (
        secret("twilio-sid", SID),
        secret("twilio-token", token_on_rule),
        secret("am-password", AM_PASSWORD),
    );
    let twilio_url = twilio.url();
    let config = format!(
        r##"
[apps.health]
grants = ["slack", "store", "schedule", "log", "clock", "settings", "http"]
deadline_ms = 20000

[apps.health.settings]
channel = "#ops"
escalate_minutes = 5
leads_minutes = 10
oncall = [{{ name = "alice", phone = "{a}" }}, {{ name = "bob", phone = "{b}" }}]
leads = [{{ name = "carol", phone = "{LEAD}" }}]
twilio_url = "{twilio_url}"
twilio_account_sid = "{SID}"
sms_from = "{FROM}"
checks = [{{ name = "shop", url = "{probe_url}/healthz", interval_s = 10, timeout_ms = 2000 }}]

[[apps.health.http.allow]]
url = "{twilio_url}/2010-04-01/"
basic = {{ user = "${{file:{sid_file}}}", password = "${{file:{token_file}}}" }}

[[apps.health.http.allow]]
url = "{probe_url}/healthz"

[apps.health.webhooks.alertmanager]
verify = "basic"
username = "alertmanager"
password = "${{file:{am_file}}}"
retry_after_ms = 50
"##,
        a = ONCALL[0],
        b = ONCALL[1],
    );
    let data = TestHost::new(&config, &[("health", "health")]);
    let t0 = botyard::contract::time::now_ms() / 60_000 * 60_000;
    let clock = Clock::manual(t0);
    let slack = Emulator::start(EmulatorConfig {
        clock: clock.clone(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    slack.add_channel("ops");
    let mut host = data
        .builder()
        .connected()
        .webhooks()
        .clock(clock.clone())
        .start()
        .await
        .expect("the host starts with the health app");
    host.connect_slack(
        WebApi::new(&slack.base_url(), &slack.config().bot_token),
        DeliveryConfig {
            post_interval: Duration::ZERO,
            poll_interval: Duration::from_millis(20),
            retry: Backoff::new(Duration::from_millis(20), Duration::from_millis(200)),
            ..DeliveryConfig::default()
        },
    );
    // Cron schedules start counting now.
    fire_due(host.apps(), t0).await;
    let (hooks_url, webhooks) = crate::support::serve_webhooks(&host).await;
    let am = Alertmanager::start(
        &format!("{hooks_url}/hooks/health/alertmanager"),
        AM_PASSWORD,
    )
    .await;
    World {
        slack,
        twilio,
        host,
        clock,
        am,
        probe_status,
        _probe: probe_task,
        _webhooks: webhooks,
        _data: data,
        _secrets: secrets,
    }
}

/// Prometheus's view of one alert, as posted to Alertmanager's API v2.
fn high_error_rate(ends_at: Option<String>) -> Value {
    let mut alert = json!({
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "instance": "api-1:9100"},
        "annotations": {"summary": "5xx above 5% for 10 minutes"},
        "generatorURL": "http://prometheus.example/graph?g0.expr=rate",
    });
    if let Some(ends_at) = ends_at {
        alert["endsAt"] = json!(ends_at);
    }
    json!([alert])
}

impl World {
    fn ops(&self) -> Vec<Message> {
        self.slack.messages("ops")
    }

    /// Waits for the one message in #ops to contain `text`.
    async fn alert_says(&self, text: &str) -> Message {
        wait_for(&format!("#ops saying {text:?}"), BOUND, || {
            self.ops().iter().any(|m| m.text.contains(text))
        })
        .await;
        let ops = self.ops();
        assert_eq!(
            ops.len(),
            1,
            "one alert message: {:#?}",
            ops.iter().map(|m| &m.text).collect::<Vec<_>>()
        );
        ops.into_iter().next().unwrap()
    }

    fn thread(&self, parent: &Message) -> Vec<String> {
        self.slack
            .thread(&parent.channel, &parent.ts)
            .into_iter()
            .skip(1)
            .map(|m| m.text)
            .collect()
    }

    /// Moves virtual time on by whole minutes, firing each minute's ticks.
    async fn minutes(&self, n: u64) {
        for _ in 0..n {
            self.seconds(60).await;
        }
    }

    /// Moves virtual time on by `n` seconds, firing what comes due.
    async fn seconds(&self, n: u64) {
        let next = self.clock.now_ms() + n * 1000;
        self.clock.advance_to(next);
        fire_due(self.host.apps(), next).await;
    }

    /// Waits for the stand-in to hold `n` SMS, then a little longer to see
    /// that no more come.
    async fn expect_sms(&self, n: usize) -> Vec<botyard::standins::twilio::Sms> {
        wait_for(&format!("{n} SMS"), BOUND, || {
            self.twilio.messages().len() >= n
        })
        .await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        let got = self.twilio.messages();
        assert_eq!(got.len(), n, "{got:#?}");
        got
    }

    /// `user` clicks the Acknowledge button of `message`, as Slack sends it.
    async fn acknowledge(&self, user: &str, message: &Message) {
        let blocks = message.blocks.clone().unwrap_or_default();
        let value = blocks
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .find(|e| e["action_id"].as_str().is_some_and(|a| a.ends_with("ack")))
            .and_then(|e| e["value"].as_str().map(String::from))
            .unwrap_or_else(|| panic!("no Acknowledge button: {blocks}"));
        let request = Request::Action(ActionRequest {
            action_id: "ack".into(),
            block_id: None,
            value: Some(value),
            message: Some(MessageRef {
                channel: message.channel.clone(),
                ts: message.ts.clone(),
            }),
            context: InvocationContext {
                user_id: self.slack.user_id(user).unwrap(),
                channel_id: message.channel.clone(),
                trigger_id: None,
            },
        });
        self.host
            .apps()
            .invoke("health", request)
            .await
            .unwrap_or_else(|e| panic!("acknowledge: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_alert_sends_exactly_one_sms_to_each_on_call_person_after_m_minutes() {
    let w = world(TOKEN).await;
    w.am.post(high_error_rate(None)).await;
    let alert = w
        .alert_says("*FIRING* · HighErrorRate (critical) on api-1:9100")
        .await;

    // Four minutes: nobody paged yet.
    w.minutes(4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(w.twilio.requests().is_empty(), "{:?}", w.twilio.requests());

    // The fifth: one SMS to each on-call person, none to the lead.
    w.minutes(1).await;
    let sent = w.expect_sms(2).await;
    let to: BTreeSet<&str> = sent.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(to, BTreeSet::from(ONCALL));
    for sms in &sent {
        assert_eq!(sms.from.as_deref(), Some(FROM));
        assert_eq!(sms.messaging_service_sid, None);
        assert!(
            sms.content_type
                .starts_with("application/x-www-form-urlencoded"),
            "{}",
            sms.content_type
        );
        let fields: Vec<&str> = sms.form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(fields, ["To", "From", "Body"]);
        assert!(
            sms.body
                .contains("unacknowledged for 5m: HighErrorRate (critical)")
                && sms.body.contains("#ops (alert #1)"),
            "{}",
            sms.body
        );
    }
    // Authenticated by the host: every request was accepted.
    assert!(
        w.twilio
            .requests()
            .iter()
            .all(|r| r == &format!("POST /2010-04-01/Accounts/{SID}/Messages.json → 201")),
        "{:?}",
        w.twilio.requests()
    );
    // The thread says so, with the SIDs Twilio gave.
    wait_for("the SMS lines in the thread", BOUND, || {
        w.thread(&alert)
            .iter()
            .filter(|t| t.contains("SMS sent to"))
            .count()
            == 2
    })
    .await;
    let story = w.thread(&alert).join("\n");
    for sms in &sent {
        assert!(story.contains(&sms.sid), "{}: {story}", sms.sid);
    }

    // Nine more minutes: still two. The tenth: the lead, once.
    w.minutes(9).await;
    w.expect_sms(2).await;
    w.minutes(1).await;
    let sent = w.expect_sms(3).await;
    assert_eq!(sent[2].to, LEAD);
    // And nobody again, however long it stays unacknowledged.
    w.minutes(30).await;
    w.expect_sms(3).await;
    // Alertmanager's own repeats (same fingerprint) never posted a second alert.
    assert_eq!(w.ops().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_alert_sends_no_sms_and_resolved_updates_the_same_message() {
    let w = world(TOKEN).await;
    w.am.post(high_error_rate(None)).await;
    let alert = w.alert_says("*FIRING* · HighErrorRate").await;

    w.minutes(2).await;
    w.acknowledge("bob", &alert).await;
    let bob = w.slack.user_id("bob").unwrap();
    let acked = w
        .alert_says(&format!("*ACKNOWLEDGED* by <@{bob}> · HighErrorRate"))
        .await;
    assert_eq!(acked.ts, alert.ts, "the same message, updated");

    // Past both steps: no SMS, not even a request.
    w.minutes(30).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(w.twilio.requests().is_empty(), "{:?}", w.twilio.requests());
    assert!(w.twilio.messages().is_empty());

    // Prometheus says it is over: Alertmanager sends `resolved`.
    let ended = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    w.am.post(high_error_rate(Some(ended))).await;
    let resolved = w.alert_says("*RESOLVED* · HighErrorRate").await;
    assert_eq!(resolved.ts, alert.ts, "the same message, updated");
    assert!(
        resolved.text.contains(&format!("acknowledged by <@{bob}>")),
        "{}",
        resolved.text
    );
    wait_for("the recovery in the thread", BOUND, || {
        w.thread(&alert)
            .iter()
            .any(|t| t.contains("recovered after"))
    })
    .await;
    let story = w.thread(&alert);
    assert!(
        story[0].contains("failed: 5xx above 5% for 10 minutes"),
        "{story:?}"
    );
    assert!(
        story[1].contains(&format!("acknowledged by <@{bob}>")),
        "{story:?}"
    );
    assert!(
        !story
            .iter()
            .any(|t| t.contains("SMS sent") || t.contains("SMS to")),
        "{story:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_auth_token_is_told_in_the_thread_and_never_shown() {
    let w = world("not-the-token").await;
    w.am.post(high_error_rate(None)).await;
    let alert = w.alert_says("*FIRING* · HighErrorRate").await;
    w.minutes(5).await;
    wait_for("the failures in the thread", BOUND, || {
        w.thread(&alert)
            .iter()
            .filter(|t| t.contains("failed: Twilio refused it: 401, error 20003"))
            .count()
            == 2
    })
    .await;
    // The requests reached Twilio and were refused there, not by the host.
    assert_eq!(w.twilio.requests().len(), 2, "{:?}", w.twilio.requests());
    assert!(w.twilio.messages().is_empty());
    let story = w.thread(&alert).join("\n");
    assert!(!story.contains("not-the-token"), "{story}");
    // Tried once per person per step: not again on the next minutes.
    w.minutes(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.twilio.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_check_goes_down_after_two_failures_recovers_and_flaps_in_one_message() {
    let w = world(TOKEN).await;
    // Healthy: nothing.
    w.seconds(20).await;
    w.probe_status.store(503, Ordering::SeqCst);
    w.seconds(10).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(w.ops().is_empty(), "one failure is not down");
    w.seconds(10).await;
    let alert = w.alert_says("*FIRING* · `shop` is down").await;
    assert!(alert.text.contains("`shop` is down"), "{}", alert.text);

    // Up: the same message, resolved.
    w.probe_status.store(200, Ordering::SeqCst);
    w.seconds(10).await;
    let resolved = w.alert_says("*RESOLVED* · `shop` is down").await;
    assert_eq!(resolved.ts, alert.ts);

    // Down again (twice in a row), up, down again: flapping, one message.
    for status in [503, 503, 200, 503, 503] {
        w.probe_status.store(status, Ordering::SeqCst);
        w.seconds(10).await;
    }
    wait_for("the alert marked flapping", BOUND, || {
        w.ops()
            .iter()
            .any(|m| m.ts == alert.ts && m.text.contains("*FLAPPING*"))
    })
    .await;
    let parents: Vec<Message> = w
        .ops()
        .into_iter()
        .filter(|m| m.thread_ts.is_none() || m.thread_ts.as_deref() == Some(&m.ts))
        .collect();
    assert_eq!(parents.len(), 1, "{parents:#?}");
    assert!(
        parents[0]
            .text
            .contains("*FLAPPING* · `shop` is down — down 3 times in 30m, down now"),
        "{}",
        parents[0].text
    );
    // Nobody was paged: it never stayed unacknowledged for 5 minutes.
    assert!(w.twilio.messages().is_empty());
}
