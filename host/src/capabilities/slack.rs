//! `slack`: what an app asks Slack to do. Every call is checked against
//! Slack's limits, then written to the durable outbox before it returns, so a
//! message an app was told is queued survives a crash. Delivery to Slack is
//! the Slack connector's job; with no Slack connected (`botyard call`) calls
//! are recorded as `local` and shown instead. Blocks and views are namespaced
//! with the calling app's id (see [`crate::slack::namespace`]) so clicks and
//! submissions come back to it and to no other app.

use std::sync::Arc;

use serde_json::{Value, json};

use super::HostState;
use crate::runtime::bindings::slack::{self, SlackError, UserInfo};
use crate::runtime::bindings::types::{Message, MessageRef};
use crate::slack::web_api::WebApi;
use crate::slack::{blocks, namespace};
use crate::storage::OutboxStatus;

/// Slack calls one invocation may make; past it the app gets an error instead
/// of flooding the outbox (Slack itself allows ~1 post per second per channel).
pub const MAX_CALLS_PER_INVOCATION: usize = 100;

/// Prefix of the `ts` handed out for a message still in the outbox.
pub const PENDING_TS_PREFIX: &str = "botyard-outbox-";

/// Per-invocation Slack state.
pub struct SlackState {
    /// How recorded calls are marked: `Pending` when a Slack connection will
    /// deliver them, `Local` when none is connected.
    pub delivery: OutboxStatus,
    /// Outbox ids written during this invocation, in order.
    pub recorded: Vec<i64>,
    /// The live Web API, for calls that answer a question (`lookup-user`);
    /// `None` when no Slack is connected.
    pub api: Option<Arc<WebApi>>,
}

impl SlackState {
    pub fn new(delivery: OutboxStatus, api: Option<Arc<WebApi>>) -> Self {
        SlackState {
            delivery,
            recorded: Vec::new(),
            api,
        }
    }
}

impl HostState {
    /// `views.open` and `views.push`: a view opened from a trigger; returns
    /// the placeholder view id the host resolves on delivery.
    fn stack_view(
        &mut self,
        method: &str,
        trigger_id: String,
        view: String,
    ) -> Result<String, SlackError> {
        non_empty("trigger-id", &trigger_id)?;
        let view = view_payload(&self.app, &view)?;
        let id = self.record(method, json!({ "trigger_id": trigger_id, "view": view }))?;
        Ok(format!("{PENDING_TS_PREFIX}{id}"))
    }

    /// Writes one Web API call to the outbox; callers have validated it.
    fn record(&mut self, method: &str, payload: Value) -> Result<i64, SlackError> {
        if self.slack.recorded.len() >= MAX_CALLS_PER_INVOCATION {
            return Err(SlackError::Api(format!(
                "ratelimited: an invocation may make at most {MAX_CALLS_PER_INVOCATION} Slack calls"
            )));
        }
        let id = self
            .storage
            .enqueue_outbox(&self.app, method, &payload, self.slack.delivery)
            .map_err(|e| SlackError::Api(format!("internal_error: {e}")))?;
        self.slack.recorded.push(id);
        Ok(id)
    }
}

/// Checks a message and namespaces its blocks for `app`.
fn message_payload(app: &str, message: &Message) -> Result<Value, SlackError> {
    blocks::check_message_text(&message.text).map_err(SlackError::InvalidBlocks)?;
    let mut payload = json!({ "text": message.text });
    if let Some(raw) = &message.blocks {
        payload["blocks"] =
            namespace::message_blocks(app, raw).map_err(SlackError::InvalidBlocks)?;
    }
    Ok(payload)
}

/// Checks a view and namespaces its `callback_id` and blocks for `app`.
fn view_payload(app: &str, raw: &str) -> Result<Value, SlackError> {
    namespace::view(app, raw).map_err(SlackError::InvalidBlocks)
}

fn non_empty(what: &str, value: &str) -> Result<(), SlackError> {
    if value.trim().is_empty() {
        return Err(SlackError::InvalidArgument(format!(
            "{what} must not be empty"
        )));
    }
    Ok(())
}

fn pending_ref(channel: String, id: i64) -> MessageRef {
    MessageRef {
        channel,
        ts: format!("{PENDING_TS_PREFIX}{id}"),
    }
}

impl slack::Host for HostState {
    async fn post_message(
        &mut self,
        channel: String,
        message: Message,
        thread_ts: Option<String>,
    ) -> Result<MessageRef, SlackError> {
        non_empty("channel", &channel)?;
        let mut payload = message_payload(&self.app, &message)?;
        payload["channel"] = json!(channel);
        if let Some(ts) = thread_ts {
            payload["thread_ts"] = json!(ts);
        }
        let id = self.record("chat.postMessage", payload)?;
        Ok(pending_ref(channel, id))
    }

    async fn update_message(
        &mut self,
        target: MessageRef,
        message: Message,
    ) -> Result<(), SlackError> {
        non_empty("message ts", &target.ts)?;
        let mut payload = message_payload(&self.app, &message)?;
        payload["channel"] = json!(target.channel);
        payload["ts"] = json!(target.ts);
        self.record("chat.update", payload).map(drop)
    }

    async fn delete_message(&mut self, target: MessageRef) -> Result<(), SlackError> {
        non_empty("message ts", &target.ts)?;
        self.record(
            "chat.delete",
            json!({ "channel": target.channel, "ts": target.ts }),
        )
        .map(drop)
    }

    async fn post_ephemeral(
        &mut self,
        channel: String,
        user: String,
        message: Message,
    ) -> Result<(), SlackError> {
        non_empty("channel", &channel)?;
        non_empty("user", &user)?;
        let mut payload = message_payload(&self.app, &message)?;
        payload["channel"] = json!(channel);
        payload["user"] = json!(user);
        self.record("chat.postEphemeral", payload).map(drop)
    }

    async fn send_dm(&mut self, user: String, message: Message) -> Result<MessageRef, SlackError> {
        non_empty("user", &user)?;
        // Slack delivers a post whose channel is a user id to the app's DM with them.
        let mut payload = message_payload(&self.app, &message)?;
        payload["channel"] = json!(user);
        let id = self.record("chat.postMessage", payload)?;
        Ok(pending_ref(user, id))
    }

    async fn open_view(&mut self, trigger_id: String, view: String) -> Result<String, SlackError> {
        self.stack_view("views.open", trigger_id, view)
    }

    async fn push_view(&mut self, trigger_id: String, view: String) -> Result<String, SlackError> {
        self.stack_view("views.push", trigger_id, view)
    }

    async fn update_view(&mut self, view_id: String, view: String) -> Result<(), SlackError> {
        non_empty("view-id", &view_id)?;
        let view = view_payload(&self.app, &view)?;
        self.record("views.update", json!({ "view_id": view_id, "view": view }))
            .map(drop)
    }

    async fn publish_home(&mut self, user: String, view: String) -> Result<(), SlackError> {
        non_empty("user", &user)?;
        let view = view_payload(&self.app, &view)?;
        self.record("views.publish", json!({ "user_id": user, "view": view }))
            .map(drop)
    }

    async fn add_reaction(&mut self, target: MessageRef, emoji: String) -> Result<(), SlackError> {
        let name = emoji.trim_matches(':');
        non_empty("emoji", name)?;
        self.record(
            "reactions.add",
            json!({ "channel": target.channel, "timestamp": target.ts, "name": name }),
        )
        .map(drop)
    }

    async fn lookup_user(&mut self, user: String) -> Result<UserInfo, SlackError> {
        non_empty("user", &user)?;
        // Answering needs a live Slack connection; the outbox cannot answer questions.
        let Some(api) = self.slack.api.clone() else {
            return Err(SlackError::Api(
                "not_connected: users.info needs a Slack connection (botyard serve or dev)".into(),
            ));
        };
        let profile = api
            .users_info(&user)
            .await
            .map_err(|e| SlackError::Api(e.to_string()))?;
        let text = |key: &str| {
            profile
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(UserInfo {
            id: text("id"),
            name: text("name"),
            real_name: text("real_name"),
            tz: text("tz"),
            is_bot: profile
                .get("is_bot")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}
