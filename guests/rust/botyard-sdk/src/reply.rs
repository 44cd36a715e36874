//! Messages and the answers handlers give: replies to commands, responses to
//! clicks and to modal submissions, and what else a handler may return in
//! their place.

use crate::blocks::{self, Block, View};
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
    /// fn echo(request: CommandRequest) -> Result<Reply, String> {
    ///     Ok(Reply::ephemeral(format!("You said {}", request.text)))
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
    /// fn approve(request: ActionRequest) -> Result<ActionResponse, String> {
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
    /// Closes this modal (what a handler returning `()` does too).
    pub fn close() -> ViewResponse {
        ViewResponse::Close
    }

    /// Closes every modal in the stack.
    pub fn clear() -> ViewResponse {
        ViewResponse::Clear
    }

    /// Replaces the submitted modal with `view`.
    pub fn update_view(view: View) -> ViewResponse {
        ViewResponse::Update(view.to_json())
    }

    /// Pushes `view` on top of the submitted modal; closing it goes back.
    pub fn push_view(view: View) -> ViewResponse {
        ViewResponse::Push(view.to_json())
    }

    /// Keeps the modal open with an error under each named input block.
    ///
    /// ```
    /// use botyard_sdk::ViewResponse;
    /// let response = ViewResponse::errors([("rating", "Enter a number from 1 to 5")]);
    /// # assert!(matches!(response, ViewResponse::Errors(e) if e[0].block_id == "rating"));
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

/// What a command handler may return: a [`Reply`], a string (a reply only
/// the caller sees), `Option<Reply>`, or `()` to acknowledge silently — the
/// shapes `docs/sdk.md` gives all three SDKs, plus the WIT's own.
pub trait IntoCommandReply {
    fn into_command_reply(self) -> Option<Reply>;
}

impl IntoCommandReply for () {
    fn into_command_reply(self) -> Option<Reply> {
        None
    }
}

impl IntoCommandReply for Reply {
    fn into_command_reply(self) -> Option<Reply> {
        Some(self)
    }
}

impl IntoCommandReply for Option<Reply> {
    fn into_command_reply(self) -> Option<Reply> {
        self
    }
}

impl IntoCommandReply for String {
    fn into_command_reply(self) -> Option<Reply> {
        Some(Reply::ephemeral(self))
    }
}

impl IntoCommandReply for &str {
    fn into_command_reply(self) -> Option<Reply> {
        Some(Reply::ephemeral(self))
    }
}

/// What an action handler may return: an [`ActionResponse`] (`update(…)`
/// replaces the clicked message), a [`Reply`], a string (a reply only the
/// clicker sees), or `()` for nothing visible.
pub trait IntoActionResponse {
    fn into_action_response(self) -> ActionResponse;
}

impl IntoActionResponse for () {
    fn into_action_response(self) -> ActionResponse {
        ActionResponse::None
    }
}

impl IntoActionResponse for ActionResponse {
    fn into_action_response(self) -> ActionResponse {
        self
    }
}

impl IntoActionResponse for Reply {
    fn into_action_response(self) -> ActionResponse {
        ActionResponse::Reply(self)
    }
}

impl IntoActionResponse for String {
    fn into_action_response(self) -> ActionResponse {
        ActionResponse::ephemeral(self)
    }
}

impl IntoActionResponse for &str {
    fn into_action_response(self) -> ActionResponse {
        ActionResponse::ephemeral(self)
    }
}

/// What a view handler may return: a [`ViewResponse`], or `()` to close the
/// modal.
pub trait IntoViewResponse {
    fn into_view_response(self) -> ViewResponse;
}

impl IntoViewResponse for () {
    fn into_view_response(self) -> ViewResponse {
        ViewResponse::Close
    }
}

impl IntoViewResponse for ViewResponse {
    fn into_view_response(self) -> ViewResponse {
        self
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
    fn modal_answers_carry_the_view_json() {
        assert_eq!(ViewResponse::close(), ViewResponse::Close);
        assert_eq!(ViewResponse::clear(), ViewResponse::Clear);
        let view = View::modal("Next");
        assert_eq!(
            ViewResponse::update_view(view.clone()),
            ViewResponse::Update(view.to_json())
        );
        assert_eq!(
            ViewResponse::push_view(view.clone()),
            ViewResponse::Push(view.to_json())
        );
    }

    #[test]
    fn what_handlers_return_becomes_the_answer() {
        assert_eq!(().into_command_reply(), None);
        assert_eq!("hi".into_command_reply(), Some(Reply::ephemeral("hi")));
        assert_eq!(
            String::from("hi").into_command_reply(),
            Some(Reply::ephemeral("hi"))
        );
        assert_eq!(
            Reply::in_channel("all").into_command_reply(),
            Some(Reply::in_channel("all"))
        );
        assert_eq!(None::<Reply>.into_command_reply(), None);

        assert_eq!(().into_action_response(), ActionResponse::None);
        assert_eq!("me".into_action_response(), ActionResponse::ephemeral("me"));
        assert_eq!(
            Reply::in_channel("all").into_action_response(),
            ActionResponse::in_channel("all")
        );
        assert_eq!(
            ActionResponse::update("new").into_action_response(),
            ActionResponse::update("new")
        );

        assert_eq!(().into_view_response(), ViewResponse::Close);
        assert_eq!(
            ViewResponse::clear().into_view_response(),
            ViewResponse::Clear
        );
    }

    #[test]
    fn slack_errors_become_the_users_message() {
        let text: String = SlackError::Api("channel_not_found".into()).into();
        assert!(text.contains("channel_not_found"), "{text}");
    }
}
