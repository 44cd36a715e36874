//! The routing table: which app answers what. One table resolves every kind
//! of request Slack sends:
//!
//! - a slash command to the app that declared it; an umbrella command
//!   (`/spy`) to the app that declared the subcommand — a path of up to
//!   three words (`servers stop`), the longest one the line starts with —
//!   and the host itself answers help from their descriptions: `/spy` (or
//!   `/spy help`) lists the areas (a path's first word), `/spy help servers`
//!   or `/spy servers` an area's subcommands, paginated to stay inside one
//!   Slack text block; a mistyped subcommand gets "did you mean";
//! - an `action_id` or `callback_id` (a click, a modal, a shortcut) to the
//!   app whose prefix it carries (see [`crate::slack::namespace`]), if loaded;
//! - a shortcut to the app's `shortcuts` trigger when it declares it there,
//!   else (shortcuts configured by hand before triggers existed) to its
//!   `on-action`;
//! - an Events API type to every app subscribed to it.
//!
//! Rebuilt whenever the set of loaded apps changes, never on a request.

use super::plain_words::Matcher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use thiserror::Error;

use crate::contract::description::{Description, MAX_SUBCOMMAND_WORDS};
use crate::slack::namespace;

/// The routing table, rebuilt whenever the set of loaded apps changes.
#[derive(Debug, Default, Clone)]
pub struct Routes {
    commands: HashMap<String, Arc<str>>,
    /// Umbrella → subcommand path → its app. Hashed, for the lookup every
    /// command line makes: its cost stays flat however many apps share an
    /// umbrella (`cargo bench --bench umbrella`); help sorts what it shows.
    umbrellas: HashMap<String, Subs>,
    /// Every loaded app: the owners a namespaced id may name.
    apps: HashSet<Arc<str>>,
    /// Each app's one-line description: an area's in help when no
    /// subcommand is the area itself.
    descriptions: HashMap<Arc<str>, String>,
    /// Event type → subscribed apps, in id order.
    events: HashMap<String, Vec<Arc<str>>>,
    /// `(app, callback id)` of every shortcut declared through the
    /// `shortcuts` trigger.
    shortcuts: HashSet<(Arc<str>, String)>,
    /// Every app's phrases: what `@botyard …` in plain words may mean.
    words: Arc<Matcher>,
}

/// One umbrella's subcommands by path (`servers stop`).
type Subs = HashMap<String, Subcommand>;

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

/// Help entries on one page; fewer when their text would pass
/// [`PAGE_CHARS`].
pub const PAGE_ENTRIES: usize = 15;
/// Characters of one help page: Slack cuts a section block's text at 3,000,
/// and the page's own header and footer need room.
pub const PAGE_CHARS: usize = 2_600;

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
    /// ([`Routes::help`], listing what the asking user may run): the areas
    /// when `area` is `None`, else that area's subcommands, page `page`
    /// (from 1).
    Help {
        umbrella: String,
        area: Option<String>,
        page: usize,
    },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RouteError {
    #[error("a command starts with `/`, like `/hello world`")]
    NotACommand,
    #[error("no such command `{command}`; available: {available}")]
    UnknownCommand { command: String, available: String },
    #[error(
        "`{umbrella}` has no subcommand `{sub}`{}; `{umbrella} help` lists them",
        did_you_mean(umbrella, suggestions)
    )]
    UnknownSubcommand {
        umbrella: String,
        sub: String,
        /// Subcommand paths close to what was typed, closest first.
        suggestions: Vec<String>,
    },
}

fn did_you_mean(umbrella: &str, suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" — did you mean `{umbrella} {one}`?"),
        many => {
            let shown: Vec<String> = many.iter().map(|s| format!("`{umbrella} {s}`")).collect();
            format!(" — did you mean {}?", shown.join(" or "))
        }
    }
}

impl Routes {
    pub fn build<'a>(apps: impl IntoIterator<Item = (&'a Arc<str>, &'a Description)>) -> Routes {
        let mut routes = Routes::default();
        let mut phrases = Vec::new();
        for (app, description) in apps {
            phrases.push((app, description));
            let info = &description.info;
            routes.apps.insert(app.clone());
            routes
                .descriptions
                .insert(app.clone(), info.description.clone());
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
                let sub = Subcommand {
                    app: app.clone(),
                    description: s.description.clone(),
                    usage: s.usage.clone(),
                };
                routes
                    .umbrellas
                    .entry(s.umbrella.clone())
                    .or_default()
                    .insert(s.name.clone(), sub);
            }
        }
        routes.words = Arc::new(Matcher::build(phrases));
        routes
    }

    /// What the loaded apps' phrases understand of plain words.
    pub fn words(&self) -> &Matcher {
        &self.words
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
            // A path inside another app's (`servers` under `servers stop`)
            // would split one command line between two apps by its length.
            if let Some((path, sub)) = self.umbrellas.get(&s.umbrella).and_then(|subs| {
                subs.iter()
                    .find(|(path, sub)| other(&sub.app) && nested(path, &s.name))
            }) {
                return Some(format!(
                    "{umbrella} {mine} overlaps {umbrella} {path} of app `{}`: one app's subcommand may not be a word-prefix of another's",
                    sub.app,
                    umbrella = s.umbrella,
                    mine = s.name,
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
        resolve_sub(&command, subs, text)
    }
}

/// Whether one path is a word-prefix of the other (or equal).
fn nested(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long == short || long.strip_prefix(short).is_some_and(|r| r.starts_with(' '))
}

/// Resolves what follows an umbrella command: the longest declared path
/// the words start with, else help (bare, `help [area] [page]`, or an area
/// alone), else an unknown subcommand with what was probably meant.
fn resolve_sub(umbrella: &str, subs: &Subs, text: &str) -> Result<Resolved, RouteError> {
    let words: Vec<String> = text
        .split_whitespace()
        .take(MAX_SUBCOMMAND_WORDS)
        .map(str::to_lowercase)
        .collect();
    for n in (1..=words.len()).rev() {
        let path = words[..n].join(" ");
        if let Some(s) = subs.get(&path) {
            return Ok(Resolved::App {
                app: s.app.clone(),
                command: umbrella.to_string(),
                subcommand: Some(path),
                text: skip_words(text, n).into(),
            });
        }
    }
    let help = |area: Option<&String>, page: Option<&String>| Resolved::Help {
        umbrella: umbrella.to_string(),
        area: area.cloned(),
        page: page.and_then(|p| p.parse().ok()).unwrap_or(1).max(1),
    };
    let Some(first) = words.first() else {
        return Ok(help(None, None));
    };
    if first == "help" {
        let (area, page) = match words.get(1) {
            Some(w) if w.parse::<usize>().is_ok() => (None, Some(w)),
            Some(w) => (Some(w), words.get(2)),
            None => (None, None),
        };
        if let Some(area) = area
            && !has_area(subs, area)
        {
            return Err(RouteError::UnknownSubcommand {
                umbrella: umbrella.to_string(),
                sub: area.clone(),
                suggestions: suggest(subs.keys().map(|p| area_of(p)), area),
            });
        }
        return Ok(help(area, page));
    }
    if has_area(subs, first) {
        if words.len() == 1 {
            return Ok(help(Some(first), None));
        }
        // An area with a verb it does not have: the closest of its verbs.
        let typed = words[..2].join(" ");
        let in_area = subs.keys().filter(|p| area_of(p) == first.as_str());
        return Err(RouteError::UnknownSubcommand {
            umbrella: umbrella.to_string(),
            sub: typed.clone(),
            suggestions: suggest(in_area.map(String::as_str), &typed),
        });
    }
    // A mistyped area: compare as many words as each path has.
    let mut scored: Vec<(usize, String)> = subs
        .keys()
        .filter_map(|path| {
            let n = path.split(' ').count().min(words.len());
            let candidate = path
                .splitn(n + 1, ' ')
                .take(n)
                .collect::<Vec<_>>()
                .join(" ");
            let typed = words[..n].join(" ");
            close(&candidate, &typed).map(|d| (d, candidate))
        })
        .collect();
    scored.sort();
    Err(RouteError::UnknownSubcommand {
        umbrella: umbrella.to_string(),
        sub: first.clone(),
        suggestions: best(scored),
    })
}

/// An area is a path's first word: `servers` of `servers stop`.
fn area_of(path: &str) -> &str {
    path.split(' ').next().unwrap_or(path)
}

fn has_area(subs: &Subs, area: &str) -> bool {
    subs.keys().any(|p| area_of(p) == area)
}

/// `text` after its first `n` words, trimmed, as typed.
fn skip_words(text: &str, n: usize) -> &str {
    let mut rest = text.trim_start();
    for _ in 0..n {
        rest = rest
            .find(char::is_whitespace)
            .map_or("", |i| rest[i..].trim_start());
    }
    rest.trim_end()
}

/// The edit distance of `typed` from `candidate` when it is close enough
/// to be a typo: at most a third of the candidate's length (at least 1).
fn close(candidate: &str, typed: &str) -> Option<usize> {
    let d = strsim::damerau_levenshtein(candidate, typed);
    (d <= (candidate.chars().count() / 3).max(1)).then_some(d)
}

/// The candidates close to `typed`, closest first, at most three.
fn suggest<'a>(candidates: impl Iterator<Item = &'a str>, typed: &str) -> Vec<String> {
    let mut scored: Vec<(usize, String)> = candidates
        .filter_map(|c| close(c, typed).map(|d| (d, c.to_string())))
        .collect();
    scored.sort();
    best(scored)
}

/// The closest of sorted `(distance, candidate)` — those tied for the
/// smallest distance, each once, at most three: one good guess reads
/// better than a list of poor ones.
fn best(mut scored: Vec<(usize, String)>) -> Vec<String> {
    scored.dedup_by(|a, b| a.1 == b.1);
    let nearest = scored.first().map(|(d, _)| *d);
    scored
        .into_iter()
        .take_while(|(d, _)| Some(*d) == nearest)
        .take(3)
        .map(|(_, c)| c)
        .collect()
}

impl Routes {
    /// The subcommands of `umbrella` and their apps, by name.
    pub fn subcommands(&self, umbrella: &str) -> Vec<(String, Arc<str>)> {
        self.umbrellas
            .get(umbrella)
            .map(|subs| {
                let mut listed: Vec<(String, Arc<str>)> = subs
                    .iter()
                    .map(|(name, sub)| (name.clone(), sub.app.clone()))
                    .collect();
                listed.sort();
                listed
            })
            .unwrap_or_default()
    }

    /// The help of `umbrella` for one user: `shown` keeps the subcommand
    /// paths they may run. Without `area`, the areas (a path's first word)
    /// with at least one such path; with one, its paths and their usage.
    /// Either is cut into pages of at most [`PAGE_ENTRIES`] entries and
    /// [`PAGE_CHARS`] characters, and a page past the last shows the last.
    pub fn help(
        &self,
        umbrella: &str,
        area: Option<&str>,
        page: usize,
        shown: impl Fn(&str) -> bool,
    ) -> String {
        let empty = Subs::new();
        let subs = self.umbrellas.get(umbrella).unwrap_or(&empty);
        let mut kept: Vec<(&String, &Subcommand)> =
            subs.iter().filter(|(path, _)| shown(path)).collect();
        kept.sort_by(|a, b| a.0.cmp(b.0));
        let (title, entries, more) = match area {
            None => {
                let mut areas: BTreeMap<&str, Vec<(&String, &Subcommand)>> = BTreeMap::new();
                for (path, sub) in &kept {
                    areas.entry(area_of(path)).or_default().push((path, sub));
                }
                let entries: Vec<String> = areas
                    .iter()
                    .map(|(area, paths)| {
                        let about = paths
                            .iter()
                            .find(|(p, _)| p.as_str() == *area)
                            .map(|(_, s)| s.description.clone())
                            .or_else(|| self.descriptions.get(&paths[0].1.app).cloned())
                            .unwrap_or_default();
                        let count = match paths.len() {
                            1 => String::new(),
                            n => format!(" ({n} subcommands)"),
                        };
                        format!("• `{umbrella} {area}` — {}{count}\n", escape(&about))
                    })
                    .collect();
                if entries.is_empty() {
                    return format!("*{umbrella}* has no subcommands you may run here.");
                }
                (
                    format!(
                        "*{umbrella}* — type `{umbrella} help <area>` for an area's subcommands:\n"
                    ),
                    entries,
                    format!("{umbrella} help"),
                )
            }
            Some(area) => {
                let entries: Vec<String> = kept
                    .iter()
                    .filter(|(path, _)| area_of(path) == area)
                    .map(|(path, sub)| {
                        let usage = if sub.usage.is_empty() {
                            String::new()
                        } else {
                            format!(" {}", sub.usage)
                        };
                        format!(
                            "• `{umbrella} {path}{}` — {} _({})_\n",
                            escape(&usage),
                            escape(&sub.description),
                            sub.app
                        )
                    })
                    .collect();
                if entries.is_empty() {
                    return format!(
                        "*{umbrella} {area}* has no subcommands you may run here; `{umbrella} help` lists the areas."
                    );
                }
                (
                    format!("*{umbrella} {area}* subcommands:\n"),
                    entries,
                    format!("{umbrella} help {area}"),
                )
            }
        };
        let pages = paginate(&entries);
        let index = page.clamp(1, pages.len()) - 1;
        let mut text = title;
        for entry in &entries[pages[index].clone()] {
            text.push_str(entry);
        }
        if pages.len() > 1 {
            let next = if index + 1 < pages.len() {
                format!(" — `{more} {}` for the next", index + 2)
            } else {
                String::new()
            };
            text.push_str(&format!("_Page {} of {}{next}._\n", index + 1, pages.len()));
        }
        text
    }
}

/// An app's words as Slack shows them, not as markup: in `mrkdwn`, `<…>`
/// is a link or a mention (`<name>` in a usage would vanish) and `&` starts
/// an entity, so these three are escaped, as Slack documents.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `entries` into pages of at most [`PAGE_ENTRIES`] and
/// [`PAGE_CHARS`] (an entry longer than a page alone is cut by Slack, not
/// dropped here); at least one page.
fn paginate(entries: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut pages = Vec::new();
    let (mut start, mut chars) = (0, 0);
    for (i, entry) in entries.iter().enumerate() {
        let len = entry.chars().count();
        if i > start && (i - start == PAGE_ENTRIES || chars + len > PAGE_CHARS) {
            pages.push(start..i);
            (start, chars) = (i, 0);
        }
        chars += len;
    }
    pages.push(start..entries.len());
    pages
}

fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
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
            phrases: vec![],
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
        let Resolved::Help {
            umbrella,
            area: None,
            page: 1,
        } = routes.resolve("/spy").unwrap()
        else {
            panic!("expected help")
        };
        let help = routes.help(&umbrella, None, 1, |_| true);
        assert!(
            !routes
                .help(&umbrella, None, 1, |s| s != "servers")
                .contains("servers")
        );
        assert!(
            help.contains("`/spy status` — does status") && help.contains("`/spy servers`"),
            "{help}"
        );
        let servers = routes.help(&umbrella, Some("servers"), 1, |_| true);
        let (c, ic): (Arc<str>, Description) = ("c".into(), {
            let mut d = info(&[], &[("/ops", "page")]);
            d.info.subcommands[0].usage = "<who> & <why>".into();
            d
        });
        let escaped = Routes::build([(&c, &ic)]).help("/ops", Some("page"), 1, |_| true);
        assert!(
            escaped.contains("`/ops page &lt;who&gt; &amp; &lt;why&gt;`"),
            "{escaped}"
        );
        assert!(
            servers.contains("`/spy servers [x]` — does servers"),
            "{servers}"
        );
        assert!(matches!(
            routes.resolve("/spy nope"),
            Err(RouteError::UnknownSubcommand { .. })
        ));
        let err = routes.resolve("/nope").unwrap_err().to_string();
        assert!(err.contains("/hello") && err.contains("/spy"), "{err}");
        assert_eq!(routes.resolve("hello"), Err(RouteError::NotACommand));
    }

    /// Twenty apps with areas of several verbs each, the way `/spy` grows.
    fn spy(apps: usize, verbs: &[&str]) -> (Vec<Arc<str>>, Vec<Description>) {
        let ids: Vec<Arc<str>> = (0..apps).map(|i| format!("app{i}").into()).collect();
        let descriptions = (0..apps)
            .map(|i| {
                let paths: Vec<(String, String)> = verbs
                    .iter()
                    .map(|v| ("/spy".to_string(), format!("area{i} {v}")))
                    .collect();
                let refs: Vec<(&str, &str)> = paths
                    .iter()
                    .map(|(u, p)| (u.as_str(), p.as_str()))
                    .collect();
                info(&[], &refs)
            })
            .collect();
        (ids, descriptions)
    }

    #[test]
    fn routes_the_longest_path_and_keeps_the_rest_as_typed() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let ia = info(&[], &[("/spy", "servers list"), ("/spy", "servers stop")]);
        let ib = info(&[], &[("/spy", "incident"), ("/spy", "incident note")]);
        let routes = Routes::build([(&a, &ia), (&b, &ib)]);
        assert_eq!(
            routes.resolve("/spy Servers  STOP web-3  East ").unwrap(),
            Resolved::App {
                app: a.clone(),
                command: "/spy".into(),
                subcommand: Some("servers stop".into()),
                text: "web-3  East".into()
            }
        );
        let route = |line| match routes.resolve(line).unwrap() {
            Resolved::App {
                subcommand, text, ..
            } => (subcommand.unwrap(), text),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            route("/spy incident note DB is back"),
            ("incident note".into(), "DB is back".into())
        );
        assert_eq!(
            route("/spy incident start \"DB down\""),
            ("incident".into(), "start \"DB down\"".into())
        );
        // An area alone, or `help <area> [page]`, is the area's help.
        for (line, area, page) in [
            ("/spy servers", Some("servers"), 1),
            ("/spy help servers 2", Some("servers"), 2),
            ("/spy help 3", None, 3),
            ("/spy help", None, 1),
        ] {
            assert_eq!(
                routes.resolve(line).unwrap(),
                Resolved::Help {
                    umbrella: "/spy".into(),
                    area: area.map(String::from),
                    page
                },
                "{line}"
            );
        }
    }

    #[test]
    fn a_mistyped_subcommand_gets_what_was_probably_meant() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let ia = info(
            &[],
            &[
                ("/spy", "servers list"),
                ("/spy", "servers stop"),
                ("/spy", "servers start"),
            ],
        );
        let ib = info(&[], &[("/spy", "support"), ("/spy", "stores top")]);
        let routes = Routes::build([(&a, &ia), (&b, &ib)]);
        let suggestions = |line| match routes.resolve(line) {
            Err(RouteError::UnknownSubcommand { suggestions, .. }) => suggestions,
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(suggestions("/spy servers stpo web-1"), vec!["servers stop"]);
        assert_eq!(suggestions("/spy sevrers list"), vec!["servers list"]);
        assert_eq!(suggestions("/spy suport"), vec!["support"]);
        assert_eq!(suggestions("/spy help sevrers"), vec!["servers"]);
        assert!(suggestions("/spy zzzzzz").is_empty());
        let err = routes.resolve("/spy servers stpo").unwrap_err().to_string();
        assert!(err.contains("did you mean `/spy servers stop`?"), "{err}");
    }

    #[test]
    fn help_of_a_hundred_subcommands_paginates_inside_slacks_limits() {
        let verbs = ["list", "show", "start", "stop", "restart", "status"];
        let (ids, descriptions) = spy(20, &verbs);
        let routes = Routes::build(ids.iter().zip(descriptions.iter()));
        assert_eq!(routes.subcommands("/spy").len(), 120);
        // Areas: 20, on two pages of at most PAGE_ENTRIES, none lost.
        let mut seen = HashSet::new();
        for page in 1..=3 {
            let text = routes.help("/spy", None, page, |_| true);
            assert!(
                text.chars().count() <= 3_000,
                "page {page}: {} chars",
                text.len()
            );
            for i in 0..20 {
                if text.contains(&format!("`/spy area{i}` ")) {
                    seen.insert(i);
                }
            }
            if page == 1 {
                assert!(
                    text.contains("Page 1 of 2 — `/spy help 2` for the next"),
                    "{text}"
                );
            }
        }
        assert_eq!(seen.len(), 20);
        // What the user may not run is not listed, nor counted.
        let hidden = routes.help("/spy", Some("area3"), 1, |p| !p.ends_with("stop"));
        assert!(
            !hidden.contains("stop") && hidden.contains("area3 restart"),
            "{hidden}"
        );
        let long = info(&[], &[("/spy", "x")]);
        let mut big = long.clone();
        big.info.subcommands = (0..40)
            .map(|i| SubcommandSpec {
                umbrella: "/spy".into(),
                name: format!("big verb{i}"),
                description: "d".repeat(150),
                usage: "<something long>".into(),
            })
            .collect();
        let one: Arc<str> = "big".into();
        let routes = Routes::build([(&one, &big)]);
        let (mut listed, mut page) = (0, 1);
        loop {
            let text = routes.help("/spy", Some("big"), page, |_| true);
            assert!(
                text.chars().count() <= 3_000,
                "{} chars",
                text.chars().count()
            );
            listed += text.matches("`/spy big verb").count();
            if !text.contains("for the next") {
                break;
            }
            page += 1;
        }
        assert_eq!(listed, 40, "every subcommand on exactly one page");
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
        // One app's path inside another's would split a line between them.
        assert!(
            routes
                .conflict("b", &info(&[], &[("/spy", "status now")]))
                .unwrap()
                .contains("word-prefix")
        );
        assert!(
            routes
                .conflict("b", &info(&[], &[("/spy", "statuses")]))
                .is_none()
        );
    }
}
