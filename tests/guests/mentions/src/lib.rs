//! Test guest: answers an `app_mention` in its thread with the mentioner's
//! real name (looked up through Slack) and how often they have mentioned the
//! bot — for tests that a retried event runs once and that `lookup-user`
//! reaches Slack.

use botyard_sdk::prelude::*;
use serde_json::Value;

fn app() -> App {
    App::new("mentions", "Answers @mentions").event("app_mention", mentioned)
}

fn mentioned(event: Event) -> Result<(), String> {
    let payload: Value = serde_json::from_str(&event.payload).map_err(|e| e.to_string())?;
    let field = |key: &str| {
        payload[key]
            .as_str()
            .map(str::to_string)
            .ok_or(format!("app_mention without `{key}`"))
    };
    let (user, channel, ts) = (field("user")?, field("channel")?, field("ts")?);
    let count = store::increment(&format!("mentions/{user}"), 1)?;
    let who = slack::lookup_user(&user)?;
    let text = format!("Heard you, {}! (mention {count})", who.real_name);
    slack::post_message(&channel, &Message::new(&text), Some(&ts))?;
    Ok(())
}

export_app!(app);
