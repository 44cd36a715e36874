//! The workbench: a local Slack in the browser for `botyard dev`.
//!
//! [`start`] assembles what real Slack would be: the Slack emulator (a
//! workspace with people, channels and the bot's DMs), the host's signed
//! HTTP receiver on loopback with the emulator's Request URLs pointed at it,
//! outbox delivery to the emulator's Web API, and a page server. The page
//! only ever asks the emulator to act: every message, click and modal reaches
//! the apps as the signed requests Slack sends, and every app reply comes
//! back through the Web API calls Slack serves.
//!
//! ```no_run
//! # async fn demo(mut host: botyard::host::Host) -> Result<(), botyard::workbench::WorkbenchError> {
//! use botyard::workbench::{self, WorkbenchConfig};
//! let bench = workbench::start(&mut host, WorkbenchConfig::default()).await?;
//! println!("botyard dev: open {}", bench.url());
//! tokio::signal::ctrl_c().await.ok();
//! bench.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod assets;
mod live;
mod model;

use std::net::{Ipv4Addr, SocketAddr};

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::emulator::{Emulator, EmulatorConfig, EmulatorError, HostUrls, UserGroupSpec};
use crate::host::{Host, HostError};
use crate::inbound::http::ReceiverConfig;
use crate::slack::delivery::DeliveryConfig;
use crate::slack::web_api::WebApi;

/// The port `botyard dev` serves the page on unless told otherwise.
pub const DEFAULT_PORT: u16 = 3030;

#[derive(Debug, Clone)]
pub struct WorkbenchConfig {
    /// Where the page is served: a loopback address (the page acts as
    /// anyone in the workspace). Port 0 picks a free one.
    pub listen: SocketAddr,
    /// The team whose `#<team>` and `#<team>-help` channels the workspace
    /// has beside `#general` and `#random`.
    pub team: String,
    /// The backends `botyard dev` simulates, shown as such in the apps panel.
    pub simulated: Vec<crate::standins::dev::Simulated>,
}

impl Default for WorkbenchConfig {
    fn default() -> Self {
        WorkbenchConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            team: "team".into(),
            simulated: Vec::new(),
        }
    }
}

#[derive(Debug, Error)]
pub enum WorkbenchError {
    #[error(
        "the workbench serves loopback only (127.0.0.1 or ::1), not {0}: it lets the page act as anyone"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot serve the workbench on {addr}: {source}; pick another port (0 = any free one)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("`{0}` is not a usable team name: use lowercase letters, digits and `-`")]
    BadTeam(String),
    #[error("starting the Slack emulator: {0}")]
    Emulator(#[from] EmulatorError),
    #[error("starting the host's Slack receiver: {0}")]
    Receiver(#[from] HostError),
}

/// A running workbench: emulator, receiver, delivery and page server.
pub struct Workbench {
    url: String,
    slack: Emulator,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

/// Starts the workbench for `host`, whose apps then answer in the page: the
/// host is connected to the emulator (its outbox is delivered there). The
/// host should be built [`connected`](crate::host::HostBuilder::connected)
/// so its apps' Slack calls are recorded as pending.
pub async fn start(host: &mut Host, config: WorkbenchConfig) -> Result<Workbench, WorkbenchError> {
    if !config.listen.ip().is_loopback() {
        return Err(WorkbenchError::NotLoopback(config.listen));
    }
    let team = config.team.trim_start_matches('#');
    if team.is_empty()
        || !team
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(WorkbenchError::BadTeam(config.team.clone()));
    }
    let page = bind(config.listen).await?;
    // The workspace the shipped apps' settings expect (botyard.toml): ops
    // alerts in #ops, approvals in #approvals, help channels per team, and
    // the user groups their rules and tiers name.
    let mut channels: Vec<String> = ["general", "random", "ops", "approvals"]
        .map(String::from)
        .into();
    for t in [team, "billing", "hardware"] {
        channels.push(t.to_string());
        channels.push(format!("{t}-help"));
    }
    let mut usergroups = EmulatorConfig::default().usergroups;
    usergroups.extend([
        UserGroupSpec::new(
            "po-approvers",
            "Purchase order approvers",
            &["alice", "bob"],
        ),
        UserGroupSpec::new("claims-approvers", "Claims approvers", &["bob"]),
        UserGroupSpec::new("finance-leads", "Finance leads", &["carol", "dave"]),
        UserGroupSpec::new("billing", "Billing team", &["bob", "carol"]),
        UserGroupSpec::new("hardware", "Hardware team", &["dave"]),
    ]);
    let slack = Emulator::start(EmulatorConfig {
        channels,
        usergroups,
        team_domain: "botyard-dev".into(),
        ..EmulatorConfig::default()
    })
    .await?;
    // Every person has the bot's DM in their sidebar from the start.
    for user in slack.users().iter().filter(|u| !u.is_bot) {
        slack.dm_channel(&user.id)?;
    }
    let (stop, stopped) = watch::channel(false);
    let mut servers = Vec::new();

    let secret = slack.config().signing_secret.clone();
    let receiver = host.http_receiver(ReceiverConfig::new(secret))?;
    let receiver_listener = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let host_url = format!("http://{}", local_addr(&receiver_listener, config.listen)?);
    servers.push(serve(receiver_listener, receiver, stopped.clone()));
    slack.set_request_urls(HostUrls {
        commands: Some(format!("{host_url}/slack/commands")),
        events: Some(format!("{host_url}/slack/events")),
        interactivity: Some(format!("{host_url}/slack/interactivity")),
    });
    let api = WebApi::new(&slack.base_url(), &slack.config().bot_token);
    host.connect_slack(api, DeliveryConfig::default());

    let addr = local_addr(&page, config.listen)?;
    let panel = live::watch_apps(host.apps().clone(), stopped.clone());
    let router = api::router(api::Ctx {
        apps: host.apps().clone(),
        slack: slack.clone(),
        panel,
        stopped: stopped.clone(),
        port: addr.port(),
        simulated: std::sync::Arc::new(config.simulated.clone()),
    })
    // Webhooks are posted to the page's address in `dev`:
    // http://127.0.0.1:3030/hooks/<app>/<name> (`botyard webhook` sends there).
    .merge(host.webhook_receiver())
    // And metrics and health are read there: http://127.0.0.1:3030/metrics.
    .merge(host.ops_router());
    servers.push(serve(page, router, stopped));
    let url = format!("http://{addr}/");
    tracing::info!(%url, host = %host_url, "workbench ready");
    Ok(Workbench {
        url,
        slack,
        stop,
        servers,
    })
}

impl Workbench {
    /// The page's address, e.g. `http://127.0.0.1:3030/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The emulated Slack behind the page.
    pub fn emulator(&self) -> &Emulator {
        &self.slack
    }

    /// Closes open pages and stops the servers (the host's own delivery
    /// stops with the host).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for server in self.servers.drain(..) {
            if let Err(e) = server.await
                && e.is_panic()
            {
                tracing::error!(error = %e, "a workbench server panicked");
            }
        }
        tracing::info!("workbench stopped");
    }
}

impl Drop for Workbench {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, WorkbenchError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| WorkbenchError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener, asked: SocketAddr) -> Result<SocketAddr, WorkbenchError> {
    listener
        .local_addr()
        .map_err(|source| WorkbenchError::Bind {
            addr: asked,
            source,
        })
}

/// Serves `router` until `stop` turns true.
fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let until = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(until)
            .await
        {
            tracing::error!(error = %e, "workbench server stopped");
        }
    })
}
