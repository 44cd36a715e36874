//! Slack's payloads, parsed once into typed requests. The HTTP receiver and
//! Socket Mode hand their (verified) bodies here, whichever transport they
//! came over; everything after works on these types, never on raw JSON.

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use crate::contract::bindings::shortcuts::ShortcutKind;
use crate::contract::bindings::types::MessageRef;

/// The payload lacks what Slack always sends (HTTP 400).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("malformed request: {0}")]
pub struct Malformed(pub String);

fn malformed(what: &str) -> Malformed {
    Malformed(what.into())
}

/// A slash command as Slack sends it (form fields over HTTP, the same
/// fields as JSON in a Socket Mode envelope).
#[derive(Debug, Clone, Deserialize)]
pub struct SlashCommand {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub trigger_id: Option<String>,
    #[serde(default)]
    pub response_url: Option<String>,
}

impl SlashCommand {
    /// From the HTTP form body; `None` for Slack's `ssl_check` probe.
    pub fn from_form(body: &[u8]) -> Result<Option<SlashCommand>, Malformed> {
        #[derive(Deserialize)]
        struct SslCheck {
            ssl_check: Option<String>,
        }
        let check: SslCheck = serde_urlencoded::from_bytes(body)
            .map_err(|e| Malformed(format!("not a form: {e}")))?;
        if check.ssl_check.as_deref() == Some("1") {
            return Ok(None);
        }
        serde_urlencoded::from_bytes(body)
            .map(Some)
            .map_err(|e| Malformed(format!("not a slash command: {e}")))
    }

    /// From a Socket Mode envelope's payload.
    pub fn from_json(payload: Value) -> Result<SlashCommand, Malformed> {
        serde_json::from_value(payload).map_err(|e| Malformed(format!("not a slash command: {e}")))
    }
}

/// One element a user acted on in a `block_actions` payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Namespaced, as posted: `<app>.<id>`.
    pub action_id: String,
    pub block_id: Option<String>,
    pub value: Option<String>,
}

/// A view as it comes back in `view_submission` and `view_closed`.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub id: String,
    /// Namespaced, as posted.
    pub callback_id: String,
    pub private_metadata: String,
    /// `state.values`, still namespaced.
    pub values: Value,
}

/// An interactivity payload (`payload=` JSON over HTTP, `interactive` over
/// Socket Mode).
#[derive(Debug, Clone, PartialEq)]
pub enum Interaction {
    BlockActions {
        user: String,
        channel: String,
        trigger_id: Option<String>,
        response_url: Option<String>,
        /// The message that held the elements, when it was a message.
        message: Option<MessageRef>,
        actions: Vec<Action>,
    },
    ViewSubmission {
        user: String,
        trigger_id: Option<String>,
        view: View,
    },
    ViewClosed {
        user: String,
        view: View,
        is_cleared: bool,
    },
    Shortcut(Shortcut),
    /// A type botyard does not handle; acknowledged and logged.
    Other(String),
}

/// A global (`shortcut`) or message (`message_action`) shortcut.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortcut {
    pub kind: ShortcutKind,
    /// Namespaced: `<app>.<callback-id>`.
    pub callback_id: String,
    pub user: String,
    /// Empty for global shortcuts.
    pub channel: String,
    pub trigger_id: Option<String>,
    pub response_url: Option<String>,
    /// For message shortcuts: the message's `ts`, author and text.
    pub message: Option<(String, String, String)>,
}

impl Interaction {
    pub fn parse(payload: &Value) -> Result<Interaction, Malformed> {
        let kind = str_at(payload, "/type").ok_or_else(|| malformed("payload has no `type`"))?;
        let user = str_at(payload, "/user/id")
            .ok_or_else(|| malformed("payload has no `user.id`"))?
            .to_string();
        let trigger_id = str_at(payload, "/trigger_id").map(String::from);
        let response_url = str_at(payload, "/response_url").map(String::from);
        Ok(match kind {
            "block_actions" => {
                let actions = payload
                    .get("actions")
                    .and_then(Value::as_array)
                    .ok_or_else(|| malformed("block_actions without `actions`"))?
                    .iter()
                    .map(|action| {
                        Ok(Action {
                            action_id: str_at(action, "/action_id")
                                .ok_or_else(|| malformed("an action without `action_id`"))?
                                .to_string(),
                            block_id: str_at(action, "/block_id").map(String::from),
                            value: action_value(action),
                        })
                    })
                    .collect::<Result<_, Malformed>>()?;
                Interaction::BlockActions {
                    user,
                    channel: str_at(payload, "/channel/id")
                        .or_else(|| str_at(payload, "/container/channel_id"))
                        .unwrap_or_default()
                        .into(),
                    trigger_id,
                    response_url,
                    message: message_ref(payload),
                    actions,
                }
            }
            "view_submission" => Interaction::ViewSubmission {
                user,
                trigger_id,
                view: view(payload, "view_submission")?,
            },
            "view_closed" => Interaction::ViewClosed {
                user,
                view: view(payload, "view_closed")?,
                is_cleared: payload
                    .get("is_cleared")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            "shortcut" | "message_action" => {
                let callback_id = str_at(payload, "/callback_id")
                    .ok_or_else(|| malformed("shortcut without `callback_id`"))?
                    .to_string();
                let message = (kind == "message_action")
                    .then(|| {
                        let ts = str_at(payload, "/message_ts")
                            .or_else(|| str_at(payload, "/message/ts"))?;
                        Some((
                            ts.to_string(),
                            str_at(payload, "/message/user")
                                .unwrap_or_default()
                                .to_string(),
                            str_at(payload, "/message/text")
                                .unwrap_or_default()
                                .to_string(),
                        ))
                    })
                    .flatten();
                Interaction::Shortcut(Shortcut {
                    kind: if kind == "shortcut" {
                        ShortcutKind::Global
                    } else {
                        ShortcutKind::Message
                    },
                    callback_id,
                    user,
                    channel: str_at(payload, "/channel/id").unwrap_or_default().into(),
                    trigger_id,
                    response_url,
                    message,
                })
            }
            other => Interaction::Other(other.to_string()),
        })
    }
}

fn view(payload: &Value, what: &str) -> Result<View, Malformed> {
    let view = payload
        .get("view")
        .ok_or_else(|| Malformed(format!("{what} without `view`")))?;
    Ok(View {
        id: str_at(view, "/id").unwrap_or_default().into(),
        callback_id: str_at(view, "/callback_id").unwrap_or_default().into(),
        private_metadata: str_at(view, "/private_metadata").unwrap_or_default().into(),
        values: view
            .pointer("/state/values")
            .cloned()
            .unwrap_or(Value::Null),
    })
}

/// An Events API body.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    /// Slack checking the Request URL; answered with the challenge.
    UrlVerification { challenge: String },
    Callback {
        event_id: String,
        event_type: String,
        /// The inner `event` object.
        event: Value,
    },
    /// Slack is rate-limiting deliveries to this app.
    RateLimited,
    /// An envelope type botyard does not handle; acknowledged.
    Other(String),
}

impl EventBody {
    pub fn parse(body: &Value) -> Result<EventBody, Malformed> {
        Ok(
            match str_at(body, "/type").ok_or_else(|| malformed("event body has no `type`"))? {
                "url_verification" => EventBody::UrlVerification {
                    challenge: str_at(body, "/challenge")
                        .ok_or_else(|| malformed("url_verification without `challenge`"))?
                        .into(),
                },
                "event_callback" => {
                    let event_id = str_at(body, "/event_id")
                        .ok_or_else(|| malformed("event_callback without `event_id`"))?;
                    let event = body
                        .get("event")
                        .filter(|e| e.is_object())
                        .ok_or_else(|| malformed("event_callback without an `event` object"))?;
                    let event_type =
                        str_at(event, "/type").ok_or_else(|| malformed("event without `type`"))?;
                    EventBody::Callback {
                        event_id: event_id.into(),
                        event_type: event_type.into(),
                        event: event.clone(),
                    }
                }
                "app_rate_limited" => EventBody::RateLimited,
                other => EventBody::Other(other.into()),
            },
        )
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The message that held the clicked element, when it was a message.
fn message_ref(payload: &Value) -> Option<MessageRef> {
    let from_container = || {
        (str_at(payload, "/container/type")? == "message").then_some(())?;
        Some(MessageRef {
            channel: str_at(payload, "/container/channel_id")?.into(),
            ts: str_at(payload, "/container/message_ts")?.into(),
        })
    };
    let from_message = || {
        Some(MessageRef {
            channel: str_at(payload, "/channel/id")?.into(),
            ts: str_at(payload, "/message/ts")?.into(),
        })
    };
    from_container().or_else(from_message)
}

/// An element's value, whatever kind of element it is: buttons' `value`,
/// single selects' option value, pickers' date/time/user/channel; multi
/// selects and checkboxes give a JSON array of their values.
fn action_value(action: &Value) -> Option<String> {
    for pointer in [
        "/value",
        "/selected_option/value",
        "/selected_date",
        "/selected_time",
        "/selected_user",
        "/selected_channel",
        "/selected_conversation",
    ] {
        if let Some(v) = str_at(action, pointer) {
            return Some(v.into());
        }
    }
    if let Some(n) = action.get("selected_date_time").and_then(Value::as_i64) {
        return Some(n.to_string());
    }
    if let Some(options) = action.get("selected_options").and_then(Value::as_array) {
        let values: Vec<&Value> = options.iter().filter_map(|o| o.get("value")).collect();
        return Some(Value::from(values.into_iter().cloned().collect::<Vec<_>>()).to_string());
    }
    [
        "selected_users",
        "selected_channels",
        "selected_conversations",
    ]
    .into_iter()
    .find_map(|key| action.get(key).filter(|v| v.is_array()))
    .map(Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_value_of_every_kind_of_element() {
        let cases = [
            (json!({"value": "v"}), Some("v".to_string())),
            (json!({"selected_option": {"value": "o"}}), Some("o".into())),
            (
                json!({"selected_date": "2024-01-02"}),
                Some("2024-01-02".into()),
            ),
            (json!({"selected_user": "U1"}), Some("U1".into())),
            (
                json!({"selected_date_time": 1700000000}),
                Some("1700000000".into()),
            ),
            (
                json!({"selected_options": [{"value": "a"}, {"value": "b"}]}),
                Some(r#"["a","b"]"#.into()),
            ),
            (
                json!({"selected_users": ["U1", "U2"]}),
                Some(r#"["U1","U2"]"#.into()),
            ),
            (json!({"type": "button"}), None),
        ];
        for (action, want) in cases {
            assert_eq!(action_value(&action), want, "{action}");
        }
    }

    #[test]
    fn finds_the_message_that_held_the_element() {
        let payload =
            json!({"container": {"type": "message", "channel_id": "C1", "message_ts": "1.2"}});
        let m = message_ref(&payload).unwrap();
        assert_eq!((m.channel.as_str(), m.ts.as_str()), ("C1", "1.2"));
        let in_view = json!({"container": {"type": "view", "view_id": "V1"}});
        assert!(message_ref(&in_view).is_none());
    }

    #[test]
    fn shortcuts_parse_with_their_message() {
        let payload = json!({
            "type": "message_action", "callback_id": "helpdesk.send", "trigger_id": "T1",
            "user": {"id": "U1"}, "channel": {"id": "C1"}, "message_ts": "1.5",
            "message": {"ts": "1.5", "user": "U2", "text": "my printer is on fire"},
            "response_url": "http://x/r"
        });
        let Interaction::Shortcut(s) = Interaction::parse(&payload).unwrap() else {
            panic!("a shortcut")
        };
        assert_eq!(s.kind, ShortcutKind::Message);
        assert_eq!(s.callback_id, "helpdesk.send");
        assert_eq!(
            s.message,
            Some(("1.5".into(), "U2".into(), "my printer is on fire".into()))
        );
        let global = json!({"type": "shortcut", "callback_id": "a.b", "user": {"id": "U1"}, "trigger_id": "T"});
        let Interaction::Shortcut(g) = Interaction::parse(&global).unwrap() else {
            panic!("a shortcut")
        };
        assert_eq!(
            (g.kind, g.message, g.channel.as_str()),
            (ShortcutKind::Global, None, "")
        );
    }

    #[test]
    fn what_slack_always_sends_is_required() {
        assert!(Interaction::parse(&json!({"user": {"id": "U"}})).is_err());
        assert!(Interaction::parse(&json!({"type": "block_actions"})).is_err());
        assert!(
            Interaction::parse(&json!({"type": "block_actions", "user": {"id": "U"}})).is_err()
        );
        assert!(EventBody::parse(&json!({"type": "event_callback", "event": {}})).is_err());
        assert_eq!(
            EventBody::parse(&json!({"type": "url_verification", "challenge": "c"})).unwrap(),
            EventBody::UrlVerification {
                challenge: "c".into()
            }
        );
        assert!(
            SlashCommand::from_form(b"ssl_check=1&token=x")
                .unwrap()
                .is_none()
        );
        assert!(SlashCommand::from_form(b"text=hi").is_err());
    }
}
