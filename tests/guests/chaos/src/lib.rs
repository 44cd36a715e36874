//! Test guest for the cluster chaos tests (tests/chaos.rs): every piece of
//! work leaves a count under its own key in the app's store, written in the
//! same unit as the work's answer, so the checker tells "ran once" from
//! "ran twice" or "never" by reading the store and Slack's record.
//!
//! - `/chaos <id>` counts `cmd/<id>` and answers in the channel with the
//!   count and a vote button;
//! - a click on that button counts `vote/<clicker>`;
//! - an `app_mention` whose text ends in `<id>` counts `ev/<id>` and
//!   answers in its channel (a Web API call, through the outbox);
//! - 50 cron schedules every 5 s each count `tick/<name>/<due ms>`.

use botyard_sdk::prelude::*;
use serde_json::Value;

/// How many cron schedules the app declares.
const SCHEDULES: usize = 50;

fn app() -> App {
    let mut app = App::new("chaos", "Counts every piece of work it does")
        .command("/chaos", "Counts a command and answers in the channel", command)
        .action("chaos.vote", vote)
        .event("app_mention", mention);
    for n in 0..SCHEDULES {
        app = app.schedule(format!("every5s-{n:02}"), "*/5 * * * * *", tick);
    }
    app
}

fn command(request: CommandRequest) -> Result<Reply, String> {
    let id = request.text.trim().to_string();
    let n = store::increment(&format!("cmd/{id}"), 1)?;
    let text = format!("cmd {id} #{n}");
    Ok(Reply::in_channel(Message::new(&text).with_blocks([
        Block::section(&text),
        Block::actions([Element::button("Vote", "chaos.vote").value(&id)]),
    ])))
}

fn vote(request: ActionRequest) -> Result<(), String> {
    store::increment(&format!("vote/{}", request.context.user_id), 1)?;
    Ok(())
}

fn mention(event: Event) -> Result<(), String> {
    let payload: Value = serde_json::from_str(&event.payload).map_err(|e| e.to_string())?;
    let field = |key: &str| payload[key].as_str().unwrap_or_default().to_string();
    let (channel, text) = (field("channel"), field("text"));
    let id = text.rsplit(' ').next().unwrap_or_default();
    let n = store::increment(&format!("ev/{id}"), 1)?;
    slack::post_message(&channel, &Message::new(format!("ev {id} #{n}")), None)?;
    Ok(())
}

fn tick(tick: Tick) -> Result<(), String> {
    store::increment(&format!("tick/{}/{}", tick.name, tick.due_ms), 1)?;
    Ok(())
}

export_app!(app);
