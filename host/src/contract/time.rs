//! Time: the one place the host reads the wall clock.
//!
//! Two kinds of time live here. The free functions ([`now_ms`] …) are the
//! real wall clock, for infrastructure no app can observe: request
//! signatures, leases, retry pacing, the audit log, pruning. A [`Clock`] is
//! the time *apps* live in — what `clock.now-ms` answers, when schedules
//! come due, the timestamps of the emulator's messages. Production uses
//! [`Clock::system`], which is the wall clock; the test kit uses a
//! [`Clock::manual`] it moves by hand, so "the menu is posted at 11:00" is a
//! test that takes milliseconds. One value, handed to the host by
//! `HostBuilder::clock`, so the app-visible time cannot disagree with itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the system clock is before it).
pub fn now_ms() -> u64 {
    since_epoch().as_millis() as u64
}

/// Microseconds since the Unix epoch: Slack's message `ts` resolution.
pub fn now_micros() -> u64 {
    since_epoch().as_micros() as u64
}

/// Whole seconds since the Unix epoch, as Slack's request timestamps count.
pub fn now_secs() -> i64 {
    since_epoch().as_secs() as i64
}

fn since_epoch() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The time apps see. Cheap to clone; clones share one time.
#[derive(Clone, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: virtual microseconds since the
    /// epoch, moved only by [`Clock::advance_to`].
    manual: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The wall clock, as production runs.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock standing still at `start_ms` (Unix milliseconds) until moved.
    pub fn manual(start_ms: u64) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicU64::new(start_ms.saturating_mul(1000)))),
        }
    }

    /// Whether this clock only moves when told to.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    pub fn now_micros(&self) -> u64 {
        match &self.manual {
            Some(micros) => micros.load(Ordering::SeqCst),
            None => now_micros(),
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.now_micros() / 1000
    }

    pub fn now_secs(&self) -> i64 {
        (self.now_micros() / 1_000_000) as i64
    }

    /// Moves a manual clock forward to `ms` (never back: time that went
    /// backwards would re-fire schedules); returns the time it now reads.
    /// The system clock cannot be moved: it is returned unchanged.
    pub fn advance_to(&self, ms: u64) -> u64 {
        if let Some(micros) = &self.manual {
            micros.fetch_max(ms.saturating_mul(1000), Ordering::SeqCst);
        }
        self.now_ms()
    }

    /// Moves a manual clock forward by `by`; see [`Clock::advance_to`].
    pub fn advance(&self, by: Duration) -> u64 {
        self.advance_to(self.now_ms().saturating_add(by.as_millis() as u64))
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::system"),
            Some(_) => write!(f, "Clock::manual({} ms)", self.now_ms()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_forward_and_only_when_told() {
        let clock = Clock::manual(1_000);
        let shared = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        assert_eq!(
            shared.advance(Duration::from_secs(6 * 3600)),
            1_000 + 6 * 3_600_000
        );
        assert_eq!(
            clock.now_ms(),
            1_000 + 6 * 3_600_000,
            "clones share one time"
        );
        assert_eq!(
            clock.advance_to(5),
            1_000 + 6 * 3_600_000,
            "never backwards"
        );
        assert_eq!(clock.now_secs(), (1_000 + 6 * 3_600_000) / 1000);
    }

    #[test]
    fn the_system_clock_is_the_wall_clock() {
        let clock = Clock::system();
        assert!(!clock.is_manual());
        let before = now_ms();
        assert!(clock.now_ms() >= before);
        assert!(clock.advance_to(0) >= before, "cannot be moved");
    }
}
