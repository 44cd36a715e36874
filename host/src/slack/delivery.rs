//! Durable delivery: a background task that sends the outbox to Slack.
//!
//! Apps never call Slack directly: their calls are written to the outbox
//! (see [`crate::capabilities::slack`]) and this task drains it, lane by
//! lane in id order. Because an entry is only marked delivered after Slack
//! accepted it, entries left pending by a crash or `kill -9` go out when the
//! next host (or another replica) takes them — at least once; a crash
//! between Slack's answer and the write of "delivered" is the one window
//! that can repeat a call, and for posts it is closed by looking first
//! (below).
//!
//! **Lanes.** Every entry is queued in a lane (its channel; see
//! [`outbox_lane`](crate::storage::outbox_lane)) and only a lane's head,
//! its oldest pending entry, is claimed ([`OutboxStore::claim_heads`]), with
//! a lease, and settled with that claim after. However many replicas
//! deliver one database, one lane's entries go one at a time and in order,
//! while other lanes go at the same time: a pass claims heads of several
//! lanes and sends them concurrently.
//!
//! **Pacing and retry waits are the database's**, not the process's: a
//! lane's hold (next paced post, next try after a retryable failure) is
//! written with the settlement, so replicas together post to one channel
//! no faster than `post_interval` and honour one `Retry-After`.
//!
//! **Look before posting again.** A `chat.postMessage` carries its outbox id
//! in the message's `metadata` ([`with_outbox_metadata`]). When an earlier
//! attempt ended unclearly — sent and no answer, or a claim whose holder
//! vanished — the entry comes back in doubt, and the deliverer reads the
//! channel's recent messages (`conversations.history`, or the thread's
//! `conversations.replies`) with their metadata first: if the message is
//! there, the entry is settled delivered with that message instead of
//! being posted twice. Other methods are sent again as they are: an update
//! or a reaction done twice ends the same.
//!
//! A call whose `ts`/`view_id` is a placeholder (`botyard-outbox-<id>`)
//! waits until that entry is delivered and then uses Slack's real id from
//! its stored result.

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
use crate::storage::{
    ClaimedHead, LaneHold, OutboxEntry, OutboxStatus, OutboxStore, Settlement, Storage,
    StorageError,
};

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

/// How often claims of stopped hosts are looked for while delivering: with
/// the default 2 s heartbeat a dead replica counts as stopped after ~7 s,
/// so its channels move again within ~12 s.
const ORPHANS_EVERY: Duration = Duration::from_secs(5);

/// Methods Slack limits to about one call per second per channel.
const PACED_METHODS: [&str; 1] = [POST_METHOD];

const POST_METHOD: &str = "chat.postMessage";

/// Most lanes one deliverer sends to at once: one pass claims at most this
/// many heads, leaving the rest to other replicas.
const PARALLEL_LANES: u32 = 16;

/// How long a head whose placeholder waits on an entry of another lane is
/// put back before it is claimed again, so waiting heads do not take every
/// slot of a pass.
const DEPENDENCY_WAIT: Duration = Duration::from_millis(200);

/// The `event_type` of the metadata a post carries when its app set none.
pub const OUTBOX_EVENT_TYPE: &str = "botyard_outbox";
/// The key of the outbox id in that metadata's `event_payload`.
const OUTBOX_ID_KEY: &str = "outbox_id";
/// The key of the outbox id added to metadata an app set itself.
const APP_METADATA_OUTBOX_ID_KEY: &str = "botyard_outbox_id";
/// How many of a channel's (or thread's) latest messages are read when
/// looking for an earlier attempt's post.
const LOOK_BACK: usize = 200;

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
    /// Most lane heads claimed per pass (at most 16 are claimed; see
    /// `PARALLEL_LANES`).
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
    /// Some entry was settled (delivered or failed), or the pass claimed as
    /// many heads as it takes (more may be ready): pass again at once, as
    /// entries waiting on it may now go and more may be queued behind.
    settled: bool,
    /// The soonest moment a held lane (pacing, retry wait) may go.
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
}

/// What came of one claimed head.
enum Step {
    /// Settled for good (delivered or failed).
    Settled,
    /// Still pending; its lane may go again at this moment.
    Later(Instant),
    /// Nothing to do: the claim ran out before sending.
    Idle,
}

impl Worker {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let wakeup = self.storage.outbox_wakeup.clone();
        // A host killed mid-delivery left its claims behind; they are ours
        // to deliver now, not when their leases run out.
        self.release_orphaned().await;
        let mut orphans_checked = Instant::now();
        tracing::info!("Slack delivery started");
        loop {
            if *stop.borrow() {
                break;
            }
            // A replica that died and stays down holds its claims until
            // their lease runs out (minutes), blocking their channels'
            // lanes; once its heartbeat stops they are freed here instead.
            if orphans_checked.elapsed() >= ORPHANS_EVERY {
                self.release_orphaned().await;
                orphans_checked = Instant::now();
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

    /// Frees the claims of hosts that stopped (see
    /// [`OutboxStore::release_orphaned`]) so their calls go out now.
    async fn release_orphaned(&self) {
        match self.storage.outbox.release_orphaned().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                released = n,
                "took over Slack calls a stopped host had claimed"
            ),
            Err(e) => tracing::warn!(error = %e, "could not release orphaned outbox claims"),
        }
    }

    async fn pass(&self, stop: &watch::Receiver<bool>) -> Result<Pass, StorageError> {
        let limit = self.config.batch.clamp(1, PARALLEL_LANES);
        let heads = self
            .storage
            .outbox
            .claim_heads(limit, self.config.lease, &PACED_METHODS)
            .await?;
        let mut pass = Pass {
            settled: heads.claimed.len() as u32 >= limit,
            wake_at: None,
        };
        if let Some(at) = heads.next_ms {
            pass.wake_no_later_than(instant_at(at));
        }
        if *stop.borrow() {
            // Claimed but not ours to send any more: give them back now
            // rather than when the lease runs out.
            for head in &heads.claimed {
                self.outbox()
                    .release(&head.claim, &head.lane, LaneHold::default())
                    .await?;
            }
            return Ok(pass);
        }
        // Each head is of another lane: they may all go at once.
        let steps =
            futures_util::future::join_all(heads.claimed.into_iter().map(|h| self.deliver(h)))
                .await;
        for step in steps {
            match step? {
                Step::Settled => pass.settled = true,
                Step::Later(at) => pass.wake_no_later_than(at),
                Step::Idle => {}
            }
        }
        Ok(pass)
    }

    fn outbox(&self) -> &dyn OutboxStore {
        &*self.storage.outbox
    }

    /// Resolves, checks, sends and settles one claimed head.
    async fn deliver(&self, head: ClaimedHead) -> Result<Step, StorageError> {
        let ClaimedHead {
            entry,
            lane,
            claim,
            in_doubt,
        } = head;
        let payload = match self.resolve(&entry).await? {
            Resolved::Ready(payload) => payload,
            Resolved::Wait => {
                let at =
                    crate::contract::time::now_ms() as i64 + DEPENDENCY_WAIT.as_millis() as i64;
                let hold = LaneHold {
                    try_not_before_ms: Some(at),
                    ..LaneHold::default()
                };
                self.outbox().release(&claim, &lane, hold).await?;
                return Ok(Step::Later(Instant::now() + DEPENDENCY_WAIT));
            }
            Resolved::Fail(reason) => {
                tracing::warn!(id = entry.id, app = %entry.app, method = %entry.method, %reason, "Slack call cannot be sent");
                self.outbox()
                    .settle_head(
                        &claim,
                        &lane,
                        Settlement::Failed(reason),
                        LaneHold::default(),
                    )
                    .await?;
                return Ok(Step::Settled);
            }
        };
        // A deliverer paused (or starved) past its lease may have been
        // overtaken: whoever claimed the entry since sends it, not us.
        if claim.until_ms <= crate::contract::time::now_ms() as i64 {
            tracing::warn!(
                id = entry.id,
                "outbox claim ran out before sending; left to its new holder"
            );
            return Ok(Step::Idle);
        }
        let posts = entry.method == POST_METHOD;
        let payload = if posts {
            with_outbox_metadata(payload, entry.id)
        } else {
            payload
        };
        if posts && in_doubt {
            match self.find_posted(&payload, entry.id).await {
                Ok(Some(answer)) => {
                    tracing::info!(id = entry.id, app = %entry.app, "an earlier attempt had posted; settled without posting again");
                    self.outbox()
                        .settle_head(
                            &claim,
                            &lane,
                            Settlement::Delivered(answer),
                            LaneHold::default(),
                        )
                        .await?;
                    return Ok(Step::Settled);
                }
                Ok(None) => {}
                Err(error) if error.is_retryable() => {
                    // Cannot tell: posting now could post twice. Stay in
                    // doubt and look again later.
                    let wait = self.retry_wait(&entry, &error);
                    tracing::warn!(id = entry.id, app = %entry.app, error = %error, ?wait, "cannot look for an earlier post; will look again");
                    return self
                        .settle_retry(
                            &claim,
                            &lane,
                            Settlement::Unclear(format!("looking for an earlier post: {error}")),
                            wait,
                            None,
                        )
                        .await;
                }
                // The channel cannot be read (not found, not a member …):
                // the post will meet the same answer and fail for good.
                Err(error) => {
                    tracing::debug!(id = entry.id, error = %error, "could not look for an earlier post; posting");
                }
            }
        }
        let result = match entry.method.as_str() {
            UPLOAD_METHOD => self.api.upload_external(&payload).await,
            RESPONSE_URL_METHOD => self.respond(&payload).await,
            POST_METHOD => self.api.call_at_most_once(POST_METHOD, &payload).await,
            method => self.api.call(method, &payload).await,
        };
        let post_hold = PACED_METHODS.contains(&entry.method.as_str()).then(|| {
            crate::contract::time::now_ms() as i64 + self.config.post_interval.as_millis() as i64
        });
        let hold = LaneHold {
            post_not_before_ms: post_hold,
            ..LaneHold::default()
        };
        match result {
            Ok(answer) => {
                tracing::debug!(id = entry.id, app = %entry.app, method = %entry.method, "delivered to Slack");
                self.outbox()
                    .settle_head(&claim, &lane, Settlement::Delivered(answer), hold)
                    .await?;
                Ok(Step::Settled)
            }
            Err(error) if error.is_retryable() => {
                let mut wait = self.retry_wait(&entry, &error);
                let settlement = if error.is_unclear() {
                    // Let a request Slack may still be working on land
                    // before the next attempt looks for it.
                    wait = wait.max(self.api.retry_policy().request_timeout);
                    Settlement::Unclear(error.to_string())
                } else {
                    Settlement::Retry(error.to_string())
                };
                tracing::warn!(id = entry.id, app = %entry.app, method = %entry.method, error = %error, ?wait, "Slack call will be retried");
                self.settle_retry(&claim, &lane, settlement, wait, post_hold)
                    .await
            }
            Err(error) => {
                tracing::warn!(id = entry.id, app = %entry.app, method = %entry.method, error = %error, "Slack refused the call");
                self.outbox()
                    .settle_head(&claim, &lane, Settlement::Failed(error.to_string()), hold)
                    .await?;
                Ok(Step::Settled)
            }
        }
    }

    /// Settles a head to be tried again after `wait`, holding its lane
    /// (for every replica) until then.
    async fn settle_retry(
        &self,
        claim: &crate::storage::Claim,
        lane: &str,
        settlement: Settlement,
        wait: Duration,
        post_hold: Option<i64>,
    ) -> Result<Step, StorageError> {
        let hold = LaneHold {
            post_not_before_ms: post_hold,
            try_not_before_ms: Some(
                crate::contract::time::now_ms() as i64 + wait.as_millis() as i64,
            ),
        };
        self.outbox()
            .settle_head(claim, lane, settlement, hold)
            .await?;
        Ok(Step::Later(Instant::now() + wait))
    }

    /// Looks for the message an earlier attempt of outbox entry `id` may
    /// have posted: the latest [`LOOK_BACK`] messages of its channel (or of
    /// its thread), with their metadata. Found, it answers as
    /// `chat.postMessage` would have (`channel`, `ts`, `message`), so
    /// placeholders of later calls resolve to it.
    async fn find_posted(&self, payload: &Value, id: i64) -> Result<Option<Value>, WebApiError> {
        let mut channel = payload["channel"].as_str().unwrap_or_default().to_string();
        if is_user_id(&channel) {
            // Posted to a person: Slack answered in their DM, which must be
            // named to read it.
            let opened = self
                .api
                .call("conversations.open", &json!({ "users": channel }))
                .await?;
            channel = opened
                .pointer("/channel/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
        }
        let messages = match payload["thread_ts"].as_str() {
            Some(thread) => {
                let args = json!({"channel": channel, "ts": thread, "include_all_metadata": true});
                self.api
                    .paginated("conversations.replies", args, "messages", LOOK_BACK)
                    .await?
            }
            None => {
                let args = json!({"channel": channel, "include_all_metadata": true});
                self.api
                    .paginated("conversations.history", args, "messages", LOOK_BACK)
                    .await?
            }
        };
        Ok(messages
            .into_iter()
            .find(|m| outbox_id_of(m) == Some(id))
            .map(|message| {
                json!({
                    "ok": true,
                    "channel": channel,
                    "ts": message["ts"],
                    "message": message,
                })
            }))
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

/// When `ms` (Unix milliseconds) comes, as an [`Instant`].
fn instant_at(ms: i64) -> Instant {
    let now = crate::contract::time::now_ms() as i64;
    Instant::now() + Duration::from_millis(ms.saturating_sub(now).max(0) as u64)
}

/// Whether `id` names a person (`U…`, `W…`) rather than a conversation.
fn is_user_id(id: &str) -> bool {
    id.len() > 1
        && id.starts_with(['U', 'W'])
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `payload` (a `chat.postMessage`) with outbox entry `id` in its message
/// metadata, so a later look can tell whether it was posted.
///
/// Slack keeps one metadata per message, so an app's own is kept and the id
/// added beside its fields: with no metadata the post carries
/// `{"event_type": "botyard_outbox", "event_payload": {"outbox_id": id}}`;
/// with the app's, its `event_type` and `event_payload` stay and the payload
/// gains `"botyard_outbox_id": id` (the app's readers see one more field).
/// Metadata in a shape Slack would refuse anyway is left for Slack to judge.
pub fn with_outbox_metadata(mut payload: Value, id: i64) -> Value {
    let (mut metadata, as_text) = match payload.get("metadata") {
        None | Some(Value::Null) => {
            payload["metadata"] = json!({
                "event_type": OUTBOX_EVENT_TYPE,
                "event_payload": { OUTBOX_ID_KEY: id },
            });
            return payload;
        }
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(metadata) => (metadata, true),
            Err(_) => return payload,
        },
        Some(metadata) => (metadata.clone(), false),
    };
    let Some(fields) = metadata
        .get_mut("event_payload")
        .and_then(Value::as_object_mut)
    else {
        return payload;
    };
    fields.insert(APP_METADATA_OUTBOX_ID_KEY.into(), json!(id));
    payload["metadata"] = if as_text {
        json!(metadata.to_string())
    } else {
        metadata
    };
    payload
}

/// The outbox id a message's metadata carries, if
/// [`with_outbox_metadata`] put one there.
fn outbox_id_of(message: &Value) -> Option<i64> {
    let metadata = message.get("metadata")?;
    let payload = metadata.get("event_payload")?;
    if metadata.get("event_type").and_then(Value::as_str) == Some(OUTBOX_EVENT_TYPE)
        && let Some(id) = payload.get(OUTBOX_ID_KEY).and_then(Value::as_i64)
    {
        return Some(id);
    }
    payload.get(APP_METADATA_OUTBOX_ID_KEY)?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_id_joins_metadata_without_clobbering_the_apps() {
        let plain = with_outbox_metadata(json!({"channel": "C1", "text": "x"}), 7);
        assert_eq!(
            plain["metadata"],
            json!({"event_type": "botyard_outbox", "event_payload": {"outbox_id": 7}})
        );
        assert_eq!(outbox_id_of(&plain), Some(7));

        let app = json!({"event_type": "poll_created", "event_payload": {"poll": "lunch"}});
        let merged = with_outbox_metadata(json!({"channel": "C1", "metadata": app}), 8);
        assert_eq!(
            merged["metadata"],
            json!({"event_type": "poll_created",
                   "event_payload": {"poll": "lunch", "botyard_outbox_id": 8}})
        );
        assert_eq!(outbox_id_of(&merged), Some(8));

        // Metadata as Slack's string form stays a string.
        let text = json!({"channel": "C1", "metadata": app.to_string()});
        let merged = with_outbox_metadata(text, 9);
        let back: Value = serde_json::from_str(merged["metadata"].as_str().unwrap()).unwrap();
        assert_eq!(back["event_payload"]["botyard_outbox_id"], json!(9));
        assert_eq!(back["event_payload"]["poll"], json!("lunch"));

        assert_eq!(outbox_id_of(&json!({"text": "no metadata"})), None);
        assert_eq!(
            outbox_id_of(
                &json!({"metadata": {"event_type": "other", "event_payload": {"outbox_id": 3}}})
            ),
            None,
            "another app's outbox_id is not ours"
        );
    }

    #[test]
    fn placeholders_parse_only_when_well_formed() {
        assert_eq!(placeholder_id("botyard-outbox-42"), Some(42));
        assert_eq!(placeholder_id("botyard-outbox-"), None);
        assert_eq!(placeholder_id("botyard-outbox-0"), None);
        assert_eq!(placeholder_id("botyard-outbox-x"), None);
        assert_eq!(placeholder_id("1700000000.000100"), None);
    }
}
