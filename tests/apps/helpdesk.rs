//! The shipped helpdesk app (`apps/helpdesk`, Python) through the real
//! `botyard serve` and the Slack emulator over HTTP: a request forwarded
//! by the support tool (the `forward` webhook, bearer-authenticated, with
//! the requester's Slack id), then replies in its thread. What a scenario
//! cannot show: Slack delivering the same `message` event again — as a
//! retry with the same `event_id` (the host's inbox takes it once) and as
//! a fresh delivery with a new one (the app's own dedupe by the reply's
//! `ts`) — still DMs the requester once per reply.
//!
//! Everything is read back from the emulator (messages, DMs, what each
//! delivery was answered), never taken on the app's word.

use std::time::Duration;

use botyard::emulator::{Emulator, EmulatorConfig, Message, UserGroupSpec};
use serde_json::{Value, json};

use crate::support::serve::{Mode, Served, serve_in, setup_dir, wait_for};

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(30);
const TOKEN: &str = "forward-token-7d1e";

struct World {
    slack: Emulator,
    served: Served,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let slack = Emulator::start(EmulatorConfig {
        usergroups: vec![UserGroupSpec::new("billing", "Billing", &["carol", "bob"])],
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    for channel in ["billing", "billing-help"] {
        slack.add_channel(channel);
    }
    let dir = setup_dir(&slack, Mode::Http, &[("helpdesk", "helpdesk")]);
    let token = dir.path().join("forward-token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("botyard.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!(
        "\n[apps.helpdesk]\n\
         grants = [\"slack\", \"store\", \"schedule\", \"log\", \"clock\", \"settings\"]\n\
         deadline_ms = 20000\n\
         [apps.helpdesk.settings.teams.billing]\n\
         first_response = \"30m\"\n\
         [apps.helpdesk.webhooks.forward]\n\
         verify = \"bearer\"\n\
         token = \"${{file:{}}}\"\n\
         retry_after_ms = 100\n",
        token.display()
    ));
    std::fs::write(&config, toml).unwrap();
    let served = serve_in(Mode::Http, dir.path(), &slack, BOUND).await;
    World {
        slack,
        served,
        _dir: dir,
    }
}

impl World {
    fn id(&self, name: &str) -> String {
        self.slack
            .user_id(name)
            .unwrap_or_else(|| panic!("{name} is a user"))
    }

    async fn forward(&self, body: Value, token: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/hooks/helpdesk/forward", self.served.base_url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("the webhook answers")
            .status()
            .as_u16()
    }

    /// The request messages (top level) in #billing-help.
    fn requests(&self) -> Vec<Message> {
        self.slack
            .messages("billing-help")
            .into_iter()
            .filter(|m| !m.is_reply())
            .collect()
    }

    fn dms(&self, user: &str) -> Vec<String> {
        let dm = self.slack.dm_channel(user).unwrap();
        self.slack
            .messages(&dm)
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    /// Waits until `user` has `n` DMs, then a little longer to see that no
    /// more come; returns them.
    async fn expect_dms(&self, user: &str, n: usize) -> Vec<String> {
        wait_for(&format!("{n} DM(s) to {user}"), BOUND, || {
            self.dms(user).len() >= n
        })
        .await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let dms = self.dms(user);
        assert_eq!(dms.len(), n, "{user}'s DMs: {dms:#?}");
        dms
    }

    /// `user` replies in the thread of `parent` in #billing-help; returns
    /// the reply's ts and the `message` event Slack sent for it.
    async fn reply(&self, user: &str, parent: &str, text: &str) -> (String, Value) {
        let (ts, answer) = self
            .slack
            .post_as_user(user, "billing-help", text, Some(parent))
            .await
            .expect("the reply is posted");
        let answer = answer.expect("the host receives events");
        assert_eq!(answer.status, 200, "{}", answer.body);
        // The event exactly as `post_as_user` sent it (the emulator knows a
        // retry by its content and gives it the first delivery's event_id).
        let event = json!({
            "type": "message",
            "channel": self.slack.channel_id("billing-help").unwrap(),
            "user": self.id(user),
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
            "thread_ts": parent,
        });
        (ts, event)
    }
}

fn block_text(m: &Message) -> String {
    m.blocks.as_ref().map(|b| b.to_string()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_reply_delivered_again_dms_the_requester_once() {
    let w = world().await;
    let (alice, carol) = (w.id("alice"), w.id("carol"));

    // The forward webhook checks its sender: a wrong token posts nothing.
    let ticket = json!({
        "team": "billing",
        "requester": alice,
        "text": "I was charged twice for order 8812",
        "link": "https://acme.zendesk.com/agent/tickets/4711",
        "id": "4711",
        "source": "Zendesk",
    });
    assert_eq!(w.forward(ticket.clone(), "not-the-token").await, 401);
    assert_eq!(w.forward(ticket, TOKEN).await, 202);
    wait_for("the request in #billing-help", BOUND, || {
        !w.requests().is_empty()
    })
    .await;
    let request = w.requests().remove(0);
    let blocks = block_text(&request);
    assert!(
        request.text.starts_with(&format!(
            "HD-1 · request for billing from <@{alice}>: I was charged twice for order 8812"
        )),
        "{}",
        request.text
    );
    assert!(
        blocks.contains("forwarded from Zendesk #4711")
            && blocks.contains("<https://acme.zendesk.com/agent/tickets/4711|Original message>")
            && !blocks.contains("Comment"),
        "{blocks}"
    );

    // carol (in @billing) answers: alice gets it by DM, with a link to the reply.
    let (ts, event) = w
        .reply("carol", &request.ts, "Refunded, it shows in 3 days")
        .await;
    let dms = w.expect_dms("alice", 1).await;
    let link = w.slack.permalink("billing-help", &ts).unwrap();
    assert_eq!(
        dms[0],
        format!(
            "💬 <@{carol}> (billing) answered your request HD-1:\n> Refunded, it shows in 3 days\n\
             <{link}|See the reply in the thread>"
        )
    );

    // Slack is not sure the event arrived and sends it again: as a retry
    // (same event_id) and as a new delivery (a new event_id). Both are
    // acknowledged; neither is a second DM.
    let retry = w.slack.send_event(event.clone(), Some(1)).await.unwrap();
    assert_eq!(retry.status, 200, "{}", retry.body);
    let again = w.slack.send_event(event, None).await.unwrap();
    assert_eq!(again.status, 200, "{}", again.body);
    assert_ne!(
        retry.event_id, again.event_id,
        "the second delivery has an event_id of its own, so only the app can know it is the same reply"
    );
    w.expect_dms("alice", 1).await;

    // The first response stopped the clock in the request's message.
    wait_for("the request to show its first response", BOUND, || {
        block_text(&w.requests()[0]).contains(&format!("First response by <@{carol}> after"))
    })
    .await;

    // alice's own reply is not sent back to her; dave (not in @billing) is
    // no answer; bob's (in @billing) is her second DM.
    w.reply("alice", &request.ts, "Thanks, same card?").await;
    w.reply("dave", &request.ts, "Me too!").await;
    w.expect_dms("alice", 1).await;
    let (_, event) = w.reply("bob", &request.ts, "Yes, the same card").await;
    let dms = w.expect_dms("alice", 2).await;
    assert!(
        dms[1].starts_with(&format!(
            "💬 <@{}> (billing) answered your request HD-1:\n> Yes, the same card",
            w.id("bob")
        )),
        "{}",
        dms[1]
    );
    let again = w.slack.send_event(event, None).await.unwrap();
    assert_eq!(again.status, 200, "{}", again.body);
    w.expect_dms("alice", 2).await;

    // The same ticket forwarded again is not a second request.
    let again = json!({"team": "billing", "requester": alice, "text": "again", "id": "4711"});
    assert_eq!(w.forward(again, TOKEN).await, 202);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(w.requests().len(), 1);
}
