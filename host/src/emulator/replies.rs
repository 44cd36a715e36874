//! What the host answers, applied to the conversation state the way Slack
//! shows it: slash-command replies, ack payloads, `response_url` posts and
//! `view_submission` response actions. Posts to a `response_url` go into
//! the call log like Web API calls: they are how a host answers in Slack.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::Shared;
use super::changes::{Change, StateGuard};
use super::state::{MAX_VIEW_STACK, Message, OpenView, State, ViewIds};
use super::truth::{ApiCall, CallToken};
use super::web_api::Content;
use crate::contract::time::now_micros;
use crate::slack::blocks;

/// Slack stops accepting a `response_url` after five uses.
const RESPONSE_URL_USES: u32 = 5;

pub fn router() -> Router<Arc<Shared>> {
    Router::new().route("/response/{id}", post(response_url))
}

/// Applies a message reply (slash command answer, ack payload or
/// `response_url` body) the way Slack shows it. Returns Slack's verdict.
pub fn apply_message_reply(
    shared: &Shared,
    channel: &str,
    user: &str,
    response_url: Option<&str>,
    body: &str,
) -> Result<(), &'static str> {
    let mut state = shared.state();
    apply_locked(shared, &mut state, channel, user, response_url, body)
}

/// [`apply_message_reply`] on a workspace the caller has locked.
fn apply_locked(
    shared: &Shared,
    state: &mut StateGuard<'_>,
    channel: &str,
    user: &str,
    response_url: Option<&str>,
    body: &str,
) -> Result<(), &'static str> {
    let reply = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(obj)) => Value::Object(obj),
        // A plain-text answer is shown to the user as an ephemeral.
        _ => json!({"text": body}),
    };
    let flag = |key: &str| match &reply[key] {
        Value::Bool(b) => *b,
        Value::String(s) => s == "true",
        _ => false,
    };
    let original = response_url
        .and_then(|id| state.responses.get(id))
        .and_then(|t| t.message_ts.clone());
    if flag("delete_original") {
        if let Some(ts) = &original {
            state.remove_message(channel, ts);
        }
        return Ok(());
    }
    let content = Content::check(
        reply["text"].as_str().map(str::to_string),
        reply
            .get("blocks")
            .filter(|b| !b.is_null())
            .map(Value::to_string),
        reply.get("attachments").is_some(),
    )
    .map_err(|(code, detail)| {
        tracing::warn!(
            code,
            ?detail,
            "emulator: host replied with an invalid message"
        );
        code
    })?;
    if flag("replace_original")
        && let Some(ts) = &original
        && let Some(message) = state.message_mut(channel, ts)
    {
        message.text = content.text;
        message.blocks = content.blocks;
        message.edited = true;
        let change = Change::message(message);
        state.changed(change);
        return Ok(());
    }
    let in_channel = reply["response_type"].as_str() == Some("in_channel");
    let ts = state.next_ts();
    let c = &shared.config;
    state.push_message(Message {
        channel: channel.to_string(),
        ts: ts.clone(),
        thread_ts: reply["thread_ts"].as_str().map(str::to_string),
        user: c.bot_user_id.clone(),
        bot_id: Some(c.bot_id.clone()),
        text: content.text,
        blocks: content.blocks,
        ephemeral_to: (!in_channel).then(|| user.to_string()),
        ..Message::default()
    });
    // A command's later replace_original targets what its URL last posted.
    if let Some(target) = response_url.and_then(|id| state.responses.get_mut(id))
        && !target.fixed
    {
        target.message_ts = Some(ts);
    }
    Ok(())
}

/// Applies a `view_submission` answer: close, show errors, update, push or clear.
pub fn apply_view_reply(shared: &Shared, user: &str, view_id: &str, body: &str) {
    let reply: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut state = shared.state();
    let Some(stack) = state.modals.get(user) else {
        return;
    };
    let Some(index) = stack.iter().position(|v| v.id == view_id) else {
        return;
    };
    let (depth, current) = (stack.len(), stack[index].view.clone());
    state.changed(Change::Views {
        user: user.to_string(),
    });
    // The view the host answered with, checked like views.update checks it.
    let definition = || -> Option<Value> {
        let raw = reply.get("view")?.to_string();
        blocks::parse_view(&raw)
            .map_err(|e| tracing::warn!(error = %e, "emulator: host answered an invalid view"))
            .ok()
    };
    match reply["response_action"].as_str() {
        Some("errors") => stack_of(&mut state, user)[index].errors = Some(reply["errors"].clone()),
        Some("update") => {
            if let Some(definition) = definition() {
                let view =
                    state.materialize_view(&definition, &shared.config, ViewIds::of(&current));
                let slot = &mut stack_of(&mut state, user)[index];
                slot.view = view;
                slot.errors = None;
            }
        }
        Some("push") if depth >= MAX_VIEW_STACK => {
            tracing::warn!("emulator: host pushed past Slack's three-view limit");
        }
        Some("push") => {
            if let Some(definition) = definition() {
                let top = stack_of(&mut state, user)
                    .last()
                    .map(|v| ViewIds::of(&v.view));
                let ids = ViewIds {
                    id: None,
                    root: top.as_ref().and_then(|t| t.root.clone()),
                    previous: top.and_then(|t| t.id),
                };
                let view = state.materialize_view(&definition, &shared.config, ids);
                let open = OpenView {
                    id: view["id"].as_str().unwrap_or_default().to_string(),
                    user: user.to_string(),
                    view,
                    errors: None,
                };
                stack_of(&mut state, user).push(open);
            }
        }
        Some("clear") => {
            state.modals.remove(user);
        }
        // An empty 200 closes the submitted view (and any above it).
        _ => {
            stack_of(&mut state, user).truncate(index);
            if index == 0 {
                state.modals.remove(user);
            }
        }
    }
}

fn stack_of<'a>(state: &'a mut State, user: &str) -> &'a mut Vec<OpenView> {
    state.modals.get_mut(user).expect("checked by the caller")
}

/// `POST /response/{id}`: a delayed reply to a command or interaction.
/// Checked, applied and logged under one lock, so the call log's order is
/// the order of the changes.
async fn response_url(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let received = now_micros();
    let text = std::str::from_utf8(&body).ok();
    let parsed = text
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .filter(Value::is_object);
    let mut state = shared.state();
    let (status, answer) = match state.responses.get_mut(&id) {
        None => (
            StatusCode::NOT_FOUND,
            json!({"ok": false, "error": "expired_url"}),
        ),
        Some(t) if t.uses >= RESPONSE_URL_USES => (
            StatusCode::NOT_FOUND,
            json!({"ok": false, "error": "used_url"}),
        ),
        Some(t) => {
            t.uses += 1;
            let target = t.clone();
            match text.filter(|_| parsed.is_some()) {
                None => (
                    StatusCode::BAD_REQUEST,
                    json!({"ok": false, "error": "invalid_payload"}),
                ),
                Some(text) => {
                    let (channel, user) = (&target.channel, &target.user);
                    match apply_locked(&shared, &mut state, channel, user, Some(&id), text) {
                        Ok(()) => (StatusCode::OK, json!({"ok": true})),
                        Err(code) => (StatusCode::OK, json!({"ok": false, "error": code})),
                    }
                }
            }
        }
    };
    let mut call = ApiCall::new("response_url", received, status.as_u16(), answer.clone());
    call.app = Some(shared.config.api_app_id.clone());
    call.token = CallToken::Url;
    call.args = parsed.unwrap_or(Value::Null);
    call.response_url = Some(id);
    shared.truth.log_call(call);
    drop(state);
    (status, axum::Json(answer)).into_response()
}
