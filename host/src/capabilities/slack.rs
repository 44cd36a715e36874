//! `slack`: what an app asks Slack to do. Every call is checked against
//! Slack's limits, then written into the invocation's unit of work (the
//! durable outbox), so a message an app was told is queued survives a crash
//! once the invocation commits. Delivery to Slack is the Slack connector's
//! job; with no Slack connected (`botyard call`) calls are recorded as
//! `local` and shown instead. Blocks and views are namespaced with the
//! calling app's id (see [`crate::slack::namespace`]) so clicks and
//! submissions come back to it and to no other app.
//!
//! Every call, queued or asked at once, counts against the app's
//! `slack_calls_per_minute` (all apps share the bot token, and with it
//! Slack's rate limits); past it the call is refused with `api("ratelimited:
//! …")` naming the quota, and nothing is queued or asked.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use serde_json::{Value, json};
use wasmtime::component::Linker;

use super::quota::{Meter, per_minute_message};
use super::{Capability, Ctx, CtxOf, Host, NoConfig, Services, ctx};
use crate::contract::time::Clock;
use crate::contract::bindings::slack::{
    self, PostOptions, SlackError, ThreadMessage, UserGroup, UserInfo,
};
use crate::contract::bindings::types::{Message, MessageRef};
use crate::contract::limits::Quota;
use crate::slack::json::{self as slack_json, PENDING_TS_PREFIX};
use crate::slack::delivery::{placeholder_id, placeholder_target};
use crate::slack::web_api::{UPLOAD_METHOD, WebApi};
use crate::storage::{NewCall, OutboxStatus, Storage};

/// Slack calls one invocation may make; past it the app gets an error instead
/// of flooding the outbox (Slack itself allows ~1 post per second per channel).
pub const MAX_CALLS_PER_INVOCATION: usize = 100;

/// Every function of the interface with the bot scopes behind it (Slack's
/// method docs; modals, App Home and permalinks need none). One table, so a
/// function cannot be listed without its scopes.
const FUNCTIONS: &[(&str, &[&str])] = &[
    ("post-message", &["chat:write"]),
    ("update-message", &["chat:write"]),
    ("delete-message", &["chat:write"]),
    ("post-ephemeral", &["chat:write"]),
    ("send-dm", &["chat:write", "im:write"]),
    ("open-view", &[]),
    ("push-view", &[]),
    ("update-view", &[]),
    ("publish-home", &[]),
    ("add-reaction", &["reactions:write"]),
    ("lookup-user", &["users:read"]),
    ("post", &["chat:write"]),
    ("schedule-message", &["chat:write"]),
    ("get-permalink", &[]),
    (
        "thread-replies",
        &["channels:history", "groups:history", "im:history", "mpim:history"],
    ),
    (
        "channel-members",
        &["channels:read", "groups:read", "im:read", "mpim:read"],
    ),
    ("user-groups", &["usergroups:read"]),
    ("user-group-members", &["usergroups:read"]),
    ("create-channel", &["channels:manage", "groups:write"]),
    ("invite", &["channels:manage", "groups:write"]),
    ("set-topic", &["channels:manage", "groups:write"]),
    ("pin", &["pins:write"]),
    // A user id as the channel opens the person's DM first.
    ("upload-file", &["files:write", "im:write"]),
];

/// The scopes behind `function` (none for one the table does not know).
fn scopes(function: &str) -> &'static [&'static str] {
    FUNCTIONS
        .iter()
        .find(|(name, _)| *name == function)
        .map_or(&[], |(_, scopes)| scopes)
}

/// Most members `channel-members` and `user-group-members` return.
const MAX_MEMBERS: usize = 10_000;

/// Largest file `upload-file` takes (it waits in the outbox until sent).
pub const MAX_UPLOAD_BYTES: usize = 1 << 20;

pub struct Slack {
    delivery: OutboxStatus,
    api: Arc<OnceLock<Arc<WebApi>>>,
    storage: Storage,
    meter: Arc<Meter>,
    clock: Clock,
}

/// Per-instance Slack state: how calls are recorded, the live Web API for
/// calls that answer a question (`lookup-user`, `thread-replies` …) once
/// connected, and the outbox to look up messages still queued.
pub struct SlackState {
    delivery: OutboxStatus,
    api: Arc<OnceLock<Arc<WebApi>>>,
    storage: Storage,
    /// Counts the app's calls against `slack_calls_per_minute`.
    meter: Arc<Meter>,
    /// What "in the future" means for `schedule-message`: the app's time.
    clock: Clock,
}

impl Capability for Slack {
    const NAME: &'static str = "slack";
    const DEFAULT_GRANTED: bool = true;
    type AppConfig = NoConfig;
    type AppState = ();
    type InstanceState = SlackState;

    fn new(services: &Services) -> Self {
        Slack {
            delivery: services.delivery,
            api: services.slack_api.clone(),
            storage: services.storage.clone(),
            meter: services.quotas.clone(),
            clock: services.clock.clone(),
        }
    }

    fn load(&self, _: &Arc<str>, _: &NoConfig) -> Result<(), String> {
        Ok(())
    }

    fn instance(&self, _: &Arc<()>) -> SlackState {
        SlackState {
            delivery: self.delivery,
            api: self.api.clone(),
            storage: self.storage.clone(),
            meter: self.meter.clone(),
            clock: self.clock.clone(),
        }
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        slack::add_to_linker::<T, CtxOf<SlackState>>(linker, ctx::<T, Slack>)
    }

    fn slack_scopes(functions: &[String]) -> Vec<&'static str> {
        let every = functions.iter().any(|f| f == super::Uses::ALL);
        let used: Vec<&str> = if every {
            FUNCTIONS.iter().map(|(name, _)| *name).collect()
        } else {
            functions.iter().map(String::as_str).collect()
        };
        used.into_iter().flat_map(scopes).copied().collect()
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
        self.admit()?;
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

    /// Counts one call against the app's `slack_calls_per_minute`, or
    /// refuses it.
    fn admit(&self) -> Result<(), SlackError> {
        let app = &self.invocation.app;
        let quota = Quota::SlackCallsPerMinute;
        let limit = self.invocation.quotas.limit(quota);
        let meter = &self.state.meter;
        meter.per_minute(app, quota, limit).map_err(|busy| {
            let message = per_minute_message(app, quota, "Slack calls", limit, busy);
            meter.refused(app, quota, busy.used, limit, &message);
            SlackError::Api(format!("ratelimited: {message}"))
        })
    }

    /// The live Web API, for calls that answer a question: the outbox
    /// cannot answer them. Each counts against the app's quota.
    fn api(&self, method: &str) -> Result<Arc<WebApi>, SlackError> {
        self.admit()?;
        self.state.api.get().cloned().ok_or_else(|| {
            SlackError::Api(format!(
                "not_connected: {method} needs a Slack connection (botyard serve or dev)"
            ))
        })
    }

    /// Asks Slack `method` at once (a question the outbox cannot answer).
    /// The future holds the client, not `self`, so it stays `Send`.
    fn ask(
        &self,
        method: &'static str,
        args: Value,
    ) -> impl Future<Output = Result<Value, SlackError>> + Send + 'static {
        let api = self.api(method);
        async move {
            api?.call(method, &args)
                .await
                .map_err(|e| SlackError::Api(e.to_string()))
        }
    }

    /// Asks Slack `method` at once and follows its cursor, collecting up to
    /// `max` items of `key`.
    fn ask_all(
        &self,
        method: &'static str,
        args: Value,
        key: &'static str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Value>, SlackError>> + Send + 'static {
        let api = self.api(method);
        async move {
            api?.paginated(method, args, key, max)
                .await
                .map_err(|e| SlackError::Api(e.to_string()))
        }
    }

    /// `target` with Slack's real channel and `ts`: a message this app
    /// posted that is still in the outbox has only a placeholder, which a
    /// question to Slack cannot use until it is delivered.
    fn posted(
        &self,
        target: MessageRef,
    ) -> impl std::future::Future<Output = Result<MessageRef, SlackError>> + Send + 'static {
        posted(
            self.state.storage.clone(),
            self.invocation.app.clone(),
            target,
        )
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

/// `target` with Slack's real channel and `ts` (see [`Ctx::posted`]).
async fn posted(
    storage: Storage,
    app: Arc<str>,
    target: MessageRef,
) -> Result<MessageRef, SlackError> {
    let Some(id) = placeholder_id(&target.ts) else {
        return Ok(target);
    };
    let entry = placeholder_target(&storage, &app, id)
        .await
        .map_err(|e| SlackError::Api(format!("internal_error: {e}")))?
        .ok_or_else(|| {
            SlackError::InvalidArgument(format!("{} is no message this app posted", target.ts))
        })?;
    let result = match entry.status {
        OutboxStatus::Pending => None,
        OutboxStatus::Delivered => entry.result,
        OutboxStatus::Failed | OutboxStatus::Local => {
            return Err(SlackError::Api(format!(
                "message_not_found: {} was never delivered to Slack",
                target.ts
            )));
        }
    };
    let result = result.unwrap_or_default();
    match (
        result.get("ts").and_then(Value::as_str),
        result.get("channel").and_then(Value::as_str),
    ) {
        (Some(ts), channel) => Ok(MessageRef {
            channel: channel.unwrap_or(&target.channel).to_string(),
            ts: ts.to_string(),
        }),
        (None, _) => Err(SlackError::Api(format!(
            "not_posted_yet: {} is still queued for Slack; ask again once it is posted",
            target.ts
        ))),
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
        let options = PostOptions {
            thread_ts,
            reply_broadcast: false,
            metadata: None,
        };
        slack::Host::post(self, channel, message, options).await
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
        let profile = self
            .api("users.info")?
            .users_info(&user)
            .await
            .map_err(|e| SlackError::Api(e.to_string()))?;
        Ok(UserInfo {
            id: str_field(&profile, "id"),
            name: str_field(&profile, "name"),
            real_name: str_field(&profile, "real_name"),
            tz: str_field(&profile, "tz"),
            is_bot: profile
                .get("is_bot")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    async fn post(
        &mut self,
        channel: String,
        message: Message,
        options: PostOptions,
    ) -> Result<MessageRef, SlackError> {
        non_empty("channel", &channel)?;
        let mut payload = self.message(&message)?;
        payload["channel"] = json!(channel);
        if let Some(ts) = options.thread_ts {
            payload["thread_ts"] = json!(ts);
            if options.reply_broadcast {
                payload["reply_broadcast"] = json!(true);
            }
        } else if options.reply_broadcast {
            return Err(SlackError::InvalidArgument(
                "reply-broadcast needs a thread-ts: it shows a thread reply in the channel".into(),
            ));
        }
        if let Some(metadata) = options.metadata {
            payload["metadata"] = metadata_json(&metadata)?;
        }
        let id = self.record("chat.postMessage", payload).await?;
        Ok(pending_ref(channel, id))
    }

    async fn schedule_message(
        &mut self,
        channel: String,
        message: Message,
        post_at: u64,
        thread_ts: Option<String>,
    ) -> Result<String, SlackError> {
        non_empty("channel", &channel)?;
        let now = self.state.clock.now_secs() as u64;
        // Slack's own limits: in the future, and within 120 days.
        if post_at <= now || post_at > now + 120 * 24 * 3600 {
            return Err(SlackError::InvalidArgument(format!(
                "post-at {post_at} must be in the future and within 120 days (now is {now})"
            )));
        }
        let mut payload = self.message(&message)?;
        payload["channel"] = json!(channel);
        payload["post_at"] = json!(post_at);
        if let Some(ts) = thread_ts {
            payload["thread_ts"] = json!(ts);
        }
        let id = self.record("chat.scheduleMessage", payload).await?;
        Ok(format!("{PENDING_TS_PREFIX}{id}"))
    }

    async fn get_permalink(&mut self, target: MessageRef) -> Result<String, SlackError> {
        non_empty("message ts", &target.ts)?;
        let target = self.posted(target).await?;
        let answer = self.ask("chat.getPermalink", json!({ "channel": target.channel, "message_ts": target.ts })).await?;
        answer
            .get("permalink")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| SlackError::Api("chat.getPermalink answered no permalink".into()))
    }

    async fn thread_replies(
        &mut self,
        target: MessageRef,
        limit: u32,
    ) -> Result<Vec<ThreadMessage>, SlackError> {
        non_empty("message ts", &target.ts)?;
        let target = self.posted(target).await?;
        let messages = self.ask_all("conversations.replies", json!({ "channel": target.channel, "ts": target.ts }), "messages", limit.clamp(1, 1000) as usize).await?;
        Ok(messages
            .iter()
            .map(|m| ThreadMessage {
                ts: str_field(m, "ts"),
                user: str_field(m, "user"),
                text: str_field(m, "text"),
            })
            .collect())
    }

    async fn channel_members(&mut self, channel: String) -> Result<Vec<String>, SlackError> {
        non_empty("channel", &channel)?;
        let members = self.ask_all("conversations.members", json!({ "channel": channel }), "members", MAX_MEMBERS).await?;
        Ok(members
            .iter()
            .filter_map(|m| m.as_str().map(String::from))
            .collect())
    }

    async fn user_groups(&mut self) -> Result<Vec<UserGroup>, SlackError> {
        let answer = self.ask("usergroups.list", json!({})).await?;
        Ok(answer
            .get("usergroups")
            .and_then(Value::as_array)
            .map(|groups| {
                groups
                    .iter()
                    .map(|g| UserGroup {
                        id: str_field(g, "id"),
                        handle: str_field(g, "handle"),
                        name: str_field(g, "name"),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn user_group_members(&mut self, group: String) -> Result<Vec<String>, SlackError> {
        non_empty("group", &group)?;
        let answer = self.ask("usergroups.users.list", json!({ "usergroup": group })).await?;
        Ok(answer
            .get("users")
            .and_then(Value::as_array)
            .map(|users| {
                users
                    .iter()
                    .filter_map(|u| u.as_str().map(String::from))
                    .take(MAX_MEMBERS)
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn create_channel(
        &mut self,
        name: String,
        is_private: bool,
    ) -> Result<String, SlackError> {
        // Slack's rule (its `invalid_name_*` errors): letters that are not
        // upper case, digits, `-` and `_`, not only punctuation.
        let valid = !name.is_empty()
            && name.chars().count() <= 80
            && name.chars().all(|c| {
                (c.is_alphabetic() && !c.is_uppercase())
                    || c.is_ascii_digit()
                    || c == '-'
                    || c == '_'
            })
            && !name.chars().all(|c| c == '-' || c == '_');
        if !valid {
            return Err(SlackError::InvalidArgument(format!(
                "channel name `{name}`: Slack wants up to 80 lowercase letters, digits, `-` and `_`, no `#`"
            )));
        }
        let id = self
            .record(
                "conversations.create",
                json!({ "name": name, "is_private": is_private }),
            )
            .await?;
        Ok(format!("{PENDING_TS_PREFIX}{id}"))
    }

    async fn invite(&mut self, channel: String, users: Vec<String>) -> Result<(), SlackError> {
        non_empty("channel", &channel)?;
        if users.is_empty() || users.len() > 1000 || users.iter().any(|u| u.trim().is_empty()) {
            return Err(SlackError::InvalidArgument(
                "users: 1 to 1000 user ids".into(),
            ));
        }
        self.record(
            "conversations.invite",
            json!({ "channel": channel, "users": users.join(",") }),
        )
        .await
        .map(drop)
    }

    async fn set_topic(&mut self, channel: String, topic: String) -> Result<(), SlackError> {
        non_empty("channel", &channel)?;
        if topic.chars().count() > 250 {
            return Err(SlackError::InvalidArgument(
                "a topic is at most 250 characters".into(),
            ));
        }
        self.record(
            "conversations.setTopic",
            json!({ "channel": channel, "topic": topic }),
        )
        .await
        .map(drop)
    }

    async fn pin(&mut self, target: MessageRef) -> Result<(), SlackError> {
        non_empty("channel", &target.channel)?;
        non_empty("message ts", &target.ts)?;
        self.record(
            "pins.add",
            json!({ "channel": target.channel, "timestamp": target.ts }),
        )
        .await
        .map(drop)
    }

    async fn upload_file(
        &mut self,
        channel: String,
        filename: String,
        title: String,
        content: Vec<u8>,
        thread_ts: Option<String>,
    ) -> Result<(), SlackError> {
        non_empty("channel", &channel)?;
        non_empty("filename", &filename)?;
        if content.len() > MAX_UPLOAD_BYTES {
            return Err(SlackError::InvalidArgument(format!(
                "the file is {} bytes, over the {MAX_UPLOAD_BYTES}-byte limit for an upload",
                content.len()
            )));
        }
        let mut payload = json!({
            "channel_id": channel,
            "filename": filename,
            "title": if title.is_empty() { &filename } else { &title },
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&content),
        });
        if let Some(ts) = thread_ts {
            payload["thread_ts"] = json!(ts);
        }
        // Delivered in Slack's three steps (files.getUploadURLExternal, the
        // upload, files.completeUploadExternal) by the outbox.
        self.record(UPLOAD_METHOD, payload).await.map(drop)
    }
}

fn str_field(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Slack's `metadata` object; the payload must be a JSON object.
fn metadata_json(metadata: &slack::MessageMetadata) -> Result<Value, SlackError> {
    non_empty("metadata event-type", &metadata.event_type)?;
    let payload: Value = serde_json::from_str(&metadata.payload)
        .map_err(|e| SlackError::InvalidArgument(format!("metadata payload is not JSON: {e}")))?;
    if !payload.is_object() {
        return Err(SlackError::InvalidArgument(
            "metadata payload must be a JSON object".into(),
        ));
    }
    Ok(json!({ "event_type": metadata.event_type, "event_payload": payload }))
}
