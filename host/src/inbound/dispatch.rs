//! From a parsed Slack request to the app that owns it, independent of the
//! transport: the HTTP receiver and Socket Mode hand the same typed requests
//! here and send back the [`Ack`] they get.
//!
//! Routing is the routing table's ([`crate::routing`]); what an answer looks
//! like in Slack is [`crate::slack::json`]'s. This module owns the timing:
//! every request is acknowledged within the ack budget, and work an app has
//! not finished by then keeps running in the background, its answer going to
//! `response_url` when it comes.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use serde_json::{Value, json};
use thiserror::Error;
use tokio::task::JoinHandle;

use super::payload::{EventBody, Interaction, Shortcut, SlashCommand, View};
use crate::contract::bindings::shortcuts::{ShortcutMessage, ShortcutRequest};
use crate::contract::bindings::types::{
    ActionRequest, Event, InvocationContext, MessageRef, ViewSubmission,
};
use crate::contract::request::{Request, Response};
use crate::contract::time::now_ms;
use crate::routing::approvals;
use crate::routing::table::{Owner, ShortcutRoute, Unowned};
use crate::routing::{Apps, CallContext, CallError, CommandAnswer};
use crate::runtime::app::AppVersion;
use crate::runtime::invoke::Invocation;
use crate::slack::json;
use crate::slack::namespace;
use crate::slack::response_url::Responder;
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

impl Ack {
    fn json_or_empty(body: Option<Value>) -> Ack {
        body.map_or(Ack::Empty, Ack::Json)
    }
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

impl From<super::payload::Malformed> for DispatchError {
    fn from(m: super::payload::Malformed) -> Self {
        DispatchError::Malformed(m.0)
    }
}

/// Routes parsed Slack requests to apps. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    apps: Arc<Apps>,
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

type Answered = Result<(Arc<AppVersion>, Invocation), CallError>;

impl Dispatcher {
    /// `ack_budget`: how long an app may take before Slack is acknowledged
    /// without its answer; `response_timeout`: per POST to `response_url`.
    pub fn new(apps: Arc<Apps>, ack_budget: Duration, response_timeout: Duration) -> Self {
        Dispatcher {
            inner: Arc::new(Inner {
                apps,
                ack_budget,
                responder: Responder::new(response_timeout),
                last_prune_ms: AtomicI64::new(0),
            }),
        }
    }

    pub fn apps(&self) -> &Arc<Apps> {
        &self.inner.apps
    }

    /// Waits for `work` up to the ack budget. On time, its answer; late,
    /// `None`, and the work keeps going (`late` says where its answer goes).
    async fn within_budget<T: Send + 'static>(
        &self,
        mut work: JoinHandle<T>,
        late: impl FnOnce(T) -> BoxFuture<'static, ()> + Send + 'static,
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
        let apps = self.inner.apps.clone();
        let work = tokio::spawn(async move {
            let answer = apps.call_command(&line, &ctx).await;
            command_reply(answer)
        });
        let responder = self.inner.responder.clone();
        let url = command.response_url.clone();
        let late = move |body: Option<Value>| -> BoxFuture<'static, ()> {
            Box::pin(async move {
                if let Some(body) = body {
                    responder
                        .deliver(url.as_deref(), body, "command reply")
                        .await;
                }
            })
        };
        Ack::json_or_empty(self.within_budget(work, late).await.flatten())
    }

    /// An interactivity payload: block actions, view submissions and closes,
    /// global and message shortcuts.
    pub async fn interaction(&self, interaction: Interaction) -> Ack {
        match interaction {
            Interaction::BlockActions {
                user,
                channel,
                trigger_id,
                response_url,
                message,
                actions,
            } => {
                let context = InvocationContext {
                    user_id: user,
                    channel_id: channel,
                    trigger_id,
                };
                let routes = self.inner.apps.snapshot().routes.clone();
                let mut requests = Vec::new();
                for action in actions {
                    if let Some(approve) = approval_click(&action.action_id) {
                        self.approval_click(
                            approve,
                            action.value.unwrap_or_default(),
                            context.user_id.clone(),
                            message.clone(),
                            response_url.clone(),
                        );
                        continue;
                    }
                    match routes.owner(&action.action_id) {
                        Ok(Owner { app, original }) => requests.push((
                            app,
                            Request::Action(ActionRequest {
                                action_id: original,
                                block_id: action.block_id,
                                value: action.value,
                                message: message.clone(),
                                context: context.clone(),
                            }),
                        )),
                        Err(unowned) => {
                            self.refuse(&action.action_id, unowned, response_url.as_deref())
                        }
                    }
                }
                self.clicks(requests, response_url, "action answer").await
            }
            Interaction::ViewSubmission {
                user,
                trigger_id,
                view,
            } => self.view_submission(user, trigger_id, view).await,
            Interaction::ViewClosed {
                user,
                view,
                is_cleared,
            } => self.view_closed(user, view, is_cleared),
            Interaction::Shortcut(shortcut) => self.shortcut(shortcut).await,
            Interaction::Other(kind) => {
                tracing::debug!(kind, "interaction type not handled; acknowledged");
                Ack::Empty
            }
        }
    }

    /// Runs clicks (block actions and shortcuts routed as actions) one
    /// after another and sends each answer to `response_url`: Slack ignores
    /// the body of their acknowledgement, so every answer goes there, on
    /// time or late.
    async fn clicks(
        &self,
        requests: Vec<(Arc<str>, Request)>,
        response_url: Option<String>,
        what: &'static str,
    ) -> Ack {
        if requests.is_empty() {
            return Ack::Empty;
        }
        let apps = self.inner.apps.clone();
        let responder = self.inner.responder.clone();
        let work = tokio::spawn(async move {
            for (app, request) in requests {
                let answer = apps.invoke(&app, request).await;
                if let Some(body) = action_reply(&app, answer) {
                    responder.deliver(response_url.as_deref(), body, what).await;
                }
            }
        });
        self.within_budget(work, |()| Box::pin(async {})).await;
        Ack::Empty
    }

    /// Approve / Deny on a held command (the host's own buttons): decided
    /// in the background, the clicker told through `response_url`.
    fn approval_click(
        &self,
        approve: bool,
        id: String,
        user: String,
        message: Option<MessageRef>,
        response_url: Option<String>,
    ) {
        let apps = self.inner.apps.clone();
        let responder = self.inner.responder.clone();
        tokio::spawn(async move {
            let text = approvals::decide(&apps, &id, &user, approve, message.as_ref()).await;
            let mut body = json::ephemeral(&text);
            body["replace_original"] = json!(false);
            responder
                .deliver(response_url.as_deref(), body, "approval answer")
                .await;
        });
    }

    /// Logs a click or submission that no loaded app owns, and tells the
    /// user when the owner was an app that is gone.
    fn refuse(&self, id: &str, unowned: Unowned, response_url: Option<&str>) {
        match unowned {
            Unowned::NotNamespaced => {
                // Link buttons and the like: nothing to do, nobody to tell.
                tracing::info!(id, "refused: the id carries no app prefix");
            }
            Unowned::NotLoaded(app) => {
                tracing::warn!(id, app, "refused: no loaded app owns this id");
                if let Some(url) = response_url {
                    let responder = self.inner.responder.clone();
                    let url = url.to_string();
                    let body = json::ephemeral(&format!(
                        "This was posted by app `{app}`, which is not running, so nothing happened."
                    ));
                    tokio::spawn(async move {
                        responder.deliver(Some(&url), body, "refusal").await;
                    });
                }
            }
        }
    }

    async fn view_submission(&self, user: String, trigger_id: Option<String>, view: View) -> Ack {
        let routes = self.inner.apps.snapshot().routes.clone();
        let Owner { app, original } = match routes.owner(&view.callback_id) {
            Ok(owner) => owner,
            Err(unowned) => {
                let text = unowned.to_string();
                self.refuse(&view.callback_id, unowned, None);
                return Ack::Json(json::view_update(json::error_view(&text)));
            }
        };
        let submission = ViewSubmission {
            callback_id: original,
            view_id: view.id,
            values: namespace::strip_state_values(&app, &view.values).to_string(),
            private_metadata: view.private_metadata,
            context: InvocationContext {
                user_id: user,
                channel_id: String::new(),
                trigger_id,
            },
        };
        let apps = self.inner.apps.clone();
        let work = tokio::spawn(async move {
            let answer = apps.invoke(&app, Request::ViewSubmission(submission)).await;
            view_reply(&app, answer)
        });
        // A modal can only be answered in the acknowledgement; past the
        // budget Slack has closed it, so a late answer can only be logged.
        let late = |ack: Ack| -> BoxFuture<'static, ()> {
            Box::pin(async move {
                if ack != Ack::Empty {
                    tracing::warn!(
                        "a view submission was answered after the ack budget; its response_action was dropped"
                    );
                }
            })
        };
        self.within_budget(work, late).await.unwrap_or(Ack::Empty)
    }

    /// `view_closed` (sent when a view asked for `notify_on_close`): the WIT
    /// has no handler of its own for it, so the owner gets it through
    /// `on-event` as event type `view_closed`.
    fn view_closed(&self, user: String, view: View, is_cleared: bool) -> Ack {
        let routes = self.inner.apps.snapshot().routes.clone();
        let Owner { app, original } = match routes.owner(&view.callback_id) {
            Ok(owner) => owner,
            Err(unowned) => {
                self.refuse(&view.callback_id, unowned, None);
                return Ack::Empty;
            }
        };
        let event = Event {
            event_type: "view_closed".into(),
            event_id: format!("view_closed:{}", view.id),
            payload: json!({
                "user_id": user,
                "view_id": view.id,
                "callback_id": original,
                "private_metadata": view.private_metadata,
                "values": namespace::strip_state_values(&app, &view.values),
                "is_cleared": is_cleared,
            })
            .to_string(),
        };
        let apps = self.inner.apps.clone();
        tokio::spawn(async move {
            if let Err(e) = apps.invoke(&app, Request::Event(event)).await {
                tracing::warn!(app = &*app, error = %e, "view_closed handler failed");
            }
        });
        Ack::Empty
    }

    /// Global and message shortcuts, `callback_id` = `<app>.<id>`. An app
    /// that declared the shortcut through its `shortcuts` trigger gets it
    /// there; one configured by hand in Slack before triggers existed gets
    /// it through `on-action` with `action-id` = `<id>`, as it always did.
    async fn shortcut(&self, shortcut: Shortcut) -> Ack {
        let routes = self.inner.apps.snapshot().routes.clone();
        let owner = match routes.owner(&shortcut.callback_id) {
            Ok(owner) => owner,
            Err(unowned) => {
                self.refuse(
                    &shortcut.callback_id,
                    unowned,
                    shortcut.response_url.as_deref(),
                );
                return Ack::Empty;
            }
        };
        let context = InvocationContext {
            user_id: shortcut.user,
            channel_id: shortcut.channel.clone(),
            trigger_id: shortcut.trigger_id,
        };
        let message_ref = |ts: &str| MessageRef {
            channel: shortcut.channel.clone(),
            ts: ts.to_string(),
        };
        let request = match routes.shortcut(&owner) {
            ShortcutRoute::Trigger => Request::Shortcut(ShortcutRequest {
                callback_id: owner.original,
                kind: shortcut.kind,
                message: shortcut
                    .message
                    .as_ref()
                    .map(|(ts, user, text)| ShortcutMessage {
                        target: message_ref(ts),
                        user: user.clone(),
                        text: text.clone(),
                    }),
                context,
            }),
            ShortcutRoute::Action => Request::Action(ActionRequest {
                action_id: owner.original,
                block_id: None,
                value: None,
                message: shortcut.message.as_ref().map(|(ts, _, _)| message_ref(ts)),
                context,
            }),
        };
        self.clicks(
            vec![(owner.app, request)],
            shortcut.response_url,
            "shortcut answer",
        )
        .await
    }

    /// An Events API body: `url_verification` answered with its challenge,
    /// `event_callback` acknowledged at once and run in the background on
    /// every app subscribed to the event's type, once per `event_id` however
    /// often Slack retries. `retry_num` is `X-Slack-Retry-Num`, for the logs.
    pub async fn event(
        &self,
        body: EventBody,
        retry_num: Option<u32>,
    ) -> Result<Ack, DispatchError> {
        match body {
            EventBody::UrlVerification { challenge } => {
                Ok(Ack::Json(json!({ "challenge": challenge })))
            }
            EventBody::Callback {
                event_id,
                event_type,
                event,
            } => {
                self.event_callback(event_id, event_type, event, retry_num)
                    .await
            }
            EventBody::RateLimited => {
                tracing::warn!("Slack is rate-limiting event deliveries to this app");
                Ok(Ack::Empty)
            }
            EventBody::Other(kind) => {
                tracing::debug!(kind, "event envelope type not handled; acknowledged");
                Ok(Ack::Empty)
            }
        }
    }

    async fn event_callback(
        &self,
        event_id: String,
        event_type: String,
        event: Value,
        retry_num: Option<u32>,
    ) -> Result<Ack, DispatchError> {
        let snapshot = self.inner.apps.snapshot();
        let subscribers = snapshot.routes.subscribers(&event_type).to_vec();
        if subscribers.is_empty() {
            tracing::debug!(event_type, event_id, "no app subscribes to this event");
            return Ok(Ack::Empty);
        }
        if !self
            .inner
            .apps
            .storage()
            .events
            .mark_seen(&event_id)
            .await?
        {
            tracing::info!(
                event_id,
                retry_num,
                "event already handled; Slack's retry acknowledged"
            );
            return Ok(Ack::Empty);
        }
        let request = Event {
            event_type,
            event_id,
            payload: event.to_string(),
        };
        let apps = self.inner.apps.clone();
        tokio::spawn(async move {
            let runs = subscribers.iter().map(|app| {
                let apps = &apps;
                let request = Request::Event(request.clone());
                async move {
                    if let Err(e) = apps.invoke(app, request).await {
                        tracing::warn!(app = &**app, error = %e, "event handler failed");
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
        let storage = self.inner.apps.storage().clone();
        tokio::spawn(async move {
            match storage
                .events
                .forget_before(now - SEEN_EVENT_RETENTION_MS)
                .await
            {
                Ok(n) if n > 0 => tracing::debug!(forgotten = n, "pruned old event ids"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning old event ids failed"),
            }
        });
    }
}

/// `Some(true)` for the host's Approve button, `Some(false)` for Deny.
fn approval_click(action_id: &str) -> Option<bool> {
    match action_id {
        approvals::APPROVE => Some(true),
        approvals::DENY => Some(false),
        _ => None,
    }
}

/// The JSON body answering a slash command, or `None` for "acknowledged,
/// nothing to show".
fn command_reply(answer: Result<CommandAnswer, CallError>) -> Option<Value> {
    match answer {
        Ok(CommandAnswer::Help(text)) => Some(json::ephemeral(&text)),
        Ok(CommandAnswer::App { app, invocation }) => match invocation.response {
            Response::Command(Some(reply)) => Some(json::reply(&app.id, &reply)),
            Response::Command(None) => None,
            other => Some(json::error_message(&format!(
                "app `{}` answered a command with {other:?}",
                app.id
            ))),
        },
        // "No such command" and friends: the router's text lists what exists.
        Err(CallError::Route(e)) => Some(json::ephemeral(&e.to_string())),
        Err(e) => Some(json::error_message(&e)),
    }
}

/// What to POST to `response_url` for an app's answer to a click.
fn action_reply(app: &str, answer: Answered) -> Option<Value> {
    match answer {
        Ok((_, invocation)) => match invocation.response {
            Response::Action(answer) => json::action_answer(app, answer),
            // Shortcuts answer nothing visible through response_url.
            Response::Done => None,
            other => {
                let mut body =
                    json::error_message(&format!("app `{app}` answered a click with {other:?}"));
                body["replace_original"] = json!(false);
                Some(body)
            }
        },
        Err(e) => {
            let mut body = json::error_message(&e);
            body["replace_original"] = json!(false);
            Some(body)
        }
    }
}

/// The acknowledgement answering a view submission (Slack's `response_action`).
fn view_reply(app: &str, answer: Answered) -> Ack {
    match answer {
        Ok((_, invocation)) => match invocation.response {
            Response::ViewSubmission(answer) => Ack::json_or_empty(json::view_answer(app, answer)),
            other => Ack::Json(json::view_update(json::error_view(&format!(
                "app `{app}` answered a submission with {other:?}"
            )))),
        },
        Err(e) => Ack::Json(json::view_update(json::error_view(&e))),
    }
}
