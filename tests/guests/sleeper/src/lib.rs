//! Test guest: `/sleep <ms>` busy-waits on the host clock for `ms`
//! milliseconds, then replies "slept <ms>" — well-behaved but slow, for tests
//! of the 3-second answer and of one slow app not slowing the others.

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::{clock, types::*};
use exports::botyard::app::handler::Guest;

struct Sleeper;

impl Guest for Sleeper {
    fn describe() -> AppInfo {
        AppInfo {
            name: "sleeper".into(),
            description: "Answers slowly".into(),
            commands: vec![CommandSpec {
                name: "/sleep".into(),
                description: "Busy-wait, then answer".into(),
                usage: "<ms>".into(),
            }],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/sleep" {
            return Err(format!("unknown command {}", request.command));
        }
        let ms: u64 = request
            .text
            .trim()
            .parse()
            .map_err(|_| "usage: /sleep <ms>".to_string())?;
        let start = clock::now_ms();
        while clock::now_ms().saturating_sub(start) < ms {}
        Ok(reply(format!("slept {ms}")))
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

export!(Sleeper);
