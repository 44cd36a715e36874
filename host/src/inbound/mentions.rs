//! `@botyard …` in plain words, answered by the host for every app.
//!
//! A mention no app subscribes to (`app_mention`) goes to the routing
//! table's matcher (`routing/plain_words/`), and the person who said it gets
//! an answer only they see, in the thread when they spoke in one:
//! - a command the app declared **read-only**: run at once, as them, through
//!   the permission gate like the typed command, its answer posted after
//!   the line that says what was understood;
//! - **any other command**: only offered — the line understood and a *Run*
//!   button (`botyard.run`, the line as its value). Nothing runs until they
//!   press it, and the press runs the line as whoever pressed, exactly as if
//!   they had typed it (so a crafted value can do nothing the presser could
//!   not type);
//! - unclear: "did you mean" with the usages of the likeliest commands;
//! - nothing: what to try instead.
//!
//! An app that subscribes to `app_mention` owns mentions: the host then
//! answers none, so a bot with its own conversation is never talked over.

use serde_json::{Value, json};

use crate::contract::time::Clock;
use crate::routing::answer::{self, Place};
use crate::routing::plain_words::{Choice, Understanding};
use crate::routing::{Apps, CallContext, CallError, CommandAnswer};
use crate::runtime::permissions::HOST_APP;
use crate::storage::{NewInbound, StorageError};

/// The action id of the *Run* button under a command understood.
pub const RUN: &str = "botyard.run";

/// Answers `event` (an `app_mention`) once, however often Slack delivers
/// `event_id`.
pub async fn answer(
    apps: &Apps,
    event_id: &str,
    event: &Value,
    command_body: fn(Result<CommandAnswer, CallError>) -> Option<Value>,
) -> Result<(), StorageError> {
    let (Some(user), Some(channel)) = (event["user"].as_str(), event["channel"].as_str()) else {
        return Ok(());
    };
    if event.get("bot_id").is_some_and(|b| !b.is_null()) {
        return Ok(()); // a bot mentioning us: no conversation between bots
    }
    let said = Place {
        user,
        channel,
        thread: event["thread_ts"].as_str(),
    };
    let text = without_the_mention(event["text"].as_str().unwrap_or_default());
    let today = today(apps.runtime().clock());
    let understanding = apps.snapshot().routes.words().understand(&text, today);
    let (message, read) = match &understanding {
        Understanding::Command(u) if u.read_only => (
            json!({ "text": format!("`{}`", u.line) }),
            Some(u.line.clone()),
        ),
        Understanding::Command(u) => (offer(&u.line), None),
        Understanding::Unclear(choices) => (unclear(choices), None),
        Understanding::Nothing => (nothing(&text), None),
    };
    tracing::info!(user, understood = ?understanding, "plain words");
    let mut unit = apps.storage().begin();
    let key = format!("event:{event_id}/{HOST_APP}");
    let first = unit
        .record_inbound(NewInbound {
            key: &key,
            app: HOST_APP,
            body: b"",
        })
        .await?;
    if !first {
        return Ok(()); // answered already: Slack's retry
    }
    answer::post(apps, &mut *unit, &said, message).await?;
    unit.commit().await?;
    if let Some(line) = read {
        let ctx = CallContext {
            user: user.to_string(),
            channel: channel.to_string(),
            trigger_id: None,
        };
        let answer = apps.call_command(&line, &ctx).await;
        if let Some(body) = command_body(answer) {
            let mut unit = apps.storage().begin();
            answer::post(apps, &mut *unit, &said, body).await?;
            unit.commit().await?;
        }
    }
    Ok(())
}

/// What was said, less the mention of the bot that made it a mention: the
/// mention it starts with, else its first one (Slack writes the bot's
/// mention where the person typed it, and people start with it).
pub fn without_the_mention(text: &str) -> String {
    let trimmed = text.trim_start();
    let cut = if trimmed.starts_with("<@") {
        trimmed.find('>').map(|end| (0, end + 1))
    } else {
        trimmed
            .find("<@")
            .and_then(|at| trimmed[at..].find('>').map(|end| (at, at + end + 1)))
    };
    match cut {
        Some((from, to)) => format!(
            "{} {}",
            trimmed[..from].trim_end(),
            trimmed[to..].trim_start()
        )
        .trim()
        .to_string(),
        None => trimmed.to_string(),
    }
}

fn today(clock: &Clock) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(clock.now_ms() as i64)
        .unwrap_or_default()
        .date_naive()
}

/// A command that changes something: the line, and a button to run it.
fn offer(line: &str) -> Value {
    let code = format!("`{line}`");
    json!({
        "text": format!("Run {code}?"),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("I understood {code}. Nothing runs until you press *Run*.") } },
            { "type": "actions", "elements": [
                { "type": "button", "action_id": RUN, "style": "primary", "value": line,
                  "text": { "type": "plain_text", "text": "Run" } }
            ] }
        ]
    })
}

fn unclear(choices: &[Choice]) -> Value {
    let list: Vec<String> = choices.iter().map(|c| format!("• `{}`", c.usage)).collect();
    json!({
        "text": format!(
            "I'm not sure which command you mean. Did you mean:\n{}\nSay it again with what is missing, or type the command.",
            list.join("\n")
        )
    })
}

fn nothing(text: &str) -> Value {
    let hint = if text.is_empty() {
        "Tell me what you need in plain words, like `approve PO-123` or `list the servers in east`."
    } else {
        "I don't know a command for that. Say it another way, or type `/` to see the commands."
    };
    json!({ "text": hint })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bots_mention_is_taken_out_wherever_it_leads() {
        assert_eq!(without_the_mention("<@UBOT> approve PO-1"), "approve PO-1");
        assert_eq!(
            without_the_mention("<@UBOT> give <@U2> a unicorn"),
            "give <@U2> a unicorn"
        );
        assert_eq!(
            without_the_mention("hey <@UBOT>, stop web-3"),
            "hey , stop web-3"
        );
    }

    #[test]
    fn an_offer_runs_nothing_by_itself_and_carries_the_line() {
        let body = offer("/po approve PO-1");
        let button = &body["blocks"][1]["elements"][0];
        assert_eq!(button["action_id"], RUN);
        assert_eq!(button["value"], "/po approve PO-1");
    }
}
