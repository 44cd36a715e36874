//! Storage: everything botyard must remember, behind one trait per store so a
//! second backend is one new module run through the same conformance suite
//! (`tests/storage.rs`).
//!
//! - [`KvStore`]: each app's private key-value namespace.
//! - [`OutboxStore`]: the Slack calls apps asked for, claimed with a lease by
//!   whoever delivers them and settled once.
//! - [`ScheduleStore`]: one-off ticks, and cron bookkeeping advanced by
//!   compare-and-set, so a tick fires once however many schedulers look; a
//!   due tick is claimed and its run taken into the inbox in one commit
//!   ([`ScheduleStore::claim_tick`]).
//! - [`AuditStore`]: who ran what, when, and how it ended.
//! - [`InboxStore`]: Slack deliveries taken in, claimed, done once.
//! - [`WebhookStore`]: webhook deliveries, recorded before the sender is
//!   answered, de-duplicated by the sender's delivery id, claimed with a
//!   lease by whoever runs them and settled in the handler's own unit.
//! - [`PublishedStore`]: apps published into the database for every
//!   replica (`botyard publish`), and what each replica runs of them.
//! - [`Wakeup`]: "there is new work" (in the outbox, among the webhook
//!   deliveries), which a backend may carry in-process, by LISTEN/NOTIFY, or
//!   not at all (whoever waits also polls).
//!
//! **Units of work.** Everything one invocation writes — its keys, the Slack
//! calls it queues, the ticks it schedules and its audit row — goes through
//! one [`Unit`] and is made durable by one [`Unit::commit`]. The host
//! acknowledges nothing before that commit returns, so nothing acknowledged
//! is lost on `kill -9`, and an invocation costs one commit, not one per
//! write. A backend decides how units map to transactions: SQLite shares one
//! open transaction among the units running at once and commits it for all
//! of them (group commit); PostgreSQL ([`postgres`]) gives each unit its own,
//! begun at its first operation.
//!
//! Errors are backend-neutral ([`StorageError`]): callers never see a driver's
//! error type.

mod error;
pub mod postgres;
mod quota;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use serde::Serialize;

pub use error::StorageError;

use crate::contract::limits::Quotas;

/// Longest key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest value, in bytes (1 MiB).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// An app's key-value namespace, as seen from inside a [`Unit`].
///
/// Every method names the app explicitly; the host always passes the
/// identity of the component being run, never a name the guest chose, so an
/// app cannot reach another's keys.
#[async_trait]
pub trait KvStore: Send {
    /// The value at `key`, if any.
    async fn get(&mut self, app: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Sets `key` to `value`, replacing any previous value.
    async fn set(&mut self, app: &str, key: &str, value: &[u8]) -> Result<(), StorageError>;
    /// Deletes `key`; returns whether it existed.
    async fn delete(&mut self, app: &str, key: &str) -> Result<bool, StorageError>;
    /// Up to `limit` keys starting with `prefix` (matched literally), in byte order.
    async fn list(
        &mut self,
        app: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, StorageError>;
    /// Adds `delta` to the decimal integer at `key` (missing counts as 0) and
    /// returns the new value. Atomic: concurrent increments are never lost.
    /// A non-number or an overflow is an error and changes nothing.
    async fn increment(&mut self, app: &str, key: &str, delta: i64) -> Result<i64, StorageError>;
    /// Sets `key` to `new` only if it currently equals `expected` (`None`:
    /// absent; `new: None` deletes); returns whether it did. Atomic.
    async fn compare_and_swap(
        &mut self,
        app: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, StorageError>;
}

/// What one invocation writes, made durable together by [`Unit::commit`].
#[async_trait]
pub trait Unit: KvStore {
    /// Queues a Slack call; returns its outbox id (a cursor: ids only grow).
    async fn enqueue(&mut self, call: NewCall<'_>) -> Result<i64, StorageError>;
    /// Schedules a one-off tick `name` for `app` at `at_ms`, replacing an
    /// earlier one of the same name.
    async fn schedule_once(
        &mut self,
        app: &str,
        name: &str,
        at_ms: i64,
    ) -> Result<(), StorageError>;
    /// Cancels a one-off tick; returns whether one was scheduled.
    async fn cancel_schedule(&mut self, app: &str, name: &str) -> Result<bool, StorageError>;
    /// Appends an invocation to the audit log.
    async fn record(&mut self, record: &InvocationRecord) -> Result<(), StorageError>;
    /// Records a webhook delivery, pending and due now, unless one with the
    /// same app, webhook and delivery id is already recorded.
    async fn receive(&mut self, delivery: NewDelivery<'_>) -> Result<Received, StorageError>;
    /// Settles a claimed webhook delivery, in the unit of the invocation
    /// that handled it, so the handler's writes and the delivery's outcome
    /// are kept together; `false` (and nothing changes) if the claim was
    /// overtaken or the delivery is no longer pending.
    async fn settle_delivery(
        &mut self,
        claim: &Claim,
        outcome: DeliveryOutcome,
    ) -> Result<bool, StorageError>;
    /// Marks claimed inbox work done in the unit of the invocation that did
    /// it; `false` (and nothing changes) if the claim was overtaken — the
    /// caller must then not commit the unit, for another process owns the
    /// work now.
    async fn settle_inbound(&mut self, claim: &Claim) -> Result<bool, StorageError>;
    /// Records a delivery as done, in the unit of the invocation that did
    /// it before Slack's acknowledgement (a click answered on time: the
    /// inbox was never needed to promise it), so a repeat of the delivery
    /// finds its key. `false` (and nothing changes) if the key is known —
    /// this run repeats work done or taken in elsewhere, and the caller must
    /// then not commit the unit.
    async fn record_inbound(&mut self, item: NewInbound<'_>) -> Result<bool, StorageError>;
    /// Holds this unit's writes to `quotas` from now on: a write to an
    /// app's store that would take it past `store_bytes` or `store_keys`
    /// (one that shrinks or deletes is always allowed), or a new webhook
    /// delivery once `webhook_deliveries_kept` are kept and none of them is
    /// settled (settled ones, oldest first, make room), is refused with
    /// [`StorageError::OverQuota`] and writes nothing. The check and the
    /// write are one step, so units running at once cannot pass a quota
    /// together. A unit starts with [`Quotas::UNLIMITED`]; the runtime sets
    /// the app's quotas on every invocation's unit.
    fn set_quotas(&mut self, quotas: Quotas);
    /// What `app` uses of what quotas count, as this unit sees it; kept
    /// with every write, so this is one read.
    async fn usage(&mut self, app: &str) -> Result<Usage, StorageError>;
    /// Makes every write of this unit durable; when it returns `Ok`, they
    /// survive the process being killed. A unit that wrote nothing commits
    /// for free.
    async fn commit(self: Box<Self>) -> Result<(), StorageError>;
}

/// What an app uses of what its quotas count (see [`Unit::usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Bytes of keys (as UTF-8) and values in the app's store.
    pub store_bytes: u64,
    pub store_keys: u64,
    /// Webhook deliveries recorded for the app: pending, done or dead.
    pub webhook_deliveries: u64,
}

/// A Slack call to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewCall<'a> {
    pub app: &'a str,
    /// Slack Web API method, e.g. `chat.postMessage`.
    pub method: &'a str,
    pub payload: &'a serde_json::Value,
    pub status: OutboxStatus,
}

/// Where an outbox entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    /// To be delivered to Slack.
    Pending,
    /// Recorded only: no Slack connected (e.g. `botyard call`).
    Local,
    /// Slack accepted it; `result` holds its answer.
    Delivered,
    /// Given up on; `last_error` says why.
    Failed,
}

impl OutboxStatus {
    /// The text backends store.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Local => "local",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => OutboxStatus::Pending,
            "local" => OutboxStatus::Local,
            "delivered" => OutboxStatus::Delivered,
            "failed" => OutboxStatus::Failed,
            _ => return None,
        })
    }
}

/// One recorded Slack Web API call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    /// Increases with every entry and is never reused, so it works as a cursor.
    pub id: i64,
    pub created_ms: i64,
    pub app: String,
    /// Slack Web API method, e.g. `chat.postMessage`.
    pub method: String,
    pub payload: serde_json::Value,
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Slack's response once delivered.
    pub result: Option<serde_json::Value>,
}

/// The right to deliver one outbox entry until `until_ms`. Settling with a
/// claim that was overtaken (its lease ran out and someone else claimed the
/// entry) changes nothing, so a deliverer that stalled past its lease cannot
/// overwrite the newer deliverer's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    /// Which claim of this entry this is (1 for the first).
    pub token: i64,
    pub until_ms: i64,
}

/// How a claimed delivery ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// Slack accepted the call and answered this.
    Delivered(serde_json::Value),
    /// It can never succeed; the reason is kept.
    Failed(String),
    /// It may succeed later: counts an attempt, keeps the error, and frees
    /// the entry for the next claim.
    Retry(String),
    /// Like [`Retry`](Settlement::Retry), but Slack may have carried the
    /// call out (the request was sent and no answer came: a timeout, a
    /// connection reset). The entry's next claim is told it is in doubt
    /// ([`ClaimedHead::in_doubt`]), so the deliverer looks before sending
    /// it again.
    Unclear(String),
}

/// The lane an outbox entry is queued in: entries of one lane are
/// delivered one at a time, oldest first (only a lane's head may be
/// claimed), whoever delivers them. Computed once, when the entry is
/// queued, and stored with it.
///
/// A message's lane is its channel (`channel`, or `channel_id` for a file),
/// or the person (`user_id`: App Home, a DM posted to a user id shares the
/// lane of that user's App Home); answers to one `response_url` share the
/// URL's lane; any other call (views by trigger or id, calls naming no
/// conversation) the lane of its app, so an app's `views.update`s of one
/// view keep their order. The prefixes keep these apart: Slack ids hold no
/// `:`.
pub fn outbox_lane(app: &str, method: &str, payload: &serde_json::Value) -> String {
    // The slack module's `RESPONSE_URL_METHOD`, which this layer cannot name.
    if method == "response_url" {
        let url = payload.get("url").and_then(serde_json::Value::as_str);
        return format!("url:{}", url.unwrap_or_default());
    }
    ["channel", "channel_id", "user_id"]
        .iter()
        .find_map(|key| {
            payload
                .get(*key)
                .and_then(serde_json::Value::as_str)
                .filter(|v| !v.is_empty())
        })
        .map_or_else(|| format!("app:{app}"), str::to_string)
}

/// An outbox entry claimed as the head of its lane (see
/// [`OutboxStore::claim_heads`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedHead {
    pub entry: OutboxEntry,
    /// The entry's lane ([`outbox_lane`]).
    pub lane: String,
    pub claim: Claim,
    /// An earlier claim of this entry may have reached Slack without its
    /// outcome being recorded: it ran out or its holder died before
    /// settling, or it settled [`Settlement::Unclear`]. Sending it again
    /// blindly could post twice.
    pub in_doubt: bool,
}

/// What [`OutboxStore::claim_heads`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Heads {
    /// Heads claimed for this caller, oldest first, each of another lane.
    pub claimed: Vec<ClaimedHead>,
    /// The soonest moment (Unix ms) a lane held back by pacing or a retry
    /// wait may go again, if any is held: when to look next.
    pub next_ms: Option<i64>,
}

/// How long a lane's head must wait, shared by every deliverer of the
/// database (Unix ms; a time already past, or `None`, holds nothing). A
/// lane's hold only ever moves later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LaneHold {
    /// A paced head (see [`OutboxStore::claim_heads`]) waits until then:
    /// Slack takes about one message per second per channel.
    pub post_not_before_ms: Option<i64>,
    /// Any head waits until then: a retry's backoff, Slack's `Retry-After`.
    pub try_not_before_ms: Option<i64>,
}

/// The outbox, as whoever delivers it sees it.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Up to `limit` entries still pending, oldest first.
    async fn pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, StorageError>;
    /// Claims pending entry `id` for `lease`, unless someone else holds an
    /// unexpired claim on it or it is no longer pending. Everything written
    /// before is durable once this returns, so a delivered call was always
    /// recorded first.
    async fn claim(&self, id: i64, lease: Duration) -> Result<Option<Claim>, StorageError>;
    /// Frees the claims of deliverers that are gone (they died holding
    /// them), so their entries go out now instead of when the lease runs
    /// out; returns how many. Called when delivery starts, and every few
    /// seconds after (a replica may die and stay down). A single-node
    /// backend, which one process delivers from, frees every claim not made
    /// through this handle; a cluster backend frees those of replicas that
    /// stopped.
    async fn release_orphaned(&self) -> Result<usize, StorageError>;
    /// Settles a claimed entry; `false` if the claim was overtaken or the
    /// entry is already settled (nothing changes then).
    async fn settle(&self, claim: &Claim, outcome: Settlement) -> Result<bool, StorageError>;
    /// Claims for `lease` up to `limit` lane heads that may go now: the
    /// oldest pending entry of each lane, unless it is claimed (and the
    /// claim has not run out), its lane is held for a retry, or — for a
    /// `paced` method — its lane's next post is not due yet. A lane's next
    /// entry becomes its head only once the head is settled, so however
    /// many deliverers claim at once, one lane's entries go one at a time
    /// and in order. PostgreSQL claims with `FOR UPDATE SKIP LOCKED`:
    /// deliverers claiming at the same moment take different heads instead
    /// of queueing on the same rows.
    async fn claim_heads(
        &self,
        limit: u32,
        lease: Duration,
        paced: &[&str],
    ) -> Result<Heads, StorageError>;
    /// Settles a claimed head like [`settle`](OutboxStore::settle), and holds
    /// its lane as `hold` says in the same transaction, so the next head is
    /// never claimable before the hold is visible. The hold is kept even
    /// when the claim was overtaken: a call that went out still counts
    /// against Slack's pacing.
    async fn settle_head(
        &self,
        claim: &Claim,
        lane: &str,
        outcome: Settlement,
        hold: LaneHold,
    ) -> Result<bool, StorageError>;
    /// Gives a claim back without an attempt (nothing was sent), holding
    /// the lane as `hold` says; `false` if the claim was overtaken.
    async fn release(
        &self,
        claim: &Claim,
        lane: &str,
        hold: LaneHold,
    ) -> Result<bool, StorageError>;
    /// Entries with id > `after_id`, oldest first, optionally only `app`'s.
    async fn entries(
        &self,
        app: Option<&str>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError>;
    /// How many entries are pending, and when the oldest of them was
    /// created (Unix ms): the outbox's depth and age, as `/metrics` shows
    /// them. A read only.
    async fn pending_summary(&self) -> Result<(u64, Option<i64>), StorageError>;
}

/// A one-off tick whose time has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueTick {
    pub app: String,
    pub name: String,
    /// When it was scheduled for, Unix milliseconds.
    pub due_ms: i64,
}

/// Where a due tick comes from, and so what claiming it takes off its
/// schedule (see [`ScheduleStore::claim_tick`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickSource {
    /// A one-off (`schedule.once`) still scheduled for the tick's due time:
    /// claiming deletes it. One rescheduled to another time, or cancelled,
    /// since it was read is not claimed.
    Once,
    /// An occurrence of a cron schedule whose last fire time is still
    /// `after`: claiming moves it to the occurrence's due time
    /// (compare-and-set), so a schedule's occurrences are claimed in order
    /// and each once, and the ones between `after` and this one are passed
    /// over for good (how catch-up skips).
    Cron { after: i64 },
}

/// A due tick to claim, and its run as the inbox keeps it.
#[derive(Debug, Clone, Copy)]
pub struct TickRun<'a> {
    pub app: &'a str,
    pub name: &'a str,
    /// When it is due, Unix milliseconds.
    pub due_ms: i64,
    pub source: TickSource,
    /// The run's inbox key, one per app, schedule and due time: the run's
    /// unique row, so one due time never runs twice even if its schedule
    /// could be claimed again.
    pub key: &'a str,
    /// What the taker needs to run it, here or in another process (the
    /// inbound layer decides the shape; storage keeps bytes).
    pub body: &'a [u8],
}

/// Ticks: one-offs apps asked for, and when each cron schedule last fired.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Removes and returns every one-off tick due at or before `now_ms`,
    /// earliest first. A tick is handed out exactly once, however many
    /// callers ask at the same time — and lost if the caller dies before
    /// running it: the scheduler uses [`ScheduleStore::due_once`] and
    /// [`ScheduleStore::claim_tick`] instead, which keep the run with the
    /// claim.
    async fn take_due(&self, now_ms: i64) -> Result<Vec<DueTick>, StorageError>;
    /// Up to `limit` one-off ticks due at or before `now_ms`, earliest
    /// first: a read only; each is taken with [`ScheduleStore::claim_tick`].
    async fn due_once(&self, now_ms: i64, limit: u32) -> Result<Vec<DueTick>, StorageError>;
    /// Claims a due tick and takes its run into the inbox, claimed by this
    /// process until `now_ms + lease` (as [`InboxStore::take`] does), in
    /// **one commit**: the tick comes off its schedule (see [`TickSource`])
    /// only together with a run that another process takes over
    /// ([`InboxStore::claim_expired`]) should this one die before it is
    /// done, so a due time is never lost between the two. `None` (and
    /// nothing changes) when another caller claimed it first, or the
    /// schedule moved on since it was read; also `None` when the run's key
    /// is already in the inbox (it ran): the tick still comes off its
    /// schedule, and nothing runs twice.
    async fn claim_tick(
        &self,
        run: TickRun<'_>,
        now_ms: i64,
        lease: Duration,
    ) -> Result<Option<Claim>, StorageError>;
    /// When the earliest one-off tick still waiting is due, if any: a read
    /// only, so the test kit's virtual time can jump to it.
    async fn next_once_due(&self) -> Result<Option<i64>, StorageError>;
    /// When the cron schedule `name` of `app` last fired, if ever.
    async fn last_cron_fire(&self, app: &str, name: &str) -> Result<Option<i64>, StorageError>;
    /// When every cron schedule that ever fired last fired, by (app, name),
    /// in one read: the scheduler looks every second, on every replica, and
    /// one query per schedule was most of a cluster's idle load.
    async fn cron_fires(&self) -> Result<CronFires, StorageError>;
    /// Moves the last fire time of `app`'s `name` from `expected` (`None`:
    /// never fired) to `to`, only if it still is `expected`; returns whether
    /// it did. Whoever gets `true` fires the tick, so it fires once.
    async fn advance_cron(
        &self,
        app: &str,
        name: &str,
        expected: Option<i64>,
        to: i64,
    ) -> Result<bool, StorageError>;
}

/// Each cron schedule's last fire time, by (app, schedule name).
pub type CronFires = std::collections::HashMap<(String, String), i64>;

/// One invocation of an app, as recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvocationRecord {
    /// Start time, Unix milliseconds.
    pub at_ms: i64,
    pub app: String,
    /// Hash of the component version that ran.
    pub version: String,
    /// `command`, `action`, `view`, `event`, `tick` or `shortcut`.
    pub kind: String,
    pub user: String,
    pub channel: String,
    /// What was invoked, e.g. `/hello world`.
    pub detail: String,
    pub duration_us: i64,
    pub outcome: Outcome,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    /// With the error shown to the user or operator.
    Failed(String),
    /// A hook refused it before any of the app ran (a permission denial …),
    /// with the reason shown to the person who asked.
    Refused(String),
}

impl Outcome {
    /// An outcome as the audit table keeps it: its kind's name, and the
    /// message (read only when the kind has one). One decoding for every
    /// backend.
    pub(crate) fn from_stored<E>(
        kind: &str,
        message: impl FnOnce() -> Result<Option<String>, E>,
    ) -> Result<Outcome, E> {
        Ok(match kind {
            "ok" => Outcome::Ok,
            "refused" => Outcome::Refused(message()?.unwrap_or_default()),
            _ => Outcome::Failed(message()?.unwrap_or_default()),
        })
    }

    /// The outcome without its message.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Ok => OutcomeKind::Ok,
            Outcome::Failed(_) => OutcomeKind::Failed,
            Outcome::Refused(_) => OutcomeKind::Refused,
        }
    }

    /// The error or the refusal's reason; `None` when it went well.
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Ok => None,
            Outcome::Failed(message) | Outcome::Refused(message) => Some(message),
        }
    }
}

/// An [`Outcome`] without its message, as the audit log is filtered by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    Ok,
    Failed,
    Refused,
}

impl OutcomeKind {
    /// `ok`, `failed` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ok" => OutcomeKind::Ok,
            "failed" => OutcomeKind::Failed,
            "refused" => OutcomeKind::Refused,
            _ => return None,
        })
    }
}

/// Which invocations [`AuditStore::query`] returns: every filter set must
/// match; newest first, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub app: Option<String>,
    /// The Slack user who acted.
    pub user: Option<String>,
    /// Started at or after this, Unix milliseconds.
    pub since_ms: Option<i64>,
    pub outcome: Option<OutcomeKind>,
    pub limit: u32,
}

impl Default for AuditQuery {
    /// No filter; the 50 newest.
    fn default() -> Self {
        AuditQuery {
            app: None,
            user: None,
            since_ms: None,
            outcome: None,
            limit: 50,
        }
    }
}

/// The audit log, read side (rows are written through a [`Unit`]).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Up to `limit` most recent invocations, newest first, optionally only `app`'s.
    async fn recent(
        &self,
        app: Option<&str>,
        limit: u32,
    ) -> Result<Vec<InvocationRecord>, StorageError>;
    /// The invocations matching `query`, newest (latest start) first.
    async fn query(&self, query: &AuditQuery) -> Result<Vec<InvocationRecord>, StorageError>;
    /// Deletes the invocations that started strictly before `at_ms` (one
    /// started at `at_ms` stays) and says how many went. Deletes in small
    /// batches, each committed on its own, so a large backlog never holds
    /// the invocations' writes off for long.
    async fn prune_before(&self, at_ms: i64) -> Result<u64, StorageError>;
}

/// A Slack delivery to take in (see [`InboxStore::take`]): the work one
/// app owes for it.
#[derive(Debug, Clone, Copy)]
pub struct NewInbound<'a> {
    /// What makes it the same delivery when Slack sends it again:
    /// `<event_id>/<app>` for an event, the `trigger_id` or a digest of
    /// the payload for the rest.
    pub key: &'a str,
    pub app: &'a str,
    /// What the taker needs to run it again elsewhere (the inbound layer
    /// decides the shape; storage keeps bytes).
    pub body: &'a [u8],
}

/// Work taken in and not done, claimed again after its taker's lease ran
/// out (see [`InboxStore::claim_expired`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub id: i64,
    pub key: String,
    pub app: String,
    pub body: Vec<u8>,
    pub received_ms: i64,
}

/// The inbox: every Slack delivery whose work is promised before it is
/// done (an event, a click, a command answered late) is recorded here —
/// and claimed by the process taking it — before Slack gets its
/// acknowledgement. A retried delivery finds its key and runs nothing. The
/// work is marked done in the unit of the invocation that did it
/// ([`Unit::settle_inbound`]), so the app's writes, its Slack calls and
/// "done" are kept together; a taker that dies leaves a lease that runs
/// out, and another process claims the work again with a higher token, so
/// the first one — should it wake — can no longer settle it.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Records each of `items` whose key is not known yet, claimed by this
    /// process until `now_ms + lease`, all in one commit: durable when it
    /// returns. Per item, its claim when new; `None` for a repeat.
    async fn take(
        &self,
        items: &[NewInbound<'_>],
        now_ms: i64,
        lease: Duration,
    ) -> Result<Vec<Option<Claim>>, StorageError>;
    /// Claims up to `limit` items not done whose lease ran out by `now_ms`
    /// (oldest first) for `lease` more, leaving out `skip` (what this
    /// process is running right now).
    async fn claim_expired(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: u32,
        skip: &[i64],
    ) -> Result<Vec<(Inbound, Claim)>, StorageError>;
    /// Ends the leases of takers that are gone (a previous run of this
    /// process; for a cluster, replicas whose heartbeat stopped), so their
    /// work is claimed at once instead of when the lease runs out.
    async fn release_orphaned(&self) -> Result<usize, StorageError>;
    /// Whether `key` was taken in (and not yet forgotten).
    async fn seen(&self, key: &str) -> Result<bool, StorageError>;
    /// Forgets done items received before `cutoff_ms` (a redelivery after
    /// that runs again); returns how many.
    async fn forget_before(&self, cutoff_ms: i64) -> Result<usize, StorageError>;
    /// How many items are not done yet. A read only.
    async fn pending_count(&self) -> Result<u64, StorageError>;
}

/// One registered replica of a cluster, as `botyard cluster status` shows
/// it. Times are the database's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaStatus {
    pub replica: String,
    pub incarnation: i64,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
    pub heartbeat_every_ms: i64,
    /// The database's clock when this was read.
    pub now_ms: i64,
    /// Heard from within three of its heartbeats and a second.
    pub alive: bool,
    /// Leases it holds that have not run out.
    pub inbox_leases: u64,
    pub outbox_leases: u64,
    pub webhook_leases: u64,
}

/// Who shares the database. One machine (SQLite) has no registry.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Every replica alive, and the latest incarnation of every name.
    async fn replicas(&self) -> Result<Vec<ReplicaStatus>, StorageError>;
}

/// Socket Mode connections Slack allows one app at once, counted across
/// every process that connects for it: an eleventh is refused
/// (`too_many_websockets`).
pub const SLACK_SOCKET_SLOTS: u32 = 10;

/// What [`SlotStore::lease_slots`] granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotGrant {
    /// The slots now held, ascending (numbers below [`SLACK_SOCKET_SLOTS`]).
    pub slots: Vec<u32>,
    /// How long, from when the call was made, the holder may count on them
    /// without renewing: the lease asked for, shortened to when this
    /// replica would be taken for stopped if its heartbeat stayed silent
    /// (others may then take its slots).
    pub valid_for: Duration,
}

/// Who holds one Socket Mode slot now (see [`SlotStore::slot_leases`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotHolder {
    pub slot: u32,
    pub replica: String,
    /// Whether the holder is the caller's own incarnation.
    pub mine: bool,
    /// The slot kept for refreshes (see [`SlotStore::lease_spare`]).
    pub spare: bool,
}

/// Slack's Socket Mode connection slots, shared by every replica of a
/// cluster so that together they never open more than Slack's
/// [`SLACK_SOCKET_SLOTS`]. A replica leases the slots it connects on, renews
/// them while it runs, and releases them when it stops; a slot whose lease
/// ran out, or whose holder is taken for stopped (the heartbeat rules of
/// the replicas registry), is free for another replica to lease.
///
/// PostgreSQL keeps the slots in a table: [`SlotStore::capacity`] is 9
/// steady slots, and the tenth is the *spare* a slot borrows while it
/// replaces its socket (Slack counts the old and the new one until the old
/// closes). SQLite is one process, so there is nobody to share with: its
/// store grants whatever is asked (up to 10) and is not
/// [`SlotStore::shared`], and Socket Mode then behaves as it always did.
#[async_trait]
pub trait SlotStore: Send + Sync {
    /// Whether other processes share these slots (a cluster backend).
    fn shared(&self) -> bool;
    /// Most slots [`SlotStore::lease_slots`] can grant across all holders.
    fn capacity(&self) -> u32;
    /// Renews the slots this replica holds and leases free ones until it
    /// holds `want` (fewer if not enough are free; extra ones it held are
    /// released), each for `lease` from now on the database's clock.
    async fn lease_slots(&self, want: u32, lease: Duration) -> Result<SlotGrant, StorageError>;
    /// Leases the spare slot for `lease`, if it is free (or already this
    /// replica's): how long it may be counted on, or `None` when another
    /// replica is using it.
    async fn lease_spare(&self, lease: Duration) -> Result<Option<Duration>, StorageError>;
    /// Gives the spare slot back, if this replica holds it.
    async fn release_spare(&self) -> Result<(), StorageError>;
    /// Gives back every slot this replica holds (the spare too).
    async fn release_slots(&self) -> Result<(), StorageError>;
    /// Every slot held now (its lease not run out, its holder alive), by
    /// slot number. A read only.
    async fn slot_leases(&self) -> Result<Vec<SlotHolder>, StorageError>;
}

/// The current published version of one app (see [`PublishedStore`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedApp {
    pub app: String,
    /// sha256 of the component's bytes, hex: the version's only name.
    pub hash: String,
    /// The component's size in bytes.
    pub size: u64,
    /// When it was made current, on the publisher's clock (Unix ms).
    pub published_ms: i64,
}

/// What one replica runs of one published app, as it last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaApp {
    pub replica: String,
    pub app: String,
    /// The version it serves (full hash), if any.
    pub hash: Option<String>,
    /// Why it does not serve the current published version, if it does not.
    pub error: Option<String>,
    /// When it reported, on its clock (Unix ms).
    pub at_ms: i64,
    /// Whether the replica is alive (its heartbeat is recent); `None` where
    /// the backend keeps no heartbeats (SQLite: one machine).
    pub alive: Option<bool>,
}

/// The cluster-wide configuration published into the database (`botyard
/// publish --cluster-config`, see [`PublishedStore::publish_config`]): one
/// document at a time, named by the sha256 of its text.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct PublishedConfig {
    /// sha256 of the text, hex: the version's only name.
    pub hash: String,
    /// The TOML text as published. Never serialized nor printed by
    /// `Debug`: it may hold `${env:…}` / `${file:…}` references an operator
    /// would rather not see in logs (they are resolved on each replica).
    #[serde(skip)]
    pub text: String,
    /// When it was made current, on the publisher's clock (Unix ms).
    pub published_ms: i64,
}

impl std::fmt::Debug for PublishedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedConfig")
            .field("hash", &self.hash)
            .field("bytes", &self.text.len())
            .field("published_ms", &self.published_ms)
            .finish()
    }
}

/// The name a replica reports the published configuration under with
/// [`PublishedStore::report`]: app ids cannot contain `.`, so it never
/// collides with an app.
pub const CONFIG_REPORT_NAME: &str = "botyard.toml";

/// Apps published into the database (`botyard publish`), for every replica
/// to load: versions are kept by the sha256 of their bytes, and each app
/// name points at its current one. The apps directory stays for one
/// machine and `dev`; this is how a cluster, whose replicas share nothing
/// but the database, learns about a new version. Replicas poll
/// [`PublishedStore::published`] (woken early by
/// [`Storage::published_wakeup`]) and report what they run.
#[async_trait]
pub trait PublishedStore: Send + Sync {
    /// Stores `component` under its sha256 and makes it `app`'s current
    /// version, in one transaction: a replica sees the old version or the
    /// new one, never a name pointing at missing bytes. Versions no app
    /// points at any more are deleted in the same transaction.
    async fn publish(&self, app: &str, component: &[u8]) -> Result<PublishedApp, StorageError>;
    /// Stops publishing `app` (its versions and replica reports go too);
    /// whether it was published.
    async fn unpublish(&self, app: &str) -> Result<bool, StorageError>;
    /// Every published app's current version, by app name. A read only.
    async fn published(&self) -> Result<Vec<PublishedApp>, StorageError>;
    /// The bytes of version `hash`, if it is still kept.
    async fn component(&self, hash: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Records what this replica runs of `app` (replacing its previous
    /// report): the hash it serves, and why not the published one.
    async fn report(
        &self,
        app: &str,
        hash: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StorageError>;
    /// Every replica's latest report of every published app, by app then
    /// replica. The published configuration's reports come under
    /// [`CONFIG_REPORT_NAME`].
    async fn running(&self) -> Result<Vec<ReplicaApp>, StorageError>;
    /// Makes `text` the cluster-wide configuration (replacing the current
    /// one, if any), named by its sha256, and wakes the replicas. The
    /// caller validates it first (`routing::published::publish_config`):
    /// storage keeps text, it does not read it.
    async fn publish_config(&self, text: &str) -> Result<PublishedConfig, StorageError>;
    /// Stops publishing a configuration (the replicas' reports of it go
    /// too); whether one was published. Replicas go back to their own
    /// `botyard.toml` alone.
    async fn unpublish_config(&self) -> Result<bool, StorageError>;
    /// The current published configuration, if any. A read only.
    async fn published_config(&self) -> Result<Option<PublishedConfig>, StorageError>;
}

/// The name of a component's version: the sha256 of its bytes, hex (the
/// same as an app's `hash` once loaded).
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A webhook delivery to record.
#[derive(Debug, Clone, Copy)]
pub struct NewDelivery<'a> {
    pub app: &'a str,
    /// Which of the app's webhooks.
    pub hook: &'a str,
    /// The sender's id for it (`X-GitHub-Delivery`), or one the host made.
    pub delivery_id: &'a str,
    pub content_type: &'a str,
    /// As received, less the credentials the host checked.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What recording a delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Recorded now, with this id.
    New(i64),
    /// Recorded before (a redelivery), with this id; not recorded again.
    Duplicate(i64),
}

/// Where a webhook delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// To be handed to the app (now, or after a failed try, later).
    Pending,
    /// The app handled it.
    Done,
    /// The app failed it on every try; kept to be seen and replayed.
    Dead,
}

impl DeliveryStatus {
    /// The status as stored (the SQL writes the words itself).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => DeliveryStatus::Pending,
            "done" => DeliveryStatus::Done,
            "dead" => DeliveryStatus::Dead,
            _ => return None,
        })
    }
}

/// One recorded webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Increases with every delivery recorded.
    pub id: i64,
    pub app: String,
    pub hook: String,
    pub delivery_id: String,
    pub received_ms: i64,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body_bytes: u64,
    /// The body; left out (empty) of listings, present from
    /// [`WebhookStore::delivery`] and in claims.
    #[serde(skip)]
    pub body: Vec<u8>,
    pub status: DeliveryStatus,
    /// Tries so far.
    pub attempts: u32,
    /// When it is due (pending).
    pub next_ms: i64,
    pub last_error: Option<String>,
    /// When it became done or dead.
    pub settled_ms: Option<i64>,
}

/// How a try at a delivery ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Done,
    /// Failed; try again at `at_ms`.
    Retry {
        error: String,
        at_ms: i64,
    },
    /// Failed for the last time.
    Dead(String),
}

/// Webhook deliveries, as whoever runs them and whoever shows them see them
/// (they are recorded and settled through a [`Unit`]).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Claims up to `limit` pending deliveries due at `now_ms` that nobody
    /// holds, for `lease`, earliest due first. Each comes with its body.
    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<(Delivery, Claim)>, StorageError>;
    /// Frees the claims of runners that are gone, as
    /// [`OutboxStore::release_orphaned`] does; called when the runner starts.
    async fn release_orphaned(&self) -> Result<usize, StorageError>;
    /// When the earliest pending delivery may next be claimed (its retry
    /// time, or the end of a claim on it), if any is pending: a runner
    /// sleeps until then instead of polling a delivery that is running.
    async fn next_due(&self) -> Result<Option<i64>, StorageError>;
    /// Up to `limit` most recent deliveries, newest first, optionally only
    /// `app`'s, without bodies.
    async fn deliveries(
        &self,
        app: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StorageError>;
    /// Delivery `id` with its body.
    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StorageError>;
    /// Hands delivery `id` to its app again, as if it had just arrived
    /// (pending, due now, tries counted afresh); `false` if there is no
    /// such delivery or it is being run right now.
    async fn replay(&self, id: i64, now_ms: i64) -> Result<bool, StorageError>;
    /// Forgets done and dead deliveries settled before `cutoff_ms` (and so
    /// their delivery ids: a redelivery after that runs again); returns how
    /// many.
    async fn forget_settled_before(&self, cutoff_ms: i64) -> Result<usize, StorageError>;
    /// How many deliveries are pending (waiting, to be retried, or
    /// running), as `/metrics` shows them. A read only.
    async fn pending_count(&self) -> Result<u64, StorageError>;
}

/// "New work is waiting": raised when a unit that queued pending Slack calls
/// (or recorded a new webhook delivery) commits. A hint only — whoever waits must also poll, since another
/// process may write without raising it here.
pub trait Wakeup: Send + Sync {
    fn notify(&self);
    /// Resolves at the next notification (or at once, if one came since the
    /// last wait).
    fn wait(&self) -> BoxFuture<'static, ()>;
}

/// The in-process [`Wakeup`] every backend raises when its own units
/// commit (PostgreSQL's listener also raises it for other replicas' work).
#[derive(Default)]
pub(crate) struct NotifyWakeup(Arc<tokio::sync::Notify>);

impl Wakeup for NotifyWakeup {
    fn notify(&self) {
        // A stored permit if nobody waits yet: the next wait returns at once.
        self.0.notify_one();
    }

    fn wait(&self) -> BoxFuture<'static, ()> {
        let notify = self.0.clone();
        Box::pin(async move { notify.notified().await })
    }
}

/// Starts [`Unit`]s; implemented by each backend.
pub trait Units: Send + Sync {
    fn begin(&self) -> Box<dyn Unit>;
    /// Whether the data is reachable: a trivial read answers, and what the
    /// backend keeps its data in is still there (see [`Storage::check`]).
    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>>;
}

/// One backend's stores, bundled. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    units: Arc<dyn Units>,
    pub outbox: Arc<dyn OutboxStore>,
    pub schedules: Arc<dyn ScheduleStore>,
    pub audit: Arc<dyn AuditStore>,
    pub inbox: Arc<dyn InboxStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub cluster: Arc<dyn ClusterStore>,
    /// Slack's Socket Mode connection slots, shared by the replicas.
    pub slots: Arc<dyn SlotStore>,
    /// Apps published for every replica (`botyard publish`).
    pub published: Arc<dyn PublishedStore>,
    /// Raised when an app is published or unpublished (by another replica
    /// or tool too, where the backend carries it): a hint, replicas poll too.
    pub published_wakeup: Arc<dyn Wakeup>,
    /// Raised after a commit that queued pending Slack calls.
    pub outbox_wakeup: Arc<dyn Wakeup>,
    /// Raised after a commit that recorded a new webhook delivery.
    pub webhook_wakeup: Arc<dyn Wakeup>,
    /// Where the data lives, for messages (a path, a host; never a password).
    location: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens (creating and migrating if needed) the SQLite database at `path`.
    pub fn open(path: &std::path::Path) -> Result<Storage, StorageError> {
        sqlite::open(path)
    }

    /// Connects to PostgreSQL as one replica of a cluster sharing the
    /// database (migrating it if need be); see [`postgres`].
    pub async fn connect_postgres(options: postgres::Options) -> Result<Storage, StorageError> {
        postgres::connect(options).await
    }

    /// Where the data lives, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// A unit of work: what one invocation writes, committed together.
    pub fn begin(&self) -> Box<dyn Unit> {
        self.units.begin()
    }

    /// Whether the data is reachable, as `/readyz` asks: a trivial read
    /// answers, and the backend still has its data where it was opened (a
    /// database file deleted or overwritten behind the host's back fails
    /// this, though the open connection would carry on unaware). Writes
    /// nothing.
    pub async fn check(&self) -> Result<(), StorageError> {
        self.units.check().await
    }

    /// The value at `key` in `app`'s namespace (a unit of its own).
    pub async fn kv_get(&self, app: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let mut unit = self.begin();
        let value = unit.get(app, key).await;
        committed(unit, value).await
    }

    /// Sets `key` in `app`'s namespace (a unit of its own, committed).
    pub async fn kv_set(&self, app: &str, key: &str, value: &[u8]) -> Result<(), StorageError> {
        let mut unit = self.begin();
        let done = unit.set(app, key, value).await;
        committed(unit, done).await
    }

    /// Keys of `app` starting with `prefix` (a unit of its own).
    pub async fn kv_list(
        &self,
        app: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        let mut unit = self.begin();
        let keys = unit.list(app, prefix, limit).await;
        committed(unit, keys).await
    }

    /// Adds `delta` to the integer at `key` (a unit of its own, committed).
    pub async fn kv_increment(
        &self,
        app: &str,
        key: &str,
        delta: i64,
    ) -> Result<i64, StorageError> {
        let mut unit = self.begin();
        let value = unit.increment(app, key, delta).await;
        committed(unit, value).await
    }

    /// What `app` uses of what its quotas count (a unit of its own).
    pub async fn usage(&self, app: &str) -> Result<Usage, StorageError> {
        let mut unit = self.begin();
        let usage = unit.usage(app).await;
        committed(unit, usage).await
    }

    /// Queues a Slack call outside any invocation (a unit of its own).
    pub async fn enqueue(&self, call: NewCall<'_>) -> Result<i64, StorageError> {
        let mut unit = self.begin();
        let id = unit.enqueue(call).await;
        committed(unit, id).await
    }
}

/// Commits `unit` and hands back `value`, unless either failed.
async fn committed<T>(
    unit: Box<dyn Unit>,
    value: Result<T, StorageError>,
) -> Result<T, StorageError> {
    let value = value?;
    unit.commit().await?;
    Ok(value)
}

/// The limits every backend applies before touching its data, so an
/// oversized request writes nothing and gets the same error everywhere.
pub mod checks {
    use super::{MAX_KEY_BYTES, MAX_VALUE_BYTES, StorageError};

    pub fn key(key: &str) -> Result<(), StorageError> {
        size("key", key.len(), MAX_KEY_BYTES)
    }

    pub fn prefix(prefix: &str) -> Result<(), StorageError> {
        size("key prefix", prefix.len(), MAX_KEY_BYTES)
    }

    pub fn value(value: &[u8]) -> Result<(), StorageError> {
        size("value", value.len(), MAX_VALUE_BYTES)
    }

    fn size(what: &'static str, actual: usize, limit: usize) -> Result<(), StorageError> {
        if actual > limit {
            return Err(StorageError::TooLarge {
                what,
                limit,
                actual,
            });
        }
        Ok(())
    }

    /// `current` (the stored bytes, if any) plus `delta`, as an increment
    /// computes it: missing is 0, anything but a decimal i64 is an error.
    pub fn incremented(key: &str, current: Option<&[u8]>, delta: i64) -> Result<i64, StorageError> {
        let current = match current {
            None => 0,
            Some(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or_else(|| StorageError::NotANumber { key: key.into() })?,
        };
        current
            .checked_add(delta)
            .ok_or_else(|| StorageError::Overflow { key: key.into() })
    }
}
