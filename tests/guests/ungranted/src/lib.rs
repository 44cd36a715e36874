//! Test guest: `/post` calls `slack::post_message`, so its component imports
//! `slack`; tests load it without that grant and expect a refusal naming it.

use botyard_sdk::prelude::*;

struct Ungranted;

impl App for Ungranted {
    fn describe() -> AppInfo {
        AppInfo::new("ungranted", "Posts to Slack without being allowed to").command(
            "/post",
            "Post a message to this channel",
            "",
        )
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/post" {
            return Err(format!("unknown command {}", request.command));
        }
        let message = Message::new("posted by ungranted");
        let posted = slack::post_message(&request.context.channel_id, &message, None)?;
        Ok(Some(Reply::in_channel(format!("posted {}", posted.ts))))
    }
}

export_app!(Ungranted);
