//! `/hello [name]` greets you and counts, per user, how often you called it.
//! The reply carries a button that counts clicks per user and updates the
//! message with the new count.

use botyard_sdk::prelude::*;

/// The greeting's first word, kept in one constant: tests/hot_reload.rs
/// rewrites it in the built component, so "Hello" must occur there only once.
const GREETING: &str = "Hello";

/// The app: what it answers to, and which function answers.
fn app() -> App {
    App::new("hello", "Greets you and counts your calls")
        .command("/hello", spec("Say hello").usage("[name]"), hello)
        .action("count", count)
}

/// `/hello [name]`: greets you (or `name`) and counts your greetings.
fn hello(request: CommandRequest) -> Result<Reply, String> {
    let user = &request.context.user_id;
    let count = store::increment(&format!("calls/{user}"), 1)?;
    let name = if request.text.is_empty() {
        format!("<@{user}>")
    } else {
        request.text
    };
    let text = format!("{GREETING}, {name}! You have said hello {count} time(s).");
    Ok(Reply::in_channel(with_button(text, user)))
}

/// A click on the button: counts your clicks and updates the message.
fn count(request: ActionRequest) -> Result<ActionResponse, String> {
    let user = &request.context.user_id;
    let clicks = store::increment(&format!("clicks/{user}"), 1)?;
    let text = format!("<@{user}> clicked {clicks} time(s).");
    Ok(ActionResponse::update(with_button(text, user)))
}

/// `text`, with a button that counts clicks.
fn with_button(text: String, user: &str) -> Message {
    Message::new(&text).with_blocks([
        Block::section(text),
        Block::actions([Element::button("Click me", "count").value(user)]),
    ])
}

export_app!(app);
