//! `POST /api/{method}` (and `GET` with query arguments): the Web API
//! methods the host and Slack's official SDKs use, with Slack's auth checks,
//! argument handling, error codes and response shapes. This file holds the
//! dispatch and the `chat.*`, `views.*` and reaction methods; the others are
//! in `conversations.rs`, `directory.rs`, `scheduled.rs` and `files.rs`.
//! Every call, faulted or not, goes into the call log (`truth.rs`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::Shared;
use super::changes::Change;
use super::faults::Fault;
use super::state::{MAX_VIEW_STACK, Message, OpenView, State, ViewIds};
use super::truth::{ApiCall, CallToken};
use crate::contract::time::now_micros;
use crate::slack::blocks;

pub fn router() -> Router<Arc<Shared>> {
    Router::new().route("/api/{method}", get(api).post(api))
}

/// Methods that take their arguments from the query string or a form only:
/// Slack ignores a JSON body for them (their docs list no JSON content
/// type), so a client that sends one gets the error for missing arguments.
const FORM_ONLY: &[&str] = &[
    "users.info",
    "users.list",
    "users.lookupByEmail",
    "conversations.info",
    "conversations.list",
    "conversations.history",
    "conversations.replies",
    "conversations.members",
    "usergroups.list",
    "usergroups.users.list",
    "chat.getPermalink",
    "files.getUploadURLExternal",
    "files.info",
    "pins.list",
];

/// A Slack error answer: `{"ok":false,"error":code, …extra}`.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) code: &'static str,
    detail: Option<String>,
    /// More top-level fields (e.g. `errors` of `conversations.invite`).
    extra: Option<Map<String, Value>>,
}

impl ApiError {
    pub(super) fn new(code: &'static str) -> Self {
        ApiError {
            code,
            detail: None,
            extra: None,
        }
    }

    /// Slack puts human-readable details in `response_metadata.messages`.
    pub(super) fn with(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: Some(detail.into()),
            extra: None,
        }
    }

    /// Adds a top-level field to the error answer.
    pub(super) fn field(mut self, key: &str, value: Value) -> Self {
        self.extra
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value);
        self
    }

    fn body(&self) -> Value {
        let mut body = json!({"ok": false, "error": self.code});
        if let Some(detail) = &self.detail {
            body["response_metadata"] = json!({"messages": [format!("[ERROR] {detail}")]});
        }
        for (key, value) in self.extra.iter().flatten() {
            body[key] = value.clone();
        }
        body
    }
}

pub(super) type ApiResult = Result<Value, ApiError>;

/// Method arguments, from the query string and a form or JSON body.
pub(super) struct Args(pub(super) Map<String, Value>);

impl Args {
    fn parse(
        method: &str,
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Args, ApiError> {
        let mut map = Map::new();
        if let Some(query) = query {
            for (k, v) in serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                .map_err(|_| ApiError::new("invalid_form_data"))?
            {
                map.insert(k, Value::String(v));
            }
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("application/json") {
            if !body.is_empty() && !FORM_ONLY.contains(&method) {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(obj)) => map.extend(obj),
                    _ => return Err(ApiError::new("invalid_json")),
                }
            }
        } else {
            for (k, v) in serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
                .map_err(|_| ApiError::new("invalid_form_data"))?
            {
                map.insert(k, Value::String(v));
            }
        }
        Ok(Args(map))
    }

    /// A non-empty string argument (numbers are accepted as Slack does).
    pub(super) fn str(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub(super) fn required(&self, key: &str) -> Result<String, ApiError> {
        self.str(key).ok_or_else(|| {
            ApiError::with(
                "invalid_arguments",
                format!("missing required field: {key}"),
            )
        })
    }

    pub(super) fn bool(&self, key: &str) -> bool {
        match self.0.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true" || s == "1",
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            _ => false,
        }
    }

    /// A JSON-valued argument as raw text: form bodies carry it encoded,
    /// JSON bodies may carry it inline.
    pub(super) fn json_text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// Who made a call and with what, for its line in the call log.
struct CallContext {
    method: String,
    received: u64,
    token: CallToken,
    args: Value,
    fault: Option<String>,
}

impl CallContext {
    fn new(
        shared: &Shared,
        method: &str,
        received: u64,
        args: Option<&Args>,
        token: Option<&str>,
    ) -> Self {
        let token = match token {
            None => CallToken::Missing,
            Some(t) if t == shared.config.bot_token => CallToken::Bot,
            Some(t) if t == shared.config.app_token => CallToken::App,
            Some(_) => CallToken::Invalid,
        };
        let args = args.map_or(Value::Null, |args| {
            let mut map = args.0.clone();
            map.remove("token");
            Value::Object(map)
        });
        CallContext {
            method: method.to_string(),
            received,
            token,
            args,
            fault: None,
        }
    }

    fn log(self, shared: &Shared, status: StatusCode, response: &Value) {
        let mut call = ApiCall::new(
            &self.method,
            self.received,
            status.as_u16(),
            response.clone(),
        );
        call.app = matches!(self.token, CallToken::Bot | CallToken::App)
            .then(|| shared.config.api_app_id.clone());
        call.token = self.token;
        call.args = self.args;
        call.fault = self.fault;
        shared.truth.log_call(call);
    }
}

/// The token a call presents: `Authorization: Bearer …` or a `token` argument.
fn token_of(headers: &HeaderMap, args: Option<&Args>) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| args.and_then(|a| a.str("token")))
}

async fn api(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = now_micros();
    let fault = shared.faults.on_call(&method);
    let args = Args::parse(&method, &headers, query.as_deref(), &body);
    let token = token_of(&headers, args.as_ref().ok());
    let mut call = CallContext::new(
        &shared,
        &method,
        received,
        args.as_ref().ok(),
        token.as_deref(),
    );
    call.fault = fault.as_ref().map(|f| format!("{f:?}"));
    let faulted = match fault {
        Some(Fault::RateLimited { retry_after_secs }) => {
            tracing::debug!(%method, "emulator: injected 429");
            Some((
                StatusCode::TOO_MANY_REQUESTS,
                Some(retry_after_secs),
                json!({"ok": false, "error": "ratelimited"}),
            ))
        }
        Some(Fault::ServerError(status)) => {
            tracing::debug!(%method, status, "emulator: injected server error");
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some((
                status,
                None,
                json!({"ok": false, "error": "internal_error"}),
            ))
        }
        Some(Fault::Error(code)) => {
            Some((StatusCode::OK, None, json!({"ok": false, "error": code})))
        }
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        None => None,
    };
    if let Some((status, retry_after, body)) = faulted {
        call.log(&shared, status, &body);
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        return response;
    }
    // Slack answers errors with HTTP 200 too; only `ok` tells them apart.
    axum::Json(answer(&shared, args, call)).into_response()
}

/// Checks the token, runs the method against the locked workspace, and logs
/// the call before the lock is released, so the log's order is the order in
/// which calls changed the workspace.
fn answer(shared: &Shared, args: Result<Args, ApiError>, call: CallContext) -> Value {
    let method = call.method.clone();
    let mut state = shared.state();
    let result = (|| {
        let args = args?;
        let app_token = match call.token {
            CallToken::Missing => return Err(ApiError::new("not_authed")),
            CallToken::Invalid | CallToken::Url => return Err(ApiError::new("invalid_auth")),
            CallToken::Bot => false,
            CallToken::App => true,
        };
        let wants_app_token = method == "apps.connections.open";
        if app_token != wants_app_token {
            return Err(ApiError::new("not_allowed_token_type"));
        }
        Api {
            shared,
            state: &mut state,
        }
        .call(&method, &args)
    })();
    let body = result.unwrap_or_else(|error| {
        tracing::debug!(%method, error = error.code, "emulator: Web API error");
        error.body()
    });
    call.log(shared, StatusCode::OK, &body);
    body
}

/// One Web API call against the locked workspace.
pub(super) struct Api<'a> {
    pub(super) shared: &'a Shared,
    pub(super) state: &'a mut State,
}

impl Api<'_> {
    fn call(mut self, method: &str, args: &Args) -> ApiResult {
        match method {
            "auth.test" => Ok(self.auth_test()),
            "chat.postMessage" => self.post_message(args),
            "chat.update" => self.update_message(args),
            "chat.delete" => self.delete_message(args),
            "chat.postEphemeral" => self.post_ephemeral(args),
            "views.open" => self.views_open(args),
            "views.push" => self.views_push(args),
            "views.update" => self.views_update(args),
            "views.publish" => self.views_publish(args),
            "conversations.open" => self.conversations_open(args),
            "users.info" => self.users_info(args),
            "users.list" => self.users_list(args),
            "usergroups.list" => self.usergroups_list(args),
            "usergroups.users.list" => self.usergroups_users_list(args),
            "reactions.add" => self.reactions_add(args),
            "chat.getPermalink" => self.get_permalink(args),
            "conversations.create" => self.conversations_create(args),
            "conversations.invite" => self.conversations_invite(args),
            "conversations.setTopic" => self.conversations_set_topic(args),
            "conversations.info" => self.conversations_info(args),
            "conversations.list" => self.conversations_list(args),
            "conversations.history" => self.conversations_history(args),
            "conversations.replies" => self.conversations_replies(args),
            "conversations.members" => self.conversations_members(args),
            "pins.add" => self.pins_add(args),
            "pins.remove" => self.pins_remove(args),
            "pins.list" => self.pins_list(args),
            "chat.scheduleMessage" => self.schedule_message(args),
            "chat.scheduledMessages.list" => self.scheduled_messages_list(args),
            "chat.deleteScheduledMessage" => self.delete_scheduled_message(args),
            "files.getUploadURLExternal" => self.get_upload_url(args),
            "files.completeUploadExternal" => self.complete_upload(args),
            "files.info" => self.files_info(args),
            "apps.connections.open" => Ok(self.connections_open()),
            _ => Err(ApiError::new("unknown_method")),
        }
    }

    fn auth_test(&self) -> Value {
        let c = &self.shared.config;
        json!({
            "ok": true,
            "url": format!("https://{}.slack.com/", c.team_domain),
            "team": c.team_domain,
            "user": "botyard",
            "team_id": c.team_id,
            "user_id": c.bot_user_id,
            "bot_id": c.bot_id,
            "is_enterprise_install": false,
        })
    }

    pub(super) fn bot_message(&self, channel: &str, ts: String, content: Content) -> Message {
        Message {
            channel: channel.to_string(),
            ts,
            user: self.shared.config.bot_user_id.clone(),
            bot_id: Some(self.shared.config.bot_id.clone()),
            text: content.text,
            blocks: content.blocks,
            ..Message::default()
        }
    }

    pub(super) fn message_json(&self, message: &Message) -> Value {
        let c = &self.shared.config;
        message.to_json(&c.team_id, &c.api_app_id)
    }

    pub(super) fn channel(&mut self, args: &Args) -> Result<String, ApiError> {
        args.str("channel")
            .and_then(|raw| self.state.resolve_channel(&raw))
            .ok_or(ApiError::new("channel_not_found"))
    }

    /// Replies go under the thread's parent, as Slack threads them.
    pub(super) fn thread_parent(
        &self,
        channel: &str,
        args: &Args,
    ) -> Result<Option<String>, ApiError> {
        let Some(thread_ts) = args.str("thread_ts") else {
            return Ok(None);
        };
        let parent = self
            .state
            .message(channel, &thread_ts)
            .filter(|m| m.ephemeral_to.is_none())
            .ok_or(ApiError::new("thread_not_found"))?;
        Ok(Some(parent.thread_ts.clone().unwrap_or(thread_ts)))
    }

    fn post_message(&mut self, args: &Args) -> ApiResult {
        let channel = self.member_channel(args, "channel")?;
        let content = Content::from_args(args)?;
        let thread_ts = self.thread_parent(&channel, args)?;
        let metadata = metadata_arg(args)?;
        let ts = self.state.next_ts();
        let mut message = self.bot_message(&channel, ts.clone(), content);
        if thread_ts.is_some() && args.bool("reply_broadcast") {
            message.subtype = Some("thread_broadcast".into());
        }
        message.thread_ts = thread_ts;
        message.metadata = metadata;
        let mut json_message = self.message_json(&message);
        if let Some(metadata) = &message.metadata {
            json_message["metadata"] = metadata.clone();
        }
        let body = json!({
            "ok": true,
            "channel": channel,
            "ts": ts,
            "message": json_message,
        });
        tracing::debug!(%channel, %ts, "emulator: chat.postMessage");
        self.state.push_message(message);
        Ok(body)
    }

    fn update_message(&mut self, args: &Args) -> ApiResult {
        let channel = self.channel(args)?;
        let ts = args.required("ts")?;
        let bot_user = self.shared.config.bot_user_id.clone();
        let content = Content::from_args(args)?;
        let message = self
            .state
            .message_mut(&channel, &ts)
            .filter(|m| m.ephemeral_to.is_none())
            .ok_or(ApiError::new("message_not_found"))?;
        if message.user != bot_user {
            return Err(ApiError::new("cant_update_message"));
        }
        message.text = content.text;
        if args.0.contains_key("blocks") {
            message.blocks = content.blocks;
        }
        message.edited = true;
        let message = message.clone();
        self.state.changed(Change::message(&message));
        Ok(json!({
            "ok": true,
            "channel": channel,
            "ts": ts,
            "text": message.text,
            "message": self.message_json(&message),
        }))
    }

    fn delete_message(&mut self, args: &Args) -> ApiResult {
        let channel = self.channel(args)?;
        let ts = args.required("ts")?;
        let message = self
            .state
            .message(&channel, &ts)
            .filter(|m| m.ephemeral_to.is_none())
            .ok_or(ApiError::new("message_not_found"))?;
        if message.user != self.shared.config.bot_user_id {
            return Err(ApiError::new("cant_delete_message"));
        }
        self.state.remove_message(&channel, &ts);
        Ok(json!({"ok": true, "channel": channel, "ts": ts}))
    }

    fn post_ephemeral(&mut self, args: &Args) -> ApiResult {
        let channel = self.member_channel(args, "channel")?;
        let user = args.str("user").ok_or(ApiError::new("user_not_found"))?;
        if self.state.users.get(&user).is_none_or(|u| u.is_bot) {
            return Err(ApiError::new("user_not_found"));
        }
        if !self.state.is_member(&user, &channel) {
            return Err(ApiError::new("user_not_in_channel"));
        }
        let content = Content::from_args(args)?;
        let thread_ts = self.thread_parent(&channel, args)?;
        let ts = self.state.next_ts();
        let mut message = self.bot_message(&channel, ts.clone(), content);
        message.thread_ts = thread_ts;
        message.ephemeral_to = Some(user);
        self.state.push_message(message);
        Ok(json!({"ok": true, "message_ts": ts}))
    }

    /// Parses and checks a `view` argument with the host's own Block Kit rules.
    fn view_arg(args: &Args, kind: &str) -> Result<Value, ApiError> {
        let raw = args
            .json_text("view")
            .ok_or_else(|| ApiError::with("invalid_arguments", "missing required field: view"))?;
        let view = blocks::parse_view(&raw).map_err(|e| ApiError::with("invalid_arguments", e))?;
        if view.get("type").and_then(Value::as_str) != Some(kind) {
            return Err(ApiError::with(
                "invalid_arguments",
                format!("view type must be `{kind}` for this method"),
            ));
        }
        Ok(view)
    }

    fn new_view(
        &mut self,
        definition: &Value,
        root: Option<String>,
        previous: Option<String>,
    ) -> Value {
        let c = &self.shared.config;
        self.state.materialize_view(
            definition,
            c,
            ViewIds {
                id: None,
                root,
                previous,
            },
        )
    }

    fn views_open(&mut self, args: &Args) -> ApiResult {
        let trigger = args.required("trigger_id")?;
        let definition = Self::view_arg(args, "modal")?;
        let user = self
            .state
            .use_trigger(&trigger)
            .map_err(|e| ApiError::new(e.code()))?;
        let view = self.new_view(&definition, None, None);
        let open = open_view(&user, &view);
        self.state.changed(Change::Views { user: user.clone() });
        self.state.modals.insert(user, vec![open]);
        Ok(json!({"ok": true, "view": view}))
    }

    fn views_push(&mut self, args: &Args) -> ApiResult {
        let trigger = args.required("trigger_id")?;
        let definition = Self::view_arg(args, "modal")?;
        let user = self
            .state
            .use_trigger(&trigger)
            .map_err(|e| ApiError::new(e.code()))?;
        let stack = self
            .state
            .modals
            .get(&user)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if stack.len() >= MAX_VIEW_STACK {
            return Err(ApiError::new("push_limit_reached"));
        }
        // A push needs a modal to push onto.
        let top = stack.last().ok_or(ApiError::new("not_found"))?;
        let root = top.view["root_view_id"].as_str().map(str::to_string);
        let previous = Some(top.id.clone());
        let view = self.new_view(&definition, root, previous);
        let open = open_view(&user, &view);
        self.state.changed(Change::Views { user: user.clone() });
        self.state.modals.entry(user).or_default().push(open);
        Ok(json!({"ok": true, "view": view}))
    }

    fn views_update(&mut self, args: &Args) -> ApiResult {
        let target = match (args.str("view_id"), args.str("external_id")) {
            (Some(id), _) => self
                .state
                .find_modal(&id)
                .map(Target::Modal)
                .or_else(|| self.find_home(&id).map(Target::Home)),
            (None, Some(external)) => self
                .state
                .find_modal_by_external_id(&external)
                .map(Target::Modal),
            (None, None) => {
                return Err(ApiError::with(
                    "invalid_arguments",
                    "one of view_id or external_id is required",
                ));
            }
        }
        .ok_or(ApiError::new("not_found"))?;
        let current = match &target {
            Target::Modal((user, index)) => self.state.modals[user][*index].view.clone(),
            Target::Home(user) => self.state.homes[user].view.clone(),
        };
        let kind = current["type"].as_str().unwrap_or("modal").to_string();
        let definition = Self::view_arg(args, &kind)?;
        check_hash(args, &current)?;
        let c = &self.shared.config;
        let view = self
            .state
            .materialize_view(&definition, c, ViewIds::of(&current));
        match target {
            Target::Modal((user, index)) => {
                let slot = &mut self.state.modals.get_mut(&user).expect("found above")[index];
                slot.view = view.clone();
                slot.errors = None;
                self.state.changed(Change::Views { user });
            }
            Target::Home(user) => {
                self.state.homes.get_mut(&user).expect("found above").view = view.clone();
                self.state.changed(Change::Home { user });
            }
        }
        Ok(json!({"ok": true, "view": view}))
    }

    fn find_home(&self, view_id: &str) -> Option<String> {
        self.state
            .homes
            .iter()
            .find(|(_, v)| v.id == view_id)
            .map(|(user, _)| user.clone())
    }

    fn views_publish(&mut self, args: &Args) -> ApiResult {
        let user = args.required("user_id")?;
        let definition = Self::view_arg(args, "home")?;
        if self.state.users.get(&user).is_none_or(|u| u.is_bot) {
            return Err(ApiError::new("user_not_found"));
        }
        let existing = self.state.homes.get(&user).map(|h| h.view.clone());
        if let Some(current) = &existing {
            check_hash(args, current)?;
        }
        let c = &self.shared.config;
        let id = existing.and_then(|v| v["id"].as_str().map(str::to_string));
        let view = self.state.materialize_view(
            &definition,
            c,
            ViewIds {
                id,
                root: None,
                previous: None,
            },
        );
        self.state
            .homes
            .insert(user.clone(), open_view(&user, &view));
        self.state.changed(Change::Home { user });
        Ok(json!({"ok": true, "view": view}))
    }

    fn conversations_open(&mut self, args: &Args) -> ApiResult {
        if let Some(channel) = args.str("channel") {
            let id = self
                .state
                .resolve_channel(&channel)
                .ok_or(ApiError::new("channel_not_found"))?;
            return Ok(json!({"ok": true, "channel": {"id": id}}));
        }
        let users = args
            .str("users")
            .ok_or(ApiError::new("users_list_not_supplied"))?;
        let users: Vec<&str> = users.split(',').map(str::trim).collect();
        let [user] = users.as_slice() else {
            // Group DMs are not emulated.
            return Err(ApiError::with(
                "invalid_arguments",
                "the emulator opens one-to-one DMs only",
            ));
        };
        if self.state.users.get(*user).is_none_or(|u| u.is_bot) {
            return Err(ApiError::new("user_not_found"));
        }
        let existed = self
            .state
            .channels
            .values()
            .any(|c| c.dm_user.as_deref() == Some(*user));
        let id = self.state.dm_with(user);
        let mut body = json!({"ok": true, "channel": {"id": id}});
        if existed {
            body["no_op"] = json!(true);
            body["already_open"] = json!(true);
        }
        if args.bool("return_im") {
            body["channel"]["is_im"] = json!(true);
            body["channel"]["user"] = json!(user);
        }
        Ok(body)
    }

    fn reactions_add(&mut self, args: &Args) -> ApiResult {
        let channel = self.channel(args)?;
        let ts = args
            .str("timestamp")
            .ok_or(ApiError::new("no_item_specified"))?;
        let name = args.str("name").unwrap_or_default();
        let name = name.trim_matches(':');
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(ApiError::new("invalid_name"));
        }
        let who = self.shared.config.bot_user_id.clone();
        self.state
            .react(&channel, &ts, name, &who, true)
            .map_err(ApiError::new)?;
        Ok(json!({"ok": true}))
    }

    fn connections_open(&self) -> Value {
        let ticket = self.shared.socket.issue_ticket();
        json!({
            "ok": true,
            "url": format!(
                "ws://{}/link/?ticket={ticket}&app_id={}",
                self.shared.addr, self.shared.config.api_app_id
            ),
        })
    }
}

enum Target {
    Modal((String, usize)),
    Home(String),
}

fn open_view(user: &str, view: &Value) -> OpenView {
    OpenView {
        id: view["id"].as_str().unwrap_or_default().to_string(),
        user: user.to_string(),
        view: view.clone(),
        errors: None,
    }
}

/// `hash` guards against racing updates, exactly as Slack uses it.
fn check_hash(args: &Args, current: &Value) -> Result<(), ApiError> {
    match args.str("hash") {
        Some(hash) if Some(hash.as_str()) != current["hash"].as_str() => {
            Err(ApiError::new("hash_conflict"))
        }
        _ => Ok(()),
    }
}

/// The `metadata` argument of `chat.postMessage` (and
/// `chat.scheduleMessage`): an object with an `event_type` and an object
/// `event_payload`, or as a JSON string in a form.
pub(super) fn metadata_arg(args: &Args) -> Result<Option<Value>, ApiError> {
    let Some(raw) = args.json_text("metadata") else {
        return Ok(None);
    };
    let value: Value =
        serde_json::from_str(&raw).map_err(|_| ApiError::new("invalid_metadata_format"))?;
    let event_type = value["event_type"].as_str().unwrap_or_default();
    if event_type.is_empty() || !value["event_payload"].is_object() {
        return Err(ApiError::with(
            "invalid_metadata_schema",
            "metadata needs a string event_type and an object event_payload",
        ));
    }
    Ok(Some(json!({
        "event_type": event_type,
        "event_payload": value["event_payload"],
    })))
}

/// A message's text and blocks, checked against Slack's limits.
pub struct Content {
    pub text: String,
    pub blocks: Option<Value>,
}

impl Content {
    pub(super) fn from_args(args: &Args) -> Result<Content, ApiError> {
        Content::check(
            args.str("text"),
            args.json_text("blocks"),
            args.json_text("attachments").is_some(),
        )
        .map_err(|(code, detail)| match detail {
            Some(detail) => ApiError::with(code, detail),
            None => ApiError::new(code),
        })
    }

    /// Shared with `response_url` and slash-command replies, which Slack checks alike.
    pub fn check(
        text: Option<String>,
        raw_blocks: Option<String>,
        has_attachments: bool,
    ) -> Result<Content, (&'static str, Option<String>)> {
        let blocks = match raw_blocks {
            Some(raw) => {
                if serde_json::from_str::<Value>(&raw).is_err() {
                    return Err(("invalid_blocks_format", None));
                }
                Some(blocks::parse_message_blocks(&raw).map_err(|e| ("invalid_blocks", Some(e)))?)
            }
            None => None,
        };
        let has_blocks = blocks
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|b| !b.is_empty());
        if text.is_none() && !has_blocks && !has_attachments {
            return Err(("no_text", None));
        }
        let text = text.unwrap_or_default();
        if blocks::check_message_text(&text).is_err() {
            return Err(("msg_too_long", None));
        }
        Ok(Content { text, blocks })
    }
}
