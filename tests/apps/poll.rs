//! The shipped poll app (`apps/poll`, Rust) end to end:
//!
//! - through the real `botyard serve` and the Slack emulator, over HTTP and
//!   over Socket Mode: a poll typed as a command, votes by clicking its
//!   buttons, a vote moved, the message redrawn with the counts, closed by
//!   its creator;
//! - **nothing acknowledged is lost**: 1,000 votes from 200 people sent at
//!   once over signed HTTP, `kill -9` of `serve` half-way, a restart on the
//!   same data directory, and every vote that was not answered 200 sent
//!   again, as Slack's user would click again: each person's choices in the
//!   store are exactly theirs, and the closed poll's counts are exact. (A
//!   click answered 200 is durably in the host's inbox; one the killed
//!   process had not run yet is run by the restarted one. Votes are
//!   idempotent, so one sent again after it had in fact been counted
//!   changes nothing.);
//! - 10,000 voters: the redrawn message, the voter list and the CSV stay
//!   inside Slack's limits (the host refuses a message beyond them) and the
//!   counts are exact.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use botyard::contract::bindings::types::{
    ActionRequest, ActionResponse, CommandRequest, InvocationContext, MessageRef,
};
use botyard::contract::request::{Request, Response};
use botyard::emulator::{Emulator, EmulatorConfig, Message, Transport};
use botyard::routing::Apps;
use serde_json::Value;
use tokio::time::timeout;

use crate::support::TestHost;
use crate::support::serve::{Mode, Served, action_ids, serve, serve_in, setup_dir, wait_for};

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(30);

/// The text of every section of a message, by `block_id`.
fn sections(message: &Message) -> BTreeMap<String, String> {
    message
        .blocks
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| {
            Some((
                b["block_id"].as_str()?.to_string(),
                b["text"]["text"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Every context line of a message, joined.
fn contexts(message: &Message) -> String {
    let mut text = String::new();
    for block in message
        .blocks
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if block["type"] == "context" {
            for element in block["elements"].as_array().into_iter().flatten() {
                text.push_str(element["text"].as_str().unwrap_or_default());
                text.push('\n');
            }
        }
    }
    text
}

/// The vote count a poll message shows for option `i`.
fn count(message: &Message, i: usize) -> Option<u64> {
    let text = sections(message).remove(&format!("option-{i}"))?;
    let at = text.rfind('(')?;
    text[at + 1..].split(' ').next()?.parse().ok()
}

fn poll_message(slack: &Emulator, channel: &str, question: &str) -> Option<Message> {
    slack
        .messages(channel)
        .into_iter()
        .find(|m| m.text.contains(question) && m.ephemeral_to.is_none())
}

/// A poll's `vote:<i>` buttons: namespaced action id and value (the poll id).
fn vote_buttons(message: &Message) -> Vec<(String, String)> {
    let mut ids = Vec::new();
    action_ids(
        message.blocks.as_ref().expect("a poll has blocks"),
        &mut ids,
    );
    ids.into_iter()
        .filter(|(id, _)| id.starts_with("poll.vote:"))
        .map(|(id, value)| (id, value.unwrap_or_default()))
        .collect()
}

async fn command(slack: &Emulator, user: &str, line: &str, transport: Transport) {
    let answer = timeout(BOUND, slack.send_slash_command(user, "general", line))
        .await
        .expect("answered in time")
        .expect("delivered");
    assert_eq!(answer.status, 200, "{line}: {}", answer.body);
    assert_eq!(answer.transport, transport);
    assert!(
        answer.within_slack_deadline(),
        "{line}: {:?}",
        answer.elapsed
    );
}

async fn click(slack: &Emulator, user: &str, ts: &str, action: &str, value: &str) {
    let answer = timeout(
        BOUND,
        slack.send_block_actions(user, "general", ts, action, value),
    )
    .await
    .expect("click answered in time")
    .expect("click delivered");
    assert_eq!(answer.status, 200, "{action}: {}", answer.body);
}

async fn create_vote_close(mode: Mode) {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup_dir(&slack, mode, &[("poll", "poll")]);
    let _served: Served = serve_in(mode, dir.path(), &slack, BOUND).await;
    let transport = match mode {
        Mode::Http => Transport::Http,
        Mode::Socket => Transport::SocketMode,
    };
    let question = "Where is the offsite?";
    command(
        &slack,
        "alice",
        "/poll “Where is the offsite?” “Lisbon” “Berlin” “Seoul”",
        transport,
    )
    .await;
    wait_for("the poll in #general", BOUND, || {
        poll_message(&slack, "general", question).is_some()
    })
    .await;
    let posted = poll_message(&slack, "general", question).unwrap();
    let buttons = vote_buttons(&posted);
    assert_eq!(buttons.len(), 3, "{buttons:?}");
    let poll_id = buttons[0].1.clone();
    assert!((0..3).all(|i| count(&posted, i) == Some(0)), "{posted:?}");

    // bob and carol for Berlin, dave for Lisbon: each sees their vote.
    for (user, option) in [("bob", 1), ("carol", 1), ("dave", 0)] {
        click(
            &slack,
            user,
            &posted.ts,
            &format!("poll.vote:{option}"),
            &poll_id,
        )
        .await;
    }
    let bob = slack.user_id("bob").unwrap();
    wait_for("bob's confirmation", BOUND, || {
        slack
            .visible_to(&bob, "general")
            .iter()
            .any(|m| m.ephemeral_to.is_some() && m.text.contains("You voted for *Berlin*"))
    })
    .await;
    let shows = |counts: [u64; 3]| {
        let slack = slack.clone();
        move || {
            poll_message(&slack, "general", question)
                .is_some_and(|m| (0..3).all(|i| count(&m, i) == Some(counts[i])))
        }
    };
    wait_for("the message to show 1/2/0", BOUND, shows([1, 2, 0])).await;

    // bob moves to Lisbon; clicking Lisbon again changes nothing.
    click(&slack, "bob", &posted.ts, "poll.vote:0", &poll_id).await;
    click(&slack, "bob", &posted.ts, "poll.vote:0", &poll_id).await;
    wait_for("the message to show 2/1/0", BOUND, shows([2, 1, 0])).await;
    let now = poll_message(&slack, "general", question).unwrap();
    assert_eq!(now.ts, posted.ts, "redrawn in place");
    assert!(
        contexts(&now).contains("3 voters · 3 votes"),
        "{}",
        contexts(&now)
    );

    // Only the creator may close it; then the buttons are gone.
    click(&slack, "bob", &posted.ts, "poll.close", &poll_id).await;
    wait_for("bob told he may not close it", BOUND, || {
        slack
            .visible_to(&bob, "general")
            .iter()
            .any(|m| m.text.contains("can close it"))
    })
    .await;
    assert!(vote_buttons(&poll_message(&slack, "general", question).unwrap()).len() == 3);
    click(&slack, "alice", &posted.ts, "poll.close", &poll_id).await;
    wait_for("the poll closed", BOUND, || {
        poll_message(&slack, "general", question)
            .is_some_and(|m| contexts(&m).contains("Closed by") && vote_buttons(&m).is_empty())
    })
    .await;
    let closed = poll_message(&slack, "general", question).unwrap();
    assert_eq!([count(&closed, 0), count(&closed, 1)], [Some(2), Some(1)]);
    assert!(
        sections(&closed)["option-0"].contains(":trophy:"),
        "{closed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_is_created_voted_and_closed_over_http() {
    create_vote_close(Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_is_created_voted_and_closed_over_socket_mode() {
    create_vote_close(Mode::Socket).await;
}

/// 200 people × 5 votes, `kill -9` half-way, the rest sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_vote_is_lost_or_counted_twice_across_kill_9() {
    const PEOPLE: usize = 200;
    const EACH: usize = 5;
    const OPTIONS: usize = 6;
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup_dir(&slack, Mode::Http, &[("poll", "poll")]);
    let served = Arc::new(Mutex::new(Some(serve(dir.path(), &slack))));
    let question = "Which talks?";
    command(
        &slack,
        "alice",
        r#"/poll "Which talks?" "A" "B" "C" "D" "E" "F" --multiple 5"#,
        Transport::Http,
    )
    .await;
    wait_for("the poll", BOUND, || {
        poll_message(&slack, "general", question).is_some()
    })
    .await;
    let posted = poll_message(&slack, "general", question).unwrap();
    let poll_id = vote_buttons(&posted)[0].1.clone();
    let people: Vec<String> = (0..PEOPLE)
        .map(|i| slack.add_user(&format!("voter{i}")))
        .collect();
    // Person i votes for every option but (i % 6).
    let choices = |i: usize| -> Vec<usize> { (1..=EACH).map(|k| (i + k) % OPTIONS).collect() };

    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, user) in people.iter().enumerate() {
        let (slack, user, ts, poll_id, acked) = (
            slack.clone(),
            user.clone(),
            posted.ts.clone(),
            poll_id.clone(),
            acked.clone(),
        );
        let options = choices(i);
        tasks.push(tokio::spawn(async move {
            let (mut unanswered, mut slowest) = (Vec::new(), Duration::ZERO);
            for option in options {
                let answer = slack
                    .send_block_actions(
                        &user,
                        "general",
                        &ts,
                        &format!("poll.vote:{option}"),
                        &poll_id,
                    )
                    .await;
                match answer {
                    Ok(a) if a.status == 200 => {
                        slowest = slowest.max(a.elapsed);
                        acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => unanswered.push(option),
                }
            }
            (unanswered, slowest)
        }));
    }
    // kill -9 once half the votes are acknowledged.
    let killer = {
        let (served, acked) = (served.clone(), acked.clone());
        tokio::spawn(async move {
            while acked.load(std::sync::atomic::Ordering::SeqCst) < PEOPLE * EACH / 2 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            drop(served.lock().unwrap().take()); // SIGKILL
        })
    };
    let (mut resend, mut slowest) = (Vec::new(), Duration::ZERO);
    for (i, task) in tasks.into_iter().enumerate() {
        let (unanswered, slow) = timeout(BOUND, task).await.expect("voters finish").unwrap();
        slowest = slowest.max(slow);
        for option in unanswered {
            resend.push((i, option));
        }
    }
    // Every acknowledgement follows a commit: of the vote itself when the
    // app answered within the ack budget, of the click taken into the inbox
    // when it did not (a loaded machine) — so an ack at the budget is no
    // exception to "acknowledged means kept". Slowness is the benchmark's.
    eprintln!("slowest acknowledgement: {slowest:?}");
    timeout(BOUND, killer).await.unwrap().unwrap();
    let acked_before = acked.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        acked_before >= PEOPLE * EACH / 2 && !resend.is_empty(),
        "the kill came half-way: {acked_before} acknowledged, {} not, in {:?}",
        resend.len(),
        started.elapsed()
    );
    assert_eq!(acked_before + resend.len(), PEOPLE * EACH);

    // Restart on the same data directory; send again what was not answered.
    let restarted = serve(dir.path(), &slack);
    for (i, option) in &resend {
        let answer = timeout(
            BOUND,
            slack.send_block_actions(
                &people[*i],
                "general",
                &posted.ts,
                &format!("poll.vote:{option}"),
                &poll_id,
            ),
        )
        .await
        .expect("answered in time")
        .expect("delivered");
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // An acknowledged click is committed, or in the host's inbox: the
    // restarted host runs what the killed one had taken in and not done.
    // Wait for the message to count every vote, then close the poll.
    let all = format!("{PEOPLE} voters · {} votes", PEOPLE * EACH);
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(60)
        && !poll_message(&slack, "general", question).is_some_and(|m| contexts(&m).contains(&all))
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(&slack, "alice", &posted.ts, "poll.close", &poll_id).await;
    wait_for("the closed poll", BOUND, || {
        poll_message(&slack, "general", question)
            .is_some_and(|m| contexts(&m).contains("Closed by"))
    })
    .await;
    let closed = poll_message(&slack, "general", question).unwrap();
    drop(restarted);

    // The store itself: each person's line holds exactly their five options.
    let storage = botyard::storage::Storage::open(&dir.path().join("botyard.db")).unwrap();
    let record = storage
        .kv_get("poll", &format!("poll/{poll_id}"))
        .await
        .unwrap();
    let record: Value = serde_json::from_slice(&record.expect("the poll is kept")).unwrap();
    assert_eq!(
        record["closed"]["by"],
        slack.user_id("alice").unwrap().as_str()
    );
    let mut lines = BTreeMap::new();
    for shard in 0..record["shards"].as_u64().expect("a shard count") {
        let Some(bytes) = storage
            .kv_get("poll", &format!("poll/{poll_id}/s/{shard}"))
            .await
            .unwrap()
        else {
            continue;
        };
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("c "), "the shard is closed: {text:.40}");
        for line in text.lines().skip(1) {
            let mut words = line.split(' ');
            let user = words.next().unwrap().to_string();
            let mut options: Vec<usize> = words.map(|w| w.parse().unwrap()).collect();
            options.sort();
            assert!(lines.insert(user, options).is_none(), "one line per voter");
        }
    }
    let mut wrong = Vec::new();
    for (i, user) in people.iter().enumerate() {
        let mut expected = choices(i);
        expected.sort();
        let stored = lines.get(user).cloned().unwrap_or_default();
        if stored != expected {
            let resent: Vec<usize> = resend
                .iter()
                .filter(|(r, _)| *r == i)
                .map(|(_, o)| *o)
                .collect();
            let told: Vec<String> = slack
                .visible_to(user, "general")
                .into_iter()
                .filter(|m| m.ephemeral_to.is_some())
                .map(|m| m.text)
                .collect();
            wrong.push(format!(
                "{user}: stored {stored:?}, expected {expected:?}, resent {resent:?}; told {told:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} people's votes are wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(lines.len(), PEOPLE);

    // And the closed poll's message says the same.
    for option in 0..OPTIONS {
        let expected = (0..PEOPLE)
            .filter(|i| choices(*i).contains(&option))
            .count() as u64;
        assert_eq!(
            count(&closed, option),
            Some(expected),
            "option {option}: {closed:?}"
        );
    }
    assert!(
        contexts(&closed).contains(&format!("{PEOPLE} voters · {} votes", PEOPLE * EACH)),
        "{}",
        contexts(&closed)
    );
}

fn context(user: &str) -> InvocationContext {
    InvocationContext {
        user_id: user.into(),
        channel_id: "C1".into(),
        trigger_id: None,
    }
}

/// `user` clicks the poll's button `action_id` (its value is the poll's id).
fn click_as(poll: &str, action_id: &str, user: &str) -> Request {
    Request::Action(ActionRequest {
        action_id: action_id.into(),
        block_id: None,
        value: Some(poll.into()),
        message: Some(MessageRef {
            channel: "C1".into(),
            ts: "1.0".into(),
        }),
        context: context(user),
    })
}

fn vote(poll: &str, option: usize, user: &str) -> Request {
    click_as(poll, &format!("vote:{option}"), user)
}

/// The payloads of `app`'s Slack calls of `method`, oldest first.
async fn calls(apps: &Apps, method: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let mut after = 0;
    loop {
        let page = apps
            .storage()
            .outbox
            .entries(Some("poll"), after, 500)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        found.extend(
            page.into_iter()
                .filter(|e| e.method == method)
                .map(|e| e.payload),
        );
    }
    found
}

/// Every block of a message payload within Slack's limits the host does not
/// itself check (it checks the block count, the text and section lengths).
fn check_limits(blocks: &Value) {
    let blocks = blocks.as_array().expect("blocks");
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    for block in blocks {
        if let Some(text) = block["text"]["text"].as_str() {
            assert!(
                text.chars().count() <= 3000,
                "a section of {} chars",
                text.len()
            );
        }
        for element in block["elements"].as_array().into_iter().flatten() {
            if element["type"] == "button" {
                assert!(element["text"]["text"].as_str().unwrap().chars().count() <= 75);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_voters_stay_exact_and_inside_slacks_limits() {
    const VOTERS: usize = 10_000;
    let host = TestHost::new("", &[("poll", "poll")]);
    let apps = host.start().await;
    let create = Request::Command(CommandRequest {
        command: "/poll".into(),
        subcommand: None,
        text: r#""Lunch?" "Pizza" "Tacos" "Ramen" "Salad" "=SUM(1+1)""#.into(),
        context: context("UCREATOR"),
    });
    apps.invoke("poll", create).await.expect("created");
    let posted = calls(&apps, "chat.postMessage").await;
    let mut ids = Vec::new();
    action_ids(&posted[0]["blocks"], &mut ids);
    let poll = ids[0]
        .1
        .clone()
        .expect("the vote button carries the poll id");

    // Votes straight into the runtime (no HTTP), 8 at a time: person n
    // picks option n % 4 — or option 0 for every third person.
    let option_of = |n: usize| if n.is_multiple_of(3) { 0 } else { n % 4 };
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (apps, poll, next) = (apps.clone(), poll.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= VOTERS {
                    break;
                }
                let user = format!("U{n:07}");
                let (_, invocation) = apps
                    .invoke("poll", vote(&poll, option_of(n), &user))
                    .await
                    .unwrap_or_else(|e| panic!("vote {n}: {e}"));
                assert!(matches!(
                    invocation.response,
                    Response::Action(ActionResponse::Reply(_))
                ));
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let voting = started.elapsed();
    assert!(
        voting < Duration::from_secs(60),
        "10,000 votes took {voting:?}"
    );

    // The voter list: names only as far as a section holds, then how many more.
    let (_, invocation) = apps
        .invoke("poll", click_as(&poll, "voters", "UCREATOR"))
        .await
        .expect("the voter list");
    let Response::Action(ActionResponse::Reply(reply)) = invocation.response else {
        panic!("{:?}", invocation.response)
    };
    let blocks: Value = serde_json::from_str(reply.message.blocks.as_deref().unwrap()).unwrap();
    check_limits(&blocks);
    assert!(
        blocks.to_string().contains("more"),
        "the list is cut: {blocks:.300}"
    );

    // Closing draws the final results through `chat.update`, which the
    // host refuses beyond Slack's limits (the click would fail).
    let (_, invocation) = apps
        .invoke("poll", click_as(&poll, "close", "UCREATOR"))
        .await
        .expect("closed: the final message is accepted");
    assert!(!invocation.slack_calls.is_empty());
    let updates = calls(&apps, "chat.update").await;
    let last = updates.last().expect("the message was redrawn");
    let blocks = &last["blocks"];
    check_limits(blocks);
    let texts: BTreeMap<String, String> = blocks
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| {
            Some((
                b["block_id"].as_str()?.to_string(),
                b["text"]["text"].as_str()?.to_string(),
            ))
        })
        .collect();
    for option in 0..4 {
        let expected = (0..VOTERS).filter(|n| option_of(*n) == option).count();
        let text = &texts[&format!("option-{option}")];
        assert!(
            text.contains(&format!("({expected} votes)")),
            "option {option}: {text}"
        );
    }
    assert!(
        last.to_string().contains("10000 voters · 10000 votes"),
        "{last:.2000}"
    );

    // The CSV: every voter once, cells neutralised.
    apps.invoke("poll", click_as(&poll, "export", "UCREATOR"))
        .await
        .expect("exported");
    let uploads = calls(&apps, botyard::slack::web_api::UPLOAD_METHOD).await;
    let upload = uploads.last().expect("an upload");
    assert_eq!(upload["channel_id"], "UCREATOR", "to the creator only");
    use base64::Engine as _;
    let csv = base64::engine::general_purpose::STANDARD
        .decode(upload["content_base64"].as_str().unwrap())
        .unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("\r\n'=SUM(1+1),0,\r\n"),
        "a formula is neutralised: {csv:.400}"
    );
    let (_, votes) = csv
        .split_once("Option,Voter\r\n")
        .expect("a table of votes");
    let voters: std::collections::BTreeSet<&str> = votes
        .lines()
        .map(|row| row.split_once(',').expect("option,voter").1)
        .collect();
    assert_eq!(votes.lines().count(), VOTERS, "one row per vote");
    assert_eq!(voters.len(), VOTERS, "every voter once");
}
