//! The Slack calls real apps need (issue 11), end to end: the `slacker` and
//! `triage` test guests in the real `botyard serve` process against the
//! Slack emulator, once over HTTP and once over Socket Mode. Each call is
//! checked by what Slack (the emulator) ends up holding — the channel, its
//! members, topic and pin, the scheduled message, the uploaded file, the
//! metadata — or by what the app read back from it.

use std::time::Duration;

use crate::support::serve::{Mode, Served, serve_in, setup_dir, wait_for};
use botyard::emulator::{Emulator, EmulatorConfig, Message};
use tokio::time::timeout;

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(15);

const APPS: &[(&str, &str)] = &[("slacker", "slacker"), ("triage", "triage")];

struct Flow {
    slack: Emulator,
    _served: Served,
    _dir: tempfile::TempDir,
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
    }
}

impl Flow {
    /// Alice types `line` in #general; returns the ephemeral answer she sees.
    async fn slacker(&self, line: &str) -> String {
        let general = self.slack.channel_id("general").unwrap();
        let alice = self.slack.user_id("alice").unwrap();
        let mine = |slack: &Emulator| -> Vec<Message> {
            slack
                .visible_to(&alice, &general)
                .into_iter()
                .filter(|m| m.ephemeral_to.as_deref() == Some(alice.as_str()))
                .collect()
        };
        let before = mine(&self.slack).len();
        let answer = timeout(
            BOUND,
            self.slack
                .send_slash_command("alice", "general", &format!("/slacker {line}")),
        )
        .await
        .unwrap_or_else(|_| panic!("/slacker {line} answered in time"))
        .unwrap_or_else(|e| panic!("/slacker {line} delivered: {e}"));
        assert_eq!(answer.status, 200, "/slacker {line}: {}", answer.body);
        wait_for(&format!("the answer to /slacker {line}"), BOUND, || {
            mine(&self.slack).len() > before
        })
        .await;
        mine(&self.slack).pop().unwrap().text
    }
}

async fn every_new_call_reaches_slack(mode: Mode) {
    let flow = start(mode).await;
    let slack = &flow.slack;
    let general = slack.channel_id("general").unwrap();
    let alice = slack.user_id("alice").unwrap();
    let bob = slack.user_id("bob").unwrap();

    // post with thread, broadcast and metadata.
    let answer = flow.slacker(&format!("meta {general}")).await;
    assert!(answer.contains(" in thread "), "{answer}");
    wait_for("the reply with metadata", BOUND, || {
        slack
            .messages(&general)
            .iter()
            .any(|m| m.text == "With metadata")
    })
    .await;
    let messages = slack.messages(&general);
    let parent = messages
        .iter()
        .find(|m| m.text == "Slacker thread")
        .unwrap();
    let reply = messages.iter().find(|m| m.text == "With metadata").unwrap();
    assert_eq!(reply.thread_ts.as_deref(), Some(parent.ts.as_str()));
    assert_eq!(reply.subtype.as_deref(), Some("thread_broadcast"));
    let metadata = reply.metadata.as_ref().expect("metadata kept");
    assert_eq!(metadata["event_type"], "slacker");
    assert_eq!(metadata["event_payload"]["n"], 1);

    // get-permalink and thread-replies read what Slack holds.
    let link = flow
        .slacker(&format!("permalink {general} {}", parent.ts))
        .await;
    assert!(
        link.starts_with("http") && link.contains(&general),
        "a permalink to the message: {link}"
    );
    let thread = flow
        .slacker(&format!("thread {general} {}", parent.ts))
        .await;
    assert!(
        thread.starts_with(&format!("{} ", parent.ts))
            && thread.contains("Slacker thread")
            && thread.contains("With metadata"),
        "the parent first, then the reply: {thread}"
    );

    // channel-members, user-groups, user-group-members.
    let members = flow.slacker(&format!("members {general}")).await;
    for user in [&alice, &bob] {
        assert!(members.contains(user.as_str()), "{user} in {members}");
    }
    let groups = flow.slacker("groups").await;
    let group = slack.usergroup_id("sre-oncall").unwrap();
    assert!(
        groups.contains(&format!("{group} @sre-oncall (SRE on call)")),
        "{groups}"
    );
    let on_call = flow.slacker(&format!("group {group}")).await;
    assert_eq!(on_call, format!("{alice}, {bob}"));

    // create-channel, invite, set-topic, post and pin: an incident channel.
    let name = match mode {
        Mode::Http => "inc-over-http",
        Mode::Socket => "inc-over-socket",
    };
    let opened = flow.slacker(&format!("incident {name} {bob}")).await;
    assert!(opened.ends_with(" pinned"), "{opened}");
    wait_for("the incident channel's pin", BOUND, || {
        slack
            .channel_id(name)
            .is_some_and(|id| !slack.pins(&id).is_empty())
    })
    .await;
    let incident = slack.channel_id(name).unwrap();
    let channel = slack.channel(&incident).unwrap();
    assert!(!channel.is_private);
    assert!(channel.members.contains(&bob), "{:?}", channel.members);
    assert_eq!(channel.topic.value, format!("Incident {name}"));
    let pinned = &slack.pins(&incident)[0];
    let pinned = slack
        .messages(&incident)
        .into_iter()
        .find(|m| m.ts == pinned.ts)
        .expect("the pinned message is in the channel");
    assert_eq!(pinned.text, format!("Incident {name} opened by <@{alice}>"));

    // schedule-message: listed by Slack until its time.
    let scheduled = flow
        .slacker(&format!("schedule {general} 600 lunch-soon"))
        .await;
    assert!(scheduled.starts_with("scheduled "), "{scheduled}");
    wait_for("the scheduled message", BOUND, || {
        slack
            .scheduled(Some(&general))
            .iter()
            .any(|s| s.text == "lunch-soon")
    })
    .await;
    assert!(
        !slack
            .messages(&general)
            .iter()
            .any(|m| m.text == "lunch-soon"),
        "not posted before its time"
    );

    // upload-file: Slack's three steps, shared in the channel.
    assert_eq!(
        flow.slacker(&format!("upload {general}")).await,
        "uploaded report.csv"
    );
    wait_for("the uploaded file", BOUND, || {
        slack
            .files()
            .iter()
            .any(|f| f.name == "report.csv" && f.content.is_some())
    })
    .await;
    let file = slack
        .files()
        .into_iter()
        .find(|f| f.name == "report.csv")
        .unwrap();
    assert_eq!(
        slack.file_content(&file.id).as_deref(),
        Some(&b"dish,votes\npho,3\n"[..])
    );
    wait_for("the file shared in #general", BOUND, || {
        slack
            .messages(&general)
            .iter()
            .any(|m| m.files.contains(&file.id))
    })
    .await;

    // upload-file to a person (their user id): the host opens the DM, as
    // Slack shares files into conversations only.
    assert_eq!(
        flow.slacker(&format!("upload {alice}")).await,
        "uploaded report.csv"
    );
    let dm = slack.dm_channel(&alice).unwrap();
    wait_for("the file shared in alice's DM", BOUND, || {
        slack.messages(&dm).iter().any(|m| {
            m.files
                .iter()
                .any(|id| id != &file.id && slack.file_content(id).is_some())
        })
    })
    .await;

    // Shortcuts: a message shortcut answers in the message's thread, a
    // global one in a DM.
    let (ts, _) = slack
        .post_as_user("bob", "general", "the build is red", None)
        .await
        .unwrap();
    let sent = timeout(
        BOUND,
        slack.send_message_shortcut("alice", "general", &ts, "triage.triage"),
    )
    .await
    .expect("the message shortcut answered in time")
    .unwrap();
    assert_eq!(sent.status, 200, "{}", sent.body);
    let expected = format!("<@{alice}> sent this to triage: the build is red");
    wait_for("triage's reply in the thread", BOUND, || {
        slack
            .thread(&general, &ts)
            .iter()
            .any(|m| m.text == expected)
    })
    .await;
    let sent = timeout(BOUND, slack.send_global_shortcut("alice", "triage.help"))
        .await
        .expect("the global shortcut answered in time")
        .unwrap();
    assert_eq!(sent.status, 200, "{}", sent.body);
    let dm = slack.dm_channel(&alice).unwrap();
    wait_for("triage's DM", BOUND, || {
        slack
            .messages(&dm)
            .iter()
            .any(|m| m.text == "Triage will be with you shortly.")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_slack_call_works_over_http() {
    every_new_call_reaches_slack(Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_slack_call_works_over_socket_mode() {
    every_new_call_reaches_slack(Mode::Socket).await;
}
