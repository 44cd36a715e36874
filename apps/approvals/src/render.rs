//! What people see: the request's message (updated in place), the modals,
//! history and pending lists.

use botyard_sdk::prelude::*;

use crate::model::{Approval, Kind, Request, State, Transition};
use crate::money;

/// A button's value: which request, and the version it was shown.
pub fn button_value(r: &Request) -> String {
    format!("{}:{}:{}", r.kind.word(), r.id, r.version)
}

/// `po:PO-12:3` → (kind, id, version).
pub fn parse_value(value: &str) -> Result<(Kind, String, u32), String> {
    let mut parts = value.splitn(3, ':');
    let (Some(kind), Some(id), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("`{value}` names no request"));
    };
    let kind = Kind::parse(kind).ok_or_else(|| format!("`{value}` names no request"))?;
    let version = version
        .parse()
        .map_err(|_| format!("`{value}` carries no version"))?;
    Ok((kind, id.to_string(), version))
}

pub fn amount(r: &Request) -> String {
    format!("{} {}", money::format_cents(r.amount_cents), r.currency)
}

pub fn who(user: &str) -> String {
    match user {
        "erp" => "the ERP".into(),
        "storefront" => "the storefront".into(),
        "app" => "approvals".into(),
        u => format!("<@{u}>"),
    }
}

fn approval_line(a: &Approval) -> String {
    match &a.on_behalf_of {
        Some(p) => format!("<@{}> (on behalf of <@{p}>)", a.by),
        None => format!("<@{}>", a.by),
    }
}

pub fn requester(r: &Request) -> String {
    match (&r.requester, &r.requester_name) {
        (Some(u), _) => format!("<@{u}>"),
        (None, Some(name)) => name.clone(),
        (None, None) => who(&r.source),
    }
}

pub fn status_line(r: &Request) -> String {
    match r.state {
        State::Pending => format!(
            "⏳ Pending — {} of {} approval(s) from {}",
            r.approvals.len(),
            r.tier.approvals,
            r.tier.who()
        ),
        State::Approved => format!(
            "✅ Approved by {}",
            r.approvals
                .iter()
                .map(approval_line)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        State::Rejected => match &r.rejection {
            Some((a, reason)) => format!("❌ Rejected by {}: {reason}", approval_line(a)),
            None => "❌ Rejected".into(),
        },
    }
}

/// The request's message in the approvers' channel, as it is now.
pub fn request_message(r: &Request) -> Message {
    let title = format!("{} {}", r.kind.noun(), r.id);
    let text = match r.kind {
        Kind::Po => format!(
            "{title}: {} to {} — {}",
            amount(r),
            r.subject,
            status_line(r)
        ),
        Kind::Claim => format!(
            "{title}: {} refund on order {} — {}",
            amount(r),
            r.subject,
            status_line(r)
        ),
    };
    let (subject_label, description_label) = match r.kind {
        Kind::Po => ("Vendor", "Description"),
        Kind::Claim => ("Order", "Reason"),
    };
    let mut blocks = vec![
        Block::header(format!(
            "{} {title}",
            if r.kind == Kind::Po { "🧾" } else { "↩️" }
        )),
        Block::fields([
            Text::mrkdwn(format!("*{subject_label}*\n{}", r.subject)),
            Text::mrkdwn(format!("*Amount*\n{}", amount(r))),
            Text::mrkdwn(format!("*Requested by*\n{}", requester(r))),
            Text::mrkdwn(format!(
                "*Approvers*\n{} of {}",
                r.tier.approvals,
                r.tier.who()
            )),
        ]),
        Block::section(Text::mrkdwn(format!(
            "*{description_label}*\n{}",
            if r.description.is_empty() {
                "—"
            } else {
                &r.description
            }
        ))),
    ];
    let mut status = status_line(r);
    if r.state == State::Pending && !r.approvals.is_empty() {
        status.push_str(&format!(
            " · so far: {}",
            r.approvals
                .iter()
                .map(approval_line)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    blocks.push(Block::section(Text::mrkdwn(status)));
    blocks.push(Block::context([Text::mrkdwn(format!(
        "version {} · from {} · `{} history {}`",
        r.version,
        r.source,
        r.kind.command(),
        r.id
    ))]));
    if r.state == State::Pending {
        blocks.push(Block::actions([
            Element::button("Approve", "approve")
                .value(button_value(r))
                .primary(),
            Element::button("Reject", "reject")
                .value(button_value(r))
                .danger(),
        ]));
    }
    Message::new(text).with_blocks(blocks)
}

/// The reason modal of a rejection; its metadata names the request, the
/// version seen, and where to answer.
pub fn reject_modal(r: &Request, channel: &str) -> View {
    View::modal("Reject")
        .callback_id("reject")
        .private_metadata(format!("{}|{channel}", button_value(r)))
        .submit("Reject")
        .close("Cancel")
        .blocks([
            Block::section(Text::mrkdwn(format!(
                "Reject *{}*: {} ({}). The requester is told the reason.",
                r.label(),
                amount(r),
                r.subject
            ))),
            Block::input(
                "Reason",
                Element::plain_text_input("reason")
                    .multiline()
                    .placeholder("Why it is rejected (required)"),
            )
            .block_id("reason"),
        ])
}

pub fn po_modal(channel: &str, currency: &str) -> View {
    View::modal("New purchase order")
        .callback_id("po_new")
        .private_metadata(channel)
        .submit("Request approval")
        .close("Cancel")
        .blocks([
            Block::input("Vendor", Element::plain_text_input("vendor")).block_id("vendor"),
            Block::input(
                "Amount",
                Element::plain_text_input("amount").placeholder("1,250.00"),
            )
            .block_id("amount"),
            Block::input(
                "Currency",
                Element::plain_text_input("currency").initial_value(currency),
            )
            .block_id("currency"),
            Block::input(
                "Description",
                Element::plain_text_input("description").multiline(),
            )
            .block_id("description"),
            Block::input(
                "Requester",
                Element::users_select("You, unless someone else", "requester"),
            )
            .block_id("requester")
            .optional()
            .hint("Leave empty to request it yourself."),
        ])
}

pub fn claim_modal(channel: &str, currency: &str) -> View {
    View::modal("New claim")
        .callback_id("claim_new")
        .private_metadata(channel)
        .submit("Request approval")
        .close("Cancel")
        .blocks([
            Block::input("Order number", Element::plain_text_input("order")).block_id("order"),
            Block::input(
                "Amount",
                Element::plain_text_input("amount").placeholder("49.90"),
            )
            .block_id("amount"),
            Block::input(
                "Currency",
                Element::plain_text_input("currency").initial_value(currency),
            )
            .block_id("currency"),
            Block::input("Reason", Element::plain_text_input("reason").multiline())
                .block_id("reason"),
        ])
}

fn transition_line(t: &Transition) -> String {
    let who = match &t.on_behalf_of {
        Some(p) => format!("{} on behalf of <@{p}>", who(&t.by)),
        None => who(&t.by),
    };
    let states = match t.from {
        Some(from) if from != t.to => format!("{} → {}", from.word(), t.to.word()),
        Some(_) => t.to.word().to_string(),
        None => format!("new → {}", t.to.word()),
    };
    let mut line = format!(
        "{}. {} · *{}* by {who} · {states} · v{}",
        t.seq,
        money::format_time(t.at_ms),
        t.action,
        t.version
    );
    if let Some(why) = &t.why {
        line.push_str(&format!(" · “{why}”"));
    }
    line
}

pub fn history(r: &Request, transitions: &[Transition]) -> String {
    let mut text = format!(
        "History of {} ({}, now {}, version {}):",
        r.label(),
        amount(r),
        r.state.word(),
        r.version
    );
    for t in transitions {
        text.push('\n');
        text.push_str(&transition_line(t));
    }
    text
}

/// The thread line of one decision.
pub fn thread_line(r: &Request, t: &Transition) -> String {
    let who = match &t.on_behalf_of {
        Some(p) => format!("{} (on behalf of <@{p}>)", who(&t.by)),
        None => who(&t.by),
    };
    match t.action.as_str() {
        "approved" if r.state == State::Approved => {
            format!("✅ {who} approved — {} is approved.", r.label())
        }
        "approved" => format!(
            "👍 {who} approved ({} of {}).",
            r.approvals.len(),
            r.tier.approvals
        ),
        "rejected" => format!(
            "❌ {who} rejected: {}",
            t.why.as_deref().unwrap_or_default()
        ),
        "amended" => format!(
            "✏️ Amended by {who}: {} — approvals start over (version {}).",
            t.why.as_deref().unwrap_or_default(),
            r.version
        ),
        other => format!("{other} by {who}"),
    }
}

pub fn pending(kind: Kind, open: &[Request], now: u64) -> String {
    if open.is_empty() {
        return format!(
            "No {} is waiting for approval.",
            match kind {
                Kind::Po => "purchase order",
                Kind::Claim => "claim",
            }
        );
    }
    let mut text = format!(
        "{} waiting for approval ({}):",
        match kind {
            Kind::Po => "Purchase orders",
            Kind::Claim => "Claims",
        },
        open.len()
    );
    for r in open {
        let hours = now.saturating_sub(r.created_ms) / 3_600_000;
        text.push_str(&format!(
            "\n• *{}* {} — {} · {} of {} from {} · waiting {}h",
            r.label(),
            amount(r),
            r.subject,
            r.approvals.len(),
            r.tier.approvals,
            r.tier.who(),
            hours
        ));
    }
    text
}

/// The answer to a click or command that carried an old version.
pub fn stale(r: &Request, seen: Option<u32>) -> Message {
    let text = match seen {
        Some(v) if v != r.version => format!(
            "⚠️ This request changed since version {v}; here is the current one ({}, version {}). Nothing was decided.",
            r.state.word(),
            r.version
        ),
        _ => format!(
            "⚠️ {} is {} (version {}); here is the current one. Nothing was decided.",
            r.label(),
            r.state.word(),
            r.version
        ),
    };
    let current = request_message(r);
    let mut blocks: Vec<serde_json::Value> = vec![serde_json::json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": text}
    })];
    if let Some(json) = &current.blocks {
        if let Ok(serde_json::Value::Array(more)) = serde_json::from_str(json) {
            blocks.extend(more);
        }
    }
    Message {
        text: format!("{text}\n{}", current.text),
        blocks: Some(serde_json::Value::Array(blocks).to_string()),
    }
}
