//! Peer approval, run by the host: the gate (`runtime/permissions.rs`)
//! holds a command a rule says needs approval and posts the request with
//! Approve / Deny (`botyard.approve`, `botyard.deny`); this module decides
//! those clicks, runs the command as the requester once enough approvers
//! said yes, and expires what nobody decided. Apps need no code for it.
//!
//! Every change of an approval is one compare-and-swap of its whole record,
//! committed with its audit row and the Slack calls it causes, so two
//! approvers clicking at once make one decision, a double click decides
//! nothing twice, and the held command runs once: only the click whose swap
//! moved the record to `approved` runs it.

use serde_json::{Value, json};

use super::apps::{Apps, CallContext, CommandAnswer};
use crate::contract::bindings::types::MessageRef;
use crate::contract::request::Response;
use crate::contract::time::now_ms;
use crate::runtime::permissions::{Approval, HOST_APP, PENDING, State, run_approved};
use crate::slack::json as slack_json;
use crate::storage::{NewCall, StorageError};

/// How often held commands are checked for expiry.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The action ids of the buttons on an approval request.
pub const APPROVE: &str = "botyard.approve";
pub const DENY: &str = "botyard.deny";

/// A click on Approve or Deny: what to tell the person who clicked.
pub async fn decide(
    apps: &Apps,
    id: &str,
    user: &str,
    approve: bool,
    message: Option<&MessageRef>,
) -> String {
    match decide_inner(apps, id, user, approve, message).await {
        Ok(text) => text,
        Err(e) => format!("The decision could not be saved ({e}); nothing changed. Try again."),
    }
}

async fn decide_inner(
    apps: &Apps,
    id: &str,
    user: &str,
    approve: bool,
    message: Option<&MessageRef>,
) -> Result<String, StorageError> {
    let storage = apps.storage();
    let key = Approval::key_of(id);
    // A lost swap means someone else decided or approved meanwhile: read
    // again and decide on what is there now (an approval still counts).
    for _ in 0..5 {
        let Some(old) = storage.kv_get(HOST_APP, &key).await? else {
            return Ok("This approval request is unknown to botyard.".into());
        };
        let Ok(mut approval) = serde_json::from_slice::<Approval>(&old) else {
            return Ok("This approval request could not be read.".into());
        };
        let now = now_ms() as i64;
        match approval.state {
            State::Pending if now >= approval.expires_at_ms => {
                expire(apps, approval, &old).await?;
                return Ok("This request expired before you decided; nothing ran.".into());
            }
            State::Pending => {}
            state => {
                return Ok(format!(
                    "This request was already {}; your click changed nothing.",
                    match state {
                        State::Approved => "approved",
                        State::Denied => "denied",
                        _ => "expired",
                    }
                ));
            }
        }
        if user == approval.requester {
            audit_only(apps, &approval, "self-approval refused", user).await?;
            return Ok(
                "You cannot approve or deny your own request: another member of the group must."
                    .into(),
            );
        }
        let gate = apps.runtime().gate();
        let rules = gate.rules();
        match gate.members(&rules, &approval.group).await {
            Ok(members) if members.contains(user) => {}
            Ok(_) => {
                audit_only(apps, &approval, "decision refused (not an approver)", user).await?;
                return Ok(format!(
                    "Only members of {} may decide this request.",
                    approval.group
                ));
            }
            Err(e) => return Ok(format!("botyard could not check who may decide: {e}")),
        }
        if approve && approval.approvers.iter().any(|a| a == user) {
            return Ok("You already approved this request.".into());
        }
        let step;
        if approve {
            approval.approvers.push(user.to_string());
            if approval.approvers.len() as u32 >= approval.count {
                approval.state = State::Approved;
                approval.decided_by = Some(user.to_string());
                step = "approved";
            } else {
                step = "approval given";
            }
        } else {
            approval.state = State::Denied;
            approval.decided_by = Some(user.to_string());
            step = "denied";
        }
        approval.version += 1;
        let new = serde_json::to_vec(&approval).expect("serialisable");
        let mut unit = storage.begin();
        if !unit
            .compare_and_swap(HOST_APP, &key, Some(&old), Some(&new))
            .await?
        {
            continue;
        }
        if approval.state != State::Pending {
            unit.delete(HOST_APP, &format!("{PENDING}{id}")).await?;
        }
        let mut record = approval.audit(&format!("{step} by {user}"), now);
        record.user = user.to_string();
        unit.record(&record).await?;
        if let Some(message) = message {
            let update = json!({
                "channel": message.channel,
                "ts": message.ts,
                "text": approval.summary(),
                "blocks": approval.blocks(),
            });
            enqueue(apps, &mut *unit, "chat.update", &update).await?;
        }
        if approval.state == State::Denied {
            tell_requester(
                apps,
                &mut *unit,
                &approval,
                &format!(
                    ":no_entry: <@{user}> denied `{}`; it did not run.",
                    approval.line
                ),
            )
            .await?;
        }
        unit.commit().await?;
        return Ok(match approval.state {
            State::Approved => {
                run(apps, &approval).await;
                format!(
                    "Approved: `{}` runs now as <@{}>.",
                    approval.line, approval.requester
                )
            }
            State::Denied => format!("Denied: `{}` will not run.", approval.line),
            _ => format!(
                "Your approval counts: {} of {} so far.",
                approval.approvers.len(),
                approval.count
            ),
        });
    }
    Ok("Too many people decided at once; look at the request again.".into())
}

/// Runs the approved command as the requester and posts its answer where
/// they asked (the command's own `response_url` is long gone or spent).
async fn run(apps: &Apps, approval: &Approval) {
    let ctx = CallContext {
        user: approval.requester.clone(),
        channel: approval.channel.clone(),
        trigger_id: None,
    };
    let answer = run_approved(approval.id.clone(), apps.call_command(&approval.line, &ctx)).await;
    let body = match answer {
        Ok(CommandAnswer::App { app, invocation }) => match invocation.response {
            Response::Command(Some(reply)) => Some(slack_json::reply(&app.id, &reply)),
            _ => None,
        },
        Ok(CommandAnswer::Help(text)) => Some(slack_json::ephemeral(&text)),
        Err(e) => Some(slack_json::error_message(&e)),
    };
    let now = now_ms() as i64;
    let mut unit = apps.storage().begin();
    let result = async {
        if let Some(body) = body {
            let place = super::answer::Place {
                channel: &approval.channel,
                user: &approval.requester,
                thread: None,
            };
            super::answer::post(apps, &mut *unit, &place, body).await?;
        }
        unit.record(&approval.audit("ran after approval", now))
            .await?;
        unit.commit().await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(approval = %approval.id, error = %e, "the approved command's answer could not be queued");
    }
}

/// Expires every pending approval past its time: the requester is told,
/// nothing runs. Returns how many expired.
pub async fn expire_due(apps: &Apps, now: i64) -> Result<usize, StorageError> {
    let storage = apps.storage();
    let mut expired = 0;
    for key in storage.kv_list(HOST_APP, PENDING, 1000).await? {
        let id = &key[PENDING.len()..];
        let Some(old) = storage.kv_get(HOST_APP, &Approval::key_of(id)).await? else {
            continue;
        };
        let Ok(approval) = serde_json::from_slice::<Approval>(&old) else {
            continue;
        };
        if approval.state == State::Pending && approval.expires_at_ms <= now {
            expire(apps, approval, &old).await?;
            expired += 1;
        }
    }
    Ok(expired)
}

async fn expire(apps: &Apps, mut approval: Approval, old: &[u8]) -> Result<(), StorageError> {
    approval.state = State::Expired;
    approval.version += 1;
    let new = serde_json::to_vec(&approval).expect("serialisable");
    let mut unit = apps.storage().begin();
    if !unit
        .compare_and_swap(HOST_APP, &approval.key(), Some(old), Some(&new))
        .await?
    {
        return Ok(()); // decided meanwhile
    }
    unit.delete(HOST_APP, &format!("{PENDING}{}", approval.id))
        .await?;
    unit.record(&approval.audit("expired", now_ms() as i64))
        .await?;
    tell_requester(
        apps,
        &mut *unit,
        &approval,
        &format!(
            ":hourglass: Nobody from {} approved `{}` in time; it did not run. Ask again if it is still needed.",
            approval.group, approval.line
        ),
    )
    .await?;
    unit.commit().await
}

/// Checks for expired approvals every [`SWEEP_EVERY`] until aborted.
pub fn spawn_sweeper(apps: std::sync::Arc<Apps>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP_EVERY).await;
            match expire_due(&apps, now_ms() as i64).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "approval requests expired"),
                Err(e) => tracing::warn!(error = %e, "checking approval requests for expiry"),
            }
        }
    })
}

async fn audit_only(
    apps: &Apps,
    approval: &Approval,
    step: &str,
    user: &str,
) -> Result<(), StorageError> {
    let mut unit = apps.storage().begin();
    let mut record = approval.audit(&format!("{step}: {user}"), now_ms() as i64);
    record.user = user.to_string();
    record.outcome = crate::storage::Outcome::Failed(step.to_string());
    unit.record(&record).await?;
    unit.commit().await
}

async fn tell_requester(
    apps: &Apps,
    unit: &mut dyn crate::storage::Unit,
    approval: &Approval,
    text: &str,
) -> Result<(), StorageError> {
    let payload = json!({ "channel": approval.channel, "user": approval.requester, "text": text });
    enqueue(apps, unit, "chat.postEphemeral", &payload).await
}

async fn enqueue(
    apps: &Apps,
    unit: &mut dyn crate::storage::Unit,
    method: &str,
    payload: &Value,
) -> Result<(), StorageError> {
    unit.enqueue(NewCall {
        app: HOST_APP,
        method,
        payload,
        status: apps.runtime().delivery(),
    })
    .await
    .map(|_| ())
}
