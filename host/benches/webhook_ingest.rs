//! `cargo bench --bench webhook_ingest`: webhook ingest throughput. The
//! host's webhook receiver (`Host::webhook_receiver()`, served with axum on
//! loopback) takes signed GitHub-style deliveries — `verify = "github"`, a
//! unique `X-GitHub-Delivery` each, a ~1 KiB JSON body — from 32 concurrent
//! keep-alive senders. A delivery counts when it is answered 202: verified
//! and committed to SQLite before the answer.
//!
//! The handler runner is on (the real situation) unless `BENCH_RUNNER=0`:
//! it hands each delivery to the `hooks` test guest in the background,
//! which counts it in its store and posts to Slack (the emulator, on a
//! runtime of its own), so ingest shares the two cores with handling. The
//! output says which.
//!
//! After the run every acknowledged delivery id is looked up in storage:
//! what was acknowledged must all be there (and nothing else). Then the
//! runner's backlog is left to drain, for its own rate. Figures are printed
//! beside the issue's target (≥ 3000 deliveries/s on 2 cores) and judged by
//! a human, since these machines are shared.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use botyard::emulator::{Emulator, EmulatorConfig};
use botyard::inbound::webhooks::verify::github_signature;
use botyard::slack::delivery::DeliveryConfig;
use botyard::slack::web_api::WebApi;
use botyard::storage::DeliveryStatus;
use serde_json::json;
use support::TestHost;

const SECRET: &str = "bench-github-webhook-secret";
const SENDERS: usize = 32;
const WARM_UP: usize = 2_000;
const MEASURED: usize = 20_000;
/// A phase stops sending after this long, whatever its count.
const WARM_CAP: Duration = Duration::from_secs(30);
const MEASURE_CAP: Duration = Duration::from_secs(60);
/// How long the runner's backlog is waited for after the run.
const DRAIN_CAP: Duration = Duration::from_secs(180);
const BODY_BYTES: usize = 1024;

/// One prepared delivery: its id, body and signature, made before the
/// phase so the senders spend as little of the machine as they can.
struct Prepared {
    id: String,
    /// Cheap to hand to reqwest (a reference count, not a copy).
    body: Bytes,
    signature: String,
}

/// A ~1 KiB pull-request delivery, numbered `n`.
fn body(n: usize) -> Vec<u8> {
    let mut value = json!({
        "action": "opened",
        "number": n,
        "pull_request": {
            "title": format!("Bench pull request {n}"),
            "state": "open",
            "html_url": format!("https://github.com/octo-org/botyard-bench/pull/{n}"),
            "user": {"login": "octocat", "id": 1, "type": "User"},
            "head": {"ref": "feature", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
            "base": {"ref": "main", "sha": "bbcd538c8e72b8c175046e27cc8f907076331401"},
            "body": "",
        },
        "repository": {
            "id": 1296269,
            "full_name": "octo-org/botyard-bench",
            "private": false,
            "default_branch": "main",
        },
        "sender": {"login": "octocat", "id": 1, "type": "User"},
    });
    let bare = serde_json::to_vec(&value).unwrap().len();
    value["pull_request"]["body"] = "x".repeat(BODY_BYTES.saturating_sub(bare)).into();
    serde_json::to_vec(&value).unwrap()
}

fn prepare(from: usize, count: usize) -> Vec<Prepared> {
    (from..from + count)
        .map(|n| {
            let body = body(n);
            Prepared {
                id: format!("bench-{n:06}-{:08x}", n.wrapping_mul(2_654_435_761) as u32),
                signature: github_signature(SECRET, &body),
                body: body.into(),
            }
        })
        .collect()
}

struct Phase {
    /// Delivery ids answered 202.
    accepted: Vec<String>,
    /// Answered 200 (a duplicate: should not happen, every id is new).
    duplicates: usize,
    failed: usize,
    failures: Vec<String>,
    latencies: Vec<Duration>,
    wall: Duration,
    capped: bool,
}

impl Phase {
    fn sent(&self) -> usize {
        self.latencies.len()
    }

    fn pct(&mut self, p: usize) -> f64 {
        self.latencies.sort();
        let i = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[i].as_secs_f64() * 1e3
    }
}

/// One sender's share: accepted ids, duplicates, failure count, first
/// failures, latencies.
type SenderRun = (Vec<String>, usize, usize, Vec<String>, Vec<Duration>);

/// Sends every prepared delivery from SENDERS concurrent senders sharing
/// `client`'s keep-alive pool; stops early at `cap`.
async fn phase(
    client: &reqwest::Client,
    url: &str,
    all: Arc<Vec<Prepared>>,
    cap: Duration,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..SENDERS {
        let (client, url, next, all) = (client.clone(), url.to_string(), next.clone(), all.clone());
        tasks.push(tokio::spawn(async move {
            let mut run: SenderRun = Default::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= all.len() || started.elapsed() > cap {
                    break;
                }
                let d = &all[n];
                let t = Instant::now();
                let result = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("user-agent", "GitHub-Hookshot/bench")
                    .header("x-github-event", "pull_request")
                    .header("x-github-delivery", &d.id)
                    .header("x-hub-signature-256", &d.signature)
                    .body(d.body.clone())
                    .send()
                    .await;
                let outcome = match result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        match response.bytes().await {
                            Ok(answer) => Ok((status, answer)),
                            Err(e) => Err(format!("reading the answer: {e}")),
                        }
                    }
                    Err(e) => Err(format!("send: {e}")),
                };
                run.4.push(t.elapsed());
                match outcome {
                    Ok((202, _)) => run.0.push(d.id.clone()),
                    Ok((200, _)) => run.1 += 1,
                    Ok((status, answer)) => {
                        run.2 += 1;
                        if run.3.len() < 3 {
                            run.3.push(format!(
                                "status {status}: {}",
                                String::from_utf8_lossy(&answer)
                            ));
                        }
                    }
                    Err(e) => {
                        run.2 += 1;
                        if run.3.len() < 3 {
                            run.3.push(e);
                        }
                    }
                }
            }
            run
        }));
    }
    let mut out = Phase {
        accepted: Vec::new(),
        duplicates: 0,
        failed: 0,
        failures: Vec::new(),
        latencies: Vec::new(),
        wall: Duration::ZERO,
        capped: false,
    };
    for task in tasks {
        let (accepted, duplicates, failed, failures, latencies) = task.await.unwrap();
        out.accepted.extend(accepted);
        out.duplicates += duplicates;
        out.failed += failed;
        out.failures.extend(failures);
        out.latencies.extend(latencies);
    }
    out.wall = started.elapsed();
    out.capped = out.sent() < all.len();
    out
}

fn main() {
    let runner = std::env::var("BENCH_RUNNER").map_or(true, |v| v != "0");
    // SAFETY: set before any other thread exists; only this process reads it.
    unsafe { std::env::set_var("BOTYARD_BENCH_GITHUB_SECRET", SECRET) };

    // Slack, for the handlers' messages: a runtime of its own.
    let slack_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let slack = slack_rt
        .block_on(Emulator::start(EmulatorConfig::default()))
        .expect("the emulator starts");
    let channel = slack.channel_id("general").unwrap();

    // The host: receiver, runner and delivery on a 2-worker runtime.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = format!(
        r#"
[apps.hooks]
grants = ["slack", "store", "settings", "clock"]
# Tens of thousands of deliveries, each a Slack post: past any fair share.
slack_calls_per_minute = 0
webhook_deliveries_kept = 0
[apps.hooks.settings]
channel = "{channel}"
[apps.hooks.webhooks.github]
verify = "github"
secret = "${{env:BOTYARD_BENCH_GITHUB_SECRET}}"
"#
    );
    let dir = TestHost::new(&config, &[("hooks", "hooks")]);
    let (host, url) = server_rt.block_on(async {
        let mut builder = dir.builder().connected();
        if runner {
            builder = builder.webhooks();
        }
        let mut host = builder.start().await.expect("starting the host");
        assert!(
            host.apps().snapshot().app("hooks").is_some(),
            "the hooks app did not load"
        );
        host.connect_slack(
            WebApi::new(&slack.base_url(), &slack.config().bot_token),
            DeliveryConfig::default(),
        );
        let (base, _server) = support::serve_webhooks(&host).await;
        let url = format!("{base}/hooks/hooks/github");
        (host, url)
    });
    let storage = host.apps().storage().clone();

    // The senders: their own runtime, one shared keep-alive pool.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let warm = Arc::new(prepare(0, WARM_UP));
    let measured = Arc::new(prepare(WARM_UP, MEASURED));
    client_rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(SENDERS)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()
            .unwrap();
        println!(
            "webhook ingest: signed GitHub-style deliveries (verify = \"github\", unique X-GitHub-Delivery, \
             {} byte JSON body) to Host::webhook_receiver() over loopback HTTP, {SENDERS} concurrent \
             keep-alive senders, server on 2 worker threads; {WARM_UP} warm-up then {MEASURED} measured \
             deliveries (cap {} s)",
            measured[0].body.len(),
            MEASURE_CAP.as_secs()
        );
        println!(
            "  handler runner: {}",
            if runner {
                "RUNNING during the run (hooks guest: store increment + Slack post to the emulator per delivery)"
            } else {
                "NOT running (BENCH_RUNNER=0): deliveries are only recorded"
            }
        );

        let w = phase(&client, &url, warm.clone(), WARM_CAP).await;
        println!(
            "  warm-up:  {:6} sent, {:6} answered 202 in {:5.2} s, {} duplicates, {} failures{}",
            w.sent(),
            w.accepted.len(),
            w.wall.as_secs_f64(),
            w.duplicates,
            w.failed,
            if w.capped { "  (time cap hit)" } else { "" }
        );
        for f in &w.failures {
            println!("    warm-up failure: {f}");
        }
        // The handler rate below counts what settled from here on, so it
        // is timed from here on.
        let measured_from = Instant::now();
        let settled_before = count(&storage).await;

        let mut m = phase(&client, &url, measured.clone(), MEASURE_CAP).await;
        let rate = m.accepted.len() as f64 / m.wall.as_secs_f64();
        let (p50, p99) = (m.pct(50), m.pct(99));
        println!(
            "  measured: {:6} sent, {:6} answered 202 in {:5.2} s = {:6.0} deliveries/s (target ≥ 3000/s on 2 cores)",
            m.sent(),
            m.accepted.len(),
            m.wall.as_secs_f64(),
            rate
        );
        println!(
            "            latency p50 {p50:.2} ms   p99 {p99:.2} ms   duplicates {}   failures {}{}",
            m.duplicates,
            m.failed,
            if m.capped { "   (time cap hit: fewer deliveries than asked)" } else { "" }
        );
        for f in &m.failures {
            println!("    failure: {f}");
        }

        // Acknowledged is stored: every id answered 202 is in storage, and
        // nothing else is.
        let stored = storage
            .webhooks
            .deliveries(Some("hooks"), u32::MAX)
            .await
            .expect("listing deliveries");
        let stored_ids: HashSet<&str> = stored.iter().map(|d| d.delivery_id.as_str()).collect();
        let acked: HashSet<&str> = w
            .accepted
            .iter()
            .chain(&m.accepted)
            .map(String::as_str)
            .collect();
        let missing = acked.difference(&stored_ids).count();
        let extra = stored_ids.difference(&acked).count();
        let (done, pending, dead) = tally(&stored);
        println!(
            "  stored deliveries: {} ; answered 202: {} (warm-up {} + measured {}) ; acknowledged but missing: {missing} ; \
             stored but not acknowledged: {extra} => {}",
            stored.len(),
            acked.len(),
            w.accepted.len(),
            m.accepted.len(),
            if stored.len() == acked.len() && missing == 0 {
                "stored count equals the 202 count, nothing acknowledged was lost"
            } else {
                "MISMATCH"
            }
        );
        println!(
            "  runner progress at the end of the run: {done} done, {pending} pending, {dead} dead \
             ({} settled during the measured run); {} Slack messages posted so far",
            done + dead - settled_before,
            slack.messages(&channel).len()
        );

        if runner {
            let drain_from = Instant::now();
            loop {
                match storage.webhooks.next_due().await {
                    Ok(None) => break,
                    Ok(Some(_)) if drain_from.elapsed() < DRAIN_CAP => {
                        tokio::time::sleep(Duration::from_millis(200)).await
                    }
                    _ => break,
                }
            }
            let drained = drain_from.elapsed();
            let stored = storage.webhooks.deliveries(Some("hooks"), u32::MAX).await.unwrap();
            let (done_after, pending_after, dead_after) = tally(&stored);
            let handled = done_after + dead_after - settled_before;
            let busy = measured_from.elapsed();
            println!(
                "  runner backlog drained {} {:.1} s after the run: {done_after} done, {pending_after} pending, \
                 {dead_after} dead; handler rate over run + drain {:.0} deliveries/s; {} Slack messages posted",
                if pending_after == 0 { "in" } else { "NOT within" },
                drained.as_secs_f64(),
                handled as f64 / busy.as_secs_f64(),
                slack.messages(&channel).len()
            );
        }
        assert!(
            missing == 0 && stored.len() == acked.len(),
            "what was acknowledged is not what was stored"
        );
    });
    drop(client_rt);
    drop(host);
    drop(server_rt);
    drop(slack);
    drop(slack_rt);
    drop(dir);
}

/// Done, pending and dead among `deliveries`.
fn tally(deliveries: &[botyard::storage::Delivery]) -> (usize, usize, usize) {
    let of = |s: DeliveryStatus| deliveries.iter().filter(|d| d.status == s).count();
    (
        of(DeliveryStatus::Done),
        of(DeliveryStatus::Pending),
        of(DeliveryStatus::Dead),
    )
}

/// Deliveries settled (done or dead) so far.
async fn count(storage: &botyard::storage::Storage) -> usize {
    let all = storage
        .webhooks
        .deliveries(Some("hooks"), u32::MAX)
        .await
        .unwrap();
    let (done, _, dead) = tally(&all);
    done + dead
}
