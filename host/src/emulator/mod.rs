//! A Slack emulator on loopback: Slack is unreachable from the machines
//! botyard is built and tested on, so every Slack-facing test (and the
//! workbench) talks to this instead. It speaks Slack's documented wire
//! protocol — Web API, signed requests to the host, Socket Mode — and keeps
//! the conversation state a test asserts on.
//!
//! Where things are: `web_api.rs` (auth, argument parsing, dispatch, the
//! `chat.*`, `views.*` and reaction methods), `conversations.rs` (channels,
//! membership, topics, pins, history, permalinks), `directory.rs` (users,
//! user groups), `scheduled.rs` (scheduled messages and their poster),
//! `files.rs` (external uploads, file downloads), `pagination.rs` (Slack's
//! cursors), `outbound.rs` (what Slack sends the host: commands, clicks,
//! events, shortcuts), `replies.rs` (what the host answers), `socket_mode.rs`,
//! `truth.rs` (the log of every Web API call and every delivery to a host).
//!
//! One emulator can stand in for Slack in front of several hosts (replicas
//! of one app): [`Emulator::set_hosts`] names each one's Request URLs and
//! every HTTP request goes to one of them at random, as behind a load
//! balancer; over Socket Mode each envelope goes to a random open
//! connection. Random choices come from one seeded generator
//! ([`EmulatorConfig::seed`]), so a failing run can be replayed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), botyard::emulator::EmulatorError> {
//! use botyard::emulator::{Emulator, EmulatorConfig, HostUrls};
//! let slack = Emulator::start(EmulatorConfig::default()).await?;
//! // point the host's Web API client at slack.base_url(), start the host, then:
//! slack.set_request_urls(HostUrls::all("http://127.0.0.1:3000/slack"));
//! let reply = slack.send_slash_command("alice", "general", "/poll lunch?").await?;
//! assert_eq!(reply.status, 200);
//! # Ok(()) }
//! ```

mod changes;
mod conversations;
mod directory;
mod faults;
mod files;
mod outbound;
mod pagination;
mod replies;
mod scheduled;
mod socket_mode;
mod state;
mod truth;
mod web_api;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub use changes::Change;
pub use faults::Fault;
pub use outbound::{Choice, Click, Endpoint, HostResponse, RawRequest, Signing, Transport};
pub use socket_mode::{DisconnectReason, SocketStats};
pub use state::{
    Channel, Message, OpenView, Pin, ScheduledMessage, Topic, UploadedFile, User, UserGroup,
};
pub use truth::{ApiCall, CallToken, Delivery, Failure, Outcome};

use changes::{CHANGE_BUFFER, StateGuard};
use faults::Faults;
use socket_mode::SocketHub;
use state::State;
use truth::Truth;

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot bind the emulator: {0}")]
    Bind(#[from] std::io::Error),
    #[error("no {0} request URL is set; call set_request_urls or connect over Socket Mode")]
    NoRequestUrl(Endpoint),
    #[error("no such user in the emulated workspace: {0}")]
    UnknownUser(String),
    #[error("no such channel in the emulated workspace: {0}")]
    UnknownChannel(String),
    #[error("no such user group in the emulated workspace: {0}")]
    UnknownUserGroup(String),
    #[error("{user} is not in channel {channel}")]
    NotInChannel { user: String, channel: String },
    #[error("no message {ts} in channel {channel}")]
    UnknownMessage { channel: String, ts: String },
    #[error("user {user} has no open view {view_id}")]
    UnknownView { user: String, view_id: String },
    #[error("no message {ts} in channel {channel} to react to")]
    NotReactable { channel: String, ts: String },
    #[error("not a slash command (must start with '/'): {0:?}")]
    BadCommand(String),
    #[error("request to the host failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("Socket Mode envelope {0} was not acknowledged in time")]
    AckTimeout(String),
}

/// A user group the workspace starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroupSpec {
    /// What people type after `@`, e.g. `sre-oncall`.
    pub handle: String,
    pub name: String,
    /// Members by name (or id).
    pub members: Vec<String>,
}

impl UserGroupSpec {
    pub fn new(handle: &str, name: &str, members: &[&str]) -> Self {
        UserGroupSpec {
            handle: handle.trim_start_matches('@').to_string(),
            name: name.to_string(),
            members: members.iter().map(|m| m.to_string()).collect(),
        }
    }
}

/// The host's Request URLs, as configured in a Slack app's settings.
#[derive(Debug, Clone, Default)]
pub struct HostUrls {
    pub commands: Option<String>,
    pub events: Option<String>,
    pub interactivity: Option<String>,
}

impl HostUrls {
    /// One URL for everything, as Bolt-style receivers use.
    pub fn all(url: &str) -> Self {
        HostUrls {
            commands: Some(url.to_string()),
            events: Some(url.to_string()),
            interactivity: Some(url.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The bot token (`xoxb-…`) the host's Web API client must present.
    pub bot_token: String,
    /// The app-level token (`xapp-…`) for `apps.connections.open`.
    pub app_token: String,
    pub signing_secret: String,
    /// The deprecated `token` field Slack still puts in payloads.
    pub verification_token: String,
    pub team_id: String,
    pub team_domain: String,
    pub api_app_id: String,
    pub bot_user_id: String,
    pub bot_id: String,
    /// Public channels at start (`general`, `random`, `support`, `support-help`).
    pub channels: Vec<String>,
    /// People at start (`alice`, `bob`, `carol`, `dave`).
    pub users: Vec<String>,
    /// User groups at start (`@sre-oncall`: alice and bob; `@sre-leads`:
    /// carol); of two with one handle, the later one is the group.
    pub usergroups: Vec<UserGroupSpec>,
    pub urls: HostUrls,
    /// How long a Socket Mode delivery waits for its ack (across reconnects).
    pub ack_timeout: Duration,
    /// Time between a `disconnect` message and closing the socket.
    pub disconnect_grace: Duration,
    /// Client timeout for HTTP requests to the host. Slack's own is 3 s;
    /// this is longer so a test can see how late a host answered.
    pub host_timeout: Duration,
    /// Slack's deadline for an answer (HTTP) or an ack (Socket Mode): 3 s.
    /// A delivery answered later is recorded as not acknowledged (see
    /// [`Emulator::deliveries`]); with [`EmulatorConfig::event_retries`],
    /// an event not acknowledged by then is sent again right away while the
    /// late request goes on, as Slack does.
    pub delivery_deadline: Duration,
    /// Delays before Events API retries 1, 2, 3…: how long after a failed
    /// delivery (connection failed, no answer within `delivery_deadline`,
    /// a non-2xx status, an envelope not acked) Slack sends it again, to a
    /// host or socket chosen at random again. Empty, the default: no
    /// automatic retries (a test sends its own with `send_event(…, Some(n))`).
    /// [`EmulatorConfig::SLACK_EVENT_RETRIES`] is Slack's own schedule.
    /// Slash commands and interactions are never retried: Slack shows the
    /// user an error instead.
    pub event_retries: Vec<Duration>,
    /// Seed for every random choice (which host or socket gets a delivery);
    /// `None` draws one, logged and readable with [`Emulator::seed`].
    pub seed: Option<u64>,
    /// Concurrent Socket Mode connections Slack allows per app: 10. The
    /// next WebSocket is told `disconnect` (`too_many_websockets`) and closed.
    pub max_socket_connections: usize,
    /// The address to listen on (a free port is taken): 127.0.0.1 by
    /// default. Every URL the emulator hands out (Web API base, WebSocket,
    /// `response_url`, files) names it, so hosts in other network
    /// namespaces reach it when this is an address they can route to, such
    /// as a test fabric's bridge address.
    pub listen: IpAddr,
    /// The workspace's time: message timestamps and when scheduled
    /// messages post. The system clock unless a test moves its own (the
    /// test kit hands the host and the emulator one manual clock).
    pub clock: crate::contract::time::Clock,
}

impl EmulatorConfig {
    /// Slack's Events API retries: nearly at once, after a minute, after five.
    pub const SLACK_EVENT_RETRIES: [Duration; 3] = [
        Duration::ZERO,
        Duration::from_secs(60),
        Duration::from_secs(300),
    ];
    /// Slack's limit of concurrent Socket Mode connections per app.
    pub const SLACK_MAX_SOCKET_CONNECTIONS: usize = 10;
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            bot_token: "xoxb-1-emulator-bot-token".into(),
            app_token: "xapp-1-A0EMUAPP01-1-emulator-app-token".into(),
            signing_secret: "8f742231b10e8888abcd99yyyzzz85a5".into(),
            verification_token: "emulatorVerificationToken".into(),
            team_id: "T0EMU00001".into(),
            team_domain: "botyard-emulator".into(),
            api_app_id: "A0EMUAPP01".into(),
            bot_user_id: "U0EMUBOT01".into(),
            bot_id: "B0EMUBOT01".into(),
            channels: ["general", "random", "support", "support-help"]
                .map(String::from)
                .into(),
            users: ["alice", "bob", "carol", "dave"].map(String::from).into(),
            // On call runs the servers; a lead approves a stop (the shipped
            // botyard.toml's rules for `/spy servers`).
            usergroups: vec![
                UserGroupSpec::new("sre-oncall", "SRE on call", &["alice", "bob"]),
                UserGroupSpec::new("sre-leads", "SRE leads", &["carol"]),
            ],
            urls: HostUrls::default(),
            ack_timeout: Duration::from_secs(10),
            disconnect_grace: Duration::from_millis(500),
            host_timeout: Duration::from_secs(10),
            delivery_deadline: Duration::from_secs(3),
            event_retries: Vec::new(),
            seed: None,
            max_socket_connections: EmulatorConfig::SLACK_MAX_SOCKET_CONNECTIONS,
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            clock: Default::default(),
        }
    }
}

/// Everything the HTTP handlers and the public API share.
pub(crate) struct Shared {
    config: EmulatorConfig,
    addr: SocketAddr,
    /// The Request URLs of every host behind the app; one is drawn per request.
    hosts: Mutex<Vec<HostUrls>>,
    state: Mutex<State>,
    changes: broadcast::Sender<Change>,
    faults: Faults,
    socket: SocketHub,
    http: reqwest::Client,
    truth: Arc<Truth>,
    seed: u64,
    /// Draws which host gets an HTTP request.
    rng: Mutex<fastrand::Rng>,
    /// Woken when a message is scheduled, so the poster recomputes its sleep.
    schedule: tokio::sync::Notify,
}

impl Shared {
    fn state(&self) -> StateGuard<'_> {
        StateGuard {
            state: self.state.lock().unwrap_or_else(|e| e.into_inner()),
            changes: &self.changes,
        }
    }

    fn hosts(&self) -> Vec<HostUrls> {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// One of `choices`, drawn from the seeded generator.
    fn choose<T>(&self, mut choices: Vec<T>) -> Option<T> {
        if choices.is_empty() {
            return None;
        }
        let i = self
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .usize(..choices.len());
        Some(choices.swap_remove(i))
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The emulator's tasks: the server and the poster of scheduled messages.
struct Server(Vec<JoinHandle<()>>);

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A running emulator. Cheap to clone; the server stops when the last clone drops.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
    _server: Arc<Server>,
}

impl Emulator {
    /// Binds [`EmulatorConfig::listen`] on a free port and starts serving.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let listener = tokio::net::TcpListener::bind((config.listen, 0)).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .timeout(config.host_timeout)
            .user_agent("Slackbot 1.0 (+https://api.slack.com/robots)")
            .build()?;
        let seed = config.seed.unwrap_or_else(|| fastrand::u64(..));
        let truth = Arc::new(Truth::default());
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(&config)),
            changes: broadcast::channel(CHANGE_BUFFER).0,
            hosts: Mutex::new(vec![config.urls.clone()]),
            socket: SocketHub::new(truth.clone(), seed, config.max_socket_connections),
            config,
            addr,
            faults: Faults::default(),
            http,
            truth,
            seed,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            schedule: tokio::sync::Notify::new(),
        });
        let router = web_api::router()
            .merge(replies::router())
            .merge(socket_mode::router())
            .merge(files::router())
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "slack emulator server stopped");
            }
        });
        let poster = tokio::spawn(scheduled::post_when_due(shared.clone()));
        tracing::info!(%addr, seed, "slack emulator listening");
        Ok(Emulator {
            shared,
            _server: Arc::new(Server(vec![server, poster])),
        })
    }

    /// The Web API base, e.g. `http://127.0.0.1:PORT/api/`: point the host's client here.
    pub fn base_url(&self) -> String {
        format!("{}/api/", self.shared.origin())
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    /// Sets the host's Request URLs (the host usually starts after the emulator).
    pub fn set_request_urls(&self, urls: HostUrls) {
        self.set_hosts(vec![urls]);
    }

    /// Sets the Request URLs of several hosts serving one app, as replicas
    /// behind a load balancer: each HTTP request goes to one of the hosts
    /// that has a URL for its endpoint, drawn at random (a retry draws again).
    pub fn set_hosts(&self, hosts: Vec<HostUrls>) {
        *self.shared.hosts.lock().unwrap_or_else(|e| e.into_inner()) = hosts;
    }

    /// The seed of this emulator's random choices ([`EmulatorConfig::seed`]).
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Every Web API call (and `response_url` post) answered so far, in
    /// the order answered: what the hosts really did in Slack.
    pub fn call_log(&self) -> Vec<ApiCall> {
        self.shared.truth.calls()
    }

    /// Every delivery to a host so far — each HTTP attempt and each
    /// envelope sent — with whether Slack counts it acknowledged.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.truth.deliveries()
    }

    /// Notices of every change to the workspace from now on, for live views.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.shared.changes.subscribe()
    }

    // --- workspace directory ---

    /// A user's id by name (`alice`, `bob`, `carol`, `dave` exist by default).
    pub fn user_id(&self, name: &str) -> Option<String> {
        self.shared.state().user(name).map(|u| u.id.clone())
    }

    /// A channel's id by name (`general`, `random`, `support`, `support-help` by default).
    pub fn channel_id(&self, name: &str) -> Option<String> {
        self.shared
            .state()
            .resolve_channel(name)
            .filter(|id| !id.starts_with('D'))
    }

    pub fn add_user(&self, name: &str) -> String {
        self.shared.state().add_user(name)
    }

    pub fn add_channel(&self, name: &str) -> String {
        self.shared.state().add_channel(name)
    }

    pub fn users(&self) -> Vec<User> {
        self.shared.state().users.values().cloned().collect()
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.shared.state().channels.values().cloned().collect()
    }

    /// The app's DM channel (`D…`) with a user (id or name), opened if needed.
    pub fn dm_channel(&self, user: &str) -> Result<String, EmulatorError> {
        let id = self.resolve_user(user)?;
        Ok(self.shared.state().dm_with(&id))
    }

    /// Issues a trigger id for `user`, as a click or command would.
    pub fn issue_trigger(&self, user: &str) -> Result<String, EmulatorError> {
        let id = self.resolve_user(user)?;
        Ok(self.shared.state().issue_trigger(&id))
    }

    // --- fault injection ---

    /// The next `times` calls of Web API `method` meet `fault` instead of working.
    pub fn inject(&self, method: &str, fault: Fault, times: usize) {
        self.shared.faults.inject(method, fault, times);
    }

    /// Injected faults not yet met by a call of `method`.
    pub fn pending_faults(&self, method: &str) -> usize {
        self.shared.faults.pending(method)
    }

    /// How many times Web API `method` was called, faulted calls included.
    pub fn calls(&self, method: &str) -> usize {
        self.shared.faults.calls(method)
    }

    // --- conversation state ---

    /// Top-level messages of a channel (id or name), oldest first; no ephemerals.
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        let channel = self.channel_or_raw(channel);
        self.shared
            .state()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.ephemeral_to.is_none() && m.is_top_level())
            .cloned()
            .collect()
    }

    /// A thread: its parent first, then the replies; no ephemerals.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<Message> {
        let channel = self.channel_or_raw(channel);
        self.shared
            .state()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.ephemeral_to.is_none())
            .filter(|m| m.ts == ts || m.thread_ts.as_deref() == Some(ts))
            .cloned()
            .collect()
    }

    /// What `user` sees in a channel: top-level messages and their own ephemerals.
    pub fn visible_to(&self, user: &str, channel: &str) -> Vec<Message> {
        self.messages_for(user, channel, |m, user| match &m.ephemeral_to {
            Some(to) => to == user,
            None => m.is_top_level(),
        })
    }

    /// Every message of a channel `user` may see, threads included, oldest
    /// first: everyone's messages and `user`'s own ephemerals.
    pub fn history(&self, user: &str, channel: &str) -> Vec<Message> {
        self.messages_for(user, channel, |m, user| {
            m.ephemeral_to.as_ref().is_none_or(|to| to == user)
        })
    }

    /// The messages of `channel` that `keep` allows `user` (both resolved
    /// from names or ids), oldest first.
    fn messages_for(
        &self,
        user: &str,
        channel: &str,
        keep: impl Fn(&Message, &str) -> bool,
    ) -> Vec<Message> {
        let channel = self.channel_or_raw(channel);
        let user = self.user_or_raw(user);
        self.shared
            .state()
            .messages
            .iter()
            .filter(|m| m.channel == channel && keep(m, &user))
            .cloned()
            .collect()
    }

    /// `user`'s open modal stack, bottom first.
    pub fn views_of(&self, user: &str) -> Vec<OpenView> {
        let user = self.user_or_raw(user);
        self.shared
            .state()
            .modals
            .get(&user)
            .cloned()
            .unwrap_or_default()
    }

    /// The App Home last published for `user`.
    pub fn home_of(&self, user: &str) -> Option<OpenView> {
        let user = self.user_or_raw(user);
        self.shared.state().homes.get(&user).cloned()
    }

    /// Reactions on a message: emoji name and who reacted, in order.
    pub fn reactions(&self, channel: &str, ts: &str) -> Vec<(String, Vec<String>)> {
        let channel = self.channel_or_raw(channel);
        self.shared
            .state()
            .reactions
            .get(&(channel, ts.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    fn resolve_user(&self, user: &str) -> Result<String, EmulatorError> {
        self.shared
            .state()
            .user(user)
            .map(|u| u.id.clone())
            .ok_or_else(|| EmulatorError::UnknownUser(user.to_string()))
    }

    fn resolve_channel(&self, channel: &str) -> Result<String, EmulatorError> {
        self.shared
            .state()
            .resolve_channel(channel)
            .ok_or_else(|| EmulatorError::UnknownChannel(channel.to_string()))
    }

    fn channel_or_raw(&self, channel: &str) -> String {
        self.resolve_channel(channel)
            .unwrap_or_else(|_| channel.to_string())
    }

    fn user_or_raw(&self, user: &str) -> String {
        self.resolve_user(user).unwrap_or_else(|_| user.to_string())
    }
}
