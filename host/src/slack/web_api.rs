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

/// The outbox's name for a file upload, which [`WebApi::upload_external`]
/// turns into Slack's three steps.
pub const UPLOAD_METHOD: &str = "files.upload";

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

    /// Whether the request may have reached Slack and been carried out
    /// although no answer came back (a timeout, a connection reset after
    /// sending, an answer cut off): trying again blindly may do it twice.
    /// A connection that never opened sent nothing; an HTTP answer (429,
    /// 5xx included) is Slack saying it did not do it.
    pub fn is_unclear(&self) -> bool {
        matches!(self, WebApiError::Transport(e) if !e.is_connect())
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
        "users.info"
            | "users.list"
            | "users.lookupByEmail"
            | "conversations.info"
            | "conversations.list"
            | "conversations.history"
            | "conversations.replies"
            | "conversations.members"
            | "usergroups.list"
            | "usergroups.users.list"
            | "chat.getPermalink"
            | "files.getUploadURLExternal"
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
        self.call_retrying(method, args, true).await
    }

    /// Like [`call`](WebApi::call), but never repeats an attempt whose
    /// outcome is unclear ([`WebApiError::is_unclear`]): that error is
    /// returned at once, for the caller to check what Slack did before
    /// trying again (a message posted twice cannot be taken back quietly).
    /// Rate limits and 5xx answers are still retried: Slack did nothing.
    pub async fn call_at_most_once(
        &self,
        method: &str,
        args: &Value,
    ) -> Result<Value, WebApiError> {
        self.call_retrying(method, args, false).await
    }

    async fn call_retrying(
        &self,
        method: &str,
        args: &Value,
        repeat_unclear: bool,
    ) -> Result<Value, WebApiError> {
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let (error, wait) = match self.attempt(method, args).await {
                Attempt::Done(result) => return result,
                Attempt::Retry { error, wait } => (error, wait),
            };
            if !repeat_unclear && error.is_unclear() {
                tracing::warn!(%method, attempt, error = %error, "Slack Web API call ended unclearly");
                return Err(error);
            }
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

    /// One HTTP attempt, counted by method and what Slack answered (see
    /// [`crate::telemetry::slack_call`]): every answer is seen here.
    async fn attempt(&self, method: &str, args: &Value) -> Attempt {
        let (attempt, status) = self.send(method, args).await;
        let label = match (&attempt, status) {
            (Attempt::Done(Ok(_)), _) => "ok".to_string(),
            (
                Attempt::Done(Err(WebApiError::Slack(code)))
                | Attempt::Retry {
                    error: WebApiError::Slack(code),
                    ..
                },
                _,
            ) => code.clone(),
            (_, Some(status)) if !status.is_success() => format!("http_{}", status.as_u16()),
            (
                Attempt::Retry {
                    error: WebApiError::Transport(_),
                    ..
                },
                _,
            ) => "unreachable".to_string(),
            _ => "bad_response".to_string(),
        };
        crate::telemetry::slack_call(method, &label);
        attempt
    }

    /// Sends one attempt; what came of it, and the HTTP status if Slack
    /// answered at all.
    async fn send(&self, method: &str, args: &Value) -> (Attempt, Option<StatusCode>) {
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
                let attempt = Attempt::Retry {
                    error: WebApiError::Transport(e),
                    wait: None,
                };
                return (attempt, None);
            }
        };
        let status = response.status();
        (Self::read(method, status, response).await, Some(status))
    }

    /// What Slack's answer to one attempt comes to.
    async fn read(method: &str, status: StatusCode, response: reqwest::Response) -> Attempt {
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

    /// Calls a read method page by page (Slack's cursor pagination,
    /// `response_metadata.next_cursor`) and gathers the `key` array of every
    /// page, stopping at `max` items.
    pub async fn paginated(
        &self,
        method: &str,
        mut args: Value,
        key: &str,
        max: usize,
    ) -> Result<Vec<Value>, WebApiError> {
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            args["limit"] = serde_json::json!((max - items.len()).clamp(1, 200));
            let page = self.call(method, &args).await?;
            if let Some(found) = page.get(key).and_then(Value::as_array) {
                // `conversations.replies` repeats the thread's parent at the
                // top of every page: keep each message (by `ts`) once.
                let room = max - items.len();
                let fresh =
                    found
                        .iter()
                        .filter(|item| match item.get("ts").and_then(Value::as_str) {
                            Some(ts) => seen.insert(ts.to_string()),
                            None => true,
                        });
                items.extend(fresh.take(room).cloned());
            }
            let cursor = page
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if cursor.is_empty() || items.len() >= max {
                return Ok(items);
            }
            args["cursor"] = serde_json::json!(cursor);
        }
    }

    /// A file upload the way Slack wants it now: `files.getUploadURLExternal`
    /// for an upload URL, the bytes POSTed there, then
    /// `files.completeUploadExternal` to share it in the channel. `args` is
    /// the outbox payload: `channel_id`, `filename`, `title`,
    /// `content_base64`, optional `thread_ts`. A `channel_id` that is a
    /// person's user id means their DM: Slack shares files into
    /// conversations only, so the DM is opened first (`conversations.open`).
    pub async fn upload_external(&self, args: &Value) -> Result<Value, WebApiError> {
        use base64::Engine;
        let text = |key: &str| args.get(key).and_then(Value::as_str).unwrap_or_default();
        let content = base64::engine::general_purpose::STANDARD
            .decode(text("content_base64"))
            .map_err(|e| WebApiError::BadResponse(format!("the queued file is not base64: {e}")))?;
        let mut channel = text("channel_id").to_string();
        if is_user_id(&channel) {
            let opened = self
                .call(
                    "conversations.open",
                    &serde_json::json!({ "users": channel }),
                )
                .await?;
            channel = opened
                .pointer("/channel/id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    WebApiError::BadResponse(
                        "conversations.open answered without channel.id".into(),
                    )
                })?
                .to_string();
        }
        let target = self
            .call(
                "files.getUploadURLExternal",
                &serde_json::json!({ "filename": text("filename"), "length": content.len() }),
            )
            .await?;
        let (Some(url), Some(file_id)) = (
            target.get("upload_url").and_then(Value::as_str),
            target.get("file_id").and_then(Value::as_str),
        ) else {
            return Err(WebApiError::BadResponse(
                "files.getUploadURLExternal answered without upload_url and file_id".into(),
            ));
        };
        let sent = self
            .http
            .post(url)
            .body(content)
            .send()
            .await
            .map_err(WebApiError::Transport)?;
        let status = sent.status();
        if status.is_server_error() {
            return Err(WebApiError::Server(status.as_u16()));
        }
        if !status.is_success() {
            return Err(WebApiError::BadResponse(format!(
                "the upload URL answered HTTP {status}"
            )));
        }
        let mut complete = serde_json::json!({
            "files": [{ "id": file_id, "title": text("title") }],
            "channel_id": channel,
        });
        if let Some(ts) = args.get("thread_ts").and_then(Value::as_str) {
            complete["thread_ts"] = serde_json::json!(ts);
        }
        self.call("files.completeUploadExternal", &complete).await
    }

    /// `auth.test`: checks the token and says whose it is.
    pub async fn auth_test(&self) -> Result<AuthInfo, WebApiError> {
        let value = self.call("auth.test", &serde_json::json!({})).await?;
        serde_json::from_value(value)
            .map_err(|e| WebApiError::BadResponse(format!("auth.test: {e}")))
    }
}

/// Whether `id` names a person (`U…`, or `W…` on Enterprise Grid) rather
/// than a conversation (`C…`, `G…`, `D…`).
fn is_user_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('U' | 'W'))
        && id.len() > 1
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}
