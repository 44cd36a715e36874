//! The JSON objects GitHub answers with, as its OpenAPI description names
//! them (`simple-user`, `full-repository`, `hook`, `migration` …): every
//! field the description marks required, with the type it gives, and the
//! URLs pointing back at the stand-in so a client following one stays here.

use serde_json::{Map, Value, json};

use super::{Hook, Invitation, Migration, Repo};

/// GitHub's timestamps: RFC 3339 in UTC, to the second.
pub(super) fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A GraphQL node id in GitHub's style (opaque to clients).
pub(super) fn node_id(kind: &str, id: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("0:{kind}{id}"))
}

/// `simple-user` (an account: a user, a bot, or an organization).
pub(super) fn user(base: &str, login: &str, id: u64, kind: &str) -> Value {
    let api = format!("{base}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(kind, id),
        "avatar_url": format!("{base}/avatars/u/{id}?v=4"),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{base}/{login}"),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// The fields `minimal-repository`, `full-repository` and the webhook
/// payloads' `repository` share: identity and the URL templates.
fn repository_core(base: &str, repo: &Repo, owner: Value) -> Map<String, Value> {
    let full = repo.full_name();
    let api = format!("{base}/repos/{full}");
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_string(), value);
    };
    put("id", json!(repo.id));
    put("node_id", json!(node_id("Repository", repo.id)));
    put("name", json!(repo.name));
    put("full_name", json!(full));
    put("owner", owner);
    put("private", json!(repo.private));
    put("html_url", json!(format!("{base}/{full}")));
    put("description", json!(repo.description));
    put("fork", json!(false));
    put("url", json!(api));
    for (key, path) in [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ] {
        put(key, json!(format!("{api}{path}")));
    }
    map
}

/// The fields of a repository beyond its identity, as `full-repository`
/// and the webhook payloads carry them; `created_at`/`pushed_at` are given
/// by the caller (a push payload has them as Unix seconds).
fn repository_details(base: &str, repo: &Repo, map: &mut Map<String, Value>) {
    let full = repo.full_name();
    let host = base
        .split("://")
        .nth(1)
        .unwrap_or(base)
        .split('/')
        .next()
        .unwrap_or("");
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_string(), value);
    };
    put("updated_at", json!(repo.updated_at));
    put("git_url", json!(format!("git://{host}/{full}.git")));
    put("ssh_url", json!(format!("git@{host}:{full}.git")));
    put("clone_url", json!(format!("{base}/{full}.git")));
    put("svn_url", json!(format!("{base}/{full}")));
    put("mirror_url", Value::Null);
    put("homepage", json!(repo.homepage));
    put("language", Value::Null);
    put("size", json!(0));
    put("stargazers_count", json!(0));
    put("watchers_count", json!(0));
    put("watchers", json!(0));
    put("forks_count", json!(0));
    put("forks", json!(0));
    put("open_issues_count", json!(0));
    put("open_issues", json!(0));
    put("has_issues", json!(repo.has_issues));
    put("has_projects", json!(repo.has_projects));
    put("has_downloads", json!(repo.has_downloads));
    put("has_wiki", json!(repo.has_wiki));
    put("has_pages", json!(false));
    put("has_discussions", json!(false));
    put("archived", json!(false));
    put("disabled", json!(false));
    put("is_template", json!(repo.is_template));
    put("allow_forking", json!(!repo.private));
    put("web_commit_signoff_required", json!(false));
    put("license", Value::Null);
    put("topics", json!([]));
    put("visibility", json!(repo.visibility));
    put("default_branch", json!(repo.default_branch));
}

/// `minimal-repository`.
pub(super) fn minimal_repository(base: &str, repo: &Repo, owner: Value) -> Value {
    Value::Object(repository_core(base, repo, owner))
}

/// `full-repository`, as its creator (an admin) sees it.
pub(super) fn full_repository(base: &str, repo: &Repo, owner: Value) -> Value {
    let mut map = repository_core(base, repo, owner.clone());
    repository_details(base, repo, &mut map);
    map.insert("created_at".into(), json!(repo.created_at));
    map.insert("pushed_at".into(), json!(repo.created_at));
    map.insert(
        "permissions".into(),
        json!({"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}),
    );
    map.insert("allow_rebase_merge".into(), json!(true));
    map.insert("allow_squash_merge".into(), json!(true));
    map.insert("allow_merge_commit".into(), json!(true));
    map.insert("allow_auto_merge".into(), json!(false));
    map.insert("delete_branch_on_merge".into(), json!(false));
    map.insert("network_count".into(), json!(0));
    map.insert("subscribers_count".into(), json!(0));
    if owner["type"] == "Organization" {
        map.insert("organization".into(), owner);
    }
    Value::Object(map)
}

/// A webhook payload's `repository`. Push payloads carry `created_at` and
/// `pushed_at` as Unix seconds (and `stargazers`, `master_branch`), the
/// other events as timestamps.
pub(super) fn webhook_repository(base: &str, repo: &Repo, owner: Value, push: bool) -> Value {
    let mut map = repository_core(base, repo, owner);
    repository_details(base, repo, &mut map);
    if push {
        let seconds = chrono::DateTime::parse_from_rfc3339(&repo.created_at)
            .map(|t| t.timestamp())
            .unwrap_or(0);
        map.insert("created_at".into(), json!(seconds));
        map.insert("pushed_at".into(), json!(seconds));
        map.insert("stargazers".into(), json!(0));
        map.insert("master_branch".into(), json!(repo.default_branch));
    } else {
        map.insert("created_at".into(), json!(repo.created_at));
        map.insert("pushed_at".into(), json!(repo.created_at));
    }
    Value::Object(map)
}

/// `repository-invitation`.
pub(super) fn invitation(
    base: &str,
    repo: &Repo,
    owner: Value,
    invitation: &Invitation,
    inviter: Value,
    invitee: Value,
) -> Value {
    json!({
        "id": invitation.id,
        "node_id": node_id("RepositoryInvitation", invitation.id),
        "repository": minimal_repository(base, repo, owner),
        "invitee": invitee,
        "inviter": inviter,
        "permissions": invitation.permissions,
        "created_at": invitation.created_at,
        "expired": false,
        "url": format!("{base}/user/repository_invitations/{}", invitation.id),
        "html_url": format!("{base}/{}/invitations", repo.full_name()),
    })
}

/// `team-membership`.
pub(super) fn team_membership(
    base: &str,
    team_id: u64,
    login: &str,
    role: &str,
    state: &str,
) -> Value {
    json!({
        "url": format!("{base}/teams/{team_id}/memberships/{login}"),
        "role": role,
        "state": state,
    })
}

/// `hook` (a repository webhook; the secret is never shown).
pub(super) fn hook(base: &str, full_name: &str, hook: &Hook) -> Value {
    let api = format!("{base}/repos/{full_name}/hooks/{}", hook.id);
    let mut config = json!({
        "url": hook.url,
        "content_type": hook.content_type,
        "insecure_ssl": hook.insecure_ssl,
    });
    if hook.secret.is_some() {
        config["secret"] = json!("********");
    }
    json!({
        "type": "Repository",
        "id": hook.id,
        "name": "web",
        "active": hook.active,
        "events": hook.events,
        "config": config,
        "updated_at": hook.updated_at,
        "created_at": hook.created_at,
        "url": api,
        "test_url": format!("{api}/test"),
        "ping_url": format!("{api}/pings"),
        "deliveries_url": format!("{api}/deliveries"),
        "last_response": {
            "code": hook.last_response.0,
            "status": hook.last_response.1,
            "message": hook.last_response.2,
        },
    })
}

/// `migration`.
pub(super) fn migration(
    base: &str,
    migration: &Migration,
    owner: Value,
    repos: Vec<Value>,
) -> Value {
    let url = format!("{base}/orgs/{}/migrations/{}", migration.org, migration.id);
    json!({
        "id": migration.id,
        "node_id": node_id("Migration", migration.id),
        "owner": owner,
        "guid": migration.guid,
        "state": migration.state,
        "lock_repositories": migration.lock_repositories,
        "exclude_metadata": migration.exclude_metadata,
        "exclude_git_data": migration.exclude_git_data,
        "exclude_attachments": migration.exclude_attachments,
        "exclude_releases": migration.exclude_releases,
        "exclude_owner_projects": migration.exclude_owner_projects,
        "org_metadata_only": migration.org_metadata_only,
        "repositories": repos,
        "url": url,
        "archive_url": format!("{url}/archive"),
        "exclude": [],
        "created_at": migration.created_at,
        "updated_at": migration.updated_at,
    })
}
