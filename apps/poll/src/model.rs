//! What a poll is and where it is kept.
//!
//! | key | value |
//! |---|---|
//! | `seq` | the last id given to a poll or a repeating poll |
//! | `poll/<id>` | the poll (JSON): question, options, settings, its message, whether closed |
//! | `poll/<id>/s/<k>` | shard `k` of its votes (see `tally`): counts and each voter's choices |
//! | `poll/<id>/dirty` | when its message was last redrawn for a vote (throttles redraws) |
//! | `repeat/<id>` | a repeating poll (JSON): what to post, where, on which schedule |

use botyard_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::parse::{self, OptionSpec, Spec};
use crate::tally::{self, Header, Shard};
use crate::{render, when, Outcome};

/// Shards of a poll without seats: enough that a shard stays small (a
/// vote rewrites one: about 2 KB at 10,000 voters) and concurrent votes
/// rarely retry a compare-and-swap; drawing the results reads each one's
/// first line, which only the votes that redraw the message do.
const SHARDS: u32 = 64;
/// A message redrawn for a vote is not redrawn again for this long; the
/// votes in between are drawn by a trailing refresh.
const REDRAW_EVERY_MS: u64 = 2000;
/// A redraw flag older than this is taken to be left over from a crash.
const STALE_FLAG_MS: u64 = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Poll {
    pub id: u64,
    pub question: String,
    pub options: Vec<Choice>,
    pub creator: String,
    pub channel: String,
    /// The poll's message: channel and ts (or the host's placeholder).
    pub message: Option<(String, String)>,
    pub anonymous: bool,
    /// 1: one option each; 0: any number; n: up to n.
    pub max: u32,
    pub hidden: bool,
    pub add_options: bool,
    pub close_at: Option<u64>,
    pub quorum: Option<u32>,
    pub remind_at: Option<u64>,
    /// How many shards its votes are spread over: 1 when an option has
    /// seats, so a seat is taken by one compare-and-swap of everything.
    pub shards: u32,
    /// Mixed into anonymous voters' ids.
    pub salt: String,
    pub closed: Option<Closed>,
    /// The repeating poll this one is an occurrence of.
    pub repeat: Option<u64>,
    pub created_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Choice {
    pub text: String,
    pub capacity: Option<u32>,
    /// Who added it, when it was not the creator at the start.
    pub added_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Closed {
    /// A user id, or `time`, `quorum`, `repeat`.
    pub by: String,
    pub at_ms: u64,
}

impl Closed {
    pub fn by_user(user: &str) -> Closed {
        Closed {
            by: user.to_string(),
            at_ms: clock::now_ms(),
        }
    }

    pub fn at_time(at_ms: u64) -> Closed {
        Closed {
            by: "time".into(),
            at_ms,
        }
    }
}

/// A repeating poll: posted anew at every occurrence of `cron` (UTC).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    pub spec: StoredSpec,
    pub cron: String,
    pub channel: String,
    pub creator: String,
    /// The occurrence posted last: closed when the next is posted.
    pub last_poll: Option<u64>,
}

/// [`Spec`] as kept for a repeating poll.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSpec {
    pub question: String,
    pub options: Vec<(String, Option<u32>)>,
    pub anonymous: bool,
    pub max: u32,
    pub hidden: bool,
    pub add_options: bool,
    pub close: Option<String>,
    pub quorum: Option<u32>,
    pub remind: Option<String>,
}

impl StoredSpec {
    fn of(spec: &Spec) -> StoredSpec {
        StoredSpec {
            question: spec.question.clone(),
            options: spec
                .options
                .iter()
                .map(|o| (o.text.clone(), o.capacity))
                .collect(),
            anonymous: spec.anonymous,
            max: spec.max,
            hidden: spec.hidden,
            add_options: spec.add_options,
            close: spec.close.clone(),
            quorum: spec.quorum,
            remind: spec.remind.clone(),
        }
    }

    fn spec(&self) -> Spec {
        Spec {
            question: self.question.clone(),
            options: self
                .options
                .iter()
                .map(|(text, capacity)| OptionSpec {
                    text: text.clone(),
                    capacity: *capacity,
                })
                .collect(),
            anonymous: self.anonymous,
            max: self.max,
            hidden: self.hidden,
            add_options: self.add_options,
            close: self.close.clone(),
            quorum: self.quorum,
            remind: self.remind.clone(),
            repeat: None,
        }
    }
}

pub fn poll_key(id: u64) -> String {
    format!("poll/{id}")
}

pub fn shard_key(id: u64, shard: u32) -> String {
    format!("poll/{id}/s/{shard}")
}

pub fn dirty_key(id: u64) -> String {
    format!("poll/{id}/dirty")
}

pub fn template_key(id: u64) -> String {
    format!("repeat/{id}")
}

impl Poll {
    /// Who `user` is in this poll's votes: their id, or for an anonymous
    /// poll a salted hash of it, so the store never says who voted what.
    pub fn voter_id(&self, user: &str) -> String {
        if !self.anonymous {
            return user.to_string();
        }
        let digest = Sha256::new()
            .chain_update(self.salt.as_bytes())
            .chain_update(b":")
            .chain_update(user.as_bytes())
            .finalize();
        digest[..10].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn message_ref(&self) -> Option<MessageRef> {
        self.message.as_ref().map(|(channel, ts)| MessageRef {
            channel: channel.clone(),
            ts: ts.clone(),
        })
    }
}

/// The poll `id` (as text, from a button's value or a tick's name).
pub fn load(id: &str) -> Result<Poll, String> {
    let missing = || "This poll no longer exists.".to_string();
    let id: u64 = id.parse().map_err(|_| missing())?;
    store::get_json(&poll_key(id))?.ok_or_else(missing)
}

/// Creates a poll from `spec` and posts it in `channel`.
pub fn create(
    spec: &Spec,
    creator: &str,
    channel: &str,
    repeat: Option<u64>,
    now: u64,
) -> Result<Poll, String> {
    let close_at = spec
        .close
        .as_deref()
        .map(|t| when::parse_when(t, now))
        .transpose()?;
    let remind_at = spec
        .remind
        .as_deref()
        .map(|t| when::parse_when(t, now))
        .transpose()?;
    if let (Some(close), Some(remind)) = (close_at, remind_at) {
        if remind >= close {
            return Err(
                "The reminder would come after the poll closes: remind earlier, or close later."
                    .into(),
            );
        }
    }
    let id = store::increment("seq", 1)? as u64;
    let salt = {
        let digest = Sha256::new()
            .chain_update(format!("{id}:{creator}:{now}:{}", spec.question))
            .finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    };
    let mut poll = Poll {
        id,
        question: spec.question.clone(),
        options: spec
            .options
            .iter()
            .map(|o| Choice {
                text: o.text.clone(),
                capacity: o.capacity,
                added_by: None,
            })
            .collect(),
        creator: creator.to_string(),
        channel: channel.to_string(),
        message: None,
        anonymous: spec.anonymous,
        max: spec.max,
        hidden: spec.hidden,
        add_options: spec.add_options,
        close_at,
        quorum: spec.quorum,
        remind_at,
        shards: if spec.options.iter().any(|o| o.capacity.is_some()) {
            1
        } else {
            SHARDS
        },
        salt,
        closed: None,
        repeat,
        created_ms: now,
    };
    let posted = slack::post_message(channel, &render::poll(&poll, &Header::default()), None)?;
    poll.message = Some((posted.channel, posted.ts));
    store::set_json(&poll_key(id), &poll)?;
    if let Some(at) = close_at {
        schedule::once(&format!("close:{id}"), at)?;
    }
    if let Some(at) = remind_at {
        schedule::once(&format!("remind:{id}"), at)?;
    }
    Ok(poll)
}

/// Every shard's counts, added up: one read per shard, first lines only.
pub fn totals(poll: &Poll) -> Result<Header, String> {
    let mut total = Header::default();
    for k in 0..poll.shards {
        if let Some(bytes) = store::get(&shard_key(poll.id, k))? {
            total.add(&Header::parse(&String::from_utf8_lossy(&bytes)));
        }
    }
    Ok(total)
}

/// Every shard in full.
pub fn shards(poll: &Poll) -> Result<Vec<Shard>, String> {
    let mut all = Vec::new();
    for k in 0..poll.shards {
        if let Some(bytes) = store::get(&shard_key(poll.id, k))? {
            all.push(Shard::parse(&String::from_utf8_lossy(&bytes)));
        }
    }
    Ok(all)
}

/// Changes `voter`'s choices with `change` (given the shard's counts and
/// their choices, to edit) in one compare-and-swap of their shard; returns
/// what `change` said and their choices after. A closed shard is not changed.
pub fn change_vote(
    poll: &Poll,
    voter: &str,
    mut change: impl FnMut(&Header, &mut Vec<u16>) -> Outcome,
) -> Result<(Outcome, Vec<u16>), String> {
    let key = shard_key(poll.id, tally::shard_of(voter, poll.shards));
    loop {
        let current = store::get(&key)?;
        let text = current
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let edit = tally::Edit::of(&text, voter);
        if edit.header.closed {
            return Err("This poll is closed: votes are no longer counted.".into());
        }
        let mut mine = edit.choices.clone();
        let outcome = change(&edit.header, &mut mine);
        if !matches!(outcome, Outcome::Voted { .. } | Outcome::Withdrawn) {
            return Ok((outcome, mine));
        }
        let new = edit.with(voter, &mine);
        if store::compare_and_swap(&key, current.as_deref(), Some(new.as_bytes()))? {
            return Ok((outcome, mine));
        }
    }
}

/// After a vote changed: close at the quorum, else redraw the message.
pub fn after_vote(poll: &Poll) -> Result<(), String> {
    if let Some(quorum) = poll.quorum {
        let totals = totals(poll)?;
        if totals.voters >= u64::from(quorum) {
            return close(
                poll.id,
                Closed {
                    by: "quorum".into(),
                    at_ms: clock::now_ms(),
                },
            );
        }
    }
    request_refresh(poll)
}

/// Redraws the poll's message now unless it was redrawn in the last
/// [`REDRAW_EVERY_MS`]; then a trailing refresh draws what came in
/// between. A poll with 10,000 voters clicking at once is redrawn about
/// once every two seconds, not 10,000 times (Slack allows ~1 update/s).
///
/// The flag holds when it was set and, once drawn, the counts drawn, so
/// the trailing refresh redraws only when something changed.
pub fn request_refresh(poll: &Poll) -> Result<(), String> {
    let key = dirty_key(poll.id);
    let now = clock::now_ms();
    let current = store::get(&key)?;
    let since: Option<u64> = current
        .as_deref()
        .and_then(|b| std::str::from_utf8(b).ok()?.split(' ').next()?.parse().ok());
    if since.is_some_and(|at| now.saturating_sub(at) < STALE_FLAG_MS) {
        return Ok(()); // a trailing refresh is coming
    }
    let flag = now.to_string();
    if !store::compare_and_swap(&key, current.as_deref(), Some(flag.as_bytes()))? {
        return Ok(()); // someone else just took it
    }
    let drawn = refresh_now(poll)?;
    store::compare_and_swap(
        &key,
        Some(flag.as_bytes()),
        Some(format!("{flag} {}", fingerprint(&drawn)).as_bytes()),
    )?;
    schedule::once(&format!("refresh:{}", poll.id), now + REDRAW_EVERY_MS)?;
    Ok(())
}

/// The trailing refresh: clears the flag (so the next vote redraws at
/// once) and redraws if the counts moved since the last drawing.
pub fn trailing_refresh(poll: &Poll) -> Result<(), String> {
    let key = dirty_key(poll.id);
    let flag = store::get(&key)?.map(|b| String::from_utf8_lossy(&b).into_owned());
    store::delete(&key)?;
    if poll.closed.is_some() {
        return Ok(());
    }
    let drawn = flag
        .as_deref()
        .and_then(|f| f.split_once(' '))
        .map(|(_, d)| d);
    let totals = totals(poll)?;
    if drawn != Some(fingerprint(&totals).as_str()) {
        draw(poll, &totals)?;
    }
    Ok(())
}

fn fingerprint(totals: &Header) -> String {
    let counts: Vec<String> = totals.counts.iter().map(u64::to_string).collect();
    format!("{}:{}", totals.voters, counts.join(","))
}

/// Draws the poll's message from the store; returns the counts drawn.
pub fn refresh_now(poll: &Poll) -> Result<Header, String> {
    let totals = totals(poll)?;
    draw(poll, &totals)?;
    Ok(totals)
}

fn draw(poll: &Poll, totals: &Header) -> Result<(), String> {
    if let Some(target) = poll.message_ref() {
        slack::update_message(&target, &render::poll(poll, totals))?;
    }
    Ok(())
}

/// Closes poll `id` (if still open) and draws its final results.
pub fn close(id: u64, closed: Closed) -> Result<(), String> {
    let mut newly = false;
    let exists: Option<Poll> = store::get_json(&poll_key(id))?;
    let Some(existing) = exists else {
        return Ok(()); // deleted: nothing to close
    };
    let poll = store::update_json(&poll_key(id), |poll: Option<Poll>| {
        let mut poll = poll.unwrap_or_else(|| existing.clone());
        newly = poll.closed.is_none();
        if newly {
            poll.closed = Some(closed.clone());
        }
        poll
    })?;
    if newly {
        finish_close(&poll)?;
    }
    Ok(())
}

/// Freezes every shard (a vote that raced the close either got in before
/// or is refused), cancels what was scheduled, and draws the final results.
/// Safe to run again, e.g. when a host died half-way through a close.
pub fn finish_close(poll: &Poll) -> Result<(), String> {
    for k in 0..poll.shards {
        let key = shard_key(poll.id, k);
        loop {
            let current = store::get(&key)?;
            let text = current
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_else(|| "o 0".into());
            if text.starts_with('c') {
                break;
            }
            let frozen = format!("c{}", &text[1..]);
            if store::compare_and_swap(&key, current.as_deref(), Some(frozen.as_bytes()))? {
                break;
            }
        }
    }
    for tick in ["close", "remind", "refresh"] {
        schedule::cancel(&format!("{tick}:{}", poll.id));
    }
    refresh_now(poll).map(drop)
}

/// Adds option `text` (maybe with seats) to `poll` for `user`; the error is
/// for the form's field.
pub fn add_option(poll: &Poll, text: &str, user: &str) -> Result<(), String> {
    let option = parse::option_spec(text, None)?;
    parse::check_option(&option.text)?;
    if option.capacity.is_some() && poll.shards != 1 {
        return Err(
            "Seats can only be given when a poll is created; add the option without them.".into(),
        );
    }
    let mut problem = None;
    let updated = store::update_json(&poll_key(poll.id), |current: Option<Poll>| {
        let mut current = current.unwrap_or_else(|| poll.clone());
        problem = if current.closed.is_some() {
            Some("This poll is closed.".to_string())
        } else if current
            .options
            .iter()
            .any(|o| parse::same(&o.text, &option.text))
        {
            Some(format!("“{}” is already an option.", option.text))
        } else if current.options.len() >= parse::MAX_OPTIONS {
            Some(format!(
                "A poll has at most {} options.",
                parse::MAX_OPTIONS
            ))
        } else {
            None
        };
        if problem.is_none() {
            current.options.push(Choice {
                text: option.text.clone(),
                capacity: option.capacity,
                added_by: (user != current.creator).then(|| user.to_string()),
            });
        }
        current
    })?;
    if let Some(problem) = problem {
        return Err(problem);
    }
    refresh_now(&updated).map(drop)
}

/// DMs everyone in the poll's channel who has not voted (but its creator);
/// returns how many.
pub fn remind(poll: &Poll) -> Result<usize, String> {
    let members = slack::channel_members(&poll.channel)?;
    let voted: std::collections::HashSet<String> = shards(poll)?
        .into_iter()
        .flat_map(|s| s.voters.into_iter().map(|(v, _)| v))
        .collect();
    let message = render::reminder(poll);
    let mut reminded = 0;
    for member in members {
        if member == poll.creator || voted.contains(&poll.voter_id(&member)) {
            continue;
        }
        slack::send_dm(&member, &message)?;
        reminded += 1;
    }
    Ok(reminded)
}

// --- repeating polls -------------------------------------------------------

/// Sets up a repeating poll; returns its id and its first occurrence.
pub fn start_repeating(
    spec: &Spec,
    creator: &str,
    channel: &str,
    now: u64,
) -> Result<(u64, u64), String> {
    let cron = spec.repeat.clone().unwrap_or_default();
    let next = when::Cron::parse(&cron)?
        .next_after(now)
        .ok_or_else(|| format!("`{cron}` never comes round"))?;
    let id = store::increment("seq", 1)? as u64;
    let template = Template {
        spec: StoredSpec::of(spec),
        cron,
        channel: channel.to_string(),
        creator: creator.to_string(),
        last_poll: None,
    };
    store::set_json(&template_key(id), &template)?;
    schedule::once(&format!("repeat:{id}"), next)?;
    Ok((id, next))
}

pub fn template(id: u64) -> Result<Option<Template>, String> {
    Ok(store::get_json(&template_key(id))?)
}

pub fn templates() -> Result<Vec<(u64, Template)>, String> {
    let mut all = Vec::new();
    for key in store::list_keys("repeat/", 1000)? {
        let Some(id) = key.strip_prefix("repeat/").and_then(|id| id.parse().ok()) else {
            continue;
        };
        if let Some(template) = template(id)? {
            all.push((id, template));
        }
    }
    Ok(all)
}

/// An occurrence of repeating poll `id` is due: close the last one, post
/// a new one, and schedule the next.
pub fn repeat_occurrence(id: u64, due_ms: u64) -> Result<(), String> {
    let Some(template) = template(id)? else {
        return Ok(()); // stopped
    };
    if let Some(last) = template.last_poll {
        close(
            last,
            Closed {
                by: "repeat".into(),
                at_ms: due_ms,
            },
        )?;
    }
    let now = clock::now_ms().max(due_ms);
    let mut spec = template.spec.spec();
    // A close or reminder time of day that has passed today means tomorrow's.
    spec.close = spec.close.filter(|t| when::parse_when(t, now).is_ok());
    spec.remind = spec.remind.filter(|t| when::parse_when(t, now).is_ok());
    let poll = create(&spec, &template.creator, &template.channel, Some(id), now)?;
    store::update_json(&template_key(id), |t: Option<Template>| {
        let mut t = t.unwrap_or_else(|| template.clone());
        t.last_poll = Some(poll.id);
        t
    })?;
    if let Some(next) = when::Cron::parse(&template.cron)?.next_after(now) {
        schedule::once(&format!("repeat:{id}"), next)?;
    }
    Ok(())
}
