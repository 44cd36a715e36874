//! What an app says it answers to: `describe`, plus what each optional
//! trigger it exports declares. Checked against Slack's own rules when a
//! version loads, so a bad name is an error for the author rather than a
//! command that never arrives.

use super::bindings::shortcuts::{ShortcutKind, ShortcutSpec};
use super::bindings::types::AppInfo;

/// Everything an app version declares.
#[derive(Debug, Clone)]
pub struct Description {
    pub info: AppInfo,
    /// Empty unless the component exports the `shortcuts` trigger.
    pub shortcuts: Vec<ShortcutSpec>,
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
        }
    }

    /// Checks every declaration; the message names the first bad one.
    pub fn check(&self) -> Result<(), String> {
        let info = &self.info;
        let command_ok = |c: &str| {
            c.len() >= 2
                && c.len() <= 32
                && c.starts_with('/')
                && c[1..]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        };
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
            if s.name.is_empty()
                || s.name.chars().any(char::is_whitespace)
                || s.name != s.name.to_lowercase()
            {
                return Err(format!(
                    "subcommand `{}` of {} must be one lowercase word",
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
            let id_ok = !s.callback_id.is_empty()
                && s.callback_id.len() <= 200
                && s.callback_id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !id_ok {
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
        Ok(())
    }

    /// The shortcut declared as `callback_id`, if any.
    pub fn shortcut(&self, callback_id: &str) -> Option<&ShortcutSpec> {
        self.shortcuts.iter().find(|s| s.callback_id == callback_id)
    }
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
    }
}
