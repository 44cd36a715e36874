//! Test guest: `/feedback` opens a modal asking for a rating from 1 to 5;
//! submitting it either shows an inline error under the `rating` block or
//! posts "Thanks! Rating: N" to the channel the command came from (carried in
//! the view's `private_metadata`) and closes the modal. Used by the
//! end-to-end flow tests (tests/flows.rs).

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::{slack, types::*};
use exports::botyard::app::handler::Guest;

struct Modal;

const CALLBACK_ID: &str = "feedback";
const RATING_BLOCK: &str = "rating";
const RATING_ERROR: &str = "Enter a number from 1 to 5";

/// The modal, as Block Kit JSON text; built by hand to stay dependency-free.
fn feedback_view(channel: &str) -> String {
    let channel = channel.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"{{"type":"modal","callback_id":"{CALLBACK_ID}","private_metadata":"{channel}","title":{{"type":"plain_text","text":"Feedback"}},"submit":{{"type":"plain_text","text":"Send"}},"close":{{"type":"plain_text","text":"Cancel"}},"blocks":[{{"type":"input","block_id":"{RATING_BLOCK}","label":{{"type":"plain_text","text":"Rating (1-5)"}},"element":{{"type":"plain_text_input","action_id":"value"}}}}]}}"#
    )
}

/// The first JSON string value of a `"value"` key after `"rating"` in the
/// submitted `state.values`: `{"rating":{"value":{"type":…,"value":"4"}}}`.
/// (The key `"value"` also names the action id; its value is an object, so
/// it is skipped.) A tiny scanner instead of a JSON dependency.
fn rating_text(values: &str) -> Option<String> {
    let start = values.find(&format!("\"{RATING_BLOCK}\""))?;
    let mut rest = &values[start..];
    while let Some(at) = rest.find("\"value\"") {
        rest = &rest[at + "\"value\"".len()..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let after = after.trim_start();
        let Some(body) = after.strip_prefix('"') else {
            continue;
        };
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        return None;
    }
    None
}

impl Guest for Modal {
    fn describe() -> AppInfo {
        AppInfo {
            name: "modal".into(),
            description: "Asks for feedback in a modal".into(),
            commands: vec![CommandSpec {
                name: "/feedback".into(),
                description: "Rate us from 1 to 5".into(),
                usage: "".into(),
            }],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/feedback" {
            return Err(format!("unknown command {}", request.command));
        }
        let trigger = request
            .context
            .trigger_id
            .ok_or("no trigger id: cannot open a modal")?;
        slack::open_view(&trigger, &feedback_view(&request.context.channel_id))
            .map_err(|e| format!("{e:?}"))?;
        Ok(None)
    }

    fn on_action(_: ActionRequest) -> Result<ActionResponse, String> {
        Ok(ActionResponse::None)
    }

    fn on_view_submission(submission: ViewSubmission) -> Result<ViewResponse, String> {
        if submission.callback_id != CALLBACK_ID {
            return Err(format!("unknown view {}", submission.callback_id));
        }
        let rating = rating_text(&submission.values)
            .and_then(|t| t.trim().parse::<u8>().ok())
            .filter(|n| (1..=5).contains(n));
        let Some(rating) = rating else {
            return Ok(ViewResponse::Errors(vec![FieldError {
                block_id: RATING_BLOCK.into(),
                message: RATING_ERROR.into(),
            }]));
        };
        slack::post_message(
            &submission.private_metadata,
            &Message {
                text: format!("Thanks! Rating: {rating}"),
                blocks: None,
            },
            None,
        )
        .map_err(|e| format!("{e:?}"))?;
        Ok(ViewResponse::Close)
    }

    fn on_event(_: Event) -> Result<(), String> {
        Ok(())
    }

    fn on_tick(_: Tick) -> Result<(), String> {
        Ok(())
    }
}

export!(Modal);
