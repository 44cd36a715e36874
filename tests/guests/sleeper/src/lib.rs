//! Test guest: `/sleep <ms>` busy-waits on the host clock for `ms`
//! milliseconds, then replies "slept <ms>" — well-behaved but slow, for tests
//! of the 3-second answer and of one slow app not slowing the others.

use botyard_sdk::prelude::*;

struct Sleeper;

impl App for Sleeper {
    fn describe() -> AppInfo {
        AppInfo::new("sleeper", "Answers slowly").command(
            "/sleep",
            "Busy-wait, then answer",
            "<ms>",
        )
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
        Ok(Some(Reply::in_channel(format!("slept {ms}"))))
    }
}

export_app!(Sleeper);
