//! The emulated workspace: channels, users, messages, views and triggers.
//! Everything a test asserts on lives here, behind one lock that is never
//! held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::EmulatorConfig;
use super::changes::Change;

/// Trigger ids expire this long after Slack issues them.
pub const TRIGGER_LIFETIME: Duration = Duration::from_secs(3);
/// Slack stacks at most three modals.
pub const MAX_VIEW_STACK: usize = 3;

/// Emoji name → users who reacted, in the order reactions came.
pub type Reactions = Vec<(String, Vec<String>)>;

/// A view's identity: kept across updates, linked to its stack.
#[derive(Debug, Default)]
pub struct ViewIds {
    pub id: Option<String>,
    pub root: Option<String>,
    pub previous: Option<String>,
}

impl ViewIds {
    /// The ids of an existing view, for replacing it in place.
    pub fn of(view: &Value) -> Self {
        let get = |key: &str| view[key].as_str().map(str::to_string);
        ViewIds {
            id: get("id"),
            root: get("root_view_id"),
            previous: get("previous_view_id"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub real_name: String,
    pub is_bot: bool,
    /// IANA timezone `users.info` reports; `None`: Europe/Berlin.
    pub tz: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Channel {
    pub id: String,
    pub name: String,
    /// For a DM (`D…`), the human on the other side of the bot.
    pub dm_user: Option<String>,
    pub is_private: bool,
    /// Who is in it, in the order they joined; the bot's user id when it is.
    pub members: Vec<String>,
    /// One of Slack's default channels: everyone in the workspace, and
    /// everyone added later, is in it.
    pub default: bool,
    pub creator: String,
    /// Unix seconds.
    pub created: i64,
    pub topic: Topic,
    pub purpose: Topic,
}

impl Channel {
    pub fn is_dm(&self) -> bool {
        self.dm_user.is_some()
    }
}

/// A channel's topic or purpose, as Slack returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Topic {
    pub value: String,
    /// Who set it (empty when never set).
    pub creator: String,
    /// Unix seconds (0 when never set).
    pub last_set: i64,
}

/// A user group (`@sre-oncall`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserGroup {
    /// `S…`
    pub id: String,
    /// What people type after `@`.
    pub handle: String,
    pub name: String,
    pub description: String,
    /// Member user ids, in the order they were added.
    pub users: Vec<String>,
    /// Unix seconds.
    pub date_create: i64,
    pub date_update: i64,
}

/// A message waiting for its `post_at` (`chat.scheduleMessage`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledMessage {
    /// `Q…`
    pub id: String,
    pub channel: String,
    /// Unix seconds.
    pub post_at: i64,
    pub date_created: i64,
    pub text: String,
    pub blocks: Option<Value>,
    pub thread_ts: Option<String>,
    pub reply_broadcast: bool,
    pub metadata: Option<Value>,
}

/// A file uploaded through `files.getUploadURLExternal` and the upload URL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UploadedFile {
    /// `F…`
    pub id: String,
    pub name: String,
    pub title: String,
    /// The length announced to `files.getUploadURLExternal`.
    pub length: u64,
    /// The bytes POSTed to the upload URL; `None` until they arrive.
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
    /// Who uploaded it.
    pub user: String,
    /// Unix seconds.
    pub created: i64,
    /// Set by `files.completeUploadExternal`.
    pub completed: bool,
    /// Channels it was shared into.
    pub channels: Vec<String>,
    pub alt_txt: Option<String>,
}

impl UploadedFile {
    /// The file's extension, as Slack's `filetype` (`text` when none).
    pub fn filetype(&self) -> String {
        match self.name.rsplit_once('.') {
            Some((_, ext)) if !ext.is_empty() => ext.to_ascii_lowercase(),
            _ => "text".into(),
        }
    }

    /// A MIME type from the extension, as Slack guesses it.
    pub fn mimetype(&self) -> &'static str {
        match self.filetype().as_str() {
            "csv" => "text/csv",
            "json" => "application/json",
            "html" => "text/html",
            "md" | "markdown" => "text/markdown",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "gif" => "image/gif",
            "pdf" => "application/pdf",
            "zip" => "application/zip",
            "txt" | "text" | "log" => "text/plain",
            _ => "application/octet-stream",
        }
    }
}

/// A pinned message: who pinned it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    pub ts: String,
    pub created: i64,
    pub created_by: String,
}

/// A message as a test sees it. Ephemerals carry the one user who sees them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    /// Author: the bot user for app posts, the human for typed messages.
    pub user: String,
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    pub edited: bool,
    pub ephemeral_to: Option<String>,
    /// Slack's `subtype`: `thread_broadcast` for a reply also shown in the
    /// channel, `channel_topic` and `channel_join` for what Slack itself posts.
    pub subtype: Option<String>,
    /// Slack's `metadata` (`event_type`, `event_payload`), when posted with one.
    pub metadata: Option<Value>,
    /// Ids of the files shared with this message.
    pub files: Vec<String>,
}

impl Message {
    /// Shown in the channel: not a reply inside a thread, or a reply also
    /// sent to the channel (`reply_broadcast`).
    pub fn is_top_level(&self) -> bool {
        !self.is_reply() || self.subtype.as_deref() == Some("thread_broadcast")
    }

    /// A reply inside a thread (a broadcast one too).
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_ref().is_some_and(|t| *t != self.ts)
    }

    /// The `message` object as Slack returns it from chat.* methods.
    pub fn to_json(&self, team: &str, app_id: &str) -> Value {
        let mut m = json!({
            "type": "message",
            "text": self.text,
            "user": self.user,
            "ts": self.ts,
            "team": team,
        });
        if let Some(subtype) = &self.subtype {
            m["subtype"] = json!(subtype);
        }
        if let Some(bot) = &self.bot_id {
            m["bot_id"] = json!(bot);
            m["app_id"] = json!(app_id);
        }
        if let Some(blocks) = &self.blocks {
            m["blocks"] = blocks.clone();
        }
        if let Some(thread) = &self.thread_ts {
            m["thread_ts"] = json!(thread);
        }
        if self.edited {
            m["edited"] = json!({"user": self.user, "ts": self.ts});
        }
        m
    }
}

/// An open view (modal or App Home) as stored by the emulator.
#[derive(Debug, Clone, Serialize)]
pub struct OpenView {
    pub id: String,
    pub user: String,
    /// The full view object as Slack returns it (`id`, `hash`, `state`, …).
    pub view: Value,
    /// The last `response_action: errors` shown on this view, if any.
    pub errors: Option<Value>,
}

#[derive(Debug)]
struct Trigger {
    user: String,
    issued: Instant,
    used: bool,
}

/// Why a trigger id cannot be exchanged; names match Slack's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerError {
    Invalid,
    Expired,
    Exchanged,
}

impl TriggerError {
    pub fn code(self) -> &'static str {
        match self {
            TriggerError::Invalid => "invalid_trigger_id",
            TriggerError::Expired => "expired_trigger_id",
            TriggerError::Exchanged => "exchanged_trigger_id",
        }
    }
}

/// Where a `response_url` reply lands.
#[derive(Debug, Clone)]
pub struct ResponseTarget {
    pub channel: String,
    pub user: String,
    /// The message replace/delete_original act on: the clicked message, or
    /// for a command the last message posted through this URL.
    pub message_ts: Option<String>,
    /// Set for interactions: the original is the clicked message, always.
    pub fixed: bool,
    pub uses: u32,
}

#[derive(Debug, Default)]
pub struct State {
    pub users: BTreeMap<String, User>,
    pub channels: BTreeMap<String, Channel>,
    /// Every message in post order, ephemerals included.
    pub messages: Vec<Message>,
    /// (channel, ts) → emoji name → users who reacted, in order.
    pub reactions: HashMap<(String, String), Reactions>,
    /// user → modal stack, bottom first.
    pub modals: HashMap<String, Vec<OpenView>>,
    pub homes: HashMap<String, OpenView>,
    pub responses: HashMap<String, ResponseTarget>,
    /// A retried event keeps the `event_id` of its first delivery.
    pub event_ids: HashMap<String, String>,
    /// id → user group.
    pub usergroups: BTreeMap<String, UserGroup>,
    /// Messages waiting for their time, in the order they were scheduled.
    pub scheduled: Vec<ScheduledMessage>,
    /// id → file.
    pub files: BTreeMap<String, UploadedFile>,
    /// Upload URL key → the file id it uploads.
    pub uploads: HashMap<String, String>,
    /// channel → pinned messages, in the order they were pinned.
    pub pins: HashMap<String, Vec<Pin>>,
    triggers: HashMap<String, Trigger>,
    /// The workspace's time ([`EmulatorConfig::clock`]).
    pub clock: crate::contract::time::Clock,
    last_ts_micros: u64,
    counter: u64,
    /// Changes not yet announced; sent when the lock is released.
    pub(super) pending: Vec<Change>,
}

impl State {
    /// The workspace at start: the bot, then `config`'s channels and users.
    pub fn new(config: &EmulatorConfig) -> Self {
        let mut state = State {
            clock: config.clock.clone(),
            ..State::default()
        };
        let bot = &config.bot_user_id;
        state.users.insert(
            bot.clone(),
            User {
                id: bot.clone(),
                name: "botyard".into(),
                real_name: "botyard".into(),
                is_bot: true,
                tz: None,
            },
        );
        for name in &config.channels {
            state.add_channel(name);
        }
        for name in &config.users {
            state.add_user(name);
        }
        // One group per handle, as in Slack: a later spec of a handle
        // replaces an earlier one, so a test can redefine a default group
        // by pushing its own.
        let groups = config.usergroups.iter().enumerate().filter(|(i, g)| {
            !config.usergroups[i + 1..]
                .iter()
                .any(|later| later.handle == g.handle)
        });
        for (_, group) in groups {
            let members: Vec<String> = group
                .members
                .iter()
                .filter_map(|m| state.user(m).map(|u| u.id.clone()))
                .collect();
            state.add_usergroup(&group.handle, &group.name, &members);
        }
        state.pending.clear();
        state
    }

    /// Records a change, announced when the lock is released.
    pub fn changed(&mut self, change: Change) {
        self.pending.push(change);
    }

    /// Appends a message and announces it.
    pub fn push_message(&mut self, message: Message) {
        self.changed(Change::message(&message));
        self.messages.push(message);
    }

    /// A fresh id with Slack's shape: a type letter and ten upper-case alphanumerics.
    pub fn next_id(&mut self, prefix: char) -> String {
        self.counter += 1;
        format!("{prefix}0EMU{:06}", self.counter)
    }

    /// A Slack-like, unique and strictly increasing message timestamp.
    pub fn next_ts(&mut self) -> String {
        let now = self.clock.now_micros();
        let micros = now.max(self.last_ts_micros + 1);
        self.last_ts_micros = micros;
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }

    pub fn add_user(&mut self, name: &str) -> String {
        if let Some(user) = self.user_by_name(name) {
            return user.id.clone();
        }
        let id = self.next_id('U');
        let real_name = capitalize(name);
        self.users.insert(
            id.clone(),
            User {
                id: id.clone(),
                name: name.to_string(),
                real_name,
                is_bot: false,
                tz: None,
            },
        );
        // Everyone joins the default channels.
        for channel in self.channels.values_mut().filter(|c| c.default) {
            channel.members.push(id.clone());
        }
        self.changed(Change::Directory);
        id
    }

    /// A default channel everyone (the bot too) is in, as test set-ups want.
    pub fn add_channel(&mut self, name: &str) -> String {
        let name = name.trim_start_matches('#');
        if let Some(channel) = self.channels.values().find(|c| c.name == name) {
            return channel.id.clone();
        }
        let members = self.users.keys().cloned().collect();
        let id = self.next_id('C');
        let mut channel = self.new_channel(&id, name, false, String::new());
        channel.members = members;
        channel.default = true;
        self.channels.insert(id.clone(), channel);
        self.changed(Change::Directory);
        id
    }

    /// A channel `creator` creates (`conversations.create`); only they are in
    /// it. Slack's name rules are checked by the caller.
    pub fn create_channel(&mut self, name: &str, is_private: bool, creator: &str) -> String {
        let id = self.next_id('C');
        let mut channel = self.new_channel(&id, name, is_private, creator.to_string());
        channel.members = vec![creator.to_string()];
        self.channels.insert(id.clone(), channel);
        self.changed(Change::Directory);
        id
    }

    fn new_channel(&self, id: &str, name: &str, is_private: bool, creator: String) -> Channel {
        Channel {
            id: id.to_string(),
            name: name.to_string(),
            dm_user: None,
            is_private,
            members: Vec::new(),
            default: false,
            creator,
            created: crate::contract::time::now_secs(),
            topic: Topic::default(),
            purpose: Topic::default(),
        }
    }

    /// Adds `user` to `channel`; false when they already were in it.
    pub fn join(&mut self, user: &str, channel: &str) -> bool {
        let Some(c) = self.channels.get_mut(channel) else {
            return false;
        };
        if c.members.iter().any(|m| m == user) {
            return false;
        }
        c.members.push(user.to_string());
        self.changed(Change::Channel {
            channel: channel.to_string(),
        });
        self.changed(Change::Directory);
        true
    }

    /// Takes `user` out of `channel`; false when they were not in it.
    pub fn leave(&mut self, user: &str, channel: &str) -> bool {
        let Some(c) = self.channels.get_mut(channel) else {
            return false;
        };
        let before = c.members.len();
        c.members.retain(|m| m != user);
        if c.members.len() == before {
            return false;
        }
        self.changed(Change::Channel {
            channel: channel.to_string(),
        });
        self.changed(Change::Directory);
        true
    }

    /// Adds a user group; `members` are user ids. An existing handle is kept.
    pub fn add_usergroup(&mut self, handle: &str, name: &str, members: &[String]) -> String {
        let handle = handle.trim_start_matches('@');
        if let Some(group) = self.usergroup(handle) {
            return group.id.clone();
        }
        let id = self.next_id('S');
        let now = crate::contract::time::now_secs();
        let mut users: Vec<String> = Vec::new();
        for m in members {
            if !users.contains(m) {
                users.push(m.clone());
            }
        }
        self.usergroups.insert(
            id.clone(),
            UserGroup {
                id: id.clone(),
                handle: handle.to_string(),
                name: name.to_string(),
                description: String::new(),
                users,
                date_create: now,
                date_update: now,
            },
        );
        self.changed(Change::Directory);
        id
    }

    /// A user group by id or handle (`sre-oncall` or `@sre-oncall`).
    pub fn usergroup(&self, id_or_handle: &str) -> Option<&UserGroup> {
        let handle = id_or_handle.trim_start_matches('@');
        self.usergroups
            .get(id_or_handle)
            .or_else(|| self.usergroups.values().find(|g| g.handle == handle))
    }

    /// Adds (or with `add` false removes) `user` to a group; whether it changed.
    pub fn set_usergroup_member(&mut self, group: &str, user: &str, add: bool) -> bool {
        let Some(id) = self.usergroup(group).map(|g| g.id.clone()) else {
            return false;
        };
        let group = self.usergroups.get_mut(&id).expect("found above");
        let present = group.users.iter().any(|u| u == user);
        match (present, add) {
            (false, true) => group.users.push(user.to_string()),
            (true, false) => group.users.retain(|u| u != user),
            _ => return false,
        }
        group.date_update = crate::contract::time::now_secs();
        self.changed(Change::Directory);
        true
    }

    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        let name = name.trim_start_matches('@');
        self.users.values().find(|u| u.name == name)
    }

    /// Resolves a user by id or name.
    pub fn user(&self, id_or_name: &str) -> Option<&User> {
        self.users
            .get(id_or_name)
            .or_else(|| self.user_by_name(id_or_name))
    }

    /// The bot's DM with `user`, opened on first use as Slack does.
    pub fn dm_with(&mut self, user: &str) -> String {
        if let Some(channel) = self
            .channels
            .values()
            .find(|c| c.dm_user.as_deref() == Some(user))
        {
            return channel.id.clone();
        }
        let id = self.next_id('D');
        let bot = self
            .users
            .values()
            .find(|u| u.is_bot)
            .map(|u| u.id.clone())
            .unwrap_or_default();
        let mut channel = self.new_channel(&id, &id, true, bot.clone());
        channel.dm_user = Some(user.to_string());
        channel.members = vec![user.to_string(), bot];
        self.channels.insert(id.clone(), channel);
        self.changed(Change::Directory);
        id
    }

    /// Resolves what chat.* methods accept as `channel`: a channel or DM id,
    /// a `#name`, or a user id (meaning the app's DM with that user).
    pub fn resolve_channel(&mut self, raw: &str) -> Option<String> {
        if self.channels.contains_key(raw) {
            return Some(raw.to_string());
        }
        if raw.starts_with('U') || raw.starts_with('W') {
            return match self.users.get(raw) {
                Some(u) if !u.is_bot => Some(self.dm_with(raw)),
                _ => None,
            };
        }
        let name = raw.trim_start_matches('#');
        self.channels
            .values()
            .find(|c| c.dm_user.is_none() && c.name == name)
            .map(|c| c.id.clone())
    }

    /// Whether `user` (the bot too) is in `channel`. Everyone is in the
    /// default channels; a DM holds the bot and its human.
    pub fn is_member(&self, user: &str, channel: &str) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|c| c.members.iter().any(|m| m == user))
    }

    pub fn channel_name(&self, id: &str) -> String {
        self.channels
            .get(id)
            .map(|c| {
                if c.dm_user.is_some() {
                    "directmessage".into()
                } else {
                    c.name.clone()
                }
            })
            .unwrap_or_default()
    }

    pub fn message(&self, channel: &str, ts: &str) -> Option<&Message> {
        self.messages
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
    }

    pub fn message_mut(&mut self, channel: &str, ts: &str) -> Option<&mut Message> {
        self.messages
            .iter_mut()
            .find(|m| m.channel == channel && m.ts == ts)
    }

    pub fn remove_message(&mut self, channel: &str, ts: &str) -> bool {
        let Some(at) = self
            .messages
            .iter()
            .position(|m| m.channel == channel && m.ts == ts)
        else {
            return false;
        };
        let removed = self.messages.remove(at);
        self.reactions
            .remove(&(channel.to_string(), ts.to_string()));
        if let Some(pins) = self.pins.get_mut(channel)
            && pins.iter().any(|p| p.ts == ts)
        {
            pins.retain(|p| p.ts != ts);
            self.changed(Change::Channel {
                channel: channel.to_string(),
            });
        }
        self.changed(Change::message(&removed));
        true
    }

    /// Pins `message` (a message of `channel`) as `by`, announcing the
    /// change; `false` when it was already pinned (nothing changes).
    pub fn pin(&mut self, channel: &str, message: &Message, by: &str) -> bool {
        let pins = self.pins.entry(channel.to_string()).or_default();
        if pins.iter().any(|p| p.ts == message.ts) {
            return false;
        }
        pins.push(Pin {
            ts: message.ts.clone(),
            created: crate::contract::time::now_secs(),
            created_by: by.to_string(),
        });
        self.changed(Change::message(message));
        self.changed(Change::Channel {
            channel: channel.to_string(),
        });
        true
    }

    /// Adds (or removes) `who`'s reaction `name` on a message everyone sees.
    /// Errors are Slack's codes.
    pub fn react(
        &mut self,
        channel: &str,
        ts: &str,
        name: &str,
        who: &str,
        add: bool,
    ) -> Result<(), &'static str> {
        let message = self
            .message(channel, ts)
            .filter(|m| m.ephemeral_to.is_none())
            .ok_or("message_not_found")?;
        let change = Change::message(message);
        let list = self
            .reactions
            .entry((channel.to_string(), ts.to_string()))
            .or_default();
        let at = list.iter().position(|(n, _)| n == name);
        match (at, add) {
            (Some(i), true) if list[i].1.iter().any(|u| u == who) => return Err("already_reacted"),
            (Some(i), true) => list[i].1.push(who.to_string()),
            (None, true) => list.push((name.to_string(), vec![who.to_string()])),
            (Some(i), false) if list[i].1.iter().any(|u| u == who) => {
                list[i].1.retain(|u| u != who);
                if list[i].1.is_empty() {
                    list.remove(i);
                }
            }
            (_, false) => return Err("no_reaction"),
        }
        self.changed(change);
        Ok(())
    }

    /// Issues a single-use trigger id for `user`, shaped like Slack's.
    pub fn issue_trigger(&mut self, user: &str) -> String {
        self.counter += 1;
        let secs = self.last_ts_micros / 1_000_000;
        let id = format!("{}.{}.{:032x}", self.counter, secs, self.counter * 7919);
        self.triggers.insert(
            id.clone(),
            Trigger {
                user: user.to_string(),
                issued: Instant::now(),
                used: false,
            },
        );
        id
    }

    /// Exchanges a trigger id, returning the user it was issued for.
    pub fn use_trigger(&mut self, id: &str) -> Result<String, TriggerError> {
        let trigger = self.triggers.get_mut(id).ok_or(TriggerError::Invalid)?;
        if trigger.used {
            return Err(TriggerError::Exchanged);
        }
        if trigger.issued.elapsed() > TRIGGER_LIFETIME {
            return Err(TriggerError::Expired);
        }
        trigger.used = true;
        Ok(trigger.user.clone())
    }

    /// Finds an open modal by id, returning (user, index in that user's stack).
    pub fn find_modal(&self, view_id: &str) -> Option<(String, usize)> {
        self.modals.iter().find_map(|(user, stack)| {
            stack
                .iter()
                .position(|v| v.id == view_id)
                .map(|i| (user.clone(), i))
        })
    }

    pub fn find_modal_by_external_id(&self, external_id: &str) -> Option<(String, usize)> {
        self.modals.iter().find_map(|(user, stack)| {
            stack
                .iter()
                .position(|v| {
                    v.view.get("external_id").and_then(Value::as_str) == Some(external_id)
                })
                .map(|i| (user.clone(), i))
        })
    }

    /// Turns a submitted view definition into the object Slack stores and returns.
    pub fn materialize_view(
        &mut self,
        definition: &Value,
        config: &EmulatorConfig,
        ids: ViewIds,
    ) -> Value {
        let ViewIds { id, root, previous } = ids;
        let id = id.unwrap_or_else(|| self.next_id('V'));
        self.counter += 1;
        let hash = format!("{}.{:08x}", self.last_ts_micros / 1_000_000, self.counter);
        let mut view = definition.clone();
        let fields = json!({
            "id": id,
            "team_id": config.team_id,
            "app_id": config.api_app_id,
            "bot_id": config.bot_id,
            "hash": hash,
            "state": {"values": {}},
            "root_view_id": root.unwrap_or_else(|| id.clone()),
            "previous_view_id": previous,
            "app_installed_team_id": config.team_id,
        });
        if let (Some(view), Value::Object(fields)) = (view.as_object_mut(), fields) {
            for (key, value) in fields {
                view.insert(key, value);
            }
            for key in ["private_metadata", "callback_id", "external_id"] {
                view.entry(key).or_insert_with(|| json!(""));
            }
            view.entry("blocks").or_insert_with(|| json!([]));
        }
        view
    }
}

fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EmulatorConfig {
        EmulatorConfig {
            bot_user_id: "U0BOT".into(),
            ..EmulatorConfig::default()
        }
    }

    #[test]
    fn timestamps_are_unique_and_increasing() {
        let mut state = State::new(&config());
        let stamps: Vec<String> = (0..1000).map(|_| state.next_ts()).collect();
        let parse = |ts: &str| -> (u64, u64) {
            let (secs, micros) = ts.split_once('.').unwrap();
            (secs.parse().unwrap(), micros.parse().unwrap())
        };
        for pair in stamps.windows(2) {
            assert!(
                parse(&pair[0]) < parse(&pair[1]),
                "{} then {}",
                pair[0],
                pair[1]
            );
            assert_eq!(pair[1].split('.').nth(1).unwrap().len(), 6);
        }
    }

    #[test]
    fn triggers_are_single_use() {
        let mut state = State::new(&config());
        let trigger = state.issue_trigger("U1");
        assert_eq!(state.use_trigger(&trigger), Ok("U1".into()));
        assert_eq!(state.use_trigger(&trigger), Err(TriggerError::Exchanged));
        assert_eq!(state.use_trigger("nope"), Err(TriggerError::Invalid));
    }

    #[test]
    fn a_user_id_resolves_to_the_apps_dm() {
        let mut state = State::new(&config());
        let alice = state.user_by_name("alice").unwrap().id.clone();
        let dm = state.resolve_channel(&alice).unwrap();
        assert!(dm.starts_with('D'));
        assert_eq!(state.resolve_channel(&alice).unwrap(), dm);
        assert!(state.resolve_channel("#general").unwrap().starts_with('C'));
        assert_eq!(state.resolve_channel("U0BOT"), None);
    }
}
