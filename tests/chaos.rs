//! Chaos: three botyard replicas, one per data center, on PostgreSQL,
//! under a steady load of slash commands, events, button clicks and 50
//! cron schedules every 5 s — while replicas are killed, paused and cut off.
//! The checker compares what Slack was told was acknowledged with what
//! happened (the emulator's record of every Web API call and every answer,
//! and the app's own counts in the database):
//!
//! - every acknowledged command answered exactly once and run once;
//! - every acknowledged event handled once, its reply posted once;
//! - every acknowledged click counted once;
//! - every due time of every schedule fired exactly once.
//!
//! The app is `tests/guests/chaos`: each piece of work increments a key of
//! its own in the same unit as its answer, so "ran twice" shows as 2.
//! The fabric, database and replicas are `support::cluster`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use botyard::emulator::{Click, Emulator, EmulatorConfig};
use botyard::storage::Storage;
use serde_json::json;
use tokio::sync::Mutex;

use crate::support::cluster::{Cluster, Setup};
use crate::support::serve::action_ids;

/// What the host answers when an app ran but its writes could not be
/// committed: the user is told, so the command is not lost unseen.
const COULD_NOT_SAVE: &str = "could not be saved";

/// Whether an acknowledged command's answer tells the user it failed with
/// nothing done: the host could not commit ([`COULD_NOT_SAVE`]), or the
/// app's store call found no primary to write to (mid-failover: the old one
/// gone, the standby not promoted yet) and the app answered with that
/// error. Either way the user saw the failure; nothing acknowledged as done
/// is lost.
fn told_it_failed(body: &str) -> bool {
    body.contains(COULD_NOT_SAVE)
        || body.contains("answered with an error") && body.contains("StoreError::Unavailable")
}

/// Channels the load spreads over: Slack paces posts per channel (~1/s),
/// so events' replies go to many.
const CHANNELS: usize = 12;
/// People who click.
const VOTERS: usize = 8;
/// How many cron schedules the chaos app declares, and their period.
const SCHEDULES: usize = 50;
const PERIOD_MS: i64 = 5_000;

async fn cluster(extra_config: &str, standby: bool) -> Cluster {
    let emulator = EmulatorConfig {
        // Slack retries an event at once, after a minute and after five;
        // the same shape, shortened to fit a test.
        event_retries: vec![
            Duration::from_millis(500),
            Duration::from_secs(3),
            Duration::from_secs(8),
            Duration::from_secs(15),
        ],
        ..EmulatorConfig::default()
    };
    let cluster = Cluster::start_all(Setup {
        replicas: 3,
        apps: &[("chaos", "chaos")],
        emulator,
        extra_config,
        standby,
    })
    .await;
    for c in 0..CHANNELS {
        cluster.slack.add_channel(&format!("load-{c}"));
    }
    for v in 0..VOTERS {
        cluster.slack.add_user(&format!("voter-{v}"));
    }
    cluster
}

/// What the load sent and what Slack was told.
#[derive(Default)]
struct Sent {
    /// Command id → acknowledged in time, when it was sent, and the
    /// acknowledgement's body.
    commands: Vec<(String, bool, Instant, String)>,
    /// Event id (the app's, in the text) → (channel, acknowledged, when
    /// it was acknowledged in Unix microseconds).
    events: Vec<(String, String, bool, u64)>,
    /// Voter → (acknowledged clicks, clicks that failed or came late).
    clicks: HashMap<String, (u32, u32)>,
}

/// Sends commands, events and clicks at a steady rate until `stop`.
async fn load(
    slack: Emulator,
    stop: Arc<AtomicBool>,
    sent: Arc<Mutex<Sent>>,
    button: (String, String),
) {
    let mut tasks = Vec::new();
    // Commands: one every 250 ms, each in its own task, as users type them:
    // one sent to a replica that does not answer (paused, cut off) must not
    // hold back the next, or the gap it leaves would be the load's own.
    {
        let (slack, stop, sent) = (slack.clone(), stop.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            let mut sends = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let id = format!("c{n}");
                let (slack, sent) = (slack.clone(), sent.clone());
                sends.push(tokio::spawn(async move {
                    let asked = Instant::now();
                    let answer = slack
                        .send_slash_command("alice", "general", &format!("/chaos {id}"))
                        .await;
                    let (acked, body) = match answer {
                        Ok(a) => (a.status == 200 && a.within_slack_deadline(), a.body),
                        Err(e) => (false, e.to_string()),
                    };
                    sent.lock().await.commands.push((id, acked, asked, body));
                }));
                n += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            for send in sends {
                send.await.unwrap();
            }
        }));
    }
    // Events: one every 250 ms, each sent with Slack's retries (in their own
    // task, so a retried one does not hold the others back).
    {
        let (slack, stop, sent) = (slack.clone(), stop.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            let mut sends = Vec::new();
            let bot = slack.config().bot_user_id.clone();
            let user = slack.user_id("bob").unwrap();
            while !stop.load(Ordering::Relaxed) {
                let id = format!("e{n}");
                let channel = slack.channel_id(&format!("load-{}", n % CHANNELS)).unwrap();
                let event = json!({
                    "type": "app_mention",
                    "user": user,
                    "channel": channel,
                    "text": format!("<@{bot}> {id}"),
                    "ts": format!("1700000000.{n:06}"),
                });
                let (slack, sent) = (slack.clone(), sent.clone());
                sends.push(tokio::spawn(async move {
                    let answer = slack.send_event(event, None).await;
                    let acked = answer.is_ok_and(|a| a.status == 200 && a.within_slack_deadline());
                    sent.lock()
                        .await
                        .events
                        .push((id, channel, acked, now_ms() as u64 * 1000));
                }));
                n += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            for send in sends {
                send.await.unwrap();
            }
        }));
    }
    // Clicks: one every 400 ms, voters in turn.
    {
        let (slack, stop, sent) = (slack.clone(), stop.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            let (ts, action_id) = button;
            while !stop.load(Ordering::Relaxed) {
                let voter = format!("voter-{}", n % VOTERS);
                let answer = slack
                    .click_message(&voter, "general", &ts, Click::new(&action_id, "setup"))
                    .await;
                let acked = answer.is_ok_and(|a| a.status == 200 && a.within_slack_deadline());
                let mut sent = sent.lock().await;
                let counts = sent.clicks.entry(voter).or_default();
                if acked {
                    counts.0 += 1;
                } else {
                    counts.1 += 1;
                }
                n += 1;
                drop(sent);
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Posts the message with the vote button the clicks press: `(ts, action id)`.
async fn vote_button(cluster: &Cluster) -> (String, String) {
    let answer = cluster
        .slack
        .send_slash_command("alice", "general", "/chaos setup")
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let message = cluster
        .slack
        .messages("general")
        .into_iter()
        .find(|m| m.text.starts_with("cmd setup "))
        .expect("the setup answer is in #general");
    let mut ids = Vec::new();
    action_ids(message.blocks.as_ref().unwrap(), &mut ids);
    (message.ts, ids[0].0.clone())
}

/// The chaos app's counts in the database: key → value.
async fn counts(storage: &Storage, prefix: &str) -> BTreeMap<String, i64> {
    let mut unit = storage.begin();
    let keys = unit.list("chaos", prefix, 100_000).await.unwrap();
    let mut out = BTreeMap::new();
    for key in keys {
        let value = unit.get("chaos", &key).await.unwrap().unwrap();
        let n: i64 = String::from_utf8(value).unwrap().parse().unwrap();
        out.insert(key, n);
    }
    out
}

/// Every `chat.postMessage` that Slack accepted, by the app's id in its
/// text (`ev <id> #<n>`), with when it was answered.
fn replies(slack: &Emulator) -> HashMap<String, Vec<(String, u64)>> {
    let mut out: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    for call in slack.call_log() {
        if call.method != "chat.postMessage" || !call.ok {
            continue;
        }
        let text = call.args["text"].as_str().unwrap_or_default();
        if let Some(rest) = text.strip_prefix("ev ") {
            let id = rest.split(' ').next().unwrap_or_default().to_string();
            out.entry(id)
                .or_default()
                .push((text.to_string(), call.answered_micros));
        }
    }
    out
}

/// Checks everything the load was told against what happened; returns a
/// summary line. `window_ms`: the due times every schedule must have fired
/// at exactly once.
async fn check(cluster: &Cluster, sent: &Sent, window_ms: (i64, i64)) -> String {
    let logs = || cluster.logs();
    // One reader for every count below.
    let storage = cluster.observer().await;
    // Commands: every acknowledged one ran once and was answered once.
    let commands = counts(&storage, "cmd/").await;
    // Answers in #general by command id (`cmd <id> #<n>`).
    let mut answers: HashMap<String, usize> = HashMap::new();
    for message in cluster.slack.messages("general") {
        if let Some(id) = message
            .text
            .strip_prefix("cmd ")
            .and_then(|rest| rest.split_once(" #"))
            .map(|(id, _)| id.to_string())
        {
            *answers.entry(id).or_default() += 1;
        }
    }
    let mut acked_commands = 0;
    let mut refused = 0;
    for (id, acked, _, body) in &sent.commands {
        let ran = commands.get(&format!("cmd/{id}")).copied().unwrap_or(0);
        let answered = answers.get(id).copied().unwrap_or(0);
        if *acked && (ran, answered) == (0, 0) && told_it_failed(body) {
            // The database went away under it, and the answer told the
            // user so: nothing to lose.
            refused += 1;
        } else if *acked {
            acked_commands += 1;
            assert_eq!(
                (ran, answered),
                (1, 1),
                "acknowledged command {id}: run and answered once (answer: {body})\n{}",
                logs()
            );
        } else {
            assert!(
                ran <= 1 && answered <= 1,
                "command {id} ran {ran}×, answered {answered}×"
            );
        }
    }
    // Events: every acknowledged one handled once, its reply posted once.
    let events = counts(&storage, "ev/").await;
    let posted = replies(&cluster.slack);
    let mut acked_events = 0;
    for (id, _, acked, _) in &sent.events {
        let ran = events.get(&format!("ev/{id}")).copied().unwrap_or(0);
        let replies = posted.get(id).map_or(0, Vec::len);
        if *acked {
            acked_events += 1;
            assert_eq!(
                (ran, replies),
                (1, 1),
                "acknowledged event {id}: handled once, one reply ({:?})\n{}",
                posted.get(id),
                logs()
            );
        } else {
            assert!(
                ran <= 1 && replies <= 1,
                "event {id} ran {ran}×, {replies} replies"
            );
        }
    }
    // Clicks: each voter's count is their acknowledged clicks, plus at most
    // the ones whose answer was lost.
    let votes = counts(&storage, "vote/").await;
    let mut acked_clicks = 0;
    for (voter, (acked, lost)) in &sent.clicks {
        let id = cluster.slack.user_id(voter).unwrap();
        let counted = votes.get(&format!("vote/{id}")).copied().unwrap_or(0);
        acked_clicks += acked;
        assert!(
            counted >= i64::from(*acked) && counted <= i64::from(acked + lost),
            "{voter}: {acked} clicks acknowledged, {lost} not, {counted} counted\n{}",
            logs()
        );
    }
    // Schedules: every due time in the window fired exactly once, and no
    // due time anywhere fired twice.
    let ticks = counts(&storage, "tick/").await;
    let twice: Vec<_> = ticks.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "ticks fired more than once: {twice:?}");
    let (from, to) = window_ms;
    let first_due = (from + PERIOD_MS - 1) / PERIOD_MS * PERIOD_MS;
    let mut missing = Vec::new();
    let mut due = first_due;
    while due <= to {
        for s in 0..SCHEDULES {
            let key = format!("tick/every5s-{s:02}/{due}");
            if !ticks.contains_key(&key) {
                missing.push(key);
            }
        }
        due += PERIOD_MS;
    }
    assert!(
        missing.is_empty(),
        "{} due times never fired, e.g. {:?}\n{}",
        missing.len(),
        &missing[..missing.len().min(5)],
        logs()
    );
    format!(
        "longest time without an acknowledged command {:.1?}; {acked_commands}/{} commands ({refused} answered that they failed: the database was away), {acked_events}/{} events, {acked_clicks} clicks acknowledged; \
         {} ticks in the window",
        longest_outage(sent),
        sent.commands.len(),
        sent.events.len(),
        (to - first_due) / PERIOD_MS + 1
    )
}

/// For every acknowledged event, how long after its acknowledgement its
/// reply was posted, sorted: work a replica acknowledged and died holding
/// is done by another once its lease runs out.
fn reply_delays(cluster: &Cluster, sent: &Sent) -> Vec<Duration> {
    let posted = replies(&cluster.slack);
    let mut delays: Vec<Duration> = sent
        .events
        .iter()
        .filter(|e| e.2)
        .filter_map(|(id, _, _, acked_us)| {
            let (_, at) = posted.get(id)?.first()?;
            Some(Duration::from_micros(at.saturating_sub(*acked_us)))
        })
        .collect();
    delays.sort();
    delays
}

/// The longest time between two acknowledged commands (from the sending
/// of one to the sending of the next): how long the service was out.
fn longest_outage(sent: &Sent) -> Duration {
    let mut acked: Vec<Instant> = sent.commands.iter().filter(|c| c.1).map(|c| c.2).collect();
    acked.sort();
    acked
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default()
}

/// Waits until every acknowledged event has its reply (or `bound` passes;
/// the check then says which one is missing).
async fn settle(cluster: &Cluster, sent: &Sent, bound: Duration) {
    let started = Instant::now();
    while started.elapsed() < bound {
        let posted = replies(&cluster.slack);
        if sent
            .events
            .iter()
            .all(|(id, _, acked, _)| !acked || posted.contains_key(id))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn now_ms() -> i64 {
    botyard::contract::time::now_ms() as i64
}

/// A fault the timeline applies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// `kill -9` the replica, then start it again a second later.
    Kill(usize),
    /// SIGSTOP the replica for this long (past its leases), then SIGCONT.
    Pause(usize, Duration),
    /// `kill -9` the replica and leave it down this long: its leased work
    /// must be done by the others meanwhile.
    Down(usize, Duration),
    /// Cut the replica's data center off for this long, then heal it.
    Cut(usize, Duration),
    /// Kill the PostgreSQL primary and promote its synchronous standby.
    FailOver,
    /// `pg_terminate_backend` every replica's database connections.
    Terminate,
    /// `botyard publish` a new version of the chaos app.
    Publish,
    /// Nothing: the load runs on for the wait before it.
    Quiet,
}

/// A new version of a component: the same code with a custom section
/// appended (a component may carry custom sections anywhere), so its bytes
/// and hash differ while it behaves the same.
fn new_version(component: &[u8], tag: &str) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"botyard-chaos-version";
    let mut content = Vec::new();
    leb128(name.len(), &mut content);
    content.extend_from_slice(name);
    content.extend_from_slice(tag.as_bytes());
    let mut out = component.to_vec();
    out.push(0); // custom section
    leb128(content.len(), &mut out);
    out.extend_from_slice(&content);
    out
}

/// Runs the load on a fresh cluster while applying `timeline` (each fault
/// after the wait before it), then checks everything; returns the summary.
/// What a run saw: the checker's summary, the longest time without an
/// acknowledged command, the commands sent, and each publish (when, hash).
pub(crate) struct Run {
    pub summary: String,
    pub outage: Duration,
    pub commands: Vec<(String, bool, Instant, String)>,
    /// Acknowledged events' reply delays, sorted (see [`reply_delays`]).
    pub delays: Vec<Duration>,
    pub published: Vec<(i64, String)>,
    pub audit: Vec<botyard::storage::InvocationRecord>,
}

pub(crate) async fn under_load(timeline: &[(Duration, Fault)]) -> Run {
    let standby = timeline.iter().any(|(_, f)| matches!(f, Fault::FailOver));
    // The load is more than one replica's default Slack-call quota once
    // the others are down (quotas count per process).
    let mut cluster = cluster("[apps.chaos]\nslack_calls_per_minute = 100000\n", standby).await;
    let button = vote_button(&cluster).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Sent::default()));
    // Schedules are counted from a few seconds after every replica runs.
    let window_from = now_ms() + 5_000;
    let load = tokio::spawn(load(
        cluster.slack.clone(),
        stop.clone(),
        sent.clone(),
        button,
    ));
    let mut applied = Vec::new();
    let mut published = Vec::new();
    for (wait, fault) in timeline {
        tokio::time::sleep(*wait).await;
        let started = Instant::now();
        match *fault {
            Fault::Kill(i) => {
                cluster.kill(i);
                tokio::time::sleep(Duration::from_secs(1)).await;
                cluster.start(i).await;
            }
            Fault::Down(i, long) => {
                cluster.kill(i);
                tokio::time::sleep(long).await;
                cluster.start(i).await;
            }
            Fault::Pause(i, long) => {
                cluster.pause(i);
                tokio::time::sleep(long).await;
                cluster.resume(i);
            }
            Fault::Cut(i, long) => {
                cluster
                    .fabric
                    .dc(i)
                    .cut()
                    .expect("cutting a data center off");
                tokio::time::sleep(long).await;
                cluster.fabric.dc(i).heal().expect("healing a data center");
            }
            Fault::FailOver => cluster.fail_over(),
            Fault::Terminate => {
                let cut = cluster.terminate_connections();
                assert!(cut >= 3, "every replica's connections were cut: {cut}");
            }
            Fault::Quiet => {}
            Fault::Publish => {
                let original = std::fs::read(crate::support::guest_component("chaos")).unwrap();
                let tag = format!("v{}", published.len() + 2);
                let at = now_ms();
                let hash = cluster.publish("chaos", &new_version(&original, &tag));
                published.push((at, hash));
            }
        }
        applied.push(format!("{fault:?} for {:.1?}", started.elapsed()));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let window_to = now_ms() - 6_000;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let sent = sent.lock().await;
    settle(&cluster, &sent, Duration::from_secs(45)).await;
    let summary = check(&cluster, &sent, (window_from, window_to)).await;
    let delays = reply_delays(&cluster, &sent);
    assert!(
        sent.events.iter().filter(|e| e.2).count() > 40,
        "the load ran: {summary}"
    );
    let audit = cluster
        .observer()
        .await
        .audit
        .query(&botyard::storage::AuditQuery {
            app: Some("chaos".into()),
            limit: 100_000,
            ..Default::default()
        })
        .await
        .expect("reading the audit log");
    Run {
        summary: format!("{summary}; faults: {applied:?}"),
        outage: longest_outage(&sent),
        commands: sent.commands.clone(),
        delays,
        published,
        audit,
    }
}

/// One replica `kill -9`'d every 20 s and started again — the last one
/// left down for 25 s, so its queued Slack calls must go out from the
/// others — and nothing acknowledged is lost or done twice. (These events
/// run before their acknowledgement, so a kill mid-run is retried by Slack;
/// the takeover of leased inbox work is measured by `cargo bench --bench
/// cluster`, and tested in tests/receiver.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_every_20_s_loses_and_doubles_nothing() {
    let every = Duration::from_secs(20);
    let Run {
        summary, delays, ..
    } = under_load(&[
        (every, Fault::Kill(0)),
        (every, Fault::Kill(1)),
        (every, Fault::Down(2, Duration::from_secs(25))),
    ])
    .await;
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize];
    eprintln!(
        "chaos, kill -9 every 20 s: {summary}; reply after acknowledgement p50 {:.1?} p99 {:.1?} max {:.1?}",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    // A reply queued by the replica that died goes out from another once
    // its heartbeat stops; anything leased in the inbox, once the 10 s
    // lease runs out.
    assert!(
        at(1.0) < LEASE_AND_TAKEOVER,
        "every acknowledged event answered within {LEASE_AND_TAKEOVER:?} of its acknowledgement: {summary}"
    );
}

/// The inbox lease (10 s), the takeover's poll and a margin for a loaded
/// machine: the longest an acknowledged event may wait for its reply.
const LEASE_AND_TAKEOVER: Duration = Duration::from_secs(20);

/// Every database connection of every replica terminated at once: the
/// units they carried fail unacknowledged (Slack retries them) and the
/// pools reconnect. A replica paused past its leases wakes to find its
/// work taken over: it commits and sends nothing stale. A data center cut
/// off for a minute comes back without doubling anything, and the others
/// serve throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminated_connections_a_paused_replica_and_a_cut_data_center_double_nothing() {
    let Run {
        summary, outage, ..
    } = under_load(&[
        (Duration::from_secs(8), Fault::Terminate),
        (
            Duration::from_secs(5),
            Fault::Pause(1, Duration::from_secs(16)),
        ),
        (
            Duration::from_secs(5),
            Fault::Cut(2, Duration::from_secs(60)),
        ),
    ])
    .await;
    eprintln!("chaos, terminated connections, SIGSTOP and a cut: {summary}");
    // A replica paused or cut off holds at most the rows of keys it was
    // writing: nothing it holds may stop the others for the whole fault.
    assert!(
        outage < Duration::from_secs(12),
        "the other replicas kept acknowledging commands through the pause and the cut \
         (longest gap {outage:.1?}): {summary}"
    );
}

/// The PostgreSQL primary killed and its synchronous standby promoted: no
/// acknowledged write is lost, and the replicas find the new primary by
/// themselves (`target_session_attrs=read-write` over both hosts); events
/// in the gap arrive through Slack's retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_primary_fails_over_and_nothing_acknowledged_is_lost() {
    let Run {
        summary, outage, ..
    } = under_load(&[
        (Duration::from_secs(15), Fault::FailOver),
        (Duration::from_secs(25), Fault::Kill(0)),
    ])
    .await;
    eprintln!("chaos, PostgreSQL failover: {summary}");
    assert!(
        outage < Duration::from_secs(30),
        "the service was back within 30 s: {summary}"
    );
}

/// A new app version published while the load runs: every replica answers
/// with it within 10 s, and no request fails on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_version_published_under_load_reaches_every_replica_without_a_failed_request() {
    let run = under_load(&[
        (Duration::from_secs(10), Fault::Publish),
        (Duration::from_secs(15), Fault::Quiet),
    ])
    .await;
    eprintln!("chaos, publish under load: {}", run.summary);
    let failed: Vec<_> = run.commands.iter().filter(|c| !c.1).collect();
    assert!(failed.is_empty(), "0 failed requests: {failed:?}");
    let (at, hash) = &run.published[0];
    let short = &hash[..12];
    let late: Vec<_> = run
        .audit
        .iter()
        .filter(|r| r.at_ms > at + 10_000 && !hash.starts_with(&r.version))
        .map(|r| (r.at_ms - at, r.version.clone(), r.kind.clone()))
        .collect();
    assert!(
        late.is_empty(),
        "every invocation 10 s after the publish ran {short}: {} did not, e.g. {:?}",
        late.len(),
        &late[..late.len().min(5)]
    );
    let first = run
        .audit
        .iter()
        .filter(|r| hash.starts_with(&r.version))
        .map(|r| r.at_ms - at)
        .min();
    assert!(first.is_some(), "the new version {short} ran at all");
    eprintln!("the new version first ran {first:?} ms after the publish began");
}
