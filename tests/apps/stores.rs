//! The shipped stores app (`apps/stores`, JavaScript) end to end, through
//! the real `botyard serve` and the Slack emulator, against a **real
//! Prometheus** (Debian's `prometheus`, `tests/support/prometheus.rs`)
//! scraping every second a synthetic exporter whose counters the test
//! sets: orders per store (lisbon fastest, then berlin, paris, oslo),
//! visitors and checkouts. The app reaches Prometheus through the host's
//! `http` capability, allowed by a rule naming its loopback address.
//!
//! What the app answers is compared with what Prometheus itself says, asked
//! directly by the test — never taken on the app's word.

use std::time::{Duration, Instant};

use botyard::emulator::{Emulator, EmulatorConfig, Message};
use serde_json::Value;
use tokio::time::timeout;

use crate::support::prometheus::{Exporter, Prometheus};
use crate::support::serve::{Mode, Served, serve_in, setup_dir, wait_for};

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(60);

/// Orders per second per store, fastest first.
const STORES: [(&str, f64); 4] = [
    ("lisbon", 40.0),
    ("berlin", 20.0),
    ("paris", 8.0),
    ("oslo", 2.0),
];

struct World {
    slack: Emulator,
    exporter: Exporter,
    prometheus: Prometheus,
    _served: Served,
    _dir: tempfile::TempDir,
}

/// The exporter with every store selling, Prometheus scraping it, and
/// `botyard serve` running the app with `settings` (TOML lines) added to
/// the ones pointing it at Prometheus.
async fn world(settings: &str) -> World {
    let exporter = Exporter::start().await;
    for (store, per_second) in STORES {
        exporter.set_rate("shop_orders_total", &[("store", store)], per_second);
    }
    exporter.set_rate("shop_visitors_total", &[], 10.0);
    exporter.set_rate("shop_checkouts_total", &[], 5.0);
    let prometheus = Prometheus::start(&[&exporter.target]).await;
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = setup_dir(&slack, Mode::Http, &[("stores", "stores")]);
    let base = std::fs::read_to_string(dir.path().join("botyard.toml")).unwrap();
    let app = format!(
        "\n[apps.stores]\n\
         grants = [\"clock\", \"settings\", \"http\"]\n\
         deadline_ms = 10000\n\
         \n\
         [[apps.stores.http.allow]]\nurl = \"{url}/api/v1/\"\n\
         \n\
         [apps.stores.settings]\n\
         prometheus_url = \"{url}\"\n\
         timeout_ms = 3000\n\
         {settings}\n",
        url = prometheus.url,
    );
    std::fs::write(dir.path().join("botyard.toml"), base + &app).unwrap();
    let served = serve_in(Mode::Http, dir.path(), &slack, BOUND).await;
    World {
        slack,
        exporter,
        prometheus,
        _served: served,
        _dir: dir,
    }
}

impl World {
    /// `user` types `line` in #general; the app's answer to them (the
    /// ephemeral reply, however it arrived): its text and its blocks' text.
    async fn command(&self, line: &str) -> String {
        let before = self.ephemerals().len();
        let answer = timeout(
            BOUND,
            self.slack.send_slash_command("alice", "general", line),
        )
        .await
        .unwrap_or_else(|_| panic!("{line} answered in time"))
        .unwrap_or_else(|e| panic!("{line} delivered: {e}"));
        assert_eq!(answer.status, 200, "{line}: {}", answer.body);
        wait_for(&format!("the answer to {line}"), BOUND, || {
            self.ephemerals().len() > before
        })
        .await;
        let replies = self.ephemerals();
        assert_eq!(
            replies.len(),
            before + 1,
            "one answer to {line}: {replies:?}"
        );
        let reply = &replies[before];
        let mut text = reply.text.clone();
        if let Some(blocks) = &reply.blocks {
            text.push('\n');
            block_texts(blocks, &mut text);
        }
        text
    }

    /// What only alice sees in #general, oldest first.
    fn ephemerals(&self) -> Vec<Message> {
        let id = self.slack.user_id("alice").unwrap();
        self.slack
            .visible_to("alice", "general")
            .into_iter()
            .filter(|m| m.ephemeral_to.as_deref() == Some(id.as_str()))
            .collect()
    }

    /// Waits until Prometheus holds at least `samples` scrapes of the
    /// visitors counter within the last minute.
    async fn samples(&self, samples: usize) {
        let started = Instant::now();
        loop {
            let seen = self
                .prometheus
                .query("count_over_time(shop_visitors_total[1m])")
                .await
                .ok()
                .and_then(|d| d["result"][0]["value"][1].as_str().map(str::to_string))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            if seen >= samples as f64 {
                return;
            }
            assert!(
                started.elapsed() < BOUND,
                "Prometheus has {seen} samples, not {samples}:\n{}",
                self.prometheus.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Every text a message's blocks show, one per line (sections, their
/// fields, context elements).
fn block_texts(blocks: &Value, out: &mut String) {
    for block in blocks.as_array().into_iter().flatten() {
        if let Some(t) = block["text"]["text"].as_str() {
            out.push_str(t);
            out.push('\n');
        }
        for element in block["elements"].as_array().into_iter().flatten() {
            if let Some(t) = element["text"].as_str() {
                out.push_str(t);
                out.push('\n');
            }
        }
    }
}

/// The top list's rows as the app drew them: `(rank, store, value)` from
/// lines ` 1. lisbon   ████  253`.
fn top_rows(reply: &str) -> Vec<(usize, String, f64)> {
    reply
        .lines()
        .filter_map(|line| {
            let (rank, rest) = line.trim_start().split_once(". ")?;
            let rank = rank.parse().ok()?;
            let store = rest.split_whitespace().next()?.to_string();
            // The value: after the bar (block characters), thousands
            // grouped with spaces.
            let value: String = rest[store.len()..]
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            Some((rank, store, value.parse().ok()?))
        })
        .collect()
}

/// The chart of a traffic or checkouts reply: its sparkline, and min, max
/// and last.
fn chart(reply: &str) -> (String, [f64; 3]) {
    let lines: Vec<&str> = reply.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("min "))
        .unwrap_or_else(|| panic!("no min/max/last line in {reply}"));
    let numbers: Vec<f64> = lines[at]
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 3, "min, max and last in {}", lines[at]);
    (
        lines[at - 1].to_string(),
        [numbers[0], numbers[1], numbers[2]],
    )
}

fn within(value: f64, expected: f64, tolerance: f64) -> bool {
    (value - expected).abs() <= expected * tolerance
}

/// `/spy stores top 3 1m` ranks lisbon, berlin, paris as Prometheus does,
/// with the values Prometheus gives for the same query; `/spy traffic 5m`
/// and `/spy checkouts 5m` chart the visitors' and checkouts' rates, with
/// a sparkline over the window and the last value near what the exporter
/// is doing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_stores_traffic_and_checkouts_from_a_real_prometheus() {
    // Traffic as an operator may set it: `irate`, from the last two
    // scrapes, so each point is what the exporter was doing then.
    // Checkouts keep the default query.
    let w = world("traffic = \"sum(irate(shop_visitors_total[$rate]))\"").await;
    // A few seconds of sales.
    w.samples(5).await;

    let reply = w.command("/spy stores top 3 1m").await;
    let truth = w
        .prometheus
        .vector("sum by (store) (increase(shop_orders_total[1m]))", "store")
        .await;
    assert!(reply.contains("*Top 3 stores* · last 1m"), "{reply}");
    assert!(
        reply.contains("`topk(3, sum by (store) (increase(shop_orders_total[1m])))`"),
        "{reply}"
    );
    let rows = top_rows(&reply);
    let order: Vec<(usize, &str)> = rows.iter().map(|(r, s, _)| (*r, s.as_str())).collect();
    assert_eq!(
        order,
        [(1, "lisbon"), (2, "berlin"), (3, "paris")],
        "{reply}"
    );
    assert!(!reply.contains("oslo"), "oslo is fourth: {reply}");
    // The values are Prometheus's (asked a moment later: a scrape or two
    // more), and as far apart as the stores' rates.
    for (_, store, value) in &rows {
        let expected = truth[store];
        assert!(
            within(*value, expected, 0.25),
            "{store}: the app says {value}, Prometheus {expected}\n{reply}"
        );
        let sold = w.exporter.value("shop_orders_total", &[("store", store)]);
        assert!(
            *value > 0.0 && *value <= sold * 1.2,
            "{store}: {value} orders in a minute, of {sold} ever\n{reply}"
        );
    }
    let ratio = rows[0].2 / rows[1].2;
    assert!(
        (1.5..=2.5).contains(&ratio),
        "lisbon sells twice what berlin does: {rows:?}"
    );

    // Visitors pick up, from 10 to 50 a second, 10 s into the data: the
    // chart's points (one every 10 s) show both.
    w.samples(10).await;
    w.exporter.set_rate("shop_visitors_total", &[], 50.0);
    w.samples(24).await;
    let reply = w.command("/spy traffic 5m").await;
    assert!(reply.contains("*Traffic* · last 5m"), "{reply}");
    assert!(reply.contains("UTC, a point every 10s"), "{reply}");
    assert!(
        reply.contains("`sum(irate(shop_visitors_total[1m]))`"),
        "{reply}"
    );
    let (line, [min, max, last]) = chart(&reply);
    assert_eq!(line.chars().count(), 31, "31 points over 5m: {line:?}");
    let drawn = line.chars().filter(|c| "▁▂▃▄▅▆▇█".contains(*c)).count();
    assert!(
        drawn >= 3,
        "a point per 10 s with samples: {line:?}\n{reply}"
    );
    assert_eq!(
        drawn + line.chars().filter(|c| *c == ' ').count(),
        31,
        "{line:?}"
    );
    assert!(
        line.ends_with('█'),
        "the last point is the highest: {line:?}"
    );
    assert!(
        within(min, 10.0, 0.2) && within(max, 50.0, 0.2) && within(last, 50.0, 0.2),
        "visitors/s went from 10 to 50: min {min} max {max} last {last}\n{reply}"
    );
    assert!(reply.contains("Traffic, last 5m: last "), "{reply}");

    // Checkouts with the default query: `rate` over a minute, as
    // Prometheus computes it for the same query (asked a moment later).
    let reply = w.command("/spy checkouts 5m").await;
    let truth = w
        .prometheus
        .vector("sum(rate(shop_checkouts_total[1m]))", "")
        .await[""];
    assert!(reply.contains("*Checkouts* · last 5m"), "{reply}");
    assert!(
        reply.contains("`sum(rate(shop_checkouts_total[1m]))`"),
        "{reply}"
    );
    let (_, [_, _, last]) = chart(&reply);
    assert!(
        last > 0.0 && within(last, truth, 0.25),
        "the app says {last} checkouts/s, Prometheus {truth}\n{reply}"
    );
}

/// A query Prometheus cannot parse is answered with Prometheus's own error
/// text (the same it gives the test); one that matches nothing is said so;
/// and once Prometheus is stopped the app says it does not answer, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_errors_in_its_own_words_and_a_stopped_prometheus() {
    let mut w = world(
        "checkouts = \"sum(rate(shop_checkouts_total[$rate])\"\n\
         traffic = \"sum(rate(shop_nothing_total[$rate]))\"",
    )
    .await;
    w.samples(3).await;

    let reply = w.command("/spy stores top 2 1m").await;
    let order: Vec<String> = top_rows(&reply).into_iter().map(|(_, s, _)| s).collect();
    assert_eq!(order, ["lisbon", "berlin"], "{reply}");

    let reply = w.command("/spy checkouts 5m").await;
    // Prometheus's words for the same range query, asked directly.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (start, end) = ((now - 300).to_string(), now.to_string());
    let said = w
        .prometheus
        .api(
            "query_range",
            &[
                ("query", "sum(rate(shop_checkouts_total[1m])"),
                ("start", &start),
                ("end", &end),
                ("step", "10"),
            ],
        )
        .await
        .expect_err("Prometheus refuses the query");
    assert!(said.contains("parse error"), "{said}");
    assert!(reply.contains("Prometheus refused the query"), "{reply}");
    assert!(reply.contains("`bad_data`"), "{reply}");
    assert!(
        reply.contains(&said),
        "Prometheus said {said:?}; the app:\n{reply}"
    );
    assert!(reply.contains("check the `checkouts` setting"), "{reply}");

    let reply = w.command("/spy traffic 5m").await;
    assert!(
        reply.contains("No data for the last 5m: the `traffic` query matched nothing."),
        "{reply}"
    );

    let url = w.prometheus.url.clone();
    w.prometheus.stop();
    let started = Instant::now();
    let reply = w.command("/spy stores top").await;
    assert!(
        reply.contains(&format!("Prometheus at {url} did not answer")),
        "{reply}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused connection is reported at once: {:?}",
        started.elapsed()
    );
}
