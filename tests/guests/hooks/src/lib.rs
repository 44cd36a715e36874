//! Test guest: two webhooks and two settings.
//!
//! - `github` posts `"<event> from <sender>: <action>"` (the
//!   `X-GitHub-Event` header, the JSON body's `sender.login` and `action`;
//!   `-` for what is missing) to the channel of setting `channel`. It counts
//!   the attempts at each delivery in `attempts/<delivery-id>`, and while
//!   that count is at most setting `fail_times` it fails on purpose, so the
//!   host tries again later.
//! - `alerts` takes Alertmanager's webhook and posts `"[FIRING] <alertname>"`
//!   or `"[RESOLVED] <alertname>"` per alert to the same channel.
//!
//! - Before anything else, `github` spins for setting `delay_ms` (default
//!   `0`), so a test can kill the host while a handler runs.
//!
//! Settings: `channel` (default `C0HOOKS`), `fail_times` (default `0`) and
//! `delay_ms` (default `0`). It imports `slack`, `store`, `settings` and
//! `clock`.

use botyard_sdk::prelude::*;
use serde_json::Value;

fn app() -> App {
    App::new("hooks", "Posts GitHub and Alertmanager webhooks")
        .webhook("github", "Pushes and PRs", github)
        .webhook("alerts", "Alertmanager alerts", alerts)
        .setting("channel", setting_spec("Where to post").default("C0HOOKS"))
        .setting(
            "fail_times",
            setting_spec("How many attempts at each GitHub delivery fail on purpose").default("0"),
        )
        .setting(
            "delay_ms",
            setting_spec("How long each GitHub delivery spins first").default("0"),
        )
}

fn github(request: WebhookRequest) -> Result<(), String> {
    let delay_ms: u64 = settings::get_json("delay_ms")?.unwrap_or(0);
    let until = clock::now_ms() + delay_ms;
    while clock::now_ms() < until {}
    let attempt = store::increment(&format!("attempts/{}", request.delivery_id), 1)?;
    let fail_times: i64 = settings::get_json("fail_times")?.unwrap_or(0);
    if attempt <= fail_times {
        return Err(format!("failing on purpose (attempt {attempt})"));
    }
    let body: Value = request.json().unwrap_or(Value::Null);
    let text = format!(
        "{} from {}: {}",
        request.header("X-GitHub-Event").unwrap_or("-"),
        body["sender"]["login"].as_str().unwrap_or("-"),
        body["action"].as_str().unwrap_or("-"),
    );
    post(&text)
}

fn alerts(request: WebhookRequest) -> Result<(), String> {
    let body: Value = request.json()?;
    let overall = body["status"].as_str().unwrap_or("firing");
    for alert in body["alerts"].as_array().into_iter().flatten() {
        let status = alert["status"].as_str().unwrap_or(overall);
        let name = alert["labels"]["alertname"].as_str().unwrap_or("-");
        post(&format!("[{}] {name}", status.to_uppercase()))?;
    }
    Ok(())
}

fn post(text: &str) -> Result<(), String> {
    let channel = settings::get("channel").unwrap_or_default();
    slack::post_message(&channel, &Message::new(text), None)?;
    Ok(())
}

export_app!(app);
