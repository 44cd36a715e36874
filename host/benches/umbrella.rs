//! `cargo bench --bench umbrella`: what `/spy <area> <verb>` costs with 120
//! subcommands from 20 apps against the same command with one app's six —
//! the routing table's lookup alone, and the whole call (route, invoke,
//! commit) to the same app — as ratios measured side by side in one run
//! (target ≤ 1.05× for the call); and, for scale, calls spread over all
//! twenty apps. Prints figures; these machines are shared and noisy.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use botyard::routing::{Apps, CallContext, CommandAnswer};
use support::spygen::host;

const ROUNDS: usize = 3_000;
const LOOKUPS: usize = 200_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() * 99 / 100]
}

/// The routing table alone: `resolve` of lines spread over every app's
/// area (one app: its own), alternating the two tables in batches.
fn lookups(one: &Apps, twenty: &Apps) -> (Duration, Duration) {
    let (one, twenty) = (one.snapshot(), twenty.snapshot());
    let lines: Vec<String> = (0..20)
        .map(|i| format!("/spy gen{i:02} status web-{i} east"))
        .collect();
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..40 {
        for (which, routes) in [(0, &one.routes), (1, &twenty.routes)] {
            let started = Instant::now();
            for i in 0..LOOKUPS / 40 {
                let line = if which == 0 {
                    &lines[0]
                } else {
                    &lines[i % 20]
                };
                std::hint::black_box(routes.resolve(std::hint::black_box(line)).unwrap());
            }
            if round >= 4 {
                times[which].push(started.elapsed() / (LOOKUPS / 40) as u32);
            }
        }
    }
    let [a, b] = times;
    (median(a), median(b))
}

/// The whole call, in turns after a warm-up: the one-app host calling its
/// app; the twenty-app host calling the same app (what the table's size
/// costs a call); and the twenty-app host calling each app in turn (what
/// spreading calls over twenty apps costs — each app's own instances and
/// compiled code, not routing).
async fn calls(one: &Arc<Apps>, twenty: &Arc<Apps>) -> [[Duration; 2]; 3] {
    let ctx = CallContext {
        user: "UBENCH".into(),
        channel: "CBENCH".into(),
        trigger_id: None,
    };
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for i in 0..3 * (ROUNDS + ROUNDS / 5) {
        let which = i % 3;
        let (apps, area) = match which {
            0 => (one, 0),
            1 => (twenty, 0),
            _ => (twenty, (i / 3) % 20),
        };
        let line = format!("/spy gen{area:02} status web-1 east");
        let started = Instant::now();
        let answer = apps.call_command(&line, &ctx).await.expect("call failed");
        let took = started.elapsed();
        assert!(matches!(answer, CommandAnswer::App { .. }));
        if i >= 3 * (ROUNDS / 5) {
            samples[which].push(took);
        }
    }
    samples.map(|v| [median(v.clone()), p99(v)])
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (_g1, one_host) = host(1, "");
    let (_g20, twenty_host) = host(20, "");
    let one = one_host.start().await;
    let twenty = twenty_host.start().await;
    assert_eq!(one.snapshot().routes.subcommands("/spy").len(), 6);
    assert_eq!(twenty.snapshot().routes.subcommands("/spy").len(), 120);

    let (lookup_one, lookup_twenty) = lookups(&one, &twenty);
    println!(
        "routing table lookup: 1 app / 6 subcommands {:.0} ns, 20 apps / 120 subcommands {:.0} ns — ratio {:.2}×",
        lookup_one.as_nanos() as f64,
        lookup_twenty.as_nanos() as f64,
        lookup_twenty.as_secs_f64() / lookup_one.as_secs_f64()
    );
    let [[m1, p1], [m20, p20], [spread, spread_p99]] = calls(&one, &twenty).await;
    println!(
        "whole call (route, invoke, commit), median: 1 app {:.0} µs, the same app among 20 {:.0} µs — ratio {:.3}× (target ≤ 1.05×); p99 {:.0} µs vs {:.0} µs",
        us(m1),
        us(m20),
        m20.as_secs_f64() / m1.as_secs_f64(),
        us(p1),
        us(p20)
    );
    println!(
        "calls spread over the 20 apps: median {:.0} µs ({:.2}× the one-app call), p99 {:.0} µs — each app's own instances and code, not routing",
        us(spread),
        spread.as_secs_f64() / m1.as_secs_f64(),
        us(spread_p99)
    );
}
