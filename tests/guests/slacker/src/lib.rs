//! Test guest: one `/slacker` subcommand per Slack call added with the
//! second contract, each answering (ephemeral) a short text of what came
//! back:
//!
//! - `permalink <channel> <ts>`: `get-permalink` → the link;
//! - `thread <channel> <ts>`: `thread-replies` → `<ts> <user>: <text>` per
//!   message, joined with ` | `;
//! - `members <channel>`: `channel-members` → the ids, comma-separated;
//! - `groups`: `user-groups` → `<id> @<handle> (<name>)` per group;
//! - `group <id>`: `user-group-members` → the ids;
//! - `incident <name> <user>`: `create-channel`, `invite`, `set-topic`, a
//!   `post`, `pin` → `incident <channel>: <ts> pinned`;
//! - `schedule <channel> <secs-from-now> <text>`: `schedule-message` →
//!   `scheduled <id> for <unix seconds>`;
//! - `upload <channel>`: `upload-file` of `report.csv` (two lines) →
//!   `uploaded report.csv`;
//! - `meta <channel>`: a parent message, then a `post` in its thread with
//!   broadcast and metadata `{"event_type":"slacker","payload":{"n":1}}` →
//!   `<ts> in thread <parent ts>`.
//!
//! It imports `slack` and `clock` (for `schedule`).

use botyard_sdk::prelude::*;
use serde_json::json;

fn app() -> App {
    App::new("slacker", "Exercises Slack")
        .command(
            "/slacker permalink",
            spec("A message's link").usage("<channel> <ts>"),
            permalink,
        )
        .command(
            "/slacker thread",
            spec("A thread's messages").usage("<channel> <ts>"),
            thread,
        )
        .command(
            "/slacker members",
            spec("A channel's members").usage("<channel>"),
            members,
        )
        .command("/slacker groups", "The user groups", groups)
        .command(
            "/slacker group",
            spec("A user group's members").usage("<id>"),
            group,
        )
        .command(
            "/slacker incident",
            spec("Open an incident channel").usage("<name> <user>"),
            incident,
        )
        .command(
            "/slacker schedule",
            spec("Post later").usage("<channel> <secs-from-now> <text>"),
            schedule_later,
        )
        .command(
            "/slacker upload",
            spec("Upload report.csv").usage("<channel>"),
            upload,
        )
        .command(
            "/slacker meta",
            spec("Post with metadata in a thread").usage("<channel>"),
            meta,
        )
}

/// The first `n` words of the request's text, or the usage as the error.
fn words(request: &CommandRequest, n: usize, usage: &str) -> Result<Vec<String>, String> {
    let words: Vec<String> = request
        .text
        .splitn(n, ' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    if words.len() < n {
        return Err(format!("usage: /slacker {usage}"));
    }
    Ok(words)
}

fn message_ref(words: &[String]) -> MessageRef {
    MessageRef {
        channel: words[0].clone(),
        ts: words[1].clone(),
    }
}

fn permalink(request: CommandRequest) -> Result<String, String> {
    let words = words(&request, 2, "permalink <channel> <ts>")?;
    Ok(slack::get_permalink(&message_ref(&words))?)
}

fn thread(request: CommandRequest) -> Result<String, String> {
    let words = words(&request, 2, "thread <channel> <ts>")?;
    let messages = slack::thread_replies(&message_ref(&words), 100)?;
    Ok(messages
        .iter()
        .map(|m| format!("{} {}: {}", m.ts, m.user, m.text))
        .collect::<Vec<_>>()
        .join(" | "))
}

fn members(request: CommandRequest) -> Result<String, String> {
    let words = words(&request, 1, "members <channel>")?;
    Ok(slack::channel_members(&words[0])?.join(", "))
}

fn groups(_: CommandRequest) -> Result<String, String> {
    Ok(slack::user_groups()?
        .iter()
        .map(|g| format!("{} @{} ({})", g.id, g.handle, g.name))
        .collect::<Vec<_>>()
        .join(", "))
}

fn group(request: CommandRequest) -> Result<String, String> {
    let words = words(&request, 1, "group <id>")?;
    Ok(slack::user_group_members(&words[0])?.join(", "))
}

fn incident(request: CommandRequest) -> Result<String, String> {
    let words = words(&request, 2, "incident <name> <user>")?;
    let (name, user) = (&words[0], &words[1]);
    let channel = slack::create_channel(name, false)?;
    slack::invite(&channel, std::slice::from_ref(user))?;
    slack::set_topic(&channel, &format!("Incident {name}"))?;
    let text = format!("Incident {name} opened by <@{}>", request.context.user_id);
    let posted = slack::post(&channel, &Message::new(text), &PostOptions::default())?;
    slack::pin(&posted)?;
    Ok(format!("incident {channel}: {} pinned", posted.ts))
}

fn schedule_later(request: CommandRequest) -> Result<String, String> {
    let words = words(&request, 3, "schedule <channel> <secs-from-now> <text>")?;
    let secs: u64 = words[1]
        .parse()
        .map_err(|_| format!("`{}` is not a number of seconds", words[1]))?;
    let post_at = clock::now_ms() / 1000 + secs;
    let id = slack::schedule_message(&words[0], &Message::new(words[2].as_str()), post_at, None)?;
    Ok(format!("scheduled {id} for {post_at}"))
}

fn upload(request: CommandRequest) -> Result<String, String> {
    let words = words(&request, 1, "upload <channel>")?;
    let csv = "dish,votes\npho,3\n";
    slack::upload_file(&words[0], "report.csv", "Report", csv.as_bytes(), None)?;
    Ok("uploaded report.csv".into())
}

fn meta(request: CommandRequest) -> Result<String, String> {
    let words = words(&request, 1, "meta <channel>")?;
    let parent = slack::post_message(&words[0], &Message::new("Slacker thread"), None)?;
    let options = PostOptions::default()
        .thread_ts(&parent.ts)
        .reply_broadcast(true)
        .metadata("slacker", json!({"n": 1}));
    let posted = slack::post(&words[0], &Message::new("With metadata"), &options)?;
    Ok(format!("{} in thread {}", posted.ts, parent.ts))
}

export_app!(app);
