//! LISTEN/NOTIFY: other replicas' commits, as wake-ups for this one.
//!
//! A dedicated connection (not from the pool: it stays in `LISTEN` for
//! good) hears `botyard_outbox` and `botyard_webhooks`, which units send in
//! their commit, and `botyard_published` (an app published), and raises the matching [`Wakeup`](crate::storage::Wakeup).
//! A hint only: delivery and the webhook runner poll as well, so a
//! notification lost while the connection was down delays work, never
//! loses it. When the connection drops (or a periodic ping fails), it is
//! made again, backing off up to [`MAX_BACKOFF`], and both wake-ups are
//! raised once it is back, since work may have been queued while nobody
//! listened.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use super::published::PUBLISHED_CHANNEL;
use super::{NotifyWakeup, OUTBOX_CHANNEL, WEBHOOKS_CHANNEL};
use crate::storage::{StorageError, Wakeup};

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the listening connection is pinged, so one that died
/// silently (a network cut, no reset) is noticed and made again.
const PING_EVERY: Duration = Duration::from_secs(30);
/// How long a ping may take before the connection counts as dead.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts listening; returns once the first attempt succeeded or failed
/// (a failure is logged and retried in the background), so a fresh
/// [`Storage`](crate::storage::Storage) is not woken by its own start.
pub(super) async fn start(
    config: tokio_postgres::Config,
    outbox: Arc<NotifyWakeup>,
    webhooks: Arc<NotifyWakeup>,
    published: Arc<NotifyWakeup>,
    stop: watch::Receiver<()>,
) {
    let (first, started) = tokio::sync::oneshot::channel();
    tokio::spawn(run(config, outbox, webhooks, published, stop, first));
    let _ = started.await;
}

async fn run(
    config: tokio_postgres::Config,
    outbox: Arc<NotifyWakeup>,
    webhooks: Arc<NotifyWakeup>,
    published: Arc<NotifyWakeup>,
    mut stop: watch::Receiver<()>,
    first: tokio::sync::oneshot::Sender<()>,
) {
    let mut first = Some(first);
    let mut backoff = Duration::from_millis(250);
    loop {
        let wakeups = Wakeups {
            outbox: &outbox,
            webhooks: &webhooks,
            published: &published,
        };
        let listened = listen(&config, wakeups, &mut stop, &mut first).await;
        if let Some(first) = first.take() {
            let _ = first.send(());
        }
        match listened {
            Ok(Ended::Stopped) => return,
            Ok(Ended::Dropped(why)) => {
                tracing::warn!(error = %why, "the LISTEN connection dropped; reconnecting (work is still found by polling)");
                backoff = Duration::from_millis(250);
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot LISTEN for other replicas' work; retrying (work is still found by polling)");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// How a listening connection ended.
enum Ended {
    /// The storage was dropped.
    Stopped,
    /// The connection broke; why.
    Dropped(String),
}

/// The wake-ups a listening connection raises, one per channel.
#[derive(Clone, Copy)]
struct Wakeups<'a> {
    outbox: &'a NotifyWakeup,
    webhooks: &'a NotifyWakeup,
    published: &'a NotifyWakeup,
}

/// One connection's life: connect, `LISTEN`, raise wake-ups until it ends.
async fn listen(
    config: &tokio_postgres::Config,
    Wakeups {
        outbox,
        webhooks,
        published,
    }: Wakeups<'_>,
    stop: &mut watch::Receiver<()>,
    first: &mut Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<Ended, StorageError> {
    let (client, mut connection) = config.connect(NoTls).await?;
    // The connection delivers notifications only while polled for them;
    // this task polls it (which also carries the client's queries).
    let (heard, mut hearing) = mpsc::unbounded_channel::<Result<String, String>>();
    let driver = tokio::spawn(async move {
        let mut messages = Box::pin(futures_util::stream::poll_fn(move |cx| {
            connection.poll_message(cx)
        }));
        while let Some(message) = messages.next().await {
            let sent = match message {
                Ok(AsyncMessage::Notification(n)) => heard.send(Ok(n.channel().to_string())),
                Ok(_) => Ok(()),
                Err(e) => {
                    let _ = heard.send(Err(StorageError::from(e).to_string()));
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
        let _ = heard.send(Err("the server closed the connection".into()));
    });
    let listening = client
        .batch_execute(&format!(
            "LISTEN {OUTBOX_CHANNEL}; LISTEN {WEBHOOKS_CHANNEL}; LISTEN {PUBLISHED_CHANNEL}"
        ))
        .await;
    if let Err(e) = listening {
        driver.abort();
        return Err(e.into());
    }
    match first.take() {
        Some(first) => {
            let _ = first.send(());
        }
        // Back after a break: whatever was queued meanwhile was not heard.
        None => {
            outbox.notify();
            webhooks.notify();
            published.notify();
        }
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let ended = loop {
        tokio::select! {
            message = hearing.recv() => match message {
                Some(Ok(channel)) if channel == OUTBOX_CHANNEL => outbox.notify(),
                Some(Ok(channel)) if channel == WEBHOOKS_CHANNEL => webhooks.notify(),
                Some(Ok(channel)) if channel == PUBLISHED_CHANNEL => published.notify(),
                Some(Ok(_)) => {}
                Some(Err(why)) => break Ended::Dropped(why),
                None => break Ended::Dropped("the connection task ended".into()),
            },
            _ = ping.tick() => {
                match tokio::time::timeout(PING_TIMEOUT, client.simple_query("")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => break Ended::Dropped(StorageError::from(e).to_string()),
                    Err(_) => break Ended::Dropped("a ping went unanswered".into()),
                }
            }
            _ = stop.changed() => break Ended::Stopped,
        }
    };
    drop(client);
    driver.abort();
    Ok(ended)
}
