//! Who may decide a request: the amount's tier (settings `po_tiers`,
//! `claim_tiers`), its user group's members as Slack has them now, and the
//! delegations in force.

use botyard_sdk::prelude::*;

use crate::model::{self, Kind, Request, Tier};
use crate::money;

pub const DEFAULT_PO_TIERS: &str = r#"[{"up_to": 1000, "group": "@po-approvers", "approvals": 1}, {"group": "@finance-leads", "approvals": 2}]"#;
pub const DEFAULT_CLAIM_TIERS: &str = r#"[{"up_to": 250, "group": "@claims-approvers", "approvals": 1}, {"group": "@finance-leads", "approvals": 2}]"#;

pub fn tiers(kind: Kind) -> Result<Vec<Tier>, String> {
    let name = match kind {
        Kind::Po => "po_tiers",
        Kind::Claim => "claim_tiers",
    };
    let tiers: Vec<Tier> = settings::get_json(name)?.unwrap_or_default();
    if tiers.is_empty() {
        return Err(format!(
            "Setting `{name}` names no tier: add `{name} = [{{ up_to = 1000, group = \"@approvers\", approvals = 1 }}, …]` under [apps.approvals.settings]."
        ));
    }
    Ok(tiers)
}

/// The first tier whose `up_to` covers the amount (tiers are read in
/// order; one without `up_to` covers everything).
pub fn tier_for(kind: Kind, amount_cents: i64) -> Result<Tier, String> {
    let tiers = tiers(kind)?;
    tiers
        .iter()
        .find(|t| t.up_to.is_none_or(|max| amount_cents as f64 <= max * 100.0))
        .cloned()
        .ok_or_else(|| {
            format!(
                "No approval tier covers {}: the last tier of the settings should have no `up_to`.",
                money::format_cents(amount_cents)
            )
        })
}

/// The members of a user group (`@finance-leads` or `finance-leads`).
pub fn group_members(handle: &str) -> Result<Vec<String>, String> {
    let handle = handle.trim_start_matches('@');
    let group = slack::user_groups()?
        .into_iter()
        .find(|g| g.handle == handle)
        .ok_or_else(|| {
            format!("Slack has no user group @{handle}, which the approval settings name; create it or change the settings.")
        })?;
    Ok(slack::user_group_members(&group.id)?)
}

/// The group's id, for a `<!subteam^…>` mention.
pub fn group_id(handle: &str) -> Option<String> {
    let handle = handle.trim_start_matches('@');
    slack::user_groups()
        .ok()?
        .into_iter()
        .find(|g| g.handle == handle)
        .map(|g| g.id)
}

/// Everyone the tier names.
pub fn approvers(tier: &Tier) -> Result<Vec<String>, String> {
    let mut out = tier.users.clone();
    if let Some(group) = &tier.group {
        for m in group_members(group)? {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Whose approval right `actor` uses on `request`: their own, or, as a
/// delegate, an away approver's. An error says why they may not.
pub fn authority(request: &Request, actor: &str, now: u64) -> Result<Option<String>, String> {
    let approvers = approvers(&request.tier)?;
    let mine_blocked = |user: &str| -> Option<String> {
        if request.requester.as_deref() == Some(user) {
            Some("requested it".into())
        } else if request.approved_by(user) {
            Some("already approved it".into())
        } else {
            None
        }
    };
    let mut why_not = None;
    if approvers.iter().any(|a| a == actor) {
        match mine_blocked(actor) {
            None => return Ok(None),
            Some(reason) => why_not = Some(format!("You {reason}")),
        }
    }
    for d in model::delegations_to(actor, now)? {
        if approvers.contains(&d.from)
            && mine_blocked(&d.from).is_none()
            && mine_blocked(actor).is_none()
        {
            return Ok(Some(d.from));
        }
    }
    if request.requester.as_deref() == Some(actor) {
        return Err(format!(
            "You requested {}: someone else must decide it.",
            request.label()
        ));
    }
    Err(match why_not {
        Some(reason) => format!(
            "{reason}; {} needs {} different approvers from {}.",
            request.label(),
            request.tier.approvals,
            request.tier.who()
        ),
        None => format!(
            "Only {} may decide {} ({} {}).",
            request.tier.who(),
            request.label(),
            money::format_cents(request.amount_cents),
            request.currency
        ),
    })
}

/// Who should be reminded of a pending request: each approver who has not
/// approved, or their delegate while they are away.
pub fn to_remind(request: &Request, now: u64) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for a in approvers(&request.tier)? {
        if request.requester.as_deref() == Some(a.as_str()) || request.approved_by(&a) {
            continue;
        }
        let who = match model::delegation_of(&a)? {
            Some(d) if d.active(now) => d.to,
            _ => a,
        };
        if !out.contains(&who) {
            out.push(who);
        }
    }
    Ok(out)
}
