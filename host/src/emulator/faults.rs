//! Fault injection and call counting, so tests can prove the host's client
//! honours `Retry-After`, retries 5xx and does not call more than it should.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// What the emulator answers instead of doing the method's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429, `Retry-After: {retry_after_secs}`, body `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// This HTTP status (e.g. 500, 503) with a short JSON body.
    ServerError(u16),
    /// HTTP 200 with `{"ok":false,"error":<code>}`, for any Slack error code.
    Error(String),
    /// Wait this long, then do the real work: for client-timeout tests.
    Delay(Duration),
}

#[derive(Default)]
pub struct Faults {
    inner: Mutex<FaultsInner>,
}

#[derive(Default)]
struct FaultsInner {
    queued: HashMap<String, VecDeque<Fault>>,
    calls: HashMap<String, usize>,
}

impl Faults {
    /// Queues `fault` for the next `times` calls of `method`, after any already queued.
    pub fn inject(&self, method: &str, fault: Fault, times: usize) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let queue = inner.queued.entry(method.to_string()).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Counts a call and takes the fault it should meet, if any.
    pub fn on_call(&self, method: &str) -> Option<Fault> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *inner.calls.entry(method.to_string()).or_default() += 1;
        inner.queued.get_mut(method).and_then(VecDeque::pop_front)
    }

    pub fn calls(&self, method: &str) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.calls.get(method).copied().unwrap_or(0)
    }

    /// Faults still waiting for `method`.
    pub fn pending(&self, method: &str) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.queued.get(method).map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_and_calls_counted() {
        let faults = Faults::default();
        faults.inject("chat.postMessage", Fault::ServerError(503), 1);
        faults.inject(
            "chat.postMessage",
            Fault::RateLimited {
                retry_after_secs: 1,
            },
            2,
        );
        assert_eq!(
            faults.on_call("chat.postMessage"),
            Some(Fault::ServerError(503))
        );
        assert!(matches!(
            faults.on_call("chat.postMessage"),
            Some(Fault::RateLimited { .. })
        ));
        assert_eq!(faults.pending("chat.postMessage"), 1);
        faults.on_call("chat.postMessage");
        assert_eq!(faults.on_call("chat.postMessage"), None);
        assert_eq!(faults.calls("chat.postMessage"), 4);
        assert_eq!(faults.calls("auth.test"), 0);
    }
}
