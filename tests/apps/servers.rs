//! The shipped servers app (`apps/servers`, Rust) end to end, through the
//! real `botyard serve` and the Slack emulator, against **real supervisord**
//! (Debian's `supervisor`, `tests/support/supervisor.rs`): one per data
//! center, each on a loopback address of its own, running `web-1` and
//! `web-2`, and a third data center configured at an address where nothing
//! listens. The permission rules are the ones the repository's
//! `botyard.toml` ships for the app, read from it; the emulator's workspace
//! gets the @sre-leads group those rules name for approvals.
//!
//! Every check of what happened to a process asks supervisord itself, by
//! XML-RPC from the test — never the app's own answer.

use std::collections::BTreeMap;
use std::time::Duration;

use botyard::emulator::{Emulator, EmulatorConfig, Message, UserGroupSpec};
use tokio::time::timeout;

use crate::support;
use crate::support::serve::{Mode, Served, action_ids, serve_in, setup_dir};
use crate::support::supervisor::{Supervisord, silent_url};

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(30);

/// The `[[permissions.rules]]` the repository's `botyard.toml` ships for
/// app `servers`, as TOML to append to a test's configuration.
fn shipped_rules() -> String {
    let text = std::fs::read_to_string(support::repo_root().join("botyard.toml")).unwrap();
    let shipped: toml::Table = toml::from_str(&text).unwrap();
    let rules: Vec<toml::Value> = shipped["permissions"]["rules"]
        .as_array()
        .expect("botyard.toml has [[permissions.rules]]")
        .iter()
        .filter(|r| r["app"].as_str() == Some("servers"))
        .cloned()
        .collect();
    assert!(
        rules.len() >= 4,
        "botyard.toml ships the servers rules: {rules:?}"
    );
    let mut permissions = toml::Table::new();
    permissions.insert("rules".into(), toml::Value::Array(rules));
    let mut root = toml::Table::new();
    root.insert("permissions".into(), toml::Value::Table(permissions));
    toml::to_string(&root).unwrap()
}

/// Two data centers on real supervisord, a third that does not answer,
/// `botyard serve` with the servers app and the shipped rules.
struct World {
    slack: Emulator,
    east: Supervisord,
    west: Supervisord,
    _served: Served,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let mut config = EmulatorConfig::default();
    // alice and bob are @sre-oncall in the emulator's workspace; the leads
    // who approve a stop are carol and dave here, whatever the default
    // workspace's @sre-leads holds (one group of that handle, not two).
    config.usergroups.retain(|g| g.handle != "sre-leads");
    config.usergroups.push(UserGroupSpec::new(
        "sre-leads",
        "SRE leads",
        &["carol", "dave"],
    ));
    let slack = Emulator::start(config).await.unwrap();
    let (east, west) = tokio::join!(
        Supervisord::start("east", &["web-1", "web-2"]),
        Supervisord::start("west", &["web-1", "web-2"]),
    );
    let south = silent_url();
    let dir = setup_dir(&slack, Mode::Http, &[("servers", "servers")]);
    let base = std::fs::read_to_string(dir.path().join("botyard.toml")).unwrap();
    let south_base = south.trim_end_matches("RPC2");
    let app = format!(
        "\n[apps.servers]\n\
         grants = [\"slack\", \"store\", \"log\", \"clock\", \"settings\", \"http\"]\n\
         deadline_ms = 20000\n\
         \n\
         [[apps.servers.http.allow]]\nurl = \"{east}\"\n\
         [[apps.servers.http.allow]]\nurl = \"{west}\"\n\
         [[apps.servers.http.allow]]\nurl = \"{south_base}\"\n\
         \n\
         [apps.servers.settings]\n\
         timeout_ms = 1500\n\
         datacenters = [\n\
           {{ name = \"east\", url = \"{east_url}\" }},\n\
           {{ name = \"west\", url = \"{west_url}\" }},\n\
           {{ name = \"south\", url = \"{south}\" }},\n\
         ]\n\n",
        east = east.base,
        west = west.base,
        east_url = east.url,
        west_url = west.url,
    );
    std::fs::write(
        dir.path().join("botyard.toml"),
        base + &app + &shipped_rules(),
    )
    .unwrap();
    let served = serve_in(Mode::Http, dir.path(), &slack, BOUND).await;
    World {
        slack,
        east,
        west,
        _served: served,
        _dir: dir,
    }
}

impl World {
    /// `user` types `line` in #general; the body the host acknowledged with.
    async fn command(&self, user: &str, line: &str) -> String {
        let answer = timeout(BOUND, self.slack.send_slash_command(user, "general", line))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.status, 200, "{line}: {}", answer.body);
        answer.body
    }

    /// The newest message in #general `user` sees whose text contains `text`.
    async fn seen(&self, user: &str, text: &str) -> Message {
        let started = std::time::Instant::now();
        loop {
            if let Some(message) = self.latest(user, text) {
                return message;
            }
            if started.elapsed() > BOUND {
                let saw: Vec<String> = self
                    .slack
                    .visible_to(user, "general")
                    .into_iter()
                    .map(|m| m.text)
                    .collect();
                panic!("timed out waiting for {user} to see {text:?}; saw {saw:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn latest(&self, user: &str, text: &str) -> Option<Message> {
        self.slack
            .visible_to(user, "general")
            .into_iter()
            .rev()
            .find(|m| m.text.contains(text))
    }

    /// `user` presses the button `action` (as Slack sees it:
    /// `servers.confirm-stop`) on `message`.
    async fn click(&self, user: &str, message: &Message, action: &str) {
        let mut ids = Vec::new();
        action_ids(message.blocks.as_ref().expect("blocks"), &mut ids);
        let (id, value) = ids
            .iter()
            .find(|(id, _)| id == action)
            .cloned()
            .unwrap_or_else(|| panic!("no button {action} in {ids:?}"));
        let answer = timeout(
            BOUND,
            self.slack.send_block_actions(
                user,
                "general",
                &message.ts,
                &id,
                value.as_deref().unwrap_or(""),
            ),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
    }

    /// Has a lead approve the request the gate posted last for `line`.
    async fn approve(&self, line: &str) {
        let request = || {
            self.slack.messages("general").into_iter().rev().find(|m| {
                m.text.contains(line)
                    && m.blocks
                        .as_ref()
                        .is_some_and(|b| b.to_string().contains("botyard.approve"))
            })
        };
        // The gate answers the command, then posts the request through the outbox.
        let started = std::time::Instant::now();
        let asked = loop {
            if let Some(asked) = request() {
                break asked;
            }
            if started.elapsed() > BOUND {
                let saw: Vec<String> = self
                    .slack
                    .messages("general")
                    .into_iter()
                    .map(|m| m.text)
                    .collect();
                panic!("no approval request for {line}; #general has {saw:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.click("dave", &asked, "botyard.approve").await;
    }

    /// What both supervisords say about every process: `east/web-1` → state.
    async fn truth(&self) -> BTreeMap<String, String> {
        let mut all = BTreeMap::new();
        for sv in [&self.east, &self.west] {
            for (name, state) in sv.states().await {
                all.insert(format!("{}/{name}", sv.name), state);
            }
        }
        all
    }
}

fn all_running() -> BTreeMap<String, String> {
    ["east/web-1", "east/web-2", "west/web-1", "west/web-2"]
        .into_iter()
        .map(|k| (k.to_string(), "RUNNING".to_string()))
        .collect()
}

/// `list` asks every data center: the two supervisords list their
/// processes, the third is reported as not answering, and the command
/// still answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_reports_a_silent_data_center_beside_the_others() {
    let w = world().await;
    let started = std::time::Instant::now();
    let body = w.command("carol", "/spy servers list").await;
    let reply = w
        .seen("carol", "south: did not answer (connection refused)")
        .await
        .text;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    for dc in [
        "*east*: 2 processes, 2 running",
        "*west*: 2 processes, 2 running",
    ] {
        assert!(reply.contains(dc), "{dc} in {reply}\n(ack: {body})");
    }
    assert!(reply.contains("`web-1` RUNNING — pid "), "{reply}");

    // One data center, and one process everywhere.
    w.command("carol", "/spy servers list west").await;
    let west = w.seen("carol", "*west*: 2 processes").await.text;
    assert!(!west.contains("east") && !west.contains("south"), "{west}");
    w.command("carol", "/spy servers inspect web-2").await;
    let inspected = w.seen("carol", "*web-2* in *east*: RUNNING").await.text;
    assert!(
        inspected.contains("*web-2* in *west*: RUNNING"),
        "{inspected}"
    );
    assert!(inspected.contains("south: did not answer"), "{inspected}");
    assert_eq!(w.truth().await, all_running(), "questions change nothing");
}

/// A user outside @sre-oncall is refused `stop` by the host before the app
/// runs: supervisord still has web-1 RUNNING, and no approval is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_stop_runs_nothing() {
    let w = world().await;
    let body = w.command("carol", "/spy servers stop web-1 east").await;
    assert!(body.contains("needs @sre-oncall"), "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.east.state("web-1").await.unwrap(), "RUNNING");
    assert_eq!(w.truth().await, all_running());
    assert!(
        !w.slack.messages("general").iter().any(|m| m
            .blocks
            .as_ref()
            .is_some_and(|b| b.to_string().contains("botyard.approve"))),
        "no approval asked for a refused command"
    );
    assert!(
        w.latest("carol", "Stop `web-1`").is_none(),
        "no confirmation was offered"
    );
}

/// An on-call user's stop waits for a lead's approval, then asks its
/// requester to confirm the exact target; only the confirmation stops it,
/// and exactly web-1 in east stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_confirmed_stop_stops_exactly_its_target() {
    let w = world().await;
    let line = "/spy servers stop web-1 east";
    let body = w.command("alice", line).await;
    assert!(body.contains("needs approval from @sre-leads"), "{body}");
    assert_eq!(w.truth().await, all_running(), "held, not run");

    w.approve(line).await;
    let confirmation = w.seen("alice", "Stop `web-1` in *east*?").await;
    assert!(confirmation.ephemeral_to.is_some(), "only alice sees it");
    assert_eq!(
        w.truth().await,
        all_running(),
        "approved, but nothing stops before alice confirms"
    );
    // bob (on call too) never saw it.
    assert!(w.latest("bob", "Stop `web-1`").is_none());

    w.click("alice", &confirmation, "servers.confirm-stop")
        .await;
    let done = w.seen("alice", "supervisord reports").await.text;
    assert!(done.contains("east: `web-1` stopped → STOPPED"), "{done}");

    // supervisord's truth: exactly east's web-1.
    let mut expected = all_running();
    expected.insert("east/web-1".into(), "STOPPED".into());
    assert_eq!(w.truth().await, expected);
    assert_eq!(w.east.state("web-1").await.unwrap(), "STOPPED");
    assert_eq!(w.west.state("web-1").await.unwrap(), "RUNNING");
    assert_eq!(w.east.state("web-2").await.unwrap(), "RUNNING");

    // The same confirmation pressed again does nothing more.
    let start = w.command("alice", "/spy servers start web-1 east").await;
    assert!(!start.contains("needs"), "start needs no approval: {start}");
    let ask = w
        .seen("alice", "Start `web-1` in *east*? It is STOPPED now.")
        .await;
    w.click("alice", &confirmation, "servers.confirm-stop")
        .await;
    w.seen("alice", "was already confirmed").await;
    assert_eq!(w.truth().await, expected);
    // Cancel changes nothing.
    w.click("alice", &ask, "servers.cancel").await;
    w.seen("alice", "Cancelled `/spy servers start web-1 east`")
        .await;
    assert_eq!(w.east.state("web-1").await.unwrap(), "STOPPED");
}

/// `stop web-*` names several processes: once approved it is a dry run that
/// lists them per data center and changes nothing; `--go` would ask to confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_stop_is_a_dry_run() {
    let w = world().await;
    let line = "/spy servers stop web-*";
    let body = w.command("alice", line).await;
    assert!(body.contains("needs approval from @sre-leads"), "{body}");
    w.approve(line).await;
    let dry = w.seen("alice", "Dry run, nothing was changed.").await;
    assert!(dry.text.contains("would stop 4 processes"), "{}", dry.text);
    assert!(
        dry.text
            .contains("• east: `web-1` (RUNNING), `web-2` (RUNNING)")
            && dry
                .text
                .contains("• west: `web-1` (RUNNING), `web-2` (RUNNING)"),
        "{}",
        dry.text
    );
    assert!(dry.text.contains("south: did not answer"), "{}", dry.text);
    let mut ids = Vec::new();
    if let Some(blocks) = &dry.blocks {
        action_ids(blocks, &mut ids);
    }
    assert!(
        !ids.iter().any(|(id, _)| id.contains("confirm")),
        "a dry run has nothing to confirm: {ids:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.truth().await, all_running());

    // Restart needs no approval: `--go` makes the bulk a real confirmation
    // naming all four; cancelled, nothing restarts.
    w.command("alice", "/spy servers restart web-* --go").await;
    let ask = w.seen("alice", "Restart these 4 processes?").await;
    w.click("alice", &ask, "servers.cancel").await;
    w.seen("alice", "Cancelled").await;
    assert_eq!(w.truth().await, all_running());
}
