//! From a verified Slack request to the app that owns it, independent of the
//! transport: the HTTP receiver and Socket Mode hand the same payloads here
//! and send back the [`Ack`] they get.
//!
//! Every request is acknowledged within the ack budget. Work an app has not
//! finished by then keeps running in the background and its answer goes to
//! `response_url` when it comes.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;
use tokio::task::JoinHandle;

use super::respond::{self, Responder};
use crate::capabilities::clock::now_ms;
use crate::runtime::bindings::types::{
    ActionRequest, ActionResponse, Event, InvocationContext, MessageRef, ViewResponse,
    ViewSubmission,
};
use crate::runtime::invoke::{Request, Response};
use crate::runtime::{CallContext, CallError, CommandAnswer, Runtime};
use crate::slack::namespace;
use crate::storage::StorageError;

/// What to answer Slack with.
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    /// 200 with an empty body: "received" (closes a submitted modal).
    Empty,
    /// 200 with this JSON body (a command reply, a `response_action`, a
    /// `url_verification` challenge).
    Json(Value),
}

/// Why a request could not be dispatched.
#[derive(Debug, Error)]
pub enum DispatchError {
    /// The payload lacks what Slack always sends (400).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Remembering an event failed; Slack should retry later (500).
    #[error("storage unavailable: {0}")]
    Storage(#[from] StorageError),
}

fn malformed(what: &str) -> DispatchError {
    DispatchError::Malformed(what.into())
}

/// A slash command as Slack sends it (form fields over HTTP, the same
/// fields as JSON in a Socket Mode envelope).
#[derive(Debug, Clone, Deserialize)]
pub struct SlashCommand {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub trigger_id: Option<String>,
    #[serde(default)]
    pub response_url: Option<String>,
}

/// Routes verified Slack payloads to apps. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Arc<Runtime>,
    ack_budget: Duration,
    responder: Responder,
    /// When seen event ids were last pruned (Unix ms).
    last_prune_ms: AtomicI64,
}

/// How often old event ids are pruned.
const PRUNE_EVERY_MS: i64 = 60 * 60 * 1000;

/// How long an event id is remembered. Slack stops retrying after about an
/// hour; a day leaves room for clock trouble and slow restarts.
const SEEN_EVENT_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

impl Dispatcher {
    /// `ack_budget`: how long an app may take before Slack is acknowledged
    /// without its answer; `response_timeout`: per POST to `response_url`.
    pub fn new(runtime: Arc<Runtime>, ack_budget: Duration, response_timeout: Duration) -> Self {
        Dispatcher {
            inner: Arc::new(Inner {
                runtime,
                ack_budget,
                responder: Responder::new(response_timeout),
                last_prune_ms: AtomicI64::new(0),
            }),
        }
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.inner.runtime
    }

    /// Waits for `work` up to the ack budget. On time, its answer; late,
    /// `None`, and the work keeps going (the caller decides where its answer
    /// goes through `late`).
    async fn within_budget<T: Send + 'static>(
        &self,
        mut work: JoinHandle<T>,
        late: impl FnOnce(T) -> futures_util::future::BoxFuture<'static, ()> + Send + 'static,
    ) -> Option<T> {
        match tokio::time::timeout(self.inner.ack_budget, &mut work).await {
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(join_error)) => {
                tracing::error!(error = %join_error, "an app task panicked");
                None
            }
            Err(_elapsed) => {
                tracing::info!(
                    budget_ms = self.inner.ack_budget.as_millis() as u64,
                    "app still running at the ack budget; acknowledging now, answering later"
                );
                tokio::spawn(async move {
                    match work.await {
                        Ok(answer) => late(answer).await,
                        Err(e) => tracing::error!(error = %e, "an app task panicked"),
                    }
                });
                None
            }
        }
    }

    /// A slash command: the reply in the acknowledgement when the app is
    /// quick, through `response_url` when it is not.
    pub async fn command(&self, command: SlashCommand) -> Ack {
        let ctx = CallContext {
            user: command.user_id.clone(),
            channel: command.channel_id.clone(),
            trigger_id: command.trigger_id.clone().filter(|t| !t.is_empty()),
        };
        let line = format!("{} {}", command.command.trim(), command.text);
        let runtime = self.inner.runtime.clone();
        let work = tokio::spawn(async move {
            let answer = runtime.call_command(&line, &ctx).await;
            command_reply(answer)
        });
        let responder = self.inner.responder.clone();
        let url = command.response_url.clone();
        let late = move |body: Option<Value>| -> futures_util::future::BoxFuture<'static, ()> {
            Box::pin(async move {
                if let Some(body) = body {
                    responder
                        .deliver(url.as_deref(), body, "command reply")
                        .await;
                }
            })
        };
        match self.within_budget(work, late).await.flatten() {
            Some(body) => Ack::Json(body),
            None => Ack::Empty,
        }
    }

    /// An interactivity payload (`payload=` JSON): block actions, view
    /// submissions and closes, global and message shortcuts.
    pub async fn interaction(&self, payload: &Value) -> Result<Ack, DispatchError> {
        let kind = str_at(payload, "/type").ok_or_else(|| malformed("payload has no `type`"))?;
        let user =
            str_at(payload, "/user/id").ok_or_else(|| malformed("payload has no `user.id`"))?;
        match kind {
            "block_actions" => self.block_actions(payload, user).await,
            "view_submission" => self.view_submission(payload, user).await,
            "view_closed" => self.view_closed(payload, user),
            "shortcut" | "message_action" => self.shortcut(payload, user, kind).await,
            other => {
                tracing::debug!(kind = other, "interaction type not handled; acknowledged");
                Ok(Ack::Empty)
            }
        }
    }

    /// The loaded app named by a namespaced id, or why there is none.
    fn owner<'a>(&self, id: &'a str) -> Result<(&'a str, &'a str), Refusal> {
        let (app, original) = namespace::split(id).ok_or(Refusal::NotNamespaced)?;
        if self.inner.runtime.snapshot().app(app).is_none() {
            return Err(Refusal::NotLoaded(app.to_string()));
        }
        Ok((app, original))
    }

    async fn block_actions(&self, payload: &Value, user: &str) -> Result<Ack, DispatchError> {
        let actions = payload
            .get("actions")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("block_actions without `actions`"))?;
        let response_url = str_at(payload, "/response_url").map(String::from);
        let context = InvocationContext {
            user_id: user.into(),
            channel_id: str_at(payload, "/channel/id")
                .or_else(|| str_at(payload, "/container/channel_id"))
                .unwrap_or_default()
                .into(),
            trigger_id: str_at(payload, "/trigger_id").map(String::from),
        };
        let message = message_ref(payload);
        let mut requests = Vec::new();
        for action in actions {
            let action_id = str_at(action, "/action_id")
                .ok_or_else(|| malformed("an action without `action_id`"))?;
            match self.owner(action_id) {
                Ok((app, original)) => requests.push((
                    app.to_string(),
                    ActionRequest {
                        action_id: original.into(),
                        block_id: str_at(action, "/block_id").map(String::from),
                        value: action_value(action),
                        message: message.clone(),
                        context: context.clone(),
                    },
                )),
                Err(refusal) => self.refuse(action_id, refusal, response_url.as_deref()),
            }
        }
        if requests.is_empty() {
            return Ok(Ack::Empty);
        }
        let runtime = self.inner.runtime.clone();
        let responder = self.inner.responder.clone();
        // Slack ignores the body of a block_actions acknowledgement: every
        // answer goes to response_url, from inside the task, on time or late.
        let work = tokio::spawn(async move {
            for (app, request) in requests {
                let answer = runtime.invoke(&app, Request::Action(request)).await;
                if let Some(body) = action_reply(&app, answer) {
                    responder
                        .deliver(response_url.as_deref(), body, "action answer")
                        .await;
                }
            }
        });
        self.within_budget(work, |()| Box::pin(async {})).await;
        Ok(Ack::Empty)
    }

    /// Logs a click or submission that no loaded app owns, and tells the
    /// user when the owner was an app that is gone.
    fn refuse(&self, id: &str, refusal: Refusal, response_url: Option<&str>) {
        match refusal {
            Refusal::NotNamespaced => {
                // Link buttons and the like: nothing to do, nobody to tell.
                tracing::info!(id, "refused: the id carries no app prefix");
            }
            Refusal::NotLoaded(app) => {
                tracing::warn!(id, app, "refused: no loaded app owns this id");
                if let Some(url) = response_url {
                    let responder = self.inner.responder.clone();
                    let url = url.to_string();
                    let body = respond::ephemeral(&format!(
                        "This was posted by app `{app}`, which is not running, so nothing happened."
                    ));
                    tokio::spawn(async move {
                        responder.deliver(Some(&url), body, "refusal").await;
                    });
                }
            }
        }
    }

    async fn view_submission(&self, payload: &Value, user: &str) -> Result<Ack, DispatchError> {
        let view = payload
            .get("view")
            .ok_or_else(|| malformed("view_submission without `view`"))?;
        let callback_id = str_at(view, "/callback_id").unwrap_or_default();
        let (app, original) = match self.owner(callback_id) {
            Ok(owner) => owner,
            Err(refusal) => {
                let text = refusal.to_string();
                self.refuse(callback_id, refusal, None);
                return Ok(response_action_update(respond::error_view(&text)));
            }
        };
        let submission = ViewSubmission {
            callback_id: original.into(),
            view_id: str_at(view, "/id").unwrap_or_default().into(),
            values: namespace::strip_state_values(
                app,
                view.pointer("/state/values").unwrap_or(&Value::Null),
            )
            .to_string(),
            private_metadata: str_at(view, "/private_metadata").unwrap_or_default().into(),
            context: InvocationContext {
                user_id: user.into(),
                channel_id: String::new(),
                trigger_id: str_at(payload, "/trigger_id").map(String::from),
            },
        };
        let runtime = self.inner.runtime.clone();
        let app = app.to_string();
        let work = tokio::spawn(async move {
            let answer = runtime
                .invoke(&app, Request::ViewSubmission(submission))
                .await;
            view_reply(&app, answer)
        });
        // A modal can only be answered in the acknowledgement; past the
        // budget Slack has closed it, so a late answer can only be logged.
        let late = |ack: Ack| -> futures_util::future::BoxFuture<'static, ()> {
            Box::pin(async move {
                if ack != Ack::Empty {
                    tracing::warn!(
                        "a view submission was answered after the ack budget; its response_action was dropped"
                    );
                }
            })
        };
        Ok(self.within_budget(work, late).await.unwrap_or(Ack::Empty))
    }

    /// `view_closed` (sent when a view asked for `notify_on_close`): the WIT
    /// has no handler of its own for it, so the owner gets it through
    /// `on-event` as event type `view_closed`.
    fn view_closed(&self, payload: &Value, user: &str) -> Result<Ack, DispatchError> {
        let view = payload
            .get("view")
            .ok_or_else(|| malformed("view_closed without `view`"))?;
        let callback_id = str_at(view, "/callback_id").unwrap_or_default();
        let (app, original) = match self.owner(callback_id) {
            Ok(owner) => owner,
            Err(refusal) => {
                self.refuse(callback_id, refusal, None);
                return Ok(Ack::Empty);
            }
        };
        let view_id = str_at(view, "/id").unwrap_or_default();
        let event = Event {
            event_type: "view_closed".into(),
            event_id: format!("view_closed:{view_id}"),
            payload: json!({
                "user_id": user,
                "view_id": view_id,
                "callback_id": original,
                "private_metadata": str_at(view, "/private_metadata").unwrap_or_default(),
                "values": namespace::strip_state_values(app, view.pointer("/state/values").unwrap_or(&Value::Null)),
                "is_cleared": payload.get("is_cleared").and_then(Value::as_bool).unwrap_or(false),
            })
            .to_string(),
        };
        let runtime = self.inner.runtime.clone();
        let app = app.to_string();
        tokio::spawn(async move {
            if let Err(e) = runtime.invoke(&app, Request::Event(event)).await {
                tracing::warn!(app, error = %e, "view_closed handler failed");
            }
        });
        Ok(Ack::Empty)
    }

    /// Global and message shortcuts. Their `callback_id`s are set in the
    /// Slack app's configuration as `<app>.<name>`; the owner gets them
    /// through `on-action` with `action-id` = `<name>` (the WIT has no
    /// shortcut handler yet), the message for message shortcuts.
    async fn shortcut(
        &self,
        payload: &Value,
        user: &str,
        kind: &str,
    ) -> Result<Ack, DispatchError> {
        let callback_id = str_at(payload, "/callback_id")
            .ok_or_else(|| malformed("shortcut without `callback_id`"))?;
        let response_url = str_at(payload, "/response_url").map(String::from);
        let (app, original) = match self.owner(callback_id) {
            Ok(owner) => owner,
            Err(refusal) => {
                self.refuse(callback_id, refusal, response_url.as_deref());
                return Ok(Ack::Empty);
            }
        };
        let channel = str_at(payload, "/channel/id").unwrap_or_default();
        let message = match (kind, str_at(payload, "/message_ts")) {
            ("message_action", Some(ts)) => Some(MessageRef {
                channel: channel.into(),
                ts: ts.into(),
            }),
            _ => None,
        };
        let request = ActionRequest {
            action_id: original.into(),
            block_id: None,
            value: None,
            message,
            context: InvocationContext {
                user_id: user.into(),
                channel_id: channel.into(),
                trigger_id: str_at(payload, "/trigger_id").map(String::from),
            },
        };
        let runtime = self.inner.runtime.clone();
        let responder = self.inner.responder.clone();
        let app = app.to_string();
        let work = tokio::spawn(async move {
            let answer = runtime.invoke(&app, Request::Action(request)).await;
            if let Some(body) = action_reply(&app, answer) {
                responder
                    .deliver(response_url.as_deref(), body, "shortcut answer")
                    .await;
            }
        });
        self.within_budget(work, |()| Box::pin(async {})).await;
        Ok(Ack::Empty)
    }

    /// An Events API body: `url_verification` answered with its challenge,
    /// `event_callback` acknowledged at once and run in the background on
    /// every app subscribed to the event's type, once per `event_id` however
    /// often Slack retries. `retry_num` is `X-Slack-Retry-Num`, for the logs.
    pub async fn event(&self, body: &Value, retry_num: Option<u32>) -> Result<Ack, DispatchError> {
        match str_at(body, "/type").ok_or_else(|| malformed("event body has no `type`"))? {
            "url_verification" => {
                let challenge = str_at(body, "/challenge")
                    .ok_or_else(|| malformed("url_verification without `challenge`"))?;
                Ok(Ack::Json(json!({ "challenge": challenge })))
            }
            "event_callback" => self.event_callback(body, retry_num),
            "app_rate_limited" => {
                tracing::warn!("Slack is rate-limiting event deliveries to this app");
                Ok(Ack::Empty)
            }
            other => {
                tracing::debug!(
                    kind = other,
                    "event envelope type not handled; acknowledged"
                );
                Ok(Ack::Empty)
            }
        }
    }

    fn event_callback(&self, body: &Value, retry_num: Option<u32>) -> Result<Ack, DispatchError> {
        let event_id = str_at(body, "/event_id")
            .ok_or_else(|| malformed("event_callback without `event_id`"))?;
        let event = body
            .get("event")
            .filter(|e| e.is_object())
            .ok_or_else(|| malformed("event_callback without an `event` object"))?;
        let event_type = str_at(event, "/type").ok_or_else(|| malformed("event without `type`"))?;
        let snapshot = self.inner.runtime.snapshot();
        let subscribers: Vec<String> = snapshot
            .apps
            .iter()
            .filter_map(|(id, entry)| entry.current.as_ref().map(|v| (id, v)))
            .filter(|(_, v)| v.info.events.iter().any(|e| e == event_type))
            .map(|(id, _)| id.to_string())
            .collect();
        if subscribers.is_empty() {
            tracing::debug!(event_type, event_id, "no app subscribes to this event");
            return Ok(Ack::Empty);
        }
        if !self.inner.runtime.storage().mark_event_seen(event_id)? {
            tracing::info!(
                event_id,
                retry_num,
                "event already handled; Slack's retry acknowledged"
            );
            return Ok(Ack::Empty);
        }
        let request = Event {
            event_type: event_type.into(),
            event_id: event_id.into(),
            payload: event.to_string(),
        };
        let runtime = self.inner.runtime.clone();
        tokio::spawn(async move {
            let runs = subscribers.iter().map(|app| {
                let runtime = &runtime;
                let request = Request::Event(request.clone());
                async move {
                    if let Err(e) = runtime.invoke(app, request).await {
                        tracing::warn!(app, error = %e, "event handler failed");
                    }
                }
            });
            join_all(runs).await;
        });
        self.prune_seen_events();
        Ok(Ack::Empty)
    }

    /// Forgets old event ids now and then, off the request path.
    fn prune_seen_events(&self) {
        let now = now_ms() as i64;
        let last = self.inner.last_prune_ms.load(Ordering::Relaxed);
        if now - last < PRUNE_EVERY_MS
            || self
                .inner
                .last_prune_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let storage = self.inner.runtime.storage().clone();
        tokio::task::spawn_blocking(move || {
            match storage.forget_events_before(now - SEEN_EVENT_RETENTION_MS) {
                Ok(n) if n > 0 => tracing::debug!(forgotten = n, "pruned old event ids"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning old event ids failed"),
            }
        });
    }
}

/// Why a namespaced id reaches no app.
#[derive(Debug, Error)]
enum Refusal {
    #[error("this was not posted by a botyard app")]
    NotNamespaced,
    #[error("this was posted by app `{0}`, which is not running")]
    NotLoaded(String),
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The message that held the clicked element, when it was a message.
fn message_ref(payload: &Value) -> Option<MessageRef> {
    let from_container = || {
        (str_at(payload, "/container/type")? == "message").then_some(())?;
        Some(MessageRef {
            channel: str_at(payload, "/container/channel_id")?.into(),
            ts: str_at(payload, "/container/message_ts")?.into(),
        })
    };
    let from_message = || {
        Some(MessageRef {
            channel: str_at(payload, "/channel/id")?.into(),
            ts: str_at(payload, "/message/ts")?.into(),
        })
    };
    from_container().or_else(from_message)
}

/// An element's value, whatever kind of element it is: buttons' `value`,
/// single selects' option value, pickers' date/time/user/channel; multi
/// selects and checkboxes give a JSON array of their values.
fn action_value(action: &Value) -> Option<String> {
    for pointer in [
        "/value",
        "/selected_option/value",
        "/selected_date",
        "/selected_time",
        "/selected_user",
        "/selected_channel",
        "/selected_conversation",
    ] {
        if let Some(v) = str_at(action, pointer) {
            return Some(v.into());
        }
    }
    if let Some(n) = action.get("selected_date_time").and_then(Value::as_i64) {
        return Some(n.to_string());
    }
    if let Some(options) = action.get("selected_options").and_then(Value::as_array) {
        let values: Vec<&Value> = options.iter().filter_map(|o| o.get("value")).collect();
        return Some(Value::from(values.into_iter().cloned().collect::<Vec<_>>()).to_string());
    }
    [
        "selected_users",
        "selected_channels",
        "selected_conversations",
    ]
    .into_iter()
    .find_map(|key| action.get(key).filter(|v| v.is_array()))
    .map(Value::to_string)
}

/// The JSON body answering a slash command, or `None` for "acknowledged,
/// nothing to show".
fn command_reply(answer: Result<CommandAnswer, CallError>) -> Option<Value> {
    match answer {
        Ok(CommandAnswer::Help(text)) => Some(respond::ephemeral(&text)),
        Ok(CommandAnswer::App { app, invocation }) => match invocation.response {
            Response::Command(Some(reply)) => Some(respond::reply_json(&app.id, &reply)),
            Response::Command(None) => None,
            other => Some(respond::error_message(&format!(
                "app `{}` answered a command with {other:?}",
                app.id
            ))),
        },
        // "No such command" and friends: the router's text lists what exists.
        Err(CallError::Route(e)) => Some(respond::ephemeral(&e.to_string())),
        Err(e) => Some(respond::error_message(&e)),
    }
}

/// What to POST to `response_url` for an app's answer to a click.
fn action_reply(
    app: &str,
    answer: Result<
        (
            Arc<crate::runtime::app::AppVersion>,
            crate::runtime::invoke::Invocation,
        ),
        CallError,
    >,
) -> Option<Value> {
    let invocation = match answer {
        Ok((_, invocation)) => invocation,
        Err(e) => {
            let mut body = respond::error_message(&e);
            body["replace_original"] = json!(false);
            return Some(body);
        }
    };
    let mut body = match invocation.response {
        Response::Action(ActionResponse::None) => return None,
        Response::Action(ActionResponse::Update(message)) => {
            match respond::message_json(app, &message) {
                Ok(mut body) => {
                    body["replace_original"] = json!(true);
                    return Some(body);
                }
                Err(e) => respond::error_message(&format!(
                    "app `{app}` updated the message with one Slack would refuse: {e}"
                )),
            }
        }
        Response::Action(ActionResponse::Reply(reply)) => respond::reply_json(app, &reply),
        other => respond::error_message(&format!("app `{app}` answered a click with {other:?}")),
    };
    body["replace_original"] = json!(false);
    Some(body)
}

fn response_action_update(view: Value) -> Ack {
    Ack::Json(json!({ "response_action": "update", "view": view }))
}

/// The acknowledgement answering a view submission (Slack's `response_action`).
fn view_reply(
    app: &str,
    answer: Result<
        (
            Arc<crate::runtime::app::AppVersion>,
            crate::runtime::invoke::Invocation,
        ),
        CallError,
    >,
) -> Ack {
    let response = match answer {
        Ok((_, invocation)) => invocation.response,
        Err(e) => return response_action_update(respond::error_view(&e)),
    };
    let view_action = |action: &str, raw: &str| match namespace::view(app, raw) {
        Ok(view) => Ack::Json(json!({ "response_action": action, "view": view })),
        Err(e) => response_action_update(respond::error_view(&format!(
            "app `{app}` answered with a view Slack would refuse: {e}"
        ))),
    };
    match response {
        Response::ViewSubmission(ViewResponse::Close) => Ack::Empty,
        Response::ViewSubmission(ViewResponse::Clear) => {
            Ack::Json(json!({ "response_action": "clear" }))
        }
        Response::ViewSubmission(ViewResponse::Errors(errors)) => {
            let errors: serde_json::Map<String, Value> = errors
                .into_iter()
                .map(|e| (e.block_id, Value::String(e.message)))
                .collect();
            Ack::Json(json!({ "response_action": "errors", "errors": errors }))
        }
        Response::ViewSubmission(ViewResponse::Update(raw)) => view_action("update", &raw),
        Response::ViewSubmission(ViewResponse::Push(raw)) => view_action("push", &raw),
        other => response_action_update(respond::error_view(&format!(
            "app `{app}` answered a submission with {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_value_of_every_kind_of_element() {
        let cases = [
            (json!({"value": "v"}), Some("v".to_string())),
            (json!({"selected_option": {"value": "o"}}), Some("o".into())),
            (
                json!({"selected_date": "2024-01-02"}),
                Some("2024-01-02".into()),
            ),
            (json!({"selected_user": "U1"}), Some("U1".into())),
            (
                json!({"selected_date_time": 1700000000}),
                Some("1700000000".into()),
            ),
            (
                json!({"selected_options": [{"value": "a"}, {"value": "b"}]}),
                Some(r#"["a","b"]"#.into()),
            ),
            (
                json!({"selected_users": ["U1", "U2"]}),
                Some(r#"["U1","U2"]"#.into()),
            ),
            (json!({"type": "button"}), None),
        ];
        for (action, want) in cases {
            assert_eq!(action_value(&action), want, "{action}");
        }
    }

    #[test]
    fn finds_the_message_that_held_the_element() {
        let payload =
            json!({"container": {"type": "message", "channel_id": "C1", "message_ts": "1.2"}});
        let m = message_ref(&payload).unwrap();
        assert_eq!((m.channel.as_str(), m.ts.as_str()), ("C1", "1.2"));
        let in_view = json!({"container": {"type": "view", "view_id": "V1"}});
        assert!(message_ref(&in_view).is_none());
    }
}
