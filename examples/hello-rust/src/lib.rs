//! `/hello [name]` greets you and counts, per user, how often you called it.
//! The reply carries a button that counts clicks per user and updates the
//! message with the new count.

wit_bindgen::generate!({ world: "app", path: "../../wit" });

use botyard::app::{store, types::*};
use exports::botyard::app::handler::Guest;

struct Hello;

/// The greeting's first word. Kept as one constant so tests can tell versions apart.
const GREETING: &str = "Hello";

fn count_key(user: &str) -> String {
    format!("calls/{user}")
}

fn click_key(user: &str) -> String {
    format!("clicks/{user}")
}

fn button_blocks(text: &str, user: &str) -> String {
    // Block Kit as JSON text; built by hand to keep the starter dependency-free.
    let text = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"[{{"type":"section","text":{{"type":"mrkdwn","text":"{text}"}}}},{{"type":"actions","elements":[{{"type":"button","action_id":"count","text":{{"type":"plain_text","text":"Click me"}},"value":"{user}"}}]}}]"#
    )
}

impl Guest for Hello {
    fn describe() -> AppInfo {
        AppInfo {
            name: "hello".into(),
            description: "Greets you and counts your calls".into(),
            commands: vec![CommandSpec {
                name: "/hello".into(),
                description: "Say hello".into(),
                usage: "[name]".into(),
            }],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        let user = &request.context.user_id;
        let count = store::increment(&count_key(user), 1).map_err(|e| format!("{e:?}"))?;
        let name = if request.text.is_empty() { format!("<@{user}>") } else { request.text.clone() };
        let text = format!("{GREETING}, {name}! You have said hello {count} time(s).");
        Ok(Some(Reply {
            visibility: Visibility::InChannel,
            message: Message { blocks: Some(button_blocks(&text, user)), text },
        }))
    }

    fn on_action(request: ActionRequest) -> Result<ActionResponse, String> {
        if request.action_id != "count" {
            return Err(format!("unknown action {}", request.action_id));
        }
        let user = &request.context.user_id;
        let clicks = store::increment(&click_key(user), 1).map_err(|e| format!("{e:?}"))?;
        let text = format!("<@{user}> clicked {clicks} time(s).");
        Ok(ActionResponse::Update(Message { blocks: Some(button_blocks(&text, user)), text }))
    }

    fn on_view_submission(_: ViewSubmission) -> Result<ViewResponse, String> {
        Ok(ViewResponse::Close)
    }

    fn on_event(_: Event) -> Result<(), String> {
        Ok(())
    }

    fn on_tick(_: Tick) -> Result<(), String> {
        Ok(())
    }
}

export!(Hello);
