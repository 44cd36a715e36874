//! Who may do what: permission rules enforced by the host before any app
//! code runs, over both transports through the real `botyard serve` and the
//! Slack emulator (a denied command, a denied click on someone else's
//! button, a denied modal submission, a denied shortcut — each audited,
//! none running the app; a user group's member allowed, and refused once
//! removed, within the cache lifetime); peer approval end to end; help that
//! lists only what the asking user may run; and `botyard.toml` edits applied
//! without a restart.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::serve::{
    Mode, action_ids, find_message, serve_in, setup_dir, wait_for, wait_until,
};
use botyard::config::Config;
use botyard::emulator::{Emulator, EmulatorConfig, UserGroupSpec};
use botyard::host::Host;
use botyard::routing::approvals;
use botyard::routing::{Apps, CallContext, CommandAnswer};
use botyard::runtime::permissions::HOST_APP;
use botyard::storage::{Outcome, Storage};
use serde_json::json;
use tokio::time::timeout;

const BOUND: Duration = Duration::from_secs(15);

fn ctx(user: &str) -> CallContext {
    CallContext {
        user: user.into(),
        channel: "C1".into(),
        trigger_id: None,
    }
}

/// The reply text, or the error a refusal or failure shows.
async fn run(apps: &Apps, line: &str, user: &str) -> String {
    match apps.call_command(line, &ctx(user)).await {
        Ok(CommandAnswer::Help(text)) => text,
        Ok(CommandAnswer::App { invocation, .. }) => match invocation.response {
            botyard::contract::request::Response::Command(reply) => {
                reply.map(|r| r.message.text).unwrap_or_default()
            }
            other => panic!("a command answered {other:?}"),
        },
        Err(e) => format!("error: {e}"),
    }
}

/// A host over `dir/botyard.toml` (read from the file, so edits to it
/// apply live), watching, with the apps in `dir/apps`.
async fn host_from_file(dir: &Path) -> Host {
    let mut config = Config::load(&dir.join("botyard.toml"), true, &dir.join("apps")).unwrap();
    config.compile_cache_dir = Some(support::compile_cache_dir());
    Host::builder(config, dir).watch().start().await.unwrap()
}

fn copy_app(dir: &Path, id: &str, guest: &str) {
    std::fs::create_dir_all(dir.join("apps")).unwrap();
    std::fs::copy(
        support::guest_component(guest),
        dir.join(format!("apps/{id}.wasm")),
    )
    .unwrap();
}

/// Writes `botyard.toml` the way editors do: a new file renamed over it.
fn write_config(dir: &Path, text: &str) {
    let tmp = dir.join(".botyard.toml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join("botyard.toml")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_edits_apply_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    copy_app(dir.path(), "hello", "hello-rust");
    copy_app(dir.path(), "sleeper", "sleeper");
    copy_app(dir.path(), "counter", "counter");
    write_config(dir.path(), "");
    let host = host_from_file(dir.path()).await;
    let apps = host.apps().clone();
    let ops = serve_ops(apps.clone()).await;
    assert!(run(&apps, "/hello", "U1").await.contains("hello"));
    assert_eq!(run(&apps, "/sleep 300", "U1").await, "slept 300");
    let counted = run(&apps, "/count", "U1").await;
    assert!(!counted.starts_with("error"), "{counted}");

    // One edit: hello loses `store`, sleeper's deadline drops below its
    // sleep, and a rule lets only U02 count.
    let edited = "\
[apps.hello]
grants = [\"slack\", \"log\"]

[apps.sleeper]
deadline_ms = 100

[[permissions.rules]]
app = \"counter\"
users = [\"U02\"]
";
    let edited_at = Instant::now();
    write_config(dir.path(), edited);
    wait_until("the edit to apply", Duration::from_secs(5), || async {
        run(&apps, "/count", "U1").await.contains("needs <@U02>")
    })
    .await;
    wait_until(
        "the new limits to serve",
        Duration::from_secs(5),
        || async { run(&apps, "/sleep 300", "U1").await.contains("deadline") },
    )
    .await;
    let took = edited_at.elapsed();
    let hello = run(&apps, "/hello", "U1").await;
    assert!(
        hello.starts_with("error"),
        "a revoked grant stops the app: {hello}"
    );
    let entry = apps.snapshot().apps.get("hello").cloned().unwrap();
    assert!(entry.current.is_none());
    assert!(
        entry.last_error.unwrap().message.contains("store"),
        "the panel says why"
    );
    assert!(!run(&apps, "/count", "U02").await.starts_with("error"));
    eprintln!("config edit applied in {took:?}");
    assert!(took < Duration::from_secs(1), "applied in {took:?}");

    // A broken edit changes nothing and says why.
    write_config(
        dir.path(),
        "[[permissions.rules]]\napp = \"counter\"\nusers = [\"bob\"]\n",
    );
    wait_for(
        "the broken edit to be reported",
        Duration::from_secs(5),
        || apps.config_error().is_some(),
    )
    .await;
    let error = apps.config_error().unwrap().message;
    assert!(error.contains("user id"), "{error}");
    // Whoever watches readiness sees it too, and the host stays ready: the
    // previous configuration serves.
    let (status, ready) = readyz(&ops).await;
    assert_eq!(status, 200, "{ready}");
    let shown = ready["config_error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(shown.contains("user id"), "{ready}");
    assert!(run(&apps, "/count", "U1").await.contains("needs <@U02>"));
    assert!(run(&apps, "/sleep 300", "U1").await.contains("deadline"));

    // Fixed: the error clears, the new rules serve, hello comes back.
    write_config(dir.path(), "");
    wait_until(
        "the fixed file to apply",
        Duration::from_secs(5),
        || async {
            apps.config_error().is_none() && run(&apps, "/hello", "U1").await.contains("hello")
        },
    )
    .await;
    assert!(!run(&apps, "/count", "U1").await.starts_with("error"));
    let (_, ready) = readyz(&ops).await;
    assert!(
        ready["config_error"].is_null(),
        "cleared once a file applies: {ready}"
    );
    host.shutdown().await;
}

/// Serves `GET /readyz` (and the rest of the ops routes) for `apps` on
/// loopback; returns the base URL.
async fn serve_ops(apps: Arc<Apps>) -> String {
    let router = botyard::inbound::ops::router(apps, botyard::inbound::ops::Readiness::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// `GET <base>/readyz`: the status and the JSON.
async fn readyz(base: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(format!("{base}/readyz")).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_conflict_clears_when_the_other_app_goes() {
    let dir = tempfile::tempdir().unwrap();
    copy_app(dir.path(), "a-hello", "hello-rust");
    write_config(dir.path(), "");
    let host = host_from_file(dir.path()).await;
    let apps = host.apps().clone();
    copy_app(dir.path(), "b-hello", "hello-rust");
    wait_for("b-hello to be refused", BOUND, || {
        apps.snapshot()
            .apps
            .get("b-hello")
            .is_some_and(|e| e.last_error.is_some())
    })
    .await;
    std::fs::remove_file(dir.path().join("apps/a-hello.wasm")).unwrap();
    wait_for("b-hello to load once /hello is free", BOUND, || {
        apps.snapshot().app("b-hello").is_some()
    })
    .await;
    assert!(run(&apps, "/hello", "U1").await.contains("hello"));
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_only_what_the_user_may_run() {
    let host = support::TestHost::new(
        "[[permissions.rules]]\napp = \"slacker\"\ncommand = \"/slacker incident\"\nusers = [\"UALICE\"]\n",
        &[("slacker", "slacker")],
    );
    let apps = host.start().await;
    let for_alice = run(&apps, "/slacker help", "UALICE").await;
    let for_bob = run(&apps, "/slacker help", "UBOB").await;
    assert!(for_alice.contains("/slacker incident"), "{for_alice}");
    assert!(!for_bob.contains("/slacker incident"), "{for_bob}");
    assert!(for_bob.contains("/slacker permalink"), "{for_bob}");
    let denied = run(&apps, "/slacker incident inc-1 UBOB", "UBOB").await;
    assert!(
        denied.contains("`/slacker incident` needs <@UALICE>"),
        "{denied}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_decides_expires_and_nothing_runs() {
    let host = support::TestHost::new(
        "[[permissions.rules]]\napp = \"counter\"\napprove = { group = \"@sre-leads\", expire_minutes = 30 }\n",
        &[("counter", "counter")],
    );
    let apps = host.start().await;
    let held = run(&apps, "/count", "UALICE").await;
    assert!(held.contains("needs approval from @sre-leads"), "{held}");
    let storage = apps.storage();
    let pending = storage
        .kv_list(HOST_APP, "approval-pending/", 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let posted = storage.outbox.entries(Some(HOST_APP), 0, 10).await.unwrap();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].method, "chat.postMessage");
    let blocks = posted[0].payload["blocks"].to_string();
    assert!(
        blocks.contains("botyard.approve") && blocks.contains("/count"),
        "{blocks}"
    );

    let now = botyard::contract::time::now_ms() as i64;
    assert_eq!(
        approvals::expire_due(&apps, now).await.unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        approvals::expire_due(&apps, now + 31 * 60_000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        approvals::expire_due(&apps, now + 32 * 60_000)
            .await
            .unwrap(),
        0
    );
    let told = storage
        .outbox
        .entries(Some(HOST_APP), posted[0].id, 10)
        .await
        .unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].method, "chat.postEphemeral");
    assert_eq!(told[0].payload["user"], "UALICE");
    let id = pending[0].trim_start_matches("approval-pending/");
    // A click after expiry changes nothing.
    let late = approvals::decide(&apps, id, "UBOB", true, None).await;
    assert!(late.contains("already expired"), "{late}");
    let audit = storage.audit.recent(Some("counter"), 20).await.unwrap();
    let steps: Vec<&str> = audit.iter().map(|r| r.detail.as_str()).collect();
    assert!(
        steps.iter().any(|d| d.starts_with("approval requested")),
        "{steps:?}"
    );
    assert!(steps.iter().any(|d| d.starts_with("expired")), "{steps:?}");
    assert!(
        !audit
            .iter()
            .any(|r| r.kind == "command" && r.outcome == Outcome::Ok),
        "the command never ran: {audit:?}"
    );
}

// ---- through `botyard serve` and the emulator -------------------------

const RULES: &str = "
[permissions]
group_cache_seconds = 1

[[permissions.rules]]
app = \"hello\"
command = \"/hello\"
actions = [\"count\"]
groups = [\"@sre-oncall\"]

[[permissions.rules]]
app = \"modal\"
views = [\"feedback\"]
groups = [\"@sre-oncall\"]

[[permissions.rules]]
app = \"triage\"
shortcuts = [\"*\"]
groups = [\"@sre-oncall\"]
";

fn audit_of(dir: &Path) -> Storage {
    Storage::open(&dir.join("botyard.db")).expect("the host's database")
}

async fn refused_rows(storage: &Storage, app: &str) -> Vec<String> {
    storage
        .audit
        .recent(Some(app), 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| matches!(r.outcome, Outcome::Refused(_)))
        .map(|r| format!("{} {} {}", r.kind, r.user, r.detail))
        .collect()
}

async fn rules_hold_on(mode: Mode) {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup_dir(
        &slack,
        mode,
        &[
            ("hello", "hello-rust"),
            ("modal", "modal"),
            ("triage", "triage"),
        ],
    );
    let config = std::fs::read_to_string(dir.path().join("botyard.toml")).unwrap();
    std::fs::write(dir.path().join("botyard.toml"), config + RULES).unwrap();
    let _served = serve_in(mode, dir.path(), &slack, BOUND).await;
    let carol = slack.user_id("carol").unwrap();

    // alice (in @sre-oncall) runs /hello; carol may not.
    let send = |user: &'static str, line: &'static str| {
        let slack = slack.clone();
        async move {
            timeout(BOUND, slack.send_slash_command(user, "general", line))
                .await
                .unwrap()
                .unwrap()
        }
    };
    send("alice", "/hello").await;
    wait_for("alice's /hello", BOUND, || {
        find_message(&slack, "general", |m| {
            m.text.contains("said hello 1 time(s)")
        })
        .is_some()
    })
    .await;
    let answer = send("carol", "/hello").await;
    assert!(
        answer.body.contains("needs @sre-oncall"),
        "carol is told what she needs: {}",
        answer.body
    );

    // carol clicks the button alice's reply carries.
    let posted = find_message(&slack, "general", |m| m.text.contains("said hello")).unwrap();
    let mut ids = Vec::new();
    action_ids(posted.blocks.as_ref().unwrap(), &mut ids);
    let (count, value) = ids
        .iter()
        .find(|(id, _)| id == "hello.count")
        .cloned()
        .unwrap();
    timeout(
        BOUND,
        slack.send_block_actions(
            "carol",
            "general",
            &posted.ts,
            &count,
            value.as_deref().unwrap_or(""),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    wait_for("carol told she may not click", BOUND, || {
        slack
            .visible_to("carol", "general")
            .iter()
            .any(|m| m.text.contains("the button `count` needs @sre-oncall"))
    })
    .await;

    // carol opens the feedback modal (the command is not guarded), but may
    // not submit it.
    send("carol", "/feedback").await;
    wait_for("carol's modal", BOUND, || {
        !slack.views_of("carol").is_empty()
    })
    .await;
    let view = slack.views_of("carol")[0].clone();
    let mut ids = Vec::new();
    action_ids(&view.view["blocks"], &mut ids);
    let values = json!({"rating": {ids[0].0.as_str(): {"type": "plain_text_input", "value": "5"}}});
    let submitted = timeout(BOUND, slack.send_view_submission("carol", &view.id, values))
        .await
        .unwrap()
        .unwrap();
    assert!(
        submitted.body.contains("needs @sre-oncall"),
        "the modal shows the refusal: {}",
        submitted.body
    );

    // carol's global shortcut.
    timeout(BOUND, slack.send_global_shortcut("carol", "triage.help"))
        .await
        .unwrap()
        .unwrap();

    let storage = audit_of(dir.path());
    wait_until("four audited refusals", BOUND, || async {
        refused_rows(&storage, "hello").await.len() == 2
            && refused_rows(&storage, "modal").await.len() == 1
            && refused_rows(&storage, "triage").await.len() == 1
    })
    .await;
    for app in ["hello", "modal", "triage"] {
        for row in refused_rows(&storage, app).await {
            assert!(row.contains(&carol), "{row}");
        }
        // Nothing of the app ran for carol: every row of hers is a refusal.
        let rows = storage.audit.recent(Some(app), 50).await.unwrap();
        assert!(
            rows.iter()
                // The feedback command itself is not guarded; its form is.
                .filter(|r| r.user == carol && !(app == "modal" && r.kind == "command"))
                .all(|r| matches!(r.outcome, Outcome::Refused(_))),
            "{rows:?}"
        );
    }
    assert!(
        !slack
            .messages("general")
            .iter()
            .any(|m| m.text.contains("clicked")),
        "the click did not reach hello"
    );
    assert!(
        slack
            .dm_channel("carol")
            .is_ok_and(|dm| slack.messages(&dm).is_empty()),
        "no triage DM"
    );

    // bob is in the group and runs; removed, he is refused within the
    // cache lifetime (1 s).
    send("bob", "/hello").await;
    wait_for("bob's /hello", BOUND, || {
        slack
            .messages("general")
            .iter()
            .filter(|m| m.text.contains("said hello 1 time(s)"))
            .count()
            == 2
    })
    .await;
    slack.remove_from_usergroup("sre-oncall", "bob").unwrap();
    let removed = Instant::now();
    wait_until("bob refused after removal", BOUND, || async {
        send("bob", "/hello")
            .await
            .body
            .contains("needs @sre-oncall")
    })
    .await;
    assert!(
        removed.elapsed() < Duration::from_secs(3),
        "{:?}",
        removed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_hold_over_http() {
    rules_hold_on(Mode::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_hold_over_socket_mode() {
    rules_hold_on(Mode::Socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_approval_end_to_end() {
    let mut config = EmulatorConfig::default();
    config.usergroups.push(UserGroupSpec::new(
        "sre-leads",
        "SRE leads",
        &["carol", "dave"],
    ));
    let slack = Emulator::start(config).await.unwrap();
    let dir = setup_dir(&slack, Mode::Http, &[("hello", "hello-rust")]);
    let text = std::fs::read_to_string(dir.path().join("botyard.toml")).unwrap();
    std::fs::write(
        dir.path().join("botyard.toml"),
        text + "[[permissions.rules]]\napp = \"hello\"\ncommand = \"/hello\"\napprove = { group = \"@sre-leads\", count = 1 }\n",
    )
    .unwrap();
    let _served = serve_in(Mode::Http, dir.path(), &slack, BOUND).await;
    let alice = slack.user_id("alice").unwrap();

    let request = || async {
        let before = slack.messages("general").len();
        let answer = timeout(
            BOUND,
            slack.send_slash_command("alice", "general", "/hello"),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(
            answer.body.contains("needs approval from @sre-leads"),
            "{}",
            answer.body
        );
        wait_for("the approval request", BOUND, || {
            slack.messages("general").len() > before
        })
        .await;
        slack.messages("general").last().cloned().unwrap()
    };
    let click = |user: &'static str, message: botyard::emulator::Message, id: &'static str| {
        let slack = slack.clone();
        async move {
            let mut ids = Vec::new();
            action_ids(message.blocks.as_ref().unwrap(), &mut ids);
            let (action, value) = ids.iter().find(|(a, _)| a == id).cloned().unwrap();
            timeout(
                BOUND,
                slack.send_block_actions(user, "general", &message.ts, &action, &value.unwrap()),
            )
            .await
            .unwrap()
            .unwrap();
        }
    };
    let told = |user: &'static str, what: &'static str| {
        let slack = slack.clone();
        async move {
            wait_for(what, BOUND, || {
                slack
                    .visible_to(user, "general")
                    .iter()
                    .any(|m| m.text.contains(what))
            })
            .await;
        }
    };
    let hellos = || {
        slack
            .messages("general")
            .iter()
            .filter(|m| m.text.contains("said hello"))
            .count()
    };

    // Approvers see who asks to run what, where.
    let asked = request().await;
    let shown = asked.blocks.as_ref().unwrap().to_string();
    assert!(
        shown.contains(&alice) && shown.contains("/hello"),
        "{shown}"
    );
    assert_eq!(hellos(), 0, "held, not run");

    // Self-approval and a non-approver are refused.
    click("alice", asked.clone(), "botyard.approve").await;
    told("alice", "your own request").await;
    click("bob", asked.clone(), "botyard.approve").await;
    told("bob", "Only members of @sre-leads").await;
    assert_eq!(hellos(), 0);

    // carol and dave approve at the same moment: one decision, one run.
    tokio::join!(
        click("carol", asked.clone(), "botyard.approve"),
        click("dave", asked.clone(), "botyard.approve")
    );
    wait_for("the approved command's answer", BOUND, || hellos() == 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hellos(), 1, "ran once");
    let ran = find_message(&slack, "general", |m| m.text.contains("said hello")).unwrap();
    assert!(
        ran.text.contains(&alice),
        "ran as the requester: {}",
        ran.text
    );
    let updated = slack
        .messages("general")
        .into_iter()
        .find(|m| m.ts == asked.ts)
        .unwrap();
    assert!(updated.blocks.unwrap().to_string().contains("Approved by"));

    // Denied: alice is told, nothing runs.
    let asked = request().await;
    click("dave", asked, "botyard.deny").await;
    told("alice", "denied `/hello`").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hellos(), 1);

    let storage = audit_of(dir.path());
    let steps: Vec<String> = storage
        .audit
        .recent(Some("hello"), 50)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.detail)
        .collect();
    for step in [
        "approval requested",
        "self-approval refused",
        "approved by",
        "ran after approval",
        "denied by",
    ] {
        assert!(
            steps.iter().any(|s| s.starts_with(step)),
            "{step}: {steps:?}"
        );
    }
    assert_eq!(
        steps
            .iter()
            .filter(|s| s.starts_with("approved by"))
            .count(),
        1,
        "one decision: {steps:?}"
    );
}
