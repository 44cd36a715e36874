//! The Socket Mode client: Slack pushes commands, interactions and events
//! over WebSockets the host opens, so a host behind a firewall needs no
//! public URL.
//!
//! Each of the 1–10 connections is a *slot* with its own supervisor: it asks
//! `apps.connections.open` for a URL, waits for `hello`, then hands every
//! envelope to the shared [`Dispatcher`] and acknowledges it by
//! `envelope_id`. When Slack announces a `disconnect`, the slot opens the
//! replacement first and only then lets the old socket go, so envelopes keep
//! being read and acknowledged throughout. Errors reconnect with exponential
//! backoff. The app-level token is never logged, nor is the socket URL (its
//! ticket is a credential too).
//!
//! **Replicas share Slack's 10 sockets.** Slack refuses an app's eleventh
//! socket however many processes open them, so on a cluster backend
//! ([`SlotStore::shared`]) slots are leased from the database
//! ([`SocketMode::start_with_slots`]): a lease keeper asks for
//! `connections` slots, runs a slot supervisor for each slot it holds,
//! renews the leases every third of how long they may be counted on (and
//! asks again for what it lacks, so the slots of a replica that stopped are
//! picked up), closes a slot's socket as soon as its lease can no longer
//! be counted on (the database unreachable), and releases everything on
//! shutdown. Nine slots are steady; the tenth is the spare a slot borrows
//! while it replaces its socket: the replacement opens before the old one
//! closes only with the spare in hand, so the two sockets never make an
//! eleventh. A slot that cannot have the spare (another replica is
//! refreshing) keeps serving the old socket and tries again, and if Slack
//! closes the old socket first, reconnects in its own slot. One machine
//! (SQLite) shares nothing: every slot is its own, as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::Instrument;

use super::dispatch::{Ack, DispatchError, Dispatcher};
use super::payload::{EventBody, Interaction, SlashCommand};
use crate::storage::SlotStore;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Slack allows at most 10 Socket Mode connections per app.
pub const MAX_CONNECTIONS: usize = 10;

/// How the client connects. The app token is redacted from `Debug`.
#[derive(Clone)]
pub struct SocketModeConfig {
    /// The Web API base, ending in `/`: `https://slack.com/api/`.
    pub api_base: String,
    /// The app-level token (`xapp-…`, scope `connections:write`).
    pub app_token: String,
    /// Sockets kept open at once (1–10); more spread load and survive one
    /// socket's refresh without any pause.
    pub connections: usize,
    /// First wait before reconnecting after a failure; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How long `apps.connections.open`, the WebSocket handshake and `hello` may take.
    pub connect_timeout: Duration,
    /// A WebSocket ping is sent after this much silence; a socket silent for
    /// three times as long is considered dead and replaced.
    pub ping_interval: Duration,
    /// How long a socket being replaced or shut down may take to finish the
    /// envelopes it is handling and to be closed by Slack.
    pub retire_timeout: Duration,
    /// How long a slot lease lasts unless renewed, when slots are shared
    /// ([`SocketMode::start_with_slots`]): the longest a stopped replica's
    /// slots wait for another replica (its heartbeat lapsing frees them
    /// sooner). Renewed about every third of it.
    pub slot_lease: Duration,
}

impl SocketModeConfig {
    /// Defaults for everything but where to connect and with what.
    pub fn new(api_base: impl Into<String>, app_token: impl Into<String>) -> Self {
        SocketModeConfig {
            api_base: api_base.into(),
            app_token: app_token.into(),
            connections: 1,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(10),
            retire_timeout: Duration::from_secs(10),
            slot_lease: Duration::from_secs(15),
        }
    }
}

impl std::fmt::Debug for SocketModeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketModeConfig")
            .field("api_base", &self.api_base)
            .field("app_token", &"<redacted>")
            .field("connections", &self.connections)
            .field("backoff_min", &self.backoff_min)
            .field("backoff_max", &self.backoff_max)
            .field("connect_timeout", &self.connect_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("retire_timeout", &self.retire_timeout)
            .field("slot_lease", &self.slot_lease)
            .finish()
    }
}

/// Why Socket Mode could not start, or why one connection attempt failed.
#[derive(Debug, Error)]
pub enum SocketModeError {
    #[error("Socket Mode takes 1 to {MAX_CONNECTIONS} connections; got {0}")]
    BadConnectionCount(usize),
    #[error(
        "the Socket Mode token must be an app-level token (`xapp-…`, Slack app settings → Basic Information → App-Level Tokens, scope connections:write)"
    )]
    NotAnAppToken,
    #[error("calling apps.connections.open: {0}")]
    Http(#[from] reqwest::Error),
    #[error("apps.connections.open refused: {0}")]
    Api(String),
    #[error("connecting the WebSocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    #[error("no `hello` from Slack: {0}")]
    NoHello(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// A running Socket Mode client. Dropping it stops every connection (they
/// close in the background); [`SocketMode::shutdown`] waits for that.
pub struct SocketMode {
    stop: watch::Sender<bool>,
    slots: Vec<JoinHandle<()>>,
    open: Arc<AtomicUsize>,
}

impl SocketMode {
    /// Starts `config.connections` connections, each reconnecting on its own
    /// until shut down. Must be called inside a tokio runtime.
    pub fn start(
        config: SocketModeConfig,
        dispatcher: Dispatcher,
    ) -> Result<SocketMode, SocketModeError> {
        Self::start_inner(config, dispatcher, None)
    }

    /// Like [`SocketMode::start`], but connecting only on the slots this
    /// replica leases from `slots`, so that all the replicas sharing them
    /// never hold more than Slack's 10 sockets (see the module's doc). A
    /// store that is not shared (SQLite: one machine) changes nothing.
    pub fn start_with_slots(
        config: SocketModeConfig,
        dispatcher: Dispatcher,
        slots: Arc<dyn SlotStore>,
    ) -> Result<SocketMode, SocketModeError> {
        let slots = slots.shared().then_some(slots);
        Self::start_inner(config, dispatcher, slots)
    }

    fn start_inner(
        config: SocketModeConfig,
        dispatcher: Dispatcher,
        leased: Option<Arc<dyn SlotStore>>,
    ) -> Result<SocketMode, SocketModeError> {
        if !(1..=MAX_CONNECTIONS).contains(&config.connections) {
            return Err(SocketModeError::BadConnectionCount(config.connections));
        }
        if !config.app_token.starts_with("xapp-") {
            return Err(SocketModeError::NotAnAppToken);
        }
        let http = reqwest::Client::builder()
            .timeout(config.connect_timeout)
            .build()?;
        let (stop, stopped) = watch::channel(false);
        let open = Arc::new(AtomicUsize::new(0));
        let spare = leased.as_ref().map(|store| Spare {
            store: store.clone(),
            local: Arc::new(tokio::sync::Mutex::new(())),
            // Long enough for the replacement to connect and the old socket
            // to retire (and its backstop), with room to spare.
            lease: config.connect_timeout + config.retire_timeout + Duration::from_secs(5),
        });
        let shared = Arc::new(Shared {
            config,
            dispatcher,
            http,
            open: open.clone(),
            spare,
        });
        let slots = match leased {
            None => (0..shared.config.connections)
                .map(|slot| spawn_slot(&shared, slot as u32, stopped.clone()))
                .collect(),
            Some(store) => vec![tokio::spawn(
                run_leases(shared, store, stopped).instrument(tracing::info_span!("socket_mode")),
            )],
        };
        Ok(SocketMode { stop, slots, open })
    }

    /// Sockets that got `hello` and are not yet closed (a slot briefly holds
    /// two while it replaces one).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The live count behind [`SocketMode::open_connections`], for whoever
    /// reports readiness (`/readyz`, see
    /// [`crate::inbound::ops::Readiness::slack_sockets`]).
    pub fn open_counter(&self) -> Arc<AtomicUsize> {
        self.open.clone()
    }

    /// Stops taking envelopes, lets those being handled be acknowledged,
    /// closes every socket and waits for all of it.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for slot in std::mem::take(&mut self.slots) {
            let _ = slot.await;
        }
    }

    /// Stops at once, as a killed process would: every socket is dropped
    /// without waiting for envelopes in flight (Slack redelivers them), and
    /// leased slots are not released — they wait for their lease to run out
    /// or for this replica's heartbeat to lapse. For tests of what the
    /// other replicas do; [`SocketMode::shutdown`] is the way to stop.
    pub fn abort(mut self) {
        for slot in std::mem::take(&mut self.slots) {
            slot.abort();
        }
    }
}

impl Drop for SocketMode {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct Shared {
    config: SocketModeConfig,
    dispatcher: Dispatcher,
    http: reqwest::Client,
    open: Arc<AtomicUsize>,
    /// The spare slot a refresh borrows, when slots are shared.
    spare: Option<Spare>,
}

/// The cluster's spare slot (see the module's doc), and the local lock
/// that lets one slot of this process borrow it at a time.
struct Spare {
    store: Arc<dyn SlotStore>,
    local: Arc<tokio::sync::Mutex<()>>,
    lease: Duration,
}

/// The spare slot, held; [`SpareHeld::release`] gives it back.
struct SpareHeld {
    store: Arc<dyn SlotStore>,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

impl SpareHeld {
    async fn release(self) {
        if let Err(error) = self.store.release_spare().await {
            tracing::warn!(%error, "could not give the spare Socket Mode slot back; its lease will run out");
        }
    }
}

/// How long before a lease can no longer be counted on its slot's socket is
/// closed: enough for a quick close to finish (and its backstop).
const LOST_MARGIN: Duration = Duration::from_secs(2);

/// A running slot supervisor, as the lease keeper holds it.
struct SlotTask {
    stop: watch::Sender<bool>,
    /// Set before stopping when the lease is lost: close without waiting.
    hurry: Arc<std::sync::atomic::AtomicBool>,
    task: JoinHandle<()>,
}

/// Starts a slot supervisor that runs until `stopped` says stop (or its
/// sender is gone).
fn spawn_slot(shared: &Arc<Shared>, slot: u32, stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    spawn_slot_hurried(shared, slot, stopped, Default::default())
}

fn spawn_slot_hurried(
    shared: &Arc<Shared>,
    slot: u32,
    stopped: watch::Receiver<bool>,
    hurry: Arc<std::sync::atomic::AtomicBool>,
) -> JoinHandle<()> {
    tokio::spawn(
        run_slot(shared.clone(), stopped, hurry)
            .instrument(tracing::info_span!("socket_mode", slot)),
    )
}

/// A leased slot's supervisor, as the lease keeper runs it.
fn spawn_leased(shared: &Arc<Shared>, slot: u32) -> SlotTask {
    let (stop, stopped) = watch::channel(false);
    let hurry = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let task = spawn_slot_hurried(shared, slot, stopped, hurry.clone());
    SlotTask { stop, hurry, task }
}

impl SlotTask {
    /// Tells the slot to stop; `lost`: close its sockets without waiting.
    fn stop(&self, lost: bool) {
        self.hurry.store(lost, Ordering::Relaxed);
        let _ = self.stop.send(true);
    }
}

/// Keeps `connections` slots leased from `store` (as many as it can),
/// running a slot supervisor on each slot held, until stopped; then stops
/// them and gives the slots back.
async fn run_leases(
    shared: Arc<Shared>,
    store: Arc<dyn SlotStore>,
    mut stopped: watch::Receiver<bool>,
) {
    let want = shared.config.connections as u32;
    let lease = shared.config.slot_lease.max(LOST_MARGIN * 3);
    if want > store.capacity() {
        tracing::warn!(
            want,
            capacity = store.capacity(),
            "[slack] connections asks for more Socket Mode slots than a cluster shares (one of \
             Slack's 10 is kept for refreshes); lower it"
        );
    }
    let mut running: std::collections::BTreeMap<u32, SlotTask> = Default::default();
    // Slots told to stop whose sockets may still be closing: a slot is not
    // connected again until its previous supervisor is done, so it never
    // holds two sockets outside a refresh.
    let mut closing: Vec<(u32, JoinHandle<()>)> = Vec::new();
    let mut valid_until: Option<tokio::time::Instant> = None;
    let mut failing = false;
    let mut held_before = usize::MAX;
    loop {
        let asked = tokio::time::Instant::now();
        let attempt = tokio::time::timeout(lease / 3, store.lease_slots(want, lease));
        let Some(result) = until_stopped(&mut stopped, attempt).await else {
            break;
        };
        let mut renew_in = (lease / 3).min(Duration::from_secs(1));
        match result {
            Ok(Ok(grant)) if grant.valid_for > LOST_MARGIN * 2 => {
                if failing {
                    tracing::info!("Socket Mode slot leases renewed again");
                    failing = false;
                }
                valid_until = Some(asked + grant.valid_for - LOST_MARGIN);
                renew_in = grant.valid_for / 3;
                for slot in running.keys().copied().collect::<Vec<_>>() {
                    let finished = running[&slot].task.is_finished();
                    if finished || !grant.slots.contains(&slot) {
                        let task = running.remove(&slot).expect("listed");
                        task.stop(true);
                        closing.push((slot, task.task));
                    }
                }
                closing.retain(|(_, task)| !task.is_finished());
                for &slot in &grant.slots {
                    if !running.contains_key(&slot) && !closing.iter().any(|(s, _)| *s == slot) {
                        running.insert(slot, spawn_leased(&shared, slot));
                    }
                }
                if grant.slots.len() != held_before {
                    held_before = grant.slots.len();
                    if grant.slots.len() < want as usize {
                        tracing::warn!(
                            held = ?grant.slots,
                            want,
                            "holding fewer Socket Mode slots than [slack] connections asks: the \
                             other replicas hold the rest of Slack's 10; asking again as they free up"
                        );
                    } else {
                        tracing::info!(held = ?grant.slots, "Socket Mode slots leased");
                    }
                }
            }
            Ok(Ok(grant)) => {
                tracing::warn!(
                    valid_for_ms = grant.valid_for.as_millis() as u64,
                    "Socket Mode slot leases granted too briefly to count on (is this replica's \
                     heartbeat failing?); trying again"
                );
            }
            Ok(Err(error)) => {
                if !failing {
                    tracing::warn!(%error, "renewing Socket Mode slot leases failed; their sockets close if it keeps failing until the leases run out");
                }
                failing = true;
            }
            Err(_) => {
                if !failing {
                    tracing::warn!(
                        "renewing Socket Mode slot leases timed out; their sockets close if it keeps failing until the leases run out"
                    );
                }
                failing = true;
            }
        }
        let lost_at = valid_until.filter(|_| !running.is_empty());
        let lost = tokio::select! {
            _ = stop_signal(&mut stopped) => break,
            () = tokio::time::sleep(renew_in) => false,
            () = tokio::time::sleep_until(lost_at.unwrap_or_else(tokio::time::Instant::now)),
                if lost_at.is_some() => true,
        };
        if lost || valid_until.is_some_and(|until| until <= tokio::time::Instant::now()) {
            if !running.is_empty() {
                tracing::error!(
                    slots = ?running.keys().collect::<Vec<_>>(),
                    "Socket Mode slot leases could not be renewed in time; closing their sockets \
                     so another replica may take them (check that the database is reachable)"
                );
            }
            for (slot, task) in std::mem::take(&mut running) {
                task.stop(true);
                closing.push((slot, task.task));
            }
            valid_until = None;
            held_before = usize::MAX;
        }
    }
    for task in running.values() {
        task.stop(false);
    }
    for task in running
        .into_values()
        .map(|task| task.task)
        .chain(closing.into_iter().map(|(_, task)| task))
    {
        let _ = task.await;
    }
    match tokio::time::timeout(Duration::from_secs(5), store.release_slots()).await {
        Ok(Ok(())) => tracing::info!("Socket Mode slots released"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "could not release the Socket Mode slots; they free up when their leases run out")
        }
        Err(_) => tracing::warn!(
            "releasing the Socket Mode slots timed out; they free up when their leases run out"
        ),
    }
}

/// A slot's consecutive failures, paced by the shared backoff with jitter,
/// so many hosts (or connections) do not reconnect in step.
struct Backoff {
    pacing: crate::contract::retry::Backoff,
    failures: u32,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            pacing: crate::contract::retry::Backoff::new(min, max).with_jitter(),
            failures: 0,
        }
    }

    fn reset(&mut self) {
        self.failures = 0;
    }

    fn next(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.pacing.delay(self.failures)
    }
}

/// Resolves once the client is told to stop (or its handle is gone).
async fn stop_signal(stopped: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here.
    let _ = stopped.wait_for(|stop| *stop).await.map(|_| ());
}

/// Runs `work` unless the client is stopped first (`None`).
async fn until_stopped<T>(
    stopped: &mut watch::Receiver<bool>,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        _ = stop_signal(stopped) => None,
        out = work => Some(out),
    }
}

/// Connects, retrying with backoff, until connected (`Some`) or stopped.
async fn connect_with_retry(
    shared: &Arc<Shared>,
    stopped: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
) -> Option<Connection> {
    loop {
        match until_stopped(stopped, connect(shared)).await? {
            Ok(connection) => {
                backoff.reset();
                return Some(connection);
            }
            Err(e) => {
                let wait = backoff.next();
                tracing::warn!(
                    error = %e,
                    retry_in_ms = wait.as_millis() as u64,
                    "Socket Mode connection failed"
                );
                until_stopped(stopped, tokio::time::sleep(wait)).await?;
            }
        }
    }
}

/// Keeps one connection open until told to stop, replacing it when Slack
/// asks and reconnecting when it fails.
/// `hurry`, set when the slot's lease is lost, makes stopping close the
/// socket without waiting for envelopes in flight.
async fn run_slot(
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
    hurry: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut backoff = Backoff::new(shared.config.backoff_min, shared.config.backoff_max);
    let retire_timeout = shared.config.retire_timeout;
    let stop_timeout = || {
        if hurry.load(Ordering::Relaxed) {
            Duration::ZERO
        } else {
            retire_timeout
        }
    };
    let Some(mut current) = connect_with_retry(&shared, &mut stopped, &mut backoff).await else {
        return;
    };
    loop {
        let event = tokio::select! {
            _ = stop_signal(&mut stopped) => {
                current.retire(Retire::Shutdown, stop_timeout()).await;
                return;
            }
            event = current.events.recv() => event,
        };
        match event {
            Some(ConnectionEvent::Disconnect(reason)) => {
                // With shared slots, two sockets at once need the spare.
                let spare = match &shared.spare {
                    None => None,
                    Some(spare) => match borrow_spare(spare, &mut current, &mut stopped).await {
                        Borrowed::Spare(held) => Some(held),
                        Borrowed::OldClosed(why) => {
                            tracing::info!(
                                connection = current.id,
                                why,
                                "Slack closed the socket before the spare slot was free; \
                                 reconnecting in this slot"
                            );
                            let Some(next) =
                                connect_with_retry(&shared, &mut stopped, &mut backoff).await
                            else {
                                return;
                            };
                            current = next;
                            continue;
                        }
                        Borrowed::Stopped => {
                            current.retire(Retire::Shutdown, stop_timeout()).await;
                            return;
                        }
                    },
                };
                tracing::info!(
                    reason,
                    connection = current.id,
                    "Slack asked to reconnect; opening the replacement first"
                );
                let Some(replacement) =
                    connect_with_retry(&shared, &mut stopped, &mut backoff).await
                else {
                    current.retire(Retire::Shutdown, stop_timeout()).await;
                    if let Some(held) = spare {
                        held.release().await;
                    }
                    return;
                };
                let old = std::mem::replace(&mut current, replacement);
                tokio::spawn(
                    async move {
                        old.retire(Retire::Replaced, retire_timeout).await;
                        // Only once the old socket is gone: one slot, one socket again.
                        if let Some(held) = spare {
                            held.release().await;
                        }
                    }
                    .in_current_span(),
                );
            }
            Some(ConnectionEvent::Closed(why)) => {
                tracing::warn!(
                    connection = current.id,
                    why,
                    "Socket Mode connection lost; reconnecting"
                );
                let wait = backoff.next();
                if until_stopped(&mut stopped, tokio::time::sleep(wait))
                    .await
                    .is_none()
                {
                    return;
                }
                let Some(next) = connect_with_retry(&shared, &mut stopped, &mut backoff).await
                else {
                    return;
                };
                current = next;
            }
            None => {
                // The task ended without a word: it was aborted or panicked.
                tracing::error!(
                    connection = current.id,
                    "Socket Mode connection task ended; reconnecting"
                );
                let Some(next) = connect_with_retry(&shared, &mut stopped, &mut backoff).await
                else {
                    return;
                };
                current = next;
            }
        }
    }
}

/// How waiting for the spare slot ended.
enum Borrowed {
    Spare(SpareHeld),
    /// The socket being replaced closed first (why, for the log).
    OldClosed(String),
    Stopped,
}

/// How often a slot that wants the spare asks for it again.
const SPARE_RETRY: Duration = Duration::from_millis(200);

/// Borrows the spare slot for a refresh, asking until it is free, while
/// `current` keeps serving; gives up when `current` closes (Slack no
/// longer counts it, so no spare is needed) or the slot is stopped. The
/// database is never raced against those: a lease granted is always seen,
/// so it is given back.
async fn borrow_spare(
    spare: &Spare,
    current: &mut Connection,
    stopped: &mut watch::Receiver<bool>,
) -> Borrowed {
    let mut waiting_logged = false;
    loop {
        // One slot of this process borrows it at a time.
        let local = tokio::select! {
            _ = stop_signal(stopped) => return Borrowed::Stopped,
            event = current.events.recv() => match event {
                Some(ConnectionEvent::Closed(why)) => return Borrowed::OldClosed(why),
                None => return Borrowed::OldClosed("its task ended".into()),
                // Asked again: still waiting.
                Some(ConnectionEvent::Disconnect(_)) => continue,
            },
            local = spare.local.clone().lock_owned() => local,
        };
        match spare.store.lease_spare(spare.lease).await {
            Ok(Some(_)) => {
                return Borrowed::Spare(SpareHeld {
                    store: spare.store.clone(),
                    _local: local,
                });
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "could not lease the spare Socket Mode slot; trying again");
            }
        }
        drop(local);
        if !waiting_logged {
            waiting_logged = true;
            tracing::info!(
                connection = current.id,
                "Slack asked to reconnect; waiting for the spare slot (another replica is \
                 refreshing) while this socket keeps serving"
            );
        }
        tokio::select! {
            _ = stop_signal(stopped) => return Borrowed::Stopped,
            event = current.events.recv() => match event {
                Some(ConnectionEvent::Closed(why)) => return Borrowed::OldClosed(why),
                None => return Borrowed::OldClosed("its task ended".into()),
                Some(ConnectionEvent::Disconnect(_)) => {}
            },
            () = tokio::time::sleep(SPARE_RETRY) => {}
        }
    }
}

/// What a connection tells its slot.
#[derive(Debug)]
enum ConnectionEvent {
    /// Slack sent `disconnect` with this reason: replace the connection.
    Disconnect(String),
    /// The socket is gone (why, for the log).
    Closed(String),
}

/// Why a connection is being let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retire {
    /// A replacement is up: keep acknowledging until Slack closes this
    /// socket (whatever Slack sent on it before closing is read first), or
    /// close it ourselves once idle at the timeout.
    Replaced,
    /// The client is stopping: close as soon as in-flight envelopes are acked.
    Shutdown,
}

/// One open socket, served by its own task.
struct Connection {
    id: u64,
    events: mpsc::UnboundedReceiver<ConnectionEvent>,
    retire: Option<tokio::sync::oneshot::Sender<Retire>>,
    task: JoinHandle<()>,
}

impl Connection {
    /// Lets the socket finish and close, waiting at most about `timeout`.
    async fn retire(mut self, how: Retire, timeout: Duration) {
        if let Some(tx) = self.retire.take() {
            let _ = tx.send(how);
        }
        // The task bounds itself by `timeout`; this is a backstop.
        let backstop = timeout + Duration::from_secs(2);
        if tokio::time::timeout(backstop, &mut self.task)
            .await
            .is_err()
        {
            tracing::warn!(
                connection = self.id,
                "a retiring socket did not close in time; dropped"
            );
            self.task.abort();
        }
    }
}

/// Counts a socket as open for as long as its task lives.
struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(open.clone())
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

static NEXT_CONNECTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Deserialize)]
struct OpenResponse {
    ok: bool,
    url: Option<String>,
    error: Option<String>,
}

/// Asks Slack for a fresh WebSocket URL (each is good for one connection).
async fn open_url(shared: &Shared) -> Result<String, SocketModeError> {
    let base = &shared.config.api_base;
    let sep = if base.ends_with('/') { "" } else { "/" };
    let response: OpenResponse = shared
        .http
        .post(format!("{base}{sep}apps.connections.open"))
        .bearer_auth(&shared.config.app_token)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    match (response.ok, response.url) {
        (true, Some(url)) => Ok(url),
        (_, _) => Err(SocketModeError::Api(
            response
                .error
                .unwrap_or_else(|| "no url in the answer".into()),
        )),
    }
}

/// Opens a socket, waits for `hello`, and starts serving it.
async fn connect(shared: &Arc<Shared>) -> Result<Connection, SocketModeError> {
    let limit = shared.config.connect_timeout;
    let (socket, early) = tokio::time::timeout(limit, async {
        let url = open_url(shared).await?;
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(Box::new)?;
        // Slack sends `hello` first; anything before it is kept, not lost.
        let mut early = Vec::new();
        loop {
            match socket.next().await {
                Some(Ok(WsMessage::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                    if value["type"] == "hello" {
                        tracing::debug!(
                            num_connections = value["num_connections"].as_u64(),
                            host = value["debug_info"]["host"].as_str(),
                            "hello"
                        );
                        return Ok((socket, early));
                    }
                    early.push(text.to_string());
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    return Err(SocketModeError::NoHello(format!(
                        "closed before hello: {frame:?}"
                    )));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(Box::new(e).into()),
                None => return Err(SocketModeError::NoHello("socket ended".into())),
            }
        }
    })
    .await
    .map_err(|_| SocketModeError::Timeout(limit))??;
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let (events_tx, events) = mpsc::unbounded_channel();
    let (retire_tx, retire_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(
        serve(shared.clone(), socket, early, events_tx, retire_rx)
            .instrument(tracing::info_span!("socket", connection = id)),
    );
    tracing::info!(connection = id, "Socket Mode connection open");
    Ok(Connection {
        id,
        events,
        retire: Some(retire_tx),
        task,
    })
}

/// An envelope or control message as Slack sends it. Public, with
/// [`parse_envelope`] and [`ack_text`], so the fuzz targets
/// (`crate::fuzzing`) reach what a socket's text frames go through.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    pub envelope_id: Option<String>,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    pub accepts_response_payload: bool,
    #[serde(default)]
    pub retry_attempt: Option<u32>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Reads one text frame as an [`Envelope`].
pub fn parse_envelope(text: &str) -> serde_json::Result<Envelope> {
    serde_json::from_str(text)
}

/// Reads one socket: envelopes go to the dispatcher in their own tasks,
/// their acks come back here to be written. Ends when the socket closes,
/// fails, goes silent, or is retired and done.
async fn serve(
    shared: Arc<Shared>,
    socket: Socket,
    early: Vec<String>,
    events: mpsc::UnboundedSender<ConnectionEvent>,
    mut retire_rx: tokio::sync::oneshot::Receiver<Retire>,
) {
    let _open = OpenGuard::new(&shared.open);
    let (mut sink, mut stream) = socket.split();
    let (acks_tx, mut acks) = mpsc::unbounded_channel::<Option<String>>();
    let mut in_flight = 0usize;
    let mut retiring: Option<(Retire, tokio::time::Instant)> = None;
    let ping_every = shared.config.ping_interval;
    let mut ping = tokio::time::interval(ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();

    for text in early {
        on_text(&shared, &text, &events, &acks_tx, &mut in_flight);
    }

    let why: String = loop {
        // A retiring socket closes itself once idle: at once on shutdown,
        // at the deadline when replaced (Slack normally closes it first).
        if let Some((how, deadline)) = retiring {
            let now = tokio::time::Instant::now();
            let idle = in_flight == 0;
            if (idle && (how == Retire::Shutdown || now >= deadline))
                || now >= deadline + Duration::from_secs(1)
            {
                if !idle {
                    tracing::warn!(
                        in_flight,
                        "closing with envelopes unacknowledged; Slack will redeliver them"
                    );
                }
                let _ = sink.send(WsMessage::Close(None)).await;
                // Let the close handshake finish, briefly.
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    while let Some(Ok(_)) = stream.next().await {}
                })
                .await;
                break "closed by us".into();
            }
        }
        let wake = retiring.map_or_else(
            || tokio::time::Instant::now() + Duration::from_secs(3600),
            |(_, deadline)| deadline,
        );
        tokio::select! {
            message = stream.next() => {
                last_heard = Instant::now();
                match message {
                    Some(Ok(WsMessage::Text(text))) => {
                        on_text(&shared, text.as_str(), &events, &acks_tx, &mut in_flight);
                    }
                    Some(Ok(WsMessage::Close(frame))) => {
                        break format!("closed by Slack: {frame:?}");
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break format!("socket error: {e}"),
                    None => break "socket ended".into(),
                }
            }
            Some(ack) = acks.recv() => {
                in_flight -= 1;
                if let Some(ack) = ack
                    && let Err(e) = sink.send(WsMessage::text(ack)).await
                {
                    break format!("sending an ack failed: {e}");
                }
            }
            how = &mut retire_rx, if retiring.is_none() => {
                // A dropped Connection means nobody wants this socket either.
                let how = how.unwrap_or(Retire::Shutdown);
                retiring = Some((how, tokio::time::Instant::now() + shared.config.retire_timeout));
            }
            _ = ping.tick() => {
                let silent = last_heard.elapsed();
                if silent >= ping_every * 3 {
                    break format!("silent for {silent:?}");
                }
                if silent >= ping_every
                    && let Err(e) = sink.send(WsMessage::Ping(Default::default())).await
                {
                    break format!("ping failed: {e}");
                }
            }
            _ = tokio::time::sleep_until(wake), if retiring.is_some() => {}
        }
    };
    if in_flight > 0 {
        tracing::warn!(
            in_flight,
            "socket gone with envelopes unacknowledged; Slack will redeliver them"
        );
    }
    tracing::info!(why, "Socket Mode connection closed");
    if retiring.is_none() {
        let _ = events.send(ConnectionEvent::Closed(why));
    }
}

/// Handles one text frame: an envelope starts a dispatch task, `disconnect`
/// is passed to the slot.
fn on_text(
    shared: &Arc<Shared>,
    text: &str,
    events: &mpsc::UnboundedSender<ConnectionEvent>,
    acks: &mpsc::UnboundedSender<Option<String>>,
    in_flight: &mut usize,
) {
    let envelope = match parse_envelope(text) {
        Ok(envelope) => envelope,
        Err(e) => {
            tracing::warn!(error = %e, "Socket Mode message is not an envelope; ignored");
            return;
        }
    };
    match (envelope.kind.as_str(), envelope.envelope_id.clone()) {
        ("disconnect", _) => {
            let reason = envelope.reason.unwrap_or_else(|| "unknown".into());
            let _ = events.send(ConnectionEvent::Disconnect(reason));
        }
        ("hello", _) => {}
        (_, Some(envelope_id)) => {
            *in_flight += 1;
            let slot = AckSlot {
                tx: acks.clone(),
                sent: false,
            };
            let dispatcher = shared.dispatcher.clone();
            let span = tracing::info_span!(
                "envelope",
                kind = %envelope.kind,
                envelope_id = %envelope_id,
            );
            tokio::spawn(
                async move {
                    let ack = answer(&dispatcher, envelope, &envelope_id).await;
                    slot.send(ack);
                }
                .instrument(span),
            );
        }
        (other, None) => tracing::debug!(kind = other, "Socket Mode message ignored"),
    }
}

/// Hands an ack (or "no ack") back to the socket exactly once, even if the
/// dispatch task panics, so the socket's in-flight count stays right.
struct AckSlot {
    tx: mpsc::UnboundedSender<Option<String>>,
    sent: bool,
}

impl AckSlot {
    fn send(mut self, ack: Option<String>) {
        self.sent = true;
        let _ = self.tx.send(ack);
    }
}

impl Drop for AckSlot {
    fn drop(&mut self) {
        if !self.sent {
            let _ = self.tx.send(None);
        }
    }
}

/// Dispatches an envelope and builds its ack; `None` leaves it unacked so
/// Slack redelivers it (the storage was unavailable, as HTTP's 500).
async fn answer(dispatcher: &Dispatcher, envelope: Envelope, envelope_id: &str) -> Option<String> {
    let result = match envelope.kind.as_str() {
        "slash_commands" => match SlashCommand::from_json(envelope.payload) {
            Ok(command) => Ok(dispatcher.command(command).await),
            Err(malformed) => Err(malformed.into()),
        },
        "interactive" => match Interaction::parse(&envelope.payload) {
            Ok(interaction) => dispatcher.interaction(interaction).await,
            Err(malformed) => Err(malformed.into()),
        },
        "events_api" => {
            let retry = envelope.retry_attempt.filter(|n| *n > 0);
            match EventBody::parse(&envelope.payload) {
                Ok(body) => dispatcher.event(body, retry).await,
                Err(malformed) => Err(malformed.into()),
            }
        }
        other => {
            tracing::debug!(kind = other, "envelope type not handled; acknowledged");
            Ok(Ack::Empty)
        }
    };
    let ack = match result {
        Ok(ack) => ack,
        Err(DispatchError::Malformed(what)) => {
            // Redelivering would not make it well-formed.
            tracing::warn!(what, "malformed envelope acknowledged and dropped");
            Ack::Empty
        }
        Err(e @ DispatchError::Storage(_)) => {
            tracing::error!(error = %e, "envelope left unacknowledged; Slack will redeliver it");
            return None;
        }
    };
    Some(ack_text(
        envelope_id,
        envelope.accepts_response_payload,
        ack,
    ))
}

/// `{"envelope_id"}`, with the answer as `payload` where Slack takes one.
pub fn ack_text(envelope_id: &str, accepts_response_payload: bool, ack: Ack) -> String {
    let mut message = json!({ "envelope_id": envelope_id });
    match ack {
        Ack::Json(body) if accepts_response_payload => message["payload"] = body,
        Ack::Json(_) => {
            tracing::warn!("an answer was dropped: this envelope takes no response payload");
        }
        Ack::Empty => {}
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_carry_a_payload_only_where_slack_takes_one() {
        let body = json!({"text": "hi"});
        let with: Value =
            serde_json::from_str(&ack_text("e1", true, Ack::Json(body.clone()))).unwrap();
        assert_eq!(with, json!({"envelope_id": "e1", "payload": body}));
        let without: Value = serde_json::from_str(&ack_text("e2", false, Ack::Json(body))).unwrap();
        assert_eq!(without, json!({"envelope_id": "e2"}));
        let empty: Value = serde_json::from_str(&ack_text("e3", true, Ack::Empty)).unwrap();
        assert_eq!(empty, json!({"envelope_id": "e3"}));
    }

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let first = b.next();
        assert!(first >= Duration::from_millis(75) && first <= Duration::from_millis(125));
        b.next();
        b.next();
        let capped = b.next();
        assert!(capped <= Duration::from_millis(500), "{capped:?}");
        assert!(capped >= Duration::from_millis(300), "{capped:?}");
        b.reset();
        assert!(b.next() <= Duration::from_millis(125));
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let config = SocketModeConfig::new("http://x/api/", "xapp-secret-token");
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[tokio::test]
    async fn refuses_bad_settings_before_connecting() {
        let runtime = test_dispatcher();
        let mut config = SocketModeConfig::new("http://127.0.0.1:9/api/", "xapp-1");
        config.connections = 11;
        assert!(matches!(
            SocketMode::start(config.clone(), runtime.clone()),
            Err(SocketModeError::BadConnectionCount(11))
        ));
        config.connections = 0;
        assert!(SocketMode::start(config.clone(), runtime.clone()).is_err());
        config.connections = 1;
        config.app_token = "xoxb-bot".into();
        assert!(matches!(
            SocketMode::start(config, runtime),
            Err(SocketModeError::NotAnAppToken)
        ));
    }

    fn test_dispatcher() -> Dispatcher {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let config = crate::config::Config::parse("", dir, &dir.join("apps")).unwrap();
        let services = crate::capabilities::Services {
            storage: crate::storage::Storage::open(&dir.join("botyard.db")).unwrap(),
            logs: Default::default(),
            delivery: crate::storage::OutboxStatus::Local,
            slack_api: Default::default(),
            quotas: Default::default(),
            clock: Default::default(),
        };
        let runtime = crate::runtime::Runtime::new(services, dir.join("cache"));
        let apps = Arc::new(crate::routing::Apps::new(runtime, config, dir));
        Dispatcher::new(apps, Duration::from_secs(2), Duration::from_secs(2))
    }
}
