//! Stand-ins for services nobody can run on the machines botyard is built
//! and tested on: each one listens on 127.0.0.1 and speaks the service's
//! *documented* wire protocol — paths, status codes, headers, JSON shapes —
//! closely enough that code written against it works against the real
//! thing. The tests hold each one to the service's published description
//! (for GitHub, its OpenAPI description: `tests/support/openapi.rs`) through
//! a validator hook the stand-in calls on every exchange, so the check costs
//! the shipped binary nothing. `botyard dev` can start the same stand-ins,
//! labelled "simulated".
//!
//! - [`github`]: the slice of GitHub's REST API an org admin app uses
//!   (repositories, collaborators, team memberships, repository webhooks,
//!   org migrations), and GitHub's webhook deliveries.
//!
//! - [`zendesk`]: the slice of Zendesk's Support API v2 a help-desk app
//!   uses (ticket search, show and update, groups), with API-token basic
//!   auth and a seeded demo queue for `botyard dev`.
//!
//! - [`twilio`]: Twilio's Messages API (send an SMS, list and fetch
//!   them) with the account's basic auth, form-encoded parameters and
//!   Twilio's documented error codes; every SMS kept for the test to read.
//!
//! - [`supervisor`]: a simulated supervisord's XML-RPC API, and
//!   [`prometheus`]: a simulated Prometheus query API — for `botyard dev`
//!   only (the tests run the real ones); [`dev`]: which of them dev starts.
//!
//! The Slack stand-in predates this module and lives in `emulator/`.

pub mod dev;
pub mod github;
pub mod prometheus;
pub mod supervisor;
pub mod twilio;
pub mod zendesk;

/// The user and password of a request's `Authorization: Basic …` header,
/// as the services the stand-ins speak for read it (the scheme in any case).
pub(crate) fn basic_auth(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let (user, password) = String::from_utf8(decoded)
        .ok()?
        .split_once(':')
        .map(|(u, p)| (u.to_string(), p.to_string()))?;
    Some((user, password))
}
