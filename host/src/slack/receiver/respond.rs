//! Answers in Slack's shapes: the JSON a reply becomes (immediately in the
//! HTTP response, or later through `response_url`), and the client that
//! POSTs to `response_url` when an app answers after the acknowledgement.

use std::time::Duration;

use serde_json::{Value, json};
use thiserror::Error;

use crate::runtime::bindings::types::{Message, Reply, Visibility};
use crate::slack::{blocks, namespace};

/// Longest error text shown to a user; the full text is in the audit log.
const MAX_ERROR_CHARS: usize = 500;

/// Attempts per `response_url` delivery (Slack answers 5xx or 429 at times).
const ATTEMPTS: u32 = 3;

#[derive(Debug, Error)]
pub enum RespondError {
    #[error("response_url `{0}` is not an http(s) URL")]
    BadUrl(String),
    #[error("response_url answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("response_url could not be reached: {0}")]
    Transport(#[from] reqwest::Error),
}

/// Slack's message JSON for `message` posted by `app`: text, and the blocks
/// checked and namespaced so clicks come back to `app`. Blocks Slack would
/// refuse become an error message for the user instead.
pub fn message_json(app: &str, message: &Message) -> Result<Value, String> {
    blocks::check_message_text(&message.text)?;
    let mut body = json!({ "text": message.text });
    if let Some(raw) = &message.blocks {
        body["blocks"] = namespace::message_blocks(app, raw)?;
    }
    Ok(body)
}

/// A reply as Slack's `{response_type, text, blocks}`.
pub fn reply_json(app: &str, reply: &Reply) -> Value {
    match message_json(app, &reply.message) {
        Ok(mut body) => {
            body["response_type"] = json!(match reply.visibility {
                Visibility::Ephemeral => "ephemeral",
                Visibility::InChannel => "in_channel",
            });
            body
        }
        Err(e) => ephemeral(&format!(
            "app `{app}` replied with a message Slack would refuse: {e}"
        )),
    }
}

/// An ephemeral text message to the acting user.
pub fn ephemeral(text: &str) -> Value {
    json!({ "response_type": "ephemeral", "text": text })
}

/// An ephemeral message saying what went wrong, kept short.
pub fn error_message(error: &dyn std::fmt::Display) -> Value {
    ephemeral(&format!(":warning: {}", truncate(&error.to_string())))
}

/// A modal that shows an error in place of the submitted one.
pub fn error_view(error: &dyn std::fmt::Display) -> Value {
    json!({
        "type": "modal",
        "title": { "type": "plain_text", "text": "Something went wrong" },
        "close": { "type": "plain_text", "text": "Close" },
        "blocks": [{
            "type": "section",
            "text": { "type": "plain_text", "text": truncate(&error.to_string()) }
        }]
    })
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_ERROR_CHARS {
        return text.to_string();
    }
    let mut short: String = text.chars().take(MAX_ERROR_CHARS - 1).collect();
    short.push('…');
    short
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
            let backoff = Duration::from_millis(250 * 4u64.pow(attempt - 1));
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
                    tokio::time::sleep(retry_after.unwrap_or(backoff).min(Duration::from_secs(10)))
                        .await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_slack_json_with_namespaced_blocks() {
        let reply = Reply {
            visibility: Visibility::InChannel,
            message: Message {
                text: "hi".into(),
                blocks: Some(
                    r#"[{"type":"actions","elements":[{"type":"button","action_id":"count"}]}]"#
                        .into(),
                ),
            },
        };
        let body = reply_json("hello", &reply);
        assert_eq!(body["response_type"], "in_channel");
        assert_eq!(body["text"], "hi");
        assert_eq!(body["blocks"][0]["elements"][0]["action_id"], "hello.count");
    }

    #[test]
    fn a_reply_slack_would_refuse_becomes_an_ephemeral_error() {
        let reply = Reply {
            visibility: Visibility::InChannel,
            message: Message {
                text: "hi".into(),
                blocks: Some("not json".into()),
            },
        };
        let body = reply_json("hello", &reply);
        assert_eq!(body["response_type"], "ephemeral");
        assert!(body["text"].as_str().unwrap().contains("app `hello`"));
    }

    #[test]
    fn errors_are_short() {
        let long = "x".repeat(2000);
        let body = error_message(&long);
        assert!(body["text"].as_str().unwrap().chars().count() <= MAX_ERROR_CHARS + 10);
        let view = error_view(&long);
        assert!(blocks::parse_view(&view.to_string()).is_ok());
    }
}
