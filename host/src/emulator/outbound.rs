//! Slack acting towards the host: slash commands, interactions and events,
//! built and signed exactly as Slack sends them (or wrapped in Socket Mode
//! envelopes while a socket is open); what the host answers goes to
//! [`super::replies`]. Each HTTP request goes to one of the hosts drawn at
//! random and is recorded as a delivery; an event that is not acknowledged
//! is retried as Slack retries it, when the emulator is configured to.

use std::fmt;
use std::time::{Duration, Instant};

use crate::contract::time::now_secs;

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use super::changes::Change;
use super::replies::{apply_message_reply, apply_view_reply};
use super::state::{Message, ResponseTarget, State};
use super::truth::{Failure, Outcome, Sending};
use super::{Emulator, EmulatorError};
use crate::slack::signature;

/// Which of the host's Request URLs a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Commands,
    Events,
    Interactivity,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Commands => "slash commands",
            Endpoint::Events => "events",
            Endpoint::Interactivity => "interactivity",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Http,
    SocketMode,
}

/// What the host answered. Over Socket Mode, `status` is 200 once acked and
/// `body` is the ack's `payload` (empty when it had none).
#[derive(Debug, Clone)]
pub struct HostResponse {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    /// Time until the answer (or the ack) arrived: Slack gives up after 3 s.
    pub elapsed: Duration,
    pub transport: Transport,
    pub envelope_id: Option<String>,
    pub event_id: Option<String>,
    pub trigger_id: Option<String>,
    pub response_url: Option<String>,
    /// The host answered `X-Slack-No-Retry: 1`: Slack does not retry a
    /// failed event then.
    pub no_retry: bool,
}

impl HostResponse {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// Slack treats an answer slower than 3 s as a failure.
    pub fn within_slack_deadline(&self) -> bool {
        self.elapsed <= Duration::from_secs(3)
    }
}

/// How a [`RawRequest`] is signed: the ways a forged or replayed one differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// Correct signature, current timestamp.
    Valid,
    /// Correct signature over this unix timestamp (e.g. ten minutes ago).
    At(i64),
    /// Current timestamp, signed with another secret.
    Secret(String),
    /// Current timestamp, this literal `X-Slack-Signature`.
    Signature(String),
    /// No Slack headers at all.
    Unsigned,
}

/// A hand-made request for testing the host's rejections.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub endpoint: Endpoint,
    pub content_type: String,
    pub body: Vec<u8>,
    pub signing: Signing,
    pub headers: Vec<(String, String)>,
}

impl RawRequest {
    pub fn new(endpoint: Endpoint, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        RawRequest {
            endpoint,
            content_type: content_type.to_string(),
            body: body.into(),
            signing: Signing::Valid,
            headers: Vec::new(),
        }
    }

    pub fn signing(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

impl Emulator {
    /// A user (id or name) types `/cmd text` in a channel (id or name).
    pub async fn send_slash_command(
        &self,
        user: &str,
        channel: &str,
        line: &str,
    ) -> Result<HostResponse, EmulatorError> {
        let (command, text) = match line.trim().split_once(char::is_whitespace) {
            Some((command, text)) => (command, text.trim()),
            None => (line.trim(), ""),
        };
        if !command.starts_with('/') || command.len() < 2 {
            return Err(EmulatorError::BadCommand(line.to_string()));
        }
        let user = self.resolve_user(user)?;
        let channel = self.resolve_channel(channel)?;
        let c = &self.shared.config;
        let (fields, trigger_id, response_url) = {
            let mut state = self.shared.state();
            let trigger_id = state.issue_trigger(&user);
            let (_, response_url) = self.new_response_url(&mut state, &channel, &user, None);
            let user_name = state.users[&user].name.clone();
            let fields: Vec<(&str, String)> = vec![
                ("token", c.verification_token.clone()),
                ("team_id", c.team_id.clone()),
                ("team_domain", c.team_domain.clone()),
                ("channel_id", channel.clone()),
                ("channel_name", state.channel_name(&channel)),
                ("user_id", user.clone()),
                ("user_name", user_name),
                ("command", command.to_string()),
                ("text", text.to_string()),
                ("api_app_id", c.api_app_id.clone()),
                ("is_enterprise_install", "false".into()),
                ("response_url", response_url.clone()),
                ("trigger_id", trigger_id.clone()),
            ];
            (fields, trigger_id, response_url)
        };
        let form = serde_urlencoded::to_string(&fields).expect("string pairs encode");
        let payload: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
            .collect();
        let mut reply = self
            .to_host(
                Endpoint::Commands,
                FORM,
                form.into_bytes(),
                ("slash_commands", Value::Object(payload), true),
                None,
            )
            .await?;
        reply.trigger_id = Some(trigger_id);
        reply.response_url = Some(response_url);
        if reply.status == 200 && !reply.body.trim().is_empty() {
            // Slack shows an invalid reply as an error; the state stays as it was.
            let _ = apply_message_reply(&self.shared, &channel, &user, None, &reply.body);
        }
        Ok(reply)
    }

    /// A user clicks an element (`action_id`) of a message, as `block_actions`.
    /// `value` is a button's value or the chosen option's.
    pub async fn send_block_actions(
        &self,
        user: &str,
        channel: &str,
        message_ts: &str,
        action_id: &str,
        value: &str,
    ) -> Result<HostResponse, EmulatorError> {
        self.click_message(user, channel, message_ts, Click::new(action_id, value))
            .await
    }

    /// A user acts on an element of a message: presses a button, picks an
    /// option or a date, ticks checkboxes. Sent as `block_actions` with the
    /// element's type and Slack's field for it (`selected_option`,
    /// `selected_date`, …) and `click.state` as the message's input state.
    pub async fn click_message(
        &self,
        user: &str,
        channel: &str,
        message_ts: &str,
        click: Click,
    ) -> Result<HostResponse, EmulatorError> {
        let user = self.resolve_user(user)?;
        let channel = self.resolve_channel(channel)?;
        let c = &self.shared.config;
        let (payload, trigger_id, response_url) = {
            let mut state = self.shared.state();
            let message = state
                .message(&channel, message_ts)
                .filter(|m| m.ephemeral_to.as_ref().is_none_or(|to| *to == user))
                .cloned()
                .ok_or_else(|| EmulatorError::UnknownMessage {
                    channel: channel.clone(),
                    ts: message_ts.to_string(),
                })?;
            let trigger_id = state.issue_trigger(&user);
            let (_, response_url) =
                self.new_response_url(&mut state, &channel, &user, Some(message_ts.to_string()));
            let action_ts = state.next_ts();
            let action = describe_action(message.blocks.as_ref(), &click, &action_ts);
            let mut payload = json!({
                "type": "block_actions",
                "user": self.user_json(&state, &user),
                "api_app_id": c.api_app_id,
                "token": c.verification_token,
                "container": {
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": channel,
                    "is_ephemeral": message.ephemeral_to.is_some(),
                },
                "trigger_id": trigger_id,
                "team": {"id": c.team_id, "domain": c.team_domain},
                "enterprise": null,
                "is_enterprise_install": false,
                "channel": {"id": channel, "name": state.channel_name(&channel)},
                "state": {"values": click.state},
                "response_url": response_url,
                "actions": [action],
            });
            if message.ephemeral_to.is_none() {
                payload["message"] = message.to_json(&c.team_id, &c.api_app_id);
            }
            (payload, trigger_id, response_url)
        };
        let mut reply = self.send_interaction(payload, false).await?;
        reply.trigger_id = Some(trigger_id);
        reply.response_url = Some(response_url);
        Ok(reply)
    }

    /// A user clicks an element inside an open modal or their App Home.
    pub async fn send_view_block_actions(
        &self,
        user: &str,
        view_id: &str,
        action_id: &str,
        value: &str,
    ) -> Result<HostResponse, EmulatorError> {
        self.click_view(user, view_id, Click::new(action_id, value))
            .await
    }

    /// [`Emulator::click_message`] for an element of an open modal or App
    /// Home; `click.state` becomes the view's `state.values`.
    pub async fn click_view(
        &self,
        user: &str,
        view_id: &str,
        click: Click,
    ) -> Result<HostResponse, EmulatorError> {
        let user = self.resolve_user(user)?;
        let mut view = self.find_view(&user, view_id)?;
        view["state"] = json!({"values": click.state});
        let c = &self.shared.config;
        let (payload, trigger_id) = {
            let mut state = self.shared.state();
            let trigger_id = state.issue_trigger(&user);
            let action_ts = state.next_ts();
            let action = describe_action(view.get("blocks"), &click, &action_ts);
            let payload = json!({
                "type": "block_actions",
                "user": self.user_json(&state, &user),
                "api_app_id": c.api_app_id,
                "token": c.verification_token,
                "container": {"type": "view", "view_id": view_id},
                "trigger_id": trigger_id,
                "team": {"id": c.team_id, "domain": c.team_domain},
                "enterprise": null,
                "is_enterprise_install": false,
                "view": view,
                "actions": [action],
            });
            (payload, trigger_id)
        };
        let mut reply = self.send_interaction(payload, false).await?;
        reply.trigger_id = Some(trigger_id);
        Ok(reply)
    }

    /// A user picks an app's global shortcut (Slack's shortcuts menu): a
    /// `shortcut` payload, with a trigger id for opening a modal and no
    /// channel or `response_url`, as Slack sends it.
    pub async fn send_global_shortcut(
        &self,
        user: &str,
        callback_id: &str,
    ) -> Result<HostResponse, EmulatorError> {
        let user = self.resolve_user(user)?;
        let c = &self.shared.config;
        let (payload, trigger_id) = {
            let mut state = self.shared.state();
            let trigger_id = state.issue_trigger(&user);
            let action_ts = state.next_ts();
            let payload = json!({
                "type": "shortcut",
                "token": c.verification_token,
                "action_ts": action_ts,
                "team": {"id": c.team_id, "domain": c.team_domain},
                "user": self.user_json(&state, &user),
                "is_enterprise_install": false,
                "enterprise": null,
                "callback_id": callback_id,
                "trigger_id": trigger_id,
            });
            (payload, trigger_id)
        };
        let mut reply = self.send_interaction(payload, false).await?;
        reply.trigger_id = Some(trigger_id);
        Ok(reply)
    }

    /// A user picks an app's message shortcut from a message's "more
    /// actions" menu: a `message_action` payload carrying the message, its
    /// channel, a trigger id and a `response_url` that answers in the channel.
    pub async fn send_message_shortcut(
        &self,
        user: &str,
        channel: &str,
        message_ts: &str,
        callback_id: &str,
    ) -> Result<HostResponse, EmulatorError> {
        let user = self.resolve_user(user)?;
        let channel = self.resolve_channel(channel)?;
        let c = &self.shared.config;
        let (payload, trigger_id, response_url) = {
            let mut state = self.shared.state();
            let private = state.channels.get(&channel).is_some_and(|ch| ch.is_private);
            if private && !state.is_member(&user, &channel) {
                return Err(EmulatorError::NotInChannel { user, channel });
            }
            // Slack offers no shortcuts on ephemeral messages.
            let message = state
                .message(&channel, message_ts)
                .filter(|m| m.ephemeral_to.is_none())
                .cloned()
                .ok_or_else(|| EmulatorError::UnknownMessage {
                    channel: channel.clone(),
                    ts: message_ts.to_string(),
                })?;
            let trigger_id = state.issue_trigger(&user);
            let (_, response_url) = self.new_response_url(&mut state, &channel, &user, None);
            let action_ts = state.next_ts();
            let payload = json!({
                "type": "message_action",
                "token": c.verification_token,
                "action_ts": action_ts,
                "team": {"id": c.team_id, "domain": c.team_domain},
                "user": self.user_json(&state, &user),
                "channel": {"id": channel, "name": state.channel_name(&channel)},
                "is_enterprise_install": false,
                "enterprise": null,
                "callback_id": callback_id,
                "trigger_id": trigger_id,
                "response_url": response_url,
                "message_ts": message_ts,
                "message": message.to_json(&c.team_id, &c.api_app_id),
            });
            (payload, trigger_id, response_url)
        };
        let mut reply = self.send_interaction(payload, false).await?;
        reply.trigger_id = Some(trigger_id);
        reply.response_url = Some(response_url);
        Ok(reply)
    }

    /// A user closes a modal: its Cancel button (`clear` false) pops it off
    /// the stack, the window's × (`clear` true) closes the whole stack. A view
    /// that asked for `notify_on_close` is reported to the host as `view_closed`.
    pub async fn close_view(
        &self,
        user: &str,
        view_id: &str,
        clear: bool,
    ) -> Result<Option<HostResponse>, EmulatorError> {
        let user = self.resolve_user(user)?;
        let unknown = || EmulatorError::UnknownView {
            user: user.clone(),
            view_id: view_id.to_string(),
        };
        let view = {
            let mut state = self.shared.state();
            let stack = state.modals.get_mut(&user).ok_or_else(unknown)?;
            let index = stack
                .iter()
                .position(|v| v.id == view_id)
                .ok_or_else(unknown)?;
            let view = stack[index].view.clone();
            stack.truncate(if clear { 0 } else { index });
            if stack.is_empty() {
                state.modals.remove(&user);
            }
            state.changed(Change::Views { user: user.clone() });
            view
        };
        if view["notify_on_close"].as_bool() != Some(true) {
            return Ok(None);
        }
        let c = &self.shared.config;
        let payload = {
            let state = self.shared.state();
            json!({
                "type": "view_closed",
                "team": {"id": c.team_id, "domain": c.team_domain},
                "user": self.user_json(&state, &user),
                "api_app_id": c.api_app_id,
                "token": c.verification_token,
                "view": view,
                "is_cleared": clear,
                "enterprise": null,
                "is_enterprise_install": false,
            })
        };
        self.send_interaction(payload, false).await.map(Some)
    }

    /// A user adds (or, with `add` false, removes) an emoji reaction to a
    /// message, sent to the host as `reaction_added` / `reaction_removed`.
    pub async fn react_as_user(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        emoji: &str,
        add: bool,
    ) -> Result<Option<HostResponse>, EmulatorError> {
        let user = self.resolve_user(user)?;
        let channel = self.resolve_channel(channel)?;
        let emoji = emoji.trim_matches(':');
        let item_user = {
            let mut state = self.shared.state();
            let author = state.message(&channel, ts).map(|m| m.user.clone());
            state.react(&channel, ts, emoji, &user, add).map_err(|_| {
                EmulatorError::NotReactable {
                    channel: channel.clone(),
                    ts: ts.to_string(),
                }
            })?;
            author.unwrap_or_default()
        };
        if !self.receives_events() {
            return Ok(None);
        }
        let event = json!({
            "type": if add { "reaction_added" } else { "reaction_removed" },
            "user": user,
            "reaction": emoji,
            "item_user": item_user,
            "item": {"type": "message", "channel": channel, "ts": ts},
        });
        self.send_event(event, None).await.map(Some)
    }

    /// A user pins a message to its channel, sent to the host as
    /// `pin_added` with the pinned message as Slack's event carries it
    /// (`item.message`, `item.created_by`, `channel_id`).
    pub async fn pin_as_user(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
    ) -> Result<Option<HostResponse>, EmulatorError> {
        let user = self.resolve_user(user)?;
        let channel = self.resolve_channel(channel)?;
        let c = &self.shared.config;
        let (message, created) = {
            let mut state = self.shared.state();
            let message = state
                .message(&channel, ts)
                .filter(|m| m.ephemeral_to.is_none())
                .cloned()
                .ok_or_else(|| EmulatorError::UnknownMessage {
                    channel: channel.clone(),
                    ts: ts.to_string(),
                })?;
            state.pin(&channel, &message, &user);
            let created = state.pins[&channel]
                .iter()
                .find(|p| p.ts == ts)
                .map_or_else(now_secs, |p| p.created);
            (message, created)
        };
        if !self.receives_events() {
            return Ok(None);
        }
        let event = json!({
            "type": "pin_added",
            "user": user,
            "channel_id": channel,
            "item": {
                "type": "message",
                "channel": channel,
                "message": message.to_json(&c.team_id, &c.api_app_id),
                "created": created,
                "created_by": user,
            },
        });
        self.send_event(event, None).await.map(Some)
    }

    /// A user opens the app's Home tab: `app_home_opened`, with the Home
    /// view last published for them, if any.
    pub async fn open_app_home(&self, user: &str) -> Result<Option<HostResponse>, EmulatorError> {
        let user = self.resolve_user(user)?;
        let (channel, home) = {
            let mut state = self.shared.state();
            let channel = state.dm_with(&user);
            (channel, state.homes.get(&user).map(|h| h.view.clone()))
        };
        if !self.receives_events() {
            return Ok(None);
        }
        let mut event = json!({
            "type": "app_home_opened",
            "user": user,
            "channel": channel,
            "tab": "home",
        });
        if let Some(view) = home {
            event["view"] = view;
        }
        self.send_event(event, None).await.map(Some)
    }

    /// A user submits an open modal. `values` is Slack's `state.values`
    /// shape: `{block_id: {action_id: {"type": …, "value": …}}}`.
    pub async fn send_view_submission(
        &self,
        user: &str,
        view_id: &str,
        values: Value,
    ) -> Result<HostResponse, EmulatorError> {
        let user = self.resolve_user(user)?;
        let mut view = self.find_view(&user, view_id)?;
        if view["type"] != "modal" {
            return Err(EmulatorError::UnknownView {
                user,
                view_id: view_id.to_string(),
            });
        }
        view["state"] = json!({"values": values});
        let c = &self.shared.config;
        let (payload, trigger_id) = {
            let mut state = self.shared.state();
            let trigger_id = state.issue_trigger(&user);
            let payload = json!({
                "type": "view_submission",
                "team": {"id": c.team_id, "domain": c.team_domain},
                "user": self.user_json(&state, &user),
                "api_app_id": c.api_app_id,
                "token": c.verification_token,
                "trigger_id": trigger_id,
                "view": view,
                "response_urls": [],
                "enterprise": null,
                "is_enterprise_install": false,
            });
            (payload, trigger_id)
        };
        let mut reply = self.send_interaction(payload, true).await?;
        reply.trigger_id = Some(trigger_id);
        if reply.status == 200 {
            apply_view_reply(&self.shared, &user, view_id, &reply.body);
        }
        Ok(reply)
    }

    /// Delivers an Events API `event` in an `event_callback` envelope. A
    /// `retry` number resends it with the `event_id` it first went out with
    /// and Slack's retry headers.
    pub async fn send_event(
        &self,
        event: Value,
        retry: Option<u32>,
    ) -> Result<HostResponse, EmulatorError> {
        let c = &self.shared.config;
        let key = event.to_string();
        let (envelope, event_id) = {
            let mut state = self.shared.state();
            let known = state.event_ids.get(&key).cloned();
            let event_id = match (retry, known) {
                (Some(_), Some(id)) => id,
                _ => {
                    let id = format!("Ev{}", state.next_id('E').trim_start_matches('E'));
                    state.event_ids.insert(key, id.clone());
                    id
                }
            };
            let mut event = event;
            if event.get("event_ts").is_none()
                && let Some(obj) = event.as_object_mut()
            {
                obj.insert("event_ts".into(), json!(state.next_ts()));
            }
            let envelope = json!({
                "token": c.verification_token,
                "team_id": c.team_id,
                "api_app_id": c.api_app_id,
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": now_secs(),
                "authorizations": [{
                    "enterprise_id": null,
                    "team_id": c.team_id,
                    "user_id": c.bot_user_id,
                    "is_bot": true,
                    "is_enterprise_install": false,
                }],
                "is_ext_shared_channel": false,
                "event_context": format!("4-emulator-{event_id}"),
            });
            (envelope, event_id)
        };
        let mut reply = self
            .to_host(
                Endpoint::Events,
                JSON,
                envelope.to_string().into_bytes(),
                ("events_api", envelope, false),
                retry,
            )
            .await?;
        reply.event_id = Some(event_id);
        Ok(reply)
    }

    /// A human posts in a channel (or a thread): stored, then sent to the
    /// host as a `message` event when the host receives events.
    pub async fn post_as_user(
        &self,
        user: &str,
        channel: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Result<(String, Option<HostResponse>), EmulatorError> {
        let user = self.resolve_user(user)?;
        let channel = self.resolve_channel(channel)?;
        let (ts, is_dm) = {
            let mut state = self.shared.state();
            if !state.is_member(&user, &channel) {
                // Posting in a public channel joins it, as Slack offers to;
                // a private one is closed to who is not in it.
                if state.channels.get(&channel).is_none_or(|c| c.is_private) {
                    return Err(EmulatorError::NotInChannel { user, channel });
                }
                state.join(&user, &channel);
            }
            let ts = state.next_ts();
            let is_dm = channel.starts_with('D');
            state.push_message(Message {
                channel: channel.clone(),
                ts: ts.clone(),
                thread_ts: thread_ts.map(str::to_string),
                user: user.clone(),
                bot_id: None,
                text: text.to_string(),
                ..Message::default()
            });
            (ts, is_dm)
        };
        if !self.receives_events() {
            return Ok((ts, None));
        }
        let mut event = json!({
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": if is_dm { "im" } else { "channel" },
        });
        if let Some(thread) = thread_ts {
            event["thread_ts"] = json!(thread);
        }
        let mention = format!("<@{}>", self.shared.config.bot_user_id);
        let mentioned = text.contains(&mention);
        let reply = self.send_event(event.clone(), None).await?;
        // Slack sends a mention of the bot as an `app_mention` too.
        if mentioned {
            event["type"] = json!("app_mention");
            if let Some(obj) = event.as_object_mut() {
                obj.remove("channel_type");
            }
            self.send_event(event, None).await?;
        }
        Ok((ts, Some(reply)))
    }

    /// Sends a hand-made request over HTTP (to one of the hosts) to test
    /// the host's rejections. Never retried.
    pub async fn send_raw(&self, request: RawRequest) -> Result<HostResponse, EmulatorError> {
        let (_, task) = self.post(request, None)?;
        unwrap_task(task.await)
    }

    // --- internals ---

    fn receives_events(&self) -> bool {
        self.shared.hosts().iter().any(|h| h.events.is_some()) || self.shared.socket.in_use()
    }

    /// The Request URL of one of the hosts serving `endpoint`, drawn at random.
    fn url_for(&self, endpoint: Endpoint) -> Result<String, EmulatorError> {
        let urls = self
            .shared
            .hosts()
            .into_iter()
            .filter_map(|urls| match endpoint {
                Endpoint::Commands => urls.commands,
                Endpoint::Events => urls.events,
                Endpoint::Interactivity => urls.interactivity,
            })
            .collect();
        self.shared
            .choose(urls)
            .ok_or(EmulatorError::NoRequestUrl(endpoint))
    }

    fn user_json(&self, state: &State, user: &str) -> Value {
        let name = state
            .users
            .get(user)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        json!({
            "id": user,
            "username": name,
            "name": name,
            "team_id": self.shared.config.team_id,
        })
    }

    fn new_response_url(
        &self,
        state: &mut State,
        channel: &str,
        user: &str,
        message_ts: Option<String>,
    ) -> (String, String) {
        let id = format!("{}-{}", self.shared.config.team_id, state.next_id('R'));
        let url = format!("{}/response/{id}", self.shared.origin());
        state.responses.insert(
            id.clone(),
            ResponseTarget {
                channel: channel.to_string(),
                user: user.to_string(),
                fixed: message_ts.is_some(),
                message_ts,
                uses: 0,
            },
        );
        (id, url)
    }

    /// A modal on `user`'s stack or their App Home, by view id.
    fn find_view(&self, user: &str, view_id: &str) -> Result<Value, EmulatorError> {
        let state = self.shared.state();
        state
            .modals
            .get(user)
            .and_then(|stack| stack.iter().find(|v| v.id == view_id))
            .or_else(|| state.homes.get(user).filter(|h| h.id == view_id))
            .map(|v| v.view.clone())
            .ok_or_else(|| EmulatorError::UnknownView {
                user: user.to_string(),
                view_id: view_id.to_string(),
            })
    }

    async fn send_interaction(
        &self,
        payload: Value,
        accepts_response_payload: bool,
    ) -> Result<HostResponse, EmulatorError> {
        let form = serde_urlencoded::to_string([("payload", payload.to_string())])
            .expect("string pairs encode");
        self.to_host(
            Endpoint::Interactivity,
            FORM,
            form.into_bytes(),
            ("interactive", payload, accepts_response_payload),
            None,
        )
        .await
    }

    /// Over a socket while Socket Mode is in use, else signed HTTP to one
    /// of the hosts. An event that is not acknowledged goes again, to a
    /// host drawn again, after each delay of `event_retries` (a `retry`
    /// number given by the caller counts as attempts already made).
    async fn to_host(
        &self,
        endpoint: Endpoint,
        content_type: &str,
        body: Vec<u8>,
        envelope: (&str, Value, bool),
        retry: Option<u32>,
    ) -> Result<HostResponse, EmulatorError> {
        if self.shared.socket.in_use() {
            let started = Instant::now();
            let (envelope_id, ack) = self.deliver_envelope(endpoint, envelope, retry).await?;
            return Ok(HostResponse {
                status: 200,
                body: ack.map(|p| p.to_string()).unwrap_or_default(),
                content_type: Some(JSON.into()),
                retry_after: None,
                elapsed: started.elapsed(),
                transport: Transport::SocketMode,
                envelope_id: Some(envelope_id),
                event_id: None,
                trigger_id: None,
                response_url: None,
                no_retry: false,
            });
        }
        let config = &self.shared.config;
        let retries: &[Duration] = if endpoint == Endpoint::Events {
            &config.event_retries
        } else {
            &[]
        };
        let event_id = envelope.1["event_id"].as_str().map(str::to_string);
        let mut attempt = retry.unwrap_or(0);
        // What a caller's own retry says, as the emulator always has.
        let mut reason = "http_timeout";
        loop {
            let more = (attempt as usize) < retries.len();
            let mut request = RawRequest::new(endpoint, content_type, body.clone());
            if attempt > 0 {
                request = request
                    .header("X-Slack-Retry-Num", &attempt.to_string())
                    .header("X-Slack-Retry-Reason", reason);
            }
            let (record, mut task) = self.post(request, event_id.clone())?;
            let result = if more {
                // Slack does not wait past its deadline when it will retry:
                // the next attempt goes out while this one may still run.
                match tokio::time::timeout(config.delivery_deadline, &mut task).await {
                    Ok(joined) => unwrap_task(joined),
                    Err(_) => {
                        self.shared.truth.failed(record, Failure::Timeout);
                        reason = Failure::Timeout.retry_reason();
                        tokio::time::sleep(retries[attempt as usize]).await;
                        attempt += 1;
                        continue;
                    }
                }
            } else {
                unwrap_task(task.await)
            };
            let no_retry = result.as_ref().is_ok_and(|r| r.no_retry);
            match self.shared.truth.outcome(record) {
                Some(Outcome::Unacked(failure)) if more && !no_retry => {
                    reason = failure.retry_reason();
                }
                _ => return result,
            }
            tracing::debug!(
                attempt,
                reason,
                "emulator: event not acknowledged; retrying"
            );
            tokio::time::sleep(retries[attempt as usize]).await;
            attempt += 1;
        }
    }

    /// Signs `request`, posts it to one of the hosts and records the
    /// delivery. The request runs on a task of its own, so Slack can stop
    /// waiting for it without cutting it off: a host that answers late
    /// still gets to answer, and the answer is recorded as late.
    fn post(
        &self,
        request: RawRequest,
        event_id: Option<String>,
    ) -> Result<(u64, JoinHandle<Result<HostResponse, EmulatorError>>), EmulatorError> {
        let url = self.url_for(request.endpoint)?;
        let secret = &self.shared.config.signing_secret;
        let now = now_secs();
        let (timestamp, signature) = match &request.signing {
            Signing::Valid => (
                Some(now),
                Some(signature::sign(secret, &now.to_string(), &request.body)),
            ),
            Signing::At(ts) => (
                Some(*ts),
                Some(signature::sign(secret, &ts.to_string(), &request.body)),
            ),
            Signing::Secret(other) => (
                Some(now),
                Some(signature::sign(other, &now.to_string(), &request.body)),
            ),
            Signing::Signature(sig) => (Some(now), Some(sig.clone())),
            Signing::Unsigned => (None, None),
        };
        let mut builder = self
            .shared
            .http
            .post(&url)
            .header("Content-Type", &request.content_type);
        if let Some(ts) = timestamp {
            builder = builder.header("X-Slack-Request-Timestamp", ts.to_string());
        }
        if let Some(sig) = signature {
            builder = builder.header("X-Slack-Signature", sig);
        }
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let record = self.shared.truth.sent(Sending {
            endpoint: request.endpoint,
            transport: Transport::Http,
            target: url.clone(),
            event_id,
            envelope_id: None,
            retry_num: header("X-Slack-Retry-Num")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            retry_reason: header("X-Slack-Retry-Reason"),
        });
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let builder = builder.body(request.body);
        let truth = self.shared.truth.clone();
        let deadline = self.shared.config.delivery_deadline;
        let task = tokio::spawn(async move {
            let result = send_http(builder).await;
            let answer = match &result {
                Ok(r) => Ok((r.status, r.elapsed, r.body.as_str())),
                Err(EmulatorError::Http(e)) if e.is_timeout() => Err(Failure::Timeout),
                Err(e) => Err(Failure::Connection(e.to_string())),
            };
            truth.answered(record, answer, deadline);
            result
        });
        Ok((record, task))
    }
}

/// The result of a delivery task (which never panics on its own account).
fn unwrap_task(
    joined: Result<Result<HostResponse, EmulatorError>, tokio::task::JoinError>,
) -> Result<HostResponse, EmulatorError> {
    joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// What a user chose on an element: the value of a pressed button, a picked
/// option, date, time or typed text (`One`); ticked checkboxes or a
/// multi-select (`Many`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    One(String),
    Many(Vec<String>),
}

/// One action of a `block_actions`: the element and what was chosen, plus
/// the container's input state (Slack's `state.values`, `{}` when none).
#[derive(Debug, Clone)]
pub struct Click {
    pub action_id: String,
    pub choice: Choice,
    pub state: Value,
}

impl Click {
    pub fn new(action_id: &str, value: &str) -> Click {
        Click {
            action_id: action_id.to_string(),
            choice: Choice::One(value.to_string()),
            state: json!({}),
        }
    }
}

/// The `actions[0]` object, in the shape Slack gives the element's type,
/// built from the element found in the blocks (a test may also click an
/// `action_id` the message never had: it is sent as a button).
fn describe_action(blocks: Option<&Value>, click: &Click, action_ts: &str) -> Value {
    let found = blocks.and_then(|b| find_element(b, &click.action_id, None));
    let (block_id, element) = found.unwrap_or_default();
    let kind = element["type"].as_str().unwrap_or("button").to_string();
    let mut action = json!({
        "action_id": click.action_id,
        "block_id": if block_id.is_empty() { "emulator" } else { block_id.as_str() },
        "type": kind,
        "action_ts": action_ts,
    });
    let values = match &click.choice {
        Choice::One(v) => std::slice::from_ref(v),
        Choice::Many(vs) => vs.as_slice(),
    };
    let one = values.first().cloned().unwrap_or_default();
    let (key, value) = match kind.as_str() {
        "button" => {
            if let Some(text) = element.get("text") {
                action["text"] = text.clone();
            }
            ("value", json!(one))
        }
        "plain_text_input" | "number_input" | "email_text_input" | "url_text_input" => {
            ("value", json!(one))
        }
        "datepicker" => ("selected_date", json!(one)),
        "timepicker" => ("selected_time", json!(one)),
        "datetimepicker" => ("selected_date_time", json!(one.parse::<i64>().unwrap_or(0))),
        "users_select" => ("selected_user", json!(one)),
        "conversations_select" => ("selected_conversation", json!(one)),
        "channels_select" => ("selected_channel", json!(one)),
        "multi_users_select" => ("selected_users", json!(values)),
        "multi_conversations_select" => ("selected_conversations", json!(values)),
        "multi_channels_select" => ("selected_channels", json!(values)),
        "checkboxes" | "multi_static_select" | "multi_external_select" => {
            let options: Vec<Value> = values.iter().map(|v| option_of(&element, v)).collect();
            ("selected_options", json!(options))
        }
        _ => ("selected_option", option_of(&element, &one)),
    };
    action[key] = value;
    action
}

/// The element's option object whose value is `value` (Slack sends it whole).
fn option_of(element: &Value, value: &str) -> Value {
    let listed = |key: &str| -> Vec<Value> { element[key].as_array().cloned().unwrap_or_default() };
    let grouped = listed("option_groups")
        .iter()
        .flat_map(|g| g["options"].as_array().cloned().unwrap_or_default())
        .collect::<Vec<_>>();
    listed("options")
        .into_iter()
        .chain(grouped)
        .find(|o| o["value"].as_str() == Some(value))
        .unwrap_or_else(|| json!({"text": {"type": "plain_text", "text": value}, "value": value}))
}

/// Finds an interactive element by `action_id`, with its enclosing `block_id`.
fn find_element(value: &Value, action_id: &str, block_id: Option<&str>) -> Option<(String, Value)> {
    match value {
        Value::Object(map) => {
            let block_id = map.get("block_id").and_then(Value::as_str).or(block_id);
            if map.get("action_id").and_then(Value::as_str) == Some(action_id) {
                return Some((block_id.unwrap_or_default().to_string(), value.clone()));
            }
            map.values()
                .find_map(|v| find_element(v, action_id, block_id))
        }
        Value::Array(items) => items
            .iter()
            .find_map(|v| find_element(v, action_id, block_id)),
        _ => None,
    }
}

async fn send_http(builder: reqwest::RequestBuilder) -> Result<HostResponse, EmulatorError> {
    let started = Instant::now();
    let response = builder.send().await?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type");
    let retry_after = header("retry-after");
    let no_retry = header("x-slack-no-retry").is_some_and(|v| v.trim() == "1");
    let body = response.text().await?;
    Ok(HostResponse {
        status,
        body,
        content_type,
        retry_after,
        elapsed: started.elapsed(),
        transport: Transport::Http,
        envelope_id: None,
        event_id: None,
        trigger_id: None,
        response_url: None,
        no_retry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks() -> Value {
        json!([
            {"type": "actions", "block_id": "b1", "elements": [
                {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}, "value": "v"},
                {"type": "datepicker", "action_id": "day"},
                {"type": "checkboxes", "action_id": "pick", "options": [
                    {"text": {"type": "mrkdwn", "text": "*A*"}, "value": "a"},
                    {"text": {"type": "mrkdwn", "text": "*B*"}, "value": "b"},
                ]},
                {"type": "static_select", "action_id": "one", "option_groups": [
                    {"label": {"type": "plain_text", "text": "G"}, "options": [
                        {"text": {"type": "plain_text", "text": "Tea"}, "value": "tea"},
                    ]},
                ]},
            ]},
        ])
    }

    fn click(action_id: &str, choice: Choice) -> Value {
        let click = Click {
            action_id: action_id.into(),
            choice,
            state: json!({}),
        };
        describe_action(Some(&blocks()), &click, "1.000001")
    }

    #[test]
    fn actions_take_the_shape_of_their_element() {
        let button = click("go", Choice::One("v".into()));
        assert_eq!(
            (&button["type"], &button["value"], &button["block_id"]),
            (&json!("button"), &json!("v"), &json!("b1"))
        );
        assert_eq!(button["text"]["text"], "Go");

        let day = click("day", Choice::One("2024-05-01".into()));
        assert_eq!(day["selected_date"], "2024-05-01");
        assert!(day.get("selected_option").is_none());

        let ticked = click("pick", Choice::Many(vec!["b".into(), "a".into()]));
        assert_eq!(ticked["selected_options"][0]["text"]["text"], "*B*");
        assert_eq!(ticked["selected_options"][1]["value"], "a");

        let tea = click("one", Choice::One("tea".into()));
        assert_eq!(
            tea["selected_option"]["text"]["text"], "Tea",
            "found in its group"
        );

        let unknown = click("nowhere", Choice::One("x".into()));
        assert_eq!(
            (&unknown["type"], &unknown["value"]),
            (&json!("button"), &json!("x"))
        );
    }

    /// A host that records what Slack sends it and answers 200.
    async fn capturing_host(slack: &Emulator) -> std::sync::Arc<std::sync::Mutex<Vec<Value>>> {
        use axum::extract::State;
        let seen: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
        let router =
            axum::Router::new()
                .fallback(
                    |State(seen): State<std::sync::Arc<std::sync::Mutex<Vec<Value>>>>,
                     body: String| async move {
                        let value = serde_json::from_str(&body).unwrap_or_else(|_| {
                            let form: Vec<(String, String)> =
                                serde_urlencoded::from_str(&body).unwrap_or_default();
                            let payload = form.iter().find(|(k, _)| k == "payload");
                            payload
                                .and_then(|(_, p)| serde_json::from_str(p).ok())
                                .unwrap_or(Value::Null)
                        });
                        seen.lock().unwrap().push(value);
                        ""
                    },
                )
                .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        slack.set_request_urls(crate::emulator::HostUrls::all(&url));
        seen
    }

    #[tokio::test]
    async fn people_mention_react_open_home_and_close_modals_as_slack_reports_them() {
        let slack = Emulator::start(crate::emulator::EmulatorConfig::default())
            .await
            .unwrap();
        let seen = capturing_host(&slack).await;
        let bot = slack.config().bot_user_id.clone();
        let alice = slack.user_id("alice").unwrap();
        let take = || std::mem::take(&mut *seen.lock().unwrap());

        let text = format!("<@{bot}> lunch?");
        let (ts, _) = slack
            .post_as_user("alice", "general", &text, None)
            .await
            .unwrap();
        let events = take();
        let types: Vec<&Value> = events.iter().map(|e| &e["event"]["type"]).collect();
        assert_eq!(types, [&json!("message"), &json!("app_mention")]);
        assert_eq!(events[1]["event"]["text"], text.as_str());
        assert_ne!(events[0]["event_id"], events[1]["event_id"]);

        slack
            .react_as_user("alice", "general", &ts, "tada", true)
            .await
            .unwrap();
        let event = &take()[0]["event"];
        assert_eq!(event["type"], "reaction_added");
        assert_eq!(
            (&event["user"], &event["item_user"]),
            (&json!(alice), &json!(alice))
        );
        assert_eq!(event["item"]["ts"], ts.as_str());
        assert!(
            slack
                .react_as_user("alice", "general", &ts, "tada", true)
                .await
                .is_err(),
            "one reaction per person and emoji"
        );

        slack.open_app_home("alice").await.unwrap();
        let event = &take()[0]["event"];
        assert_eq!(
            (&event["type"], &event["tab"]),
            (&json!("app_home_opened"), &json!("home"))
        );
        assert!(event["channel"].as_str().unwrap().starts_with('D'));

        let modal = json!({"type": "modal", "notify_on_close": true, "callback_id": "app.cb",
            "title": {"type": "plain_text", "text": "T"}, "blocks": []});
        let opened: Value = reqwest::Client::new()
            .post(format!("{}views.open", slack.base_url()))
            .bearer_auth(&slack.config().bot_token)
            .json(&json!({"trigger_id": slack.issue_trigger("alice").unwrap(), "view": modal}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let view = opened["view"]["id"].as_str().unwrap();
        slack.close_view("alice", view, true).await.unwrap();
        let closed = &take()[0];
        assert_eq!(closed["type"], "view_closed");
        assert_eq!(closed["is_cleared"], true);
        assert_eq!(closed["view"]["callback_id"], "app.cb");
        assert!(slack.views_of("alice").is_empty());
    }
}
