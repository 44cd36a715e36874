//! `/poll`: polls in Slack, as botyard ships them. See README.md for what
//! people type and see; this file is the handlers, `model` what is stored,
//! `tally` how votes are counted without ever losing one, `render` the
//! messages.
//!
//! Every click is idempotent — a vote says "count me for this option", and
//! saying it twice changes nothing — so a click Slack (or an impatient
//! person) delivers twice is counted once, and one that was never
//! acknowledged can simply be sent again.

mod csv;
mod model;
mod parse;
mod render;
mod tally;
mod when;

use botyard_sdk::prelude::*;

use model::{Closed, Poll, Template};
use parse::Command;
use tally::{Header, Shard};

fn app() -> App {
    App::new(
        "poll",
        "Polls: anonymous, multiple choice, seats, hidden results, reminders, repeating",
    )
    .command(
        "/poll",
        spec("Start a poll").usage("\"Question\" \"Option\" \"Option\" [--anonymous] [--multiple N] [--hidden] [--close 17:00] … | help"),
        command,
    )
    .view("create", create_from_modal)
    .view("add_option", add_option_submitted)
    .action("vote:*", vote)
    .action("withdraw:*", withdraw)
    .action("voters", voters)
    .action("export", export)
    .action("remind", remind_click)
    .action("close", close_click)
    .action("add_option", add_option_click)
    .tick("close:*", close_due)
    .tick("remind:*", remind_due)
    .tick("refresh:*", refresh_due)
    .tick("repeat:*", repeat_due)
}

export_app!(app);

// --- commands -------------------------------------------------------------

fn command(request: CommandRequest) -> Result<Option<Reply>, String> {
    let now = clock::now_ms();
    let user = &request.context.user_id;
    match parse::parse_command(&request.text, now)? {
        Command::Help => Ok(Some(Reply::ephemeral(render::help()))),
        Command::Modal => {
            let trigger = request.context.trigger_id.as_deref().ok_or(
                "`/poll` alone opens a form, which needs Slack; type the poll instead: `/poll \"Lunch?\" \"Pizza\" \"Tacos\"`",
            )?;
            slack::open_view(
                trigger,
                &render::create_modal(&request.context.channel_id).to_json(),
            )?;
            Ok(None)
        }
        Command::List => Ok(Some(Reply::ephemeral(list_repeating(user)?))),
        Command::Stop(which) => Ok(Some(Reply::ephemeral(stop_repeating(&which, user)?))),
        Command::Create(spec) => {
            let channel = request.context.channel_id.clone();
            if channel.is_empty() {
                return Err("Run `/poll` in a channel: that is where the poll goes.".into());
            }
            if spec.repeat.is_some() {
                let (id, next) = model::start_repeating(&spec, user, &channel, now)?;
                return Ok(Some(Reply::ephemeral(format!(
                    "Repeating poll *R{id}* is set up: “{}” will be posted here {}, next {} (`/poll stop R{id}` stops it).",
                    spec.question,
                    render::cron_words(spec.repeat.as_deref().unwrap_or_default()),
                    when::slack_date(next)
                ))));
            }
            model::create(&spec, user, &channel, None, now)?;
            Ok(None)
        }
    }
}

fn create_from_modal(submission: ViewSubmission) -> Result<ViewResponse, String> {
    let now = clock::now_ms();
    let spec = match render::spec_from_modal(&submission, now) {
        Ok(spec) => spec,
        Err((block, message)) => return Ok(ViewResponse::errors([(block, message)])),
    };
    let user = &submission.context.user_id;
    let channel = submission.private_metadata.clone();
    if spec.repeat.is_some() {
        let (id, next) = model::start_repeating(&spec, user, &channel, now)?;
        slack::post_ephemeral(
            &channel,
            user,
            &Message::new(format!(
                "Repeating poll *R{id}* is set up, next {} (`/poll stop R{id}` stops it).",
                when::slack_date(next)
            )),
        )?;
    } else {
        model::create(&spec, user, &channel, None, now)?;
    }
    Ok(ViewResponse::close())
}

fn list_repeating(user: &str) -> Result<String, String> {
    let mine: Vec<(u64, Template)> = model::templates()?
        .into_iter()
        .filter(|(_, t)| t.creator == user)
        .collect();
    if mine.is_empty() {
        return Ok("You have no repeating polls. Add `--repeat \"weekly mon 09:00\"` to a `/poll` to make one.".into());
    }
    let mut text = String::from("Your repeating polls:");
    for (id, t) in mine {
        text.push_str(&format!(
            "\n• *R{id}* “{}” in <#{}>, {} (`/poll stop R{id}`)",
            t.spec.question,
            t.channel,
            render::cron_words(&t.cron)
        ));
    }
    Ok(text)
}

fn stop_repeating(which: &str, user: &str) -> Result<String, String> {
    let id: u64 = which.trim_start_matches(['R', 'r']).parse().map_err(|_| {
        format!("`{which}` is not a repeating poll: they look like `R7` (`/poll list` shows yours)")
    })?;
    let template = model::template(id)?
        .ok_or_else(|| format!("There is no repeating poll R{id} (`/poll list` shows yours)."))?;
    if template.creator != user {
        return Err(format!(
            "Only <@{}> can stop repeating poll R{id}.",
            template.creator
        ));
    }
    store::delete(&model::template_key(id))?;
    schedule::cancel(&format!("repeat:{id}"));
    Ok(format!(
        "Repeating poll R{id} (“{}”) is stopped; polls already posted stay open until they close.",
        template.spec.question
    ))
}

// --- votes ----------------------------------------------------------------

/// The poll a button belongs to (its value is the poll's id) and the option
/// index in its action id (`vote:2`).
fn target(request: &ActionRequest) -> Result<(Poll, u16), String> {
    let option = request
        .action_id
        .split_once(':')
        .and_then(|(_, i)| i.parse::<u16>().ok())
        .ok_or_else(|| format!("`{}` names no option", request.action_id))?;
    let poll = model::load(request.value.as_deref().unwrap_or_default())?;
    if option as usize >= poll.options.len() {
        return Err("That option is no longer part of this poll.".into());
    }
    Ok((poll, option))
}

/// What a vote did.
enum Outcome {
    Voted { moved_from: Option<u16> },
    Already,
    Full { capacity: u32 },
    AtLimit,
    Withdrawn,
    NotVoted,
}

fn vote(request: ActionRequest) -> Result<ActionResponse, String> {
    let (poll, option) = target(&request)?;
    if poll.closed.is_some() {
        model::finish_close(&poll)?;
        return Ok(ActionResponse::ephemeral(
            "This poll is closed: votes are no longer counted.",
        ));
    }
    let voter = poll.voter_id(&request.context.user_id);
    let capacity = poll.options[option as usize].capacity;
    let (outcome, mine) = model::change_vote(&poll, &voter, |shard, mine| {
        if mine.contains(&option) {
            return Outcome::Already;
        }
        if let Some(capacity) = capacity {
            if shard.count(option as usize) >= u64::from(capacity) {
                return Outcome::Full { capacity };
            }
        }
        if poll.max == 1 {
            let moved_from = mine.first().copied();
            *mine = vec![option];
            Outcome::Voted { moved_from }
        } else if poll.max == 0 || mine.len() < poll.max as usize {
            mine.push(option);
            Outcome::Voted { moved_from: None }
        } else {
            Outcome::AtLimit
        }
    })?;
    if let Outcome::Voted { .. } = outcome {
        model::after_vote(&poll)?;
    }
    Ok(ActionResponse::ephemeral(render::vote_answer(
        &poll, option, &outcome, &mine,
    )))
}

fn withdraw(request: ActionRequest) -> Result<ActionResponse, String> {
    let (poll, option) = target(&request)?;
    if poll.closed.is_some() {
        return Ok(ActionResponse::ephemeral(
            "This poll is closed: votes can no longer change.",
        ));
    }
    let voter = poll.voter_id(&request.context.user_id);
    let (outcome, mine) = model::change_vote(&poll, &voter, |_, mine| {
        match mine.iter().position(|c| *c == option) {
            Some(at) => {
                mine.remove(at);
                Outcome::Withdrawn
            }
            None => Outcome::NotVoted,
        }
    })?;
    if let Outcome::Withdrawn = outcome {
        model::after_vote(&poll)?;
    }
    Ok(ActionResponse::ephemeral(render::vote_answer(
        &poll, option, &outcome, &mine,
    )))
}

// --- the poll's buttons ---------------------------------------------------

fn poll_of(request: &ActionRequest) -> Result<Poll, String> {
    model::load(request.value.as_deref().unwrap_or_default())
}

fn creator_only(poll: &Poll, user: &str, what: &str) -> Result<(), String> {
    if poll.creator == user {
        Ok(())
    } else {
        Err(format!(
            "Only <@{}>, who started this poll, can {what}.",
            poll.creator
        ))
    }
}

fn voters(request: ActionRequest) -> Result<ActionResponse, String> {
    let poll = poll_of(&request)?;
    if poll.anonymous {
        return Ok(ActionResponse::ephemeral(
            "This poll is anonymous: nobody, its creator included, can see who voted for what.",
        ));
    }
    if poll.hidden && poll.closed.is_none() {
        return Ok(ActionResponse::ephemeral(
            "Results are hidden until the poll closes.",
        ));
    }
    let shards = model::shards(&poll)?;
    Ok(ActionResponse::Reply(Reply::ephemeral(render::voters(
        &poll, &shards,
    ))))
}

fn export(request: ActionRequest) -> Result<ActionResponse, String> {
    let poll = poll_of(&request)?;
    let user = &request.context.user_id;
    creator_only(&poll, user, "export its results")?;
    if poll.hidden && poll.closed.is_none() {
        return Ok(ActionResponse::ephemeral(
            "Results are hidden until the poll closes, from you too: close it to export them.",
        ));
    }
    let shards = model::shards(&poll)?;
    let csv = render::csv(&poll, &shards);
    let filename = format!("poll-{}.csv", poll.id);
    // The DM says what is coming (with the CSV itself when it is short);
    // the file is shared into the same DM.
    slack::send_dm(user, &render::export_dm(&poll, &filename, &csv))?;
    slack::upload_file(
        user,
        &filename,
        &format!("Poll results: {}", poll.question),
        csv.as_bytes(),
        None,
    )?;
    Ok(ActionResponse::ephemeral(format!(
        "I'm sending you the results as a CSV file (poll-{}.csv) in a direct message{}.",
        poll.id,
        if poll.anonymous {
            ": counts only, since the poll is anonymous"
        } else {
            ""
        }
    )))
}

fn remind_click(request: ActionRequest) -> Result<ActionResponse, String> {
    let poll = poll_of(&request)?;
    creator_only(&poll, &request.context.user_id, "send reminders")?;
    if poll.closed.is_some() {
        return Ok(ActionResponse::ephemeral("This poll is closed."));
    }
    let reminded = model::remind(&poll)?;
    Ok(ActionResponse::ephemeral(match reminded {
        0 => "Everyone in this channel has voted: nobody to remind.".to_string(),
        1 => "I reminded the 1 person here who has not voted yet, by direct message.".to_string(),
        n => format!("I reminded the {n} people here who have not voted yet, by direct message."),
    }))
}

fn close_click(request: ActionRequest) -> Result<ActionResponse, String> {
    let poll = poll_of(&request)?;
    let user = &request.context.user_id;
    creator_only(&poll, user, "close it")?;
    model::close(poll.id, Closed::by_user(user))?;
    Ok(ActionResponse::None)
}

fn add_option_click(request: ActionRequest) -> Result<ActionResponse, String> {
    let poll = poll_of(&request)?;
    let user = &request.context.user_id;
    if !poll.add_options && poll.creator != *user {
        return Ok(ActionResponse::ephemeral(format!(
            "Only <@{}> can add options to this poll.",
            poll.creator
        )));
    }
    if poll.closed.is_some() {
        return Ok(ActionResponse::ephemeral("This poll is closed."));
    }
    let trigger = request
        .context
        .trigger_id
        .as_deref()
        .ok_or("Adding an option opens a form, which needs Slack's trigger id; click again")?;
    slack::open_view(trigger, &render::add_option_modal(&poll).to_json())?;
    Ok(ActionResponse::None)
}

fn add_option_submitted(submission: ViewSubmission) -> Result<ViewResponse, String> {
    let poll = model::load(&submission.private_metadata)?;
    let text = submission.value("option", "option").unwrap_or_default();
    match model::add_option(&poll, &text, &submission.context.user_id) {
        Ok(()) => Ok(ViewResponse::close()),
        Err(problem) => Ok(ViewResponse::errors([("option", problem)])),
    }
}

// --- ticks ----------------------------------------------------------------

fn tick_id(tick: &Tick) -> &str {
    tick.name
        .split_once(':')
        .map(|(_, id)| id)
        .unwrap_or_default()
}

fn close_due(tick: Tick) -> Result<(), String> {
    let id: u64 = tick_id(&tick)
        .parse()
        .map_err(|_| "a close tick with no poll id")?;
    model::close(id, Closed::at_time(tick.due_ms))
}

fn remind_due(tick: Tick) -> Result<(), String> {
    let poll = model::load(tick_id(&tick))?;
    if poll.closed.is_none() {
        let n = model::remind(&poll)?;
        log::info(&format!("poll {}: reminded {n} people", poll.id));
    }
    Ok(())
}

fn refresh_due(tick: Tick) -> Result<(), String> {
    model::trailing_refresh(&model::load(tick_id(&tick))?)
}

fn repeat_due(tick: Tick) -> Result<(), String> {
    let id: u64 = tick_id(&tick)
        .parse()
        .map_err(|_| "a repeat tick with no id")?;
    model::repeat_occurrence(id, tick.due_ms)
}

/// Every shard's header added up: the poll's counts.
pub(crate) fn total(shards: &[Shard]) -> Header {
    let mut total = Header::default();
    for shard in shards {
        total.add(&Header {
            closed: shard.closed,
            voters: shard.voters.len() as u64,
            counts: shard.counts.clone(),
        });
    }
    total
}
