//! `log`: an app's log lines, emitted as `tracing` events tagged with the app
//! (the invocation span adds user, command and version).

use super::HostState;
use crate::runtime::bindings::log::{self, Level};

/// Longest line an app may log; longer ones are cut so a guest cannot flood
/// the host's logs with one call.
const MAX_LINE_BYTES: usize = 8 * 1024;

/// Lines one invocation may log; past it lines are dropped (and that is said
/// once), so a guest cannot flood the host's logs with many calls either.
pub const MAX_LINES_PER_INVOCATION: u32 = 1000;

/// Per-invocation log state.
#[derive(Default)]
pub struct LogState {
    lines: u32,
}

impl LogState {
    /// Counts a line; whether it may be written.
    fn admit(&mut self) -> bool {
        self.lines = self.lines.saturating_add(1);
        self.lines <= MAX_LINES_PER_INVOCATION
    }

    /// Whether the line just refused was the first one refused.
    fn first_refused(&self) -> bool {
        self.lines == MAX_LINES_PER_INVOCATION + 1
    }
}

impl log::Host for HostState {
    fn write(&mut self, level: Level, message: String) {
        if !self.log.admit() {
            if self.log.first_refused() {
                tracing::warn!(
                    target: "botyard::app",
                    app = &*self.app,
                    "app logged more than {MAX_LINES_PER_INVOCATION} lines in one invocation; dropping the rest"
                );
            }
            return;
        }
        let mut message = message;
        if message.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let app = &*self.app;
        match level {
            Level::Debug => tracing::debug!(target: "botyard::app", app, "{message}"),
            Level::Info => tracing::info!(target: "botyard::app", app, "{message}"),
            Level::Warn => tracing::warn!(target: "botyard::app", app, "{message}"),
            Level::Error => tracing::error!(target: "botyard::app", app, "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_may_log_a_bounded_number_of_lines() {
        let mut state = LogState::default();
        assert!((0..MAX_LINES_PER_INVOCATION).all(|_| state.admit()));
        assert!(!state.admit());
        assert!(state.first_refused());
        assert!(!state.admit());
        assert!(!state.first_refused(), "the drop is reported once");
    }
}
