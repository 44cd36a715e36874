//! Operating the host: what a process supervisor, a load balancer and
//! Prometheus ask of it.
//!
//! - `GET /metrics`: everything [`crate::telemetry`] records, in Prometheus'
//!   text format; the outbox and webhook gauges are measured from storage
//!   at each scrape, so they are as fresh as the scrape.
//! - `GET /healthz`: 200 `ok` while the process serves HTTP at all.
//! - `GET /readyz`: 200 when the host can do its work — storage answers
//!   (see [`crate::storage::Storage::check`]), apps are loaded (or the apps
//!   directory was read and is empty), and Slack is connected where the
//!   host is meant to be — else 503 naming the failing checks. Both answer
//!   a small JSON object of every check.
//!
//! `serve` mounts this router beside the Slack receiver in http mode, or on
//! `[ops] listen`; `dev` on the workbench's address.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::routing::Apps;

/// The content type of Prometheus' text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the host is connected to Slack, as `/readyz` reports it: set by
/// whoever connects. Cheap to clone; clones share the state.
#[derive(Clone, Default)]
pub struct Readiness {
    slack: Arc<Mutex<Slack>>,
}

#[derive(Default)]
enum Slack {
    /// The host has no Slack to connect to (`botyard call`, most tests).
    #[default]
    NotExpected,
    /// Its Slack calls are to be delivered, but nothing connected it yet.
    Expected,
    /// The Web API answered (`auth.test` at start): over HTTP, Slack
    /// reaches the host, not the other way round, so that is all there is.
    Connected,
    /// Socket Mode: connected while any of these sockets is open.
    Sockets(Arc<AtomicUsize>),
}

impl Readiness {
    /// The host's Slack calls are to be delivered: not ready until Slack is
    /// connected.
    pub fn expect_slack(&self) {
        let mut slack = self.lock();
        if let Slack::NotExpected = *slack {
            *slack = Slack::Expected;
        }
    }

    /// Slack's Web API is connected (the token was checked). Socket Mode's
    /// sockets, once known, keep deciding.
    pub fn slack_connected(&self) {
        let mut slack = self.lock();
        if let Slack::NotExpected | Slack::Expected = *slack {
            *slack = Slack::Connected;
        }
    }

    /// Slack reaches the host over Socket Mode: connected while `open`
    /// (the client's count of open sockets) is above zero.
    pub fn slack_sockets(&self, open: Arc<AtomicUsize>) {
        *self.lock() = Slack::Sockets(open);
    }

    /// Whether Slack is connected where it should be, and how it stands.
    fn slack(&self) -> (bool, String) {
        match &*self.lock() {
            Slack::NotExpected => (true, "not connected to Slack, and not meant to be".into()),
            Slack::Expected => (false, "not connected to Slack yet".into()),
            Slack::Connected => (true, "connected to the Web API".into()),
            Slack::Sockets(open) => match open.load(Ordering::Relaxed) {
                0 => (false, "no Socket Mode connection is open".into()),
                n => (true, format!("{n} Socket Mode connection(s) open")),
            },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slack> {
        self.slack.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
struct Ops {
    apps: Arc<Apps>,
    readiness: Readiness,
}

/// `/metrics`, `/healthz` and `/readyz` over these apps, to serve or merge
/// into a bigger router.
pub fn router(apps: Arc<Apps>, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Ops { apps, readiness })
}

async fn metrics(State(ops): State<Ops>) -> Response {
    refresh_gauges(&ops.apps).await;
    match crate::telemetry::render() {
        Some(text) => ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not recorded in this process (telemetry::install was not called)\n",
        )
            .into_response(),
    }
}

/// Measures what is kept in storage rather than counted as it happens: the
/// outbox and the webhook deliveries waiting. A failed read keeps the last
/// value (and `/readyz` says storage is failing).
async fn refresh_gauges(apps: &Apps) {
    let storage = apps.storage();
    match storage.outbox.pending_summary().await {
        Ok((depth, oldest_ms)) => {
            let now = crate::contract::time::now_ms() as i64;
            let age =
                oldest_ms.map(|at| Duration::from_millis(now.saturating_sub(at).max(0) as u64));
            crate::telemetry::outbox(depth, age);
        }
        Err(e) => tracing::warn!(error = %e, "measuring the outbox for /metrics failed"),
    }
    match storage.webhooks.pending_count().await {
        Ok(pending) => crate::telemetry::webhooks_pending(pending),
        Err(e) => tracing::warn!(error = %e, "counting pending webhook deliveries failed"),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(ops): State<Ops>) -> Response {
    let storage = match ops.apps.storage().check().await {
        Ok(()) => (true, format!("{} answers", ops.apps.storage().location())),
        Err(e) => (false, e.to_string()),
    };
    let checks = [
        ("storage", storage),
        ("apps", apps_check(&ops.apps)),
        ("slack", ops.readiness.slack()),
    ];
    let failing: Vec<&str> = checks
        .iter()
        .filter(|(_, (ok, _))| !ok)
        .map(|(name, _)| *name)
        .collect();
    let body = json!({
        "ready": failing.is_empty(),
        "failing": failing,
        "checks": checks
            .iter()
            .map(|(name, (ok, detail))| (name.to_string(), json!({"ok": ok, "detail": detail})))
            .collect::<serde_json::Map<String, Value>>(),
        // A refused edit of botyard.toml leaves the previous configuration
        // serving, so it does not make the host unready; it is shown here so
        // whoever watches readiness sees the edit did not take.
        "config_error": ops.apps.config_error().map(|e| json!({"at_ms": e.at_ms, "message": e.message})),
    });
    if !failing.is_empty() {
        tracing::warn!(failing = ?failing, "not ready");
    }
    let status = match failing.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, axum::Json(body)).into_response()
}

/// Ready when an app serves, or when the apps directory was read and holds
/// none (a host with nothing to serve yet is not broken).
fn apps_check(apps: &Apps) -> (bool, String) {
    let snapshot = apps.snapshot();
    let loaded = snapshot.versions().count();
    if loaded > 0 {
        return (true, format!("{loaded} app(s) loaded"));
    }
    let dir = apps.config().apps_dir.clone();
    match apps.app_ids_on_disk() {
        Ok(ids) if ids.is_empty() => (true, format!("{} holds no apps", dir.display())),
        Ok(ids) => {
            let why = ids
                .iter()
                .find_map(|id| snapshot.apps.get(id.as_str())?.last_error.as_ref())
                .map_or_else(String::new, |e| format!(": {}", e.message));
            (
                false,
                format!(
                    "none of the {} app(s) in {} loaded{why}",
                    ids.len(),
                    dir.display()
                ),
            )
        }
        Err(e) => (false, format!("cannot read {}: {e}", dir.display())),
    }
}
