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
/// A host as a tool runs it: on its own SQLite (`None`) or on `storage`.
async fn tool_on(storage: Option<Storage>) -> (TestHost, Host) {
    let dir = TestHost::new("", &[]);
    let builder = dir.builder();
    let tool = match storage {
        Some(storage) => builder.storage(storage),
        None => builder,
    }
    .start()
    .await
    .unwrap();
    (dir, tool)
}

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
        let (_dir, tool) = tool_on(storage).await;
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

// --- the published configuration (`botyard publish --cluster-config`) -----

/// A replica on PostgreSQL serving `/hello` from its apps directory, with
/// `config` as its own botyard.toml.
async fn replica_serving_hello(url: &str, name: &str, config: &str) -> (TestHost, Host) {
    let mut options = Options::new(url, name);
    options.heartbeat = Duration::from_millis(300);
    let storage = Storage::connect_postgres(options).await.unwrap();
    let dir = TestHost::new(config, &[("hello", "hello-rust")]);
    let host = dir.builder().storage(storage).start().await.unwrap();
    (dir, host)
}

/// `line` as `user`: the reply's text, or the error.
async fn run(apps: &Apps, line: &str, user: &str) -> String {
    reply_text(apps, line, user)
        .await
        .unwrap_or_else(|e| format!("error: {e}"))
}

/// Waits (within the bound) until `check` holds; what for is in the panic.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let since = Instant::now();
    while !check().await {
        assert!(
            since.elapsed() < SWITCH_BOUND,
            "{what} not within {SWITCH_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A cluster-wide configuration: a lower default deadline, and `/hello`
/// for U02 alone.
const CLUSTER: &str = "\
[limits]
deadline_ms = 1234

[[permissions.rules]]
app = \"hello\"
users = [\"U02\"]
";

/// The default deadline `apps` serves with.
fn deadline(apps: &Apps) -> Duration {
    apps.config().default_limits.deadline
}

/// Waits until `want` replicas report applying configuration `hash`, with
/// no error.
async fn config_reports(store: &dyn botyard::storage::PublishedStore, hash: &str, want: usize) {
    until(
        &format!("{want} replicas reporting configuration {hash}"),
        || async {
            let running = store.running().await.unwrap();
            running
                .iter()
                .filter(|r| {
                    r.app == botyard::storage::CONFIG_REPORT_NAME
                        && r.hash.as_deref() == Some(hash)
                        && r.error.is_none()
                })
                .count()
                == want
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_configuration_reaches_every_replica_and_unpublishing_reverts() {
    let url = pg::database();
    // bot-b's own file says something about limits; the published [limits]
    // replaces it while published, and it comes back after.
    let (_a_dir, a) = replica_serving_hello(&url, "bot-a", "").await;
    let (_b_dir, b) = replica_serving_hello(&url, "bot-b", "[limits]\ndeadline_ms = 4321\n").await;
    let _pa = published::spawn(a.apps().clone(), POLL_EVERY);
    let _pb = published::spawn(b.apps().clone(), POLL_EVERY);
    let observer = observer(&url).await;
    let store = observer.published.as_ref();
    let default_deadline = deadline(a.apps());
    assert_eq!(deadline(b.apps()), Duration::from_millis(4321));
    for replica in [&a, &b] {
        assert!(run(replica.apps(), "/hello", "U1").await.contains("Hello"));
    }

    let started = Instant::now();
    let out = published::publish_config(store, CLUSTER).await.unwrap();
    assert_eq!(out.hash, content_hash(CLUSTER.as_bytes()));
    for replica in [&a, &b] {
        let apps = replica.apps();
        until("the rule to deny U1", || async {
            run(apps, "/hello", "U1").await.contains("needs <@U02>")
        })
        .await;
        assert_eq!(deadline(apps), Duration::from_millis(1234));
        assert_eq!(apps.config().published_version(), Some(out.hash.as_str()));
        assert!(run(apps, "/hello", "U02").await.contains("Hello"));
    }
    eprintln!("configuration applied on both in {:?}", started.elapsed());
    config_reports(store, &out.hash, 2).await;

    // Unpublished: each replica is back to its own file alone.
    assert!(store.unpublish_config().await.unwrap());
    for replica in [&a, &b] {
        let apps = replica.apps();
        until("the rule to go", || async {
            run(apps, "/hello", "U1").await.contains("Hello")
        })
        .await;
        assert_eq!(apps.config().published_version(), None);
    }
    assert_eq!(deadline(a.apps()), default_deadline);
    assert_eq!(deadline(b.apps()), Duration::from_millis(4321));
    let running = store.running().await.unwrap();
    assert!(
        running
            .iter()
            .all(|r| r.app != botyard::storage::CONFIG_REPORT_NAME),
        "{running:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_machine_key_or_an_invalid_configuration_is_refused_and_nothing_changes() {
    let url = pg::database();
    for storage in [None, Some(observer(&url).await)] {
        let (_dir, tool) = tool_on(storage).await;
        let store = tool.apps().storage().published.clone();
        let good = published::publish_config(store.as_ref(), CLUSTER)
            .await
            .unwrap();
        let refused: [(&str, &str); 7] = [
            (
                "[storage]\nbackend = \"sqlite\"\n",
                "`storage` is per machine",
            ),
            ("[slack]\nmode = \"socket\"\n", "`slack` is per machine"),
            (
                "[webhooks]\nlisten = \"0.0.0.0:1\"\n",
                "`webhooks` is per machine",
            ),
            ("[ops]\nlisten = \"0.0.0.0:1\"\n", "`ops` is per machine"),
            ("apps_dir = \"elsewhere\"\n", "`apps_dir` is per machine"),
            ("[limits\ndeadline_ms = 1\n", "TOML"),
            ("[limits]\ndeadline_ms = 0\n", "deadline_ms"),
        ];
        for (text, why) in refused {
            let err = published::publish_config(store.as_ref(), text)
                .await
                .unwrap_err();
            assert!(matches!(err, PublishError::ConfigRefused { .. }), "{err}");
            let message = err.to_string();
            assert!(
                message.contains("was not published") && message.contains(why),
                "{text}: {message}"
            );
            if why.contains("per machine") {
                assert!(
                    message.contains("each replica's own botyard.toml"),
                    "{message}"
                );
            }
            assert_eq!(
                store.published_config().await.unwrap().map(|c| c.hash),
                Some(good.hash.clone()),
                "the good configuration stays current"
            );
        }
        assert!(store.unpublish_config().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_sqlite_host_follows_the_configuration_published_by_the_cli() {
    let serving = TestHost::new("", &[("hello", "hello-rust")]);
    std::fs::write(serving.data_dir().join("botyard.toml"), "").unwrap();
    let host = serving.builder().start().await.unwrap();
    let apps = host.apps();
    let _poller = published::spawn(apps.clone(), POLL_EVERY);
    assert!(run(apps, "/hello", "U1").await.contains("Hello"));

    let file = serving.data_dir().join("cluster.toml");
    std::fs::write(&file, CLUSTER).unwrap();
    let (ok, _, output) = botyard(
        serving.data_dir(),
        &["publish", "--cluster-config", file.to_str().unwrap()],
    );
    assert!(ok, "{output}");
    let hash = content_hash(CLUSTER.as_bytes());
    assert!(
        output.contains(&format!("published configuration {}", &hash[..12])),
        "{output}"
    );
    assert!(output.contains("within 2 s"), "{output}");
    until("the rule to deny U1", || async {
        run(apps, "/hello", "U1").await.contains("needs <@U02>")
    })
    .await;
    assert_eq!(deadline(apps), Duration::from_millis(1234));
    config_reports(apps.storage().published.as_ref(), &hash, 1).await;

    // What the operator sees.
    let (ok, json, output) = botyard(serving.data_dir(), &["cluster", "status", "--json"]);
    assert!(ok, "{output}");
    assert_eq!(json["config"]["hash"], hash.as_str(), "{json}");
    assert!(
        json["config"].get("text").is_none(),
        "never the text: {json}"
    );
    let (ok, _, text) = botyard(serving.data_dir(), &["cluster", "status"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("published configuration {}", &hash[..12]))
            && text.contains("applied"),
        "{text}"
    );
    let (ok, _, text) = botyard(serving.data_dir(), &["apps"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("published configuration {}", &hash[..12])),
        "{text}"
    );
    let (ok, _, output) = botyard(
        serving.data_dir(),
        &["publish", "--cluster-config", file.to_str().unwrap()],
    );
    assert!(ok, "{output}");
    assert!(output.contains("already the published one"), "{output}");

    // A per-machine key: refused, with why, and nothing changes.
    let bad = serving.data_dir().join("bad.toml");
    std::fs::write(&bad, "[slack]\nmode = \"socket\"\n").unwrap();
    let (ok, _, output) = botyard(
        serving.data_dir(),
        &["publish", "--cluster-config", bad.to_str().unwrap()],
    );
    assert!(!ok, "{output}");
    assert!(
        output.contains("`slack` is per machine")
            && output.contains("each replica's own botyard.toml"),
        "{output}"
    );
    let (_, json, _) = botyard(serving.data_dir(), &["cluster", "status", "--json"]);
    assert_eq!(json["config"]["hash"], hash.as_str(), "{json}");

    // Unpublished: back to the local file alone.
    let (ok, _, output) = botyard(serving.data_dir(), &["unpublish", "--cluster-config"]);
    assert!(ok, "{output}");
    until("the rule to go", || async {
        run(apps, "/hello", "U1").await.contains("Hello")
    })
    .await;
    assert_eq!(apps.config().published_version(), None);
    let (ok, _, output) = botyard(serving.data_dir(), &["unpublish", "--cluster-config"]);
    assert!(!ok, "{output}");
    assert!(output.contains("no configuration is published"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_on_which_the_published_configuration_is_invalid_keeps_serving_and_reports_why() {
    // The published document names a secret file: bot-a applies it while
    // the file is there; bot-b looks after it is gone, so there it does not
    // make a valid configuration — the previous one keeps serving.
    let secrets = tempfile::tempdir().unwrap();
    let token = secrets.path().join("token");
    std::fs::write(&token, "s3cret").unwrap();
    let first = "[limits]\ndeadline_ms = 2222\n";
    let second = format!(
        "{CLUSTER}\n[apps.hello.webhooks.alerts]\nverify = \"bearer\"\ntoken = \"${{file:{}}}\"\n",
        token.display()
    );
    let url = pg::database();
    let (_a_dir, a) = replica_serving_hello(&url, "bot-a", "").await;
    let (_b_dir, b) = replica_serving_hello(&url, "bot-b", "").await;
    let observer = observer(&url).await;
    let store = observer.published.as_ref();
    let (mut ra, mut rb) = (published::Reports::default(), published::Reports::default());

    let v1 = published::publish_config(store, first).await.unwrap();
    published::sync(a.apps(), Some(&mut ra)).await.unwrap();
    published::sync(b.apps(), Some(&mut rb)).await.unwrap();
    config_reports(store, &v1.hash, 2).await;

    let v2 = published::publish_config(store, &second).await.unwrap();
    published::sync(a.apps(), Some(&mut ra)).await.unwrap();
    assert!(run(a.apps(), "/hello", "U1").await.contains("needs <@U02>"));
    std::fs::remove_file(&token).unwrap();
    published::sync(b.apps(), Some(&mut rb)).await.unwrap();

    // bot-b: still the first version, serving, and saying why not the second.
    let apps = b.apps();
    assert_eq!(apps.config().published_version(), Some(v1.hash.as_str()));
    assert_eq!(deadline(apps), Duration::from_millis(2222));
    assert!(run(apps, "/hello", "U1").await.contains("Hello"));
    let error = apps
        .config_error()
        .expect("the refusal is recorded")
        .message;
    assert!(error.contains("cannot read secret file"), "{error}");
    assert!(!error.contains("s3cret"));
    let running = store.running().await.unwrap();
    let reports: Vec<_> = running
        .iter()
        .filter(|r| r.app == botyard::storage::CONFIG_REPORT_NAME)
        .map(|r| (r.replica.as_str(), r.hash.clone(), r.error.clone()))
        .collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0], ("bot-a", Some(v2.hash.clone()), None));
    assert_eq!(reports[1].0, "bot-b");
    assert_eq!(reports[1].1.as_deref(), Some(v1.hash.as_str()));
    let reported = reports[1].2.as_deref().unwrap_or_default();
    assert!(reported.contains("cannot read secret file"), "{reported}");
    // Not tried again every round; a new version applies as usual.
    published::sync(apps, Some(&mut rb)).await.unwrap();
    assert_eq!(apps.config().published_version(), Some(v1.hash.as_str()));
    std::fs::write(&token, "s3cret").unwrap();
    let v3 = published::publish_config(store, CLUSTER).await.unwrap();
    published::sync(apps, Some(&mut rb)).await.unwrap();
    assert_eq!(apps.config().published_version(), Some(v3.hash.as_str()));
    assert!(apps.config_error().is_none());
    assert!(run(apps, "/hello", "U1").await.contains("needs <@U02>"));
}

/// Writes `botyard.toml` the way editors do: a new file renamed over it.
fn write_config(dir: &std::path::Path, text: &str) {
    let tmp = dir.join(".botyard.toml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join("botyard.toml")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_edits_go_under_the_published_configuration() {
    let serving = TestHost::new("", &[("hello", "hello-rust")]);
    let dir = serving.data_dir();
    write_config(dir, "");
    let mut config =
        botyard::config::Config::load(&dir.join("botyard.toml"), true, &serving.apps_dir())
            .unwrap();
    config.compile_cache_dir = Some(crate::support::compile_cache_dir());
    let host = Host::builder(config, dir).watch().start().await.unwrap();
    let apps = host.apps();
    let _poller = published::spawn(apps.clone(), POLL_EVERY);
    let store = apps.storage().published.clone();

    // Only [permissions] published: the local [limits] stays this host's.
    let rules = "[[permissions.rules]]\napp = \"hello\"\nusers = [\"U02\"]\n";
    let v1 = published::publish_config(store.as_ref(), rules)
        .await
        .unwrap();
    until("the published rule to deny U1", || async {
        run(apps, "/hello", "U1").await.contains("needs <@U02>")
    })
    .await;
    write_config(dir, "[limits]\ndeadline_ms = 3333\n");
    until("the local edit to apply", || async {
        deadline(apps) == Duration::from_millis(3333)
    })
    .await;
    assert_eq!(apps.config().published_version(), Some(v1.hash.as_str()));
    assert!(run(apps, "/hello", "U1").await.contains("needs <@U02>"));

    // A broken local file: a new published version cannot go over it; the
    // previous configuration serves and the report says why. Fixing the
    // file applies the published version it was waiting for.
    write_config(dir, "[limits]\ndeadline_ms = 3333\n[audit]\nkeep = 7\n");
    until("the broken edit to be refused", || async {
        apps.config_error().is_some()
    })
    .await;
    let v2 = published::publish_config(store.as_ref(), CLUSTER)
        .await
        .unwrap();
    until("the replica to report why not", || async {
        store.running().await.unwrap().iter().any(|r| {
            r.app == botyard::storage::CONFIG_REPORT_NAME
                && r.hash.as_deref() == Some(v1.hash.as_str())
                && r.error.as_deref().is_some_and(|e| e.contains("keep_days"))
        })
    })
    .await;
    assert_eq!(apps.config().published_version(), Some(v1.hash.as_str()));
    assert_eq!(deadline(apps), Duration::from_millis(3333));
    write_config(dir, "");
    until("the fixed file to take the new version", || async {
        apps.config().published_version() == Some(v2.hash.as_str())
    })
    .await;
    assert_eq!(deadline(apps), Duration::from_millis(1234));
    assert!(apps.config_error().is_none());
    config_reports(store.as_ref(), &v2.hash, 1).await;
    host.shutdown().await;
}
