//! Whole user flows through the real `botyard serve` process and the Slack
//! emulator, each over HTTP and over Socket Mode: a button click that
//! rewrites the message it sits in, while a button carrying another app's
//! action id reaches only the app that posted it; a modal whose submission is rejected
//! with an inline error, then accepted; an @mention that Slack delivers
//! twice but the app answers once; and an app slower than Slack's 3 seconds
//! whose answer still arrives. The apps' Slack calls go out through
//! the async outbox, so every wait polls with a time cap.

use std::time::Duration;

use crate::support::serve::{
    Mode, Served, action_ids, find_message, serve_in, setup_dir, wait_for,
};
use botyard::emulator::{Emulator, EmulatorConfig, Transport};
use serde_json::json;
use tokio::time::timeout;

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(15);

const APPS: &[(&str, &str)] = &[
    ("hello", "hello-rust"),
    ("modal", "modal"),
    ("mentions", "mentions"),
    ("sleeper", "sleeper"),
    ("mimic", "mimic"),
];

struct Flow {
    slack: Emulator,
    _served: Served,
    _dir: tempfile::TempDir,
    mode: Mode,
}

async fn start(mode: Mode) -> Flow {
    let slack = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let dir = setup_dir(&slack, mode, APPS);
    let served = serve_in(mode, dir.path(), &slack, BOUND).await;
    Flow {
        slack,
        _served: served,
        _dir: dir,
        mode,
    }
}

impl Flow {
    fn transport(&self) -> Transport {
        match self.mode {
            Mode::Http => Transport::Http,
            Mode::Socket => Transport::SocketMode,
        }
    }

    async fn command(&self, user: &str, channel: &str, line: &str) {
        let answer = timeout(BOUND, self.slack.send_slash_command(user, channel, line))
            .await
            .unwrap_or_else(|_| panic!("{line} answered in time"))
            .unwrap_or_else(|e| panic!("{line} delivered: {e}"));
        assert_eq!(answer.status, 200, "{line}: {}", answer.body);
        assert_eq!(answer.transport, self.transport());
        assert!(
            answer.within_slack_deadline(),
            "{line} took {:?}",
            answer.elapsed
        );
    }
}

async fn click_updates_the_message(mode: Mode) {
    let flow = start(mode).await;
    let slack = &flow.slack;
    flow.command("alice", "general", "/hello").await;

    wait_for("the /hello reply in #general", BOUND, || {
        find_message(slack, "general", |m| {
            m.text.contains("said hello 1 time(s)")
        })
        .is_some()
    })
    .await;
    let posted = find_message(slack, "general", |m| {
        m.text.contains("said hello 1 time(s)")
    })
    .unwrap();
    let mut ids = Vec::new();
    action_ids(
        posted.blocks.as_ref().expect("the reply has blocks"),
        &mut ids,
    );
    let (action_id, value) = ids
        .iter()
        .find(|(id, _)| id.ends_with(".count"))
        .cloned()
        .unwrap_or_else(|| panic!("a namespaced count button: {ids:?}"));
    assert_eq!(action_id, "hello.count", "namespaced by the host");

    let clicked = timeout(
        BOUND,
        slack.send_block_actions(
            "alice",
            "general",
            &posted.ts,
            &action_id,
            value.as_deref().unwrap_or_default(),
        ),
    )
    .await
    .expect("click answered in time")
    .expect("click delivered");
    assert_eq!(clicked.status, 200, "{}", clicked.body);
    assert_eq!(clicked.transport, flow.transport());
    assert!(
        clicked.within_slack_deadline(),
        "acked in {:?}",
        clicked.elapsed
    );

    // The update goes out through the outbox to the response_url.
    let alice = slack.user_id("alice").unwrap();
    let expected = format!("<@{alice}> clicked 1 time(s).");
    wait_for("the message to be replaced", BOUND, || {
        find_message(slack, "general", |m| {
            m.ts == posted.ts && m.text == expected
        })
        .is_some()
    })
    .await;
    let messages = slack.messages("general");
    assert_eq!(messages.len(), 1, "replaced, not added: {messages:?}");
    let updated = &messages[0];
    assert_eq!(updated.ts, posted.ts);
    let mut ids = Vec::new();
    action_ids(updated.blocks.as_ref().expect("still has blocks"), &mut ids);
    assert!(
        ids.iter().any(|(id, _)| id == "hello.count"),
        "the button is still there, namespaced: {ids:?}"
    );
}

async fn modal_rejects_then_accepts(mode: Mode) {
    let flow = start(mode).await;
    let slack = &flow.slack;
    flow.command("alice", "general", "/feedback").await;
    assert!(
        slack.messages("general").is_empty(),
        "/feedback replies nothing"
    );

    // views.open goes out through the outbox, within the trigger's 3 s.
    wait_for("the feedback modal to open", BOUND, || {
        !slack.views_of("alice").is_empty()
    })
    .await;
    let views = slack.views_of("alice");
    assert_eq!(views.len(), 1, "{views:?}");
    let view = &views[0];
    assert_eq!(view.view["type"], "modal");
    assert_eq!(view.view["title"]["text"], "Feedback");
    assert_eq!(view.view["callback_id"], "modal.feedback", "namespaced");
    let channel = slack.channel_id("general").unwrap();
    assert_eq!(view.view["private_metadata"], channel.as_str());
    let mut ids = Vec::new();
    action_ids(&view.view["blocks"], &mut ids);
    assert_eq!(ids.len(), 1, "{ids:?}");
    let input = ids[0].0.clone();
    assert_eq!(input, "modal.value");
    let view_id = view.id.clone();

    let submit = |rating: &str| {
        let values = json!({
            "rating": {
                input.as_str(): {"type": "plain_text_input", "value": rating}
            }
        });
        let slack = slack.clone();
        let view_id = view_id.clone();
        async move {
            timeout(BOUND, slack.send_view_submission("alice", &view_id, values))
                .await
                .expect("submission answered in time")
                .expect("submission delivered")
        }
    };

    // Out of range: the modal stays open with an error under `rating`.
    let answer = submit("9").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.transport, flow.transport());
    assert!(
        answer.within_slack_deadline(),
        "acked in {:?}",
        answer.elapsed
    );
    let views = slack.views_of("alice");
    assert_eq!(views.len(), 1, "still open: {views:?}");
    assert_eq!(views[0].id, view_id);
    let errors = views[0].errors.clone().expect("errors shown");
    assert_eq!(
        errors,
        json!({"rating": "Enter a number from 1 to 5"}),
        "answer: {}",
        answer.body
    );
    assert!(
        slack.messages("general").is_empty(),
        "nothing posted for a rejected rating"
    );

    // In range: closed, and thanked in the channel.
    let answer = submit("4").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.within_slack_deadline(),
        "acked in {:?}",
        answer.elapsed
    );
    assert!(
        slack.views_of("alice").is_empty(),
        "modal closed: {:?} (answer {})",
        slack.views_of("alice"),
        answer.body
    );
    wait_for("the thank-you in #general", BOUND, || {
        slack
            .messages("general")
            .iter()
            .any(|m| m.text == "Thanks! Rating: 4")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let thanks = slack.messages("general");
    assert_eq!(thanks.len(), 1, "posted once: {thanks:?}");
}

async fn a_crafted_action_id_reaches_only_its_poster(mode: Mode) {
    let flow = start(mode).await;
    let slack = &flow.slack;
    flow.command("alice", "general", "/mimic").await;
    let text = "A button with hello's id";
    wait_for("mimic's button", BOUND, || {
        find_message(slack, "general", |m| m.text == text).is_some()
    })
    .await;
    let posted = find_message(slack, "general", |m| m.text == text).unwrap();
    let mut ids = Vec::new();
    action_ids(posted.blocks.as_ref().unwrap(), &mut ids);
    assert_eq!(
        ids,
        [("mimic.hello.count".to_string(), Some("forged".to_string()))],
        "the host namespaced the forged id under mimic"
    );

    // The click goes to mimic; hello is never invoked.
    let clicked = timeout(
        BOUND,
        slack.send_block_actions("alice", "general", &posted.ts, &ids[0].0, "forged"),
    )
    .await
    .expect("click answered in time")
    .expect("click delivered");
    assert_eq!(clicked.status, 200, "{}", clicked.body);
    assert_eq!(clicked.transport, flow.transport());
    wait_for("mimic's update", BOUND, || {
        find_message(slack, "general", |m| {
            m.ts == posted.ts && m.text == "mimic got hello.count"
        })
        .is_some()
    })
    .await;

    // hello's own button counts alice's first click as the first: the forged
    // click above never reached hello (it would have counted one already).
    flow.command("alice", "general", "/hello").await;
    wait_for("hello's reply", BOUND, || {
        find_message(slack, "general", |m| {
            m.text.contains("said hello 1 time(s)")
        })
        .is_some()
    })
    .await;
    let hello = find_message(slack, "general", |m| {
        m.text.contains("said hello 1 time(s)")
    })
    .unwrap();
    let alice = slack.user_id("alice").unwrap();
    timeout(
        BOUND,
        slack.send_block_actions("alice", "general", &hello.ts, "hello.count", &alice),
    )
    .await
    .expect("click answered in time")
    .expect("click delivered");
    let first_click = format!("<@{alice}> clicked 1 time(s).");
    wait_for("hello's first click", BOUND, || {
        find_message(slack, "general", |m| m.text == first_click).is_some()
    })
    .await;
}

async fn a_retried_event_runs_once(mode: Mode) {
    let flow = start(mode).await;
    let slack = &flow.slack;
    let bot = slack.config().bot_user_id.clone();
    let alice = slack.user_id("alice").unwrap();
    let real_name = slack
        .users()
        .into_iter()
        .find(|u| u.id == alice)
        .unwrap()
        .real_name;
    let channel = slack.channel_id("general").unwrap();
    let text = format!("<@{bot}> are you there?");
    let (ts, _) = timeout(BOUND, slack.post_as_user("alice", "general", &text, None))
        .await
        .expect("posted in time")
        .expect("posted");

    // The answer names alice as Slack knows her: lookup-user reached users.info.
    let answer = format!("Heard you, {real_name}! (mention 1)");
    let bot_replies = || {
        slack
            .thread("general", &ts)
            .into_iter()
            .filter(|m| m.user != alice)
            .collect::<Vec<_>>()
    };
    wait_for("the answer in the thread", BOUND, || {
        bot_replies().iter().any(|m| m.text == answer)
    })
    .await;

    // Slack delivers the same event again, as when it missed our ack.
    let event = json!({
        "type": "app_mention",
        "channel": channel,
        "user": alice,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    });
    let retry = timeout(BOUND, slack.send_event(event, Some(1)))
        .await
        .expect("retry answered in time")
        .expect("retry delivered");
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.transport, flow.transport());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let replies = bot_replies();
    assert_eq!(replies.len(), 1, "answered once: {replies:?}");
    assert_eq!(replies[0].text, answer);
}

async fn a_slow_app_still_answers(mode: Mode) {
    let flow = start(mode).await;
    let slack = &flow.slack;
    // The command is acknowledged within Slack's 3 s (checked by `command`)...
    flow.command("alice", "general", "/sleep 3500").await;
    assert!(
        slack.messages("general").is_empty(),
        "nothing could have been answered yet"
    );
    // ...and the reply follows through the response_url once the app is done.
    wait_for("the slow reply", BOUND, || {
        slack
            .messages("general")
            .iter()
            .any(|m| m.text == "slept 3500")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_action_id_reaches_only_its_poster_over_http() {
    a_crafted_action_id_reaches_only_its_poster(Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_action_id_reaches_only_its_poster_over_socket_mode() {
    a_crafted_action_id_reaches_only_its_poster(Mode::Socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_runs_once_over_http() {
    a_retried_event_runs_once(Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_runs_once_over_socket_mode() {
    a_retried_event_runs_once(Mode::Socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_app_still_answers_over_http() {
    a_slow_app_still_answers(Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_app_still_answers_over_socket_mode() {
    a_slow_app_still_answers(Mode::Socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_updates_its_message_over_http() {
    click_updates_the_message(Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_updates_its_message_over_socket_mode() {
    click_updates_the_message(Mode::Socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modal_rejects_then_accepts_a_rating_over_http() {
    modal_rejects_then_accepts(Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modal_rejects_then_accepts_a_rating_over_socket_mode() {
    modal_rejects_then_accepts(Mode::Socket).await;
}
