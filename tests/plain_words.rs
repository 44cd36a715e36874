//! Commands in plain words: `@botyard approve PO-123` → `/po approve
//! PO-123`, through the phrases every shipped app declares.
//!
//! The held-out table (`tests/fixtures/plain_words.toml`, written before the
//! matcher existed) is read through the real apps, loaded together as in
//! `botyard dev`; then a mention goes through the emulator end to end: a
//! write is only offered, runs nothing until its button is pressed, and
//! then runs once as the person who pressed it.

use std::sync::{Arc, OnceLock};

use botyard::routing::Apps;
use botyard::routing::plain_words::Understanding;
use serde::Deserialize;

use crate::support::{self, TestHost};

#[derive(Deserialize)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    lang: String,
    said: String,
    line: String,
    kind: String,
}

/// Every app directory under `apps/`.
fn shipped() -> Vec<String> {
    let mut apps: Vec<String> = std::fs::read_dir(support::repo_root().join("apps"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    apps.sort();
    apps
}

/// The repository's `botyard.toml`, kept to what loading needs: each app's
/// settings and every capability granted (no allow rules, webhooks or
/// permission rules: nothing here reaches another service).
fn config() -> String {
    let text = std::fs::read_to_string(support::repo_root().join("botyard.toml")).unwrap();
    let repo: toml::Table = text.parse().unwrap();
    let mut apps = toml::Table::new();
    for app in shipped() {
        let mut section = toml::Table::new();
        section.insert(
            "grants".into(),
            toml::Value::Array(
                [
                    "slack", "store", "schedule", "log", "clock", "settings", "http",
                ]
                .into_iter()
                .map(|g| toml::Value::String(g.into()))
                .collect(),
            ),
        );
        if let Some(settings) = repo
            .get("apps")
            .and_then(|a| a.get(&app))
            .and_then(|a| a.get("settings"))
        {
            section.insert("settings".into(), settings.clone());
        }
        apps.insert(app, toml::Value::Table(section));
    }
    let mut out = toml::Table::new();
    out.insert("apps".into(), toml::Value::Table(apps));
    toml::to_string(&out).unwrap()
}

/// Every shipped app, loaded once for this module.
async fn loaded() -> Arc<Apps> {
    static HOST: OnceLock<(TestHost, Arc<Apps>)> = OnceLock::new();
    if let Some((_, apps)) = HOST.get() {
        return apps.clone();
    }
    let names = shipped();
    let pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), n.as_str())).collect();
    let host = TestHost::new(&config(), &pairs);
    let apps = host.start().await;
    for name in &names {
        assert!(
            apps.snapshot().app(name).is_some(),
            "{name} did not load: {:?}",
            apps.snapshot()
                .apps
                .get(name.as_str())
                .and_then(|e| e.last_error.clone())
        );
    }
    let _ = HOST.set((host, apps.clone()));
    HOST.get().unwrap().1.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_held_out_table_is_understood_nine_times_in_ten() {
    let table: Table = toml::from_str(
        &std::fs::read_to_string(support::repo_root().join("tests/fixtures/plain_words.toml"))
            .unwrap(),
    )
    .unwrap();
    assert!(
        table.case.len() >= 60,
        "the table has {} cases",
        table.case.len()
    );
    let apps = loaded().await;
    let snapshot = apps.snapshot();
    let words = snapshot.routes.words();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let (mut right, mut report) = (0, Vec::new());
    for case in &table.case {
        let got = words.understand(&case.said, today);
        let ok = match (&got, case.line.as_str()) {
            // Unclear input gets choices, or nothing: never a guess.
            (Understanding::Unclear(_) | Understanding::Nothing, "") => true,
            (Understanding::Command(u), line) => {
                // A write is never declared read-only (that would run it).
                assert!(
                    !(u.read_only && case.kind == "write" && u.line == case.line),
                    "{:?} is a write, yet its phrase is read-only",
                    case.said
                );
                u.line == line
            }
            _ => false,
        };
        if ok {
            right += 1;
        } else {
            report.push(format!(
                "  [{}] {:?}\n     want {:?}\n     got  {got:?}",
                case.lang, case.said, case.line
            ));
        }
    }
    let share = right as f64 / table.case.len() as f64;
    println!(
        "plain words: {right}/{} right ({:.1} %); missed:\n{}",
        table.case.len(),
        share * 100.0,
        report.join("\n")
    );
    assert!(
        share >= 0.9,
        "{right}/{} right ({:.1} %), below 90 %; missed:\n{}",
        table.case.len(),
        share * 100.0,
        report.join("\n")
    );
}

/// Bounds every wait of the end-to-end test.
const BOUND: std::time::Duration = std::time::Duration::from_secs(30);
const ERP_TOKEN: &str = "erp-token-plain-words";

/// Through the real `botyard serve` and the emulator: a write said in
/// plain words is offered and runs nothing until *Run* is pressed, then
/// runs once as whoever pressed it; a read runs at once; unclear input
/// gets choices; Slack's retry of the mention answers nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_said_in_plain_words_runs_only_when_its_button_is_pressed() {
    use botyard::emulator::{Emulator, EmulatorConfig, UserGroupSpec};
    use serde_json::json;

    use crate::support::serve::{Mode, action_ids, serve_in, setup_dir, wait_for};

    let mut config = EmulatorConfig::default();
    config.usergroups.push(UserGroupSpec::new(
        "po-approvers",
        "Purchase order approvers",
        &["bob"],
    ));
    let slack = Emulator::start(config).await.unwrap();
    slack.add_channel("approvals");
    let dir = setup_dir(&slack, Mode::Http, &[("approvals", "approvals")]);
    let token_file = dir.path().join("erp-token");
    std::fs::write(&token_file, format!("{ERP_TOKEN}\n")).unwrap();
    let base = std::fs::read_to_string(dir.path().join("botyard.toml")).unwrap();
    let app = format!(
        "\n[apps.approvals]\n\
         grants = [\"slack\", \"store\", \"schedule\", \"log\", \"clock\", \"settings\", \"http\"]\n\
         [apps.approvals.webhooks.po]\nverify = \"bearer\"\ntoken = \"${{file:{}}}\"\n\
         [apps.approvals.settings]\nchannel = \"#approvals\"\n",
        token_file.display()
    );
    std::fs::write(dir.path().join("botyard.toml"), base + &app).unwrap();
    let served = serve_in(Mode::Http, dir.path(), &slack, BOUND).await;

    // The ERP asks for a purchase order: PO-1, waiting for bob.
    let alice = slack.user_id("alice").unwrap();
    let status = reqwest::Client::new()
        .post(format!("{}/hooks/approvals/po", served.base_url))
        .bearer_auth(ERP_TOKEN)
        .json(&json!({"erp_ref": "E-1", "vendor": "Acme", "amount": 120, "description": "Tape", "requester": alice}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 202);
    let request = || {
        slack
            .messages("approvals")
            .into_iter()
            .find(|m| m.text.starts_with("Purchase order PO-1:"))
    };
    wait_for("PO-1 posted", BOUND, || request().is_some()).await;
    let waiting = request().unwrap().text;
    assert!(waiting.contains("0 of 1"), "{waiting}");

    let bot = slack.config().bot_user_id.clone();
    let only_to = |user: &str| {
        slack
            .visible_to(user, "approvals")
            .into_iter()
            .filter(|m| m.ephemeral_to.is_some())
            .collect::<Vec<_>>()
    };

    // bob says it in plain words: offered, with a button; nothing decided.
    let said = format!("<@{bot}> please approve PO-1");
    let (ts, answer) = slack
        .post_as_user("bob", "approvals", &said, None)
        .await
        .unwrap();
    assert_eq!(answer.unwrap().status, 200);
    wait_for("bob's offer", BOUND, || !only_to("bob").is_empty()).await;
    let offer = only_to("bob").pop().unwrap();
    assert!(offer.text.contains("/po approve PO-1"), "{}", offer.text);
    let mut ids = Vec::new();
    action_ids(offer.blocks.as_ref().expect("a button"), &mut ids);
    assert_eq!(
        ids,
        [(
            "botyard.run".to_string(),
            Some("/po approve PO-1".to_string())
        )]
    );
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        request().unwrap().text,
        waiting,
        "nothing ran before the click"
    );
    assert!(only_to("alice").is_empty(), "nobody else sees the offer");

    // Slack is not sure the mention arrived and sends it again (the same
    // event, so the same event_id): answered once.
    let event = json!({
        "type": "app_mention",
        "channel": slack.channel_id("approvals").unwrap(),
        "user": slack.user_id("bob").unwrap(),
        "text": said,
        "ts": ts,
        "event_ts": ts,
    });
    let retry = slack.send_event(event, Some(1)).await.unwrap();
    assert_eq!(retry.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        only_to("bob").len(),
        1,
        "the retried mention was answered again"
    );

    // bob presses Run: the purchase order is approved, once, by bob.
    let pressed = slack
        .send_block_actions(
            "bob",
            "approvals",
            &offer.ts,
            "botyard.run",
            "/po approve PO-1",
        )
        .await
        .unwrap();
    assert_eq!(pressed.status, 200, "{}", pressed.body);
    wait_for("PO-1 approved", BOUND, || {
        request().is_some_and(|m| m.text.contains("pproved"))
    })
    .await;
    let approved = request().unwrap().text;
    assert!(
        approved.contains(&format!("<@{}>", slack.user_id("bob").unwrap())),
        "{approved}"
    );

    // A read said in plain words runs at once, as the asker.
    slack
        .post_as_user(
            "alice",
            "approvals",
            &format!("<@{bot}> which purchase orders are pending"),
            None,
        )
        .await
        .unwrap();
    wait_for("alice's pending list", BOUND, || {
        only_to("alice").len() >= 2
    })
    .await;
    let shown: Vec<String> = only_to("alice").into_iter().map(|m| m.text).collect();
    assert!(shown[0].contains("/po pending"), "{shown:?}");
    assert!(
        !shown[1].contains("PO-1") || !shown[1].contains("waiting"),
        "PO-1 is approved, not pending: {shown:?}"
    );

    // Unclear: choices, no button, nothing run.
    slack
        .post_as_user("carol", "approvals", &format!("<@{bot}> approve it"), None)
        .await
        .unwrap();
    wait_for("carol's choices", BOUND, || !only_to("carol").is_empty()).await;
    let choices = only_to("carol").pop().unwrap();
    assert!(choices.text.contains("Did you mean"), "{}", choices.text);
    assert!(
        choices.text.contains("/po approve <po>"),
        "{}",
        choices.text
    );
    assert!(choices.blocks.is_none(), "no button for a guess");
}
