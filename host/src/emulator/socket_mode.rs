//! The Slack side of Socket Mode: the WebSocket `apps.connections.open`
//! hands out, `hello`, envelopes awaiting their ack, redelivery of whatever
//! was unacked when a socket went away, Events API retries of envelopes not
//! acked in time, `disconnect` messages, and Slack's limit of 10 concurrent
//! connections per app. Each envelope goes to an open connection drawn at
//! random, as Slack spreads them over an app's connections.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::outbound::{Endpoint, Transport};
use super::truth::{Failure, Sending, Truth};
use super::{Emulator, EmulatorError, Shared};

pub fn router() -> Router<Arc<Shared>> {
    Router::new().route("/link/", get(link))
}

/// Why Slack closes a socket; the string is the `reason` it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// Routine refresh: open a new connection, then let this one go.
    RefreshRequested,
    /// The connection closes in a few seconds.
    Warning,
    /// Socket Mode was turned off for the app.
    LinkDisabled,
    /// The app already has as many connections as Slack allows (10); sent
    /// instead of `hello` on the connection that would exceed them.
    TooManyWebsockets,
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::RefreshRequested => "refresh_requested",
            DisconnectReason::Warning => "warning",
            DisconnectReason::LinkDisabled => "link_disabled",
            DisconnectReason::TooManyWebsockets => "too_many_websockets",
        }
    }
}

/// Counters that let a test prove no envelope was lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketStats {
    /// Sockets that completed the handshake and got `hello`.
    pub connections_opened: u64,
    pub open_connections: usize,
    /// Envelope sends, redeliveries included.
    pub delivered: u64,
    /// Sends that repeated an envelope after its socket went away.
    pub redelivered: u64,
    /// Distinct envelopes acknowledged.
    pub acked: u64,
    /// Envelopes sent (or queued) and not yet acknowledged.
    pub pending: usize,
    /// Acks naming an envelope the emulator was not waiting for.
    pub unknown_acks: u64,
    /// Acks of envelopes Slack had already given up on (too late to count).
    pub late_acks: u64,
    /// Events API envelopes sent as a retry of an event whose earlier
    /// envelope was not acked in time (`retry_attempt` > 0, new envelope id).
    pub retries: u64,
    /// The most connections open at once, ever: a cluster must stay within
    /// Slack's limit.
    pub max_open_connections: usize,
    /// WebSockets refused for exceeding the limit (`too_many_websockets`).
    pub refused_connections: u64,
}

enum Outgoing {
    Text(String),
    Close,
}

struct Connection {
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Told to disconnect; new envelopes prefer other sockets.
    closing: bool,
}

struct Pending {
    seq: u64,
    envelope: Value,
    endpoint: Endpoint,
    connection: Option<u64>,
    /// How many times it went out on a socket.
    sends: u32,
    /// The delivery record of the latest send, and when it went out.
    delivery: Option<(u64, Instant)>,
    ack: oneshot::Sender<Option<Value>>,
}

struct Hub {
    tickets: HashSet<String>,
    connections: BTreeMap<u64, Connection>,
    pending: HashMap<String, Pending>,
    /// Envelopes Slack stopped waiting for, with their last delivery
    /// record: an ack that still comes is recorded as late, not lost.
    given_up: HashMap<String, (u64, Instant)>,
    next_connection: u64,
    next_seq: u64,
    /// Set once the host has asked for a socket: from then on, deliveries
    /// with no socket open wait for one instead of falling back to HTTP.
    socket_mode: bool,
    stats: SocketStats,
    /// Draws the connection each envelope goes to.
    rng: fastrand::Rng,
    max_connections: usize,
    truth: Arc<Truth>,
}

impl Hub {
    /// A live socket to deliver on, drawn at random, preferring ones not
    /// told to disconnect.
    fn pick(&mut self) -> Option<u64> {
        let live: Vec<u64> = self
            .connections
            .iter()
            .filter(|(_, c)| !c.closing)
            .map(|(id, _)| *id)
            .collect();
        let candidates: Vec<u64> = if live.is_empty() {
            self.connections.keys().copied().collect()
        } else {
            live
        };
        (!candidates.is_empty()).then(|| candidates[self.rng.usize(..candidates.len())])
    }

    /// Puts `pending` on socket `connection` and records the delivery.
    fn send(&mut self, connection: u64, envelope_id: &str, pending: &mut Pending) -> bool {
        let sent = self.connections.get(&connection).is_some_and(|c| {
            c.tx.send(Outgoing::Text(pending.envelope.to_string()))
                .is_ok()
        });
        if !sent {
            return false;
        }
        self.stats.delivered += 1;
        let envelope = &pending.envelope;
        let retry_num = envelope["retry_attempt"]
            .as_u64()
            .map_or(pending.sends, |n| n as u32);
        let record = self.truth.sent(Sending {
            endpoint: pending.endpoint,
            transport: Transport::SocketMode,
            target: format!("socket:{connection}"),
            event_id: envelope["payload"]["event_id"].as_str().map(str::to_string),
            envelope_id: Some(envelope_id.to_string()),
            retry_num,
            retry_reason: envelope["retry_reason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        });
        pending.delivery = Some((record, Instant::now()));
        pending.connection = Some(connection);
        pending.sends += 1;
        true
    }

    /// Sends every envelope left without a socket, oldest first, and marks
    /// it as a retry the way Slack does.
    fn redeliver_orphans(&mut self) {
        let mut orphans: Vec<(u64, String)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.connection.is_none())
            .map(|(id, p)| (p.seq, id.clone()))
            .collect();
        orphans.sort();
        for (_, id) in orphans {
            let Some(target) = self.pick() else { return };
            let Some(mut pending) = self.pending.remove(&id) else {
                continue;
            };
            let retry = pending.sends > 0;
            if retry && let Some(attempt) = pending.envelope["retry_attempt"].as_u64() {
                pending.envelope["retry_attempt"] = json!(attempt + 1);
                pending.envelope["retry_reason"] = json!("timeout");
            }
            if self.send(target, &id, &mut pending) && retry {
                self.stats.redelivered += 1;
            }
            self.pending.insert(id, pending);
        }
    }
}

pub struct SocketHub {
    hub: Mutex<Hub>,
    ids: AtomicU64,
}

impl SocketHub {
    /// `seed` makes the choice of connection reproducible; `max_connections`
    /// is Slack's per-app limit.
    pub fn new(truth: Arc<Truth>, seed: u64, max_connections: usize) -> SocketHub {
        SocketHub {
            hub: Mutex::new(Hub {
                tickets: HashSet::new(),
                connections: BTreeMap::new(),
                pending: HashMap::new(),
                given_up: HashMap::new(),
                next_connection: 0,
                next_seq: 0,
                socket_mode: false,
                stats: SocketStats::default(),
                // Not the HTTP draw's sequence: the two stay independent.
                rng: fastrand::Rng::with_seed(seed ^ 0x736f_636b_6574_7321),
                max_connections,
                truth,
            }),
            ids: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn issue_ticket(&self) -> String {
        let ticket = self.uuid();
        let mut hub = self.lock();
        hub.socket_mode = true;
        hub.tickets.insert(ticket.clone());
        ticket
    }

    /// Whether `send_*` should go over a socket rather than HTTP.
    pub fn in_use(&self) -> bool {
        let hub = self.lock();
        !hub.connections.is_empty() || hub.socket_mode
    }

    /// A UUID-shaped id, as Slack's `envelope_id`s are.
    fn uuid(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let seed = format!("{n}:{}", crate::contract::time::now_micros());
        let h = hex::encode(Sha256::digest(seed.as_bytes()));
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// Sends an envelope (or queues it until a socket connects) and returns
    /// where its ack payload will arrive. An Events API envelope carries
    /// `retry_attempt` (`retry_reason` `timeout` when above 0), as Slack's do.
    pub fn deliver(
        &self,
        endpoint: Endpoint,
        kind: &str,
        payload: Value,
        accepts_response_payload: bool,
        retry_attempt: u32,
    ) -> (String, oneshot::Receiver<Option<Value>>) {
        let envelope_id = self.uuid();
        let mut envelope = json!({
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        });
        if kind == "events_api" {
            envelope["retry_attempt"] = json!(retry_attempt);
            envelope["retry_reason"] = json!(if retry_attempt > 0 { "timeout" } else { "" });
        }
        let (tx, rx) = oneshot::channel();
        let mut hub = self.lock();
        hub.next_seq += 1;
        if kind == "events_api" && retry_attempt > 0 {
            hub.stats.retries += 1;
        }
        let mut pending = Pending {
            seq: hub.next_seq,
            envelope,
            endpoint,
            connection: None,
            sends: 0,
            delivery: None,
            ack: tx,
        };
        if let Some(target) = hub.pick() {
            hub.send(target, &envelope_id, &mut pending);
        }
        tracing::debug!(%envelope_id, kind, connection = ?pending.connection, "emulator: socket mode envelope");
        hub.pending.insert(envelope_id.clone(), pending);
        (envelope_id, rx)
    }

    /// Gives up on an envelope whose ack did not come in time: its delivery
    /// failed, and an ack that still comes is recorded as late.
    pub fn give_up(&self, envelope_id: &str) {
        let mut hub = self.lock();
        let Some(pending) = hub.pending.remove(envelope_id) else {
            return;
        };
        if let Some((record, sent)) = pending.delivery {
            hub.truth.failed(record, Failure::Timeout);
            hub.given_up.insert(envelope_id.to_string(), (record, sent));
        }
    }

    fn on_text(&self, text: &str) {
        let Ok(ack) = serde_json::from_str::<Value>(text) else {
            tracing::warn!("emulator: socket sent non-JSON text");
            return;
        };
        let Some(id) = ack.get("envelope_id").and_then(Value::as_str) else {
            tracing::warn!("emulator: socket message without envelope_id");
            return;
        };
        let payload = ack.get("payload");
        let mut hub = self.lock();
        if let Some(pending) = hub.pending.remove(id) {
            hub.stats.acked += 1;
            if let Some((record, sent)) = pending.delivery {
                hub.truth.acked(record, sent.elapsed(), payload, true);
            }
            let _ = pending.ack.send(payload.cloned());
        } else if let Some((record, sent)) = hub.given_up.remove(id) {
            hub.stats.late_acks += 1;
            hub.truth.acked(record, sent.elapsed(), payload, false);
        } else {
            hub.stats.unknown_acks += 1;
        }
    }

    /// Takes a new connection, unless the app already has as many as Slack
    /// allows: `None` then (the connection is refused).
    fn register(&self) -> Option<(u64, mpsc::UnboundedReceiver<Outgoing>, usize)> {
        let mut hub = self.lock();
        if hub.connections.len() >= hub.max_connections {
            hub.stats.refused_connections += 1;
            return None;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        hub.next_connection += 1;
        let id = hub.next_connection;
        hub.connections
            .insert(id, Connection { tx, closing: false });
        hub.stats.connections_opened += 1;
        let open = hub.connections.len();
        hub.stats.max_open_connections = hub.stats.max_open_connections.max(open);
        Some((id, rx, open))
    }

    /// Queues `hello` first, then whatever was waiting for a socket.
    fn greet(&self, id: u64, hello: Value) {
        let mut hub = self.lock();
        if let Some(c) = hub.connections.get(&id) {
            let _ = c.tx.send(Outgoing::Text(hello.to_string()));
        }
        hub.redeliver_orphans();
    }

    fn unregister(&self, id: u64) {
        let mut hub = self.lock();
        hub.connections.remove(&id);
        let truth = hub.truth.clone();
        for pending in hub.pending.values_mut() {
            if pending.connection == Some(id) {
                pending.connection = None;
                if let Some((record, _)) = pending.delivery {
                    truth.failed(record, Failure::SocketClosed);
                }
            }
        }
        hub.redeliver_orphans();
        tracing::debug!(connection = id, "emulator: socket closed");
    }

    fn stats(&self) -> SocketStats {
        let hub = self.lock();
        SocketStats {
            open_connections: hub.connections.len(),
            pending: hub.pending.len(),
            ..hub.stats
        }
    }
}

#[derive(Deserialize)]
struct LinkQuery {
    ticket: Option<String>,
}

async fn link(
    AxumState(shared): AxumState<Arc<Shared>>,
    Query(query): Query<LinkQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let valid = query
        .ticket
        .is_some_and(|t| shared.socket.lock().tickets.remove(&t));
    if !valid {
        // A ticket is good for one connection, as Slack's are.
        return (StatusCode::UNAUTHORIZED, "invalid ticket").into_response();
    }
    upgrade.on_upgrade(move |socket| serve_socket(shared, socket))
}

async fn serve_socket(shared: Arc<Shared>, mut socket: WebSocket) {
    let hub = &shared.socket;
    let Some((id, mut outgoing, count)) = hub.register() else {
        // What Slack does with one connection too many: it completes the
        // handshake, sends `disconnect` instead of `hello`, and closes.
        tracing::warn!("emulator: socket mode connection refused: too many websockets");
        let refusal = json!({
            "type": "disconnect",
            "reason": DisconnectReason::TooManyWebsockets.as_str(),
            "debug_info": {"host": "applink-emulator"},
        });
        let _ = socket
            .send(WsMessage::Text(refusal.to_string().into()))
            .await;
        let _ = socket.send(WsMessage::Close(None)).await;
        return;
    };
    let hello = json!({
        "type": "hello",
        "num_connections": count,
        "debug_info": {
            "host": format!("applink-emulator-{id}"),
            "build_number": 1,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": shared.config.api_app_id},
    });
    hub.greet(id, hello);
    tracing::info!(connection = id, "emulator: socket mode connection opened");
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            out = outgoing.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if sink.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    break;
                }
            },
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => hub.on_text(text.as_str()),
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    hub.unregister(id);
}

impl Emulator {
    /// Sends `{"type":"disconnect","reason":…}` on every open socket and
    /// closes them after the configured grace period.
    pub fn disconnect(&self, reason: DisconnectReason) {
        let grace = self.shared.config.disconnect_grace;
        let message = json!({
            "type": "disconnect",
            "reason": reason.as_str(),
            "debug_info": {"host": "applink-emulator"},
        })
        .to_string();
        let mut senders = Vec::new();
        {
            let mut hub = self.shared.socket.lock();
            for connection in hub.connections.values_mut() {
                connection.closing = true;
                let _ = connection.tx.send(Outgoing::Text(message.clone()));
                senders.push(connection.tx.clone());
            }
        }
        tracing::info!(
            reason = reason.as_str(),
            sockets = senders.len(),
            "emulator: disconnect"
        );
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            for tx in senders {
                let _ = tx.send(Outgoing::Close);
            }
        });
    }

    pub fn socket_stats(&self) -> SocketStats {
        self.shared.socket.stats()
    }

    /// Waits until exactly `count` sockets are open; false on timeout.
    pub async fn wait_for_sockets(&self, count: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.shared.socket.stats().open_connections != count {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Sends an envelope over Socket Mode and waits for its ack payload.
    /// An event not acked within the delivery deadline is sent again, in a
    /// new envelope to a connection drawn again, while
    /// [`super::EmulatorConfig::event_retries`] lasts; the last attempt
    /// (and any other envelope) waits up to `ack_timeout`, across reconnects.
    pub(super) async fn deliver_envelope(
        &self,
        endpoint: Endpoint,
        (kind, payload, accepts_response_payload): (&str, Value, bool),
        retry_attempt: Option<u32>,
    ) -> Result<(String, Option<Value>), EmulatorError> {
        let config = &self.shared.config;
        let retries: &[Duration] = if endpoint == Endpoint::Events {
            &config.event_retries
        } else {
            &[]
        };
        let mut attempt = retry_attempt.unwrap_or(0);
        loop {
            let more = (attempt as usize) < retries.len();
            let wait = if more {
                config.delivery_deadline
            } else {
                config.ack_timeout
            };
            let (id, ack) = self.shared.socket.deliver(
                endpoint,
                kind,
                payload.clone(),
                accepts_response_payload,
                attempt,
            );
            if let Ok(Ok(payload)) = tokio::time::timeout(wait, ack).await {
                return Ok((id, payload));
            }
            self.shared.socket.give_up(&id);
            if !more {
                return Err(EmulatorError::AckTimeout(id));
            }
            tracing::debug!(envelope_id = %id, attempt, "emulator: envelope not acked in time; retrying");
            tokio::time::sleep(retries[attempt as usize]).await;
            attempt += 1;
        }
    }
}
