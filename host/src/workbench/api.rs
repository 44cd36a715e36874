//! The page server: embedded assets, JSON reads of the workspace, and
//! actions that the emulator performs as the acting person — each one the
//! signed request real Slack would send the host.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{assets, live, model};
use crate::emulator::{Choice, Click, Emulator, EmulatorError, HostResponse};
use crate::routing::Apps;

/// What every handler shares.
#[derive(Clone)]
pub struct Ctx {
    pub apps: Arc<Apps>,
    pub slack: Emulator,
    /// The apps panel's fingerprint (see `live::watch_apps`).
    pub panel: watch::Receiver<u64>,
    pub stopped: watch::Receiver<bool>,
    /// The page server's port, for the `Host` check.
    pub port: u16,
    /// The backends `botyard dev` simulates (`standins::dev`).
    pub simulated: Arc<Vec<crate::standins::dev::Simulated>>,
}

pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/workspace", get(workspace))
        .route("/api/commands", get(commands))
        .route("/api/conversation", get(conversation))
        .route("/api/thread", get(thread))
        .route("/api/views", get(views))
        .route("/api/apps", get(apps))
        .route("/api/webhooks", get(deliveries))
        .route("/api/webhooks/{id}", get(delivery))
        .route("/api/webhooks/{id}/replay", post(replay))
        .route("/api/live", get(live_socket))
        .route("/api/command", post(command))
        .route("/api/message", post(message))
        .route("/api/action", post(action))
        .route("/api/submit", post(submit))
        .route("/api/close", post(close))
        .route("/api/react", post(react))
        .route("/api/home", post(home))
        .route("/api/shortcut", post(shortcut))
        .route("/api/file", get(file))
        .layer(middleware::from_fn_with_state(ctx.clone(), same_origin))
        .with_state(ctx)
}

/// Refuses requests addressed to another host name (DNS rebinding) or sent
/// by another site's page (cross-site posts and WebSockets): only the
/// workbench's own page may act as the workspace's people.
async fn same_origin(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    let allowed = |authority: &str| {
        ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|host| authority == format!("{host}:{}", ctx.port))
    };
    let headers = request.headers();
    let host_ok = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(allowed);
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|h| h.to_str().ok())
        .is_none_or(|origin| origin.strip_prefix("http://").is_some_and(allowed));
    if host_ok && origin_ok {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "the workbench answers its own page only",
        )
            .into_response()
    }
}

#[derive(Deserialize)]
struct As {
    #[serde(rename = "as")]
    user: String,
}

#[derive(Deserialize)]
struct InChannel {
    #[serde(rename = "as")]
    user: String,
    channel: String,
}

#[derive(Deserialize)]
struct InThread {
    #[serde(rename = "as")]
    user: String,
    channel: String,
    ts: String,
}

/// The page always wants the present state.
fn no_store(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

async fn workspace(State(ctx): State<Ctx>) -> Response {
    no_store(Json(model::workspace(&ctx.slack, &ctx.apps)))
}

/// The commands `as` may run in `channel`: what autocomplete offers.
async fn commands(State(ctx): State<Ctx>, Query(q): Query<InChannel>) -> Response {
    no_store(Json(
        serde_json::json!({ "commands": model::commands_for(&ctx.apps, &q.user, &q.channel).await }),
    ))
}

async fn conversation(State(ctx): State<Ctx>, Query(q): Query<InChannel>) -> Response {
    no_store(Json(model::conversation(&ctx.slack, &q.user, &q.channel)))
}

async fn thread(State(ctx): State<Ctx>, Query(q): Query<InThread>) -> Response {
    no_store(Json(model::thread(&ctx.slack, &q.user, &q.channel, &q.ts)))
}

async fn views(State(ctx): State<Ctx>, Query(q): Query<As>) -> Response {
    no_store(Json(model::views(&ctx.slack, &q.user)))
}

async fn apps(State(ctx): State<Ctx>) -> Response {
    let mut panel = model::apps(&ctx.apps).await;
    panel["simulated"] = serde_json::to_value(&*ctx.simulated).unwrap_or_default();
    no_store(Json(panel))
}

#[derive(Deserialize)]
struct OfApp {
    app: Option<String>,
}

async fn deliveries(State(ctx): State<Ctx>, Query(q): Query<OfApp>) -> Response {
    no_store(Json(model::deliveries(&ctx.apps, q.app.as_deref()).await))
}

async fn delivery(State(ctx): State<Ctx>, Path(id): Path<i64>) -> Response {
    match model::delivery(&ctx.apps, id).await {
        Some(d) => no_store(Json(d)),
        None => (StatusCode::NOT_FOUND, "no such delivery").into_response(),
    }
}

/// Hands a delivery to its app again (a dead one, or a done one to try a
/// changed handler on).
async fn replay(State(ctx): State<Ctx>, Path(id): Path<i64>) -> Response {
    let now = crate::contract::time::now_ms() as i64;
    match ctx.apps.storage().webhooks.replay(id, now).await {
        Ok(true) => Json(json!({"ok": true})).into_response(),
        Ok(false) => (
            StatusCode::CONFLICT,
            "no such delivery, or it is running right now",
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn live_socket(State(ctx): State<Ctx>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| live::stream(socket, ctx.slack, ctx.panel, ctx.stopped))
}

/// How an action went, for the page: what the host answered Slack.
fn answered(result: Result<Option<HostResponse>, EmulatorError>) -> Response {
    match result {
        Ok(None) => Json(json!({"ok": true})).into_response(),
        Ok(Some(reply)) => {
            let ok = reply.status == 200;
            if !ok {
                tracing::warn!(status = reply.status, body = %reply.body, "the host refused a workbench request");
            }
            Json(json!({
                "ok": ok,
                "status": reply.status,
                "elapsed_ms": reply.elapsed.as_millis() as u64,
                "body": reply.json().unwrap_or_else(|| json!(reply.body)),
            }))
            .into_response()
        }
        Err(e) => {
            let status = match e {
                EmulatorError::Http(_) | EmulatorError::AckTimeout(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, Json(json!({"ok": false, "error": e.to_string()}))).into_response()
        }
    }
}

#[derive(Deserialize)]
struct Typed {
    #[serde(rename = "as")]
    user: String,
    channel: String,
    text: String,
    #[serde(default)]
    thread_ts: Option<String>,
}

async fn command(State(ctx): State<Ctx>, Json(t): Json<Typed>) -> Response {
    answered(
        ctx.slack
            .send_slash_command(&t.user, &t.channel, &t.text)
            .await
            .map(Some),
    )
}

async fn message(State(ctx): State<Ctx>, Json(t): Json<Typed>) -> Response {
    let posted = ctx
        .slack
        .post_as_user(&t.user, &t.channel, &t.text, t.thread_ts.as_deref())
        .await;
    answered(posted.map(|(_, reply)| reply))
}

#[derive(Deserialize)]
struct Act {
    #[serde(rename = "as")]
    user: String,
    /// A message's channel and ts, or a view's id.
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    view_id: Option<String>,
    action_id: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    values: Option<Vec<String>>,
    #[serde(default)]
    state: Option<Value>,
}

async fn action(State(ctx): State<Ctx>, Json(a): Json<Act>) -> Response {
    let choice = match a.values {
        Some(values) => Choice::Many(values),
        None => Choice::One(a.value.unwrap_or_default()),
    };
    let click = Click {
        action_id: a.action_id,
        choice,
        state: a.state.unwrap_or_else(|| json!({})),
    };
    let result = match (a.view_id, a.channel, a.ts) {
        (Some(view_id), _, _) => ctx.slack.click_view(&a.user, &view_id, click).await,
        (None, Some(channel), Some(ts)) => {
            ctx.slack.click_message(&a.user, &channel, &ts, click).await
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(
                    json!({"ok": false, "error": "an action needs a view_id, or a channel and ts"}),
                ),
            )
                .into_response();
        }
    };
    answered(result.map(Some))
}

#[derive(Deserialize)]
struct Submit {
    #[serde(rename = "as")]
    user: String,
    view_id: String,
    values: Value,
}

async fn submit(State(ctx): State<Ctx>, Json(s): Json<Submit>) -> Response {
    answered(
        ctx.slack
            .send_view_submission(&s.user, &s.view_id, s.values)
            .await
            .map(Some),
    )
}

#[derive(Deserialize)]
struct Close {
    #[serde(rename = "as")]
    user: String,
    view_id: String,
    #[serde(default)]
    clear: bool,
}

async fn close(State(ctx): State<Ctx>, Json(c): Json<Close>) -> Response {
    answered(ctx.slack.close_view(&c.user, &c.view_id, c.clear).await)
}

#[derive(Deserialize)]
struct React {
    #[serde(rename = "as")]
    user: String,
    channel: String,
    ts: String,
    name: String,
    add: bool,
}

async fn react(State(ctx): State<Ctx>, Json(r): Json<React>) -> Response {
    answered(
        ctx.slack
            .react_as_user(&r.user, &r.channel, &r.ts, &r.name, r.add)
            .await,
    )
}

async fn home(State(ctx): State<Ctx>, Json(a): Json<As>) -> Response {
    answered(ctx.slack.open_app_home(&a.user).await)
}

#[derive(Deserialize)]
struct UseShortcut {
    #[serde(rename = "as")]
    user: String,
    /// Namespaced, as Slack sends it back: `<app>.<callback_id>`.
    callback_id: String,
    /// For a message shortcut: the message's channel and ts.
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

/// A person picks a shortcut: a global one from the shortcuts menu, a
/// message one from a message's "more actions" menu.
async fn shortcut(State(ctx): State<Ctx>, Json(s): Json<UseShortcut>) -> Response {
    let sent = match (s.channel, s.ts) {
        (Some(channel), Some(ts)) => {
            ctx.slack
                .send_message_shortcut(&s.user, &channel, &ts, &s.callback_id)
                .await
        }
        _ => {
            ctx.slack
                .send_global_shortcut(&s.user, &s.callback_id)
                .await
        }
    };
    answered(sent.map(Some))
}

#[derive(Deserialize)]
struct FileQuery {
    id: String,
}

/// An uploaded file's content, to download from the page.
async fn file(State(ctx): State<Ctx>, Query(q): Query<FileQuery>) -> Response {
    let Some(file) = ctx
        .slack
        .files()
        .into_iter()
        .find(|f| f.id == q.id && f.completed)
    else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    // The name goes into a quoted header value: keep it to safe characters.
    let name: String = file
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    no_store((
        [
            (header::CONTENT_TYPE, file.mimetype().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        file.content.unwrap_or_default(),
    ))
}
