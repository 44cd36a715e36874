//! `cargo bench --bench languages`: the starter app in Rust, JavaScript and
//! Python, side by side —
//! - invocation latency with nothing made ahead (`ready_instances = 0`):
//!   fresh instance + call + drop (the app's own store write included),
//!   back to back, median and p99, and the same end to end with routing and
//!   the audit insert;
//! - request latency with the default two instances made ahead, calls paced
//!   one every 4 ms: what a request waits for when the instance is ready;
//! - load time: a cold compile of the component vs a restart that maps it
//!   from the compiled-component cache;
//! - edit → new version answering: a scaffolded app's greeting changed,
//!   rebuilt from source, reloaded, and answering.
//!
//! Prints figures beside the targets; judged by a human, since these
//! machines are shared and noisy. Arguments narrow it down:
//! `cargo bench --bench languages -- js python --no-edit`.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use botyard::authoring::SourceApp;
use botyard::authoring::rebuild::rebuild;
use botyard::authoring::scaffold::scaffold;
use botyard::build::{BuildOptions, Language};
use botyard::routing::{Apps, CallContext, CommandAnswer};
use botyard::runtime::cache::CodeSource;
use support::{TestHost, guest_component, reply_text};

const CALLS: usize = 2000;
const WARM_UP: usize = 200;
/// Paced calls: one every PACE, with instances made ahead.
const PACED_CALLS: usize = 1000;
const PACE: Duration = Duration::from_millis(4);

/// A starter and what the issue expects of it.
struct Starter {
    name: &'static str,
    starter: &'static str,
    language: Language,
    /// The target for the median invocation, if it sets one.
    target_us: Option<f64>,
}

const LANGUAGES: &[Starter] = &[
    Starter {
        name: "Rust",
        starter: "hello-rust",
        language: Language::Rust,
        target_us: None,
    },
    Starter {
        name: "JavaScript",
        starter: "hello-js",
        language: Language::JavaScript,
        target_us: Some(300.0),
    },
    Starter {
        name: "Python",
        starter: "hello-python",
        language: Language::Python,
        target_us: Some(1000.0),
    },
];

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// (median, p99) of `samples`.
fn spread(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}

/// How many instances the default configuration keeps made ahead for the
/// loaded `hello`, and what making one took at load.
fn made_ahead(runtime: &Apps) -> (usize, Duration) {
    match &runtime.snapshot().app("hello").expect("hello loaded").code {
        botyard::runtime::app::AppCode::Wasm(code) => (code.ready, code.instantiation),
        botyard::runtime::app::AppCode::Native(_) => (0, Duration::ZERO),
    }
}

fn code_source(runtime: &Apps) -> Option<CodeSource> {
    runtime
        .snapshot()
        .app("hello")
        .and_then(|v| v.code_source())
}

/// Latencies of `/hello` calls: inside the runtime and end to end (routing
/// and the audit insert included), and how many found an instance made ahead.
struct Calls {
    inside: (Duration, Duration),
    whole: (Duration, Duration),
    prepared: usize,
    count: usize,
}

/// `count` calls after a warm-up, back to back or one every `pace`.
async fn invocations(runtime: &Apps, count: usize, pace: Option<Duration>) -> Calls {
    let ctx = CallContext {
        user: "UBENCH".into(),
        channel: "CBENCH".into(),
        trigger_id: None,
    };
    let (mut inside, mut whole, mut prepared) = (Vec::new(), Vec::new(), 0);
    let mut due = tokio::time::Instant::now();
    for i in 0..WARM_UP + count {
        if let Some(pace) = pace {
            due += pace;
            tokio::time::sleep_until(due).await;
        }
        let started = Instant::now();
        let answer = runtime.call_command("/hello", &ctx).await.expect("call");
        let took = started.elapsed();
        let CommandAnswer::App { invocation, .. } = answer else {
            panic!("/hello answered help")
        };
        if i >= WARM_UP {
            inside.push(invocation.duration);
            whole.push(took);
            prepared += usize::from(invocation.prepared);
        }
    }
    Calls {
        inside: spread(inside),
        whole: spread(whole),
        prepared,
        count,
    }
}

fn report(what: &str, calls: &Calls, target: &str) {
    println!("  {what}:");
    println!(
        "    in the runtime:           median {:7.1} µs{target}  p99 {:7.1} µs",
        us(calls.inside.0),
        us(calls.inside.1)
    );
    println!(
        "    + routing, audit insert:  median {:7.1} µs  p99 {:7.1} µs",
        us(calls.whole.0),
        us(calls.whole.1)
    );
}

/// Scaffolds `lang`'s starter as app `edit`, builds it, then times a saved
/// edit of its greeting until the new version answers.
async fn edit_to_answer(lang: &Starter, build_dir: &Path) -> Duration {
    let host = TestHost::new("", &[]);
    let runtime = host.start().await;
    let dir = host.data_dir().join("src").join("edit");
    let files = scaffold("edit", lang.language, &dir, build_dir).expect("scaffold");
    let app = SourceApp::from_dir(&dir);
    let opts = BuildOptions {
        data_dir: build_dir.to_path_buf(),
        release: true,
    };
    assert!(rebuild(&runtime, &app, &opts).await, "first build");
    let source = files
        .iter()
        .find(|f| {
            ["lib.rs", "app.js", "app.py"]
                .iter()
                .any(|n| f.ends_with(n))
        })
        .expect("the starter's source file");
    let text = std::fs::read_to_string(source).unwrap();
    let edited = text.replacen("= \"Hello\"", "= \"Howdy\"", 1);
    assert_ne!(edited, text, "the starter's GREETING is \"Hello\"");
    let started = Instant::now();
    std::fs::write(source, edited).unwrap();
    assert!(rebuild(&runtime, &app, &opts).await, "rebuild");
    let reply = reply_text(&runtime, "/edit", "UBENCH")
        .await
        .expect("reply");
    let took = started.elapsed();
    assert!(reply.starts_with("Howdy"), "{reply}");
    took
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let build_dir = support::shared_build_dir();
    println!(
        "starter apps (/hello: store increment + reply with a button), {CALLS} calls each after {WARM_UP} warm-up"
    );
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let edits = !args.iter().any(|a| a == "--no-edit");
    let wanted: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let chosen = LANGUAGES.iter().filter(|lang| {
        wanted.is_empty() || wanted.iter().any(|w| lang.language.name() == w.as_str())
    });
    rt.block_on(async {
        for lang in chosen {
            let component = guest_component(lang.starter);
            let size = std::fs::metadata(&component).unwrap().len();
            let host = TestHost::new("", &[("hello", lang.starter)]).private_compile_cache();
            let on_demand = host.apps_dir().join("hello.toml");
            std::fs::write(&on_demand, "ready_instances = 0\n").unwrap();

            let started = Instant::now();
            let runtime = host.start().await;
            let cold = started.elapsed();
            assert_eq!(code_source(&runtime), Some(CodeSource::Compiled));
            drop(runtime);
            let started = Instant::now();
            let runtime = host.start().await;
            let cached = started.elapsed();
            assert_eq!(code_source(&runtime), Some(CodeSource::Cached));

            let target = lang
                .target_us
                .map(|t| format!(" (target ≤ {t:.0} µs)"))
                .unwrap_or_default();
            println!("{} ({:.1} MB component)", lang.name, size as f64 / 1e6);
            // The measure: nothing made ahead, so each request pays
            // for a fresh instance, the call and the drop; back to back, then
            // paced like the phase after it.
            let back_to_back = invocations(&runtime, CALLS, None).await;
            report(
                "invocation, ready_instances = 0, back to back (instance + call + drop)",
                &back_to_back,
                &target,
            );
            let paced = invocations(&runtime, PACED_CALLS, Some(PACE)).await;
            report(
                &format!(
                    "invocation, ready_instances = 0, one every {} ms",
                    PACE.as_millis()
                ),
                &paced,
                &target,
            );
            drop(runtime);
            std::fs::remove_file(&on_demand).unwrap();
            let runtime = host.start().await;
            // The default: instances made ahead by a background task when
            // making one is costly (decided at load), requests paced so it
            // keeps up (far above any Slack workspace's rate).
            let (ahead, making) = made_ahead(&runtime);
            let ready = invocations(&runtime, PACED_CALLS, Some(PACE)).await;
            report(
                &format!(
                    "request, default ({ahead} made ahead; one takes {} µs), one every {} ms ({} of {} ready)",
                    making.as_micros(),
                    PACE.as_millis(),
                    ready.prepared,
                    ready.count
                ),
                &ready,
                &target,
            );
            println!(
                "  host start with the app: cold compile {:8.1} ms, from cache {:6.1} ms{}",
                ms(cold),
                ms(cached),
                if lang.language == Language::JavaScript {
                    " (target ≤ 100 ms from cache)"
                } else {
                    ""
                }
            );
            if !edits {
                continue;
            }
            let edit = edit_to_answer(lang, &build_dir).await;
            println!(
                "  edit → new version answering: {:.2} s{}",
                edit.as_secs_f64(),
                if lang.language == Language::Rust {
                    " (target ≤ 3 s)"
                } else {
                    ""
                }
            );
        }
    });
}
