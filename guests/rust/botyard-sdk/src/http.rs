//! Outbound HTTP to what the operator allowed this app to reach
//! (`[apps.<id>.http]` in `botyard.toml`). Needs the `http` grant.
//!
//! A request is built, then sent; the host sends it only to a URL a rule
//! allows, and adds the credentials the operator attached to that rule, so
//! the app never sees them:
//!
//! ```no_run
//! use botyard_sdk::http;
//! use serde_json::Value;
//!
//! // Your own `#[derive(Deserialize)]` types work the same way.
//! fn open_issues() -> Result<Vec<Value>, String> {
//!     let response = http::get("https://api.github.com/repos/acme/shop/issues")
//!         .header("Accept", "application/vnd.github+json")
//!         .query(&[("state", "open"), ("per_page", "5")])
//!         .timeout_ms(2000)
//!         .send()?
//!         .error_for_status()?;
//!     Ok(response.json()?)
//! }
//!
//! fn comment(body: &str) -> Result<u16, String> {
//!     let response = http::post("https://api.github.com/repos/acme/shop/issues/1/comments")
//!         .json(&serde_json::json!({ "body": body }))?
//!         .send()?;
//!     Ok(response.status)
//! }
//! ```
//!
//! [`Error`] converts into `String`, so `?` works in handlers; a request the
//! host refuses says why (a URL no rule allows names the rule to add).

use std::fmt;

use serde::{de::DeserializeOwned, Serialize};

use crate::bindings::botyard::app::http as wit;

/// What answered: `status`, `headers` (as received, in order), `body`, and
/// the `url` that answered, after any redirects.
pub use wit::Response;

/// `GET url`.
pub fn get(url: impl Into<String>) -> RequestBuilder {
    request("GET", url)
}

/// `POST url`; give it a [`body`](RequestBuilder::body),
/// [`json`](RequestBuilder::json) or [`form`](RequestBuilder::form).
pub fn post(url: impl Into<String>) -> RequestBuilder {
    request("POST", url)
}

/// `PUT url`.
pub fn put(url: impl Into<String>) -> RequestBuilder {
    request("PUT", url)
}

/// `PATCH url`.
pub fn patch(url: impl Into<String>) -> RequestBuilder {
    request("PATCH", url)
}

/// `DELETE url`.
pub fn delete(url: impl Into<String>) -> RequestBuilder {
    request("DELETE", url)
}

/// `HEAD url`.
pub fn head(url: impl Into<String>) -> RequestBuilder {
    request("HEAD", url)
}

/// A request with any method the host sends (`GET`, `POST`, `PUT`,
/// `PATCH`, `DELETE`, `HEAD`).
pub fn request(method: impl Into<String>, url: impl Into<String>) -> RequestBuilder {
    RequestBuilder {
        request: wit::Request {
            method: method.into().to_ascii_uppercase(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_ms: None,
        },
    }
}

/// A request being built: [`get`], [`post`] … then headers, query, body,
/// timeout, and [`send`](RequestBuilder::send).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a request goes nowhere until `.send()`"]
pub struct RequestBuilder {
    request: wit::Request,
}

impl RequestBuilder {
    /// Adds a header (several of one name are all sent).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> RequestBuilder {
        self.request.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `pairs` to the URL's query string, percent-encoded:
    /// `.query(&[("page", "2")])` makes `…?page=2`.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> RequestBuilder {
        if pairs.is_empty() {
            return self;
        }
        let url = &mut self.request.url;
        let fragment = url.find('#').map(|at| url.split_off(at));
        let mut separator = if url.contains('?') {
            if url.ends_with('?') || url.ends_with('&') {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        for (key, value) in pairs {
            url.push_str(separator);
            url.push_str(&form_encode(key.as_ref()));
            url.push('=');
            url.push_str(&form_encode(value.as_ref()));
            separator = "&";
        }
        url.extend(fragment);
        self
    }

    /// Sends `body` as it is (set a `Content-Type` with
    /// [`header`](RequestBuilder::header)).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> RequestBuilder {
        self.request.body = Some(body.into());
        self
    }

    /// Sends `value` as JSON, with `Content-Type: application/json` unless
    /// one is set already. Fails only for a value serde cannot write as JSON.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<RequestBuilder, Error> {
        let body = serde_json::to_vec(value).map_err(|e| Error::Json(e.to_string()))?;
        Ok(self.content_type("application/json").body(body))
    }

    /// Sends `pairs` as an HTML form (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> RequestBuilder {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k.as_ref()), form_encode(v.as_ref())))
            .collect::<Vec<_>>()
            .join("&");
        self.content_type("application/x-www-form-urlencoded")
            .body(body)
    }

    /// Gives up after `ms` milliseconds (never later than the invocation's
    /// own deadline allows).
    pub fn timeout_ms(mut self, ms: u32) -> RequestBuilder {
        self.request.timeout_ms = Some(ms);
        self
    }

    /// The request as the host receives it.
    pub fn build(self) -> wit::Request {
        self.request
    }

    /// Sends it and waits for the response. Any status is a response (see
    /// [`Response::error_for_status`]); `Err` is the host's reason there is
    /// none.
    pub fn send(self) -> Result<Response, Error> {
        wit::send(&self.request).map_err(Error::from)
    }

    fn content_type(self, value: &str) -> RequestBuilder {
        if header_in(&self.request.headers, "content-type").is_some() {
            self
        } else {
            self.header("Content-Type", value)
        }
    }
}

/// The first value of header `name` (any case) in `headers`.
pub(crate) fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The response if its status is 2xx, else [`Error::Status`].
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::Status {
                status: self.status,
                url: self.url,
            })
        }
    }

    /// The first value of header `name`, in any case: `header("content-type")`.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    /// The body as text (UTF-8; anything else is replaced with `�`).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::Json(format!(
                "the response from {} is not the JSON expected: {e}",
                self.url
            ))
        })
    }
}

/// Why a request got no (acceptable) response. For the host's reasons the
/// text is the host's, as it is (a URL no rule allows names the rule to add).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No rule lets this app reach the URL (or where it redirected).
    NotAllowed(String),
    /// Not a request the host sends: a bad method, URL or header.
    InvalidRequest(String),
    /// No answer in time.
    Timeout(String),
    /// The response body was over the app's limit.
    TooLarge(String),
    /// The app already has as many requests in flight as it may.
    TooMany(String),
    /// The connection failed.
    Transport(String),
    /// [`Response::error_for_status`] on a status that is not 2xx.
    Status { status: u16, url: String },
    /// A body that is not the JSON asked for, or a value that cannot be
    /// written as JSON.
    Json(String),
}

impl Error {
    /// `not-allowed`, `invalid-request`, `timeout`, `too-large`,
    /// `too-many`, `transport` (the WIT's names), `status` or `json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotAllowed(_) => "not-allowed",
            Error::InvalidRequest(_) => "invalid-request",
            Error::Timeout(_) => "timeout",
            Error::TooLarge(_) => "too-large",
            Error::TooMany(_) => "too-many",
            Error::Transport(_) => "transport",
            Error::Status { .. } => "status",
            Error::Json(_) => "json",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotAllowed(text)
            | Error::InvalidRequest(text)
            | Error::Timeout(text)
            | Error::TooLarge(text)
            | Error::TooMany(text)
            | Error::Transport(text)
            | Error::Json(text) => f.write_str(text),
            Error::Status { status, url } => write!(f, "{url} answered {status}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<wit::HttpError> for Error {
    fn from(error: wit::HttpError) -> Error {
        match error {
            wit::HttpError::NotAllowed(text) => Error::NotAllowed(text),
            wit::HttpError::InvalidRequest(text) => Error::InvalidRequest(text),
            wit::HttpError::Timeout(text) => Error::Timeout(text),
            wit::HttpError::TooLarge(text) => Error::TooLarge(text),
            wit::HttpError::TooMany(text) => Error::TooMany(text),
            wit::HttpError::Transport(text) => Error::Transport(text),
        }
    }
}

/// Lets handlers use `?` on requests; the error's text reaches the user.
impl From<Error> for String {
    fn from(error: Error) -> String {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            url: "https://api.example.com/x".into(),
        }
    }

    #[test]
    fn requests_are_built_as_the_host_receives_them() {
        let request = get("https://api.example.com/issues")
            .header("Accept", "application/json")
            .query(&[("page", "2"), ("q", "a b&c=d/é")])
            .timeout_ms(2000)
            .build();
        assert_eq!(
            request,
            wit::Request {
                method: "GET".into(),
                url: "https://api.example.com/issues?page=2&q=a+b%26c%3Dd%2F%C3%A9".into(),
                headers: vec![("Accept".into(), "application/json".into())],
                body: None,
                timeout_ms: Some(2000),
            }
        );
        // A query joins one already there, and stays before a fragment.
        let url = |builder: RequestBuilder| builder.build().url;
        assert_eq!(
            url(get("https://x/?a=1").query(&[("b", "2")])),
            "https://x/?a=1&b=2"
        );
        assert_eq!(
            url(get("https://x/?").query(&[("b", "2")])),
            "https://x/?b=2"
        );
        assert_eq!(
            url(get("https://x/#top").query(&[("b", "2")])),
            "https://x/?b=2#top"
        );
        assert_eq!(
            url(get("https://x/").query::<&str, &str>(&[])),
            "https://x/"
        );
        assert_eq!(request_method("delete"), "DELETE");
    }

    fn request_method(method: &str) -> String {
        request(method, "https://x/").build().method
    }

    #[test]
    fn json_and_form_bodies_say_what_they_are() {
        let request = post("https://x/")
            .json(&serde_json::json!({"body": "hi"}))
            .unwrap()
            .build();
        assert_eq!(request.method, "POST");
        assert_eq!(request.body.as_deref(), Some(&br#"{"body":"hi"}"#[..]));
        assert_eq!(
            request.headers,
            [("Content-Type".to_string(), "application/json".to_string())]
        );
        // A content type the app set stays.
        let request = put("https://x/")
            .header("content-type", "application/vnd.api+json")
            .json(&[1, 2])
            .unwrap()
            .build();
        assert_eq!(request.headers.len(), 1);
        assert_eq!(request.headers[0].1, "application/vnd.api+json");
        let request = patch("https://x/")
            .form(&[("a", "1 2"), ("b", "&")])
            .build();
        assert_eq!(request.body.as_deref(), Some(&b"a=1+2&b=%26"[..]));
        assert_eq!(
            request.headers[0],
            (
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string()
            )
        );
        let raw = delete("https://x/").body("raw").build();
        assert_eq!(
            (raw.method.as_str(), raw.body.as_deref()),
            ("DELETE", Some(&b"raw"[..]))
        );
        assert!(raw.headers.is_empty());
        assert_eq!(head("https://x/").build().method, "HEAD");
    }

    #[test]
    fn responses_read_as_text_json_and_headers() {
        let ok = response(
            200,
            &[
                ("Content-Type", "application/json"),
                ("X-Rate", "1"),
                ("x-rate", "2"),
            ],
            r#"{"n": 3}"#,
        );
        assert!(ok.is_success());
        assert_eq!(ok.header("content-type"), Some("application/json"));
        assert_eq!(ok.header("X-RATE"), Some("1"));
        assert_eq!(ok.header("missing"), None);
        assert_eq!(ok.text(), r#"{"n": 3}"#);
        assert_eq!(ok.json::<serde_json::Value>().unwrap()["n"], 3);
        assert_eq!(
            ok.json::<std::collections::BTreeMap<String, u32>>()
                .unwrap()["n"],
            3
        );
        let err = ok.json::<Vec<u32>>().unwrap_err();
        assert_eq!(err.kind(), "json");
        assert!(
            err.to_string().contains("https://api.example.com/x"),
            "{err}"
        );
        assert!(ok.clone().error_for_status().is_ok());

        let missing = response(404, &[], "no");
        assert!(!missing.is_success());
        let err = missing.error_for_status().unwrap_err();
        assert_eq!(
            err,
            Error::Status {
                status: 404,
                url: "https://api.example.com/x".into()
            }
        );
        assert_eq!(String::from(err), "https://api.example.com/x answered 404");
        assert_eq!(response(200, &[], "caf\u{e9}").text(), "café");
        let mut bad = response(200, &[], "");
        bad.body = vec![b'a', 0xff];
        assert_eq!(bad.text(), "a\u{fffd}");
    }

    #[test]
    fn the_hosts_errors_keep_its_text() {
        let text = "no rule lets app `x` reach https://evil.example/; add [[apps.x.http]] …";
        let error = Error::from(wit::HttpError::NotAllowed(text.into()));
        assert_eq!(error.kind(), "not-allowed");
        assert_eq!(String::from(error), text);
        for (error, kind) in [
            (
                wit::HttpError::InvalidRequest("i".into()),
                "invalid-request",
            ),
            (wit::HttpError::Timeout("t".into()), "timeout"),
            (wit::HttpError::TooLarge("l".into()), "too-large"),
            (wit::HttpError::TooMany("m".into()), "too-many"),
            (wit::HttpError::Transport("c".into()), "transport"),
        ] {
            assert_eq!(Error::from(error).kind(), kind);
        }
    }
}
