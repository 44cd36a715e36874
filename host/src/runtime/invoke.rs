//! One invocation: a fresh store and instance (made ahead when one is
//! ready), the handler call, the limits that stop it, and the audit record
//! that remembers it.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use thiserror::Error;
use tracing::Instrument;

use super::app::{AppCode, AppVersion};
use super::bindings::types::{
    ActionRequest, ActionResponse, AppInfo, CommandRequest, Event, Reply, Tick, ViewResponse,
    ViewSubmission,
};
use super::engine::EPOCH_TICK;
use super::limits::{MemoryCap, MemoryLimitExceeded};
use super::spares::{Prepared, Recipe, set_deadline};
use crate::capabilities::HostState;
use crate::capabilities::clock::now_ms;
use crate::capabilities::log::AppLogs;
use crate::capabilities::slack::SlackState;
use crate::slack::web_api::WebApi;
use crate::storage::{InvocationRecord, OutboxStatus, Outcome, Storage};

/// What the host asks an app to do.
#[derive(Debug, Clone)]
pub enum Request {
    Describe,
    Command(CommandRequest),
    Action(ActionRequest),
    ViewSubmission(ViewSubmission),
    Event(Event),
    Tick(Tick),
}

/// What the app answered, matching the request.
#[derive(Debug, Clone)]
pub enum Response {
    Describe(AppInfo),
    Command(Option<Reply>),
    Action(ActionResponse),
    ViewSubmission(ViewResponse),
    Done,
}

impl Request {
    /// The audit log's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Describe => "describe",
            Request::Command(_) => "command",
            Request::Action(_) => "action",
            Request::ViewSubmission(_) => "view",
            Request::Event(_) => "event",
            Request::Tick(_) => "tick",
        }
    }

    /// Who, where and what, for the audit log and the invocation span.
    fn audit_fields(&self) -> AuditFields {
        let (user, channel, detail) = match self {
            Request::Describe => ("", "", String::new()),
            Request::Command(r) => {
                let sub = r
                    .subcommand
                    .as_deref()
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default();
                (
                    &*r.context.user_id,
                    &*r.context.channel_id,
                    format!("{}{sub} {}", r.command, r.text).trim_end().into(),
                )
            }
            Request::Action(r) => (
                &*r.context.user_id,
                &*r.context.channel_id,
                r.action_id.clone(),
            ),
            Request::ViewSubmission(r) => (
                &*r.context.user_id,
                &*r.context.channel_id,
                r.callback_id.clone(),
            ),
            Request::Event(e) => ("", "", format!("{} {}", e.event_type, e.event_id)),
            Request::Tick(t) => ("", "", t.name.clone()),
        };
        AuditFields {
            kind: self.kind(),
            user: user.into(),
            channel: channel.into(),
            detail,
        }
    }
}

struct AuditFields {
    kind: &'static str,
    user: String,
    channel: String,
    detail: String,
}

/// Why an invocation produced no answer. Each message is one line that names
/// the app and the cause, fit to show a user.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InvokeError {
    #[error("app `{app}` was stopped: it ran past its {} ms deadline", .limit.as_millis())]
    Deadline { app: String, limit: Duration },
    #[error("app `{app}` was stopped: it tried to use more than its {} MiB memory limit", .limit >> 20)]
    Memory { app: String, limit: usize },
    #[error("app `{app}` was stopped: it overflowed its {} KiB wasm stack (runaway recursion?)", .limit >> 10)]
    StackOverflow { app: String, limit: usize },
    #[error("app `{app}` crashed: {message}")]
    Crashed { app: String, message: String },
    #[error("app `{app}` answered with an error: {message}")]
    Handler { app: String, message: String },
}

/// A finished invocation.
#[derive(Debug)]
pub struct Invocation {
    pub response: Response,
    /// Outbox ids of the Slack calls the app made, in order.
    pub slack_calls: Vec<i64>,
    pub duration: Duration,
    /// Whether the instance was made ahead of the request (see
    /// [`super::spares`]); never for native handlers.
    pub prepared: bool,
}

/// Everything an invocation needs from the host besides the app itself.
#[derive(Clone)]
pub struct InvokeEnv {
    pub storage: Storage,
    /// How Slack calls are recorded (pending delivery, or local only).
    pub delivery: OutboxStatus,
    /// Every app's recent log lines.
    pub logs: AppLogs,
    /// The Slack Web API once connected (see [`super::Runtime::connect_slack`]).
    pub slack_api: Arc<OnceLock<Arc<WebApi>>>,
}

impl InvokeEnv {
    /// A store's state for `app`, capped at `memory_bytes`.
    pub fn host_state(&self, app: &Arc<str>, memory_bytes: usize) -> HostState {
        HostState::new(
            app.clone(),
            self.storage.clone(),
            self.slack_state(),
            self.logs.clone(),
            MemoryCap::new(memory_bytes),
        )
    }

    /// Slack state for one invocation, with the Web API as connected now.
    pub fn slack_state(&self) -> SlackState {
        SlackState::new(self.delivery, self.slack_api.get().cloned())
    }
}

/// Runs `request` on `app` in a fresh instance and records it in the audit
/// log (describe calls excepted: they happen at load, not on anyone's behalf).
pub async fn invoke(
    app: &AppVersion,
    env: &InvokeEnv,
    request: Request,
) -> Result<Invocation, InvokeError> {
    let audit = request.audit_fields();
    let span = tracing::info_span!(
        "invoke",
        app = &*app.id,
        version = app.short_hash(),
        kind = audit.kind,
        user = audit.user,
        channel = audit.channel,
        detail = audit.detail
    );
    invoke_in_span(app, env, request, audit)
        .instrument(span)
        .await
}

async fn invoke_in_span(
    app: &AppVersion,
    env: &InvokeEnv,
    request: Request,
    audit: AuditFields,
) -> Result<Invocation, InvokeError> {
    let started = Instant::now();
    let result = match &app.code {
        AppCode::Wasm { .. } => run_wasm(app, env, request).await,
        AppCode::Native(native) => {
            let mut state = env.host_state(&app.id, app.limits.memory_bytes);
            let answer =
                native
                    .handle(&mut state, request)
                    .map_err(|message| InvokeError::Handler {
                        app: app.id.to_string(),
                        message,
                    });
            answer.map(|response| (response, state.slack.recorded, false))
        }
    };
    let duration = started.elapsed();
    if audit.kind != "describe" {
        let record = InvocationRecord {
            at_ms: now_ms() as i64,
            app: app.id.to_string(),
            version: app.hash.clone(),
            kind: audit.kind.into(),
            user: audit.user,
            channel: audit.channel,
            detail: audit.detail,
            duration_us: duration.as_micros() as i64,
            outcome: match &result {
                Ok(_) => Outcome::Ok,
                Err(e) => Outcome::Failed(e.to_string()),
            },
        };
        if let Err(e) = env.storage.record_invocation(&record) {
            tracing::error!(error = %e, "writing the audit log failed");
        }
    }
    match &result {
        Ok(_) => tracing::debug!(duration_us = duration.as_micros() as u64, "invocation done"),
        Err(e) => {
            tracing::warn!(duration_us = duration.as_micros() as u64, error = %e, "invocation failed")
        }
    }
    result.map(|(response, slack_calls, prepared)| Invocation {
        response,
        slack_calls,
        duration,
        prepared,
    })
}

async fn run_wasm(
    app: &AppVersion,
    env: &InvokeEnv,
    request: Request,
) -> Result<(Response, Vec<i64>, bool), InvokeError> {
    let AppCode::Wasm {
        pre,
        engine,
        spares,
        ..
    } = &app.code
    else {
        unreachable!("run_wasm is only called for wasm apps")
    };
    let recipe = Recipe {
        app: app.id.clone(),
        pre: pre.clone(),
        engine: engine.clone(),
        env: env.clone(),
        memory_bytes: app.limits.memory_bytes,
        deadline: app.limits.deadline,
        ready: app.limits.ready_instances,
    };
    let started = Instant::now();
    let (prepared, ready) = match spares.take() {
        Some(prepared) => (Ok(prepared), true),
        None => (recipe.prepare().await, false),
    };
    let (mut store, instance) = match prepared {
        Ok(Prepared { store, instance }) => (store, instance),
        Err(trap) => return Err(classify_trap(app, trap)),
    };
    store.data_mut().slack = env.slack_state();
    // The deadline counts from the request, including any instantiation.
    set_deadline(
        &mut store,
        app.limits.deadline.saturating_sub(started.elapsed()),
    );

    let call = async {
        let handler = instance.botyard_app_handler();
        let store = &mut store;
        wasmtime::Result::Ok(match &request {
            Request::Describe => Ok(Response::Describe(handler.call_describe(store).await?)),
            Request::Command(r) => handler
                .call_on_command(store, r)
                .await?
                .map(Response::Command),
            Request::Action(r) => handler
                .call_on_action(store, r)
                .await?
                .map(Response::Action),
            Request::ViewSubmission(r) => handler
                .call_on_view_submission(store, r)
                .await?
                .map(Response::ViewSubmission),
            Request::Event(e) => handler
                .call_on_event(store, e)
                .await?
                .map(|()| Response::Done),
            Request::Tick(t) => handler
                .call_on_tick(store, t)
                .await?
                .map(|()| Response::Done),
        })
    };
    // The epoch stops wasm code; this stops time spent awaiting host calls.
    let outcome = tokio::time::timeout(app.limits.deadline + EPOCH_TICK * 4, call).await;
    store.data_mut().flush_stdio();
    let recorded = std::mem::take(&mut store.data_mut().slack.recorded);
    if recipe.ready == 0 {
        drop(store);
    } else {
        spares.replenish(store, recipe);
    }
    let app_name = app.id.to_string();
    match outcome {
        Err(_elapsed) => Err(InvokeError::Deadline {
            app: app_name,
            limit: app.limits.deadline,
        }),
        Ok(Err(trap)) => Err(classify_trap(app, trap)),
        Ok(Ok(Err(message))) => Err(InvokeError::Handler {
            app: app_name,
            message,
        }),
        Ok(Ok(Ok(response))) => Ok((response, recorded, ready)),
    }
}

fn classify_trap(app: &AppVersion, error: wasmtime::Error) -> InvokeError {
    let app_name = app.id.to_string();
    if let Some(exceeded) = error.downcast_ref::<MemoryLimitExceeded>() {
        return InvokeError::Memory {
            app: app_name,
            limit: exceeded.limit,
        };
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => InvokeError::Deadline {
            app: app_name,
            limit: app.limits.deadline,
        },
        Some(wasmtime::Trap::StackOverflow) => InvokeError::StackOverflow {
            app: app_name,
            limit: app.limits.wasm_stack_bytes,
        },
        Some(wasmtime::Trap::UnreachableCodeReached) => InvokeError::Crashed {
            app: app_name,
            message: "it panicked or aborted (wasm `unreachable` executed)".into(),
        },
        Some(trap) => InvokeError::Crashed {
            app: app_name,
            message: trap.to_string(),
        },
        None => InvokeError::Crashed {
            app: app_name,
            message: format!("{error:#}"),
        },
    }
}
