//! Per-app quotas end to end (`[limits]` / `[apps.<id>]` in `botyard.toml`):
//! a real test guest (`hoarder`) writing 1 MiB values in a loop stops at its
//! store quota with a clear error while another app's writes and replies go
//! on; usage survives a restart, a delete frees room, and a raised quota
//! lets it continue; Slack calls and HTTP requests per minute are refused
//! past their limits with nothing queued or sent; webhook deliveries kept
//! stay bounded, a sender being told 429 only when nothing can make room.
//! Every refusal is counted on `/metrics`, and the panel shows the quotas
//! and what the app uses.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::upstream::Upstream;
use crate::support::{TestHost, reply_text};
use botyard::config::Config;
use botyard::host::Host;
use botyard::routing::{Apps, overview};
use botyard::storage::DeliveryStatus;
use serde_json::Value;

const MIB: u64 = 1 << 20;
/// What one of hoarder's values takes: the key `blob/0000` and 1 MiB.
const BLOB: u64 = 9 + MIB;

async fn say(apps: &Apps, line: &str) -> String {
    reply_text(apps, line, "U1")
        .await
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// The panel's reading of `app`'s quota `name` (what `botyard apps` and the
/// workbench show).
async fn panel(apps: &Apps, app: &str, name: &str) -> Value {
    let version = apps.snapshot().app(app).cloned().expect("app loaded");
    overview::quotas(apps, &version)
        .await
        .into_iter()
        .find(|q| q["name"] == name)
        .unwrap_or_else(|| panic!("no quota {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hoarding_app_stops_at_its_store_quota_while_another_app_goes_on() {
    botyard::telemetry::install();
    let host = TestHost::new(
        "[apps.hog]\nstore_bytes = 8_388_608\n",
        &[("hog", "hoarder"), ("peeker", "peeker")],
    );
    let apps = host.start().await;

    // The hoarder (as app `hog`, its own on /metrics) loops while the
    // other app writes and answers.
    let (hoarded, put) = tokio::join!(say(&apps, "/hoard 100"), say(&apps, "/put lunch pho"));
    assert_eq!(put, "lunch = pho");
    assert_eq!(say(&apps, "/peek lunch").await, "pho");
    // 7 values fit in 8 MiB with their keys; the 8th does not.
    assert!(
        hoarded.starts_with("stored 7, 7 in all; refused: "),
        "{hoarded}"
    );
    assert!(
        hoarded.contains(
            "store quota exceeded: app `hog` uses 7 MiB of its 8 MiB (store_bytes) \
             and this write needs 1 MiB more; delete keys, or ask the operator to raise \
             [apps.hog] store_bytes in botyard.toml"
        ),
        "{hoarded}"
    );
    let usage = apps.storage().usage("hog").await.unwrap();
    assert_eq!((usage.store_bytes, usage.store_keys), (7 * BLOB, 7));

    // Stopped at once now, while the other app still writes.
    let again = say(&apps, "/hoard 1").await;
    assert!(
        again.starts_with("stored 0, 7 in all; refused: store quota exceeded"),
        "{again}"
    );
    assert_eq!(say(&apps, "/put dinner ramen").await, "dinner = ramen");
    assert_eq!(say(&apps, "/peek dinner").await, "ramen");
    let peeker = apps.storage().usage("peeker").await.unwrap();
    assert_eq!(peeker.store_keys, 2);

    // The panel shows the quota and the use; /metrics counts the refusals.
    let bytes = panel(&apps, "hog", "store_bytes").await;
    assert_eq!(bytes["limit"], 8 * MIB);
    assert_eq!(bytes["used"], 7 * BLOB);
    assert_eq!(bytes["text"], "7 MiB of 8 MiB");
    let keys = panel(&apps, "hog", "store_keys").await;
    assert_eq!(
        (keys["used"].as_u64(), keys["limit"].as_u64()),
        (Some(7), Some(100_000))
    );
    let metrics = botyard::telemetry::render().expect("recorder installed");
    let refusals = metrics
        .lines()
        .find(|l| {
            l.starts_with("botyard_quota_refusals_total")
                && l.contains("app=\"hog\"")
                && l.contains("quota=\"store_bytes\"")
        })
        .unwrap_or_else(|| panic!("no refusals counted:\n{metrics}"));
    assert!(refusals.ends_with(" 2"), "{refusals}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("botyard_quota_usage_ratio")
                && l.contains("app=\"hog\"")
                && l.contains("quota=\"store_bytes\"")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_survives_a_restart_a_delete_frees_room_and_a_raised_quota_lets_it_go_on() {
    let config = |bytes: u64| format!("[apps.hoarder]\nstore_bytes = {bytes}\n");
    let host = TestHost::new(&config(3 * MIB), &[("hoarder", "hoarder")]);
    let apps = host.start().await;
    let full = say(&apps, "/hoard 10").await;
    assert!(full.starts_with("stored 2, 2 in all; refused: "), "{full}");
    drop(apps);

    // A restart: the tally is the database's, not the process's.
    let apps = host.start().await;
    assert_eq!(
        apps.storage().usage("hoarder").await.unwrap().store_bytes,
        2 * BLOB
    );
    let refused = say(&apps, "/hoard 1").await;
    assert!(refused.contains("uses 2 MiB of its 3 MiB"), "{refused}");

    // Deleting frees room for exactly what was deleted.
    assert_eq!(say(&apps, "/unhoard 1").await, "deleted 1");
    let one_more = say(&apps, "/hoard 10").await;
    assert!(
        one_more.starts_with("stored 1, 2 in all; refused: "),
        "{one_more}"
    );
    drop(apps);

    // The operator raises the quota in botyard.toml: the app goes on. (A
    // start with the new file; live reload of botyard.toml applies the same
    // limits to a running host.)
    let mut raised = Config::parse(&config(5 * MIB), host.data_dir(), &host.apps_dir()).unwrap();
    raised.compile_cache_dir = Some(support::compile_cache_dir());
    let running = Host::builder(raised, host.data_dir())
        .start()
        .await
        .unwrap();
    let apps = running.apps().clone();
    let more = say(&apps, "/hoard 10").await;
    assert!(more.starts_with("stored 2, 4 in all; refused: "), "{more}");
    assert!(more.contains("of its 5 MiB"), "{more}");
}

/// Outbox entries of `app`.
async fn queued(apps: &Apps, app: &str) -> usize {
    apps.storage()
        .outbox
        .entries(Some(app), 0, 1000)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_calls_past_the_per_minute_quota_are_refused_and_nothing_is_queued() {
    let host = TestHost::new(
        "[apps.hoarder]\nslack_calls_per_minute = 5\n",
        &[("hoarder", "hoarder"), ("slacker", "slacker")],
    );
    let apps = host.start().await;
    let spammed = say(&apps, "/spam 8").await;
    assert!(
        spammed.starts_with("posted 5; refused: ratelimited: "),
        "{spammed}"
    );
    assert!(
        spammed.contains("app `hoarder` made 5 Slack calls in the last minute")
            && spammed.contains("(slack_calls_per_minute = 5)")
            && spammed.contains("[apps.hoarder] slack_calls_per_minute"),
        "{spammed}"
    );
    assert_eq!(queued(&apps, "hoarder").await, 5);
    // The window holds across invocations; another app calls Slack freely.
    assert!(
        say(&apps, "/spam 1")
            .await
            .starts_with("posted 0; refused:")
    );
    assert_eq!(queued(&apps, "hoarder").await, 5);
    assert_eq!(
        say(&apps, "/slacker upload C1").await,
        "uploaded report.csv"
    );
    assert_eq!(queued(&apps, "slacker").await, 1);
    let calls = panel(&apps, "hoarder", "slack_calls_per_minute").await;
    assert_eq!(
        (calls["used"].as_u64(), calls["full"].as_bool()),
        (Some(5), Some(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requests_past_the_per_minute_quota_are_refused_and_nothing_is_sent() {
    let up = Upstream::start("127.0.0.1").await;
    let config = format!(
        "[apps.fetcher]\ngrants = [\"http\"]\nhttp_requests_per_minute = 2\n\
         [[apps.fetcher.http.allow]]\nurl = \"{}/\"\n",
        up.url()
    );
    let host = TestHost::new(&config, &[("fetcher", "fetcher"), ("peeker", "peeker")]);
    let apps = host.start().await;
    let fetch = |apps: Arc<Apps>| {
        let url = up.url();
        async move {
            let text = say(&apps, &format!("/fetch GET {url}/hello")).await;
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    for _ in 0..2 {
        assert_eq!(fetch(apps.clone()).await["status"], 200);
    }
    let refused = fetch(apps.clone()).await;
    let error = refused["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{refused}"));
    assert!(
        error.contains("app `fetcher` made 2 HTTP requests in the last minute")
            && error.contains("(http_requests_per_minute = 2)"),
        "{error}"
    );
    assert_eq!(up.requests(), 2, "the refused request never left");
    let audited = apps
        .storage()
        .audit
        .recent(Some("fetcher"), 20)
        .await
        .unwrap();
    assert_eq!(audited.iter().filter(|r| r.kind == "http").count(), 2);
    assert_eq!(say(&apps, "/put still fine").await, "still = fine");
}

/// `hooks` with its `alerts` webhook open to anyone, keeping `kept`.
fn hooks_config(kept: u32) -> String {
    format!(
        "[apps.hooks]\ngrants = [\"slack\", \"store\", \"settings\", \"clock\"]\n\
         webhook_deliveries_kept = {kept}\n\
         [apps.hooks.webhooks.alerts]\nverify = \"none\"\n"
    )
}

async fn post_alert(url: &str) -> (u16, Option<String>, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}/hooks/hooks/alerts"))
        .header("content-type", "application/json")
        .body(r#"{"status":"firing","alerts":[]}"#)
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (
        response.status().as_u16(),
        retry_after,
        response.text().await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_kept_stay_bounded_and_unsettled_ones_are_never_dropped() {
    let dir = TestHost::new(&hooks_config(3), &[("hooks", "hooks")]);
    // No runner yet: every delivery stays pending.
    let host = dir.builder().start().await.unwrap();
    let (url, server) = support::serve_webhooks(&host).await;
    for _ in 0..3 {
        assert_eq!(post_alert(&url).await.0, 202);
    }
    let (status, retry_after, text) = post_alert(&url).await;
    assert_eq!(
        (status, retry_after.as_deref()),
        (429, Some("60")),
        "{text}"
    );
    assert!(
        text.contains("app `hooks` has 3 webhook deliveries waiting to run")
            && text.contains("webhook_deliveries_kept = 3"),
        "{text}"
    );
    let storage = host.apps().storage().clone();
    assert_eq!(
        storage.webhooks.deliveries(None, 100).await.unwrap().len(),
        3
    );
    server.abort();
    drop(host);

    // With the runner they settle; new ones then push the oldest settled out.
    let host = dir.builder().webhooks().start().await.unwrap();
    let (url, server) = support::serve_webhooks(&host).await;
    let storage = host.apps().storage().clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while storage
        .webhooks
        .deliveries(None, 100)
        .await
        .unwrap()
        .iter()
        .any(|d| d.status == DeliveryStatus::Pending)
    {
        assert!(Instant::now() < deadline, "deliveries never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<i64> = storage
        .webhooks
        .deliveries(None, 100)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    for _ in 0..2 {
        assert_eq!(post_alert(&url).await.0, 202);
    }
    let kept = storage.webhooks.deliveries(None, 100).await.unwrap();
    assert_eq!(kept.len(), 3, "{kept:?}");
    // The two oldest went (ids are newest first).
    assert_eq!(kept[2].id, before[0]);
    assert_eq!(storage.usage("hooks").await.unwrap().webhook_deliveries, 3);
    let shown = panel(host.apps(), "hooks", "webhook_deliveries_kept").await;
    assert_eq!(
        (shown["used"].as_u64(), shown["limit"].as_u64()),
        (Some(3), Some(3))
    );
    server.abort();
}

/// The acceptance's last half on a running host: raising the quota in
/// `botyard.toml` reloads the app with it (the live reload of the file,
/// `Apps::reload_config`), and the hoarder goes on without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raising_the_quota_in_botyard_toml_lets_a_running_app_go_on() {
    let host = TestHost::new("", &[("hoarder", "hoarder")]);
    let file = host.data_dir().join("botyard.toml");
    std::fs::write(&file, "[apps.hoarder]\nstore_bytes = 2_097_152\n").unwrap();
    let mut config = Config::load(&file, true, &host.apps_dir()).unwrap();
    config.compile_cache_dir = Some(support::compile_cache_dir());
    let running = Host::builder(config, host.data_dir())
        .start()
        .await
        .unwrap();
    let apps = running.apps().clone();
    let full = say(&apps, "/hoard 10").await;
    assert!(full.starts_with("stored 1, 1 in all; refused"), "{full}");
    std::fs::write(&file, "[apps.hoarder]\nstore_bytes = 4_194_304\n").unwrap();
    let changed = apps.reload_config().await.unwrap();
    assert_eq!(changed, ["hoarder"]);
    let more = say(&apps, "/hoard 10").await;
    assert!(more.starts_with("stored 2, 3 in all; refused"), "{more}");
    assert!(more.contains("of its 4 MiB"), "{more}");
}

/// `botyard apps` (text and `--json`), as an operator runs it beside the
/// data: each app's quotas and what it uses of its store.
#[test]
fn botyard_apps_shows_the_quotas_and_the_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("botyard.toml"),
        "[apps.hoarder]\nstore_keys = 1\nslack_calls_per_minute = 0\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("apps")).unwrap();
    std::fs::copy(
        support::guest_component("hoarder"),
        dir.path().join("apps/hoarder.wasm"),
    )
    .unwrap();
    let botyard = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_botyard"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--config")
            .arg(dir.path().join("botyard.toml"))
            .args(args)
            .output()
            .expect("running botyard");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let called = botyard(&["call", "/hoard 3", "--json"]);
    assert!(called.contains("stored 1, 1 in all; refused"), "{called}");
    assert!(called.contains("(store_keys = 1)"), "{called}");

    let text = botyard(&["apps"]);
    assert!(
        text.contains(
            "store:      1 MiB of 64 MiB (store_bytes), 1 of 1 keys (store_keys) \
             — FULL: writes that grow it are refused"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "quotas:     slack_calls_per_minute = unlimited, http_requests_per_minute = 600, \
             webhook_deliveries_kept = 10000 (0 kept)"
        ),
        "{text}"
    );
    let json: Value = serde_json::from_str(botyard(&["apps", "--json"]).trim()).unwrap();
    let quotas = json[0]["quotas"].as_array().unwrap();
    let keys = quotas.iter().find(|q| q["name"] == "store_keys").unwrap();
    assert_eq!(
        (keys["used"].as_u64(), keys["full"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(quotas.len(), 5);
}
