//! Fires scheduled ticks: one-offs apps asked for with `schedule.once`, and
//! the recurring cron schedules they declare in `describe`.
//!
//! Both are driven from storage, so a tick that came due while the host was
//! down fires once when it is back (never once per missed occurrence), and a
//! cron occurrence is claimed by compare-and-set before it fires, so it
//! fires once however many schedulers look. A claimed tick is then taken
//! into the inbox under its schedule and due time ([`super::inbox`]): done
//! in its own unit, and run by another process if this one dies before
//! that. (The claim and the inbox are two commits; a process killed between
//! them — microseconds — loses that one firing.)

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::inbox::{self, Answer, Work};
use crate::contract::bindings::types::Tick;
use crate::contract::request::Request;
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
            // The host's clock, not the wall clock: under the test kit
            // virtual time decides what is due.
            let now = apps.runtime().clock().now_ms();
            fire_due(&apps, now).await;
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
        let work = Work {
            request: Request::Tick(tick),
            response_url: None,
            answer: Answer::Nothing,
        };
        // Taken into the inbox under (schedule, due time): done in the
        // tick's own unit, run again elsewhere if this process dies first,
        // never twice for one due time.
        let key = format!("tick:{app}/{name}/{due_ms}");
        let item = [(key, Arc::<str>::from(app.as_str()), work)];
        let ran = match inbox::take(apps.storage(), &item).await {
            Ok(claims) => match claims[0] {
                Some(claim) => {
                    let [(_, _, work)] = item;
                    let hooks = work.hooks(claim);
                    apps.invoke_with(&app, work.request, &hooks).await
                }
                None => {
                    tracing::debug!(app, schedule = name, due_ms, "tick already taken in");
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!(app, schedule = name, error = %e, "the inbox is unavailable; running the tick without it");
                let [(_, _, work)] = item;
                apps.invoke(&app, work.request).await
            }
        };
        if let Err(e) = ran {
            tracing::warn!(app, schedule = name, error = %e, "scheduled tick failed");
        }
    }
    fired
}

/// When the next tick after `now_ms` is due — the earliest one-off still
/// waiting, or the next occurrence of a loaded app's cron schedule — so a
/// driver of virtual time can jump straight to it instead of polling.
/// `None` when nothing is waiting.
pub async fn next_due(apps: &Apps, now_ms: u64) -> Option<u64> {
    let schedules = &apps.storage().schedules;
    let mut next = match schedules.next_once_due().await {
        Ok(due) => due.map(|ms| ms.max(0) as u64),
        Err(e) => {
            tracing::error!(error = %e, "reading the next one-off tick failed");
            None
        }
    };
    let snapshot = apps.snapshot();
    for version in snapshot.versions() {
        for spec in &version.description.info.schedules {
            let Ok(cron) = spec.cron.parse::<croner::Cron>() else {
                continue;
            };
            // Counted from its last firing, or from now for a schedule not
            // seen yet (as `due_cron_ticks` starts it).
            let from = match schedules.last_cron_fire(&version.id, &spec.name).await {
                Ok(Some(last)) => last,
                _ => now_ms as i64,
            };
            let Some(after) = DateTime::<Utc>::from_timestamp_millis(from) else {
                continue;
            };
            if let Ok(at) = cron.find_next_occurrence(&after, false) {
                let at = at.timestamp_millis().max(0) as u64;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
    }
    next
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
