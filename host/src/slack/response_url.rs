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

    /// Delivers `body` to `url`, retrying transient failures (transport
    /// errors, 429, 5xx) a few times with backoff.
    pub async fn post(&self, url: &str, body: &Value) -> Result<(), RespondError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| RespondError::BadUrl(url.into()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(RespondError::BadUrl(url.into()));
        }
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
