//! The ERP's and the storefront's side: requests coming in by webhook
//! (created, or amended — which bumps the version, so buttons showing the
//! old one are refused), and final decisions going back by HTTP POST.
//!
//! A callback is a one-off tick per final version (`callback:<kind>:<id>:<v>`)
//! so it never delays the click that decided; a failure schedules the same
//! tick again later (1 min, doubling, at most 1 h) until `callback_attempts`,
//! and every POST carries `Idempotency-Key: <kind>:<id>:<version>` for a
//! receiver that sees one twice.

use botyard_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::{self, Callback, Kind, Request, State};
use crate::{after_change, create, money, policy, setting, setting_number, Draft};

/// `amount` as a JSON number (`1250.5`) or text (`"1,250.50"`).
fn amount(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => money::from_units(n.as_f64().unwrap_or(-1.0)),
        Value::String(s) => money::parse_amount(s),
        Value::Null => Err("`amount` is missing".into()),
        other => Err(format!("`amount` must be a number, not {other}")),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn currency(value: &Value) -> Result<String, String> {
    match text(value) {
        Some(c) => money::currency(&c),
        None => money::currency(&setting("currency")),
    }
}

#[derive(Deserialize)]
struct PoBody {
    /// The ERP's own document number; a delivery naming one already seen amends it.
    #[serde(default)]
    erp_ref: Value,
    /// Or the purchase order to amend, `PO-12`.
    #[serde(default)]
    id: Value,
    #[serde(default)]
    vendor: Value,
    #[serde(default)]
    amount: Value,
    #[serde(default)]
    currency: Value,
    #[serde(default)]
    description: Value,
    #[serde(default)]
    requester: Value,
    #[serde(default)]
    requester_name: Value,
}

pub fn po_webhook(delivery: WebhookRequest) -> Result<(), String> {
    let body: PoBody = delivery.json()?;
    let erp_ref = text(&body.erp_ref);
    let existing = match (text(&body.id), &erp_ref) {
        (Some(id), _) => Some(Kind::Po.normalize(&id)?),
        (None, Some(r)) => model::external(Kind::Po, r)?,
        (None, None) => None,
    };
    if let Some(id) = existing {
        return amend(
            Kind::Po,
            &id,
            "erp",
            Changes {
                amount: given(&body.amount, amount)?,
                currency: given(&body.currency, currency)?,
                subject: text(&body.vendor),
                description: text(&body.description),
            },
        );
    }
    let vendor = text(&body.vendor).ok_or("a purchase order needs `vendor`")?;
    let cents = amount(&body.amount)?;
    let id = model::next_po_id()?;
    let request = create(
        Draft {
            kind: Kind::Po,
            id,
            amount_cents: cents,
            currency: currency(&body.currency)?,
            subject: vendor,
            description: text(&body.description).unwrap_or_default(),
            requester: text(&body.requester).filter(|u| u.starts_with('U') || u.starts_with('W')),
            requester_name: text(&body.requester_name),
            source: "erp".into(),
            external_ref: erp_ref.clone(),
        },
        "erp",
    )?;
    if let Some(r) = &erp_ref {
        model::set_external(Kind::Po, r, &request.id)?;
    }
    log::info(&format!(
        "{} created from ERP document {:?}",
        request.id, erp_ref
    ));
    Ok(())
}

#[derive(Deserialize)]
struct ClaimBody {
    /// The storefront's claim number (digits).
    #[serde(default)]
    number: Value,
    #[serde(default)]
    order: Value,
    #[serde(default)]
    amount: Value,
    #[serde(default)]
    currency: Value,
    #[serde(default)]
    reason: Value,
    #[serde(default)]
    customer: Value,
    #[serde(default)]
    requester: Value,
}

pub fn claim_webhook(delivery: WebhookRequest) -> Result<(), String> {
    let body: ClaimBody = delivery.json()?;
    let number = text(&body.number).ok_or("a claim needs its `number`")?;
    let id = Kind::Claim.normalize(&number)?;
    if let Some((_, existing)) = model::load(Kind::Claim, &id)? {
        if let Some(order) = text(&body.order) {
            if order != existing.subject {
                // Not an amendment: another claim under a number in use.
                log::error(&format!(
                    "claim {id} exists for order {}, not {order}: delivery {} ignored",
                    existing.subject, delivery.delivery_id
                ));
                return Ok(());
            }
        }
        return amend(
            Kind::Claim,
            &id,
            "storefront",
            Changes {
                amount: given(&body.amount, amount)?,
                currency: given(&body.currency, currency)?,
                subject: None,
                description: text(&body.reason),
            },
        );
    }
    let order = text(&body.order).ok_or("a claim needs `order`")?;
    create(
        Draft {
            kind: Kind::Claim,
            id: id.clone(),
            amount_cents: amount(&body.amount)?,
            currency: currency(&body.currency)?,
            subject: order,
            description: text(&body.reason).unwrap_or_default(),
            requester: text(&body.requester).filter(|u| u.starts_with('U') || u.starts_with('W')),
            requester_name: text(&body.customer),
            source: "storefront".into(),
            external_ref: Some(id.clone()),
        },
        "storefront",
    )?;
    Ok(())
}

/// A field an amendment may leave out (JSON `null` or absent): read when
/// given.
fn given<T>(value: &Value, read: fn(&Value) -> Result<T, String>) -> Result<Option<T>, String> {
    (!value.is_null()).then(|| read(value)).transpose()
}

struct Changes {
    amount: Option<i64>,
    currency: Option<String>,
    subject: Option<String>,
    description: Option<String>,
}

/// An amendment: what changed is recorded, the version bumped (so every
/// button showing the old one is refused), the approvals start over under
/// the tier of the new amount, and the message is updated in place.
fn amend(kind: Kind, id: &str, by: &str, changes: Changes) -> Result<(), String> {
    loop {
        let (raw, current) = model::must_load(kind, id)?;
        if current.state != State::Pending {
            log::warn(&format!(
                "{} is {} already: the amendment from {by} is not applied",
                current.label(),
                current.state.word()
            ));
            return Ok(());
        }
        let mut next = current.clone();
        let mut what = Vec::new();
        if let Some(a) = changes.amount.filter(|a| *a != current.amount_cents) {
            what.push(format!(
                "amount {} → {}",
                money::format_cents(current.amount_cents),
                money::format_cents(a)
            ));
            next.amount_cents = a;
        }
        if let Some(c) = changes.currency.clone().filter(|c| *c != current.currency) {
            what.push(format!("currency {} → {c}", current.currency));
            next.currency = c;
        }
        if let Some(s) = changes.subject.clone().filter(|s| *s != current.subject) {
            what.push(format!(
                "{} “{}” → “{s}”",
                if kind == Kind::Po { "vendor" } else { "order" },
                current.subject
            ));
            next.subject = s;
        }
        if let Some(d) = changes
            .description
            .clone()
            .filter(|d| *d != current.description)
        {
            what.push("description".to_string());
            next.description = d;
        }
        if what.is_empty() {
            return Ok(()); // the same again: nothing to amend
        }
        next.tier = policy::tier_for(kind, next.amount_cents)?;
        next.approvals.clear();
        next.version += 1;
        next.updated_ms = clock::now_ms();
        if !model::swap(&raw, &next)? {
            continue;
        }
        let why = what.join(", ");
        let t = model::append(&next, by, None, "amended", Some(current.state), Some(&why))?;
        return after_change(&next, &t, false);
    }
}

// --- the callback -------------------------------------------------------------

fn callback_url(kind: Kind) -> String {
    setting(match kind {
        Kind::Po => "po_callback_url",
        Kind::Claim => "claim_callback_url",
    })
}

pub fn schedule_callback(r: &Request) -> Result<(), String> {
    if callback_url(r.kind).is_empty() {
        return Ok(());
    }
    schedule::once(
        &format!("callback:{}:{}:{}", r.kind.word(), r.id, r.version),
        clock::now_ms(),
    )?;
    Ok(())
}

/// What the ERP is told.
pub fn outcome(r: &Request) -> Value {
    let approvers: Vec<Value> = r
        .approvals
        .iter()
        .map(|a| json!({"user": a.by, "on_behalf_of": a.on_behalf_of, "at_ms": a.at_ms}))
        .collect();
    json!({
        "kind": r.kind.word(),
        "id": r.id,
        "erp_ref": r.external_ref,
        "state": r.state.word(),
        "version": r.version,
        "amount": r.amount_cents as f64 / 100.0,
        "currency": r.currency,
        "approvers": approvers,
        "rejected_by": r.rejection.as_ref().map(|(a, _)| json!({"user": a.by, "on_behalf_of": a.on_behalf_of, "at_ms": a.at_ms})),
        "reason": r.rejection.as_ref().map(|(_, why)| why.clone()),
        "decided_at_ms": r.updated_ms,
    })
}

pub fn callback_due(tick: Tick) -> Result<(), String> {
    let mut parts = tick.name.splitn(4, ':');
    let _ = parts.next();
    let kind = parts
        .next()
        .and_then(Kind::parse)
        .ok_or("a callback tick naming no kind")?;
    let id = parts
        .next()
        .ok_or("a callback tick naming no request")?
        .to_string();
    let version: u32 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or("a callback tick naming no version")?;
    let (_, r) = model::must_load(kind, &id)?;
    if r.version != version || r.state == State::Pending {
        return Ok(());
    }
    let key = model::callback_key(kind, &id, version);
    let mut record: Callback = store::get_json(&key)?.unwrap_or_default();
    if record.delivered {
        return Ok(());
    }
    let url = callback_url(kind);
    if url.is_empty() {
        return Ok(());
    }
    record.attempts += 1;
    let sent = http::post(&url)
        .header(
            "Idempotency-Key",
            format!("{}:{}:{}", kind.word(), id, version),
        )
        .timeout_ms(10_000)
        .json(&outcome(&r))
        .map_err(|e| e.to_string())
        .and_then(|b| b.send().map_err(|e| e.to_string()))
        .and_then(|res| {
            if res.is_success() {
                Ok(res.status)
            } else {
                Err(format!("HTTP {}", res.status))
            }
        });
    let line = match sent {
        Ok(status) => {
            record.delivered = true;
            record.last_error = None;
            model::append(
                &r,
                "app",
                None,
                "erp-notified",
                Some(r.state),
                Some(&format!("HTTP {status}, attempt {}", record.attempts)),
            )?;
            Some(format!(
                "📨 {} told of the decision.",
                if kind == Kind::Po {
                    "ERP"
                } else {
                    "Storefront"
                }
            ))
        }
        Err(error) => {
            log::warn(&format!(
                "callback for {} v{version}, attempt {}: {error}",
                r.label(),
                record.attempts
            ));
            record.last_error = Some(error.clone());
            let max = setting_number("callback_attempts")?.max(1.0) as u32;
            if record.attempts < max {
                let wait = (60_000u64 << (record.attempts - 1).min(6)).min(3_600_000);
                schedule::once(&tick.name, clock::now_ms() + wait)?;
                None
            } else {
                model::append(
                    &r,
                    "app",
                    None,
                    "erp-failed",
                    Some(r.state),
                    Some(&format!("{} attempts; last: {error}", record.attempts)),
                )?;
                Some(format!(
                    "⚠️ Could not tell the {} of this decision after {} attempts ({error}); tell them by hand.",
                    if kind == Kind::Po {
                        "ERP"
                    } else {
                        "storefront"
                    },
                    record.attempts
                ))
            }
        }
    };
    store::set_json(&key, &record)?;
    if let (Some(line), Some((channel, ts))) = (line, &r.message) {
        slack::post(
            channel,
            &Message::new(line),
            &PostOptions::default().thread_ts(ts.clone()),
        )?;
    }
    Ok(())
}
