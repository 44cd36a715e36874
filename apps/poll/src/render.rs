//! What people see: the poll's message, the answers to clicks, the forms,
//! the voter list and the CSV. Everything stays inside Slack's Block Kit
//! limits whatever the number of voters: counts are drawn inline, names
//! only on demand and cut to fit.

use botyard_sdk::prelude::*;

use crate::model::{Choice, Poll};
use crate::parse::{self, Spec};
use crate::tally::{Header, Shard};
use crate::{csv, when, Outcome};

/// Slack's limit on a section's text, less room for "and N more".
const SECTION_BUDGET: usize = 2900;
/// Slack's limit on a button's text.
const BUTTON_CHARS: usize = 75;

fn cut(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(chars - 1).collect();
        cut.push('…');
        cut
    }
}

/// Mrkdwn with Slack's control characters escaped, for text people typed.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn bar(share: f64) -> String {
    let filled = (share * 10.0).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(10 - filled.min(10)))
}

/// The poll's settings in a line.
fn settings_line(poll: &Poll) -> String {
    let mut parts = vec![if poll.anonymous {
        "Anonymous".to_string()
    } else {
        "Not anonymous".to_string()
    }];
    parts.push(match poll.max {
        1 => "Pick one".into(),
        0 => "Pick any number".into(),
        n => format!("Pick up to {n}"),
    });
    if poll.hidden {
        parts.push("Results hidden until the poll closes".into());
    }
    if poll.add_options {
        parts.push("Anyone can add options".into());
    }
    if poll.closed.is_none() {
        if let Some(at) = poll.close_at {
            parts.push(format!("Closes {}", when::slack_date(at)));
        }
        if let Some(q) = poll.quorum {
            parts.push(format!(
                "Closes at {}",
                plural(u64::from(q), "voter", "voters")
            ));
        }
    }
    parts.push(format!("by <@{}>", poll.creator));
    parts.join(" · ")
}

/// The poll's message, with `totals` as its counts.
pub fn poll(poll: &Poll, totals: &Header) -> Message {
    let closed = poll.closed.is_some();
    let shown = !poll.hidden || closed;
    let mut blocks = Vec::new();
    if poll.question.chars().count() <= 150 {
        blocks.push(Block::header(&poll.question));
    } else {
        blocks.push(Block::section(format!("*{}*", escape(&poll.question))));
    }
    blocks.push(Block::context([settings_line(poll)]));
    let votes = totals.votes();
    let best = (0..poll.options.len())
        .map(|i| totals.count(i))
        .max()
        .unwrap_or(0);
    for (i, option) in poll.options.iter().enumerate() {
        let n = totals.count(i);
        let mut text = format!("*{}*", escape(&option.text));
        if closed && shown && n == best && n > 0 {
            text.push_str(" :trophy:");
        }
        text.push_str(&seats(option, n, shown));
        if let Some(by) = &option.added_by {
            text.push_str(&format!(" _(added by <@{by}>)_"));
        }
        if shown {
            let share = if votes == 0 {
                0.0
            } else {
                n as f64 / votes as f64
            };
            text.push_str(&format!(
                "\n`{}` {}% ({})",
                bar(share),
                (share * 100.0).round(),
                plural(n, "vote", "votes")
            ));
        }
        let mut block = Block::section(text).block_id(format!("option-{i}"));
        if !closed {
            block = block.accessory(
                Element::button(cut(&option.text, BUTTON_CHARS), format!("vote:{i}"))
                    .value(poll.id.to_string()),
            );
        }
        blocks.push(block);
    }
    let mut footer = if shown {
        format!(
            "{} · {}",
            plural(totals.voters, "voter", "voters"),
            plural(votes, "vote", "votes")
        )
    } else {
        format!("{} so far", plural(totals.voters, "voter", "voters"))
    };
    if let Some(closed) = &poll.closed {
        footer.push_str(&match closed.by.as_str() {
            "time" => format!(" · :lock: Closed {}", when::slack_date(closed.at_ms)),
            "quorum" => format!(
                " · :lock: Closed: quorum of {} reached",
                poll.quorum.unwrap_or_default()
            ),
            "repeat" => " · :lock: Closed: the next poll is out".to_string(),
            user => format!(" · :lock: Closed by <@{user}>"),
        });
    }
    blocks.push(Block::context([footer]));
    let id = poll.id.to_string();
    let button = |text: &str, action: &str| Element::button(text, action).value(id.as_str());
    let mut actions = Vec::new();
    if !closed && (poll.add_options) {
        actions.push(button("Add an option", "add_option"));
    }
    if !poll.anonymous && shown {
        actions.push(button("Show voters", "voters"));
    }
    if !closed {
        actions.push(button("Remind non-voters", "remind"));
    }
    if shown {
        actions.push(button("Export CSV", "export"));
    }
    if !closed {
        actions.push(button("Close poll", "close").danger());
    }
    blocks.push(Block::actions(actions));
    let fallback = if closed {
        format!("Poll (closed): {}", poll.question)
    } else {
        format!("Poll: {}", poll.question)
    };
    Message::new(fallback).with_blocks(blocks)
}

fn seats(option: &Choice, taken: u64, shown: bool) -> String {
    match option.capacity {
        None => String::new(),
        Some(cap) if !shown => format!(" · {}", plural(u64::from(cap), "seat", "seats")),
        Some(cap) if taken >= u64::from(cap) => format!(" · full ({cap} of {cap} seats taken)"),
        Some(cap) => format!(" · {} of {cap} seats left", u64::from(cap) - taken),
    }
}

fn names(poll: &Poll, options: &[u16]) -> String {
    let names: Vec<String> = options
        .iter()
        .filter_map(|i| poll.options.get(*i as usize))
        .map(|o| format!("*{}*", escape(&o.text)))
        .collect();
    names.join(", ")
}

/// The answer to a vote or a withdrawal, only the voter sees.
pub(crate) fn vote_answer(poll: &Poll, option: u16, outcome: &Outcome, mine: &[u16]) -> Message {
    let this = names(poll, &[option]);
    let text = match outcome {
        Outcome::Voted {
            moved_from: Some(old),
        } => {
            format!(
                "You now vote for {this} (instead of {}).",
                names(poll, &[*old])
            )
        }
        Outcome::Voted { moved_from: None } => format!("You voted for {this}."),
        Outcome::Already => format!("You already voted for {this}."),
        Outcome::Full { capacity } => format!(
            "{this} is full: its {} taken. Pick another option.",
            plural(u64::from(*capacity), "seat is", "seats are")
        ),
        Outcome::AtLimit => format!(
            "You can pick at most {} and you picked {}: withdraw one first.",
            plural(u64::from(poll.max), "option", "options"),
            names(poll, mine)
        ),
        Outcome::Withdrawn => format!("Your vote for {this} is withdrawn."),
        Outcome::NotVoted => format!("You had not voted for {this}."),
    };
    let mut blocks = vec![Block::section(text.clone())];
    if poll.max != 1 && !mine.is_empty() {
        let allowed = match poll.max {
            0 => String::new(),
            n => format!(" of at most {n}"),
        };
        blocks.push(Block::context([format!(
            "Your votes: {} ({}{allowed})",
            names(poll, mine),
            mine.len()
        )]));
    }
    if poll.anonymous {
        blocks.push(Block::context([
            "This poll is anonymous: nobody, its creator included, can see what you voted.",
        ]));
    }
    if !mine.is_empty() {
        let id = poll.id.to_string();
        blocks.push(Block::actions(mine.iter().take(5).map(|i| {
            let text = poll
                .options
                .get(*i as usize)
                .map(|o| o.text.as_str())
                .unwrap_or("?");
            Element::button(
                cut(&format!("Withdraw {text}"), BUTTON_CHARS),
                format!("withdraw:{i}"),
            )
            .value(id.as_str())
        })));
    }
    Message::new(text).with_blocks(blocks)
}

/// Who voted for what, for a poll that is not anonymous: names up to what
/// a section holds, then how many more.
pub fn voters(poll: &Poll, shards: &[Shard]) -> Message {
    let mut by_option: Vec<Vec<&str>> = vec![Vec::new(); poll.options.len()];
    for shard in shards {
        for (voter, choices) in &shard.voters {
            for c in choices {
                if let Some(list) = by_option.get_mut(*c as usize) {
                    list.push(voter);
                }
            }
        }
    }
    let mut blocks = vec![Block::section(format!(
        "*Voters:* {}",
        escape(&poll.question)
    ))];
    let mut cut_any = false;
    for (option, list) in poll.options.iter().zip(&by_option) {
        let mut text = format!("*{}* ({}): ", escape(&option.text), list.len());
        let mut shown = 0;
        for voter in list {
            let mention = format!("<@{voter}>");
            if text.len() + mention.len() + 2 > SECTION_BUDGET {
                break;
            }
            if shown > 0 {
                text.push_str(", ");
            }
            text.push_str(&mention);
            shown += 1;
        }
        if list.is_empty() {
            text.push_str("nobody");
        }
        if shown < list.len() {
            cut_any = true;
            text.push_str(&format!(" and {} more", list.len() - shown));
        }
        blocks.push(Block::section(text));
    }
    if cut_any {
        blocks.push(Block::context([format!(
            "Too many to list here: <@{}> can export everyone as CSV.",
            poll.creator
        )]));
    }
    Message::new(format!("Voters: {}", poll.question)).with_blocks(blocks)
}

/// The results as CSV: the counts, then (unless anonymous) one row per vote.
pub fn csv(poll: &Poll, shards: &[Shard]) -> String {
    let totals = crate::total(shards);
    let mut out = csv::row(&["Question", poll.question.as_str()]);
    out.push_str(&csv::row(&[
        "Status",
        if poll.closed.is_some() {
            "closed"
        } else {
            "open"
        },
    ]));
    out.push_str(&csv::row(&[
        "Voters".to_string(),
        totals.voters.to_string(),
    ]));
    out.push_str("\r\n");
    out.push_str(&csv::row(&["Option", "Votes", "Seats"]));
    for (i, option) in poll.options.iter().enumerate() {
        out.push_str(&csv::row(&[
            option.text.clone(),
            totals.count(i).to_string(),
            option.capacity.map(|c| c.to_string()).unwrap_or_default(),
        ]));
    }
    if !poll.anonymous {
        out.push_str("\r\n");
        out.push_str(&csv::row(&["Option", "Voter"]));
        for (i, option) in poll.options.iter().enumerate() {
            for shard in shards {
                for (voter, choices) in &shard.voters {
                    if choices.contains(&(i as u16)) {
                        out.push_str(&csv::row(&[option.text.as_str(), voter.as_str()]));
                    }
                }
            }
        }
    }
    out
}

/// The DM that goes with an export: what it is, and the CSV itself when it
/// fits in a message.
pub fn export_dm(poll: &Poll, filename: &str, csv: &str) -> Message {
    let text = format!(
        "Results of “{}” as CSV: {filename}{}",
        escape(&poll.question),
        if poll.anonymous {
            " (counts only: the poll is anonymous)"
        } else {
            ""
        }
    );
    let mut blocks = vec![Block::section(text.clone())];
    if csv.len() <= SECTION_BUDGET - 10 {
        blocks.push(Block::section(format!("```{}```", escape(csv))));
    }
    Message::new(text).with_blocks(blocks)
}

/// The DM to someone who has not voted.
pub fn reminder(poll: &Poll) -> Message {
    let text = format!(
        "Reminder: <@{}> asked “{}” in <#{}> and you have not voted yet.",
        poll.creator,
        escape(&poll.question),
        poll.channel
    );
    Message::new(text.clone()).with_blocks([
        Block::section(text),
        Block::context([format!("Open <#{}> to vote.", poll.channel)]),
    ])
}

pub fn cron_words(cron: &str) -> String {
    let f: Vec<&str> = cron.split_whitespace().collect();
    let time = |m: &str, h: &str| -> Option<String> {
        Some(format!(
            "{:02}:{:02} UTC",
            h.parse::<u32>().ok()?,
            m.parse::<u32>().ok()?
        ))
    };
    let days = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    match f.as_slice() {
        [m, h, "*", "*", "*"] => time(m, h).map(|t| format!("every day at {t}")),
        [m, h, "*", "*", "1-5"] => time(m, h).map(|t| format!("every weekday at {t}")),
        [m, h, "*", "*", d] => d
            .parse::<usize>()
            .ok()
            .and_then(|d| days.get(d % 7))
            .and_then(|day| time(m, h).map(|t| format!("every {day} at {t}"))),
        [m, h, d, "*", "*"] => time(m, h).map(|t| format!("on day {d} of every month at {t}")),
        _ => None,
    }
    .unwrap_or_else(|| format!("on the schedule `{cron}` (UTC)"))
}

pub fn help() -> String {
    [
        "*Start a poll:* `/poll \"Where is the offsite?\" \"Lisbon\" \"Berlin\" \"Seoul\"` (or `/poll` alone for a form)",
        "*Options* (after the choices, any order):",
        "• `--anonymous`: nobody, you included, sees who voted what",
        "• `--multiple 2`: each person picks up to 2 (`--multiple` alone: any number)",
        "• `--hidden`: results stay hidden until the poll closes",
        "• `--add-options`: anyone can add options",
        "• `\"Lisbon (2 seats)\"` or `--capacity 2`: at most 2 people per option",
        "• `--close 17:00` (UTC, or `17:00+02:00`), `--close 2h`, `--close \"2026-12-24 17:00\"`",
        "• `--quorum 10`: closes once 10 people have voted",
        "• `--remind 16:00`: direct-messages channel members who have not voted",
        "• `--repeat \"weekly mon 09:00\"` (also `daily`, `weekdays`, `monthly 1`, or a cron line, UTC)",
        "*Voting:* click an option; click another to change (or add, with `--multiple`); withdraw from the confirmation only you see.",
        "*Also:* `/poll list` (your repeating polls), `/poll stop R7`, `/poll help`",
    ]
    .join("\n")
}

// --- forms ----------------------------------------------------------------

fn select(label: &str, block: &str, choices: &[(&str, &str)]) -> Block {
    let options: Vec<SelectOption> = choices
        .iter()
        .map(|(text, value)| option(*text, *value))
        .collect();
    let first = option(choices[0].0, choices[0].1);
    Block::input(
        label,
        Element::static_select("Choose", block, options).initial_option(first),
    )
    .block_id(block)
}

fn text_input(label: &str, block: &str, placeholder: &str, optional: bool) -> Block {
    let mut input = Element::plain_text_input(block);
    if !placeholder.is_empty() {
        input = input.placeholder(placeholder);
    }
    let block_ = Block::input(label, input).block_id(block);
    if optional {
        block_.optional()
    } else {
        block_
    }
}

/// The form `/poll` alone opens; `channel` is where the poll goes.
pub fn create_modal(channel: &str) -> View {
    View::modal("New poll")
        .callback_id("create")
        .submit("Post poll")
        .close("Cancel")
        .private_metadata(channel)
        .blocks([
            text_input("Question", "question", "Where is the offsite?", false),
            Block::input(
                "Options, one per line",
                Element::plain_text_input("options")
                    .multiline()
                    .placeholder("Lisbon (2 seats)\nBerlin\nSeoul"),
            )
            .block_id("options")
            .hint("Add “(2 seats)” to an option to limit how many can pick it."),
            select(
                "Votes",
                "mode",
                &[("Names visible", "named"), ("Anonymous", "anonymous")],
            ),
            select(
                "Choices per person",
                "max",
                &[
                    ("One", "1"),
                    ("Up to 2", "2"),
                    ("Up to 3", "3"),
                    ("Any number", "0"),
                ],
            ),
            select(
                "Results",
                "results",
                &[
                    ("Shown as votes come in", "live"),
                    ("Hidden until the poll closes", "hidden"),
                ],
            ),
            select(
                "New options",
                "add",
                &[
                    ("Only I can add options", "mine"),
                    ("Anyone can add options", "anyone"),
                ],
            ),
            text_input(
                "Close at",
                "close",
                "17:00 (UTC), 2h or 2026-12-24 17:00",
                true,
            ),
            text_input("Close once this many have voted", "quorum", "10", true),
            text_input("Remind non-voters at", "remind", "16:00 (UTC) or 1h", true),
            text_input(
                "Repeat",
                "repeat",
                "weekly mon 09:00, daily 09:00 or a cron line (UTC)",
                true,
            ),
        ])
}

/// The poll the creation form asks for, or the field to complain under.
pub fn spec_from_modal(
    submission: &ViewSubmission,
    now: u64,
) -> Result<Spec, (&'static str, String)> {
    let value = |block: &str| {
        submission
            .value(block, block)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut spec = Spec {
        question: value("question").unwrap_or_default(),
        anonymous: value("mode").as_deref() == Some("anonymous"),
        max: value("max").and_then(|m| m.parse().ok()).unwrap_or(1),
        hidden: value("results").as_deref() == Some("hidden"),
        add_options: value("add").as_deref() == Some("anyone"),
        ..Spec::default()
    };
    for line in value("options")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        spec.options
            .push(parse::option_spec(line, None).map_err(|e| ("options", e))?);
    }
    if let Some(close) = value("close") {
        when::parse_when(&close, now).map_err(|e| ("close", e))?;
        spec.close = Some(close);
    }
    if let Some(remind) = value("remind") {
        when::parse_when(&remind, now).map_err(|e| ("remind", e))?;
        spec.remind = Some(remind);
    }
    if let Some(quorum) = value("quorum") {
        spec.quorum = Some(quorum.parse::<u32>().ok().filter(|q| *q >= 1).ok_or((
            "quorum",
            "Write a whole number of voters, such as 10.".to_string(),
        ))?);
    }
    if let Some(repeat) = value("repeat") {
        spec.repeat = Some(when::parse_repeat(&repeat).map_err(|e| ("repeat", e))?);
    }
    if spec.max as usize > spec.options.len() {
        spec.max = 0;
    }
    parse::check(&spec).map_err(|e| {
        let block = if e.contains("question") && spec.question.is_empty() {
            "question"
        } else {
            "options"
        };
        (
            block,
            e.replace(
                "`/poll` needs a question and at least two options",
                "Write at least two options, one per line",
            ),
        )
    })?;
    Ok(spec)
}

/// The form behind *Add an option*.
pub fn add_option_modal(poll: &Poll) -> View {
    View::modal("Add an option")
        .callback_id("add_option")
        .submit("Add")
        .close("Cancel")
        .private_metadata(poll.id.to_string())
        .blocks([
            Block::section(format!("*{}*", escape(&poll.question))),
            text_input("Option", "option", "Porto", false),
        ])
}
