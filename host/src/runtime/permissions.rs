//! The permission gate: `[permissions]` (see [`crate::config::permissions`])
//! enforced as a [`Hook`] before any app code runs, so no app can forget a
//! check and no path — command, button, modal, shortcut, crafted payload —
//! reaches an app past it: every one of them is an invocation.
//!
//! A denial refuses the invocation with a message naming what the user
//! needs ("`/spy servers stop` needs @sre-oncall"); the audit hook records
//! it as refused. A command whose rule asks for approval is held: the gate
//! records an [`Approval`] and posts the request to the approvers (in one
//! commit), and `routing/approvals.rs` runs it once approved.
//!
//! User groups are resolved through `usergroups.list` (handle → id) and
//! `usergroups.users.list`, each answer trusted for
//! `[permissions] group_cache_seconds`; when Slack cannot answer, the gate
//! refuses (it never guesses that someone is a member).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::hooks::{Call, Hook, Refusal};
use crate::config::permissions::{Permissions, Rule, Target};
use crate::contract::request::Request;
use crate::slack::web_api::WebApi;
use crate::storage::{NewCall, OutboxStatus, Storage, StorageError};

/// The app id under which the host keeps its own records and posts its own
/// messages (approval requests); no app may use it.
pub const HOST_APP: &str = "botyard";

/// What the rules say about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// With the message for the user.
    Deny(String),
    /// Allowed once approved as the rule says.
    Approve(crate::config::permissions::Approve),
}

/// Something learnt from Slack, and when.
type Cached<T> = (Instant, Arc<T>);

/// The gate: the rules serving now and what it knows of user groups.
pub struct Gate {
    rules: RwLock<Arc<Permissions>>,
    /// Group (as the rules name it) → its members.
    groups: Mutex<HashMap<String, Cached<HashSet<String>>>>,
    /// Group handle → id, from `usergroups.list`.
    handles: Mutex<Option<Cached<HashMap<String, String>>>>,
    slack_api: Arc<OnceLock<Arc<WebApi>>>,
    storage: Storage,
    delivery: OutboxStatus,
}

tokio::task_local! {
    /// The approval an invocation runs under: set by `routing/approvals.rs`
    /// around the one invocation an approval allows, never by a request.
    static APPROVED: String;
}

/// Runs `work` as approval `id` allows: the gate lets the held command
/// through without asking for approval again (it still checks who).
pub async fn run_approved<F: std::future::Future>(id: String, work: F) -> F::Output {
    APPROVED.scope(id, work).await
}

impl Gate {
    pub fn new(
        storage: Storage,
        slack_api: Arc<OnceLock<Arc<WebApi>>>,
        delivery: OutboxStatus,
    ) -> Gate {
        Gate {
            rules: RwLock::new(Arc::new(Permissions::default())),
            groups: Mutex::default(),
            handles: Mutex::default(),
            slack_api,
            storage,
            delivery,
        }
    }

    /// Replaces the rules (a new `botyard.toml`); cached group members stay
    /// valid, as they do not depend on the rules.
    pub fn set_rules(&self, rules: Permissions) {
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
    }

    pub fn rules(&self) -> Arc<Permissions> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What the rules say about `user` in `channel` acting on `target` of `app`.
    pub async fn check(
        &self,
        app: &str,
        target: &Target<'_>,
        user: &str,
        channel: &str,
    ) -> Verdict {
        let rules = self.rules();
        let mut approve = None;
        for rule in rules.covering(app, target) {
            if let Some(message) = self.refuses(&rules, rule, target, user, channel).await {
                return Verdict::Deny(message);
            }
            if approve.is_none() && matches!(target, Target::Command { .. }) {
                approve = rule.approve.clone();
            }
        }
        match approve {
            Some(approve) => Verdict::Approve(approve),
            None => Verdict::Allow,
        }
    }

    /// Whether `user` may run `target` at all (approval aside): what help
    /// and autocomplete list.
    pub async fn may(&self, app: &str, target: &Target<'_>, user: &str, channel: &str) -> bool {
        !matches!(
            self.check(app, target, user, channel).await,
            Verdict::Deny(_)
        )
    }

    async fn refuses(
        &self,
        rules: &Permissions,
        rule: &Rule,
        target: &Target<'_>,
        user: &str,
        channel: &str,
    ) -> Option<String> {
        if !rule.channels.is_empty() && !rule.channels.iter().any(|c| c == channel) {
            let wheres: Vec<String> = rule.channels.iter().map(|c| format!("<#{c}>")).collect();
            return Some(format!(
                "{} can only be used in {}.",
                target.describe(),
                wheres.join(", ")
            ));
        }
        if !rule.names_people() || rule.users.iter().any(|u| u == user) {
            return None;
        }
        let mut trouble = None;
        for group in &rule.groups {
            match self.members(rules, group).await {
                Ok(members) if members.contains(user) => return None,
                Ok(_) => {}
                Err(e) => trouble = Some(e),
            }
        }
        Some(match trouble {
            Some(e) => format!(
                "{} needs {}, and botyard could not check membership: {e}. Try again in a moment.",
                target.describe(),
                rule.who()
            ),
            None => format!("{} needs {}.", target.describe(), rule.who()),
        })
    }

    /// The members of `group` (a handle `@sre` or an id `S…`), from the
    /// cache while it is fresh.
    pub async fn members(
        &self,
        rules: &Permissions,
        group: &str,
    ) -> Result<Arc<HashSet<String>>, String> {
        let lifetime = rules.group_cache;
        if let Some((at, members)) = self
            .groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(group)
            && at.elapsed() < lifetime
        {
            return Ok(members.clone());
        }
        let api = self
            .slack_api
            .get()
            .ok_or("no Slack connection to ask who is in a user group")?
            .clone();
        let id = match group.strip_prefix('@') {
            Some(handle) => self.group_id(&api, lifetime, handle).await?,
            None => group.to_string(),
        };
        let answer = api
            .call("usergroups.users.list", &json!({ "usergroup": id }))
            .await
            .map_err(|e| format!("usergroups.users.list for {group}: {e}"))?;
        let members: HashSet<String> = answer["users"]
            .as_array()
            .map(|users| {
                users
                    .iter()
                    .filter_map(|u| u.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let members = Arc::new(members);
        self.groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(group.to_string(), (Instant::now(), members.clone()));
        Ok(members)
    }

    async fn group_id(
        &self,
        api: &WebApi,
        lifetime: std::time::Duration,
        handle: &str,
    ) -> Result<String, String> {
        let cached = self
            .handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(|(at, _)| at.elapsed() < lifetime);
        let handles = match cached {
            Some((_, handles)) => handles,
            None => {
                let answer = api
                    .call("usergroups.list", &json!({}))
                    .await
                    .map_err(|e| format!("usergroups.list: {e}"))?;
                let handles: HashMap<String, String> = answer["usergroups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| {
                        Some((
                            g["handle"].as_str()?.to_string(),
                            g["id"].as_str()?.to_string(),
                        ))
                    })
                    .collect();
                let handles = Arc::new(handles);
                *self.handles.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), handles.clone()));
                handles
            }
        };
        handles
            .get(handle)
            .cloned()
            .ok_or_else(|| format!("Slack has no user group @{handle}"))
    }

    /// Holds `request` for approval: records it and posts the request with
    /// Approve / Deny where the rule says, in one commit. Returns the
    /// message for the requester.
    async fn hold(
        &self,
        app: &str,
        request: &Request,
        approve: &crate::config::permissions::Approve,
    ) -> Result<String, StorageError> {
        let Request::Command(command) = request else {
            unreachable!("only commands are held for approval");
        };
        let line = match &command.subcommand {
            Some(sub) => format!("{} {sub} {}", command.command, command.text),
            None => format!("{} {}", command.command, command.text),
        };
        let now = crate::contract::time::now_ms() as i64;
        let approval = Approval {
            id: format!("{now:x}-{:08x}", fastrand::u32(..)),
            app: app.to_string(),
            line: line.trim().to_string(),
            requester: command.context.user_id.clone(),
            channel: command.context.channel_id.clone(),
            group: approve.group.clone(),
            count: approve.count,
            approvers: Vec::new(),
            state: State::Pending,
            decided_by: None,
            requested_at_ms: now,
            expires_at_ms: now + i64::from(approve.expire_minutes) * 60_000,
            version: 0,
        };
        let post_in = approve.channel.clone().unwrap_or(approval.channel.clone());
        let mut unit = self.storage.begin();
        unit.set(
            HOST_APP,
            &approval.key(),
            &serde_json::to_vec(&approval).expect("serialisable"),
        )
        .await?;
        unit.set(HOST_APP, &format!("{PENDING}{}", approval.id), b"")
            .await?;
        let payload = json!({
            "channel": post_in,
            "text": approval.summary(),
            "blocks": approval.blocks(),
        });
        unit.enqueue(NewCall {
            app: HOST_APP,
            method: "chat.postMessage",
            payload: &payload,
            status: self.delivery,
        })
        .await?;
        unit.record(&approval.audit("approval requested", now))
            .await?;
        unit.commit().await?;
        Ok(format!(
            "`{}` needs approval from {} ({} of them): request sent. You will hear back here.",
            approval.line, approval.group, approval.count
        ))
    }
}

/// Key prefix of the index of pending approvals (value empty).
pub const PENDING: &str = "approval-pending/";

/// Where an approval is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Approved,
    Denied,
    Expired,
}

/// A held command waiting for approvers, as stored (`approval/<id>` of the
/// host's own keys). Every change goes through compare-and-swap on the
/// whole record, so two approvers clicking at once make one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub app: String,
    /// The command line as typed, subcommand included.
    pub line: String,
    pub requester: String,
    pub channel: String,
    pub group: String,
    pub count: u32,
    /// Who approved so far, in order.
    pub approvers: Vec<String>,
    pub state: State,
    /// Who denied, or whose approval completed it.
    pub decided_by: Option<String>,
    pub requested_at_ms: i64,
    pub expires_at_ms: i64,
    pub version: u64,
}

impl Approval {
    pub fn key(&self) -> String {
        Self::key_of(&self.id)
    }

    pub fn key_of(id: &str) -> String {
        format!("approval/{id}")
    }

    /// One line: who asks to run what, where.
    pub fn summary(&self) -> String {
        format!(
            "<@{}> asks to run `{}` in <#{}> — needs {} approval(s) from {}",
            self.requester, self.line, self.channel, self.count, self.group
        )
    }

    /// The request as approvers see it, with Approve / Deny while pending.
    pub fn blocks(&self) -> Value {
        let mut blocks = vec![json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!(
                ":raised_hand: *Approval needed*\n<@{}> asks to run\n```{}```\nin <#{}> (app `{}`). Needs {} of {}; expires <!date^{}^{{date_short_pretty}} {{time}}|in time>.",
                self.requester, self.line, self.channel, self.app, self.count, self.group, self.expires_at_ms / 1000
            )}
        })];
        match self.state {
            State::Pending => blocks.push(json!({
                "type": "actions",
                "block_id": format!("{HOST_APP}.approval"),
                "elements": [
                    { "type": "button", "action_id": format!("{HOST_APP}.approve"), "style": "primary",
                      "text": { "type": "plain_text", "text": "Approve" }, "value": self.id },
                    { "type": "button", "action_id": format!("{HOST_APP}.deny"), "style": "danger",
                      "text": { "type": "plain_text", "text": "Deny" }, "value": self.id },
                ]
            })),
            state => {
                let by = self
                    .decided_by
                    .as_ref()
                    .map(|u| format!(" by <@{u}>"))
                    .unwrap_or_default();
                let what = match state {
                    State::Approved => format!(":white_check_mark: Approved{by}"),
                    State::Denied => format!(":no_entry: Denied{by}"),
                    _ => ":hourglass: Expired, nobody decided".to_string(),
                };
                blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": what }] }));
            }
        }
        if !self.approvers.is_empty() && self.state == State::Pending {
            let who: Vec<String> = self.approvers.iter().map(|u| format!("<@{u}>")).collect();
            blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn",
                "text": format!("Approved so far by {}", who.join(", ")) }] }));
        }
        Value::Array(blocks)
    }

    /// An audit row for a step of this approval.
    pub fn audit(&self, step: &str, at_ms: i64) -> crate::storage::InvocationRecord {
        crate::storage::InvocationRecord {
            at_ms,
            app: self.app.clone(),
            version: String::new(),
            kind: "approval".into(),
            user: self.requester.clone(),
            channel: self.channel.clone(),
            detail: format!("{step}: {} [{}]", self.line, self.id),
            duration_us: 0,
            outcome: crate::storage::Outcome::Ok,
        }
    }
}

/// What rules see in a request; `None` for what no user triggers.
pub fn target_of(request: &Request) -> Option<Target<'_>> {
    Some(match request {
        Request::Command(c) => Target::Command {
            command: &c.command,
            subcommand: c.subcommand.as_deref(),
            text: &c.text,
        },
        Request::Action(a) => Target::Action(&a.action_id),
        Request::ViewSubmission(v) => Target::View(&v.callback_id),
        Request::Shortcut(s) => Target::Shortcut(&s.callback_id),
        Request::Describe | Request::Event(_) | Request::Tick(_) | Request::Webhook(_) => {
            return None;
        }
    })
}

#[async_trait]
impl Hook for Gate {
    async fn before(&self, call: &Call<'_>) -> Result<(), Refusal> {
        if self.rules().rules.is_empty() {
            return Ok(());
        }
        let Some(target) = target_of(call.request) else {
            return Ok(());
        };
        let app = &*call.app.id;
        let verdict = self
            .check(app, &target, call.request.user(), call.request.channel())
            .await;
        match verdict {
            Verdict::Allow => Ok(()),
            Verdict::Deny(message) => {
                crate::telemetry::permission_denied(app);
                tracing::info!(app, user = call.request.user(), %message, "permission denied");
                Err(Refusal(message))
            }
            Verdict::Approve(approve) => {
                if APPROVED.try_with(|_| ()).is_ok() {
                    return Ok(());
                }
                match self.hold(app, call.request, &approve).await {
                    Ok(message) => Err(Refusal(message)),
                    Err(e) => Err(Refusal(format!(
                        "{} needs approval, and the request could not be recorded: {e}",
                        target.describe()
                    ))),
                }
            }
        }
    }
}
