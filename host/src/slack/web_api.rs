//! A Slack Web API client: JSON `POST {base}/{method}` with the bot token.
//!
//! Slack answers most errors with HTTP 200 and `{"ok":false,"error":code}`;
//! those come back as [`WebApiError::Slack`] and are not retried (retrying
//! `channel_not_found` cannot help), except `ratelimited`. HTTP 429 waits the
//! `Retry-After` Slack asks for; 5xx and connection failures are retried with
//! exponential backoff. Attempts are bounded so a caller (the delivery task)
//! decides what happens after Slack has been away for a while.

use std::time::Duration;

use reqwest::StatusCode;

use crate::contract::retry::Backoff;
use serde::Deserialize;
use serde_json::Value;

/// How hard one [`WebApi::call`] tries before giving up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total HTTP attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// Waits between attempts, unless Slack says how long (`Retry-After`).
    pub backoff: Backoff,
    /// Longest `Retry-After` waited inside a call; a longer one ends the call
    /// with [`WebApiError::RateLimited`] so the caller can park the work.
    pub max_retry_after: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(8)),
            max_retry_after: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebApiError {
    /// Slack answered `{"ok":false,"error":code}`: the request itself is wrong
    /// (or, for `ratelimited`, too early).
    #[error("{0}")]
    Slack(String),
    /// Still HTTP 429 after the allowed attempts; try again after `retry_after`.
    #[error("ratelimited (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// Still a 5xx after the allowed attempts.
    #[error("Slack answered HTTP {0}")]
    Server(u16),
    /// No answer: connection refused or reset, timeout …
    #[error("cannot reach Slack: {0}")]
    Transport(#[source] reqwest::Error),
    /// An answer that is not Slack's JSON shape (e.g. HTTP 404 from a proxy).
    #[error("unexpected answer from Slack: {0}")]
    BadResponse(String),
}

impl WebApiError {
    /// Whether trying the same call later may succeed. A Slack error code
    /// other than `ratelimited` is final: the payload will not get better.
    pub fn is_retryable(&self) -> bool {
        match self {
            WebApiError::Slack(code) => code == "ratelimited",
            WebApiError::RateLimited { .. }
            | WebApiError::Server(_)
            | WebApiError::Transport(_) => true,
            WebApiError::BadResponse(_) => false,
        }
    }

    /// How long Slack asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            WebApiError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// `auth.test`: who the bot token belongs to, checked at start-up so a bad
/// token fails loudly before any app posts.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AuthInfo {
    pub team_id: String,
    pub user_id: String,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// The Web API client. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct WebApi {
    http: reqwest::Client,
    base_url: String,
    bot_token: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for WebApi {
    // Hand-written so the token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebApi")
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Slack's read methods take form or query arguments only; a JSON body is
/// ignored by them, so they are sent form-encoded.
fn takes_form_only(method: &str) -> bool {
    matches!(
        method,
        "users.info" | "conversations.info" | "users.lookupByEmail"
    )
}

/// A flat JSON object as form fields (strings as they are, the rest as JSON).
fn form_fields(args: &Value) -> Vec<(String, String)> {
    args.as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(key, value)| {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (key.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What one HTTP attempt came to.
enum Attempt {
    Done(Result<Value, WebApiError>),
    Retry {
        error: WebApiError,
        wait: Option<Duration>,
    },
}

impl WebApi {
    /// A client for `base_url` (e.g. `https://slack.com/api/`, or the
    /// emulator's `base_url()`) with the default [`RetryPolicy`].
    pub fn new(base_url: &str, bot_token: &str) -> WebApi {
        WebApi::with_retry(base_url, bot_token, RetryPolicy::default())
    }

    pub fn with_retry(base_url: &str, bot_token: &str, retry: RetryPolicy) -> WebApi {
        let http = reqwest::Client::builder()
            .timeout(retry.request_timeout)
            .user_agent(concat!("botyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let mut base_url = base_url.to_string();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        WebApi {
            http,
            base_url,
            bot_token: bot_token.to_string(),
            retry,
        }
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Calls `method` with `args` as its JSON body; Slack's whole answer
    /// (`ok: true` included) on success.
    pub async fn call(&self, method: &str, args: &Value) -> Result<Value, WebApiError> {
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let (error, wait) = match self.attempt(method, args).await {
                Attempt::Done(result) => return result,
                Attempt::Retry { error, wait } => (error, wait),
            };
            let wait = wait.unwrap_or_else(|| self.retry.backoff.delay(attempt));
            if attempt >= attempts || wait > self.retry.max_retry_after {
                tracing::warn!(%method, attempt, error = %error, "Slack Web API call gave up");
                return Err(error);
            }
            tracing::debug!(%method, attempt, error = %error, ?wait, "retrying Slack Web API call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, method: &str, args: &Value) -> Attempt {
        let request = self
            .http
            .post(format!("{}{method}", self.base_url))
            .bearer_auth(&self.bot_token);
        let request = if takes_form_only(method) {
            request.form(&form_fields(args))
        } else {
            request.json(args)
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return Attempt::Retry {
                    error: WebApiError::Transport(e),
                    wait: None,
                };
            }
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Slack always sends Retry-After (whole seconds) with a 429.
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(Duration::from_secs(1), Duration::from_secs);
            return Attempt::Retry {
                error: WebApiError::RateLimited { retry_after },
                wait: Some(retry_after),
            };
        }
        if status.is_server_error() {
            return Attempt::Retry {
                error: WebApiError::Server(status.as_u16()),
                wait: None,
            };
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => {
                return Attempt::Retry {
                    error: WebApiError::Transport(e),
                    wait: None,
                };
            }
        };
        if !status.is_success() {
            return Attempt::Done(Err(WebApiError::BadResponse(format!(
                "HTTP {status} from {method}"
            ))));
        }
        let value: Value = match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(e) => {
                return Attempt::Done(Err(WebApiError::BadResponse(format!(
                    "{method} answered non-JSON: {e}"
                ))));
            }
        };
        match value.get("ok").and_then(Value::as_bool) {
            Some(true) => Attempt::Done(Ok(value)),
            Some(false) => {
                let code = value
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown_error")
                    .to_string();
                let error = WebApiError::Slack(code);
                if error.is_retryable() {
                    Attempt::Retry { error, wait: None }
                } else {
                    Attempt::Done(Err(error))
                }
            }
            None => Attempt::Done(Err(WebApiError::BadResponse(format!(
                "{method} answered without `ok`"
            )))),
        }
    }

    /// `users.info`: a user's profile.
    pub async fn users_info(&self, user: &str) -> Result<Value, WebApiError> {
        let value = self
            .call("users.info", &serde_json::json!({ "user": user }))
            .await?;
        Ok(value.get("user").cloned().unwrap_or(Value::Null))
    }

    /// `auth.test`: checks the token and says whose it is.
    pub async fn auth_test(&self) -> Result<AuthInfo, WebApiError> {
        let value = self.call("auth.test", &serde_json::json!({})).await?;
        serde_json::from_value(value)
            .map_err(|e| WebApiError::BadResponse(format!("auth.test: {e}")))
    }
}
