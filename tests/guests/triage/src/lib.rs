//! Test guest: shortcuts, the first optional trigger. `Send to triage` (a
//! message shortcut) answers in the message's thread with who sent it and
//! its text; `Ask for help` (a global one) DMs the user. The component
//! exports `botyard:app/shortcuts` beside the handler, so it shows both
//! that hosts which know the trigger can call it and that hosts which do
//! not still load the app.

use botyard_sdk::prelude::*;

fn app() -> App {
    App::new("triage", "Sends messages to triage")
        .shortcut(
            "triage",
            shortcut_spec("Send to triage")
                .message()
                .description("Ask the triage team to look at this message"),
            triage,
        )
        .shortcut("help", "Ask for help", help)
}

/// The message shortcut: a reply in the message's thread.
fn triage(request: ShortcutRequest) -> Result<(), String> {
    let message = request
        .message
        .ok_or("`triage` is a message shortcut, but no message came with it")?;
    let text = format!(
        "<@{}> sent this to triage: {}",
        request.context.user_id, message.text
    );
    let target = message.target;
    slack::post_message(&target.channel, &Message::new(text), Some(&target.ts))?;
    Ok(())
}

/// The global shortcut: a DM to whoever used it.
fn help(request: ShortcutRequest) -> Result<(), String> {
    slack::send_dm(
        &request.context.user_id,
        &Message::new("Triage will be with you shortly."),
    )?;
    Ok(())
}

export_app!(app);
