//! Where an app's answer to a Slack request goes.
//!
//! Slack waits about 3 s for its acknowledgement. An answer ready by then
//! rides in it; one that is not goes to the request's `response_url`,
//! **queued in the outbox in the invocation's own unit of work** — so it is
//! kept exactly when the app's writes are, and a host killed right after
//! the commit still answers (the outbox is delivered after a restart, or by
//! another replica). Clicks are always answered that way: Slack ignores the
//! body of their acknowledgement.
//!
//! Which road an answer takes is decided once, by whoever comes first: the
//! invocation, just before its commit ([`Race::answer_ready`]), or the ack
//! deadline ([`Race::deadline`]). Deciding before the commit is what makes
//! it exact: an answer is never both in the acknowledgement and queued, and
//! never in neither.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::contract::request::{Kind, Response};
use crate::runtime::hooks::{Call, Hook};
use crate::slack::json;
use crate::slack::response_url::{RESPONSE_URL_METHOD, queued};
use crate::storage::{NewCall, OutboxStatus, StorageError, Unit};

const OPEN: u8 = 0;
const INLINE: u8 = 1;
const LATE: u8 = 2;

/// The one decision between "in the acknowledgement" and "later, through
/// `response_url`". Cheap to clone; clones share the decision.
#[derive(Clone)]
pub struct Race(Arc<AtomicU8>);

impl Race {
    /// Undecided: the first of the answer and the deadline decides.
    pub fn open() -> Race {
        Race(Arc::new(AtomicU8::new(OPEN)))
    }

    /// Decided already: every answer goes through `response_url` (clicks,
    /// and requests taken over from a host that stopped).
    pub fn late() -> Race {
        Race(Arc::new(AtomicU8::new(LATE)))
    }

    /// The answer is ready (its unit not yet committed): `true` if it goes
    /// in the acknowledgement, `false` if the deadline came first.
    fn answer_ready(&self) -> bool {
        self.decide(INLINE)
    }

    /// The ack deadline passed: `true` if Slack is to be acknowledged now
    /// without the answer, `false` if the answer claimed the
    /// acknowledgement first (it is being committed: wait for it).
    pub fn deadline(&self) -> bool {
        self.decide(LATE)
    }

    /// Whether the answer goes through `response_url` (decided so, by the
    /// deadline or from the start). A read only: it decides nothing.
    pub fn is_late(&self) -> bool {
        self.0.load(Ordering::Acquire) == LATE
    }

    fn decide(&self, to: u8) -> bool {
        match self
            .0
            .compare_exchange(OPEN, to, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(decided) => decided == to,
        }
    }
}

/// How an app's answer (or the error shown in its place) becomes the JSON
/// POSTed to `response_url`; `None` when there is nothing to show.
pub type Render = fn(app: &str, answer: Result<&Response, &str>) -> Option<Value>;

/// The per-invocation hook that queues an answer which missed the
/// acknowledgement, in the invocation's unit.
pub struct LateAnswer {
    race: Race,
    response_url: Option<String>,
    render: Render,
}

impl LateAnswer {
    pub fn new(race: Race, response_url: Option<String>, render: Render) -> LateAnswer {
        LateAnswer {
            race,
            response_url,
            render,
        }
    }
}

#[async_trait]
impl Hook for LateAnswer {
    async fn after(
        &self,
        call: &Call<'_>,
        _duration: Duration,
        outcome: &Result<(), String>,
        unit: &mut dyn Unit,
    ) -> Result<(), StorageError> {
        if call.request.kind() == Kind::Describe || self.race.answer_ready() {
            return Ok(());
        }
        let answer = match (call.response, outcome) {
            (Some(response), _) => Ok(response),
            (None, Err(error)) => Err(error.as_str()),
            (None, Ok(())) => return Ok(()),
        };
        let Some(body) = (self.render)(&call.app.id, answer) else {
            return Ok(());
        };
        let Some(url) = self.response_url.as_deref().filter(|u| !u.is_empty()) else {
            tracing::warn!(
                app = &*call.app.id,
                "an answer was dropped: the request carried no response_url"
            );
            return Ok(());
        };
        unit.enqueue(NewCall {
            app: &call.app.id,
            method: RESPONSE_URL_METHOD,
            payload: &queued(url, body),
            status: OutboxStatus::Pending,
        })
        .await?;
        Ok(())
    }
}

/// An app's answer to a command (or the error shown in its place) as the
/// JSON Slack shows; `None` for "nothing to show".
pub fn command_body(app: &str, answer: Result<&Response, &str>) -> Option<Value> {
    match answer {
        Ok(Response::Command(Some(reply))) => Some(json::reply(app, reply)),
        Ok(Response::Command(None)) => None,
        Ok(other) => Some(json::error_message(&format!(
            "app `{app}` answered a command with {other:?}"
        ))),
        Err(error) => Some(json::error_message(&error)),
    }
}

/// An app's answer to a click (or the error shown in its place) as what to
/// POST to `response_url`.
pub fn action_body(app: &str, answer: Result<&Response, &str>) -> Option<Value> {
    let error = |text: &dyn std::fmt::Display| {
        let mut body = json::error_message(text);
        body["replace_original"] = json!(false);
        Some(body)
    };
    match answer {
        Ok(Response::Action(answer)) => json::action_answer(app, answer.clone()),
        // Shortcuts answer nothing visible through response_url.
        Ok(Response::Done) => None,
        Ok(other) => error(&format!("app `{app}` answered a click with {other:?}")),
        Err(e) => error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_to_decide_wins_and_the_other_learns_it() {
        let race = Race::open();
        assert!(
            race.answer_ready(),
            "an answer before the deadline goes inline"
        );
        assert!(!race.deadline(), "the deadline then waits for it");
        assert!(race.answer_ready(), "asking again keeps the decision");

        let race = Race::open();
        assert!(race.deadline());
        assert!(!race.answer_ready(), "a late answer is queued");
        assert!(!Race::late().answer_ready());
    }
}
