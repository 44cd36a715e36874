//! `cargo bench --bench serve`: `botyard serve` as a user runs it — its own
//! process, HTTP mode, the hello-rust starter — under `wrk` (32 keep-alive
//! connections, 10 s) sending the signed `/hello` Slack would send. The
//! Slack Web API it checks its token against at start-up is the emulator.
//! Prints throughput and wrk's latency distribution (p50, p90, p99).
//!
//! `BOTYARD_BIN=/path/to/botyard` measures another build of botyard (for a
//! before/after comparison in one sitting); `-- --bolt` then measures
//! Slack's Bolt for JavaScript answering the same signed command (installed
//! from npm into the target directory on first use; it keeps nothing, where
//! botyard stores a count and an audit row durably before it answers).
//! `WRK_SECONDS` and `WRK_CONNECTIONS` change the load. wrk is installed
//! from Debian on first use.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use botyard::contract::time::now_secs;
use botyard::emulator::{Emulator, EmulatorConfig};
use botyard::slack::signature;
use support::{env_or, install_once};

const SECRET: &str = "wrk-bench-signing-secret";

fn main() {
    let seconds = env_or("WRK_SECONDS", 10);
    let connections = env_or("WRK_CONNECTIONS", 32);
    let binary =
        std::env::var("BOTYARD_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_botyard").to_string());
    let wrk = install_once("wrk", || {
        let path = PathBuf::from("/usr/bin/wrk");
        path.exists().then_some(path)
    });
    let dir = tempfile::tempdir().unwrap();
    let script = wrk_script(dir.path());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let slack = rt
        .block_on(Emulator::start(EmulatorConfig::default()))
        .expect("the emulator starts");
    let (mut server, url) = start_botyard(&binary, dir.path(), &slack);
    let report = measure(
        &wrk,
        &script,
        &format!("{url}/slack/commands"),
        seconds,
        connections,
    );
    server.kill().ok();
    server.wait().ok();
    print_report(
        &format!("botyard serve ({binary})"),
        &report,
        seconds,
        connections,
    );

    if std::env::args().any(|a| a == "--bolt") {
        let (mut bolt, url) = start_bolt(&slack);
        let report = measure(
            &wrk,
            &script,
            &format!("{url}/slack/events"),
            seconds,
            connections,
        );
        bolt.kill().ok();
        bolt.wait().ok();
        print_report(
            "Bolt for JavaScript, no storage",
            &report,
            seconds,
            connections,
        );
    }
}

/// `botyard serve` over a fresh directory with the hello-rust starter as
/// `hello`; returns it and its base URL.
fn start_botyard(binary: &str, dir: &Path, slack: &Emulator) -> (Child, String) {
    std::fs::write(
        dir.join("botyard.toml"),
        format!(
            "[slack]\nmode = \"http\"\nlisten = \"127.0.0.1:0\"\napi_url = \"{}\"\n",
            slack.base_url()
        ),
    )
    .unwrap();
    let apps = dir.join(".botyard/apps");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::copy(
        support::guest_component("hello-rust"),
        apps.join("hello.wasm"),
    )
    .unwrap();
    let mut child = Command::new(binary)
        .arg("serve")
        .arg("--build-dir")
        .arg(support::shared_build_dir())
        .current_dir(dir)
        .env("SLACK_BOT_TOKEN", &slack.config().bot_token)
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env("BOTYARD_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    let url = first_url(&mut child, "botyard serve");
    (child, url)
}

/// The `http://127.0.0.1:PORT` at the end of the child's first line.
fn first_url(child: &mut Child, what: &str) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "{what} printed {line:?}"
    );
    url
}

/// The wrk script: one signed slash command, replayed (the signature holds
/// for five minutes), and a summary line wrk prints at the end.
fn wrk_script(dir: &Path) -> PathBuf {
    let body = "token=t&team_id=T0BENCH&channel_id=C0BENCH&user_id=U0BENCH&command=%2Fhello\
                &text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1%2F2%2F3\
                &trigger_id=1.2.3&api_app_id=A0BENCH";
    let mut script = String::from("wrk.method = \"POST\"\n");
    script.push_str(&format!("wrk.body = {body:?}\n"));
    script.push_str("wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n");
    for (name, value) in signature::signed_headers(SECRET, now_secs(), body.as_bytes()) {
        script.push_str(&format!("wrk.headers[{name:?}] = {value:?}\n"));
    }
    script.push_str(
        "done = function(summary, latency, requests)\n\
         io.write(string.format(\"RESULT requests=%d errors=%d non2xx=%d seconds=%.3f p50=%d p90=%d p99=%d max=%d\\n\",\n\
           summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,\n\
           summary.errors.status, summary.duration / 1e6,\n\
           latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))\n\
         end\n",
    );
    let path = dir.join("hello.lua");
    std::fs::write(&path, script).unwrap();
    path
}

/// wrk's summary for `seconds` at `url`, after a two-second warm-up.
fn measure(wrk: &Path, script: &Path, url: &str, seconds: u64, connections: u64) -> String {
    let run = |secs: u64| {
        let out = Command::new(wrk)
            .args([
                "-t2",
                &format!("-c{connections}"),
                &format!("-d{secs}s"),
                "--latency",
                "-s",
            ])
            .arg(script)
            .arg(url)
            .output()
            .expect("running wrk");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(2);
    std::thread::sleep(Duration::from_millis(500));
    run(seconds)
}

fn print_report(what: &str, report: &str, seconds: u64, connections: u64) {
    let result = report
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("wrk printed no result:\n{report}"));
    let field = |name: &str| -> f64 {
        result
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let ms = |us: f64| us / 1000.0;
    println!("{what} under wrk: signed /hello, {connections} connections, {seconds} s");
    println!(
        "  throughput {:8.0} req/s   ({} requests, {} socket errors, {} non-2xx)",
        field("requests") / field("seconds"),
        field("requests"),
        field("errors"),
        field("non2xx")
    );
    println!(
        "  latency    p50 {:6.2} ms   p90 {:6.2} ms   p99 {:6.2} ms   max {:7.2} ms   (target: p99 ≤ 10 ms)",
        ms(field("p50")),
        ms(field("p90")),
        ms(field("p99")),
        ms(field("max"))
    );
    assert_eq!(field("non2xx"), 0.0, "every request was answered 2xx");
}

/// Bolt for JavaScript answering `/hello` on its HTTP receiver with the
/// same signing secret (its `auth.test` answered by the emulator, as
/// botyard's is); returns it and its base URL.
fn start_bolt(slack: &Emulator) -> (Child, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bolt-bench");
    std::fs::create_dir_all(&dir).unwrap();
    if !dir.join("node_modules/@slack/bolt").is_dir() {
        eprintln!("installing @slack/bolt from npm (once)…");
        let ok = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "@slack/bolt@4"])
            .current_dir(&dir)
            .status()
            .expect("running npm")
            .success();
        assert!(ok, "npm install @slack/bolt failed");
    }
    std::fs::write(
        dir.join("app.js"),
        r#"const { App } = require("@slack/bolt");
const app = new App({
  signingSecret: process.env.SECRET,
  token: process.env.TOKEN,
  clientOptions: { slackApiUrl: process.env.API_URL },
  logLevel: "error",
});
app.command("/hello", async ({ ack, command }) => {
  await ack({ response_type: "in_channel", text: `Hello, <@${command.user_id}>!` });
});
(async () => {
  const server = await app.start(0);
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
})();
"#,
    )
    .unwrap();
    let mut child = Command::new("node")
        .arg("app.js")
        .current_dir(&dir)
        .env("SECRET", SECRET)
        .env("TOKEN", &slack.config().bot_token)
        .env("API_URL", slack.base_url())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting node");
    let url = first_url(&mut child, "Bolt");
    (child, url)
}
