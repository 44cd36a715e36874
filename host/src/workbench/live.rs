//! Live updates for open pages over a WebSocket: every change the emulator
//! announces is forwarded as it happens (the page re-reads what it shows),
//! and so is any change of the apps panel, which is polled from the loaded apps
//! because reloads and build failures happen outside the emulator.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::model;
use crate::emulator::Emulator;
use crate::routing::Apps;

/// How often the apps panel's sources are checked for a change.
const APPS_POLL: Duration = Duration::from_millis(250);

/// A fingerprint of the apps panel that changes whenever its content does,
/// kept fresh until `stopped`.
pub fn watch_apps(apps: Arc<Apps>, mut stopped: watch::Receiver<bool>) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(APPS_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let print = model::apps_fingerprint(&apps).await;
            tx.send_if_modified(|current| std::mem::replace(current, print) != print);
        }
    });
    rx
}

/// Streams notices to one page until it goes away or the workbench stops:
/// `{"kind":"message",…}`, `views`, `home`, `directory` (from the
/// emulator), `apps`, and `resync` when notices were missed.
pub async fn stream(
    mut socket: WebSocket,
    slack: Emulator,
    mut apps: watch::Receiver<u64>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut changes = slack.subscribe();
    apps.mark_unchanged();
    if send(&mut socket, json!({"kind": "hello"})).await.is_err() {
        return;
    }
    loop {
        let notice = tokio::select! {
            change = changes.recv() => match change {
                Ok(change) => serde_json::to_value(change).unwrap_or_default(),
                Err(RecvError::Lagged(missed)) => json!({"kind": "resync", "missed": missed}),
                Err(RecvError::Closed) => break,
            },
            changed = apps.changed() => match changed {
                Ok(()) => json!({"kind": "apps"}),
                Err(_) => break,
            },
            incoming = socket.recv() => match incoming {
                // The page sends nothing but pings; anything else is ignored.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
            _ = stopped.wait_for(|s| *s) => break,
        };
        if send(&mut socket, notice).await.is_err() {
            return;
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

async fn send(socket: &mut WebSocket, value: serde_json::Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(value.to_string().into())).await
}
