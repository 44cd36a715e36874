//! `http`: outbound HTTP to what the operator allow-listed for the app, and
//! nothing else. The sandbox holds because every decision is the host's:
//!
//! - **The allow-list** (`[[apps.<id>.http.allow]]`): scheme, host, port and
//!   path prefix. Anything else is refused before a connection is made, with
//!   the rule to add; each redirect hop is checked again.
//! - **Internal addresses** — loopback, private, link-local (the cloud
//!   metadata address 169.254.169.254 among them), unique-local, CGNAT — are
//!   refused unless a rule names the address itself (`http://127.0.0.1:9090/`)
//!   or says `private = true`. The check is on the *resolved* address, inside
//!   the resolver the connection uses, so a name that resolves to an internal
//!   address (DNS rebinding) is refused too.
//! - **Credentials** attached to a rule (`headers = { Authorization = "Bearer
//!   ${env:GITHUB_TOKEN}" }`, `basic = { … }`, `aws_sigv4 = { … }`) are added
//!   by the host to the requests that rule allows — on each hop, only if that
//!   hop matches it — so the app never sees them. Their values come from the
//!   environment or a file, never from `botyard.toml`, and appear in no log,
//!   error, audit row or listing. Each kind of credential is one
//!   [`Credential`]. `aws_sigv4` signs the final request (method, URL,
//!   headers, body) with AWS Signature Version 4 at the moment it is sent,
//!   on the wall clock, for S3 with its `x-amz-content-sha256` payload hash.
//! - **Limits**: a timeout never past the invocation's deadline, a cap on the
//!   response body (default 4 MiB), a cap on requests in flight per app, and
//!   the app's quota `http_requests_per_minute` (past it, `too-many` naming
//!   the quota; nothing is sent, and nothing recorded).
//! - **A record** of every request (method, host, path, status, duration,
//!   bytes — no headers, no bodies) in the audit log, in the invocation's
//!   unit of work.
//!
//! Why an interface of botyard's own rather than `wasi:http`: grants,
//! allow-lists and credentials are botyard's model and every request must
//! pass through them; the two guest runtimes botyard supports besides Rust
//! (QuickJS, componentize-py) have no synchronous `wasi:http` client an app
//! could call from a handler; and a request/response with a capped body is
//! all a chat app needs — streaming would only make the caps harder to hold.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use wasmtime::component::Linker;

use super::quota::{Meter, per_minute_message};
use super::{Capability, Ctx, CtxOf, Host, Services, ctx};
use crate::contract::bindings::botyard::app::http::{
    self, HttpError, Request as HttpRequest, Response as HttpResponse,
};
use crate::contract::limits::Quota;
use crate::contract::secret::{self, Secret};
use crate::storage::{InvocationRecord, Outcome};

/// Largest response body by default (`max_response_bytes`).
const DEFAULT_MAX_RESPONSE: u64 = 4 << 20;
/// Largest request body an app may send.
const MAX_REQUEST_BODY: usize = 4 << 20;
/// Requests of one app in flight at once, by default (`max_concurrent`).
const DEFAULT_MAX_CONCURRENT: u32 = 4;
/// A request's own ceiling, by default (`timeout_ms`); the deadline may cut
/// it shorter.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this much of what is left of an invocation's deadline is kept
/// back from a request, for the app to answer after it (a tenth when less
/// is left).
const ANSWER_RESERVE: Duration = Duration::from_millis(250);
/// Redirects followed, each checked against the allow-list.
const MAX_REDIRECTS: usize = 5;

pub struct Http {
    meter: Arc<Meter>,
}

/// `[apps.<id>.http]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default)]
    pub allow: Vec<RuleConfig>,
    pub max_response_bytes: Option<u64>,
    pub max_concurrent: Option<u32>,
    pub timeout_ms: Option<u64>,
}

/// One `[[apps.<id>.http.allow]]` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// `https://api.github.com/`, `http://127.0.0.1:9090/api/`: scheme, host,
    /// optional port, optional path prefix.
    pub url: String,
    /// May the host resolve to internal addresses?
    #[serde(default)]
    pub private: bool,
    /// Headers added to matching requests; values are secret templates.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// HTTP basic auth added to matching requests.
    pub basic: Option<BasicConfig>,
    /// Matching requests signed with AWS Signature Version 4.
    pub aws_sigv4: Option<AwsSigV4Config>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicConfig {
    /// Plain or a secret template.
    pub user: String,
    /// A secret template: `${env:NAME}` or `${file:/path}`.
    pub password: String,
}

/// `aws_sigv4 = { region = "us-east-1", service = "s3", access_key_id =
/// "${env:AWS_ACCESS_KEY_ID}", secret_access_key =
/// "${env:AWS_SECRET_ACCESS_KEY}" }`. Region and service are checked at load
/// (not by serde) so a missing one gets a message saying what to write.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSigV4Config {
    /// The region the service is in: `us-east-1`.
    pub region: Option<String>,
    /// The service's signing name: `s3`, `sqs`, `execute-api` …
    pub service: Option<String>,
    /// A secret template.
    pub access_key_id: Option<String>,
    /// A secret template.
    pub secret_access_key: Option<String>,
    /// A secret template, for temporary credentials (STS).
    pub session_token: Option<String>,
}

/// One app's allow-list, client and limits, resolved at load.
pub struct HttpApp {
    app: Arc<str>,
    rules: Arc<Vec<Rule>>,
    client: reqwest::Client,
    max_response: u64,
    timeout: Duration,
    in_flight: Arc<tokio::sync::Semaphore>,
    max_concurrent: u32,
    /// Counts requests against `http_requests_per_minute`.
    meter: Arc<Meter>,
}

/// A rule, checked and with its secrets read.
struct Rule {
    scheme: String,
    host: String,
    port: u16,
    /// Ends in `/`.
    path: String,
    private: bool,
    credentials: Vec<Box<dyn Credential>>,
    /// The rule as the operator wrote it, for messages.
    shown: String,
}

/// Something the host adds to a request the app made, from a rule: the one
/// mechanism every kind of credential goes through (headers, basic auth,
/// AWS SigV4 request signing). Applied to the final request of each hop:
/// `headers`, then `basic`, then a signature.
pub trait Credential: Send + Sync {
    fn apply(&self, request: &mut reqwest::Request) -> Result<(), String>;
}

struct Headers(Vec<(HeaderName, Secret)>);

impl Credential for Headers {
    fn apply(&self, request: &mut reqwest::Request) -> Result<(), String> {
        for (name, value) in &self.0 {
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| format!("the value for header {name} is not a valid header value"))?;
            value.set_sensitive(true);
            request.headers_mut().insert(name.clone(), value);
        }
        Ok(())
    }
}

struct Basic {
    user: Secret,
    password: Secret,
}

impl Credential for Basic {
    fn apply(&self, request: &mut reqwest::Request) -> Result<(), String> {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user.expose(), self.password.expose()));
        let mut value = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| "basic credentials are not a valid header value".to_string())?;
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(reqwest::header::AUTHORIZATION, value);
        Ok(())
    }
}

/// AWS Signature Version 4 (`aws-sigv4`): the request as it will be sent —
/// method, URL, the headers the app set, body — signed with the rule's key
/// at the moment it is sent. The `Authorization`, `x-amz-date`,
/// `x-amz-content-sha256` (S3) and `x-amz-security-token` (temporary
/// credentials) headers are the host's: the app's own are dropped.
///
/// Headers another credential of the rule added (marked sensitive) are sent
/// unsigned: the signer's trace log lists the headers it signs, and a secret
/// must never reach a log.
struct AwsSigV4 {
    region: String,
    service: String,
    access_key_id: Secret,
    secret_access_key: Secret,
    session_token: Option<Secret>,
}

/// The headers [`AwsSigV4`] sets; a rule's `headers` may not set them, and
/// an app's are replaced.
const SIGV4_HEADERS: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
];

impl Credential for AwsSigV4 {
    fn apply(&self, request: &mut reqwest::Request) -> Result<(), String> {
        // The wall clock, not the app's: AWS compares it with its own, and
        // an app under the test kit's virtual time would sign in the past.
        self.sign(request, std::time::SystemTime::now())
    }
}

impl AwsSigV4 {
    fn parse(config: &AwsSigV4Config, what: &str) -> Result<AwsSigV4, String> {
        let name = |value: &Option<String>, key: &str, example: &str| {
            let value = value.as_deref().unwrap_or_default().trim();
            if value.is_empty() {
                return Err(format!(
                    "{what} needs `{key}`, the AWS {key} to sign for: add {key} = \"{example}\""
                ));
            }
            if !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(format!(
                    "{what}: {key} = \"{value}\" is not an AWS {key} name (letters, digits and `-`, like \"{example}\")"
                ));
            }
            Ok(value.to_ascii_lowercase())
        };
        let region = name(&config.region, "region", "us-east-1")?;
        let service = name(&config.service, "service", "s3")?;
        let key = |value: &Option<String>, key: &str, env: &str| match value {
            Some(template) => secret::resolve(template, &format!("{what} {key}")),
            None => Err(format!(
                "{what} needs `{key}`: add {key} = \"${{env:{env}}}\" (or ${{file:/path}})"
            )),
        };
        Ok(AwsSigV4 {
            access_key_id: key(&config.access_key_id, "access_key_id", "AWS_ACCESS_KEY_ID")?,
            secret_access_key: key(
                &config.secret_access_key,
                "secret_access_key",
                "AWS_SECRET_ACCESS_KEY",
            )?,
            session_token: match &config.session_token {
                Some(template) => {
                    Some(secret::resolve(template, &format!("{what} session_token"))?)
                }
                None => None,
            },
            region,
            service,
        })
    }

    /// Signs `request` as at `time`, replacing the headers the signature
    /// sets.
    fn sign(
        &self,
        request: &mut reqwest::Request,
        time: std::time::SystemTime,
    ) -> Result<(), String> {
        use aws_sigv4::http_request::{
            PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
            SigningSettings, UriPathNormalizationMode, sign,
        };
        for name in SIGV4_HEADERS {
            request.headers_mut().remove(name);
        }
        let mut settings = SigningSettings::default();
        if self.service == "s3" {
            // S3 wants the payload's hash in `x-amz-content-sha256`, and the
            // path signed as it is sent (neither re-encoded nor normalized).
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        let identity = aws_credential_types::Credentials::new(
            self.access_key_id.expose(),
            self.secret_access_key.expose(),
            self.session_token.as_ref().map(|t| t.expose().to_string()),
            None,
            "botyard.toml",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| format!("signing the request with AWS SigV4: {e}"))?
            .into();
        let mut url = request.url().clone();
        url.set_fragment(None);
        let body: &[u8] = match request.body() {
            None => &[],
            Some(body) => body
                .as_bytes()
                .ok_or("a streamed body cannot be signed with AWS SigV4")?,
        };
        let mut headers = Vec::new();
        for (name, value) in request.headers() {
            if value.is_sensitive() {
                continue; // another credential's, never shown to the signer
            }
            let value = value.to_str().map_err(|_| {
                format!("the value of header `{name}` cannot be signed with AWS SigV4 (not visible ASCII)")
            })?;
            headers.push((name.as_str(), value));
        }
        let signable = SignableRequest::new(
            request.method().as_str(),
            url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("signing the request with AWS SigV4: {e}"))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| format!("signing the request with AWS SigV4: {e}"))?
            .into_parts();
        let (added, _query) = instructions.into_parts();
        for header in added {
            let mut value = HeaderValue::from_str(header.value())
                .map_err(|_| "the AWS SigV4 signature is not a valid header value".to_string())?;
            value.set_sensitive(header.sensitive() || header.name() == "authorization");
            request
                .headers_mut()
                .insert(HeaderName::from_static(header.name()), value);
        }
        Ok(())
    }
}

impl Rule {
    fn parse(app: &str, config: &RuleConfig) -> Result<Rule, String> {
        let shown = config.url.clone();
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| format!("allow rule `{shown}` is not a URL: {e}"))?;
        let scheme = url.scheme().to_string();
        if !matches!(scheme.as_str(), "http" | "https") {
            return Err(format!("allow rule `{shown}`: only http and https can be allowed"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(format!(
                "allow rule `{shown}`: give scheme, host, port and path only (credentials go in `headers`, `basic` or `aws_sigv4`)"
            ));
        }
        let host = host_key(&url).ok_or_else(|| format!("allow rule `{shown}` names no host"))?;
        let mut path = url.path().to_string();
        if !path.ends_with('/') {
            path.push('/');
        }
        let mut credentials: Vec<Box<dyn Credential>> = Vec::new();
        if !config.headers.is_empty() {
            let mut headers = Vec::new();
            for (name, template) in &config.headers {
                let header = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("allow rule `{shown}`: `{name}` is not a header name"))?;
                let value = secret::resolve(template, &format!("[apps.{app}.http] `{shown}` header {name}"))?;
                headers.push((header, value));
            }
            credentials.push(Box::new(Headers(headers)));
        }
        if let Some(basic) = &config.basic {
            let what = format!("[apps.{app}.http] `{shown}` basic");
            let user = secret::resolve_or_plain(&basic.user, &format!("{what} user"))?;
            credentials.push(Box::new(Basic {
                user,
                password: secret::resolve(&basic.password, &format!("{what} password"))?,
            }));
        }
        // The signature goes last: it signs the request as it will be sent.
        if let Some(sigv4) = &config.aws_sigv4 {
            let what = format!("[apps.{app}.http] `{shown}` aws_sigv4");
            if config.basic.is_some() {
                return Err(format!(
                    "{what}: a rule cannot have both `basic` and `aws_sigv4`, both set the Authorization header; \
                     keep one, or split them into rules for different URLs"
                ));
            }
            if let Some(name) = config
                .headers
                .keys()
                .find(|name| SIGV4_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)))
            {
                return Err(format!(
                    "{what}: `headers` sets {name}, which the AWS SigV4 signature sets; \
                     remove it from `headers` or drop `aws_sigv4`"
                ));
            }
            credentials.push(Box::new(AwsSigV4::parse(sigv4, &what)?));
        }
        Ok(Rule {
            port: url.port_or_known_default().unwrap_or(80),
            scheme,
            host,
            path,
            private: config.private,
            credentials,
            shown,
        })
    }

    fn matches(&self, url: &reqwest::Url) -> bool {
        let host = host_key(url).unwrap_or_default();
        url.scheme() == self.scheme
            && host == self.host
            && url.port_or_known_default() == Some(self.port)
            && (url.path() == self.path.trim_end_matches('/') || url.path().starts_with(&self.path))
    }
}

/// Whether an address is one a rule must name: loopback, private,
/// link-local (the metadata address among them), unique-local, CGNAT,
/// unspecified, multicast, broadcast, documentation.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link local fe80::/10
        }
    }
}

/// Why the resolver refused a name; found again in the error's sources.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The resolver every connection of the app uses: it resolves, then keeps
/// only the addresses a rule for that host allows, so the address checked is
/// the address connected to.
struct Resolver {
    rules: Arc<Vec<Rule>>,
    app: Arc<str>,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let private = self.rules.iter().any(|r| r.host == host && r.private);
        let app = self.app.clone();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .collect();
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
                .into_iter()
                .partition(|addr| private || !is_internal(addr.ip()));
            if allowed.is_empty() {
                let addresses: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(Refused(format!(
                    "{host} resolves to {}, an internal address app `{app}` may not reach; \
                     if that is intended, add `private = true` to its rule in [[apps.{app}.http.allow]]",
                    if addresses.is_empty() { "nothing".to_string() } else { addresses.join(", ") }
                ))) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Capability for Http {
    const NAME: &'static str = "http";
    type AppConfig = HttpConfig;
    type AppState = HttpApp;
    type InstanceState = Arc<HttpApp>;

    fn new(services: &Services) -> Self {
        Http {
            meter: services.quotas.clone(),
        }
    }

    fn load(&self, app: &Arc<str>, config: &HttpConfig) -> Result<HttpApp, String> {
        let rules: Vec<Rule> = config
            .allow
            .iter()
            .map(|rule| Rule::parse(app, rule))
            .collect::<Result<_, _>>()?;
        let rules = Arc::new(rules);
        let max_concurrent = config.max_concurrent.unwrap_or(DEFAULT_MAX_CONCURRENT);
        if !(1..=64).contains(&max_concurrent) {
            return Err(format!("max_concurrent = {max_concurrent} must be 1..=64"));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Resolver {
                rules: rules.clone(),
                app: app.clone(),
            }))
            .user_agent(concat!("botyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(HttpApp {
            app: app.clone(),
            rules,
            client,
            max_response: config.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE),
            timeout: config
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_TIMEOUT),
            in_flight: Arc::new(tokio::sync::Semaphore::new(max_concurrent as usize)),
            max_concurrent,
            meter: self.meter.clone(),
        })
    }

    fn instance(&self, app: &Arc<HttpApp>) -> Arc<HttpApp> {
        app.clone()
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        http::add_to_linker::<T, CtxOf<Arc<HttpApp>>>(linker, ctx::<T, Http>)
    }
}

impl HttpApp {
    /// The allow-list as the operator wrote it, for `botyard apps` and the
    /// workbench: each rule's URL, and whether the host adds credentials to
    /// it (never which ones, nor their values).
    pub fn allowed(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| match r.credentials.is_empty() {
                true => r.shown.clone(),
                false => format!("{} (credentials added by the host)", r.shown),
            })
            .collect()
    }

    /// The rule allowing `url`, the most specific first; or the error naming
    /// the rule to add.
    fn rule(&self, url: &reqwest::Url, hop: &str) -> Result<&Rule, HttpError> {
        self.rules
            .iter()
            .filter(|r| r.matches(url))
            .max_by_key(|r| r.path.len())
            .ok_or_else(|| {
                let origin = url.origin().ascii_serialization();
                HttpError::NotAllowed(format!(
                    "{hop}{} is not in app `{app}`'s allow-list; to allow it, add to botyard.toml: \
                     [[apps.{app}.http.allow]] url = \"{origin}/\"",
                    without_query(url),
                    app = self.app,
                ))
            })
    }
}

/// A URL's host as rules and requests are compared: lower case, an IPv6
/// address without its brackets.
fn host_key(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
}

/// The URL without its query (which may carry tokens an app put there).
fn without_query(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

impl http::Host for Ctx<'_, Arc<HttpApp>> {
    async fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let app = self.state.clone();
        // Past the quota nothing is sent, and nothing recorded: a looping
        // app would otherwise fill the audit log with refusals.
        let quota = Quota::HttpRequestsPerMinute;
        let limit = self.invocation.quotas.limit(quota);
        if let Err(busy) = app.meter.per_minute(&app.app, quota, limit) {
            let message = per_minute_message(&app.app, quota, "HTTP requests", limit, busy);
            app.meter
                .refused(&app.app, quota, busy.used, limit, &message);
            return Err(HttpError::TooMany(message));
        }
        let started = Instant::now();
        let method = request.method.to_ascii_uppercase();
        let target = reqwest::Url::parse(&request.url)
            .map_err(|e| HttpError::InvalidRequest(format!("`{}` is not a URL: {e}", request.url)))?;
        let host = target.host_str().unwrap_or_default().to_string();
        let path = target.path().to_string();
        let result = send(&app, &method, target, request, self.invocation.deadline).await;
        let (status, bytes) = match &result {
            Ok(response) => (response.status.to_string(), response.body.len()),
            Err(_) => ("-".to_string(), 0),
        };
        let record = InvocationRecord {
            at_ms: (crate::contract::time::now_ms() - started.elapsed().as_millis() as u64) as i64,
            app: app.app.to_string(),
            version: self.invocation.version.to_string(),
            kind: "http".into(),
            user: self.invocation.context.user_id.clone(),
            channel: self.invocation.context.channel_id.clone(),
            detail: format!("{method} {host}{path} → {status}, {bytes} bytes"),
            duration_us: started.elapsed().as_micros() as i64,
            outcome: match &result {
                Ok(_) => Outcome::Ok,
                Err(e) => Outcome::Failed(error_text(e)),
            },
        };
        tracing::info!(
            target: "botyard::http",
            app = &*app.app,
            method,
            host,
            path,
            status,
            bytes,
            duration_ms = started.elapsed().as_millis() as u64,
            "outbound request"
        );
        if let Ok(unit) = self.invocation.unit()
            && let Err(e) = unit.record(&record).await
        {
            tracing::error!(error = %e, "recording an outbound request failed");
        }
        result
    }
}

fn error_text(error: &HttpError) -> String {
    match error {
        HttpError::NotAllowed(m)
        | HttpError::InvalidRequest(m)
        | HttpError::Timeout(m)
        | HttpError::TooLarge(m)
        | HttpError::TooMany(m)
        | HttpError::Transport(m) => m.clone(),
    }
}

/// The request, through the allow-list and its redirects.
async fn send(
    app: &HttpApp,
    method: &str,
    mut url: reqwest::Url,
    request: HttpRequest,
    deadline: Option<Instant>,
) -> Result<HttpResponse, HttpError> {
    let mut method = reqwest::Method::from_bytes(method.as_bytes())
        .ok()
        .filter(|m| {
            matches!(
                m.as_str(),
                "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS"
            )
        })
        .ok_or_else(|| HttpError::InvalidRequest(format!("method `{method}` is not one botyard sends")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HttpError::InvalidRequest(format!(
            "`{}`: only http and https URLs",
            without_query(&url)
        )));
    }
    let mut body = request.body;
    if body.as_ref().is_some_and(|b| b.len() > MAX_REQUEST_BODY) {
        return Err(HttpError::InvalidRequest(format!(
            "the request body is over {MAX_REQUEST_BODY} bytes"
        )));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("`{name}` is not a header name")))?;
        if matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding" | "te" | "upgrade"
        ) {
            continue; // the host's to set
        }
        let value = HeaderValue::from_str(value).map_err(|_| {
            HttpError::InvalidRequest(format!("the value of header `{name}` is not valid"))
        })?;
        headers.append(name, value);
    }
    let own_limit = request
        .timeout_ms
        .map(|ms| Duration::from_millis(ms.into()))
        .unwrap_or(app.timeout)
        .min(app.timeout);
    // The request ends a little before the invocation must, so the app can
    // still answer (say, that the service timed out) instead of being
    // stopped mid-request.
    let until = deadline
        .map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            left.saturating_sub((left / 10).min(ANSWER_RESERVE))
        })
        .unwrap_or(own_limit)
        .min(own_limit);
    if until.is_zero() {
        return Err(HttpError::Timeout("the invocation's deadline has passed".into()));
    }
    let _slot = app.in_flight.clone().try_acquire_owned().map_err(|_| {
        HttpError::TooMany(format!(
            "app `{}` already has {} requests in flight (max_concurrent)",
            app.app, app.max_concurrent
        ))
    })?;
    let work = async {
        for hop in 0..=MAX_REDIRECTS {
            let described = if hop == 0 { String::new() } else { "a redirect to ".into() };
            let rule = app.rule(&url, &described)?;
            let mut outgoing = reqwest::Request::new(method.clone(), url.clone());
            *outgoing.headers_mut() = headers.clone();
            if let Some(bytes) = &body {
                *outgoing.body_mut() = Some(bytes.clone().into());
            }
            for credential in &rule.credentials {
                credential.apply(&mut outgoing).map_err(HttpError::InvalidRequest)?;
            }
            let response = app
                .client
                .execute(outgoing)
                .await
                .map_err(|e| transport_error(&e, &url))?;
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(reqwest::header::LOCATION)
            {
                let location = location.to_str().unwrap_or_default();
                url = url.join(location).map_err(|e| {
                    HttpError::Transport(format!("a redirect to `{location}` is not a URL: {e}"))
                })?;
                if status == reqwest::StatusCode::SEE_OTHER
                    || (matches!(status.as_u16(), 301 | 302) && method == reqwest::Method::POST)
                {
                    method = reqwest::Method::GET;
                    body = None;
                }
                continue;
            }
            return read(app, response).await;
        }
        Err(HttpError::Transport(format!("more than {MAX_REDIRECTS} redirects")))
    };
    match tokio::time::timeout(until, work).await {
        Ok(result) => result,
        Err(_) => Err(HttpError::Timeout(format!(
            "no answer from {} within {} ms",
            url.host_str().unwrap_or_default(),
            until.as_millis()
        ))),
    }
}

/// The response, its body cut off at the app's cap.
async fn read(app: &HttpApp, mut response: reqwest::Response) -> Result<HttpResponse, HttpError> {
    let too_large = || {
        HttpError::TooLarge(format!(
            "the response body is over app `{}`'s limit of {} bytes (max_response_bytes)",
            app.app, app.max_response
        ))
    };
    if response.content_length().is_some_and(|n| n > app.max_response) {
        return Err(too_large());
    }
    let status = response.status().as_u16();
    let url = without_query(response.url());
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpError::Transport(format!("reading the response: {e}")))?
    {
        if body.len() as u64 + chunk.len() as u64 > app.max_response {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
        url,
    })
}

/// A transport error, saying why the resolver refused a name when it did.
fn transport_error(error: &reqwest::Error, url: &reqwest::Url) -> HttpError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return HttpError::NotAllowed(refused.0.clone());
        }
        source = cause.source();
    }
    if error.is_timeout() {
        return HttpError::Timeout(format!("no answer from {}", url.host_str().unwrap_or_default()));
    }
    // The innermost causes say what went wrong without repeating the URL.
    let mut why = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        why.push(cause.to_string());
        source = cause.source();
    }
    let why = if why.is_empty() { error.to_string() } else { why.join(": ") };
    HttpError::Transport(format!("{}: {why}", without_query(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(url: &str) -> RuleConfig {
        RuleConfig {
            url: url.into(),
            private: false,
            headers: BTreeMap::new(),
            basic: None,
            aws_sigv4: None,
        }
    }

    fn app(rules: Vec<RuleConfig>) -> HttpApp {
        let http = Http {
            meter: Default::default(),
        };
        http.load(
            &"gh".into(),
            &HttpConfig {
                allow: rules,
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn url(u: &str) -> reqwest::Url {
        reqwest::Url::parse(u).unwrap()
    }

    #[test]
    fn rules_match_scheme_host_port_and_path_prefix() {
        let a = app(vec![rule("https://api.github.com/repos/"), rule("http://127.0.0.1:9090")]);
        assert!(a.rule(&url("https://api.github.com/repos/x/y?page=2"), "").is_ok());
        assert!(a.rule(&url("https://API.github.com/repos"), "").is_ok());
        assert!(a.rule(&url("https://api.github.com/user"), "").is_err(), "path prefix");
        assert!(a.rule(&url("https://api.github.com/reposx"), "").is_err(), "segment boundary");
        assert!(a.rule(&url("http://api.github.com/repos/x"), "").is_err(), "scheme");
        assert!(a.rule(&url("https://api.github.com:8443/repos/x"), "").is_err(), "port");
        assert!(a.rule(&url("http://127.0.0.1:9090/metrics"), "").is_ok());
        let Err(err) = a.rule(&url("https://evil.example/steal?token=abc"), "") else {
            panic!("a host not on the list was allowed")
        };
        let err = error_text(&err);
        assert!(err.contains("[[apps.gh.http.allow]] url = \"https://evil.example/\""), "{err}");
        assert!(!err.contains("token=abc"), "queries stay out of messages: {err}");
    }

    #[test]
    fn internal_addresses_need_a_rule_that_names_them() {
        for ip in ["127.0.0.2", "10.1.2.3", "192.168.0.1", "169.254.169.254", "100.64.0.1", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0"] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "140.82.112.3", "2606:4700::1111"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
        // An address literal reaches only a rule that names that address
        // (the allow-list match compares hosts), so naming it is the only
        // way to an internal one given as a literal.
        let a = app(vec![rule("http://127.0.0.1:9090/"), rule("http://10.0.0.5/")]);
        assert!(a.rule(&url("http://127.0.0.1:9090/x"), "").is_ok());
        assert!(a.rule(&url("http://127.0.0.2:9090/x"), "").is_err());
        let mut wide = rule("http://169.254.169.254/");
        wide.private = false;
        let b = app(vec![wide]);
        assert!(b.rule(&url("http://169.254.169.254/latest/meta-data"), "").is_ok(), "named explicitly");
    }

    /// A rule as `botyard.toml` would give it.
    fn rule_toml(text: &str) -> RuleConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn load_error(rule: RuleConfig) -> String {
        let http = Http {
            meter: Default::default(),
        };
        match http.load(
            &"gh".into(),
            &HttpConfig {
                allow: vec![rule],
                ..Default::default()
            },
        ) {
            Ok(_) => panic!("the rule loaded"),
            Err(e) => e,
        }
    }

    /// Secret files for a rule's keys: `${file:…}` references, so no test
    /// touches the process environment.
    struct Keys {
        _dir: tempfile::TempDir,
        id: String,
        secret: String,
    }

    const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn keys() -> Keys {
        let dir = tempfile::tempdir().unwrap();
        let id = dir.path().join("id");
        let secret = dir.path().join("secret");
        std::fs::write(&id, "AKIAIOSFODNN7EXAMPLE\n").unwrap();
        std::fs::write(&secret, format!("{SECRET_KEY}\n")).unwrap();
        Keys {
            id: format!("${{file:{}}}", id.display()),
            secret: format!("${{file:{}}}", secret.display()),
            _dir: dir,
        }
    }

    #[test]
    fn aws_sigv4_rules_are_checked_at_load_with_what_to_write() {
        let k = keys();
        let sigv4 = |fields: &str| {
            rule_toml(&format!(
                "url = \"http://127.0.0.1:5000/backups/\"\naws_sigv4 = {{ {fields} }}\n"
            ))
        };
        let keys = format!(
            "access_key_id = \"{}\", secret_access_key = \"{}\"",
            k.id, k.secret
        );

        let good = app(vec![sigv4(&format!(
            "region = \"us-east-1\", service = \"s3\", {keys}"
        ))]);
        assert_eq!(
            good.allowed(),
            ["http://127.0.0.1:5000/backups/ (credentials added by the host)"]
        );

        let e = load_error(sigv4(&format!("service = \"s3\", {keys}")));
        assert!(
            e.contains("needs `region`") && e.contains("region = \"us-east-1\""),
            "{e}"
        );
        let e = load_error(sigv4(&format!("region = \"us-east-1\", {keys}")));
        assert!(
            e.contains("needs `service`") && e.contains("service = \"s3\""),
            "{e}"
        );
        let e = load_error(sigv4(&format!(
            "region = \"us east/1\", service = \"s3\", {keys}"
        )));
        assert!(e.contains("not an AWS region name"), "{e}");
        let e = load_error(sigv4(&format!(
            "region = \"us-east-1\", service = \"s3\", access_key_id = \"AKIAIOSFODNN7EXAMPLE\", secret_access_key = \"{}\"",
            k.secret
        )));
        assert!(
            e.contains("access_key_id") && e.contains("never from botyard.toml"),
            "{e}"
        );
        let e = load_error(sigv4(&format!(
            "region = \"us-east-1\", service = \"s3\", access_key_id = \"{}\", secret_access_key = \"{SECRET_KEY}\"",
            k.id
        )));
        assert!(
            e.contains("secret_access_key") && e.contains("${env:NAME}"),
            "{e}"
        );
        assert!(
            !e.contains(SECRET_KEY),
            "a literal secret is not repeated: {e}"
        );
        let e = load_error(sigv4(&format!(
            "region = \"us-east-1\", service = \"s3\", secret_access_key = \"{}\"",
            k.secret
        )));
        assert!(
            e.contains("needs `access_key_id`") && e.contains("${env:AWS_ACCESS_KEY_ID}"),
            "{e}"
        );

        // Two credentials that would both set Authorization.
        let mut both = sigv4(&format!("region = \"us-east-1\", service = \"s3\", {keys}"));
        both.basic = Some(BasicConfig {
            user: "u".into(),
            password: k.secret.clone(),
        });
        let e = load_error(both);
        assert!(
            e.contains("both `basic` and `aws_sigv4`") && e.contains("keep one"),
            "{e}"
        );
        let mut both = sigv4(&format!("region = \"us-east-1\", service = \"s3\", {keys}"));
        both.headers
            .insert("authorization".into(), format!("Bearer {}", k.secret));
        let e = load_error(both);
        assert!(e.contains("`headers` sets authorization"), "{e}");

        // A misspelt key is refused by name.
        let typo: Result<RuleConfig, _> = toml::from_str(
            "url = \"http://127.0.0.1:5000/\"\naws_sigv4 = { region = \"us-east-1\", servce = \"s3\" }",
        );
        assert!(typo.unwrap_err().to_string().contains("servce"));
    }

    fn sigv4(service: &str, session_token: Option<&str>) -> AwsSigV4 {
        AwsSigV4 {
            region: "us-east-1".into(),
            service: service.into(),
            access_key_id: Secret::from_value("AKIAIOSFODNN7EXAMPLE"),
            secret_access_key: Secret::from_value(SECRET_KEY),
            session_token: session_token.map(Secret::from_value),
        }
    }

    fn header<'r>(request: &'r reqwest::Request, name: &str) -> &'r str {
        request
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    /// AWS's own worked example (S3 API reference, "Signature Calculations
    /// for the Authorization Header", GET Object): same request, keys and
    /// time, same signature.
    #[test]
    fn aws_sigv4_signs_like_aws_documents_it() {
        let mut request = reqwest::Request::new(
            reqwest::Method::GET,
            url("https://examplebucket.s3.amazonaws.com/test.txt"),
        );
        request
            .headers_mut()
            .insert("range", HeaderValue::from_static("bytes=0-9"));
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        sigv4("s3", None).sign(&mut request, at).unwrap();
        assert_eq!(
            header(&request, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(header(&request, "x-amz-date"), "20130524T000000Z");
        assert_eq!(
            header(&request, "x-amz-content-sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn aws_sigv4_signs_the_final_request_and_keeps_its_secrets() {
        use sha2::Digest;
        let mut request = reqwest::Request::new(
            reqwest::Method::PUT,
            url("http://127.0.0.1:5000/backups/2026/notes.txt"),
        );
        request
            .headers_mut()
            .insert("x-app-header", HeaderValue::from_static("from-app"));
        // The app's own try at the host's headers is dropped.
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 forged"),
        );
        request.headers_mut().insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        *request.body_mut() = Some(b"lunch at noon".to_vec().into());
        let credential = sigv4("s3", Some("FwoGZXIvYXdzEXAMPLETOKEN"));
        let day = || chrono::Utc::now().format("%Y%m%d").to_string();
        let before = day();
        credential.apply(&mut request).unwrap();
        // Signed on the wall clock: today (either side of a midnight).
        let today = header(&request, "x-amz-date")[..8].to_string();
        assert!([before, day()].contains(&today), "{today}");
        let authorization = header(&request, "authorization");
        let prefix = format!(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/{today}/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-app-header, Signature="
        );
        assert!(authorization.starts_with(&prefix), "{authorization}");
        let signature = &authorization[prefix.len()..];
        assert!(
            signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit()),
            "{signature}"
        );
        assert!(header(&request, "x-amz-date").ends_with('Z'));
        assert_eq!(
            header(&request, "x-amz-content-sha256"),
            hex::encode(sha2::Sha256::digest(b"lunch at noon"))
        );
        assert_eq!(
            header(&request, "x-amz-security-token"),
            "FwoGZXIvYXdzEXAMPLETOKEN"
        );
        assert!(request.headers()["authorization"].is_sensitive());
        assert!(request.headers()["x-amz-security-token"].is_sensitive());
        assert_eq!(request.headers().get_all("authorization").iter().count(), 1);

        // Signing again (the next hop) replaces, never adds.
        credential.apply(&mut request).unwrap();
        assert_eq!(request.headers().get_all("authorization").iter().count(), 1);
        assert_eq!(request.headers().get_all("x-amz-date").iter().count(), 1);

        // Another service: no payload header.
        let mut plain = reqwest::Request::new(
            reqwest::Method::GET,
            url("https://sqs.us-east-1.amazonaws.com/"),
        );
        sigv4("sqs", None).apply(&mut plain).unwrap();
        assert!(
            header(&plain, "authorization")
                .contains("/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date,")
        );
        assert!(plain.headers().get("x-amz-content-sha256").is_none());

        // Nothing prints a secret.
        let shown = format!("{:?} {:?}", credential.secret_access_key, request.headers());
        assert!(
            !shown.contains(SECRET_KEY) && !shown.contains("FwoGZXIvYXdzEXAMPLETOKEN"),
            "{shown}"
        );
    }

    /// A rule's `headers` are sent but not signed: the signer logs what it
    /// signs, and their values are secrets.
    #[test]
    fn aws_sigv4_leaves_other_credentials_out_of_the_signature() {
        let k = keys();
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("api-key");
        std::fs::write(&key_file, "sekrit-api-key").unwrap();
        let mut config = rule_toml(&format!(
            "url = \"https://sqs.us-east-1.amazonaws.com/\"\n\
             aws_sigv4 = {{ region = \"us-east-1\", service = \"sqs\", access_key_id = \"{}\", secret_access_key = \"{}\" }}\n",
            k.id, k.secret
        ));
        config.headers.insert(
            "x-api-key".into(),
            format!("${{file:{}}}", key_file.display()),
        );
        let rule = Rule::parse("gh", &config).unwrap();
        let mut request = reqwest::Request::new(
            reqwest::Method::GET,
            url("https://sqs.us-east-1.amazonaws.com/q"),
        );
        for credential in &rule.credentials {
            credential.apply(&mut request).unwrap();
        }
        assert_eq!(header(&request, "x-api-key"), "sekrit-api-key");
        assert!(header(&request, "authorization").contains("SignedHeaders=host;x-amz-date,"));
    }
}
