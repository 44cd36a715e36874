//! What an app says it answers to: `describe`, plus what each optional
//! trigger it exports declares. Checked against Slack's own rules when a
//! version loads, so a bad name is an error for the author rather than a
//! command that never arrives.

use super::bindings::settings_schema::SettingSpec;
use super::bindings::shortcuts::{ShortcutKind, ShortcutSpec};
use super::bindings::types::AppInfo;
use super::bindings::webhooks::WebhookSpec;
use super::phrases::PhraseSpec;

/// Words a subcommand's path may have after its umbrella: `/spy servers
/// stop` is two. Paths let an area (`servers`) list its verbs in help and
/// let permission rules name one verb; three is deep enough for any chat
/// command a person types, and keeps routing a few map lookups.
pub const MAX_SUBCOMMAND_WORDS: usize = 3;

/// Everything an app version declares.
#[derive(Debug, Clone)]
pub struct Description {
    pub info: AppInfo,
    /// Empty unless the component exports the `shortcuts` trigger.
    pub shortcuts: Vec<ShortcutSpec>,
    /// Empty unless the component exports the `webhooks` trigger.
    pub webhooks: Vec<WebhookSpec>,
    /// The settings it reads; empty unless it exports `settings-schema`.
    pub settings: Vec<SettingSpec>,
    /// What people may say for its commands; empty unless it exports
    /// `phrases`.
    pub phrases: Vec<PhraseSpec>,
}

impl Description {
    /// A description declaring nothing (what a version has until `describe`
    /// has run).
    pub fn empty() -> Description {
        Description {
            info: AppInfo {
                name: String::new(),
                description: String::new(),
                commands: vec![],
                subcommands: vec![],
                events: vec![],
                schedules: vec![],
            },
            shortcuts: vec![],
            webhooks: vec![],
            settings: vec![],
            phrases: vec![],
        }
    }

    /// Checks every declaration; the message names the first bad one.
    pub fn check(&self) -> Result<(), String> {
        let info = &self.info;
        let command_ok = |c: &str| c.strip_prefix('/').is_some_and(|name| is_name(name, 31));
        for c in &info.commands {
            if !command_ok(&c.name) {
                return Err(format!(
                    "command `{}` must be `/` + up to 31 of [a-z0-9-_]",
                    c.name
                ));
            }
        }
        for s in &info.subcommands {
            if !command_ok(&s.umbrella) {
                return Err(format!(
                    "umbrella `{}` must be `/` + up to 31 of [a-z0-9-_]",
                    s.umbrella
                ));
            }
            let words: Vec<&str> = s.name.split(' ').collect();
            if words.len() > MAX_SUBCOMMAND_WORDS || !words.iter().all(|w| is_name(w, 31)) {
                return Err(format!(
                    "subcommand `{}` of {} must be 1 to {MAX_SUBCOMMAND_WORDS} lowercase words of [a-z0-9-_] separated by one space, like `servers` or `servers stop`",
                    s.name, s.umbrella
                ));
            }
        }
        for s in &info.schedules {
            s.cron
                .parse::<croner::Cron>()
                .map_err(|e| format!("schedule `{}`: cron `{}`: {e}", s.name, s.cron))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.shortcuts {
            if !is_name(&s.callback_id, 200) {
                return Err(format!(
                    "shortcut `{}`: its callback id must be 1..=200 of [a-z0-9-_]",
                    s.callback_id
                ));
            }
            if !seen.insert(&s.callback_id) {
                return Err(format!("shortcut `{}` is declared twice", s.callback_id));
            }
            // Slack's manifest limits: name ≤ 24, description ≤ 150 characters.
            if s.name.trim().is_empty() || s.name.chars().count() > 24 {
                return Err(format!(
                    "shortcut `{}`: its name must be 1..=24 characters (Slack's limit)",
                    s.callback_id
                ));
            }
            if s.description.chars().count() > 150 {
                return Err(format!(
                    "shortcut `{}`: its description is over Slack's 150 characters",
                    s.callback_id
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for w in &self.webhooks {
            if !is_name(&w.name, 64) {
                return Err(format!(
                    "webhook `{}`: its name must be 1..=64 of [a-z0-9-_] (it is the last part of /hooks/<app>/<name>)",
                    w.name
                ));
            }
            if !seen.insert(&w.name) {
                return Err(format!("webhook `{}` is declared twice", w.name));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.settings {
            if !is_name(&s.name, 64) {
                return Err(format!(
                    "setting `{}`: its name must be 1..=64 of [a-z0-9-_] (it is a key in [apps.<id>.settings])",
                    s.name
                ));
            }
            if !seen.insert(&s.name) {
                return Err(format!("setting `{}` is declared twice", s.name));
            }
        }
        let commands: Vec<&str> = info.commands.iter().map(|c| c.name.as_str()).collect();
        let subcommands: Vec<(&str, &str)> = info
            .subcommands
            .iter()
            .map(|s| (s.umbrella.as_str(), s.name.as_str()))
            .collect();
        super::phrases::check(&self.phrases, &commands, &subcommands)?;
        Ok(())
    }

    /// The shortcut declared as `callback_id`, if any.
    pub fn shortcut(&self, callback_id: &str) -> Option<&ShortcutSpec> {
        self.shortcuts.iter().find(|s| s.callback_id == callback_id)
    }

    /// The webhook declared as `name`, if any.
    pub fn webhook(&self, name: &str) -> Option<&WebhookSpec> {
        self.webhooks.iter().find(|w| w.name == name)
    }
}

/// `[a-z0-9-_]`, 1..=`max` bytes: a name that is safe in a URL path and a
/// TOML key alike.
fn is_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Slack's name for a shortcut kind, as the manifest and payloads spell it.
pub fn shortcut_kind_name(kind: ShortcutKind) -> &'static str {
    match kind {
        ShortcutKind::Global => "global",
        ShortcutKind::Message => "message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::bindings::types::{CommandSpec, ScheduleSpec};

    #[test]
    fn bad_declarations_are_named() {
        let mut d = Description::empty();
        d.info.commands.push(CommandSpec {
            name: "/Hello".into(),
            description: String::new(),
            usage: String::new(),
        });
        assert!(d.check().unwrap_err().contains("/Hello"));
        d.info.commands.clear();
        d.info.schedules.push(ScheduleSpec {
            name: "menu".into(),
            cron: "not cron".into(),
        });
        assert!(d.check().unwrap_err().contains("menu"));
        d.info.schedules.clear();
        let shortcut = |id: &str, name: &str| ShortcutSpec {
            callback_id: id.into(),
            kind: ShortcutKind::Message,
            name: name.into(),
            description: String::new(),
        };
        d.shortcuts = vec![shortcut("triage", "Send to a team")];
        assert!(d.check().is_ok());
        d.shortcuts.push(shortcut("triage", "Again"));
        assert!(d.check().unwrap_err().contains("twice"));
        d.shortcuts = vec![shortcut("Bad Id", "x")];
        assert!(d.check().unwrap_err().contains("callback id"));
        d.shortcuts = vec![shortcut("long", &"x".repeat(25))];
        assert!(d.check().unwrap_err().contains("24"));
        d.shortcuts.clear();

        let hook = |name: &str| WebhookSpec {
            name: name.into(),
            description: String::new(),
        };
        d.webhooks = vec![hook("github"), hook("alerts")];
        assert!(d.check().is_ok());
        assert!(d.webhook("alerts").is_some() && d.webhook("nope").is_none());
        d.webhooks.push(hook("github"));
        assert!(d.check().unwrap_err().contains("twice"));
        d.webhooks = vec![hook("a/b")];
        assert!(d.check().unwrap_err().contains("/hooks/"));
        d.webhooks.clear();

        let setting = |name: &str| SettingSpec {
            name: name.into(),
            description: String::new(),
            default: None,
            required: true,
        };
        d.settings = vec![setting("channel"), setting("approvers")];
        assert!(d.check().is_ok());
        d.settings.push(setting("channel"));
        assert!(d.check().unwrap_err().contains("twice"));
        d.settings = vec![setting("Lunch Time")];
        assert!(d.check().unwrap_err().contains("[apps.<id>.settings]"));
    }
}
