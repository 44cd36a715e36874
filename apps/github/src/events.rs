//! GitHub's webhook deliveries (`X-GitHub-Event` and the JSON payload, as
//! GitHub's OpenAPI description documents them under `x-webhooks`) read
//! into what a channel is told, and the filters a subscription sets.
//! Payloads are read field by field, leniently: a field GitHub adds or
//! leaves out never makes a delivery fail.

use serde_json::Value;

use crate::args::{Filters, Kind};
use crate::render::{cut, escape, first_line, link};

/// Commits listed in a push message; the rest are counted.
const COMMITS_SHOWN: usize = 5;

/// A pull request as its events carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pr {
    pub number: u64,
    pub title: String,
    pub url: Option<String>,
    pub author: String,
    pub labels: Vec<String>,
    pub merged: bool,
}

/// A delivery, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Push {
        repo: String,
        pusher: String,
        /// `branch \`main\`` or `tag \`v1\``.
        target: String,
        compare: Option<String>,
        /// (short sha, first line, author, url).
        commits: Vec<(String, String, String, Option<String>)>,
        created: bool,
        deleted: bool,
        forced: bool,
    },
    PullRequest {
        repo: String,
        action: String,
        pr: Pr,
        sender: String,
    },
    Review {
        repo: String,
        action: String,
        pr: Pr,
        reviewer: String,
        state: String,
        body: Option<String>,
        url: Option<String>,
    },
    Release {
        repo: String,
        action: String,
        tag: String,
        name: Option<String>,
        url: Option<String>,
        author: String,
        prerelease: bool,
    },
    /// Anything else (`ping`, an event nobody subscribes to): nothing to post.
    Other { repo: Option<String> },
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

fn login(user: &Value) -> String {
    text(&user["login"])
        .or_else(|| text(&user["name"]))
        .unwrap_or_else(|| "someone".into())
}

fn pr(value: &Value) -> Pr {
    Pr {
        number: value["number"].as_u64().unwrap_or_default(),
        title: text(&value["title"]).unwrap_or_default(),
        url: text(&value["html_url"]),
        author: login(&value["user"]),
        labels: value["labels"]
            .as_array()
            .map(|all| all.iter().filter_map(|l| text(&l["name"])).collect())
            .unwrap_or_default(),
        merged: value["merged"].as_bool().unwrap_or(false),
    }
}

/// Reads delivery `event` (`X-GitHub-Event`) with `payload`.
pub fn parse(event: &str, payload: &Value) -> Event {
    let repo = text(&payload["repository"]["full_name"]);
    let Some(repo_name) = repo.clone() else {
        return Event::Other { repo: None };
    };
    let action = text(&payload["action"]).unwrap_or_default();
    match event {
        "push" => {
            let reference = text(&payload["ref"]).unwrap_or_default();
            let target = match (
                reference.strip_prefix("refs/heads/"),
                reference.strip_prefix("refs/tags/"),
            ) {
                (Some(branch), _) => format!("branch `{}`", escape(branch)),
                (_, Some(tag)) => format!("tag `{}`", escape(tag)),
                _ => format!("`{}`", escape(&reference)),
            };
            let commits = payload["commits"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .map(|c| {
                            let id = text(&c["id"]).unwrap_or_default();
                            let author = text(&c["author"]["username"])
                                .or_else(|| text(&c["author"]["name"]))
                                .unwrap_or_else(|| "someone".into());
                            (
                                id.chars().take(7).collect(),
                                first_line(&text(&c["message"]).unwrap_or_default(), 72),
                                author,
                                text(&c["url"]),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let pusher = text(&payload["sender"]["login"])
                .or_else(|| text(&payload["pusher"]["name"]))
                .unwrap_or_else(|| "someone".into());
            Event::Push {
                repo: repo_name,
                pusher,
                target,
                compare: text(&payload["compare"]),
                commits,
                created: payload["created"].as_bool().unwrap_or(false),
                deleted: payload["deleted"].as_bool().unwrap_or(false),
                forced: payload["forced"].as_bool().unwrap_or(false),
            }
        }
        "pull_request" => Event::PullRequest {
            repo: repo_name,
            action,
            pr: pr(&payload["pull_request"]),
            sender: login(&payload["sender"]),
        },
        "pull_request_review" => Event::Review {
            repo: repo_name,
            action,
            pr: pr(&payload["pull_request"]),
            reviewer: login(&payload["review"]["user"]),
            state: text(&payload["review"]["state"])
                .unwrap_or_default()
                .to_ascii_lowercase(),
            body: text(&payload["review"]["body"]).filter(|b| !b.trim().is_empty()),
            url: text(&payload["review"]["html_url"]),
        },
        "release" => {
            let release = &payload["release"];
            Event::Release {
                repo: repo_name,
                action,
                tag: text(&release["tag_name"]).unwrap_or_default(),
                name: text(&release["name"]).filter(|n| !n.trim().is_empty()),
                url: text(&release["html_url"]),
                author: login(&release["author"]),
                prerelease: release["prerelease"].as_bool().unwrap_or(false),
            }
        }
        _ => Event::Other { repo },
    }
}

impl Event {
    /// `owner/name` of the repository it is about.
    pub fn repo(&self) -> Option<&str> {
        match self {
            Event::Push { repo, .. }
            | Event::PullRequest { repo, .. }
            | Event::Review { repo, .. }
            | Event::Release { repo, .. } => Some(repo),
            Event::Other { repo } => repo.as_deref(),
        }
    }

    /// Which kind a subscription must ask for to see it.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            Event::Push { .. } => Some(Kind::Push),
            Event::PullRequest { .. } => Some(Kind::PullRequest),
            Event::Review { .. } => Some(Kind::Review),
            Event::Release { .. } => Some(Kind::Release),
            Event::Other { .. } => None,
        }
    }

    /// Whether `filters` let it through: its kind asked for, its author
    /// among the authors (when any are named), and — for a pull request
    /// or its review — one of its labels among the labels (when any are
    /// named; pushes and releases carry none and are not held to them).
    pub fn passes(&self, filters: &Filters) -> bool {
        let Some(kind) = self.kind() else {
            return false;
        };
        if !filters.events.contains(&kind) {
            return false;
        }
        let author = match self {
            Event::Push { pusher, .. } => pusher,
            Event::PullRequest { pr, .. } | Event::Review { pr, .. } => &pr.author,
            Event::Release { author, .. } => author,
            Event::Other { .. } => return false,
        };
        if !filters.authors.is_empty()
            && !filters
                .authors
                .iter()
                .any(|a| a.eq_ignore_ascii_case(author))
        {
            return false;
        }
        match self {
            Event::PullRequest { pr, .. } | Event::Review { pr, .. }
                if !filters.labels.is_empty() =>
            {
                pr.labels
                    .iter()
                    .any(|l| filters.labels.iter().any(|f| f.eq_ignore_ascii_case(l)))
            }
            _ => true,
        }
    }
}

fn bold(login: &str) -> String {
    format!("*{}*", escape(login))
}

fn pr_link(pr: &Pr) -> String {
    link(pr.url.as_deref(), &format!("#{} {}", pr.number, pr.title))
}

fn labels(pr: &Pr) -> String {
    if pr.labels.is_empty() {
        return String::new();
    }
    let names: Vec<String> = pr
        .labels
        .iter()
        .map(|l| format!("`{}`", escape(l)))
        .collect();
    format!("\nLabels: {}", names.join(" "))
}

/// The message a pull request's thread starts with, when it was opened.
pub fn opened(repo: &str, pr: &Pr) -> String {
    format!(
        "{} opened pull request {} in `{repo}`{}",
        bold(&pr.author),
        pr_link(pr),
        labels(pr)
    )
}

/// The message a pull request's thread starts with when the channel first
/// hears of it otherwise (opened before the subscription).
pub fn header(repo: &str, pr: &Pr) -> String {
    format!(
        "Pull request {} by {} in `{repo}`{}",
        pr_link(pr),
        bold(&pr.author),
        labels(pr)
    )
}

/// A later event of a pull request, as a reply in its thread; `None` for
/// actions nobody is told of (edited, synchronize …).
pub fn reply(event: &Event) -> Option<String> {
    match event {
        Event::PullRequest {
            action, pr, sender, ..
        } => match action.as_str() {
            "closed" if pr.merged => Some(format!("Merged by {}.", bold(sender))),
            "closed" => Some(format!("Closed without merging by {}.", bold(sender))),
            "reopened" => Some(format!("Reopened by {}.", bold(sender))),
            _ => None,
        },
        Event::Review {
            action,
            reviewer,
            state,
            body,
            url,
            ..
        } if action == "submitted" => {
            let did = match state.as_str() {
                "approved" => "approved",
                "changes_requested" => "requested changes",
                "dismissed" => "had a review dismissed",
                _ => "commented",
            };
            let mut text = format!("{} {}", bold(reviewer), link(url.as_deref(), did));
            match body {
                Some(body) => text.push_str(&format!(": “{}”", escape(&cut(body, 300)))),
                None => text.push('.'),
            }
            Some(text)
        }
        _ => None,
    }
}

/// A push or a release, as a message of its own; `None` for what is not
/// told (a release drafted, a push of nothing).
pub fn message(event: &Event) -> Option<String> {
    match event {
        Event::Push {
            repo,
            pusher,
            target,
            compare,
            commits,
            created,
            deleted,
            forced,
        } => {
            if *deleted {
                return Some(format!("{} deleted {target} of `{repo}`", bold(pusher)));
            }
            if commits.is_empty() {
                return created.then(|| format!("{} created {target} in `{repo}`", bold(pusher)));
            }
            let n = commits.len();
            let what = if n == 1 {
                "1 commit".to_string()
            } else {
                format!("{n} commits")
            };
            let verb = if *forced { "force-pushed" } else { "pushed" };
            let mut text = format!(
                "{} {verb} {} to {target} of `{repo}`",
                bold(pusher),
                link(compare.as_deref(), &what)
            );
            for (sha, message, author, url) in commits.iter().rev().take(COMMITS_SHOWN).rev() {
                text.push_str(&format!(
                    "\n• {} {} — {}",
                    link(url.as_deref(), &format!("`{sha}`")),
                    escape(message),
                    escape(author)
                ));
            }
            if n > COMMITS_SHOWN {
                text.push_str(&format!("\n… and {} earlier", n - COMMITS_SHOWN));
            }
            Some(text)
        }
        Event::Release {
            repo,
            action,
            tag,
            name,
            url,
            author,
            prerelease,
        } if action == "published" => {
            let mut text = format!(
                "{} published {} {} of `{repo}`",
                bold(author),
                if *prerelease {
                    "pre-release"
                } else {
                    "release"
                },
                link(url.as_deref(), tag)
            );
            if let Some(name) = name.as_deref().filter(|n| n != tag) {
                text.push_str(&format!(": {}", escape(name)));
            }
            Some(text)
        }
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` `payload=…` (a webhook configured
/// with content type `form`), decoded; `None` when it is not one.
pub fn form_payload(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let value = text
        .split('&')
        .find_map(|pair| pair.strip_prefix("payload="))?;
    let mut out = Vec::with_capacity(value.len());
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pr_payload(action: &str, labels: &[&str], merged: bool) -> Value {
        json!({
            "action": action,
            "number": 7,
            "pull_request": {
                "number": 7,
                "title": "Add the <backup> job",
                "html_url": "https://github.com/acme/shop/pull/7",
                "user": {"login": "alice"},
                "labels": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
                "merged": merged,
            },
            "repository": {"full_name": "acme/shop"},
            "sender": {"login": "bob"},
        })
    }

    fn filters(labels: &[&str], authors: &[&str], events: &[Kind]) -> Filters {
        Filters {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            authors: authors.iter().map(|s| s.to_string()).collect(),
            events: events.to_vec(),
        }
    }

    #[test]
    fn pull_requests_open_a_thread_and_later_events_reply_in_it() {
        let opened_event = parse("pull_request", &pr_payload("opened", &["ops"], false));
        let Event::PullRequest { pr, .. } = &opened_event else {
            panic!("{opened_event:?}")
        };
        assert_eq!(
            opened("acme/shop", pr),
            "*alice* opened pull request <https://github.com/acme/shop/pull/7|#7 Add the &lt;backup&gt; job> in `acme/shop`\nLabels: `ops`"
        );
        assert_eq!(reply(&opened_event), None);
        let merged = parse("pull_request", &pr_payload("closed", &[], true));
        assert_eq!(reply(&merged).unwrap(), "Merged by *bob*.");
        let closed = parse("pull_request", &pr_payload("closed", &[], false));
        assert_eq!(reply(&closed).unwrap(), "Closed without merging by *bob*.");
        let mut review = pr_payload("submitted", &[], false);
        review["review"] = json!({"user": {"login": "carol"}, "state": "APPROVED", "body": null, "html_url": "https://r"});
        let review = parse("pull_request_review", &review);
        assert_eq!(reply(&review).unwrap(), "*carol* <https://r|approved>.");
        assert_eq!(review.kind(), Some(Kind::Review));
    }

    #[test]
    fn filters_hold_labels_authors_and_kinds() {
        let labelled = parse("pull_request", &pr_payload("opened", &["Ops", "ui"], false));
        let plain = parse("pull_request", &pr_payload("opened", &[], false));
        let everything = filters(&[], &[], &Kind::ALL);
        assert!(labelled.passes(&everything));
        assert!(labelled.passes(&filters(&["ops"], &[], &Kind::ALL)));
        assert!(!plain.passes(&filters(&["ops"], &[], &Kind::ALL)));
        assert!(labelled.passes(&filters(&[], &["ALICE"], &Kind::ALL)));
        assert!(!labelled.passes(&filters(&[], &["mallory"], &Kind::ALL)));
        assert!(!labelled.passes(&filters(&[], &[], &[Kind::Push])));
        let push = parse(
            "push",
            &json!({"ref": "refs/heads/main", "commits": [], "created": true, "repository": {"full_name": "acme/shop"}, "sender": {"login": "alice"}}),
        );
        // Pushes carry no labels: a label filter does not hold them back.
        assert!(push.passes(&filters(&["ops"], &[], &Kind::ALL)));
        assert!(!push.passes(&filters(&[], &["bob"], &Kind::ALL)));
        assert!(!parse("ping", &json!({"repository": {"full_name": "a/b"}})).passes(&everything));
    }

    #[test]
    fn pushes_list_their_commits() {
        let commits: Vec<Value> = (1..=7)
            .map(|i| json!({"id": format!("{i}abcdef0123456789"), "message": format!("Change {i}\n\nbody"), "url": format!("https://c/{i}"), "author": {"name": "Alice", "username": "alice"}}))
            .collect();
        let push = parse(
            "push",
            &json!({"ref": "refs/heads/main", "compare": "https://cmp", "commits": commits, "created": false, "deleted": false, "forced": false, "repository": {"full_name": "acme/shop"}, "sender": {"login": "alice"}, "pusher": {"name": "alice"}}),
        );
        let text = message(&push).unwrap();
        assert!(
            text.starts_with("*alice* pushed <https://cmp|7 commits> to branch `main` of `acme/shop`\n• <https://c/3|`3abcdef`> Change 3… — alice"),
            "{text}"
        );
        assert!(text.ends_with("\n… and 2 earlier"), "{text}");
        let deleted = parse(
            "push",
            &json!({"ref": "refs/tags/v1", "commits": [], "deleted": true, "repository": {"full_name": "acme/shop"}, "sender": {"login": "bob"}}),
        );
        assert_eq!(
            message(&deleted).unwrap(),
            "*bob* deleted tag `v1` of `acme/shop`"
        );
    }

    #[test]
    fn releases_are_told_when_published() {
        let payload = json!({"action": "published", "release": {"tag_name": "v1.2.0", "name": "Winter", "html_url": "https://rel", "author": {"login": "alice"}, "prerelease": true}, "repository": {"full_name": "acme/shop"}});
        let release = parse("release", &payload);
        assert_eq!(
            message(&release).unwrap(),
            "*alice* published pre-release <https://rel|v1.2.0> of `acme/shop`: Winter"
        );
        let mut drafted = payload.clone();
        drafted["action"] = json!("created");
        assert_eq!(message(&parse("release", &drafted)), None);
    }

    #[test]
    fn form_payloads_are_decoded() {
        assert_eq!(
            form_payload(b"payload=%7B%22a%22%3A+1%7D").unwrap(),
            br#"{"a": 1}"#
        );
        assert_eq!(form_payload(b"other=1"), None);
    }
}
