//! A Slack app manifest derived from the loaded apps, so creating the Slack
//! app is one paste ("Create New App → From an app manifest") instead of a
//! checklist of commands, events and scopes kept in sync by hand.
//!
//! Scopes are derived from what the apps use: `commands` when there are
//! slash commands, the Web API scopes behind the `slack` capability when an
//! app is granted it, and the read scope each subscribed event needs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::apps::Snapshot;
use crate::capabilities::Uses;
use crate::contract::description::{Description, shortcut_kind_name};
use crate::slack::namespace;

/// Where Slack sends requests when the host serves HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrls {
    pub commands: String,
    pub events: String,
    pub interactivity: String,
}

impl RequestUrls {
    /// `base` (the host's public origin, e.g. `https://bots.example.com`)
    /// joined with the receiver's three paths.
    pub fn new(
        base: &str,
        commands_path: &str,
        events_path: &str,
        interactivity_path: &str,
    ) -> Self {
        let base = base.trim_end_matches('/');
        RequestUrls {
            commands: format!("{base}{commands_path}"),
            events: format!("{base}{events_path}"),
            interactivity: format!("{base}{interactivity_path}"),
        }
    }
}

/// How Slack reaches the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The host dials out; no public URL needed.
    SocketMode,
    /// Slack POSTs to these URLs.
    Http(RequestUrls),
}

#[derive(Debug, Clone)]
pub struct ManifestOptions {
    /// The app's name in Slack (also the bot user's display name).
    pub name: String,
    pub description: String,
    pub connection: Connection,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            name: "botyard".into(),
            description: "Slack apps hosted by botyard, each a sandboxed WebAssembly component"
                .into(),
            connection: Connection::SocketMode,
        }
    }
}

/// Events the host routes as events but Slack does not send as Events API
/// types (interactions delivered through `on-event`): never subscribed.
const PSEUDO_EVENTS: &[&str] = &["view_closed"];

/// Events API subscriptions for one event type an app names, and the bot
/// scopes they need. `message` means messages everywhere the bot is.
fn event_subscriptions(event: &str) -> (Vec<&str>, Vec<&'static str>) {
    let scopes: &[&'static str] = match event {
        "app_mention" => &["app_mentions:read"],
        "message" => {
            return (
                vec![
                    "message.channels",
                    "message.groups",
                    "message.im",
                    "message.mpim",
                ],
                vec![
                    "channels:history",
                    "groups:history",
                    "im:history",
                    "mpim:history",
                ],
            );
        }
        "message.channels" => &["channels:history"],
        "message.groups" => &["groups:history"],
        "message.im" => &["im:history"],
        "message.mpim" => &["mpim:history"],
        "reaction_added" | "reaction_removed" => &["reactions:read"],
        "member_joined_channel" | "member_left_channel" => &["channels:read", "groups:read"],
        "channel_created" | "channel_deleted" | "channel_rename" | "channel_archive"
        | "channel_unarchive" => &["channels:read"],
        "team_join" | "user_change" => &["users:read"],
        "pin_added" | "pin_removed" => &["pins:read"],
        "emoji_changed" => &["emoji:read"],
        "file_shared" | "file_created" | "file_deleted" => &["files:read"],
        "link_shared" => &["links:read"],
        // app_home_opened, app_uninstalled, tokens_revoked …: no scope.
        _ => &[],
    };
    (vec![event], scopes.to_vec())
}

/// The manifest for every app currently serving in `snapshot`.
pub fn manifest(snapshot: &Snapshot, options: &ManifestOptions) -> Value {
    manifest_for(
        snapshot
            .versions()
            .map(|v| (&*v.id, &v.description, &v.uses)),
        options,
    )
}

/// The manifest for these apps' ids, descriptions and the capability
/// functions they call.
pub fn manifest_for<'a>(
    apps: impl IntoIterator<Item = (&'a str, &'a Description, &'a Uses)>,
    options: &ManifestOptions,
) -> Value {
    let mut commands: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut umbrellas: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut events: BTreeSet<String> = BTreeSet::new();
    let mut scopes: BTreeSet<&'static str> = BTreeSet::new();
    let mut home_tab = false;
    let mut shortcuts = Vec::new();
    for (app, description, uses) in apps {
        let info = &description.info;
        for s in &description.shortcuts {
            shortcuts.push(json!({
                "name": s.name,
                "type": shortcut_kind_name(s.kind),
                "callback_id": format!("{app}{}{}", namespace::SEPARATOR, s.callback_id),
                "description": if s.description.is_empty() { &s.name } else { &s.description },
            }));
        }
        for c in &info.commands {
            commands
                .entry(c.name.clone())
                .or_insert_with(|| (c.description.clone(), c.usage.clone()));
        }
        for s in &info.subcommands {
            umbrellas
                .entry(s.umbrella.clone())
                .or_default()
                .insert(s.name.clone());
        }
        for event in &info.events {
            if PSEUDO_EVENTS.contains(&event.as_str()) {
                continue;
            }
            home_tab |= event == "app_home_opened";
            let (subscriptions, needed) = event_subscriptions(event);
            events.extend(subscriptions.into_iter().map(String::from));
            scopes.extend(needed);
        }
        scopes.extend(uses.slack_scopes());
    }
    for (umbrella, subs) in umbrellas {
        // The router keeps a command and an umbrella of the same name apart;
        // if both exist the plain command's text is kept.
        let list: Vec<String> = subs.into_iter().collect();
        commands.entry(umbrella).or_insert_with(|| {
            (
                format!("Subcommands: {}", list.join(", ")),
                format!("help | {}", list.join(" | ")),
            )
        });
    }
    if !commands.is_empty() {
        scopes.insert("commands");
    }

    let (socket_mode, urls) = match &options.connection {
        Connection::SocketMode => (true, None),
        Connection::Http(urls) => (false, Some(urls)),
    };
    let slash_commands: Vec<Value> = commands
        .into_iter()
        .map(|(command, (description, usage))| {
            let mut c = Map::new();
            c.insert("command".into(), json!(command));
            let description = if description.is_empty() {
                format!("Run {command}")
            } else {
                description
            };
            c.insert("description".into(), json!(description));
            if !usage.is_empty() {
                c.insert("usage_hint".into(), json!(usage));
            }
            if let Some(urls) = urls {
                c.insert("url".into(), json!(urls.commands));
            }
            c.insert("should_escape".into(), json!(false));
            Value::Object(c)
        })
        .collect();

    let mut features = json!({
        "bot_user": {"display_name": options.name, "always_online": true},
    });
    if !slash_commands.is_empty() {
        features["slash_commands"] = Value::Array(slash_commands);
    }
    if !shortcuts.is_empty() {
        features["shortcuts"] = Value::Array(shortcuts);
    }
    if home_tab {
        features["app_home"] = json!({
            "home_tab_enabled": true,
            "messages_tab_enabled": true,
            "messages_tab_read_only_enabled": false,
        });
    }

    let mut settings = json!({
        "interactivity": {"is_enabled": true},
        "org_deploy_enabled": false,
        "socket_mode_enabled": socket_mode,
        "token_rotation_enabled": false,
    });
    if let Some(urls) = urls {
        settings["interactivity"]["request_url"] = json!(urls.interactivity);
    }
    if !events.is_empty() {
        let mut subscriptions = json!({ "bot_events": events });
        if let Some(urls) = urls {
            subscriptions["request_url"] = json!(urls.events);
        }
        settings["event_subscriptions"] = subscriptions;
    }

    json!({
        "display_information": {
            "name": options.name,
            "description": options.description,
        },
        "features": features,
        "oauth_config": {"scopes": {"bot": scopes}},
        "settings": settings,
    })
}

/// `value` as YAML. Strings are written double-quoted in JSON syntax, which
/// YAML reads the same way, so nothing a description holds can change the
/// document's shape.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_yaml(value, 0, &mut out);
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(o) if o.is_empty() => "{}".into(),
        // JSON numbers, booleans, null and strings are YAML too.
        other => other.to_string(),
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => false,
    }
}

fn write_yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                let key = yaml_key(key);
                if is_block(v) {
                    out.push_str(&format!("{pad}{key}:\n"));
                    let child = if v.is_array() { indent } else { indent + 2 };
                    write_yaml(v, child, out);
                } else {
                    out.push_str(&format!("{pad}{key}: {}\n", scalar(v)));
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if let Value::Object(map) = item
                    && !map.is_empty()
                {
                    // First key on the dash line, the rest aligned under it.
                    let mut nested = String::new();
                    write_yaml(item, indent + 2, &mut nested);
                    let body = nested
                        .strip_prefix(&" ".repeat(indent + 2))
                        .unwrap_or(&nested);
                    out.push_str(&format!("{pad}- {body}"));
                } else if is_block(item) {
                    out.push_str(&format!("{pad}-\n"));
                    write_yaml(item, indent + 2, out);
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

/// Manifest keys are plain identifiers; anything else is quoted.
fn yaml_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if plain {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::bindings::shortcuts::{ShortcutKind, ShortcutSpec};
    use crate::contract::bindings::types::{AppInfo, CommandSpec, SubcommandSpec};

    fn app(
        name: &str,
        commands: &[(&str, &str, &str)],
        subs: &[(&str, &str)],
        events: &[&str],
    ) -> Description {
        let info = AppInfo {
            name: name.into(),
            description: String::new(),
            commands: commands
                .iter()
                .map(|(n, d, u)| CommandSpec {
                    name: (*n).into(),
                    description: (*d).into(),
                    usage: (*u).into(),
                })
                .collect(),
            subcommands: subs
                .iter()
                .map(|(umbrella, n)| SubcommandSpec {
                    umbrella: (*umbrella).into(),
                    name: (*n).into(),
                    description: format!("{n} things"),
                    usage: String::new(),
                })
                .collect(),
            events: events.iter().map(|e| (*e).into()).collect(),
            schedules: vec![],
        };
        Description {
            info,
            shortcuts: vec![],
            webhooks: vec![],
            settings: vec![],
            phrases: vec![],
        }
    }

    fn all_grants() -> Uses {
        Uses::all_of(&crate::capabilities::default_grants())
    }

    fn sample() -> Vec<(&'static str, Description, Uses)> {
        let hello_calls = Uses(
            [(
                "slack",
                [
                    "post-message",
                    "send-dm",
                    "add-reaction",
                    "lookup-user",
                    "open-view",
                ]
                .map(String::from)
                .to_vec(),
            )]
            .into_iter()
            .collect(),
        );
        vec![
            (
                "hello",
                app(
                    "hello",
                    &[("/hello", "Say hello", "[name]")],
                    &[],
                    &["app_mention"],
                ),
                hello_calls,
            ),
            (
                "spy-a",
                app(
                    "spy-a",
                    &[],
                    &[("/spy", "status")],
                    &["reaction_added", "view_closed"],
                ),
                Uses::all_of(&["store"].into_iter().collect()),
            ),
            (
                "spy-b",
                app(
                    "spy-b",
                    &[],
                    &[("/spy", "deploy")],
                    &["app_mention", "app_home_opened"],
                ),
                Uses::all_of(&["log"].into_iter().collect()),
            ),
        ]
    }

    fn build(options: &ManifestOptions) -> Value {
        let apps = sample();
        manifest_for(apps.iter().map(|(id, d, g)| (*id, d, g)), options)
    }

    #[test]
    fn commands_umbrellas_events_and_scopes_come_from_the_apps() {
        let m = build(&ManifestOptions::default());
        let commands = m["features"]["slash_commands"].as_array().unwrap();
        assert_eq!(commands.len(), 2, "{commands:?}");
        assert_eq!(commands[0]["command"], "/hello");
        assert_eq!(commands[0]["description"], "Say hello");
        assert_eq!(commands[0]["usage_hint"], "[name]");
        assert!(commands[0].get("url").is_none(), "no url in Socket Mode");
        assert_eq!(commands[1]["command"], "/spy");
        assert_eq!(commands[1]["description"], "Subcommands: deploy, status");
        assert_eq!(commands[1]["usage_hint"], "help | deploy | status");

        assert_eq!(
            m["settings"]["event_subscriptions"]["bot_events"],
            json!(["app_home_opened", "app_mention", "reaction_added"]),
            "union of events, each once, pseudo-events left out"
        );
        assert_eq!(
            m["oauth_config"]["scopes"]["bot"],
            json!([
                "app_mentions:read",
                "chat:write",
                "commands",
                "im:write",
                "reactions:read",
                "reactions:write",
                "users:read"
            ])
        );
        assert_eq!(m["settings"]["socket_mode_enabled"], true);
        assert_eq!(m["settings"]["interactivity"], json!({"is_enabled": true}));
        assert_eq!(m["features"]["app_home"]["home_tab_enabled"], true);
        assert_eq!(m["features"]["bot_user"]["display_name"], "botyard");
    }

    #[test]
    fn shortcuts_are_listed_under_their_namespaced_callback_ids() {
        let mut helpdesk = app("helpdesk", &[], &[], &[]);
        helpdesk.shortcuts = vec![
            ShortcutSpec {
                callback_id: "send".into(),
                kind: ShortcutKind::Message,
                name: "Send to a team".into(),
                description: "Forward this to a -help channel".into(),
            },
            ShortcutSpec {
                callback_id: "new".into(),
                kind: ShortcutKind::Global,
                name: "New request".into(),
                description: String::new(),
            },
        ];
        let grants = all_grants();
        let m = manifest_for(
            [("helpdesk", &helpdesk, &grants)],
            &ManifestOptions::default(),
        );
        assert_eq!(
            m["features"]["shortcuts"],
            json!([
                {"name": "Send to a team", "type": "message", "callback_id": "helpdesk.send",
                 "description": "Forward this to a -help channel"},
                {"name": "New request", "type": "global", "callback_id": "helpdesk.new",
                 "description": "New request"},
            ])
        );
        let none = manifest_for(std::iter::empty(), &ManifestOptions::default());
        assert!(none["features"].get("shortcuts").is_none());
    }

    #[test]
    fn http_mode_puts_request_urls_everywhere() {
        let options = ManifestOptions {
            connection: Connection::Http(RequestUrls::new(
                "https://bots.example.com/",
                "/slack/commands",
                "/slack/events",
                "/slack/interactivity",
            )),
            ..ManifestOptions::default()
        };
        let m = build(&options);
        assert_eq!(m["settings"]["socket_mode_enabled"], false);
        for c in m["features"]["slash_commands"].as_array().unwrap() {
            assert_eq!(c["url"], "https://bots.example.com/slack/commands");
        }
        assert_eq!(
            m["settings"]["event_subscriptions"]["request_url"],
            "https://bots.example.com/slack/events"
        );
        assert_eq!(
            m["settings"]["interactivity"]["request_url"],
            "https://bots.example.com/slack/interactivity"
        );
    }

    #[test]
    fn no_apps_no_commands_scope_and_no_events() {
        let m = manifest_for(std::iter::empty(), &ManifestOptions::default());
        assert_eq!(m["oauth_config"]["scopes"]["bot"], json!([]));
        assert!(m["features"].get("slash_commands").is_none());
        assert!(m["settings"].get("event_subscriptions").is_none());
    }

    #[test]
    fn message_subscribes_everywhere_with_history_scopes() {
        let (m_app, grants) = (app("m", &[], &[], &["message"]), Uses::default());
        let m = manifest_for([("m", &m_app, &grants)], &ManifestOptions::default());
        assert_eq!(
            m["settings"]["event_subscriptions"]["bot_events"],
            json!([
                "message.channels",
                "message.groups",
                "message.im",
                "message.mpim"
            ])
        );
        assert_eq!(
            m["oauth_config"]["scopes"]["bot"],
            json!([
                "channels:history",
                "groups:history",
                "im:history",
                "mpim:history"
            ])
        );
    }

    #[test]
    fn yaml_has_the_manifest_shape() {
        let value = json!({
            "display_information": {"name": "bot: \"y\"", "description": "d"},
            "features": {"slash_commands": [
                {"command": "/a", "should_escape": false},
                {"command": "/b"}
            ]},
            "oauth_config": {"scopes": {"bot": ["chat:write", "commands"]}},
            "settings": {"socket_mode_enabled": true, "empty": []},
        });
        let want = r#"display_information:
  description: "d"
  name: "bot: \"y\""
features:
  slash_commands:
  - command: "/a"
    should_escape: false
  - command: "/b"
oauth_config:
  scopes:
    bot:
    - "chat:write"
    - "commands"
settings:
  empty: []
  socket_mode_enabled: true
"#;
        assert_eq!(to_yaml(&value), want);
    }
}
