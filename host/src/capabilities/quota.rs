//! Quotas as the host keeps count of them at run time: the per-minute
//! windows of Slack calls and HTTP requests, and what happens when an app is
//! refused for being over any quota — the refusal counted on `/metrics`,
//! the app's use of the quota shown there, and a warning logged the first
//! time (not once per call: a looping app would flood the log).
//!
//! The store and webhook quotas are counted by storage, in the transaction
//! of each write (see [`crate::storage::Unit::set_quotas`]); only their
//! refusals come through here. One [`Meter`] serves a host, shared through
//! [`super::Services`], so every app's windows outlive its reloads.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::contract::limits::{Quota, bytes_shown};

/// What a per-minute quota counts over.
pub const WINDOW: Duration = Duration::from_secs(60);

/// How often an app's use of a quota counted in storage is measured again
/// for `/metrics` while it writes: far finer than any scrape, and a write
/// costs no extra read most of the time.
pub const SHOW_EVERY: Duration = Duration::from_secs(1);

/// The host's count of every app's quotas.
#[derive(Default)]
pub struct Meter {
    apps: Mutex<Tracks>,
}

/// What is known of each app's use of each quota.
type Tracks = HashMap<(Arc<str>, Quota), Track>;

#[derive(Default)]
struct Track {
    /// When each call let through in the last [`WINDOW`] was (per-minute
    /// quotas only): never more than the limit, so the memory is bounded.
    calls: VecDeque<Instant>,
    /// The limit the app was last warned about reaching; a warning is
    /// logged again only once the limit has changed.
    warned: Option<u64>,
    /// When its use was last measured for `/metrics` (see [`Meter::due`]).
    shown: Option<Instant>,
}

/// Why a per-minute quota let a call through no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// Calls in the last minute.
    pub used: u64,
    /// When the oldest of them leaves the window.
    pub retry_after: Duration,
}

impl Meter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tracks> {
        self.apps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets one more call of `app` through per-minute `quota` with `limit`
    /// (0: unlimited) — a sliding window: at most `limit` in any 60 s — or
    /// says when one may go. A call let through counts whatever becomes of
    /// it; one refused does not.
    pub fn per_minute(&self, app: &Arc<str>, quota: Quota, limit: u64) -> Result<(), Busy> {
        if limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let used = {
            let mut apps = self.lock();
            let track = apps.entry((app.clone(), quota)).or_default();
            while track
                .calls
                .front()
                .is_some_and(|at| now.duration_since(*at) >= WINDOW)
            {
                track.calls.pop_front();
            }
            if track.calls.len() as u64 >= limit {
                let oldest = track.calls.front().copied().unwrap_or(now);
                return Err(Busy {
                    used: track.calls.len() as u64,
                    retry_after: WINDOW.saturating_sub(now.duration_since(oldest)),
                });
            }
            track.calls.push_back(now);
            track.calls.len() as u64
        };
        crate::telemetry::quota_usage(app, quota.name(), used as f64, limit as f64);
        Ok(())
    }

    /// Calls of `app` counted against per-minute `quota` in the last minute.
    pub fn in_last_minute(&self, app: &str, quota: Quota) -> u64 {
        let now = Instant::now();
        self.lock()
            .get(&(Arc::from(app), quota))
            .map_or(0, |track| {
                track
                    .calls
                    .iter()
                    .filter(|at| now.duration_since(**at) < WINDOW)
                    .count() as u64
            })
    }

    /// `app` was refused for being over `quota` (`used` of `limit`, and
    /// `message` is what it was told): counted on `/metrics`, its use shown
    /// there, and the first time — for this limit — a warning logged.
    pub fn refused(&self, app: &str, quota: Quota, used: u64, limit: u64, message: &str) {
        crate::telemetry::quota_refused(app, quota.name());
        crate::telemetry::quota_usage(app, quota.name(), used as f64, limit as f64);
        let first = {
            let mut apps = self.lock();
            let track = apps.entry((Arc::from(app), quota)).or_default();
            let first = track.warned != Some(limit);
            track.warned = Some(limit);
            first
        };
        let name = quota.name();
        if first {
            tracing::warn!(
                app,
                quota = name,
                limit,
                "app `{app}` reached its quota {name}: {message} (logged once; /metrics counts every refusal)"
            );
        } else {
            tracing::debug!(app, quota = name, limit, "refused: over quota");
        }
    }

    /// Whether `app`'s use of `quota` is due to be measured again for
    /// `/metrics` (at most every [`SHOW_EVERY`]); a refusal always shows it.
    pub fn due(&self, app: &Arc<str>, quota: Quota) -> bool {
        let now = Instant::now();
        let mut apps = self.lock();
        let track = apps.entry((app.clone(), quota)).or_default();
        let due = track
            .shown
            .is_none_or(|at| now.duration_since(at) >= SHOW_EVERY);
        if due {
            track.shown = Some(now);
        }
        due
    }

    /// How much of `quota` `app` uses now, for `/metrics` (nothing for an
    /// unlimited one).
    pub fn usage(&self, app: &str, quota: Quota, used: u64, limit: u64) {
        if limit > 0 {
            crate::telemetry::quota_usage(app, quota.name(), used as f64, limit as f64);
        }
    }
}

/// The message a per-minute refusal gives the app: which quota, how long
/// to wait, and who can raise it.
pub fn per_minute_message(app: &str, quota: Quota, what: &str, limit: u64, busy: Busy) -> String {
    let name = quota.name();
    format!(
        "app `{app}` made {} {what} in the last minute, as many as it may ({name} = {limit}); \
         try again in {} s, or ask the operator to raise [apps.{app}] {name} in botyard.toml",
        busy.used,
        busy.retry_after.as_secs().max(1)
    )
}

/// A quota's limit for people: bytes as bytes, the rest as counts, 0 as
/// unlimited.
pub fn limit_shown(quota: Quota, limit: u64) -> String {
    match (quota, limit) {
        (_, 0) => "unlimited".into(),
        (Quota::StoreBytes, n) => bytes_shown(n),
        (_, n) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_lets_limit_calls_through_and_says_when_the_next_may_go() {
        let meter = Meter::default();
        let app: Arc<str> = "spammy".into();
        for _ in 0..3 {
            meter
                .per_minute(&app, Quota::SlackCallsPerMinute, 3)
                .unwrap();
        }
        let busy = meter
            .per_minute(&app, Quota::SlackCallsPerMinute, 3)
            .unwrap_err();
        assert_eq!(busy.used, 3);
        assert!(busy.retry_after > Duration::from_secs(58), "{busy:?}");
        // Another app, and another quota of the same app, are untouched.
        let other: Arc<str> = "quiet".into();
        meter
            .per_minute(&other, Quota::SlackCallsPerMinute, 3)
            .unwrap();
        meter
            .per_minute(&app, Quota::HttpRequestsPerMinute, 3)
            .unwrap();
        assert_eq!(
            meter.in_last_minute("spammy", Quota::SlackCallsPerMinute),
            3
        );
        assert_eq!(
            meter.in_last_minute("quiet", Quota::HttpRequestsPerMinute),
            0
        );
        // 0 is unlimited.
        for _ in 0..1000 {
            meter
                .per_minute(&app, Quota::HttpRequestsPerMinute, 0)
                .unwrap();
        }
        let message =
            per_minute_message("spammy", Quota::SlackCallsPerMinute, "Slack calls", 3, busy);
        assert!(message.contains("slack_calls_per_minute = 3"), "{message}");
        assert!(message.contains("[apps.spammy]"), "{message}");
    }

    #[test]
    fn a_warning_is_due_once_per_limit() {
        let meter = Meter::default();
        let warned = |meter: &Meter| {
            meter
                .lock()
                .get(&(Arc::from("a"), Quota::StoreBytes))
                .and_then(|t| t.warned)
        };
        meter.refused("a", Quota::StoreBytes, 10, 10, "full");
        assert_eq!(warned(&meter), Some(10));
        meter.refused("a", Quota::StoreBytes, 20, 20, "full again");
        assert_eq!(warned(&meter), Some(20), "a raised limit warns again");
        assert_eq!(limit_shown(Quota::StoreBytes, 64 << 20), "64 MiB");
        assert_eq!(limit_shown(Quota::StoreKeys, 0), "unlimited");
        let app: Arc<str> = "a".into();
        assert!(meter.due(&app, Quota::StoreBytes));
        assert!(
            !meter.due(&app, Quota::StoreBytes),
            "not again within a second"
        );
    }
}
