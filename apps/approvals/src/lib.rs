//! `/po` and `/claim`: purchase orders and claims (returns, refunds)
//! approved in Slack. See README.md for what people type and see; this file
//! is the handlers, `model` what is stored, `policy` who may decide,
//! `render` the messages, `erp` the webhooks and the ERP callback.
//!
//! Every decision — a button, a typed command, the reason modal — goes
//! through [`decide`]: it reads the request, checks the version the person
//! saw, and replaces the request by compare-and-swap on its exact stored
//! bytes. Of two decisions on one version, one swap wins; the other finds
//! the request changed and is shown the current one. Each change is then
//! appended to the request's history under a key written once.

mod erp;
mod model;
mod money;
mod policy;
mod render;

use botyard_sdk::prelude::*;

use model::{Approval, Delegation, Kind, Request, State, Transition};

fn app() -> App {
    App::new(
        "approvals",
        "Purchase orders and claims approved in Slack: amount tiers, N-of-M, delegation, history",
    )
    .command("/po new", spec("Request approval of a purchase order (opens a form)"), |r| new_command(Kind::Po, r))
    .command("/po approve", spec("Approve a purchase order").usage("PO-123 [v4]"), |r| approve_command(Kind::Po, r))
    .command("/po reject", spec("Reject a purchase order with a reason").usage("PO-123 [reason…]"), |r| reject_command(Kind::Po, r))
    .command("/po history", spec("Every change of a purchase order").usage("PO-123"), |r| history_command(Kind::Po, r))
    .command("/po pending", spec("Purchase orders waiting for approval"), |r| pending_command(Kind::Po, r))
    .command("/po delegate", spec("Hand your approvals to someone while you are away").usage("@bob until 2026-12-10 | off"), delegate_command)
    .command("/claim new", spec("Request approval of a claim: return or refund (opens a form)"), |r| new_command(Kind::Claim, r))
    .command("/claim approve", spec("Approve a claim").usage("12345 [v4]"), |r| approve_command(Kind::Claim, r))
    .command("/claim reject", spec("Reject a claim with a reason").usage("12345 [reason…]"), |r| reject_command(Kind::Claim, r))
    .command("/claim history", spec("Every change of a claim").usage("12345"), |r| history_command(Kind::Claim, r))
    .command("/claim pending", spec("Claims waiting for approval"), |r| pending_command(Kind::Claim, r))
    .command("/claim delegate", spec("Hand your approvals to someone while you are away").usage("@bob until 2026-12-10 | off"), delegate_command)
    // What people say to `@botyard` for these (English and Korean). A
    // decision is only ever offered, with a button; history and the
    // pending lists just read.
    .phrase(
        Phrase::new("/po approve {po}")
            .aliases(["approve", "accept", "sign off", "purchase order", "승인", "발주", "발주서"])
            .examples(["approve purchase order {po}", "please sign off {po}", "발주 {po} 승인"])
            .slot("po", Slot::id("PO-")),
    )
    .phrase(
        Phrase::new("/po reject {po} [{reason}]")
            .aliases(["reject", "decline", "deny", "purchase order", "거절", "반려", "발주", "발주서"])
            .examples(["decline purchase order {po} because {reason}", "발주서 {po} 반려"])
            .slot("po", Slot::id("PO-"))
            .slot("reason", Slot::text().optional()),
    )
    .phrase(
        Phrase::new("/po history {po}")
            .aliases(["history", "happened", "changes", "audit trail", "이력", "내역", "변경"])
            .examples(["what happened to {po}", "the history of purchase order {po}", "{po} 이력"])
            .slot("po", Slot::id("PO-"))
            .read_only(),
    )
    .phrase(
        Phrase::new("/po pending")
            .aliases(["pending", "waiting", "awaiting approval", "purchase orders", "대기", "미결", "발주"])
            .examples(["which purchase orders are waiting", "pending purchase orders", "승인 대기 발주"])
            .read_only(),
    )
    .phrase(
        Phrase::new("/po new")
            .aliases(["new purchase order", "request a purchase order", "발주 요청", "발주 등록"])
            .examples(["I need to order from a vendor", "새 발주"]),
    )
    .phrase(
        Phrase::new("/claim approve {claim}")
            .aliases(["approve", "accept", "claim", "return", "refund", "승인", "반품", "환불", "클레임"])
            .examples(["approve the refund for {claim}", "반품 {claim} 승인"])
            .slot("claim", Slot::id("")),
    )
    .phrase(
        Phrase::new("/claim reject {claim} [{reason}]")
            .aliases(["reject", "decline", "deny", "claim", "return", "refund", "거절", "반려", "반품", "환불", "클레임"])
            .examples(["decline the refund for {claim} because {reason}", "반품 {claim} 거절"])
            .slot("claim", Slot::id(""))
            .slot("reason", Slot::text().optional()),
    )
    .phrase(
        Phrase::new("/claim history {claim}")
            .aliases(["history", "happened", "claim", "return", "이력", "내역", "반품"])
            .examples(["what happened to claim {claim}", "반품 {claim} 이력"])
            .slot("claim", Slot::id(""))
            .read_only(),
    )
    .phrase(
        Phrase::new("/claim pending")
            .aliases(["pending", "waiting", "claims", "returns", "refunds", "대기", "반품", "환불"])
            .examples(["which returns are waiting", "대기 중인 반품"])
            .read_only(),
    )
    .action("approve", approve_click)
    .action("reject", reject_click)
    .view("reject", reject_submitted)
    .view("po_new", |s| new_submitted(Kind::Po, s))
    .view("claim_new", |s| new_submitted(Kind::Claim, s))
    .webhook("po", "Purchase orders from the ERP: create, or amend by erp_ref", erp::po_webhook)
    .webhook("claim", "Claims from the storefront: create, or amend by number", erp::claim_webhook)
    .tick("remind:*", remind_due)
    .tick("escalate:*", escalate_due)
    .tick("callback:*", erp::callback_due)
    .setting("channel", setting_spec("The approvers' channel, where requests are posted").default("#approvals"))
    .setting("po_tiers", setting_spec("Purchase order tiers, in order: [{ up_to, group or users, approvals }]; the last without up_to").default(policy::DEFAULT_PO_TIERS))
    .setting("claim_tiers", setting_spec("Claim tiers, in order: [{ up_to, group or users, approvals }]; the last without up_to").default(policy::DEFAULT_CLAIM_TIERS))
    .setting("currency", setting_spec("The currency when none is given").default("USD"))
    .setting("remind_after_hours", setting_spec("Hours pending before the approvers are reminded (0: never)").default("24"))
    .setting("escalate_after_hours", setting_spec("Hours after the reminder before it is escalated (0: never)").default("24"))
    .setting("escalation_group", setting_spec("The user group an escalation mentions").default("@finance-leads"))
    .setting("escalation_channel", setting_spec("Where escalations are posted (empty: the approvers' channel)").default(""))
    .setting("po_callback_url", setting_spec("Where final purchase order decisions are POSTed (empty: nowhere); needs an http allow rule").default(""))
    .setting("claim_callback_url", setting_spec("Where final claim decisions are POSTed (empty: nowhere); needs an http allow rule").default(""))
    .setting("callback_attempts", setting_spec("Tries of a callback before it is given up (1 min, doubling, at most 1 h apart)").default("8"))
    .setting("claim_number_start", setting_spec("Claims made in Slack are numbered from here, apart from the storefront's").default("900000"))
}

export_app!(app);

// --- settings ---------------------------------------------------------------

pub(crate) fn setting(name: &str) -> String {
    settings::get(name).unwrap_or_default().trim().to_string()
}

pub(crate) fn setting_number(name: &str) -> Result<f64, String> {
    let text = setting(name);
    if text.is_empty() {
        return Ok(0.0);
    }
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("Setting `{name}` must be a number, not `{text}`."))
}

fn channel() -> Result<String, String> {
    let channel = setting("channel");
    if channel.is_empty() {
        return Err(
            "Setting `channel` is empty: name the approvers' channel, e.g. \"#approvals\".".into(),
        );
    }
    Ok(channel)
}

fn hours(name: &str) -> Result<u64, String> {
    Ok((setting_number(name)? * 3_600_000.0) as u64)
}

// --- new requests -----------------------------------------------------------

/// What a new request says, from a modal, the ERP or the storefront.
pub(crate) struct Draft {
    pub kind: Kind,
    pub id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub subject: String,
    pub description: String,
    pub requester: Option<String>,
    pub requester_name: Option<String>,
    pub source: String,
    pub external_ref: Option<String>,
}

/// Posts a new request to the approvers, stores it, records its first
/// transition and sets its reminder.
pub(crate) fn create(draft: Draft, by: &str) -> Result<Request, String> {
    let now = clock::now_ms();
    let tier = policy::tier_for(draft.kind, draft.amount_cents)?;
    let mut request = Request {
        kind: draft.kind,
        id: draft.id,
        version: 1,
        state: State::Pending,
        amount_cents: draft.amount_cents,
        currency: draft.currency,
        subject: draft.subject,
        description: draft.description,
        requester: draft.requester,
        requester_name: draft.requester_name,
        source: draft.source,
        external_ref: draft.external_ref,
        tier,
        approvals: Vec::new(),
        rejection: None,
        message: None,
        created_ms: now,
        updated_ms: now,
    };
    let channel = channel()?;
    let posted = slack::post_message(&channel, &render::request_message(&request), None)
        .map_err(|e| format!("Posting to {channel} failed ({e}); is the app in that channel?"))?;
    request.message = Some((posted.channel, posted.ts));
    if !model::insert(&request)? {
        return Err(format!("{} exists already.", request.label()));
    }
    model::append(&request, by, None, "requested", None, None)?;
    let remind = hours("remind_after_hours")?;
    if remind > 0 {
        schedule::once(&tick_name("remind", &request), now + remind)?;
    }
    Ok(request)
}

fn tick_name(what: &str, r: &Request) -> String {
    format!("{what}:{}:{}", r.kind.word(), r.id)
}

fn new_command(kind: Kind, request: CommandRequest) -> Result<Option<Reply>, String> {
    let trigger = request
        .context
        .trigger_id
        .as_deref()
        .ok_or("This opens a form, which needs Slack's trigger id: run it from Slack.")?;
    let currency = setting("currency");
    let view = match kind {
        Kind::Po => render::po_modal(&request.context.channel_id, &currency),
        Kind::Claim => render::claim_modal(&request.context.channel_id, &currency),
    };
    slack::open_view(trigger, &view.to_json())?;
    Ok(None)
}

fn new_submitted(kind: Kind, s: ViewSubmission) -> Result<ViewResponse, String> {
    let user = s.context.user_id.clone();
    let text = |block: &str| s.value(block, block).unwrap_or_default().trim().to_string();
    let mut errors: Vec<(String, String)> = Vec::new();
    let amount = money::parse_amount(&text("amount"))
        .map_err(|e| errors.push(("amount".into(), e)))
        .ok();
    let currency = money::currency(&text("currency"))
        .map_err(|e| errors.push(("currency".into(), e)))
        .ok();
    let (subject_block, description_block) = match kind {
        Kind::Po => ("vendor", "description"),
        Kind::Claim => ("order", "reason"),
    };
    let subject = text(subject_block);
    if subject.is_empty() {
        errors.push((subject_block.into(), "Required.".into()));
    }
    if kind == Kind::Claim
        && !subject
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        errors.push((
            "order".into(),
            "An order number: letters, digits and dashes.".into(),
        ));
    }
    let description = text(description_block);
    if description.is_empty() {
        errors.push((description_block.into(), "Required.".into()));
    }
    if let Some(amount) = amount {
        if let Err(e) = policy::tier_for(kind, amount) {
            errors.push(("amount".into(), e));
        }
    }
    if !errors.is_empty() {
        return Ok(ViewResponse::errors(errors));
    }
    let requester = s
        .value("requester", "requester")
        .filter(|u| !u.is_empty())
        .unwrap_or(user.clone());
    let id = match kind {
        Kind::Po => model::next_po_id()?,
        Kind::Claim => model::next_claim_number(setting_number("claim_number_start")? as i64)?,
    };
    let request = create(
        Draft {
            kind,
            id,
            amount_cents: amount.unwrap_or_default(),
            currency: currency.unwrap_or_default(),
            subject,
            description,
            requester: Some(requester),
            requester_name: None,
            source: "slack".into(),
            external_ref: None,
        },
        &user,
    )?;
    let channel = &s.private_metadata;
    let told = format!(
        "{} is posted to the approvers ({} {} needs {} of {}). You will get a DM on each decision.",
        request.label(),
        money::format_cents(request.amount_cents),
        request.currency,
        request.tier.approvals,
        request.tier.who()
    );
    if !channel.is_empty() {
        slack::post_ephemeral(channel, &user, &Message::new(told))?;
    } else {
        slack::send_dm(&user, &Message::new(told))?;
    }
    Ok(ViewResponse::close())
}

// --- decisions --------------------------------------------------------------

pub(crate) enum Act {
    Approve,
    Reject(String),
}

pub(crate) enum Outcome {
    Done(Request, Transition),
    /// The version seen is not the current one, or the request is decided.
    Stale(Request),
}

/// Applies `actor`'s decision to the request, provided it is still the
/// version they saw (`seen`; for a typed command without one, the version
/// read here), by compare-and-swap.
pub(crate) fn decide(
    kind: Kind,
    id: &str,
    seen: Option<u32>,
    actor: &str,
    act: Act,
) -> Result<Outcome, String> {
    let (raw, current) = model::must_load(kind, id)?;
    if seen.is_some_and(|v| v != current.version) || current.state != State::Pending {
        return Ok(Outcome::Stale(current));
    }
    let now = clock::now_ms();
    let on_behalf_of = policy::authority(&current, actor, now)?;
    let mut next = current.clone();
    next.version += 1;
    next.updated_ms = now;
    let approval = Approval {
        by: actor.to_string(),
        on_behalf_of: on_behalf_of.clone(),
        at_ms: now,
    };
    let (action, why) = match act {
        Act::Approve => {
            next.approvals.push(approval);
            if next.approvals.len() as u32 >= next.tier.approvals {
                next.state = State::Approved;
            }
            ("approved", None)
        }
        Act::Reject(reason) => {
            next.state = State::Rejected;
            next.rejection = Some((approval, reason.clone()));
            ("rejected", Some(reason))
        }
    };
    if !model::swap(&raw, &next)? {
        // Someone else's decision (or an amendment) got there first.
        let (_, now_current) = model::must_load(kind, id)?;
        return Ok(Outcome::Stale(now_current));
    }
    let transition = model::append(
        &next,
        actor,
        on_behalf_of.as_deref(),
        action,
        Some(current.state),
        why.as_deref(),
    )?;
    after_change(&next, &transition, true)?;
    Ok(Outcome::Done(next, transition))
}

/// The message updated in place, a thread line, the requester told (for a
/// decision), and on a final state the reminders stopped and the ERP called.
pub(crate) fn after_change(
    r: &Request,
    t: &Transition,
    tell_requester: bool,
) -> Result<(), String> {
    let line = render::thread_line(r, t);
    if let Some((channel, ts)) = &r.message {
        let target = MessageRef {
            channel: channel.clone(),
            ts: ts.clone(),
        };
        slack::update_message(&target, &render::request_message(r))?;
        slack::post(
            channel,
            &Message::new(line.clone()),
            &PostOptions::default().thread_ts(ts.clone()),
        )?;
    }
    if tell_requester {
        if let Some(requester) = &r.requester {
            slack::send_dm(
                requester,
                &Message::new(format!(
                    "Your {} {} ({}, {}): {line}",
                    r.kind.noun().to_lowercase(),
                    r.id,
                    render::amount(r),
                    r.subject
                )),
            )?;
        }
    }
    if r.state != State::Pending {
        schedule::cancel(&tick_name("remind", r));
        schedule::cancel(&tick_name("escalate", r));
        erp::schedule_callback(r)?;
    }
    Ok(())
}

fn stale_reply(r: &Request, seen: Option<u32>) -> Reply {
    Reply::ephemeral(render::stale(r, seen))
}

fn done_text(r: &Request, t: &Transition) -> String {
    let behalf = t
        .on_behalf_of
        .as_ref()
        .map(|p| format!(" on behalf of <@{p}>"))
        .unwrap_or_default();
    match (t.action.as_str(), r.state) {
        ("approved", State::Approved) => {
            format!("You approved {}{behalf}: it is approved.", r.label())
        }
        ("approved", _) => format!(
            "You approved {}{behalf} ({} of {} approvals).",
            r.label(),
            r.approvals.len(),
            r.tier.approvals
        ),
        _ => format!(
            "You rejected {}{behalf}. The requester is told why.",
            r.label()
        ),
    }
}

fn approve_click(request: ActionRequest) -> Result<ActionResponse, String> {
    let (kind, id, seen) = render::parse_value(request.value.as_deref().unwrap_or_default())?;
    match decide(
        kind,
        &id,
        Some(seen),
        &request.context.user_id,
        Act::Approve,
    )? {
        Outcome::Done(r, t) => Ok(ActionResponse::ephemeral(done_text(&r, &t))),
        Outcome::Stale(r) => Ok(ActionResponse::Reply(stale_reply(&r, Some(seen)))),
    }
}

fn reject_click(request: ActionRequest) -> Result<ActionResponse, String> {
    let (kind, id, seen) = render::parse_value(request.value.as_deref().unwrap_or_default())?;
    let (_, current) = model::must_load(kind, &id)?;
    if current.version != seen || current.state != State::Pending {
        return Ok(ActionResponse::Reply(stale_reply(&current, Some(seen))));
    }
    policy::authority(&current, &request.context.user_id, clock::now_ms())?;
    let trigger = request.context.trigger_id.as_deref().ok_or(
        "Rejecting opens a form for the reason, which needs Slack's trigger id; click again.",
    )?;
    slack::open_view(
        trigger,
        &render::reject_modal(&current, &request.context.channel_id).to_json(),
    )?;
    Ok(ActionResponse::None)
}

fn reject_submitted(s: ViewSubmission) -> Result<ViewResponse, String> {
    let (value, channel) = s
        .private_metadata
        .split_once('|')
        .unwrap_or((&s.private_metadata, ""));
    let (kind, id, seen) = render::parse_value(value)?;
    let reason = s
        .value("reason", "reason")
        .unwrap_or_default()
        .trim()
        .to_string();
    if reason.is_empty() {
        return Ok(ViewResponse::errors([(
            "reason",
            "A reason is required: the requester is told it.",
        )]));
    }
    let user = s.context.user_id.clone();
    match decide(kind, &id, Some(seen), &user, Act::Reject(reason)) {
        Ok(Outcome::Done(r, t)) => {
            tell(channel, &user, Message::new(done_text(&r, &t)))?;
            Ok(ViewResponse::close())
        }
        Ok(Outcome::Stale(r)) => {
            tell(channel, &user, render::stale(&r, Some(seen)))?;
            Ok(ViewResponse::close())
        }
        Err(refused) => Ok(ViewResponse::errors([("reason", refused)])),
    }
}

/// An answer only `user` sees: in the channel they acted in, else by DM.
fn tell(channel: &str, user: &str, message: Message) -> Result<(), String> {
    if channel.is_empty() || channel.starts_with('D') {
        slack::send_dm(user, &message)?;
    } else {
        slack::post_ephemeral(channel, user, &message)?;
    }
    Ok(())
}

/// `PO-12 v4 rest…` → (id, version, rest).
fn target(kind: Kind, text: &str) -> Result<(String, Option<u32>, String), String> {
    let mut words = text.split_whitespace();
    let first = words.next().ok_or_else(|| {
        format!(
            "Which one? `{} approve {}` (`{} pending` lists them).",
            kind.command(),
            if kind == Kind::Po { "PO-123" } else { "12345" },
            kind.command()
        )
    })?;
    let id = kind.normalize(first)?;
    let rest: Vec<&str> = words.collect();
    let (version, rest) = match rest
        .first()
        .and_then(|w| w.strip_prefix(['v', 'V']))
        .and_then(|n| n.parse::<u32>().ok())
    {
        Some(v) => (Some(v), rest[1..].join(" ")),
        None => (None, rest.join(" ")),
    };
    Ok((id, version, rest))
}

fn approve_command(kind: Kind, request: CommandRequest) -> Result<Reply, String> {
    let (id, seen, _) = target(kind, &request.text)?;
    match decide(kind, &id, seen, &request.context.user_id, Act::Approve)? {
        Outcome::Done(r, t) => Ok(Reply::ephemeral(done_text(&r, &t))),
        Outcome::Stale(r) => Ok(stale_reply(&r, seen)),
    }
}

fn reject_command(kind: Kind, request: CommandRequest) -> Result<Option<Reply>, String> {
    let (id, seen, reason) = target(kind, &request.text)?;
    let user = &request.context.user_id;
    if reason.is_empty() {
        // No reason typed: the same modal as the button, for this version.
        let (_, current) = model::must_load(kind, &id)?;
        if seen.is_some_and(|v| v != current.version) || current.state != State::Pending {
            return Ok(Some(stale_reply(&current, seen)));
        }
        policy::authority(&current, user, clock::now_ms())?;
        let trigger =
            request.context.trigger_id.as_deref().ok_or_else(|| {
                format!("Give a reason: `{} reject {id} <reason>`.", kind.command())
            })?;
        slack::open_view(
            trigger,
            &render::reject_modal(&current, &request.context.channel_id).to_json(),
        )?;
        return Ok(None);
    }
    match decide(kind, &id, seen, user, Act::Reject(reason))? {
        Outcome::Done(r, t) => Ok(Some(Reply::ephemeral(done_text(&r, &t)))),
        Outcome::Stale(r) => Ok(Some(stale_reply(&r, seen))),
    }
}

fn history_command(kind: Kind, request: CommandRequest) -> Result<String, String> {
    let (id, _, _) = target(kind, &request.text)?;
    let (_, current) = model::must_load(kind, &id)?;
    Ok(render::history(&current, &model::history(kind, &id)?))
}

fn pending_command(kind: Kind, _request: CommandRequest) -> Result<String, String> {
    let open: Vec<Request> = model::all(kind)?
        .into_iter()
        .filter(|r| r.state == State::Pending)
        .collect();
    Ok(render::pending(kind, &open, clock::now_ms()))
}

// --- delegation -------------------------------------------------------------

fn delegate_command(request: CommandRequest) -> Result<String, String> {
    let user = &request.context.user_id;
    let now = clock::now_ms();
    let words: Vec<&str> = request.text.split_whitespace().collect();
    let usage = "Write `/po delegate @bob until 2026-12-10` (to the end of that day, UTC), or `/po delegate off`.";
    match words.as_slice() {
        [] => Ok(match model::delegation_of(user)? {
            Some(d) if d.active(now) || d.since_ms > now => format!(
                "Your approvals go to <@{}> until {} (`/po delegate off` ends it).",
                d.to,
                money::format_time(d.until_ms)
            ),
            _ => format!("You have not delegated your approvals. {usage}"),
        }),
        ["off"] | ["end"] | ["stop"] => Ok(if model::end_delegation(user)? {
            "Delegation ended: your approvals are yours again.".into()
        } else {
            "You had not delegated your approvals.".into()
        }),
        [who, until, date] if until.eq_ignore_ascii_case("until") => {
            let to = mention(who, &request.context.channel_id).ok_or_else(|| {
                if who.starts_with('@') || who.starts_with("<@") {
                    format!("I could not find {who} in this channel, the approvers' channel or among the approvers; run the command where they are a member.")
                } else {
                    usage.to_string()
                }
            })?;
            if to == *user {
                return Err("Delegate to someone else.".into());
            }
            let until_ms = money::end_of_day(date)?;
            if until_ms <= now {
                return Err(format!("{date} is over: delegate until a day to come."));
            }
            let d = Delegation {
                from: user.clone(),
                to: to.clone(),
                since_ms: now,
                until_ms,
            };
            model::set_delegation(&d)?;
            slack::send_dm(
                &to,
                &Message::new(format!(
                    "<@{user}> delegated their approvals of purchase orders and claims to you until {}. What you approve for them is recorded as on their behalf.",
                    money::format_time(until_ms)
                )),
            )?;
            Ok(format!(
                "Until {}, <@{to}> approves on your behalf (recorded as “on behalf of” you). `/po delegate off` ends it early.",
                money::format_time(until_ms)
            ))
        }
        _ => Err(usage.into()),
    }
}

/// `<@U123>` or `<@U123|bob>` (an escaped mention) → `U123`; `@bob` (what
/// Slack sends for an unescaped command) → the user of that name among the
/// channel the command was typed in, the approvers' channel and every
/// tier's approvers.
fn mention(word: &str, here: &str) -> Option<String> {
    if let Some(inner) = word.strip_prefix("<@").and_then(|w| w.strip_suffix('>')) {
        let id = inner.split('|').next()?;
        return (!id.is_empty()).then(|| id.to_string());
    }
    let name = word.strip_prefix('@')?.to_lowercase();
    let mut candidates: Vec<String> = Vec::new();
    if !here.is_empty() {
        candidates.extend(slack::channel_members(here).unwrap_or_default());
    }
    if let Ok(channel) = channel() {
        candidates.extend(slack::channel_members(&channel).unwrap_or_default());
    }
    for kind in [Kind::Po, Kind::Claim] {
        for tier in policy::tiers(kind).unwrap_or_default() {
            candidates.extend(policy::approvers(&tier).unwrap_or_default());
        }
    }
    let mut seen = Vec::new();
    for id in candidates {
        if seen.contains(&id) {
            continue;
        }
        if let Ok(user) = slack::lookup_user(&id) {
            if user.name.to_lowercase() == name || user.real_name.to_lowercase() == name {
                return Some(user.id);
            }
        }
        seen.push(id);
    }
    None
}

// --- reminders and escalation -------------------------------------------------

fn tick_target(tick: &Tick) -> Result<(Kind, String), String> {
    let mut parts = tick.name.splitn(3, ':');
    let _ = parts.next();
    let kind = parts
        .next()
        .and_then(Kind::parse)
        .ok_or("a tick naming no kind")?;
    let id = parts.next().ok_or("a tick naming no request")?;
    Ok((kind, id.to_string()))
}

/// The request a reminder or escalation tick names, while it still waits
/// (decided or gone: nothing to do).
fn still_pending(tick: &Tick) -> Result<Option<Request>, String> {
    let (kind, id) = tick_target(tick)?;
    Ok(model::load(kind, &id)?
        .map(|(_, r)| r)
        .filter(|r| r.state == State::Pending))
}

fn remind_due(tick: Tick) -> Result<(), String> {
    let Some(r) = still_pending(&tick)? else {
        return Ok(());
    };
    let now = clock::now_ms();
    let waited = now.saturating_sub(r.created_ms) / 3_600_000;
    let people = policy::to_remind(&r, now)?;
    let names: Vec<String> = people.iter().map(|p| format!("<@{p}>")).collect();
    let line = format!(
        "⏰ Still pending after {waited} h: {} of {} approval(s). Reminded {}.",
        r.approvals.len(),
        r.tier.approvals,
        if names.is_empty() {
            "nobody (no approver left to ask)".into()
        } else {
            names.join(", ")
        }
    );
    if let Some((channel, ts)) = &r.message {
        slack::post(
            channel,
            &Message::new(line.clone()),
            &PostOptions::default().thread_ts(ts.clone()),
        )?;
    }
    for person in &people {
        let mut message = render::request_message(&r);
        message.text = format!(
            "⏰ Reminder: {} has waited {waited} h for your approval. {}",
            r.label(),
            message.text
        );
        if let Some(blocks) = &message.blocks {
            let mut all: Vec<serde_json::Value> = vec![serde_json::json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": format!("⏰ *Reminder:* {} has waited {waited} h for your approval.", r.label())}
            })];
            if let Ok(serde_json::Value::Array(more)) = serde_json::from_str(blocks) {
                all.extend(more);
            }
            message.blocks = Some(serde_json::Value::Array(all).to_string());
        }
        slack::send_dm(person, &message)?;
    }
    model::append(
        &r,
        "app",
        None,
        "reminded",
        Some(r.state),
        Some(&names.join(", ")),
    )?;
    let escalate = hours("escalate_after_hours")?;
    if escalate > 0 {
        schedule::once(&tick_name("escalate", &r), now + escalate)?;
    }
    Ok(())
}

fn escalate_due(tick: Tick) -> Result<(), String> {
    let Some(r) = still_pending(&tick)? else {
        return Ok(());
    };
    let now = clock::now_ms();
    let waited = now.saturating_sub(r.created_ms) / 3_600_000;
    let group = setting("escalation_group");
    let mention = if group.is_empty() {
        String::new()
    } else {
        match policy::group_id(&group) {
            Some(gid) => format!("<!subteam^{gid}> "),
            None => format!("@{} ", group.trim_start_matches('@')),
        }
    };
    let escalation_channel = match setting("escalation_channel") {
        c if c.is_empty() => channel()?,
        c => c,
    };
    let link = r
        .message
        .as_ref()
        .and_then(|(c, ts)| {
            slack::get_permalink(&MessageRef {
                channel: c.clone(),
                ts: ts.clone(),
            })
            .ok()
        })
        .map(|l| format!(" <{l}|Open it>"))
        .unwrap_or_default();
    slack::post_message(
        &escalation_channel,
        &Message::new(format!(
            "🚨 {mention}{} has waited {waited} h without a decision: {} ({}), {} of {} approval(s) from {}.{link}",
            r.label(),
            render::amount(&r),
            r.subject,
            r.approvals.len(),
            r.tier.approvals,
            r.tier.who()
        )),
        None,
    )?;
    if let Some((channel, ts)) = &r.message {
        slack::post(
            channel,
            &Message::new(format!(
                "🚨 Escalated to {} after {waited} h.",
                if group.is_empty() {
                    escalation_channel.clone()
                } else {
                    format!("@{}", group.trim_start_matches('@'))
                }
            )),
            &PostOptions::default().thread_ts(ts.clone()),
        )?;
    }
    model::append(
        &r,
        "app",
        None,
        "escalated",
        Some(r.state),
        Some(&format!(
            "to {} in {escalation_channel}",
            if group.is_empty() { "—" } else { &group }
        )),
    )?;
    Ok(())
}
