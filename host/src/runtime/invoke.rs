//! One invocation: the hooks before, a fresh store and instance (made ahead
//! when one is ready), the call to the export the request is for, the limits
//! that stop it, the hooks after, and one commit of everything it wrote.

use std::time::{Duration, Instant};

use thiserror::Error;
use tracing::Instrument;

use super::Runtime;
use super::app::{AppCode, AppVersion, WasmCode};
use super::engine::EPOCH_TICK;
use super::hooks::{Call, Hook, Metrics, Refusal};
use super::memory::MemoryLimitExceeded;
use super::spares::{Prepared, Recipe, set_deadline};
use super::state::HostState;
use crate::capabilities::Invocation as Shared;
use crate::capabilities::wasi::WasiState;
use crate::contract::bindings::types::InvocationContext;
use crate::contract::description::Description;
use crate::contract::request::{Kind, Request, Response};
use crate::storage::{StorageError, Unit};

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
    /// The app does not export the trigger this request needs.
    #[error("app `{app}` does not handle {what}")]
    Unsupported { app: String, what: &'static str },
    /// A hook refused the invocation before any of the app ran.
    #[error("{0}")]
    Refused(String),
    /// What the invocation wrote could not be kept, so it counts as not done.
    #[error("app `{app}` ran, but its writes could not be saved: {message}")]
    Storage { app: String, message: String },
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

/// What the app's run came to, before hooks and commit.
struct Ran {
    result: Result<(Response, bool), InvokeError>,
    shared: Shared,
}

impl Runtime {
    /// Runs `request` on `app` in a fresh instance: hooks before (a refusal
    /// runs nothing of the app), the call, hooks after (the audit row among
    /// them), all of it written in one unit of work and committed once.
    /// Nothing of it is acknowledged before that commit returns.
    pub async fn invoke(
        &self,
        app: &AppVersion,
        request: Request,
    ) -> Result<Invocation, InvokeError> {
        self.invoke_with(app, request, None).await
    }

    /// [`Runtime::invoke`], with one more hook for this invocation alone,
    /// run after the runtime's own: how a caller keeps its bookkeeping in
    /// the invocation's unit (a webhook delivery settled with the writes of
    /// the handler that ran it).
    pub async fn invoke_with(
        &self,
        app: &AppVersion,
        request: Request,
        extra: Option<&dyn Hook>,
    ) -> Result<Invocation, InvokeError> {
        let kind = request.kind();
        let span = tracing::info_span!(
            "invoke",
            app = &*app.id,
            version = app.short_hash(),
            kind = kind.as_str(),
            user = request.user(),
            channel = request.channel(),
            detail = tracing::field::Empty,
            duration_us = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        if kind != Kind::Describe {
            // Never what a person typed after a command: logs travel
            // further than the audit log, which keeps the whole line.
            span.record("detail", request.log_detail());
        }
        self.invoke_in_span(app, request, extra)
            .instrument(span)
            .await
    }

    async fn invoke_in_span(
        &self,
        app: &AppVersion,
        request: Request,
        extra: Option<&dyn Hook>,
    ) -> Result<Invocation, InvokeError> {
        let started_at_ms = crate::contract::time::now_ms();
        let started = Instant::now();
        let call = Call {
            app,
            request: &request,
            started_at_ms,
            refused: false,
            response: None,
        };
        let mut refusal = None;
        // The caller's own hook last: it sees only what the host's hooks
        // (the permission gate first) let through.
        for hook in self.hooks.iter().map(|h| &**h).chain(extra) {
            if let Err(Refusal(message)) = hook.before(&call).await {
                refusal = Some(message);
                break;
            }
        }
        let call = Call {
            refused: refusal.is_some(),
            ..call
        };
        let mut unit = self.services.storage.begin();
        // Whatever writes through it — the store capability, a native app —
        // is held to the app's store quotas.
        unit.set_quotas(app.limits.quotas);
        let Ran { result, mut shared } = match (refusal, &app.code) {
            (Some(message), _) => {
                let mut shared = self.shared(app);
                shared.unit = Some(unit);
                Ran {
                    result: Err(InvokeError::Refused(message)),
                    shared,
                }
            }
            (None, AppCode::Wasm(code)) => self.run_wasm(app, code, &request, unit).await,
            (None, AppCode::Native(native)) => {
                let mut shared = self.shared(app);
                shared.unit = Some(unit);
                shared.context = context_of(&request);
                shared.deadline = Some(started + app.limits.deadline);
                let result = native
                    .handle(&mut shared, request.clone())
                    .await
                    .map(|response| (response, false))
                    .map_err(|message| InvokeError::Handler {
                        app: app.id.to_string(),
                        message,
                    });
                Ran { result, shared }
            }
        };
        let duration = started.elapsed();
        let mut unit = shared
            .unit
            .take()
            .unwrap_or_else(|| self.services.storage.begin());
        let outcome = result.as_ref().map(|_| ()).map_err(ToString::to_string);
        let mut kept = Ok(());
        let answered = Call {
            response: result.as_ref().ok().map(|(response, _)| response),
            ..call
        };
        for hook in self.hooks.iter().map(|h| &**h).chain(extra) {
            if let Err(e) = hook.after(&answered, duration, &outcome, &mut *unit).await {
                kept = Err(e);
                break;
            }
        }
        let kept = match kept {
            Ok(()) => unit.commit().await,
            Err(e) => Err(e),
        };
        let result = match (result, kept) {
            (result, Ok(())) => result,
            (_, Err(error)) => Err(storage_failed(app, error)),
        };
        let finished = result.as_ref().map(|_| ()).map_err(Clone::clone);
        for hook in self.hooks.iter().map(|h| &**h).chain(extra) {
            hook.finished(&call, duration, &finished);
        }
        let outcome = Metrics::classify(&finished).0;
        let duration_us = duration.as_micros() as u64;
        let span = tracing::Span::current();
        span.record("duration_us", duration_us);
        span.record("outcome", outcome);
        // The line that ends an invocation carries its fields itself: a
        // filter that keeps failures but not the `info` span (the default
        // `warn`) still tells whose they were. Evaluated only when kept.
        macro_rules! ended {
            ($level:expr, $($rest:tt)*) => {
                tracing::event!(
                    $level,
                    app = &*app.id,
                    version = app.short_hash(),
                    kind = request.kind().as_str(),
                    user = request.user(),
                    channel = request.channel(),
                    detail = request.log_detail(),
                    duration_us,
                    outcome,
                    $($rest)*
                )
            };
        }
        // `describe` runs at load, on no one's behalf (neither audited nor
        // counted): its success is a detail of loading.
        match &result {
            Ok(_) if request.kind() == Kind::Describe => {
                ended!(tracing::Level::DEBUG, "invocation done")
            }
            Ok(_) => ended!(tracing::Level::INFO, "invocation done"),
            // A refusal (permissions, approval held) is the host working as
            // configured, not a failure to page anyone about.
            Err(e @ InvokeError::Refused(_)) => {
                ended!(tracing::Level::INFO, reason = %e, "invocation refused")
            }
            Err(e) => ended!(tracing::Level::WARN, error = %e, "invocation failed"),
        }
        result.map(|(response, prepared)| Invocation {
            response,
            slack_calls: shared.slack_calls,
            duration,
            prepared,
        })
    }

    async fn run_wasm(
        &self,
        app: &AppVersion,
        code: &WasmCode,
        request: &Request,
        unit: Box<dyn Unit>,
    ) -> Ran {
        let recipe = self.recipe(app, code);
        let fail = |error: InvokeError, unit: Box<dyn Unit>| {
            let mut shared = self.shared(app);
            shared.unit = Some(unit);
            Ran {
                result: Err(error),
                shared,
            }
        };
        let missing = match request {
            Request::Shortcut(_) if code.triggers.shortcuts.is_none() => {
                Some("shortcuts (it does not export `botyard:app/shortcuts`)")
            }
            Request::Webhook(_) if code.triggers.webhooks.is_none() => {
                Some("webhooks (it does not export `botyard:app/webhooks`)")
            }
            _ => None,
        };
        if let Some(what) = missing {
            let error = InvokeError::Unsupported {
                app: app.id.to_string(),
                what,
            };
            return fail(error, unit);
        }
        let started = Instant::now();
        let (prepared, ready) = match code.spares.take() {
            Some(prepared) => (Ok(prepared), true),
            None => (recipe.prepare().await, false),
        };
        let Prepared {
            mut store,
            instance,
            handler,
        } = match prepared {
            Ok(prepared) => prepared,
            Err(trap) => return fail(classify_trap(app, trap), unit),
        };
        {
            let state = store.data_mut();
            state.invocation.unit = Some(unit);
            state.invocation.context = context_of(request);
            state.invocation.deadline = Some(started + app.limits.deadline);
            state.invocation.quotas = app.limits.quotas;
            let HostState {
                states, invocation, ..
            } = state;
            states.bind(invocation);
        }
        // The deadline counts from the request, including any instantiation.
        set_deadline(
            &mut store,
            app.limits.deadline.saturating_sub(started.elapsed()),
        );

        let call = async {
            let store = &mut store;
            wasmtime::Result::Ok(match request {
                Request::Describe => {
                    let info = handler.call_describe(&mut *store).await?;
                    // What the app declares through each optional trigger
                    // it exports; nothing through one it does not.
                    macro_rules! declared {
                        ($trigger:ident, $describe:ident) => {
                            match &code.triggers.$trigger {
                                Some(indices) => {
                                    indices
                                        .load(&mut *store, &instance)?
                                        .$describe(&mut *store)
                                        .await?
                                }
                                None => Vec::new(),
                            }
                        };
                    }
                    let shortcuts = declared!(shortcuts, call_describe_shortcuts);
                    let webhooks = declared!(webhooks, call_describe_webhooks);
                    let settings = declared!(settings_schema, call_describe_settings);
                    let phrases = declared!(phrases, call_describe_phrases);
                    Ok(Response::Describe(Description {
                        info,
                        shortcuts,
                        webhooks,
                        settings,
                        phrases,
                    }))
                }
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
                Request::Shortcut(s) => code
                    .triggers
                    .shortcuts
                    .as_ref()
                    .expect("checked before instantiating")
                    .load(&mut *store, &instance)?
                    .call_on_shortcut(store, s)
                    .await?
                    .map(|()| Response::Done),
                Request::Webhook(w) => code
                    .triggers
                    .webhooks
                    .as_ref()
                    .expect("checked before instantiating")
                    .load(&mut *store, &instance)?
                    .call_on_webhook(store, w)
                    .await?
                    .map(|()| Response::Done),
            })
        };
        // The epoch stops wasm code; this stops time spent awaiting host calls.
        let outcome = tokio::time::timeout(app.limits.deadline + EPOCH_TICK * 4, call).await;
        let shared = {
            let state = store.data_mut();
            let HostState {
                states,
                invocation,
                wasi,
                ..
            } = state;
            WasiState::flush(wasi, invocation);
            states.finish(invocation);
            let mut fresh = self.shared(app);
            std::mem::swap(&mut fresh, invocation);
            fresh
        };
        if recipe.ready == 0 {
            drop(store);
        } else {
            code.spares.replenish(store, recipe);
        }
        let app_name = app.id.to_string();
        let result = match outcome {
            Err(_elapsed) => Err(InvokeError::Deadline {
                app: app_name,
                limit: app.limits.deadline,
            }),
            Ok(Err(trap)) => Err(classify_trap(app, trap)),
            Ok(Ok(Err(message))) => Err(InvokeError::Handler {
                app: app_name,
                message,
            }),
            Ok(Ok(Ok(response))) => Ok((response, ready)),
        };
        Ran { result, shared }
    }
}

impl Runtime {
    /// Fresh per-invocation state for a call to `app`: what a refusal, a
    /// native app or a failure before instantiation runs with, and what
    /// replaces a wasm call's state once the instance is gone.
    fn shared(&self, app: &AppVersion) -> Shared {
        let mut shared = Shared::new(app.id.clone(), app.hash.clone(), self.services.logs.clone());
        shared.quotas = app.limits.quotas;
        shared
    }

    /// What making an instance of `app` takes.
    pub(super) fn recipe(&self, app: &AppVersion, code: &WasmCode) -> Recipe {
        Recipe {
            app: app.id.clone(),
            version: app.hash.clone(),
            pre: code.pre.clone(),
            handler: code.handler.clone(),
            engine: code.engine.clone(),
            capabilities: self.capabilities.clone(),
            states: app.states.clone(),
            logs: self.services.logs.clone(),
            memory_bytes: app.limits.memory_bytes,
            deadline: app.limits.deadline,
            ready: code.ready,
        }
    }
}

/// Who acts and where, as capabilities see it.
fn context_of(request: &Request) -> InvocationContext {
    match request {
        Request::Command(r) => r.context.clone(),
        Request::Action(r) => r.context.clone(),
        Request::ViewSubmission(r) => r.context.clone(),
        Request::Shortcut(r) => r.context.clone(),
        Request::Describe | Request::Event(_) | Request::Tick(_) | Request::Webhook(_) => {
            InvocationContext {
                user_id: String::new(),
                channel_id: String::new(),
                trigger_id: None,
            }
        }
    }
}

fn storage_failed(app: &AppVersion, error: StorageError) -> InvokeError {
    tracing::error!(error = %error, "an invocation's writes could not be committed");
    InvokeError::Storage {
        app: app.id.to_string(),
        message: error.to_string(),
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
