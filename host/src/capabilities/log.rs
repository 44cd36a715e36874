//! `log`: an app's log lines, emitted as `tracing` events tagged with the app
//! (the invocation span adds user, command and version) and kept, the most
//! recent per app, for `botyard dev`'s apps panel. WASI guests' stdout and
//! stderr come through the same [`Sink`] (see [`super::wasi`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use wasmtime::component::Linker;

use super::{Capability, Ctx, CtxOf, Host, NoConfig, Services, ctx};
use crate::contract::bindings::log::{self, Level};
use crate::contract::time::now_ms;

/// Lines kept per app in [`AppLogs`]; older ones are dropped first.
pub const KEPT_LINES_PER_APP: usize = 200;

/// Longest line an app may log; longer ones are cut so a guest cannot flood
/// the host's logs with one call.
const MAX_LINE_BYTES: usize = 8 * 1024;

/// Lines one invocation may log; past it lines are dropped (and that is said
/// once), so a guest cannot flood the host's logs with many calls either.
pub const MAX_LINES_PER_INVOCATION: u32 = 1000;

pub struct Log;

pub struct LogState;

impl Capability for Log {
    const NAME: &'static str = "log";
    const DEFAULT_GRANTED: bool = true;
    type AppConfig = NoConfig;
    type AppState = ();
    type InstanceState = LogState;

    fn new(_: &Services) -> Self {
        Log
    }

    fn load(&self, _: &Arc<str>, _: &NoConfig) -> Result<(), String> {
        Ok(())
    }

    fn instance(&self, _: &Arc<()>) -> LogState {
        LogState
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        log::add_to_linker::<T, CtxOf<LogState>>(linker, ctx::<T, Log>)
    }
}

impl log::Host for Ctx<'_, LogState> {
    fn write(&mut self, level: Level, message: String) {
        self.invocation.log.write(level, message);
    }
}

/// One line an app logged (through `log` or, for WASI guests, stdout/stderr).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub at_ms: u64,
    pub level: &'static str,
    pub message: String,
}

/// The most recent log lines of every app, shared by all invocations.
#[derive(Clone, Default)]
pub struct AppLogs {
    lines: Arc<Mutex<HashMap<Arc<str>, VecDeque<LogLine>>>>,
}

impl AppLogs {
    /// The lines `app` logged most recently, oldest first.
    pub fn recent(&self, app: &str) -> Vec<LogLine> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines
            .get(app)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn push(&self, app: &Arc<str>, level: &'static str, message: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let kept = lines.entry(app.clone()).or_default();
        if kept.len() == KEPT_LINES_PER_APP {
            kept.pop_front();
        }
        kept.push_back(LogLine {
            at_ms: now_ms(),
            level,
            message,
        });
    }
}

/// One invocation's way into its app's log, with the invocation's budget.
pub struct Sink {
    app: Arc<str>,
    logs: AppLogs,
    lines: u32,
}

impl Sink {
    pub fn new(app: Arc<str>, logs: AppLogs) -> Self {
        Sink {
            app,
            logs,
            lines: 0,
        }
    }

    /// Counts a line; whether it may be written.
    fn admit(&mut self) -> bool {
        self.lines = self.lines.saturating_add(1);
        self.lines <= MAX_LINES_PER_INVOCATION
    }

    /// Whether the line just refused was the first one refused.
    fn first_refused(&self) -> bool {
        self.lines == MAX_LINES_PER_INVOCATION + 1
    }

    /// Writes one of the app's log lines, within the per-invocation limits.
    pub fn write(&mut self, level: Level, mut message: String) {
        if !self.admit() {
            if self.first_refused() {
                tracing::warn!(
                    target: "botyard::app",
                    app = &*self.app,
                    "app logged more than {MAX_LINES_PER_INVOCATION} lines in one invocation; dropping the rest"
                );
            }
            return;
        }
        if message.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let app = &*self.app;
        let level = match level {
            Level::Debug => {
                tracing::debug!(target: "botyard::app", app, "{message}");
                "debug"
            }
            Level::Info => {
                tracing::info!(target: "botyard::app", app, "{message}");
                "info"
            }
            Level::Warn => {
                tracing::warn!(target: "botyard::app", app, "{message}");
                "warn"
            }
            Level::Error => {
                tracing::error!(target: "botyard::app", app, "{message}");
                "error"
            }
        };
        self.logs.push(&self.app, level, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_may_log_a_bounded_number_of_lines() {
        let mut state = Sink::new("app".into(), AppLogs::default());
        assert!((0..MAX_LINES_PER_INVOCATION).all(|_| state.admit()));
        assert!(!state.admit());
        assert!(state.first_refused());
        assert!(!state.admit());
        assert!(!state.first_refused(), "the drop is reported once");
    }

    #[test]
    fn only_the_most_recent_lines_are_kept_per_app() {
        let logs = AppLogs::default();
        let app: Arc<str> = "poll".into();
        for i in 0..KEPT_LINES_PER_APP + 5 {
            logs.push(&app, "info", format!("line {i}"));
        }
        logs.push(&"other".into(), "warn", "elsewhere".into());
        let kept = logs.recent("poll");
        assert_eq!(kept.len(), KEPT_LINES_PER_APP);
        assert_eq!(kept[0].message, "line 5");
        assert_eq!(
            kept.last().unwrap().message,
            format!("line {}", KEPT_LINES_PER_APP + 4)
        );
        assert_eq!(logs.recent("other").len(), 1);
        assert!(logs.recent("nobody").is_empty());
    }
}
