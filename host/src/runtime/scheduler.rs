//! Fires scheduled ticks: one-offs apps asked for with `schedule.once`, and
//! the recurring cron schedules they declare in `describe`.
//!
//! Both are driven from SQLite, so a tick that came due while the host was
//! down fires once when it is back (never once per missed occurrence).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Runtime;
use super::bindings::types::Tick;
use super::invoke::Request;
use crate::capabilities::clock::now_ms;

/// How often due ticks are looked for: cron's finest unit.
pub const POLL: Duration = Duration::from_secs(1);

/// Runs until the returned task is aborted.
pub fn spawn(runtime: Arc<Runtime>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            fire_due(&runtime, now_ms()).await;
        }
    })
}

/// Fires every tick due at `now_ms`; returns how many fired.
pub async fn fire_due(runtime: &Runtime, now_ms: u64) -> usize {
    let mut due = Vec::new();
    match runtime.storage().take_due_schedules(now_ms as i64) {
        Ok(ticks) => due.extend(ticks.into_iter().map(|t| (t.app, t.name, t.due_ms as u64))),
        Err(e) => tracing::error!(error = %e, "reading due schedules failed"),
    }
    due.extend(due_cron_ticks(runtime, now_ms));
    let fired = due.len();
    for (app, name, due_ms) in due {
        let tick = Tick {
            name: name.clone(),
            due_ms,
        };
        if let Err(e) = runtime.invoke(&app, Request::Tick(tick)).await {
            tracing::warn!(app, schedule = name, error = %e, "scheduled tick failed");
        }
    }
    fired
}

/// Cron schedules of loaded apps whose next occurrence after their last
/// firing has come. A schedule seen for the first time starts counting now.
fn due_cron_ticks(runtime: &Runtime, now_ms: u64) -> Vec<(String, String, u64)> {
    let storage = runtime.storage();
    let now = DateTime::<Utc>::from_timestamp_millis(now_ms as i64).unwrap_or_default();
    let mut due = Vec::new();
    for (id, version) in runtime
        .snapshot()
        .apps
        .iter()
        .filter_map(|(id, e)| e.current.as_ref().map(|v| (id, v)))
    {
        for spec in &version.info.schedules {
            let Ok(cron) = spec.cron.parse::<croner::Cron>() else {
                continue;
            }; // checked at load
            let last = match storage.last_cron_fire(id, &spec.name) {
                Ok(Some(last)) => last,
                Ok(None) => {
                    storage
                        .set_last_cron_fire(id, &spec.name, now_ms as i64)
                        .ok();
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
                storage
                    .set_last_cron_fire(id, &spec.name, now_ms as i64)
                    .ok();
                due.push((
                    id.to_string(),
                    spec.name.clone(),
                    next.timestamp_millis() as u64,
                ));
            }
        }
    }
    due
}
