//! `cargo bench --bench invoke`: invocation latency of the hello guest beside
//! the same logic as a native handler (same routing, storage and audit log),
//! and hot-reload latency. Prints figures; targets are judged by a human,
//! since these machines are shared and noisy.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use botyard::contract::request::Response;
use botyard::routing::{Apps, CallContext, CommandAnswer, watcher};
use support::{NativeHello, TestHost, guest_component};

struct Stats {
    median: Duration,
    p99: Duration,
}

/// Alternates guest and native calls after a warm-up of both, so both see the
/// same database state (WAL size, page cache) and the same machine noise.
async fn measure_pair(runtime: &Apps, n: usize) -> (Stats, Stats) {
    let ctx = CallContext {
        user: "UBENCH".into(),
        channel: "CBENCH".into(),
        trigger_id: None,
    };
    let mut samples = [Vec::with_capacity(n), Vec::with_capacity(n)];
    for i in 0..2 * (n + n / 2) {
        let line = if i % 2 == 0 {
            "/hello"
        } else {
            "/hello-native"
        };
        let started = Instant::now();
        let answer = runtime
            .call_command(line, &ctx)
            .await
            .expect("benchmark call failed");
        let took = started.elapsed();
        assert!(matches!(answer, CommandAnswer::App { .. }));
        if i >= n {
            samples[i % 2].push(took); // the first n calls warm caches and the WAL up
        }
    }
    let stats = |mut v: Vec<Duration>| {
        v.sort();
        Stats {
            median: v[v.len() / 2],
            p99: v[v.len() * 99 / 100],
        }
    };
    let [wasm, native] = samples;
    (stats(wasm), stats(native))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let host = TestHost::new("", &[("hello", "hello-rust")]);
        let runtime = host.start().await;
        runtime.install_native("hello-native", Arc::new(NativeHello)).unwrap();

        const N: usize = 5000;
        let (wasm, native) = measure_pair(&runtime, N).await;
        println!("invocation latency, {N} calls each (route + fresh instance + call + drop + store + audit):");
        println!("  hello guest (wasm):  median {:7.1} µs   p99 {:7.1} µs", us(wasm.median), us(wasm.p99));
        println!("  hello native:        median {:7.1} µs   p99 {:7.1} µs", us(native.median), us(native.p99));
        println!(
            "  guest/native ratio:  median {:.2}x   sandbox overhead {:.1} µs",
            us(wasm.median) / us(native.median),
            us(wasm.median) - us(native.median)
        );

        let _watch = watcher::watch(runtime.clone()).unwrap();
        let original = std::fs::read(guest_component("hello-rust")).unwrap();
        let at = original.windows(5).position(|w| w == b"Hello").expect("greeting in the hello component");
        let ctx = CallContext { user: "UBENCH".into(), channel: "CBENCH".into(), trigger_id: None };
        let mut reloads = Vec::new();
        for n in 1..=10 {
            let mut bytes = original.clone();
            let marker = format!("H{n:04}");
            bytes[at..at + 5].copy_from_slice(marker.as_bytes());
            let written = Instant::now();
            std::fs::write(host.apps_dir().join("hello.wasm"), &bytes).unwrap();
            loop {
                if let Ok(CommandAnswer::App { invocation, .. }) = runtime.call_command("/hello", &ctx).await
                    && let Response::Command(Some(reply)) = invocation.response
                    && reply.message.text.starts_with(&marker)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            reloads.push(written.elapsed());
        }
        reloads.sort();
        println!("hot reload, 10 replacements (file written → new version answering):");
        println!(
            "  median {:.0} ms   max {:.0} ms   (debounce {} ms included)",
            reloads[reloads.len() / 2].as_secs_f64() * 1e3,
            reloads[reloads.len() - 1].as_secs_f64() * 1e3,
            watcher::DEBOUNCE.as_millis()
        );
    });
}
