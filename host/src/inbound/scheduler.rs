//! Fires scheduled ticks: one-offs apps asked for with `schedule.once`, and
//! the recurring cron schedules they declare in `describe`.
//!
//! Both are driven from storage, so a tick that came due while the host was
//! down fires once when it is back (never once per missed occurrence), and a
//! cron occurrence is claimed by compare-and-set before it fires, so it
//! fires once however many schedulers look.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::contract::bindings::types::Tick;
use crate::contract::request::Request;
use crate::contract::time::now_ms;
use crate::routing::Apps;

/// How often due ticks are looked for: cron's finest unit.
pub const POLL: Duration = Duration::from_secs(1);

/// Runs until the returned task is aborted.
pub fn spawn(apps: Arc<Apps>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            fire_due(&apps, now_ms()).await;
        }
    })
}

/// Fires every tick due at `now_ms`; returns how many fired.
pub async fn fire_due(apps: &Apps, now_ms: u64) -> usize {
    let mut due = Vec::new();
    match apps.storage().schedules.take_due(now_ms as i64).await {
        Ok(ticks) => due.extend(ticks.into_iter().map(|t| (t.app, t.name, t.due_ms as u64))),
        Err(e) => tracing::error!(error = %e, "reading due schedules failed"),
    }
    due.extend(due_cron_ticks(apps, now_ms).await);
    let fired = due.len();
    for (app, name, due_ms) in due {
        let tick = Tick {
            name: name.clone(),
            due_ms,
        };
        if let Err(e) = apps.invoke(&app, Request::Tick(tick)).await {
            tracing::warn!(app, schedule = name, error = %e, "scheduled tick failed");
        }
    }
    fired
}

/// Cron schedules of loaded apps whose next occurrence after their last
/// firing has come, each claimed by moving its last fire time forward with
/// compare-and-set (only the claimer fires it). A schedule seen for the
/// first time starts counting now.
async fn due_cron_ticks(apps: &Apps, now_ms: u64) -> Vec<(String, String, u64)> {
    let schedules = &apps.storage().schedules;
    let now = DateTime::<Utc>::from_timestamp_millis(now_ms as i64).unwrap_or_default();
    let snapshot = apps.snapshot();
    let mut due = Vec::new();
    for version in snapshot.versions() {
        let id = &*version.id;
        for spec in &version.description.info.schedules {
            let Ok(cron) = spec.cron.parse::<croner::Cron>() else {
                continue;
            }; // checked at load
            let last = match schedules.last_cron_fire(id, &spec.name).await {
                Ok(Some(last)) => last,
                Ok(None) => {
                    if let Err(e) = schedules
                        .advance_cron(id, &spec.name, None, now_ms as i64)
                        .await
                    {
                        tracing::error!(error = %e, "starting a cron schedule failed");
                    }
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading cron state failed");
                    continue;
                }
            };
            let after = DateTime::<Utc>::from_timestamp_millis(last).unwrap_or_default();
            if let Ok(next) = cron.find_next_occurrence(&after, false)
                && next <= now
            {
                match schedules
                    .advance_cron(id, &spec.name, Some(last), now_ms as i64)
                    .await
                {
                    Ok(true) => due.push((
                        id.to_string(),
                        spec.name.clone(),
                        next.timestamp_millis() as u64,
                    )),
                    Ok(false) => {
                        tracing::debug!(app = id, schedule = %spec.name, "cron occurrence claimed elsewhere")
                    }
                    Err(e) => tracing::error!(error = %e, "claiming a cron occurrence failed"),
                }
            }
        }
    }
    due
}
