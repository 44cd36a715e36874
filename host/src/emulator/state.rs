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
}

#[derive(Debug, Clone, Serialize)]
pub struct Channel {
    pub id: String,
    pub name: String,
    /// For a DM (`D…`), the human on the other side of the bot.
    pub dm_user: Option<String>,
}

/// A message as a test sees it. Ephemerals carry the one user who sees them.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

impl Message {
    /// A channel-level message, not a reply inside a thread.
    pub fn is_top_level(&self) -> bool {
        self.thread_ts.as_ref().is_none_or(|t| *t == self.ts)
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
    triggers: HashMap<String, Trigger>,
    last_ts_micros: u64,
    counter: u64,
    /// Changes not yet announced; sent when the lock is released.
    pub(super) pending: Vec<Change>,
}

impl State {
    /// The workspace at start: the bot, then `config`'s channels and users.
    pub fn new(config: &EmulatorConfig) -> Self {
        let mut state = State::default();
        let bot = &config.bot_user_id;
        state.users.insert(
            bot.clone(),
            User {
                id: bot.clone(),
                name: "botyard".into(),
                real_name: "botyard".into(),
                is_bot: true,
            },
        );
        for name in &config.channels {
            state.add_channel(name);
        }
        for name in &config.users {
            state.add_user(name);
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
        let now = crate::contract::time::now_micros();
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
            },
        );
        self.changed(Change::Directory);
        id
    }

    pub fn add_channel(&mut self, name: &str) -> String {
        let name = name.trim_start_matches('#');
        if let Some(channel) = self.channels.values().find(|c| c.name == name) {
            return channel.id.clone();
        }
        let id = self.next_id('C');
        self.channels.insert(
            id.clone(),
            Channel {
                id: id.clone(),
                name: name.to_string(),
                dm_user: None,
            },
        );
        self.changed(Change::Directory);
        id
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
        self.channels.insert(
            id.clone(),
            Channel {
                id: id.clone(),
                name: id.clone(),
                dm_user: Some(user.to_string()),
            },
        );
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

    /// Everyone is in every public channel; a DM holds the bot and its human.
    pub fn is_member(&self, user: &str, channel: &str) -> bool {
        match self.channels.get(channel) {
            Some(c) => c.dm_user.as_deref().is_none_or(|u| u == user),
            None => false,
        }
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
        self.changed(Change::message(&removed));
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
