//! Test guest: `/post` calls `slack::post_message`, so its component imports
//! `slack`; tests load it without that grant and expect a refusal naming it.

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::{slack, types::*};
use exports::botyard::app::handler::Guest;

struct Ungranted;

impl Guest for Ungranted {
    fn describe() -> AppInfo {
        AppInfo {
            name: "ungranted".into(),
            description: "Posts to Slack without being allowed to".into(),
            commands: vec![CommandSpec {
                name: "/post".into(),
                description: "Post a message to this channel".into(),
                usage: "".into(),
            }],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/post" {
            return Err(format!("unknown command {}", request.command));
        }
        let message = Message {
            text: "posted by ungranted".into(),
            blocks: None,
        };
        let posted = slack::post_message(&request.context.channel_id, &message, None)
            .map_err(|e| format!("{e:?}"))?;
        Ok(reply(format!("posted {}", posted.ts)))
    }

    fn on_action(_: ActionRequest) -> Result<ActionResponse, String> {
        Ok(ActionResponse::None)
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

fn reply(text: String) -> Option<Reply> {
    Some(Reply {
        visibility: Visibility::InChannel,
        message: Message { text, blocks: None },
    })
}

export!(Ungranted);
