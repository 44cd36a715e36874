//! `clock`: wall-clock time from the host.

use std::time::{SystemTime, UNIX_EPOCH};

use super::HostState;
use crate::runtime::bindings::clock;

/// Milliseconds since the Unix epoch (0 if the system clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl clock::Host for HostState {
    fn now_ms(&mut self) -> u64 {
        now_ms()
    }
}
