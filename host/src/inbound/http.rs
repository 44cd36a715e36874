//! The signed HTTP receiver: Slack's slash command, Events API and
//! interactivity requests, as an axum [`Router`].
//!
//! Every request is checked in the same order, and a rejected one touches
//! nothing: size (413), signature and timestamp on the raw bytes (401), then
//! parsing (400). Only then does [`Dispatcher`] route it to an app.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use thiserror::Error;
use tracing::Instrument;

use super::body::{BodyError, read_body};
use super::dispatch::{Ack, DispatchError, Dispatcher};
use super::payload::{EventBody, Interaction, Malformed, SlashCommand};
use crate::contract::time::now_secs;
use crate::routing::Apps;
use crate::slack::signature::{self, SignatureError};

/// Default largest request body: far above anything Slack sends.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;
/// Default time an app gets before Slack is acknowledged without its
/// answer: Slack wants an answer within 3 s, and the network needs some.
pub const DEFAULT_ACK_BUDGET: Duration = Duration::from_millis(2500);

/// How the receiver is set up. `signing_secret` is never logged.
#[derive(Clone)]
pub struct ReceiverConfig {
    /// The Slack app's signing secret ("Basic Information" in Slack's app
    /// settings).
    pub signing_secret: String,
    pub body_limit: usize,
    pub ack_budget: Duration,
    /// Timeout of one POST to a `response_url`.
    pub response_timeout: Duration,
    pub commands_path: String,
    pub events_path: String,
    pub interactivity_path: String,
}

impl ReceiverConfig {
    /// Defaults for everything but the secret.
    pub fn new(signing_secret: impl Into<String>) -> Self {
        ReceiverConfig {
            signing_secret: signing_secret.into(),
            body_limit: DEFAULT_BODY_LIMIT,
            ack_budget: DEFAULT_ACK_BUDGET,
            response_timeout: Duration::from_secs(10),
            commands_path: "/slack/commands".into(),
            events_path: "/slack/events".into(),
            interactivity_path: "/slack/interactivity".into(),
        }
    }
}

impl std::fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("signing_secret", &"<redacted>")
            .field("body_limit", &self.body_limit)
            .field("ack_budget", &self.ack_budget)
            .field("response_timeout", &self.response_timeout)
            .field("commands_path", &self.commands_path)
            .field("events_path", &self.events_path)
            .field("interactivity_path", &self.interactivity_path)
            .finish()
    }
}

/// Why a receiver could not be built.
#[derive(Debug, Error)]
pub enum ReceiverError {
    #[error(
        "the Slack signing secret is empty; set it (Slack app settings → Basic Information → Signing Secret)"
    )]
    EmptySecret,
    #[error("receiver path `{path}` {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error("the ack budget must be between 1 ms and 3 s (Slack's limit); got {0:?}")]
    BadBudget(Duration),
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Commands,
    Events,
    Interactivity,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Commands => "commands",
            Endpoint::Events => "events",
            Endpoint::Interactivity => "interactivity",
        }
    }
}

struct Shared {
    signing_secret: String,
    body_limit: usize,
    dispatcher: Dispatcher,
}

/// The receiver's routes, ready to be served or merged into a bigger router.
pub fn router(apps: Arc<Apps>, config: ReceiverConfig) -> Result<Router, ReceiverError> {
    if config.signing_secret.is_empty() {
        return Err(ReceiverError::EmptySecret);
    }
    if config.ack_budget.is_zero() || config.ack_budget > Duration::from_secs(3) {
        return Err(ReceiverError::BadBudget(config.ack_budget));
    }
    let paths = [
        (&config.commands_path, Endpoint::Commands),
        (&config.events_path, Endpoint::Events),
        (&config.interactivity_path, Endpoint::Interactivity),
    ];
    for (i, (path, _)) in paths.iter().enumerate() {
        if !path.starts_with('/') {
            return Err(ReceiverError::BadPath {
                path: path.to_string(),
                reason: "must start with `/`",
            });
        }
        if paths[..i].iter().any(|(other, _)| other == path) {
            return Err(ReceiverError::BadPath {
                path: path.to_string(),
                reason: "is used for two endpoints",
            });
        }
    }
    let shared = Arc::new(Shared {
        signing_secret: config.signing_secret.clone(),
        body_limit: config.body_limit,
        dispatcher: Dispatcher::new(apps, config.ack_budget, config.response_timeout),
    });
    let mut router = Router::new();
    for (path, endpoint) in paths {
        let shared = shared.clone();
        router = router.route(
            path,
            post(move |request: Request| receive(shared, endpoint, request)),
        );
    }
    Ok(router)
}

/// Why a request was turned away; each maps to one status.
#[derive(Debug, Error)]
enum Rejection {
    #[error("body over the {0}-byte limit")]
    TooLarge(usize),
    #[error("{0}")]
    Unauthorized(#[from] SignatureError),
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Unavailable(String),
}

impl From<Malformed> for Rejection {
    fn from(m: Malformed) -> Self {
        Rejection::Malformed(m.0)
    }
}

impl From<DispatchError> for Rejection {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Malformed(what) => Rejection::Malformed(what),
            e @ DispatchError::Storage(_) => Rejection::Unavailable(e.to_string()),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match self {
            Rejection::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
            Rejection::Unavailable(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // Signature failures say no more than "unauthorized" to the caller.
        let text = match &self {
            Rejection::Unauthorized(_) => "invalid or missing Slack signature".to_string(),
            other => other.to_string(),
        };
        (status, text).into_response()
    }
}

impl IntoResponse for Ack {
    fn into_response(self) -> Response {
        match self {
            Ack::Empty => StatusCode::OK.into_response(),
            Ack::Json(body) => axum::Json(body).into_response(),
        }
    }
}

async fn receive(shared: Arc<Shared>, endpoint: Endpoint, request: Request) -> Response {
    let span = tracing::info_span!("slack_request", endpoint = endpoint.name());
    async move {
        match handle(&shared, endpoint, request).await {
            Ok(ack) => ack.into_response(),
            Err(rejection) => {
                tracing::warn!(reason = %rejection, "request rejected");
                rejection.into_response()
            }
        }
    }
    .instrument(span)
    .await
}

async fn handle(shared: &Shared, endpoint: Endpoint, request: Request) -> Result<Ack, Rejection> {
    let (parts, body) = request.into_parts();
    let body = read_body(&parts.headers, body, shared.body_limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(limit) => Rejection::TooLarge(limit),
            BodyError::Read(what) => Rejection::Malformed(what),
        })?;
    signature::verify(&shared.signing_secret, &parts.headers, &body, now_secs())?;
    let dispatcher = &shared.dispatcher;
    match endpoint {
        Endpoint::Commands => match SlashCommand::from_form(&body)? {
            None => Ok(Ack::Empty),
            Some(command) => Ok(dispatcher.command(command).await),
        },
        Endpoint::Events => {
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| Rejection::Malformed(format!("not JSON: {e}")))?;
            let retry_num = parts
                .headers
                .get("x-slack-retry-num")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            Ok(dispatcher
                .event(EventBody::parse(&value)?, retry_num)
                .await?)
        }
        Endpoint::Interactivity => {
            #[derive(Deserialize)]
            struct Form {
                payload: String,
            }
            let form: Form = serde_urlencoded::from_bytes(&body)
                .map_err(|e| Rejection::Malformed(format!("no `payload` form field: {e}")))?;
            let payload: serde_json::Value = serde_json::from_str(&form.payload)
                .map_err(|e| Rejection::Malformed(format!("payload is not JSON: {e}")))?;
            Ok(dispatcher
                .interaction(Interaction::parse(&payload)?)
                .await?)
        }
    }
}
