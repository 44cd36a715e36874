//! Inbound webhooks: `POST /hooks/<app>/<name>`, for the systems apps are
//! driven by — GitHub, Alertmanager, a tracker.
//!
//! A delivery goes through the same steps every time, and one refused at a
//! step leaves nothing behind:
//!
//! 1. the webhook must be configured by the operator
//!    (`[apps.<app>.webhooks.<name>]`, see [`crate::config::webhooks`]) and
//!    declared by the serving version of the app (404 otherwise; 503 while
//!    the app has no version loaded);
//! 2. the body is capped (413), then the sender is verified on the raw bytes
//!    ([`verify`]: GitHub's signature, a bearer token, basic auth; 401);
//! 3. the delivery is recorded durably in one unit of work, de-duplicated by
//!    the sender's delivery id (`X-GitHub-Delivery`), and only then answered:
//!    202 for a new delivery, 200 for one already recorded. An app keeps at
//!    most `webhook_deliveries_kept` deliveries: the oldest settled ones make
//!    room for a new one, and when none is settled the delivery is refused
//!    with 429 and `Retry-After` (the sender tries again) — nothing a sender
//!    was told was received is ever dropped for room;
//! 4. [`runner`] hands it to the app's `on-webhook` in the background,
//!    trying again with backoff when it fails, until it is done or — after
//!    the last try — dead, kept to be seen and replayed.
//!
//! So a sender is told "got it" only for what survives `kill -9`, and a
//! slow app never makes a sender time out.

pub mod runner;
pub mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::body::{BodyError, read_body};
use crate::contract::limits::Quota;
use crate::routing::Apps;
use crate::storage::{NewDelivery, Received, StorageError};

/// Longest delivery id kept from a sender's header.
const MAX_DELIVERY_ID: usize = 256;

/// What a sender refused for the app's `webhook_deliveries_kept` is told to
/// wait (seconds) before trying again: time for the runner to settle some.
const OVER_QUOTA_RETRY_AFTER: &str = "60";

/// The webhook endpoints over these apps, to serve or merge into a bigger
/// router.
pub fn router(apps: Arc<Apps>) -> Router {
    Router::new()
        .route("/hooks/{app}/{name}", post(receive))
        .with_state(apps)
}

/// Why a delivery was turned away; each maps to one status.
#[derive(Debug, thiserror::Error)]
enum Rejection {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Body(BodyError),
    #[error("{0}")]
    Unauthorized(verify::VerifyError),
    #[error("{0}")]
    Malformed(String),
    /// The app keeps as many deliveries as it may, none of them settled.
    #[error("{0}")]
    OverQuota(String),
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        if let Rejection::OverQuota(message) = self {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, OVER_QUOTA_RETRY_AFTER)],
                message,
            )
                .into_response();
        }
        let status = match &self {
            Rejection::NotFound(_) => StatusCode::NOT_FOUND,
            Rejection::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::Body(BodyError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Body(BodyError::Read(_)) | Rejection::Malformed(_) => {
                StatusCode::BAD_REQUEST
            }
            Rejection::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Rejection::OverQuota(_) => StatusCode::TOO_MANY_REQUESTS,
        };
        (status, self.to_string()).into_response()
    }
}

async fn receive(
    State(apps): State<Arc<Apps>>,
    Path((app, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let handled = handle(&apps, &app, &name, &headers, body).await;
    // Labelled by app and hook only when the operator configured them: the
    // path of a request turned away is anyone's to choose.
    let (app_label, hook_label) = match apps.config().webhook(&app, &name) {
        Some(_) => (app.as_str(), name.as_str()),
        None => ("", ""),
    };
    let outcome = match handled {
        Ok(_) => "received",
        Err(_) => "refused",
    };
    crate::telemetry::webhook(app_label, hook_label, outcome);
    match handled {
        Ok((status, id, duplicate)) => {
            tracing::debug!(
                app,
                webhook = name,
                delivery = id,
                duplicate,
                "webhook recorded"
            );
            (
                status,
                axum::Json(json!({"ok": true, "delivery": id, "duplicate": duplicate})),
            )
                .into_response()
        }
        Err(rejection @ Rejection::OverQuota(_)) => {
            // Warned about once, by the quota meter; a sender retrying must
            // not flood the log.
            tracing::debug!(app, webhook = name, reason = %rejection, "webhook delivery refused");
            rejection.into_response()
        }
        Err(rejection) => {
            tracing::warn!(app, webhook = name, reason = %rejection, "webhook delivery refused");
            rejection.into_response()
        }
    }
}

async fn handle(
    apps: &Apps,
    app: &str,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, i64, bool), Rejection> {
    let all = apps.config();
    let config = all.webhook(app, name).ok_or_else(|| {
        Rejection::NotFound(format!(
            "no webhook `{name}` is configured for app `{app}`; the operator adds \
             [apps.{app}.webhooks.{name}] with verify = \"github\" | \"bearer\" | \"basic\" | \"none\" to botyard.toml"
        ))
    })?;
    let quotas = match apps.snapshot().app(app) {
        None => {
            return Err(Rejection::Unavailable(format!(
                "app `{app}` is not loaded right now; try again later"
            )));
        }
        Some(version) if version.description.webhook(name).is_none() => {
            return Err(Rejection::NotFound(format!(
                "app `{app}` declares no webhook `{name}`"
            )));
        }
        Some(version) => version.limits.quotas,
    };
    let body = read_body(headers, body, config.max_body_bytes)
        .await
        .map_err(Rejection::Body)?;
    verify::verify(&config.verify, headers, &body).map_err(Rejection::Unauthorized)?;

    let delivery_id = match config
        .delivery_header
        .as_deref()
        .and_then(|h| headers.get(h))
    {
        Some(value) => {
            let id = value
                .to_str()
                .map_err(|_| Rejection::Malformed("the delivery id header is not text".into()))?
                .trim();
            if id.is_empty() || id.len() > MAX_DELIVERY_ID {
                return Err(Rejection::Malformed(format!(
                    "the delivery id header must be 1..={MAX_DELIVERY_ID} bytes"
                )));
            }
            id.to_string()
        }
        None => fresh_delivery_id(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let kept: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| !verify::CREDENTIAL_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();

    let unavailable = |e: crate::storage::StorageError| {
        tracing::error!(error = %e, "recording a webhook delivery failed");
        Rejection::Unavailable("the delivery could not be recorded; try again".into())
    };
    let meter = apps.runtime().quotas();
    let mut unit = apps.storage().begin();
    unit.set_quotas(quotas);
    let received = unit
        .receive(NewDelivery {
            app,
            hook: name,
            delivery_id: &delivery_id,
            content_type: &content_type,
            headers: &kept,
            body: &body,
        })
        .await
        .map_err(|e| match e {
            StorageError::OverQuota {
                quota, used, limit, ..
            } => {
                let message = e.to_string();
                meter.refused(app, quota, used, limit, &message);
                Rejection::OverQuota(message)
            }
            e => unavailable(e),
        })?;
    unit.commit().await.map_err(unavailable)?;
    let kept_limit = quotas.limit(Quota::WebhookDeliveriesKept);
    if kept_limit > 0
        && matches!(received, Received::New(_))
        && let Ok(usage) = apps.storage().usage(app).await
    {
        meter.usage(
            app,
            Quota::WebhookDeliveriesKept,
            usage.webhook_deliveries,
            kept_limit,
        );
    }
    Ok(match received {
        Received::New(id) => (StatusCode::ACCEPTED, id, false),
        Received::Duplicate(id) => (StatusCode::OK, id, true),
    })
}

/// A delivery id for a sender that gives none: unique per host process and
/// across restarts (time), and across replicas (process id and time).
fn fresh_delivery_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "botyard-{:x}-{:x}-{:x}",
        std::process::id(),
        crate::contract::time::now_micros(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
