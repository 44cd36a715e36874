//! What people type after `/spy github <verb>`: split into words (quotes
//! keep spaces, Slack's curly quotes too), flags read, names checked the
//! way GitHub checks them, so a mistake is told before GitHub is asked.

use serde::{Deserialize, Serialize};

/// Splits `text` into words; `"…"` (or `“…”`, as Slack's clients write
/// it) keeps spaces in one word. An unclosed quote is an error.
pub fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(close) => {
                if c == close || (close == '”' && c == '"') {
                    quote = None;
                } else {
                    current.push(c);
                }
            }
            None => match c {
                '"' => {
                    quote = Some('"');
                    in_word = true;
                }
                '“' | '”' => {
                    quote = Some('”');
                    in_word = true;
                }
                c if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut current));
                        in_word = false;
                    }
                }
                c => {
                    current.push(c);
                    in_word = true;
                }
            },
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed: write `--description \"A short text\"`".into());
    }
    if in_word {
        out.push(current);
    }
    Ok(out)
}

/// A flag (`--private`, `--labels=a,b`): its name and the value given with
/// `=`, if any. Slack turns `--` into `—` on some clients; both are read.
fn flag(word: &str) -> Option<(String, Option<String>)> {
    let rest = word
        .strip_prefix("--")
        .or_else(|| word.strip_prefix('—'))
        .or_else(|| word.strip_prefix('–'))?;
    if rest.is_empty() {
        return None;
    }
    Some(match rest.split_once('=') {
        Some((name, value)) => (name.to_ascii_lowercase(), Some(value.to_string())),
        None => (rest.to_ascii_lowercase(), None),
    })
}

/// Words and flags of one command line, consumed by the parsers below.
struct Line {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

/// Splits `text` into positional words and flags; `takes_value` names the
/// flags that take the next word as their value.
fn line(text: &str, takes_value: &[&str]) -> Result<Line, String> {
    let mut positional = Vec::new();
    let mut flags = Vec::new();
    let mut words = words(text)?.into_iter();
    while let Some(word) = words.next() {
        match flag(&word) {
            Some((name, None)) if takes_value.contains(&name.as_str()) => {
                let value = words
                    .next()
                    .ok_or_else(|| format!("`--{name}` needs a value"))?;
                flags.push((name, Some(value)));
            }
            Some(found) => flags.push(found),
            None => positional.push(word),
        }
    }
    Ok(Line { positional, flags })
}

fn unknown_flag(name: &str, usage: &str) -> String {
    format!(
        "`--{name}` is not an option here. Usage: `{}`",
        shown(usage)
    )
}

/// A usage as Slack shows it: `<` and `>` escaped, or Slack reads them as
/// markup.
pub fn shown(usage: &str) -> String {
    usage
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn no_value(name: &str, value: &Option<String>, usage: &str) -> Result<(), String> {
    match value {
        Some(_) => Err(format!(
            "`--{name}` takes no value. Usage: `{}`",
            shown(usage)
        )),
        None => Ok(()),
    }
}

/// A repository: its owner (the organization unless typed `owner/name`)
/// and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    pub fn full(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The key subscriptions and threads are stored under (GitHub's names
    /// are case-insensitive).
    pub fn key(&self) -> String {
        self.full().to_lowercase()
    }
}

/// A repository name as GitHub allows it: letters, digits, `-`, `_`, `.`,
/// at most 100 characters, not `.` or `..`.
pub fn valid_repo_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A login (user or organization): letters, digits and single inner `-`,
/// at most 39 characters.
pub fn valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && !login.starts_with('-')
        && !login.ends_with('-')
        && !login.contains("--")
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `name` (in `org`) or `owner/name`; a GitHub URL's path works too.
pub fn repo(org: &str, word: &str) -> Result<RepoRef, String> {
    let trimmed = word
        .trim_start_matches("https://github.com/")
        .trim_end_matches('/')
        .trim_end_matches(".git");
    let (owner, name) = match trimmed.split_once('/') {
        Some((owner, name)) => (owner, name),
        None => (org, trimmed),
    };
    if !valid_login(owner) || !valid_repo_name(name) {
        return Err(format!(
            "`{word}` is not a repository name: write `name` (in {org}) or `owner/name`, with letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(RepoRef {
        owner: owner.to_string(),
        name: name.to_string(),
    })
}

/// A user as typed: `octocat` or `@octocat`.
pub fn user(word: &str) -> Result<String, String> {
    let login = word.trim_start_matches('@');
    if !valid_login(login) {
        return Err(format!(
            "`{word}` is not a GitHub username (letters, digits and `-`)"
        ));
    }
    Ok(login.to_string())
}

pub const REPO_CREATE: &str = "/spy github repo create <name> [--private] [--description \"…\"]";

/// `repo create <name> [--private] [--description "…"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoCreate {
    pub name: String,
    pub private: bool,
    pub description: Option<String>,
}

pub fn repo_create(text: &str) -> Result<RepoCreate, String> {
    let line = line(text, &["description"])?;
    let [name] = line.positional.as_slice() else {
        return Err(format!(
            "Give one repository name. Usage: `{}`",
            shown(REPO_CREATE)
        ));
    };
    if !valid_repo_name(name) {
        return Err(format!(
            "`{name}` is not a repository name GitHub accepts: letters, digits, `-`, `_` and `.`, at most 100 characters"
        ));
    }
    let mut create = RepoCreate {
        name: name.clone(),
        private: false,
        description: None,
    };
    for (flag, value) in line.flags {
        match flag.as_str() {
            "private" => {
                no_value(&flag, &value, REPO_CREATE)?;
                create.private = true;
            }
            "public" => {
                no_value(&flag, &value, REPO_CREATE)?;
                create.private = false;
            }
            "description" => create.description = value.filter(|d| !d.trim().is_empty()),
            other => return Err(unknown_flag(other, REPO_CREATE)),
        }
    }
    Ok(create)
}

pub const MEMBER_ADD: &str =
    "/spy github member add <user> <repo|@team> [--permission pull|triage|push|maintain|admin] [--maintainer]";

/// Where `member add` adds someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// As a collaborator, with a permission (GitHub's default, `push`,
    /// when not given).
    Repo(RepoRef, Option<String>),
    /// To a team of the organization, by slug, as `member` or `maintainer`.
    Team(String, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAdd {
    pub user: String,
    pub target: Target,
}

const PERMISSIONS: [&str; 5] = ["pull", "triage", "push", "maintain", "admin"];

pub fn member_add(org: &str, text: &str) -> Result<MemberAdd, String> {
    let line = line(text, &["permission", "role"])?;
    let [user_word, target] = line.positional.as_slice() else {
        return Err(format!(
            "Give a user and a repository or `@team`. Usage: `{}`",
            shown(MEMBER_ADD)
        ));
    };
    let user = user(user_word)?;
    let mut permission = None;
    let mut role = None;
    for (flag, value) in line.flags {
        match flag.as_str() {
            "permission" => {
                let value = value.unwrap_or_default().to_ascii_lowercase();
                let value = match value.as_str() {
                    "read" => "pull".to_string(),
                    "write" => "push".to_string(),
                    _ => value,
                };
                if !PERMISSIONS.contains(&value.as_str()) {
                    return Err(format!(
                        "`{value}` is not a permission: one of {}",
                        PERMISSIONS.join(", ")
                    ));
                }
                permission = Some(value);
            }
            "maintainer" => {
                no_value(&flag, &value, MEMBER_ADD)?;
                role = Some("maintainer".to_string());
            }
            "role" => {
                let value = value.unwrap_or_default().to_ascii_lowercase();
                if value != "member" && value != "maintainer" {
                    return Err(format!(
                        "`{value}` is not a team role: `member` or `maintainer`"
                    ));
                }
                role = Some(value);
            }
            other => return Err(unknown_flag(other, MEMBER_ADD)),
        }
    }
    let target = match target.strip_prefix('@') {
        Some(team) => {
            let slug = team.rsplit('/').next().unwrap_or(team).to_ascii_lowercase();
            if slug.is_empty()
                || !slug
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(format!(
                    "`{target}` is not a team: write its slug, `@backend`"
                ));
            }
            if permission.is_some() {
                return Err(
                    "`--permission` is for a repository; a team takes `--maintainer` (or `--role member|maintainer`)"
                        .into(),
                );
            }
            Target::Team(slug, role.unwrap_or_else(|| "member".into()))
        }
        None => {
            if role.is_some() {
                return Err(
                    "`--maintainer` is for a team (`@team`); a repository takes `--permission …`"
                        .into(),
                );
            }
            Target::Repo(repo(org, target)?, permission)
        }
    };
    Ok(MemberAdd { user, target })
}

pub const HOOKS_LIST: &str = "/spy github hooks list <repo>";
pub const HOOKS_ADD: &str = "/spy github hooks add <repo> <url> [events…]";
pub const HOOKS_REMOVE: &str = "/spy github hooks remove <repo> <id>";

pub fn hooks_list(org: &str, text: &str) -> Result<RepoRef, String> {
    let line = line(text, &[])?;
    if let Some((flag, _)) = line.flags.first() {
        return Err(unknown_flag(flag, HOOKS_LIST));
    }
    match line.positional.as_slice() {
        [one] => repo(org, one),
        _ => Err(format!(
            "Give one repository. Usage: `{}`",
            shown(HOOKS_LIST)
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAdd {
    pub repo: RepoRef,
    pub url: String,
    pub events: Vec<String>,
}

pub fn hooks_add(org: &str, text: &str) -> Result<HookAdd, String> {
    let line = line(text, &[])?;
    if let Some((flag, _)) = line.flags.first() {
        return Err(unknown_flag(flag, HOOKS_ADD));
    }
    let [repo_word, url, events @ ..] = line.positional.as_slice() else {
        return Err(format!(
            "Give a repository and the URL to deliver to. Usage: `{}`",
            shown(HOOKS_ADD)
        ));
    };
    // Slack wraps a URL as `<https://…>` or `<https://…|label>`.
    let url = url
        .trim_start_matches('<')
        .trim_end_matches('>')
        .split('|')
        .next()
        .unwrap_or_default()
        .to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
        return Err(format!(
            "`{url}` is not a URL GitHub can deliver to: write it with https://"
        ));
    }
    let mut names = Vec::new();
    for event in events.iter().flat_map(|e| e.split(',')) {
        let event = event.trim().to_ascii_lowercase();
        if event.is_empty() {
            continue;
        }
        if event != "*" && !event.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(format!(
                "`{event}` is not a GitHub event name (`push`, `pull_request`, `release`, `*` …)"
            ));
        }
        if !names.contains(&event) {
            names.push(event);
        }
    }
    if names.is_empty() {
        names.push("push".into());
    }
    Ok(HookAdd {
        repo: repo(org, repo_word)?,
        url,
        events: names,
    })
}

pub fn hooks_remove(org: &str, text: &str) -> Result<(RepoRef, u64), String> {
    let line = line(text, &[])?;
    if let Some((flag, _)) = line.flags.first() {
        return Err(unknown_flag(flag, HOOKS_REMOVE));
    }
    let [repo_word, id] = line.positional.as_slice() else {
        return Err(format!(
            "Give a repository and a webhook's id (`/spy github hooks list &lt;repo&gt;` shows them). Usage: `{}`", shown(HOOKS_REMOVE)
        ));
    };
    let id: u64 = id.trim_start_matches('#').parse().map_err(|_| {
        format!("`{id}` is not a webhook id: a number, as `/spy github hooks list` shows it")
    })?;
    Ok((repo(org, repo_word)?, id))
}

pub const BACKUP: &str = "/spy github backup <repo>";

pub fn backup(org: &str, text: &str) -> Result<RepoRef, String> {
    let line = line(text, &[])?;
    if let Some((flag, _)) = line.flags.first() {
        return Err(unknown_flag(flag, BACKUP));
    }
    let [one] = line.positional.as_slice() else {
        return Err(format!("Give one repository. Usage: `{}`", shown(BACKUP)));
    };
    let repo = repo(org, one)?;
    if !repo.owner.eq_ignore_ascii_case(org) {
        return Err(format!(
            "Backups are exports of {org}'s repositories (GitHub's organization migrations); `{}` is not in {org}",
            repo.full()
        ));
    }
    Ok(repo)
}

/// The kinds of event a subscription can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Push,
    PullRequest,
    Review,
    Release,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Push, Kind::PullRequest, Kind::Review, Kind::Release];

    fn parse(word: &str) -> Option<Kind> {
        Some(match word {
            "push" | "pushes" => Kind::Push,
            "pull_request" | "pull_requests" | "pr" | "prs" | "pull-request" => Kind::PullRequest,
            "review" | "reviews" | "pull_request_review" => Kind::Review,
            "release" | "releases" => Kind::Release,
            _ => return None,
        })
    }
}

/// What a channel wants of a repository's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Pull requests carrying any of these labels (none: every one).
    #[serde(default)]
    pub labels: Vec<String>,
    /// By any of these logins (none: anyone).
    #[serde(default)]
    pub authors: Vec<String>,
    pub events: Vec<Kind>,
}

pub const SUBSCRIBE: &str = "/spy github subscribe <repo> [--labels a,b] [--authors x,y] [--events push,pull_request,review,release]";
pub const UNSUBSCRIBE: &str = "/spy github unsubscribe <repo>";

fn list(value: Option<String>, flag: &str) -> Result<Vec<String>, String> {
    let value = value.ok_or_else(|| format!("`--{flag}` needs a value: `--{flag} a,b`"))?;
    let mut out: Vec<String> = Vec::new();
    for item in value.split(',') {
        let item = item.trim().trim_start_matches('@').to_string();
        if !item.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&item)) {
            out.push(item);
        }
    }
    if out.is_empty() {
        return Err(format!("`--{flag}` needs a value: `--{flag} a,b`"));
    }
    Ok(out)
}

/// `subscribe <repo> [--labels a,b] [--authors x,y] [--events …]`. With
/// labels and no events, only pull requests and their reviews (pushes and
/// releases carry no labels).
pub fn subscribe(org: &str, text: &str) -> Result<(RepoRef, Filters), String> {
    let line = line(
        text,
        &["labels", "label", "authors", "author", "events", "event"],
    )?;
    let [one] = line.positional.as_slice() else {
        return Err(format!(
            "Give one repository. Usage: `{}`",
            shown(SUBSCRIBE)
        ));
    };
    let repo = repo(org, one)?;
    let mut labels = Vec::new();
    let mut authors = Vec::new();
    let mut events: Option<Vec<Kind>> = None;
    for (flag, value) in line.flags {
        match flag.as_str() {
            "labels" | "label" => labels.extend(list(value, &flag)?),
            "authors" | "author" => {
                for author in list(value, &flag)? {
                    authors.push(user(&author)?);
                }
            }
            "events" | "event" => {
                let mut kinds = events.take().unwrap_or_default();
                for word in list(value, &flag)? {
                    let kind = Kind::parse(&word.to_ascii_lowercase()).ok_or_else(|| {
                        format!(
                            "`{word}` is not an event a channel can follow: push, pull_request, review or release"
                        )
                    })?;
                    if !kinds.contains(&kind) {
                        kinds.push(kind);
                    }
                }
                events = Some(kinds);
            }
            other => return Err(unknown_flag(other, SUBSCRIBE)),
        }
    }
    let mut events = events.unwrap_or_else(|| match labels.is_empty() {
        true => Kind::ALL.to_vec(),
        false => vec![Kind::PullRequest, Kind::Review],
    });
    events.sort();
    Ok((
        repo,
        Filters {
            labels,
            authors,
            events,
        },
    ))
}

pub fn unsubscribe(org: &str, text: &str) -> Result<RepoRef, String> {
    let line = line(text, &[])?;
    if let Some((flag, _)) = line.flags.first() {
        return Err(unknown_flag(flag, UNSUBSCRIBE));
    }
    match line.positional.as_slice() {
        [one] => repo(org, one),
        _ => Err(format!(
            "Give one repository. Usage: `{}`",
            shown(UNSUBSCRIBE)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quoted_spaces_in_any_quotes() {
        assert_eq!(
            words(r#"shop --description "The shop, v2" --private"#).unwrap(),
            ["shop", "--description", "The shop, v2", "--private"]
        );
        assert_eq!(
            words("shop --description “Curly quotes”").unwrap(),
            ["shop", "--description", "Curly quotes"]
        );
        assert_eq!(words(r#"a "" b"#).unwrap(), ["a", "", "b"]);
        assert!(words(r#"shop --description "open"#).is_err());
    }

    #[test]
    fn repo_create_reads_its_flags() {
        assert_eq!(
            repo_create(r#"shop --private --description "The shop""#).unwrap(),
            RepoCreate {
                name: "shop".into(),
                private: true,
                description: Some("The shop".into())
            }
        );
        assert_eq!(
            repo_create("shop —description=x").unwrap().description,
            Some("x".into())
        );
        assert!(!repo_create("shop").unwrap().private);
        let err = repo_create("shop --secret").unwrap_err();
        assert!(err.contains("`--secret` is not an option"), "{err}");
        assert!(repo_create("my shop").is_err());
        assert!(repo_create("sh/op")
            .unwrap_err()
            .contains("not a repository name"));
        assert!(repo_create("shop --private=yes").is_err());
        assert!(repo_create("shop --description").is_err());
    }

    #[test]
    fn member_add_tells_repositories_from_teams() {
        assert_eq!(
            member_add("acme", "@octocat shop").unwrap(),
            MemberAdd {
                user: "octocat".into(),
                target: Target::Repo(
                    RepoRef {
                        owner: "acme".into(),
                        name: "shop".into()
                    },
                    None
                )
            }
        );
        assert_eq!(
            member_add("acme", "octocat other/shop --permission write")
                .unwrap()
                .target,
            Target::Repo(
                RepoRef {
                    owner: "other".into(),
                    name: "shop".into()
                },
                Some("push".into())
            )
        );
        assert_eq!(
            member_add("acme", "octocat @Backend --maintainer")
                .unwrap()
                .target,
            Target::Team("backend".into(), "maintainer".into())
        );
        assert_eq!(
            member_add("acme", "octocat @backend").unwrap().target,
            Target::Team("backend".into(), "member".into())
        );
        assert!(member_add("acme", "octocat @backend --permission admin").is_err());
        assert!(member_add("acme", "octocat shop --maintainer").is_err());
        assert!(member_add("acme", "octocat shop --permission owner").is_err());
        assert!(member_add("acme", "octocat").is_err());
        assert!(member_add("acme", "not_a-login! shop").is_err());
    }

    #[test]
    fn hooks_take_a_repo_a_url_and_events() {
        let add = hooks_add(
            "acme",
            "shop <https://ci.example.com/hook> push, pull_request",
        )
        .unwrap();
        assert_eq!(add.url, "https://ci.example.com/hook");
        assert_eq!(add.events, ["push", "pull_request"]);
        assert_eq!(add.repo.full(), "acme/shop");
        assert_eq!(
            hooks_add("acme", "shop https://x.example.com")
                .unwrap()
                .events,
            ["push"]
        );
        assert!(hooks_add("acme", "shop ftp://x").is_err());
        assert!(hooks_add("acme", "shop https://x.example.com Push!").is_err());
        assert_eq!(hooks_remove("acme", "shop 42").unwrap().1, 42);
        assert_eq!(hooks_remove("acme", "shop #42").unwrap().1, 42);
        assert!(hooks_remove("acme", "shop abc").is_err());
        assert_eq!(hooks_list("acme", "shop").unwrap().full(), "acme/shop");
        assert!(hooks_list("acme", "").is_err());
    }

    #[test]
    fn backups_are_of_the_organizations_repositories() {
        assert_eq!(backup("acme", "shop").unwrap().full(), "acme/shop");
        assert!(backup("acme", "ACME/shop").is_ok());
        assert!(backup("acme", "other/shop")
            .unwrap_err()
            .contains("not in acme"));
    }

    #[test]
    fn subscriptions_read_filters_and_default_events() {
        let (repo, filters) = subscribe("acme", "shop").unwrap();
        assert_eq!(repo.key(), "acme/shop");
        assert_eq!(filters.events, Kind::ALL);
        let (_, filters) = subscribe(
            "acme",
            "Acme/Shop --labels ops,security --authors @alice,bob",
        )
        .unwrap();
        assert_eq!(filters.labels, ["ops", "security"]);
        assert_eq!(filters.authors, ["alice", "bob"]);
        assert_eq!(filters.events, [Kind::PullRequest, Kind::Review]);
        let (_, filters) = subscribe("acme", "shop --events release,push --labels x").unwrap();
        assert_eq!(filters.events, [Kind::Push, Kind::Release]);
        assert!(subscribe("acme", "shop --events deploys").is_err());
        assert!(subscribe("acme", "shop --labels").is_err());
        assert!(subscribe("acme", "shop --colour red").is_err());
        assert!(subscribe("acme", "").is_err());
    }
}
