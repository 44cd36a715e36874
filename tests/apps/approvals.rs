//! The shipped approvals app (`apps/approvals`, Rust) end to end, through
//! the real `botyard serve` and the Slack emulator: purchase orders come in
//! by the ERP's webhook (checked by the host with a bearer token), are
//! decided by clicks the emulator sends, and the final decision is POSTed
//! to a receiver standing in for the ERP, on a loopback port of the test's
//! own, reached through the host's `http` capability and its allow rule.
//!
//! What happened is read from the emulator (messages, threads, DMs) and
//! from what the receiver got — never from the app's own answer alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use botyard::emulator::{Emulator, EmulatorConfig, Message, UserGroupSpec};
use serde_json::{Value, json};
use tokio::time::timeout;

use crate::support::serve::{Mode, Served, action_ids, serve_in, setup_dir, wait_for};

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(30);
const ERP_TOKEN: &str = "erp-webhook-token-7c1";

/// What the ERP received: the `Idempotency-Key` header and the JSON body.
type Received = Arc<Mutex<Vec<(String, Value)>>>;

struct World {
    slack: Emulator,
    served: Served,
    erp: Received,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// An ERP callback receiver on a loopback port: every POST recorded, 200.
async fn erp_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/decisions",
            post(
                |State(got): State<Received>, headers: HeaderMap, body: String| async move {
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
                    got.lock().unwrap().push((key, body));
                    "ok"
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, received)
}

async fn world() -> World {
    let mut config = EmulatorConfig::default();
    config.usergroups.push(UserGroupSpec::new(
        "po-approvers",
        "Purchase order approvers",
        &["bob", "carol"],
    ));
    config.usergroups.push(UserGroupSpec::new(
        "finance-leads",
        "Finance leads",
        &["carol", "dave"],
    ));
    config.usergroups.push(UserGroupSpec::new(
        "claims-approvers",
        "Claims approvers",
        &["bob"],
    ));
    let slack = Emulator::start(config).await.unwrap();
    slack.add_channel("approvals");
    let (erp, received) = erp_receiver().await;
    let dir = setup_dir(&slack, Mode::Http, &[("approvals", "approvals")]);
    let base = std::fs::read_to_string(dir.path().join("botyard.toml")).unwrap();
    // Secrets come from a file (or the environment), never from botyard.toml.
    let token_file = dir.path().join("erp-webhook-token");
    std::fs::write(&token_file, format!("{ERP_TOKEN}\n")).unwrap();
    let app = format!(
        "\n[apps.approvals]\n\
         grants = [\"slack\", \"store\", \"schedule\", \"log\", \"clock\", \"settings\", \"http\"]\n\
         \n\
         [[apps.approvals.http.allow]]\nurl = \"{erp}/\"\n\
         \n\
         [apps.approvals.webhooks.po]\nverify = \"bearer\"\ntoken = \"${{file:{token}}}\"\n\
         \n\
         [apps.approvals.settings]\n\
         channel = \"#approvals\"\n\
         po_callback_url = \"{erp}/decisions\"\n",
        token = token_file.display()
    );
    std::fs::write(dir.path().join("botyard.toml"), base + &app).unwrap();
    let served = serve_in(Mode::Http, dir.path(), &slack, BOUND).await;
    World {
        slack,
        served,
        erp: received,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl World {
    /// The ERP posts a purchase order (or an amendment) to the webhook.
    async fn erp_posts(&self, body: Value, token: &str) -> u16 {
        self.http
            .post(format!("{}/hooks/approvals/po", self.served.base_url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The top-level message of `id` in #approvals, once it says `text`.
    async fn request_message(&self, id: &str, text: &str) -> Message {
        let title = format!("Purchase order {id}:");
        let find = || {
            self.slack
                .messages("approvals")
                .into_iter()
                .find(|m| m.text.starts_with(&title) && m.text.contains(text))
        };
        wait_for(&format!("{id} saying {text:?}"), BOUND, || find().is_some()).await;
        find().unwrap()
    }

    /// `user` presses `button` (`approve`, `reject`) on `message`, with the
    /// value it carries unless `value` is given; the host's answer body.
    async fn click(
        &self,
        user: &str,
        message: &Message,
        button: &str,
        value: Option<&str>,
    ) -> String {
        let mut ids = Vec::new();
        action_ids(message.blocks.as_ref().expect("blocks"), &mut ids);
        let action = format!("approvals.{button}");
        let (id, shown) = ids
            .iter()
            .find(|(id, _)| *id == action)
            .cloned()
            .unwrap_or_else(|| panic!("no button {action} in {ids:?}"));
        let value = value.map(str::to_string).or(shown).unwrap_or_default();
        let answer = timeout(
            BOUND,
            self.slack
                .send_block_actions(user, "approvals", &message.ts, &id, &value),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(answer.status, 200, "{button}: {}", answer.body);
        answer.body
    }

    /// What `user` was shown only to them in #approvals, newest last.
    fn ephemerals(&self, user: &str) -> Vec<String> {
        self.slack
            .visible_to(user, "approvals")
            .into_iter()
            .filter(|m| m.ephemeral_to.is_some())
            .map(|m| m.text)
            .collect()
    }

    /// `user` types `line` in #approvals: the acknowledgement's body.
    async fn command(&self, user: &str, line: &str) -> String {
        let answer = timeout(
            BOUND,
            self.slack.send_slash_command(user, "approvals", line),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(answer.status, 200, "{line}: {}", answer.body);
        answer.body
    }

    fn thread_of(&self, message: &Message) -> Vec<String> {
        self.slack
            .thread("approvals", &message.ts)
            .into_iter()
            .skip(1)
            .map(|m| m.text)
            .collect()
    }

    fn dms_of(&self, user: &str) -> Vec<String> {
        let dm = self.slack.dm_channel(user).unwrap();
        self.slack
            .messages(&dm)
            .into_iter()
            .map(|m| m.text)
            .collect()
    }
}

/// Two approvers of a 1-approval purchase order click Approve at the same
/// moment, three times over: each time exactly one decision — one approver
/// on the message, one thread line, one DM to the requester, one history
/// entry, one callback to the ERP — and the other click is told the
/// request changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_approvers_clicking_at_once_make_exactly_one_decision() {
    let w = world().await;
    let alice = w.slack.user_id("alice").unwrap();
    for round in 1..=3 {
        let id = format!("PO-{round}");
        let status = w
            .erp_posts(
                json!({"erp_ref": format!("ERP-{round}"), "vendor": "Acme Packaging", "amount": 640 + round, "description": "Boxes", "requester": alice}),
                ERP_TOKEN,
            )
            .await;
        assert_eq!(status, 202, "the webhook is recorded and accepted");
        let posted = w
            .request_message(&id, "0 of 1 approval(s) from @po-approvers")
            .await;

        let (bob, carol) = tokio::join!(
            w.click("bob", &posted, "approve", None),
            w.click("carol", &posted, "approve", None)
        );
        let decided = w.request_message(&id, "✅ Approved by").await;
        tokio::time::sleep(Duration::from_millis(700)).await;

        // One approver on the message, updated in place (the same ts).
        assert_eq!(decided.ts, posted.ts);
        let decided = w
            .slack
            .messages("approvals")
            .into_iter()
            .find(|m| m.ts == posted.ts)
            .unwrap();
        let bob_id = w.slack.user_id("bob").unwrap();
        let carol_id = w.slack.user_id("carol").unwrap();
        let by_bob = decided.text.contains(&format!("Approved by <@{bob_id}>"));
        let by_carol = decided.text.contains(&format!("Approved by <@{carol_id}>"));
        assert!(by_bob ^ by_carol, "exactly one approver: {}", decided.text);
        assert!(
            !decided
                .blocks
                .as_ref()
                .unwrap()
                .to_string()
                .contains("approvals.approve"),
            "no buttons left on a decided request"
        );

        // The loser was told the request changed; the winner that they approved.
        let (winner, loser) = if by_bob {
            ("bob", "carol")
        } else {
            ("carol", "bob")
        };
        let told = |user: &str, what: &str| {
            w.ephemerals(user)
                .iter()
                .any(|t| t.contains(what) && t.contains(&id))
        };
        wait_for("the loser's answer", BOUND, || {
            told(loser, "This request changed since version 1")
        })
        .await;
        assert!(told(winner, "You approved"), "{:?}", w.ephemerals(winner));
        let _ = (bob, carol);

        // One thread line, one DM (delivered through the outbox after the update).
        wait_for("the decision's thread line and DM", BOUND, || {
            w.thread_of(&decided).iter().any(|t| t.contains("approved"))
                && w.dms_of("alice").iter().any(|t| t.contains(&id))
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let thread = w.thread_of(&decided);
        assert_eq!(
            thread.iter().filter(|t| t.contains("approved")).count(),
            1,
            "{thread:?}"
        );
        let dms: Vec<String> = w
            .dms_of("alice")
            .into_iter()
            .filter(|t| t.contains(&format!("purchase order {id} ")))
            .collect();
        assert_eq!(dms.len(), 1, "{dms:?}");

        // One history entry for the decision, after the request.
        let history = w.command("alice", &format!("/po history {id}")).await;
        assert_eq!(history.matches("*approved*").count(), 1, "{history}");
        assert_eq!(history.matches("*requested*").count(), 1, "{history}");
        assert!(history.contains("pending → approved · v2"), "{history}");

        // One callback to the ERP, for version 2, naming the one approver.
        let key = format!("po:{id}:2");
        wait_for("the ERP callback", BOUND, || {
            w.erp.lock().unwrap().iter().any(|(k, _)| *k == key)
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let calls: Vec<Value> = w
            .erp
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, b)| b.clone())
            .collect();
        assert_eq!(calls.len(), 1, "{calls:?}");
        let call = &calls[0];
        assert_eq!(call["id"], id.as_str());
        assert_eq!(call["erp_ref"], format!("ERP-{round}"));
        assert_eq!(call["state"], "approved");
        assert_eq!(call["version"], 2);
        assert_eq!(call["amount"], (640 + round) as f64);
        let approvers = call["approvers"].as_array().unwrap();
        assert_eq!(approvers.len(), 1, "{call}");
        let approver = if by_bob { &bob_id } else { &carol_id };
        assert_eq!(approvers[0]["user"], approver.as_str());
    }
    assert_eq!(
        w.erp.lock().unwrap().len(),
        3,
        "one callback per purchase order"
    );
}

/// An ERP amendment bumps the version: a click carrying the old one is
/// refused with the current request and decides nothing; the webhook
/// refuses a sender without the token; a rejection reaches the ERP with
/// its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_on_a_superseded_request_is_refused_and_a_rejection_reaches_the_erp() {
    let w = world().await;
    assert_eq!(
        w.erp_posts(
            json!({"erp_ref": "X-1", "vendor": "Globex", "amount": 300}),
            "wrong"
        )
        .await,
        401,
        "the host checks the ERP's token"
    );
    assert_eq!(
        w.erp_posts(
            json!({"erp_ref": "X-1", "vendor": "Globex", "amount": 300}),
            ERP_TOKEN
        )
        .await,
        202
    );
    let first = w.request_message("PO-1", "300.00 USD").await;
    assert_eq!(
        w.erp_posts(json!({"erp_ref": "X-1", "amount": 350}), ERP_TOKEN)
            .await,
        202
    );
    let amended = w.request_message("PO-1", "350.00 USD").await;
    assert_eq!(amended.ts, first.ts, "updated in place");

    // bob's click still carries version 1 (the message as he saw it).
    w.click("bob", &first, "approve", None).await;
    wait_for("the refusal", BOUND, || {
        w.ephemerals("bob")
            .iter()
            .any(|t| t.contains("This request changed since version 1") && t.contains("350.00 USD"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let now = w.request_message("PO-1", "350.00 USD").await;
    assert!(
        now.text.contains("0 of 1 approval(s)"),
        "nothing decided: {}",
        now.text
    );
    assert!(w.erp.lock().unwrap().is_empty());

    // A typed rejection of the current version: final, and the ERP is told why.
    let answer = w
        .command(
            "carol",
            "/po reject PO-1 v2 vendor not on the approved list",
        )
        .await;
    assert!(answer.contains("You rejected PO-1"), "{answer}");
    let rejected = w.request_message("PO-1", "❌ Rejected by").await;
    assert!(
        rejected.text.contains("vendor not on the approved list"),
        "{}",
        rejected.text
    );
    wait_for("the ERP callback", BOUND, || {
        !w.erp.lock().unwrap().is_empty()
    })
    .await;
    let (key, call) = w.erp.lock().unwrap()[0].clone();
    assert_eq!(key, "po:PO-1:3");
    assert_eq!(call["state"], "rejected");
    assert_eq!(call["reason"], "vendor not on the approved list");
    assert_eq!(
        call["rejected_by"]["user"],
        w.slack.user_id("carol").unwrap().as_str()
    );
    let history = w.command("bob", "/po history PO-1").await;
    for step in ["*requested*", "*amended*", "*rejected*", "*erp-notified*"] {
        assert_eq!(history.matches(step).count(), 1, "{step}: {history}");
    }
}
