//! `log`: an app's log lines, emitted as `tracing` events tagged with the app
//! (the invocation span adds user, command and version).

use super::HostState;
use crate::runtime::bindings::log::{self, Level};

/// Longest line an app may log; longer ones are cut so a guest cannot flood
/// the host's logs with one call.
const MAX_LINE_BYTES: usize = 8 * 1024;

impl log::Host for HostState {
    fn write(&mut self, level: Level, message: String) {
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
