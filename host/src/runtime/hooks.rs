//! Hooks around every invocation: the one place where what happens to *all*
//! invocations is added — the audit row today; permission checks and
//! metrics next — instead of code written into the invocation path.
//!
//! Before the app runs, each hook may refuse the invocation (nothing of the
//! app runs then). After it — and after a refusal — each hook sees the
//! outcome and may write into the invocation's unit of work, which is
//! committed once, with the app's own writes.

use std::time::Duration;

use async_trait::async_trait;

use super::app::AppVersion;
use super::invoke::InvokeError;
use crate::contract::request::{Kind, Request, Response};
use crate::storage::{InvocationRecord, Outcome, StorageError, Unit};

/// The invocation a hook is asked about.
pub struct Call<'a> {
    pub app: &'a AppVersion,
    pub request: &'a Request,
    /// When it started, Unix milliseconds.
    pub started_at_ms: u64,
    /// Whether a hook's `before` refused it, so none of the app ran (then
    /// `after` gets the refusal's message as its `Err`). Always `false`
    /// while the `before`s run.
    pub refused: bool,
    /// What the app answered, for the hooks' `after` when it answered; `None`
    /// while the `before`s run, after a refusal or a failure, and in
    /// `finished`. How a caller's own hook turns the answer into something
    /// written with the invocation (a late reply queued for `response_url`).
    pub response: Option<&'a Response>,
}

/// Why a hook refused an invocation, fit to show the person who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

#[async_trait]
pub trait Hook: Send + Sync {
    /// Before any of the app runs; `Err` refuses the invocation.
    async fn before(&self, call: &Call<'_>) -> Result<(), Refusal> {
        let _ = call;
        Ok(())
    }

    /// After the app ran (or was refused): `outcome` is `Err` with the
    /// message shown to the user. Writes go into the invocation's unit.
    async fn after(
        &self,
        call: &Call<'_>,
        duration: Duration,
        outcome: &Result<(), String>,
        unit: &mut dyn Unit,
    ) -> Result<(), StorageError> {
        let _ = (call, duration, outcome, unit);
        Ok(())
    }

    /// Once the invocation is over and its unit committed (or not): the
    /// outcome as the caller gets it, typed, for hooks that only observe
    /// (metrics). Nothing can be written or refused here.
    fn finished(&self, call: &Call<'_>, duration: Duration, outcome: &Result<(), InvokeError>) {
        let _ = (call, duration, outcome);
    }
}

/// Two hooks as one, run in order (`before` stops at the first refusal,
/// `after` at the first error): for callers that pass one extra hook.
#[async_trait]
impl<A: Hook, B: Hook> Hook for (A, B) {
    async fn before(&self, call: &Call<'_>) -> Result<(), Refusal> {
        self.0.before(call).await?;
        self.1.before(call).await
    }

    async fn after(
        &self,
        call: &Call<'_>,
        duration: Duration,
        outcome: &Result<(), String>,
        unit: &mut dyn Unit,
    ) -> Result<(), StorageError> {
        self.0.after(call, duration, outcome, unit).await?;
        self.1.after(call, duration, outcome, unit).await
    }

    fn finished(&self, call: &Call<'_>, duration: Duration, outcome: &Result<(), InvokeError>) {
        self.0.finished(call, duration, outcome);
        self.1.finished(call, duration, outcome);
    }
}

/// The audit log: one row per invocation, in the invocation's own unit of
/// work, so it costs no commit of its own and is kept exactly when the
/// invocation's writes are. `describe` is not recorded: it runs at load, on
/// no one's behalf.
pub struct Audit;

#[async_trait]
impl Hook for Audit {
    async fn after(
        &self,
        call: &Call<'_>,
        duration: Duration,
        outcome: &Result<(), String>,
        unit: &mut dyn Unit,
    ) -> Result<(), StorageError> {
        let kind = call.request.kind();
        if kind == Kind::Describe {
            return Ok(());
        }
        let record = InvocationRecord {
            at_ms: call.started_at_ms as i64,
            app: call.app.id.to_string(),
            version: call.app.hash.to_string(),
            kind: kind.as_str().into(),
            user: call.request.user().into(),
            channel: call.request.channel().into(),
            detail: call.request.detail(),
            duration_us: duration.as_micros() as i64,
            outcome: match outcome {
                Ok(()) => Outcome::Ok,
                Err(e) if call.refused => Outcome::Refused(e.clone()),
                Err(e) => Outcome::Failed(e.clone()),
            },
        };
        unit.record(&record).await
    }
}

/// Metrics: every invocation counted by app, kind and outcome, and timed;
/// every stop by the sandbox counted by cause (see [`crate::telemetry`]).
/// It reads the typed outcome once the unit is committed, so an invocation
/// whose writes could not be kept counts as failed. `describe` is not
/// counted, as it is not audited: a load that fails counts as a failed
/// reload instead.
pub struct Metrics;

impl Metrics {
    /// The outcome label, and the sandbox's cause when it stopped the app.
    pub fn classify(outcome: &Result<(), InvokeError>) -> (&'static str, Option<&'static str>) {
        match outcome {
            Ok(()) => ("ok", None),
            Err(InvokeError::Refused(_)) => ("refused", None),
            Err(InvokeError::Deadline { .. }) => ("stopped", Some("deadline")),
            Err(InvokeError::Memory { .. }) => ("stopped", Some("memory")),
            Err(InvokeError::StackOverflow { .. }) => ("stopped", Some("stack")),
            Err(InvokeError::Crashed { .. }) => ("stopped", Some("crash")),
            Err(
                InvokeError::Handler { .. }
                | InvokeError::Unsupported { .. }
                | InvokeError::Storage { .. },
            ) => ("failed", None),
        }
    }
}

#[async_trait]
impl Hook for Metrics {
    fn finished(&self, call: &Call<'_>, duration: Duration, outcome: &Result<(), InvokeError>) {
        let kind = call.request.kind();
        if kind == Kind::Describe {
            return;
        }
        let (label, stopped) = Metrics::classify(outcome);
        crate::telemetry::invocation(&call.app.id, kind.as_str(), label, duration);
        if let Some(cause) = stopped {
            crate::telemetry::sandbox_stop(&call.app.id, cause);
        }
    }
}
