//! Test guest: `/recurse` recurses without bound, so the host must turn the
//! stack overflow into a clean error.

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::types::*;
use core::hint::black_box;
use exports::botyard::app::handler::Guest;

struct DeepRecursion;

/// Not a tail call (the result is used after the call) and a frame the
/// optimiser cannot shrink away, so every level really costs stack.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 8]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(black_box(depth + 1)).wrapping_add(frame[black_box(3)])
}

impl Guest for DeepRecursion {
    fn describe() -> AppInfo {
        AppInfo {
            name: "deep-recursion".into(),
            description: "Overflows its stack on /recurse".into(),
            commands: vec![CommandSpec {
                name: "/recurse".into(),
                description: "Never bottoms out".into(),
                usage: "".into(),
            }],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/recurse" {
            return Err(format!("unknown command {}", request.command));
        }
        let depth = recurse(0);
        Ok(reply(format!("bottomed out at {depth}")))
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

export!(DeepRecursion);
