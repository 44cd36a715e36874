//! The GitHub stand-in (`botyard::standins::github`) held to GitHub's
//! published OpenAPI description (`support::openapi`): every endpoint it
//! implements answered and checked with no violation, a request that
//! breaks the description caught (and refused with 422, as GitHub does),
//! and its webhook deliveries shaped like GitHub's documented payloads and
//! signed so botyard's own GitHub verification accepts them.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use botyard::config::webhooks::Verify;
use botyard::contract::secret::Secret;
use botyard::inbound::webhooks::verify::{VerifyError, verify};
use botyard::standins::github::{Event, Exchange, GitHubConfig, GitHubStandIn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::openapi;

const TOKEN: &str = "ghp_standin_test_token";
const SECRET: &str = "It's a Secret to Everybody";
const BOUND: Duration = Duration::from_secs(20);

async fn standin() -> GitHubStandIn {
    let config = GitHubConfig::new(TOKEN).validated(openapi::github_validator());
    GitHubStandIn::start(config).await.unwrap()
}

/// A client that does not follow redirects (the archive's 302 is checked).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("botyard-tests")
        .build()
        .unwrap()
}

/// `method path` with `body`, authorized as `auth` (an Authorization value).
async fn call_as(
    gh: &GitHubStandIn,
    auth: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Option<Value>) {
    let mut request = client()
        .request(method, format!("{}{path}", gh.base_url()))
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let json = (!bytes.is_empty()).then(|| {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {bytes:?}"))
    });
    (status, headers, json)
}

async fn call(
    gh: &GitHubStandIn,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Option<Value>) {
    call_as(gh, Some(&format!("Bearer {TOKEN}")), method, path, body).await
}

fn assert_no_violations(gh: &GitHubStandIn) {
    let violations = gh.violations();
    assert!(
        violations.is_empty(),
        "exchanges that break GitHub's OpenAPI description:\n{}",
        violations.join("\n")
    );
}

/// A webhook receiver on loopback: every request's headers and body.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
        let kept = got.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let kept = kept.clone();
                async move {
                    kept.lock().unwrap().push((headers, body));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Receiver { url, got, server }
    }

    /// Every request so far, once there are at least `n`.
    async fn received(&self, n: usize) -> Vec<(HeaderMap, Bytes)> {
        let deadline = Instant::now() + BOUND;
        loop {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} deliveries came",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Waits until the stand-in has sent (and checked) `n` deliveries: a new
/// webhook's ping goes out beside the answer that created it.
async fn delivered(gh: &GitHubStandIn, n: usize) {
    let deadline = Instant::now() + BOUND;
    while gh.deliveries().len() < n {
        assert!(Instant::now() < deadline, "{:#?}", gh.deliveries());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

fn github_verify(secret: &str) -> Verify {
    Verify::Github {
        secret: Secret::from_value(secret),
    }
}

#[tokio::test]
async fn repositories_collaborators_and_teams_keep_to_the_description() {
    let gh = standin().await;

    // Create a repository: 201, the full repository, where it lives.
    let (status, headers, repo) = call(
        &gh,
        Method::POST,
        "/orgs/acme/repos",
        Some(json!({"name": "backups", "description": "Off-site", "visibility": "private"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{repo:?}");
    let repo = repo.unwrap();
    assert_eq!(repo["full_name"], "acme/backups");
    assert_eq!(repo["private"], true);
    assert_eq!(repo["owner"]["login"], "acme");
    assert_eq!(repo["owner"]["type"], "Organization");
    assert_eq!(
        header(&headers, "location"),
        format!("{}/repos/acme/backups", gh.base_url())
    );
    assert_eq!(
        header(&headers, "x-github-media-type"),
        "github.v3; format=json"
    );
    assert!(header(&headers, "content-type").starts_with("application/json"));
    assert_eq!(gh.repos(), ["acme/backups"]);

    // The same name again: GitHub's validation error.
    let (status, _, error) = call(
        &gh,
        Method::POST,
        "/orgs/acme/repos",
        Some(json!({"name": "backups"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = error.unwrap();
    assert_eq!(error["message"], "Repository creation failed.");
    assert_eq!(error["errors"][0]["field"], "name");
    assert_eq!(
        error["errors"][0]["message"],
        "name already exists on this account"
    );

    // Read it back; a repository that is not there is GitHub's 404.
    let (status, _, got) = call(&gh, Method::GET, "/repos/acme/backups", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got.unwrap()["id"], repo["id"]);
    let (status, _, missing) = call(&gh, Method::GET, "/repos/acme/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing.unwrap()["message"], "Not Found");

    // Collaborators: an outsider is invited (201), again (201, the same
    // invitation), and once they accepted adding them is 204; an org
    // member is added at once (204).
    gh.add_org_member("acme", "carol");
    let path = "/repos/acme/backups/collaborators/alice";
    let (status, _, invitation) =
        call(&gh, Method::PUT, path, Some(json!({"permission": "push"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let invitation = invitation.unwrap();
    assert_eq!(invitation["invitee"]["login"], "alice");
    assert_eq!(invitation["inviter"]["login"], "botyard-admin");
    assert_eq!(invitation["permissions"], "write");
    assert_eq!(invitation["repository"]["full_name"], "acme/backups");
    let (status, _, again) = call(&gh, Method::PUT, path, None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again.unwrap()["id"], invitation["id"]);
    assert_eq!(
        gh.invitations("acme/backups"),
        [("alice".into(), "write".into())]
    );
    assert!(gh.accept_invitation("acme/backups", "alice"));
    let (status, _, body) = call(&gh, Method::PUT, path, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, None));
    let carol = "/repos/acme/backups/collaborators/carol";
    let (status, _, _) = call(&gh, Method::PUT, carol, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(gh.collaborators("acme/backups"), ["alice", "carol"]);

    // Team membership: active for an org member, pending for an outsider.
    gh.add_team("acme", "ops");
    let (status, _, membership) = call(
        &gh,
        Method::PUT,
        "/orgs/acme/teams/ops/memberships/carol",
        Some(json!({"role": "maintainer"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let membership = membership.unwrap();
    assert_eq!(membership["role"], "maintainer");
    assert_eq!(membership["state"], "active");
    let (status, _, membership) = call(
        &gh,
        Method::PUT,
        "/orgs/acme/teams/ops/memberships/dave",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(membership.unwrap()["state"], "pending");
    let members = gh.team_members("acme", "ops");
    assert_eq!(members.len(), 2);
    assert_eq!(
        (members[0].login.as_str(), members[0].role.as_str()),
        ("carol", "maintainer")
    );

    assert_eq!(gh.exchanges().len(), 10);
    assert_no_violations(&gh);
}

#[tokio::test]
async fn webhooks_and_migrations_keep_to_the_description() {
    let gh = standin().await;
    let receiver = Receiver::start().await;
    call(
        &gh,
        Method::POST,
        "/orgs/acme/repos",
        Some(json!({"name": "app"})),
    )
    .await;
    call(
        &gh,
        Method::POST,
        "/orgs/acme/repos",
        Some(json!({"name": "site"})),
    )
    .await;

    // Create a webhook: 201, then GitHub's ping to it.
    let (status, headers, hook) = call(
        &gh,
        Method::POST,
        "/repos/acme/app/hooks",
        Some(json!({
            "name": "web",
            "config": {"url": receiver.url, "content_type": "json", "secret": SECRET},
            "events": ["push", "pull_request"],
            "active": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{hook:?}");
    let hook = hook.unwrap();
    let id = hook["id"].as_u64().unwrap();
    assert_eq!(
        hook["config"]["secret"], "********",
        "the secret is never shown"
    );
    assert_eq!(hook["events"], json!(["push", "pull_request"]));
    assert_eq!(header(&headers, "location"), hook["url"].as_str().unwrap());
    let ping = receiver.received(1).await;
    delivered(&gh, 1).await;
    assert_eq!(header(&ping[0].0, "x-github-event"), "ping");
    assert_eq!(header(&ping[0].0, "x-github-hook-id"), id.to_string());

    // List them; the ping's answer shows as the last response.
    let (status, _, hooks) = call(&gh, Method::GET, "/repos/acme/app/hooks", None).await;
    assert_eq!(status, StatusCode::OK);
    let hooks = hooks.unwrap();
    assert_eq!(hooks.as_array().unwrap().len(), 1);
    assert_eq!(hooks[0]["last_response"]["code"], 200);
    assert_eq!(gh.hooks("acme/app")[0].secret.as_deref(), Some(SECRET));

    // A webhook without a URL is refused as GitHub refuses it.
    let (status, _, error) = call(
        &gh,
        Method::POST,
        "/repos/acme/app/hooks",
        Some(json!({"config": {"content_type": "json"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error.unwrap()["message"], "Validation Failed");

    // Delete it: 204, then 404 for the same one (and for one never made).
    let path = format!("/repos/acme/app/hooks/{id}");
    let (status, _, body) = call(&gh, Method::DELETE, &path, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, None));
    let (status, _, body) = call(&gh, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body = body.unwrap();
    assert_eq!(body["message"], "Not Found");
    assert!(
        body["documentation_url"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.github.com/")
    );
    let (status, _, hooks) = call(&gh, Method::GET, "/repos/acme/app/hooks", None).await;
    assert_eq!((status, hooks), (StatusCode::OK, Some(json!([]))));
    let (status, _, _) = call(&gh, Method::GET, "/repos/acme/gone/hooks", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A migration for the off-site backup: pending, exported once looked
    // at, its archive a redirect to a tar.gz.
    let (status, _, migration) = call(
        &gh,
        Method::POST,
        "/orgs/acme/migrations",
        Some(json!({"repositories": ["app", "acme/site"], "lock_repositories": false})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{migration:?}");
    let migration = migration.unwrap();
    assert_eq!(migration["state"], "pending");
    let names: Vec<&str> = migration["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme/app", "acme/site"]);
    let id = migration["id"].as_u64().unwrap();
    let (status, _, polled) = call(
        &gh,
        Method::GET,
        &format!("/orgs/acme/migrations/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(polled.unwrap()["state"], "exported");
    assert_eq!(gh.migrations()[0].state, "exported");
    let archive = format!("/orgs/acme/migrations/{id}/archive");
    let (status, headers, body) = call(&gh, Method::GET, &archive, None).await;
    assert_eq!((status, body), (StatusCode::FOUND, None));
    let location = header(&headers, "location").to_string();
    assert!(location.starts_with(gh.base_url()), "{location}");
    let download = || async {
        let response = client().get(&location).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap()
    };
    let tarball = download().await;
    assert_eq!(tarball, download().await, "the archive is deterministic");
    let mut tar = Command::new("tar")
        .args(["-tzf", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running tar");
    use std::io::Write;
    tar.stdin.take().unwrap().write_all(&tarball).unwrap();
    let out = tar.wait_with_output().unwrap();
    assert!(out.status.success(), "tar refused the archive");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        ["schema.json", "repositories_000001.json"]
    );
    let (status, _, _) = call(&gh, Method::GET, "/orgs/acme/migrations/999999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_no_violations(&gh);
}

#[tokio::test]
async fn a_token_is_required_and_the_unimplemented_says_so() {
    let gh = standin().await;
    let (status, _, body) = call_as(&gh, None, Method::GET, "/repos/acme/app", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body.unwrap()["message"], "Requires authentication");
    let (status, _, body) = call_as(
        &gh,
        Some("Bearer not-the-token"),
        Method::GET,
        "/repos/acme/app",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body.unwrap()["message"], "Bad credentials");
    let (status, _, _) = call_as(
        &gh,
        Some(&format!("token {TOKEN}")),
        Method::GET,
        "/repos/acme/app",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "`token …` is accepted too");

    let (status, _, body) = call(&gh, Method::GET, "/user/repos", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let message = body.unwrap()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("does not implement GET /user/repos")
            && message.contains("host/src/standins/github.rs"),
        "{message}"
    );
    let (status, _, _) = call(&gh, Method::PATCH, "/repos/acme/app", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_no_violations(&gh);
}

/// The acceptance: a GitHub request that breaks the OpenAPI description
/// fails the test — the validator flags it, and the stand-in refuses it
/// with 422 as GitHub does.
#[tokio::test]
async fn a_request_that_breaks_the_description_is_a_violation() {
    let gh = standin().await;
    let (status, _, error) = call(
        &gh,
        Method::POST,
        "/orgs/acme/repos",
        Some(json!({"name": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error.unwrap()["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid request.")
    );
    let violations = gh.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].contains("POST /orgs/acme/repos (/orgs/{org}/repos) → 422")
            && violations[0].contains("request body")
            && !violations[0].contains("response body"),
        "{}",
        violations[0]
    );

    let (status, _, _) = call(
        &gh,
        Method::POST,
        "/orgs/acme/repos",
        Some(json!({"name": "app", "visibility": "secret"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let violations = gh.violations();
    assert_eq!(violations.len(), 2, "{violations:#?}");
    assert!(violations[1].contains("secret"), "{}", violations[1]);
    eprintln!(
        "violations, as a test failing on them shows them:\n{}",
        violations.join("\n")
    );
    assert!(gh.repos().is_empty(), "nothing was created");

    // A body where the operation takes none, a status it does not
    // document, an answer missing a required field: each a violation.
    let check = |exchange: Exchange| openapi::github().check(&exchange);
    let exchange = Exchange {
        method: "POST".into(),
        path: "/orgs/acme/repos".into(),
        template: "/orgs/{org}/repos".into(),
        webhook: None,
        request_headers: Vec::new(),
        request: Some(json!({"name": "ok"})),
        status: 418,
        response: None,
    };
    let why = check(exchange.clone()).unwrap_err();
    assert!(why.contains("does not document status 418"), "{why}");
    let why = check(Exchange {
        status: 201,
        response: Some(json!({"name": "ok"})),
        ..exchange.clone()
    })
    .unwrap_err();
    assert!(
        why.contains("response body") && why.contains("is a required property"),
        "{why}"
    );
    let why = check(Exchange {
        method: "GET".into(),
        path: "/repos/acme/ok".into(),
        template: "/repos/{owner}/{repo}".into(),
        status: 404,
        response: Some(json!({"message": "Not Found"})),
        ..exchange
    })
    .unwrap_err();
    assert!(why.contains("takes no request body"), "{why}");
}

/// The webhook side of the check has teeth: a payload GitHub would not
/// send, or a delivery without GitHub's headers, is a violation.
#[tokio::test]
async fn a_webhook_that_breaks_the_description_is_a_violation() {
    let gh = standin().await;
    let receiver = Receiver::start().await;
    let sent = gh
        .deliver(
            &receiver.url,
            Some(SECRET),
            "acme/app",
            Event::pull_request_opened(3, "Tidy", "alice").label("chore"),
        )
        .await;
    assert_no_violations(&gh);
    let delivered = gh.exchanges().pop().unwrap();
    assert_eq!(delivered.webhook.as_deref(), Some("pull-request-opened"));
    assert!(openapi::github().check(&delivered).is_ok());

    let mut payload = sent.payload.clone();
    let pull_request = payload["pull_request"].as_object_mut().unwrap();
    pull_request.remove("user");
    payload["pull_request"]["labels"][0]["color"] = json!(7);
    let why = openapi::github()
        .check(&Exchange {
            request: Some(payload),
            ..delivered.clone()
        })
        .unwrap_err();
    assert!(why.contains("\"user\" is a required property"), "{why}");
    assert!(why.contains("/pull_request/labels/0/color"), "{why}");

    let why = openapi::github()
        .check(&Exchange {
            request_headers: Vec::new(),
            ..delivered.clone()
        })
        .unwrap_err();
    assert!(why.contains("header X-Github-Event not sent"), "{why}");
    let why = openapi::github()
        .check(&Exchange {
            template: "pull-request-merged".into(),
            webhook: Some("pull-request-merged".into()),
            ..delivered
        })
        .unwrap_err();
    assert!(why.contains("not one of GitHub's webhooks"), "{why}");
}

#[tokio::test]
async fn emitted_webhooks_are_githubs_payloads_signed_for_botyard() {
    let gh = standin().await;
    let receiver = Receiver::start().await;
    call(
        &gh,
        Method::POST,
        "/orgs/acme/repos",
        Some(json!({"name": "app"})),
    )
    .await;
    let (status, _, _) = call(
        &gh,
        Method::POST,
        "/repos/acme/app/hooks",
        Some(json!({
            "config": {"url": receiver.url, "content_type": "json", "secret": SECRET},
            "events": ["push", "pull_request", "pull_request_review", "release"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // A hook for other events only hears none of these.
    call(
        &gh,
        Method::POST,
        "/repos/acme/app/hooks",
        Some(json!({"config": {"url": format!("{}?issues", receiver.url)}, "events": ["issues"]})),
    )
    .await;
    delivered(&gh, 2).await; // the two pings

    let events = [
        Event::push("main")
            .commit("Add the backup job", "alice")
            .commit("Fix the schedule", "alice"),
        Event::pull_request_opened(7, "Nightly backups", "alice")
            .label("ops")
            .label("backup")
            .body("Runs at 02:00."),
        Event::pull_request_closed(7, "Nightly backups", "alice", true).sender("bob"),
        Event::pull_request_review(7, "Nightly backups", "alice", "bob", "approved"),
        Event::release("v1.2.0", "carol").named("Backups"),
    ];
    for event in events {
        let deliveries = gh.emit("acme/app", event).await;
        assert_eq!(deliveries.len(), 1, "one subscribed hook");
        assert_eq!(deliveries[0].status, Some(200));
    }
    let got = receiver.received(7).await;
    let got = &got[2..];
    let names: Vec<&str> = got
        .iter()
        .map(|(h, _)| header(h, "x-github-event"))
        .collect();
    assert_eq!(
        names,
        [
            "push",
            "pull_request",
            "pull_request",
            "pull_request_review",
            "release"
        ]
    );
    for (headers, body) in got {
        assert!(header(headers, "user-agent").starts_with("GitHub-Hookshot/"));
        assert_eq!(header(headers, "x-github-delivery").len(), 36);
        assert_eq!(header(headers, "content-type"), "application/json");
        // botyard's GitHub verification takes it; with another secret it
        // does not.
        assert_eq!(verify(&github_verify(SECRET), headers, body), Ok(()));
        assert_eq!(
            verify(&github_verify("another secret"), headers, body),
            Err(VerifyError::Mismatch)
        );
    }
    let payload = |i: usize| serde_json::from_slice::<Value>(&got[i].1).unwrap();
    let push = payload(0);
    assert_eq!(push["ref"], "refs/heads/main");
    assert_eq!(push["commits"].as_array().unwrap().len(), 2);
    assert_eq!(push["head_commit"]["message"], "Fix the schedule");
    assert_eq!(push["repository"]["full_name"], "acme/app");
    let opened = payload(1);
    assert_eq!(opened["action"], "opened");
    assert_eq!(opened["number"], 7);
    let pr = &opened["pull_request"];
    assert_eq!(pr["title"], "Nightly backups");
    assert_eq!(pr["user"]["login"], "alice");
    assert_eq!(pr["html_url"], format!("{}/acme/app/pull/7", gh.base_url()));
    assert_eq!(pr["labels"][1]["name"], "backup");
    assert_eq!(pr["merged"], false);
    let closed = payload(2);
    assert_eq!(closed["action"], "closed");
    assert_eq!(closed["pull_request"]["merged"], true);
    assert_eq!(closed["pull_request"]["merged_by"]["login"], "bob");
    assert_eq!(closed["sender"]["login"], "bob");
    let review = payload(3);
    assert_eq!(review["action"], "submitted");
    assert_eq!(review["review"]["state"], "approved");
    assert_eq!(review["review"]["user"]["login"], "bob");
    let release = payload(4);
    assert_eq!(release["action"], "published");
    assert_eq!(release["release"]["tag_name"], "v1.2.0");
    assert_eq!(release["release"]["name"], "Backups");

    // Straight to a URL, as a hook configured on GitHub's side would.
    let delivery = gh
        .deliver(
            &receiver.url,
            Some("per-app secret"),
            "acme/elsewhere",
            Event::pull_request_opened(1, "First", "dave"),
        )
        .await;
    assert_eq!(delivery.status, Some(200));
    let got = receiver.received(8).await;
    let (headers, body) = &got[7];
    assert_eq!(
        verify(&github_verify("per-app secret"), headers, body),
        Ok(())
    );
    assert_eq!(
        verify(&github_verify(SECRET), headers, body),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        delivery.payload["repository"]["full_name"],
        "acme/elsewhere"
    );

    // A hook with GitHub's default content type gets a form, signed as sent.
    let form = format!("{}?form", receiver.url);
    call(
        &gh,
        Method::POST,
        "/repos/acme/app/hooks",
        Some(json!({"config": {"url": form, "secret": SECRET}})),
    )
    .await;
    let got = receiver.received(9).await;
    let (headers, body) = &got[8];
    assert_eq!(
        header(headers, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert!(body.starts_with(b"payload="));
    assert_eq!(verify(&github_verify(SECRET), headers, body), Ok(()));

    delivered(&gh, 9).await;
    assert_no_violations(&gh);
}
