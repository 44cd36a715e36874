//! Talking to Slack: post (with options), update, ephemeral, DM, modals, App
//! Home, reactions, user lookup, scheduled messages, permalinks, threads,
//! channel and user-group members, channels, topics, pins and file uploads.
//! The functions are the WIT's, by their names; calls that change something
//! are queued durably before they return, calls that ask a question
//! (`get_permalink`, `thread_replies`, `channel_members`, `user_groups`,
//! `user_group_members`) ask Slack at once.
//!
//! ```no_run
//! use botyard_sdk::prelude::*;
//! use serde_json::json;
//!
//! fn announce(channel: &str, thread: &str) -> Result<String, String> {
//!     let options = PostOptions::default()
//!         .thread_ts(thread)
//!         .reply_broadcast(true)
//!         .metadata("deploy", json!({ "version": "1.2.3" }));
//!     let posted = slack::post(channel, &Message::new("Deployed 1.2.3"), &options)?;
//!     slack::pin(&posted)?;
//!     slack::upload_file(channel, "report.csv", "Report", b"a,b\n1,2\n", Some(thread))?;
//!     Ok(slack::get_permalink(&posted)?)
//! }
//! ```
//!
//! A failing call returns a [`SlackError`]; it converts into `String`, so
//! `?` works in handlers.

pub use crate::bindings::botyard::app::slack::*;

impl Default for PostOptions {
    /// Not in a thread, no broadcast, no metadata: what `post_message` does.
    fn default() -> PostOptions {
        PostOptions {
            thread_ts: None,
            reply_broadcast: false,
            metadata: None,
        }
    }
}

impl PostOptions {
    /// Post as a reply in the thread of `ts`.
    pub fn thread_ts(mut self, ts: impl Into<String>) -> PostOptions {
        self.thread_ts = Some(ts.into());
        self
    }

    /// Also show the thread reply in the channel.
    pub fn reply_broadcast(mut self, broadcast: bool) -> PostOptions {
        self.reply_broadcast = broadcast;
        self
    }

    /// Carry Slack message metadata: an event type and a JSON object
    /// (`json!({...})`, or `serde_json::to_value(&yours)?`).
    pub fn metadata(
        mut self,
        event_type: impl Into<String>,
        payload: impl Into<serde_json::Value>,
    ) -> PostOptions {
        self.metadata = Some(MessageMetadata::new(event_type, payload));
        self
    }
}

impl MessageMetadata {
    /// Metadata of `event_type` carrying `payload`, a JSON object.
    pub fn new(
        event_type: impl Into<String>,
        payload: impl Into<serde_json::Value>,
    ) -> MessageMetadata {
        MessageMetadata {
            event_type: event_type.into(),
            payload: payload.into().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_options_build_the_wit_record() {
        assert_eq!(
            PostOptions::default(),
            PostOptions {
                thread_ts: None,
                reply_broadcast: false,
                metadata: None
            }
        );
        let options = PostOptions::default()
            .thread_ts("1700000000.000100")
            .reply_broadcast(true)
            .metadata("slacker", serde_json::json!({"n": 1}));
        assert_eq!(
            options,
            PostOptions {
                thread_ts: Some("1700000000.000100".into()),
                reply_broadcast: true,
                metadata: Some(MessageMetadata {
                    event_type: "slacker".into(),
                    payload: r#"{"n":1}"#.into(),
                }),
            }
        );
    }
}
