//! What the host asks an app to do, and what the app answers: one typed
//! request per trigger. Inbound payloads are parsed into these once, routing
//! picks the app, the runtime delivers them to the matching export.

use super::bindings::shortcuts::ShortcutRequest;
use super::bindings::types::{
    ActionRequest, ActionResponse, CommandRequest, Event, Reply, Tick, ViewResponse, ViewSubmission,
};
use super::bindings::webhooks::WebhookRequest;
use super::description::Description;

/// A request to one app. Serializable: work taken into the inbox is kept
/// as the request it became, so any process can run it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Request {
    /// What the app answers to (at load, on no one's behalf).
    Describe,
    Command(CommandRequest),
    Action(ActionRequest),
    ViewSubmission(ViewSubmission),
    Event(Event),
    Tick(Tick),
    /// A global or message shortcut (optional trigger `shortcuts`).
    Shortcut(ShortcutRequest),
    /// A verified, recorded delivery to one of the app's webhooks (optional
    /// trigger `webhooks`).
    Webhook(WebhookRequest),
}

/// What the app answered, matching the request.
#[derive(Debug, Clone)]
pub enum Response {
    /// `describe`, with what each exported trigger declares.
    Describe(Description),
    Command(Option<Reply>),
    Action(ActionResponse),
    ViewSubmission(ViewResponse),
    /// Events, ticks, shortcuts and webhooks answer nothing but success.
    Done,
}

/// The kinds of request, as the audit log, logs and metrics name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Describe,
    Command,
    Action,
    View,
    Event,
    Tick,
    Shortcut,
    Webhook,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Describe => "describe",
            Kind::Command => "command",
            Kind::Action => "action",
            Kind::View => "view",
            Kind::Event => "event",
            Kind::Tick => "tick",
            Kind::Shortcut => "shortcut",
            Kind::Webhook => "webhook",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Request {
    pub fn kind(&self) -> Kind {
        match self {
            Request::Describe => Kind::Describe,
            Request::Command(_) => Kind::Command,
            Request::Action(_) => Kind::Action,
            Request::ViewSubmission(_) => Kind::View,
            Request::Event(_) => Kind::Event,
            Request::Tick(_) => Kind::Tick,
            Request::Shortcut(_) => Kind::Shortcut,
            Request::Webhook(_) => Kind::Webhook,
        }
    }

    /// The Slack user acting, when a person acts (commands, clicks,
    /// submissions, shortcuts); empty for events, ticks, webhooks and
    /// `describe`.
    pub fn user(&self) -> &str {
        match self {
            Request::Command(r) => &r.context.user_id,
            Request::Action(r) => &r.context.user_id,
            Request::ViewSubmission(r) => &r.context.user_id,
            Request::Shortcut(r) => &r.context.user_id,
            Request::Describe | Request::Event(_) | Request::Tick(_) | Request::Webhook(_) => "",
        }
    }

    /// The channel it happened in, when there is one.
    pub fn channel(&self) -> &str {
        match self {
            Request::Command(r) => &r.context.channel_id,
            Request::Action(r) => &r.context.channel_id,
            Request::ViewSubmission(r) => &r.context.channel_id,
            Request::Shortcut(r) => &r.context.channel_id,
            Request::Describe | Request::Event(_) | Request::Tick(_) | Request::Webhook(_) => "",
        }
    }

    /// What was invoked, in one line: `/spy status eu`, an action id, a
    /// callback id, `reaction_added Ev01`, a schedule name, `github
    /// 72d3162e` (a webhook and its delivery id).
    pub fn detail(&self) -> String {
        match self {
            Request::Describe => String::new(),
            Request::Command(r) => {
                let mut line = r.command.clone();
                for part in [r.subcommand.as_deref().unwrap_or(""), &r.text] {
                    if !part.is_empty() {
                        line.push(' ');
                        line.push_str(part);
                    }
                }
                line
            }
            Request::Action(r) => r.action_id.clone(),
            Request::ViewSubmission(r) => r.callback_id.clone(),
            Request::Event(e) => format!("{} {}", e.event_type, e.event_id),
            Request::Tick(t) => t.name.clone(),
            Request::Shortcut(s) => s.callback_id.clone(),
            Request::Webhook(w) => format!("{} {}", w.name, w.delivery_id),
        }
    }

    /// [`Request::detail`] as logs carry it: a command and its subcommand
    /// without the rest of the line (`/deploy prod`, not `/deploy prod
    /// token=…`), since people type anything there, secrets included, and
    /// logs are shipped further than the audit log, which keeps the whole
    /// line. Every other detail is ids the app or Slack chose.
    pub fn log_detail(&self) -> String {
        match self {
            Request::Command(r) => match &r.subcommand {
                Some(sub) => format!("{} {sub}", r.command),
                None => r.command.clone(),
            },
            _ => self.detail(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::bindings::types::InvocationContext;

    fn ctx() -> InvocationContext {
        InvocationContext {
            user_id: "U1".into(),
            channel_id: "C1".into(),
            trigger_id: None,
        }
    }

    #[test]
    fn a_command_line_is_rebuilt_for_the_audit_log() {
        let command = |sub: Option<&str>, text: &str| {
            Request::Command(CommandRequest {
                command: "/spy".into(),
                subcommand: sub.map(String::from),
                text: text.into(),
                context: ctx(),
            })
        };
        assert_eq!(
            command(Some("status"), "eu west").detail(),
            "/spy status eu west"
        );
        assert_eq!(command(None, "").detail(), "/spy");
        assert_eq!(command(None, "x").detail(), "/spy x");
        assert_eq!(
            command(Some("status"), "token=hunter2").log_detail(),
            "/spy status"
        );
        assert_eq!(command(None, "token=hunter2").log_detail(), "/spy");
        let request = command(None, "");
        assert_eq!((request.user(), request.channel()), ("U1", "C1"));
        assert_eq!(request.kind().as_str(), "command");
    }
}
