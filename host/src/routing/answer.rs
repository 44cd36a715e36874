//! A command's answer posted by the host itself — for a command that ran
//! with no `response_url` to answer through: one held for approval and run
//! once approved (`approvals.rs`), or one asked for in plain words
//! (`inbound/mentions.rs`). The answer goes where the person asked, as a
//! Web API call queued in the caller's unit, so it is sent once the unit
//! commits: an ephemeral answer to them alone, an `in_channel` one to
//! everyone.

use serde_json::{Value, json};

use super::apps::Apps;
use crate::runtime::permissions::HOST_APP;
use crate::storage::{NewCall, StorageError, Unit};

/// Where the person asked.
pub struct Place<'a> {
    pub channel: &'a str,
    pub user: &'a str,
    /// The thread they asked in, if any.
    pub thread: Option<&'a str>,
}

/// Queues `body` (Slack's `{response_type, text, blocks}`) in `unit` as an
/// answer at `place`.
pub async fn post(
    apps: &Apps,
    unit: &mut dyn Unit,
    place: &Place<'_>,
    mut body: Value,
) -> Result<(), StorageError> {
    let in_channel = body["response_type"] == "in_channel";
    if let Some(map) = body.as_object_mut() {
        map.remove("response_type");
        map.remove("replace_original");
    }
    body["channel"] = json!(place.channel);
    if let Some(thread) = place.thread {
        body["thread_ts"] = json!(thread);
    }
    let method = if in_channel {
        "chat.postMessage"
    } else {
        body["user"] = json!(place.user);
        "chat.postEphemeral"
    };
    unit.enqueue(NewCall {
        app: HOST_APP,
        method,
        payload: &body,
        status: apps.runtime().delivery(),
    })
    .await
    .map(|_| ())
}
