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

    // Read methods take a form (or query); Slack ignores a JSON body there.
    let info = call_form(&slack, "users.info", &[("user", &alice)]).await;
    assert_eq!(info["user"]["name"], "alice");
    let ignored = bot(&slack, "users.info", json!({"user": alice})).await;
    assert_eq!(ignored["error"], "user_not_found", "{ignored}");
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

// --- channels, reads, groups, schedules, files, metadata, shortcuts ---

/// Calls a read method as `GET` with query arguments, as Slack also serves them.
async fn call_get(slack: &Emulator, method: &str, args: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .get(format!("{}{method}", slack.base_url()))
        .bearer_auth(&slack.config().bot_token)
        .query(args)
        .send()
        .await
        .expect("emulator answers")
        .json()
        .await
        .expect("JSON body")
}

fn ok(body: &Value) -> &Value {
    assert_eq!(body["ok"], true, "{body}");
    body
}

fn error(body: &Value) -> &str {
    assert_eq!(body["ok"], false, "{body}");
    body["error"].as_str().unwrap()
}

#[tokio::test]
async fn channels_are_created_invited_topiced_and_pinned_like_slack() {
    let slack = emulator().await;
    let alice = slack.user_id("alice").unwrap();
    let bob = slack.user_id("bob").unwrap();
    let bot_id = slack.config().bot_user_id.clone();

    // Slack's name rules, each with its error code.
    for (name, code) in [
        ("", "invalid_name_required"),
        ("Incidents", "invalid_name_specials"),
        ("has space", "invalid_name_specials"),
        ("#hash", "invalid_name_specials"),
        ("--", "invalid_name_punctuation"),
        (&"x".repeat(81), "invalid_name_maxlength"),
        ("general", "name_taken"),
    ] {
        let body = call_form(&slack, "conversations.create", &[("name", name)]).await;
        assert_eq!(error(&body), code, "{name:?}");
    }
    let created = bot(
        &slack,
        "conversations.create",
        json!({"name": "inc-2024_04", "is_private": true}),
    )
    .await;
    let channel = &ok(&created)["channel"];
    let id = channel["id"].as_str().unwrap().to_string();
    assert!(id.starts_with('C'), "{id}");
    assert_eq!(
        (
            &channel["name"],
            &channel["is_private"],
            &channel["is_channel"],
            &channel["is_member"]
        ),
        (
            &json!("inc-2024_04"),
            &json!(true),
            &json!(true),
            &json!(true)
        )
    );
    assert_eq!(channel["creator"], bot_id.as_str());
    assert_eq!(
        error(
            &bot(
                &slack,
                "conversations.create",
                json!({"name": "inc-2024_04"})
            )
            .await
        ),
        "name_taken"
    );
    assert_eq!(slack.members(&id), std::slice::from_ref(&bot_id));

    // Invites: `users` comma-separated; one bad id fails the call unless `force`.
    let invited = call_form(
        &slack,
        "conversations.invite",
        &[("channel", &id), ("users", &format!("{alice}, {bob}"))],
    )
    .await;
    assert_eq!(ok(&invited)["channel"]["id"], id.as_str());
    assert_eq!(
        slack.members(&id),
        [bot_id.clone(), alice.clone(), bob.clone()]
    );
    let again = bot(
        &slack,
        "conversations.invite",
        json!({"channel": id, "users": alice}),
    )
    .await;
    assert_eq!(error(&again), "already_in_channel");
    assert_eq!(again["errors"][0]["user"], alice.as_str());
    let carol = slack.user_id("carol").unwrap();
    let forced = bot(
        &slack,
        "conversations.invite",
        json!({"channel": id, "users": format!("U_NOPE,{carol}"), "force": true}),
    )
    .await;
    assert_eq!(ok(&forced)["errors"][0]["error"], "user_not_found");
    assert!(slack.members(&id).contains(&carol));
    for (args, code) in [
        (json!({"channel": id, "users": ""}), "no_user"),
        (json!({"channel": id, "users": bot_id}), "cant_invite_self"),
        (
            json!({"channel": "C_NOPE", "users": alice}),
            "channel_not_found",
        ),
        (
            json!({"channel": "#general", "users": alice}),
            "channel_not_found",
        ),
    ] {
        let body = bot(&slack, "conversations.invite", args).await;
        assert_eq!(error(&body), code);
    }
    let joins: Vec<String> = slack
        .messages(&id)
        .iter()
        .filter(|m| m.subtype.as_deref() == Some("channel_join"))
        .map(|m| m.user.clone())
        .collect();
    assert_eq!(joins, [alice.clone(), bob.clone(), carol.clone()]);

    // Topics: ≤ 250 characters, announced in the channel, in the channel object.
    let long = "t".repeat(251);
    assert_eq!(
        error(
            &bot(
                &slack,
                "conversations.setTopic",
                json!({"channel": id, "topic": long}),
            )
            .await
        ),
        "too_long"
    );
    let topic = bot(
        &slack,
        "conversations.setTopic",
        json!({"channel": id, "topic": "Checkout is down :fire:"}),
    )
    .await;
    assert_eq!(
        ok(&topic)["channel"]["topic"]["value"],
        "Checkout is down :fire:"
    );
    assert_eq!(topic["channel"]["topic"]["creator"], bot_id.as_str());
    let announced = slack.messages(&id).last().unwrap().clone();
    assert_eq!(announced.subtype.as_deref(), Some("channel_topic"));
    assert!(announced.text.contains("Checkout is down"), "{announced:?}");
    let info = call_form(
        &slack,
        "conversations.info",
        &[("channel", &id), ("include_num_members", "true")],
    )
    .await;
    assert_eq!(
        ok(&info)["channel"]["topic"]["value"],
        "Checkout is down :fire:"
    );
    assert_eq!(info["channel"]["num_members"], 4);

    // Pins: pins.add, already_pinned, pins.list with the message.
    let posted = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": id, "text": "Status page: https://status.example.com"}),
    )
    .await;
    let ts = ok(&posted)["ts"].as_str().unwrap().to_string();
    let pinned = bot(&slack, "pins.add", json!({"channel": id, "timestamp": ts})).await;
    ok(&pinned);
    assert_eq!(
        error(&bot(&slack, "pins.add", json!({"channel": id, "timestamp": ts})).await),
        "already_pinned"
    );
    assert_eq!(
        error(
            &bot(
                &slack,
                "pins.add",
                json!({"channel": id, "timestamp": "1.000001"})
            )
            .await
        ),
        "message_not_found"
    );
    assert_eq!(
        error(&bot(&slack, "pins.add", json!({"channel": id})).await),
        "no_item_specified"
    );
    let listed = call_form(&slack, "pins.list", &[("channel", &id)]).await;
    let item = &ok(&listed)["items"][0];
    assert_eq!(
        (&item["type"], &item["channel"], &item["message"]["ts"]),
        (&json!("message"), &json!(id), &json!(ts))
    );
    assert_eq!(item["message"]["pinned_to"], json!([id]));
    assert_eq!(item["created_by"], bot_id.as_str());
    assert_eq!(slack.pins(&id)[0].ts, ts);

    // Permalinks have the team domain's shape; a reply's names its thread.
    let link = call_form(
        &slack,
        "chat.getPermalink",
        &[("channel", &id), ("message_ts", &ts)],
    )
    .await;
    let expected = format!(
        "https://{}.slack.com/archives/{id}/p{}",
        slack.config().team_domain,
        ts.replace('.', "")
    );
    assert_eq!(ok(&link)["permalink"], expected.as_str());
    assert_eq!(link["channel"], id.as_str());
    let reply = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": id, "text": "on it", "thread_ts": ts}),
    )
    .await;
    let reply_ts = reply["ts"].as_str().unwrap();
    let link = call_get(
        &slack,
        "chat.getPermalink",
        &[("channel", &id), ("message_ts", reply_ts)],
    )
    .await;
    assert_eq!(
        ok(&link)["permalink"],
        format!(
            "https://{}.slack.com/archives/{id}/p{}?thread_ts={ts}&cid={id}",
            slack.config().team_domain,
            reply_ts.replace('.', "")
        )
        .as_str()
    );
    assert_eq!(
        error(
            &call_form(
                &slack,
                "chat.getPermalink",
                &[("channel", &id), ("message_ts", "1.000001")]
            )
            .await
        ),
        "message_not_found"
    );

    // A channel someone else made: private ones do not exist for the bot
    // until it is in them; in a public one it must join before posting.
    let secret = slack
        .create_channel_as("dave", "dave-secret", true)
        .unwrap();
    let open = slack.create_channel_as("dave", "dave-open", false).unwrap();
    for channel in [&secret, &open] {
        let body = call_form(&slack, "conversations.history", &[("channel", channel)]).await;
        let want = if channel == &secret {
            "channel_not_found"
        } else {
            "not_in_channel"
        };
        assert_eq!(error(&body), want);
        let body = bot(
            &slack,
            "chat.postMessage",
            json!({"channel": channel, "text": "hi"}),
        )
        .await;
        assert_eq!(error(&body), want);
    }
    let info = call_form(&slack, "conversations.info", &[("channel", &open)]).await;
    assert_eq!(ok(&info)["channel"]["is_member"], false);
    assert!(slack.join_channel(&bot_id, &secret).unwrap());
    let body = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": secret, "text": "hi"}),
    )
    .await;
    ok(&body);
    let body = call_form(
        &slack,
        "chat.postEphemeral",
        &[("channel", &secret), ("user", &alice), ("text", "psst")],
    )
    .await;
    assert_eq!(
        error(&body),
        "user_not_in_channel",
        "alice is not in dave's channel"
    );
}

#[tokio::test]
async fn reads_paginate_with_cursors_as_documented() {
    let slack = emulator().await;
    let general = slack.channel_id("general").unwrap();
    for n in 0..5 {
        slack.add_user(&format!("user{n}"));
        slack.add_channel(&format!("room-{n}"));
    }
    let mut stamps = Vec::new();
    for n in 0..7 {
        let posted = bot(
            &slack,
            "chat.postMessage",
            json!({"channel": general, "text": format!("m{n}")}),
        )
        .await;
        stamps.push(posted["ts"].as_str().unwrap().to_string());
    }
    for n in 0..5 {
        bot(
            &slack,
            "chat.postMessage",
            json!({"channel": general, "text": format!("r{n}"), "thread_ts": stamps[0]}),
        )
        .await;
    }

    /// Follows `next_cursor` until it is empty, gathering `key` from each page.
    async fn follow(
        slack: &Emulator,
        method: &str,
        base: &[(&str, &str)],
        limit: &str,
        key: &str,
    ) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut cursor = String::new();
        let mut pages = 0;
        loop {
            let mut args: Vec<(&str, &str)> = base.to_vec();
            args.push(("limit", limit));
            if !cursor.is_empty() {
                args.push(("cursor", &cursor));
            }
            let page = call_form(slack, method, &args).await;
            assert_eq!(page["ok"], true, "{method}: {page}");
            pages += 1;
            let found = page[key].as_array().unwrap();
            assert!(found.len() <= limit.parse().unwrap(), "{page}");
            items.extend(found.iter().cloned());
            cursor = page["response_metadata"]["next_cursor"]
                .as_str()
                .expect("next_cursor is always there")
                .to_string();
            if cursor.is_empty() {
                return (items, pages);
            }
            assert!(pages < 50, "pagination does not end");
        }
    }

    let (members, pages) = follow(&slack, "users.list", &[], "2", "members").await;
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), slack.users().len(), "{names:?}");
    assert_eq!(pages, slack.users().len().div_ceil(2));
    assert!(names.contains(&"user4") && names.contains(&"botyard"));
    let alice = members.iter().find(|m| m["name"] == "alice").unwrap();
    assert_eq!(
        (&alice["is_bot"], &alice["profile"]["email"], &alice["tz"]),
        (
            &json!(false),
            &json!("alice@example.com"),
            &json!("Europe/Berlin")
        )
    );
    let unpaged = call_form(&slack, "users.list", &[]).await;
    assert_eq!(unpaged["members"].as_array().unwrap().len(), members.len());
    assert_eq!(unpaged["response_metadata"]["next_cursor"], "");

    let (channels, _) = follow(&slack, "conversations.list", &[], "3", "channels").await;
    let names: Vec<&str> = channels
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 9, "{names:?}");
    assert!(
        channels
            .iter()
            .all(|c| c["is_channel"] == true && c["num_members"].is_u64())
    );
    let ims = call_form(&slack, "conversations.list", &[("types", "im")]).await;
    assert_eq!(ok(&ims)["channels"], json!([]), "no DM is open yet");

    // History: newest first, top-level only, has_more while pages remain.
    let (history, pages) = follow(
        &slack,
        "conversations.history",
        &[("channel", &general)],
        "3",
        "messages",
    )
    .await;
    let texts: Vec<&str> = history
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]);
    assert_eq!(pages, 3);
    assert_eq!(history[6]["reply_count"], 5);
    assert!(history[6]["latest_reply"].is_string());
    let first = call_form(
        &slack,
        "conversations.history",
        &[("channel", &general), ("limit", "3")],
    )
    .await;
    assert_eq!(first["has_more"], true);
    let window = call_form(
        &slack,
        "conversations.history",
        &[
            ("channel", &general),
            ("oldest", &stamps[2]),
            ("latest", &stamps[5]),
            ("inclusive", "true"),
        ],
    )
    .await;
    let texts: Vec<&str> = window["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["m5", "m4", "m3", "m2"]);

    // Replies: the parent, then the replies oldest first.
    let (thread, _) = follow(
        &slack,
        "conversations.replies",
        &[("channel", &general), ("ts", &stamps[0])],
        "2",
        "messages",
    )
    .await;
    let texts: Vec<&str> = thread.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["m0", "r0", "r1", "r2", "r3", "r4"]);
    assert_eq!(thread[1]["thread_ts"], stamps[0].as_str());
    assert_eq!(
        thread[1]["parent_user_id"],
        slack.config().bot_user_id.as_str()
    );
    assert_eq!(
        error(
            &call_form(
                &slack,
                "conversations.replies",
                &[("channel", &general), ("ts", "1.000001")]
            )
            .await
        ),
        "thread_not_found"
    );

    let (members, _) = follow(
        &slack,
        "conversations.members",
        &[("channel", &general)],
        "4",
        "members",
    )
    .await;
    assert_eq!(
        members.len(),
        slack.users().len(),
        "everyone is in #general"
    );

    // Query-string arguments (GET) work like a form; a cursor from another
    // method, or garbage, is `invalid_cursor`.
    let by_query = call_get(
        &slack,
        "conversations.history",
        &[("channel", &general), ("limit", "1")],
    )
    .await;
    assert_eq!(ok(&by_query)["messages"][0]["text"], "m6");
    let users_cursor = call_form(&slack, "users.list", &[("limit", "1")]).await["response_metadata"]
        ["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    for cursor in [users_cursor.as_str(), "garbage"] {
        let body = call_form(
            &slack,
            "conversations.history",
            &[("channel", &general), ("cursor", cursor)],
        )
        .await;
        assert_eq!(error(&body), "invalid_cursor");
    }
    // Slack ignores a JSON body on read methods: the channel is missing.
    let json_body = bot(&slack, "conversations.history", json!({"channel": general})).await;
    assert_eq!(error(&json_body), "channel_not_found");
    // conversations.* take ids, not names.
    let by_name = call_form(&slack, "conversations.info", &[("channel", "general")]).await;
    assert_eq!(error(&by_name), "channel_not_found");
}

#[tokio::test]
async fn user_groups_come_from_the_config_and_tests_change_their_members() {
    let slack = Emulator::start(EmulatorConfig {
        usergroups: vec![
            botyard::emulator::UserGroupSpec::new("sre-oncall", "SRE on call", &["alice", "bob"]),
            botyard::emulator::UserGroupSpec::new("@support", "Support", &["carol"]),
        ],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let alice = slack.user_id("alice").unwrap();
    let bob = slack.user_id("bob").unwrap();
    let dave = slack.user_id("dave").unwrap();
    let listed = call_form(&slack, "usergroups.list", &[("include_users", "true")]).await;
    let groups = ok(&listed)["usergroups"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 2);
    let sre = groups.iter().find(|g| g["handle"] == "sre-oncall").unwrap();
    assert_eq!(
        (
            &sre["name"],
            &sre["is_usergroup"],
            &sre["users"],
            &sre["user_count"]
        ),
        (
            &json!("SRE on call"),
            &json!(true),
            &json!([alice, bob]),
            &json!(2)
        )
    );
    let id = sre["id"].as_str().unwrap().to_string();
    assert!(id.starts_with('S'), "{id}");
    assert_eq!(
        slack.usergroup_id("@sre-oncall").as_deref(),
        Some(id.as_str())
    );
    let without = call_form(&slack, "usergroups.list", &[]).await;
    assert!(ok(&without)["usergroups"][0]["id"].is_string(), "{without}");
    assert!(
        without["usergroups"][0].get("users").is_none(),
        "users only when asked"
    );

    let members = |slack: Emulator, id: String| async move {
        let body = call_form(&slack, "usergroups.users.list", &[("usergroup", &id)]).await;
        ok(&body)["users"].clone()
    };
    assert_eq!(
        members(slack.clone(), id.clone()).await,
        json!([alice, bob])
    );
    assert!(slack.add_to_usergroup("sre-oncall", "dave").unwrap());
    assert!(
        !slack.add_to_usergroup(&id, "dave").unwrap(),
        "already in it"
    );
    assert!(slack.remove_from_usergroup("@sre-oncall", "alice").unwrap());
    assert_eq!(members(slack.clone(), id.clone()).await, json!([bob, dave]));
    assert!(slack.add_to_usergroup("nobody-here", "dave").is_err());
    let made = slack
        .add_usergroup("db-oncall", "DB on call", &["dave"])
        .unwrap();
    assert_eq!(members(slack.clone(), made).await, json!([dave]));
    let body = call_form(&slack, "usergroups.users.list", &[("usergroup", "S_NOPE")]).await;
    assert_eq!(error(&body), "no_such_subteam");
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn scheduled_messages_are_listed_until_their_time_then_posted() {
    let slack = emulator().await;
    let general = slack.channel_id("general").unwrap();
    let random = slack.channel_id("random").unwrap();
    let now = now_secs();
    for (post_at, code) in [
        (json!(now - 10), "time_in_past"),
        (json!(now + 121 * 24 * 3600), "time_too_far"),
        (json!("soon"), "invalid_time"),
    ] {
        let body = bot(
            &slack,
            "chat.scheduleMessage",
            json!({"channel": general, "text": "x", "post_at": post_at}),
        )
        .await;
        assert_eq!(error(&body), code);
    }
    let parent = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": general, "text": "menu?"}),
    )
    .await;
    let parent_ts = parent["ts"].as_str().unwrap();
    let soon = now + 2;
    let scheduled = bot(
        &slack,
        "chat.scheduleMessage",
        json!({"channel": general, "text": "Lunch in 5", "post_at": soon,
               "metadata": {"event_type": "lunch_reminder", "event_payload": {"menu": "pasta"}}}),
    )
    .await;
    let id = ok(&scheduled)["scheduled_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(id.starts_with('Q'), "{id}");
    assert_eq!(
        (&scheduled["channel"], &scheduled["post_at"]),
        (&json!(general), &json!(soon))
    );
    assert_eq!(scheduled["message"]["type"], "delayed_message");
    // A form works as well, as a reply in a thread.
    let in_thread = call_form(
        &slack,
        "chat.scheduleMessage",
        &[
            ("channel", &general),
            ("text", "reminder in thread"),
            ("post_at", &soon.to_string()),
            ("thread_ts", parent_ts),
        ],
    )
    .await;
    ok(&in_thread);
    let later = bot(
        &slack,
        "chat.scheduleMessage",
        json!({"channel": random, "text": "much later", "post_at": now + 3600}),
    )
    .await;
    let later_id = ok(&later)["scheduled_message_id"]
        .as_str()
        .unwrap()
        .to_string();

    let listed = call_form(&slack, "chat.scheduledMessages.list", &[("limit", "2")]).await;
    let items = ok(&listed)["scheduled_messages"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (
            &items[0]["id"],
            &items[0]["channel_id"],
            &items[0]["post_at"],
            &items[0]["text"]
        ),
        (
            &json!(id),
            &json!(general),
            &json!(soon),
            &json!("Lunch in 5")
        )
    );
    assert!(items[0]["date_created"].is_i64());
    let cursor = listed["response_metadata"]["next_cursor"].as_str().unwrap();
    assert!(!cursor.is_empty());
    let rest = call_form(
        &slack,
        "chat.scheduledMessages.list",
        &[("limit", "2"), ("cursor", cursor)],
    )
    .await;
    assert_eq!(rest["scheduled_messages"][0]["id"], later_id.as_str());
    assert_eq!(rest["response_metadata"]["next_cursor"], "");
    let in_random = call_form(
        &slack,
        "chat.scheduledMessages.list",
        &[("channel", &random)],
    )
    .await;
    assert_eq!(in_random["scheduled_messages"].as_array().unwrap().len(), 1);

    // Deleting: only with the right channel and id.
    let wrong = call_form(
        &slack,
        "chat.deleteScheduledMessage",
        &[("channel", &general), ("scheduled_message_id", &later_id)],
    )
    .await;
    assert_eq!(error(&wrong), "invalid_scheduled_message_id");
    let deleted = call_form(
        &slack,
        "chat.deleteScheduledMessage",
        &[("channel", &random), ("scheduled_message_id", &later_id)],
    )
    .await;
    ok(&deleted);
    assert_eq!(slack.scheduled(None).len(), 2);
    assert!(
        slack
            .messages("general")
            .iter()
            .all(|m| m.text != "Lunch in 5")
    );

    // When its time comes, it is in the channel (and its reply in the thread).
    let deadline = std::time::Instant::now() + BOUND;
    while !slack
        .messages("general")
        .iter()
        .any(|m| m.text == "Lunch in 5")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduled message never posted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let posted = slack
        .messages("general")
        .into_iter()
        .find(|m| m.text == "Lunch in 5")
        .unwrap();
    assert!(now_secs() >= soon);
    assert_eq!(posted.user, slack.config().bot_user_id);
    assert_eq!(
        posted.metadata.as_ref().unwrap()["event_type"],
        "lunch_reminder"
    );
    timeout(BOUND, async {
        while slack.thread("general", parent_ts).len() < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the thread reply posted");
    assert!(slack.scheduled(None).is_empty());
    let listed = call_form(&slack, "chat.scheduledMessages.list", &[]).await;
    assert_eq!(listed["scheduled_messages"], json!([]));
}

/// The three steps of a file upload, as a client makes them.
async fn upload(slack: &Emulator, name: &str, bytes: &[u8], multipart: bool) -> String {
    let target = call_form(
        slack,
        "files.getUploadURLExternal",
        &[("filename", name), ("length", &bytes.len().to_string())],
    )
    .await;
    let url = ok(&target)["upload_url"].as_str().unwrap().to_string();
    let file_id = target["file_id"].as_str().unwrap().to_string();
    assert!(file_id.starts_with('F'), "{file_id}");
    assert!(
        url.starts_with(&format!("http://{}/", slack.addr())),
        "{url}"
    );
    let client = reqwest::Client::new();
    let request = if multipart {
        // What the JavaScript SDK's fetch sends: one file part.
        let boundary = "----emulatorTestBoundary7MA4YWxkTrZu0gW";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        client
            .post(&url)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
    } else {
        client.post(&url).body(bytes.to_vec())
    };
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        format!("OK - {}", bytes.len())
    );
    file_id
}

#[tokio::test]
async fn files_upload_in_three_steps_and_are_shared_as_a_message() {
    let slack = emulator().await;
    let general = slack.channel_id("general").unwrap();
    let csv = b"name,votes\nalice,3\nbob,2\n";
    let missing = call_form(
        &slack,
        "files.getUploadURLExternal",
        &[("filename", "x.csv")],
    )
    .await;
    assert_eq!(error(&missing), "invalid_arguments");
    // Slack ignores a JSON body here: filename and length are missing.
    let as_json = bot(
        &slack,
        "files.getUploadURLExternal",
        json!({"filename": "x.csv", "length": 3}),
    )
    .await;
    assert_eq!(error(&as_json), "invalid_arguments");

    let raw = upload(&slack, "votes.csv", csv, false).await;
    let parent = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": general, "text": "export?"}),
    )
    .await;
    let parent_ts = parent["ts"].as_str().unwrap().to_string();
    // Completion takes `files` inline in JSON, as the host sends it.
    let done = bot(
        &slack,
        "files.completeUploadExternal",
        json!({"files": [{"id": raw, "title": "Votes"}], "channel_id": general,
               "thread_ts": parent_ts, "initial_comment": "Here you go"}),
    )
    .await;
    let file = &ok(&done)["files"][0];
    assert_eq!(
        (
            &file["id"],
            &file["title"],
            &file["name"],
            &file["size"],
            &file["filetype"]
        ),
        (
            &json!(raw),
            &json!("Votes"),
            &json!("votes.csv"),
            &json!(csv.len()),
            &json!("csv")
        )
    );
    assert_eq!(file["mimetype"], "text/csv");
    let thread = slack.thread("general", &parent_ts);
    let shared = &thread[1];
    assert_eq!(
        (shared.text.as_str(), shared.files.as_slice()),
        ("Here you go", &[raw.clone()][..])
    );
    assert_eq!(slack.file_content(&raw).as_deref(), Some(&csv[..]));

    // The JavaScript SDK's way: multipart bytes, `files` as a JSON string in a form.
    let png = [0x89, b'P', b'N', b'G', 0, 1, 2, 255];
    let multi = upload(&slack, "chart.png", &png, true).await;
    let files = json!([{"id": multi, "title": "Chart"}]).to_string();
    let done = call_form(
        &slack,
        "files.completeUploadExternal",
        &[("files", &files), ("channel_id", &general)],
    )
    .await;
    ok(&done);
    assert_eq!(slack.file_content(&multi).as_deref(), Some(&png[..]));
    let top = slack.messages("general").last().unwrap().clone();
    assert_eq!(top.files, std::slice::from_ref(&multi));

    // History carries the file objects; url_private serves the bytes to the bot token.
    let history = call_form(
        &slack,
        "conversations.history",
        &[("channel", &general), ("limit", "1")],
    )
    .await;
    let shown = &history["messages"][0]["files"][0];
    assert_eq!(shown["id"], multi.as_str());
    assert_eq!(shown["channels"], json!([general]));
    let url = shown["url_private"].as_str().unwrap();
    let client = reqwest::Client::new();
    let denied = client.get(url).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    let fetched = client
        .get(url)
        .bearer_auth(&slack.config().bot_token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&fetched[..], &png[..]);
    let info = call_form(&slack, "files.info", &[("file", &multi)]).await;
    assert_eq!(ok(&info)["file"]["title"], "Chart");

    // An upload URL is good once; completing an id that got no bytes fails.
    let target = call_form(
        &slack,
        "files.getUploadURLExternal",
        &[("filename", "empty.txt"), ("length", "0")],
    )
    .await;
    let never = target["file_id"].as_str().unwrap();
    let body = bot(
        &slack,
        "files.completeUploadExternal",
        json!({"files": [{"id": never}], "channel_id": general}),
    )
    .await;
    assert_eq!(error(&body), "file_not_found");
    let body = bot(
        &slack,
        "files.completeUploadExternal",
        json!({"files": [{"id": "F_NOPE"}], "channel_id": general}),
    )
    .await;
    assert_eq!(error(&body), "file_not_found");
    // `channel_id` is a conversation id: not a name, not a user id.
    let alice = slack.user_id("alice").unwrap();
    let another = upload(&slack, "more.txt", b"more", false).await;
    for channel in ["general", alice.as_str()] {
        let body = bot(
            &slack,
            "files.completeUploadExternal",
            json!({"files": [{"id": another}], "channel_id": channel}),
        )
        .await;
        assert_eq!(error(&body), "channel_not_found", "{channel}");
    }
}

#[tokio::test]
async fn metadata_is_kept_and_returned_when_asked_for() {
    let slack = emulator().await;
    let general = slack.channel_id("general").unwrap();
    let metadata =
        json!({"event_type": "incident_opened", "event_payload": {"id": 42, "sev": "1"}});
    let posted = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": general, "text": "INC-42 opened", "metadata": metadata}),
    )
    .await;
    let ts = ok(&posted)["ts"].as_str().unwrap().to_string();
    assert_eq!(posted["message"]["metadata"], metadata);
    // A form carries it as a JSON string.
    let reply = call_form(
        &slack,
        "chat.postMessage",
        &[
            ("channel", &general),
            ("text", "sev raised"),
            ("thread_ts", &ts),
            (
                "metadata",
                &json!({"event_type": "sev_changed", "event_payload": {"sev": "0"}}).to_string(),
            ),
        ],
    )
    .await;
    ok(&reply);
    for (bad, code) in [
        (json!("{not json"), "invalid_metadata_format"),
        (json!({"event_type": "x"}), "invalid_metadata_schema"),
    ] {
        let body = bot(
            &slack,
            "chat.postMessage",
            json!({"channel": general, "text": "x", "metadata": bad}),
        )
        .await;
        assert_eq!(error(&body), code);
    }
    let plain = call_form(&slack, "conversations.history", &[("channel", &general)]).await;
    assert!(ok(&plain)["messages"][0]["ts"].is_string(), "{plain}");
    assert!(
        plain["messages"][0].get("metadata").is_none(),
        "only when asked for"
    );
    let with = call_form(
        &slack,
        "conversations.history",
        &[("channel", &general), ("include_all_metadata", "true")],
    )
    .await;
    assert_eq!(with["messages"][0]["metadata"], metadata);
    let thread = call_get(
        &slack,
        "conversations.replies",
        &[
            ("channel", &general),
            ("ts", &ts),
            ("include_all_metadata", "1"),
        ],
    )
    .await;
    assert_eq!(
        thread["messages"][1]["metadata"]["event_type"],
        "sev_changed"
    );
    assert_eq!(slack.messages("general")[0].metadata, Some(metadata));
}

#[tokio::test]
async fn shortcuts_are_sent_as_slack_sends_them_over_http_and_socket_mode() {
    let slack = emulator().await;
    let host = receiver(&slack).await;
    let alice = slack.user_id("alice").unwrap();
    let general = slack.channel_id("general").unwrap();

    let reply = slack
        .send_global_shortcut("alice", "triage.help")
        .await
        .unwrap();
    assert_eq!((reply.status, reply.transport), (200, Transport::Http));
    let seen = host.seen.lock().unwrap().last().unwrap().clone();
    assert_eq!(seen.path, "/interactive");
    assert_eq!(
        seen.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let global: Value = serde_json::from_str(&form_field(&seen.body, "payload")).unwrap();
    assert_eq!(global["type"], "shortcut");
    assert_eq!(global["callback_id"], "triage.help");
    assert_eq!(global["user"]["id"], alice.as_str());
    assert_eq!(global["team"]["id"], slack.config().team_id.as_str());
    assert_eq!(global["token"], slack.config().verification_token.as_str());
    assert_eq!(global["trigger_id"].as_str(), reply.trigger_id.as_deref());
    assert!(global["action_ts"].is_string());
    assert!(global.get("channel").is_none() && global.get("response_url").is_none());

    let (ts, _) = slack
        .post_as_user("bob", "general", "my printer is on fire", None)
        .await
        .unwrap();
    let reply = slack
        .send_message_shortcut("alice", "general", &ts, "triage.triage")
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let seen = host.seen.lock().unwrap().last().unwrap().clone();
    let action: Value = serde_json::from_str(&form_field(&seen.body, "payload")).unwrap();
    assert_eq!(action["type"], "message_action");
    assert_eq!(action["callback_id"], "triage.triage");
    assert_eq!(action["channel"], json!({"id": general, "name": "general"}));
    assert_eq!(action["message_ts"], ts.as_str());
    assert_eq!(action["message"]["ts"], ts.as_str());
    assert_eq!(action["message"]["text"], "my printer is on fire");
    assert_eq!(
        action["message"]["user"],
        slack.user_id("bob").unwrap().as_str()
    );
    let url = action["response_url"].as_str().unwrap();
    assert_eq!(Some(url), reply.response_url.as_deref());
    // The response_url answers in the channel, to whoever used the shortcut.
    let answered: Value = reqwest::Client::new()
        .post(url)
        .json(&json!({"text": "sent to triage"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answered["ok"], true);
    let last = slack.visible_to("alice", "general").last().unwrap().clone();
    assert_eq!(
        (last.text.as_str(), last.ephemeral_to.as_deref()),
        ("sent to triage", Some(alice.as_str()))
    );
    assert!(
        slack
            .send_message_shortcut("alice", "general", "1.000001", "triage.triage")
            .await
            .is_err(),
        "no such message"
    );

    // Over Socket Mode: `interactive` envelopes that want no response payload.
    let (mut socket, _) = open_socket(&slack).await;
    let sender = slack.clone();
    let shortcut =
        tokio::spawn(async move { sender.send_global_shortcut("carol", "triage.help").await });
    let envelope = next_json(&mut socket).await;
    assert_eq!(envelope["type"], "interactive");
    assert_eq!(envelope["accepts_response_payload"], false);
    assert_eq!(envelope["payload"]["type"], "shortcut");
    assert_eq!(envelope["payload"]["callback_id"], "triage.help");
    ack(&mut socket, &envelope, None).await;
    let reply = timeout(BOUND, shortcut).await.unwrap().unwrap().unwrap();
    assert_eq!(reply.transport, Transport::SocketMode);

    let sender = slack.clone();
    let ts2 = ts.clone();
    let shortcut = tokio::spawn(async move {
        sender
            .send_message_shortcut("carol", "general", &ts2, "triage.triage")
            .await
    });
    let envelope = next_json(&mut socket).await;
    assert_eq!(envelope["type"], "interactive");
    assert_eq!(envelope["payload"]["type"], "message_action");
    assert_eq!(envelope["payload"]["message"]["ts"], ts.as_str());
    ack(&mut socket, &envelope, None).await;
    timeout(BOUND, shortcut).await.unwrap().unwrap().unwrap();
}

/// The host's own Web API client (what the outbox and the `slack`
/// capability call) against the emulator: JSON bodies for writes, forms for
/// reads, cursors followed, the three upload steps.
#[tokio::test]
async fn the_hosts_client_makes_the_new_calls_the_way_slack_takes_them() {
    use botyard::slack::web_api::WebApi;
    let slack = emulator().await;
    let api = WebApi::new(&slack.base_url(), &slack.config().bot_token);
    let alice = slack.user_id("alice").unwrap();
    let general = slack.channel_id("general").unwrap();
    for n in 0..7 {
        slack.add_user(&format!("user{n}"));
    }
    let created = api
        .call(
            "conversations.create",
            &json!({"name": "inc-7", "is_private": false}),
        )
        .await
        .unwrap();
    let channel = created["channel"]["id"].as_str().unwrap().to_string();
    api.call(
        "conversations.invite",
        &json!({"channel": channel, "users": alice}),
    )
    .await
    .unwrap();
    api.call(
        "conversations.setTopic",
        &json!({"channel": channel, "topic": "sev 2"}),
    )
    .await
    .unwrap();
    let posted = api
        .call(
            "chat.postMessage",
            &json!({"channel": channel, "text": "status",
                    "metadata": {"event_type": "status", "event_payload": {"ok": false}}}),
        )
        .await
        .unwrap();
    let ts = posted["ts"].as_str().unwrap().to_string();
    api.call("pins.add", &json!({"channel": channel, "timestamp": ts}))
        .await
        .unwrap();
    let scheduled = api
        .call(
            "chat.scheduleMessage",
            &json!({"channel": channel, "text": "later", "post_at": now_secs() + 600}),
        )
        .await
        .unwrap();
    assert!(scheduled["scheduled_message_id"].is_string());
    let link = api
        .call(
            "chat.getPermalink",
            &json!({"channel": channel, "message_ts": ts}),
        )
        .await
        .unwrap();
    assert!(link["permalink"].as_str().unwrap().contains(&channel));

    // Reads go form-encoded and are followed to the last page.
    let members = api
        .paginated(
            "conversations.members",
            json!({"channel": general}),
            "members",
            10_000,
        )
        .await
        .unwrap();
    assert_eq!(members.len(), slack.users().len());
    for n in 0..3 {
        api.call(
            "chat.postMessage",
            &json!({"channel": channel, "text": format!("r{n}"), "thread_ts": ts}),
        )
        .await
        .unwrap();
    }
    let thread = api
        .paginated(
            "conversations.replies",
            json!({"channel": channel, "ts": ts}),
            "messages",
            3,
        )
        .await
        .unwrap();
    let texts: Vec<&str> = thread.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["status", "r0", "r1"], "at most `max`, parent first");
    let group = slack.usergroup_id("sre-oncall").unwrap();
    let users = api
        .call("usergroups.users.list", &json!({"usergroup": group}))
        .await
        .unwrap();
    assert_eq!(users["users"][0], alice.as_str());

    // An upload in Slack's three steps, shared in the status thread.
    let shared = api
        .upload_external(&json!({
            "channel_id": channel, "filename": "timeline.csv", "title": "Timeline",
            "content_base64": "dCxldmVudAoxLG9wZW5lZAo=", "thread_ts": ts,
        }))
        .await
        .unwrap();
    let file = shared["files"][0]["id"].as_str().unwrap();
    assert_eq!(
        slack.file_content(file).as_deref(),
        Some(&b"t,event\n1,opened\n"[..])
    );
    assert!(
        slack
            .thread(&channel, &ts)
            .iter()
            .any(|m| m.files == [file.to_string()])
    );
}
