//! Channels and what is in them: `conversations.create`, `.invite`,
//! `.setTopic`, `.info`, `.list`, `.history`, `.replies`, `.members`,
//! `pins.*` and `chat.getPermalink`, with Slack's membership rules (the bot
//! sees a private channel only when it is in it, and must be in a channel
//! to read it or act in it).

use serde_json::{Value, json};

use super::changes::Change;
use super::pagination::{self, PageRequest, Paging};
use super::state::{Channel, Message, Pin, Topic};
use super::web_api::{Api, ApiError, ApiResult, Args};
use super::{Emulator, EmulatorError};

/// Slack's limits on a channel name and a topic.
const MAX_NAME_CHARS: usize = 80;
const MAX_TOPIC_CHARS: usize = 250;
/// Most people one `conversations.invite` takes.
const MAX_INVITES: usize = 1000;

const CHANNELS: Paging = Paging {
    kind: "channel",
    default_limit: Some(100),
    max_limit: 1000,
};
const HISTORY: Paging = Paging {
    kind: "next_ts",
    default_limit: Some(100),
    max_limit: 999,
};
const REPLIES: Paging = Paging {
    kind: "next_ts",
    default_limit: Some(1000),
    max_limit: 1000,
};
const MEMBERS: Paging = Paging {
    kind: "user_id",
    default_limit: Some(100),
    max_limit: 1000,
};

/// A message `ts` as a number pair, for ordering (`"1700000000.000123"`).
fn ts_key(ts: &str) -> (u64, u64) {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    (secs.parse().unwrap_or(0), micros.parse().unwrap_or(0))
}

/// Slack's `oldest`/`latest`/`inclusive` window of a history read.
struct Window {
    oldest: Option<(u64, u64)>,
    latest: Option<(u64, u64)>,
    inclusive: bool,
}

impl Window {
    fn from_args(args: &Args) -> Window {
        Window {
            oldest: args.str("oldest").map(|t| ts_key(&t)),
            latest: args.str("latest").map(|t| ts_key(&t)),
            inclusive: args.bool("inclusive"),
        }
    }

    fn contains(&self, ts: &str) -> bool {
        let ts = ts_key(ts);
        let after_oldest = self
            .oldest
            .is_none_or(|o| ts > o || (self.inclusive && ts == o));
        let before_latest = self
            .latest
            .is_none_or(|l| ts < l || (self.inclusive && ts == l));
        after_oldest && before_latest
    }
}

/// Slack's checks of a new channel's name, with its error codes.
fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() {
        return Err(ApiError::new("invalid_name_required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::new("invalid_name_maxlength"));
    }
    let allowed = |c: char| {
        (c.is_alphabetic() && !c.is_uppercase()) || c.is_ascii_digit() || c == '-' || c == '_'
    };
    if !name.chars().all(allowed) {
        // Upper case, spaces, `#`, dots…
        return Err(ApiError::new("invalid_name_specials"));
    }
    if name.chars().all(|c| c == '-' || c == '_') {
        return Err(ApiError::new("invalid_name_punctuation"));
    }
    Ok(())
}

impl Api<'_> {
    /// A conversation the bot can see, by id: a private one it is not in
    /// does not exist for it. Unlike `chat.*`, `conversations.*` take ids only.
    pub(super) fn visible_channel(&self, args: &Args, key: &str) -> Result<String, ApiError> {
        let id = args.str(key).ok_or(ApiError::new("channel_not_found"))?;
        let bot = &self.shared.config.bot_user_id;
        match self.state.channels.get(&id) {
            Some(c) if c.is_private && !c.members.contains(bot) => {
                Err(ApiError::new("channel_not_found"))
            }
            Some(_) => Ok(id),
            None => Err(ApiError::new("channel_not_found")),
        }
    }

    /// A conversation the bot is in: `chat.*` also take `#name` or a user
    /// id here (their DM), and a channel the bot is not in answers
    /// `not_in_channel` (the host asks for `chat:write`, not `chat:write.public`).
    pub(super) fn member_channel(&mut self, args: &Args, key: &str) -> Result<String, ApiError> {
        let raw = args.str(key).ok_or(ApiError::new("channel_not_found"))?;
        let id = self
            .state
            .resolve_channel(&raw)
            .ok_or(ApiError::new("channel_not_found"))?;
        self.require_member(&id)?;
        Ok(id)
    }

    pub(super) fn require_member(&self, channel: &str) -> Result<(), ApiError> {
        let bot = &self.shared.config.bot_user_id;
        match self.state.channels.get(channel) {
            Some(c) if c.members.contains(bot) => Ok(()),
            Some(c) if c.is_private => Err(ApiError::new("channel_not_found")),
            Some(_) => Err(ApiError::new("not_in_channel")),
            None => Err(ApiError::new("channel_not_found")),
        }
    }

    /// A conversation object as `conversations.info`/`.list`/`.create` return it.
    pub(super) fn conversation_json(&self, channel: &Channel, num_members: bool) -> Value {
        let c = &self.shared.config;
        let bot = &c.bot_user_id;
        if let Some(user) = &channel.dm_user {
            return json!({
                "id": channel.id,
                "created": channel.created,
                "is_channel": false,
                "is_group": false,
                "is_im": true,
                "is_mpim": false,
                "is_org_shared": false,
                "context_team_id": c.team_id,
                "user": user,
                "is_user_deleted": false,
                "priority": 0,
                "is_open": true,
            });
        }
        let general = c.channels.first().is_some_and(|g| *g == channel.name);
        let mut value = json!({
            "id": channel.id,
            "name": channel.name,
            "is_channel": true,
            "is_group": false,
            "is_im": false,
            "is_mpim": false,
            "is_private": channel.is_private,
            "created": channel.created,
            "is_archived": false,
            "is_general": general,
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": false,
            "is_org_shared": false,
            "is_pending_ext_shared": false,
            "pending_shared": [],
            "context_team_id": c.team_id,
            "updated": channel.created * 1000,
            "parent_conversation": null,
            "creator": channel.creator,
            "is_ext_shared": false,
            "shared_team_ids": [c.team_id],
            "pending_connected_team_ids": [],
            "is_member": channel.members.contains(bot),
            "topic": channel.topic,
            "purpose": channel.purpose,
            "previous_names": [],
        });
        if num_members {
            value["num_members"] = json!(channel.members.len());
        }
        value
    }

    /// A message as `conversations.history`/`.replies` return it: thread
    /// summary, reactions, pins and files; `metadata` only when asked for.
    pub(super) fn history_message_json(&self, m: &Message, include_metadata: bool) -> Value {
        let mut value = self.message_json(m);
        let replies: Vec<&Message> = self
            .state
            .messages
            .iter()
            .filter(|r| {
                r.channel == m.channel
                    && r.ephemeral_to.is_none()
                    && r.is_reply()
                    && r.thread_ts.as_deref() == Some(&m.ts)
            })
            .collect();
        if !replies.is_empty() {
            let mut users: Vec<&str> = Vec::new();
            for r in &replies {
                if !users.contains(&r.user.as_str()) {
                    users.push(&r.user);
                }
            }
            value["thread_ts"] = json!(m.ts);
            value["reply_count"] = json!(replies.len());
            value["reply_users_count"] = json!(users.len());
            value["latest_reply"] = json!(replies.last().map(|r| r.ts.as_str()));
            value["reply_users"] = json!(users);
            value["is_locked"] = json!(false);
            value["subscribed"] = json!(false);
        }
        if m.is_reply()
            && let Some(parent) = m
                .thread_ts
                .as_deref()
                .and_then(|t| self.state.message(&m.channel, t))
        {
            value["parent_user_id"] = json!(parent.user);
        }
        let reactions = self
            .state
            .reactions
            .get(&(m.channel.clone(), m.ts.clone()))
            .filter(|r| !r.is_empty());
        if let Some(reactions) = reactions {
            value["reactions"] = reactions
                .iter()
                .map(|(name, users)| json!({"name": name, "users": users, "count": users.len()}))
                .collect();
        }
        let pinned = self
            .state
            .pins
            .get(&m.channel)
            .is_some_and(|pins| pins.iter().any(|p| p.ts == m.ts));
        if pinned {
            value["pinned_to"] = json!([m.channel]);
        }
        if !m.files.is_empty() {
            value["files"] = m
                .files
                .iter()
                .filter_map(|id| self.state.files.get(id))
                .map(|f| self.file_json(f))
                .collect();
            value["upload"] = json!(true);
            value["display_as_bot"] = json!(false);
        }
        if include_metadata && let Some(metadata) = &m.metadata {
            value["metadata"] = metadata.clone();
        }
        value
    }

    pub(super) fn get_permalink(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        let ts = args
            .str("message_ts")
            .ok_or(ApiError::new("message_not_found"))?;
        let message = self
            .state
            .message(&channel, &ts)
            .filter(|m| m.ephemeral_to.is_none())
            .ok_or(ApiError::new("message_not_found"))?;
        Ok(json!({
            "ok": true,
            "channel": channel,
            "permalink": self.shared.permalink(&channel, &ts, message.thread_ts.as_deref()),
        }))
    }

    pub(super) fn conversations_create(&mut self, args: &Args) -> ApiResult {
        let name = args.str("name").unwrap_or_default();
        check_name(&name)?;
        if self.state.channels.values().any(|c| c.name == name) {
            return Err(ApiError::new("name_taken"));
        }
        let bot = self.shared.config.bot_user_id.clone();
        let id = self
            .state
            .create_channel(&name, args.bool("is_private"), &bot);
        let channel = self.conversation_json(&self.state.channels[&id], false);
        Ok(json!({"ok": true, "channel": channel}))
    }

    pub(super) fn conversations_invite(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        if self.state.channels[&channel].is_dm() {
            return Err(ApiError::new("method_not_supported_for_channel_type"));
        }
        self.require_member(&channel)?;
        let users: Vec<String> = args
            .str("users")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .collect();
        if users.is_empty() {
            return Err(ApiError::new("no_user"));
        }
        if users.len() > MAX_INVITES {
            return Err(ApiError::new("too_many_users"));
        }
        let bot = self.shared.config.bot_user_id.clone();
        let mut failed: Vec<Value> = Vec::new();
        let mut valid: Vec<String> = Vec::new();
        for user in &users {
            let code = if !self.state.users.contains_key(user) {
                Some("user_not_found")
            } else if *user == bot {
                Some("cant_invite_self")
            } else if self.state.is_member(user, &channel) || valid.contains(user) {
                Some("already_in_channel")
            } else {
                None
            };
            match code {
                Some(code) => failed.push(json!({"user": user, "ok": false, "error": code})),
                None => valid.push(user.clone()),
            }
        }
        // One bad id fails the whole call unless `force` asks to invite the rest.
        if !failed.is_empty() && !args.bool("force") {
            let code = match failed[0]["error"].as_str() {
                Some("user_not_found") => "user_not_found",
                Some("cant_invite_self") => "cant_invite_self",
                _ => "already_in_channel",
            };
            return Err(ApiError::new(code).field("errors", json!(failed)));
        }
        for user in &valid {
            self.state.join(user, &channel);
            let ts = self.state.next_ts();
            let text = format!("<@{user}> has joined the channel");
            self.state.push_message(Message {
                channel: channel.clone(),
                ts,
                user: user.clone(),
                text,
                subtype: Some("channel_join".into()),
                ..Message::default()
            });
        }
        let mut body = json!({
            "ok": true,
            "channel": self.conversation_json(&self.state.channels[&channel], false),
        });
        if !failed.is_empty() {
            body["errors"] = json!(failed);
        }
        Ok(body)
    }

    pub(super) fn conversations_set_topic(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        self.require_member(&channel)?;
        let topic = args
            .0
            .get("topic")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if topic.chars().count() > MAX_TOPIC_CHARS {
            return Err(ApiError::new("too_long"));
        }
        let bot = self.shared.config.bot_user_id.clone();
        let now = crate::contract::time::now_secs();
        let c = self
            .state
            .channels
            .get_mut(&channel)
            .expect("checked above");
        c.topic = Topic {
            value: topic.clone(),
            creator: bot.clone(),
            last_set: now,
        };
        // Slack announces it in the channel.
        let text = if topic.is_empty() {
            "cleared the channel topic".to_string()
        } else {
            format!("set the channel topic: {topic}")
        };
        let ts = self.state.next_ts();
        self.state.push_message(Message {
            channel: channel.clone(),
            ts,
            user: bot,
            text,
            subtype: Some("channel_topic".into()),
            ..Message::default()
        });
        self.state.changed(Change::Channel {
            channel: channel.clone(),
        });
        self.state.changed(Change::Directory);
        Ok(json!({
            "ok": true,
            "channel": self.conversation_json(&self.state.channels[&channel], false),
        }))
    }

    pub(super) fn conversations_info(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        let value = self.conversation_json(
            &self.state.channels[&channel],
            args.bool("include_num_members"),
        );
        Ok(json!({"ok": true, "channel": value}))
    }

    pub(super) fn conversations_list(&mut self, args: &Args) -> ApiResult {
        let request = CHANNELS.request(args)?;
        let types = args.str("types").unwrap_or_else(|| "public_channel".into());
        let types: Vec<&str> = types.split(',').map(str::trim).collect();
        for t in &types {
            if !["public_channel", "private_channel", "mpim", "im"].contains(t) {
                return Err(ApiError::new("invalid_types"));
            }
        }
        let bot = self.shared.config.bot_user_id.clone();
        let listed: Vec<&Channel> = self
            .state
            .channels
            .values()
            .filter(|c| match (&c.dm_user, c.is_private) {
                (Some(_), _) => types.contains(&"im"),
                (None, true) => types.contains(&"private_channel") && c.members.contains(&bot),
                (None, false) => types.contains(&"public_channel"),
            })
            .collect();
        let (page, next) = CHANNELS.page(
            listed,
            &request,
            |c| c.id.clone(),
            |c, from| c.id.as_str() >= from,
        );
        let channels: Vec<Value> = page
            .into_iter()
            .map(|c| self.conversation_json(c, c.dm_user.is_none()))
            .collect();
        Ok(json!({
            "ok": true,
            "channels": channels,
            "response_metadata": pagination::metadata(&next),
        }))
    }

    pub(super) fn conversations_history(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        self.require_member(&channel)?;
        let request = HISTORY.request(args)?;
        let window = Window::from_args(args);
        let newest_first: Vec<&Message> = self
            .state
            .messages
            .iter()
            .rev()
            .filter(|m| m.channel == channel && m.ephemeral_to.is_none() && m.is_top_level())
            .filter(|m| window.contains(&m.ts))
            .collect();
        let (page, next) = HISTORY.page(
            newest_first,
            &request,
            |m| m.ts.clone(),
            |m, from| ts_key(&m.ts) <= ts_key(from),
        );
        let metadata = args.bool("include_all_metadata");
        let messages: Vec<Value> = page
            .into_iter()
            .map(|m| self.history_message_json(m, metadata))
            .collect();
        let pin_count = self.state.pins.get(&channel).map_or(0, Vec::len);
        Ok(json!({
            "ok": true,
            "messages": messages,
            "has_more": !next.is_empty(),
            "pin_count": pin_count,
            "channel_actions_ts": null,
            "channel_actions_count": 0,
            "response_metadata": pagination::metadata(&next),
        }))
    }

    pub(super) fn conversations_replies(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        self.require_member(&channel)?;
        let ts = args.str("ts").ok_or(ApiError::new("thread_not_found"))?;
        let message = self
            .state
            .message(&channel, &ts)
            .filter(|m| m.ephemeral_to.is_none())
            .ok_or(ApiError::new("thread_not_found"))?;
        // A reply's ts stands for its whole thread.
        let parent = message.thread_ts.clone().unwrap_or(ts);
        let request = REPLIES.request(args)?;
        let window = Window::from_args(args);
        let thread: Vec<&Message> = self
            .state
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.ephemeral_to.is_none())
            .filter(|m| m.ts == parent || m.thread_ts.as_deref() == Some(&parent))
            // The parent always leads the first page, whatever the window.
            .filter(|m| m.ts == parent || window.contains(&m.ts))
            .collect();
        let (page, next) = REPLIES.page(
            thread,
            &request,
            |m| m.ts.clone(),
            |m, from| ts_key(&m.ts) >= ts_key(from),
        );
        let metadata = args.bool("include_all_metadata");
        let messages: Vec<Value> = page
            .into_iter()
            .map(|m| self.history_message_json(m, metadata))
            .collect();
        Ok(json!({
            "ok": true,
            "messages": messages,
            "has_more": !next.is_empty(),
            "response_metadata": pagination::metadata(&next),
        }))
    }

    pub(super) fn conversations_members(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        let request: PageRequest = MEMBERS.request(args)?;
        let members = self.state.channels[&channel].members.clone();
        let (page, next) = MEMBERS.page(members, &request, String::clone, |m, from| m == from);
        Ok(json!({
            "ok": true,
            "members": page,
            "response_metadata": pagination::metadata(&next),
        }))
    }

    pub(super) fn pins_add(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        let ts = args
            .str("timestamp")
            .ok_or(ApiError::new("no_item_specified"))?;
        self.require_member(&channel)?;
        let message = self
            .state
            .message(&channel, &ts)
            .filter(|m| m.ephemeral_to.is_none())
            .cloned()
            .ok_or(ApiError::new("message_not_found"))?;
        let bot = self.shared.config.bot_user_id.clone();
        if !self.state.pin(&channel, &message, &bot) {
            return Err(ApiError::new("already_pinned"));
        }
        Ok(json!({"ok": true}))
    }

    pub(super) fn pins_remove(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        let ts = args
            .str("timestamp")
            .ok_or(ApiError::new("no_item_specified"))?;
        self.require_member(&channel)?;
        let pins = self.state.pins.entry(channel.clone()).or_default();
        let before = pins.len();
        pins.retain(|p| p.ts != ts);
        if pins.len() == before {
            return Err(ApiError::new("no_pin"));
        }
        if let Some(message) = self.state.message(&channel, &ts).cloned() {
            self.state.changed(Change::message(&message));
        }
        self.state.changed(Change::Channel { channel });
        Ok(json!({"ok": true}))
    }

    /// Most recently pinned first; Slack does not paginate `pins.list`.
    pub(super) fn pins_list(&mut self, args: &Args) -> ApiResult {
        let channel = self.visible_channel(args, "channel")?;
        let pins = self.state.pins.get(&channel).cloned().unwrap_or_default();
        let items: Vec<Value> = pins
            .iter()
            .rev()
            .filter_map(|p| {
                let message = self.state.message(&channel, &p.ts)?;
                Some(json!({
                    "type": "message",
                    "created": p.created,
                    "created_by": p.created_by,
                    "channel": channel,
                    "message": self.history_message_json(message, false),
                }))
            })
            .collect();
        Ok(json!({"ok": true, "items": items}))
    }
}

impl super::Shared {
    /// A message's permalink in the team's domain, as Slack makes them;
    /// a reply's carries its thread.
    pub(super) fn permalink(&self, channel: &str, ts: &str, thread_ts: Option<&str>) -> String {
        let mut link = format!(
            "https://{}.slack.com/archives/{channel}/p{}",
            self.config.team_domain,
            ts.replace('.', "")
        );
        if let Some(thread) = thread_ts.filter(|t| *t != ts) {
            link.push_str(&format!("?thread_ts={thread}&cid={channel}"));
        }
        link
    }
}

impl Emulator {
    /// The messages pinned in a channel (id or name), oldest pin first.
    pub fn pins(&self, channel: &str) -> Vec<Pin> {
        let channel = self.channel_or_raw(channel);
        self.shared
            .state()
            .pins
            .get(&channel)
            .cloned()
            .unwrap_or_default()
    }

    /// A channel (id or name) as the workspace has it: members, topic …
    pub fn channel(&self, channel: &str) -> Option<Channel> {
        let channel = self.channel_or_raw(channel);
        self.shared.state().channels.get(&channel).cloned()
    }

    /// The permalink Slack gives a message (`chat.getPermalink`).
    pub fn permalink(&self, channel: &str, ts: &str) -> Result<String, EmulatorError> {
        let channel = self.resolve_channel(channel)?;
        let state = self.shared.state();
        let message = state
            .message(&channel, ts)
            .ok_or_else(|| EmulatorError::UnknownMessage {
                channel: channel.clone(),
                ts: ts.to_string(),
            })?;
        Ok(self
            .shared
            .permalink(&channel, ts, message.thread_ts.as_deref()))
    }
}
