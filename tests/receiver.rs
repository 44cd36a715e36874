//! The signed HTTP receiver, driven the way Slack drives it: real HTTP on
//! loopback, requests signed with the app's signing secret, and a local
//! server standing in for `response_url`.

use crate::support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::TestHost;
use axum::Router;
use axum::routing::post;
use botyard::capabilities::Invocation;
use botyard::contract::bindings::types::{
    ActionRequest, ActionResponse, AppInfo, CommandSpec, FieldError, InvocationContext, Message,
    MessageRef, Reply, ViewResponse, Visibility,
};
use botyard::contract::description::Description;
use botyard::contract::request::{Request, Response};
use botyard::contract::time::now_ms;
use botyard::inbound::http::{self as receiver, ReceiverConfig};
use botyard::inbound::inbox::{self, Answer, Inbox, Work};
use botyard::routing::Apps;
use botyard::runtime::app::NativeApp;
use botyard::slack::delivery::{Delivery, DeliveryConfig};
use botyard::slack::signature;
use botyard::slack::web_api::WebApi;
use botyard::storage::{NewInbound, Storage};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const SECRET: &str = "receiver-test-signing-secret";

/// Sleeper busy-waits 3.5 s in the slow-app test, past the ack budget.
const CONFIG: &str = r#"
[apps.sleeper]
deadline_ms = 8000
"#;

/// A native app that tries to pass off another app's action id as its own,
/// and records every click, submission and event it receives.
#[derive(Default)]
struct Mimic {
    actions: Mutex<Vec<String>>,
    submissions: Mutex<Vec<(String, Value)>>,
    events: AtomicUsize,
}

impl NativeApp for Mimic {
    fn describe(&self) -> Description {
        let info = AppInfo {
            name: "mimic".into(),
            description: "posts hello's action id as its own".into(),
            commands: vec![CommandSpec {
                name: "/mimic".into(),
                description: "post a forged button".into(),
                usage: String::new(),
            }],
            subcommands: vec![],
            events: vec!["app_mention".into()],
            schedules: vec![],
        };
        Description {
            info,
            shortcuts: vec![],
            webhooks: vec![],
            settings: vec![],
            phrases: vec![],
        }
    }

    fn handle<'a>(
        &'a self,
        _: &'a mut Invocation,
        request: Request,
    ) -> BoxFuture<'a, Result<Response, String>> {
        Box::pin(async move { self.answer(request) })
    }
}

impl Mimic {
    fn answer(&self, request: Request) -> Result<Response, String> {
        match request {
            Request::Command(_) => Ok(Response::Command(Some(Reply {
                visibility: Visibility::InChannel,
                message: Message {
                    text: "click me".into(),
                    blocks: Some(
                        json!([{"type": "actions", "elements": [
                            {"type": "button", "action_id": "hello.count",
                             "text": {"type": "plain_text", "text": "Count"}}
                        ]}])
                        .to_string(),
                    ),
                },
            }))),
            Request::Action(action) => {
                self.actions.lock().unwrap().push(action.action_id.clone());
                Ok(Response::Action(ActionResponse::Update(Message {
                    text: format!("mimic got {}", action.action_id),
                    blocks: None,
                })))
            }
            Request::ViewSubmission(s) => {
                let values: Value = serde_json::from_str(&s.values).unwrap();
                self.submissions
                    .lock()
                    .unwrap()
                    .push((s.callback_id.clone(), values.clone()));
                if values["qty"]["n"]["value"] == "bad" {
                    Ok(Response::ViewSubmission(ViewResponse::Errors(vec![
                        FieldError {
                            block_id: "qty".into(),
                            message: "not a number".into(),
                        },
                    ])))
                } else {
                    Ok(Response::ViewSubmission(ViewResponse::Close))
                }
            }
            Request::Event(_) => {
                self.events.fetch_add(1, Ordering::SeqCst);
                Ok(Response::Done)
            }
            other => Err(format!("unexpected {}", other.kind())),
        }
    }
}

/// A host with hello, sleeper and mimic behind a receiver on loopback, and a
/// `response_url` target collecting what is posted to it.
struct Harness {
    host: TestHost,
    /// Posts what the apps queued: answers that missed the acknowledgement
    /// and every click's answer go to `response_url` through the outbox.
    _delivery: Delivery,
    runtime: Arc<Apps>,
    mimic: Arc<Mimic>,
    base: String,
    client: reqwest::Client,
    hook_url: String,
    hooked: mpsc::UnboundedReceiver<Value>,
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

impl Harness {
    async fn start() -> Harness {
        let host = TestHost::new(CONFIG, &[("hello", "hello-rust"), ("sleeper", "sleeper")]);
        let runtime = host.start().await;
        let mimic = Arc::new(Mimic::default());
        runtime.install_native("mimic", mimic.clone()).unwrap();
        let router = receiver::router(runtime.clone(), ReceiverConfig::new(SECRET)).unwrap();
        let base = serve(router).await;
        // No Web API calls are made here; response_url posts need no base.
        let api = WebApi::new("http://127.0.0.1:9", "xoxb-test");
        let delivery = Delivery::start(runtime.storage().clone(), api, DeliveryConfig::default());

        let (tx, hooked) = mpsc::unbounded_channel();
        let hook = Router::new().route(
            "/hook",
            post(move |axum::Json(body): axum::Json<Value>| {
                let tx = tx.clone();
                async move {
                    tx.send(body).ok();
                    "ok"
                }
            }),
        );
        let hook_url = format!("{}/hook", serve(hook).await);
        Harness {
            host,
            _delivery: delivery,
            runtime,
            mimic,
            base,
            client: reqwest::Client::new(),
            hook_url,
            hooked,
        }
    }

    /// POSTs `body` to `path`, signed as Slack signs it at `signed_at`
    /// (`None` = unsigned), with `extra` headers.
    async fn post_at(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        signed_at: Option<i64>,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type);
        if let Some(at) = signed_at {
            for (name, value) in signature::signed_headers(SECRET, at, &body) {
                request = request.header(name, value);
            }
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        request.body(body).send().await.unwrap()
    }

    async fn command(&self, command: &str, text: &str) -> reqwest::Response {
        let form = serde_urlencoded::to_string([
            ("token", "legacy"),
            ("team_id", "T1"),
            ("channel_id", "C1"),
            ("user_id", "U1"),
            ("command", command),
            ("text", text),
            ("response_url", &self.hook_url),
            ("trigger_id", "1.2.3"),
        ])
        .unwrap();
        self.post_at(COMMANDS, FORM, form.into_bytes(), Some(now()), &[])
            .await
    }

    async fn interact(&self, payload: Value) -> reqwest::Response {
        let form = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        self.post_at(INTERACT, FORM, form.into_bytes(), Some(now()), &[])
            .await
    }

    async fn event(&self, body: &Value, retry: Option<&str>) -> reqwest::Response {
        let extra: Vec<(&str, &str)> = retry
            .map(|n| {
                vec![
                    ("x-slack-retry-num", n),
                    ("x-slack-retry-reason", "http_timeout"),
                ]
            })
            .unwrap_or_default();
        self.post_at(
            EVENTS,
            "application/json",
            body.to_string().into_bytes(),
            Some(now()),
            &extra,
        )
        .await
    }

    /// The next body posted to the `response_url` target.
    async fn next_hooked(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(15), self.hooked.recv())
            .await
            .expect("nothing was posted to response_url in time")
            .unwrap()
    }

    fn block_actions(&self, action_id: &str) -> Value {
        json!({
            "type": "block_actions",
            "user": {"id": "U1", "username": "ann"},
            "api_app_id": "A1",
            "team": {"id": "T1"},
            "container": {"type": "message", "message_ts": "100.1", "channel_id": "C1", "is_ephemeral": false},
            "channel": {"id": "C1", "name": "general"},
            "message": {"ts": "100.1", "text": "hi"},
            "trigger_id": "1.2.3",
            "response_url": self.hook_url,
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b1",
                         "value": "U1", "action_ts": "100.2"}]
        })
    }

    async fn audit(&self, app: &str, kind: &str) -> Vec<String> {
        self.runtime
            .storage()
            .audit
            .recent(Some(app), 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.detail)
            .collect()
    }

    /// Every row of every table, plus what the public storage API shows.
    async fn database(&self) -> Vec<String> {
        let storage = self.runtime.storage();
        let mut state = dump(&self.host.data_dir().join("botyard.db"));
        state.push(format!(
            "{:?}",
            storage.audit.recent(None, 10_000).await.unwrap()
        ));
        state.push(format!(
            "{:?}",
            storage.outbox.entries(None, 0, 10_000).await.unwrap()
        ));
        for app in ["hello", "sleeper", "mimic"] {
            state.push(format!(
                "{app}: {:?}",
                storage.kv_list(app, "", 10_000).await.unwrap()
            ));
        }
        state
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const COMMANDS: &str = "/slack/commands";
const EVENTS: &str = "/slack/events";
const INTERACT: &str = "/slack/interactivity";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn dump(path: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.iter().any(|t| t == "inbox"), "{tables:?}");
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |row| {
                let values: Vec<rusqlite::types::Value> =
                    (0..columns).map(|i| row.get(i)).collect::<Result<_, _>>()?;
                Ok(format!("{table}: {values:?}"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.push(format!("{table}: {} rows", rows.len()));
        out.extend(rows);
    }
    out
}

fn event_body(event_id: &str, event_type: &str) -> Value {
    json!({
        "token": "legacy", "team_id": "T1", "api_app_id": "A1",
        "type": "event_callback", "event_id": event_id, "event_time": now(),
        "event": {"type": event_type, "user": "U1", "text": "<@UBOT> hi", "ts": "100.1", "channel": "C1"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_gets_the_right_status_and_leaves_nothing_behind() {
    let h = Harness::start().await;
    // Something in every table first, so "unchanged" is not "still empty".
    assert_eq!(h.command("/hello", "").await.status(), 200);
    assert_eq!(
        h.event(&event_body("Ev0", "app_mention"), None)
            .await
            .status(),
        200
    );
    wait_until(|| async { h.audit("mimic", "event").await.len() == 1 }).await;
    let before = h.database().await;

    let command = b"team_id=T1&channel_id=C1&user_id=U1&command=%2Fhello&text=x".to_vec();
    let event = event_body("Ev1", "app_mention").to_string().into_bytes();
    let stale = now() - 6 * 60;
    let signed_for_other_body = signature::sign(SECRET, &now().to_string(), b"something else");
    let ts = now().to_string();
    let oversized = {
        let mut body = command.clone();
        body.extend(std::iter::repeat_n(b'x', (1 << 20) + 1 - body.len()));
        body
    };
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        &str,
        &str,
        &str,
        Vec<u8>,
        Option<i64>,
        Vec<(&str, &str)>,
        u16,
    )> = vec![
        (
            "unsigned command",
            COMMANDS,
            FORM,
            command.clone(),
            None,
            vec![],
            401,
        ),
        (
            "unsigned event",
            EVENTS,
            "application/json",
            event.clone(),
            None,
            vec![],
            401,
        ),
        (
            "unsigned interaction",
            INTERACT,
            FORM,
            b"payload=%7B%7D".to_vec(),
            None,
            vec![],
            401,
        ),
        (
            "signature of another body",
            EVENTS,
            "application/json",
            event.clone(),
            None,
            vec![
                ("x-slack-request-timestamp", &ts),
                ("x-slack-signature", &signed_for_other_body),
            ],
            401,
        ),
        (
            "signature without timestamp",
            COMMANDS,
            FORM,
            command.clone(),
            None,
            vec![("x-slack-signature", &signed_for_other_body)],
            401,
        ),
        (
            "stale command",
            COMMANDS,
            FORM,
            command.clone(),
            Some(stale),
            vec![],
            401,
        ),
        (
            "stale event",
            EVENTS,
            "application/json",
            event.clone(),
            Some(stale),
            vec![],
            401,
        ),
        (
            "future event",
            EVENTS,
            "application/json",
            event.clone(),
            Some(now() + 6 * 60),
            vec![],
            401,
        ),
        (
            "oversized command",
            COMMANDS,
            FORM,
            oversized.clone(),
            Some(now()),
            vec![],
            413,
        ),
        (
            "oversized unsigned event",
            EVENTS,
            "application/json",
            oversized,
            None,
            vec![],
            413,
        ),
        (
            "command without command",
            COMMANDS,
            FORM,
            b"user_id=U1&text=hi".to_vec(),
            Some(now()),
            vec![],
            400,
        ),
        (
            "event that is not JSON",
            EVENTS,
            "application/json",
            b"{\"type\":".to_vec(),
            Some(now()),
            vec![],
            400,
        ),
        (
            "event_callback without event_id",
            EVENTS,
            "application/json",
            br#"{"type":"event_callback","event":{"type":"app_mention"}}"#.to_vec(),
            Some(now()),
            vec![],
            400,
        ),
        (
            "interaction without payload",
            INTERACT,
            FORM,
            b"type=block_actions".to_vec(),
            Some(now()),
            vec![],
            400,
        ),
        (
            "payload that is not JSON",
            INTERACT,
            FORM,
            b"payload=%7Bnope".to_vec(),
            Some(now()),
            vec![],
            400,
        ),
        (
            "payload without type",
            INTERACT,
            FORM,
            b"payload=%7B%22user%22%3A%7B%22id%22%3A%22U1%22%7D%7D".to_vec(),
            Some(now()),
            vec![],
            400,
        ),
    ];
    for (name, path, content_type, body, signed_at, extra, want) in cases {
        let response = h.post_at(path, content_type, body, signed_at, &extra).await;
        assert_eq!(response.status().as_u16(), want, "{name}");
    }

    // Slack's housekeeping requests are answered and leave nothing either.
    let ssl = h
        .post_at(
            COMMANDS,
            FORM,
            b"ssl_check=1&token=x".to_vec(),
            Some(now()),
            &[],
        )
        .await;
    assert_eq!(ssl.status(), 200);
    let challenge = json!({"token": "x", "challenge": "c-123", "type": "url_verification"});
    let response = h.event(&challenge, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["challenge"],
        "c-123"
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.database().await,
        before,
        "a rejected request changed the database"
    );
    assert_eq!(
        h.mimic.events.load(Ordering::SeqCst),
        1,
        "a rejected event ran"
    );
    assert!(
        !h.runtime
            .storage()
            .inbox
            .seen("event:Ev1/mimic")
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slash_command_is_answered_in_the_acknowledgement() {
    let h = Harness::start().await;
    let response = h.command("/hello", "world").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response_type"], "in_channel");
    assert_eq!(body["text"], "Hello, world! You have said hello 1 time(s).");
    assert_eq!(body["blocks"][1]["elements"][0]["action_id"], "hello.count");

    let response = h.command("/nope", "").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response_type"], "ephemeral");
    let text = body["text"].as_str().unwrap();
    for want in ["no such command", "/hello", "/sleep", "/mimic"] {
        assert!(text.contains(want), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_button_click_reaches_the_app_that_posted_it() {
    let mut h = Harness::start().await;
    h.command("/hello", "").await;
    h.command("/hello", "").await;
    let response = h.interact(h.block_actions("hello.count")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");
    let posted = h.next_hooked().await;
    // hello counts the click and replaces the message that held the button.
    assert_eq!(posted["replace_original"], true);
    assert_eq!(posted["text"], "<@U1> clicked 1 time(s).");
    assert_eq!(
        posted["blocks"][1]["elements"][0]["action_id"],
        "hello.count"
    );
    assert_eq!(h.audit("hello", "action").await, ["count"]);

    // An app's error reaches the user as a short ephemeral message.
    h.interact(h.block_actions("hello.nope")).await;
    let posted = h.next_hooked().await;
    assert_eq!(posted["response_type"], "ephemeral");
    let text = posted["text"].as_str().unwrap();
    assert!(
        text.contains("app `hello`") && text.contains("has no handler for action `nope`"),
        "{text}"
    );
}

/// A click runs before its acknowledgement, like a command: its writes
/// (the audit row among them) are committed when Slack gets the 200, with
/// its key, so the same delivery again — a Socket Mode envelope whose ack was
/// lost, a replayed request — runs nothing and answers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_click_is_kept_before_its_ack_and_a_repeat_runs_nothing() {
    let mut h = Harness::start().await;
    h.command("/hello", "").await;
    let click = h.block_actions("hello.count");
    assert_eq!(h.interact(click.clone()).await.status(), 200);
    assert_eq!(
        h.audit("hello", "action").await,
        ["count"],
        "committed before the acknowledgement"
    );
    let storage = h.runtime.storage().clone();
    assert!(
        storage
            .inbox
            .seen("click:1.2.3/hello/count/0")
            .await
            .unwrap()
    );
    assert_eq!(storage.inbox.pending_count().await.unwrap(), 0);
    let posted = h.next_hooked().await;
    assert_eq!(posted["text"], "<@U1> clicked 1 time(s).");

    assert_eq!(h.interact(click).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.hooked.try_recv().is_err(), "a repeat was answered");
    assert_eq!(h.audit("hello", "action").await, ["count"], "a repeat ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crafted_action_id_cannot_reach_another_app() {
    let mut h = Harness::start().await;
    // mimic writes hello's id into its button; the host prefixes it with mimic.
    let body: Value = h.command("/mimic", "").await.json().await.unwrap();
    let forged = body["blocks"][0]["elements"][0]["action_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(forged, "mimic.hello.count");
    h.interact(h.block_actions(&forged)).await;
    let posted = h.next_hooked().await;
    assert_eq!(posted["replace_original"], true);
    assert_eq!(posted["text"], "mimic got hello.count");
    assert_eq!(*h.mimic.actions.lock().unwrap(), ["hello.count"]);

    // Ids no loaded app owns are refused without invoking anything.
    let storage = h.runtime.storage().clone();
    wait_until(|| async { storage.outbox.pending(10).await.unwrap().is_empty() }).await;
    let before = h.database().await;
    for id in ["count", "ghost.count", "Hello.count"] {
        let response = h.interact(h.block_actions(id)).await;
        assert_eq!(response.status(), 200, "{id}");
    }
    // Un-namespaced ids are ignored silently; the gone app's is explained.
    let posted = h.next_hooked().await;
    assert_eq!(posted["response_type"], "ephemeral");
    assert!(
        posted["text"].as_str().unwrap().contains("`ghost`"),
        "{posted}"
    );
    assert_eq!(h.database().await, before, "a refused click invoked an app");
    assert!(h.audit("hello", "action").await.is_empty());
    assert_eq!(h.mimic.actions.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_retried_by_slack_runs_once() {
    let h = Harness::start().await;
    let body = event_body("Ev42", "app_mention");
    let started = Instant::now();
    assert_eq!(h.event(&body, None).await.status(), 200);
    for retry in ["1", "2", "3"] {
        assert_eq!(h.event(&body, Some(retry)).await.status(), 200);
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    wait_until(|| async { h.mimic.events.load(Ordering::SeqCst) >= 1 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.mimic.events.load(Ordering::SeqCst), 1);
    assert_eq!(h.audit("mimic", "event").await, ["app_mention Ev42"]);
    assert!(
        h.runtime
            .storage()
            .inbox
            .seen("event:Ev42/mimic")
            .await
            .unwrap()
    );

    // Another id runs; an event type nobody subscribes to runs nothing.
    h.event(&event_body("Ev43", "app_mention"), None).await;
    h.event(&event_body("Ev44", "reaction_added"), None).await;
    wait_until(|| async { h.mimic.events.load(Ordering::SeqCst) >= 2 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.mimic.events.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_app_is_acknowledged_in_time_and_answers_through_response_url() {
    let mut h = Harness::start().await;
    // Quick: the reply is the acknowledgement.
    let body: Value = h.command("/sleep", "10").await.json().await.unwrap();
    assert_eq!(body["text"], "slept 10");

    let started = Instant::now();
    let response = h.command("/sleep", "3500").await;
    let acked_after = started.elapsed();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "",
        "a late reply must not be in the ack"
    );
    assert!(
        acked_after < Duration::from_millis(3000),
        "acknowledged after {acked_after:?}"
    );
    let posted = h.next_hooked().await;
    assert!(started.elapsed() >= Duration::from_millis(3500));
    assert_eq!(posted["response_type"], "in_channel");
    assert_eq!(posted["text"], "slept 3500");
    // The late command was taken into the inbox before the acknowledgement
    // (so another process could have answered it) and done with the
    // answer; the quick one never needed to be.
    let storage = h.runtime.storage().clone();
    assert!(storage.inbox.seen("command:1.2.3").await.unwrap());
    wait_until(|| async { storage.inbox.pending_count().await.unwrap() == 0 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_modal_submission_gets_its_response_action() {
    let h = Harness::start().await;
    let submission = |value: &str| {
        json!({
            "type": "view_submission",
            "user": {"id": "U1"},
            "trigger_id": "1.2.3",
            "view": {
                "id": "V1", "type": "modal", "callback_id": "mimic.order",
                "private_metadata": "",
                "state": {"values": {"qty": {"mimic.n": {"type": "plain_text_input", "value": value}}}}
            }
        })
    };
    let response = h.interact(submission("bad")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"response_action": "errors", "errors": {"qty": "not a number"}})
    );
    let response = h.interact(submission("2")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "",
        "an empty 200 closes the modal"
    );
    let seen = h.mimic.submissions.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].0, "order");
    assert_eq!(
        seen[1].1["qty"]["n"]["value"], "2",
        "the app sees its own ids"
    );

    // A submission for an app that is not loaded shows an error view.
    let mut orphan = submission("2");
    orphan["view"]["callback_id"] = json!("ghost.order");
    let body: Value = h.interact(orphan).await.json().await.unwrap();
    assert_eq!(body["response_action"], "update");
    assert_eq!(h.mimic.submissions.lock().unwrap().len(), 2);
}

async fn wait_until<F: std::future::Future<Output = bool>>(condition: impl Fn() -> F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The click `hello.count` by U1 as the inbox keeps it.
fn hello_click(response_url: &str) -> Work {
    Work {
        request: Request::Action(ActionRequest {
            action_id: "count".into(),
            block_id: Some("b1".into()),
            value: Some("U1".into()),
            message: Some(MessageRef {
                channel: "C1".into(),
                ts: "100.1".into(),
            }),
            context: InvocationContext {
                user_id: "U1".into(),
                channel_id: "C1".into(),
                trigger_id: Some("dead.1".into()),
            },
        }),
        response_url: Some(response_url.into()),
        answer: Answer::Action,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn work_a_dead_process_took_in_is_taken_over_and_answered_once() {
    let mut h = Harness::start().await;
    // Another process on the same database took a click in (Slack got its
    // acknowledgement) and died before running it.
    let other = Storage::open(&h.host.data_dir().join("botyard.db")).unwrap();
    let body = serde_json::to_vec(&hello_click(&h.hook_url)).unwrap();
    let started = Instant::now();
    let taken = other
        .inbox
        .take(
            &[NewInbound {
                key: "click:dead.1/hello/count/0",
                app: "hello",
                body: &body,
            }],
            now_ms() as i64,
            Duration::from_millis(200),
        )
        .await
        .unwrap();
    assert!(taken[0].is_some());
    drop(other);

    // This host's inbox takes it over once the lease runs out, and the
    // answer goes where the click's would have.
    let posted = h.next_hooked().await;
    assert_eq!(posted["replace_original"], true);
    assert_eq!(posted["text"], "<@U1> clicked 1 time(s).");
    assert!(
        started.elapsed() < Duration::from_secs(inbox::LEASE.as_secs() + 5),
        "taken over after {:?}",
        started.elapsed()
    );
    let storage = h.runtime.storage().clone();
    wait_until(|| async { storage.inbox.pending_count().await.unwrap() == 0 }).await;
    // Once: no second answer, one audited run.
    tokio::time::sleep(inbox::TAKEOVER_EVERY * 3).await;
    assert!(h.hooked.try_recv().is_err(), "answered twice");
    assert_eq!(h.audit("hello", "action").await, ["count"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_whose_claim_was_overtaken_keeps_nothing_of_its_run() {
    // PostgreSQL: a unit that is not committed is rolled back (SQLite shares
    // one transaction among units, and one process owns its file).
    let url = support::postgres::database();
    let options = |replica: &str| botyard::storage::postgres::Options::new(url.clone(), replica);
    let paused = Storage::connect_postgres(options("paused")).await.unwrap();
    let other = Storage::connect_postgres(options("other")).await.unwrap();
    let host = TestHost::new(CONFIG, &[("hello", "hello-rust")]);
    let apps = host
        .builder()
        .storage(paused.clone())
        .start()
        .await
        .unwrap()
        .apps()
        .clone();
    let work = hello_click("http://127.0.0.1:9/never");
    let body = serde_json::to_vec(&work).unwrap();
    let item = NewInbound {
        key: "click:p.1/hello/count/0",
        app: "hello",
        body: &body,
    };
    let now = now_ms() as i64;
    let stale = paused
        .inbox
        .take(&[item], now, Duration::from_millis(50))
        .await
        .unwrap()[0]
        .unwrap();
    // "paused" sleeps past its lease; "other" takes the click over.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let over = other
        .inbox
        .claim_expired(now_ms() as i64, inbox::LEASE, 10, &[])
        .await
        .unwrap();
    assert_eq!(over.len(), 1);
    assert_eq!(over[0].1.token, 2);

    // "paused" wakes and runs the click with the claim it holds.
    let inbox = Inbox::of(&apps);
    let ran = inbox.run("hello", work, stale).await;
    let error = ran.err().expect("an overtaken run must fail").to_string();
    assert!(error.contains("took this work over"), "{error}");
    // Nothing of it was kept: not the store write, not the answer, not
    // the audit row; the work is still the other process's to do.
    let mut read = paused.begin();
    assert_eq!(read.get("hello", "clicks/U1").await.unwrap(), None);
    drop(read);
    assert!(
        paused
            .outbox
            .entries(Some("hello"), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(h_audit(&paused, "hello").await.is_empty());
    assert_eq!(other.inbox.pending_count().await.unwrap(), 1);
}

async fn h_audit(storage: &Storage, app: &str) -> Vec<String> {
    storage
        .audit
        .recent(Some(app), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.detail)
        .collect()
}
