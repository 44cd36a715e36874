//! Test guest: `/setting <name>` answers with the operator's value for
//! `name` (or `unset`), `/setting` alone with the names set. It imports only
//! `settings`, the capability added to prove a new one is a file and a line.
//!
//! It declares `channel` (required) and `greeting` (default `hello`).

use botyard_sdk::prelude::*;

fn app() -> App {
    App::new("configured", "Reads its settings")
        .command(
            "/setting",
            spec("Show a setting").usage("[name]"),
            setting,
        )
        .setting("channel", setting_spec("Where to post").required())
        .setting("greeting", setting_spec("How to greet").default("hello"))
}

fn setting(request: CommandRequest) -> Result<Reply, String> {
    let name = request.text.trim();
    let text = if name.is_empty() {
        settings::names().join(", ")
    } else {
        settings::get(name).unwrap_or_else(|| "unset".into())
    };
    Ok(Reply::ephemeral(text))
}

export_app!(app);
