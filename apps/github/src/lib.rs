//! `/spy github …`: an organization's GitHub from Slack — create
//! repositories, add people, manage webhooks, take off-site backups — and
//! a channel's feed of a repository's pushes, pull requests, reviews and
//! releases. See README.md for what people type and see; this file is the
//! handlers, `args` what they type, `api` GitHub's REST API and its errors,
//! `events` the webhook deliveries, `render` the texts.
//!
//! The app holds no secret: the operator's allow rule for the API carries
//! the token, the rule for the backup store signs with AWS SigV4, and the
//! host checks GitHub's signature on a delivery before the app runs.

mod api;
mod args;
mod events;
mod render;

use std::collections::BTreeMap;

use botyard_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use api::{explain, Failure, GitHub};
use args::{Filters, Kind, RepoRef, Target};
use events::Event;
use render::{escape, link, thousands};

/// How long a backup waits for GitHub to export, at most.
const EXPORT_FOR_MS: u64 = 6 * 60 * 60 * 1000;
/// Failed tries in a row (GitHub or the store unreachable) before a backup
/// is given up.
const BACKUP_TRIES: u32 = 3;
/// Delivery ids remembered, to run a delivery GitHub sends twice once.
const SEEN_KEPT: usize = 200;

fn app() -> App {
    App::new(
        "github",
        "GitHub: create repositories, add people, manage webhooks, back repositories up, and follow a repository's events in a channel",
    )
    .setting(
        "api_url",
        setting_spec("GitHub's REST API: https://api.github.com, or your Enterprise server's https://HOST/api/v3 (allow it, with the token, in [[apps.github.http.allow]])")
            .default("https://api.github.com"),
    )
    .setting(
        "org",
        setting_spec("The organization the app administers (its login, as in github.com/ORG)").required(),
    )
    .setting(
        "s3_url",
        setting_spec("For backups: the S3-compatible store's endpoint, https://s3.eu-west-1.amazonaws.com (allow it with an aws_sigv4 credential)"),
    )
    .setting("bucket", setting_spec("For backups: the bucket archives go to, as <bucket>/<org>/<repo>/<time>.tar.gz"))
    .setting(
        "poll_seconds",
        setting_spec("How often a backup asks GitHub whether its export is ready, in seconds").default("30"),
    )
    .command(
        "/spy github repo create",
        spec("Create a repository in the organization").usage("<name> [--private] [--description \"…\"]"),
        repo_create,
    )
    .command(
        "/spy github member add",
        spec("Add someone to a repository (collaborator) or a team").usage(
            "<user> <repo|@team> [--permission pull|triage|push|maintain|admin] [--maintainer]",
        ),
        member_add,
    )
    .command(
        "/spy github hooks list",
        spec("A repository's webhooks").usage("<repo>"),
        hooks_list,
    )
    .command(
        "/spy github hooks add",
        spec("Add a webhook to a repository").usage("<repo> <url> [events…]"),
        hooks_add,
    )
    .command(
        "/spy github hooks remove",
        spec("Remove a repository's webhook").usage("<repo> <id>"),
        hooks_remove,
    )
    .command(
        "/spy github backup",
        spec("Export a repository and store the archive off-site").usage("<repo>"),
        backup,
    )
    .command(
        "/spy github subscribe",
        spec("Follow a repository's events in this channel").usage(
            "<repo> [--labels a,b] [--authors x,y] [--events push,pull_request,review,release]",
        ),
        subscribe,
    )
    .command(
        "/spy github unsubscribe",
        spec("Stop following a repository in this channel").usage("<repo>"),
        unsubscribe,
    )
    .command(
        "/spy github subscriptions",
        spec("The repositories this channel follows"),
        subscriptions,
    )
    // What people say to `@botyard` for these (English and Korean): a
    // change is only ever offered, with a button.
    .phrase(
        Phrase::new("/spy github repo create {name}")
            .aliases(["create repo", "new repository", "make a repo", "저장소 만들", "저장소 생성", "레포 생성"])
            .examples(["create a repository named {name}", "new repo {name}", "{name} 저장소 생성해줘"])
            .slot("name", Slot::word()),
    )
    .phrase(
        Phrase::new("/spy github member add {user} {repo}")
            .aliases(["add member", "add collaborator", "give access", "권한 추가", "멤버 추가", "추가"])
            .examples(["add {user} to the {repo} repository", "give {user} access to {repo}", "{user} {repo} 저장소에 추가해줘"])
            .slot("user", Slot::user())
            .slot("repo", Slot::word()),
    )
    .phrase(
        Phrase::new("/spy github backup {repo}")
            .aliases(["backup", "back up", "archive", "export", "백업"])
            .examples(["back up the {repo} repository", "archive repo {repo}", "{repo} 저장소 백업"])
            .slot("repo", Slot::word()),
    )
    .phrase(
        Phrase::new("/spy github hooks list {repo}")
            .aliases(["webhooks", "hooks", "웹훅"])
            .examples(["list the webhooks of the {repo} repository", "{repo} 웹훅 목록"])
            .slot("repo", Slot::word())
            .read_only(),
    )
    .phrase(
        Phrase::new("/spy github subscriptions")
            .aliases(["subscriptions", "followed repositories", "구독 목록"])
            .examples(["which repositories does this channel follow"])
            .read_only(),
    )
    .tick("backup:*", backup_tick)
    .webhook(
        "github",
        "GitHub's webhook deliveries: pushes, pull requests, reviews, releases",
        webhook,
    )
}

export_app!(app);

// --- settings -------------------------------------------------------------

fn github() -> Result<GitHub, String> {
    let org = settings::get("org")
        .filter(|o| !o.trim().is_empty())
        .ok_or("The operator has not set `org` in [apps.github.settings]: the organization this app administers")?;
    let base = settings::get("api_url").unwrap_or_else(|| "https://api.github.com".into());
    Ok(GitHub::new(&base, &org))
}

fn poll_ms() -> u64 {
    settings::get("poll_seconds")
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(30)
        .max(1)
        * 1000
}

/// Where backups go: the store's endpoint (no trailing `/`) and the bucket.
fn backup_store() -> Result<(String, String), String> {
    let url = settings::get("s3_url").filter(|u| !u.trim().is_empty());
    let bucket = settings::get("bucket").filter(|b| !b.trim().is_empty());
    match (url, bucket) {
        (Some(url), Some(bucket)) => Ok((
            url.trim().trim_end_matches('/').to_string(),
            bucket.trim().trim_matches('/').to_string(),
        )),
        _ => Err("Backups are not set up: the operator sets `s3_url` and `bucket` in [apps.github.settings], and allows that URL with an `aws_sigv4` credential (see the app's README). Nothing was started.".into()),
    }
}

// --- administration ---------------------------------------------------------

fn repo_create(request: CommandRequest) -> Result<Reply, String> {
    let gh = github()?;
    let create = args::repo_create(&request.text)?;
    let full = format!("{}/{}", gh.org, create.name);
    let mut body = json!({ "name": create.name, "private": create.private });
    if let Some(description) = &create.description {
        body["description"] = json!(description);
    }
    let doing = format!("creating `{full}`");
    let answer = gh
        .call("POST", &format!("/orgs/{}/repos", gh.org), Some(&body))
        .map_err(|f| {
            explain(
                &f,
                &doing,
                &format!(
                    "there is no organization `{}`, or the token cannot see it",
                    gh.org
                ),
                &gh.base,
            )
        })?;
    let repo = answer.json.unwrap_or_default();
    let name = repo["full_name"].as_str().unwrap_or(&full);
    let visibility = match repo["private"].as_bool().unwrap_or(create.private) {
        true => "private",
        false => "public",
    };
    let mut text = format!(
        "<@{}> created {} ({visibility})",
        request.context.user_id,
        link(repo["html_url"].as_str(), name)
    );
    if let Some(description) = repo["description"].as_str().filter(|d| !d.is_empty()) {
        text.push_str(&format!(": {}", escape(description)));
    }
    Ok(Reply::in_channel(text))
}

fn member_add(request: CommandRequest) -> Result<Reply, String> {
    let gh = github()?;
    let add = args::member_add(&gh.org, &request.text)?;
    let by = &request.context.user_id;
    let user = &add.user;
    match add.target {
        Target::Repo(repo, permission) => {
            let permission = permission.unwrap_or_else(|| "push".into());
            let doing = format!("adding `{user}` to `{}`", repo.full());
            let answer = gh
                .call(
                    "PUT",
                    &format!("/repos/{}/{}/collaborators/{user}", repo.owner, repo.name),
                    Some(&json!({ "permission": permission })),
                )
                .map_err(|f| explain(&f, &doing, &format!("`{}` does not exist (or the token cannot see it), or there is no user `{user}`", repo.full()), &gh.base))?;
            Ok(Reply::in_channel(match answer.status {
                201 => format!(
                    "<@{by}> invited *{user}* to `{}` with {permission} access; they become a collaborator once they accept GitHub's invitation.",
                    repo.full()
                ),
                _ => format!(
                    "<@{by}> gave *{user}* {permission} access to `{}` (no invitation needed).",
                    repo.full()
                ),
            }))
        }
        Target::Team(slug, role) => {
            let doing = format!("adding `{user}` to team `{slug}`");
            let answer = gh
                .call(
                    "PUT",
                    &format!("/orgs/{}/teams/{slug}/memberships/{user}", gh.org),
                    Some(&json!({ "role": role })),
                )
                .map_err(|f| {
                    explain(
                        &f,
                        &doing,
                        &format!(
                            "{} has no team `{slug}` (or the token cannot see it)",
                            gh.org
                        ),
                        &gh.base,
                    )
                })?;
            let state = answer
                .json
                .as_ref()
                .and_then(|j| j["state"].as_str())
                .unwrap_or("active")
                .to_string();
            let as_role = if role == "maintainer" {
                " as a maintainer"
            } else {
                ""
            };
            Ok(Reply::in_channel(match state.as_str() {
                "pending" => format!(
                    "<@{by}> added *{user}* to @{slug}{as_role}; pending until they accept the invitation to join {}.",
                    gh.org
                ),
                _ => format!("<@{by}> added *{user}* to @{slug}{as_role}."),
            }))
        }
    }
}

fn repo_missing(repo: &RepoRef) -> String {
    format!(
        "`{}` does not exist, or the token cannot see it",
        repo.full()
    )
}

fn hooks_list(request: CommandRequest) -> Result<Reply, String> {
    let gh = github()?;
    let repo = args::hooks_list(&gh.org, &request.text)?;
    let doing = format!("for `{}`", repo.full());
    let answer = gh
        .call(
            "GET",
            &format!("/repos/{}/{}/hooks", repo.owner, repo.name),
            None,
        )
        .map_err(|f| explain(&f, &doing, &repo_missing(&repo), &gh.base))?;
    let hooks = answer
        .json
        .as_ref()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(Reply::ephemeral(render::hooks(&repo.full(), &hooks)))
}

fn hooks_add(request: CommandRequest) -> Result<Reply, String> {
    let gh = github()?;
    let add = args::hooks_add(&gh.org, &request.text)?;
    let repo = &add.repo;
    let body = json!({
        "name": "web",
        "active": true,
        "events": add.events,
        "config": { "url": add.url, "content_type": "json", "insecure_ssl": "0" },
    });
    let doing = format!("adding a webhook to `{}`", repo.full());
    let answer = gh
        .call(
            "POST",
            &format!("/repos/{}/{}/hooks", repo.owner, repo.name),
            Some(&body),
        )
        .map_err(|f| explain(&f, &doing, &repo_missing(repo), &gh.base))?;
    let id = answer
        .json
        .as_ref()
        .and_then(|j| j["id"].as_u64())
        .unwrap_or_default();
    Ok(Reply::in_channel(format!(
        "<@{}> added webhook `{id}` to `{}`: {} for {}. GitHub pings it now.",
        request.context.user_id,
        repo.full(),
        escape(&add.url),
        add.events.join(", ")
    )))
}

fn hooks_remove(request: CommandRequest) -> Result<Reply, String> {
    let gh = github()?;
    let (repo, id) = args::hooks_remove(&gh.org, &request.text)?;
    let doing = format!("for webhook `{id}` of `{}`", repo.full());
    gh.call(
        "DELETE",
        &format!("/repos/{}/{}/hooks/{id}", repo.owner, repo.name),
        None,
    )
    .map_err(|f| {
        explain(
            &f,
            &doing,
            &format!(
                "no such webhook, or {} (`/spy github hooks list {}` shows its webhooks)",
                repo_missing(&repo),
                repo.full()
            ),
            &gh.base,
        )
    })?;
    Ok(Reply::in_channel(format!(
        "<@{}> removed webhook `{id}` from `{}`.",
        request.context.user_id,
        repo.full()
    )))
}

// --- backups --------------------------------------------------------------

/// A backup under way: `backup/<migration id>`, polled by tick
/// `backup:<migration id>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Backup {
    migration: u64,
    org: String,
    repo: String,
    channel: String,
    user: String,
    started_ms: u64,
    #[serde(default)]
    failures: u32,
}

fn backup(request: CommandRequest) -> Result<Reply, String> {
    let gh = github()?;
    let repo = args::backup(&gh.org, &request.text)?;
    let (_, bucket) = backup_store()?;
    let body = json!({ "repositories": [repo.name], "lock_repositories": false });
    let doing = format!("exporting `{}`", repo.full());
    let answer = gh
        .call("POST", &format!("/orgs/{}/migrations", gh.org), Some(&body))
        .map_err(|f| {
            explain(
                &f,
                &doing,
                &format!(
                    "there is no organization `{}`, or the token cannot see it",
                    gh.org
                ),
                &gh.base,
            )
        })?;
    let migration = answer
        .json
        .as_ref()
        .and_then(|j| j["id"].as_u64())
        .ok_or("GitHub started an export but did not say its id; nothing will be stored")?;
    let now = clock::now_ms();
    let record = Backup {
        migration,
        org: gh.org.clone(),
        repo: repo.name.clone(),
        channel: request.context.channel_id.clone(),
        user: request.context.user_id.clone(),
        started_ms: now,
        failures: 0,
    };
    store::set_json(&format!("backup/{migration}"), &record)?;
    schedule::once(&format!("backup:{migration}"), now + poll_ms())?;
    Ok(Reply::in_channel(format!(
        "<@{}> started a backup of `{}`: GitHub is exporting it (migration {migration}); the archive goes to bucket `{}` and I will say here when it is stored.",
        request.context.user_id,
        repo.full(),
        escape(&bucket)
    )))
}

/// What one look at a backup came to.
enum Step {
    /// Not exported yet: look again later.
    Wait,
    /// Something that may pass (a timeout): try again later, a few times.
    Retry(String),
    /// Over, with what to tell the channel.
    Done(String),
    Failed(String),
}

fn backup_tick(tick: Tick) -> Result<(), String> {
    let id = tick.name.trim_start_matches("backup:");
    let key = format!("backup/{id}");
    let Some(mut record) = store::get_json::<Backup>(&key)? else {
        return Ok(()); // already over
    };
    let step = advance(&record);
    let now = clock::now_ms();
    let end = |text: String| -> Result<(), String> {
        store::delete(&key)?;
        slack::post_message(&record.channel, &Message::new(text), None)?;
        Ok(())
    };
    let full = format!("{}/{}", record.org, record.repo);
    match step {
        Step::Done(text) => end(text),
        Step::Failed(why) => end(format!(
            "The backup of `{full}` <@{}> asked for failed: {why}",
            record.user
        )),
        Step::Retry(why) if record.failures + 1 >= BACKUP_TRIES => end(format!(
            "The backup of `{full}` <@{}> asked for failed after {BACKUP_TRIES} tries: {why}",
            record.user
        )),
        Step::Wait if now > record.started_ms + EXPORT_FOR_MS => end(format!(
            "The backup of `{full}` <@{}> asked for failed: GitHub had not exported it after {} hours (migration {}).",
            record.user,
            EXPORT_FOR_MS / 3_600_000,
            record.migration
        )),
        Step::Retry(_) | Step::Wait => {
            if matches!(step, Step::Retry(_)) {
                record.failures += 1;
            } else {
                record.failures = 0;
            }
            store::set_json(&key, &record)?;
            schedule::once(&tick.name, now + poll_ms())?;
            Ok(())
        }
    }
}

/// Looks at a backup once: the export's state, and once exported the
/// archive copied to the store.
fn advance(record: &Backup) -> Step {
    let gh = match github() {
        Ok(gh) => gh,
        Err(e) => return Step::Failed(e),
    };
    let full = format!("{}/{}", record.org, record.repo);
    let path = format!("/orgs/{}/migrations/{}", record.org, record.migration);
    let missing = format!("migration {} of {} is gone", record.migration, record.org);
    let status = match gh.call("GET", &path, None) {
        Ok(answer) => answer.json.unwrap_or_default(),
        Err(f) => {
            return failed_or_retry(
                &f,
                &explain(
                    &f,
                    &format!("about the export of `{full}`"),
                    &missing,
                    &gh.base,
                ),
            )
        }
    };
    match status["state"].as_str().unwrap_or_default() {
        "exported" => {}
        "failed" => {
            return Step::Failed(format!(
                "GitHub could not export it (migration {}).",
                record.migration
            ))
        }
        _ => return Step::Wait,
    }
    // GitHub answers 302 to its storage; the host follows the redirect
    // (each hop checked against the allow-list) and hands over the file.
    let archive = match gh.call("GET", &format!("{path}/archive"), None) {
        Ok(answer) => answer.bytes,
        Err(f) => {
            return failed_or_retry(
                &f,
                &explain(
                    &f,
                    &format!("downloading the archive of `{full}`"),
                    &format!(
                        "the archive of migration {} is gone (GitHub deletes them after 7 days)",
                        record.migration
                    ),
                    &gh.base,
                ),
            )
        }
    };
    let (store_url, bucket) = match backup_store() {
        Ok(found) => found,
        Err(e) => return Step::Failed(e),
    };
    let object = format!(
        "{}/{}/{}.tar.gz",
        record.org,
        record.repo,
        render::stamp(record.started_ms)
    );
    let url = format!("{store_url}/{bucket}/{object}");
    // Signed by the host (the rule's `aws_sigv4`); the app sends no key.
    let sent = http::put(&url)
        .header("Content-Type", "application/gzip")
        .body(archive.clone())
        .send();
    match sent {
        Ok(response) if response.is_success() => Step::Done(format!(
            "Backed up `{full}` for <@{}>: `{}` in bucket `{}` ({} bytes), {}.",
            record.user,
            escape(&object),
            escape(&bucket),
            thousands(archive.len() as u64),
            escape(&store_url)
        )),
        Ok(response) => {
            let body = response.text();
            let tag = |name: &str| {
                body.split(&format!("<{name}>"))
                    .nth(1)
                    .and_then(|rest| rest.split(&format!("</{name}>")).next())
                    .map(str::to_string)
            };
            let why = match (tag("Code"), tag("Message")) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code,
                _ => render::cut(&body, 200),
            };
            let text = format!(
                "the store refused the archive ({} {}) at {}",
                response.status,
                escape(&why),
                escape(&url)
            );
            if response.status >= 500 {
                Step::Retry(text)
            } else {
                Step::Failed(text)
            }
        }
        Err(http::Error::NotAllowed(text)) => Step::Failed(format!(
            "the app may not reach the store: {text}. The operator allows `s3_url` with an `aws_sigv4` credential on its rule"
        )),
        Err(http::Error::InvalidRequest(text)) => Step::Failed(format!(
            "the archive could not be sent ({text}); archives over the host's 4 MiB request limit cannot be stored this way"
        )),
        Err(e) => Step::Retry(format!("could not reach the store at {}: {e}", escape(&store_url))),
    }
}

fn failed_or_retry(failure: &Failure, text: &str) -> Step {
    match failure {
        Failure::Http(
            http::Error::Timeout(_) | http::Error::Transport(_) | http::Error::TooMany(_),
        ) => Step::Retry(text.to_string()),
        Failure::Status { status, .. } if *status >= 500 => Step::Retry(text.to_string()),
        _ => Step::Failed(text.to_string()),
    }
}

// --- subscriptions --------------------------------------------------------

/// One channel's subscription to a repository.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Subscription {
    filters: Filters,
    by: String,
    at_ms: u64,
}

/// The channels following a repository: `sub/<owner>/<repo>` (lower case),
/// by channel id.
type Subscribers = BTreeMap<String, Subscription>;

fn sub_key(repo_key: &str) -> String {
    format!("sub/{repo_key}")
}

fn subscribe(request: CommandRequest) -> Result<Reply, String> {
    let gh = github()?;
    let (repo, filters) = args::subscribe(&gh.org, &request.text)?;
    let channel = request.context.channel_id.clone();
    let subscription = Subscription {
        filters: filters.clone(),
        by: request.context.user_id.clone(),
        at_ms: clock::now_ms(),
    };
    let mut replaced = false;
    store::update_json(&sub_key(&repo.key()), |subs: Option<Subscribers>| {
        let mut subs = subs.unwrap_or_default();
        replaced = subs.insert(channel.clone(), subscription.clone()).is_some();
        subs
    })?;
    let verb = if replaced {
        "changed this channel's subscription to"
    } else {
        "subscribed this channel to"
    };
    Ok(Reply::in_channel(format!(
        "<@{}> {verb} `{}`: {}. GitHub must send the repository's events to botyard (a webhook to `/hooks/github/github`, content type JSON, with the operator's secret).",
        request.context.user_id,
        repo.full(),
        render::filters(&filters)
    )))
}

fn unsubscribe(request: CommandRequest) -> Result<Reply, String> {
    let gh = github()?;
    let repo = args::unsubscribe(&gh.org, &request.text)?;
    let channel = request.context.channel_id.clone();
    let mut found = false;
    let key = sub_key(&repo.key());
    let left = store::update_json(&key, |subs: Option<Subscribers>| {
        let mut subs = subs.unwrap_or_default();
        found = subs.remove(&channel).is_some();
        subs
    })?;
    if left.is_empty() {
        store::delete(&key)?;
    }
    if !found {
        return Err(format!(
            "This channel does not follow `{}` (`/spy github subscriptions` lists what it follows).",
            repo.full()
        ));
    }
    Ok(Reply::in_channel(format!(
        "<@{}> unsubscribed this channel from `{}`.",
        request.context.user_id,
        repo.full()
    )))
}

fn subscriptions(request: CommandRequest) -> Result<Reply, String> {
    let channel = &request.context.channel_id;
    let mut lines = Vec::new();
    for key in store::list_keys("sub/", 1000)? {
        let Some(subs) = store::get_json::<Subscribers>(&key)? else {
            continue;
        };
        if let Some(sub) = subs.get(channel) {
            lines.push(format!(
                "• `{}`: {} (since {}, by <@{}>)",
                key.trim_start_matches("sub/"),
                render::filters(&sub.filters),
                render::when(sub.at_ms),
                sub.by
            ));
        }
    }
    if lines.is_empty() {
        return Ok(Reply::ephemeral(
            "This channel follows no repository; `/spy github subscribe &lt;repo&gt;` starts.",
        ));
    }
    Ok(Reply::ephemeral(format!(
        "This channel follows:\n{}",
        lines.join("\n")
    )))
}

// --- webhook deliveries ---------------------------------------------------

/// Where the thread of pull request `number` of `repo` is in `channel`.
fn thread_key(channel: &str, repo_key: &str, number: u64) -> String {
    format!("thread/{channel}/{repo_key}/{number}")
}

fn webhook(request: WebhookRequest) -> Result<(), String> {
    let name = request
        .header("x-github-event")
        .unwrap_or_default()
        .to_string();
    let delivery = request
        .header("x-github-delivery")
        .map(str::to_string)
        .unwrap_or_else(|| request.delivery_id.clone());
    let seen: Vec<String> = store::get_json("seen")?.unwrap_or_default();
    if seen.contains(&delivery) {
        return Ok(());
    }
    let body = match request
        .content_type
        .starts_with("application/x-www-form-urlencoded")
    {
        true => events::form_payload(&request.body).unwrap_or_default(),
        false => request.body.clone(),
    };
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        // Trying again would not make it JSON.
        log::warn(&format!(
            "delivery {delivery} ({name}) is not JSON; ignored"
        ));
        return Ok(());
    };
    let event = events::parse(&name, &payload);
    if let Some(repo) = event.repo() {
        let repo_key = repo.to_lowercase();
        let subs: Subscribers = store::get_json(&sub_key(&repo_key))?.unwrap_or_default();
        for (channel, sub) in &subs {
            tell(channel, &sub.filters, &event, &repo_key)?;
        }
    }
    store::update_json("seen", |seen: Option<Vec<String>>| {
        let mut seen = seen.unwrap_or_default();
        seen.push(delivery.clone());
        let over = seen.len().saturating_sub(SEEN_KEPT);
        seen.drain(..over);
        seen
    })?;
    Ok(())
}

/// Tells `channel` of `event`, as its subscription's `filters` say.
fn tell(channel: &str, filters: &Filters, event: &Event, repo_key: &str) -> Result<(), String> {
    match event {
        Event::Push { .. } | Event::Release { .. } => {
            if event.passes(filters) {
                if let Some(text) = events::message(event) {
                    slack::post_message(channel, &Message::new(text), None)?;
                }
            }
        }
        Event::PullRequest {
            repo, action, pr, ..
        } => {
            if !filters.events.contains(&Kind::PullRequest) {
                return Ok(());
            }
            let key = thread_key(channel, repo_key, pr.number);
            match action.as_str() {
                "opened" if event.passes(filters) => {
                    let posted = slack::post_message(
                        channel,
                        &Message::new(events::opened(repo, pr)),
                        None,
                    )?;
                    store::set(&key, posted.ts.as_bytes())?;
                }
                "closed" | "reopened" => {
                    if let (Some(ts), Some(text)) =
                        (thread(channel, filters, event, &key)?, events::reply(event))
                    {
                        slack::post_message(channel, &Message::new(text), Some(&ts))?;
                        if action == "closed" {
                            store::delete(&key)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Event::Review { action, pr, .. } => {
            if action != "submitted" || !filters.events.contains(&Kind::Review) {
                return Ok(());
            }
            let key = thread_key(channel, repo_key, pr.number);
            if let (Some(ts), Some(text)) =
                (thread(channel, filters, event, &key)?, events::reply(event))
            {
                slack::post_message(channel, &Message::new(text), Some(&ts))?;
            }
        }
        Event::Other { .. } => {}
    }
    Ok(())
}

/// The `ts` of the pull request's first message in `channel`: the one
/// stored when it was opened, else — when the filters let the event
/// through — a new first message (a pull request opened before the
/// subscription). `None`: the channel does not follow this pull request.
fn thread(
    channel: &str,
    filters: &Filters,
    event: &Event,
    key: &str,
) -> Result<Option<String>, String> {
    if let Some(ts) = store::get(key)? {
        return Ok(Some(String::from_utf8_lossy(&ts).into_owned()));
    }
    let (Event::PullRequest { repo, pr, .. } | Event::Review { repo, pr, .. }) = event else {
        return Ok(None);
    };
    if !event.passes(filters) {
        return Ok(None);
    }
    let posted = slack::post_message(channel, &Message::new(events::header(repo, pr)), None)?;
    store::set(key, posted.ts.as_bytes())?;
    Ok(Some(posted.ts))
}
