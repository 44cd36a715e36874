//! `schedule`: one-off ticks an app asks for at run time. Recurring ticks are
//! declared in `describe` and need no import.

use super::HostState;
use crate::runtime::bindings::schedule;

/// Longest schedule name; names are keys in the app's schedule namespace.
const MAX_NAME_BYTES: usize = 200;

impl schedule::Host for HostState {
    fn once(&mut self, name: String, at_ms: u64) -> Result<(), String> {
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(format!("schedule name must be 1..={MAX_NAME_BYTES} bytes"));
        }
        let at_ms = i64::try_from(at_ms).map_err(|_| "at-ms is out of range".to_string())?;
        self.storage
            .schedule_once(&self.app, &name, at_ms)
            .map_err(|e| e.to_string())
    }

    fn cancel(&mut self, name: String) -> bool {
        self.storage
            .cancel_schedule(&self.app, &name)
            .unwrap_or_else(|e| {
                tracing::error!(app = &*self.app, error = %e, "cancelling a schedule failed");
                false
            })
    }
}
