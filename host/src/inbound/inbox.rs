//! The inbox, inbound side: work promised to Slack before it is done is
//! taken into the inbox ([`crate::storage::InboxStore`]) — recorded and
//! claimed by this process in one commit — **before** Slack gets its
//! acknowledgement, and marked done in the unit of the invocation that does
//! it. So an acknowledged event, click or late command is never lost (a
//! process that dies leaves a lease that runs out, and the takeover below,
//! in this or any other replica, runs the work again) and never done twice
//! (a repeat finds its key; a process paused past its lease finds its claim
//! overtaken when it settles, and its unit is not committed — its writes,
//! its Slack calls and its answer all go with it).
//!
//! What is promised when:
//! - an **event**: at once (one item per subscribing app, keyed
//!   `event:<event_id>/<app>`), since Slack is acknowledged before any app
//!   runs;
//! - a **click** (one action, or a shortcut): run at once, like a command,
//!   and acknowledged once its unit is committed — with its key recorded
//!   as done in that unit ([`Settle::recording`]), so a repeat of the
//!   delivery runs nothing; only a click still running at the deadline is
//!   taken in then. A payload of several actions is taken in at once, its
//!   answers going to `response_url` through the outbox;
//! - a **command**: only if it misses the acknowledgement — an answer in the
//!   acknowledgement needs no inbox (it is committed before Slack sees it);
//!   one that is late is taken in at the deadline, as the request the
//!   router made of it, before the empty acknowledgement goes out.
//!
//! Work taken over from another process is always answered late, through
//! `response_url` ([`Race::late`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::answer::{LateAnswer, Race, Render, action_body, command_body};
use crate::contract::request::{Kind, Request};
use crate::contract::time::now_ms;
use crate::routing::{Apps, CallError};
use crate::runtime::app::AppVersion;
use crate::runtime::hooks::{Call, Hook};
use crate::runtime::invoke::Invocation;
use crate::storage::{Claim, NewInbound, Storage, StorageError, Unit};

/// How long a claim on inbox work holds before another process may take the
/// work over. Longer than any invocation runs (app deadlines are seconds),
/// short enough that work of a dead replica resumes within 15 s with
/// [`TAKEOVER_EVERY`].
pub const LEASE: Duration = Duration::from_secs(10);

/// How often expired claims are looked for.
pub const TAKEOVER_EVERY: Duration = Duration::from_secs(1);

/// How long done work is remembered. Slack stops retrying an event after
/// about an hour; a day leaves room for clock trouble and slow restarts.
const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// How often done work older than [`RETENTION_MS`] is forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// How much expired work one look claims.
const TAKEOVER_BATCH: u32 = 16;

/// What one app owes for a delivery, as the inbox keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Work {
    /// The request as routing made it (the app is the inbox item's).
    pub request: Request,
    /// Where a late answer goes (commands and clicks).
    pub response_url: Option<String>,
    pub answer: Answer,
}

/// Which JSON a late answer becomes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Answer {
    Command,
    Action,
    /// Events and the like answer nothing visible.
    Nothing,
}

impl Answer {
    fn render(self) -> Render {
        match self {
            Answer::Command => command_body,
            Answer::Action => action_body,
            Answer::Nothing => |_, _| None,
        }
    }
}

impl Work {
    /// The bytes the inbox keeps (the scheduler puts a tick's run in the
    /// inbox itself, in the commit that claims the tick).
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a request always serializes")
    }

    fn decode(body: &[u8]) -> Result<Work, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The hooks an invocation of this work runs with, once `claim` holds
    /// it: the answer queued late, and the claim settled in its unit.
    pub fn hooks(&self, claim: Claim) -> (LateAnswer, Settle) {
        (
            LateAnswer::new(
                Race::late(),
                self.response_url.clone(),
                self.answer.render(),
            ),
            Settle::taken(claim),
        )
    }
}

/// The inbox of one dispatcher: takes work in, runs what it took, and takes
/// over what others (or an earlier run of this process) left.
pub struct Inbox {
    apps: Arc<Apps>,
    /// Inbox ids this process is running: its own claims on them may run
    /// out while they run (a long invocation), and must not be taken over
    /// by itself — on SQLite, where a unit's writes are shared, that would
    /// run the work twice.
    running: Mutex<HashSet<i64>>,
}

/// Marks inbox work as running in this process while alive.
pub struct Running(Arc<Inbox>, i64);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running().remove(&self.1);
    }
}

impl Inbox {
    /// The inbox of `apps` — one per set of loaded apps in a process, shared
    /// by every receiver and the scheduler, so one takeover loop knows all
    /// the work this process runs — started with its takeover loop on first
    /// use (outside a Tokio runtime there is none).
    pub fn of(apps: &Arc<Apps>) -> Arc<Inbox> {
        static INBOXES: Mutex<Vec<(Weak<Apps>, Weak<Inbox>)>> = Mutex::new(Vec::new());
        let mut inboxes = INBOXES.lock().unwrap_or_else(PoisonError::into_inner);
        inboxes.retain(|(apps, inbox)| apps.strong_count() > 0 && inbox.strong_count() > 0);
        let found = inboxes
            .iter()
            .find(|(of, _)| std::ptr::eq(of.as_ptr(), Arc::as_ptr(apps)))
            .and_then(|(_, inbox)| inbox.upgrade());
        if let Some(inbox) = found {
            return inbox;
        }
        let inbox = Arc::new(Inbox {
            apps: apps.clone(),
            running: Mutex::new(HashSet::new()),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(takeover(Arc::downgrade(&inbox)));
        }
        inboxes.push((Arc::downgrade(apps), Arc::downgrade(&inbox)));
        inbox
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `key` was taken in or recorded done (a repeat of it runs
    /// nothing).
    pub async fn seen(&self, key: &str) -> Result<bool, StorageError> {
        self.apps.storage().inbox.seen(key).await
    }

    /// Marks inbox item `id` as running here until the guard goes.
    pub fn hold(self: &Arc<Self>, id: i64) -> Running {
        self.running().insert(id);
        Running(self.clone(), id)
    }

    /// Takes `work` in — one item per `(key, app, work)` — in one commit,
    /// claimed by this process. Per item, its claim, or `None` when the key
    /// was known (a repeat: nothing to run).
    pub async fn take(
        &self,
        items: &[(String, Arc<str>, Work)],
    ) -> Result<Vec<Option<Claim>>, StorageError> {
        take(self.apps.storage(), items).await
    }

    /// Runs taken work: `app` invoked with `work`'s request, answered late,
    /// settled in its unit.
    pub async fn run(
        self: &Arc<Self>,
        app: &str,
        work: Work,
        claim: Claim,
    ) -> Result<(Arc<AppVersion>, Invocation), CallError> {
        let _running = self.hold(claim.id);
        let hooks = work.hooks(claim);
        self.apps.invoke_with(app, work.request, &hooks).await
    }
}

/// Takes `items` into `storage`'s inbox in one commit, claimed for
/// [`LEASE`] (see [`Inbox::take`]); for callers without an [`Inbox`] (the
/// scheduler), whose work is then taken over like any other.
pub async fn take(
    storage: &Storage,
    items: &[(String, Arc<str>, Work)],
) -> Result<Vec<Option<Claim>>, StorageError> {
    let bodies: Vec<Vec<u8>> = items.iter().map(|(_, _, work)| work.encode()).collect();
    let new: Vec<NewInbound<'_>> = items
        .iter()
        .zip(&bodies)
        .map(|((key, app, _), body)| NewInbound { key, app, body })
        .collect();
    storage.inbox.take(&new, now_ms() as i64, LEASE).await
}

/// Takes over work whose claim ran out, until the inbox is gone: at start,
/// what a previous run of this process left (or replicas that stopped
/// beating) is freed at once; then expired claims are looked for every
/// [`TAKEOVER_EVERY`]. Done work is forgotten after a day.
async fn takeover(inbox: Weak<Inbox>) {
    if let Some(inbox) = inbox.upgrade() {
        match inbox.apps.storage().inbox.release_orphaned().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(items = n, "inbox work of a stopped process released"),
            Err(e) => tracing::warn!(error = %e, "could not release orphaned inbox work"),
        }
    }
    let mut last_prune = tokio::time::Instant::now() - PRUNE_EVERY;
    loop {
        tokio::time::sleep(TAKEOVER_EVERY).await;
        let Some(inbox) = inbox.upgrade() else { return };
        let storage = inbox.apps.storage().clone();
        let skip: Vec<i64> = inbox.running().iter().copied().collect();
        let claimed = match storage
            .inbox
            .claim_expired(now_ms() as i64, LEASE, TAKEOVER_BATCH, &skip)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for inbox work to take over");
                continue;
            }
        };
        for (item, claim) in claimed {
            let work = match Work::decode(&item.body) {
                Ok(work) => work,
                Err(e) => {
                    // Written by a botyard whose request shape differs:
                    // nothing can run it; say so once and settle it.
                    tracing::error!(key = item.key, error = %e, "inbox work cannot be read; dropped");
                    let mut unit = storage.begin();
                    if let Ok(true) = unit.settle_inbound(&claim).await {
                        unit.commit().await.ok();
                    }
                    continue;
                }
            };
            tracing::info!(
                key = item.key,
                app = item.app,
                attempt = claim.token,
                waited_ms = now_ms() as i64 - item.received_ms,
                "taking over inbox work whose claim ran out"
            );
            let inbox = inbox.clone();
            tokio::spawn(async move {
                if let Err(e) = inbox.run(&item.app, work, claim).await {
                    tracing::warn!(app = item.app, error = %e, "inbox work taken over failed");
                }
            });
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            match storage
                .inbox
                .forget_before(now_ms() as i64 - RETENTION_MS)
                .await
            {
                Ok(n) if n > 0 => tracing::debug!(forgotten = n, "pruned done inbox work"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not prune the inbox"),
            }
        }
    }
}

/// Where an invocation's claim on inbox work stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// A command still racing its deadline: taken in only if it loses.
    Waiting,
    Taken(Claim),
    NotTaken,
}

/// The hook that marks inbox work done in the invocation's own unit, or —
/// when the claim was overtaken — refuses the unit, so nothing of this run
/// is kept. Runs after [`LateAnswer`] (which decides the race first).
pub struct Settle {
    race: Race,
    slot: watch::Receiver<Slot>,
    /// The app and request the router made, for taking a late command in.
    routed: Mutex<Option<(Arc<str>, Request)>>,
    /// The delivery's key, recorded done in the unit when the work is
    /// answered on time (a click); `None` for a command, which Slack never
    /// repeats.
    on_time: Option<String>,
    /// Set when recording found the key known: this run repeats a delivery
    /// done elsewhere, and nothing of it was kept.
    repeated: AtomicBool,
}

/// Tells a command's [`Settle`] whether it was taken in at the deadline.
pub struct Taken(watch::Sender<Slot>);

impl Taken {
    pub fn claimed(self, claim: Option<Claim>) {
        self.0
            .send_replace(claim.map_or(Slot::NotTaken, Slot::Taken));
    }
}

impl Settle {
    /// Work already taken in and claimed.
    pub fn taken(claim: Claim) -> Settle {
        let (_, slot) = watch::channel(Slot::Taken(claim));
        Settle {
            race: Race::late(),
            slot,
            routed: Mutex::new(None),
            on_time: None,
            repeated: AtomicBool::new(false),
        }
    }

    /// A command racing `race`: taken in only if the deadline wins.
    pub fn pending(race: Race) -> (Settle, Taken) {
        let (tx, slot) = watch::channel(Slot::Waiting);
        let settle = Settle {
            race,
            slot,
            routed: Mutex::new(None),
            on_time: None,
            repeated: AtomicBool::new(false),
        };
        (settle, Taken(tx))
    }

    /// Also records `key` as done in the unit when the work is answered on
    /// time — for a click, which Slack may deliver again (a Socket Mode
    /// envelope whose acknowledgement was lost). A repeat finds the key and
    /// keeps nothing ([`Settle::repeated`]).
    pub fn recording(mut self, key: String) -> Settle {
        self.on_time = Some(key);
        self
    }

    /// Whether this run repeated a delivery already done (nothing of it was
    /// kept, and nothing should be answered).
    pub fn repeated(&self) -> bool {
        self.repeated.load(Ordering::Acquire)
    }

    /// The app and request the router made, once the app is about to run.
    pub fn routed(&self) -> Option<(Arc<str>, Request)> {
        self.routed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// How long a late command's settle waits for the deadline's commit that
/// takes it in (it is in flight when the answer is ready).
const TAKEN_WAIT: Duration = Duration::from_secs(5);

#[async_trait]
impl Hook for Settle {
    async fn before(&self, call: &Call<'_>) -> Result<(), crate::runtime::hooks::Refusal> {
        if call.request.kind() != Kind::Describe {
            *self.routed.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((call.app.id.clone(), call.request.clone()));
        }
        Ok(())
    }

    async fn after(
        &self,
        call: &Call<'_>,
        _duration: Duration,
        _outcome: &Result<(), String>,
        unit: &mut dyn Unit,
    ) -> Result<(), StorageError> {
        if call.request.kind() == Kind::Describe {
            return Ok(());
        }
        if !self.race.is_late() {
            // Answered on time: nothing was taken in; a click's key is
            // recorded done with the work, in its unit.
            let Some(key) = &self.on_time else {
                return Ok(());
            };
            let item = NewInbound {
                key,
                app: &call.app.id,
                body: &[],
            };
            if unit.record_inbound(item).await? {
                return Ok(());
            }
            self.repeated.store(true, Ordering::Release);
            tracing::info!(
                app = &*call.app.id,
                key = key.as_str(),
                "a repeat of a delivery already done; nothing of this run is kept"
            );
            return Err(StorageError::Repeated);
        }
        let mut slot = self.slot.clone();
        let decided = tokio::time::timeout(TAKEN_WAIT, async move {
            slot.wait_for(|slot| *slot != Slot::Waiting)
                .await
                .map(|slot| *slot)
        })
        .await;
        let claim = match decided {
            Ok(Ok(slot)) => slot,
            _ => Slot::NotTaken,
        };
        match claim {
            Slot::Taken(claim) => {
                if unit.settle_inbound(&claim).await? {
                    Ok(())
                } else {
                    tracing::warn!(
                        app = &*call.app.id,
                        attempt = claim.token,
                        "this work was taken over by another process; nothing of this run is kept"
                    );
                    Err(StorageError::Overtaken)
                }
            }
            Slot::Waiting | Slot::NotTaken => Ok(()),
        }
    }
}
