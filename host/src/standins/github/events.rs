//! The webhook events the stand-in can send, built like GitHub's documented
//! payloads (`x-webhooks` in its OpenAPI description: `push`,
//! `pull-request-opened`, `pull-request-closed`,
//! `pull-request-review-submitted`, `release-published`, `ping`).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Repo;
use super::objects::{node_id, now};

/// An event to deliver: what happened, and to whom; built with the
/// constructors and refined with the `with`-style methods.
///
/// ```
/// use botyard::standins::github::Event;
/// let opened = Event::pull_request_opened(7, "Add the backup job", "alice").label("ops");
/// let merged = Event::pull_request_closed(7, "Add the backup job", "alice", true).sender("bob");
/// let pushed = Event::push("main").commit("Fix the typo", "alice");
/// # let _ = (opened, merged, pushed);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    kind: Kind,
    sender: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Push {
        branch: String,
        commits: Vec<(String, String)>,
    },
    PullRequest {
        closed: Option<bool>,
        pr: PullRequest,
    },
    Review {
        pr: PullRequest,
        reviewer: String,
        state: String,
        body: Option<String>,
    },
    Release {
        tag: String,
        author: String,
        name: Option<String>,
        body: Option<String>,
        prerelease: bool,
    },
    Ping {
        hook: Value,
        hook_id: u64,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct PullRequest {
    number: u64,
    title: String,
    author: String,
    labels: Vec<String>,
    body: Option<String>,
    head: String,
}

impl PullRequest {
    fn new(number: u64, title: &str, author: &str) -> PullRequest {
        PullRequest {
            number,
            title: title.to_string(),
            author: author.to_string(),
            labels: Vec::new(),
            body: None,
            head: format!("{author}-patch-{number}"),
        }
    }
}

impl Event {
    fn new(kind: Kind) -> Event {
        Event { kind, sender: None }
    }

    /// A push to `branch` (add commits with [`Event::commit`]).
    pub fn push(branch: &str) -> Event {
        Event::new(Kind::Push {
            branch: branch.to_string(),
            commits: Vec::new(),
        })
    }

    /// A commit in a push, by `author` (a login).
    pub fn commit(mut self, message: &str, author: &str) -> Event {
        if let Kind::Push { commits, .. } = &mut self.kind {
            commits.push((message.to_string(), author.to_string()));
        }
        self
    }

    /// `pull_request` / `opened`.
    pub fn pull_request_opened(number: u64, title: &str, author: &str) -> Event {
        Event::new(Kind::PullRequest {
            closed: None,
            pr: PullRequest::new(number, title, author),
        })
    }

    /// `pull_request` / `closed`, merged or not.
    pub fn pull_request_closed(number: u64, title: &str, author: &str, merged: bool) -> Event {
        Event::new(Kind::PullRequest {
            closed: Some(merged),
            pr: PullRequest::new(number, title, author),
        })
    }

    /// `pull_request_review` / `submitted`: `reviewer`'s review of pull
    /// request `number` by `author`; `state` is `approved`,
    /// `changes_requested` or `commented`.
    pub fn pull_request_review(
        number: u64,
        title: &str,
        author: &str,
        reviewer: &str,
        state: &str,
    ) -> Event {
        Event::new(Kind::Review {
            pr: PullRequest::new(number, title, author),
            reviewer: reviewer.to_string(),
            state: state.to_string(),
            body: None,
        })
    }

    /// `release` / `published`: tag `tag`, published by `author`.
    pub fn release(tag: &str, author: &str) -> Event {
        Event::new(Kind::Release {
            tag: tag.to_string(),
            author: author.to_string(),
            name: None,
            body: None,
            prerelease: false,
        })
    }

    /// `ping`, as GitHub sends it to a webhook just created.
    pub(super) fn ping(hook_id: u64, hook: Value) -> Event {
        Event::new(Kind::Ping { hook, hook_id })
    }

    /// A label on the pull request.
    pub fn label(mut self, name: &str) -> Event {
        if let Some(pr) = self.pull_request() {
            pr.labels.push(name.to_string());
        }
        self
    }

    /// The body of the pull request, review or release.
    pub fn body(mut self, text: &str) -> Event {
        match &mut self.kind {
            Kind::PullRequest { pr, .. } => pr.body = Some(text.to_string()),
            Kind::Review { body, .. } | Kind::Release { body, .. } => {
                *body = Some(text.to_string())
            }
            _ => {}
        }
        self
    }

    /// The release's name (its tag when not given).
    pub fn named(mut self, text: &str) -> Event {
        if let Kind::Release { name, .. } = &mut self.kind {
            *name = Some(text.to_string());
        }
        self
    }

    /// Marks the release a pre-release.
    pub fn prerelease(mut self) -> Event {
        if let Kind::Release { prerelease, .. } = &mut self.kind {
            *prerelease = true;
        }
        self
    }

    /// Who did it (`sender`); by default the author, pusher or reviewer.
    pub fn sender(mut self, login: &str) -> Event {
        self.sender = Some(login.to_string());
        self
    }

    fn pull_request(&mut self) -> Option<&mut PullRequest> {
        match &mut self.kind {
            Kind::PullRequest { pr, .. } | Kind::Review { pr, .. } => Some(pr),
            _ => None,
        }
    }

    /// `X-GitHub-Event`: `push`, `pull_request`, `pull_request_review`,
    /// `release` or `ping`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Push { .. } => "push",
            Kind::PullRequest { .. } => "pull_request",
            Kind::Review { .. } => "pull_request_review",
            Kind::Release { .. } => "release",
            Kind::Ping { .. } => "ping",
        }
    }

    /// The payload's `action`, when the event has one.
    pub fn action(&self) -> Option<&'static str> {
        match &self.kind {
            Kind::PullRequest { closed: None, .. } => Some("opened"),
            Kind::PullRequest { .. } => Some("closed"),
            Kind::Review { .. } => Some("submitted"),
            Kind::Release { .. } => Some("published"),
            Kind::Push { .. } | Kind::Ping { .. } => None,
        }
    }

    /// The event's key in the OpenAPI description's `x-webhooks`
    /// (`pull-request-opened`, `push` …).
    pub fn schema_key(&self) -> String {
        let name = self.name().replace('_', "-");
        match self.action() {
            Some(action) => format!("{name}-{action}"),
            None => name,
        }
    }

    /// The login the payload's `sender` is.
    pub(super) fn sender_login(&self) -> String {
        if let Some(sender) = &self.sender {
            return sender.clone();
        }
        match &self.kind {
            Kind::Push { commits, .. } => commits
                .last()
                .map(|(_, author)| author.clone())
                .unwrap_or_else(|| "octocat".to_string()),
            Kind::PullRequest { pr, .. } => pr.author.clone(),
            Kind::Review { reviewer, .. } => reviewer.clone(),
            Kind::Release { author, .. } => author.clone(),
            Kind::Ping { .. } => "octocat".to_string(),
        }
    }

    /// Every login the payload names, so the caller can give each an id.
    pub(super) fn logins(&self) -> Vec<String> {
        let mut logins = vec![self.sender_login()];
        match &self.kind {
            Kind::Push { commits, .. } => logins.extend(commits.iter().map(|(_, a)| a.clone())),
            Kind::PullRequest { pr, .. } => logins.push(pr.author.clone()),
            Kind::Review { pr, reviewer, .. } => {
                logins.push(pr.author.clone());
                logins.push(reviewer.clone());
            }
            Kind::Release { author, .. } => logins.push(author.clone()),
            Kind::Ping { .. } => {}
        }
        logins
    }

    /// The payload, for `repo` (owned by `owner`, a `simple-user`), with
    /// `user` giving each login's `simple-user`, and `id` an id for what
    /// the event creates (a review, a release).
    pub(super) fn payload(
        &self,
        base: &str,
        repo: &Repo,
        owner: Value,
        user: &dyn Fn(&str) -> Value,
        id: u64,
    ) -> Value {
        let full = repo.full_name();
        let html = format!("{base}/{full}");
        let api = format!("{base}/repos/{full}");
        let push = matches!(self.kind, Kind::Push { .. });
        let repository = super::objects::webhook_repository(base, repo, owner, push);
        let sender = user(&self.sender_login());
        let mut payload = match &self.kind {
            Kind::Push { branch, commits } => {
                let before = sha(&[&full, branch, "before"]);
                let mut parent = before.clone();
                let commits: Vec<Value> = commits
                    .iter()
                    .enumerate()
                    .map(|(i, (message, author))| {
                        let id = sha(&[&full, branch, &parent, &i.to_string(), message]);
                        parent = id.clone();
                        let person = json!({
                            "name": author,
                            "email": format!("{author}@users.noreply.github.com"),
                            "username": author,
                        });
                        json!({
                            "id": id,
                            "tree_id": sha(&[&id, "tree"]),
                            "distinct": true,
                            "message": message,
                            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                            "url": format!("{html}/commit/{id}"),
                            "author": person,
                            "committer": person,
                            "added": [],
                            "removed": [],
                            "modified": ["README.md"],
                        })
                    })
                    .collect();
                let pusher = self.sender_login();
                json!({
                    "ref": format!("refs/heads/{branch}"),
                    "before": before,
                    "after": parent,
                    "created": false,
                    "deleted": false,
                    "forced": false,
                    "base_ref": null,
                    "compare": format!("{html}/compare/{}...{}", &before[..12], &parent[..12]),
                    "head_commit": commits.last().cloned().unwrap_or(Value::Null),
                    "commits": commits,
                    "pusher": {
                        "name": pusher,
                        "email": format!("{pusher}@users.noreply.github.com"),
                    },
                })
            }
            Kind::PullRequest { closed, pr } => {
                let mut object = pull_request(base, repo, &repository, pr, user);
                if let Some(merged) = closed {
                    let at = now();
                    object["state"] = json!("closed");
                    object["closed_at"] = json!(at);
                    if *merged {
                        object["merged"] = json!(true);
                        object["merged_at"] = json!(at);
                        object["merged_by"] = sender.clone();
                        object["merge_commit_sha"] =
                            json!(sha(&[&full, &pr.number.to_string(), "merge"]));
                    }
                }
                json!({
                    "action": self.action(),
                    "number": pr.number,
                    "pull_request": object,
                })
            }
            Kind::Review {
                pr,
                reviewer,
                state,
                body,
            } => {
                let object = pull_request(base, repo, &repository, pr, user);
                let pr_api = format!("{api}/pulls/{}", pr.number);
                let pr_html = format!("{html}/pull/{}", pr.number);
                json!({
                    "action": "submitted",
                    "review": {
                        "id": id,
                        "node_id": node_id("PullRequestReview", id),
                        "user": user(reviewer),
                        "body": body,
                        "commit_id": object["head"]["sha"],
                        "submitted_at": now(),
                        "state": state,
                        "html_url": format!("{pr_html}#pullrequestreview-{id}"),
                        "pull_request_url": pr_api,
                        "author_association": "MEMBER",
                        "_links": {
                            "html": {"href": format!("{pr_html}#pullrequestreview-{id}")},
                            "pull_request": {"href": pr_api},
                        },
                    },
                    "pull_request": object,
                })
            }
            Kind::Release {
                tag,
                author,
                name,
                body,
                prerelease,
            } => {
                let url = format!("{api}/releases/{id}");
                let at = now();
                json!({
                    "action": "published",
                    "release": {
                        "url": url,
                        "assets_url": format!("{url}/assets"),
                        "upload_url": format!("{url}/assets{{?name,label}}"),
                        "html_url": format!("{html}/releases/tag/{tag}"),
                        "id": id,
                        "node_id": node_id("Release", id),
                        "author": user(author),
                        "tag_name": tag,
                        "target_commitish": repo.default_branch,
                        "name": name.clone().unwrap_or_else(|| tag.clone()),
                        "draft": false,
                        "prerelease": prerelease,
                        "immutable": false,
                        "created_at": at,
                        "updated_at": at,
                        "published_at": at,
                        "assets": [],
                        "tarball_url": format!("{api}/tarball/{tag}"),
                        "zipball_url": format!("{api}/zipball/{tag}"),
                        "body": body,
                    },
                })
            }
            Kind::Ping { hook, hook_id } => json!({
                "zen": "Design for failure.",
                "hook_id": hook_id,
                "hook": hook,
            }),
        };
        payload["repository"] = repository;
        payload["sender"] = sender;
        payload
    }
}

/// A pull request as the webhook payloads carry it (open, not merged).
fn pull_request(
    base: &str,
    repo: &Repo,
    repository: &Value,
    pr: &PullRequest,
    user: &dyn Fn(&str) -> Value,
) -> Value {
    let full = repo.full_name();
    let api = format!("{base}/repos/{full}");
    let html = format!("{base}/{full}/pull/{}", pr.number);
    let url = format!("{api}/pulls/{}", pr.number);
    let id = repo.id * 100_000 + pr.number;
    let head_sha = sha(&[&full, &pr.head]);
    let base_sha = sha(&[&full, &repo.default_branch]);
    let owner = repository["owner"].clone();
    let branch = |name: &str, sha: &str| {
        json!({
            "label": format!("{}:{name}", repo.owner),
            "ref": name,
            "sha": sha,
            "user": owner,
            "repo": repository,
        })
    };
    let labels: Vec<Value> = pr
        .labels
        .iter()
        .map(|name| {
            let id = u64::from_str_radix(&sha(&[name])[..8], 16).unwrap_or(1);
            json!({
                "id": id,
                "node_id": node_id("Label", id),
                "url": format!("{api}/labels/{name}"),
                "name": name,
                "color": "ededed",
                "default": false,
                "description": null,
            })
        })
        .collect();
    let links = json!({
        "self": {"href": url},
        "html": {"href": html},
        "issue": {"href": format!("{api}/issues/{}", pr.number)},
        "comments": {"href": format!("{api}/issues/{}/comments", pr.number)},
        "review_comments": {"href": format!("{url}/comments")},
        "review_comment": {"href": format!("{api}/pulls/comments{{/number}}")},
        "commits": {"href": format!("{url}/commits")},
        "statuses": {"href": format!("{api}/statuses/{head_sha}")},
    });
    let created = now();
    let mut object = json!({
        "url": url,
        "id": id,
        "node_id": node_id("PullRequest", id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": format!("{api}/issues/{}", pr.number),
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{}/comments", pr.number),
        "statuses_url": format!("{api}/statuses/{head_sha}"),
        "number": pr.number,
        "state": "open",
        "locked": false,
        "title": pr.title,
        "user": user(&pr.author),
        "body": pr.body,
        "labels": labels,
        "milestone": null,
        "active_lock_reason": null,
        "created_at": created,
        "updated_at": created,
        "closed_at": null,
        "merged_at": null,
        "merge_commit_sha": null,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
    });
    let rest = json!({
        "head": branch(&pr.head, &head_sha),
        "base": branch(&repo.default_branch, &base_sha),
        "_links": links,
        "author_association": "MEMBER",
        "auto_merge": null,
        "draft": false,
        "merged": false,
        "mergeable": null,
        "rebaseable": null,
        "mergeable_state": "unknown",
        "merged_by": null,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    });
    if let (Some(object), Value::Object(rest)) = (object.as_object_mut(), rest) {
        object.extend(rest);
    }
    object
}

/// A commit-like SHA, the same for the same parts.
fn sha(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())[..40].to_string()
}
