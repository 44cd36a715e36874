//! The Slack emulator against real loopback HTTP and WebSockets: the Web
//! API as the host's client sees it, signed requests as the host's receiver
//! sees them, and the Socket Mode protocol. A tiny verifying receiver stands
//! in for the host, so a wrong signature or shape makes these tests fail.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use botyard::emulator::{
    DisconnectReason, Emulator, EmulatorConfig, Endpoint, Fault, HostUrls, RawRequest, Signing,
    Transport,
};
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as Ws;

const BOUND: Duration = Duration::from_secs(10);

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts")
}

/// Calls a Web API method with a JSON body, as the host's client may.
async fn call_json(
    slack: &Emulator,
    token: Option<&str>,
    method: &str,
    args: Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{method}", slack.base_url()))
        .json(&args);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("emulator answers");
    (
        response.status().as_u16(),
        response.json().await.expect("JSON body"),
    )
}

/// Calls a Web API method with a form body, the other encoding Slack accepts.
async fn call_form(slack: &Emulator, method: &str, args: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .post(format!("{}{method}", slack.base_url()))
        .bearer_auth(&slack.config().bot_token)
        .form(args)
        .send()
        .await
        .expect("emulator answers")
        .json()
        .await
        .expect("JSON body")
}

async fn bot(slack: &Emulator, method: &str, args: Value) -> Value {
    let token = slack.config().bot_token.clone();
    call_json(slack, Some(&token), method, args).await.1
}

#[tokio::test]
async fn bearer_tokens_are_checked_like_slack() {
    let slack = emulator().await;
    let bot_token = slack.config().bot_token.clone();
    let app_token = slack.config().app_token.clone();

    let (status, body) = call_json(&slack, None, "auth.test", json!({})).await;
    assert_eq!((status, body["error"].as_str()), (200, Some("not_authed")));
    let (status, body) = call_json(&slack, Some("xoxb-forged"), "auth.test", json!({})).await;
    assert_eq!(
        (status, body["ok"].as_bool(), body["error"].as_str()),
        (200, Some(false), Some("invalid_auth"))
    );
    let (_, body) = call_json(
        &slack,
        Some(&app_token),
        "chat.postMessage",
        json!({"channel": "general", "text": "x"}),
    )
    .await;
    assert_eq!(body["error"], "not_allowed_token_type");
    let (_, body) = call_json(&slack, Some(&bot_token), "apps.connections.open", json!({})).await;
    assert_eq!(body["error"], "not_allowed_token_type");

    let (_, body) = call_json(&slack, Some(&bot_token), "auth.test", json!({})).await;
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["user_id"], slack.config().bot_user_id);
    assert_eq!(body["team_id"], slack.config().team_id);
    let body = call_form(&slack, "auth.test", &[]).await;
    assert_eq!(body["ok"], true);
    assert_eq!(slack.calls("auth.test"), 4);
    assert!(
        slack.messages("general").is_empty(),
        "a refused call posts nothing"
    );
}

#[tokio::test]
async fn post_update_delete_and_ephemerals_are_visible_per_user() {
    let slack = emulator().await;
    let general = slack.channel_id("general").unwrap();
    let alice = slack.user_id("alice").unwrap();
    let bob = slack.user_id("bob").unwrap();

    let posted = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": general, "text": "lunch?"}),
    )
    .await;
    assert_eq!(posted["ok"], true, "{posted}");
    assert_eq!(posted["channel"], general);
    assert_eq!(posted["message"]["text"], "lunch?");
    assert_eq!(posted["message"]["bot_id"], slack.config().bot_id);
    let ts = posted["ts"].as_str().unwrap().to_string();
    let (secs, micros) = ts.split_once('.').unwrap();
    assert!(
        secs.len() == 10 && micros.len() == 6,
        "Slack-shaped ts: {ts}"
    );

    // A thread reply, sent as a form like most clients do.
    let reply = call_form(
        &slack,
        "chat.postMessage",
        &[("channel", &general), ("text", "pizza"), ("thread_ts", &ts)],
    )
    .await;
    assert_eq!(reply["message"]["thread_ts"], ts.as_str(), "{reply}");
    assert!(reply["ts"].as_str().unwrap() > ts.as_str(), "ts increases");
    let thread = slack.thread("general", &ts);
    assert_eq!(
        thread.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["lunch?", "pizza"]
    );
    assert_eq!(
        slack.messages("general").len(),
        1,
        "replies stay in the thread"
    );

    let eph = bot(
        &slack,
        "chat.postEphemeral",
        json!({"channel": general, "user": alice, "text": "only you"}),
    )
    .await;
    assert_eq!(eph["ok"], true, "{eph}");
    assert!(eph["message_ts"].is_string());
    let seen = |user: &str| -> Vec<String> {
        slack
            .visible_to(user, "general")
            .into_iter()
            .map(|m| m.text)
            .collect()
    };
    assert_eq!(seen("alice"), ["lunch?", "only you"]);
    assert_eq!(seen(&bob), ["lunch?"]);

    let updated = bot(
        &slack,
        "chat.update",
        json!({"channel": general, "ts": ts, "text": "lunch at 12?"}),
    )
    .await;
    assert_eq!(
        (updated["ok"].as_bool(), updated["ts"].as_str()),
        (Some(true), Some(ts.as_str())),
        "{updated}"
    );
    assert_eq!(slack.messages("general")[0].text, "lunch at 12?");
    assert!(slack.messages("general")[0].edited);

    let reacted = bot(
        &slack,
        "reactions.add",
        json!({"channel": general, "timestamp": ts, "name": "pizza"}),
    )
    .await;
    assert_eq!(reacted["ok"], true, "{reacted}");
    let again = bot(
        &slack,
        "reactions.add",
        json!({"channel": general, "timestamp": ts, "name": ":pizza:"}),
    )
    .await;
    assert_eq!(again["error"], "already_reacted");
    assert_eq!(
        slack.reactions("general", &ts),
        [(
            "pizza".to_string(),
            vec![slack.config().bot_user_id.clone()]
        )]
    );

    // A user id as channel means the app's DM with that user.
    let dm = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": bob, "text": "psst"}),
    )
    .await;
    let dm_id = dm["channel"].as_str().unwrap().to_string();
    assert!(dm_id.starts_with('D'), "{dm}");
    let opened = bot(&slack, "conversations.open", json!({"users": bob})).await;
    assert_eq!(opened["channel"]["id"], dm_id.as_str());
    assert_eq!(slack.messages(&dm_id)[0].text, "psst");

    // Slack's errors for bad input.
    let errors = [
        (
            "chat.postMessage",
            json!({"channel": "C_NOPE", "text": "x"}),
            "channel_not_found",
        ),
        ("chat.postMessage", json!({"channel": general}), "no_text"),
        (
            "chat.postMessage",
            json!({"channel": general, "text": "x".repeat(40_001)}),
            "msg_too_long",
        ),
        (
            "chat.update",
            json!({"channel": general, "ts": "1.000001", "text": "x"}),
            "message_not_found",
        ),
        (
            "chat.update",
            json!({"channel": general, "text": "x"}),
            "invalid_arguments",
        ),
        (
            "chat.postEphemeral",
            json!({"channel": dm_id, "user": alice, "text": "x"}),
            "user_not_in_channel",
        ),
        ("users.info", json!({"user": "U_NOPE"}), "user_not_found"),
        (
            "reactions.add",
            json!({"channel": general, "timestamp": "1.000001", "name": "x"}),
            "message_not_found",
        ),
        ("no.such.method", json!({}), "unknown_method"),
    ];
    for (method, args, code) in errors {
        let body = bot(&slack, method, args).await;
        assert_eq!(
            (body["ok"].as_bool(), body["error"].as_str()),
            (Some(false), Some(code)),
            "{method}: {body}"
        );
    }

    let deleted = bot(&slack, "chat.delete", json!({"channel": general, "ts": ts})).await;
    assert_eq!(deleted["ok"], true, "{deleted}");
    assert!(slack.messages("general").is_empty());
    let gone = bot(&slack, "chat.delete", json!({"channel": general, "ts": ts})).await;
    assert_eq!(gone["error"], "message_not_found");

    let info = bot(&slack, "users.info", json!({"user": alice})).await;
    assert_eq!(info["user"]["name"], "alice");
}

#[tokio::test]
async fn invalid_blocks_are_refused_with_slacks_error_and_details() {
    let slack = emulator().await;
    let section = json!({"type": "section", "text": {"type": "mrkdwn", "text": "x"}});
    let too_many = Value::Array(vec![section; 51]);
    let body = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "general", "text": "t", "blocks": too_many}),
    )
    .await;
    assert_eq!(body["error"], "invalid_blocks", "{body}");
    let detail = body["response_metadata"]["messages"][0]
        .as_str()
        .unwrap_or_default();
    assert!(
        detail.starts_with("[ERROR]") && detail.contains("50"),
        "{detail}"
    );

    // Form-encoded blocks travel as a JSON string.
    let body = call_form(
        &slack,
        "chat.postMessage",
        &[("channel", "general"), ("blocks", "[{not json")],
    )
    .await;
    assert_eq!(body["error"], "invalid_blocks_format", "{body}");
    let long_id = json!([{"type": "actions", "elements": [{"type": "button", "action_id": "a".repeat(256), "text": {"type": "plain_text", "text": "go"}}]}]);
    let body = call_form(
        &slack,
        "chat.postMessage",
        &[("channel", "general"), ("blocks", &long_id.to_string())],
    )
    .await;
    assert_eq!(body["error"], "invalid_blocks", "{body}");
    assert!(slack.messages("general").is_empty(), "nothing posted");

    let ok = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]);
    let body = call_form(
        &slack,
        "chat.postMessage",
        &[("channel", "general"), ("blocks", &ok.to_string())],
    )
    .await;
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(slack.messages("general")[0].blocks, Some(ok));
}

#[tokio::test]
async fn injected_429_and_5xx_then_success() {
    let slack = emulator().await;
    slack.inject(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 2,
        },
        2,
    );
    slack.inject("chat.postMessage", Fault::ServerError(503), 1);
    let client = reqwest::Client::new();
    let post = || {
        client
            .post(format!("{}chat.postMessage", slack.base_url()))
            .bearer_auth(&slack.config().bot_token)
            .form(&[("channel", "general"), ("text", "hi")])
            .send()
    };
    for _ in 0..2 {
        let response = post().await.unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "2");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"ok": false, "error": "ratelimited"}));
    }
    assert_eq!(post().await.unwrap().status().as_u16(), 503);
    assert!(
        slack.messages("general").is_empty(),
        "faulted calls do nothing"
    );
    let response = post().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["ok"], true);
    assert_eq!(slack.calls("chat.postMessage"), 4);
    assert_eq!(slack.pending_faults("chat.postMessage"), 0);
    assert_eq!(slack.messages("general").len(), 1);
}

#[tokio::test]
async fn views_need_a_fresh_single_use_trigger() {
    let slack = emulator().await;
    let modal =
        json!({"type": "modal", "title": {"type": "plain_text", "text": "Vote"}, "blocks": []});
    let trigger = slack.issue_trigger("alice").unwrap();
    let opened = bot(
        &slack,
        "views.open",
        json!({"trigger_id": trigger, "view": modal}),
    )
    .await;
    assert_eq!(opened["ok"], true, "{opened}");
    let view_id = opened["view"]["id"].as_str().unwrap().to_string();
    let hash = opened["view"]["hash"].as_str().unwrap().to_string();
    assert_eq!(slack.views_of("alice").len(), 1);
    let reused = bot(
        &slack,
        "views.open",
        json!({"trigger_id": trigger, "view": modal}),
    )
    .await;
    assert_eq!(reused["error"], "exchanged_trigger_id");
    let bogus = bot(
        &slack,
        "views.open",
        json!({"trigger_id": "1.2.3", "view": modal}),
    )
    .await;
    assert_eq!(bogus["error"], "invalid_trigger_id");

    let pushed = bot(
        &slack,
        "views.push",
        json!({"trigger_id": slack.issue_trigger("alice").unwrap(), "view": modal}),
    )
    .await;
    assert_eq!(
        pushed["view"]["previous_view_id"],
        view_id.as_str(),
        "{pushed}"
    );
    assert_eq!(slack.views_of("alice").len(), 2);

    let renamed =
        json!({"type": "modal", "title": {"type": "plain_text", "text": "Voted"}, "blocks": []});
    let updated = bot(
        &slack,
        "views.update",
        json!({"view_id": view_id, "hash": hash, "view": renamed}),
    )
    .await;
    assert_eq!(updated["ok"], true, "{updated}");
    let stale = bot(
        &slack,
        "views.update",
        json!({"view_id": view_id, "hash": hash, "view": renamed}),
    )
    .await;
    assert_eq!(stale["error"], "hash_conflict");
    assert_eq!(slack.views_of("alice")[0].view["title"]["text"], "Voted");
    let too_long = json!({"type": "modal", "title": {"type": "plain_text", "text": "x".repeat(25)}, "blocks": []});
    let refused = bot(
        &slack,
        "views.update",
        json!({"view_id": view_id, "view": too_long}),
    )
    .await;
    assert_eq!(refused["error"], "invalid_arguments", "{refused}");

    let alice = slack.user_id("alice").unwrap();
    let home = json!({"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "welcome"}}]});
    let published = bot(
        &slack,
        "views.publish",
        json!({"user_id": alice, "view": home}),
    )
    .await;
    assert_eq!(published["ok"], true, "{published}");
    assert_eq!(
        slack.home_of("alice").unwrap().view["blocks"][0]["text"]["text"],
        "welcome"
    );
    assert!(slack.home_of("bob").is_none());

    let late = slack.issue_trigger("bob").unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let expired = bot(
        &slack,
        "views.open",
        json!({"trigger_id": late, "view": modal}),
    )
    .await;
    assert_eq!(expired["error"], "expired_trigger_id");
    assert!(slack.views_of("bob").is_empty());
}

// --- a tiny host that verifies Slack's signature independently ---

#[derive(Clone, Debug)]
struct Captured {
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Captured>>>,
    secret: String,
}

fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let timestamp = header("x-slack-request-timestamp");
    let Ok(ts) = timestamp.parse::<i64>() else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - ts).abs() > 300 {
        return false;
    }
    let Some(given) = header("x-slack-signature")
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !verify(&receiver.secret, &headers, &body) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body = String::from_utf8(body.to_vec()).unwrap();
    receiver.seen.lock().unwrap().push(Captured {
        path: uri.path().to_string(),
        headers: headers.clone(),
        body: body.clone(),
    });
    match uri.path() {
        "/commands" => {
            axum::Json(json!({"response_type": "in_channel", "text": "pong"})).into_response()
        }
        "/interactive" => {
            let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
            let payload: Value = serde_json::from_str(&form[0].1).unwrap();
            let answer = payload["view"]["state"]["values"]["b"]["a"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if payload["type"] == "view_submission" && answer.is_empty() {
                axum::Json(json!({"response_action": "errors", "errors": {"b": "say something"}}))
                    .into_response()
            } else {
                StatusCode::OK.into_response()
            }
        }
        _ => StatusCode::OK.into_response(),
    }
}

async fn receiver(slack: &Emulator) -> Receiver {
    let receiver = Receiver {
        seen: Arc::default(),
        secret: slack.config().signing_secret.clone(),
    };
    let app = Router::new()
        .fallback(post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    slack.set_request_urls(HostUrls {
        commands: Some(format!("http://{addr}/commands")),
        events: Some(format!("http://{addr}/events")),
        interactivity: Some(format!("http://{addr}/interactive")),
    });
    receiver
}

fn form_field(body: &str, key: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(body)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[tokio::test]
async fn outbound_requests_are_signed_and_shaped_like_slacks() {
    let slack = emulator().await;
    let host = receiver(&slack).await;
    let alice = slack.user_id("alice").unwrap();
    let general = slack.channel_id("general").unwrap();

    let reply = slack
        .send_slash_command("alice", "general", "/ping  hello world")
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.transport, Transport::Http);
    let seen = host.seen.lock().unwrap()[0].clone();
    assert_eq!(
        seen.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    for (key, want) in [
        ("command", "/ping"),
        ("text", "hello world"),
        ("user_id", &alice),
        ("channel_id", &general),
        ("team_id", &slack.config().team_id),
        ("api_app_id", &slack.config().api_app_id),
    ] {
        assert_eq!(form_field(&seen.body, key), want, "{key}");
    }
    let response_url = form_field(&seen.body, "response_url");
    assert_eq!(Some(response_url.clone()), reply.response_url);
    assert!(!form_field(&seen.body, "trigger_id").is_empty());
    // The in_channel reply is now in the channel.
    assert_eq!(slack.messages("general").last().unwrap().text, "pong");

    // A delayed ephemeral through response_url, then replacing it.
    let client = reqwest::Client::new();
    let ok: Value = client
        .post(&response_url)
        .json(&json!({"text": "working…"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["ok"], true);
    assert_eq!(
        slack.visible_to("alice", "general").last().unwrap().text,
        "working…"
    );
    assert!(
        slack
            .visible_to("bob", "general")
            .iter()
            .all(|m| m.text != "working…")
    );
    client
        .post(&response_url)
        .json(&json!({"text": "done", "replace_original": true}))
        .send()
        .await
        .unwrap();
    let alice_sees: Vec<String> = slack
        .visible_to("alice", "general")
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(alice_sees, ["pong", "done"]);

    // A button click on a posted message: payload= form with Slack's fields.
    let blocks = json!([{"type": "actions", "block_id": "vote", "elements": [{"type": "button", "action_id": "poll:yes", "value": "yes", "text": {"type": "plain_text", "text": "Yes"}}]}]);
    let posted = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "general", "text": "vote", "blocks": blocks}),
    )
    .await;
    let ts = posted["ts"].as_str().unwrap();
    let click = slack
        .send_block_actions("alice", "general", ts, "poll:yes", "yes")
        .await
        .unwrap();
    assert_eq!(click.status, 200);
    let seen = host.seen.lock().unwrap().last().unwrap().clone();
    assert_eq!(seen.path, "/interactive");
    let payload: Value = serde_json::from_str(&form_field(&seen.body, "payload")).unwrap();
    assert_eq!(payload["type"], "block_actions");
    assert_eq!(payload["user"]["id"], alice.as_str());
    assert_eq!(payload["container"]["message_ts"], ts);
    assert_eq!(payload["actions"][0]["block_id"], "vote");
    assert_eq!(payload["actions"][0]["value"], "yes");
    assert_eq!(payload["message"]["ts"], ts);
    // The click's response_url replaces the clicked message.
    let url = payload["response_url"].as_str().unwrap();
    client
        .post(url)
        .json(&json!({"replace_original": true, "text": "thanks for voting"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        slack.messages("general").last().unwrap().text,
        "thanks for voting"
    );
    client
        .post(url)
        .json(&json!({"delete_original": true}))
        .send()
        .await
        .unwrap();
    assert!(slack.messages("general").iter().all(|m| m.ts != ts));

    // An event, then its retry: same event_id, Slack's retry headers.
    let event = json!({"type": "app_mention", "user": alice, "text": "<@U0EMUBOT01> hi", "channel": general});
    let first = slack.send_event(event.clone(), None).await.unwrap();
    let retried = slack.send_event(event, Some(1)).await.unwrap();
    assert_eq!((first.status, retried.status), (200, 200));
    assert_eq!(first.event_id, retried.event_id);
    let events: Vec<Captured> = host
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.path == "/events")
        .cloned()
        .collect();
    assert_eq!(events.len(), 2);
    let envelope: Value = serde_json::from_str(&events[0].body).unwrap();
    assert_eq!(envelope["type"], "event_callback");
    assert_eq!(envelope["event"]["type"], "app_mention");
    assert!(
        envelope["event_time"].is_i64() && envelope["event_id"].as_str().unwrap().starts_with("Ev")
    );
    assert!(events[0].headers.get("x-slack-retry-num").is_none());
    assert_eq!(events[1].headers["x-slack-retry-num"], "1");
    assert_eq!(events[1].headers["x-slack-retry-reason"], "http_timeout");
}

#[tokio::test]
async fn view_submissions_apply_the_hosts_response_action() {
    let slack = emulator().await;
    let _host = receiver(&slack).await;
    let modal = json!({"type": "modal", "callback_id": "feedback", "title": {"type": "plain_text", "text": "Feedback"}, "submit": {"type": "plain_text", "text": "Send"}, "blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "Say"}, "element": {"type": "plain_text_input", "action_id": "a"}}]});
    let opened = bot(
        &slack,
        "views.open",
        json!({"trigger_id": slack.issue_trigger("carol").unwrap(), "view": modal}),
    )
    .await;
    let view_id = opened["view"]["id"].as_str().unwrap().to_string();

    let empty = json!({"b": {"a": {"type": "plain_text_input", "value": ""}}});
    let reply = slack
        .send_view_submission("carol", &view_id, empty)
        .await
        .unwrap();
    assert_eq!(reply.json().unwrap()["response_action"], "errors");
    let views = slack.views_of("carol");
    assert_eq!(views.len(), 1, "errors keep the modal open");
    assert_eq!(views[0].errors, Some(json!({"b": "say something"})));

    let filled = json!({"b": {"a": {"type": "plain_text_input", "value": "great"}}});
    let reply = slack
        .send_view_submission("carol", &view_id, filled)
        .await
        .unwrap();
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));
    assert!(
        slack.views_of("carol").is_empty(),
        "an empty 200 closes the modal"
    );
}

#[tokio::test]
async fn forged_and_stale_requests_fail_verification() {
    let slack = emulator().await;
    let host = receiver(&slack).await;
    let body = "token=x&command=%2Fping&text=";
    let form = "application/x-www-form-urlencoded";
    let ten_minutes_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 600;
    let cases = [
        (Signing::Valid, 200),
        (Signing::At(ten_minutes_ago), 401),
        (Signing::Secret("not-the-secret".into()), 401),
        (Signing::Signature("v0=deadbeef".into()), 401),
        (Signing::Unsigned, 401),
    ];
    for (signing, want) in cases {
        let request = RawRequest::new(Endpoint::Commands, form, body).signing(signing.clone());
        let reply = slack.send_raw(request).await.unwrap();
        assert_eq!(reply.status, want, "{signing:?}");
    }
    assert_eq!(
        host.seen.lock().unwrap().len(),
        1,
        "only the valid request got through"
    );
}

// --- Socket Mode ---

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(slack: &Emulator) -> (Socket, Value) {
    let app_token = slack.config().app_token.clone();
    let (_, opened) = call_json(slack, Some(&app_token), "apps.connections.open", json!({})).await;
    let url = opened["url"].as_str().expect("a ws:// url").to_string();
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("socket connects");
    let hello = next_json(&mut socket).await;
    (socket, hello)
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match timeout(BOUND, socket.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Ws::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Ws::Close(_))) | None => return json!({"type": "closed"}),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error: {e}"),
        }
    }
}

async fn ack(socket: &mut Socket, envelope: &Value, payload: Option<Value>) {
    let mut ack = json!({"envelope_id": envelope["envelope_id"]});
    if let Some(payload) = payload {
        ack["payload"] = payload;
    }
    socket.send(Ws::Text(ack.to_string().into())).await.unwrap();
}

#[tokio::test]
async fn socket_mode_hello_envelopes_acks_and_redelivery() {
    let slack = emulator().await;
    let (mut socket, hello) = open_socket(&slack).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(
        hello["connection_info"]["app_id"],
        slack.config().api_app_id
    );

    // A slash command arrives as an envelope; the ack's payload is the reply.
    let sender = slack.clone();
    let command =
        tokio::spawn(async move { sender.send_slash_command("bob", "random", "/ping hi").await });
    let envelope = next_json(&mut socket).await;
    assert_eq!(envelope["type"], "slash_commands");
    assert_eq!(envelope["accepts_response_payload"], true);
    assert_eq!(envelope["payload"]["command"], "/ping");
    assert_eq!(envelope["payload"]["text"], "hi");
    assert!(envelope["payload"]["response_url"].is_string());
    ack(
        &mut socket,
        &envelope,
        Some(json!({"text": "pong over socket"})),
    )
    .await;
    let reply = timeout(BOUND, command).await.unwrap().unwrap().unwrap();
    assert_eq!(reply.transport, Transport::SocketMode);
    assert_eq!(
        reply.envelope_id.as_deref(),
        envelope["envelope_id"].as_str()
    );
    assert_eq!(
        slack.visible_to("bob", "random").last().unwrap().text,
        "pong over socket"
    );

    // An event left unacked when the socket dies is redelivered on the next one.
    let sender = slack.clone();
    let event = tokio::spawn(async move {
        sender
            .send_event(
                json!({"type": "app_home_opened", "user": "U0EMU000005"}),
                None,
            )
            .await
    });
    let unacked = next_json(&mut socket).await;
    assert_eq!(unacked["type"], "events_api");
    assert_eq!(unacked["retry_attempt"], 0);
    assert_eq!(unacked["payload"]["type"], "event_callback");
    drop(socket);
    assert!(slack.wait_for_sockets(0, BOUND).await);
    let (mut socket, hello) = open_socket(&slack).await;
    assert_eq!(hello["type"], "hello");
    let again = next_json(&mut socket).await;
    assert_eq!(again["envelope_id"], unacked["envelope_id"]);
    assert_eq!(again["retry_attempt"], 1);
    ack(&mut socket, &again, None).await;
    let reply = timeout(BOUND, event).await.unwrap().unwrap().unwrap();
    assert_eq!(reply.status, 200);

    let stats = slack.socket_stats();
    assert_eq!(
        (stats.acked, stats.pending, stats.redelivered),
        (2, 0, 1),
        "{stats:?}"
    );
    assert_eq!(stats.delivered, 3);

    // Slack's refresh: a disconnect message, then the socket closes.
    slack.disconnect(DisconnectReason::RefreshRequested);
    let message = next_json(&mut socket).await;
    assert_eq!(
        (message["type"].as_str(), message["reason"].as_str()),
        (Some("disconnect"), Some("refresh_requested"))
    );
    assert_eq!(next_json(&mut socket).await["type"], "closed");
    assert!(slack.wait_for_sockets(0, BOUND).await);
}

#[tokio::test]
async fn a_refresh_with_a_second_socket_loses_nothing() {
    let slack = emulator().await;
    let (mut old, _) = open_socket(&slack).await;
    slack.disconnect(DisconnectReason::Warning);
    assert_eq!(next_json(&mut old).await["reason"], "warning");
    // The host opens its replacement before the old one closes.
    let (mut new, hello) = open_socket(&slack).await;
    assert_eq!(hello["num_connections"], 2);

    let sender = slack.clone();
    let events = tokio::spawn(async move {
        for n in 0..5 {
            sender
                .send_event(json!({"type": "message", "text": format!("m{n}")}), None)
                .await?;
        }
        Ok::<_, botyard::emulator::EmulatorError>(())
    });
    let mut texts = Vec::new();
    while texts.len() < 5 {
        let envelope = next_json(&mut new).await;
        assert_eq!(
            envelope["type"], "events_api",
            "new envelopes go to the fresh socket: {envelope}"
        );
        texts.push(
            envelope["payload"]["event"]["text"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        ack(&mut new, &envelope, None).await;
    }
    timeout(BOUND, events).await.unwrap().unwrap().unwrap();
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(next_json(&mut old).await["type"], "closed");
    let stats = slack.socket_stats();
    assert_eq!(
        (
            stats.delivered,
            stats.acked,
            stats.pending,
            stats.open_connections
        ),
        (5, 5, 0, 1),
        "{stats:?}"
    );

    // A ticket is good for one connection only.
    let app_token = slack.config().app_token.clone();
    let (_, opened) = call_json(&slack, Some(&app_token), "apps.connections.open", json!({})).await;
    let url = opened["url"].as_str().unwrap().to_string();
    let (_first, _) = tokio_tungstenite::connect_async(url.clone()).await.unwrap();
    assert!(
        tokio_tungstenite::connect_async(url).await.is_err(),
        "a reused ticket is refused"
    );
}
