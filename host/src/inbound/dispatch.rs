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
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use serde_json::{Value, json};
use thiserror::Error;
use tokio::task::JoinHandle;

use super::answer::{LateAnswer, Race, action_body, command_body};
use super::inbox::{Answer, Inbox, Running, Settle, Taken, Work};
use super::mentions;
use super::payload::{EventBody, Interaction, Shortcut, SlashCommand, View};
use crate::contract::bindings::shortcuts::{ShortcutMessage, ShortcutRequest};
use crate::contract::bindings::types::{
    ActionRequest, Event, InvocationContext, MessageRef, ViewSubmission,
};
use crate::contract::request::{Request, Response};
use crate::routing::approvals;
use crate::routing::table::{Owner, ShortcutRoute, Unowned};
use crate::routing::{Apps, CallContext, CallError, CommandAnswer};
use crate::runtime::app::AppVersion;
use crate::runtime::invoke::{Invocation, InvokeError};
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
    /// Work promised before it is done ([`super::inbox`]).
    inbox: Arc<Inbox>,
}

type Answered = Result<(Arc<AppVersion>, Invocation), CallError>;

impl Dispatcher {
    /// `ack_budget`: how long an app may take before Slack is acknowledged
    /// without its answer; `response_timeout`: per POST to `response_url`.
    pub fn new(apps: Arc<Apps>, ack_budget: Duration, response_timeout: Duration) -> Self {
        Dispatcher {
            inner: Arc::new(Inner {
                ack_budget,
                responder: Responder::new(response_timeout),
                inbox: Inbox::of(&apps),
                apps,
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
    /// quick; when it is not, queued for `response_url` with the app's
    /// writes (see [`super::answer`]).
    pub async fn command(&self, command: SlashCommand) -> Ack {
        let ctx = CallContext {
            user: command.user_id.clone(),
            channel: command.channel_id.clone(),
            trigger_id: command.trigger_id.clone().filter(|t| !t.is_empty()),
        };
        let line = format!("{} {}", command.command.trim(), command.text);
        let apps = self.inner.apps.clone();
        let race = Race::open();
        let (settle, taken) = Settle::pending(race.clone());
        let hooks = Arc::new((
            LateAnswer::new(race.clone(), command.response_url.clone(), command_body),
            settle,
        ));
        let task_hooks = hooks.clone();
        let mut work = tokio::spawn(async move {
            let answer = apps
                .call_command_with(&line, &ctx, Some(&*task_hooks))
                .await;
            let queued = answered_by_hook(&answer);
            (command_reply(answer), queued)
        });
        let on_time = tokio::time::timeout(self.inner.ack_budget, &mut work).await;
        let finished = match on_time {
            Ok(finished) => finished,
            // The answer claimed the acknowledgement as the deadline came:
            // it is being committed, and goes in it.
            Err(_elapsed) if !race.deadline() => work.await,
            Err(_elapsed) => {
                tracing::info!(
                    budget_ms = self.inner.ack_budget.as_millis() as u64,
                    "app still running at the ack budget; acknowledging now, answering later"
                );
                let late = hooks.1.routed().map(|(app, request)| {
                    let key = format!("command:{}", delivery_key(command.trigger_id.as_deref()));
                    let work = Work {
                        request,
                        response_url: command.response_url.clone(),
                        answer: Answer::Command,
                    };
                    (key, app, work)
                });
                let held = self.take_late(taken, late).await;
                let responder = self.inner.responder.clone();
                let url = command.response_url.clone();
                tokio::spawn(async move {
                    let _held = held;
                    match work.await {
                        // The app's answer is queued with its writes.
                        Ok((_, true)) => {}
                        // No app ran (help, an unknown command) or nothing
                        // of it was kept: the host's own words go directly.
                        Ok((Some(body), false)) => {
                            responder
                                .deliver(url.as_deref(), body, "command reply")
                                .await
                        }
                        Ok((None, false)) => {}
                        Err(e) => tracing::error!(error = %e, "an app task panicked"),
                    }
                });
                return Ack::Empty;
            }
        };
        match finished {
            Ok((body, _)) => Ack::json_or_empty(body),
            Err(join_error) => {
                tracing::error!(error = %join_error, "an app task panicked");
                Ack::Empty
            }
        }
    }

    /// An interactivity payload: block actions, view submissions and closes,
    /// global and message shortcuts.
    pub async fn interaction(&self, interaction: Interaction) -> Result<Ack, DispatchError> {
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
                    if action.action_id == mentions::RUN {
                        self.run_click(
                            action.value.unwrap_or_default(),
                            &context,
                            response_url.clone(),
                        );
                        continue;
                    }
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
            } => Ok(self.view_submission(user, trigger_id, view).await),
            Interaction::ViewClosed {
                user,
                view,
                is_cleared,
            } => Ok(self.view_closed(user, view, is_cleared)),
            Interaction::Shortcut(shortcut) => self.shortcut(shortcut).await,
            Interaction::Other(kind) => {
                tracing::debug!(kind, "interaction type not handled; acknowledged");
                Ok(Ack::Empty)
            }
        }
    }

    /// Runs clicks (block actions and shortcuts routed as actions) and
    /// sends each answer to `response_url`: Slack ignores the body of their
    /// acknowledgement, so every answer goes there, on time or late. One
    /// click — nearly every payload — runs before the acknowledgement
    /// ([`Dispatcher::click`]); several are taken into the inbox together
    /// and run one after another in the background.
    async fn clicks(
        &self,
        mut requests: Vec<(Arc<str>, Request)>,
        response_url: Option<String>,
        what: &'static str,
    ) -> Result<Ack, DispatchError> {
        let key = |n: usize, app: &str, request: &Request| {
            // A trigger is one user action; one payload may carry
            // several of its actions, told apart by id and place.
            let (trigger, id) = match request {
                Request::Action(a) => (a.context.trigger_id.clone(), a.action_id.clone()),
                Request::Shortcut(s) => (s.context.trigger_id.clone(), s.callback_id.clone()),
                _ => (None, String::new()),
            };
            format!("click:{}/{app}/{id}/{n}", delivery_key(trigger.as_deref()))
        };
        if requests.len() == 1 {
            let (app, request) = requests.pop().expect("one request");
            let key = key(0, &app, &request);
            return self.click(key, app, request, response_url, what).await;
        }
        if requests.is_empty() {
            return Ok(Ack::Empty);
        }
        let items: Vec<(String, Arc<str>, Work)> = requests
            .into_iter()
            .enumerate()
            .map(|(n, (app, request))| {
                let key = key(n, &app, &request);
                let work = Work {
                    request,
                    response_url: response_url.clone(),
                    answer: Answer::Action,
                };
                (key, app, work)
            })
            .collect();
        // Taken in before the acknowledgement: the answer is promised.
        // Failing that, Slack is not acknowledged (the user sees an error).
        let claims = self.inner.inbox.take(&items).await?;
        let inbox = self.inner.inbox.clone();
        let responder = self.inner.responder.clone();
        tokio::spawn(async move {
            for ((_, app, work), claim) in items.into_iter().zip(claims) {
                let Some(claim) = claim else { continue };
                let answer = inbox.run(&app, work, claim).await;
                if answered_by_hook(&answer) {
                    continue;
                }
                if let Some(body) = action_reply(&app, answer) {
                    responder.deliver(response_url.as_deref(), body, what).await;
                }
            }
        });
        Ok(Ack::Empty)
    }

    /// One click, run before the acknowledgement like a command: on time,
    /// its writes — the key recorded done among them, so a repeat runs
    /// nothing — are committed before Slack is acknowledged, one commit in
    /// all, and its answer is sent to `response_url` directly; still
    /// running at the deadline, it is taken into the inbox then (its answer
    /// queued with its writes), so the acknowledgement promises nothing the
    /// store does not hold.
    async fn click(
        &self,
        key: String,
        app: Arc<str>,
        request: Request,
        response_url: Option<String>,
        what: &'static str,
    ) -> Result<Ack, DispatchError> {
        if self.inner.inbox.seen(&key).await? {
            tracing::info!(
                key,
                "a repeat of a click already done or taken in; nothing runs"
            );
            return Ok(Ack::Empty);
        }
        let race = Race::open();
        let (settle, taken) = Settle::pending(race.clone());
        let hooks = Arc::new((
            LateAnswer::new(race.clone(), response_url.clone(), action_body),
            settle.recording(key.clone()),
        ));
        let (apps, task_hooks, task_app, task_request) = (
            self.inner.apps.clone(),
            hooks.clone(),
            app.clone(),
            request.clone(),
        );
        let mut work = tokio::spawn(async move {
            apps.invoke_with(&task_app, task_request, &*task_hooks)
                .await
        });
        let on_time = tokio::time::timeout(self.inner.ack_budget, &mut work).await;
        let (finished, held) = match on_time {
            Ok(finished) => (Some(finished), None),
            // The answer claimed the acknowledgement as the deadline came.
            Err(_elapsed) if !race.deadline() => (Some((&mut work).await), None),
            Err(_elapsed) => {
                tracing::info!(
                    budget_ms = self.inner.ack_budget.as_millis() as u64,
                    "app still running at the ack budget; acknowledging now, answering later"
                );
                let work = Work {
                    request,
                    response_url: response_url.clone(),
                    answer: Answer::Action,
                };
                (
                    None,
                    self.take_late(taken, Some((key, app.clone(), work))).await,
                )
            }
        };
        let responder = self.inner.responder.clone();
        tokio::spawn(async move {
            let _held = held;
            let finished = match finished {
                Some(finished) => finished,
                None => work.await,
            };
            let answer = match finished {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::error!(error = %e, "an app task panicked");
                    return;
                }
            };
            // A repeat answers nothing; a late answer was queued with the
            // app's writes.
            if hooks.1.repeated() || (race.is_late() && answered_by_hook(&answer)) {
                return;
            }
            if let Some(body) = action_reply(&app, answer) {
                responder.deliver(response_url.as_deref(), body, what).await;
            }
        });
        Ok(Ack::Empty)
    }

    /// Takes work still running at the ack deadline into the inbox —
    /// promised now, before the empty acknowledgement, so another process
    /// answers it if this one dies first — and tells its [`Settle`] whether
    /// it was (`late` is `None` when no app was routed). The guard marks it
    /// running here, so this process's takeover leaves it alone.
    async fn take_late(
        &self,
        taken: Taken,
        late: Option<(String, Arc<str>, Work)>,
    ) -> Option<Running> {
        let claim = match late {
            Some(item) => match self.inner.inbox.take(&[item]).await {
                Ok(mut claims) => claims.pop().flatten(),
                Err(e) => {
                    tracing::warn!(error = %e, "late work could not be taken into the inbox; answering it from this process only");
                    None
                }
            },
            None => None,
        };
        let held = claim.map(|claim| self.inner.inbox.hold(claim.id));
        taken.claimed(claim);
        held
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

    /// *Run* under a command understood from plain words
    /// (`inbound/mentions.rs`): the line runs as whoever pressed, as if they
    /// had typed it — the permission gate and all — and its answer takes
    /// the offer's place.
    fn run_click(&self, line: String, context: &InvocationContext, response_url: Option<String>) {
        let apps = self.inner.apps.clone();
        let responder = self.inner.responder.clone();
        let ctx = CallContext {
            user: context.user_id.clone(),
            channel: context.channel_id.clone(),
            trigger_id: context.trigger_id.clone(),
        };
        tokio::spawn(async move {
            let answer = apps.call_command(&line, &ctx).await;
            let mut body = command_reply(answer)
                .unwrap_or_else(|| json::ephemeral(&format!(":white_check_mark: Ran `{line}`.")));
            let in_channel = body["response_type"] == "in_channel";
            if in_channel {
                // The offer goes; the answer is everyone's.
                let gone = json!({ "delete_original": true });
                responder
                    .deliver(response_url.as_deref(), gone, "plain words answer")
                    .await;
            } else {
                body["replace_original"] = json!(true);
            }
            responder
                .deliver(response_url.as_deref(), body, "plain words answer")
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
    async fn shortcut(&self, shortcut: Shortcut) -> Result<Ack, DispatchError> {
        let routes = self.inner.apps.snapshot().routes.clone();
        let owner = match routes.owner(&shortcut.callback_id) {
            Ok(owner) => owner,
            Err(unowned) => {
                self.refuse(
                    &shortcut.callback_id,
                    unowned,
                    shortcut.response_url.as_deref(),
                );
                return Ok(Ack::Empty);
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
        if subscribers.is_empty() && event_type == "app_mention" {
            // Plain words: the host answers mentions no app owns.
            let apps = self.inner.apps.clone();
            tokio::spawn(async move {
                if let Err(e) = mentions::answer(&apps, &event_id, &event, command_reply).await {
                    tracing::warn!(event_id, error = %e, "a mention could not be answered");
                }
            });
            return Ok(Ack::Empty);
        }
        if subscribers.is_empty() {
            tracing::debug!(event_type, event_id, "no app subscribes to this event");
            return Ok(Ack::Empty);
        }
        let request = Event {
            event_type,
            event_id: event_id.clone(),
            payload: event.to_string(),
        };
        let items: Vec<(String, Arc<str>, Work)> = subscribers
            .iter()
            .map(|app| {
                let work = Work {
                    request: Request::Event(request.clone()),
                    response_url: None,
                    answer: Answer::Nothing,
                };
                (format!("event:{event_id}/{app}"), app.clone(), work)
            })
            .collect();
        // Taken in before the acknowledgement; failing that, Slack is not
        // acknowledged and retries.
        let claims = self.inner.inbox.take(&items).await?;
        if claims.iter().all(Option::is_none) {
            tracing::info!(
                event_id,
                retry_num,
                "event already taken in; Slack's retry acknowledged"
            );
            return Ok(Ack::Empty);
        }
        let inbox = self.inner.inbox.clone();
        tokio::spawn(async move {
            let runs = items
                .into_iter()
                .zip(claims)
                .filter_map(|((_, app, work), claim)| Some((app, work, claim?)))
                .map(|(app, work, claim)| {
                    let inbox = &inbox;
                    async move {
                        if let Err(e) = inbox.run(&app, work, claim).await {
                            tracing::warn!(app = &*app, error = %e, "event handler failed");
                        }
                    }
                });
            join_all(runs).await;
        });
        Ok(Ack::Empty)
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

/// What identifies a delivery in the inbox: Slack's `trigger_id` when it
/// sent one (unique per user action), else a random key — such a request
/// is still kept and taken over, just not recognised if it came again.
fn delivery_key(trigger_id: Option<&str>) -> String {
    match trigger_id.filter(|t| !t.is_empty()) {
        Some(trigger) => trigger.to_string(),
        None => format!("r{:016x}", fastrand::u64(..)),
    }
}

/// Whether an invocation's own [`LateAnswer`] hook took care of its answer
/// (queued with its writes when it missed the acknowledgement): an app ran
/// and its unit was committed. Otherwise — no app ran, or nothing of it was
/// kept — the host's own words are the answer.
fn answered_by_hook<T>(answer: &Result<T, CallError>) -> bool {
    match answer {
        Ok(_) => true,
        Err(CallError::Invoke(InvokeError::Storage { .. })) => false,
        Err(CallError::Invoke(_)) => true,
        Err(CallError::Route(_) | CallError::NotLoaded(_)) => false,
    }
}

/// The JSON body answering a slash command, or `None` for "acknowledged,
/// nothing to show".
fn command_reply(answer: Result<CommandAnswer, CallError>) -> Option<Value> {
    match answer {
        Ok(CommandAnswer::Help(text)) => Some(json::ephemeral(&text)),
        Ok(CommandAnswer::App { app, invocation }) => {
            command_body(&app.id, Ok(&invocation.response))
        }
        // "No such command" and friends: the router's text lists what exists.
        Err(CallError::Route(e)) => Some(json::ephemeral(&e.to_string())),
        Err(e) => Some(json::error_message(&e)),
    }
}

/// What to POST to `response_url` for an answer to a click that no hook
/// queued.
fn action_reply(app: &str, answer: Answered) -> Option<Value> {
    match answer {
        Ok((_, invocation)) => action_body(app, Ok(&invocation.response)),
        Err(e) => action_body(app, Err(&e.to_string())),
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
