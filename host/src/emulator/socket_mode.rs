//! The Slack side of Socket Mode: the WebSocket `apps.connections.open`
//! hands out, `hello`, envelopes awaiting their ack, redelivery of whatever
//! was unacked when a socket went away, and `disconnect` messages.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

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
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::RefreshRequested => "refresh_requested",
            DisconnectReason::Warning => "warning",
            DisconnectReason::LinkDisabled => "link_disabled",
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
    connection: Option<u64>,
    /// How many times it went out on a socket.
    sends: u32,
    ack: oneshot::Sender<Option<Value>>,
}

#[derive(Default)]
struct Hub {
    tickets: HashSet<String>,
    connections: BTreeMap<u64, Connection>,
    pending: HashMap<String, Pending>,
    next_connection: u64,
    next_seq: u64,
    /// Set once the host has asked for a socket: from then on, deliveries
    /// with no socket open wait for one instead of falling back to HTTP.
    socket_mode: bool,
    stats: SocketStats,
}

impl Hub {
    /// A live socket to deliver on, preferring ones not told to disconnect.
    fn pick(&self, seq: u64) -> Option<u64> {
        let live: Vec<u64> = self
            .connections
            .iter()
            .filter(|(_, c)| !c.closing)
            .map(|(id, _)| *id)
            .collect();
        let candidates = if live.is_empty() {
            self.connections.keys().copied().collect()
        } else {
            live
        };
        (!candidates.is_empty()).then(|| candidates[(seq as usize) % candidates.len()])
    }

    fn send(&mut self, connection: u64, envelope: &Value) -> bool {
        let sent = self
            .connections
            .get(&connection)
            .is_some_and(|c| c.tx.send(Outgoing::Text(envelope.to_string())).is_ok());
        if sent {
            self.stats.delivered += 1;
        }
        sent
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
        for (seq, id) in orphans {
            let Some(target) = self.pick(seq) else { return };
            let Some(mut pending) = self.pending.remove(&id) else {
                continue;
            };
            let retry = pending.sends > 0;
            if retry && let Some(attempt) = pending.envelope["retry_attempt"].as_u64() {
                pending.envelope["retry_attempt"] = json!(attempt + 1);
                pending.envelope["retry_reason"] = json!("timeout");
            }
            if self.send(target, &pending.envelope) {
                pending.connection = Some(target);
                pending.sends += 1;
                if retry {
                    self.stats.redelivered += 1;
                }
            }
            self.pending.insert(id, pending);
        }
    }
}

#[derive(Default)]
pub struct SocketHub {
    hub: Mutex<Hub>,
    ids: AtomicU64,
}

impl SocketHub {
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
    /// where its ack payload will arrive.
    pub fn deliver(
        &self,
        kind: &str,
        payload: Value,
        accepts_response_payload: bool,
        retry_attempt: Option<u32>,
    ) -> (String, oneshot::Receiver<Option<Value>>) {
        let envelope_id = self.uuid();
        let mut envelope = json!({
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        });
        if kind == "events_api" {
            envelope["retry_attempt"] = json!(retry_attempt.unwrap_or(0));
            envelope["retry_reason"] = json!(if retry_attempt.is_some() {
                "timeout"
            } else {
                ""
            });
        }
        let (tx, rx) = oneshot::channel();
        let mut hub = self.lock();
        hub.next_seq += 1;
        let seq = hub.next_seq;
        let connection = hub.pick(seq).filter(|target| hub.send(*target, &envelope));
        tracing::debug!(%envelope_id, kind, ?connection, "emulator: socket mode envelope");
        hub.pending.insert(
            envelope_id.clone(),
            Pending {
                seq,
                envelope,
                connection,
                sends: u32::from(connection.is_some()),
                ack: tx,
            },
        );
        (envelope_id, rx)
    }

    /// Gives up on an envelope whose ack did not come in time.
    pub fn abandon(&self, envelope_id: &str) {
        self.lock().pending.remove(envelope_id);
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
        let mut hub = self.lock();
        match hub.pending.remove(id) {
            Some(pending) => {
                hub.stats.acked += 1;
                let _ = pending.ack.send(ack.get("payload").cloned());
            }
            None => hub.stats.unknown_acks += 1,
        }
    }

    fn register(&self) -> (u64, mpsc::UnboundedReceiver<Outgoing>, usize) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut hub = self.lock();
        hub.next_connection += 1;
        let id = hub.next_connection;
        hub.connections
            .insert(id, Connection { tx, closing: false });
        hub.stats.connections_opened += 1;
        (id, rx, hub.connections.len())
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
        for pending in hub.pending.values_mut() {
            if pending.connection == Some(id) {
                pending.connection = None;
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

async fn serve_socket(shared: Arc<Shared>, socket: WebSocket) {
    let hub = &shared.socket;
    let (id, mut outgoing, count) = hub.register();
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
    pub(super) async fn deliver_envelope(
        &self,
        kind: &str,
        payload: Value,
        accepts_response_payload: bool,
        retry_attempt: Option<u32>,
    ) -> Result<(String, Option<Value>), EmulatorError> {
        let (id, ack) =
            self.shared
                .socket
                .deliver(kind, payload, accepts_response_payload, retry_attempt);
        match tokio::time::timeout(self.shared.config.ack_timeout, ack).await {
            Ok(Ok(payload)) => Ok((id, payload)),
            _ => {
                self.shared.socket.abandon(&id);
                Err(EmulatorError::AckTimeout(id))
            }
        }
    }
}
