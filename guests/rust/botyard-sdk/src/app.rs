//! Registration: an [`App`] is the handlers registered on it, and what it
//! answers to — the `describe` the host reads at load — is derived from them,
//! so a command can never be declared without a handler or handled without
//! being declared.
//!
//! Every invocation runs in a fresh instance, so [`export_app!`](crate::export_app)
//! builds the `App` again for each request. Registering is therefore kept to
//! one vector of routes: ids and descriptions written as literals are
//! borrowed, not copied, and a handler that is a plain `fn` boxes into a
//! zero-sized closure, which does not allocate.

use std::borrow::Cow;

use serde_json::Value;

use crate::reply::{IntoActionResponse, IntoCommandReply, IntoViewResponse};
use crate::{
    ActionRequest, ActionResponse, AppInfo, CommandRequest, CommandSpec, Event, InvocationContext,
    Reply, ScheduleSpec, SettingSpec, ShortcutKind, ShortcutRequest, ShortcutSpec, SubcommandSpec,
    Tick, ViewResponse, ViewSubmission, WebhookRequest, WebhookSpec,
};

/// Text the app is registered with: borrowed when it is a literal, owned when
/// it was built at run time.
type Str = Cow<'static, str>;

/// A handler of one kind of request, boxed so one vector holds them all.
type Handler<Request, Answer> = Box<dyn Fn(Request) -> Result<Answer, String>>;

/// A Slack app: its name, and the handlers it answers with.
///
/// ```
/// use botyard_sdk::prelude::*;
///
/// fn app() -> App {
///     App::new("lunch", "Vote on today's lunch")
///         .command("/lunch", spec("Today's menu").usage("[day]"), menu)
///         .command("/spy lunch", "Lunch votes so far", tally)
///         .action("vote:*", vote)
///         .schedule("menu", "0 11 * * 1-5", post_menu)
/// }
///
/// fn menu(_: CommandRequest) -> Result<Reply, String> {
///     Ok(Reply::in_channel("Pho or ramen?"))
/// }
///
/// fn tally(_: CommandRequest) -> Result<&'static str, String> {
///     Ok("No votes yet")
/// }
///
/// fn vote(request: ActionRequest) -> Result<String, String> {
///     Ok(format!("You voted for {}", &request.action_id["vote:".len()..]))
/// }
///
/// fn post_menu(_: Tick) -> Result<(), String> {
///     Ok(())
/// }
///
/// let info = app().describe();
/// assert_eq!(info.commands[0].usage, "[day]");
/// assert_eq!((info.subcommands[0].umbrella.as_str(), info.subcommands[0].name.as_str()), ("/spy", "lunch"));
/// assert_eq!(info.schedules[0].cron, "0 11 * * 1-5");
/// ```
#[must_use = "an App answers nothing until `export_app!` exports the function that builds it"]
pub struct App {
    name: Str,
    description: Str,
    routes: Vec<Route>,
    phrases: Vec<crate::Phrase>,
}

/// One registration: the id Slack routes by, and its handler.
struct Route {
    id: Str,
    handler: Registered,
}

/// The handler of a [`Route`], by what it handles, with what `describe`
/// needs to know about it.
enum Registered {
    Command(Spec, Handler<CommandRequest, Option<Reply>>),
    Action(Handler<ActionRequest, ActionResponse>),
    View(Handler<ViewSubmission, ViewResponse>),
    ViewClosed(Handler<ViewClosed, ()>),
    Event(Handler<Event, ()>),
    Schedule(Str, Handler<Tick, ()>),
    Tick(Handler<Tick, ()>),
    Shortcut(Shortcut, Handler<ShortcutRequest, ()>),
    /// A webhook and its description.
    Webhook(Str, Handler<WebhookRequest, ()>),
    /// A setting the app reads: declared, with no handler.
    Setting(Setting),
}

/// The kinds of request an app receives. Schedules and one-off ticks are
/// one kind: both arrive as a [`Tick`] named by the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Action,
    View,
    ViewClosed,
    Event,
    Tick,
    Shortcut,
    Webhook,
    Setting,
}

impl Kind {
    /// The word error messages use: the registration method's name.
    fn noun(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Action => "action",
            Kind::View => "view",
            Kind::ViewClosed => "view_closed",
            Kind::Event => "event",
            Kind::Tick => "tick",
            Kind::Shortcut => "shortcut",
            Kind::Webhook => "webhook",
            Kind::Setting => "setting",
        }
    }
}

impl Registered {
    fn kind(&self) -> Kind {
        match self {
            Registered::Command(..) => Kind::Command,
            Registered::Action(_) => Kind::Action,
            Registered::View(_) => Kind::View,
            Registered::ViewClosed(_) => Kind::ViewClosed,
            Registered::Event(_) => Kind::Event,
            Registered::Schedule(..) | Registered::Tick(_) => Kind::Tick,
            Registered::Shortcut(..) => Kind::Shortcut,
            Registered::Webhook(..) => Kind::Webhook,
            Registered::Setting(_) => Kind::Setting,
        }
    }

    /// The registration method, for messages about one registration.
    fn method(&self) -> &'static str {
        match self {
            Registered::Schedule(..) => "schedule",
            other => other.kind().noun(),
        }
    }
}

impl Route {
    /// For an id ending in `*` of a kind that matches by prefix, the prefix.
    /// Commands, events, schedule names, webhooks and settings always match
    /// exactly: Slack, the host and the operator use them as they are.
    fn prefix(&self) -> Option<&str> {
        match self.handler {
            Registered::Command(..)
            | Registered::Event(_)
            | Registered::Schedule(..)
            | Registered::Webhook(..)
            | Registered::Setting(_) => None,
            _ => self.id.strip_suffix('*'),
        }
    }
}

/// A slash command's one-line description (Slack's autocomplete and
/// `/umbrella help`) and its argument hint. A plain string is a description
/// with no hint: `.command("/hello", "Say hello", hello)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    description: Str,
    usage: Str,
}

/// A command's description, to add a [`usage`](Spec::usage) hint to:
/// `.command("/hello", spec("Say hello").usage("[name]"), hello)`.
pub fn spec(description: impl Into<Cow<'static, str>>) -> Spec {
    Spec {
        description: description.into(),
        usage: Cow::Borrowed(""),
    }
}

impl Spec {
    /// The arguments the command takes, as Slack shows them: `[name]`.
    pub fn usage(mut self, usage: impl Into<Cow<'static, str>>) -> Spec {
        self.usage = usage.into();
        self
    }
}

impl From<&'static str> for Spec {
    fn from(description: &'static str) -> Spec {
        spec(description)
    }
}

impl From<String> for Spec {
    fn from(description: String) -> Spec {
        spec(description)
    }
}

/// How a shortcut appears in Slack: its name in the menu, the line beside
/// it, and which menu. A plain string is the name of a global shortcut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut {
    name: Str,
    description: Option<Str>,
    kind: ShortcutKind,
}

/// A global shortcut named `name` (up to 24 characters), to make a message
/// shortcut of or describe:
/// `.shortcut("triage", shortcut_spec("Send to a team").message(), triage)`.
/// Slack requires a description; until one is given it is the name.
pub fn shortcut_spec(name: impl Into<Cow<'static, str>>) -> Shortcut {
    Shortcut {
        name: name.into(),
        description: None,
        kind: ShortcutKind::Global,
    }
}

impl Shortcut {
    /// Offered in a message's "More actions" menu; the request carries the
    /// message in [`ShortcutRequest::message`].
    pub fn message(mut self) -> Shortcut {
        self.kind = ShortcutKind::Message;
        self
    }

    /// Offered in the shortcuts menu, anywhere (the default).
    pub fn global(mut self) -> Shortcut {
        self.kind = ShortcutKind::Global;
        self
    }

    /// The line Slack shows beside the name (up to 150 characters).
    pub fn description(mut self, description: impl Into<Cow<'static, str>>) -> Shortcut {
        self.description = Some(description.into());
        self
    }
}

impl From<&'static str> for Shortcut {
    fn from(name: &'static str) -> Shortcut {
        shortcut_spec(name)
    }
}

impl From<String> for Shortcut {
    fn from(name: String) -> Shortcut {
        shortcut_spec(name)
    }
}

/// A setting the operator sets for the app in `botyard.toml`
/// (`[apps.<id>.settings]`): what it is for, and its default or that it is
/// required. A plain string is the description of an optional setting with
/// no default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    description: Str,
    default: Option<Str>,
    required: bool,
}

/// A setting described as `description`, to give a default or make
/// required: `.setting("channel", setting_spec("Where to post").default("#general"))`.
pub fn setting_spec(description: impl Into<Cow<'static, str>>) -> Setting {
    Setting {
        description: description.into(),
        default: None,
        required: false,
    }
}

impl Setting {
    /// What [`settings::get`](crate::settings::get) answers when the
    /// operator set nothing: text as `settings::get` returns it (a string as
    /// it is, a number or list as JSON: `"0"`, `r#"["Paris"]"#`).
    pub fn default(mut self, value: impl Into<Cow<'static, str>>) -> Setting {
        self.default = Some(value.into());
        self
    }

    /// The app is not loaded until the operator sets it (unless it has a
    /// default); the host names it when it refuses the app.
    pub fn required(mut self) -> Setting {
        self.required = true;
        self
    }
}

impl From<&'static str> for Setting {
    fn from(description: &'static str) -> Setting {
        setting_spec(description)
    }
}

impl From<String> for Setting {
    fn from(description: String) -> Setting {
        setting_spec(description)
    }
}

/// Whether `name` is a webhook's name: the last part of its path,
/// `[a-z0-9_-]`.
fn webhook_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Whether `name` is a setting's name: a TOML bare key, `[A-Za-z0-9_-]`, so
/// the operator writes it unquoted.
fn setting_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A modal the app opened with `notify_on_close` was closed without being
/// submitted. The contract has no request of its own for this yet: the host
/// delivers it as an event of type `view_closed`, which [`App`] turns into
/// this and routes by `callback_id` to [`App::view_closed`] handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewClosed {
    /// The view's `callback_id` as the app wrote it.
    pub callback_id: String,
    pub view_id: String,
    /// Slack's `view.state.values` as JSON text: what was entered before
    /// closing. Read it with [`ViewClosed::value`].
    pub values: String,
    pub private_metadata: String,
    /// Whether the whole stack of views was closed at once.
    pub is_cleared: bool,
    /// Who closed it. There is no channel and no trigger id.
    pub context: InvocationContext,
}

impl ViewClosed {
    /// What was entered in the element `action_id` of the input block
    /// `block_id` before the modal was closed; see [`ViewSubmission::value`].
    pub fn value(&self, block_id: &str, action_id: &str) -> Option<String> {
        crate::blocks::state_value(&self.values, block_id, action_id)
    }

    /// The request the host's `view_closed` event stands for.
    fn from_event(event: &Event) -> Result<ViewClosed, String> {
        let payload: Value = serde_json::from_str(&event.payload)
            .map_err(|e| format!("a view_closed event that is not JSON: {e}"))?;
        let text = |key: &str| payload[key].as_str().unwrap_or_default().to_string();
        let callback_id = payload["callback_id"]
            .as_str()
            .ok_or("a view_closed event without `callback_id`")?
            .to_string();
        Ok(ViewClosed {
            callback_id,
            view_id: text("view_id"),
            values: match &payload["values"] {
                Value::Null => "{}".into(),
                values => values.to_string(),
            },
            private_metadata: text("private_metadata"),
            is_cleared: payload["is_cleared"].as_bool().unwrap_or(false),
            context: InvocationContext {
                user_id: text("user_id"),
                channel_id: String::new(),
                trigger_id: None,
            },
        })
    }
}

/// The event type the host delivers closed modals as.
const VIEW_CLOSED: &str = "view_closed";

/// A delivery to one of the app's webhooks, as the host received it: the
/// WIT record, read with a few helpers.
///
/// ```
/// use botyard_sdk::WebhookRequest;
///
/// let request = WebhookRequest {
///     name: "github".into(),
///     delivery_id: "d-1".into(),
///     attempt: 1,
///     content_type: "application/json".into(),
///     headers: vec![("X-GitHub-Event".into(), "push".into())],
///     body: br#"{"sender": {"login": "ada"}}"#.to_vec(),
/// };
/// assert_eq!(request.header("x-github-event"), Some("push"));
/// let body: serde_json::Value = request.json()?;
/// assert_eq!(body["sender"]["login"], "ada");
/// # Ok::<(), String>(())
/// ```
impl WebhookRequest {
    /// The first value of header `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::header_in(&self.headers, name)
    }

    /// The body as text (UTF-8; anything else is replaced with `�`).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON of type `T` (`serde_json::Value` for any);
    /// the error names the webhook.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "webhook `{}` delivery {}: the body is not the JSON expected: {e}",
                self.name, self.delivery_id
            )
        })
    }
}

/// Words a subcommand may have after its umbrella (the host's limit).
const MAX_SUBCOMMAND_WORDS: usize = 3;

/// `/hello` → (`/hello`, none); `/spy status` → (`/spy`, `status`);
/// `/spy servers stop` → (`/spy`, `servers stop`).
fn parse_command(name: &str) -> Result<(&str, Option<String>), String> {
    let mut words = name.split_whitespace();
    let command = words
        .next()
        .ok_or("registers a command with no name; write it with its slash: `/hello`")?;
    let path: Vec<&str> = words.collect();
    if path.len() > MAX_SUBCOMMAND_WORDS {
        return Err(format!(
            "registers command `{name}`, but a subcommand is at most {MAX_SUBCOMMAND_WORDS} words after its umbrella, as in `/spy servers stop`"
        ));
    }
    Ok((command, (!path.is_empty()).then(|| path.join(" "))))
}

impl App {
    /// An app called `name` — `[a-z0-9-]`, the same as its file name — that
    /// answers to nothing yet; register what it answers to with the methods
    /// below. Each takes the id Slack routes by first and the handler last.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> App {
        App {
            name: name.into(),
            description: description.into(),
            // Enough for most apps, so registering allocates once.
            routes: Vec::with_capacity(8),
            phrases: Vec::new(),
        }
    }

    fn route(mut self, id: impl Into<Cow<'static, str>>, handler: Registered) -> App {
        self.routes.push(Route {
            id: id.into(),
            handler,
        });
        self
    }

    /// A slash command, with its slash: `/hello`. A name with a space is a
    /// subcommand of an umbrella command several apps may share: `/spy
    /// status` is `status` under `/spy`; a subcommand of more words (up to
    /// three) is a verb of an area, `/spy servers stop`, which `/spy help
    /// servers` lists and permission rules can name alone. `spec` is a description, or
    /// [`spec`]`("…").usage("[name]")`.
    ///
    /// The handler returns a [`Reply`], a string (a reply only the caller
    /// sees), `Option<Reply>`, or `()` to acknowledge silently.
    pub fn command<R: IntoCommandReply>(
        self,
        name: impl Into<Cow<'static, str>>,
        spec: impl Into<Spec>,
        handler: impl Fn(CommandRequest) -> Result<R, String> + 'static,
    ) -> App {
        let handler = move |request| handler(request).map(R::into_command_reply);
        self.route(name, Registered::Command(spec.into(), Box::new(handler)))
    }

    /// Clicks on (and choices in) elements the app posted with this
    /// `action_id`. An id ending in `*` receives every id starting with what
    /// comes before it: `"vote:*"` receives `vote:pho`, `vote:ramen` …
    ///
    /// The handler returns an [`ActionResponse`] (`update(…)` replaces the
    /// message), a [`Reply`], a string (a reply only the clicker sees), or
    /// `()` for nothing visible.
    pub fn action<R: IntoActionResponse>(
        self,
        action_id: impl Into<Cow<'static, str>>,
        handler: impl Fn(ActionRequest) -> Result<R, String> + 'static,
    ) -> App {
        let handler = move |request| handler(request).map(R::into_action_response);
        self.route(action_id, Registered::Action(Box::new(handler)))
    }

    /// Submissions of modals the app opened with this `callback_id` (or
    /// `*` prefix). The handler returns a [`ViewResponse`], or `()` to close
    /// the modal.
    pub fn view<R: IntoViewResponse>(
        self,
        callback_id: impl Into<Cow<'static, str>>,
        handler: impl Fn(ViewSubmission) -> Result<R, String> + 'static,
    ) -> App {
        let handler = move |submission| handler(submission).map(R::into_view_response);
        self.route(callback_id, Registered::View(Box::new(handler)))
    }

    /// Modals with this `callback_id` (or `*` prefix) closed without being
    /// submitted. Slack reports that only for views opened with
    /// `"notify_on_close": true`.
    pub fn view_closed(
        self,
        callback_id: impl Into<Cow<'static, str>>,
        handler: impl Fn(ViewClosed) -> Result<(), String> + 'static,
    ) -> App {
        self.route(callback_id, Registered::ViewClosed(Box::new(handler)))
    }

    /// An Events API event type (`app_mention`, `reaction_added` …), which
    /// the app subscribes to by registering it. The event's own object is
    /// JSON text in [`Event::payload`].
    pub fn event(
        self,
        event_type: impl Into<Cow<'static, str>>,
        handler: impl Fn(Event) -> Result<(), String> + 'static,
    ) -> App {
        self.route(event_type, Registered::Event(Box::new(handler)))
    }

    /// A recurring tick called `name`, due by `cron`: a UTC cron expression
    /// with five fields (`0 11 * * 1-5`) or six (leading seconds).
    pub fn schedule(
        self,
        name: impl Into<Cow<'static, str>>,
        cron: impl Into<Cow<'static, str>>,
        handler: impl Fn(Tick) -> Result<(), String> + 'static,
    ) -> App {
        self.route(name, Registered::Schedule(cron.into(), Box::new(handler)))
    }

    /// One-off ticks the app set with [`schedule::once`](crate::schedule::once),
    /// by name or `*` prefix: `.tick("close:*", close)` receives
    /// `close:poll-7` when it is due.
    pub fn tick(
        self,
        name: impl Into<Cow<'static, str>>,
        handler: impl Fn(Tick) -> Result<(), String> + 'static,
    ) -> App {
        self.route(name, Registered::Tick(Box::new(handler)))
    }

    /// A shortcut with this `callback_id` (`[a-z0-9_-]`), offered in Slack as
    /// `spec` says: a name, or [`shortcut_spec`]`("…").message()`. Shortcuts
    /// are listed in the Slack app's configuration under their exact ids, so
    /// unlike actions their ids cannot end in `*`.
    pub fn shortcut(
        self,
        callback_id: impl Into<Cow<'static, str>>,
        spec: impl Into<Shortcut>,
        handler: impl Fn(ShortcutRequest) -> Result<(), String> + 'static,
    ) -> App {
        self.route(
            callback_id,
            Registered::Shortcut(spec.into(), Box::new(handler)),
        )
    }

    /// A webhook called `name` (`[a-z0-9_-]`), which the host serves at
    /// `POST /hooks/<app>/<name>` once the operator configures who may call
    /// it. The handler gets the delivery as a [`WebhookRequest`] — its body,
    /// headers ([`header`](WebhookRequest::header) looks one up),
    /// [`text`](WebhookRequest::text) and [`json`](WebhookRequest::json).
    ///
    /// `Ok(())` means done. `Err` means "try again later": the host calls it
    /// again with the same `delivery_id` and a higher `attempt`, with
    /// backoff, until it succeeds or is given up on.
    pub fn webhook(
        self,
        name: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
        handler: impl Fn(WebhookRequest) -> Result<(), String> + 'static,
    ) -> App {
        self.route(
            name,
            Registered::Webhook(description.into(), Box::new(handler)),
        )
    }

    /// A setting the app reads with [`settings::get`](crate::settings::get),
    /// declared so the host can show it and check it: a description, or
    /// [`setting_spec`]`("…").default("…")` / `.required()`. While a handler
    /// runs, `settings::get(name)` answers the operator's value, else this
    /// default, else `None`.
    pub fn setting(self, name: impl Into<Cow<'static, str>>, spec: impl Into<Setting>) -> App {
        self.route(name, Registered::Setting(spec.into()))
    }

    /// What the app answers to, derived from its registrations: the WIT
    /// `describe`. `view_closed` is listed among the events when the app
    /// handles closed views, since that is how they arrive.
    ///
    /// # Panics
    ///
    /// When the registrations contradict each other (see
    /// [`try_describe`](App::try_describe)): the host then refuses to load
    /// this version, rather than run one that is half working.
    pub fn describe(&self) -> AppInfo {
        self.try_describe()
            .unwrap_or_else(|problem| panic!("{problem}"))
    }

    /// [`describe`](App::describe), or what is wrong with the registrations:
    /// the same id registered twice (a schedule and a one-off tick of the
    /// same name count too), a command of more than two words,
    /// `.event("view_closed")` (closed views go to
    /// [`view_closed`](App::view_closed)), or a shortcut id ending in `*`.
    pub fn try_describe(&self) -> Result<AppInfo, String> {
        self.check()?;
        let mut info = AppInfo {
            name: self.name.to_string(),
            description: self.description.to_string(),
            commands: Vec::new(),
            subcommands: Vec::new(),
            events: Vec::new(),
            schedules: Vec::new(),
        };
        for route in &self.routes {
            match &route.handler {
                Registered::Command(spec, _) => match parse_command(&route.id)? {
                    (command, None) => info.commands.push(CommandSpec {
                        name: command.into(),
                        description: spec.description.to_string(),
                        usage: spec.usage.to_string(),
                    }),
                    (umbrella, Some(name)) => info.subcommands.push(SubcommandSpec {
                        umbrella: umbrella.into(),
                        name: name.into(),
                        description: spec.description.to_string(),
                        usage: spec.usage.to_string(),
                    }),
                },
                Registered::Event(_) => info.events.push(route.id.to_string()),
                Registered::ViewClosed(_) if !info.events.iter().any(|e| e == VIEW_CLOSED) => {
                    info.events.push(VIEW_CLOSED.into());
                }
                Registered::Schedule(cron, _) => info.schedules.push(ScheduleSpec {
                    name: route.id.to_string(),
                    cron: cron.to_string(),
                }),
                _ => {}
            }
        }
        Ok(info)
    }

    /// The shortcuts the app offers: the WIT `describe-shortcuts`.
    ///
    /// # Panics
    ///
    /// When the registrations contradict each other, like
    /// [`describe`](App::describe).
    pub fn describe_shortcuts(&self) -> Vec<ShortcutSpec> {
        if let Err(problem) = self.check() {
            panic!("{problem}");
        }
        self.routes
            .iter()
            .filter_map(|route| match &route.handler {
                Registered::Shortcut(spec, _) => Some(ShortcutSpec {
                    callback_id: route.id.to_string(),
                    kind: spec.kind,
                    name: spec.name.to_string(),
                    description: spec.description.as_ref().unwrap_or(&spec.name).to_string(),
                }),
                _ => None,
            })
            .collect()
    }

    /// The webhooks the app serves: the WIT `describe-webhooks`.
    ///
    /// # Panics
    ///
    /// When the registrations contradict each other, like
    /// [`describe`](App::describe).
    pub fn describe_webhooks(&self) -> Vec<WebhookSpec> {
        if let Err(problem) = self.check() {
            panic!("{problem}");
        }
        self.routes
            .iter()
            .filter_map(|route| match &route.handler {
                Registered::Webhook(description, _) => Some(WebhookSpec {
                    name: route.id.to_string(),
                    description: description.to_string(),
                }),
                _ => None,
            })
            .collect()
    }

    /// What people may say to `@botyard` for one of this app's commands
    /// (the host checks at load that the line is one of them).
    pub fn phrase(mut self, phrase: crate::Phrase) -> App {
        self.phrases.push(phrase);
        self
    }

    /// The phrases the app declares: the WIT `describe-phrases`.
    pub fn describe_phrases(&self) -> Vec<crate::PhraseSpec> {
        self.phrases.iter().map(crate::Phrase::spec).collect()
    }

    /// The settings the app declares: the WIT `describe-settings`.
    ///
    /// # Panics
    ///
    /// When the registrations contradict each other, like
    /// [`describe`](App::describe).
    pub fn describe_settings(&self) -> Vec<SettingSpec> {
        if let Err(problem) = self.check() {
            panic!("{problem}");
        }
        self.routes
            .iter()
            .filter_map(|route| match &route.handler {
                Registered::Setting(spec) => Some(SettingSpec {
                    name: route.id.to_string(),
                    description: spec.description.to_string(),
                    default: spec.default.as_ref().map(|d| d.to_string()),
                    required: spec.required,
                }),
                _ => None,
            })
            .collect()
    }

    /// Makes the declared defaults what [`settings::get`](crate::settings::get)
    /// falls back on while this app handles a request.
    fn enter(&self) {
        crate::settings::declare(self.routes.iter().filter_map(|route| match &route.handler {
            Registered::Setting(Setting {
                default: Some(default),
                ..
            }) => Some((route.id.clone(), default.clone())),
            _ => None,
        }));
    }

    /// Every problem with the registrations, in one message naming the app.
    fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for (i, route) in self.routes.iter().enumerate() {
            let kind = route.handler.kind();
            match &route.handler {
                Registered::Command(..) => {
                    if let Err(problem) = parse_command(&route.id) {
                        problems.push(problem);
                        continue;
                    }
                }
                Registered::Event(_) if route.id == VIEW_CLOSED => problems.push(format!(
                    "registers event `{VIEW_CLOSED}`, which is not an Events API event; \
                     closed modals go to `.view_closed(callback_id, handler)`"
                )),
                Registered::Shortcut(..) if route.id.ends_with('*') => problems.push(format!(
                    "registers shortcut `{}`, but a shortcut is listed in Slack under its exact \
                     callback id, so it cannot end in `*`",
                    route.id
                )),
                Registered::Webhook(..) if !webhook_name(&route.id) => problems.push(format!(
                    "registers webhook `{}`, but a webhook's name is the last part of its path \
                     (`/hooks/<app>/<name>`): `[a-z0-9_-]`",
                    route.id
                )),
                Registered::Setting(_) if !setting_name(&route.id) => problems.push(format!(
                    "registers setting `{}`, but a setting's name is a key of \
                     `[apps.<id>.settings]`: `[A-Za-z0-9_-]`",
                    route.id
                )),
                _ => {}
            }
            let same = |other: &Route| {
                other.handler.kind() == kind
                    && match kind {
                        Kind::Command => parse_command(&other.id) == parse_command(&route.id),
                        _ => other.id == route.id,
                    }
            };
            // Reported once, at the second registration of an id.
            if let Some(first) = self.routes[..i].iter().find(|other| same(other)) {
                let (before, now) = (first.handler.method(), route.handler.method());
                problems.push(if before == now {
                    format!("registers {now} `{}` twice", route.id)
                } else {
                    format!(
                        "registers {before} `{}` and {now} `{}`, which would both receive tick `{}`",
                        first.id, route.id, route.id
                    )
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("app `{}` {}", self.name, problems.join("; ")))
        }
    }

    /// The route of `kind` for `id`: an exact registration, else the one with
    /// the longest matching `*` prefix.
    fn find(&self, kind: Kind, id: &str) -> Option<&Registered> {
        let mut best: Option<(usize, &Registered)> = None;
        for route in self.routes.iter().filter(|r| r.handler.kind() == kind) {
            match route.prefix() {
                None if route.id == id => return Some(&route.handler),
                Some(prefix)
                    if id.starts_with(prefix)
                        && best.is_none_or(|(longest, _)| prefix.len() > longest) =>
                {
                    best = Some((prefix.len(), &route.handler));
                }
                _ => {}
            }
        }
        best.map(|(_, handler)| handler)
    }

    /// The error for a request nothing is registered for: no SDK ignores one
    /// silently (a button from an older version, a tick nobody listens to).
    fn unhandled(&self, kind: Kind, id: &str) -> String {
        format!(
            "app `{}` has no handler for {} `{id}`",
            self.name,
            kind.noun()
        )
    }

    /// Runs the handler registered for the command (or subcommand): the
    /// WIT `on-command`.
    pub fn on_command(&self, request: CommandRequest) -> Result<Option<Reply>, String> {
        self.enter();
        let wanted = (request.command.as_str(), request.subcommand.as_deref());
        let handler = self.routes.iter().find_map(|route| match &route.handler {
            Registered::Command(_, handler)
                if parse_command(&route.id)
                    .is_ok_and(|(c, sub)| c == wanted.0 && sub.as_deref() == wanted.1) =>
            {
                Some(handler)
            }
            _ => None,
        });
        match handler {
            Some(handler) => handler(request),
            None => {
                let name = match &request.subcommand {
                    Some(subcommand) => format!("{} {subcommand}", request.command),
                    None => request.command.clone(),
                };
                Err(self.unhandled(Kind::Command, &name))
            }
        }
    }

    /// Runs the handler registered for the element's `action_id`: the WIT
    /// `on-action`.
    pub fn on_action(&self, request: ActionRequest) -> Result<ActionResponse, String> {
        self.enter();
        match self.find(Kind::Action, &request.action_id) {
            Some(Registered::Action(handler)) => handler(request),
            _ => Err(self.unhandled(Kind::Action, &request.action_id)),
        }
    }

    /// Runs the handler registered for the modal's `callback_id`: the WIT
    /// `on-view-submission`.
    pub fn on_view_submission(&self, submission: ViewSubmission) -> Result<ViewResponse, String> {
        self.enter();
        match self.find(Kind::View, &submission.callback_id) {
            Some(Registered::View(handler)) => handler(submission),
            _ => Err(self.unhandled(Kind::View, &submission.callback_id)),
        }
    }

    /// Runs the handler registered for the event's type, or for a closed
    /// modal's `callback_id`: the WIT `on-event`.
    pub fn on_event(&self, event: Event) -> Result<(), String> {
        self.enter();
        if event.event_type == VIEW_CLOSED {
            let closed = ViewClosed::from_event(&event)
                .map_err(|problem| format!("app `{}` got {problem}", self.name))?;
            return match self.find(Kind::ViewClosed, &closed.callback_id) {
                Some(Registered::ViewClosed(handler)) => handler(closed),
                _ => Err(self.unhandled(Kind::ViewClosed, &closed.callback_id)),
            };
        }
        match self.find(Kind::Event, &event.event_type) {
            Some(Registered::Event(handler)) => handler(event),
            _ => Err(self.unhandled(Kind::Event, &event.event_type)),
        }
    }

    /// Runs the handler registered for the tick's name — a schedule, or a
    /// one-off tick by name or prefix: the WIT `on-tick`.
    pub fn on_tick(&self, tick: Tick) -> Result<(), String> {
        self.enter();
        match self.find(Kind::Tick, &tick.name) {
            Some(Registered::Schedule(_, handler) | Registered::Tick(handler)) => handler(tick),
            _ => Err(self.unhandled(Kind::Tick, &tick.name)),
        }
    }

    /// Runs the handler registered for the shortcut's `callback_id`: the
    /// WIT `on-shortcut`.
    pub fn on_shortcut(&self, request: ShortcutRequest) -> Result<(), String> {
        self.enter();
        match self.find(Kind::Shortcut, &request.callback_id) {
            Some(Registered::Shortcut(_, handler)) => handler(request),
            _ => Err(self.unhandled(Kind::Shortcut, &request.callback_id)),
        }
    }

    /// Runs the handler registered for the webhook's name: the WIT
    /// `on-webhook`. `Err` asks the host to try again later.
    pub fn on_webhook(&self, request: WebhookRequest) -> Result<(), String> {
        self.enter();
        match self.find(Kind::Webhook, &request.name) {
            Some(Registered::Webhook(_, handler)) => handler(request),
            _ => Err(self.unhandled(Kind::Webhook, &request.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageRef, SettingSpec, ShortcutMessage, WebhookSpec};

    fn context() -> InvocationContext {
        InvocationContext {
            user_id: "U1".into(),
            channel_id: "C1".into(),
            trigger_id: Some("T1".into()),
        }
    }

    fn command(command: &str, subcommand: Option<&str>) -> CommandRequest {
        CommandRequest {
            command: command.into(),
            subcommand: subcommand.map(String::from),
            text: "some text".into(),
            context: context(),
        }
    }

    fn action(action_id: &str) -> ActionRequest {
        ActionRequest {
            action_id: action_id.into(),
            block_id: None,
            value: Some("v".into()),
            message: None,
            context: context(),
        }
    }

    fn tick(name: &str) -> Tick {
        Tick {
            name: name.into(),
            due_ms: 1,
        }
    }

    fn event(event_type: &str, payload: &str) -> Event {
        Event {
            event_type: event_type.into(),
            event_id: "Ev1".into(),
            payload: payload.into(),
        }
    }

    fn submission(callback_id: &str) -> ViewSubmission {
        ViewSubmission {
            callback_id: callback_id.into(),
            view_id: "V1".into(),
            values: "{}".into(),
            private_metadata: String::new(),
            context: context(),
        }
    }

    fn shortcut(callback_id: &str) -> ShortcutRequest {
        ShortcutRequest {
            callback_id: callback_id.into(),
            kind: ShortcutKind::Message,
            message: Some(ShortcutMessage {
                target: MessageRef {
                    channel: "C1".into(),
                    ts: "1.2".into(),
                },
                user: "U2".into(),
                text: "help".into(),
            }),
            context: context(),
        }
    }

    /// Answers with which handler ran, so a test sees the routing.
    fn says(name: &'static str) -> impl Fn(ActionRequest) -> Result<String, String> {
        move |request| Ok(format!("{name} got {}", request.action_id))
    }

    fn answer(response: Result<ActionResponse, String>) -> String {
        match response {
            Ok(ActionResponse::Reply(reply)) => reply.message.text,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn an_exact_id_beats_a_prefix_and_the_longest_prefix_wins() {
        let app = App::new("poll", "Polls")
            .action("vote:*", says("any vote"))
            .action("vote:close", says("close"))
            .action("vote:admin:*", says("admin"))
            .action("*", says("anything"));
        let ran = |id: &str| answer(app.on_action(action(id)));
        assert_eq!(ran("vote:close"), "close got vote:close");
        assert_eq!(ran("vote:3"), "any vote got vote:3");
        assert_eq!(ran("vote:admin:reset"), "admin got vote:admin:reset");
        assert_eq!(ran("vote:"), "any vote got vote:");
        assert_eq!(ran("other"), "anything got other");
        // The order of registration does not matter.
        let reversed = App::new("poll", "Polls")
            .action("*", says("anything"))
            .action("vote:admin:*", says("admin"))
            .action("vote:close", says("close"))
            .action("vote:*", says("any vote"));
        assert_eq!(
            answer(reversed.on_action(action("vote:admin:x"))),
            "admin got vote:admin:x"
        );
        assert_eq!(
            answer(reversed.on_action(action("vote:close"))),
            "close got vote:close"
        );
    }

    #[test]
    fn an_id_without_a_star_matches_only_itself() {
        let app = App::new("poll", "Polls").action("vote", says("vote"));
        assert_eq!(answer(app.on_action(action("vote"))), "vote got vote");
        assert_eq!(
            app.on_action(action("vote:1")).unwrap_err(),
            "app `poll` has no handler for action `vote:1`"
        );
    }

    #[test]
    fn a_request_nobody_registered_for_is_an_error_naming_it() {
        let app = App::new("hello", "Greets you")
            .command("/hello", "Say hello", |_| Ok(()))
            .action("count", |_| Ok(()));
        let err = |result: Result<(), String>| result.unwrap_err();
        assert_eq!(
            app.on_action(action("colour")).unwrap_err(),
            "app `hello` has no handler for action `colour`"
        );
        assert_eq!(
            app.on_command(command("/bye", None)).unwrap_err(),
            "app `hello` has no handler for command `/bye`"
        );
        assert_eq!(
            app.on_command(command("/spy", Some("status"))).unwrap_err(),
            "app `hello` has no handler for command `/spy status`"
        );
        assert_eq!(
            app.on_view_submission(submission("order")).unwrap_err(),
            "app `hello` has no handler for view `order`"
        );
        assert_eq!(
            err(app.on_event(event("reaction_added", "{}"))),
            "app `hello` has no handler for event `reaction_added`"
        );
        assert_eq!(
            err(app.on_event(event("view_closed", r#"{"callback_id":"order"}"#))),
            "app `hello` has no handler for view_closed `order`"
        );
        assert_eq!(
            err(app.on_tick(tick("close:7"))),
            "app `hello` has no handler for tick `close:7`"
        );
        assert_eq!(
            err(app.on_shortcut(shortcut("triage"))),
            "app `hello` has no handler for shortcut `triage`"
        );
    }

    #[test]
    fn commands_and_subcommands_reach_their_own_handlers() {
        let app = App::new("spy-queue", "Support queues")
            .command("/queue", "Queue length", |r| {
                Ok(format!("queue: {}", r.text))
            })
            .command("/spy status", spec("Queue status").usage("[team]"), |r| {
                Ok(Reply::in_channel(format!("status: {}", r.text)))
            })
            .command("/spy route", "Route a request", |_| Ok(()));
        assert_eq!(
            app.on_command(command("/queue", None)).unwrap(),
            Some(Reply::ephemeral("queue: some text"))
        );
        assert_eq!(
            app.on_command(command("/spy", Some("status"))).unwrap(),
            Some(Reply::in_channel("status: some text"))
        );
        assert_eq!(
            app.on_command(command("/spy", Some("route"))).unwrap(),
            None
        );
        // `/spy` alone, or `/queue status`, is not what was registered.
        assert!(app.on_command(command("/spy", None)).is_err());
        assert!(app.on_command(command("/queue", Some("status"))).is_err());
    }

    #[test]
    fn describe_is_derived_from_the_registrations() {
        let noop = |_: Tick| Ok(());
        let app = App::new("lunch", "Rate my plate")
            .command("/lunch", "Today's menu", |_| Ok(()))
            .command("/spy lunch", spec("Lunch votes").usage("[day]"), |_| Ok(()))
            .command("/hello", spec("Say hello").usage("[name]"), |_| Ok(()))
            .action("vote:*", |_| Ok(()))
            .view("order", |_| Ok(()))
            .view_closed("order", |_| Ok(()))
            .view_closed("survey", |_| Ok(()))
            .event("reaction_added", |_| Ok(()))
            .event("app_mention", |_| Ok(()))
            .schedule("menu", "0 11 * * 1-5", noop)
            .schedule("digest", "0 0 8 * * *", noop)
            .tick("close:*", noop)
            .shortcut("triage", shortcut_spec("Send to a team").message(), |_| {
                Ok(())
            });
        assert_eq!(
            app.describe(),
            AppInfo {
                name: "lunch".into(),
                description: "Rate my plate".into(),
                commands: vec![
                    CommandSpec {
                        name: "/lunch".into(),
                        description: "Today's menu".into(),
                        usage: "".into(),
                    },
                    CommandSpec {
                        name: "/hello".into(),
                        description: "Say hello".into(),
                        usage: "[name]".into(),
                    },
                ],
                subcommands: vec![SubcommandSpec {
                    umbrella: "/spy".into(),
                    name: "lunch".into(),
                    description: "Lunch votes".into(),
                    usage: "[day]".into(),
                }],
                // Closed views arrive as `view_closed` events: listed once.
                events: vec![
                    "view_closed".into(),
                    "reaction_added".into(),
                    "app_mention".into(),
                ],
                schedules: vec![
                    ScheduleSpec {
                        name: "menu".into(),
                        cron: "0 11 * * 1-5".into(),
                    },
                    ScheduleSpec {
                        name: "digest".into(),
                        cron: "0 0 8 * * *".into(),
                    },
                ],
            }
        );
    }

    #[test]
    fn shortcuts_are_described_and_dispatched() {
        let app = App::new("helpdesk", "Help channels")
            .shortcut(
                "triage",
                shortcut_spec("Send to a team")
                    .message()
                    .description("Forward this message to a team's help channel"),
                |request| match request.message {
                    Some(message) => Err(format!("triaged {}", message.text)),
                    None => Err("no message".into()),
                },
            )
            .shortcut("standup", "Start a standup", |_| Ok(()));
        assert_eq!(
            app.describe_shortcuts(),
            vec![
                ShortcutSpec {
                    callback_id: "triage".into(),
                    kind: ShortcutKind::Message,
                    name: "Send to a team".into(),
                    description: "Forward this message to a team's help channel".into(),
                },
                ShortcutSpec {
                    callback_id: "standup".into(),
                    kind: ShortcutKind::Global,
                    name: "Start a standup".into(),
                    // Slack wants one; the name stands in.
                    description: "Start a standup".into(),
                },
            ]
        );
        assert_eq!(
            app.on_shortcut(shortcut("triage")),
            Err("triaged help".into())
        );
        assert_eq!(app.on_shortcut(shortcut("standup")), Ok(()));
        // Shortcuts are not commands or actions: describe lists none.
        let info = app.describe();
        assert!(
            info.commands.is_empty() && info.events.is_empty(),
            "{info:?}"
        );
        assert!(App::new("x", "").describe_shortcuts().is_empty());
    }

    #[test]
    fn duplicate_registrations_fail_describe_naming_each() {
        let ok = |_: Tick| Ok(());
        let app = App::new("dup", "Registers things twice")
            .command("/dup", "One", |_| Ok(()))
            .command("/dup", "Two", |_| Ok(()))
            .command("/spy status", "One", |_| Ok(()))
            .command("/spy  status", "Two", |_| Ok(()))
            .action("count", |_| Ok(()))
            .action("count", |_| Ok(()))
            .action("vote:*", |_| Ok(()))
            .action("vote:*", |_| Ok(()))
            .schedule("menu", "0 11 * * *", ok)
            .tick("menu", ok);
        let err = app.try_describe().unwrap_err();
        assert_eq!(
            err,
            "app `dup` registers command `/dup` twice; \
             registers command `/spy  status` twice; \
             registers action `count` twice; \
             registers action `vote:*` twice; \
             registers schedule `menu` and tick `menu`, which would both receive tick `menu`"
        );
        // Each kind has its own ids: the same id for two kinds is fine.
        let fine = App::new("fine", "")
            .action("order", |_| Ok(()))
            .view("order", |_| Ok(()))
            .view_closed("order", |_| Ok(()))
            .tick("order", ok)
            .shortcut("order", "Order", |_| Ok(()))
            .action("order:*", |_| Ok(()));
        assert!(fine.try_describe().is_ok());
        // Views, events and shortcuts are checked too.
        for app in [
            App::new("d", "")
                .view("v", |_| Ok(()))
                .view("v", |_| Ok(())),
            App::new("d", "")
                .view_closed("v", |_| Ok(()))
                .view_closed("v", |_| Ok(())),
            App::new("d", "")
                .event("e", |_| Ok(()))
                .event("e", |_| Ok(())),
            App::new("d", "").tick("t:*", ok).tick("t:*", ok),
            App::new("d", "")
                .schedule("s", "* * * * *", ok)
                .schedule("s", "0 * * * *", ok),
            App::new("d", "")
                .shortcut("s", "One", |_| Ok(()))
                .shortcut("s", "Two", |_| Ok(())),
        ] {
            let err = app.try_describe().unwrap_err();
            assert!(
                err.starts_with("app `d` registers ") && err.ends_with("` twice"),
                "{err}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "app `dup` registers action `count` twice")]
    fn describe_panics_so_the_host_refuses_the_version() {
        App::new("dup", "")
            .action("count", |_| Ok(()))
            .action("count", |_| Ok(()))
            .describe();
    }

    #[test]
    #[should_panic(expected = "app `dup` registers shortcut `s` twice")]
    fn describe_shortcuts_checks_the_registrations_too() {
        App::new("dup", "")
            .shortcut("s", "One", |_| Ok(()))
            .shortcut("s", "Two", |_| Ok(()))
            .describe_shortcuts();
    }

    #[test]
    fn registrations_that_cannot_work_fail_describe() {
        let err = |app: App| app.try_describe().unwrap_err();
        assert_eq!(
            err(App::new("a", "").command("/spy a b c d", "x", |_| Ok(()))),
            "app `a` registers command `/spy a b c d`, but a subcommand is at most 3 words after its umbrella, as in `/spy servers stop`"
        );
        assert!(err(App::new("a", "").command(" ", "x", |_| Ok(()))).contains("no name"));
        assert!(err(App::new("a", "").event("view_closed", |_| Ok(())))
            .contains("`.view_closed(callback_id, handler)`"));
        assert!(err(App::new("a", "").shortcut("triage*", "T", |_| Ok(())))
            .contains("cannot end in `*`"));
    }

    #[test]
    fn schedules_and_one_off_ticks_share_on_tick() {
        use std::cell::RefCell;
        use std::rc::Rc;
        let ran = Rc::new(RefCell::new(Vec::new()));
        let record = |name: &'static str| {
            let ran = ran.clone();
            move |tick: Tick| {
                ran.borrow_mut().push(format!("{name}:{}", tick.name));
                Ok(())
            }
        };
        let app = App::new("poll", "")
            .schedule("close*", "* * * * *", record("schedule"))
            .tick("close:*", record("tick"))
            .tick("menu", record("menu"));
        for name in ["close:7", "menu", "close*"] {
            app.on_tick(tick(name)).unwrap();
        }
        // A schedule's name is exact, even ending in `*`.
        assert!(app.on_tick(tick("closed")).is_err());
        assert_eq!(
            *ran.borrow(),
            ["tick:close:7", "menu:menu", "schedule:close*"]
        );
    }

    #[test]
    fn a_closed_view_reaches_its_view_closed_handler() {
        let app = App::new("orders", "")
            .view_closed("order:*", |closed| {
                Err(format!(
                    "{} {} {} {} {} {:?}",
                    closed.callback_id,
                    closed.view_id,
                    closed.context.user_id,
                    closed.private_metadata,
                    closed.is_cleared,
                    closed.value("dish", "pick"),
                ))
            })
            .event("reaction_added", |event| {
                Err(format!("event {}", event.payload))
            });
        let payload = r#"{"user_id":"U9","view_id":"V7","callback_id":"order:3",
            "private_metadata":"C1","is_cleared":true,
            "values":{"dish":{"pick":{"type":"static_select","selected_option":{"value":"pho"}}}}}"#;
        assert_eq!(
            app.on_event(event("view_closed", payload)).unwrap_err(),
            r#"order:3 V7 U9 C1 true Some("pho")"#
        );
        assert_eq!(
            app.on_event(event("reaction_added", "{}")).unwrap_err(),
            "event {}"
        );
        let err = app.on_event(event("view_closed", "{}")).unwrap_err();
        assert_eq!(
            err,
            "app `orders` got a view_closed event without `callback_id`"
        );
        let err = app.on_event(event("view_closed", "not json")).unwrap_err();
        assert!(
            err.starts_with("app `orders` got a view_closed event that is not JSON"),
            "{err}"
        );
    }

    fn webhook(name: &str, body: &str) -> WebhookRequest {
        WebhookRequest {
            name: name.into(),
            delivery_id: "d-1".into(),
            attempt: 2,
            content_type: "application/json".into(),
            headers: vec![("X-GitHub-Event".into(), "push".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn webhooks_are_described_and_dispatched_by_name() {
        let app = App::new("hooks", "Webhooks")
            .webhook("github", "Pushes and PRs", |request| {
                let body: Value = request.json()?;
                Err(format!(
                    "{} {} {} attempt {} {}",
                    request.header("x-github-event").unwrap_or("-"),
                    body["sender"]["login"],
                    request.delivery_id,
                    request.attempt,
                    request.text().len(),
                ))
            })
            .webhook("alerts", "Alertmanager", |_| Ok(()));
        assert_eq!(
            app.describe_webhooks(),
            vec![
                WebhookSpec {
                    name: "github".into(),
                    description: "Pushes and PRs".into(),
                },
                WebhookSpec {
                    name: "alerts".into(),
                    description: "Alertmanager".into(),
                },
            ]
        );
        let body = r#"{"sender":{"login":"ada"}}"#;
        assert_eq!(
            app.on_webhook(webhook("github", body)),
            Err(format!("push \"ada\" d-1 attempt 2 {}", body.len()))
        );
        assert_eq!(app.on_webhook(webhook("alerts", "")), Ok(()));
        assert_eq!(
            app.on_webhook(webhook("gitlab", "")).unwrap_err(),
            "app `hooks` has no handler for webhook `gitlab`"
        );
        // A body that is not JSON is an error naming the webhook.
        let err = app.on_webhook(webhook("github", "nope")).unwrap_err();
        assert!(
            err.starts_with("webhook `github` delivery d-1: the body is not the JSON expected"),
            "{err}"
        );
        // Webhooks are neither commands nor events; an app with none has none.
        let info = app.describe();
        assert!(info.commands.is_empty() && info.events.is_empty());
        assert!(App::new("x", "").describe_webhooks().is_empty());
    }

    #[test]
    fn settings_are_declared_with_their_defaults() {
        let app = App::new("hooks", "")
            .setting("channel", setting_spec("Where to post").default("C0HOOKS"))
            .setting("token", setting_spec("Which token").required())
            .setting("note", "Anything")
            .setting(
                String::from("fail_times"),
                setting_spec(String::from("Fail this often")).default(String::from("0")),
            );
        let spec =
            |name: &str, description: &str, default: Option<&str>, required: bool| SettingSpec {
                name: name.into(),
                description: description.into(),
                default: default.map(String::from),
                required,
            };
        assert_eq!(
            app.describe_settings(),
            vec![
                spec("channel", "Where to post", Some("C0HOOKS"), false),
                spec("token", "Which token", None, true),
                spec("note", "Anything", None, false),
                spec("fail_times", "Fail this often", Some("0"), false),
            ]
        );
        assert!(app.try_describe().is_ok());
        assert!(App::new("x", "").describe_settings().is_empty());
    }

    #[test]
    fn webhooks_and_settings_are_checked_like_every_registration() {
        let err = App::new("d", "")
            .setting("channel", "One")
            .setting("channel", setting_spec("Two").default("x"))
            .webhook("github", "One", |_| Ok(()))
            .webhook("github", "Two", |_| Ok(()))
            .webhook("Git Hub", "Bad", |_| Ok(()))
            .webhook("hooks*", "Bad", |_| Ok(()))
            .setting("a b", "Bad")
            .try_describe()
            .unwrap_err();
        assert_eq!(
            err,
            "app `d` registers setting `channel` twice; \
             registers webhook `github` twice; \
             registers webhook `Git Hub`, but a webhook's name is the last part of its path \
             (`/hooks/<app>/<name>`): `[a-z0-9_-]`; \
             registers webhook `hooks*`, but a webhook's name is the last part of its path \
             (`/hooks/<app>/<name>`): `[a-z0-9_-]`; \
             registers setting `a b`, but a setting's name is a key of `[apps.<id>.settings]`: \
             `[A-Za-z0-9_-]`"
        );
        // A setting and a webhook of one name are different things.
        let fine = App::new("f", "")
            .setting("github", "x")
            .webhook("github", "y", |_| Ok(()))
            .setting("Camel_Case-1", "TOML bare keys are fine");
        assert!(fine.try_describe().is_ok());
    }

    #[test]
    #[should_panic(expected = "app `dup` registers setting `s` twice")]
    fn describe_settings_checks_the_registrations_too() {
        App::new("dup", "")
            .setting("s", "One")
            .setting("s", "Two")
            .describe_settings();
    }

    #[test]
    #[should_panic(expected = "app `dup` registers webhook `w` twice")]
    fn describe_webhooks_checks_the_registrations_too() {
        App::new("dup", "")
            .webhook("w", "One", |_| Ok(()))
            .webhook("w", "Two", |_| Ok(()))
            .describe_webhooks();
    }

    #[test]
    fn handlers_answer_in_the_shapes_the_sdks_share() {
        let app = App::new("shapes", "")
            .action("update", |_| Ok(ActionResponse::update("new")))
            .action("reply", |_| Ok(Reply::in_channel("all")))
            .action("nothing", |_| Ok(()))
            .view("close", |_| Ok(()))
            .view("errors", |_| Ok(ViewResponse::errors([("b", "bad")])));
        assert_eq!(
            app.on_action(action("update")),
            Ok(ActionResponse::update("new"))
        );
        assert_eq!(
            app.on_action(action("reply")),
            Ok(ActionResponse::in_channel("all"))
        );
        assert_eq!(app.on_action(action("nothing")), Ok(ActionResponse::None));
        assert_eq!(
            app.on_view_submission(submission("close")),
            Ok(ViewResponse::Close)
        );
        assert_eq!(
            app.on_view_submission(submission("errors")),
            Ok(ViewResponse::errors([("b", "bad")]))
        );
        // A handler's error reaches the user as it is.
        let failing = App::new("f", "").action("x", |_| Err::<(), _>("no luck".to_string()));
        assert_eq!(failing.on_action(action("x")), Err("no luck".into()));
    }
}
