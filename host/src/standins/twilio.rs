//! A Twilio stand-in on 127.0.0.1: the machines botyard is built and
//! tested on cannot send SMS, so the `health` app's escalation is tested
//! against this — and run against it by `botyard dev`, labelled
//! "simulated". It speaks the slice of Twilio's **Programmable Messaging
//! REST API** (2010-04-01, *Messages resource*) the app uses, with the
//! documented shapes, and keeps every message it accepted for the tests to
//! read back ([`TwilioStandIn::messages`]). Nothing is ever delivered.
//!
//! | endpoint | answers |
//! |---|---|
//! | `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` | form-encoded (`application/x-www-form-urlencoded`) `To`, `From` or `MessagingServiceSid`, `Body`: 201 with the Message resource; 400 with Twilio's error for a missing or invalid parameter |
//! | `GET /2010-04-01/Accounts/{AccountSid}/Messages.json` | 200, the page of Messages sent (newest first), with Twilio's paging fields |
//! | `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json` | 200 the Message; 404 (20404) |
//!
//! **Authentication** is HTTP basic, as Twilio takes it: the Account SID
//! and its Auth Token (or an API key's SID and secret) — the pair the
//! stand-in was started with. Anything else is 401 with
//! `WWW-Authenticate: Basic realm="Twilio API"` and the error body
//! `{"code": 20003, "message": "Authenticate", "more_info":
//! "https://www.twilio.com/docs/errors/20003", "status": 401}`. An
//! `{AccountSid}` in the path other than the stand-in's account is 404
//! (20404), as another account's resources are to Twilio.
//!
//! **Errors** are Twilio's JSON `{code, message, more_info, status}`:
//! 21604 `To` missing, 21603 neither `From` nor `MessagingServiceSid`,
//! 21602 `Body` missing (no `MediaUrl` either), 21211 a `To` that is not
//! E.164 (`+` and up to 15 digits), 21212 a `From` that is not a phone
//! number, 21617 a body over 1,600 characters. A path not listed is 404
//! (20404).
//!
//! **The Message resource** answered: `sid` (`SM` and 32 hex digits),
//! `account_sid`, `api_version` `2010-04-01`, `to`, `from` (null when sent
//! through a Messaging Service, until Twilio picks a sender),
//! `messaging_service_sid`, `body`, `status` (`queued`, or `accepted`
//! through a Messaging Service), `direction` `outbound-api`, `num_segments`
//! and `num_media` (strings, as Twilio gives them; segments of 160 GSM
//! characters, 153 once split, or 70 / 67 for other text), `price` null,
//! `price_unit` `USD`, `error_code` and `error_message` null,
//! `date_created`, `date_updated` (RFC 2822, `Mon, 05 Jan 2026 09:00:00
//! +0000`), `date_sent` null, `uri` and `subresource_uris`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The account `botyard dev`'s stand-in serves: the shipped `botyard.toml`
/// sets `twilio_account_sid` to it.
pub const DEMO_ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";

/// An SMS the stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub sid: String,
    pub to: String,
    /// `From`, when given.
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// Every form field, as received.
    pub form: Vec<(String, String)>,
    pub created_ms: i64,
}

struct Shared {
    account_sid: String,
    user: String,
    password: String,
    sent: Vec<Sms>,
    /// `POST /2010-04-01/… → 201`, every request in order.
    requests: Vec<String>,
}

/// A running Twilio stand-in; stops when dropped.
pub struct TwilioStandIn {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TwilioStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TwilioStandIn {
    /// Listens on `addr` (port 0: any free one) for account `account_sid`,
    /// accepting basic auth `user:password` — the Account SID and its Auth
    /// Token, or an API key's SID and secret.
    pub async fn start(
        addr: SocketAddr,
        account_sid: &str,
        user: &str,
        password: &str,
    ) -> std::io::Result<TwilioStandIn> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            account_sid: account_sid.into(),
            user: user.into(),
            password: password.into(),
            sent: Vec::new(),
            requests: Vec::new(),
        }));
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the Twilio stand-in stopped");
            }
        });
        Ok(TwilioStandIn { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`: what the app's `twilio_url` is set to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every SMS accepted, oldest first.
    pub fn messages(&self) -> Vec<Sms> {
        self.lock().sent.clone()
    }

    /// Every request, `METHOD path → status`, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }
}

const API: &str = "/2010-04-01/Accounts/";

async fn handle(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let (status, response) = answer(&mut s, &method, &uri, &headers, &body);
    s.requests
        .push(format!("{method} {} → {}", uri.path(), status.as_u16()));
    response
}

fn answer(
    s: &mut Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, Response) {
    let path = uri.path();
    if !authorized(s, headers) {
        let status = StatusCode::UNAUTHORIZED;
        let response = (
            status,
            [
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (header::WWW_AUTHENTICATE, "Basic realm=\"Twilio API\""),
            ],
            error_body(20003, "Authenticate", 401).to_string(),
        )
            .into_response();
        return (status, response);
    }
    let Some(rest) = path.strip_prefix(API) else {
        return not_found(path);
    };
    let Some((account, resource)) = rest.split_once('/') else {
        return not_found(path);
    };
    if account != s.account_sid {
        return not_found(path);
    }
    match (method.as_str(), resource) {
        ("POST", "Messages.json") => create(s, headers, body),
        ("GET", "Messages.json") => {
            let messages: Vec<Value> = s.sent.iter().rev().map(|m| resource_json(s, m)).collect();
            let uri = format!("{API}{}/Messages.json", s.account_sid);
            let page = json!({
                "messages": messages,
                "end": messages.len().saturating_sub(1),
                "first_page_uri": format!("{uri}?PageSize=50&Page=0"),
                "next_page_uri": null,
                "previous_page_uri": null,
                "page": 0,
                "page_size": 50,
                "start": 0,
                "uri": format!("{uri}?PageSize=50&Page=0"),
            });
            json_response(StatusCode::OK, page)
        }
        ("GET", _) => {
            let sid = resource
                .strip_prefix("Messages/")
                .and_then(|r| r.strip_suffix(".json"));
            match sid.and_then(|sid| s.sent.iter().find(|m| m.sid == sid)) {
                Some(m) => json_response(StatusCode::OK, resource_json(s, m)),
                None => not_found(path),
            }
        }
        ("POST", _) | ("DELETE", _) => not_found(path),
        _ => {
            let status = StatusCode::METHOD_NOT_ALLOWED;
            json_response(status, error_body(20004, "Method not allowed", 405))
        }
    }
}

fn authorized(s: &Shared, headers: &HeaderMap) -> bool {
    super::basic_auth(headers).is_some_and(|(u, p)| u == s.user && p == s.password)
}

fn error_body(code: u32, message: &str, status: u16) -> Value {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
}

fn json_response(status: StatusCode, body: Value) -> (StatusCode, Response) {
    let response = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    (status, response)
}

fn not_found(path: &str) -> (StatusCode, Response) {
    json_response(
        StatusCode::NOT_FOUND,
        error_body(
            20404,
            &format!("The requested resource {path} was not found"),
            404,
        ),
    )
}

fn bad_request(code: u32, message: &str) -> (StatusCode, Response) {
    json_response(StatusCode::BAD_REQUEST, error_body(code, message, 400))
}

/// `+`, then up to 15 digits, the first not 0 (ITU-T E.164).
pub fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

fn create(s: &mut Shared, headers: &HeaderMap, body: &[u8]) -> (StatusCode, Response) {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Twilio reads parameters from a form body only; anything else carries none.
    let form: Vec<(String, String)> = if content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        serde_urlencoded::from_bytes(body).unwrap_or_default()
    } else {
        Vec::new()
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let Some(to) = field("To") else {
        return bad_request(21604, "A 'To' phone number is required.");
    };
    let from = field("From");
    let service = field("MessagingServiceSid");
    if from.is_none() && service.is_none() {
        return bad_request(21603, "A 'From' phone number is required.");
    }
    let has_media = field("MediaUrl").is_some() || field("ContentSid").is_some();
    let text = field("Body").unwrap_or_default();
    if text.is_empty() && !has_media {
        return bad_request(21602, "Message body is required.");
    }
    if !is_e164(&to) {
        return bad_request(21211, &format!("Invalid 'To' Phone Number: {to}"));
    }
    if let Some(from) = &from
        && !is_e164(from)
    {
        return bad_request(21212, &format!("Invalid From Number (caller ID): {from}"));
    }
    if text.chars().count() > 1600 {
        return bad_request(
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let sid = format!(
        "SM{}",
        std::iter::repeat_with(|| fastrand::u8(0..16))
            .take(32)
            .map(|n| char::from_digit(n as u32, 16).unwrap_or('0'))
            .collect::<String>()
    );
    let sms = Sms {
        sid,
        to,
        from,
        messaging_service_sid: service,
        body: text,
        content_type,
        form,
        created_ms: crate::contract::time::now_ms() as i64,
    };
    let resource = resource_json(s, &sms);
    s.sent.push(sms);
    json_response(StatusCode::CREATED, resource)
}

/// How many segments Twilio bills `body` as.
fn segments(body: &str) -> usize {
    let n = body.chars().count();
    let gsm = body.chars().all(|c| c.is_ascii() && c != '`');
    let (single, part) = if gsm { (160, 153) } else { (70, 67) };
    if n <= single { 1 } else { n.div_ceil(part) }
}

fn rfc2822(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

fn resource_json(s: &Shared, m: &Sms) -> Value {
    let uri = format!("{API}{}/Messages/{}", s.account_sid, m.sid);
    let date = rfc2822(m.created_ms);
    json!({
        "account_sid": s.account_sid,
        "api_version": "2010-04-01",
        "body": m.body,
        "date_created": date,
        "date_sent": null,
        "date_updated": date,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": m.from,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": "0",
        "num_segments": segments(&m.body).to_string(),
        "price": null,
        "price_unit": "USD",
        "sid": m.sid,
        "status": if m.from.is_none() { "accepted" } else { "queued" },
        "subresource_uris": {
            "media": format!("{uri}/Media.json"),
            "feedback": format!("{uri}/Feedback.json"),
        },
        "to": m.to,
        "uri": format!("{uri}.json"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_segments_follow_twilio() {
        assert!(is_e164("+15551230001"));
        assert!(!is_e164("5551230001") && !is_e164("+1 555") && !is_e164("+0123"));
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"é".repeat(70)), 1);
        assert_eq!(segments(&"é".repeat(71)), 2);
        assert_eq!(
            rfc2822(1_767_603_600_000),
            "Mon, 05 Jan 2026 09:00:00 +0000"
        );
    }

    #[tokio::test]
    async fn a_message_is_created_with_auth_and_refused_without() {
        let t = TwilioStandIn::start("127.0.0.1:0".parse().unwrap(), "AC1", "AC1", "tok")
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let url = format!("{}/2010-04-01/Accounts/AC1/Messages.json", t.url());
        let form = [
            ("To", "+15551230001"),
            ("From", "+15550000000"),
            ("Body", "hi"),
        ];
        let r = client.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], 20003);

        let r = client
            .post(&url)
            .basic_auth("AC1", Some("tok"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let m: Value = r.json().await.unwrap();
        assert_eq!(m["status"], "queued");
        assert_eq!(m["to"], "+15551230001");
        assert!(m["sid"].as_str().unwrap().starts_with("SM"));
        assert_eq!(m["sid"].as_str().unwrap().len(), 34);

        for (form, code) in [
            (vec![("From", "+15550000000"), ("Body", "hi")], 21604),
            (vec![("To", "+15551230001"), ("Body", "hi")], 21603),
            (
                vec![("To", "+15551230001"), ("From", "+15550000000")],
                21602,
            ),
            (
                vec![("To", "555"), ("From", "+15550000000"), ("Body", "x")],
                21211,
            ),
        ] {
            let r = client
                .post(&url)
                .basic_auth("AC1", Some("tok"))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400);
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["code"], code, "{form:?}");
        }
        let other = url.replace("AC1", "AC2");
        let r = client
            .post(&other)
            .basic_auth("AC1", Some("tok"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(t.messages().len(), 1);
        assert_eq!(t.messages()[0].body, "hi");
    }
}
