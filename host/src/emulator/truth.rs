//! The ground truth: every Web API call the emulator answered and every
//! delivery it made to a host, as Slack itself would know them. A checker
//! of a cluster of hosts compares what the hosts *claim* (acknowledged,
//! posted once) with what Slack *saw* (which delivery was acked in time,
//! which calls changed the workspace, in what order), so both logs record
//! outcomes by Slack's rules — an answer after the 3 s deadline is a failed
//! delivery even if the host then did the work — and keep the late answer
//! beside it, because "failed for Slack but done by the host" is exactly
//! what a duplicate comes from.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::outbound::{Endpoint, Transport};
use crate::contract::time::now_micros;

/// Which credential a Web API call presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallToken {
    /// The bot token (`xoxb-…`).
    Bot,
    /// The app-level token (`xapp-…`).
    App,
    /// A token that is not the app's.
    Invalid,
    /// No token at all.
    Missing,
    /// A `response_url` post: no token, the URL itself is the credential.
    Url,
}

/// One Web API call (or `response_url` post) the emulator answered.
#[derive(Debug, Clone, Serialize)]
pub struct ApiCall {
    /// Position in the log, from 1: the order the calls were answered in.
    /// A call that changed the workspace is logged while the workspace is
    /// still locked, so this is also the order of their effects.
    pub seq: u64,
    /// When the request arrived, in microseconds since the Unix epoch.
    pub received_micros: u64,
    /// When the answer was ready (after any injected delay).
    pub answered_micros: u64,
    /// The method (`chat.postMessage`), or `response_url` for a post to
    /// one of the URLs handed to the host with a command or interaction.
    pub method: String,
    /// The app whose token made the call (`api_app_id`); `None` when the
    /// token was missing or not the app's. `response_url` posts carry no
    /// token: the URL itself belongs to the app.
    pub app: Option<String>,
    pub token: CallToken,
    /// The arguments as the emulator parsed them (query, form or JSON body;
    /// a `response_url` post's JSON body), without the `token` argument;
    /// `Null` when they could not be parsed.
    pub args: Value,
    /// For a `response_url` post, the URL's id (its last path segment).
    pub response_url: Option<String>,
    /// The HTTP status answered (Slack answers most errors with 200).
    pub status: u16,
    /// The answer's `ok`.
    pub ok: bool,
    /// The answer's `error`, when not ok.
    pub error: Option<String>,
    /// The whole answer, e.g. the `ts` a `chat.postMessage` got.
    pub response: Value,
    /// The injected fault the call met, if any (see [`super::Fault`]).
    pub fault: Option<String>,
}

impl ApiCall {
    /// Builds a record from an answer body; `seq` is set when it is logged.
    pub(super) fn new(method: &str, received_micros: u64, status: u16, response: Value) -> ApiCall {
        ApiCall {
            seq: 0,
            received_micros,
            answered_micros: now_micros(),
            method: method.to_string(),
            app: None,
            token: CallToken::Missing,
            args: Value::Null,
            response_url: None,
            status,
            ok: response["ok"].as_bool().unwrap_or(false),
            error: response["error"].as_str().map(str::to_string),
            response,
            fault: None,
        }
    }
}

/// Why Slack counts a delivery as not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// No connection to the host, or it broke before an answer (refused,
    /// unreachable, reset). Slack's retry reason: `connection_failed`.
    Connection(String),
    /// No answer (HTTP) or ack (Socket Mode) within the deadline.
    /// Slack's retry reason: `http_timeout` (over a socket, `timeout`).
    Timeout,
    /// The host answered with a status other than 2xx. Slack's retry
    /// reason: `http_error`.
    Status(u16),
    /// The socket the envelope went out on closed before its ack; the
    /// envelope goes out again on another socket (a later record).
    SocketClosed,
}

impl Failure {
    /// The `X-Slack-Retry-Reason` Slack sends with the retry this failure causes.
    pub fn retry_reason(&self) -> &'static str {
        match self {
            Failure::Connection(_) => "connection_failed",
            Failure::Timeout => "http_timeout",
            Failure::Status(_) => "http_error",
            Failure::SocketClosed => "timeout",
        }
    }
}

/// What became of a delivery, by Slack's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Sent on a socket; the ack has not come (yet).
    Waiting,
    /// Acknowledged in time: a 2xx answer within the deadline, or the
    /// envelope's ack before Slack gave up on it.
    Acked,
    /// Not acknowledged, and why. The host may still have answered later
    /// (see [`Delivery::answered_late`]).
    Unacked(Failure),
}

/// One request Slack sent a host: an HTTP POST to a Request URL or an
/// envelope on a Socket Mode connection. Every attempt is its own record.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Position in the log, from 1: the order the attempts went out in.
    pub seq: u64,
    /// When it went out, in microseconds since the Unix epoch.
    pub sent_micros: u64,
    /// A slash command, an interaction or an event.
    pub endpoint: Endpoint,
    pub transport: Transport,
    /// The URL it was posted to, or `socket:<n>` for the emulator's n-th
    /// Socket Mode connection (its `hello` names it `applink-emulator-<n>`).
    pub target: String,
    /// The event's `event_id`, for Events API deliveries.
    pub event_id: Option<String>,
    /// The envelope's id, over Socket Mode.
    pub envelope_id: Option<String>,
    /// 0 for a first attempt; else Slack's `X-Slack-Retry-Num` or the
    /// envelope's `retry_attempt` (for other envelopes: earlier sends).
    pub retry_num: u32,
    /// `X-Slack-Retry-Reason` / the envelope's `retry_reason`, on a retry.
    pub retry_reason: Option<String>,
    pub outcome: Outcome,
    /// The HTTP status of the host's answer (200 for a socket ack),
    /// whenever it came — also after the deadline.
    pub status: Option<u16>,
    /// Time from sending to that answer or ack.
    pub elapsed: Option<Duration>,
    /// The answer's body, or the ack's `payload` as JSON text.
    pub body: Option<String>,
}

impl Delivery {
    pub fn acked(&self) -> bool {
        self.outcome == Outcome::Acked
    }

    /// The host answered 2xx (or acked) after Slack had stopped waiting:
    /// it may have done the work although Slack counts the delivery failed.
    pub fn answered_late(&self) -> bool {
        matches!(self.outcome, Outcome::Unacked(Failure::Timeout))
            && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What a new delivery record starts with.
pub(super) struct Sending {
    pub endpoint: Endpoint,
    pub transport: Transport,
    pub target: String,
    pub event_id: Option<String>,
    pub envelope_id: Option<String>,
    pub retry_num: u32,
    pub retry_reason: Option<String>,
}

/// Both logs. A leaf lock: nothing else is locked while holding it.
#[derive(Default)]
pub struct Truth {
    calls: Mutex<Vec<ApiCall>>,
    deliveries: Mutex<Vec<Delivery>>,
}

impl Truth {
    pub(super) fn log_call(&self, mut call: ApiCall) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        call.seq = calls.len() as u64 + 1;
        calls.push(call);
    }

    pub fn calls(&self) -> Vec<ApiCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock_deliveries().clone()
    }

    fn lock_deliveries(&self) -> std::sync::MutexGuard<'_, Vec<Delivery>> {
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an attempt going out; returns its `seq`.
    pub(super) fn sent(&self, sending: Sending) -> u64 {
        let mut deliveries = self.lock_deliveries();
        let seq = deliveries.len() as u64 + 1;
        deliveries.push(Delivery {
            seq,
            sent_micros: now_micros(),
            endpoint: sending.endpoint,
            transport: sending.transport,
            target: sending.target,
            event_id: sending.event_id,
            envelope_id: sending.envelope_id,
            retry_num: sending.retry_num,
            retry_reason: sending.retry_reason,
            outcome: Outcome::Waiting,
            status: None,
            elapsed: None,
            body: None,
        });
        seq
    }

    fn update(&self, seq: u64, change: impl FnOnce(&mut Delivery)) {
        let mut deliveries = self.lock_deliveries();
        if let Some(delivery) = seq
            .checked_sub(1)
            .and_then(|i| deliveries.get_mut(i as usize))
        {
            change(delivery);
        }
    }

    /// The host answered an HTTP delivery (or the request failed). Judged by
    /// Slack's rules unless Slack already gave up on it, in which case the
    /// answer is only kept beside the failure.
    pub(super) fn answered(
        &self,
        seq: u64,
        answer: Result<(u16, Duration, &str), Failure>,
        deadline: Duration,
    ) {
        self.update(seq, |d| {
            let waiting = d.outcome == Outcome::Waiting;
            match answer {
                Ok((status, elapsed, body)) => {
                    d.status = Some(status);
                    d.elapsed = Some(elapsed);
                    d.body = Some(body.to_string());
                    if waiting {
                        d.outcome = if elapsed > deadline {
                            Outcome::Unacked(Failure::Timeout)
                        } else if (200..300).contains(&status) {
                            Outcome::Acked
                        } else {
                            Outcome::Unacked(Failure::Status(status))
                        };
                    }
                }
                Err(failure) => {
                    if waiting {
                        d.outcome = Outcome::Unacked(failure);
                    }
                }
            }
        });
    }

    /// A socket ack. `in_time` false: Slack had given up on the envelope.
    pub(super) fn acked(
        &self,
        seq: u64,
        elapsed: Duration,
        payload: Option<&Value>,
        in_time: bool,
    ) {
        self.update(seq, |d| {
            d.status = Some(200);
            d.elapsed = Some(elapsed);
            d.body = payload.map(Value::to_string);
            if in_time && d.outcome == Outcome::Waiting {
                d.outcome = Outcome::Acked;
            }
        });
    }

    /// Slack stops waiting for this delivery: it failed for `failure`
    /// unless it was settled already.
    pub(super) fn failed(&self, seq: u64, failure: Failure) {
        self.update(seq, |d| {
            if d.outcome == Outcome::Waiting {
                d.outcome = Outcome::Unacked(failure);
            }
        });
    }

    pub(super) fn outcome(&self, seq: u64) -> Option<Outcome> {
        let deliveries = self.lock_deliveries();
        let i = seq.checked_sub(1)? as usize;
        deliveries.get(i).map(|d| d.outcome.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sending() -> Sending {
        Sending {
            endpoint: Endpoint::Events,
            transport: Transport::Http,
            target: "http://127.0.0.1:1/".into(),
            event_id: Some("Ev1".into()),
            envelope_id: None,
            retry_num: 0,
            retry_reason: None,
        }
    }

    #[test]
    fn answers_are_judged_by_slacks_deadline_and_late_ones_kept() {
        let truth = Truth::default();
        let deadline = Duration::from_secs(3);
        let quick = truth.sent(sending());
        let slow = truth.sent(sending());
        let error = truth.sent(sending());
        let given_up = truth.sent(sending());
        truth.answered(quick, Ok((200, Duration::from_millis(5), "")), deadline);
        truth.answered(slow, Ok((200, Duration::from_secs(4), "")), deadline);
        truth.answered(error, Ok((503, Duration::from_millis(5), "")), deadline);
        truth.failed(given_up, Failure::Timeout);
        truth.answered(
            given_up,
            Ok((200, Duration::from_secs(9), "late")),
            deadline,
        );

        let log = truth.deliveries();
        assert_eq!(log.iter().map(|d| d.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert!(log[0].acked() && !log[0].answered_late());
        assert_eq!(log[1].outcome, Outcome::Unacked(Failure::Timeout));
        assert!(log[1].answered_late());
        assert_eq!(log[2].outcome, Outcome::Unacked(Failure::Status(503)));
        assert!(!log[2].answered_late());
        assert_eq!(log[3].outcome, Outcome::Unacked(Failure::Timeout));
        assert_eq!(
            (log[3].status, log[3].body.as_deref()),
            (Some(200), Some("late"))
        );
        assert!(log[3].answered_late());
    }

    #[test]
    fn a_late_socket_ack_does_not_turn_a_failure_into_an_ack() {
        let truth = Truth::default();
        let seq = truth.sent(sending());
        truth.failed(seq, Failure::Timeout);
        truth.acked(seq, Duration::from_secs(5), None, false);
        assert_eq!(truth.outcome(seq), Some(Outcome::Unacked(Failure::Timeout)));
        assert_eq!(truth.deliveries()[0].status, Some(200));
        let in_time = truth.sent(sending());
        truth.acked(in_time, Duration::from_millis(1), None, true);
        assert_eq!(truth.outcome(in_time), Some(Outcome::Acked));
    }
}
