//! A GitHub stand-in on 127.0.0.1: GitHub cannot be reached from the
//! machines botyard is built and tested on, so an app that administers a
//! GitHub organization (creates repositories, adds people, wires webhooks,
//! takes off-site backups) is tested against this — and run against it by
//! `botyard dev`, labelled "simulated". It speaks GitHub's documented REST
//! wire protocol for the endpoints below (paths, status codes, headers,
//! JSON shapes with every field the OpenAPI description requires) and keeps
//! what they changed in memory for a test to look at. The tests hold every
//! exchange to GitHub's published OpenAPI description (`@octokit/openapi`,
//! `tests/support/openapi.rs`) through [`GitHubConfig::validator`].
//!
//! What it covers (anything else answers 404, saying it is not implemented
//! here):
//!
//! | endpoint | answers |
//! |---|---|
//! | `POST /orgs/{org}/repos` | 201 `full-repository`; 422 for a taken name or a body GitHub refuses |
//! | `GET /repos/{owner}/{repo}` | 200 `full-repository`, 404 |
//! | `PUT /repos/{owner}/{repo}/collaborators/{username}` | 201 `repository-invitation`; 204 for a collaborator or org member |
//! | `PUT /orgs/{org}/teams/{team_slug}/memberships/{username}` | 200 `team-membership` (`active` for an org member, else `pending`) |
//! | `GET`/`POST /repos/{owner}/{repo}/hooks` | 200 `[hook]`, 201 `hook` (then a `ping` delivery) |
//! | `DELETE /repos/{owner}/{repo}/hooks/{hook_id}` | 204, 404 |
//! | `POST /orgs/{org}/migrations` | 201 `migration` (`pending`) |
//! | `GET /orgs/{org}/migrations/{migration_id}` | 200 `migration`, `exported` from the first look on |
//! | `GET /orgs/{org}/migrations/{migration_id}/archive` | 302 to a tar.gz the stand-in serves, as GitHub redirects to storage |
//!
//! Every API request needs `Authorization: Bearer <token>` or
//! `token <token>` with one of [`GitHubConfig::tokens`] (401 `Requires
//! authentication` without, `Bad credentials` with another). Webhooks go
//! out with GitHub's headers (`X-GitHub-Event`, `X-GitHub-Delivery`,
//! `X-GitHub-Hook-ID`, `X-Hub-Signature-256`, `User-Agent:
//! GitHub-Hookshot/…`): to the webhooks created through the API
//! ([`GitHubStandIn::emit`]) or to any URL ([`GitHubStandIn::deliver`]).
//!
//! Not modelled: pagination (`GET …/hooks` answers every hook on one
//! page), unknown users (any login exists), rate limits (the headers are
//! sent, never exhausted), the `User-Agent` GitHub requires of clients.
//!
//! Where things are: this file (the handle, the state, webhook delivery),
//! `github/api.rs` (the routes, the token, GitHub's headers and error
//! shapes), `github/objects.rs` (the JSON objects: `full-repository`,
//! `hook` …), `github/events.rs` (the webhook events and their payloads),
//! `github/archive.rs` (a migration's tar.gz).

mod api;
mod archive;
mod events;
mod objects;

pub use events::Event;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Checks one exchange against GitHub's description: `Err` says what broke
/// it. The stand-in calls it on every API request it answers and every
/// webhook it delivers; a failure is kept ([`GitHubStandIn::violations`]).
pub type Validator = Arc<dyn Fn(&Exchange) -> Result<(), String> + Send + Sync>;

/// One request and its answer, as the [`Validator`] sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// `GET`, `POST` …
    pub method: String,
    /// The path asked for (`/orgs/acme/repos`), or a delivery's URL.
    pub path: String,
    /// The OpenAPI path it matched (`/orgs/{org}/repos`), or for a webhook
    /// delivery its `x-webhooks` key (`pull-request-opened`).
    pub template: String,
    /// `Some` for a webhook delivery the stand-in sent (then `request` is
    /// the payload, `request_headers` GitHub's headers, and `status` and
    /// `response` the receiver's).
    pub webhook: Option<String>,
    /// The request's headers (names in lower case), credentials left out.
    pub request_headers: Vec<(String, String)>,
    /// The request's JSON body, if it had one.
    pub request: Option<Value>,
    /// The status answered.
    pub status: u16,
    /// The JSON answered, if any.
    pub response: Option<Value>,
}

/// How to start a [`GitHubStandIn`].
#[derive(Clone)]
pub struct GitHubConfig {
    /// The tokens accepted (`Authorization: Bearer …` or `token …`).
    pub tokens: Vec<String>,
    /// The account the tokens are (it invites collaborators, owns
    /// migrations).
    pub login: String,
    /// Called on every exchange; see [`Validator`].
    pub validator: Option<Validator>,
    /// How long a webhook delivery waits for the receiver.
    pub delivery_timeout: Duration,
    /// Where it listens: a free port of 127.0.0.1 by default; `botyard
    /// dev` gives the address the shipped configuration points at.
    pub listen: std::net::SocketAddr,
}

impl GitHubConfig {
    /// A stand-in accepting `token`.
    pub fn new(token: &str) -> GitHubConfig {
        GitHubConfig {
            tokens: vec![token.to_string()],
            login: "botyard-admin".to_string(),
            validator: None,
            delivery_timeout: Duration::from_secs(10),
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// The same, calling `validator` on every exchange.
    pub fn validated(mut self, validator: Validator) -> GitHubConfig {
        self.validator = Some(validator);
        self
    }
}

/// A repository.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    id: u64,
    owner: String,
    name: String,
    description: Option<String>,
    homepage: Option<String>,
    private: bool,
    visibility: String,
    has_issues: bool,
    has_projects: bool,
    has_wiki: bool,
    has_downloads: bool,
    is_template: bool,
    default_branch: String,
    created_at: String,
    updated_at: String,
}

impl Repo {
    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// A repository nobody created through the API, for a delivery naming it.
    fn assumed(id: u64, full_name: &str) -> Repo {
        let (owner, name) = full_name.split_once('/').unwrap_or(("octo-org", full_name));
        let at = objects::now();
        Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            description: None,
            homepage: None,
            private: false,
            visibility: "public".into(),
            has_issues: true,
            has_projects: true,
            has_wiki: true,
            has_downloads: true,
            is_template: false,
            default_branch: "main".into(),
            created_at: at.clone(),
            updated_at: at,
        }
    }
}

/// A pending invitation to collaborate on a repository.
#[derive(Debug, Clone)]
pub(crate) struct Invitation {
    id: u64,
    login: String,
    permissions: String,
    created_at: String,
}

/// A repository webhook.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    id: u64,
    url: String,
    content_type: String,
    secret: Option<String>,
    insecure_ssl: String,
    events: Vec<String>,
    active: bool,
    created_at: String,
    updated_at: String,
    last_response: (Option<u16>, Option<String>, Option<String>),
}

/// An organization migration (an export).
#[derive(Debug, Clone)]
pub(crate) struct Migration {
    id: u64,
    guid: String,
    org: String,
    state: String,
    repositories: Vec<String>,
    lock_repositories: bool,
    exclude_metadata: bool,
    exclude_git_data: bool,
    exclude_attachments: bool,
    exclude_releases: bool,
    exclude_owner_projects: bool,
    org_metadata_only: bool,
    created_at: String,
    updated_at: String,
}

/// A repository webhook, as a test sees it (with its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct HookInfo {
    pub id: u64,
    pub url: String,
    pub content_type: String,
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub active: bool,
}

/// A team member, as a test sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamMember {
    pub login: String,
    /// `member` or `maintainer`.
    pub role: String,
    /// `active`, or `pending` until they join the organization.
    pub state: String,
}

/// A migration, as a test sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationInfo {
    pub id: u64,
    pub org: String,
    pub state: String,
    pub repositories: Vec<String>,
}

/// One webhook delivery the stand-in sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `X-GitHub-Delivery`.
    pub guid: String,
    /// `X-GitHub-Hook-ID`.
    pub hook_id: u64,
    pub url: String,
    /// `X-GitHub-Event`.
    pub event: String,
    pub action: Option<String>,
    pub payload: Value,
    /// The receiver's status, or `None` when it could not be reached.
    pub status: Option<u16>,
    /// Why it could not be reached.
    pub error: Option<String>,
}

#[derive(Default)]
struct Stored {
    next_id: u64,
    users: BTreeMap<String, (u64, String)>,
    repos: BTreeMap<String, Repo>,
    collaborators: BTreeMap<String, BTreeSet<String>>,
    invitations: BTreeMap<String, Vec<Invitation>>,
    org_members: BTreeSet<(String, String)>,
    teams: BTreeMap<(String, String), (u64, BTreeMap<String, TeamMember>)>,
    hooks: BTreeMap<String, Vec<Hook>>,
    migrations: BTreeMap<u64, Migration>,
    exchanges: Vec<Exchange>,
    violations: Vec<String>,
    deliveries: Vec<Delivery>,
}

impl Stored {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `login`'s id (made on first sight) and its spelling as first seen.
    fn account(&mut self, login: &str) -> (u64, String) {
        let key = login.to_lowercase();
        if let Some(found) = self.users.get(&key) {
            return found.clone();
        }
        let id = self.id();
        self.users.insert(key, (id, login.to_string()));
        (id, login.to_string())
    }
}

struct Shared {
    stored: Mutex<Stored>,
    tokens: Vec<String>,
    login: String,
    validator: Option<Validator>,
    base: String,
    http: reqwest::Client,
}

impl Shared {
    fn stored(&self) -> MutexGuard<'_, Stored> {
        self.stored.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn user(&self, stored: &mut Stored, login: &str) -> Value {
        let (id, login) = stored.account(login);
        objects::user(&self.base, &login, id, "User")
    }

    fn org(&self, stored: &mut Stored, org: &str) -> Value {
        let (id, login) = stored.account(org);
        objects::user(&self.base, &login, id, "Organization")
    }

    fn full_repository(&self, stored: &mut Stored, repo: &Repo) -> Value {
        let owner = self.org(stored, &repo.owner);
        objects::full_repository(&self.base, repo, owner)
    }

    /// Calls the validator and keeps the exchange (and what broke, if anything).
    fn record(&self, exchange: Exchange) {
        let verdict = self.validator.as_ref().map(|check| check(&exchange));
        let mut stored = self.stored();
        if let Some(Err(why)) = verdict {
            stored.violations.push(format!(
                "{} {} ({}) → {}: {why}",
                exchange.method, exchange.path, exchange.template, exchange.status
            ));
        }
        stored.exchanges.push(exchange);
    }

    /// Sends `event` about `repo` to `url`, signed with `secret`, and keeps
    /// the delivery.
    async fn deliver(
        self: &Arc<Self>,
        url: &str,
        secret: Option<&str>,
        content_type: &str,
        hook_id: u64,
        repo: &str,
        event: &Event,
    ) -> Delivery {
        let payload = {
            let mut stored = self.stored();
            let key = repo.to_lowercase();
            let repo = match stored.repos.get(&key) {
                Some(repo) => repo.clone(),
                None => {
                    let id = stored.id();
                    Repo::assumed(id, repo)
                }
            };
            let owner = self.org(&mut stored, &repo.owner);
            let mut users = BTreeMap::new();
            for login in event.logins() {
                let user = self.user(&mut stored, &login);
                users.insert(login, user);
            }
            let id = stored.id();
            event.payload(
                &self.base,
                &repo,
                owner,
                &|login| users.get(login).cloned().unwrap_or(Value::Null),
                id,
            )
        };
        let guid = guid();
        let json = serde_json::to_vec(&payload).expect("a payload serializes");
        let body = match content_type {
            "form" => serde_urlencoded::to_string([("payload", String::from_utf8_lossy(&json))])
                .expect("a form encodes")
                .into_bytes(),
            _ => json,
        };
        let target_id = payload["repository"]["id"].as_u64().unwrap_or(0);
        let mut headers: Vec<(String, String)> = vec![
            ("user-agent".into(), "GitHub-Hookshot/b0tyard".into()),
            ("x-github-event".into(), event.name().into()),
            ("x-github-delivery".into(), guid.clone()),
            ("x-github-hook-id".into(), hook_id.to_string()),
            (
                "x-github-hook-installation-target-id".into(),
                target_id.to_string(),
            ),
            (
                "x-github-hook-installation-target-type".into(),
                "repository".into(),
            ),
            (
                "content-type".into(),
                match content_type {
                    "form" => "application/x-www-form-urlencoded",
                    _ => "application/json",
                }
                .into(),
            ),
        ];
        if let Some(secret) = secret {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .expect("HMAC accepts keys of any length");
            mac.update(&body);
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            headers.push(("x-hub-signature-256".into(), signature));
        }
        let mut request = self.http.post(url).body(body);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let (status, error) = match request.send().await {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let delivery = Delivery {
            guid,
            hook_id,
            url: url.to_string(),
            event: event.name().to_string(),
            action: event.action().map(str::to_string),
            payload: payload.clone(),
            status,
            error: error.clone(),
        };
        {
            let mut stored = self.stored();
            let at = objects::now();
            for hook in stored.hooks.values_mut().flatten() {
                if hook.id == hook_id {
                    hook.updated_at = at.clone();
                    hook.last_response = match (status, &error) {
                        (Some(code), _) => (
                            Some(code),
                            Some(if code < 300 { "active" } else { "failed" }.into()),
                            Some(
                                if code < 300 {
                                    "OK"
                                } else {
                                    "Invalid HTTP Response"
                                }
                                .into(),
                            ),
                        ),
                        (None, e) => (None, Some("failed".into()), e.clone()),
                    };
                }
            }
        }
        self.record(Exchange {
            method: "POST".into(),
            path: url.to_string(),
            template: event.schema_key(),
            webhook: Some(event.schema_key()),
            request_headers: headers,
            request: Some(payload),
            status: status.unwrap_or(0),
            response: None,
        });
        // Kept last, so a test that saw the delivery sees its check too.
        self.stored().deliveries.push(delivery.clone());
        delivery
    }
}

/// A running GitHub stand-in; stops when dropped.
pub struct GitHubStandIn {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for GitHubStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl GitHubStandIn {
    /// Starts one on [`GitHubConfig::listen`].
    pub async fn start(config: GitHubConfig) -> std::io::Result<GitHubStandIn> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let http = reqwest::Client::builder()
            .timeout(config.delivery_timeout)
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            stored: Mutex::new(Stored {
                next_id: 1000,
                ..Stored::default()
            }),
            tokens: config.tokens,
            login: config.login,
            validator: config.validator,
            base,
            http,
        });
        let router = api::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "github stand-in stopped");
            }
        });
        Ok(GitHubStandIn { shared, server })
    }

    /// `http://127.0.0.1:PORT`, where GitHub's `https://api.github.com` would be.
    pub fn base_url(&self) -> &str {
        &self.shared.base
    }

    /// Every exchange that broke GitHub's description, as the validator said.
    pub fn violations(&self) -> Vec<String> {
        self.shared.stored().violations.clone()
    }

    /// Every exchange so far, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.stored().exchanges.clone()
    }

    /// Every webhook delivery so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.stored().deliveries.clone()
    }

    /// The repositories' full names (`org/name`).
    pub fn repos(&self) -> Vec<String> {
        self.shared
            .stored()
            .repos
            .values()
            .map(Repo::full_name)
            .collect()
    }

    /// Repository `full_name` as `GET /repos/{owner}/{repo}` answers it.
    pub fn repo(&self, full_name: &str) -> Option<Value> {
        let mut stored = self.shared.stored();
        let repo = stored.repos.get(&full_name.to_lowercase())?.clone();
        Some(self.shared.full_repository(&mut stored, &repo))
    }

    /// The collaborators of `repo` (who accepted, or were added directly).
    pub fn collaborators(&self, repo: &str) -> Vec<String> {
        let stored = self.shared.stored();
        let key = repo.to_lowercase();
        stored
            .collaborators
            .get(&key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The pending invitations to `repo`: (login, permission).
    pub fn invitations(&self, repo: &str) -> Vec<(String, String)> {
        let stored = self.shared.stored();
        let key = repo.to_lowercase();
        stored
            .invitations
            .get(&key)
            .map(|all| {
                all.iter()
                    .map(|i| (i.login.clone(), i.permissions.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `login` accepts their invitation to `repo`; false if there was none.
    pub fn accept_invitation(&self, repo: &str, login: &str) -> bool {
        let mut stored = self.shared.stored();
        let key = repo.to_lowercase();
        let Some(invitations) = stored.invitations.get_mut(&key) else {
            return false;
        };
        let before = invitations.len();
        invitations.retain(|i| !i.login.eq_ignore_ascii_case(login));
        if invitations.len() == before {
            return false;
        }
        stored
            .collaborators
            .entry(key)
            .or_default()
            .insert(login.to_lowercase());
        true
    }

    /// Makes `login` a member of organization `org` (so adding them to a
    /// team is `active` at once, and as a collaborator needs no invitation).
    pub fn add_org_member(&self, org: &str, login: &str) {
        let mut stored = self.shared.stored();
        stored
            .org_members
            .insert((org.to_lowercase(), login.to_lowercase()));
    }

    /// Creates team `slug` in `org` (teams are not created through the API here).
    pub fn add_team(&self, org: &str, slug: &str) {
        let mut stored = self.shared.stored();
        let id = stored.id();
        stored
            .teams
            .entry((org.to_lowercase(), slug.to_lowercase()))
            .or_insert((id, BTreeMap::new()));
    }

    /// The members of team `slug` in `org`.
    pub fn team_members(&self, org: &str, slug: &str) -> Vec<TeamMember> {
        let stored = self.shared.stored();
        stored
            .teams
            .get(&(org.to_lowercase(), slug.to_lowercase()))
            .map(|(_, members)| members.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The webhooks of `repo`.
    pub fn hooks(&self, repo: &str) -> Vec<HookInfo> {
        let stored = self.shared.stored();
        stored
            .hooks
            .get(&repo.to_lowercase())
            .map(|hooks| {
                hooks
                    .iter()
                    .map(|h| HookInfo {
                        id: h.id,
                        url: h.url.clone(),
                        content_type: h.content_type.clone(),
                        secret: h.secret.clone(),
                        events: h.events.clone(),
                        active: h.active,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every migration.
    pub fn migrations(&self) -> Vec<MigrationInfo> {
        let stored = self.shared.stored();
        stored
            .migrations
            .values()
            .map(|m| MigrationInfo {
                id: m.id,
                org: m.org.clone(),
                state: m.state.clone(),
                repositories: m.repositories.clone(),
            })
            .collect()
    }

    /// Sends `event` about `repo` (`owner/name`) to every active webhook of
    /// that repository subscribed to it (its `events` name it, or `*`), as
    /// GitHub would; returns the deliveries.
    pub async fn emit(&self, repo: &str, event: Event) -> Vec<Delivery> {
        let hooks: Vec<Hook> = {
            let stored = self.shared.stored();
            stored
                .hooks
                .get(&repo.to_lowercase())
                .map(|hooks| {
                    hooks
                        .iter()
                        .filter(|h| {
                            h.active && h.events.iter().any(|e| e == "*" || e == event.name())
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut deliveries = Vec::new();
        for hook in hooks {
            deliveries.push(
                self.shared
                    .deliver(
                        &hook.url,
                        hook.secret.as_deref(),
                        &hook.content_type,
                        hook.id,
                        repo,
                        &event,
                    )
                    .await,
            );
        }
        deliveries
    }

    /// Sends `event` about `repo` (`owner/name`, created here or not) to
    /// `url` as JSON, signed with `secret` when given — what a webhook
    /// configured on GitHub's side would send.
    pub async fn deliver(
        &self,
        url: &str,
        secret: Option<&str>,
        repo: &str,
        event: Event,
    ) -> Delivery {
        let hook_id = self.shared.stored().id();
        self.shared
            .deliver(url, secret, "json", hook_id, repo, &event)
            .await
    }
}

/// A v4-style GUID, as `X-GitHub-Delivery` carries.
fn guid() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
