//! Retry pacing: one exponential backoff for every place the host tries
//! again — Web API calls, outbox delivery, `response_url` posts and Socket
//! Mode reconnects — so they all back off the same way and are tuned in one
//! place.

use std::time::Duration;

/// Waits `base` after the first failure, doubling after each further one, up
/// to `max`. With jitter, each wait is drawn from 75–125 % of that, so many
/// hosts (or many connections) that failed together do not retry in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub jitter: bool,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max,
            jitter: false,
        }
    }

    pub const fn with_jitter(mut self) -> Backoff {
        self.jitter = true;
        self
    }

    /// The wait before the next try, after `failures` failed tries (the
    /// first wait is after one failure; 0 counts as 1).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        let wait = self.base.saturating_mul(factor).min(self.max);
        if self.jitter {
            wait.mul_f64(0.75 + jitter_fraction() / 2.0)
        } else {
            wait
        }
    }
}

/// A number in `[0, 1)` that differs from call to call; cheap, not random
/// enough for anything but spreading retries.
fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_base_up_to_max() {
        let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(3));
        let waits: Vec<u64> = (1..=5).map(|n| b.delay(n).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
        assert_eq!(b.delay(0), b.delay(1));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(3));
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        let b = Backoff::new(Duration::from_secs(4), Duration::from_secs(60)).with_jitter();
        for n in 1..=8 {
            let plain = Backoff { jitter: false, ..b }.delay(n);
            let wait = b.delay(n);
            assert!(
                wait >= plain.mul_f64(0.75) && wait <= plain.mul_f64(1.25),
                "{wait:?} vs {plain:?}"
            );
        }
    }
}
