//! Slack's own Web API clients against the emulator, unchanged: Python's
//! `slack_sdk` and JavaScript's `@slack/web-api`, pointed at the emulator's
//! base URL, call every read method apps and the host use (following
//! pagination with each SDK's own helper: the Python SDK's cursor
//! iteration, `WebClient.paginate` in JavaScript) and the newer write
//! methods (channels, invites, topics, pins, permalinks, scheduled
//! messages, `files.uploadV2`'s three steps, metadata). If an SDK cannot
//! parse an answer, or sends arguments the emulator does not take the way
//! Slack does, these fail.
//!
//! Each SDK is installed on first use under the cargo target directory
//! (`slack-clients/`): a virtualenv for Python, an npm prefix for
//! JavaScript, at pinned versions. Loopback only; every run is bounded.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use botyard::emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

/// The versions these tests were written against.
const SLACK_SDK_PY: &str = "3.48.0";
const SLACK_WEB_API_JS: &str = "8.2.0";

/// How long one SDK script may run.
const SCRIPT_BOUND: Duration = Duration::from_secs(120);
/// How long a scheduled message may take to show up.
const BOUND: Duration = Duration::from_secs(20);

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("slack-clients")
}

fn run(what: &str, command: &mut Command) -> bool {
    match command.output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!(
                "{what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("{what}: cannot run it: {e}");
            false
        }
    }
}

/// Installs Debian packages when running as root (as the build machines
/// do); elsewhere says what to install.
fn apt_install(packages: &[&str]) {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    assert!(
        root,
        "install {} (e.g. `apt-get install {}`) and run the tests again",
        packages.join(" "),
        packages.join(" ")
    );
    run("apt-get update", Command::new("apt-get").arg("update"));
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    assert!(
        run("apt-get install", &mut install),
        "could not install {}",
        packages.join(" ")
    );
}

/// The virtualenv's python with `slack_sdk` installed, installing it once.
fn python_with_sdk() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _held = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let venv = tools_dir().join("venv");
    let python = venv.join("bin").join("python");
    let check = format!(
        "import sys, slack_sdk.version as v; sys.exit(0 if v.__version__ == '{SLACK_SDK_PY}' else 1)"
    );
    let ready = || {
        Command::new(&python)
            .args(["-c", &check])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready() {
        return python;
    }
    eprintln!(
        "installing slack_sdk {SLACK_SDK_PY} into {} (one time)…",
        venv.display()
    );
    std::fs::create_dir_all(tools_dir()).unwrap();
    if !python.exists() {
        let mut make = Command::new("python3");
        make.args(["-m", "venv"]).arg(&venv);
        if !run("python3 -m venv", &mut make) {
            let _ = std::fs::remove_dir_all(&venv);
            apt_install(&["python3", "python3-venv"]);
            assert!(
                run(
                    "python3 -m venv",
                    Command::new("python3").args(["-m", "venv"]).arg(&venv)
                ),
                "cannot make a virtualenv at {}",
                venv.display()
            );
        }
    }
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("slack_sdk=={SLACK_SDK_PY}"),
    ]);
    assert!(
        run("pip install slack_sdk", &mut pip) && ready(),
        "cannot install slack_sdk {SLACK_SDK_PY} into {}: check that pip reaches PyPI",
        venv.display()
    );
    python
}

/// The npm prefix holding `@slack/web-api`, installing it once; Node.js 20
/// or newer is needed (it is installed from apt when missing).
fn node_with_sdk() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _held = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let prefix = tools_dir().join("node");
    let manifest = prefix.join("node_modules/@slack/web-api/package.json");
    let ready = || {
        std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .is_some_and(|v| v["version"] == SLACK_WEB_API_JS)
    };
    let node_major = || {
        Command::new("node")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .trim_start_matches('v')
                    .split('.')
                    .next()
                    .and_then(|m| m.parse::<u32>().ok())
            })
    };
    if node_major().is_none_or(|m| m < 20)
        || !Command::new("npm")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    {
        apt_install(&["nodejs", "npm"]);
        assert!(
            node_major().is_some_and(|m| m >= 20),
            "@slack/web-api {SLACK_WEB_API_JS} needs Node.js 20 or newer"
        );
    }
    if ready() {
        return prefix;
    }
    eprintln!(
        "installing @slack/web-api {SLACK_WEB_API_JS} into {} (one time)…",
        prefix.display()
    );
    std::fs::create_dir_all(&prefix).unwrap();
    let package = prefix.join("package.json");
    if !package.exists() {
        std::fs::write(&package, "{\"private\": true}\n").unwrap();
    }
    let mut npm = Command::new("npm");
    npm.current_dir(&prefix).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        &format!("@slack/web-api@{SLACK_WEB_API_JS}"),
    ]);
    assert!(
        run("npm install @slack/web-api", &mut npm) && ready(),
        "cannot install @slack/web-api {SLACK_WEB_API_JS} into {}: check that npm reaches its registry",
        prefix.display()
    );
    prefix
}

/// Runs an SDK script with the emulator's base URL, the bot token and the
/// fixtures' ids in its environment; its last stdout line is its findings.
async fn run_script(
    slack: &Emulator,
    program: &Path,
    script: &Path,
    cwd: &Path,
    fixtures: &Value,
) -> Value {
    let mut command = tokio::process::Command::new(program);
    command
        .arg(script)
        .current_dir(cwd)
        .env("SLACK_BASE_URL", slack.base_url())
        .env("SLACK_BOT_TOKEN", &slack.config().bot_token)
        .env("FIXTURES", fixtures.to_string())
        // Loopback only: no proxy may take the calls elsewhere.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .kill_on_drop(true);
    let output = tokio::time::timeout(SCRIPT_BOUND, command.output())
        .await
        .unwrap_or_else(|_| panic!("{} ran past {SCRIPT_BOUND:?}", script.display()))
        .expect("the SDK script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the script's findings are not JSON ({e}):\n{stdout}\n{stderr}"))
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A workspace with enough of everything to need several pages.
async fn seeded() -> (Emulator, Value) {
    let slack = Emulator::start(EmulatorConfig::default())
        .await
        .expect("the emulator starts");
    for n in 0..5 {
        slack.add_user(&format!("user{n}"));
        slack.add_channel(&format!("room-{n}"));
    }
    slack
        .create_channel_as("dave", "daves-secret", true)
        .unwrap();
    let bot_private = slack
        .create_channel_as("dave", "bot-private", true)
        .unwrap();
    slack
        .join_channel(&slack.config().bot_user_id, &bot_private)
        .unwrap();
    let general = slack.channel_id("general").unwrap();
    let client = reqwest::Client::new();
    let post = |args: Value| {
        let client = client.clone();
        let slack = slack.clone();
        async move {
            let answer: Value = client
                .post(format!("{}chat.postMessage", slack.base_url()))
                .bearer_auth(&slack.config().bot_token)
                .json(&args)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(answer["ok"], true, "{answer}");
            answer["ts"].as_str().unwrap().to_string()
        }
    };
    let mut stamps = Vec::new();
    for n in 0..5 {
        let mut args = json!({"channel": general, "text": format!("m{n}")});
        if n == 4 {
            args["metadata"] = json!({"event_type": "poll_closed", "event_payload": {"poll": "lunch", "votes": 7}});
        }
        stamps.push(post(args).await);
    }
    for n in 0..3 {
        post(json!({"channel": general, "text": format!("r{n}"), "thread_ts": stamps[0]})).await;
    }
    let fixtures = json!({
        "general": general,
        "parent": stamps[0],
        "alice": slack.user_id("alice").unwrap(),
        "bob": slack.user_id("bob").unwrap(),
        "sre": slack.usergroup_id("sre-oncall").unwrap(),
        "now": now_secs(),
    });
    (slack, fixtures)
}

/// What both SDKs must have found, whatever their language.
async fn check_findings(slack: &Emulator, fixtures: &Value, out: &Value, prefix: &str) {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("an array: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    // Reads, each followed to its last page by the SDK's own helper.
    let users = strings(&out["users"]["items"]);
    assert_eq!(users.len(), slack.users().len(), "{users:?}");
    assert_eq!(out["users"]["pages"], slack.users().len().div_ceil(2));
    assert!(users.contains(&"user4".to_string()) && users.contains(&"botyard".to_string()));
    assert_eq!(
        out["user_info"],
        json!({"name": "alice", "real_name": "Alice", "tz": "Europe/Berlin", "is_bot": false})
    );
    let channels = strings(&out["channels"]["items"]);
    assert!(
        channels.contains(&"room-4".to_string()) && channels.contains(&"bot-private".to_string()),
        "{channels:?}"
    );
    assert!(
        !channels.contains(&"daves-secret".to_string()),
        "a private channel the bot is not in is not listed: {channels:?}"
    );
    assert_eq!(channels.len(), 10, "{channels:?}");
    assert_eq!(out["channels"]["pages"], 5);
    assert_eq!(
        out["info"],
        json!({"name": "general", "is_general": true, "num_members": slack.users().len()})
    );
    assert_eq!(
        strings(&out["history"]["items"]),
        ["m4", "m3", "m2", "m1", "m0"]
    );
    assert_eq!(out["history"]["pages"], 3);
    assert_eq!(
        out["history"]["metadata"],
        json!({"event_type": "poll_closed", "event_payload": {"poll": "lunch", "votes": 7}})
    );
    assert_eq!(out["history"]["reply_count"], 3);
    assert_eq!(strings(&out["replies"]["items"]), ["m0", "r0", "r1", "r2"]);
    assert_eq!(out["replies"]["pages"], 2);
    assert_eq!(
        out["members"]["items"].as_array().unwrap().len(),
        slack.users().len()
    );
    assert_eq!(out["members"]["pages"], slack.users().len().div_ceil(2));
    let groups = &out["usergroups"];
    assert_eq!(groups[0]["handle"], "sre-oncall");
    assert_eq!(
        groups[0]["users"],
        json!([fixtures["alice"], fixtures["bob"]])
    );
    assert_eq!(
        out["usergroup_users"],
        json!([fixtures["alice"], fixtures["bob"]])
    );
    assert_eq!(out["errors"]["invalid_cursor"], "invalid_cursor");
    assert_eq!(out["errors"]["name_taken"], "name_taken");
    assert_eq!(out["errors"]["channel_not_found"], "channel_not_found");

    // Writes, as the emulator now has them.
    let name = format!("{prefix}-incident");
    let channel = slack.channel(&name).expect("the SDK created the channel");
    assert_eq!(out["created"]["id"], channel.id.as_str());
    assert!(channel.is_private);
    let alice = fixtures["alice"].as_str().unwrap().to_string();
    let bob = fixtures["bob"].as_str().unwrap().to_string();
    assert!(channel.members.contains(&alice) && channel.members.contains(&bob));
    assert_eq!(channel.topic.value, "Checkout is down");
    let status = slack
        .messages(&channel.id)
        .into_iter()
        .find(|m| m.text == "status: investigating")
        .expect("the status message");
    assert_eq!(
        status.metadata.as_ref().unwrap()["event_type"],
        "incident_status"
    );
    assert_eq!(slack.pins(&channel.id)[0].ts, status.ts);
    assert_eq!(out["pins"], json!([status.ts]));
    assert_eq!(
        out["permalink"],
        format!(
            "https://{}.slack.com/archives/{}/p{}",
            slack.config().team_domain,
            channel.id,
            status.ts.replace('.', "")
        )
        .as_str()
    );
    assert!(out["scheduled"]["id"].as_str().unwrap().starts_with('Q'));
    assert_eq!(out["scheduled"]["listed"], json!([out["scheduled"]["id"]]));
    assert_eq!(out["scheduled"]["after_delete"], json!([]));

    // The uploaded file, shared in the status message's thread.
    let file_id = out["upload"]["id"].as_str().expect("an uploaded file id");
    assert_eq!(
        slack.file_content(file_id).as_deref(),
        Some(&b"service,minutes\ncheckout,42\n"[..])
    );
    let thread = slack.thread(&channel.id, &status.ts);
    let shared = thread
        .iter()
        .find(|m| m.files.iter().any(|f| f == file_id))
        .expect("the file was shared in the thread");
    let file = &slack.files_of(shared)[0];
    assert_eq!(
        (file.name.as_str(), file.title.as_str()),
        (format!("{prefix}.csv").as_str(), "Downtime")
    );
    assert_eq!(out["upload"]["title"], "Downtime");

    // The message scheduled two seconds ahead posts when its time comes.
    let deadline = Instant::now() + BOUND;
    while !slack
        .messages(&channel.id)
        .iter()
        .any(|m| m.text == "update in 2 seconds")
    {
        assert!(
            Instant::now() < deadline,
            "the scheduled message never posted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(now_secs() >= out["scheduled"]["soon_post_at"].as_i64().unwrap());
}

const PYTHON_SCRIPT: &str = r#"
import json, os, time
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

fx = json.loads(os.environ["FIXTURES"])
client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_BASE_URL"], timeout=10)
out = {}

def follow(method, key, pick, **kwargs):
    # The SDK's own cursor iteration: `for page in client.<method>(...)`.
    items, pages = [], 0
    for page in getattr(client, method)(**kwargs):
        pages += 1
        items.extend(pick(x) for x in page[key])
    return {"items": items, "pages": pages}

out["users"] = follow("users_list", "members", lambda u: u["name"], limit=2)
u = client.users_info(user=fx["alice"])["user"]
out["user_info"] = {k: u[k] for k in ("name", "real_name", "tz", "is_bot")}
out["channels"] = follow("conversations_list", "channels", lambda c: c["name"], limit=2,
                         types="public_channel,private_channel")
c = client.conversations_info(channel=fx["general"], include_num_members=True)["channel"]
out["info"] = {k: c[k] for k in ("name", "is_general", "num_members")}
history, metadata, reply_count, pages = [], None, None, 0
for page in client.conversations_history(channel=fx["general"], limit=2, include_all_metadata=True):
    pages += 1
    for m in page["messages"]:
        history.append(m["text"])
        metadata = metadata or m.get("metadata")
        reply_count = reply_count or m.get("reply_count")
out["history"] = {"items": history, "pages": pages, "metadata": metadata, "reply_count": reply_count}
out["replies"] = follow("conversations_replies", "messages", lambda m: m["text"],
                        channel=fx["general"], ts=fx["parent"], limit=2)
out["members"] = follow("conversations_members", "members", lambda m: m, channel=fx["general"], limit=2)
out["usergroups"] = client.usergroups_list(include_users=True)["usergroups"]
out["usergroup_users"] = client.usergroups_users_list(usergroup=fx["sre"])["users"]

created = client.conversations_create(name="py-incident", is_private=True)["channel"]
out["created"] = {"id": created["id"]}
client.conversations_invite(channel=created["id"], users=[fx["alice"], fx["bob"]])
client.conversations_setTopic(channel=created["id"], topic="Checkout is down")
status = client.chat_postMessage(channel=created["id"], text="status: investigating",
                                 metadata={"event_type": "incident_status", "event_payload": {"state": "investigating"}})
client.pins_add(channel=created["id"], timestamp=status["ts"])
out["pins"] = [i["message"]["ts"] for i in client.pins_list(channel=created["id"])["items"]]
out["permalink"] = client.chat_getPermalink(channel=created["id"], message_ts=status["ts"])["permalink"]
later = client.chat_scheduleMessage(channel=created["id"], text="in an hour", post_at=int(time.time()) + 3600)
listed = client.chat_scheduledMessages_list(channel=created["id"])["scheduled_messages"]
client.chat_deleteScheduledMessage(channel=created["id"], scheduled_message_id=later["scheduled_message_id"])
after = client.chat_scheduledMessages_list(channel=created["id"])["scheduled_messages"]
soon = int(time.time()) + 2
client.chat_scheduleMessage(channel=created["id"], text="update in 2 seconds", post_at=soon)
out["scheduled"] = {"id": later["scheduled_message_id"], "listed": [s["id"] for s in listed],
                    "after_delete": [s["id"] for s in after], "soon_post_at": soon}
upload = client.files_upload_v2(channel=created["id"], thread_ts=status["ts"], filename="py.csv",
                                title="Downtime", content="service,minutes\ncheckout,42\n")
out["upload"] = {"id": upload["file"]["id"], "title": upload["file"]["title"]}

errors = {}
def expect_error(name, call):
    try:
        call()
        errors[name] = "no error"
    except SlackApiError as e:
        errors[name] = e.response["error"]
expect_error("invalid_cursor", lambda: client.conversations_history(channel=fx["general"], cursor="bm90IGEgY3Vyc29y"))
expect_error("name_taken", lambda: client.conversations_create(name="py-incident"))
expect_error("channel_not_found", lambda: client.conversations_info(channel="C_NOPE"))
out["errors"] = errors
print(json.dumps(out))
"#;

const JS_SCRIPT: &str = r#"
const { WebClient, LogLevel } = require("@slack/web-api");
const fx = JSON.parse(process.env.FIXTURES);
const client = new WebClient(process.env.SLACK_BOT_TOKEN, {
  slackApiUrl: process.env.SLACK_BASE_URL,
  logLevel: LogLevel.ERROR,
  retryConfig: { retries: 0 },
  timeout: 10000,
});

// The SDK's own pagination helper, as an async iterator over pages.
async function follow(method, options, key, pick) {
  const items = [];
  let pages = 0;
  for await (const page of client.paginate(method, options)) {
    pages += 1;
    items.push(...page[key].map(pick));
  }
  return { items, pages };
}

async function expectError(call) {
  try {
    await call();
    return "no error";
  } catch (e) {
    return e.data ? e.data.error : String(e);
  }
}

(async () => {
  const out = {};
  out.users = await follow("users.list", { limit: 2 }, "members", (u) => u.name);
  const u = (await client.users.info({ user: fx.alice })).user;
  out.user_info = { name: u.name, real_name: u.real_name, tz: u.tz, is_bot: u.is_bot };
  out.channels = await follow("conversations.list", { limit: 2, types: "public_channel,private_channel" }, "channels", (c) => c.name);
  const c = (await client.conversations.info({ channel: fx.general, include_num_members: true })).channel;
  out.info = { name: c.name, is_general: c.is_general, num_members: c.num_members };
  // paginate's other form: stop when told, reducing pages to one value.
  const history = await client.paginate(
    "conversations.history",
    { channel: fx.general, limit: 2, include_all_metadata: true },
    (page) => !page.response_metadata || !page.response_metadata.next_cursor,
    (acc, page) => {
      acc = acc || { items: [], pages: 0, metadata: null, reply_count: null };
      acc.pages += 1;
      for (const m of page.messages) {
        acc.items.push(m.text);
        acc.metadata = acc.metadata || m.metadata || null;
        acc.reply_count = acc.reply_count || m.reply_count || null;
      }
      return acc;
    },
  );
  out.history = history;
  out.replies = await follow("conversations.replies", { channel: fx.general, ts: fx.parent, limit: 2 }, "messages", (m) => m.text);
  out.members = await follow("conversations.members", { channel: fx.general, limit: 2 }, "members", (m) => m);
  out.usergroups = (await client.usergroups.list({ include_users: true })).usergroups;
  out.usergroup_users = (await client.usergroups.users.list({ usergroup: fx.sre })).users;

  const created = (await client.conversations.create({ name: "js-incident", is_private: true })).channel;
  out.created = { id: created.id };
  await client.conversations.invite({ channel: created.id, users: `${fx.alice},${fx.bob}` });
  await client.conversations.setTopic({ channel: created.id, topic: "Checkout is down" });
  const status = await client.chat.postMessage({
    channel: created.id,
    text: "status: investigating",
    metadata: { event_type: "incident_status", event_payload: { state: "investigating" } },
  });
  await client.pins.add({ channel: created.id, timestamp: status.ts });
  out.pins = (await client.pins.list({ channel: created.id })).items.map((i) => i.message.ts);
  out.permalink = (await client.chat.getPermalink({ channel: created.id, message_ts: status.ts })).permalink;
  const now = Math.floor(Date.now() / 1000);
  const later = await client.chat.scheduleMessage({ channel: created.id, text: "in an hour", post_at: now + 3600 });
  const listed = (await client.chat.scheduledMessages.list({ channel: created.id })).scheduled_messages;
  await client.chat.deleteScheduledMessage({ channel: created.id, scheduled_message_id: later.scheduled_message_id });
  const after = (await client.chat.scheduledMessages.list({ channel: created.id })).scheduled_messages;
  const soon = Math.floor(Date.now() / 1000) + 2;
  await client.chat.scheduleMessage({ channel: created.id, text: "update in 2 seconds", post_at: soon });
  out.scheduled = {
    id: later.scheduled_message_id,
    listed: listed.map((s) => s.id),
    after_delete: after.map((s) => s.id),
    soon_post_at: soon,
  };
  const upload = await client.files.uploadV2({
    channel_id: created.id,
    thread_ts: status.ts,
    filename: "js.csv",
    title: "Downtime",
    file: Buffer.from("service,minutes\ncheckout,42\n"),
  });
  const file = upload.files[0].files[0];
  out.upload = { id: file.id, title: file.title };

  out.errors = {
    invalid_cursor: await expectError(() => client.conversations.history({ channel: fx.general, cursor: "bm90IGEgY3Vyc29y" })),
    name_taken: await expectError(() => client.conversations.create({ name: "js-incident" })),
    channel_not_found: await expectError(() => client.conversations.info({ channel: "C_NOPE" })),
  };
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pythons_slack_sdk_works_against_the_emulator_unchanged() {
    let python = tokio::task::spawn_blocking(python_with_sdk).await.unwrap();
    let (slack, fixtures) = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("drive.py");
    std::fs::write(&script, PYTHON_SCRIPT).unwrap();
    let out = run_script(&slack, &python, &script, dir.path(), &fixtures).await;
    check_findings(&slack, &fixtures, &out, "py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_web_api_client_works_against_the_emulator_unchanged() {
    let prefix = tokio::task::spawn_blocking(node_with_sdk).await.unwrap();
    let (slack, fixtures) = seeded().await;
    // In the npm prefix, so `require("@slack/web-api")` finds the package.
    let script = prefix.join("drive.js");
    std::fs::write(&script, JS_SCRIPT).unwrap();
    let out = run_script(&slack, Path::new("node"), &script, &prefix, &fixtures).await;
    check_findings(&slack, &fixtures, &out, "js").await;
}
