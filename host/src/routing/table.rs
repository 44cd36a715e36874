//! The routing table: which app answers what. One table resolves every kind
//! of request Slack sends:
//!
//! - a slash command to the app that declared it; an umbrella command
//!   (`/spy`) to the app that declared the subcommand, and the host itself
//!   answers `/umbrella help` (or a bare `/umbrella`) from their descriptions;
//! - an `action_id` or `callback_id` (a click, a modal, a shortcut) to the
//!   app whose prefix it carries (see [`crate::slack::namespace`]), if loaded;
//! - a shortcut to the app's `shortcuts` trigger when it declares it there,
//!   else (shortcuts configured by hand before triggers existed) to its
//!   `on-action`;
//! - an Events API type to every app subscribed to it.
//!
//! Rebuilt whenever the set of loaded apps changes, never on a request.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use thiserror::Error;

use crate::contract::description::Description;
use crate::slack::namespace;

/// The routing table, rebuilt whenever the set of loaded apps changes.
#[derive(Debug, Default, Clone)]
pub struct Routes {
    commands: HashMap<String, Arc<str>>,
    umbrellas: BTreeMap<String, BTreeMap<String, Subcommand>>,
    /// Every loaded app: the owners a namespaced id may name.
    apps: HashSet<Arc<str>>,
    /// Event type → subscribed apps, in id order.
    events: HashMap<String, Vec<Arc<str>>>,
    /// `(app, callback id)` of every shortcut declared through the
    /// `shortcuts` trigger.
    shortcuts: HashSet<(Arc<str>, String)>,
}

/// Where a namespaced id (`hello.count`) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub app: Arc<str>,
    /// The id as the app wrote it (`count`).
    pub original: String,
}

/// Why a namespaced id reaches no app.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Unowned {
    #[error("this was not posted by a botyard app")]
    NotNamespaced,
    #[error("this was posted by app `{0}`, which is not running")]
    NotLoaded(String),
}

/// How a shortcut reaches its app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortcutRoute {
    /// Declared through the `shortcuts` trigger: `on-shortcut`.
    Trigger,
    /// Configured by hand in Slack as `<app>.<name>`: `on-action`.
    Action,
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
    /// The host answers with help for this umbrella command
    /// ([`Routes::help`], listing what the asking user may run).
    Help { umbrella: String },
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
    pub fn build<'a>(apps: impl IntoIterator<Item = (&'a Arc<str>, &'a Description)>) -> Routes {
        let mut routes = Routes::default();
        for (app, description) in apps {
            let info = &description.info;
            routes.apps.insert(app.clone());
            for event in &info.events {
                routes
                    .events
                    .entry(event.clone())
                    .or_default()
                    .push(app.clone());
            }
            for shortcut in &description.shortcuts {
                routes
                    .shortcuts
                    .insert((app.clone(), shortcut.callback_id.clone()));
            }
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

    /// The loaded app a namespaced `action_id` or `callback_id` belongs to.
    pub fn owner(&self, id: &str) -> Result<Owner, Unowned> {
        let (app, original) = namespace::split(id).ok_or(Unowned::NotNamespaced)?;
        match self.apps.get(app) {
            Some(app) => Ok(Owner {
                app: app.clone(),
                original: original.to_string(),
            }),
            None => Err(Unowned::NotLoaded(app.to_string())),
        }
    }

    /// The apps subscribed to Events API `event_type`, in id order.
    pub fn subscribers(&self, event_type: &str) -> &[Arc<str>] {
        self.events.get(event_type).map_or(&[], Vec::as_slice)
    }

    /// How shortcut `callback_id` of `owner` is delivered.
    pub fn shortcut(&self, owner: &Owner) -> ShortcutRoute {
        if self
            .shortcuts
            .contains(&(owner.app.clone(), owner.original.clone()))
        {
            ShortcutRoute::Trigger
        } else {
            ShortcutRoute::Action
        }
    }

    /// The first claim of `description` that another app already holds, as
    /// an explanation; `None` when `app` may take all of them.
    pub fn conflict(&self, app: &str, description: &Description) -> Option<String> {
        let info = &description.info;
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
            None if sub.is_empty() || sub == "help" => Ok(Resolved::Help { umbrella: command }),
            None => Err(RouteError::UnknownSubcommand {
                umbrella: command,
                sub,
            }),
        }
    }
}

impl Routes {
    /// The subcommands of `umbrella` and their apps, by name.
    pub fn subcommands(&self, umbrella: &str) -> Vec<(String, Arc<str>)> {
        self.umbrellas
            .get(umbrella)
            .map(|subs| {
                subs.iter()
                    .map(|(name, sub)| (name.clone(), sub.app.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The help text of `umbrella`, listing the subcommands `shown` keeps
    /// (those the asking user may run).
    pub fn help(&self, umbrella: &str, shown: impl Fn(&str) -> bool) -> String {
        let empty = BTreeMap::new();
        let subs = self.umbrellas.get(umbrella).unwrap_or(&empty);
        let kept: BTreeMap<String, Subcommand> = subs
            .iter()
            .filter(|(name, _)| shown(name))
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        if kept.is_empty() {
            return format!("*{umbrella}* has no subcommands you may run here.");
        }
        help_text(umbrella, &kept)
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
    use crate::contract::bindings::shortcuts::{ShortcutKind, ShortcutSpec};
    use crate::contract::bindings::types::{AppInfo, CommandSpec, SubcommandSpec};

    fn info(commands: &[&str], subs: &[(&str, &str)]) -> Description {
        let info = AppInfo {
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
            events: vec!["reaction_added".into()],
            schedules: vec![],
        };
        Description {
            info,
            shortcuts: vec![],
            webhooks: vec![],
            settings: vec![],
        }
    }

    #[test]
    fn routes_ids_events_and_shortcuts_to_their_apps() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let ia = info(&["/hello"], &[]);
        let mut ib = info(&[], &[]);
        ib.info.events.clear();
        ib.shortcuts.push(ShortcutSpec {
            callback_id: "triage".into(),
            kind: ShortcutKind::Message,
            name: "Triage".into(),
            description: String::new(),
        });
        let routes = Routes::build([(&a, &ia), (&b, &ib)]);
        assert_eq!(
            routes.owner("a.count"),
            Ok(Owner {
                app: a.clone(),
                original: "count".into()
            })
        );
        assert_eq!(
            routes.owner("gone.count"),
            Err(Unowned::NotLoaded("gone".into()))
        );
        assert_eq!(routes.owner("plain"), Err(Unowned::NotNamespaced));
        assert_eq!(
            routes.subscribers("reaction_added"),
            std::slice::from_ref(&a)
        );
        assert!(routes.subscribers("app_mention").is_empty());
        let triage = routes.owner("b.triage").unwrap();
        assert_eq!(routes.shortcut(&triage), ShortcutRoute::Trigger);
        let by_hand = routes.owner("a.triage").unwrap();
        assert_eq!(routes.shortcut(&by_hand), ShortcutRoute::Action);
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
        let Resolved::Help { umbrella } = routes.resolve("/spy").unwrap() else {
            panic!("expected help")
        };
        let help = routes.help(&umbrella, |_| true);
        assert!(
            !routes
                .help(&umbrella, |s| s != "servers")
                .contains("servers")
        );
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
