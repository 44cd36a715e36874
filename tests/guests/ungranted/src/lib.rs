//! Test guest: `/post` calls `slack::post_message`, so its component imports
//! `slack`; tests load it without that grant and expect a refusal naming it.

use botyard_sdk::prelude::*;

fn app() -> App {
    App::new("ungranted", "Posts to Slack without being allowed to").command(
        "/post",
        "Post a message to this channel",
        post,
    )
}

fn post(request: CommandRequest) -> Result<Reply, String> {
    let message = Message::new("posted by ungranted");
    let posted = slack::post_message(&request.context.channel_id, &message, None)?;
    Ok(Reply::in_channel(format!("posted {}", posted.ts)))
}

export_app!(app);
