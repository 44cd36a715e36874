//! `botyard publish`: a version published into the database reaches every
//! replica through the hot-reload path (SQLite for one machine, PostgreSQL
//! for several), a broken one is refused before anything is written, and
//! `botyard apps` / `cluster status` show what each replica runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use botyard::host::Host;
use botyard::routing::Apps;
use botyard::routing::published::{self, POLL_EVERY, PublishError};
use botyard::storage::postgres::Options;
use botyard::storage::{Storage, content_hash};

use crate::support::{TestHost, guest_component, postgres as pg, reply_text};

/// What the issue promises: every replica answers with a new version within
/// this long of its publication.
const SWITCH_BOUND: Duration = Duration::from_secs(10);

/// The greeting compiled into examples/hello-rust, rewritten per version
/// into a same-length marker (as tests/hot_reload.rs does): a new hash and
/// a new answer, nothing else.
const GREETING: &[u8] = b"Hello";

fn hello_variant(n: usize) -> Vec<u8> {
    let original = std::fs::read(guest_component("hello-rust")).unwrap();
    let marker = format!("H{n:04}");
    let at = original
        .windows(GREETING.len())
        .position(|w| w == GREETING)
        .expect("the greeting is in the hello component");
    let mut bytes = original;
    bytes[at..at + GREETING.len()].copy_from_slice(marker.as_bytes());
    bytes
}

/// A host over its own data directory on `storage` (a replica, or a tool).
async fn host_on(storage: Storage) -> (TestHost, Host) {
    host_with(storage, "").await
}

/// [`host_on`], configured by `config` (`botyard.toml`).
async fn host_with(storage: Storage, config: &str) -> (TestHost, Host) {
    let dir = TestHost::new(config, &[]);
    let host = dir
        .builder()
        .storage(storage)
        .start()
        .await
        .expect("starting a host");
    (dir, host)
}

async fn replica(url: &str, name: &str) -> (TestHost, Host) {
    replica_with(url, name, "").await
}

async fn replica_with(url: &str, name: &str, config: &str) -> (TestHost, Host) {
    let mut options = Options::new(url, name);
    options.heartbeat = Duration::from_millis(300);
    host_with(Storage::connect_postgres(options).await.unwrap(), config).await
}

async fn observer(url: &str) -> Storage {
    let mut options = Options::new(url, "tool");
    options.observer = true;
    Storage::connect_postgres(options).await.unwrap()
}

/// Waits until `/hello` on `apps` answers with version `n`'s marker;
/// how long that took.
async fn answers_with(apps: &Apps, n: usize, since: Instant) -> Duration {
    let marker = format!("H{n:04}");
    loop {
        if let Ok(text) = reply_text(apps, "/hello", "U1").await
            && text.contains(&marker)
        {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < SWITCH_BOUND,
            "version {n} not answering within {SWITCH_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_published_to_sqlite_reaches_the_serving_host() {
    let serving = TestHost::new("", &[]);
    let host = serving.builder().start().await.unwrap();
    let _poller = published::spawn(host.apps().clone(), POLL_EVERY);
    // `botyard publish` is another process on the same database file.
    let tool = serving.builder().start().await.unwrap();

    for n in 1..=2 {
        let bytes = hello_variant(n);
        let started = Instant::now();
        let out = published::publish(tool.apps(), "hello", bytes.clone())
            .await
            .unwrap();
        assert_eq!(out.hash, content_hash(&bytes));
        let took = answers_with(host.apps(), n, started).await;
        eprintln!("version {n} answering after {took:?}");
    }
    // The replica reported what it runs, and only the current version is kept.
    let store = &tool.apps().storage().published;
    let current = store.published().await.unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].hash, content_hash(&hello_variant(2)));
    let reported = wait_for_reports(store.as_ref(), &current[0].hash, 1).await;
    assert_eq!(reported[0].error, None);
    assert!(
        store
            .component(&content_hash(&hello_variant(1)))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_switch_under_load_with_no_failed_request() {
    let url = pg::database();
    let (_a_dir, a) = replica(&url, "bot-a").await;
    let (_b_dir, b) = replica(&url, "bot-b").await;
    let _pa = published::spawn(a.apps().clone(), POLL_EVERY);
    let _pb = published::spawn(b.apps().clone(), POLL_EVERY);
    let (_tool_dir, tool) = host_on(observer(&url).await).await;

    let started = Instant::now();
    published::publish(tool.apps(), "hello", hello_variant(1))
        .await
        .unwrap();
    answers_with(a.apps(), 1, started).await;
    answers_with(b.apps(), 1, started).await;

    // Load on both replicas while version 2 goes out.
    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load: Vec<_> = [a.apps().clone(), b.apps().clone()]
        .into_iter()
        .map(|apps| {
            let (stop, calls, failures) = (stop.clone(), calls.clone(), failures.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Err(e) = reply_text(&apps, "/hello", "U1").await {
                        eprintln!("failed request: {e}");
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let out = published::publish(tool.apps(), "hello", hello_variant(2))
        .await
        .unwrap();
    let took_a = answers_with(a.apps(), 2, started).await;
    let took_b = answers_with(b.apps(), 2, started).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    eprintln!(
        "switched in {took_a:?} / {took_b:?}; {} requests",
        calls.load(Ordering::Relaxed)
    );
    assert!(calls.load(Ordering::Relaxed) > 10, "the load ran");
    assert_eq!(failures.load(Ordering::Relaxed), 0, "no request failed");

    // Both report the new version, loaded.
    let store = &tool.apps().storage().published;
    let reported = wait_for_reports(store.as_ref(), &out.hash, 2).await;
    let names: Vec<&str> = reported.iter().map(|r| r.replica.as_str()).collect();
    assert_eq!(names, ["bot-a", "bot-b"]);
    assert!(reported.iter().all(|r| r.alive == Some(true)));
}

/// Waits (within the bound) until `want` replicas report serving `hash`.
async fn wait_for_reports(
    store: &dyn botyard::storage::PublishedStore,
    hash: &str,
    want: usize,
) -> Vec<botyard::storage::ReplicaApp> {
    let since = Instant::now();
    loop {
        let running = store.running().await.unwrap();
        let on: Vec<_> = running
            .into_iter()
            .filter(|r| r.hash.as_deref() == Some(hash))
            .collect();
        if on.len() == want {
            return on;
        }
        assert!(
            since.elapsed() < SWITCH_BOUND,
            "{} of {want} replicas reported {hash}",
            on.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_component_is_refused_and_nothing_changes() {
    let url = pg::database();
    for storage in [None, Some(observer(&url).await)] {
        let dir = TestHost::new("", &[]);
        let builder = dir.builder();
        let tool = match storage {
            Some(storage) => builder.storage(storage),
            None => builder,
        }
        .start()
        .await
        .unwrap();
        let apps = tool.apps();
        let good = published::publish(apps, "hello", hello_variant(1))
            .await
            .unwrap();
        let broken: [(&str, Vec<u8>); 2] = [
            ("hello", b"\0asm this is not a component".to_vec()),
            (
                "hello",
                std::fs::read(guest_component("bad-describe")).unwrap(),
            ),
        ];
        for (id, bytes) in broken {
            let err = published::publish(apps, id, bytes.clone())
                .await
                .unwrap_err();
            assert!(matches!(err, PublishError::Refused { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains("was not published"), "{text}");
            assert!(
                apps.storage()
                    .published
                    .component(&content_hash(&bytes))
                    .await
                    .unwrap()
                    .is_none(),
                "nothing of it is kept"
            );
        }
        let current = apps.storage().published.published().await.unwrap();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0].hash, good.hash, "the good version stays current");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_version_wins_over_the_apps_directory_until_unpublished() {
    let serving = TestHost::new("", &[("hello", "hello-rust")]);
    let host = serving.builder().start().await.unwrap();
    let apps = host.apps();
    assert!(
        reply_text(apps, "/hello", "U1")
            .await
            .unwrap()
            .contains("Hello")
    );
    published::publish(apps, "hello", hello_variant(7))
        .await
        .unwrap();
    published::sync(apps, None).await.unwrap();
    assert!(
        reply_text(apps, "/hello", "U1")
            .await
            .unwrap()
            .contains("H0007")
    );
    // A reload from the watcher (the file touched) keeps the published one.
    apps.reload("hello").await.unwrap();
    assert!(
        reply_text(apps, "/hello", "U1")
            .await
            .unwrap()
            .contains("H0007")
    );
    // Unpublished: the apps directory's file serves again.
    assert!(apps.storage().published.unpublish("hello").await.unwrap());
    published::sync(apps, None).await.unwrap();
    let text = reply_text(apps, "/hello", "U1").await.unwrap();
    assert!(text.contains("Hello") && !text.contains("H0007"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_publishes_refuses_and_shows_each_replicas_state() {
    let url = pg::database();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("botyard.toml"),
        format!("[storage]\nbackend = \"postgres\"\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let (_a_dir, a) = replica(&url, "bot-a").await;
    let (_b_dir, b) = replica(&url, "bot-b").await;
    let _pa = published::spawn(a.apps().clone(), POLL_EVERY);
    let _pb = published::spawn(b.apps().clone(), POLL_EVERY);

    let component = dir.path().join("hello.wasm");
    std::fs::write(&component, hello_variant(3)).unwrap();
    let path = component.to_str().unwrap();
    let (ok, _, output) = botyard(dir.path(), &["publish", path]);
    assert!(ok, "{output}");
    let hash = content_hash(&hello_variant(3));
    assert!(
        output.contains(&format!("published hello {}", &hash[..12])),
        "{output}"
    );
    assert!(output.contains("within 2 s"), "{output}");
    let started = Instant::now();
    answers_with(a.apps(), 3, started).await;
    answers_with(b.apps(), 3, started).await;
    let store = &a.apps().storage().published;
    wait_for_reports(store.as_ref(), &hash, 2).await;

    // A broken component: refused, with why, and nothing changes.
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, b"not a component").unwrap();
    let (ok, _, output) = botyard(
        dir.path(),
        &["publish", broken.to_str().unwrap(), "--name", "hello"],
    );
    assert!(!ok, "{output}");
    assert!(output.contains("`hello` was not published"), "{output}");
    assert_eq!(store.published().await.unwrap()[0].hash, hash);

    let (ok, json, output) = botyard(dir.path(), &["apps", "--json"]);
    assert!(ok, "{output}");
    let row = json
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["id"] == "hello"))
        .unwrap_or_else(|| panic!("no hello in {json}"));
    assert_eq!(row["published"]["hash"], hash.as_str(), "{row}");
    let replicas = row["published"]["replicas"].as_array().unwrap();
    let states: Vec<(&str, &str)> = replicas
        .iter()
        .map(|r| (r["replica"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("bot-a", "loaded"), ("bot-b", "loaded")], "{row}");
    let (ok, _, text) = botyard(dir.path(), &["apps"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("bot-a  {}  loaded", &hash[..12])),
        "{text}"
    );

    let (ok, json, output) = botyard(dir.path(), &["cluster", "status", "--json"]);
    assert!(ok, "{output}");
    assert_eq!(json["published"][0]["hash"], hash.as_str(), "{json}");
    assert_eq!(json["running"].as_array().unwrap().len(), 2, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_builds_and_publishes_a_source_directory_on_sqlite() {
    // Built once by the suite's shared build directory, so the CLI's build
    // is the same one `botyard build` and `dev` make, and quick.
    guest_component("hello-rust");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("botyard.toml"), "").unwrap();
    let source = crate::support::guest_dir("hello-rust");
    let (ok, _, output) = botyard(dir.path(), &["publish", source.to_str().unwrap()]);
    assert!(ok, "{output}");
    assert!(output.contains("published hello-rust "), "{output}");
    assert!(
        output.contains("`botyard serve` on this machine"),
        "{output}"
    );
    let (ok, _, output) = botyard(dir.path(), &["publish", source.to_str().unwrap()]);
    assert!(ok, "{output}");
    assert!(output.contains("already the published version"), "{output}");
    // `botyard call` answers with the published app; nothing is in apps/.
    let (ok, _, output) = botyard(dir.path(), &["call", "/hello"]);
    assert!(ok, "{output}");
    assert!(output.contains("Hello"), "{output}");
    let (ok, _, output) = botyard(dir.path(), &["unpublish", "hello-rust"]);
    assert!(ok, "{output}");
    let (ok, json, output) = botyard(dir.path(), &["apps", "--json"]);
    assert!(ok, "{output}");
    assert_eq!(json, serde_json::json!([]), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_cannot_load_a_version_reports_why() {
    // bot-a grants what the app imports (the default grants do); bot-b's
    // botyard.toml takes `slack` away.
    const NO_SLACK: &str = "[apps.ungranted]\ngrants = [\"store\", \"log\"]\n";
    let url = pg::database();
    let (_a_dir, a) = replica(&url, "bot-a").await;
    let (_b_dir, b) = replica_with(&url, "bot-b", NO_SLACK).await;
    let _pa = published::spawn(a.apps().clone(), POLL_EVERY);
    let _pb = published::spawn(b.apps().clone(), POLL_EVERY);
    let (_tool_dir, tool) = host_on(observer(&url).await).await;
    let bytes = std::fs::read(guest_component("ungranted")).unwrap();
    let out = published::publish(tool.apps(), "ungranted", bytes)
        .await
        .unwrap();

    let store = &tool.apps().storage().published;
    let since = Instant::now();
    let running = loop {
        let running = store.running().await.unwrap();
        if running.len() == 2 {
            break running;
        }
        assert!(since.elapsed() < SWITCH_BOUND, "{running:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(running[0].replica, "bot-a");
    assert_eq!(running[0].hash.as_deref(), Some(out.hash.as_str()));
    assert_eq!(running[0].error, None);
    assert_eq!(running[1].replica, "bot-b");
    assert_eq!(running[1].hash, None, "bot-b serves nothing of it");
    let error = running[1].error.as_deref().unwrap_or_default();
    assert!(error.contains("not granted"), "{error}");
    assert!(b.apps().snapshot().app("ungranted").is_none());
}

/// `botyard <args>` over `dir`, building in the tests' shared build directory.
fn botyard(dir: &std::path::Path, args: &[&str]) -> (bool, serde_json::Value, String) {
    crate::cli::botyard_at(dir, Some(&crate::support::shared_build_dir()), args)
}
