//! What a request is and where it is kept.
//!
//! | key | value |
//! |---|---|
//! | `seq/po` | the last purchase order number given (`PO-<n>`) |
//! | `seq/claim` | the last claim number given to a claim made in Slack |
//! | `req/<kind>/<id>` | the request (JSON), replaced only by compare-and-swap on its exact bytes |
//! | `hist/<kind>/<id>/<nnnnnn>` | one transition (JSON), written once: the key must be absent |
//! | `hseq/<kind>/<id>` | the last transition number of a request |
//! | `ext/<kind>/<ref>` | the request an ERP document number or storefront number is |
//! | `deleg/<user>` | that approver's delegation: to whom, until when |
//! | `cb/<kind>/<id>/<version>` | the ERP callback for that final version: attempts, and whether it got through |

use botyard_sdk::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Po,
    Claim,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Po => "po",
            Kind::Claim => "claim",
        }
    }

    pub fn parse(word: &str) -> Option<Kind> {
        match word {
            "po" => Some(Kind::Po),
            "claim" => Some(Kind::Claim),
            _ => None,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Kind::Po => "Purchase order",
            Kind::Claim => "Claim",
        }
    }

    pub fn command(self) -> &'static str {
        match self {
            Kind::Po => "/po",
            Kind::Claim => "/claim",
        }
    }

    /// `PO-12` / `claim 12345`: how people read a request's id.
    pub fn label(self, id: &str) -> String {
        match self {
            Kind::Po => id.to_string(),
            Kind::Claim => format!("claim {id}"),
        }
    }

    /// What a person typed (`PO-12`, `po-12`, `12` / `12345`, `#12345`) as
    /// the id it names.
    pub fn normalize(self, typed: &str) -> Result<String, String> {
        let typed = typed.trim().trim_start_matches('#');
        match self {
            Kind::Po => {
                let digits = typed
                    .strip_prefix("PO-")
                    .or_else(|| typed.strip_prefix("po-"))
                    .or_else(|| typed.strip_prefix("Po-"))
                    .unwrap_or(typed);
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    Ok(format!("PO-{}", digits.trim_start_matches('0')))
                } else {
                    Err(format!(
                        "`{typed}` is not a purchase order: they look like `PO-123` (`/po pending` lists the open ones)"
                    ))
                }
            }
            Kind::Claim => {
                if !typed.is_empty()
                    && typed.len() <= 18
                    && typed.chars().all(|c| c.is_ascii_digit())
                {
                    Ok(typed.to_string())
                } else {
                    Err(format!(
                        "`{typed}` is not a claim number: digits, like `12345` (`/claim pending` lists the open ones)"
                    ))
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Approved,
    Rejected,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Rejected => "rejected",
        }
    }
}

/// Who may approve a request of some amount, and how many of them must.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tier {
    /// The highest amount (currency units) this tier covers; none: any.
    #[serde(default)]
    pub up_to: Option<f64>,
    /// A user group handle (`@finance-leads`) whose members approve.
    #[serde(default)]
    pub group: Option<String>,
    /// Or/and user ids who approve.
    #[serde(default)]
    pub users: Vec<String>,
    /// How many distinct approvers must approve (N of M).
    #[serde(default = "one")]
    pub approvals: u32,
}

fn one() -> u32 {
    1
}

impl Tier {
    /// `@finance-leads`, `<@U1>, <@U2>`, or both.
    pub fn who(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(group) = &self.group {
            parts.push(format!("@{}", group.trim_start_matches('@')));
        }
        parts.extend(self.users.iter().map(|u| format!("<@{u}>")));
        if parts.is_empty() {
            "nobody (no tier names approvers)".into()
        } else {
            parts.join(", ")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Who clicked (or typed).
    pub by: String,
    /// Whose approval right it was, when `by` acted as their delegate.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    pub at_ms: u64,
}

impl Approval {
    /// The approver whose right this used.
    pub fn principal(&self) -> &str {
        self.on_behalf_of.as_deref().unwrap_or(&self.by)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub kind: Kind,
    pub id: String,
    /// Bumped by every change: a click carries the version it was shown.
    pub version: u32,
    pub state: State,
    pub amount_cents: i64,
    pub currency: String,
    /// Purchase orders: the vendor. Claims: the order number.
    pub subject: String,
    /// Purchase orders: what is bought. Claims: the reason given.
    pub description: String,
    /// Slack user id of the requester, when known.
    #[serde(default)]
    pub requester: Option<String>,
    /// The requester's name as the ERP or storefront gave it.
    #[serde(default)]
    pub requester_name: Option<String>,
    /// `slack`, `erp` or `storefront`.
    pub source: String,
    /// The ERP's own document number, when it sent one.
    #[serde(default)]
    pub external_ref: Option<String>,
    pub tier: Tier,
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// Who rejected, and why.
    #[serde(default)]
    pub rejection: Option<(Approval, String)>,
    /// Its message in the approvers' channel: channel and ts (or the host's
    /// placeholder until delivered).
    #[serde(default)]
    pub message: Option<(String, String)>,
    pub created_ms: u64,
    pub updated_ms: u64,
}

impl Request {
    pub fn label(&self) -> String {
        self.kind.label(&self.id)
    }

    pub fn key(&self) -> String {
        key(self.kind, &self.id)
    }

    pub fn approved_by(&self, user: &str) -> bool {
        self.approvals
            .iter()
            .any(|a| a.principal() == user || a.by == user)
    }
}

pub fn key(kind: Kind, id: &str) -> String {
    format!("req/{}/{id}", kind.word())
}

/// One change of a request, as it happened. Written once, never changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// 1 for the first.
    pub seq: u32,
    /// The request's version after it.
    pub version: u32,
    pub at_ms: u64,
    /// A user id, or `erp`, `storefront`, `app`.
    pub by: String,
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    /// `requested`, `approved`, `rejected`, `amended`, `reminded`, `escalated`, `erp-notified`, `erp-failed`.
    pub action: String,
    pub from: Option<State>,
    pub to: State,
    #[serde(default)]
    pub why: Option<String>,
}

pub fn load(kind: Kind, id: &str) -> Result<Option<(Vec<u8>, Request)>, String> {
    let key = key(kind, id);
    let Some(bytes) = store::get(&key)? else {
        return Ok(None);
    };
    let request: Request = serde_json::from_slice(&bytes)
        .map_err(|e| format!("store key `{key}` is not a request: {e}"))?;
    Ok(Some((bytes, request)))
}

pub fn must_load(kind: Kind, id: &str) -> Result<(Vec<u8>, Request), String> {
    load(kind, id)?.ok_or_else(|| {
        format!(
            "There is no {} {}. `{} pending` lists the open ones.",
            kind.noun().to_lowercase(),
            kind.label(id).trim_start_matches("claim "),
            kind.command()
        )
    })
}

/// Stores a new request: the key must be absent.
pub fn insert(request: &Request) -> Result<bool, String> {
    let bytes = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    Ok(store::compare_and_swap(&request.key(), None, Some(&bytes))?)
}

/// Replaces the request whose stored bytes were `expected` with `new`;
/// false when it changed in between (nothing is written then).
pub fn swap(expected: &[u8], new: &Request) -> Result<bool, String> {
    let bytes = serde_json::to_vec(new).map_err(|e| e.to_string())?;
    Ok(store::compare_and_swap(
        &new.key(),
        Some(expected),
        Some(&bytes),
    )?)
}

/// Appends a transition to a request's history. Its key is new (the
/// sequence is an atomic increment) and written only if absent, so history
/// is never overwritten.
pub fn append(
    request: &Request,
    by: &str,
    on_behalf_of: Option<&str>,
    action: &str,
    from: Option<State>,
    why: Option<&str>,
) -> Result<Transition, String> {
    let kind = request.kind.word();
    let seq = store::increment(&format!("hseq/{kind}/{}", request.id), 1)? as u32;
    let transition = Transition {
        seq,
        version: request.version,
        at_ms: clock::now_ms(),
        by: by.to_string(),
        on_behalf_of: on_behalf_of.map(str::to_string),
        action: action.to_string(),
        from,
        to: request.state,
        why: why.map(str::to_string),
    };
    let key = format!("hist/{kind}/{}/{seq:06}", request.id);
    let bytes = serde_json::to_vec(&transition).map_err(|e| e.to_string())?;
    if !store::compare_and_swap(&key, None, Some(&bytes))? {
        return Err(format!(
            "history entry {seq} of {} already exists; it is never overwritten",
            request.label()
        ));
    }
    Ok(transition)
}

pub fn history(kind: Kind, id: &str) -> Result<Vec<Transition>, String> {
    let prefix = format!("hist/{}/{id}/", kind.word());
    let mut out = Vec::new();
    for key in store::list_keys(&prefix, 1000)? {
        if let Some(t) = store::get_json::<Transition>(&key)? {
            out.push(t);
        }
    }
    out.sort_by_key(|t| t.seq);
    Ok(out)
}

/// Every request of a kind (the open ones first, oldest first).
pub fn all(kind: Kind) -> Result<Vec<Request>, String> {
    let prefix = format!("req/{}/", kind.word());
    let mut out = Vec::new();
    for key in store::list_keys(&prefix, 1000)? {
        if let Some(r) = store::get_json::<Request>(&key)? {
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.created_ms);
    Ok(out)
}

pub fn next_po_id() -> Result<String, String> {
    Ok(format!("PO-{}", store::increment("seq/po", 1)?))
}

/// The next number for a claim made in Slack: counting from `start`, and
/// skipping any number a claim already has.
pub fn next_claim_number(start: i64) -> Result<String, String> {
    loop {
        let n = store::increment("seq/claim", 1)?;
        let n = if n < start {
            store::increment("seq/claim", start - n)?
        } else {
            n
        };
        let id = n.to_string();
        if store::get(&key(Kind::Claim, &id))?.is_none() {
            return Ok(id);
        }
    }
}

/// An ERP document number or storefront number → the request it is.
pub fn external(kind: Kind, reference: &str) -> Result<Option<String>, String> {
    Ok(store::get(&format!("ext/{}/{reference}", kind.word()))?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

pub fn set_external(kind: Kind, reference: &str, id: &str) -> Result<(), String> {
    Ok(store::set(
        &format!("ext/{}/{reference}", kind.word()),
        id.as_bytes(),
    )?)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delegation {
    pub from: String,
    pub to: String,
    pub since_ms: u64,
    pub until_ms: u64,
}

impl Delegation {
    pub fn active(&self, now: u64) -> bool {
        self.since_ms <= now && now < self.until_ms
    }
}

pub fn delegation_of(user: &str) -> Result<Option<Delegation>, String> {
    Ok(store::get_json(&format!("deleg/{user}"))?)
}

pub fn set_delegation(d: &Delegation) -> Result<(), String> {
    Ok(store::set_json(&format!("deleg/{}", d.from), d)?)
}

pub fn end_delegation(user: &str) -> Result<bool, String> {
    Ok(store::delete(&format!("deleg/{user}"))?)
}

/// Active delegations to `user`: whose rights they hold now.
pub fn delegations_to(user: &str, now: u64) -> Result<Vec<Delegation>, String> {
    let mut out = Vec::new();
    for key in store::list_keys("deleg/", 1000)? {
        if let Some(d) = store::get_json::<Delegation>(&key)? {
            if d.to == user && d.active(now) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// The ERP callback of one final version.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Callback {
    pub attempts: u32,
    pub delivered: bool,
    pub last_error: Option<String>,
}

pub fn callback_key(kind: Kind, id: &str, version: u32) -> String {
    format!("cb/{}/{id}/{version}", kind.word())
}
