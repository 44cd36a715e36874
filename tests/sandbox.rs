//! Crash containment: each misbehaving guest is stopped at its limit with a
//! one-line error naming the app and the cause, while a well-behaved app
//! invoked concurrently keeps answering correctly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{TestHost, reply_text};
use botyard::contract::request::Response;
use botyard::routing::{Apps, CallContext, CallError, CommandAnswer};
use botyard::runtime::app::LoadError;
use botyard::runtime::invoke::InvokeError;

const CONFIG: &str = r#"
[apps.looper]
deadline_ms = 300
[apps.memory-bomb]
memory_mib = 32
[apps.deep-recursion]
wasm_stack_kib = 256
[apps.ungranted]
grants = ["store", "log"]
"#;

fn host() -> TestHost {
    TestHost::new(
        CONFIG,
        &[
            ("hello", "hello-rust"),
            ("looper", "looper"),
            ("memory-bomb", "memory-bomb"),
            ("deep-recursion", "deep-recursion"),
            ("panicker", "panicker"),
        ],
    )
}

/// Calls /hello as `user` in a loop until `stop`, checking every answer's count.
async fn keep_greeting(runtime: Arc<Apps>, user: &str, stop: Arc<AtomicBool>) -> u64 {
    let mut expected = 0;
    while !stop.load(Ordering::Relaxed) {
        expected += 1;
        let text = reply_text(&runtime, "/hello", user)
            .await
            .expect("hello must keep answering");
        assert!(
            text.contains(&format!("said hello {expected} time(s)")),
            "{text}"
        );
        tokio::task::yield_now().await;
    }
    expected
}

async fn misbehave(runtime: &Apps, line: &str) -> (InvokeError, Duration) {
    let started = Instant::now();
    let err = match reply_text(runtime, line, "U1").await {
        Err(CallError::Invoke(e)) => e,
        other => panic!("{line} should have been stopped, got {other:?}"),
    };
    (err, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_guests_are_stopped_while_others_keep_serving() {
    let host = host();
    let runtime = host.start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let greeter = tokio::spawn(keep_greeting(runtime.clone(), "U-steady", stop.clone()));

    let (err, took) = misbehave(&runtime, "/loop").await;
    assert!(matches!(err, InvokeError::Deadline { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "app `looper` was stopped: it ran past its 300 ms deadline"
    );
    assert!(
        took < Duration::from_millis(300 + 100),
        "loop stopped after {took:?}"
    );

    let (err, _) = misbehave(&runtime, "/bomb").await;
    assert!(
        matches!(err, InvokeError::Memory { limit, .. } if limit == 32 << 20),
        "{err}"
    );
    assert!(
        err.to_string().contains("memory-bomb") && err.to_string().contains("32 MiB"),
        "{err}"
    );

    let (err, _) = misbehave(&runtime, "/recurse").await;
    assert!(matches!(err, InvokeError::StackOverflow { .. }), "{err}");
    assert!(err.to_string().contains("deep-recursion"), "{err}");

    let (err, _) = misbehave(&runtime, "/panic").await;
    assert!(matches!(err, InvokeError::Crashed { .. }), "{err}");
    assert!(
        err.to_string().starts_with("app `panicker` crashed"),
        "{err}"
    );

    // The host is unharmed: every misbehaving app can be invoked again and
    // is stopped again, and the steady app never saw a failure.
    let (again, _) = misbehave(&runtime, "/loop").await;
    assert!(matches!(again, InvokeError::Deadline { .. }));
    stop.store(true, Ordering::Relaxed);
    let greetings = greeter.await.expect("the steady app's loop must not fail");
    assert!(
        greetings > 5,
        "the steady app answered only {greetings} times meanwhile"
    );

    // Every invocation, failed ones included, is in the audit log.
    let audit = runtime
        .storage()
        .audit
        .recent(Some("looper"), 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(
        |r| matches!(&r.outcome, botyard::storage::Outcome::Failed(m) if m.contains("deadline"))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_loops_on_every_worker_thread_do_not_starve_other_apps() {
    let host = host();
    let runtime = host.start().await;
    // Four loops on two worker threads: without yielding, both threads would
    // spin until the loops' deadlines and nothing else could run meanwhile.
    let loops: Vec<_> = (0..4)
        .map(|_| {
            let runtime = runtime.clone();
            tokio::spawn(async move { misbehave(&runtime, "/loop").await })
        })
        .collect();
    // A blocking sleep on the test's own thread: a tokio timer would itself
    // wait for a free worker, hiding exactly the starvation under test.
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    let greeting = {
        let runtime = runtime.clone();
        tokio::spawn(async move { reply_text(&runtime, "/hello", "U-busy").await })
    };
    let text = greeting
        .await
        .unwrap()
        .expect("hello must answer while loops spin");
    let took = started.elapsed();
    assert!(text.contains("1 time(s)"), "{text}");
    assert!(
        took < Duration::from_millis(150),
        "hello waited {took:?} behind runaway loops"
    );
    for handle in loops {
        let (err, _) = handle.await.unwrap();
        assert!(matches!(err, InvokeError::Deadline { .. }), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ungranted_import_is_refused_at_load_naming_the_interface() {
    let host = TestHost::new(CONFIG, &[("ungranted", "ungranted")]);
    let runtime = host.start().await;
    let err = runtime.reload("ungranted").await.unwrap_err();
    assert!(matches!(err, LoadError::NotGranted { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("botyard:app/slack@0.1.0") && message.contains("grants"),
        "{message}"
    );
    let snapshot = runtime.snapshot();
    let entry = &snapshot.apps["ungranted"];
    assert!(entry.current.is_none());
    assert!(
        entry
            .last_error
            .as_ref()
            .unwrap()
            .message
            .contains("botyard:app/slack")
    );
    assert!(matches!(
        reply_text(&runtime, "/post", "U1").await,
        Err(CallError::Route(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_describe_is_not_loaded() {
    let host = TestHost::new("", &[("bad-describe", "bad-describe")]);
    let runtime = host.start().await;
    let err = runtime.reload("bad-describe").await.unwrap_err();
    assert!(matches!(err, LoadError::Describe { .. }), "{err}");
    assert!(err.to_string().contains("`describe` failed"), "{err}");
    assert!(runtime.snapshot().app("bad-describe").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_made_ahead_are_fresh_and_serve_one_call_each() {
    // A Rust guest is made on demand unless told (see below); ask for two.
    let host = TestHost::new(
        "[apps.counter]\nready_instances = 2\n",
        &[("counter", "counter")],
    );
    let runtime = host.start().await;
    let ctx = CallContext {
        user: "U1".into(),
        channel: "C1".into(),
        trigger_id: None,
    };
    let mut prepared = 0;
    for _ in 0..6 {
        // Time for the background task to have an instance ready.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let CommandAnswer::App { invocation, .. } =
            runtime.call_command("/count", &ctx).await.unwrap()
        else {
            panic!("/count answered help")
        };
        let Response::Command(Some(reply)) = invocation.response else {
            panic!("/count should reply: {:?}", invocation.response)
        };
        // The counter lives in the instance's memory: a reused instance would say 2.
        assert_eq!(reply.message.text, "1");
        prepared += usize::from(invocation.prepared);
    }
    assert_eq!(prepared, 6, "every call should find an instance made ahead");
}

/// Unless the operator says, whether instances are made ahead follows what
/// making one measured at load (the rule itself is unit-tested in
/// `runtime`; how fast this machine is must not decide this test): an app
/// with none ready makes one on demand, one with some finds it made, and
/// either way every call gets a fresh instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_made_ahead_as_measured_unless_configured() {
    let host = TestHost::new("", &[("counter", "counter")]);
    let runtime = host.start().await;
    let version = runtime.snapshot().app("counter").unwrap().clone();
    let botyard::runtime::app::AppCode::Wasm(code) = &version.code else {
        panic!("counter is a component")
    };
    assert!(code.instantiation > Duration::ZERO);
    assert_eq!(version.limits.ready_instances, None, "nothing configured");
    let ctx = CallContext {
        user: "U1".into(),
        channel: "C1".into(),
        trigger_id: None,
    };
    for _ in 0..3 {
        // Time for the background task to have one ready, if it makes any.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let CommandAnswer::App { invocation, .. } =
            runtime.call_command("/count", &ctx).await.unwrap()
        else {
            panic!("/count answered help")
        };
        assert_eq!(
            invocation.prepared,
            code.ready > 0,
            "{} made ahead (made in {:?})",
            code.ready,
            code.instantiation
        );
        let Response::Command(Some(reply)) = invocation.response else {
            panic!("/count should reply")
        };
        assert_eq!(reply.message.text, "1", "a fresh instance every call");
    }
}
