//! `/blackfriday`: the countdown to Black Friday and the team's readiness
//! checklist, as botyard ships them. See README.md for what people type and
//! see; `date` is the calendar (Black Friday, time zones, when to post),
//! `parse` the command line, `checklist` the list and its changes.

mod checklist;
mod date;
mod parse;

use botyard_sdk::prelude::*;
use chrono::Datelike;
use chrono_tz::Tz;

use checklist::{Change, Checklist, Owner};
use date::{long_date, span, Countdown, Post};
use parse::{escape, Command, Mention};

fn app() -> App {
    App::new(
        "blackfriday",
        "Counts down to Black Friday and keeps the readiness checklist",
    )
    .command(
        "/blackfriday",
        spec("Days and hours to Black Friday, and the readiness checklist").usage(
            "[help | checklist add \"Item\" @owner | checklist done N | checklist list]",
        ),
        command,
    )
    // Every quarter hour (cron runs in UTC): 09:00 in the post's time zone
    // is a quarter hour in UTC in every zone (+05:30, +05:45 …); the tick
    // decides whether a post is due.
    .schedule("countdown", "*/15 * * * *", countdown_tick)
    .setting(
        "channel",
        "Where the countdown is posted (`#black-friday` or a channel id); no posts while it is not set",
    )
    .setting(
        "timezone",
        setting_spec("The IANA time zone of the 09:00 post and of its working days and last day (`America/New_York`)")
            .default("UTC"),
    )
}

export_app!(app);

// --- settings ---------------------------------------------------------------

/// The time zone of the channel post, and its name as shown; UTC when the
/// setting is not an IANA zone (`Err` says so).
fn post_zone_checked() -> Result<(Tz, String), (Tz, String, String)> {
    let name = settings::get("timezone").unwrap_or_default();
    match date::zone(&name) {
        Some(tz) => Ok((tz, tz.name().to_string())),
        None => Err((
            Tz::UTC,
            "UTC".into(),
            format!("setting `timezone` = {name:?} is not an IANA time zone (like `America/New_York`), so UTC is used"),
        )),
    }
}

/// [`post_zone_checked`], UTC when the setting is wrong.
fn post_zone() -> (Tz, String) {
    post_zone_checked().unwrap_or_else(|(tz, name, _)| (tz, name))
}

fn post_channel() -> Option<String> {
    settings::get("channel")
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
}

// --- the checklist in the store ----------------------------------------------

/// The year of the Black Friday being prepared for: this year's until it
/// is over in the post's time zone, then next year's.
fn checklist_year(now: i64) -> i32 {
    Countdown::at(post_zone().0, now).date.year()
}

fn checklist_key(year: i32) -> String {
    format!("checklist/{year}")
}

fn load(year: i32) -> Result<Checklist, String> {
    Ok(store::get_json(&checklist_key(year))?.unwrap_or_default())
}

/// Applies `change` to the checklist by compare-and-swap, retrying when
/// someone else changed it in between; an error or an unchanged result
/// writes nothing.
fn modify(
    year: i32,
    change: impl Fn(&mut Checklist) -> Result<Change, String>,
) -> Result<(Change, Checklist), String> {
    let key = checklist_key(year);
    loop {
        let before = store::get(&key)?;
        let mut list: Checklist = match &before {
            Some(bytes) => {
                serde_json::from_slice(bytes).map_err(|e| format!("store key `{key}`: {e}"))?
            }
            None => Checklist::default(),
        };
        let outcome = change(&mut list)?;
        if !outcome.changed() {
            return Ok((outcome, list));
        }
        let after = serde_json::to_vec(&list).map_err(|e| e.to_string())?;
        if store::compare_and_swap(&key, before.as_deref(), Some(&after))? {
            return Ok((outcome, list));
        }
    }
}

// --- commands ----------------------------------------------------------------

fn command(request: CommandRequest) -> Result<Reply, String> {
    let now = clock::now_ms() as i64;
    let user = request.context.user_id.clone();
    match parse::parse(&request.text)? {
        Command::Countdown => Ok(Reply::ephemeral(countdown_for(&user, now)?)),
        Command::Help => Ok(Reply::ephemeral(help())),
        Command::List => {
            let year = checklist_year(now);
            Ok(Reply::ephemeral(load(year)?.render(year)))
        }
        Command::Add { title, owner } => {
            let owner = match owner {
                None => Owner::User(user.clone()),
                Some(mention) => resolve(mention, &request.context.channel_id)?,
            };
            let year = checklist_year(now);
            let (change, list) = modify(year, |list| list.add(&title, owner.clone(), &user))?;
            let Change::Added(item) = change else {
                unreachable!("add adds")
            };
            Ok(Reply::in_channel(format!(
                ":memo: <@{user}> added {} to the Black Friday checklist, owner {}. Checklist: {}.",
                item.label(),
                item.owner.mention(),
                list.summary()
            )))
        }
        Command::Done(n) => {
            let (change, list) = modify(checklist_year(now), |list| list.mark_done(n, &user))?;
            Ok(match change {
                Change::Done(item) => Reply::in_channel(format!(
                    ":white_check_mark: <@{user}> marked {} (owner {}) done. Checklist: {}.",
                    item.label(),
                    item.owner.mention(),
                    list.summary()
                )),
                Change::AlreadyDone(item) => Reply::ephemeral(format!(
                    "{} is already done (marked by <@{}>); nothing changed.",
                    item.label(),
                    item.done_by.unwrap_or_default()
                )),
                _ => unreachable!("done marks done"),
            })
        }
        Command::Reopen(n) => {
            let (change, list) = modify(checklist_year(now), |list| list.reopen(n))?;
            Ok(match change {
                Change::Reopened(item) => Reply::in_channel(format!(
                    ":arrows_counterclockwise: <@{user}> reopened {} (owner {}). Checklist: {}.",
                    item.label(),
                    item.owner.mention(),
                    list.summary()
                )),
                Change::AlreadyOpen(item) => {
                    Reply::ephemeral(format!("{} is still open; nothing changed.", item.label()))
                }
                _ => unreachable!("reopen reopens"),
            })
        }
        Command::Remove(n) => {
            let (change, list) = modify(checklist_year(now), |list| list.remove(n))?;
            let Change::Removed(item) = change else {
                unreachable!("remove removes")
            };
            Ok(Reply::in_channel(format!(
                ":wastebasket: <@{user}> removed {} (owner {}) from the checklist. Checklist: {}.",
                item.label(),
                item.owner.mention(),
                list.summary()
            )))
        }
    }
}

/// The countdown in the asker's own time zone (their Slack profile's).
fn countdown_for(user: &str, now: i64) -> Result<String, String> {
    let (tz, zone_note) = match slack::lookup_user(user) {
        Ok(info) => match date::zone(&info.tz) {
            Some(tz) => (tz, format!("your time zone, {}", tz.name())),
            None => (Tz::UTC, "UTC: Slack has no time zone for you".to_string()),
        },
        Err(e) => {
            log::warn(&format!("users.info {user} failed ({e}); counting in UTC"));
            (Tz::UTC, "UTC: Slack did not say your time zone".to_string())
        }
    };
    let c = Countdown::at(tz, now);
    let checklist = load(checklist_year(now))?.summary();
    Ok(if c.today {
        format!(
            ":shopping_bags: *It's Black Friday today!* ({}, {zone_note}). Good luck out there. Next year's is {}, in {}. Checklist: {checklist}.",
            long_date(c.date),
            long_date(c.next_year()),
            span(date::start_of_day(tz, c.next_year()) - now)
        )
    } else if c.last_day {
        format!(
            ":alarm_clock: *Black Friday is tomorrow* ({}): *{}* to go, until midnight in {zone_note}. Checklist: {checklist}.",
            long_date(c.date),
            date::hours_span(c.remaining_ms)
        )
    } else {
        format!(
            ":shopping_bags: *{}* to Black Friday ({}), counted to midnight in {zone_note}. Checklist: {checklist}.",
            span(c.remaining_ms),
            long_date(c.date)
        )
    })
}

fn help() -> String {
    let (zone, warning) = match post_zone_checked() {
        Ok((_, zone)) => (zone, String::new()),
        Err((_, zone, problem)) => (zone, format!(" (The {problem}.)")),
    };
    let posts = match post_channel() {
        Some(channel) => format!(
            "I post the countdown in {} at 09:00 ({zone}) every working day (Monday to Friday), and every hour on the last day before Black Friday.{warning}",
            channel_link(&channel)
        ),
        None => "The countdown post is off: the operator has not set a channel (`[apps.blackfriday.settings] channel`).".into(),
    };
    format!(
        "*`/blackfriday`* — how long until Black Friday (the day after the fourth Thursday of November), in your time zone.\n\
         *`/blackfriday checklist add \"Load test checkout\" @alice`* — add an item to the readiness checklist, owned by @alice (or by you, without an owner).\n\
         *`/blackfriday checklist done 2`* — mark item 2 done (`reopen 2` opens it again, `remove 2` takes it off).\n\
         *`/blackfriday checklist list`* — every item, its owner, open or done.\n\
         *`/blackfriday help`* — this.\n\
         {posts} The checklist is for the coming Black Friday; the day after it, next year's starts empty."
    )
}

/// `#black-friday` stays as written; a channel id becomes a link.
fn channel_link(channel: &str) -> String {
    if channel.starts_with('#') {
        channel.to_string()
    } else {
        format!("<#{channel}>")
    }
}

// --- owners ----------------------------------------------------------------

/// How many members of a channel are looked up to find one `@name`.
const SCAN_LIMIT: usize = 60;

/// Who `@name` is: a person (remembered once found), else a user group.
/// Slack sends `@name` as typed, so the name is looked for among the
/// members of the channel the command came from, then of the countdown
/// channel.
fn resolve(mention: Mention, channel: &str) -> Result<Owner, String> {
    let name = match mention {
        Mention::User(id) => return Ok(Owner::User(id)),
        Mention::Group(id) => return Ok(Owner::Group(id)),
        Mention::Name(name) => name,
    };
    let wanted = name.to_lowercase();
    let key = format!("name/{wanted}");
    if let Some(id) = store::get(&key)? {
        return Ok(Owner::User(String::from_utf8_lossy(&id).into_owned()));
    }
    let mut places = vec![channel.to_string()];
    places.extend(post_channel());
    let mut seen = Vec::new();
    for place in places.iter().filter(|c| !c.is_empty()) {
        let Ok(members) = slack::channel_members(place) else {
            continue;
        };
        for id in members.into_iter().take(SCAN_LIMIT) {
            if seen.contains(&id) {
                continue;
            }
            let Ok(info) = slack::lookup_user(&id) else {
                continue;
            };
            seen.push(id.clone());
            let names = [info.name.to_lowercase(), info.real_name.to_lowercase()];
            for known in names.iter().filter(|n| !n.is_empty()) {
                store::set(&format!("name/{known}"), id.as_bytes())?;
            }
            if names.contains(&wanted) && !info.is_bot {
                return Ok(Owner::User(id));
            }
        }
    }
    if let Ok(groups) = slack::user_groups() {
        if let Some(group) = groups.iter().find(|g| g.handle.to_lowercase() == wanted) {
            return Ok(Owner::Group(group.id.clone()));
        }
    }
    Err(format!(
        "I don't know who @{} is: nobody in this channel goes by that name. Pick the owner from Slack's autocomplete, or check the spelling; nothing was added.",
        escape(&name)
    ))
}

// --- the countdown post ------------------------------------------------------

fn countdown_tick(tick: Tick) -> Result<(), String> {
    let now = clock::now_ms() as i64;
    let slot = (tick.due_ms as i64) / date::MINUTE * date::MINUTE;
    let (tz, zone) = match post_zone_checked() {
        Ok(zone) => zone,
        Err((tz, zone, problem)) => {
            if date::post_due(tz, slot).is_some() {
                log::error(&problem);
            }
            (tz, zone)
        }
    };
    let Some(post) = date::post_due(tz, slot) else {
        return Ok(());
    };
    let Some(channel) = post_channel() else {
        log::info("a countdown post is due, but setting `channel` is not set: not posting");
        return Ok(());
    };
    if now - slot > date::HOUR {
        log::warn(&format!(
            "the countdown post due at {slot} is over an hour late: skipped"
        ));
        return Ok(());
    }
    if !claim(slot)? {
        return Ok(()); // posted already (a tick delivered twice)
    }
    let c = Countdown::at(tz, now);
    let list = load(c.date.year())?;
    let text = post_text(&c, post, &zone, &list, now);
    slack::post_message(&channel, &Message::new(text), None)?;
    Ok(())
}

/// Records that the post of `slot` is made; false when it was already.
fn claim(slot: i64) -> Result<bool, String> {
    loop {
        let before = store::get("posted")?;
        let last: i64 = before
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
            .unwrap_or(0);
        if last >= slot {
            return Ok(false);
        }
        if store::compare_and_swap(
            "posted",
            before.as_deref(),
            Some(slot.to_string().as_bytes()),
        )? {
            return Ok(true);
        }
    }
}

fn post_text(c: &Countdown, post: Post, zone: &str, list: &Checklist, now: i64) -> String {
    let checklist = format!(
        "Readiness checklist: {} (`/blackfriday checklist list`).",
        list.summary()
    );
    if c.today {
        format!(
            ":shopping_bags: *It's Black Friday today!* {}. {checklist}",
            long_date(c.date)
        )
    } else if post == Post::Hourly || c.last_day {
        format!(
            ":alarm_clock: *Black Friday is tomorrow:* {} to go (midnight, {zone}). {checklist}",
            date::hours_span(c.starts_ms - now)
        )
    } else {
        format!(
            ":shopping_bags: *{} to Black Friday* ({}, midnight {zone}). {checklist}",
            span(c.starts_ms - now),
            long_date(c.date)
        )
    }
}
