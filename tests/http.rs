//! Outbound HTTP through the `http` capability, end to end: a real test
//! guest (`fetcher`) in a real host reaching real servers on loopback. What
//! the operator allow-listed round-trips; everything else is refused before
//! a connection is made, with the rule to add; limits hold; and the other
//! apps keep answering throughout.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::upstream::Upstream;
use crate::support::{TestHost, reply_text};
use serde_json::Value;

/// The fetcher's answer to `/fetch <line>`, as JSON.
async fn fetch(apps: &botyard::routing::Apps, line: &str) -> Value {
    let text = reply_text(apps, &format!("/fetch {line}"), "U1")
        .await
        .unwrap_or_else(|e| panic!("/fetch {line}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn error(answer: &Value) -> &str {
    answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {answer}"))
}

/// `fetcher` granted `http` with a 1.5 s deadline, `[apps.fetcher.http]`
/// keys `http`, a rule allowing `allowed`, then `extra`.
fn config_with(allowed: &Upstream, http: &str, extra: &str) -> String {
    format!(
        "[apps.fetcher]\ngrants = [\"http\"]\ndeadline_ms = 1500\n\
         [apps.fetcher.http]\n{http}\n\
         [[apps.fetcher.http.allow]]\nurl = \"{}/\"\n{extra}",
        allowed.url()
    )
}

fn config(allowed: &Upstream, extra: &str) -> String {
    config_with(allowed, "", extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_requests_round_trip() {
    let up = Upstream::start("127.0.0.1").await;
    let host = TestHost::new(&config(&up, ""), &[("fetcher", "fetcher")]);
    let apps = host.start().await;

    let got = fetch(&apps, &format!("GET {}/hello", up.url())).await;
    assert_eq!(got["status"], 200, "{got}");
    assert_eq!(got["body"], "hello");
    assert_eq!(got["url"], format!("{}/hello", up.url()));
    assert_eq!(up.last_header("x-app-header").as_deref(), Some("from-app"));

    let posted = fetch(&apps, &format!("POST {}/echo lunch-at-noon", up.url())).await;
    assert_eq!(
        (posted["status"].clone(), posted["body"].clone()),
        (200.into(), "lunch-at-noon".into())
    );

    // Each request is in the audit log: method, host, path, status, bytes.
    let audit = apps
        .storage()
        .audit
        .recent(Some("fetcher"), 10)
        .await
        .unwrap();
    let http: Vec<&str> = audit
        .iter()
        .filter(|r| r.kind == "http")
        .map(|r| r.detail.as_str())
        .collect();
    assert_eq!(
        http,
        [
            "POST 127.0.0.1/echo → 200, 13 bytes",
            "GET 127.0.0.1/hello → 200, 5 bytes"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_allowed_is_refused_before_connecting_with_the_rule_to_add() {
    let up = Upstream::start("127.0.0.1").await;
    let elsewhere = Upstream::start("127.0.0.1").await;
    let other_loopback = Upstream::start("127.0.0.2").await;
    let by_name = format!(
        "[[apps.fetcher.http.allow]]\nurl = \"http://localhost:{}/\"\n",
        up.addr.port()
    );
    let host = TestHost::new(&config(&up, &by_name), &[("fetcher", "fetcher")]);
    let apps = host.start().await;

    // A host (here: a port) not on the list.
    let got = fetch(&apps, &format!("GET {}/x", elsewhere.url())).await;
    let e = error(&got);
    assert!(
        e.contains(&format!(
            "[[apps.fetcher.http.allow]] url = \"{}/\"",
            elsewhere.url()
        )),
        "{e}"
    );

    // A redirect from an allowed host to one that is not.
    let to = format!("{}/landing", elsewhere.url());
    let got = fetch(&apps, &format!("GET {}/redirect?to={to}", up.url())).await;
    let e = error(&got);
    assert!(
        e.contains("redirect") && e.contains(&elsewhere.url()),
        "{e}"
    );
    assert_eq!(up.requests(), 1, "the allowed hop was made");

    // Other loopback addresses and the cloud metadata address.
    let got = fetch(&apps, &format!("GET {}/x", other_loopback.url())).await;
    assert!(error(&got).contains("[[apps.fetcher.http.allow]]"), "{got}");
    let got = fetch(&apps, "GET http://169.254.169.254/latest/meta-data/").await;
    let e = error(&got);
    assert!(
        e.contains("[[apps.fetcher.http.allow]] url = \"http://169.254.169.254/\""),
        "{e}"
    );

    // A name that resolves to loopback is refused on the resolved address,
    // even though a rule allows the name.
    let got = fetch(
        &apps,
        &format!("GET http://localhost:{}/hello", up.addr.port()),
    )
    .await;
    let e = error(&got);
    assert!(e.contains("private = true"), "{e}");

    assert_eq!(
        elsewhere.requests(),
        0,
        "nothing connected to a forbidden host"
    );
    assert_eq!(other_loopback.requests(), 0);
    assert_eq!(
        up.requests(),
        1,
        "the name resolving to loopback never connected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_is_cut_at_the_deadline_and_others_keep_answering() {
    let up = Upstream::start("127.0.0.1").await;
    let host = TestHost::new(
        &config(&up, ""),
        &[("fetcher", "fetcher"), ("hello", "hello-rust")],
    );
    let apps = host.start().await;
    let started = Instant::now();
    let slow = {
        let apps = apps.clone();
        let url = format!("GET {}/slow", up.url());
        tokio::spawn(async move { fetch(&apps, &url).await })
    };
    // While it waits, another app answers at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = Instant::now();
    let hello = reply_text(&apps, "/hello", "U2").await.unwrap();
    assert!(hello.contains("Hello"), "{hello}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "hello waited {:?}",
        asked.elapsed()
    );

    let got = slow.await.unwrap();
    let took = started.elapsed();
    assert!(
        error(&got).contains("deadline") || error(&got).contains("no answer"),
        "{got}"
    );
    assert!(
        took < Duration::from_millis(1500 + 1000),
        "cut at the 1.5 s deadline, took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_response_is_cut_at_the_cap_and_others_keep_answering() {
    let up = Upstream::start("127.0.0.1").await;
    let host = TestHost::new(
        &config_with(&up, "max_response_bytes = 1048576", ""),
        &[("fetcher", "fetcher"), ("hello", "hello-rust")],
    );
    let apps = host.start().await;
    let got = fetch(&apps, &format!("GET {}/huge", up.url())).await;
    let e = error(&got);
    assert!(e.contains("1048576"), "{e}");
    let sent = up.seen.huge_sent.load(Ordering::SeqCst);
    assert!(
        sent < 20 << 20,
        "the host stopped reading early ({sent} bytes sent)"
    );
    assert!(
        reply_text(&apps, "/hello", "U2")
            .await
            .unwrap()
            .contains("Hello")
    );
}
