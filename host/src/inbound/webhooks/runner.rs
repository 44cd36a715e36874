//! Hands recorded webhook deliveries to their apps: claims what is due,
//! invokes `on-webhook`, and settles the delivery in the invocation's own
//! unit of work — so the handler's writes and "this delivery is done" are
//! kept together, and a delivery whose handler committed never runs again.
//!
//! A failed try is retried after a wait that doubles from the webhook's
//! `retry_after_ms` (up to five minutes); after its last try a delivery is
//! dead: kept, logged, shown in the workbench, and replayable. Claims carry
//! a lease, so with several hosts on one database each delivery runs in one
//! of them; claims left by a host that died are freed when the next starts.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::config::webhooks::{DEFAULT_ATTEMPTS, DEFAULT_RETRY_AFTER, MAX_RETRY_WAIT};
use crate::contract::bindings::webhooks::WebhookRequest;
use crate::contract::request::Request;
use crate::contract::retry::Backoff;
use crate::contract::time::now_ms;
use crate::routing::{Apps, CallError};
use crate::runtime::hooks::{Call, Hook};
use crate::runtime::invoke::InvokeError;
use crate::storage::{Claim, Delivery, DeliveryOutcome, StorageError, Unit};

/// Deliveries run at once. Beyond it they wait, recorded, for a slot.
const CONCURRENCY: usize = 16;
/// How long a claim holds: past the longest deadline an app may have, so a
/// delivery is never run twice at once by two hosts.
const LEASE: Duration = Duration::from_secs(15 * 60);
/// How often storage is looked at when nothing wakes the runner (another
/// host may have recorded deliveries).
const POLL: Duration = Duration::from_secs(1);
/// Done and dead deliveries are kept this long (and a sender's redelivery
/// within it is recognised).
const KEEP: Duration = Duration::from_secs(14 * 24 * 3600);
const FORGET_EVERY: Duration = Duration::from_secs(3600);

/// Runs until the returned task is aborted.
pub fn spawn(apps: Arc<Apps>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { run(apps).await })
}

async fn run(apps: Arc<Apps>) {
    let store = apps.storage().webhooks.clone();
    let wakeup = apps.storage().webhook_wakeup.clone();
    match store.release_orphaned().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deliveries = n, "resuming webhook deliveries left running"),
        Err(e) => tracing::error!(error = %e, "releasing orphaned webhook claims failed"),
    }
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut forgotten_at: Option<tokio::time::Instant> = None;
    loop {
        if forgotten_at.is_none_or(|at| at.elapsed() >= FORGET_EVERY) {
            forgotten_at = Some(tokio::time::Instant::now());
            let cutoff = now_ms() as i64 - KEEP.as_millis() as i64;
            if let Err(e) = store.forget_settled_before(cutoff).await {
                tracing::warn!(error = %e, "forgetting old webhook deliveries failed");
            }
        }
        // A read first: nothing is written while no delivery is due (nor
        // while the only due ones are running under a claim).
        let now = now_ms() as i64;
        let due = store.next_due().await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "reading when webhook deliveries are due failed");
            None
        });
        if due.is_none_or(|due| due > now) {
            let wait = due.map_or(POLL, |due| {
                Duration::from_millis((due - now) as u64).min(POLL)
            });
            tokio::select! {
                () = wakeup.wait() => {}
                () = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        // Claim only as many as there are free slots; this loop is the only
        // one taking slots, so each claimed delivery gets one at once.
        let first = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let limit = 1 + slots.available_permits();
        drop(first);
        let claimed = match store.claim_due(now_ms() as i64, LEASE, limit as u32).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(error = %e, "claiming webhook deliveries failed");
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        for (delivery, claim) in claimed {
            let slot = slots
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let apps = apps.clone();
            tokio::spawn(async move {
                run_one(&apps, delivery, claim).await;
                drop(slot);
            });
        }
    }
}

/// One try at one delivery.
async fn run_one(apps: &Apps, delivery: Delivery, claim: Claim) {
    let all = apps.config();
    let config = all.webhook(&delivery.app, &delivery.hook);
    let settle = Settle {
        claim,
        app: delivery.app.clone(),
        hook: delivery.hook.clone(),
        delivery_id: delivery.delivery_id.clone(),
        attempt: delivery.attempts + 1,
        attempts: config.map_or(DEFAULT_ATTEMPTS, |c| c.attempts),
        backoff: Backoff::new(
            config.map_or(DEFAULT_RETRY_AFTER, |c| c.retry_after),
            MAX_RETRY_WAIT,
        ),
    };
    let request = Request::Webhook(WebhookRequest {
        name: delivery.hook,
        delivery_id: delivery.delivery_id,
        attempt: settle.attempt,
        content_type: delivery.content_type,
        headers: delivery.headers,
        body: delivery.body,
    });
    match apps.invoke_with(&delivery.app, request, &settle).await {
        Ok(_) => {}
        // The invocation ran (or was refused by a hook) and settled the
        // delivery in its unit; a storage failure there leaves the claim to
        // run out and the delivery to run again.
        Err(CallError::Invoke(_)) => {}
        // Nothing ran: settle it here, as a failed try.
        Err(error) => {
            let mut unit = apps.storage().begin();
            let outcome: Result<(), String> = Err(error.to_string());
            let settled = settle.settle(&mut *unit, &outcome).await;
            let committed = match settled {
                Ok(()) => unit.commit().await,
                Err(e) => Err(e),
            };
            match committed {
                Ok(()) => settle.count(false),
                Err(e) => tracing::error!(error = %e, "settling a webhook delivery failed"),
            }
        }
    }
}

/// Settles a delivery with the outcome of its try, in the invocation's unit.
struct Settle {
    claim: Claim,
    app: String,
    hook: String,
    delivery_id: String,
    attempt: u32,
    attempts: u32,
    backoff: Backoff,
}

impl Settle {
    fn outcome(&self, result: &Result<(), String>) -> DeliveryOutcome {
        match result {
            Ok(()) => DeliveryOutcome::Done,
            Err(error) if self.attempt >= self.attempts => DeliveryOutcome::Dead(error.clone()),
            Err(error) => DeliveryOutcome::Retry {
                error: error.clone(),
                at_ms: now_ms() as i64 + self.backoff.delay(self.attempt).as_millis() as i64,
            },
        }
    }

    /// Counts the settlement once it is committed (see
    /// [`crate::telemetry::webhook`]).
    fn count(&self, ok: bool) {
        let outcome = match ok {
            true => "done",
            false if self.attempt >= self.attempts => "dead",
            false => "retry",
        };
        crate::telemetry::webhook(&self.app, &self.hook, outcome);
    }

    async fn settle(
        &self,
        unit: &mut dyn Unit,
        result: &Result<(), String>,
    ) -> Result<(), StorageError> {
        let outcome = self.outcome(result);
        let (app, hook, delivery) = (&self.app, &self.hook, &self.delivery_id);
        match &outcome {
            DeliveryOutcome::Done => {}
            DeliveryOutcome::Retry { error, at_ms } => tracing::info!(
                app,
                webhook = hook,
                delivery,
                attempt = self.attempt,
                error,
                retry_in_ms = at_ms - now_ms() as i64,
                "webhook delivery failed; it will be tried again"
            ),
            DeliveryOutcome::Dead(error) => tracing::warn!(
                app,
                webhook = hook,
                delivery,
                attempts = self.attempt,
                error,
                "webhook delivery failed on its last try; kept as dead (replay it from the workbench)"
            ),
        }
        if !unit.settle_delivery(&self.claim, outcome).await? {
            // Another runner holds it now (this one outlived its lease):
            // nothing of this run may be kept — the unit is not committed.
            tracing::warn!(
                app,
                webhook = hook,
                delivery,
                "webhook delivery was taken over before it settled; nothing of this run is kept"
            );
            return Err(StorageError::Overtaken);
        }
        Ok(())
    }
}

#[async_trait]
impl Hook for Settle {
    async fn after(
        &self,
        _call: &Call<'_>,
        _duration: Duration,
        outcome: &Result<(), String>,
        unit: &mut dyn Unit,
    ) -> Result<(), StorageError> {
        self.settle(unit, outcome).await
    }

    fn finished(&self, _call: &Call<'_>, _duration: Duration, outcome: &Result<(), InvokeError>) {
        // A storage failure kept nothing, the settlement included.
        if !matches!(outcome, Err(InvokeError::Storage { .. })) {
            self.count(outcome.is_ok());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(attempt: u32, attempts: u32) -> Settle {
        Settle {
            claim: Claim {
                id: 1,
                token: 1,
                until_ms: 0,
            },
            app: "ci".into(),
            hook: "github".into(),
            delivery_id: "d".into(),
            attempt,
            attempts,
            backoff: Backoff::new(Duration::from_secs(2), MAX_RETRY_WAIT),
        }
    }

    #[test]
    fn a_failure_is_retried_with_backoff_until_the_last_try() {
        assert_eq!(settle(1, 3).outcome(&Ok(())), DeliveryOutcome::Done);
        let before = now_ms() as i64;
        match settle(2, 3).outcome(&Err("boom".into())) {
            DeliveryOutcome::Retry { error, at_ms } => {
                assert_eq!(error, "boom");
                let wait = at_ms - before;
                assert!(
                    (4000..4100).contains(&wait),
                    "second failure waits 2 × 2 s: {wait}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            settle(3, 3).outcome(&Err("boom".into())),
            DeliveryOutcome::Dead("boom".into())
        );
    }
}
