//! The HTTP side of the GitHub stand-in: the routes, and around them
//! [`edge`] (the token, GitHub's headers, the exchange recorded and
//! checked). Each handler checks its body as GitHub does before anything
//! else and answers GitHub's error shapes.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::{
    Event, Exchange, Hook, Invitation, Migration, Repo, Shared, Stored, TeamMember, archive, guid,
    objects,
};

/// The request's JSON body, parsed once by [`edge`].
#[derive(Clone)]
struct JsonBody(Option<Value>);

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/orgs/{org}/repos", post(create_repo))
        .route("/repos/{owner}/{repo}", get(get_repo))
        .route(
            "/repos/{owner}/{repo}/collaborators/{username}",
            put(add_collaborator),
        )
        .route(
            "/orgs/{org}/teams/{team_slug}/memberships/{username}",
            put(add_team_member),
        )
        .route(
            "/repos/{owner}/{repo}/hooks",
            get(list_hooks).post(create_hook),
        )
        .route(
            "/repos/{owner}/{repo}/hooks/{hook_id}",
            axum::routing::delete(delete_hook),
        )
        .route("/orgs/{org}/migrations", post(start_migration))
        .route("/orgs/{org}/migrations/{migration_id}", get(get_migration))
        .route(
            "/orgs/{org}/migrations/{migration_id}/archive",
            get(migration_archive),
        )
        .route_layer(middleware::from_fn_with_state(shared.clone(), edge));
    api.route(STORAGE_ROUTE, get(storage))
        .fallback(not_implemented)
        .method_not_allowed_fallback(not_implemented)
        .with_state(shared)
}

/// Where the migration archives are "stored" (GitHub redirects to a
/// pre-signed storage URL; no token is needed there).
const STORAGE_ROUTE: &str = "/_storage/migrations/{guid}/archive.tar.gz";

/// Around every API route: the body read and parsed once, the token
/// checked, GitHub's headers added, and the exchange recorded and checked.
async fn edge(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let (mut parts, body) = request.into_parts();
    let request_headers = headers_of(&parts.headers);
    let bytes = axum::body::to_bytes(body, 10 << 20)
        .await
        .unwrap_or_default();
    let parsed = match bytes.iter().all(u8::is_ascii_whitespace) {
        true => Ok(None),
        false => serde_json::from_slice::<Value>(&bytes).map(Some),
    };
    let request_json = parsed.as_ref().ok().cloned().flatten();
    let response = match (authorized(&shared, &parts.headers), parsed) {
        (Err(message), _) => error(StatusCode::UNAUTHORIZED, message, DOCS_ROOT),
        (Ok(()), Err(_)) => error(StatusCode::BAD_REQUEST, "Problems parsing JSON", DOCS_ROOT),
        (Ok(()), Ok(json)) => {
            parts.extensions.insert(JsonBody(json));
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    };
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let response_json = serde_json::from_slice::<Value>(&bytes).ok();
    github_headers(&mut parts.headers, !bytes.is_empty());
    shared.record(Exchange {
        method,
        path,
        template,
        webhook: None,
        request_headers,
        request: request_json,
        status: parts.status.as_u16(),
        response: response_json,
    });
    Response::from_parts(parts, Body::from(bytes))
}

/// The request's headers, without credentials.
fn headers_of(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| *name != header::AUTHORIZATION)
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err("Requires authentication");
    };
    let token = value.split_once(' ').and_then(|(scheme, token)| {
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
            .then_some(token.trim())
    });
    match token {
        Some(token) if shared.tokens.iter().any(|t| t == token) => Ok(()),
        _ => Err("Bad credentials"),
    }
}

/// The headers GitHub puts on every REST answer.
fn github_headers(headers: &mut HeaderMap, json: bool) {
    let reset = (chrono::Utc::now().timestamp() + 3600).to_string();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    if json {
        set("content-type", "application/json; charset=utf-8");
    }
    set("x-github-media-type", "github.v3; format=json");
    set("x-github-api-version-selected", "2022-11-28");
    set("x-github-request-id", &guid()[..23].to_uppercase());
    set("x-ratelimit-limit", "5000");
    set("x-ratelimit-remaining", "4999");
    set("x-ratelimit-used", "1");
    set("x-ratelimit-reset", &reset);
    set("x-ratelimit-resource", "core");
}

const DOCS_ROOT: &str = "https://docs.github.com/rest";

/// GitHub's error body: `{"message", "documentation_url", "status"}`.
fn error(status: StatusCode, message: &str, docs: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": docs,
        "status": status.as_u16().to_string(),
    });
    (status, axum::Json(body)).into_response()
}

fn not_found(docs: &str) -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", docs)
}

/// 422 `Validation Failed` with GitHub's `errors` list.
fn validation_failed(message: &str, errors: Value, docs: &str) -> Response {
    let body = json!({
        "message": message,
        "errors": errors,
        "documentation_url": docs,
        "status": "422",
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

fn json_reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn not_implemented(method: Method, uri: axum::http::Uri) -> Response {
    let message = format!(
        "the GitHub stand-in does not implement {method} {}; see host/src/standins/github.rs",
        uri.path()
    );
    tracing::warn!("{message}");
    error(StatusCode::NOT_FOUND, &message, DOCS_ROOT)
}

/// What a body field must be, for [`check_body`].
enum Want {
    String,
    Bool,
    Integer,
    Strings,
    Object,
    OneOf(&'static [&'static str]),
}

/// Checks `body` as GitHub does before anything else, answering its
/// `Invalid request.` message: `required` fields present, each known one of
/// the right type, and (when `closed`) no other.
fn check_body(
    body: &Option<Value>,
    fields: &[(&str, Want)],
    required: &[&str],
    closed: bool,
) -> Result<serde_json::Map<String, Value>, String> {
    let empty = Value::Object(Default::default());
    let object = match body.as_ref().unwrap_or(&empty) {
        Value::Object(map) => map.clone(),
        other => {
            return Err(format!(
                "Invalid request.\n\nFor 'links/0/schema', {other} is not an object."
            ));
        }
    };
    for name in required {
        if !object.contains_key(*name) {
            return Err(format!("Invalid request.\n\n\"{name}\" wasn't supplied."));
        }
    }
    for (name, value) in &object {
        let Some((_, want)) = fields.iter().find(|(field, _)| field == name) else {
            if closed {
                return Err(format!(
                    "Invalid request.\n\n\"{name}\" is not a permitted key."
                ));
            }
            continue;
        };
        let wrong = |what: &str| {
            Err(format!(
                "Invalid request.\n\nFor 'properties/{name}', {value} is not {what}."
            ))
        };
        match want {
            Want::String if !value.is_string() => return wrong("a string"),
            Want::Bool if !value.is_boolean() => return wrong("a boolean"),
            Want::Integer if !value.is_i64() && !value.is_u64() => return wrong("an integer"),
            Want::Object if !value.is_object() => return wrong("an object"),
            Want::Strings
                if !value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)) =>
            {
                return wrong("an array of strings");
            }
            Want::OneOf(allowed) if !value.as_str().is_some_and(|v| allowed.contains(&v)) => {
                return Err(format!(
                    "Invalid request.\n\nFor 'properties/{name}', {value} is not one of {}.",
                    serde_json::to_string(allowed).unwrap_or_default()
                ));
            }
            _ => {}
        }
    }
    Ok(object)
}

fn invalid(message: String, docs: &str) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, &message, docs)
}

const DOCS_CREATE_REPO: &str =
    "https://docs.github.com/rest/repos/repos#create-an-organization-repository";
const DOCS_GET_REPO: &str = "https://docs.github.com/rest/repos/repos#get-a-repository";
const DOCS_COLLABORATOR: &str =
    "https://docs.github.com/rest/collaborators/collaborators#add-a-repository-collaborator";
const DOCS_TEAM_MEMBER: &str =
    "https://docs.github.com/rest/teams/members#add-or-update-team-membership-for-a-user";
const DOCS_HOOKS: &str = "https://docs.github.com/rest/repos/webhooks";
const DOCS_MIGRATIONS: &str = "https://docs.github.com/rest/migrations/orgs";

async fn create_repo(
    State(shared): State<Arc<Shared>>,
    Path(org): Path<String>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    use Want::*;
    let fields = [
        ("name", String),
        ("description", String),
        ("homepage", String),
        ("private", Bool),
        ("visibility", OneOf(&["public", "private"])),
        ("has_issues", Bool),
        ("has_projects", Bool),
        ("has_wiki", Bool),
        ("has_downloads", Bool),
        ("is_template", Bool),
        ("team_id", Integer),
        ("auto_init", Bool),
        ("gitignore_template", String),
        ("license_template", String),
        ("allow_squash_merge", Bool),
        ("allow_merge_commit", Bool),
        ("allow_rebase_merge", Bool),
        ("allow_auto_merge", Bool),
        ("delete_branch_on_merge", Bool),
        ("use_squash_pr_title_as_default", Bool),
        ("squash_merge_commit_title", String),
        ("squash_merge_commit_message", String),
        ("merge_commit_title", String),
        ("merge_commit_message", String),
        ("custom_properties", Object),
    ];
    let body = match check_body(&body, &fields, &["name"], false) {
        Ok(body) => body,
        Err(message) => return invalid(message, DOCS_CREATE_REPO),
    };
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return validation_failed(
            "Repository creation failed.",
            json!([{"resource": "Repository", "code": "custom", "field": "name",
                    "message": "name is invalid"}]),
            DOCS_CREATE_REPO,
        );
    }
    let flag = |key: &str, default: bool| body.get(key).and_then(Value::as_bool).unwrap_or(default);
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let visibility = text("visibility").unwrap_or_else(|| {
        if flag("private", false) {
            "private"
        } else {
            "public"
        }
        .to_string()
    });
    let mut stored = shared.stored();
    let (_, org) = stored.account(&org);
    let key = format!("{org}/{name}").to_lowercase();
    if stored.repos.contains_key(&key) {
        return validation_failed(
            "Repository creation failed.",
            json!([{"resource": "Repository", "code": "custom", "field": "name",
                    "message": "name already exists on this account"}]),
            DOCS_CREATE_REPO,
        );
    }
    let at = objects::now();
    let id = stored.id();
    let repo = Repo {
        id,
        owner: org,
        name,
        description: text("description"),
        homepage: text("homepage"),
        private: visibility == "private",
        visibility,
        has_issues: flag("has_issues", true),
        has_projects: flag("has_projects", true),
        has_wiki: flag("has_wiki", true),
        has_downloads: flag("has_downloads", true),
        is_template: flag("is_template", false),
        default_branch: "main".into(),
        created_at: at.clone(),
        updated_at: at,
    };
    stored.repos.insert(key, repo.clone());
    let body = shared.full_repository(&mut stored, &repo);
    let location = body["url"].as_str().unwrap_or_default().to_string();
    let mut response = json_reply(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The repository `owner/repo`, or GitHub's 404.
fn find_repo(stored: &Stored, owner: &str, repo: &str) -> Option<Repo> {
    stored
        .repos
        .get(&format!("{owner}/{repo}").to_lowercase())
        .cloned()
}

async fn get_repo(
    State(shared): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
) -> Response {
    let mut stored = shared.stored();
    match find_repo(&stored, &owner, &repo) {
        Some(repo) => json_reply(StatusCode::OK, shared.full_repository(&mut stored, &repo)),
        None => not_found(DOCS_GET_REPO),
    }
}

async fn add_collaborator(
    State(shared): State<Arc<Shared>>,
    Path((owner, repo, username)): Path<(String, String, String)>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    let body = match check_body(&body, &[("permission", Want::String)], &[], false) {
        Ok(body) => body,
        Err(message) => return invalid(message, DOCS_COLLABORATOR),
    };
    let permission = body
        .get("permission")
        .and_then(Value::as_str)
        .unwrap_or("push");
    // The invitation names the permission as `repository-invitation` does.
    let permissions = match permission {
        "pull" | "read" => "read",
        "push" | "write" => "write",
        "triage" => "triage",
        "maintain" => "maintain",
        "admin" => "admin",
        other => {
            return validation_failed(
                "Validation Failed",
                json!([{"resource": "Repository", "code": "custom", "field": "permission",
                        "message": format!("{other} is not a valid permission")}]),
                DOCS_COLLABORATOR,
            );
        }
    };
    let mut stored = shared.stored();
    let Some(repo) = find_repo(&stored, &owner, &repo) else {
        return not_found(DOCS_COLLABORATOR);
    };
    let key = repo.full_name().to_lowercase();
    let login = username.to_lowercase();
    let member = stored
        .org_members
        .contains(&(repo.owner.to_lowercase(), login.clone()));
    let already = stored
        .collaborators
        .get(&key)
        .is_some_and(|c| c.contains(&login));
    if member || already {
        stored.collaborators.entry(key).or_default().insert(login);
        return StatusCode::NO_CONTENT.into_response();
    }
    let existing = stored.invitations.get(&key).and_then(|all| {
        all.iter()
            .position(|i| i.login.eq_ignore_ascii_case(&username))
    });
    let invitation = match existing {
        // Asking again updates the pending invitation.
        Some(at) => {
            let all = stored.invitations.get_mut(&key).expect("found above");
            all[at].permissions = permissions.to_string();
            all[at].clone()
        }
        None => {
            let invitation = Invitation {
                id: stored.id(),
                login: username.clone(),
                permissions: permissions.to_string(),
                created_at: objects::now(),
            };
            stored
                .invitations
                .entry(key)
                .or_default()
                .push(invitation.clone());
            invitation
        }
    };
    let owner = shared.org(&mut stored, &repo.owner);
    let inviter = shared.user(&mut stored, &shared.login);
    let invitee = shared.user(&mut stored, &username);
    let body = objects::invitation(&shared.base, &repo, owner, &invitation, inviter, invitee);
    json_reply(StatusCode::CREATED, body)
}

async fn add_team_member(
    State(shared): State<Arc<Shared>>,
    Path((org, team, username)): Path<(String, String, String)>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    let roles = Want::OneOf(&["member", "maintainer"]);
    let body = match check_body(&body, &[("role", roles)], &[], false) {
        Ok(body) => body,
        Err(message) => return invalid(message, DOCS_TEAM_MEMBER),
    };
    let role = body
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("member")
        .to_string();
    let mut stored = shared.stored();
    let login = username.to_lowercase();
    let state = match stored
        .org_members
        .contains(&(org.to_lowercase(), login.clone()))
    {
        true => "active",
        false => "pending",
    };
    let Some((team_id, members)) = stored
        .teams
        .get_mut(&(org.to_lowercase(), team.to_lowercase()))
    else {
        return not_found(DOCS_TEAM_MEMBER);
    };
    let team_id = *team_id;
    members.insert(
        login,
        TeamMember {
            login: username.clone(),
            role: role.clone(),
            state: state.to_string(),
        },
    );
    let body = objects::team_membership(&shared.base, team_id, &username, &role, state);
    json_reply(StatusCode::OK, body)
}

async fn list_hooks(
    State(shared): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
) -> Response {
    let stored = shared.stored();
    let Some(repo) = find_repo(&stored, &owner, &repo) else {
        return not_found(&format!("{DOCS_HOOKS}#list-repository-webhooks"));
    };
    let full = repo.full_name();
    let hooks: Vec<Value> = stored
        .hooks
        .get(&full.to_lowercase())
        .into_iter()
        .flatten()
        .map(|h| objects::hook(&shared.base, &full, h))
        .collect();
    json_reply(StatusCode::OK, Value::Array(hooks))
}

async fn create_hook(
    State(shared): State<Arc<Shared>>,
    Path((owner, repo)): Path<(String, String)>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    let docs = format!("{DOCS_HOOKS}#create-a-repository-webhook");
    use Want::*;
    let fields = [
        ("name", OneOf(&["web"])),
        ("config", Object),
        ("events", Strings),
        ("active", Bool),
    ];
    let body = match check_body(&body, &fields, &[], true) {
        Ok(body) => body,
        Err(message) => return invalid(message, &docs),
    };
    let config = body.get("config").cloned().unwrap_or(json!({}));
    let Some(url) = config
        .get("url")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return validation_failed(
            "Validation Failed",
            json!([{"resource": "Hook", "code": "custom", "message": "Config must contain url"}]),
            &docs,
        );
    };
    if reqwest::Url::parse(&url).is_err() {
        return validation_failed(
            "Validation Failed",
            json!([{"resource": "Hook", "code": "custom", "message": "Config url is not a valid URL"}]),
            &docs,
        );
    }
    let content_type = match config.get("content_type").and_then(Value::as_str) {
        None | Some("form") => "form",
        Some("json") => "json",
        Some(_) => {
            return validation_failed(
                "Validation Failed",
                json!([{"resource": "Hook", "code": "custom",
                        "message": "Config content_type must be either 'json' or 'form'"}]),
                &docs,
            );
        }
    };
    let insecure_ssl = match config.get("insecure_ssl") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    };
    let events: Vec<std::string::String> = body
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_else(|| vec!["push".to_string()]);
    let mut stored = shared.stored();
    let Some(repo) = find_repo(&stored, &owner, &repo) else {
        return not_found(&docs);
    };
    let full = repo.full_name();
    let at = objects::now();
    let hook = Hook {
        id: stored.id(),
        url,
        content_type: content_type.to_string(),
        secret: config
            .get("secret")
            .and_then(Value::as_str)
            .map(str::to_string),
        insecure_ssl,
        events,
        active: body.get("active").and_then(Value::as_bool).unwrap_or(true),
        created_at: at.clone(),
        updated_at: at,
        last_response: (None, Some("unused".into()), None),
    };
    stored
        .hooks
        .entry(full.to_lowercase())
        .or_default()
        .push(hook.clone());
    drop(stored);
    let answer = objects::hook(&shared.base, &full, &hook);
    // GitHub pings a webhook as soon as it is made.
    if hook.active {
        let shared = shared.clone();
        let ping = Event::ping(hook.id, answer.clone());
        tokio::spawn(async move {
            shared
                .deliver(
                    &hook.url,
                    hook.secret.as_deref(),
                    &hook.content_type,
                    hook.id,
                    &full,
                    &ping,
                )
                .await;
        });
    }
    let location = answer["url"].as_str().unwrap_or_default().to_string();
    let mut response = json_reply(StatusCode::CREATED, answer);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn delete_hook(
    State(shared): State<Arc<Shared>>,
    Path((owner, repo, hook_id)): Path<(String, String, String)>,
) -> Response {
    let docs = format!("{DOCS_HOOKS}#delete-a-repository-webhook");
    let mut stored = shared.stored();
    let Some(repo) = find_repo(&stored, &owner, &repo) else {
        return not_found(&docs);
    };
    let Ok(id) = hook_id.parse::<u64>() else {
        return not_found(&docs);
    };
    let hooks = stored
        .hooks
        .entry(repo.full_name().to_lowercase())
        .or_default();
    let before = hooks.len();
    hooks.retain(|h| h.id != id);
    match hooks.len() < before {
        true => StatusCode::NO_CONTENT.into_response(),
        false => not_found(&docs),
    }
}

async fn start_migration(
    State(shared): State<Arc<Shared>>,
    Path(org): Path<String>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    let docs = format!("{DOCS_MIGRATIONS}#start-an-organization-migration");
    use Want::*;
    let fields = [
        ("repositories", Strings),
        ("lock_repositories", Bool),
        ("exclude_metadata", Bool),
        ("exclude_git_data", Bool),
        ("exclude_attachments", Bool),
        ("exclude_releases", Bool),
        ("exclude_owner_projects", Bool),
        ("org_metadata_only", Bool),
        ("exclude", Strings),
    ];
    let body = match check_body(&body, &fields, &["repositories"], false) {
        Ok(body) => body,
        Err(message) => return invalid(message, &docs),
    };
    let flag = |key: &str| body.get(key).and_then(Value::as_bool).unwrap_or(false);
    let names: Vec<std::string::String> = body["repositories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let mut stored = shared.stored();
    let mut repositories = Vec::new();
    for name in &names {
        // A name alone is a repository of the organization.
        let full = match name.contains('/') {
            true => name.clone(),
            false => format!("{org}/{name}"),
        };
        match stored.repos.get(&full.to_lowercase()) {
            Some(repo) if repo.owner.eq_ignore_ascii_case(&org) => {
                repositories.push(repo.full_name())
            }
            _ => {
                return validation_failed(
                    "Validation Failed",
                    json!([{"resource": "Migration", "code": "invalid", "field": "repositories",
                            "message": format!("{name} is not a repository of {org}")}]),
                    &docs,
                );
            }
        }
    }
    if repositories.is_empty() && !flag("org_metadata_only") {
        return validation_failed(
            "Validation Failed",
            json!([{"resource": "Migration", "code": "missing_field", "field": "repositories"}]),
            &docs,
        );
    }
    let (_, org) = stored.account(&org);
    let at = objects::now();
    let migration = Migration {
        id: stored.id(),
        guid: guid(),
        org,
        state: "pending".into(),
        repositories,
        lock_repositories: flag("lock_repositories"),
        exclude_metadata: flag("exclude_metadata"),
        exclude_git_data: flag("exclude_git_data"),
        exclude_attachments: flag("exclude_attachments"),
        exclude_releases: flag("exclude_releases"),
        exclude_owner_projects: flag("exclude_owner_projects"),
        org_metadata_only: flag("org_metadata_only"),
        created_at: at.clone(),
        updated_at: at,
    };
    stored.migrations.insert(migration.id, migration.clone());
    let body = migration_json(&shared, &mut stored, &migration);
    json_reply(StatusCode::CREATED, body)
}

fn migration_json(shared: &Shared, stored: &mut Stored, migration: &Migration) -> Value {
    let owner = shared.org(stored, &migration.org);
    let repos: Vec<Value> = migration
        .repositories
        .iter()
        .filter_map(|full| stored.repos.get(&full.to_lowercase()).cloned())
        .collect::<Vec<_>>()
        .iter()
        .map(|repo| shared.full_repository(stored, repo))
        .collect();
    objects::migration(&shared.base, migration, owner, repos)
}

/// Migration `id` of `org`, if it is one.
fn find_migration(stored: &Stored, org: &str, id: &str) -> Option<Migration> {
    let id = id.parse::<u64>().ok()?;
    stored
        .migrations
        .get(&id)
        .filter(|m| m.org.eq_ignore_ascii_case(org))
        .cloned()
}

async fn get_migration(
    State(shared): State<Arc<Shared>>,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    let docs = format!("{DOCS_MIGRATIONS}#get-an-organization-migration-status");
    let mut stored = shared.stored();
    let Some(mut migration) = find_migration(&stored, &org, &id) else {
        return not_found(&docs);
    };
    // The export finishes as soon as someone looks.
    if migration.state != "exported" {
        migration.state = "exported".into();
        migration.updated_at = objects::now();
        stored.migrations.insert(migration.id, migration.clone());
    }
    let body = migration_json(&shared, &mut stored, &migration);
    json_reply(StatusCode::OK, body)
}

async fn migration_archive(
    State(shared): State<Arc<Shared>>,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    let docs = format!("{DOCS_MIGRATIONS}#download-an-organization-migration-archive");
    let stored = shared.stored();
    match find_migration(&stored, &org, &id) {
        Some(m) if m.state == "exported" => {
            let location = format!(
                "{}{}",
                shared.base,
                STORAGE_ROUTE.replace("{guid}", &m.guid)
            );
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(location) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        _ => not_found(&docs),
    }
}

/// The archive behind the redirect: `schema.json` and the repositories.
async fn storage(State(shared): State<Arc<Shared>>, Path(guid): Path<String>) -> Response {
    let stored = shared.stored();
    let Some(migration) = stored.migrations.values().find(|m| m.guid == guid) else {
        return (StatusCode::NOT_FOUND, "NoSuchKey").into_response();
    };
    let repositories: Vec<Value> = migration
        .repositories
        .iter()
        .map(|full| json!({"type": "repository", "full_name": full}))
        .collect();
    let entries = vec![
        (
            "schema.json".to_string(),
            br#"{"version":"1.0.1"}"#.to_vec(),
        ),
        (
            "repositories_000001.json".to_string(),
            serde_json::to_vec_pretty(&repositories).unwrap_or_default(),
        ),
    ];
    let bytes = Bytes::from(archive::tar_gz(&entries));
    ([(header::CONTENT_TYPE, "application/x-gzip")], bytes).into_response()
}
