//! Messages and the answers handlers give: replies to commands, responses to
//! clicks and to modal submissions.

use crate::blocks::{self, Block};
use crate::slack::SlackError;
use crate::{ActionResponse, FieldError, Message, Reply, ViewResponse, Visibility};

impl Message {
    /// A message of text only (Slack's `mrkdwn` formatting applies).
    pub fn new(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            blocks: None,
        }
    }

    /// Shows `blocks` instead of the text; the text stays as the notification
    /// and the fallback for clients that cannot render blocks.
    ///
    /// ```
    /// use botyard_sdk::{blocks::Block, Message};
    /// let message = Message::new("Lunch is served").with_blocks([Block::header("Lunch is served")]);
    /// assert!(message.blocks.unwrap().contains("header"));
    /// ```
    pub fn with_blocks(mut self, blocks: impl IntoIterator<Item = Block>) -> Message {
        self.blocks = Some(blocks::to_json(blocks));
        self
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::new(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::new(text)
    }
}

impl Reply {
    /// An answer only the person who acted sees.
    ///
    /// ```
    /// use botyard_sdk::{CommandRequest, Reply};
    /// fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
    ///     Ok(Some(Reply::ephemeral(format!("You said {}", request.text))))
    /// }
    /// ```
    pub fn ephemeral(message: impl Into<Message>) -> Reply {
        Reply {
            visibility: Visibility::Ephemeral,
            message: message.into(),
        }
    }

    /// An answer everyone in the channel sees.
    pub fn in_channel(message: impl Into<Message>) -> Reply {
        Reply {
            visibility: Visibility::InChannel,
            message: message.into(),
        }
    }
}

impl ActionResponse {
    /// Replaces the message that held the clicked element.
    ///
    /// ```
    /// use botyard_sdk::{ActionRequest, ActionResponse};
    /// fn on_action(request: ActionRequest) -> Result<ActionResponse, String> {
    ///     Ok(ActionResponse::update(format!("<@{}> approved", request.context.user_id)))
    /// }
    /// ```
    pub fn update(message: impl Into<Message>) -> ActionResponse {
        ActionResponse::Update(message.into())
    }

    /// A new message only the clicking user sees.
    pub fn ephemeral(message: impl Into<Message>) -> ActionResponse {
        ActionResponse::Reply(Reply::ephemeral(message))
    }

    /// A new message everyone in the channel sees.
    pub fn in_channel(message: impl Into<Message>) -> ActionResponse {
        ActionResponse::Reply(Reply::in_channel(message))
    }
}

impl ViewResponse {
    /// Keeps the modal open with an error under each named input block.
    ///
    /// ```
    /// use botyard_sdk::ViewResponse;
    /// let response = ViewResponse::errors([("rating", "Enter a number from 1 to 5")]);
    /// ```
    pub fn errors<B: Into<String>, M: Into<String>>(
        errors: impl IntoIterator<Item = (B, M)>,
    ) -> ViewResponse {
        ViewResponse::Errors(
            errors
                .into_iter()
                .map(|(block_id, message)| FieldError {
                    block_id: block_id.into(),
                    message: message.into(),
                })
                .collect(),
        )
    }
}

/// Lets handlers use `?` on `slack` calls; the error's text reaches the user.
impl From<SlackError> for String {
    fn from(error: SlackError) -> String {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_say_who_sees_them() {
        assert_eq!(
            Reply::ephemeral("hi"),
            Reply {
                visibility: Visibility::Ephemeral,
                message: Message {
                    text: "hi".into(),
                    blocks: None
                }
            }
        );
        assert_eq!(
            Reply::in_channel(String::from("all")).visibility,
            Visibility::InChannel
        );
        assert_eq!(
            ActionResponse::update("new"),
            ActionResponse::Update(Message::new("new"))
        );
        assert_eq!(
            ActionResponse::ephemeral("me"),
            ActionResponse::Reply(Reply::ephemeral("me"))
        );
        assert_eq!(
            ActionResponse::in_channel("all"),
            ActionResponse::Reply(Reply::in_channel("all"))
        );
    }

    #[test]
    fn messages_carry_text_and_blocks() {
        let message = Message::new("fallback").with_blocks([Block::divider()]);
        assert_eq!(message.text, "fallback");
        assert_eq!(message.blocks.as_deref(), Some(r#"[{"type":"divider"}]"#));
    }

    #[test]
    fn view_errors_name_their_blocks() {
        assert_eq!(
            ViewResponse::errors([("a", "bad"), ("b", "worse")]),
            ViewResponse::Errors(vec![
                FieldError {
                    block_id: "a".into(),
                    message: "bad".into()
                },
                FieldError {
                    block_id: "b".into(),
                    message: "worse".into()
                },
            ])
        );
    }

    #[test]
    fn slack_errors_become_the_users_message() {
        let text: String = SlackError::Api("channel_not_found".into()).into();
        assert!(text.contains("channel_not_found"), "{text}");
    }
}
