//! `cargo bench --bench outbound`: outbound HTTP latency — one request at a
//! time, sequential, over a keep-alive connection — from a Rust guest (the
//! `fetcher` test guest, granted `http`, allow-listed to a loopback server)
//! beside the same request made natively by the host with a reqwest client
//! set up as the capability sets up its own (no redirects followed, botyard's
//! user agent, the app's header, the body read chunk by chunk under a
//! timeout). The server is axum on 127.0.0.1 answering `GET /hello` with
//! `hello`, on a runtime of its own.
//!
//! Three kinds of sample, in phases that alternate (and reverse their order
//! each round) so machine noise hits all of them:
//!
//! - *guest*: `/fetch GET <server>/hello`, the whole invocation as the host
//!   runs it (route, instance, the guest's call into `http`, the request,
//!   the answer, storage and audit commit);
//! - *native*: the request alone, made by the host;
//! - *baseline*: the same invocation with a request the allow-list refuses
//!   before connecting, so what the request itself adds to an invocation
//!   (guest − baseline) can be set beside native.
//!
//! `BENCH_NATIVE_AFTER_INVOCATION=1` makes each native request follow an
//! untimed invocation, so it meets the host's threads in the state a
//! guest's request does (parked between requests, not spinning in a tight
//! loop of requests): the fair "same request made natively by the host".
//!
//! The capability's own time for each request (allow-list, request, body,
//! as the audit log records it) is reported too. Figures are printed beside
//! the target (guest/native median ≤ 1.3×) and judged by a human,
//! since these machines are shared.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use botyard::routing::Apps;
use botyard::storage::Outcome;
use reqwest::header::HeaderValue;
use serde_json::Value;
use support::upstream::Upstream;
use support::{TestHost, reply_text};

/// Requests of each kind before measuring.
const WARM_UP: usize = 500;
/// Requests per measured phase; each kind gets ROUNDS phases.
const PER_PHASE: usize = 500;
const ROUNDS: usize = 6;
/// An address the allow-list does not name (TEST-NET-3): refused before
/// any connection is attempted.
const REFUSED_URL: &str = "http://203.0.113.7/x";

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Guest,
    Native,
    Baseline,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Guest => "guest (wasm, whole /fetch)",
            Kind::Native => "native (host reqwest)     ",
            Kind::Baseline => "baseline (/fetch refused) ",
        }
    }
}

/// The host's own request, made as the `http` capability makes it.
struct Native {
    client: reqwest::Client,
    url: reqwest::Url,
}

impl Native {
    fn new(url: &str) -> Native {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("botyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap();
        Native {
            client,
            url: reqwest::Url::parse(url).unwrap(),
        }
    }

    async fn get(&self) -> Result<(), String> {
        let mut request = reqwest::Request::new(reqwest::Method::GET, self.url.clone());
        request
            .headers_mut()
            .insert("x-app-header", HeaderValue::from_static("from-app"));
        let work = async {
            let mut response = self
                .client
                .execute(request)
                .await
                .map_err(|e| format!("send: {e}"))?;
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| format!("body: {e}"))? {
                body.extend_from_slice(&chunk);
            }
            Ok::<_, String>((status, headers, body))
        };
        let (status, _headers, body) = tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .map_err(|_| "timed out".to_string())??;
        if status == 200 && body == b"hello" {
            Ok(())
        } else {
            Err(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body)
            ))
        }
    }
}

/// `/fetch GET <url>` through the guest, answered with body `expect` (or,
/// when `None`, refused by the allow-list).
async fn fetch(apps: &Apps, url: &str, expect: Option<&str>) -> Result<(), String> {
    let text = reply_text(apps, &format!("/fetch GET {url}"), "UBENCH")
        .await
        .map_err(|e| format!("/fetch: {e}"))?;
    let answer: Value =
        serde_json::from_str(&text).map_err(|e| format!("answer not JSON ({e}): {text}"))?;
    let ok = match expect {
        None => answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("allow-list")),
        Some(body) => {
            answer["status"] == 200 && answer["body"] == body && answer["error"].is_null()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected answer: {answer}"))
    }
}

async fn one(kind: Kind, apps: &Apps, native: &Native, url: &str) -> Result<(), String> {
    match kind {
        Kind::Guest => fetch(apps, url, Some("hello")).await,
        Kind::Native => native.get().await,
        Kind::Baseline => fetch(apps, REFUSED_URL, None).await,
    }
}

struct Stats {
    median: Duration,
    p99: Duration,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut v = samples.to_vec();
    if v.is_empty() {
        v.push(Duration::ZERO); // every request failed; the failures say so
    }
    v.sort();
    Stats {
        median: v[v.len() / 2],
        p99: v[(v.len() * 99 / 100).min(v.len() - 1)],
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // The server answering the requests, on a runtime (and thread) of its own.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let upstream = server_rt.block_on(Upstream::start("127.0.0.1"));
    let base = upstream.url();

    // The host, where the guest's and the native requests are both made.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Thousands of requests a minute: past any fair share, so unlimited.
    let config = format!(
        "[apps.fetcher]\ngrants = [\"http\"]\nhttp_requests_per_minute = 0\n\
         [[apps.fetcher.http.allow]]\nurl = \"{base}/\"\n"
    );
    let host = TestHost::new(&config, &[("fetcher", "fetcher")]);
    rt.block_on(async {
        let apps = host.start().await;
        let native = Native::new(&format!("{base}/hello"));
        let measured_url = format!("{base}/hello");
        // Warm-up requests go to another path, so the audit rows of the
        // measured ones can be told apart.
        let warm_url = format!("{base}/warm");

        let mut warm_failures = 0;
        for i in 0..3 * WARM_UP {
            let result = match i % 3 {
                0 => fetch(&apps, &warm_url, Some("ok")).await,
                1 => native.get().await,
                _ => fetch(&apps, REFUSED_URL, None).await,
            };
            if let Err(e) = result {
                warm_failures += 1;
                if warm_failures <= 3 {
                    println!("  warm-up failure: {e}");
                }
            }
        }

        println!(
            "outbound HTTP latency: sequential single requests (one in flight, keep-alive) to axum on \
             127.0.0.1 answering `hello`; host runtime 2 workers, server 1 worker; {ROUNDS} rounds of \
             {PER_PHASE} requests per kind, phases alternating (order reversed each round), after \
             {WARM_UP} warm-up requests of each kind (warm-up failures: {warm_failures})"
        );
        let kinds = [Kind::Guest, Kind::Native, Kind::Baseline];
        // BENCH_NATIVE_AFTER_INVOCATION=1: each native request follows an
        // (untimed) invocation, so it meets the threads as a guest's does.
        let after_invocation = std::env::var_os("BENCH_NATIVE_AFTER_INVOCATION").is_some();
        if after_invocation {
            println!("  native requests each follow an untimed invocation (BENCH_NATIVE_AFTER_INVOCATION)");
        }
        let mut samples: [Vec<Duration>; 3] = Default::default();
        let mut failures: [Vec<String>; 3] = Default::default();
        for round in 1..=ROUNDS {
            let mut order = kinds;
            if round % 2 == 0 {
                order.reverse();
            }
            let mut line = format!("  round {round}:");
            for kind in order {
                let k = kinds.iter().position(|&x| x == kind).unwrap();
                let mut phase = Vec::with_capacity(PER_PHASE);
                for _ in 0..PER_PHASE {
                    if kind == Kind::Native && after_invocation {
                        // Untimed: the host just did an invocation's worth of
                        // other work, as it has before a guest's request.
                        fetch(&apps, REFUSED_URL, None).await.ok();
                    }
                    let started = Instant::now();
                    // Only answered requests are latencies; failures are counted.
                    match one(kind, &apps, &native, &measured_url).await {
                        Ok(()) => phase.push(started.elapsed()),
                        Err(e) => failures[k].push(e),
                    }
                }
                let s = stats(&phase);
                line += &format!(
                    "  {} median {:6.1} µs",
                    match kind {
                        Kind::Guest => "guest",
                        Kind::Native => "native",
                        Kind::Baseline => "baseline",
                    },
                    us(s.median)
                );
                samples[k].extend(phase);
            }
            println!("{line}");
        }

        let [guest, native_s, baseline] = [&samples[0], &samples[1], &samples[2]].map(|s| stats(s));
        for (kind, s, fails) in [
            (Kind::Guest, &guest, &failures[0]),
            (Kind::Native, &native_s, &failures[1]),
            (Kind::Baseline, &baseline, &failures[2]),
        ] {
            println!(
                "  {}: median {:7.1} µs   p99 {:7.1} µs   failures {}/{}",
                kind.label(),
                us(s.median),
                us(s.p99),
                fails.len(),
                ROUNDS * PER_PHASE
            );
            for f in fails.iter().take(3) {
                println!("    failure: {f}");
            }
        }

        // The capability's own time per measured request, from the audit log.
        let audit = apps
            .storage()
            .audit
            .recent(Some("fetcher"), 1_000_000)
            .await
            .unwrap();
        let capability: Vec<Duration> = audit
            .iter()
            .filter(|r| {
                r.kind == "http"
                    && r.detail.starts_with("GET 127.0.0.1/hello ")
                    && r.outcome == Outcome::Ok
            })
            .map(|r| Duration::from_micros(r.duration_us as u64))
            .collect();
        let cap = stats(&capability);
        println!(
            "  of which the http capability's own time (audit log, {} requests): median {:7.1} µs   p99 {:7.1} µs",
            capability.len(),
            us(cap.median),
            us(cap.p99)
        );

        println!(
            "  guest/native median: {:.2}x (target ≤ 1.3x)   p99 {:.2}x   — whole invocation beside the bare request",
            us(guest.median) / us(native_s.median),
            us(guest.p99) / us(native_s.p99)
        );
        let added = us(guest.median) - us(baseline.median);
        println!(
            "  what the request adds to an invocation (guest − baseline median): {added:.1} µs = {:.2}x native",
            added / us(native_s.median)
        );
        println!(
            "  capability's own time / native median: {:.2}x   fixed invocation cost (baseline median): {:.1} µs",
            us(cap.median) / us(native_s.median),
            us(baseline.median)
        );
    });
    drop(rt);
    drop(upstream);
    drop(server_rt);
    drop(host);
}
