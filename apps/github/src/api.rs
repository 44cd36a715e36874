//! GitHub's REST API through botyard's `http` capability. The app sends no
//! credential: the operator's allow rule for the API's URL carries the
//! token (`headers = { Authorization = "Bearer ${env:GITHUB_TOKEN}" }`)
//! and the host adds it. Every request says which API version it was
//! written for, and every error GitHub answers becomes a sentence.

use botyard_sdk::http;
use serde_json::Value;

/// The REST API version these requests and their bodies follow.
pub const API_VERSION: &str = "2022-11-28";

/// A GitHub API (github.com's or an Enterprise server's) and the
/// organization the app administers.
#[derive(Debug, Clone)]
pub struct GitHub {
    /// `https://api.github.com`, or `https://ghe.example.com/api/v3`; no
    /// trailing `/`.
    pub base: String,
    pub org: String,
}

/// What GitHub answered: the status and the JSON, if any.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub json: Option<Value>,
    pub bytes: Vec<u8>,
}

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// No answer: the host's reason (not allowed, timeout, unreachable).
    Http(http::Error),
    /// GitHub answered a status that is not 2xx.
    Status {
        status: u16,
        message: String,
        /// GitHub's `errors` list (422), each as one phrase.
        errors: Vec<String>,
    },
}

impl GitHub {
    pub fn new(base: &str, org: &str) -> GitHub {
        GitHub {
            base: base.trim().trim_end_matches('/').to_string(),
            org: org.trim().to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `method path` with `body` as JSON; any 2xx is `Ok`.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, Failure> {
        self.send(http::request(method, self.url(path)), body)
    }

    fn send(&self, request: http::RequestBuilder, body: Option<&Value>) -> Result<Answer, Failure> {
        let mut request = request
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header("User-Agent", "botyard-github-app");
        if let Some(body) = body {
            request = request.json(body).map_err(Failure::Http)?;
        }
        let response = request.send().map_err(Failure::Http)?;
        let json = serde_json::from_slice::<Value>(&response.body).ok();
        if response.is_success() {
            return Ok(Answer {
                status: response.status,
                json,
                bytes: response.body,
            });
        }
        Err(failure(response.status, json.as_ref(), &response.text()))
    }
}

/// GitHub's error body (`{"message", "errors", "documentation_url"}`) as a
/// [`Failure`].
pub fn failure(status: u16, json: Option<&Value>, text: &str) -> Failure {
    let message = json
        .and_then(|j| j["message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| {
            text.chars()
                .take(200)
                .collect::<String>()
                .trim()
                .to_string()
        });
    let errors = json
        .and_then(|j| j["errors"].as_array())
        .map(|all| all.iter().map(error_phrase).collect())
        .unwrap_or_default();
    Failure::Status {
        status,
        message,
        errors,
    }
}

/// One entry of GitHub's `errors`: its `message` when it has one, else its
/// `code` on its `field` (`missing_field`, `already_exists` …); sometimes
/// GitHub sends a bare string.
fn error_phrase(error: &Value) -> String {
    if let Some(text) = error.as_str() {
        return text.to_string();
    }
    if let Some(message) = error["message"].as_str() {
        return message.to_string();
    }
    let code = error["code"].as_str().unwrap_or("invalid");
    let what = match code {
        "missing" => "does not exist",
        "missing_field" => "is required",
        "invalid" => "is invalid",
        "already_exists" => "already exists",
        "unprocessable" => "could not be processed",
        other => other,
    };
    match (error["resource"].as_str(), error["field"].as_str()) {
        (Some(resource), Some(field)) => format!("{resource} {field} {what}"),
        (None, Some(field)) => format!("{field} {what}"),
        (Some(resource), None) => format!("{resource} {what}"),
        (None, None) => what.to_string(),
    }
}

/// What a failure means to the person who asked for `doing` (`creating
/// acme/shop`); `missing` says what a 404 means for this call.
pub fn explain(failure: &Failure, doing: &str, missing: &str, api: &str) -> String {
    match failure {
        Failure::Http(http::Error::NotAllowed(text)) => format!(
            "Could not reach GitHub {doing}: {text}. The operator allows the API (and gives the token) with an `[[apps.github.http.allow]]` rule for {api}/"
        ),
        Failure::Http(error) => format!("Could not reach GitHub {doing}: {error}"),
        Failure::Status { status: 401, message, .. } => format!(
            "GitHub refused the app's credentials {doing} (401 {message}): the token on the allow rule for {api}/ is missing, wrong or expired. The operator sets it as `headers = {{ Authorization = \"Bearer ${{env:GITHUB_TOKEN}}\" }}` on that rule"
        ),
        Failure::Status { status: 403, message, .. } => format!(
            "GitHub did not allow {doing} (403 {message}): the token lacks the permission (an organization owner's token, with the `repo` and `admin:org` scopes, can)"
        ),
        Failure::Status { status: 404, .. } => format!("GitHub found nothing {doing}: {missing}"),
        Failure::Status {
            status,
            message,
            errors,
        } => {
            let mut text = format!("GitHub refused {doing} ({status}): {message}");
            if !errors.is_empty() {
                text.push_str(&format!(" — {}", errors.join("; ")));
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_errors_are_told_in_words() {
        let body = json!({
            "message": "Repository creation failed.",
            "errors": [
                {"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"},
                {"resource": "Hook", "code": "missing_field", "field": "config"},
                "plain words"
            ],
            "documentation_url": "https://docs.github.com/rest",
            "status": "422"
        });
        let failure = failure(422, Some(&body), "");
        let text = explain(
            &failure,
            "creating `acme/shop`",
            "",
            "https://api.github.com",
        );
        assert_eq!(
            text,
            "GitHub refused creating `acme/shop` (422): Repository creation failed. — name already exists on this account; Hook config is required; plain words"
        );
    }

    #[test]
    fn not_found_unauthorized_and_unreachable_say_what_to_do() {
        let missing = failure(404, Some(&json!({"message": "Not Found"})), "");
        assert_eq!(
            explain(
                &missing,
                "for webhook 7 of `acme/shop`",
                "no such webhook or repository",
                "https://api.github.com"
            ),
            "GitHub found nothing for webhook 7 of `acme/shop`: no such webhook or repository"
        );
        let unauthorized = failure(401, Some(&json!({"message": "Bad credentials"})), "");
        let text = explain(&unauthorized, "listing", "", "https://api.github.com");
        assert!(text.contains("401 Bad credentials"), "{text}");
        assert!(text.contains("Bearer ${env:GITHUB_TOKEN}"), "{text}");
        let refused = Failure::Http(http::Error::NotAllowed("no rule allows it".into()));
        let text = explain(&refused, "listing", "", "https://api.github.com");
        assert!(text.contains("no rule allows it"), "{text}");
        let odd = failure(502, None, "Bad gateway\n");
        assert_eq!(
            explain(&odd, "listing", "", "x"),
            "GitHub refused listing (502): Bad gateway"
        );
    }

    #[test]
    fn the_base_loses_its_trailing_slash() {
        let gh = GitHub::new("https://ghe.example.com/api/v3/ ", " acme ");
        assert_eq!(
            gh.url("/orgs/acme/repos"),
            "https://ghe.example.com/api/v3/orgs/acme/repos"
        );
        assert_eq!(gh.org, "acme");
    }
}
