//! Durable delivery: a background task that sends the outbox to Slack.
//!
//! Apps never call Slack directly: their calls are written to the outbox
//! (see [`crate::capabilities::slack`]) and this task drains it in id order.
//! Because an entry is only marked delivered after Slack accepted it, entries
//! left pending by a crash or `kill -9` go out when the next host starts —
//! at least once; a crash between Slack's answer and the write of
//! "delivered" is the one window that can repeat a call.
//!
//! Each entry is claimed (with a lease) right before it is sent and settled
//! with that claim after, so two deliverers never both send it and one that
//! stalled past its lease cannot overwrite what the other recorded.
//!
//! Ordering: entries are taken oldest first. A call whose `ts`/`view_id`
//! is a placeholder (`botyard-outbox-<id>`) waits until that entry is
//! delivered and then uses Slack's real id from its stored result. Entries
//! that wait (for pacing, a dependency, or a retry) let independent work in
//! other channels go ahead, while order inside one channel is kept.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::json::PENDING_TS_PREFIX;
use super::response_url::{RESPONSE_URL_METHOD, RespondError, Responder};
use super::web_api::UPLOAD_METHOD;
use super::web_api::{WebApi, WebApiError};
use crate::contract::retry::Backoff;
use crate::storage::{OutboxEntry, OutboxStatus, Settlement, Storage, StorageError};

/// Payload fields that may carry a placeholder from an earlier call: a
/// message's `ts`, a view's id, a created channel's id.
const PLACEHOLDER_FIELDS: [&str; 6] = [
    "channel",
    "channel_id",
    "ts",
    "thread_ts",
    "timestamp",
    "view_id",
];

/// How long one POST of a queued answer to a `response_url` may take.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Methods Slack limits to about one call per second per channel.
const PACED_METHODS: [&str; 1] = ["chat.postMessage"];

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Minimum time between two posts to the same channel (Slack: ~1 s).
    pub post_interval: Duration,
    /// How often the outbox is checked without a wake-up, e.g. for entries
    /// written by another process (`botyard call` next to a running host).
    pub poll_interval: Duration,
    /// Waits before retrying an entry after retryable failures, unless
    /// Slack says how long.
    pub retry: Backoff,
    /// Entries read per pass.
    pub batch: u32,
    /// How long a claimed entry is ours: longer than any one Web API call
    /// with its own retries, so only a deliverer that died or stalled loses it.
    pub lease: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            post_interval: Duration::from_secs(1),
            poll_interval: Duration::from_secs(2),
            retry: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
            batch: 200,
            lease: Duration::from_secs(300),
        }
    }
}

/// The running delivery task. Dropping it aborts the task (like a crash:
/// whatever is not yet marked delivered stays pending); [`Delivery::stop`]
/// lets the call in flight finish first.
pub struct Delivery {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Delivery {
    /// Starts delivering `storage`'s pending outbox through `api`, beginning
    /// with whatever was left pending before a restart. Needs a Tokio runtime.
    pub fn start(storage: Storage, api: WebApi, config: DeliveryConfig) -> Delivery {
        let (stop, stop_rx) = watch::channel(false);
        let worker = Worker {
            storage,
            api,
            responder: Responder::new(RESPONSE_TIMEOUT),
            config,
            next_post: HashMap::new(),
            next_try: HashMap::new(),
        };
        let task = tokio::spawn(worker.run(stop_rx));
        Delivery {
            stop,
            task: Some(task),
        }
    }

    /// Stops after the entry in flight, if any, is settled.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
            && e.is_panic()
        {
            tracing::error!(error = %e, "Slack delivery task panicked");
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// What a placeholder in an entry's payload came to.
enum Resolved {
    /// The payload with real ids, ready to send.
    Ready(Value),
    /// Refers to an entry not delivered yet: try again in a later pass.
    Wait,
    /// Can never be sent; the reason is stored as the entry's error.
    Fail(String),
}

/// What a pass over the outbox achieved.
struct Pass {
    /// Some entry was settled (delivered or failed): pass again at once, as
    /// entries waiting on it may now go and more may be queued behind.
    settled: bool,
    /// The soonest moment a skipped entry may go.
    wake_at: Option<Instant>,
}

impl Pass {
    fn wake_no_later_than(&mut self, at: Instant) {
        self.wake_at = Some(self.wake_at.map_or(at, |w| w.min(at)));
    }
}

struct Worker {
    storage: Storage,
    api: WebApi,
    /// Answers queued for a `response_url` go out through it.
    responder: Responder,
    config: DeliveryConfig,
    /// Per channel: when the next paced post may go.
    next_post: HashMap<String, Instant>,
    /// Per lane: when an entry that failed retryably may be tried again.
    next_try: HashMap<String, Instant>,
}

impl Worker {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let wakeup = self.storage.outbox_wakeup.clone();
        // A host killed mid-delivery left its claims behind; they are ours
        // to deliver now, not when their leases run out.
        match self.storage.outbox.release_orphaned().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                released = n,
                "took over Slack calls a stopped host had claimed"
            ),
            Err(e) => tracing::warn!(error = %e, "could not release orphaned outbox claims"),
        }
        tracing::info!("Slack delivery started");
        loop {
            if *stop.borrow() {
                break;
            }
            let pass = match self.pass(&stop).await {
                Ok(pass) => pass,
                Err(e) => {
                    tracing::error!(error = %e, "reading the outbox failed");
                    Pass {
                        settled: false,
                        wake_at: None,
                    }
                }
            };
            if pass.settled {
                continue;
            }
            let poll = Instant::now() + self.config.poll_interval;
            let until = pass.wake_at.map_or(poll, |at| at.min(poll));
            tokio::select! {
                _ = wakeup.wait() => {}
                _ = tokio::time::sleep_until(until) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!("Slack delivery stopped");
    }

    async fn pass(&mut self, stop: &watch::Receiver<bool>) -> Result<Pass, StorageError> {
        let mut pass = Pass {
            settled: false,
            wake_at: None,
        };
        for entry in self.storage.outbox.pending(self.config.batch).await? {
            if *stop.borrow() {
                break;
            }
            let lane = lane(&entry);
            let now = Instant::now();
            if let Some(&at) = self.next_try.get(&lane) {
                if at > now {
                    pass.wake_no_later_than(at);
                    continue;
                }
                self.next_try.remove(&lane);
            }
            let paced = PACED_METHODS.contains(&entry.method.as_str());
            if paced
                && let Some(&at) = self.next_post.get(&lane)
                && at > now
            {
                pass.wake_no_later_than(at);
                continue;
            }
            let resolved = self.resolve(&entry).await?;
            if let Resolved::Wait = resolved {
                continue;
            }
            let Some(claim) = self
                .storage
                .outbox
                .claim(entry.id, self.config.lease)
                .await?
            else {
                // Settled meanwhile, or someone else's to deliver.
                continue;
            };
            let payload = match resolved {
                Resolved::Ready(payload) => payload,
                Resolved::Wait => unreachable!("waiting entries were skipped"),
                Resolved::Fail(reason) => {
                    tracing::warn!(id = entry.id, app = %entry.app, method = %entry.method, %reason, "Slack call cannot be sent");
                    self.storage
                        .outbox
                        .settle(&claim, Settlement::Failed(reason))
                        .await?;
                    pass.settled = true;
                    continue;
                }
            };
            // A deliverer paused (or starved) past its lease may have been
            // overtaken: whoever claimed the entry since sends it, not us.
            if claim.until_ms <= crate::contract::time::now_ms() as i64 {
                tracing::warn!(
                    id = entry.id,
                    "outbox claim ran out before sending; left to its new holder"
                );
                continue;
            }
            let result = match entry.method.as_str() {
                UPLOAD_METHOD => self.api.upload_external(&payload).await,
                RESPONSE_URL_METHOD => self.respond(&payload).await,
                method => self.api.call(method, &payload).await,
            };
            if paced {
                self.next_post
                    .insert(lane.clone(), Instant::now() + self.config.post_interval);
            }
            match result {
                Ok(answer) => {
                    tracing::debug!(id = entry.id, app = %entry.app, method = %entry.method, "delivered to Slack");
                    self.storage
                        .outbox
                        .settle(&claim, Settlement::Delivered(answer))
                        .await?;
                    pass.settled = true;
                }
                Err(error) if error.is_retryable() => {
                    let wait = self.retry_wait(&entry, &error);
                    tracing::warn!(id = entry.id, app = %entry.app, method = %entry.method, error = %error, ?wait, "Slack call will be retried");
                    self.storage
                        .outbox
                        .settle(&claim, Settlement::Retry(error.to_string()))
                        .await?;
                    let at = Instant::now() + wait;
                    self.next_try.insert(lane, at);
                    pass.wake_no_later_than(at);
                }
                Err(error) => {
                    tracing::warn!(id = entry.id, app = %entry.app, method = %entry.method, error = %error, "Slack refused the call");
                    self.storage
                        .outbox
                        .settle(&claim, Settlement::Failed(error.to_string()))
                        .await?;
                    pass.settled = true;
                }
            }
        }
        Ok(pass)
    }

    /// POSTs a queued answer (see [`super::response_url::queued`]); its
    /// failures are told apart as Web API ones are, so the outbox retries
    /// the ones that may pass later and gives up on the rest.
    async fn respond(&self, payload: &Value) -> Result<Value, WebApiError> {
        let url = payload["url"].as_str().unwrap_or_default();
        match self.responder.post_once(url, &payload["body"]).await {
            Ok(()) => Ok(json!({"ok": true})),
            Err(RespondError::Transport(e)) => Err(WebApiError::Transport(e)),
            Err(e @ RespondError::Refused { status, .. }) if e.is_retryable() => {
                Err(WebApiError::Server(status))
            }
            Err(e) => Err(WebApiError::BadResponse(e.to_string())),
        }
    }

    /// Slack's `Retry-After` if it gave one, else exponential backoff on the
    /// entry's attempts so far.
    fn retry_wait(&self, entry: &OutboxEntry, error: &WebApiError) -> Duration {
        error
            .retry_after()
            .unwrap_or_else(|| self.config.retry.delay(entry.attempts + 1))
    }

    /// Replaces placeholders with the real ids of delivered entries. Only the
    /// same app's earlier entries count, so one app cannot reach another's
    /// message by guessing its outbox id.
    async fn resolve(&self, entry: &OutboxEntry) -> Result<Resolved, StorageError> {
        let mut payload = entry.payload.clone();
        for field in PLACEHOLDER_FIELDS {
            let Some(id) = payload
                .get(field)
                .and_then(Value::as_str)
                .and_then(placeholder_id)
            else {
                continue;
            };
            let target = placeholder_target(&self.storage, &entry.app, id)
                .await?
                .filter(|t| t.id < entry.id);
            let Some(target) = target else {
                return Ok(Resolved::Fail(format!(
                    "message_not_found: {field} {PENDING_TS_PREFIX}{id} is no earlier call of this app"
                )));
            };
            let result = match target.status {
                OutboxStatus::Pending => return Ok(Resolved::Wait),
                OutboxStatus::Delivered => target.result.unwrap_or_default(),
                OutboxStatus::Failed | OutboxStatus::Local => {
                    return Ok(Resolved::Fail(format!(
                        "message_not_found: {field} {PENDING_TS_PREFIX}{id} was never delivered"
                    )));
                }
            };
            let real = match field {
                "view_id" => result.pointer("/view/id"),
                "channel" | "channel_id" => result.pointer("/channel/id"),
                _ => result.get("ts"),
            };
            let Some(real) = real.and_then(Value::as_str) else {
                return Ok(Resolved::Fail(format!(
                    "message_not_found: {field} {PENDING_TS_PREFIX}{id} ({}) has no {field} to refer to",
                    target.method
                )));
            };
            payload[field] = json!(real);
            // A DM was posted to a user id; Slack answered with the D… channel
            // that later calls on the message must name.
            if !matches!(field, "view_id" | "channel" | "channel_id")
                && let Some(channel) = result.get("channel").and_then(Value::as_str)
            {
                payload["channel"] = json!(channel);
            }
        }
        Ok(Resolved::Ready(payload))
    }
}

/// The outbox entry `app`'s placeholder `id` stands for, if `id` is one
/// of its calls.
pub async fn placeholder_target(
    storage: &Storage,
    app: &str,
    id: i64,
) -> Result<Option<OutboxEntry>, StorageError> {
    Ok(storage
        .outbox
        .entries(Some(app), id - 1, 1)
        .await?
        .into_iter()
        .next()
        .filter(|t| t.id == id))
}

/// The call id in a placeholder (`botyard-outbox-<id>`), if `text` is one.
pub fn placeholder_id(text: &str) -> Option<i64> {
    text.strip_prefix(PENDING_TS_PREFIX)?
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

/// Calls in one lane keep their order: the channel for messages, the user
/// for App Home and DMs, else one lane per method.
fn lane(entry: &OutboxEntry) -> String {
    if entry.method == RESPONSE_URL_METHOD {
        // Answers to one request keep their order; other requests' go on.
        return entry.payload["url"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    ["channel", "user_id"]
        .iter()
        .find_map(|key| entry.payload.get(*key).and_then(Value::as_str))
        .map_or_else(|| entry.method.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_parse_only_when_well_formed() {
        assert_eq!(placeholder_id("botyard-outbox-42"), Some(42));
        assert_eq!(placeholder_id("botyard-outbox-"), None);
        assert_eq!(placeholder_id("botyard-outbox-0"), None);
        assert_eq!(placeholder_id("botyard-outbox-x"), None);
        assert_eq!(placeholder_id("1700000000.000100"), None);
    }
}
