//! Fires scheduled ticks: one-offs apps asked for with `schedule.once`, and
//! the recurring cron schedules they declare in `describe`.
//!
//! **Each (schedule, due time) runs once across the cluster.** Both kinds
//! are driven from storage. A due tick is claimed and taken into the inbox
//! ([`super::inbox`]) in **one commit** ([`ScheduleStore::claim_tick`]): a
//! one-off's row is deleted, or a cron schedule's last fire time is moved
//! from the occurrence before to this one by compare-and-set, together
//! with the run's inbox row `tick:<app>/<schedule>/<due_ms>` — the run's
//! unique row — claimed by this process with a lease. However many
//! schedulers look, one claim wins; the run is done in its own unit; and a
//! process killed after the claim leaves a lease that runs out, so another
//! process (any replica's inbox takeover) runs it. There is no moment at
//! which a due time is claimed but has no run to show for it.
//!
//! **Catch-up.** A cron schedule's last fire time is the due time of the
//! occurrence it last fired, so after downtime — the host down, the app
//! unloaded, the database away — the occurrences missed since are known.
//! Each fires once, oldest first, within a limit: those due in the last
//! [`CATCH_UP_WINDOW`], at most [`CATCH_UP_MAX`] of them (the newest). A
//! schedule every minute and a host down for a day fire the last ten
//! minutes' worth, not 1,440 ticks in a burst; a daily report missed by
//! half an hour still goes out. Older ones are skipped for good, and the
//! skip is logged once (by whichever scheduler claims past them) with the
//! count. A one-off is one due time: it fires once whenever the host is
//! back, however late.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::inbox::{self, Answer, Inbox, Work};
use crate::contract::bindings::types::Tick;
use crate::contract::request::Request;
use crate::contract::time::now_ms;
use crate::routing::Apps;
use crate::storage::{Claim, ScheduleStore, StorageError, TickRun, TickSource};

/// How often due ticks are looked for: cron's finest unit.
pub const POLL: Duration = Duration::from_secs(1);

/// How late a missed cron occurrence may still fire. An hour: late enough
/// for a restart, a deploy or a database failover, early enough that a
/// reminder or a report that fires is still about the day it was for.
pub const CATCH_UP_WINDOW: Duration = Duration::from_secs(60 * 60);

/// How many missed occurrences of one cron schedule fire at most when it
/// catches up (the newest ones, oldest first): enough that a schedule every
/// few minutes is caught up whole after a short outage, few enough that one
/// every second does not replay an hour in a burst.
pub const CATCH_UP_MAX: usize = 10;

/// How many due one-offs one look reads at a time.
const ONCE_BATCH: u32 = 256;

/// How many skipped occurrences are counted one by one for the log; past
/// this (a schedule every second, down for days) the count is a floor.
const SKIPPED_COUNTED: u64 = 10_000;

/// Runs until the returned task is aborted.
pub fn spawn(apps: Arc<Apps>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The inbox with its takeover loop, in every process that
        // schedules, receiver or not: a tick claimed by a process that died
        // is run by whichever process sees its lease run out. Ticks run
        // through it are known to be running here, so a long one is never
        // taken over by this process itself.
        let inbox = Inbox::of(&apps);
        let mut interval = tokio::time::interval(POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            // The host's clock, not the wall clock: under the test kit
            // virtual time decides what is due.
            let now = apps.runtime().clock().now_ms();
            fire(&apps, Some(&inbox), now).await;
        }
    })
}

/// Fires every tick due at `now_ms` that no other scheduler claimed first
/// (missed cron occurrences within the catch-up limits included); returns
/// how many this call claimed and ran.
pub async fn fire_due(apps: &Apps, now_ms: u64) -> usize {
    fire(apps, None, now_ms).await
}

async fn fire(apps: &Apps, inbox: Option<&Arc<Inbox>>, now_ms: u64) -> usize {
    let mut fired = fire_once(apps, inbox, now_ms).await;
    let snapshot = apps.snapshot();
    if snapshot
        .versions()
        .all(|v| v.description.info.schedules.is_empty())
    {
        return fired;
    }
    let last = match apps.storage().schedules.cron_fires().await {
        Ok(last) => last,
        Err(e) => {
            tracing::error!(error = %e, "reading cron state failed");
            return fired;
        }
    };
    for version in snapshot.versions() {
        for spec in &version.description.info.schedules {
            let Ok(cron) = spec.cron.parse::<croner::Cron>() else {
                continue;
            }; // checked at load
            let key = (version.id.to_string(), spec.name.clone());
            let schedule = Cron {
                app: &version.id,
                name: &spec.name,
                cron: &cron,
                last: last.get(&key).copied(),
            };
            fired += fire_cron(apps, inbox, &schedule, now_ms as i64).await;
        }
    }
    fired
}

/// Claims and runs the one-offs due at `now_ms`, earliest first.
async fn fire_once(apps: &Apps, inbox: Option<&Arc<Inbox>>, now_ms: u64) -> usize {
    let schedules = &apps.storage().schedules;
    let mut fired = 0;
    loop {
        let due = match schedules.due_once(now_ms as i64, ONCE_BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "reading due schedules failed");
                return fired;
            }
        };
        let mut claimed = 0;
        for tick in &due {
            let run = Due {
                app: &tick.app,
                name: &tick.name,
                due_ms: tick.due_ms,
                source: TickSource::Once,
            };
            match run.claim(schedules.as_ref()).await {
                Ok(Some(taken)) => {
                    claimed += 1;
                    taken.run(apps, inbox, &run).await;
                }
                Ok(None) => {
                    tracing::debug!(
                        app = tick.app,
                        schedule = tick.name,
                        "tick claimed elsewhere"
                    )
                }
                Err(e) => {
                    tracing::error!(app = tick.app, schedule = tick.name, error = %e, "claiming a tick failed")
                }
            }
        }
        fired += claimed;
        // A full batch may have more behind it; one where nothing could be
        // claimed (rows being rescheduled right now) waits for the next look.
        if due.len() < ONCE_BATCH as usize || claimed == 0 {
            return fired;
        }
    }
}

/// One cron schedule of a loaded app, with when it last fired (read for
/// every schedule at once, [`ScheduleStore::cron_fires`]).
///
/// [`ScheduleStore::cron_fires`]: crate::storage::ScheduleStore::cron_fires
struct Cron<'a> {
    app: &'a str,
    name: &'a str,
    cron: &'a croner::Cron,
    last: Option<i64>,
}

/// Claims and runs the occurrences of one cron schedule due by `now_ms`
/// (catching up within the limits), oldest first. A schedule seen for the
/// first time starts counting now.
async fn fire_cron(
    apps: &Apps,
    inbox: Option<&Arc<Inbox>>,
    schedule: &Cron<'_>,
    now_ms: i64,
) -> usize {
    let Cron {
        app,
        name,
        cron,
        last,
    } = *schedule;
    let schedules = apps.storage().schedules.as_ref();
    let Some(last) = last else {
        if let Err(e) = schedules.advance_cron(app, name, None, now_ms).await {
            tracing::error!(app, schedule = name, error = %e, "starting a cron schedule failed");
        }
        return 0;
    };
    let missed = Missed::since(cron, last, now_ms, CATCH_UP_WINDOW, CATCH_UP_MAX);
    if missed.fire.is_empty() {
        if missed.skipped > 0 {
            // Every occurrence missed is older than the window: passed over
            // (logged by the one scheduler whose compare-and-set wins).
            match schedules.advance_cron(app, name, Some(last), now_ms).await {
                Ok(true) => missed.log_skipped(app, name),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(app, schedule = name, error = %e, "skipping missed cron occurrences failed")
                }
            }
        }
        return 0;
    }
    let mut after = last;
    let mut fired = 0;
    for due_ms in missed.fire.iter().copied() {
        let run = Due {
            app,
            name,
            due_ms,
            source: TickSource::Cron { after },
        };
        match run.claim(schedules).await {
            Ok(Some(taken)) => {
                if after == last && missed.skipped > 0 {
                    missed.log_skipped(app, name);
                }
                fired += 1;
                taken.run(apps, inbox, &run).await;
            }
            Ok(None) => {
                // Another scheduler is ahead on this schedule; it carries on.
                tracing::debug!(
                    app,
                    schedule = name,
                    due_ms,
                    "cron occurrence claimed elsewhere"
                );
                break;
            }
            Err(e) => {
                // Nothing was claimed: the next look tries this one again.
                tracing::error!(app, schedule = name, due_ms, error = %e, "claiming a cron occurrence failed");
                break;
            }
        }
        after = due_ms;
    }
    fired
}

/// One due tick of a schedule.
struct Due<'a> {
    app: &'a str,
    name: &'a str,
    due_ms: i64,
    source: TickSource,
}

/// A tick claimed, with its run in the inbox.
struct Taken {
    work: Work,
    claim: Claim,
}

impl Due<'_> {
    /// The run's inbox key: one per app, schedule and due time.
    fn key(&self) -> String {
        format!("tick:{}/{}/{}", self.app, self.name, self.due_ms)
    }

    fn work(&self) -> Work {
        Work {
            request: Request::Tick(Tick {
                name: self.name.to_string(),
                due_ms: self.due_ms.max(0) as u64,
            }),
            response_url: None,
            answer: Answer::Nothing,
        }
    }

    /// Claims the tick and takes its run into the inbox, in one commit;
    /// `None` when another scheduler did (or the schedule moved on).
    async fn claim(&self, schedules: &dyn ScheduleStore) -> Result<Option<Taken>, StorageError> {
        let work = self.work();
        let key = self.key();
        let body = work.encode();
        let run = TickRun {
            app: self.app,
            name: self.name,
            due_ms: self.due_ms,
            source: self.source,
            key: &key,
            body: &body,
        };
        // Leases are on the host's wall clock, as the inbox's takeover
        // reads them; virtual time only decides what is due.
        let claim = schedules
            .claim_tick(run, now_ms() as i64, inbox::LEASE)
            .await?;
        Ok(claim.map(|claim| Taken { work, claim }))
    }
}

impl Taken {
    /// Runs the tick, settling its run in the tick's own unit.
    async fn run(self, apps: &Apps, inbox: Option<&Arc<Inbox>>, due: &Due<'_>) {
        let ran = match inbox {
            Some(inbox) => inbox.run(due.app, self.work, self.claim).await,
            None => {
                let hooks = self.work.hooks(self.claim);
                apps.invoke_with(due.app, self.work.request, &hooks).await
            }
        };
        if let Err(e) = ran {
            tracing::warn!(app = due.app, schedule = due.name, due_ms = due.due_ms, error = %e, "scheduled tick failed");
        }
    }
}

/// The first occurrence of `cron` strictly after `after_ms`, Unix ms.
/// Occurrences are whole seconds; counting from the second `after_ms` falls
/// in keeps them so, even from a last fire time with milliseconds (one
/// written when a schedule started, or by an older botyard).
fn next_occurrence(cron: &croner::Cron, after_ms: i64) -> Option<i64> {
    let second = after_ms.div_euclid(1000) * 1000;
    let after = DateTime::<Utc>::from_timestamp_millis(second)?;
    let next = cron.find_next_occurrence(&after, false).ok()?;
    Some(next.timestamp_millis())
}

/// The occurrences of a cron schedule missed since its last fire time, as
/// catch-up takes them.
#[derive(Debug, PartialEq, Eq)]
struct Missed {
    /// To fire, oldest first: the newest `max` due within the window.
    fire: Vec<i64>,
    /// Passed over: older than the window, or beyond `max`.
    skipped: u64,
    /// `skipped` stopped counting at [`SKIPPED_COUNTED`]; there were more.
    more: bool,
}

impl Missed {
    fn since(cron: &croner::Cron, last: i64, now: i64, window: Duration, max: usize) -> Missed {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let start = now.saturating_sub(window_ms);
        let mut missed = Missed {
            fire: Vec::new(),
            skipped: 0,
            more: false,
        };
        let mut cursor = last;
        // Before the window: counted, never fired.
        while let Some(at) = next_occurrence(cron, cursor).filter(|at| *at < start && *at <= now) {
            missed.skipped += 1;
            cursor = at;
            if missed.skipped == SKIPPED_COUNTED {
                missed.more = true;
                cursor = cursor.max(start - 1);
                break;
            }
        }
        // Within it: the newest `max`.
        let mut fire = VecDeque::with_capacity(max + 1);
        while let Some(at) = next_occurrence(cron, cursor).filter(|at| *at <= now) {
            fire.push_back(at);
            if fire.len() > max {
                fire.pop_front();
                missed.skipped += 1;
            }
            cursor = at;
        }
        missed.fire = fire.into();
        missed
    }

    fn log_skipped(&self, app: &str, name: &str) {
        tracing::warn!(
            app,
            schedule = name,
            skipped = self.skipped,
            at_least = self.more,
            window_s = CATCH_UP_WINDOW.as_secs(),
            max = CATCH_UP_MAX,
            "missed cron occurrences skipped: older than the catch-up window, or more than it fires"
        );
    }
}

/// When the next tick after `now_ms` is due — the earliest one-off still
/// waiting, or the next occurrence of a loaded app's cron schedule after its
/// last firing — so a driver of virtual time can jump straight to it instead
/// of polling. `None` when nothing is waiting.
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
    let last = schedules.cron_fires().await.unwrap_or_default();
    for version in snapshot.versions() {
        for spec in &version.description.info.schedules {
            let Ok(cron) = spec.cron.parse::<croner::Cron>() else {
                continue;
            };
            // Counted from its last firing, or from now for a schedule not
            // seen yet (as `fire_cron` starts it).
            let key = (version.id.to_string(), spec.name.clone());
            let from = last.get(&key).copied().unwrap_or(now_ms as i64);
            if let Some(at) = next_occurrence(&cron, from) {
                let at = at.max(0) as u64;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    /// 2026-01-01T00:00:00Z, on every boundary cron cares about.
    const T0: i64 = 1_767_225_600_000;

    fn cron(pattern: &str) -> croner::Cron {
        pattern.parse().unwrap()
    }

    #[test]
    fn occurrences_are_whole_seconds_strictly_after() {
        let every_minute = cron("* * * * *");
        assert_eq!(next_occurrence(&every_minute, T0), Some(T0 + MINUTE));
        assert_eq!(next_occurrence(&every_minute, T0 + 1), Some(T0 + MINUTE));
        assert_eq!(next_occurrence(&every_minute, T0 - 1), Some(T0));
        let every_5s = cron("*/5 * * * * *");
        assert_eq!(next_occurrence(&every_5s, T0 + 4_999), Some(T0 + 5_000));
    }

    #[test]
    fn nothing_missed_fires_nothing() {
        let m = Missed::since(&cron("* * * * *"), T0, T0 + 59_999, CATCH_UP_WINDOW, 10);
        assert_eq!(m.fire, Vec::<i64>::new());
        assert_eq!(m.skipped, 0);
    }

    #[test]
    fn each_missed_occurrence_fires_oldest_first_up_to_the_max() {
        let every_minute = cron("* * * * *");
        let m = Missed::since(&every_minute, T0, T0 + 3 * MINUTE, CATCH_UP_WINDOW, 10);
        assert_eq!(m.fire, [T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
        assert_eq!(m.skipped, 0);
        // Two hours down: 120 missed, the hour before now is in the window,
        // and of that the newest ten fire.
        let now = T0 + 120 * MINUTE;
        let m = Missed::since(&every_minute, T0, now, CATCH_UP_WINDOW, 10);
        let newest: Vec<i64> = (111..=120).map(|k| T0 + k * MINUTE).collect();
        assert_eq!(m.fire, newest);
        assert_eq!(m.skipped, 110);
        assert!(!m.more);
    }

    #[test]
    fn occurrences_older_than_the_window_are_skipped() {
        let hourly = cron("0 * * * *");
        let now = T0 + 5 * 60 * MINUTE + 30 * MINUTE;
        let m = Missed::since(&hourly, T0, now, CATCH_UP_WINDOW, 10);
        assert_eq!(m.fire, [T0 + 5 * 60 * MINUTE]);
        assert_eq!(m.skipped, 4);
        // A daily one, two days and two hours down: both occurrences are
        // older than the window.
        let daily = cron("0 0 * * *");
        let now = T0 + 2 * 24 * 60 * MINUTE + 2 * 60 * MINUTE;
        let m = Missed::since(&daily, T0, now, CATCH_UP_WINDOW, 10);
        assert_eq!(m.fire, Vec::<i64>::new());
        assert_eq!(m.skipped, 2);
    }

    #[test]
    fn counting_what_is_skipped_is_bounded() {
        let every_second = cron("* * * * * *");
        let week = 7 * 24 * 60 * MINUTE;
        let m = Missed::since(&every_second, T0, T0 + week, CATCH_UP_WINDOW, 10);
        assert!(m.more);
        assert!(m.skipped >= SKIPPED_COUNTED);
        let newest: Vec<i64> = (0..10).rev().map(|k| T0 + week - k * 1_000).collect();
        assert_eq!(m.fire, newest);
    }
}
