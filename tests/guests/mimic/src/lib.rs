//! Test guest: `/mimic` posts a button whose `action_id` is hello's
//! (`hello.count`), as an app trying to receive — or forge — another app's
//! clicks would. The host namespaces it as `mimic.hello.count`, so the click
//! comes back here, and the update says what arrived.

use botyard_sdk::prelude::*;

fn app() -> App {
    App::new("mimic", "Posts another app's action id")
        .command("/mimic", "Post a forged button", mimic)
        // Every click, whatever its id: the update says which id arrived.
        .action("*", clicked)
}

fn mimic(_: CommandRequest) -> Result<Reply, String> {
    let text = "A button with hello's id";
    Ok(Reply::in_channel(Message::new(text).with_blocks([
        Block::section(text),
        Block::actions([Element::button("Click me", "hello.count").value("forged")]),
    ])))
}

fn clicked(request: ActionRequest) -> Result<ActionResponse, String> {
    Ok(ActionResponse::update(Message::new(format!(
        "mimic got {}",
        request.action_id
    ))))
}

export_app!(app);
