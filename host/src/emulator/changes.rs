//! Change notifications: every mutation of the emulated workspace is
//! announced on a broadcast channel, so a live view (the workbench page)
//! redraws the moment an app's `chat.update` lands instead of polling.

use std::ops::{Deref, DerefMut};
use std::sync::MutexGuard;

use serde::Serialize;
use tokio::sync::broadcast;

use super::state::{Message, State};

/// Notices a slow subscriber may fall behind by before it misses some (it
/// then sees `RecvError::Lagged` and should re-read everything).
pub const CHANGE_BUFFER: usize = 1024;

/// What changed in the emulated workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A message was posted, edited or deleted, or its reactions changed.
    Message {
        channel: String,
        ts: String,
        /// The thread it belongs to, when it is a reply.
        thread_ts: Option<String>,
        /// Set for an ephemeral: the one user who sees it.
        visible_to: Option<String>,
    },
    /// A user's modal stack changed (opened, pushed, updated, closed, errors).
    Views { user: String },
    /// A user's App Home was published or updated.
    Home { user: String },
    /// A channel's topic, members, pins or scheduled messages changed.
    Channel { channel: String },
    /// A user, channel, DM or user group was added or changed.
    Directory,
}

impl Change {
    pub fn message(message: &Message) -> Change {
        Change::Message {
            channel: message.channel.clone(),
            ts: message.ts.clone(),
            thread_ts: message.thread_ts.clone().filter(|t| *t != message.ts),
            visible_to: message.ephemeral_to.clone(),
        }
    }
}

/// The locked workspace. Changes recorded while it is held are announced
/// when it is released, so a subscriber that reacts by reading the state
/// never sees it from before the change.
pub struct StateGuard<'a> {
    pub(super) state: MutexGuard<'a, State>,
    pub(super) changes: &'a broadcast::Sender<Change>,
}

impl Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.state.pending);
        pending.dedup();
        // Sent while the lock is still held (sending never blocks), so
        // notices arrive in the order the changes were made.
        for change in pending {
            // No subscriber is not an error: nobody is watching.
            let _ = self.changes.send(change);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};
    use tokio::sync::broadcast::Receiver;

    use super::Change;
    use crate::emulator::{Emulator, EmulatorConfig};

    async fn next(changes: &mut Receiver<Change>) -> Change {
        tokio::time::timeout(Duration::from_secs(5), changes.recv())
            .await
            .expect("a change notice in time")
            .expect("the channel is open")
    }

    async fn web_api(slack: &Emulator, method: &str, args: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}{method}", slack.base_url()))
            .bearer_auth(&slack.config().bot_token)
            .json(&args)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_change_is_announced_after_it_is_made() {
        let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let mut changes = slack.subscribe();
        let general = slack.channel_id("general").unwrap();
        let posted = web_api(
            &slack,
            "chat.postMessage",
            json!({"channel": general, "text": "one"}),
        )
        .await;
        let ts = posted["ts"].as_str().unwrap().to_string();
        let expected = Change::Message {
            channel: general.clone(),
            ts: ts.clone(),
            thread_ts: None,
            visible_to: None,
        };
        assert_eq!(next(&mut changes).await, expected);

        web_api(
            &slack,
            "chat.update",
            json!({"channel": general, "ts": ts, "text": "two"}),
        )
        .await;
        assert_eq!(next(&mut changes).await, expected);
        // Announced after the lock is released: the new text is readable.
        assert_eq!(slack.messages("general")[0].text, "two");

        let alice = slack.user_id("alice").unwrap();
        web_api(
            &slack,
            "chat.postEphemeral",
            json!({"channel": general, "user": alice, "text": "psst"}),
        )
        .await;
        let Change::Message { visible_to, .. } = next(&mut changes).await else {
            panic!("an ephemeral is a message change");
        };
        assert_eq!(visible_to, Some(alice.clone()));

        slack
            .react_as_user("alice", "general", &ts, ":tada:", true)
            .await
            .unwrap();
        assert_eq!(next(&mut changes).await, expected);
        assert_eq!(
            slack.reactions("general", &ts),
            [("tada".to_string(), vec![alice.clone()])]
        );
        slack
            .react_as_user("alice", "general", &ts, "tada", false)
            .await
            .unwrap();
        assert_eq!(next(&mut changes).await, expected);
        assert!(slack.reactions("general", &ts).is_empty());

        let modal =
            json!({"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []});
        let trigger = slack.issue_trigger("alice").unwrap();
        let opened = web_api(
            &slack,
            "views.open",
            json!({"trigger_id": trigger, "view": modal}),
        )
        .await;
        assert_eq!(
            next(&mut changes).await,
            Change::Views {
                user: alice.clone()
            }
        );
        let view_id = opened["view"]["id"].as_str().unwrap();
        slack.close_view("alice", view_id, false).await.unwrap();
        assert_eq!(
            next(&mut changes).await,
            Change::Views {
                user: alice.clone()
            }
        );
        assert!(slack.views_of("alice").is_empty());

        slack.add_channel("team");
        assert_eq!(next(&mut changes).await, Change::Directory);
        assert!(changes.try_recv().is_err(), "nothing else was announced");
    }
}
