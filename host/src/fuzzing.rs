//! The fuzz targets: one function per parser of untrusted input, each taking
//! arbitrary bytes, feeding them to the parser the host runs and asserting
//! what must hold whatever the bytes are (beyond "no panic": a forged
//! signature is never accepted, what parses re-serialises and parses the
//! same, accepted values are within their documented bounds).
//!
//! These functions are the single definition of each target. Two fuzzers
//! drive them: `fuzz/` (cargo-fuzz, coverage-guided, the long run:
//! `fuzz/run`) and `tests/fuzz.rs` (the corpus, every crash kept under
//! `fuzz/regressions/`, and a bounded seeded mutation run on every
//! `cargo test`). `fuzz/README.md` says what each covers.
//!
//! A target does no I/O of its own. The configuration targets read what a
//! configuration names (`${env:…}`, `${file:…}` secrets), as the host does.

use std::path::Path;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::config::webhooks::{Verify, WebhookConfig};
use crate::contract::limits::Limits;
use crate::contract::secret::Secret;
use crate::inbound::dispatch::Ack;
use crate::inbound::payload::{EventBody, Interaction, SlashCommand};
use crate::inbound::socket_mode;
use crate::inbound::webhooks::verify as hooks;
use crate::slack::blocks;
use crate::slack::signature::{self, SignatureError};

/// What a target's input is, for mutators that know its structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON document.
    Json,
    /// An `application/x-www-form-urlencoded` body.
    Form,
    /// A TOML document.
    Toml,
    /// Header values, one a line, then the raw body (see each target).
    Lines,
}

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name: `fuzz/fuzz_targets/<name>.rs`, `fuzz/corpus/<name>/`.
    pub name: &'static str,
    pub format: Format,
    /// Runs one input; panics when an invariant does not hold.
    pub run: fn(&[u8]),
}

/// Every target, in the order `fuzz/run` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "signature",
        format: Format::Lines,
        run: signature,
    },
    Target {
        name: "slash_command",
        format: Format::Form,
        run: slash_command,
    },
    Target {
        name: "interaction",
        format: Format::Json,
        run: interaction,
    },
    Target {
        name: "event",
        format: Format::Json,
        run: event,
    },
    Target {
        name: "socket_mode",
        format: Format::Json,
        run: socket_mode,
    },
    Target {
        name: "webhook_verify",
        format: Format::Lines,
        run: webhook_verify,
    },
    Target {
        name: "webhook_config",
        format: Format::Toml,
        run: webhook_config,
    },
    Target {
        name: "config",
        format: Format::Toml,
        run: config,
    },
    Target {
        name: "app_limits",
        format: Format::Toml,
        run: app_limits,
    },
    Target {
        name: "blocks",
        format: Format::Json,
        run: blocks,
    },
    Target {
        name: "plain_words",
        format: Format::Lines,
        run: plain_words,
    },
];

/// The first line of `data` and the rest (without the `\n`).
fn line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// A header map holding `value` under `name`, when it is a valid header
/// value (what reaches the host over HTTP); empty otherwise.
fn header(name: &'static str, value: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(value) {
        map.insert(HeaderName::from_static(name), value);
    }
    map
}

/// `text` with one hex digit after `prefix` changed: a signature that is
/// well-formed and wrong.
fn forge(text: &str, prefix: &str, seed: usize) -> String {
    let digits = &text[prefix.len()..];
    let at = seed % digits.len();
    let old = digits.as_bytes()[at];
    let new = if old == b'0' { '1' } else { '0' };
    format!("{prefix}{}{new}{}", &digits[..at], &digits[at + 1..])
}

// ---------------------------------------------------------------------------
// Slack request signatures (`slack/signature.rs`).

/// The signing secret in Slack's documented example.
const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// "Now" for the signature checks, unless the input's own time is used.
const NOW: i64 = 1_531_420_618;

/// `X-Slack-Request-Timestamp` (first line), `X-Slack-Signature` (second
/// line), then the raw body: checked as the HTTP receiver does. A signature
/// is accepted only if it is the body's HMAC under the secret and the time
/// is within five minutes; the right one always is; a forged one never.
pub fn signature(data: &[u8]) {
    let (timestamp, rest) = line(data);
    let (presented, body) = line(rest);
    let mut headers = header(signature::TIMESTAMP_HEADER, timestamp);
    headers.extend(header(signature::SIGNATURE_HEADER, presented));
    let as_header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (ts_header, sig_header) = (
        as_header(signature::TIMESTAMP_HEADER),
        as_header(signature::SIGNATURE_HEADER),
    );
    let ts_text = std::str::from_utf8(timestamp).ok();
    let sig_text = std::str::from_utf8(presented).ok();
    let signed_at = ts_text.and_then(|t| t.trim().parse::<i64>().ok());
    for now in [NOW, signed_at.unwrap_or(NOW)] {
        let outcome = signature::verify(SIGNING_SECRET, &headers, body, now);
        check_slack_outcome(&outcome, ts_header, sig_header, body, now);
        let outcome = signature::verify_parts(SIGNING_SECRET, ts_text, sig_text, body, now);
        check_slack_outcome(&outcome, ts_text, sig_text, body, now);
    }
    if let (Some(ts), Some(at)) = (ts_text, signed_at) {
        let good = signature::sign(SIGNING_SECRET, ts, body);
        assert_eq!(
            signature::verify_parts(SIGNING_SECRET, Some(ts), Some(&good), body, at),
            Ok(()),
            "the right signature is accepted"
        );
        let forged = forge(&good, "v0=", data.len());
        assert_eq!(
            signature::verify_parts(SIGNING_SECRET, Some(ts), Some(&forged), body, at),
            Err(SignatureError::Mismatch),
            "a forged signature is refused"
        );
    }
}

fn check_slack_outcome(
    outcome: &Result<(), SignatureError>,
    timestamp: Option<&str>,
    presented: Option<&str>,
    body: &[u8],
    now: i64,
) {
    match outcome {
        Ok(()) => {
            let (timestamp, presented) = (timestamp.unwrap(), presented.unwrap());
            let signed_at: i64 = timestamp.trim().parse().expect("an accepted time parses");
            assert!(
                (now as i128 - signed_at as i128).abs() <= signature::MAX_SKEW_SECS as i128,
                "accepted a stale request"
            );
            let expected = signature::sign(SIGNING_SECRET, timestamp, body);
            let digits = presented
                .strip_prefix("v0=")
                .expect("an accepted signature is v0=");
            assert_eq!(
                hex::decode(digits).ok(),
                hex::decode(&expected[3..]).ok(),
                "accepted a signature that is not the body's HMAC"
            );
        }
        Err(SignatureError::Stale { skew_secs }) => {
            assert!(*skew_secs > signature::MAX_SKEW_SECS)
        }
        Err(_) => {}
    }
}

// ---------------------------------------------------------------------------
// Slash commands (`inbound/payload.rs`).

/// A slash command's HTTP form body (and the same bytes as Socket Mode's
/// JSON payload). A command that parses re-serialises to a form that
/// parses to the same command, and reads the same as JSON.
pub fn slash_command(data: &[u8]) {
    match SlashCommand::from_form(data) {
        Ok(None) => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(data).expect("an ssl_check probe is a form");
            assert!(pairs.iter().any(|(k, v)| k == "ssl_check" && v == "1"));
        }
        Ok(Some(command)) => {
            let mut fields = vec![
                ("command", command.command.as_str()),
                ("text", command.text.as_str()),
                ("user_id", command.user_id.as_str()),
                ("channel_id", command.channel_id.as_str()),
            ];
            if let Some(trigger) = &command.trigger_id {
                fields.push(("trigger_id", trigger));
            }
            if let Some(url) = &command.response_url {
                fields.push(("response_url", url));
            }
            let form = serde_urlencoded::to_string(&fields).expect("strings make a form");
            let again = SlashCommand::from_form(form.as_bytes())
                .expect("a re-serialised command parses")
                .expect("and is not a probe");
            assert_eq!(format!("{command:?}"), format!("{again:?}"), "form: {form}");
            let json: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect();
            let from_json =
                SlashCommand::from_json(Value::Object(json)).expect("the same fields as JSON");
            assert_eq!(format!("{command:?}"), format!("{from_json:?}"));
        }
        Err(_) => {}
    }
    if let Ok(payload) = serde_json::from_slice::<Value>(data) {
        let _ = SlashCommand::from_json(payload);
    }
}

// ---------------------------------------------------------------------------
// Interactivity and events (`inbound/payload.rs`).

/// JSON with every non-integer number replaced by its value to 12
/// significant digits, so values equal but for the last bit of a float
/// (serde_json's parser is not correctly rounded) compare equal.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            Value::String(format!("{:.11e}", n.as_f64().unwrap_or_default()))
        }
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `value` written out and read back, as it is when it crosses a socket.
fn reparsed(value: &Value) -> Value {
    serde_json::from_str(&value.to_string()).expect("serde_json reads what it writes")
}

fn normalized_interaction(mut interaction: Interaction) -> Interaction {
    match &mut interaction {
        Interaction::ViewSubmission { view, .. } | Interaction::ViewClosed { view, .. } => {
            view.values = normalized(&view.values);
        }
        Interaction::BlockActions { actions, .. } => {
            // Multi selects' values are JSON arrays, written out.
            for action in actions {
                if let Some(value) = &mut action.value
                    && let Ok(json) = serde_json::from_str::<Value>(value)
                {
                    *value = normalized(&json).to_string();
                }
            }
        }
        _ => {}
    }
    interaction
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// Parses an interactivity payload; what parses says what the payload says,
/// and parses the same once re-serialised.
fn check_interaction(payload: &Value) {
    let parsed = Interaction::parse(payload);
    let again = Interaction::parse(&reparsed(payload));
    assert_eq!(
        parsed.clone().map(normalized_interaction),
        again.map(normalized_interaction),
        "an interaction parses the same once re-serialised"
    );
    let Ok(interaction) = parsed else { return };
    let user = str_at(payload, "/user/id");
    match interaction {
        Interaction::BlockActions {
            user: u, actions, ..
        } => {
            assert_eq!(Some(u.as_str()), user);
            let listed = payload["actions"].as_array().map(Vec::len);
            assert_eq!(Some(actions.len()), listed, "every action is kept");
        }
        Interaction::ViewSubmission { user: u, view, .. }
        | Interaction::ViewClosed { user: u, view, .. } => {
            assert_eq!(Some(u.as_str()), user);
            assert_eq!(
                view.callback_id,
                str_at(payload, "/view/callback_id").unwrap_or_default()
            );
        }
        Interaction::Shortcut(shortcut) => {
            assert_eq!(Some(shortcut.user.as_str()), user);
            assert_eq!(
                Some(shortcut.callback_id.as_str()),
                str_at(payload, "/callback_id")
            );
        }
        Interaction::Other(kind) => assert_eq!(Some(kind.as_str()), str_at(payload, "/type")),
    }
}

/// An interactivity payload: as the HTTP receiver gets it (a form whose
/// `payload` field is the JSON) and as Socket Mode does (the JSON).
pub fn interaction(data: &[u8]) {
    #[derive(Deserialize)]
    struct Form {
        payload: String,
    }
    if let Ok(form) = serde_urlencoded::from_bytes::<Form>(data)
        && let Ok(payload) = serde_json::from_str::<Value>(&form.payload)
    {
        check_interaction(&payload);
    }
    if let Ok(payload) = serde_json::from_slice::<Value>(data) {
        check_interaction(&payload);
    }
}

fn normalized_event(body: EventBody) -> EventBody {
    match body {
        EventBody::Callback {
            event_id,
            event_type,
            event,
        } => EventBody::Callback {
            event_id,
            event_type,
            event: normalized(&event),
        },
        other => other,
    }
}

fn check_event(body: &Value) {
    let parsed = EventBody::parse(body);
    let again = EventBody::parse(&reparsed(body));
    assert_eq!(
        parsed.clone().map(normalized_event),
        again.map(normalized_event),
        "an event parses the same once re-serialised"
    );
    match parsed {
        Ok(EventBody::Callback {
            event_id,
            event_type,
            event,
        }) => {
            assert_eq!(Some(event_id.as_str()), str_at(body, "/event_id"));
            assert!(event.is_object());
            assert_eq!(Some(event_type.as_str()), str_at(&event, "/type"));
        }
        Ok(EventBody::UrlVerification { challenge }) => {
            assert_eq!(Some(challenge.as_str()), str_at(body, "/challenge"));
        }
        Ok(EventBody::RateLimited | EventBody::Other(_)) | Err(_) => {}
    }
}

/// An Events API body (HTTP, and the payload of Socket Mode's
/// `events_api` envelopes).
pub fn event(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<Value>(data) {
        check_event(&body);
    }
}

// ---------------------------------------------------------------------------
// Socket Mode (`inbound/socket_mode.rs`).

/// One Socket Mode text frame: what the client reads before `hello`, then
/// the envelope, its payload by type, and the ack it writes back (valid
/// JSON naming the envelope, with a payload only where Slack takes one).
pub fn socket_mode(data: &[u8]) {
    // Text frames are UTF-8 (the WebSocket layer refuses others).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let _ = (
        value["type"] == "hello",
        value["num_connections"].as_u64(),
        value["debug_info"]["host"].as_str(),
    );
    let Ok(envelope) = socket_mode::parse_envelope(text) else {
        return;
    };
    match envelope.kind.as_str() {
        "slash_commands" => {
            let _ = SlashCommand::from_json(envelope.payload.clone());
        }
        "interactive" => check_interaction(&envelope.payload),
        "events_api" => check_event(&envelope.payload),
        _ => {}
    }
    if let Some(id) = &envelope.envelope_id {
        for ack in [Ack::Empty, Ack::Json(envelope.payload.clone())] {
            let with_payload = matches!(ack, Ack::Json(_)) && envelope.accepts_response_payload;
            let text = socket_mode::ack_text(id, envelope.accepts_response_payload, ack);
            let back: Value = serde_json::from_str(&text).expect("an ack is JSON");
            assert_eq!(back["envelope_id"].as_str(), Some(id.as_str()));
            assert_eq!(back.get("payload").is_some(), with_payload);
        }
    }
}

// ---------------------------------------------------------------------------
// Webhook senders (`inbound/webhooks/verify.rs`).

const HOOK_SECRET: &str = "It's a Secret to Everybody";
const HOOK_TOKEN: &str = "t0ken";
const HOOK_USER: &str = "alertmanager";
const HOOK_PASSWORD: &str = "pa:ss";

/// A header value (first line), then the raw body: presented as GitHub's
/// signature and as `Authorization` to each kind of check. Accepted only
/// with the right credentials; the right ones always are.
pub fn webhook_verify(data: &[u8]) {
    let (presented, body) = line(data);
    let checks = [
        Verify::Github {
            secret: Secret::from_value(HOOK_SECRET),
        },
        Verify::Bearer {
            token: Secret::from_value(HOOK_TOKEN),
        },
        Verify::Basic {
            username: Secret::from_value(HOOK_USER),
            password: Secret::from_value(HOOK_PASSWORD),
        },
        Verify::None,
    ];
    for name in [hooks::GITHUB_SIGNATURE, "authorization"] {
        let headers = header(name, presented);
        let value = headers.get(name).and_then(|v| v.to_str().ok());
        for check in &checks {
            if hooks::verify(check, &headers, body).is_ok() {
                assert_rightly_accepted(check, name, value, body);
            }
        }
    }
    let github = &checks[0];
    let good = hooks::github_signature(HOOK_SECRET, body);
    assert_eq!(
        hooks::verify(
            github,
            &header(hooks::GITHUB_SIGNATURE, good.as_bytes()),
            body
        ),
        Ok(()),
        "the right signature is accepted"
    );
    let forged = forge(&good, "sha256=", data.len());
    assert_eq!(
        hooks::verify(
            github,
            &header(hooks::GITHUB_SIGNATURE, forged.as_bytes()),
            body
        ),
        Err(hooks::VerifyError::Mismatch),
        "a forged signature is refused"
    );
}

fn assert_rightly_accepted(check: &Verify, name: &str, value: Option<&str>, body: &[u8]) {
    let after_scheme = |scheme: &str| {
        let value = value.expect("accepted without the header");
        let (given, rest) = value.split_at_checked(scheme.len() + 1)?;
        given
            .eq_ignore_ascii_case(&format!("{scheme} "))
            .then(|| rest.trim())
    };
    match check {
        Verify::None => {}
        Verify::Github { .. } => {
            assert_eq!(name, hooks::GITHUB_SIGNATURE);
            let digits = value.and_then(|v| v.strip_prefix("sha256="));
            let good = hooks::github_signature(HOOK_SECRET, body);
            assert_eq!(
                digits.and_then(|d| hex::decode(d).ok()),
                hex::decode(&good[7..]).ok(),
                "accepted a signature that is not the body's HMAC"
            );
        }
        Verify::Bearer { .. } => {
            assert_eq!(name, "authorization");
            assert_eq!(after_scheme("Bearer"), Some(HOOK_TOKEN));
        }
        Verify::Basic { .. } => {
            use base64::Engine;
            assert_eq!(name, "authorization");
            let decoded = after_scheme("Basic")
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
            assert_eq!(
                decoded.as_deref(),
                Some(format!("{HOOK_USER}:{HOOK_PASSWORD}").as_bytes())
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Configuration (`config/mod.rs`, `config/webhooks.rs`).

/// What `botyard.toml`'s relative paths are resolved against; never read.
const BASE: &str = "/botyard-fuzz";

fn assert_limits_in_bounds(limits: &Limits) {
    assert!(
        (Duration::from_millis(10)..=Duration::from_secs(600)).contains(&limits.deadline),
        "{limits:?}"
    );
    assert!((1 << 20..=4096 << 20).contains(&limits.memory_bytes));
    assert!((64 << 10..=16 << 20).contains(&limits.wasm_stack_bytes));
    assert!(limits.ready_instances.is_none_or(|n| n <= 8));
}

fn assert_webhook_in_bounds(hook: &WebhookConfig) {
    assert!((1..=64 << 20).contains(&hook.max_body_bytes));
    assert!((1..=100).contains(&hook.attempts));
    assert!((Duration::from_millis(1)..=Duration::from_secs(300)).contains(&hook.retry_after));
    if let Some(name) = &hook.delivery_header {
        assert!(!name.is_empty());
        assert!(HeaderName::from_bytes(name.as_bytes()).is_ok(), "{name}");
        assert_eq!(name, &name.to_ascii_lowercase());
    }
    if matches!(hook.verify, Verify::Github { .. }) {
        assert!(hook.delivery_header.is_some());
    }
}

/// Parses `text` as `botyard.toml`; what is accepted is within bounds:
/// the default limits, each app's limits over them (which
/// [`Config::limits_for`] relies on), the connection count, webhooks.
fn check_config(text: &str) {
    let Ok(config) = Config::parse(text, Path::new(BASE), &Path::new(BASE).join("apps")) else {
        return;
    };
    assert!((1..=10).contains(&config.slack.connections));
    assert_limits_in_bounds(&config.default_limits);
    for (id, app) in &config.apps {
        let limits = app
            .limits
            .apply(config.default_limits)
            .expect("Config::parse checked every app's limits");
        assert_limits_in_bounds(&limits);
        let _ = config.grants_for(id);
        for (name, hook) in &app.webhooks {
            assert_webhook_in_bounds(hook);
            assert!(config.webhook(id, name).is_some());
        }
    }
    let _ = format!("{config:?}");
}

/// A whole `botyard.toml`.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_config(text);
    }
}

/// The body of one `[apps.<id>.webhooks.<name>]` table, in a `botyard.toml`.
pub fn webhook_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_config(&format!("[apps.fuzz.webhooks.hook]\n{text}"));
    }
}

/// An app's own `<apps_dir>/<id>.toml` (limits only). What is accepted is
/// within bounds, applying it twice is applying it once, and it never
/// grants anything.
pub fn app_limits(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = Limits::default();
    if let Ok(limits) = Config::parse_app_limits("fuzz", text, base) {
        assert_limits_in_bounds(&limits);
        assert_eq!(
            Config::parse_app_limits("fuzz", text, limits),
            Ok(limits),
            "applying the file twice is applying it once"
        );
        let table: toml::Table = toml::from_str(text).expect("it parsed");
        assert!(!table.contains_key("grants"));
    }
}

// ---------------------------------------------------------------------------
// Block Kit limits (`slack/blocks.rs`).

/// Every `action_id` and `block_id` string anywhere in `value`.
fn ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if let ("action_id" | "block_id", Value::String(id)) = (key.as_str(), inner) {
                    out.push(id.clone());
                }
                ids(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| ids(item, out)),
        _ => {}
    }
}

fn chars_at(value: &Value, pointer: &str) -> usize {
    str_at(value, pointer).map_or(0, |s| s.chars().count())
}

fn assert_blocks_within_limits(blocks: &Value, max: usize) {
    let list = blocks.as_array().expect("accepted blocks are an array");
    assert!(list.len() <= max, "{} blocks accepted", list.len());
    for block in list {
        let kind = str_at(block, "/type").expect("every accepted block has a type");
        match kind {
            "section" => assert!(chars_at(block, "/text/text") <= blocks::MAX_SECTION_TEXT),
            "header" => assert!(chars_at(block, "/text/text") <= blocks::MAX_HEADER_TEXT),
            _ => {}
        }
        let mut found = Vec::new();
        ids(block, &mut found);
        for id in found {
            assert!(id.chars().count() <= blocks::MAX_ID_LEN);
        }
    }
}

/// The same text checked as a message's text, a message's `blocks` and a
/// view: what is accepted is within Slack's limits, and is accepted again
/// once re-serialised.
pub fn blocks(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(
        blocks::check_message_text(text).is_ok(),
        text.chars().count() <= blocks::MAX_MESSAGE_TEXT
    );
    if let Ok(list) = blocks::parse_message_blocks(text) {
        assert_blocks_within_limits(&list, blocks::MAX_MESSAGE_BLOCKS);
        assert!(blocks::parse_message_blocks(&list.to_string()).is_ok());
    }
    if let Ok(view) = blocks::parse_view(text) {
        match str_at(&view, "/type") {
            Some("modal") => {
                let title = chars_at(&view, "/title/text");
                assert!((1..=blocks::MAX_VIEW_TITLE).contains(&title));
            }
            Some("home") => {}
            other => panic!("a view of type {other:?} accepted"),
        }
        assert!(chars_at(&view, "/callback_id") <= blocks::MAX_ID_LEN);
        assert!(chars_at(&view, "/private_metadata") <= blocks::MAX_PRIVATE_METADATA);
        assert_blocks_within_limits(&view["blocks"], blocks::MAX_VIEW_BLOCKS);
        assert!(blocks::parse_view(&view.to_string()).is_ok());
    }
}

/// What a person says to `@botyard`, as the host reads it: the bot's
/// mention taken out (`inbound/mentions.rs`), then the plain-words matcher
/// (`routing/plain_words/`) over phrases with a slot of every kind. A
/// command understood is one of the declared ones, and never longer than
/// what was said and its template together; choices are one to three.
pub fn plain_words(data: &[u8]) {
    use crate::contract::description::Description;
    use crate::contract::phrases::{ChoiceSpec, PhraseSpec, SlotKind, SlotSpec};
    use crate::routing::plain_words::{Matcher, Understanding};
    static MATCHER: std::sync::OnceLock<Matcher> = std::sync::OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let matcher = MATCHER.get_or_init(|| {
        let slot = |name: &str, kind: SlotKind| SlotSpec {
            name: name.into(),
            kind,
            default: None,
            optional: true,
        };
        let phrase = |line: &str, aliases: &[&str], slots: Vec<SlotSpec>| PhraseSpec {
            line: line.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            examples: vec![format!("please {} now", aliases[0])],
            slots,
            read_only: false,
        };
        let mut d = Description::empty();
        d.phrases = vec![
            phrase(
                "/po approve {po} [for {why}]",
                &["approve", "승인"],
                vec![
                    SlotSpec {
                        optional: false,
                        ..slot("po", SlotKind::Id("PO-".into()))
                    },
                    slot("why", SlotKind::Text),
                ],
            ),
            phrase(
                "/ops stop {name} [{dc}] [{n}] [{when}]",
                &["stop", "중지"],
                vec![
                    slot("name", SlotKind::Pattern("[a-z]+-[0-9]+".into())),
                    slot("dc", SlotKind::Word),
                    slot("n", SlotKind::Number),
                    slot("when", SlotKind::Duration),
                ],
            ),
            phrase(
                "/give {who} {amount} {day} {kind}",
                &["give", "줘"],
                vec![
                    slot("who", SlotKind::User),
                    slot("amount", SlotKind::Amount),
                    slot("day", SlotKind::Date),
                    slot(
                        "kind",
                        SlotKind::Choice(vec![ChoiceSpec {
                            value: "gold".into(),
                            words: vec!["gold".into(), "금".into()],
                        }]),
                    ),
                ],
            ),
            phrase(
                "/claim reject {id} [{why}]",
                &["reject", "반품"],
                vec![
                    slot("id", SlotKind::Id(String::new())),
                    slot("why", SlotKind::Text),
                ],
            ),
        ];
        let app: std::sync::Arc<str> = "fuzz".into();
        Matcher::build([(&app, &d)])
    });
    let said = crate::inbound::mentions::without_the_mention(text);
    assert!(said.len() <= text.len());
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).expect("a date");
    match matcher.understand(&said, today) {
        Understanding::Command(u) => {
            assert!(
                ["/po approve", "/ops stop", "/give", "/claim reject"]
                    .iter()
                    .any(|c| u.line == *c || u.line.starts_with(&format!("{c} "))),
                "{:?}",
                u.line
            );
            assert!(u.line.len() <= said.len() + 64, "{:?}", u.line);
        }
        Understanding::Unclear(choices) => assert!((1..=3).contains(&choices.len())),
        Understanding::Nothing => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_signatures_differ_in_one_digit() {
        let good = signature::sign(SIGNING_SECRET, "1", b"");
        for seed in 0..70 {
            let forged = forge(&good, "v0=", seed);
            assert_eq!(forged.len(), good.len());
            assert_ne!(forged, good);
        }
    }

    #[test]
    fn every_target_runs_on_empty_and_simple_input() {
        for target in TARGETS {
            for input in [&b""[..], b"\n", b"{}", b"a=b", b"x = 1"] {
                (target.run)(input);
            }
        }
    }
}
