//! `slack`: what an app asks Slack to do. Every call is checked against
//! Slack's limits, then written into the invocation's unit of work (the
//! durable outbox), so a message an app was told is queued survives a crash
//! once the invocation commits. Delivery to Slack is the Slack connector's
//! job; with no Slack connected (`botyard call`) calls are recorded as
//! `local` and shown instead. Blocks and views are namespaced with the
//! calling app's id (see [`crate::slack::namespace`]) so clicks and
//! submissions come back to it and to no other app.

use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use wasmtime::component::Linker;

use super::{Capability, Ctx, CtxOf, Host, NoConfig, Services, ctx};
use crate::contract::bindings::slack::{self, SlackError, UserInfo};
use crate::contract::bindings::types::{Message, MessageRef};
use crate::slack::json::{self as slack_json, PENDING_TS_PREFIX};
use crate::slack::web_api::WebApi;
use crate::storage::{NewCall, OutboxStatus};

/// Slack calls one invocation may make; past it the app gets an error instead
/// of flooding the outbox (Slack itself allows ~1 post per second per channel).
pub const MAX_CALLS_PER_INVOCATION: usize = 100;

/// The Web API scopes behind the calls this interface offers: posting and
/// updating (chat:write), DMs (im:write), reactions (reactions:write), user
/// info (users:read). Modals and App Home need none.
const SCOPES: &[&str] = &["chat:write", "im:write", "reactions:write", "users:read"];

pub struct Slack {
    delivery: OutboxStatus,
    api: Arc<OnceLock<Arc<WebApi>>>,
}

/// Per-instance Slack state: how calls are recorded and, for calls that
/// answer a question (`lookup-user`), the live Web API once connected.
pub struct SlackState {
    delivery: OutboxStatus,
    api: Arc<OnceLock<Arc<WebApi>>>,
}

impl Capability for Slack {
    const NAME: &'static str = "slack";
    const DEFAULT_GRANTED: bool = true;
    const SLACK_SCOPES: &'static [&'static str] = SCOPES;
    type AppConfig = NoConfig;
    type AppState = ();
    type InstanceState = SlackState;

    fn new(services: &Services) -> Self {
        Slack {
            delivery: services.delivery,
            api: services.slack_api.clone(),
        }
    }

    fn load(&self, _: &Arc<str>, _: &NoConfig) -> Result<(), String> {
        Ok(())
    }

    fn instance(&self, _: &Arc<()>) -> SlackState {
        SlackState {
            delivery: self.delivery,
            api: self.api.clone(),
        }
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        slack::add_to_linker::<T, CtxOf<SlackState>>(linker, ctx::<T, Slack>)
    }
}

impl Ctx<'_, SlackState> {
    /// `views.open` and `views.push`: a view opened from a trigger; returns
    /// the placeholder view id the host resolves on delivery.
    async fn stack_view(
        &mut self,
        method: &str,
        trigger_id: String,
        view: String,
    ) -> Result<String, SlackError> {
        non_empty("trigger-id", &trigger_id)?;
        let view = self.view(&view)?;
        let id = self
            .record(method, json!({ "trigger_id": trigger_id, "view": view }))
            .await?;
        Ok(format!("{PENDING_TS_PREFIX}{id}"))
    }

    /// Writes one Web API call to the outbox; callers have validated it.
    async fn record(&mut self, method: &str, payload: Value) -> Result<i64, SlackError> {
        if self.invocation.slack_calls.len() >= MAX_CALLS_PER_INVOCATION {
            return Err(SlackError::Api(format!(
                "ratelimited: an invocation may make at most {MAX_CALLS_PER_INVOCATION} Slack calls"
            )));
        }
        let app = self.invocation.app.clone();
        let call = NewCall {
            app: &app,
            method,
            payload: &payload,
            status: self.state.delivery,
        };
        let unit = self
            .invocation
            .unit()
            .map_err(|e| SlackError::Api(format!("internal_error: {e}")))?;
        let id = unit
            .enqueue(call)
            .await
            .map_err(|e| SlackError::Api(format!("internal_error: {e}")))?;
        self.invocation.slack_calls.push(id);
        Ok(id)
    }

    /// A message checked and namespaced for this app.
    fn message(&self, message: &Message) -> Result<Value, SlackError> {
        slack_json::message(&self.invocation.app, message).map_err(SlackError::InvalidBlocks)
    }

    /// A view checked and namespaced for this app.
    fn view(&self, raw: &str) -> Result<Value, SlackError> {
        crate::slack::namespace::view(&self.invocation.app, raw).map_err(SlackError::InvalidBlocks)
    }
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

impl slack::Host for Ctx<'_, SlackState> {
    async fn post_message(
        &mut self,
        channel: String,
        message: Message,
        thread_ts: Option<String>,
    ) -> Result<MessageRef, SlackError> {
        non_empty("channel", &channel)?;
        let mut payload = self.message(&message)?;
        payload["channel"] = json!(channel);
        if let Some(ts) = thread_ts {
            payload["thread_ts"] = json!(ts);
        }
        let id = self.record("chat.postMessage", payload).await?;
        Ok(pending_ref(channel, id))
    }

    async fn update_message(
        &mut self,
        target: MessageRef,
        message: Message,
    ) -> Result<(), SlackError> {
        non_empty("message ts", &target.ts)?;
        let mut payload = self.message(&message)?;
        payload["channel"] = json!(target.channel);
        payload["ts"] = json!(target.ts);
        self.record("chat.update", payload).await.map(drop)
    }

    async fn delete_message(&mut self, target: MessageRef) -> Result<(), SlackError> {
        non_empty("message ts", &target.ts)?;
        self.record(
            "chat.delete",
            json!({ "channel": target.channel, "ts": target.ts }),
        )
        .await
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
        let mut payload = self.message(&message)?;
        payload["channel"] = json!(channel);
        payload["user"] = json!(user);
        self.record("chat.postEphemeral", payload).await.map(drop)
    }

    async fn send_dm(&mut self, user: String, message: Message) -> Result<MessageRef, SlackError> {
        non_empty("user", &user)?;
        // Slack delivers a post whose channel is a user id to the app's DM with them.
        let mut payload = self.message(&message)?;
        payload["channel"] = json!(user);
        let id = self.record("chat.postMessage", payload).await?;
        Ok(pending_ref(user, id))
    }

    async fn open_view(&mut self, trigger_id: String, view: String) -> Result<String, SlackError> {
        self.stack_view("views.open", trigger_id, view).await
    }

    async fn push_view(&mut self, trigger_id: String, view: String) -> Result<String, SlackError> {
        self.stack_view("views.push", trigger_id, view).await
    }

    async fn update_view(&mut self, view_id: String, view: String) -> Result<(), SlackError> {
        non_empty("view-id", &view_id)?;
        let view = self.view(&view)?;
        self.record("views.update", json!({ "view_id": view_id, "view": view }))
            .await
            .map(drop)
    }

    async fn publish_home(&mut self, user: String, view: String) -> Result<(), SlackError> {
        non_empty("user", &user)?;
        let view = self.view(&view)?;
        self.record("views.publish", json!({ "user_id": user, "view": view }))
            .await
            .map(drop)
    }

    async fn add_reaction(&mut self, target: MessageRef, emoji: String) -> Result<(), SlackError> {
        let name = emoji.trim_matches(':');
        non_empty("emoji", name)?;
        self.record(
            "reactions.add",
            json!({ "channel": target.channel, "timestamp": target.ts, "name": name }),
        )
        .await
        .map(drop)
    }

    async fn lookup_user(&mut self, user: String) -> Result<UserInfo, SlackError> {
        non_empty("user", &user)?;
        // Answering needs a live Slack connection; the outbox cannot answer questions.
        let Some(api) = self.state.api.get().cloned() else {
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
