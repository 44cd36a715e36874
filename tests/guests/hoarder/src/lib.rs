//! Test guest: a hack-day app with no sense of proportion, to prove quotas
//! stop it while every other app carries on.
//!
//! - `/hoard <n>` writes up to `n` values of 1 MiB, under `blob/0000`,
//!   `blob/0001`, … after the highest already there, stopping at the first
//!   refusal; it answers `stored <k>, <total> in all` and, when a write was
//!   refused, `; refused: <the host's text>`.
//! - `/unhoard <n>` deletes the first `n` of them: `deleted <k>`.
//! - `/spam <n>` posts `n` messages to the channel it was called in,
//!   stopping at the first refusal: `posted <k>` and `; refused: <text>`.

use botyard_sdk::prelude::*;
use botyard_sdk::slack::SlackError;
use botyard_sdk::store::StoreError;

const MIB: usize = 1 << 20;

fn app() -> App {
    App::new("hoarder", "Hoards 1 MiB values and floods Slack")
        .command("/hoard", spec("Store 1 MiB values").usage("<n>"), hoard)
        .command(
            "/unhoard",
            spec("Delete stored values").usage("<n>"),
            unhoard,
        )
        .command("/spam", spec("Post messages").usage("<n>"), spam)
}

fn count(request: &CommandRequest) -> Result<usize, String> {
    request
        .text
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number", request.text.trim()))
}

fn blobs() -> Result<Vec<String>, String> {
    store::list_keys("blob/", 1000).map_err(store_text)
}

fn store_text(error: StoreError) -> String {
    match error {
        StoreError::TooLarge(text) | StoreError::Unavailable(text) => text,
        StoreError::NotANumber => "not a number".into(),
    }
}

fn hoard(request: CommandRequest) -> Result<Reply, String> {
    let n = count(&request)?;
    let existing = blobs()?;
    // After the highest key there is, so a value never replaces another.
    let next = existing
        .last()
        .and_then(|key| key.strip_prefix("blob/")?.parse::<usize>().ok())
        .map_or(0, |last| last + 1);
    let start = existing.len();
    let value = vec![0x5a_u8; MIB];
    let mut stored = 0;
    let mut refused = None;
    for i in next..next + n {
        match store::set(&format!("blob/{i:04}"), &value) {
            Ok(()) => stored += 1,
            Err(error) => {
                refused = Some(store_text(error));
                break;
            }
        }
    }
    let mut text = format!("stored {stored}, {} in all", start + stored);
    if let Some(why) = refused {
        text.push_str(&format!("; refused: {why}"));
    }
    Ok(Reply::ephemeral(text))
}

fn unhoard(request: CommandRequest) -> Result<Reply, String> {
    let n = count(&request)?;
    let mut deleted = 0;
    for key in blobs()?.into_iter().take(n) {
        if store::delete(&key).map_err(store_text)? {
            deleted += 1;
        }
    }
    Ok(Reply::ephemeral(format!("deleted {deleted}")))
}

fn spam(request: CommandRequest) -> Result<Reply, String> {
    let n = count(&request)?;
    let channel = request.context.channel_id.clone();
    let mut posted = 0;
    let mut refused = None;
    for i in 0..n {
        match slack::post_message(&channel, &Message::new(format!("spam {i}")), None) {
            Ok(_) => posted += 1,
            Err(error) => {
                refused = Some(match error {
                    SlackError::Api(text)
                    | SlackError::InvalidArgument(text)
                    | SlackError::InvalidBlocks(text) => text,
                });
                break;
            }
        }
    }
    let mut text = format!("posted {posted}");
    if let Some(why) = refused {
        text.push_str(&format!("; refused: {why}"));
    }
    Ok(Reply::ephemeral(text))
}

export_app!(app);
