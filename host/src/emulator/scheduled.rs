//! Scheduled messages: `chat.scheduleMessage`, `chat.scheduledMessages.list`,
//! `chat.deleteScheduledMessage`, and the task that posts each one into its
//! channel when its `post_at` comes, as Slack does.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::changes::Change;
use super::pagination::{self, Paging};
use super::state::{Message, ScheduledMessage, State};
use super::web_api::{Api, ApiError, ApiResult, Args, Content, metadata_arg};
use super::{Emulator, Shared};

/// Slack schedules at most 120 days ahead.
const MAX_AHEAD_SECS: i64 = 120 * 24 * 3600;
/// Slack refuses more than 30 messages scheduled for one channel within
/// any 5 minutes.
const MAX_PER_WINDOW: usize = 30;
const WINDOW_SECS: i64 = 5 * 60;
/// How long the poster sleeps when nothing is scheduled (it is woken sooner
/// whenever something is).
const IDLE: Duration = Duration::from_secs(3600);

const SCHEDULED: Paging = Paging {
    kind: "scheduled",
    default_limit: Some(100),
    max_limit: 1000,
};

impl Api<'_> {
    pub(super) fn schedule_message(&mut self, args: &Args) -> ApiResult {
        let channel = self.member_channel(args, "channel")?;
        let post_at = args
            .str("post_at")
            .ok_or(ApiError::new("invalid_time"))?
            .trim()
            .parse::<f64>()
            .map_err(|_| ApiError::new("invalid_time"))? as i64;
        let now = self.state.clock.now_secs();
        if post_at <= now {
            return Err(ApiError::new("time_in_past"));
        }
        if post_at > now + MAX_AHEAD_SECS {
            return Err(ApiError::new("time_too_far"));
        }
        let content = Content::from_args(args)?;
        let thread_ts = self.thread_parent(&channel, args)?;
        let metadata = metadata_arg(args)?;
        let crowded = self
            .state
            .scheduled
            .iter()
            .filter(|s| s.channel == channel && (s.post_at - post_at).abs() < WINDOW_SECS)
            .count();
        if crowded >= MAX_PER_WINDOW {
            return Err(ApiError::new("restricted_too_many"));
        }
        let id = self.state.next_id('Q');
        let scheduled = ScheduledMessage {
            id: id.clone(),
            channel: channel.clone(),
            post_at,
            date_created: now,
            text: content.text.clone(),
            blocks: content.blocks.clone(),
            reply_broadcast: thread_ts.is_some() && args.bool("reply_broadcast"),
            thread_ts,
            metadata,
        };
        let mut message = json!({
            "type": "delayed_message",
            "subtype": "bot_message",
            "text": content.text,
            "bot_id": self.shared.config.bot_id,
            "app_id": self.shared.config.api_app_id,
            "team": self.shared.config.team_id,
            "user": self.shared.config.bot_user_id,
        });
        if let Some(blocks) = content.blocks {
            message["blocks"] = blocks;
        }
        self.state.scheduled.push(scheduled);
        self.state.changed(Change::Channel {
            channel: channel.clone(),
        });
        self.shared.schedule.notify_one();
        tracing::debug!(%channel, post_at, %id, "emulator: chat.scheduleMessage");
        Ok(json!({
            "ok": true,
            "channel": channel,
            "scheduled_message_id": id,
            "post_at": post_at,
            "message": message,
        }))
    }

    pub(super) fn scheduled_messages_list(&mut self, args: &Args) -> ApiResult {
        let request = SCHEDULED.request(args)?;
        let channel = match args.str("channel") {
            Some(_) => Some(self.visible_channel(args, "channel")?),
            None => None,
        };
        let bound = |key: &str| args.str(key).and_then(|v| v.parse::<f64>().ok());
        let (oldest, latest) = (bound("oldest"), bound("latest"));
        let mut pending: Vec<&ScheduledMessage> = self
            .state
            .scheduled
            .iter()
            .filter(|s| channel.as_ref().is_none_or(|c| *c == s.channel))
            .filter(|s| oldest.is_none_or(|o| s.post_at as f64 >= o))
            .filter(|s| latest.is_none_or(|l| s.post_at as f64 <= l))
            .collect();
        pending.sort_by(|a, b| (a.post_at, &a.id).cmp(&(b.post_at, &b.id)));
        let (page, next) =
            SCHEDULED.page(pending, &request, |s| s.id.clone(), |s, from| s.id == from);
        let listed: Vec<Value> = page
            .into_iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "channel_id": s.channel,
                    "post_at": s.post_at,
                    "date_created": s.date_created,
                    "text": s.text,
                })
            })
            .collect();
        Ok(json!({
            "ok": true,
            "scheduled_messages": listed,
            "response_metadata": pagination::metadata(&next),
        }))
    }

    pub(super) fn delete_scheduled_message(&mut self, args: &Args) -> ApiResult {
        let channel = self.member_channel(args, "channel")?;
        let id = args
            .str("scheduled_message_id")
            .ok_or(ApiError::new("invalid_scheduled_message_id"))?;
        let at = self
            .state
            .scheduled
            .iter()
            .position(|s| s.id == id && s.channel == channel)
            .ok_or(ApiError::new("invalid_scheduled_message_id"))?;
        self.state.scheduled.remove(at);
        self.state.changed(Change::Channel { channel });
        Ok(json!({"ok": true}))
    }
}

/// Posts every scheduled message whose time has come (at the time it is
/// posted, with a fresh `ts`), and says when the next one is due.
fn post_due(shared: &Shared, state: &mut State) -> Option<i64> {
    let now = state.clock.now_ms() as i64;
    let (due, waiting): (Vec<ScheduledMessage>, Vec<ScheduledMessage>) =
        std::mem::take(&mut state.scheduled)
            .into_iter()
            .partition(|s| s.post_at * 1000 <= now);
    state.scheduled = waiting;
    let c = &shared.config;
    for s in due {
        // Gone with its channel, or the bot has left it: Slack drops it.
        if !state.is_member(&c.bot_user_id, &s.channel) {
            continue;
        }
        let ts = state.next_ts();
        state.changed(Change::Channel {
            channel: s.channel.clone(),
        });
        tracing::debug!(channel = %s.channel, %ts, id = %s.id, "emulator: scheduled message posted");
        state.push_message(Message {
            channel: s.channel,
            ts,
            thread_ts: s.thread_ts,
            user: c.bot_user_id.clone(),
            bot_id: Some(c.bot_id.clone()),
            text: s.text,
            blocks: s.blocks,
            subtype: s.reply_broadcast.then(|| "thread_broadcast".to_string()),
            metadata: s.metadata,
            ..Message::default()
        });
    }
    state.scheduled.iter().map(|s| s.post_at).min()
}

/// The emulator's poster of scheduled messages; runs until aborted.
pub async fn post_when_due(shared: Arc<Shared>) {
    loop {
        let next = post_due(&shared, &mut shared.state());
        let wait = match next {
            // A manual clock is moved by a test, which then calls
            // `post_due_scheduled`; looking now and then is enough here.
            Some(_) if shared.config.clock.is_manual() => IDLE,
            Some(at) => Duration::from_millis(
                (at * 1000 - shared.config.clock.now_ms() as i64).max(0) as u64,
            ),
            None => IDLE,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shared.schedule.notified() => {}
        }
    }
}

impl Emulator {
    /// Posts every scheduled message whose time has come on the
    /// workspace's clock, now: for a test that just moved a manual clock
    /// (the poster only looks now and then on one).
    pub fn post_due_scheduled(&self) {
        post_due(&self.shared, &mut self.shared.state());
    }

    /// Messages scheduled and not yet posted, in a channel (id or name) or
    /// everywhere (`None`), soonest first.
    pub fn scheduled(&self, channel: Option<&str>) -> Vec<ScheduledMessage> {
        let channel = channel.map(|c| self.channel_or_raw(c));
        let mut pending: Vec<ScheduledMessage> = self
            .shared
            .state()
            .scheduled
            .iter()
            .filter(|s| channel.as_ref().is_none_or(|c| *c == s.channel))
            .cloned()
            .collect();
        pending.sort_by(|a, b| (a.post_at, &a.id).cmp(&(b.post_at, &b.id)));
        pending
    }
}
