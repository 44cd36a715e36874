//! Which app answers a slash command. Commands belong to one app; an umbrella
//! command (`/spy`) may gather subcommands from many apps, and the host itself
//! answers `/umbrella help` (or a bare `/umbrella`) from their descriptions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use thiserror::Error;

use crate::runtime::bindings::types::AppInfo;

/// The routing table, rebuilt whenever the set of loaded apps changes.
#[derive(Debug, Default, Clone)]
pub struct Routes {
    commands: HashMap<String, Arc<str>>,
    umbrellas: BTreeMap<String, BTreeMap<String, Subcommand>>,
}

#[derive(Debug, Clone)]
struct Subcommand {
    app: Arc<str>,
    description: String,
    usage: String,
}

/// A command line resolved to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Invoke `app`'s `on-command`.
    App {
        app: Arc<str>,
        command: String,
        subcommand: Option<String>,
        text: String,
    },
    /// The host answers with this help text for an umbrella command.
    Help(String),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RouteError {
    #[error("a command starts with `/`, like `/hello world`")]
    NotACommand,
    #[error("no such command `{command}`; available: {available}")]
    UnknownCommand { command: String, available: String },
    #[error("`{umbrella}` has no subcommand `{sub}`; try `{umbrella} help`")]
    UnknownSubcommand { umbrella: String, sub: String },
}

impl Routes {
    pub fn build<'a>(apps: impl IntoIterator<Item = (&'a Arc<str>, &'a AppInfo)>) -> Routes {
        let mut routes = Routes::default();
        for (app, info) in apps {
            for c in &info.commands {
                routes.commands.insert(c.name.clone(), app.clone());
            }
            for s in &info.subcommands {
                routes
                    .umbrellas
                    .entry(s.umbrella.clone())
                    .or_default()
                    .insert(
                        s.name.clone(),
                        Subcommand {
                            app: app.clone(),
                            description: s.description.clone(),
                            usage: s.usage.clone(),
                        },
                    );
            }
        }
        routes
    }

    /// The first claim of `info` that another app already holds, as an
    /// explanation; `None` when `app` may take all of them.
    pub fn conflict(&self, app: &str, info: &AppInfo) -> Option<String> {
        let other = |owner: &Arc<str>| &**owner != app;
        for c in &info.commands {
            if let Some(owner) = self.commands.get(&c.name).filter(|o| other(o)) {
                return Some(format!(
                    "command {} is already served by app `{owner}`",
                    c.name
                ));
            }
            if let Some(subs) = self.umbrellas.get(&c.name)
                && let Some(sub) = subs.values().find(|s| other(&s.app))
            {
                return Some(format!(
                    "{} is an umbrella command with subcommands from app `{}`",
                    c.name, sub.app
                ));
            }
        }
        for s in &info.subcommands {
            if let Some(owner) = self.commands.get(&s.umbrella).filter(|o| other(o)) {
                return Some(format!(
                    "{} is a plain command of app `{owner}`, not an umbrella",
                    s.umbrella
                ));
            }
            if let Some(sub) = self
                .umbrellas
                .get(&s.umbrella)
                .and_then(|subs| subs.get(&s.name))
                .filter(|sub| other(&sub.app))
            {
                return Some(format!(
                    "{} {} is already served by app `{}`",
                    s.umbrella, s.name, sub.app
                ));
            }
        }
        None
    }

    /// Every command a user can type, sorted.
    pub fn command_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .commands
            .keys()
            .chain(self.umbrellas.keys())
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Resolves a command line as typed in Slack (`/spy status eu-west`).
    pub fn resolve(&self, line: &str) -> Result<Resolved, RouteError> {
        let line = line.trim();
        if !line.starts_with('/') {
            return Err(RouteError::NotACommand);
        }
        let (command, text) = split_word(line);
        let command = command.to_lowercase();
        if let Some(app) = self.commands.get(&command) {
            return Ok(Resolved::App {
                app: app.clone(),
                command,
                subcommand: None,
                text: text.into(),
            });
        }
        let Some(subs) = self.umbrellas.get(&command) else {
            let available = match self.command_names() {
                names if names.is_empty() => "none (no apps are loaded)".to_string(),
                names => names.join(", "),
            };
            return Err(RouteError::UnknownCommand { command, available });
        };
        let (sub, rest) = split_word(text);
        let sub = sub.to_lowercase();
        match subs.get(&sub) {
            Some(s) => Ok(Resolved::App {
                app: s.app.clone(),
                command,
                subcommand: Some(sub),
                text: rest.into(),
            }),
            None if sub.is_empty() || sub == "help" => {
                Ok(Resolved::Help(help_text(&command, subs)))
            }
            None => Err(RouteError::UnknownSubcommand {
                umbrella: command,
                sub,
            }),
        }
    }
}

fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

fn help_text(umbrella: &str, subs: &BTreeMap<String, Subcommand>) -> String {
    let mut text = format!("*{umbrella}* subcommands:\n");
    for (name, sub) in subs {
        let usage = if sub.usage.is_empty() {
            String::new()
        } else {
            format!(" {}", sub.usage)
        };
        text.push_str(&format!(
            "• `{umbrella} {name}{usage}` — {} _({})_\n",
            sub.description, sub.app
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::types::{CommandSpec, SubcommandSpec};

    fn info(commands: &[&str], subs: &[(&str, &str)]) -> AppInfo {
        AppInfo {
            name: "x".into(),
            description: String::new(),
            commands: commands
                .iter()
                .map(|c| CommandSpec {
                    name: c.to_string(),
                    description: "d".into(),
                    usage: String::new(),
                })
                .collect(),
            subcommands: subs
                .iter()
                .map(|(u, n)| SubcommandSpec {
                    umbrella: u.to_string(),
                    name: n.to_string(),
                    description: format!("does {n}"),
                    usage: "[x]".into(),
                })
                .collect(),
            events: vec![],
            schedules: vec![],
        }
    }

    #[test]
    fn routes_commands_and_umbrella_subcommands_across_apps() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let (ia, ib) = (
            info(&["/hello"], &[("/spy", "status")]),
            info(&[], &[("/spy", "servers")]),
        );
        let routes = Routes::build([(&a, &ia), (&b, &ib)]);
        assert_eq!(
            routes.resolve("/hello  big world ").unwrap(),
            Resolved::App {
                app: a.clone(),
                command: "/hello".into(),
                subcommand: None,
                text: "big world".into()
            }
        );
        assert_eq!(
            routes.resolve("/spy servers eu-west").unwrap(),
            Resolved::App {
                app: b.clone(),
                command: "/spy".into(),
                subcommand: Some("servers".into()),
                text: "eu-west".into()
            }
        );
        let Resolved::Help(help) = routes.resolve("/spy").unwrap() else {
            panic!("expected help")
        };
        assert!(
            help.contains("/spy status [x]") && help.contains("/spy servers [x]"),
            "{help}"
        );
        assert!(matches!(
            routes.resolve("/spy nope"),
            Err(RouteError::UnknownSubcommand { .. })
        ));
        let err = routes.resolve("/nope").unwrap_err().to_string();
        assert!(err.contains("/hello") && err.contains("/spy"), "{err}");
        assert_eq!(routes.resolve("hello"), Err(RouteError::NotACommand));
    }

    #[test]
    fn finds_conflicting_claims_but_not_an_apps_own() {
        let a: Arc<str> = "a".into();
        let ia = info(&["/hello"], &[("/spy", "status")]);
        let routes = Routes::build([(&a, &ia)]);
        assert!(
            routes.conflict("a", &ia).is_none(),
            "an app may re-claim its own commands"
        );
        assert!(
            routes
                .conflict("b", &info(&["/hello"], &[]))
                .unwrap()
                .contains("app `a`")
        );
        assert!(
            routes
                .conflict("b", &info(&[], &[("/spy", "status")]))
                .is_some()
        );
        assert!(
            routes
                .conflict("b", &info(&[], &[("/hello", "x")]))
                .is_some()
        );
        assert!(routes.conflict("b", &info(&["/spy"], &[])).is_some());
        assert!(
            routes
                .conflict("b", &info(&[], &[("/spy", "other")]))
                .is_none()
        );
    }
}
