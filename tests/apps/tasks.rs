//! The shipped tasks app (`apps/tasks`, JavaScript) end to end through the
//! real `botyard serve` and the Slack emulator: Jira Cloud's webhook
//! deliveries POSTed to `/hooks/tasks/jira` as Jira sends them, with the
//! host checking the bearer token (read from a file secret, as an operator
//! gives it) and recognising Jira's retries by `X-Atlassian-Webhook-Identifier`
//! — what a scenario cannot show, since the test kit posts with
//! `verify = "none"` and no delivery header. What each person was told is
//! read from the emulator's DMs, never from the app's word.

use std::time::Duration;

use botyard::emulator::{Emulator, EmulatorConfig, Message};
use serde_json::{Value, json};
use tokio::time::timeout;

use crate::support::serve::{Mode, Served, serve_in, setup_dir, wait_for};

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(30);
const TOKEN: &str = "tasks-jira-hook-7c1e";
const BOB: &str = "5b10ac8d82e05b22cc7d4ef5";
const ALICE: &str = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077";

struct World {
    slack: Emulator,
    served: Served,
    _dir: tempfile::TempDir,
    _secrets: tempfile::TempDir,
}

async fn world() -> World {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("jira-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let dir = setup_dir(&slack, Mode::Http, &[("tasks", "tasks")]);
    let base = std::fs::read_to_string(dir.path().join("botyard.toml")).unwrap();
    let bob = slack.user_id("bob").unwrap();
    let alice = slack.user_id("alice").unwrap();
    // batch_seconds = 0: each delivery's DM goes out at once (the two-minute
    // batching runs on virtual time in the scenarios).
    let app = format!(
        "\n[apps.tasks]\n\
         grants = [\"slack\", \"store\", \"schedule\", \"log\", \"clock\", \"settings\"]\n\
         [apps.tasks.settings]\n\
         batch_seconds = 0\n\
         [apps.tasks.settings.people]\n\
         \"{BOB}\" = \"{bob}\"\n\
         \"{ALICE}\" = \"<@{alice}>\"\n\
         [apps.tasks.webhooks.jira]\n\
         verify = \"bearer\"\n\
         token = \"${{file:{}}}\"\n\
         delivery_header = \"X-Atlassian-Webhook-Identifier\"\n\
         retry_after_ms = 100\n",
        token_file.display()
    );
    std::fs::write(dir.path().join("botyard.toml"), base + &app).unwrap();
    let served = serve_in(Mode::Http, dir.path(), &slack, BOUND).await;
    World {
        slack,
        served,
        _dir: dir,
        _secrets: secrets,
    }
}

fn person(id: &str, name: &str) -> Value {
    json!({ "accountId": id, "displayName": name, "active": true, "accountType": "atlassian" })
}

/// Jira Cloud's `jira:issue_created`, ENG-1 assigned to bob by alice.
fn created() -> Value {
    json!({
        "timestamp": 1767607200000_i64,
        "webhookEvent": "jira:issue_created",
        "issue_event_type_name": "issue_created",
        "user": person(ALICE, "Alice Martin"),
        "issue": {
            "id": "10001",
            "self": "https://acme.atlassian.net/rest/api/2/10001",
            "key": "ENG-1",
            "fields": {
                "summary": "Checkout button does nothing on iOS",
                "status": { "name": "To Do", "id": "10000", "statusCategory": { "id": 2, "key": "new", "name": "To Do" } },
                "priority": { "id": "2", "name": "High" },
                "duedate": null,
                "assignee": person(BOB, "Bob Chen"),
                "reporter": person(ALICE, "Alice Martin")
            }
        }
    })
}

/// `comment_created` on ENG-1 by alice.
fn commented() -> Value {
    json!({
        "timestamp": 1767607260000_i64,
        "webhookEvent": "comment_created",
        "comment": {
            "id": "10100",
            "author": person(ALICE, "Alice Martin"),
            "body": "Happens with Apple Pay only.",
            "created": "2026-01-05T10:01:00.000+0000"
        },
        "issue": { "id": "10001", "key": "ENG-1", "fields": { "summary": "Checkout button does nothing on iOS" } }
    })
}

/// `jira:issue_updated` moving ENG-1 to In Review, by alice.
fn status_changed() -> Value {
    json!({
        "timestamp": 1767607320000_i64,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": person(ALICE, "Alice Martin"),
        "issue": {
            "id": "10001",
            "self": "https://acme.atlassian.net/rest/api/2/10001",
            "key": "ENG-1",
            "fields": {
                "summary": "Checkout button does nothing on iOS",
                "status": { "name": "In Review", "id": "10004", "statusCategory": { "id": 4, "key": "indeterminate", "name": "In Progress" } },
                "assignee": person(BOB, "Bob Chen"),
                "reporter": person(ALICE, "Alice Martin")
            }
        },
        "changelog": {
            "id": "10150",
            "items": [{ "field": "status", "fieldtype": "jira", "fieldId": "status",
                        "from": "10000", "fromString": "To Do", "to": "10004", "toString": "In Review" }]
        }
    })
}

impl World {
    fn hook_url(&self) -> String {
        format!("{}/hooks/tasks/jira", self.served.base_url)
    }

    async fn post(&self, body: &Value, auth: Option<&str>, delivery: &str) -> reqwest::StatusCode {
        let mut request = reqwest::Client::new()
            .post(self.hook_url())
            .header("X-Atlassian-Webhook-Identifier", delivery)
            .header("X-Atlassian-Webhook-Flow", "Primary")
            .json(body);
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        timeout(BOUND, request.send())
            .await
            .expect("the host answers in time")
            .expect("the host answers")
            .status()
    }

    /// The app's messages in `user`'s DM, oldest first.
    fn dms(&self, user: &str) -> Vec<Message> {
        let channel = self.slack.dm_channel(user).unwrap();
        self.slack.messages(&channel)
    }

    /// What each of `user`'s DMs says: its text and its blocks' JSON.
    fn said(&self, user: &str) -> Vec<String> {
        self.dms(user)
            .into_iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m.text,
                    m.blocks.map(|b| b.to_string()).unwrap_or_default()
                )
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_deliveries_are_checked_deduplicated_and_reach_the_assignee() {
    let w = world().await;

    // Nobody unauthenticated gets a task into anyone's DMs.
    assert_eq!(w.post(&created(), None, "d-0").await, 401);
    assert_eq!(
        w.post(&created(), Some("Bearer not-the-token"), "d-0")
            .await,
        401
    );

    let bearer = format!("Bearer {TOKEN}");
    let status = w.post(&created(), Some(&bearer), "d-1").await;
    assert!(status.is_success(), "{status}");
    wait_for("bob's DM about ENG-1", BOUND, || {
        w.dms("bob").iter().any(|m| m.text.contains("ENG-1"))
    })
    .await;
    let dm = &w.dms("bob")[0];
    assert!(
        dm.text.contains("assigned to you by <@"),
        "the assigner is mentioned: {}",
        dm.text
    );
    let blocks = dm.blocks.as_ref().map(Value::to_string).unwrap_or_default();
    assert!(
        blocks.contains("https://acme.atlassian.net/browse/ENG-1"),
        "linked to the issue on the site its `self` names: {blocks}"
    );
    assert!(
        blocks.contains("snooze:ENG-1"),
        "a Snooze button for ENG-1: {blocks}"
    );

    // A comment by alice (the reporter and commenter): bob hears, alice not.
    let status = w.post(&commented(), Some(&bearer), "d-2").await;
    assert!(status.is_success(), "{status}");
    wait_for("bob's DM about the comment", BOUND, || {
        w.said("bob").iter().any(|m| m.contains("Apple Pay"))
    })
    .await;
    // Jira retries it with the same identifier: one delivery, so no second
    // DM about the same comment (the app alone would tell bob twice).
    let status = w.post(&commented(), Some(&bearer), "d-2").await;
    assert!(status.is_success(), "{status}");
    // A later delivery, to know the retry had its chance to run first.
    let status = w.post(&status_changed(), Some(&bearer), "d-3").await;
    assert!(status.is_success(), "{status}");
    wait_for("bob's DM about the status", BOUND, || {
        w.said("bob").iter().any(|m| m.contains("In Review"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let texts = w.said("bob");
    assert_eq!(
        texts.iter().filter(|t| t.contains("Apple Pay")).count(),
        1,
        "the retried comment was run once: {texts:#?}"
    );
    assert_eq!(texts.len(), 3, "one DM per delivery: {texts:#?}");
    assert!(
        w.dms("alice").is_empty(),
        "alice made every change: {:?}",
        w.dms("alice")
    );

    // bob's /tasks lists it.
    let answer = timeout(
        BOUND,
        w.slack.send_slash_command("bob", "general", "/tasks"),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let bob = w.slack.user_id("bob").unwrap();
    let title = "Checkout button does nothing on iOS";
    // The list is the command's ephemeral answer: in the acknowledgement,
    // or posted to bob alone just after it.
    wait_for("ENG-1 in bob's /tasks", BOUND, || {
        answer.body.contains(title)
            || w.slack
                .visible_to("bob", "general")
                .iter()
                .any(|m| m.ephemeral_to.as_deref() == Some(bob.as_str()) && m.text.contains(title))
    })
    .await;
}
