//! Secrets the operator gives the host stay with the host (issue 11): a
//! credential injected into an app's outbound request reaches the server
//! while the app that made the request never sees it, and no secret —
//! injected header, basic-auth password, GitHub webhook secret, webhook
//! basic-auth password — shows up in the logs (at `trace`), the audit log,
//! the raw bytes of the data directory, `botyard apps --json` or anything
//! the workbench API serves.
//!
//! Real processes on loopback: `botyard dev` over a fresh data directory
//! running the `fetcher` and `hooks` test guests, the secrets given to it
//! only as environment variables that `botyard.toml` references. Each place
//! searched is also checked to hold what it should (the apps, the upstream,
//! the deliveries), so an empty search cannot pass.

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::serve::wait_for;
use crate::support::upstream::Upstream;
use base64::Engine;
use botyard::storage::Storage;
use serde_json::{Value, json};

const BOUND: Duration = Duration::from_secs(30);
/// `botyard dev` may compile both components first (a cold cache).
const STARTUP: Duration = Duration::from_secs(180);
/// The most verbose filter: every crate at `trace`.
const LOG: &str = "trace";

const BEARER_VAR: &str = "BOTYARD_SECRETS_TEST_BEARER";
const BASIC_VAR: &str = "BOTYARD_SECRETS_TEST_BASIC_PASSWORD";
const GITHUB_VAR: &str = "BOTYARD_SECRETS_TEST_GITHUB_SECRET";
const ALERTS_VAR: &str = "BOTYARD_SECRETS_TEST_ALERTS_PASSWORD";

/// A distinctive value no run has seen before: `sekrit-<what>-<32 hex>`.
fn fresh_secret(what: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut hex = String::new();
    for round in 0..2u8 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u32(std::process::id());
        hasher.write(what.as_bytes());
        hasher.write_u8(round);
        hex.push_str(&format!("{:016x}", hasher.finish()));
    }
    format!("sekrit-{what}-{hex}")
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The secrets of one run, and every form one could leak in.
struct Secrets {
    bearer: String,
    basic: String,
    github: String,
    alerts: String,
}

impl Secrets {
    fn fresh() -> Secrets {
        Secrets {
            bearer: fresh_secret("bearer"),
            basic: fresh_secret("basic"),
            github: fresh_secret("github"),
            alerts: fresh_secret("alerts"),
        }
    }

    /// The variables `botyard.toml` references, for each botyard process.
    fn env(&self) -> [(&'static str, &str); 4] {
        [
            (BEARER_VAR, &self.bearer),
            (BASIC_VAR, &self.basic),
            (GITHUB_VAR, &self.github),
            (ALERTS_VAR, &self.alerts),
        ]
    }

    /// What must appear nowhere: each value, and the basic-auth passwords
    /// as they travel (base64 of `user:password`).
    fn forms(&self) -> Vec<(String, String)> {
        vec![
            ("the injected bearer token".into(), self.bearer.clone()),
            ("the injected basic password".into(), self.basic.clone()),
            (
                "the injected basic credentials, base64".into(),
                base64(&format!("bot:{}", self.basic)),
            ),
            ("the GitHub webhook secret".into(), self.github.clone()),
            ("the alerts webhook password".into(), self.alerts.clone()),
            (
                "the alerts basic credentials, base64".into(),
                base64(&format!("alertmanager:{}", self.alerts)),
            ),
        ]
    }
}

/// `fetcher` reaches `bearer` with a bearer token and `basic` with basic
/// auth, both added by the host, and `plain` with nothing added; `hooks`
/// has a GitHub-signed and a basic-auth webhook. Every secret is a reference.
fn config(bearer: &Upstream, basic: &Upstream, plain: &Upstream) -> String {
    format!(
        r#"
[apps.fetcher]
grants = ["http"]

[[apps.fetcher.http.allow]]
url = "{bearer}/"
headers = {{ Authorization = "Bearer ${{env:{BEARER_VAR}}}" }}

[[apps.fetcher.http.allow]]
url = "{basic}/"
basic = {{ user = "bot", password = "${{env:{BASIC_VAR}}}" }}

[[apps.fetcher.http.allow]]
url = "{plain}/"

[apps.hooks]
grants = ["slack", "store", "settings", "clock"]

[apps.hooks.settings]
channel = "general"

[apps.hooks.webhooks.github]
verify = "github"
secret = "${{env:{GITHUB_VAR}}}"

[apps.hooks.webhooks.alerts]
verify = "basic"
username = "alertmanager"
password = "${{env:{ALERTS_VAR}}}"
"#,
        bearer = bearer.url(),
        basic = basic.url(),
        plain = plain.url(),
    )
}

/// A `botyard` command over the test's data directory and configuration,
/// its working directory the data directory (so `dev` finds no sources to
/// build), with the secrets in its environment and logging at `trace`.
fn botyard(data: &Path, secrets: &Secrets) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_botyard"));
    cmd.current_dir(data)
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(data.join("botyard.toml"))
        .arg("--build-dir")
        .arg(support::shared_build_dir())
        .env("BOTYARD_LOG", LOG)
        .env("NO_COLOR", "1")
        .env_remove("BOTYARD_APPS")
        .stdin(Stdio::null());
    for (name, value) in secrets.env() {
        cmd.env(name, value);
    }
    cmd
}

/// Runs a short-lived `botyard` command; its status, stdout and stderr.
async fn run(cmd: Command) -> (bool, String, String) {
    let out = tokio::time::timeout(BOUND, tokio::process::Command::from(cmd).output())
        .await
        .expect("a botyard command finished in time")
        .expect("running botyard");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `botyard dev`, killed if the test ends without it having quit.
struct Dev {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Dev {
    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Types `line` on its console.
    fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("dev's stdin");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The workbench's base URL (ending in `/`), once dev printed it.
    async fn workbench_url(&mut self) -> String {
        let started = Instant::now();
        loop {
            if let Some(url) = self
                .stdout()
                .lines()
                .find_map(|l| l.split("workbench at ").nth(1).map(str::to_string))
            {
                return url.trim().to_string();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "botyard dev exited ({status}) before serving:\n{}\n{}",
                    self.stdout(),
                    tail(&self.stderr())
                );
            }
            assert!(
                started.elapsed() < STARTUP,
                "botyard dev never printed its workbench address:\n{}",
                tail(&self.stderr())
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Quits through the console and waits for the process to end.
    async fn quit(&mut self) {
        self.type_line(":quit");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "botyard dev quit with {status}");
                return;
            }
            assert!(
                started.elapsed() < BOUND,
                "botyard dev did not quit on `:quit`"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn tail(text: &str) -> &str {
    let cut = text.len().saturating_sub(4000);
    let cut = (cut..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[cut..]
}

/// Everything gathered, by where it came from, to be searched for secrets.
#[derive(Default)]
struct Gathered(Vec<(String, Vec<u8>)>);

impl Gathered {
    fn add(&mut self, place: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.0.push((place.into(), bytes.into()));
    }

    /// Every place where a secret (in any of its forms) appears, with what
    /// surrounds it.
    fn leaks(&self, secrets: &Secrets) -> Vec<String> {
        let mut found = Vec::new();
        for (place, bytes) in &self.0 {
            for (what, value) in secrets.forms() {
                let needle = value.as_bytes();
                if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
                    let from = at.saturating_sub(120);
                    let to = (at + needle.len() + 120).min(bytes.len());
                    found.push(format!(
                        "{what} is in {place}: …{}…",
                        String::from_utf8_lossy(&bytes[from..to])
                    ));
                }
            }
        }
        found
    }
}

/// Panics unless `text` (from `place`) has every one of `wanted`: the
/// proof a search of it is not a search of nothing.
fn holds(place: &str, text: &str, wanted: &[&str]) {
    for want in wanted {
        assert!(
            text.contains(want),
            "{place} should hold `{want}` (else searching it proves nothing):\n{}",
            tail(text)
        );
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// Gathers the raw bytes of every file under the data directory, and checks
/// the database's (with its WAL) hold what the run wrote.
fn scan_data_dir(data: &Path, when: &str, gathered: &mut Gathered) {
    let mut files = Vec::new();
    files_under(data, &mut files);
    let mut database = Vec::new();
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue; // a file SQLite removed meanwhile
        };
        let name = file.file_name().unwrap().to_string_lossy();
        if name.starts_with("botyard.db") {
            database.extend_from_slice(&bytes);
        }
        gathered.add(format!("{} ({when})", file.display()), bytes);
    }
    holds(
        &format!("the database's raw bytes ({when})"),
        &String::from_utf8_lossy(&database),
        &[
            "fetcher",
            "octocat-secrets",
            "DiskFullSecrets",
            "127.0.0.1/hello",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_and_webhook_secrets_reach_only_where_they_are_used() {
    let secrets = Secrets::fresh();
    let bearer_up = Upstream::start("127.0.0.1").await;
    let basic_up = Upstream::start("127.0.0.1").await;
    let plain_up = Upstream::start("127.0.0.1").await;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let toml = config(&bearer_up, &basic_up, &plain_up);
    std::fs::write(data.join("botyard.toml"), &toml).unwrap();
    std::fs::create_dir_all(data.join("apps")).unwrap();
    for (id, guest) in [("fetcher", "fetcher"), ("hooks", "hooks")] {
        std::fs::copy(
            support::guest_component(guest),
            data.join(format!("apps/{id}.wasm")),
        )
        .unwrap();
    }
    assert!(
        !toml.contains("sekrit-"),
        "botyard.toml holds references only"
    );

    // `botyard dev`, its output in files so nothing it prints is missed.
    let logs = tempfile::tempdir().unwrap();
    let stdout = logs.path().join("dev.stdout");
    let stderr = logs.path().join("dev.stderr");
    let mut cmd = botyard(data, &secrets);
    cmd.args(["dev", "--no-build", "--port", "0"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap());
    let mut dev = Dev {
        child: cmd.spawn().expect("starting botyard dev"),
        stdout,
        stderr,
    };
    let url = dev.workbench_url().await;
    let http = reqwest::Client::builder().timeout(BOUND).build().unwrap();
    let mut gathered = Gathered::default();

    // The workbench's live socket, read throughout: every notice it pushes.
    let live_url = format!("{}api/live", url.replacen("http://", "ws://", 1));
    let (live, _) = tokio::time::timeout(BOUND, tokio_tungstenite::connect_async(&live_url))
        .await
        .expect("the live socket opened in time")
        .expect("opening the live socket");
    let notices = Arc::new(Mutex::new(String::new()));
    let reader = {
        let notices = notices.clone();
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let (_, mut incoming) = live.split();
            while let Some(Ok(message)) = incoming.next().await {
                if let Ok(text) = message.to_text() {
                    let mut all = notices.lock().unwrap();
                    all.push_str(text);
                    all.push('\n');
                }
            }
        })
    };

    // 1. Through the workbench, as Slack would send it: the app asks the
    //    bearer upstream; the host adds the token, the app never sees it.
    let command = |text: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let answer = http
                .post(format!("{url}api/command"))
                .json(&json!({"as": "alice", "channel": "general", "text": text}))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            answer.text().await.unwrap()
        }
    };
    let raw = command(format!("/fetch GET {}/hello", bearer_up.url())).await;
    gathered.add("the workbench's answer to /fetch (bearer)", raw.clone());
    let acked: Value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
    let text = acked["body"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("the ack carries the reply: {acked}"));
    let fetched: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(
        (&fetched["status"], &fetched["body"]),
        (&json!(200), &json!("hello")),
        "{fetched}"
    );
    assert_eq!(
        bearer_up.last_header("authorization"),
        Some(format!("Bearer {}", secrets.bearer)),
        "the server got the injected credential"
    );
    assert_eq!(
        bearer_up.last_header("x-app-header").as_deref(),
        Some("from-app")
    );
    let seen_by_app =
        fetched["request_headers"].to_string() + &fetched["response_headers"].to_string();
    assert!(
        seen_by_app.contains("X-App-Header") && seen_by_app.contains("content-type"),
        "the app echoes what it sees: {fetched}"
    );
    assert!(
        !text.contains(&secrets.bearer) && !text.to_ascii_lowercase().contains("authorization"),
        "the app saw the credential: {fetched}"
    );

    // A redirect from the bearer upstream to the plain one: the token goes
    // to the hop its rule matches and not to the next.
    let requests_before = bearer_up.requests();
    let raw = command(format!(
        "/fetch GET {}/redirect?to={}/landing",
        bearer_up.url(),
        plain_up.url()
    ))
    .await;
    gathered.add("the workbench's answer to /fetch (redirect)", raw.clone());
    let acked: Value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
    let landed: Value = acked["body"]["text"]
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| panic!("the ack carries the reply: {acked}"));
    assert_eq!(
        (&landed["status"], &landed["url"]),
        (&json!(200), &json!(format!("{}/landing", plain_up.url()))),
        "{landed}"
    );
    assert_eq!(bearer_up.requests(), requests_before + 1);
    assert_eq!(
        bearer_up.last_header("authorization"),
        Some(format!("Bearer {}", secrets.bearer))
    );
    assert_eq!(plain_up.requests(), 1, "the redirect was followed");
    assert_eq!(
        plain_up.last_header("authorization"),
        None,
        "no credential for a hop its rule does not match"
    );

    // 2. On dev's console: basic auth, added by the host.
    dev.type_line(&format!("/fetch GET {}/hello", basic_up.url()));
    let basic_url = format!("{}/hello", basic_up.url());
    wait_for("the console's /fetch answer", BOUND, || {
        dev.stdout().contains(&basic_url)
    })
    .await;
    assert_eq!(
        basic_up.last_header("authorization"),
        Some(format!(
            "Basic {}",
            base64(&format!("bot:{}", secrets.basic))
        )),
        "the server got the injected basic credentials"
    );

    // 3. Webhooks, sent by `botyard webhook` (signed or authenticated with
    //    the configured secrets) and by a stranger with the wrong ones.
    let github_body =
        json!({"action": "opened", "sender": {"login": "octocat-secrets"}}).to_string();
    let alerts_body = json!({
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "DiskFullSecrets"}}],
    })
    .to_string();
    std::fs::write(logs.path().join("github.json"), &github_body).unwrap();
    std::fs::write(logs.path().join("alerts.json"), &alerts_body).unwrap();
    let base = url.trim_end_matches('/').to_string();
    let mut sent = Vec::new();
    for (target, file, extra) in [
        (
            "hooks/github",
            "github.json",
            &[
                "--delivery-id",
                "d-secrets-1",
                "-H",
                "X-GitHub-Event: pull_request",
            ][..],
        ),
        ("hooks/alerts", "alerts.json", &[][..]),
    ] {
        let mut cmd = botyard(data, &secrets);
        cmd.args(["webhook", target, "--url", &base, "--file"])
            .arg(logs.path().join(file))
            .args(extra);
        let (ok, out, err) = run(cmd).await;
        assert!(ok, "botyard webhook {target}:\n{out}\n{err}");
        assert!(out.starts_with("202 "), "a new delivery: {out}");
        gathered.add(format!("`botyard webhook {target}` stdout"), out.clone());
        gathered.add(format!("`botyard webhook {target}` stderr"), err);
        let answer: Value = serde_json::from_str(out[4..].trim()).unwrap();
        sent.push(answer["delivery"].as_i64().unwrap());
    }
    let post = |hook: &'static str, body: &str, headers: Vec<(&'static str, String)>| {
        let mut request = http
            .post(format!("{base}/hooks/hooks/{hook}"))
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let answer = request.send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let forged = "sha256=".to_string() + &"0".repeat(64);
    let (status, refusal) = post(
        "github",
        &github_body,
        vec![
            ("x-hub-signature-256", forged),
            ("x-github-delivery", "d-forged".into()),
        ],
    )
    .await;
    assert_eq!(status, 401, "{refusal}");
    holds("the wrong signature's 401", &refusal, &["does not match"]);
    let right = botyard::inbound::webhooks::verify::github_signature(
        &secrets.github,
        github_body.as_bytes(),
    );
    assert!(
        !refusal.contains(&right[7..]),
        "the refusal shows the right signature: {refusal}"
    );
    gathered.add("the wrong signature's 401", refusal);
    let (status, refusal) = post(
        "alerts",
        &alerts_body,
        vec![(
            "authorization",
            format!("Basic {}", base64("alertmanager:wrong-password")),
        )],
    )
    .await;
    assert_eq!(status, 401, "{refusal}");
    holds("the wrong password's 401", &refusal, &["not accepted"]);
    gathered.add("the wrong password's 401", refusal);

    // Both deliveries handled.
    let started = Instant::now();
    loop {
        let listed: Value = http
            .get(format!("{url}api/webhooks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let done = listed["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["status"] == "done")
            .count();
        if done == 2 {
            assert_eq!(
                listed["deliveries"].as_array().unwrap().len(),
                2,
                "{listed}"
            );
            break;
        }
        assert!(started.elapsed() < BOUND, "deliveries never done: {listed}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 4. Every read-only workbench route.
    let get = |path: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let answer = http.get(format!("{url}{path}")).send().await.unwrap();
            let status = answer.status().as_u16();
            (status, answer.text().await.unwrap())
        }
    };
    // Their messages reach the channel once the outbox delivers them.
    let started = Instant::now();
    let conversation = loop {
        let (_, conversation) = get("api/conversation?as=alice&channel=general".into()).await;
        if conversation.contains("octocat-secrets") && conversation.contains("DiskFullSecrets") {
            break conversation;
        }
        assert!(
            started.elapsed() < BOUND,
            "the webhooks' messages never arrived: {conversation}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let first_ts = serde_json::from_str::<Value>(&conversation)
        .ok()
        .and_then(|c| {
            c["messages"]
                .as_array()
                .and_then(|m| m.first())
                .and_then(|m| m["ts"].as_str().map(String::from))
        });
    let mut routes: Vec<String> = [
        "",
        "api/workspace",
        "api/apps",
        "api/webhooks",
        "api/webhooks?app=hooks",
        "api/conversation?as=alice&channel=general",
        "api/views?as=alice",
        "api/file?id=F0NONE",
    ]
    .iter()
    .map(|r| r.to_string())
    .collect();
    routes.extend(sent.iter().map(|id| format!("api/webhooks/{id}")));
    if let Some(ts) = &first_ts {
        routes.push(format!("api/thread?as=alice&channel=general&ts={ts}"));
    }
    let mut workbench = String::new();
    for route in routes {
        let (status, body) = get(route.clone()).await;
        assert!(
            status == 200 || route.starts_with("api/file"),
            "GET /{route}: {status} {body}"
        );
        workbench.push_str(&body);
        workbench.push('\n');
        gathered.add(format!("the workbench's GET /{route}"), body);
    }
    let (_, apps_panel) = get("api/apps".into()).await;
    holds(
        "the workbench's GET /api/apps",
        &apps_panel,
        &[
            "\"fetcher\"",
            "\"hooks\"",
            &format!("{}/ (credentials added by the host)", bearer_up.url()),
            &format!("{}/ (credentials added by the host)", basic_up.url()),
            "/hooks/hooks/github",
            "\"verify\":\"github\"",
            "\"verify\":\"basic\"",
            "GET 127.0.0.1/hello → 200, 5 bytes",
        ],
    );
    holds(
        "the workbench's webhook routes",
        &workbench,
        &[
            "d-secrets-1",
            "octocat-secrets",
            "DiskFullSecrets",
            "x-github-event",
            "\"status\":\"done\"",
        ],
    );
    holds(
        "the workbench's conversation",
        &conversation,
        &[
            "pull_request from octocat-secrets: opened",
            "[FIRING] DiskFullSecrets",
        ],
    );

    scan_data_dir(data, "while botyard dev ran", &mut gathered);

    // 5. Dev quits; its whole output, and the live socket's notices.
    dev.quit().await;
    reader.abort();
    let notices = notices.lock().unwrap().clone();
    holds(
        "the live socket's notices",
        &notices,
        &["\"kind\":\"hello\"", "\"kind\":\"message\""],
    );
    gathered.add("the workbench's live socket", notices);
    let (out, err) = (dev.stdout(), dev.stderr());
    holds(
        "botyard dev's stdout",
        &out,
        &[
            "fetcher",
            "hooks",
            "credentials added by the host",
            &basic_url,
        ],
    );
    holds(
        "botyard dev's stderr (BOTYARD_LOG=trace)",
        &err,
        &[
            "TRACE",
            "outbound request",
            "127.0.0.1",
            "/hello",
            "webhook recorded",
            "webhook delivery refused",
            "does not match",
        ],
    );
    gathered.add("botyard dev's stdout", out);
    gathered.add("botyard dev's stderr", err);

    // 6. `botyard apps --json` over the same directory and configuration.
    let mut cmd = botyard(data, &secrets);
    cmd.args(["apps", "--json"]);
    let (ok, out, err) = run(cmd).await;
    assert!(ok, "botyard apps --json:\n{out}\n{err}");
    let listed: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, ["fetcher", "hooks"], "{out}");
    holds(
        "`botyard apps --json`",
        &out,
        &[
            &format!("{}/ (credentials added by the host)", bearer_up.url()),
            &format!("{}/ (credentials added by the host)", basic_up.url()),
            &format!("\"{}/\"", plain_up.url()),
            "\"verify\":\"github\"",
            "\"verify\":\"basic\"",
        ],
    );
    gathered.add("`botyard apps --json` stdout", out);
    gathered.add("`botyard apps --json` stderr", err);

    // 7. The audit log and the deliveries, through the storage API.
    let storage = Storage::open(&data.join("botyard.db")).unwrap();
    let audit = storage.audit.recent(None, 1000).await.unwrap();
    let audit = format!("{audit:#?}");
    holds(
        "the audit log",
        &audit,
        &[
            "\"fetcher\"",
            "\"hooks\"",
            &format!("/fetch GET {}/hello", bearer_up.url()),
            "GET 127.0.0.1/hello → 200, 5 bytes",
            "GET 127.0.0.1/redirect → 200",
            "github d-secrets-1",
        ],
    );
    gathered.add("the audit log", audit);
    let mut deliveries = String::new();
    for id in &sent {
        let d = storage.webhooks.delivery(*id).await.unwrap().unwrap();
        deliveries.push_str(&format!("{d:#?}\n{}\n", String::from_utf8_lossy(&d.body)));
    }
    holds(
        "the stored deliveries",
        &deliveries,
        &["octocat-secrets", "DiskFullSecrets", "x-github-event"],
    );
    gathered.add("the stored deliveries", deliveries);
    drop(storage);

    // 8. The raw bytes of everything in the data directory once dev is
    //    gone, as while it ran (the database with its free pages, WAL and
    //    shared memory; the apps and their last good versions).
    scan_data_dir(data, "after botyard dev quit", &mut gathered);

    // Nothing anywhere holds a secret.
    for (place, bytes) in &gathered.0 {
        eprintln!("searched {place}: {} bytes", bytes.len());
    }
    let leaks = gathered.leaks(&secrets);
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n\n"));
    // And the search would have found one: the servers saw them.
    let mut control = Gathered::default();
    control.add(
        "the bearer upstream",
        bearer_up.last_header("authorization").unwrap(),
    );
    assert_eq!(control.leaks(&secrets).len(), 1);
}
