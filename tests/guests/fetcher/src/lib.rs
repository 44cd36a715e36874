//! Test guest: `/fetch <METHOD> <url> [body]` sends the request through the
//! `http` capability, with the header `X-App-Header: from-app`, and answers
//! (ephemeral) one line of JSON:
//!
//! ```json
//! {"status": 200, "url": "…", "body": "<the first 200 characters>",
//!  "request_headers": [["X-App-Header", "from-app"]],
//!  "response_headers": [["content-type", "text/plain"], …], "error": null}
//! ```
//!
//! When the host sends nothing or gets no response, `error` is its text
//! (`status`, `url` and `body` are null, `response_headers` empty) — an
//! answer, not a handler error. It imports only `http`.

use botyard_sdk::prelude::*;
use serde_json::{json, Value};

fn app() -> App {
    App::new("fetcher", "Fetches URLs").command(
        "/fetch",
        spec("Send an HTTP request").usage("<METHOD> <url> [body]"),
        fetch,
    )
}

fn fetch(request: CommandRequest) -> Result<Reply, String> {
    let mut words = request.text.trim().splitn(3, ' ');
    let (Some(method), Some(url)) = (words.next(), words.next()) else {
        return Err("usage: /fetch <METHOD> <url> [body]".into());
    };
    let mut outgoing = http::request(method, url).header("X-App-Header", "from-app");
    if let Some(body) = words.next() {
        outgoing = outgoing.body(body);
    }
    let sent = outgoing.clone().build().headers;
    let answer = match outgoing.send() {
        Ok(response) => json!({
            "status": response.status,
            "url": response.url,
            "body": response.text().chars().take(200).collect::<String>(),
            "request_headers": pairs(&sent),
            "response_headers": pairs(&response.headers),
            "error": null,
        }),
        Err(error) => json!({
            "status": null,
            "url": null,
            "body": null,
            "request_headers": pairs(&sent),
            "response_headers": [],
            "error": error.to_string(),
        }),
    };
    Ok(Reply::ephemeral(answer.to_string()))
}

fn pairs(headers: &[(String, String)]) -> Value {
    headers.iter().map(|(k, v)| json!([k, v])).collect()
}

export_app!(app);
