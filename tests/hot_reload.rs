//! Hot reload under load: versions swap atomically while invocations run,
//! and a broken version never replaces a working one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::{TestHost, guest_component, reply_text};
use botyard::routing::watcher;

/// The greeting compiled into examples/hello-rust; each derived version
/// rewrites it in the component's data segment to a same-length marker, which
/// changes the component's hash and its answer but nothing else.
const GREETING: &[u8] = b"Hello";

/// How long a replaced component may take to answer before the test gives
/// up on it.
const RELOAD_BOUND: Duration = Duration::from_secs(15);

fn hello_variant(original: &[u8], n: usize) -> Vec<u8> {
    let marker = format!("H{n:04}");
    let at: Vec<usize> = original
        .windows(GREETING.len())
        .enumerate()
        .filter(|(_, w)| *w == GREETING)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        at.len(),
        1,
        "the greeting must occur exactly once in the hello component"
    );
    let mut bytes = original.to_vec();
    bytes[at[0]..at[0] + GREETING.len()].copy_from_slice(marker.as_bytes());
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_replacements_under_a_tight_loop_lose_no_invocation() {
    let host = TestHost::new("", &[("hello", "hello-rust")]);
    let runtime = host.start().await;
    let _watch = watcher::watch(runtime.clone()).unwrap();
    let original = std::fs::read(guest_component("hello-rust")).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let latest = Arc::new(std::sync::Mutex::new(String::new()));
    let caller = {
        let (runtime, stop, calls, failures, latest) = (
            runtime.clone(),
            stop.clone(),
            calls.clone(),
            failures.clone(),
            latest.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match reply_text(&runtime, "/hello", "U1").await {
                    Ok(text) => *latest.lock().unwrap() = text,
                    Err(e) => {
                        eprintln!("failed invocation: {e}");
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                calls.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };

    let mut slowest = Duration::ZERO;
    for n in 1..=20 {
        let marker = format!("H{n:04},");
        std::fs::write(
            host.apps_dir().join("hello.wasm"),
            hello_variant(&original, n),
        )
        .unwrap();
        let written = Instant::now();
        loop {
            if latest.lock().unwrap().starts_with(&marker) {
                break;
            }
            // A bound for liveness, not a speed target (how fast a reload
            // answers is `cargo bench --bench invoke`'s business): a busy
            // CI machine compiling a debug-built host's component takes
            // its time.
            assert!(
                written.elapsed() < RELOAD_BOUND,
                "version {n} not answering {RELOAD_BOUND:?} after the write"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        slowest = slowest.max(written.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    caller.await.unwrap();
    let calls = calls.load(Ordering::Relaxed);
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "failed invocations during reloads"
    );
    assert!(
        calls > 20,
        "only {calls} invocations ran during the reloads"
    );
    eprintln!("{calls} invocations, 20 reloads, slowest reload answered after {slowest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_version_leaves_the_previous_one_serving() {
    let host = TestHost::new(
        "[apps.hello]\ngrants = [\"store\", \"log\"]\n",
        &[("hello", "hello-rust")],
    );
    let runtime = host.start().await;
    let _watch = watcher::watch(runtime.clone()).unwrap();
    let good = runtime.snapshot().app("hello").unwrap().hash.clone();
    let path = host.apps_dir().join("hello.wasm");

    // Corrupt bytes.
    std::fs::write(&path, b"\0asm this is not a component").unwrap();
    let error = wait_for_error(&runtime, "hello").await;
    assert!(error.contains("not a WebAssembly component"), "{error}");
    assert_eq!(runtime.snapshot().app("hello").unwrap().hash, good);
    assert!(
        reply_text(&runtime, "/hello", "U1")
            .await
            .unwrap()
            .starts_with("Hello,")
    );

    // A component importing `slack`, which this config does not grant hello.
    std::fs::copy(guest_component("ungranted"), &path).unwrap();
    let error = wait_for_error(&runtime, "hello").await;
    assert!(error.contains("botyard:app/slack"), "{error}");
    assert_eq!(runtime.snapshot().app("hello").unwrap().hash, good);
    assert!(
        reply_text(&runtime, "/hello", "U1")
            .await
            .unwrap()
            .contains("2 time(s)")
    );

    // A fresh host (a restart) serves the last good version too, and says why.
    let restarted = host.start().await;
    let snapshot = restarted.snapshot();
    assert_eq!(snapshot.app("hello").unwrap().hash, good);
    assert!(
        snapshot.apps["hello"]
            .last_error
            .as_ref()
            .unwrap()
            .message
            .contains("botyard:app/slack")
    );

    // Removing the file unloads the app.
    std::fs::remove_file(&path).unwrap();
    let started = Instant::now();
    while runtime.snapshot().app("hello").is_some() {
        assert!(started.elapsed() < RELOAD_BOUND, "removed app still loaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits for a new last error on `app`, clearing the old one's claim to newness by time.
async fn wait_for_error(runtime: &botyard::routing::Apps, app: &str) -> String {
    let since = botyard::contract::time::now_ms();
    let started = Instant::now();
    loop {
        if let Some(err) = runtime
            .snapshot()
            .apps
            .get(app)
            .and_then(|e| e.last_error.clone())
            && err.at_ms >= since
        {
            return err.message;
        }
        assert!(
            started.elapsed() < RELOAD_BOUND,
            "no load error recorded for {app}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
