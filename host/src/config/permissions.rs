//! `[permissions]` in `botyard.toml`: who may run what, and where —
//! checked by the host before any app code runs (`runtime/permissions/`).
//!
//! ```toml
//! [permissions]
//! group_cache_seconds = 60          # how long a user group's members are trusted
//!
//! [[permissions.rules]]
//! app = "spy"
//! command = "/spy servers stop"     # a command, or an umbrella command and subcommand
//! actions = ["stop-*"]              # the app's buttons and menus (its own ids; `*` at the end: prefix)
//! views = ["confirm-stop"]          # its modals (callback ids)
//! shortcuts = []                    # its shortcuts (callback ids)
//! users = ["U024BE7LH"]             # who may: these users …
//! groups = ["@sre-oncall"]          # … and members of these user groups (handle or S… id)
//! channels = ["C0OPS"]              # only in these channels (ids)
//! approve = { group = "@sre-leads", count = 1, expire_minutes = 30 }
//! ```
//!
//! **What a rule covers.** A rule names an app and, optionally, what of it:
//! `command` (a command line's first words, matched word by word against the
//! line as typed: `/poll` covers the command, `/spy servers` every line of
//! that area, `/spy servers stop` that verb — whether the app declared it as
//! the path `servers stop` or reads `stop` from its text), `actions`, `views`
//! and `shortcuts` (the app's own
//! ids, as the app wrote them, before the host namespaced them). A rule that
//! names none of these covers **everything users can trigger in the app**:
//! its commands, buttons, modals and shortcuts. The host cannot know which
//! command posted a button, so a rule on `/spy servers stop` alone does not
//! cover the "Confirm" button its reply shows: list the button's id in
//! `actions`, or guard the whole app. Ids are the app's own, and the host
//! routes a click by the namespaced id it gave the app's blocks, so a
//! crafted payload reaches the same check as a real click.
//!
//! **Who.** Every rule that covers a request must allow it. A rule allows a
//! user listed in `users` or a member of one of its `groups` (a rule with
//! neither allows everyone, and can still limit `channels` or ask for
//! approval). Events, ticks and webhooks are not users acting and are not
//! checked. With no rules, everyone may run everything, everywhere.
//!
//! **Approval.** `approve` holds a permitted request until `count` members of
//! `group` other than the requester approve it, then runs it as the
//! requester (see `routing/approvals.rs`).

use serde::Deserialize;

/// `[permissions]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub group_cache: std::time::Duration,
    pub rules: Vec<Rule>,
}

impl Default for Permissions {
    /// No rules: everyone may run everything, everywhere.
    fn default() -> Self {
        Permissions {
            group_cache: std::time::Duration::from_secs(sixty()),
            rules: Vec::new(),
        }
    }
}

/// One `[[permissions.rules]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub app: String,
    /// A command line prefix, lowercased: `/spy servers stop`.
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub views: Vec<String>,
    #[serde(default)]
    pub shortcuts: Vec<String>,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub approve: Option<Approve>,
}

/// `approve = { group = "@sre-leads", count = 1, expire_minutes = 30 }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    pub group: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default = "thirty")]
    pub expire_minutes: u32,
    /// Where the approval request is posted; default: where it was asked.
    #[serde(default)]
    pub channel: Option<String>,
}

fn one() -> u32 {
    1
}

fn thirty() -> u32 {
    30
}

/// What a request is, as rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A command line: `/spy`, with the subcommand path if an umbrella's
    /// (`servers stop`), and the rest of the line as typed.
    Command {
        command: &'a str,
        subcommand: Option<&'a str>,
        text: &'a str,
    },
    Action(&'a str),
    View(&'a str),
    Shortcut(&'a str),
}

impl Target<'_> {
    /// How to name it to a user: "`/spy servers stop`", "the button `stop-confirm`".
    pub fn describe(&self) -> String {
        match self {
            Target::Command {
                command,
                subcommand: Some(sub),
                ..
            } => format!("`{command} {sub}`"),
            Target::Command { command, .. } => format!("`{command}`"),
            Target::Action(id) => format!("the button `{id}`"),
            Target::View(id) => format!("the form `{id}`"),
            Target::Shortcut(id) => format!("the shortcut `{id}`"),
        }
    }
}

impl Rule {
    /// Whether this rule governs `target` of `app`.
    pub fn covers(&self, app: &str, target: &Target<'_>) -> bool {
        if self.app != app {
            return false;
        }
        let whole_app = self.command.is_none()
            && self.actions.is_empty()
            && self.views.is_empty()
            && self.shortcuts.is_empty();
        if whole_app {
            return true;
        }
        match target {
            Target::Command {
                command,
                subcommand,
                text,
            } => self.command.as_deref().is_some_and(|rule| {
                // The rule's words against the line's, as typed: whether the
                // app declared `servers stop` or reads `stop` from its text,
                // `/spy servers stop` is the same line and the same rule.
                let line = std::iter::once(command.to_lowercase()).chain(
                    subcommand
                        .iter()
                        .chain(std::iter::once(text))
                        .flat_map(|part| part.split_whitespace())
                        .map(str::to_lowercase),
                );
                let mut line = line;
                rule.split_whitespace()
                    .all(|word| line.next().as_deref() == Some(word))
            }),
            Target::Action(id) => self.actions.iter().any(|p| matches(p, id)),
            Target::View(id) => self.views.iter().any(|p| matches(p, id)),
            Target::Shortcut(id) => self.shortcuts.iter().any(|p| matches(p, id)),
        }
    }

    /// Whether anyone at all is named: a rule without users or groups lets
    /// everyone through (and may still restrict channels or ask approval).
    pub fn names_people(&self) -> bool {
        !self.users.is_empty() || !self.groups.is_empty()
    }

    /// Who it names, for a denial: "@sre-oncall or <@U1>".
    pub fn who(&self) -> String {
        let mut names: Vec<String> = self.groups.clone();
        names.extend(self.users.iter().map(|u| format!("<@{u}>")));
        names.join(" or ")
    }
}

/// `stop-*` matches ids starting with `stop-`; anything else matches itself.
fn matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default = "sixty")]
    group_cache_seconds: u64,
    #[serde(default)]
    rules: Vec<Rule>,
}

fn sixty() -> u64 {
    60
}

impl Default for File {
    fn default() -> Self {
        File {
            group_cache_seconds: sixty(),
            rules: Vec::new(),
        }
    }
}

impl Permissions {
    /// Parses and checks `[permissions]`; `None` (no section): no rules.
    pub fn parse(value: Option<toml::Value>) -> Result<Permissions, String> {
        let file: File = match value {
            Some(value) => value
                .try_into()
                .map_err(|e: toml::de::Error| format!("[permissions]: {}", e.message()))?,
            None => File::default(),
        };
        if !(1..=3600).contains(&file.group_cache_seconds) {
            return Err(format!(
                "[permissions] group_cache_seconds = {} must be 1..=3600: members removed from a group keep access this long",
                file.group_cache_seconds
            ));
        }
        let mut rules = Vec::with_capacity(file.rules.len());
        for (i, mut rule) in file.rules.into_iter().enumerate() {
            let at = format!("[[permissions.rules]] #{} (app `{}`)", i + 1, rule.app);
            if rule.app.is_empty() {
                return Err(format!("{at}: `app` is required"));
            }
            if let Some(command) = &mut rule.command {
                let words: Vec<&str> = command.split_whitespace().collect();
                if words.is_empty()
                    || !words[0].starts_with('/')
                    || words.len() > 1 + crate::contract::description::MAX_SUBCOMMAND_WORDS
                {
                    return Err(format!(
                        "{at}: command = \"{command}\" must be a slash command, optionally with a subcommand of up to {} words: \"/spy\", \"/spy servers\" or \"/spy servers stop\"",
                        crate::contract::description::MAX_SUBCOMMAND_WORDS
                    ));
                }
                *command = words.join(" ").to_lowercase();
            }
            for group in rule
                .groups
                .iter()
                .chain(rule.approve.as_ref().map(|a| &a.group))
            {
                if !(group.starts_with('@') && group.len() > 1 || is_id(group, 'S')) {
                    return Err(format!(
                        "{at}: group `{group}` must be a user group handle (\"@sre-oncall\") or id (\"S0123ABC\")"
                    ));
                }
            }
            for user in &rule.users {
                if !(is_id(user, 'U') || is_id(user, 'W')) {
                    return Err(format!(
                        "{at}: user `{user}` must be a Slack user id (U… or W…; a profile's ⋮ menu → \"Copy member ID\")"
                    ));
                }
            }
            for channel in &rule.channels {
                if !(is_id(channel, 'C') || is_id(channel, 'G') || is_id(channel, 'D')) {
                    return Err(format!(
                        "{at}: channel `{channel}` must be a channel id (C…; the channel's details show it at the bottom), not a name"
                    ));
                }
            }
            if let Some(approve) = &rule.approve {
                if approve.count == 0 || approve.count > 10 {
                    return Err(format!("{at}: approve.count must be 1..=10"));
                }
                if approve.expire_minutes == 0 || approve.expire_minutes > 7 * 24 * 60 {
                    return Err(format!(
                        "{at}: approve.expire_minutes must be 1..=10080 (a week)"
                    ));
                }
            }
            rules.push(rule);
        }
        Ok(Permissions {
            group_cache: std::time::Duration::from_secs(file.group_cache_seconds),
            rules,
        })
    }

    /// The rules covering `target` of `app`, in file order.
    pub fn covering<'a>(
        &'a self,
        app: &'a str,
        target: &'a Target<'a>,
    ) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.covers(app, target))
    }
}

fn is_id(s: &str, first: char) -> bool {
    s.len() >= 3
        && s.starts_with(first)
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Permissions, String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        Permissions::parse(table.get("permissions").cloned())
    }

    #[test]
    fn rules_cover_what_they_name() {
        let p = parse(
            r#"
[[permissions.rules]]
app = "spy"
command = "/Spy  Servers"
actions = ["stop-*"]
groups = ["@sre-oncall"]
[[permissions.rules]]
app = "poll"
"#,
        )
        .unwrap();
        let stop = Target::Command {
            command: "/spy",
            subcommand: Some("servers"),
            text: "",
        };
        let status = Target::Command {
            command: "/spy",
            subcommand: Some("status"),
            text: "servers",
        };
        assert_eq!(p.covering("spy", &stop).count(), 1);
        assert_eq!(p.covering("spy", &status).count(), 0);
        assert_eq!(
            p.covering("spy", &Target::Action("stop-confirm")).count(),
            1
        );
        assert_eq!(p.covering("spy", &Target::Action("start")).count(), 0);
        assert_eq!(p.covering("other", &stop).count(), 0);
        // A rule naming only the app covers everything of it.
        assert_eq!(p.covering("poll", &Target::View("new")).count(), 1);
        assert_eq!(p.group_cache.as_secs(), 60);
    }

    #[test]
    fn a_rule_on_a_verb_covers_the_line_however_the_app_declared_it() {
        let p = parse(
            "[[permissions.rules]]\napp = \"servers\"\ncommand = \"/spy servers stop\"\ngroups = [\"@sre-oncall\"]\n",
        )
        .unwrap();
        let line = |subcommand, text| Target::Command {
            command: "/spy",
            subcommand,
            text,
        };
        // Declared as a path, or read by the app from its text.
        assert_eq!(
            p.covering("servers", &line(Some("servers stop"), "web-1 east"))
                .count(),
            1
        );
        assert_eq!(
            p.covering("servers", &line(Some("servers"), "STOP web-1"))
                .count(),
            1
        );
        assert_eq!(
            p.covering("servers", &line(Some("servers start"), "web-1"))
                .count(),
            0
        );
        assert_eq!(p.covering("servers", &line(Some("servers"), "")).count(), 0);
        assert_eq!(
            p.covering("servers", &line(Some("servers"), "stop-all"))
                .count(),
            0
        );
        assert!(
            parse("[[permissions.rules]]\napp = \"x\"\ncommand = \"/a b c d e\"\n")
                .unwrap_err()
                .contains("up to 3 words")
        );
    }

    #[test]
    fn refuses_what_it_cannot_enforce() {
        let err = |text: &str| parse(text).unwrap_err();
        assert!(
            err("[[permissions.rules]]\napp = \"x\"\nchannels = [\"#ops\"]\n")
                .contains("channel id")
        );
        assert!(err("[[permissions.rules]]\napp = \"x\"\ngroups = [\"sre\"]\n").contains("handle"));
        assert!(err("[[permissions.rules]]\napp = \"x\"\nusers = [\"bob\"]\n").contains("user id"));
        assert!(
            err("[[permissions.rules]]\napp = \"x\"\ncommand = \"spy\"\n")
                .contains("slash command")
        );
        assert!(err("[[permissions.rules]]\napp = \"x\"\nwho = 1\n").contains("who"));
        assert!(
            err("[[permissions.rules]]\napp = \"x\"\napprove = { group = \"@a\", count = 0 }\n")
                .contains("count")
        );
        assert!(err("[permissions]\ngroup_cache_seconds = 0\n").contains("group_cache_seconds"));
        assert_eq!(
            parse("").unwrap(),
            Permissions {
                group_cache: std::time::Duration::from_secs(60),
                rules: vec![]
            }
        );
    }
}
