//! `cargo bench --bench http`: signed slash commands over loopback HTTP
//! (keep-alive, 32 concurrent clients) against the real receiver router,
//! for the hello guest `/hello` beside the same logic as a native handler
//! `/hello-native` in the same server. Phases alternate (warm-up, then guest,
//! native, guest, native) so machine noise hits both.
//!
//! Two kinds of phase: *saturating* (each client sends its next request as
//! soon as the last is answered: throughput) and *paced* (the same 32
//! connections offered a fixed total rate, latency counted from when each
//! request was due, so a stall is not hidden by the requests it delayed:
//! latency under load, free of the queueing a saturated closed loop adds by
//! construction — 32 requests in flight at N req/s wait 32/N s on average).
//! Prints figures beside the issue's targets; judged by a human, since these
//! machines are shared.
//!
//! Then votes: a click on the shipped poll app's (`apps/poll`) vote button
//! per request, each from a new voter, signed `block_actions` to
//! `/slack/interactivity`, acknowledged only once the vote is committed —
//! beside `/hello` in the same run, alternating, and their ratio.
//!
//! Last, the price of permission rules: `/hello` with no rules against
//! `/hello` under 50 rules (49 for other apps and commands, one user-group
//! rule that covers it, resolved through a `usergroups.*` stand-in on
//! loopback and cached), alternating, in the same run.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use botyard::inbound::http::{ReceiverConfig, router};
use botyard::slack::signature;
use support::{NativeHello, TestHost};

const SECRET: &str = "bench-signing-secret";
const CLIENTS: usize = 32;
/// Requests per measured phase; each kind gets two phases.
const PER_PHASE: usize = 4000;
const WARM_UP: usize = 1000;
/// A phase stops issuing requests after this long, whatever its count.
const PHASE_CAP: Duration = Duration::from_secs(30);
/// Offered load of a paced phase, and how long it lasts.
const PACED_RATE: f64 = 2000.0;
const PACED_FOR: Duration = Duration::from_secs(3);

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The form Slack posts for a slash command.
fn command_form(command: &str, user: &str, n: usize) -> Vec<u8> {
    serde_urlencoded::to_string([
        ("token", "legacy-verification-token"),
        ("team_id", "T0BENCH"),
        ("channel_id", "C0BENCH"),
        ("user_id", user),
        ("command", command),
        ("text", "bench"),
        (
            "response_url",
            &format!("https://hooks.slack.com/commands/T0BENCH/{n}/bench"),
        ),
        ("trigger_id", &format!("{n}.4242.bench")),
        ("api_app_id", "A0BENCH"),
    ])
    .unwrap()
    .into_bytes()
}

/// Where the votes' answers go: a loopback stand-in for Slack's
/// `response_url` endpoint that answers 200 as Slack does, so the benchmark
/// measures botyard's work rather than a failed lookup of hooks.slack.com
/// (and its retries) per vote. Set before the vote phases.
static RESPONSE_SINK: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Starts the `response_url` stand-in on the current runtime; its base URL.
async fn start_response_sink() -> String {
    let app = axum::Router::new().fallback(|| async { "ok" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A click on the poll's button for option `n % 4`, by voter `n`: Slack's
/// `block_actions` form, as the emulator and Slack send it.
fn vote_form(poll: &str, n: usize) -> Vec<u8> {
    let hooks = RESPONSE_SINK
        .get()
        .map_or("https://hooks.slack.com", String::as_str);
    let payload = serde_json::json!({
        "type": "block_actions",
        "user": {"id": format!("UVOTE{n:07}"), "name": "voter"},
        "api_app_id": "A0BENCH",
        "team": {"id": "T0BENCH"},
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0BENCH"},
        "channel": {"id": "C0BENCH"},
        "trigger_id": format!("{n}.4242.bench"),
        "response_url": format!("{hooks}/actions/T0BENCH/{n}/bench"),
        "message": {"ts": "1700000000.000100", "text": "Poll: Bench?"},
        "actions": [{
            "type": "button",
            "action_id": format!("poll.vote:{}", n % 4),
            "block_id": format!("option-{}", n % 4),
            "value": poll,
            "action_ts": "1700000001.000200",
        }],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .unwrap()
        .into_bytes()
}

/// POSTs a form `body` signed now, as Slack does; the body of a 200, or
/// what went wrong.
async fn signed_post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let mut request = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in signature::signed_headers(SECRET, now_secs(), &body) {
        request = request.header(name, value);
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| format!("body: {e}"))?;
    if status == reqwest::StatusCode::OK {
        Ok(bytes.to_vec())
    } else {
        Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&bytes)
        ))
    }
}

/// One vote: signed now, sent, acknowledged with an empty 200 (after the
/// vote is committed).
async fn vote_one(client: &reqwest::Client, url: &str, poll: &str, n: usize) -> Result<(), String> {
    signed_post(client, url, vote_form(poll, n)).await.map(drop)
}

/// Voters the poll's store holds: the first line of each of its shards
/// (how many, the poll's own record says).
async fn stored_voters(apps: &botyard::routing::Apps, poll: &str) -> u64 {
    let record = apps
        .storage()
        .kv_get("poll", &format!("poll/{poll}"))
        .await
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(&record.expect("the poll")).unwrap();
    let shards = record["shards"].as_u64().expect("a shard count");
    let mut stored = 0;
    for shard in 0..shards {
        let key = format!("poll/{poll}/s/{shard}");
        if let Some(bytes) = apps.storage().kv_get("poll", &key).await.unwrap() {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            stored += text
                .split(' ')
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    stored
}

/// `count` votes from CLIENTS concurrent clients, voter numbers from
/// `first`, end to end: a click is acknowledged once it is durably in the
/// host's inbox and its vote is counted after, so the phase ends when the
/// store holds every acknowledged vote (a click that fails counts as done).
async fn vote_phase(
    client: &reqwest::Client,
    url: &str,
    apps: &botyard::routing::Apps,
    poll: &str,
    first: usize,
    count: usize,
) -> Phase {
    let before = stored_voters(apps, poll).await;
    let started = Instant::now();
    let (client, url, poll_id) = (client.clone(), url.to_string(), poll.to_string());
    let mut out = closed_loop(count, move |_, n| {
        let (client, url, poll) = (client.clone(), url.clone(), poll_id.clone());
        async move { vote_one(&client, &url, &poll, first + n).await }
    })
    .await;
    let acked = (out.done - out.failed) as u64;
    while stored_voters(apps, poll).await < before + acked && started.elapsed() < 2 * PHASE_CAP {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out.wall = started.elapsed();
    out.capped = out.done < count;
    out
}

/// One request: signed now, sent, its reply checked. `Err` says why it failed.
async fn one(
    client: &reqwest::Client,
    url: &str,
    command: &str,
    user: &str,
    n: usize,
) -> Result<(), String> {
    let bytes = signed_post(client, url, command_form(command, user, n)).await?;
    let reply: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("reply not JSON: {e}"))?;
    let text = reply["text"].as_str().unwrap_or_default();
    let ok = text.starts_with("Hello, bench! You have said hello ")
        && text.ends_with(" time(s).")
        && reply["response_type"] == "in_channel";
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected reply: {reply}"))
    }
}

struct Phase {
    done: usize,
    failures: Vec<String>,
    failed: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    capped: bool,
}

/// `count` requests of `command` from CLIENTS concurrent clients sharing
/// `client`'s keep-alive pool.
async fn phase(client: &reqwest::Client, url: &str, command: &'static str, count: usize) -> Phase {
    let (client, url) = (client.clone(), url.to_string());
    closed_loop(count, move |c, n| {
        let (client, url) = (client.clone(), url.clone());
        async move { one(&client, &url, command, &format!("UBENCH{c:02}"), n).await }
    })
    .await
}

/// `count` requests from CLIENTS concurrent clients, each sending the next
/// request as soon as its last one is answered (`send(client, n)`), until
/// all are sent or PHASE_CAP passes.
async fn closed_loop<F, Fut>(count: usize, send: F) -> Phase
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (next, send) = (next.clone(), send.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut fails, mut failed) = (Vec::new(), Vec::new(), 0usize);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count || started.elapsed() > PHASE_CAP {
                    break;
                }
                let t = Instant::now();
                let result = send(c, n).await;
                lat.push(t.elapsed());
                if let Err(e) = result {
                    failed += 1;
                    if fails.len() < 5 {
                        fails.push(e);
                    }
                }
            }
            (lat, fails, failed)
        }));
    }
    let mut out = gather(tasks, started).await;
    out.capped = out.done < count;
    out
}

/// One client's latencies, its first few failures and its failure count.
type ClientRun = (Vec<Duration>, Vec<String>, usize);

/// Waits for every client of a phase begun at `started` and sums them up.
async fn gather(tasks: Vec<tokio::task::JoinHandle<ClientRun>>, started: Instant) -> Phase {
    let mut out = Phase {
        done: 0,
        failures: Vec::new(),
        failed: 0,
        wall: Duration::ZERO,
        latencies: Vec::new(),
        capped: false,
    };
    for task in tasks {
        let (lat, fails, failed) = task.await.unwrap();
        out.latencies.extend(lat);
        out.failures.extend(fails);
        out.failed += failed;
    }
    out.wall = started.elapsed();
    out.done = out.latencies.len();
    out
}

/// `command` offered at PACED_RATE requests/s in total over CLIENTS
/// connections for PACED_FOR; each latency runs from the request's due time.
async fn paced(client: &reqwest::Client, url: &str, command: &'static str) -> Phase {
    let interval = Duration::from_secs_f64(CLIENTS as f64 / PACED_RATE);
    let per_client = (PACED_FOR.as_secs_f64() * PACED_RATE / CLIENTS as f64) as usize;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, url) = (client.clone(), url.to_string());
        // Clients are spread evenly over one interval.
        let offset = interval.mul_f64(c as f64 / CLIENTS as f64);
        tasks.push(tokio::spawn(async move {
            let user = format!("UBENCH{c:02}");
            let (mut lat, mut fails, mut failed) = (Vec::new(), Vec::new(), 0usize);
            for k in 0..per_client {
                let due = started + offset + interval * k as u32;
                tokio::time::sleep_until(due.into()).await;
                let result = one(&client, &url, command, &user, c * per_client + k).await;
                lat.push(due.elapsed());
                if let Err(e) = result {
                    failed += 1;
                    if fails.len() < 5 {
                        fails.push(e);
                    }
                }
            }
            (lat, fails, failed)
        }));
    }
    gather(tasks, started).await
}

struct Totals {
    done: usize,
    wall: Duration,
    failed: usize,
    failures: Vec<String>,
    latencies: Vec<Duration>,
    capped: bool,
}

impl Totals {
    fn new() -> Self {
        Totals {
            done: 0,
            wall: Duration::ZERO,
            failed: 0,
            failures: vec![],
            latencies: vec![],
            capped: false,
        }
    }
    fn add(&mut self, p: Phase) {
        self.done += p.done;
        self.wall += p.wall;
        self.failed += p.failed;
        self.failures.extend(p.failures);
        self.latencies.extend(p.latencies);
        self.capped |= p.capped;
    }
    fn rps(&self) -> f64 {
        self.done as f64 / self.wall.as_secs_f64()
    }
    fn pct(&mut self, p: usize) -> f64 {
        self.latencies.sort();
        let i = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[i].as_secs_f64() * 1e3
    }
}

fn main() {
    // The server: the real receiver router on its own 2-worker runtime.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let host = TestHost::new("", &[("hello", "hello-rust"), ("poll", "poll")]);
    let (addr, host_apps) = server_rt.block_on(async {
        let runtime = host.start().await;
        let apps = runtime.clone();
        runtime
            .install_native("hello-native", Arc::new(NativeHello))
            .unwrap();
        let app = router(runtime, ReceiverConfig::new(SECRET)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (addr, apps)
    });
    let url = format!("http://{addr}/slack/commands");
    let interactivity = format!("http://{addr}/slack/interactivity");
    // The poll the vote phases click on: single choice, four options.
    let poll = server_rt.block_on(async {
        let create = botyard::contract::request::Request::Command(
            botyard::contract::bindings::types::CommandRequest {
                command: "/poll".into(),
                subcommand: None,
                text: r#""Bench?" "A" "B" "C" "D""#.into(),
                context: botyard::contract::bindings::types::InvocationContext {
                    user_id: "UBENCHPOLL".into(),
                    channel_id: "C0BENCH".into(),
                    trigger_id: None,
                },
            },
        );
        host_apps
            .invoke("poll", create)
            .await
            .expect("the bench poll is created");
        let seq = host_apps
            .storage()
            .kv_get("poll", "seq")
            .await
            .unwrap()
            .expect("a poll id");
        String::from_utf8(seq).unwrap()
    });

    // The clients: their own runtime, one shared keep-alive pool.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    client_rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()
            .unwrap();

        let (mut guest, mut native) = (Totals::new(), Totals::new());
        let mut warm_failed = 0;
        for command in ["/hello", "/hello-native"] {
            let p = phase(&client, &url, command, WARM_UP).await;
            warm_failed += p.failed;
            for f in &p.failures {
                println!("  warm-up failure ({command}): {f}");
            }
        }
        println!(
            "signed slash commands over loopback HTTP, keep-alive, {CLIENTS} concurrent clients, \
             server on 2 worker threads; {PER_PHASE} requests per phase, phases guest/native/guest/native \
             after {WARM_UP} warm-up requests each (warm-up failures: {warm_failed})"
        );
        for round in 1..=2 {
            for (command, totals) in [("/hello", &mut guest), ("/hello-native", &mut native)] {
                let p = phase(&client, &url, command, PER_PHASE).await;
                println!(
                    "  round {round} {command:<14} {:6} req in {:6.2} s = {:7.0} req/s{}",
                    p.done,
                    p.wall.as_secs_f64(),
                    p.done as f64 / p.wall.as_secs_f64(),
                    if p.capped { "  (time cap hit)" } else { "" }
                );
                totals.add(p);
            }
        }

        for (label, t) in [("hello guest (wasm)", &mut guest), ("hello native      ", &mut native)] {
            let (p50, p99) = (t.pct(50), t.pct(99));
            println!(
                "  {label}: {:7.0} req/s   p50 {:6.2} ms   p99 {:6.2} ms (target ≤ 5 ms)   failures {}/{}{}",
                t.rps(),
                p50,
                p99,
                t.failed,
                t.done,
                if t.capped { "   (time cap hit: fewer requests than asked)" } else { "" }
            );
            for f in &t.failures {
                println!("    failure: {f}");
            }
        }
        let (g50, g99, n50, n99) = (guest.pct(50), guest.pct(99), native.pct(50), native.pct(99));
        println!(
            "  guest/native: throughput {:.2} (target ≥ 0.6)   p50 {:.2}x   p99 {:.2}x",
            guest.rps() / native.rps(),
            g50 / n50,
            g99 / n99
        );

        // Votes beside /hello: each vote a new voter, committed before its
        // ack, its confirmation POSTed to the response_url stand-in.
        RESPONSE_SINK.set(start_response_sink().await).ok();
        let mut voters = 0;
        let warm = vote_phase(&client, &interactivity, &host_apps, &poll, voters, WARM_UP).await;
        voters += WARM_UP;
        let (mut votes, mut hello) = (Totals::new(), Totals::new());
        for round in 1..=2 {
            let p = phase(&client, &url, "/hello", PER_PHASE).await;
            println!(
                "  round {round} /hello          {:6} req in {:6.2} s = {:7.0} req/s",
                p.done,
                p.wall.as_secs_f64(),
                p.done as f64 / p.wall.as_secs_f64()
            );
            hello.add(p);
            let p = vote_phase(&client, &interactivity, &host_apps, &poll, voters, PER_PHASE).await;
            voters += PER_PHASE;
            println!(
                "  round {round} poll vote       {:6} req in {:6.2} s = {:7.0} req/s{}",
                p.done,
                p.wall.as_secs_f64(),
                p.done as f64 / p.wall.as_secs_f64(),
                if p.capped { "  (time cap hit)" } else { "" }
            );
            votes.add(p);
        }
        let (v50, v99) = (votes.pct(50), votes.pct(99));
        println!(
            "  poll votes (apps/poll, signed block_actions, durable before the ack): {:7.0} votes/s   p50 {v50:6.2} ms   p99 {v99:6.2} ms   failures {}/{} (warm-up failures {})",
            votes.rps(),
            votes.failed,
            votes.done,
            warm.failed
        );
        for f in votes.failures.iter().chain(&warm.failures) {
            println!("    failure: {f}");
        }
        println!(
            "  votes/hello: throughput {:.2} (target ≥ 0.7)",
            votes.rps() / hello.rps()
        );
        // Every acknowledged vote is in the store: one voter line each.
        let acked = (warm.done - warm.failed) + (votes.done - votes.failed);
        let stored = stored_voters(&host_apps, &poll).await;
        println!(
            "  durable: {stored} voters in the poll's store for {acked} acknowledged votes (of {voters} sent){}",
            if stored as usize == acked { "" } else { "   MISMATCH" }
        );

        println!(
            "paced: the same {CLIENTS} connections offered {PACED_RATE:.0} req/s for {} s, twice each, alternating",
            PACED_FOR.as_secs()
        );
        let (mut guest, mut native) = (Totals::new(), Totals::new());
        for _ in 0..2 {
            for (command, totals) in [("/hello", &mut guest), ("/hello-native", &mut native)] {
                totals.add(paced(&client, &url, command).await);
            }
        }
        for (label, t) in [("hello guest (wasm)", &mut guest), ("hello native      ", &mut native)] {
            let (p50, p99) = (t.pct(50), t.pct(99));
            println!(
                "  {label}: p50 {p50:6.2} ms   p99 {p99:6.2} ms (target ≤ 5 ms)   failures {}/{}",
                t.failed, t.done
            );
            for f in &t.failures {
                println!("    failure: {f}");
            }
        }
    });
    // Permission rules: none vs 50, alternating on the same server.
    let (gate, api) = server_rt.block_on(async {
        let apps = host_apps.clone();
        let api = usergroups_stand_in().await;
        apps.runtime()
            .connect_slack(botyard::slack::web_api::WebApi::new(&api, "xoxb-bench"));
        (apps.runtime().gate().clone(), api)
    });
    let fifty = fifty_rules();
    client_rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .tcp_nodelay(true)
            .build()
            .unwrap();
        gate.set_rules(fifty.clone());
        let warm = phase(&client, &url, "/hello", WARM_UP).await;
        assert_eq!(warm.failed, 0, "the group rule lets the bench users in: {:?}", warm.failures);
        let (mut none, mut ruled) = (Totals::new(), Totals::new());
        for round in 1..=2 {
            for (label, rules, totals) in [
                ("no rules", botyard::config::permissions::Permissions::default(), &mut none),
                ("50 rules", fifty.clone(), &mut ruled),
            ] {
                gate.set_rules(rules);
                let p = phase(&client, &url, "/hello", PER_PHASE).await;
                println!(
                    "  round {round} /hello, {label}: {:6} req in {:6.2} s = {:7.0} req/s",
                    p.done,
                    p.wall.as_secs_f64(),
                    p.done as f64 / p.wall.as_secs_f64()
                );
                totals.add(p);
            }
        }
        println!(
            "permission rules (usergroups stand-in at {api}): no rules {:7.0} req/s, 50 rules incl. a user-group rule {:7.0} req/s: ratio {:.3} (target ≥ 0.95)   failures {}/{}",
            none.rps(),
            ruled.rps(),
            ruled.rps() / none.rps(),
            none.failed + ruled.failed,
            none.done + ruled.done
        );
    });
    drop(client_rt);
    drop(server_rt);
    drop(host);
}

/// 49 rules that do not cover `/hello` (other apps, other commands,
/// buttons) and one that does, by user group.
fn fifty_rules() -> botyard::config::permissions::Permissions {
    let mut text = String::from("[permissions]\ngroup_cache_seconds = 60\n");
    for i in 0..49 {
        text.push_str(&format!(
            "[[permissions.rules]]\napp = \"app{i}\"\ncommand = \"/cmd{i} sub\"\nactions = [\"act-*\"]\nusers = [\"U0000{i:02}\"]\n"
        ));
    }
    text.push_str(
        "[[permissions.rules]]\napp = \"hello\"\ncommand = \"/hello\"\ngroups = [\"@bench-users\"]\n",
    );
    let table: toml::Table = toml::from_str(&text).unwrap();
    botyard::config::permissions::Permissions::parse(table.get("permissions").cloned()).unwrap()
}

/// Slack's `usergroups.list` and `usergroups.users.list` as the documented
/// shapes, for one group holding the bench's 32 users; returns its base URL.
async fn usergroups_stand_in() -> String {
    use axum::routing::post;
    let members: Vec<String> = (0..CLIENTS).map(|c| format!("UBENCH{c:02}")).collect();
    let app = axum::Router::new()
        .route(
            "/usergroups.list",
            post(|| async {
                axum::Json(serde_json::json!({"ok": true, "usergroups": [{"id": "S0BENCH", "handle": "bench-users", "name": "Bench"}]}))
            }),
        )
        .route(
            "/usergroups.users.list",
            post(move || {
                let members = members.clone();
                async move { axum::Json(serde_json::json!({"ok": true, "users": members})) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}
