//! Every answer an app gives, in Slack's JSON: the one place a reply, a
//! message, an action answer or a view answer becomes what Slack reads —
//! whether it goes out as a Web API call from the outbox, in the HTTP
//! acknowledgement, or later through `response_url`.

use serde_json::{Value, json};

use crate::contract::bindings::types::{ActionResponse, Message, Reply, ViewResponse, Visibility};
use crate::slack::{blocks, namespace};

/// Longest error text shown to a user; the full text is in the audit log.
const MAX_ERROR_CHARS: usize = 500;

/// Prefix of the `ts` (or view id) handed out for a call still in the
/// outbox; delivery swaps it for Slack's real one.
pub const PENDING_TS_PREFIX: &str = "botyard-outbox-";

/// Slack's message JSON for `message` posted by `app`: text, and the blocks
/// checked and namespaced so clicks come back to `app`. `Err` says which of
/// Slack's limits it breaks.
pub fn message(app: &str, message: &Message) -> Result<Value, String> {
    blocks::check_message_text(&message.text)?;
    let mut body = json!({ "text": message.text });
    if let Some(raw) = &message.blocks {
        body["blocks"] = namespace::message_blocks(app, raw)?;
    }
    Ok(body)
}

/// A reply as Slack's `{response_type, text, blocks}`.
pub fn reply(app: &str, reply: &Reply) -> Value {
    match message(app, &reply.message) {
        Ok(mut body) => {
            body["response_type"] = json!(match reply.visibility {
                Visibility::Ephemeral => "ephemeral",
                Visibility::InChannel => "in_channel",
            });
            body
        }
        Err(e) => ephemeral(&format!(
            "app `{app}` replied with a message Slack would refuse: {e}"
        )),
    }
}

/// An ephemeral text message to the acting user.
pub fn ephemeral(text: &str) -> Value {
    json!({ "response_type": "ephemeral", "text": text })
}

/// An ephemeral message saying what went wrong, kept short.
pub fn error_message(error: &dyn std::fmt::Display) -> Value {
    ephemeral(&format!(":warning: {}", truncate(&error.to_string())))
}

/// A modal that shows an error in place of the submitted one.
pub fn error_view(error: &dyn std::fmt::Display) -> Value {
    json!({
        "type": "modal",
        "title": { "type": "plain_text", "text": "Something went wrong" },
        "close": { "type": "plain_text", "text": "Close" },
        "blocks": [{
            "type": "section",
            "text": { "type": "plain_text", "text": truncate(&error.to_string()) }
        }]
    })
}

/// What to POST to `response_url` for an app's answer to a click, or `None`
/// when nothing is visible.
pub fn action_answer(app: &str, answer: ActionResponse) -> Option<Value> {
    let mut body = match answer {
        ActionResponse::None => return None,
        ActionResponse::Update(message) => match self::message(app, &message) {
            Ok(mut body) => {
                body["replace_original"] = json!(true);
                return Some(body);
            }
            Err(e) => error_message(&format!(
                "app `{app}` updated the message with one Slack would refuse: {e}"
            )),
        },
        ActionResponse::Reply(reply) => self::reply(app, &reply),
    };
    body["replace_original"] = json!(false);
    Some(body)
}

/// The body answering a view submission (Slack's `response_action`), or
/// `None` for an empty 200, which closes the view.
pub fn view_answer(app: &str, answer: ViewResponse) -> Option<Value> {
    let view_action = |action: &str, raw: &str| match namespace::view(app, raw) {
        Ok(view) => json!({ "response_action": action, "view": view }),
        Err(e) => view_update(error_view(&format!(
            "app `{app}` answered with a view Slack would refuse: {e}"
        ))),
    };
    Some(match answer {
        ViewResponse::Close => return None,
        ViewResponse::Clear => json!({ "response_action": "clear" }),
        ViewResponse::Errors(errors) => {
            let errors: serde_json::Map<String, Value> = errors
                .into_iter()
                .map(|e| (e.block_id, Value::String(e.message)))
                .collect();
            json!({ "response_action": "errors", "errors": errors })
        }
        ViewResponse::Update(raw) => view_action("update", &raw),
        ViewResponse::Push(raw) => view_action("push", &raw),
    })
}

/// A `response_action` replacing the submitted view with `view`.
pub fn view_update(view: Value) -> Value {
    json!({ "response_action": "update", "view": view })
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_ERROR_CHARS {
        return text.to_string();
    }
    let mut short: String = text.chars().take(MAX_ERROR_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_slack_json_with_namespaced_blocks() {
        let reply = Reply {
            visibility: Visibility::InChannel,
            message: Message {
                text: "hi".into(),
                blocks: Some(
                    r#"[{"type":"actions","elements":[{"type":"button","action_id":"count"}]}]"#
                        .into(),
                ),
            },
        };
        let body = self::reply("hello", &reply);
        assert_eq!(body["response_type"], "in_channel");
        assert_eq!(body["text"], "hi");
        assert_eq!(body["blocks"][0]["elements"][0]["action_id"], "hello.count");
    }

    #[test]
    fn a_reply_slack_would_refuse_becomes_an_ephemeral_error() {
        let reply = Reply {
            visibility: Visibility::InChannel,
            message: Message {
                text: "hi".into(),
                blocks: Some("not json".into()),
            },
        };
        let body = self::reply("hello", &reply);
        assert_eq!(body["response_type"], "ephemeral");
        assert!(body["text"].as_str().unwrap().contains("app `hello`"));
    }

    #[test]
    fn action_answers_replace_or_add() {
        let msg = |t: &str| Message {
            text: t.into(),
            blocks: None,
        };
        assert_eq!(action_answer("a", ActionResponse::None), None);
        let update = action_answer("a", ActionResponse::Update(msg("new"))).unwrap();
        assert_eq!(
            (
                update["text"].as_str(),
                update["replace_original"].as_bool()
            ),
            (Some("new"), Some(true))
        );
        let reply = action_answer(
            "a",
            ActionResponse::Reply(Reply {
                visibility: Visibility::Ephemeral,
                message: msg("hi"),
            }),
        )
        .unwrap();
        assert_eq!(reply["replace_original"], false);
        assert_eq!(reply["response_type"], "ephemeral");
    }

    #[test]
    fn view_answers_are_response_actions() {
        assert_eq!(view_answer("a", ViewResponse::Close), None);
        assert_eq!(
            view_answer("a", ViewResponse::Clear).unwrap()["response_action"],
            "clear"
        );
        let errors = view_answer(
            "a",
            ViewResponse::Errors(vec![crate::contract::bindings::types::FieldError {
                block_id: "b".into(),
                message: "m".into(),
            }]),
        )
        .unwrap();
        assert_eq!(errors["errors"]["b"], "m");
        let pushed = view_answer(
            "a",
            ViewResponse::Push(r#"{"type":"modal","title":{"type":"plain_text","text":"T"},"blocks":[],"callback_id":"next"}"#.into()),
        )
        .unwrap();
        assert_eq!(pushed["response_action"], "push");
        assert_eq!(pushed["view"]["callback_id"], "a.next");
    }

    #[test]
    fn errors_are_short() {
        let long = "x".repeat(2000);
        let body = error_message(&long);
        assert!(body["text"].as_str().unwrap().chars().count() <= MAX_ERROR_CHARS + 10);
        let view = error_view(&long);
        assert!(blocks::parse_view(&view.to_string()).is_ok());
    }
}
