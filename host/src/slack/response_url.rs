//! POSTs answers to `response_url`: how an app's reply reaches the user
//! when it comes after Slack's acknowledgement, and how clicks are answered.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

use crate::contract::retry::Backoff;

/// Attempts per `response_url` delivery (Slack answers 5xx or 429 at times).
const ATTEMPTS: u32 = 3;

/// Waits between them, unless Slack says how long (`Retry-After`).
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));

#[derive(Debug, Error)]
pub enum RespondError {
    #[error("response_url `{0}` is not an http(s) URL")]
    BadUrl(String),
    #[error("response_url answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("response_url could not be reached: {0}")]
    Transport(#[from] reqwest::Error),
}

/// The outbox "method" of an answer to be POSTed to a `response_url`:
/// answers that miss Slack's acknowledgement are queued in the outbox in the
/// invocation's own unit (see [`queued`]), so they are as durable as the
/// app's writes and delivered like every other call.
pub const RESPONSE_URL_METHOD: &str = "response_url";

/// The outbox payload of an answer for `url`.
pub fn queued(url: &str, body: Value) -> Value {
    serde_json::json!({ "url": url, "body": body })
}

impl RespondError {
    /// Whether POSTing the same answer later may succeed: the URL could not
    /// be reached, or it answered 429 or 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            RespondError::BadUrl(_) => false,
            RespondError::Refused { status, .. } => *status == 429 || *status >= 500,
            RespondError::Transport(_) => true,
        }
    }
}

/// POSTs late answers to `response_url`s.
#[derive(Clone)]
pub struct Responder {
    client: reqwest::Client,
}

impl Responder {
    pub fn new(timeout: Duration) -> Responder {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("building an HTTP client with rustls");
        Responder { client }
    }

    /// POSTs `body` to `url` once: the outbox retries, with its own backoff.
    pub async fn post_once(&self, url: &str, body: &Value) -> Result<(), RespondError> {
        let parsed = parse(url)?;
        let response = self.client.post(parsed).json(body).send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Err(RespondError::Refused {
            status: status.as_u16(),
            body: text.chars().take(200).collect(),
        })
    }

    /// Delivers `body` to `url`, retrying transient failures (transport
    /// errors, 429, 5xx) a few times with backoff.
    pub async fn post(&self, url: &str, body: &Value) -> Result<(), RespondError> {
        let parsed = parse(url)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= ATTEMPTS;
            let backoff = BACKOFF.delay(attempt);
            match self.client.post(parsed.clone()).json(body).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = response.text().await.unwrap_or_default();
                    let transient = status.is_server_error() || status.as_u16() == 429;
                    if last || !transient {
                        return Err(RespondError::Refused {
                            status: status.as_u16(),
                            body: text.chars().take(200).collect(),
                        });
                    }
                    tracing::debug!(%status, attempt, "response_url busy; retrying");
                    tokio::time::sleep(retry_after.unwrap_or(backoff).min(BACKOFF.max)).await;
                }
                Err(e) if last => return Err(e.into()),
                Err(e) => {
                    tracing::debug!(error = %e, attempt, "response_url unreachable; retrying");
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }

    /// [`Responder::post`] that logs instead of failing: for background
    /// deliveries nobody is waiting on.
    pub async fn deliver(&self, url: Option<&str>, body: Value, what: &str) {
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            tracing::warn!(
                what,
                "an answer was dropped: the request carried no response_url"
            );
            return;
        };
        match self.post(url, &body).await {
            Ok(()) => tracing::debug!(what, "answer delivered to response_url"),
            Err(e) => {
                tracing::warn!(what, error = %e, "could not deliver an answer to response_url")
            }
        }
    }
}

/// `url` as a URL, if it is http(s).
fn parse(url: &str) -> Result<reqwest::Url, RespondError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| RespondError::BadUrl(url.into()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(RespondError::BadUrl(url.into()));
    }
    Ok(parsed)
}
