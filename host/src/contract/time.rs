//! Wall-clock time: the one place the host reads it.

use std::time::{SystemTime, UNIX_EPOCH};

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
