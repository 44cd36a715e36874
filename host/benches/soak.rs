//! `cargo bench -p botyard --bench soak`: the chaos scenarios of
//! `tests/chaos.rs`, run for half an hour instead of a minute or two.
//!
//! Three replicas, each in its own network namespace, on a PostgreSQL
//! primary with a synchronous standby, under the tests' steady load
//! (commands, events, clicks, 50 schedules every 5 s). Every two minutes
//! the same cycle of faults: a replica `kill -9`'d and restarted, another
//! paused past its leases, a data center cut off for 30 s, a new app
//! version published; half-way through, the PostgreSQL primary is killed
//! and the standby promoted (once: there is no second standby). At the end
//! the tests' checker runs over the whole run — every acknowledged
//! command, event, click and due time done exactly once — and the figures
//! are printed: what was acknowledged, the longest time without an
//! acknowledged command, and how long acknowledged events waited for their
//! reply (p50 / p99 / max).
//!
//! `SOAK_MINUTES` (default 30) sets the length. Needs root for the
//! namespaces (it falls back to loopback addresses and says so), and
//! installs PostgreSQL and iptables from Debian on first use, as the tests
//! do. A failed check panics with the replicas' logs.

// The scenarios and their checker live with the tests.
#[allow(dead_code, unused_imports)]
#[path = "../../tests/chaos.rs"]
mod chaos;
// What that file uses as `crate::support`, as in the test suite.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chaos::{Fault, Run, under_load};

/// One cycle of faults, two minutes long.
fn cycle() -> Vec<(Duration, Fault)> {
    let s = Duration::from_secs;
    vec![
        (s(20), Fault::Kill(0)),
        (s(10), Fault::Pause(1, s(16))),
        (s(10), Fault::Cut(2, s(30))),
        (s(10), Fault::Publish),
        (s(23), Fault::Quiet),
    ]
}

fn main() {
    let minutes: u64 = std::env::var("SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30);
    let cycles = (minutes / 2).max(1) as usize;
    let mut timeline = Vec::new();
    for n in 0..cycles {
        timeline.extend(cycle());
        if n + 1 == cycles.div_ceil(2) {
            timeline.push((Duration::from_secs(10), Fault::FailOver));
        }
    }
    println!(
        "soak: {cycles} cycles of kill -9 / SIGSTOP / cut / publish, one PostgreSQL failover, \
         ~{minutes} min"
    );
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime");
    let Run {
        summary,
        outage,
        delays,
        published,
        ..
    } = runtime.block_on(under_load(&timeline));
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize];
    println!("soak passed after {:.1?}", started.elapsed());
    println!("  {summary}");
    println!("  longest time without an acknowledged command: {outage:.1?}");
    println!(
        "  acknowledged events' reply after acknowledgement: p50 {:.1?}, p99 {:.1?}, max {:.1?} ({} events)",
        at(0.5),
        at(0.99),
        at(1.0),
        delays.len()
    );
    println!("  versions published: {}", published.len());
}
