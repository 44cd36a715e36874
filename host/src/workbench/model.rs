//! What the page reads, as JSON: the workspace directory and commands, a
//! conversation as one person sees it, their modals and App Home, and the
//! apps panel. Read-only: acting goes through the emulator (see `api`).

use serde_json::{Value, json};

use crate::emulator::{Emulator, Message, Pin};
use crate::routing::{Apps, overview};
use crate::storage::Outcome;

/// Invocations and log lines shown per app in the apps panel.
const PANEL_INVOCATIONS: u32 = 15;
const PANEL_LOG_LINES: usize = 60;
/// Webhook deliveries listed.
const PANEL_DELIVERIES: u32 = 50;

/// People, channels (with who is in them and their topic), each person's
/// DM with the bot, user groups, every command the loaded apps answer (for
/// the composer's autocomplete) and their shortcuts (for the menus).
pub fn workspace(slack: &Emulator, apps: &Apps) -> Value {
    let c = slack.config();
    let mut users: Vec<Value> = Vec::new();
    let mut dms = serde_json::Map::new();
    let mut channels = Vec::new();
    for channel in slack.channels() {
        match channel.dm_user {
            Some(user) => {
                dms.insert(user, json!(channel.id));
            }
            None => channels.push(json!({
                "id": channel.id,
                "name": channel.name,
                "is_private": channel.is_private,
                "members": channel.members,
                "topic": channel.topic.value,
            })),
        }
    }
    let usergroups: Vec<Value> = slack
        .usergroups()
        .into_iter()
        .map(|g| json!({"id": g.id, "handle": g.handle, "name": g.name, "users": g.users}))
        .collect();
    for user in slack.users() {
        users.push(json!({
            "id": user.id,
            "name": user.name,
            "real_name": user.real_name,
            "is_bot": user.is_bot,
        }));
    }
    json!({
        "team": {"id": c.team_id, "domain": c.team_domain},
        "bot": {"id": c.bot_user_id, "name": "botyard"},
        "users": users,
        "channels": channels,
        "dms": dms,
        "usergroups": usergroups,
        "commands": commands(apps),
        "shortcuts": shortcuts(apps),
    })
}

/// Every shortcut the loaded apps declare, with the namespaced callback id
/// (`<app>.<callback_id>`) Slack sends back, sorted by name.
fn shortcuts(apps: &Apps) -> Vec<Value> {
    let snapshot = apps.snapshot();
    let mut list = Vec::new();
    for (id, entry) in &snapshot.apps {
        let Some(version) = &entry.current else {
            continue;
        };
        for mut s in overview::shortcuts(version) {
            // What Slack sends back: the id in the app's namespace.
            let declared = s["callback_id"].as_str().unwrap_or_default();
            let sent = crate::slack::namespace::prefix(id, declared).unwrap_or_else(|_| {
                format!("{id}{}{declared}", crate::slack::namespace::SEPARATOR)
            });
            s["callback_id"] = json!(sent);
            s["app"] = json!(id.as_ref());
            list.push(s);
        }
    }
    list.sort_by(|a, b| {
        (a["name"].as_str(), a["callback_id"].as_str())
            .cmp(&(b["name"].as_str(), b["callback_id"].as_str()))
    });
    list
}

/// [`commands`] that `user` may run in `channel` under the permission
/// rules (approval aside): what autocomplete offers them.
pub async fn commands_for(apps: &Apps, user: &str, channel: &str) -> Vec<Value> {
    let gate = apps.runtime().gate();
    let mut kept = Vec::new();
    for entry in commands(apps) {
        let app = entry["app"].as_str().unwrap_or_default();
        let line = entry["command"].as_str().unwrap_or_default();
        let (command, sub) = match line.split_once(' ') {
            Some((command, sub)) => (command, Some(sub)),
            None => (line, None),
        };
        let allowed = app == "botyard"
            || gate
                .may(
                    app,
                    &crate::config::permissions::Target::Command {
                        command,
                        subcommand: sub,
                        text: "",
                    },
                    user,
                    channel,
                )
                .await;
        if allowed {
            kept.push(entry);
        }
    }
    kept
}

/// Slash commands and `/umbrella sub` subcommands, sorted, each with its app.
fn commands(apps: &Apps) -> Vec<Value> {
    let snapshot = apps.snapshot();
    let mut list = Vec::new();
    let mut umbrellas = std::collections::BTreeSet::new();
    for (id, entry) in &snapshot.apps {
        let Some(version) = &entry.current else {
            continue;
        };
        for command in &version.description.info.commands {
            list.push(json!({
                "command": command.name,
                "usage": command.usage,
                "description": command.description,
                "app": id.as_ref(),
            }));
        }
        for sub in &version.description.info.subcommands {
            umbrellas.insert(sub.umbrella.clone());
            list.push(json!({
                "command": format!("{} {}", sub.umbrella, sub.name),
                "usage": sub.usage,
                "description": sub.description,
                "app": id.as_ref(),
            }));
        }
    }
    // The host answers `/umbrella help` itself, from what the apps describe.
    for umbrella in umbrellas {
        list.push(json!({
            "command": format!("{umbrella} help"),
            "usage": "",
            "description": format!("List what {umbrella} can do"),
            "app": "botyard",
        }));
    }
    list.sort_by(|a, b| a["command"].as_str().cmp(&b["command"].as_str()));
    list
}

/// A channel as `user` sees it: top-level messages (their own ephemerals
/// included) with reactions, files, pins and thread summaries; its topic,
/// pinned messages and the messages scheduled in it.
pub fn conversation(slack: &Emulator, user: &str, channel: &str) -> Value {
    let history = slack.history(user, channel);
    let pinned = slack.pins(channel);
    let messages: Vec<Value> = history
        .iter()
        .filter(|m| m.is_top_level())
        .map(|m| {
            let replies: Vec<&Message> = history
                .iter()
                .filter(|r| r.is_reply() && r.thread_ts.as_deref() == Some(&m.ts))
                .collect();
            let mut value = message(slack, m, &pinned);
            if !replies.is_empty() {
                let mut repliers: Vec<&str> = Vec::new();
                for r in &replies {
                    if !repliers.contains(&r.user.as_str()) {
                        repliers.push(&r.user);
                    }
                }
                value["reply_count"] = json!(replies.len());
                value["reply_users"] = json!(repliers);
                value["latest_reply"] = json!(replies.last().map(|r| r.ts.as_str()));
            }
            value
        })
        .collect();
    let pins: Vec<Value> = pinned
        .iter()
        .rev()
        .filter_map(|p| {
            let m = history.iter().find(|m| m.ts == p.ts)?;
            let mut value = message(slack, m, &pinned);
            value["pinned_at"] = json!(p.created);
            value["pinned_by"] = json!(p.created_by);
            Some(value)
        })
        .collect();
    let scheduled: Vec<Value> = slack
        .scheduled(Some(channel))
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "post_at": s.post_at,
                "text": s.text,
                "thread_ts": s.thread_ts,
            })
        })
        .collect();
    let topic = slack.channel(channel).map(|c| c.topic);
    json!({
        "channel": channel,
        "topic": topic.as_ref().map(|t| t.value.as_str()).unwrap_or_default(),
        "topic_set_by": topic.as_ref().map(|t| t.creator.as_str()).unwrap_or_default(),
        "messages": messages,
        "pins": pins,
        "scheduled": scheduled,
    })
}

/// A thread as `user` sees it: the parent, then the replies.
pub fn thread(slack: &Emulator, user: &str, channel: &str, ts: &str) -> Value {
    let pinned = slack.pins(channel);
    let messages: Vec<Value> = slack
        .history(user, channel)
        .iter()
        .filter(|m| m.ts == ts || m.thread_ts.as_deref() == Some(ts))
        .map(|m| message(slack, m, &pinned))
        .collect();
    json!({"channel": channel, "ts": ts, "messages": messages})
}

/// One message as the page draws it; `pinned` is its channel's pins.
fn message(slack: &Emulator, m: &Message, pinned: &[Pin]) -> Value {
    let reactions: Vec<Value> = slack
        .reactions(&m.channel, &m.ts)
        .into_iter()
        .map(|(name, users)| json!({"name": name, "count": users.len(), "users": users}))
        .collect();
    let files: Vec<Value> = slack
        .files_of(m)
        .into_iter()
        .map(|f| {
            json!({
                "id": f.id,
                "name": f.name,
                "title": f.title,
                "size": f.content.as_ref().map_or(0, Vec::len),
                "mimetype": f.mimetype(),
                "filetype": f.filetype(),
                "url": format!("/api/file?id={}", f.id),
            })
        })
        .collect();
    let pinned = pinned.iter().any(|p| p.ts == m.ts);
    json!({
        "ts": m.ts,
        "thread_ts": m.thread_ts,
        "user": m.user,
        "bot": m.bot_id.is_some(),
        "text": m.text,
        "blocks": m.blocks,
        "edited": m.edited,
        "ephemeral": m.ephemeral_to.is_some(),
        "subtype": m.subtype,
        "reactions": reactions,
        "files": files,
        "metadata": m.metadata,
        "pinned": pinned,
    })
}

/// `user`'s modal stack (bottom first, with inline errors) and App Home.
pub fn views(slack: &Emulator, user: &str) -> Value {
    let stack: Vec<Value> = slack
        .views_of(user)
        .into_iter()
        .map(|v| json!({"id": v.id, "view": v.view, "errors": v.errors}))
        .collect();
    let home = slack.home_of(user).map(|h| h.view);
    json!({"stack": stack, "home": home})
}

/// The apps panel: every app's serving version, grants, commands, last load
/// or build error, recent invocations and log lines.
pub async fn apps(loaded: &Apps) -> Value {
    let snapshot = loaded.snapshot();
    let mut apps = Vec::new();
    for (id, entry) in &snapshot.apps {
        let version = entry.current.as_ref();
        let invocations = loaded
            .storage()
            .audit
            .recent(Some(id), PANEL_INVOCATIONS)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(app = %id, error = %e, "reading the audit log failed");
                Vec::new()
            });
        let invocations: Vec<Value> = invocations
            .into_iter()
            .map(|r| {
                let (ok, error) = match r.outcome {
                    Outcome::Ok => (true, None),
                    Outcome::Failed(e) | Outcome::Refused(e) => (false, Some(e)),
                };
                json!({
                    "at_ms": r.at_ms,
                    "kind": r.kind,
                    "detail": r.detail,
                    "user": r.user,
                    "version": &r.version[..r.version.len().min(12)],
                    "duration_us": r.duration_us,
                    "ok": ok,
                    "error": error,
                })
            })
            .collect();
        let logs = loaded.runtime().recent_logs(id);
        let logs = &logs[logs.len().saturating_sub(PANEL_LOG_LINES)..];
        let quotas = match version {
            Some(v) => Some(overview::quotas(loaded, v).await),
            None => None,
        };
        apps.push(json!({
                "id": id.as_ref(),
                "name": version.map(|v| v.description.info.name.clone()),
                "description": version.map(|v| v.description.info.description.clone()),
                "version": version.map(|v| v.short_hash().to_string()),
                "loaded_at_ms": entry.loaded_at_ms,
                "grants": version.map(|v| crate::capabilities::ordered(&v.grants)),
                "commands": version.map(|v| v.description.info.commands.iter().map(|c| json!({
                    "name": c.name, "usage": c.usage, "description": c.description,
                })).collect::<Vec<_>>()),
                "subcommands": version.map(|v| v.description.info.subcommands.iter().map(|s| json!({
                    "name": format!("{} {}", s.umbrella, s.name), "usage": s.usage, "description": s.description,
                })).collect::<Vec<_>>()),
                "events": version.map(|v| v.description.info.events.clone()),
                "shortcuts": version.map(|v| overview::shortcuts(v)),
                "settings": version.map(|v| overview::settings(loaded, v)),
                "webhooks": version.map(|v| overview::webhooks(loaded, v)),
                "http": version.map(|v| overview::http(v)),
                "quotas": quotas,
                "error": entry.last_error.as_ref().map(|e| json!({"at_ms": e.at_ms, "message": e.message})),
                "invocations": invocations,
                "logs": logs,
            }));
    }
    let config_error = loaded
        .config_error()
        .map(|e| json!({"at_ms": e.at_ms, "message": e.message}));
    json!({"apps": apps, "config_error": config_error})
}

/// The most recent webhook deliveries, newest first (bodies as text, cut
/// short; the credentials the host checked are never among the headers).
pub async fn deliveries(loaded: &Apps, app: Option<&str>) -> Value {
    let listed = loaded
        .storage()
        .webhooks
        .deliveries(app, PANEL_DELIVERIES)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading webhook deliveries failed");
            Vec::new()
        });
    json!({"deliveries": listed})
}

/// One delivery in full, its body as text (lossy) for the page to show.
pub async fn delivery(loaded: &Apps, id: i64) -> Option<Value> {
    let d = loaded.storage().webhooks.delivery(id).await.ok()??;
    let body = String::from_utf8_lossy(&d.body).into_owned();
    let mut value = serde_json::to_value(&d).ok()?;
    value["body"] = Value::String(body);
    Some(value)
}

/// Changes whenever anything the apps panel shows changes.
pub async fn apps_fingerprint(apps: &Apps) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    apps.config_error()
        .map(|e| (e.at_ms, e.message))
        .hash(&mut hasher);
    let snapshot = apps.snapshot();
    for (id, entry) in &snapshot.apps {
        id.hash(&mut hasher);
        entry.current.as_ref().map(|v| &v.hash).hash(&mut hasher);
        entry.loaded_at_ms.hash(&mut hasher);
        entry
            .last_error
            .as_ref()
            .map(|e| (e.at_ms, &e.message))
            .hash(&mut hasher);
        let logs = apps.runtime().recent_logs(id);
        (logs.len(), logs.last().map(|l| l.at_ms)).hash(&mut hasher);
    }
    if let Ok(recent) = apps
        .storage()
        .webhooks
        .deliveries(None, PANEL_DELIVERIES)
        .await
    {
        for d in recent {
            (d.id, d.status, d.attempts).hash(&mut hasher);
        }
    }
    if let Ok(latest) = apps.storage().audit.recent(None, 1).await {
        latest
            .first()
            .map(|r| (r.at_ms, r.duration_us, r.app.clone()))
            .hash(&mut hasher);
    }
    hasher.finish()
}
