//! A Zendesk Support stand-in on 127.0.0.1: no help desk can be reached
//! from the machines botyard is built and tested on, so the `support` app
//! (queue status, routing tickets to groups, queue alerts) is tested against
//! this — and run against it by `botyard dev`, labelled "simulated". It
//! keeps tickets, groups and users in memory and speaks the slice of the
//! **Zendesk Support API v2** (developer.zendesk.com, *Ticketing API*) the
//! app uses, following the documented shapes:
//!
//! | endpoint | answers |
//! |---|---|
//! | `GET /api/v2/search.json?query=…` | 200 `{results, facets, next_page, previous_page, count}`, each result a ticket object with `result_type: "ticket"`; `per_page` (≤ 100, default 100), `page`, `sort_by` (`created_at`, `updated_at`, `priority`, `status`), `sort_order` (`asc`, `desc`) |
//! | `GET /api/v2/tickets/{id}.json` | 200 `{ticket}`; 404 `{"error":"RecordNotFound","description":"Not found"}` |
//! | `PUT /api/v2/tickets/{id}.json` | body `{"ticket": {…}}`: `group_id`, `assignee_id`, `status`, `priority` change, other fields are ignored; 200 `{ticket, audit}` (the audit's `Change` events); 404; 422 `RecordInvalid` for a group that does not exist or a status Zendesk does not have |
//! | `GET /api/v2/groups.json` | 200 `{groups, next_page, previous_page, count}`; `per_page`, `page` |
//!
//! **Authentication** is Zendesk's API-token form of basic auth:
//! `Authorization: Basic base64("{email}/token:{api_token}")` with the
//! email and token the stand-in was started with. Anything else — no
//! header, another password, an email without `/token` — is 401
//! `{"error":"Couldn't authenticate you"}` with `WWW-Authenticate: Basic
//! realm="Web Password"`, as Zendesk answers. A path not listed above is
//! 404 `{"error":"InvalidEndpoint","description":"Not found"}`.
//!
//! **Ticket objects** carry `url` (the API URL, as Zendesk gives it), `id`,
//! `external_id`, `type`, `subject`, `raw_subject`, `description`,
//! `priority`, `status`, `via: {channel, source: {from, to, rel}}`,
//! `requester_id`, `submitter_id`, `assignee_id`, `organization_id`,
//! `group_id`, `collaborator_ids`, `follower_ids`, `tags`, `custom_fields`,
//! `is_public`, `has_incidents`, `due_at`, `created_at`, `updated_at`
//! (ISO 8601 UTC, `2026-01-05T09:00:00Z`). Absent ids are `null`.
//!
//! **Sideloads** (`include=`): `slas` adds each ticket's
//! `slas: {policy_metrics: [{breach_at, stage, metric, hours, minutes, days}]}`
//! (the *SLA policy metrics* sideload of the tickets endpoints); `users`
//! adds a top-level `users` array with the requesters and assignees. On
//! search they are written the way Zendesk's search sideloads are,
//! `include=tickets(slas)` / `include=tickets(users)` (`include=slas` is
//! accepted too). A metric's `stage` is `active`, `paused` or `achieved`;
//! a breach is an `active` metric whose `breach_at` has passed — which is
//! how a client tells it, since Zendesk reports no "breached" flag.
//!
//! **The search syntax** understood (Zendesk's *search reference*),
//! space-separated terms, all of which must hold, each optionally negated
//! with a leading `-`:
//!
//! - `type:ticket` (the only type modelled: `type:user`, `type:organization`
//!   … find nothing here);
//! - `status:new|open|pending|hold|solved|closed`, and ordered comparisons
//!   on Zendesk's order new < open < pending < hold < solved < closed:
//!   `status<solved` (every unsolved ticket), `status>=pending` …;
//! - `via:` with the names the search takes, which are not the ticket's
//!   `via.channel` values: `mail` (channel `email`), `voicemail`,
//!   `phone_call_inbound`, `phone_call_outbound` (channel `voice`, told
//!   apart by `via.source.rel`), `chat`, `native_messaging`, `web_form`
//!   (`web`), `web_service` (`api`), `sms`;
//! - `created` / `updated` with `:`, `<`, `>`, `<=`, `>=` and a date
//!   (`2026-01-05`, a whole UTC day: `created<2026-01-05` is before that
//!   day, `created>2026-01-05` after it, `created:2026-01-05` on it) or a
//!   time (`2026-01-05T09:30:00Z`, compared to the instant);
//! - `group:` a group's name (quoted when it has spaces: `group:"Tier 2"`)
//!   or id, or `none`; `assignee:` a user's id, email or name, or `none`;
//!   `requester:` likewise; `priority:` (`low` < `normal` < `high` <
//!   `urgent`, comparisons too); `ticket_id:`;
//! - any other word is looked for in the subject and description.
//!
//! A keyword outside this list is refused (400 `{"error":
//! "unsupported", "description": …}`) rather than silently matched as
//! text, so a query the stand-in does not understand fails loudly.
//!
//! Not modelled: relative dates (`created>4hours`), the 1,000-result cap,
//! OR (`status:new status:open` here means both, which finds nothing —
//! Zendesk ORs repeated keywords of the same field), rate limits, the
//! assignee being cleared when a ticket leaves the assignee's groups.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

/// The agent the app's credential names in the repository's `botyard.toml`
/// (`basic = { user = "support-bot@example.com/token", … }`): what `botyard
/// dev` passes to [`ZendeskStandIn::seeded_demo`].
pub const DEMO_EMAIL: &str = "support-bot@example.com";

const STATUSES: [&str; 6] = ["new", "open", "pending", "hold", "solved", "closed"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

/// One SLA policy metric of a ticket, as the `slas` sideload shows it.
#[derive(Debug, Clone)]
pub struct SlaMetric {
    /// `first_reply_time`, `next_reply_time`, `requester_wait_time` …
    pub metric: String,
    /// `active`, `paused` or `achieved`.
    pub stage: String,
    pub breach_at_ms: i64,
}

/// A ticket to seed ([`ZendeskStandIn::add_ticket`]).
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: String,
    pub description: String,
    pub status: String,
    /// `via.channel`: `email`, `voice`, `chat`, `native_messaging`, `web`, `api` …
    pub channel: String,
    /// `via.source.rel`: for `voice`, `inbound`, `outbound` or `voicemail`.
    pub rel: Option<String>,
    pub priority: Option<String>,
    pub group_id: Option<u64>,
    pub assignee_id: Option<u64>,
    pub requester_id: Option<u64>,
    pub created_ms: i64,
    pub slas: Vec<SlaMetric>,
}

impl NewTicket {
    pub fn new(subject: &str, status: &str, channel: &str, created_ms: i64) -> NewTicket {
        NewTicket {
            subject: subject.into(),
            description: subject.into(),
            status: status.into(),
            channel: channel.into(),
            rel: (channel == "voice").then(|| "inbound".into()),
            priority: Some("normal".into()),
            group_id: None,
            assignee_id: None,
            requester_id: None,
            created_ms,
            slas: Vec::new(),
        }
    }

    pub fn group(mut self, id: u64) -> NewTicket {
        self.group_id = Some(id);
        self
    }

    pub fn assignee(mut self, id: u64) -> NewTicket {
        self.assignee_id = Some(id);
        self
    }

    pub fn requester(mut self, id: u64) -> NewTicket {
        self.requester_id = Some(id);
        self
    }

    pub fn priority(mut self, priority: &str) -> NewTicket {
        self.priority = Some(priority.into());
        self
    }

    pub fn rel(mut self, rel: &str) -> NewTicket {
        self.rel = Some(rel.into());
        self
    }

    pub fn sla(mut self, metric: &str, stage: &str, breach_at_ms: i64) -> NewTicket {
        self.slas.push(SlaMetric {
            metric: metric.into(),
            stage: stage.into(),
            breach_at_ms,
        });
        self
    }
}

#[derive(Debug, Clone)]
struct Ticket {
    id: u64,
    t: NewTicket,
    updated_ms: i64,
}

#[derive(Debug, Clone)]
struct Group {
    id: u64,
    name: String,
    created_ms: i64,
}

#[derive(Debug, Clone)]
struct User {
    id: u64,
    name: String,
    email: String,
    role: String,
}

struct Shared {
    email: String,
    token: String,
    base: String,
    next_id: u64,
    tickets: BTreeMap<u64, Ticket>,
    groups: BTreeMap<u64, Group>,
    users: BTreeMap<u64, User>,
    requests: Vec<String>,
}

/// A running Zendesk stand-in; stops when dropped.
pub struct ZendeskStandIn {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ZendeskStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_ms() -> i64 {
    crate::contract::time::now_ms() as i64
}

impl ZendeskStandIn {
    /// Listens on `addr` (port 0: any free one), accepting
    /// `{email}/token:{token}`; nothing seeded.
    pub async fn start(
        addr: SocketAddr,
        email: &str,
        token: &str,
    ) -> std::io::Result<ZendeskStandIn> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            email: email.into(),
            token: token.into(),
            base: format!("http://{addr}"),
            next_id: 1,
            tickets: BTreeMap::new(),
            groups: BTreeMap::new(),
            users: BTreeMap::new(),
            requests: Vec::new(),
        }));
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the Zendesk stand-in stopped");
            }
        });
        Ok(ZendeskStandIn { addr, shared, task })
    }

    /// For `botyard dev`, accepting `{email}/token:{token}` (dev passes
    /// [`DEMO_EMAIL`] and the value it provides for the allow rule's
    /// `${env:ZENDESK_API_TOKEN}`): three groups
    /// (Billing, Hardware, Accounts), a few agents and requesters, and an
    /// unsolved queue over phone, e-mail and chat — some waiting, one
    /// waiting for hours, two SLA breaches — relative to now.
    pub async fn seeded_demo(
        addr: SocketAddr,
        email: &str,
        token: &str,
    ) -> std::io::Result<ZendeskStandIn> {
        let z = ZendeskStandIn::start(addr, email, token).await?;
        let now = now_ms();
        let min = 60_000;
        let billing = z.add_group("Billing");
        let hardware = z.add_group("Hardware");
        let _accounts = z.add_group("Accounts");
        let ana = z.add_agent("Ana Agent", "ana@example.com");
        let raj = z.add_agent("Raj Agent", "raj@example.com");
        let people = [
            z.add_user("Jane Doe", "jane@customer.example"),
            z.add_user("Luis Ortega", "luis@customer.example"),
            z.add_user("Mei Chen", "mei@customer.example"),
            z.add_user("Tom Berg", "tom@customer.example"),
        ];
        let seed = [
            (
                "Card declined at checkout",
                "new",
                "voice",
                12,
                None,
                None,
                Some(-20),
            ),
            (
                "Charged twice for order 8812",
                "open",
                "voice",
                95,
                Some(billing),
                Some(ana),
                None,
            ),
            (
                "Callback about a refund",
                "new",
                "voice",
                4,
                None,
                None,
                None,
            ),
            (
                "Invoice copy for November",
                "open",
                "email",
                26 * 60,
                Some(billing),
                None,
                Some(-300),
            ),
            (
                "Change of billing address",
                "pending",
                "email",
                50 * 60,
                Some(billing),
                Some(ana),
                None,
            ),
            (
                "Printer firmware update fails",
                "new",
                "email",
                180,
                None,
                None,
                Some(45),
            ),
            (
                "Warranty claim, cracked screen",
                "open",
                "email",
                75,
                Some(hardware),
                Some(raj),
                None,
            ),
            ("Login loop on the app", "new", "chat", 3, None, None, None),
            ("Where is my parcel?", "open", "chat", 9, None, None, None),
            (
                "Discount code not accepted",
                "open",
                "chat",
                30,
                Some(billing),
                Some(raj),
                None,
            ),
            (
                "Feature idea: dark mode",
                "hold",
                "web",
                9 * 24 * 60,
                None,
                None,
                None,
            ),
            (
                "Password reset done",
                "solved",
                "email",
                3 * 24 * 60,
                None,
                Some(ana),
                None,
            ),
        ];
        for (i, (subject, status, channel, age_min, group, assignee, breach_in)) in
            seed.into_iter().enumerate()
        {
            let mut t = NewTicket::new(subject, status, channel, now - age_min * min)
                .requester(people[i % people.len()]);
            if let Some(g) = group {
                t = t.group(g);
            }
            if let Some(a) = assignee {
                t = t.assignee(a);
            }
            if let Some(minutes) = breach_in {
                t = t.sla("first_reply_time", "active", now + minutes * min);
            }
            z.add_ticket(t);
        }
        Ok(z)
    }

    /// `http://127.0.0.1:<port>` (no trailing slash), what `zendesk_url` is set to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_group(&self, name: &str) -> u64 {
        let mut s = self.lock();
        let id = 360_000_000 + s.take_id();
        s.groups.insert(
            id,
            Group {
                id,
                name: name.into(),
                created_ms: now_ms(),
            },
        );
        id
    }

    /// An end user (a requester).
    pub fn add_user(&self, name: &str, email: &str) -> u64 {
        self.insert_user(name, email, "end-user")
    }

    pub fn add_agent(&self, name: &str, email: &str) -> u64 {
        self.insert_user(name, email, "agent")
    }

    fn insert_user(&self, name: &str, email: &str, role: &str) -> u64 {
        let mut s = self.lock();
        let id = 900_000_000 + s.take_id();
        s.users.insert(
            id,
            User {
                id,
                name: name.into(),
                email: email.into(),
                role: role.into(),
            },
        );
        id
    }

    /// Seeds a ticket; its id (from 4701 up).
    pub fn add_ticket(&self, ticket: NewTicket) -> u64 {
        let mut s = self.lock();
        let id = 4_700 + s.take_id();
        let updated_ms = ticket.created_ms;
        s.tickets.insert(
            id,
            Ticket {
                id,
                t: ticket,
                updated_ms,
            },
        );
        id
    }

    /// The ticket as `GET /api/v2/tickets/{id}.json` shows it (with `slas`).
    pub fn ticket(&self, id: u64) -> Option<Value> {
        let s = self.lock();
        s.tickets.get(&id).map(|t| s.ticket_json(t, true))
    }

    /// Changes a ticket as an agent would in Zendesk's UI (a test moving
    /// the queue): its assignee and status. False when there is no such ticket.
    pub fn set_ticket(&self, id: u64, assignee_id: Option<u64>, status: &str) -> bool {
        let mut s = self.lock();
        let Some(t) = s.tickets.get_mut(&id) else {
            return false;
        };
        t.t.assignee_id = assignee_id;
        t.t.status = status.into();
        t.updated_ms = now_ms();
        true
    }

    /// Every request so far, `METHOD /path?query`, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }
}

impl Shared {
    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn ticket_json(&self, t: &Ticket, slas: bool) -> Value {
        let n = &t.t;
        let mut v = json!({
            "url": format!("{}/api/v2/tickets/{}.json", self.base, t.id),
            "id": t.id,
            "external_id": null,
            "via": {
                "channel": n.channel,
                "source": { "from": {}, "to": {}, "rel": n.rel },
            },
            "created_at": iso(n.created_ms),
            "updated_at": iso(t.updated_ms),
            "type": null,
            "subject": n.subject,
            "raw_subject": n.subject,
            "description": n.description,
            "priority": n.priority,
            "status": n.status,
            "recipient": null,
            "requester_id": n.requester_id,
            "submitter_id": n.requester_id,
            "assignee_id": n.assignee_id,
            "organization_id": null,
            "group_id": n.group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "has_incidents": false,
            "is_public": true,
            "due_at": null,
            "tags": [],
            "custom_fields": [],
            "satisfaction_rating": null,
            "allow_channelback": false,
            "allow_attachments": true,
        });
        if slas {
            let metrics: Vec<Value> = n
                .slas
                .iter()
                .map(|m| {
                    // Zendesk gives the time left (negative once breached)
                    // in whole days, hours and minutes besides `breach_at`.
                    let left_min = (m.breach_at_ms - now_ms()) / 60_000;
                    json!({
                        "breach_at": iso(m.breach_at_ms),
                        "stage": m.stage,
                        "metric": m.metric,
                        "days": left_min / (24 * 60),
                        "hours": left_min / 60,
                        "minutes": left_min,
                    })
                })
                .collect();
            v["slas"] = json!({ "policy_metrics": metrics });
        }
        v
    }

    fn group_json(&self, g: &Group) -> Value {
        json!({
            "url": format!("{}/api/v2/groups/{}.json", self.base, g.id),
            "id": g.id,
            "is_public": true,
            "name": g.name,
            "description": "",
            "default": false,
            "deleted": false,
            "created_at": iso(g.created_ms),
            "updated_at": iso(g.created_ms),
        })
    }

    fn user_json(&self, u: &User) -> Value {
        json!({
            "url": format!("{}/api/v2/users/{}.json", self.base, u.id),
            "id": u.id,
            "name": u.name,
            "email": u.email,
            "role": u.role,
            "active": true,
            "verified": true,
            "time_zone": "UTC",
        })
    }

    /// The requesters and assignees of `tickets`, for `include=users`.
    fn users_of(&self, tickets: &[&Ticket]) -> Vec<Value> {
        let mut ids: Vec<u64> = tickets
            .iter()
            .flat_map(|t| [t.t.requester_id, t.t.assignee_id])
            .flatten()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.iter()
            .filter_map(|id| self.users.get(id))
            .map(|u| self.user_json(u))
            .collect()
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        super::basic_auth(headers)
            .is_some_and(|(u, p)| u == format!("{}/token", self.email) && p == self.token)
    }
}

/// `2026-01-05T09:00:00Z`.
fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn not_found() -> Response {
    answer(
        StatusCode::NOT_FOUND,
        json!({"error": "RecordNotFound", "description": "Not found"}),
    )
}

fn invalid(field: &str, description: String) -> Response {
    answer(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": { field: [{ "description": description, "error": "InvalidValue" }] },
        }),
    )
}

fn bad_request(error: &str, description: String) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({"error": error, "description": description}),
    )
}

type Params = Vec<(String, String)>;

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `include=tickets(slas,users)`, `include=slas,users` → the sideloads asked for.
fn includes(params: &Params) -> Vec<String> {
    let Some(text) = param(params, "include") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix("tickets(") {
            let end = inner.find(')').unwrap_or(inner.len());
            out.extend(inner[..end].split(',').map(|s| s.trim().to_string()));
            rest = inner.get(end + 1..).unwrap_or("").trim_start_matches(',');
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            out.push(rest[..end].trim().to_string());
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// `(page, per_page)`: Zendesk's offset pagination, 100 at most a page.
/// The error is the answer to send, built once per bad request.
#[allow(clippy::result_large_err)]
fn paging(params: &Params) -> Result<(usize, usize), Response> {
    let page = match param(params, "page") {
        Some(p) => p.parse::<usize>().ok().filter(|p| *p >= 1).ok_or_else(|| {
            bad_request(
                "InvalidPaginationParameter",
                format!("page `{p}` is not a page number"),
            )
        })?,
        None => 1,
    };
    let per_page = match param(params, "per_page") {
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| {
                bad_request(
                    "InvalidPaginationParameter",
                    format!("per_page `{p}` is not a number"),
                )
            })?
            .min(100),
        None => 100,
    };
    Ok((page, per_page))
}

/// The page links of a listing of `total` items, as absolute URLs with the
/// request's other parameters kept.
fn page_links(
    base: &str,
    path: &str,
    params: &Params,
    page: usize,
    per_page: usize,
    total: usize,
) -> (Value, Value) {
    let link = |p: usize| {
        let mut kept: Params = params
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        kept.push(("page".into(), p.to_string()));
        let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
        Value::String(format!("{base}{path}?{query}"))
    };
    let next = if page * per_page < total {
        link(page + 1)
    } else {
        Value::Null
    };
    let previous = if page > 1 {
        link(page - 1)
    } else {
        Value::Null
    };
    (next, previous)
}

async fn handle(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    s.requests.push(format!(
        "{method} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    ));
    if !s.authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (header::WWW_AUTHENTICATE, "Basic realm=\"Web Password\""),
            ],
            json!({"error": "Couldn't authenticate you"}).to_string(),
        )
            .into_response();
    }
    let params: Params = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let path = uri.path();
    let ticket_id = path
        .strip_prefix("/api/v2/tickets/")
        .and_then(|rest| rest.strip_suffix(".json"))
        .map(|id| id.parse::<u64>().ok());
    match (method.as_str(), path) {
        ("GET", "/api/v2/search.json") => search(&s, &params),
        ("GET", "/api/v2/groups.json") => groups(&s, &params),
        ("GET", _) if ticket_id.is_some() => match ticket_id.flatten() {
            Some(id) => show_ticket(&s, id, &params),
            None => not_found(),
        },
        ("PUT", _) if ticket_id.is_some() => match ticket_id.flatten() {
            Some(id) => update_ticket(&mut s, id, &body),
            None => not_found(),
        },
        _ => answer(
            StatusCode::NOT_FOUND,
            json!({"error": "InvalidEndpoint", "description": "Not found"}),
        ),
    }
}

fn show_ticket(s: &Shared, id: u64, params: &Params) -> Response {
    let Some(t) = s.tickets.get(&id) else {
        return not_found();
    };
    let inc = includes(params);
    let mut body = json!({ "ticket": s.ticket_json(t, inc.iter().any(|i| i == "slas")) });
    if inc.iter().any(|i| i == "users") {
        body["users"] = Value::Array(s.users_of(&[t]));
    }
    answer(StatusCode::OK, body)
}

fn update_ticket(s: &mut Shared, id: u64, body: &[u8]) -> Response {
    if !s.tickets.contains_key(&id) {
        return not_found();
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return bad_request("InvalidJSON", "The request body is not JSON".into());
    };
    let Some(changes) = body.get("ticket").and_then(Value::as_object) else {
        return bad_request("InvalidJSON", "The body has no `ticket` object".into());
    };
    let mut events = Vec::new();
    let mut next = s.tickets[&id].t.clone();
    for (field, value) in changes {
        match field.as_str() {
            "group_id" => {
                let group = match value {
                    Value::Null => None,
                    v => match v.as_u64() {
                        Some(g) if s.groups.contains_key(&g) => Some(g),
                        _ => return invalid("group", format!("Group: {v} is invalid")),
                    },
                };
                events.push((field.clone(), json!(next.group_id), json!(group)));
                next.group_id = group;
            }
            "assignee_id" => {
                let assignee = match value {
                    Value::Null => None,
                    v => match v.as_u64() {
                        Some(u) if s.users.get(&u).is_some_and(|u| u.role != "end-user") => Some(u),
                        _ => return invalid("assignee", format!("Assignee: {v} is not an agent")),
                    },
                };
                events.push((field.clone(), json!(next.assignee_id), json!(assignee)));
                next.assignee_id = assignee;
            }
            "status" => {
                let Some(status) = value.as_str().filter(|v| STATUSES.contains(v)) else {
                    return invalid("status", format!("Status: {value} is not valid"));
                };
                events.push((field.clone(), json!(next.status), json!(status)));
                next.status = status.into();
            }
            "priority" => {
                let Some(priority) = value.as_str().filter(|v| PRIORITIES.contains(v)) else {
                    return invalid("priority", format!("Priority: {value} is not valid"));
                };
                events.push((field.clone(), json!(next.priority), json!(priority)));
                next.priority = Some(priority.into());
            }
            _ => {} // Other fields are not modelled: accepted, unchanged.
        }
    }
    let now = now_ms();
    let audit_id = s.take_id() + 7_000_000;
    let ticket = s.tickets.get_mut(&id).expect("checked above");
    ticket.t = next;
    ticket.updated_ms = now;
    let snapshot = ticket.clone();
    let events: Vec<Value> = events
        .into_iter()
        .enumerate()
        .map(|(i, (field, before, after))| {
            let text = |v: Value| match v {
                Value::Null => Value::Null,
                Value::String(s) => Value::String(s),
                other => Value::String(other.to_string()),
            };
            json!({
                "id": audit_id * 10 + i as u64 + 1,
                "type": "Change",
                "field_name": field,
                "value": text(after),
                "previous_value": text(before),
            })
        })
        .collect();
    answer(
        StatusCode::OK,
        json!({
            "ticket": s.ticket_json(&snapshot, false),
            "audit": {
                "id": audit_id,
                "ticket_id": id,
                "created_at": iso(now),
                "author_id": null,
                "metadata": {},
                "events": events,
            },
        }),
    )
}

fn groups(s: &Shared, params: &Params) -> Response {
    let (page, per_page) = match paging(params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let all: Vec<&Group> = s.groups.values().collect();
    let (next, previous) = page_links(
        &s.base,
        "/api/v2/groups.json",
        params,
        page,
        per_page,
        all.len(),
    );
    let groups: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|g| s.group_json(g))
        .collect();
    answer(
        StatusCode::OK,
        json!({ "groups": groups, "next_page": next, "previous_page": previous, "count": all.len() }),
    )
}

fn search(s: &Shared, params: &Params) -> Response {
    let Some(query) = param(params, "query") else {
        return bad_request("InvalidSearch", "`query` is required".into());
    };
    let terms = match parse_query(query) {
        Ok(t) => t,
        Err(e) => return bad_request("unsupported", e),
    };
    let (page, per_page) = match paging(params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut found: Vec<&Ticket> = s
        .tickets
        .values()
        .filter(|t| terms.iter().all(|term| term.holds(s, t)))
        .collect();
    let descending = param(params, "sort_order") == Some("desc");
    match param(params, "sort_by") {
        None | Some("relevance") => {}
        Some("created_at") => found.sort_by_key(|t| t.t.created_ms),
        Some("updated_at") => found.sort_by_key(|t| t.updated_ms),
        Some("priority") => {
            found.sort_by_key(|t| rank(&PRIORITIES, t.t.priority.as_deref().unwrap_or("")))
        }
        Some("status") => found.sort_by_key(|t| rank(&STATUSES, &t.t.status)),
        Some(other) => {
            return bad_request(
                "InvalidSearch",
                format!("sort_by `{other}` is not supported"),
            );
        }
    }
    if descending {
        found.reverse();
    }
    let (next, previous) = page_links(
        &s.base,
        "/api/v2/search.json",
        params,
        page,
        per_page,
        found.len(),
    );
    let shown: Vec<&Ticket> = found
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .copied()
        .collect();
    let inc = includes(params);
    let slas = inc.iter().any(|i| i == "slas");
    let results: Vec<Value> = shown
        .iter()
        .map(|t| {
            let mut v = s.ticket_json(t, slas);
            v["result_type"] = json!("ticket");
            v
        })
        .collect();
    let mut body = json!({
        "results": results,
        "facets": null,
        "next_page": next,
        "previous_page": previous,
        "count": found.len(),
    });
    if inc.iter().any(|i| i == "users") {
        body["users"] = Value::Array(s.users_of(&shown));
    }
    answer(StatusCode::OK, body)
}

fn rank(order: &[&str], value: &str) -> usize {
    order.iter().position(|v| *v == value).unwrap_or(usize::MAX)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Is,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Is => ordering == Equal,
            Op::Lt => ordering == Less,
            Op::Gt => ordering == Greater,
            Op::Le => ordering != Greater,
            Op::Ge => ordering != Less,
        }
    }
}

/// A date or time in a query: a whole UTC day, or an instant.
#[derive(Debug, Clone, PartialEq)]
enum When {
    Day(NaiveDate),
    At(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    /// `type:ticket` (true) or another type (false).
    Type(bool),
    Status(Op, usize),
    Priority(Op, usize),
    /// Channels and, for voice, the `via.source.rel`.
    Via(&'static str, Option<&'static str>),
    Created(Op, When),
    Updated(Op, When),
    Group(Option<String>),
    Assignee(Option<String>),
    Requester(Option<String>),
    TicketId(u64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    negated: bool,
    cond: Cond,
}

impl Term {
    fn holds(&self, s: &Shared, t: &Ticket) -> bool {
        self.cond.holds(s, t) != self.negated
    }
}

impl Cond {
    fn holds(&self, s: &Shared, t: &Ticket) -> bool {
        let n = &t.t;
        match self {
            Cond::Type(ticket) => *ticket,
            Cond::Status(op, r) => op.holds(rank(&STATUSES, &n.status).cmp(r)),
            Cond::Priority(op, r) => match &n.priority {
                Some(p) => op.holds(rank(&PRIORITIES, p).cmp(r)),
                None => false,
            },
            Cond::Via(channel, rel) => {
                n.channel == *channel && rel.is_none_or(|rel| n.rel.as_deref() == Some(rel))
            }
            Cond::Created(op, when) => compare_time(*op, n.created_ms, when),
            Cond::Updated(op, when) => compare_time(*op, t.updated_ms, when),
            Cond::Group(None) => n.group_id.is_none(),
            Cond::Group(Some(g)) => n.group_id.is_some_and(|id| {
                id.to_string() == *g
                    || s.groups
                        .get(&id)
                        .is_some_and(|group| group.name.eq_ignore_ascii_case(g))
            }),
            Cond::Assignee(who) => user_matches(s, n.assignee_id, who.as_deref()),
            Cond::Requester(who) => user_matches(s, n.requester_id, who.as_deref()),
            Cond::TicketId(id) => t.id == *id,
            Cond::Text(word) => {
                let word = word.to_lowercase();
                n.subject.to_lowercase().contains(&word)
                    || n.description.to_lowercase().contains(&word)
            }
        }
    }
}

fn user_matches(s: &Shared, id: Option<u64>, who: Option<&str>) -> bool {
    match (id, who) {
        (None, None) => true,
        (_, None) | (None, _) => false,
        (Some(id), Some(who)) => {
            id.to_string() == who
                || s.users.get(&id).is_some_and(|u| {
                    u.email.eq_ignore_ascii_case(who) || u.name.eq_ignore_ascii_case(who)
                })
        }
    }
}

fn compare_time(op: Op, ms: i64, when: &When) -> bool {
    match when {
        When::At(at) => op.holds(ms.cmp(at)),
        When::Day(day) => {
            let Some(date) = DateTime::<Utc>::from_timestamp_millis(ms) else {
                return false;
            };
            op.holds(date.date_naive().cmp(day))
        }
    }
}

/// Splits a query into terms: whitespace-separated, `"…"` keeps spaces.
fn tokens(query: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced quote in `{query}`"));
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// The keywords understood, and the `via:` names Zendesk's search takes.
const VIA: [(&str, &str, Option<&str>); 10] = [
    ("mail", "email", None),
    ("voicemail", "voice", Some("voicemail")),
    ("phone_call_inbound", "voice", Some("inbound")),
    ("phone_call_outbound", "voice", Some("outbound")),
    ("chat", "chat", None),
    ("native_messaging", "native_messaging", None),
    ("web_form", "web", None),
    ("web_service", "api", None),
    ("sms", "sms", None),
    ("web_widget", "web_widget", None),
];

fn parse_query(query: &str) -> Result<Vec<Term>, String> {
    tokens(query)?.iter().map(|t| parse_term(t)).collect()
}

fn parse_term(token: &str) -> Result<Term, String> {
    let (negated, body) = match token.strip_prefix('-') {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, token),
    };
    let Some(at) = body.find([':', '<', '>']) else {
        return Ok(Term {
            negated,
            cond: Cond::Text(body.to_string()),
        });
    };
    let key = body[..at].to_ascii_lowercase();
    let rest = &body[at..];
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::Gt, v)
    } else {
        (Op::Is, &rest[1..])
    };
    if value.is_empty() {
        return Err(format!("`{token}` has no value"));
    }
    let only_is = |what: &str| {
        if op == Op::Is {
            Ok(())
        } else {
            Err(format!(
                "`{what}` takes `:` only, not a comparison (`{token}`)"
            ))
        }
    };
    let lower = value.to_ascii_lowercase();
    let none = |v: &str| (v != "none").then(|| v.to_string());
    let cond = match key.as_str() {
        "type" => {
            only_is("type")?;
            Cond::Type(lower == "ticket")
        }
        "status" => {
            let r = rank(&STATUSES, &lower);
            if r == usize::MAX {
                return Err(format!(
                    "`{value}` is not a ticket status: new, open, pending, hold, solved or closed"
                ));
            }
            Cond::Status(op, r)
        }
        "priority" => {
            let r = rank(&PRIORITIES, &lower);
            if r == usize::MAX {
                return Err(format!(
                    "`{value}` is not a priority: low, normal, high or urgent"
                ));
            }
            Cond::Priority(op, r)
        }
        "via" => {
            only_is("via")?;
            let Some((_, channel, rel)) = VIA.iter().find(|(name, _, _)| *name == lower) else {
                let names: Vec<&str> = VIA.iter().map(|(n, _, _)| *n).collect();
                return Err(format!(
                    "`via:{value}` is not a via name this stand-in knows: {}",
                    names.join(", ")
                ));
            };
            Cond::Via(channel, *rel)
        }
        "created" | "updated" => {
            let when = parse_when(value)?;
            if key == "created" {
                Cond::Created(op, when)
            } else {
                Cond::Updated(op, when)
            }
        }
        "group" => {
            only_is("group")?;
            Cond::Group(none(value))
        }
        "assignee" => {
            only_is("assignee")?;
            Cond::Assignee(none(value))
        }
        "requester" => {
            only_is("requester")?;
            Cond::Requester(none(value))
        }
        "ticket_id" => {
            only_is("ticket_id")?;
            Cond::TicketId(
                value
                    .parse()
                    .map_err(|_| format!("`{value}` is not a ticket id"))?,
            )
        }
        other => {
            return Err(format!(
                "the keyword `{other}` is not one this Zendesk stand-in implements \
                 (type, status, priority, via, created, updated, group, assignee, requester, ticket_id)"
            ));
        }
    };
    Ok(Term { negated, cond })
}

fn parse_when(value: &str) -> Result<When, String> {
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(When::Day(day));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| When::At(t.timestamp_millis()))
        .map_err(|_| {
            format!("`{value}` is not a date (2026-01-05) or a time (2026-01-05T09:30:00Z)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(text: &str) -> Term {
        parse_term(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn cond(text: &str) -> Cond {
        term(text).cond
    }

    #[test]
    fn keywords_and_comparisons_parse() {
        assert_eq!(cond("type:ticket"), Cond::Type(true));
        assert_eq!(cond("type:user"), Cond::Type(false));
        assert_eq!(cond("status:open"), Cond::Status(Op::Is, 1));
        assert_eq!(cond("status<solved"), Cond::Status(Op::Lt, 4));
        assert_eq!(cond("status>=Pending"), Cond::Status(Op::Ge, 2));
        assert_eq!(cond("priority>normal"), Cond::Priority(Op::Gt, 1));
        assert_eq!(cond("ticket_id:4711"), Cond::TicketId(4711));
        assert_eq!(cond("group:none"), Cond::Group(None));
        assert_eq!(cond("assignee:none"), Cond::Assignee(None));
        assert_eq!(
            cond("requester:jane@example.com"),
            Cond::Requester(Some("jane@example.com".into()))
        );
        assert_eq!(cond("refund"), Cond::Text("refund".into()));
        let negated = term("-status:pending");
        assert!(negated.negated);
        assert_eq!(negated.cond, Cond::Status(Op::Is, 2));
    }

    #[test]
    fn via_takes_the_search_names_not_the_ticket_channels() {
        assert_eq!(cond("via:mail"), Cond::Via("email", None));
        assert_eq!(cond("via:voicemail"), Cond::Via("voice", Some("voicemail")));
        assert_eq!(
            cond("via:phone_call_inbound"),
            Cond::Via("voice", Some("inbound"))
        );
        assert_eq!(cond("via:chat"), Cond::Via("chat", None));
        assert_eq!(cond("via:web_service"), Cond::Via("api", None));
        for wrong in ["via:email", "via:voice", "via:pigeon"] {
            let e = parse_term(wrong).unwrap_err();
            assert!(e.contains("not a via name"), "{wrong}: {e}");
            assert!(e.contains("mail"), "{e}");
        }
        assert!(parse_term("via<mail").is_err(), "via takes `:` only");
    }

    #[test]
    fn dates_are_whole_days_and_times_instants() {
        assert_eq!(
            cond("created<2026-01-05"),
            Cond::Created(
                Op::Lt,
                When::Day(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap())
            )
        );
        let at = DateTime::parse_from_rfc3339("2026-01-05T09:30:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            cond("updated>=2026-01-05T09:30:00Z"),
            Cond::Updated(Op::Ge, When::At(at))
        );
        let day = When::Day(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap());
        let morning = at - 9 * 3_600_000; // 00:30 that day
        assert!(compare_time(Op::Is, morning, &day));
        assert!(!compare_time(Op::Lt, morning, &day));
        assert!(compare_time(Op::Lt, morning - 3_600_000, &day)); // the day before
        assert!(!compare_time(Op::Gt, morning, &day));
        assert!(compare_time(Op::Lt, at - 1, &When::At(at)));
        assert!(parse_term("created<yesterday").is_err());
        assert!(parse_term("created<").is_err());
    }

    #[test]
    fn quotes_keep_spaces_and_unknown_keywords_are_refused() {
        assert_eq!(
            tokens(r#"type:ticket group:"Tier 2 Hardware" status<solved"#).unwrap(),
            vec!["type:ticket", "group:Tier 2 Hardware", "status<solved"]
        );
        assert!(tokens(r#"group:"Tier 2"#).is_err());
        let e = parse_term("brand:acme").unwrap_err();
        assert!(
            e.contains("`brand` is not one this Zendesk stand-in implements"),
            "{e}"
        );
        assert!(
            parse_term("status:waiting")
                .unwrap_err()
                .contains("not a ticket status")
        );
        assert!(parse_term("group<Billing").is_err());
    }

    #[test]
    fn sideloads_are_read_in_both_spellings() {
        let p = |s: &str| vec![("include".to_string(), s.to_string())];
        assert_eq!(includes(&p("tickets(slas)")), vec!["slas"]);
        assert_eq!(includes(&p("tickets(slas,users)")), vec!["slas", "users"]);
        assert_eq!(includes(&p("slas,users")), vec!["slas", "users"]);
        assert!(includes(&Vec::new()).is_empty());
    }

    #[tokio::test]
    async fn the_demo_queue_has_every_channel_waiting_and_breaches() {
        let z = ZendeskStandIn::seeded_demo("127.0.0.1:0".parse().unwrap(), DEMO_EMAIL, "t")
            .await
            .unwrap();
        let s = z.lock();
        let unsolved: Vec<&Ticket> = s
            .tickets
            .values()
            .filter(|t| rank(&STATUSES, &t.t.status) < 4)
            .collect();
        for channel in ["voice", "email", "chat"] {
            assert!(
                unsolved.iter().any(|t| t.t.channel == channel
                    && t.t.assignee_id.is_none()
                    && ["new", "open"].contains(&t.t.status.as_str())),
                "a waiting {channel} ticket"
            );
        }
        let now = now_ms();
        let breached = unsolved
            .iter()
            .filter(|t| {
                t.t.slas
                    .iter()
                    .any(|m| m.stage == "active" && m.breach_at_ms <= now)
            })
            .count();
        assert_eq!(breached, 2);
        assert_eq!(s.groups.len(), 3);
    }

    #[tokio::test]
    async fn search_filters_pages_and_sideloads_over_http() {
        let z = ZendeskStandIn::start("127.0.0.1:0".parse().unwrap(), "a@b.example", "tok")
            .await
            .unwrap();
        let billing = z.add_group("Billing");
        let t0 = 1_767_600_000_000; // 2026-01-05T08:00:00Z
        let a = z.add_ticket(NewTicket::new("Refund", "new", "voice", t0).sla(
            "first_reply_time",
            "active",
            t0,
        ));
        let b =
            z.add_ticket(NewTicket::new("Invoice", "open", "email", t0 + 60_000).group(billing));
        let _c = z.add_ticket(NewTicket::new("Done", "solved", "chat", t0));
        let client = reqwest::Client::new();
        let get = |path: &str, auth: Option<(&str, &str)>| {
            let mut r = client.get(format!("{}{path}", z.url()));
            if let Some((u, p)) = auth {
                r = r.basic_auth(u, Some(p));
            }
            r.send()
        };
        let ok = Some(("a@b.example/token", "tok"));

        let r = get(
            "/api/v2/search.json?query=type:ticket",
            Some(("a@b.example", "tok")),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": "Couldn't authenticate you"})
        );

        let r: Value = get(
            "/api/v2/search.json?query=type%3Aticket%20status%3Csolved&include=tickets(slas)&per_page=1",
            ok,
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(r["count"], 2);
        assert_eq!(r["results"][0]["id"], a);
        assert_eq!(r["results"][0]["result_type"], "ticket");
        assert_eq!(r["results"][0]["via"]["channel"], "voice");
        assert_eq!(
            r["results"][0]["slas"]["policy_metrics"][0]["stage"],
            "active"
        );
        assert_eq!(r["results"][0]["created_at"], "2026-01-05T08:00:00Z");
        assert!(r["previous_page"].is_null());
        let next = r["next_page"].as_str().unwrap().to_string();
        assert!(next.contains("page=2"), "{next}");
        let r: Value = client
            .get(&next)
            .basic_auth("a@b.example/token", Some("tok"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["results"][0]["id"], b);
        assert!(r["next_page"].is_null());
        assert!(r["results"][0].get("slas").is_some());

        let r: Value = get("/api/v2/search.json?query=via%3Amail%20group%3ABilling", ok)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["count"], 1);
        assert!(
            r["results"][0].get("slas").is_none(),
            "no sideload unless asked"
        );

        let r = get("/api/v2/tickets/99.json", ok).await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": "RecordNotFound", "description": "Not found"})
        );
        let put = client
            .put(format!("{}/api/v2/tickets/{a}.json", z.url()))
            .basic_auth("a@b.example/token", Some("tok"))
            .json(&json!({"ticket": {"group_id": billing}}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        let body: Value = put.json().await.unwrap();
        assert_eq!(body["ticket"]["group_id"], billing);
        assert_eq!(body["audit"]["events"][0]["field_name"], "group_id");
        assert_eq!(z.ticket(a).unwrap()["group_id"], billing);
        let bad = client
            .put(format!("{}/api/v2/tickets/{a}.json", z.url()))
            .basic_auth("a@b.example/token", Some("tok"))
            .json(&json!({"ticket": {"group_id": 1}}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 422);
        let groups: Value = get("/api/v2/groups.json", ok)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(groups["count"], 1);
        assert_eq!(groups["groups"][0]["name"], "Billing");
        assert!(groups["next_page"].is_null());
    }
}
