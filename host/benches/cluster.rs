//! `cargo bench --bench cluster`: issue 16's figures, in one run on one
//! machine — what three replicas on PostgreSQL cost against one process on
//! SQLite, and how long a killed replica's work waits for another.
//!
//! 1. **Throughput.** One load generator (in this process: Rust, reqwest on
//!    Tokio, every latency recorded) sends the signed `/hello` Slack would
//!    send — the hello-rust starter, which increments the user's count in
//!    the store and answers in the acknowledgement — over
//!    `CLUSTER_CONNECTIONS` (default 24) concurrent keep-alive clients for
//!    `CLUSTER_SECONDS` (default 15) after a 3 s warm-up, client `i` as
//!    user `i % CLUSTER_USERS` (default: one user per client;
//!    `CLUSTER_USERS=1` makes every request update one row, which on
//!    PostgreSQL waits on that row's lock across replicas), against
//!    (a) one `botyard serve` on SQLite (its own data directory, HTTP mode),
//!    alone in a one-data-center fabric so its network path is the
//!    replicas' (a veth and the bridge), then
//!    (b) a 3-replica cluster on PostgreSQL (`support::cluster`, one replica
//!    per data center), requests spread round-robin over the replicas'
//!    `/slack/commands`. Prints req/s, p50 / p99 and errors (transport
//!    errors, non-2xx, or an answer that is not the greeting) for each, and
//!    the ratio cluster / single (targets: ≥ 0.5×, cluster p99 ≤ 50 ms).
//!    Durability is alike: SQLite in WAL with `synchronous=NORMAL`,
//!    PostgreSQL with `fsync` and `synchronous_commit` off — both survive
//!    `kill -9` of botyard, neither fsyncs each commit.
//! 2. **Failover.** `CLUSTER_FAILOVER_ROUNDS` (default 5) rounds on the same
//!    cluster, the replica rotating: `/sleep 4500` (the sleeper test guest,
//!    under its 5 s deadline) goes to replica X only; at Slack's 3 s
//!    deadline X takes it into the inbox, leased to itself, and keeps
//!    running it; once its row shows in the database X gets `kill -9`. The
//!    figure is the time from the kill to **another replica claiming the
//!    inbox row** (its `claimed_replica` changes and `claims` goes up — the
//!    claim is taken just before the work is invoked there), read from the
//!    new claim's `claimed_until` minus the lease, the bench polling every
//!    20 ms. Beside it, kill → the user's answer arriving at the emulator
//!    through `response_url` (the rerun's 4.5 s included). X is started
//!    again between rounds. Prints each round and min / p50 / max (target:
//!    ≤ 15 s; expect about the 10 s lease minus the time X held it before
//!    the kill, plus up to the 1 s takeover poll).
//!
//! The load generator, the emulator, PostgreSQL and the servers share the
//! machine, so read the ratio rather than the absolute rates, and on a
//! busy machine expect noise. Without root (no network namespaces) the
//! data centers fall back to loopback addresses (said on stderr).

#[path = "../../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use botyard::contract::time::{now_ms, now_secs};
use botyard::emulator::{Emulator, EmulatorConfig, HostUrls};
use botyard::inbound::inbox::LEASE;
use botyard::slack::signature;
use support::cluster::{Cluster, Setup};
use support::env_or;
use support::netns::Fabric;

/// The apps both sides run: `(file name, guest)`.
const APPS: &[(&str, &str)] = &[("hello", "hello-rust"), ("sleeper", "sleeper")];

/// The signed slash command of the load, from `user` (its response_url is
/// never used: `/hello` answers in the acknowledgement).
fn body(user: usize) -> String {
    format!(
        "token=t&team_id=T0BENCH&channel_id=C0BENCH&user_id=U0BENCH{user}&command=%2Fhello\
         &text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1%2F2%2F3\
         &trigger_id=1.2.3&api_app_id=A0BENCH"
    )
}

/// What every good answer to `/hello` contains.
const GREETING: &str = "said hello";

const WARM_UP: Duration = Duration::from_secs(3);

/// The slow command of the failover rounds: past Slack's 3 s, within the
/// app's default 5 s deadline.
const SLEEP_MS: u64 = 4500;

fn main() {
    let seconds = env_or("CLUSTER_SECONDS", 15);
    let connections = env_or("CLUSTER_CONNECTIONS", 24) as usize;
    let shape = Shape {
        connections,
        seconds,
        users: env_or("CLUSTER_USERS", connections as u64).max(1) as usize,
    };
    let rounds = env_or("CLUSTER_FAILOVER_ROUNDS", 5) as usize;
    // Built before anything is timed.
    for (_, guest) in APPS {
        support::guest_component(guest);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "signed /hello from {} users, {connections} keep-alive connections, {seconds} s \
             after a {} s warm-up",
            shape.users,
            WARM_UP.as_secs()
        );
        let single = single(&shape).await;
        single.print("1 process, SQLite        ");

        let mut cluster = Cluster::start_all(Setup {
            replicas: 3,
            apps: APPS,
            emulator: EmulatorConfig::default(),
            extra_config: "",
            standby: false,
        })
        .await;
        let urls: Vec<String> = cluster
            .replicas
            .iter()
            .map(|r| format!("{}/slack/commands", r.base_url()))
            .collect();
        let secret = cluster.slack.config().signing_secret.clone();
        let three = load(urls, &secret, &shape).await;
        three.print("3 replicas, PostgreSQL  ");
        let ratio = three.rate() / single.rate();
        println!(
            "  ratio cluster / single  {ratio:.2}×   (target: ≥ 0.5×; cluster p99 {:.1} ms, target ≤ 50 ms)",
            three.percentile(99.0)
        );

        failover(&mut cluster, rounds).await;
    });
}

/// What one load run saw.
struct Outcome {
    /// Latencies of the good answers in the measured window, µs, sorted.
    latencies: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    seconds: f64,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds
    }

    /// The `p`th percentile in ms (nearest rank).
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1] as f64 / 1000.0
    }

    fn print(&self, what: &str) {
        println!(
            "  {what} {:8.0} req/s   p50 {:6.2} ms   p99 {:6.2} ms   max {:7.2} ms   ({} answered, {} errors)",
            self.rate(),
            self.percentile(50.0),
            self.percentile(99.0),
            self.percentile(100.0),
            self.latencies.len(),
            self.errors
        );
        if let Some(e) = &self.first_error {
            println!("    first error: {e}");
        }
    }
}

/// The load: how many clients, for how long, as how many users.
struct Shape {
    connections: usize,
    seconds: u64,
    /// Client `i` is user `i % users`: each user's count is its own row,
    /// so fewer users means more requests waiting on one row's lock.
    users: usize,
}

/// `shape.connections` clients sending the signed `/hello` to `urls` in turn
/// (one counter for all, so requests go round-robin) for the warm-up and
/// then `seconds`; only requests sent and answered inside the measured
/// window count.
async fn load(urls: Vec<String>, secret: &str, shape: &Shape) -> Outcome {
    let Shape {
        connections,
        seconds,
        users,
    } = *shape;
    let urls = Arc::new(urls);
    let next = Arc::new(AtomicUsize::new(0));
    let from = Instant::now() + WARM_UP;
    let until = from + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..connections {
        let body = body(i % users);
        let headers = signature::signed_headers(secret, now_secs(), body.as_bytes());
        // A client each: its own keep-alive connection (one per replica).
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let (urls, next) = (urls.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut first_error = None;
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let url = &urls[next.fetch_add(1, Ordering::Relaxed) % urls.len()];
                let mut request = client
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone());
                for (name, value) in &headers {
                    request = request.header(*name, value.as_str());
                }
                let answer = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.text().await {
                            Ok(text) if status.is_success() && text.contains(GREETING) => Ok(()),
                            Ok(text) => Err(format!("{status}: {text}")),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                let done = Instant::now();
                let counted = sent >= from && done <= until;
                match answer {
                    Ok(()) if counted => latencies.push((done - sent).as_micros() as u64),
                    Ok(()) => {}
                    Err(e) => {
                        if counted {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                        // No busy loop against a server that is down.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut outcome = Outcome {
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
        seconds: seconds as f64,
    };
    for task in tasks {
        let (latencies, errors, first_error) = task.await.unwrap();
        outcome.latencies.extend(latencies);
        outcome.errors += errors;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome.latencies.sort_unstable();
    outcome
}

/// One `botyard serve` on SQLite in a one-data-center fabric, started as
/// the cluster's replicas are (same flags, same logging), under the load.
async fn single(shape: &Shape) -> Outcome {
    let fabric = Fabric::new(1);
    let slack = Emulator::start(EmulatorConfig {
        listen: fabric.host_addr().into(),
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts");
    let dir = tempfile::tempdir().unwrap();
    let (mut server, url) = start_single(&fabric, dir.path(), &slack).await;
    let secret = slack.config().signing_secret.clone();
    let outcome = load(vec![format!("{url}/slack/commands")], &secret, shape).await;
    server.kill().ok();
    server.wait().ok();
    outcome
}

/// Starts `botyard serve` (SQLite, HTTP) over `dir` in the fabric's data
/// center; returns it and its base URL once it answers `/readyz`.
async fn start_single(fabric: &Fabric, dir: &Path, slack: &Emulator) -> (Child, String) {
    let dc = fabric.dc(0);
    std::fs::write(
        dir.join("botyard.toml"),
        format!(
            "[slack]\nmode = \"http\"\nlisten = \"{}:0\"\napi_url = \"{}\"\n",
            dc.addr(),
            slack.base_url()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("apps")).unwrap();
    for (id, guest) in APPS {
        std::fs::copy(
            support::guest_component(guest),
            dir.join(format!("apps/{id}.wasm")),
        )
        .unwrap();
    }
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let mut child = dc
        .command(env!("CARGO_BIN_EXE_botyard"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--config")
        .arg(dir.join("botyard.toml"))
        .arg("--build-dir")
        .arg(support::shared_build_dir())
        .arg("serve")
        .env("SLACK_BOT_TOKEN", &slack.config().bot_token)
        .env("SLACK_SIGNING_SECRET", &slack.config().signing_secret)
        .env("RUST_LOG", "botyard=info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("starting botyard serve");
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap_or_default();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("listening on") && url.starts_with("http://"),
        "botyard serve printed {line:?}\n{}",
        std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
    );
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{url}/readyz"))
        .send()
        .await
        .is_ok_and(|a| a.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "botyard serve never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, url)
}

/// A replica's Request URLs, as the cluster gives them to the emulator.
fn urls_of(base: &str) -> HostUrls {
    HostUrls {
        commands: Some(format!("{base}/slack/commands")),
        events: Some(format!("{base}/slack/events")),
        interactivity: Some(format!("{base}/slack/interactivity")),
    }
}

/// The failover rounds (see the module docs); prints each and the
/// distribution.
async fn failover(cluster: &mut Cluster, rounds: usize) {
    if rounds == 0 {
        return;
    }
    let (db, connection) = tokio_postgres::connect(&cluster.local_url, tokio_postgres::NoTls)
        .await
        .expect("reading the cluster's database");
    tokio::spawn(connection);
    let all: Vec<HostUrls> = cluster
        .replicas
        .iter()
        .map(|r| urls_of(&r.base_url()))
        .collect();
    let lease_ms = LEASE.as_millis() as i64;
    println!(
        "failover: /sleep {SLEEP_MS} leased to replica X (lease {} s), X killed (-9); kill → \
         claimed by another replica, kill → answered through response_url",
        LEASE.as_secs()
    );
    let mut taken = Vec::new();
    let mut answered = Vec::new();
    for round in 0..rounds {
        let x = round % cluster.replicas.len();
        let name = cluster.replicas[x].name.clone();
        let before: i64 = db
            .query_one("SELECT coalesce(max(id), 0)::bigint FROM inbox", &[])
            .await
            .unwrap()
            .get(0);
        cluster.slack.set_hosts(vec![all[x].clone()]);
        let slack = cluster.slack.clone();
        let send = tokio::spawn(async move {
            slack
                .send_slash_command("alice", "general", &format!("/sleep {SLEEP_MS}"))
                .await
        });
        // The row X takes at the deadline, leased to itself.
        let deadline = Instant::now() + Duration::from_secs(15);
        let (id, held_since) = loop {
            let row = db
                .query_opt(
                    "SELECT id, claimed_until::bigint FROM inbox
                     WHERE id > $1 AND app = 'sleeper' AND status = 'pending'
                       AND claimed_replica = $2
                     ORDER BY id LIMIT 1",
                    &[&before, &name],
                )
                .await
                .unwrap();
            if let Some(row) = row {
                break (row.get::<_, i64>(0), row.get::<_, i64>(1) - lease_ms);
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: {name} never took /sleep into the inbox\n{}",
                cluster.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        cluster.slack.set_hosts(all.clone());
        let killed_ms = now_ms() as i64;
        let killed = Instant::now();
        cluster.kill(x);
        let held = killed_ms - held_since;
        // Another replica claims it.
        let deadline = Instant::now() + Duration::from_secs(60);
        let (by, claimed_ms) = loop {
            let row = db
                .query_one(
                    "SELECT coalesce(claimed_replica, ''), claims::bigint, claimed_until::bigint,
                            status
                     FROM inbox WHERE id = $1",
                    &[&id],
                )
                .await
                .unwrap();
            let (by, claims, until, status): (String, i64, i64, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            if claims > 1 && by != name && !by.is_empty() {
                break (by, until - lease_ms);
            }
            assert!(
                status == "pending" && Instant::now() < deadline,
                "round {round}: {name}'s work was not taken over (status {status}, \
                 claimed by {by:?}, {claims} claims)\n{}",
                cluster.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let seen = killed.elapsed();
        let takeover = Duration::from_millis((claimed_ms - killed_ms).max(0) as u64);
        // Its answer reaches the user.
        let killed_us = killed_ms as u64 * 1000;
        let deadline = Instant::now() + Duration::from_secs(30);
        let answer = loop {
            let found = cluster.slack.call_log().into_iter().find(|call| {
                call.method == "response_url"
                    && call.received_micros >= killed_us
                    && call.args["text"].as_str() == Some(&format!("slept {SLEEP_MS}"))
            });
            if let Some(call) = found {
                break Duration::from_micros(call.answered_micros.saturating_sub(killed_us));
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the taken-over /sleep was never answered\n{}",
                cluster.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        // Slack's request to X ended at the deadline or with the kill.
        send.await.unwrap().ok();
        println!(
            "  round {}: {name} held it {:.2} s, killed; claimed by {by} after {:6.2} s \
             (seen by the poll at {:.2} s), answered after {:6.2} s",
            round + 1,
            held as f64 / 1000.0,
            takeover.as_secs_f64(),
            seen.as_secs_f64(),
            answer.as_secs_f64()
        );
        taken.push(takeover);
        answered.push(answer);
        cluster.start(x).await;
    }
    taken.sort();
    answered.sort();
    let summary = |d: &[Duration]| {
        format!(
            "min {:6.2} s   p50 {:6.2} s   max {:6.2} s",
            d[0].as_secs_f64(),
            d[(d.len() - 1) / 2].as_secs_f64(),
            d[d.len() - 1].as_secs_f64()
        )
    };
    if !taken.is_empty() {
        println!(
            "  kill → claimed elsewhere   {}   (target: ≤ 15 s; {} rounds)",
            summary(&taken),
            taken.len()
        );
        println!("  kill → answered            {}", summary(&answered));
    }
}
