//! The HTTP stand-in: what a scenario's `[http."/path"]` tables answer, on a
//! loopback port of their own, so an app that fetches a URL (`http`
//! capability) is tested without the internet.
//!
//! The scenario writes `{http}` where the stand-in's base URL goes — in
//! `[settings]`, a `command`, a modal's `fields`, an expectation's `text` —
//! and the kit replaces it with `http://127.0.0.1:<port>` once the stand-in
//! runs. The app is allowed to reach that address (an allow rule naming
//! it), and nothing else is changed: the request goes through the host's
//! `http` capability, allow-list, limits and audit as in production. A path
//! the scenario does not list answers 404.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::scenario::{Expectation, Scenario, StandIn, StepKind};

/// What a scenario writes where the stand-in's base URL goes.
pub const PLACEHOLDER: &str = "{http}";

/// The stand-in, running until dropped.
pub(super) struct StandInServer {
    pub base: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Drop for StandInServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

impl StandInServer {
    /// Serves `responses` on a free loopback port; `None` when there are none.
    pub(super) async fn start(
        responses: &BTreeMap<String, StandIn>,
    ) -> std::io::Result<Option<StandInServer>> {
        if responses.is_empty() {
            return Ok(None);
        }
        let responses = Arc::new(responses.clone());
        let router = axum::Router::new().fallback(move |request: Request<Body>| {
            let responses = responses.clone();
            async move { answer(&responses, &request) }
        });
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let until = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(until)
                .await
            {
                tracing::error!(error = %e, "test kit HTTP stand-in stopped");
            }
        });
        Ok(Some(StandInServer { base, stop, task }))
    }
}

/// The response for `request`: its path with the query (when the scenario
/// lists it so), else its path alone, else 404.
fn answer(responses: &BTreeMap<String, StandIn>, request: &Request<Body>) -> Response<Body> {
    let uri = request.uri();
    let with_query = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path());
    let Some(found) = responses
        .get(with_query)
        .or_else(|| responses.get(uri.path()))
    else {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(format!(
                "the scenario has no [http.\"{}\"]",
                uri.path()
            )))
            .expect("a valid response");
    };
    Response::builder()
        .status(StatusCode::from_u16(found.status).unwrap_or(StatusCode::OK))
        .header(header::CONTENT_TYPE, found.content_type.as_str())
        .body(Body::from(found.body.clone()))
        .expect("a valid response")
}

/// `scenario` with `{http}` replaced by `base` wherever a scenario may write
/// it, and `http_base` set.
pub(super) fn with_base(scenario: &Scenario, base: &str) -> Scenario {
    let text = |s: &str| s.replace(PLACEHOLDER, base);
    let mut out = scenario.clone();
    out.http_base = Some(base.to_string());
    out.settings = replace_table(&scenario.settings, base);
    for step in &mut out.steps {
        match &mut step.kind {
            StepKind::Command(line) => *line = text(line),
            StepKind::Submit { fields, .. } => *fields = replace_table(fields, base),
            StepKind::Expect(Expectation {
                text: Some(expected),
                ..
            }) => *expected = text(expected),
            _ => {}
        }
    }
    out
}

fn replace_table(table: &toml::Table, base: &str) -> toml::Table {
    table
        .iter()
        .map(|(k, v)| (k.clone(), replace_value(v, base)))
        .collect()
}

fn replace_value(value: &toml::Value, base: &str) -> toml::Value {
    match value {
        toml::Value::String(s) => toml::Value::String(s.replace(PLACEHOLDER, base)),
        toml::Value::Array(items) => {
            toml::Value::Array(items.iter().map(|v| replace_value(v, base)).collect())
        }
        toml::Value::Table(t) => toml::Value::Table(replace_table(t, base)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(text: &str) -> Scenario {
        super::super::scenario::parse(Path::new("scenarios/x.toml"), text).unwrap()
    }

    #[test]
    fn the_placeholder_is_replaced_in_settings_commands_fields_and_expected_text() {
        let s = scenario(
            r#"
[settings]
url = "{http}/menu.json"
offices = { paris = { menu_url = "{http}/paris", list = ["{http}/a"] } }

[http."/menu.json"]
json = { dishes = ["Soup"] }

[[step]]
command = "/plate url paris {http}/paris"

[[step]]
submit = ""
fields = { "URL" = "{http}/b" }

[[step]]
expect = "reply"
text = "from {http}/paris"
"#,
        );
        let s = with_base(&s, "http://127.0.0.1:9");
        assert_eq!(s.http_base.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(
            s.settings["url"].as_str(),
            Some("http://127.0.0.1:9/menu.json")
        );
        let paris = &s.settings["offices"]["paris"];
        assert_eq!(paris["menu_url"].as_str(), Some("http://127.0.0.1:9/paris"));
        assert_eq!(paris["list"][0].as_str(), Some("http://127.0.0.1:9/a"));
        assert!(
            matches!(&s.steps[0].kind, StepKind::Command(c) if c == "/plate url paris http://127.0.0.1:9/paris")
        );
        assert!(
            matches!(&s.steps[1].kind, StepKind::Submit { fields, .. } if fields["URL"].as_str() == Some("http://127.0.0.1:9/b"))
        );
        assert!(
            matches!(&s.steps[2].kind, StepKind::Expect(e) if e.text.as_deref() == Some("from http://127.0.0.1:9/paris"))
        );
    }

    #[tokio::test]
    async fn the_stand_in_answers_what_the_scenario_lists_and_404_otherwise() {
        let s = scenario(
            r#"
[http."/menu.json"]
json = { dishes = ["Soup"] }

[http."/down"]
status = 503
body = "maintenance"

[http."/q?day=1"]
body = "day one"
"#,
        );
        let server = StandInServer::start(&s.http).await.unwrap().unwrap();
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("{}{path}", server.base)).send();
        let menu = get("/menu.json").await.unwrap();
        assert_eq!(menu.status(), 200);
        assert_eq!(menu.headers()["content-type"], "application/json");
        assert_eq!(menu.text().await.unwrap(), r#"{"dishes":["Soup"]}"#);
        let down = get("/down").await.unwrap();
        assert_eq!(down.status(), 503);
        assert_eq!(down.text().await.unwrap(), "maintenance");
        assert_eq!(
            get("/q?day=1").await.unwrap().text().await.unwrap(),
            "day one"
        );
        let missing = get("/nope").await.unwrap();
        assert_eq!(missing.status(), 404);
        assert!(missing.text().await.unwrap().contains("[http.\"/nope\"]"));
        assert!(
            StandInServer::start(&BTreeMap::new())
                .await
                .unwrap()
                .is_none()
        );
    }
}
