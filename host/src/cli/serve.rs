//! `botyard serve`: Slack for real, over HTTP or Socket Mode per `[slack]`.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{Cli, load_config};
use crate::config::SlackMode;
use crate::host::Host;
use crate::inbound::dispatch::Dispatcher;
use crate::inbound::http::ReceiverConfig;
use crate::inbound::socket_mode::{SocketMode, SocketModeConfig};
use crate::slack::delivery::DeliveryConfig;
use crate::slack::web_api::WebApi;

/// A secret from the environment; never from files, never logged.
fn secret(name: &str, what: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => anyhow::bail!("set {name} to {what}"),
    }
}

pub(super) async fn serve(cli: &Cli) -> Result<ExitCode> {
    // First, so the start (auth.test, the apps' loads) is counted too.
    crate::telemetry::install();
    let config = load_config(cli)?;
    let slack = config.slack.clone();
    let bot_token = secret(
        "SLACK_BOT_TOKEN",
        "the bot token (xoxb-…) from your Slack app's \"OAuth & Permissions\" page",
    )?;
    let api = WebApi::new(&slack.api_url, &bot_token);
    let me = api.auth_test().await.with_context(|| {
        format!(
            "auth.test against {} failed; check SLACK_BOT_TOKEN",
            slack.api_url
        )
    })?;
    tracing::info!(team = %me.team_id, bot_user = %me.user_id, "connected to Slack");

    let webhooks_listen = config.webhooks.listen.clone();
    let ops_listen = config.ops.listen.clone();
    let mut host = Host::builder(config, &cli.data_dir)
        .connected()
        .watch()
        .schedule()
        .webhooks()
        .prune_audit()
        .start()
        .await?;
    host.connect_slack(api, DeliveryConfig::default());
    // Apps published into the database (`botyard publish`), beside the
    // watched apps directory. The published configuration (its permission
    // rules above all) and apps are applied once before Slack's requests
    // are taken in; the poller follows them from then on.
    if let Err(e) = crate::routing::published::sync(host.apps(), None).await {
        tracing::warn!(error = %e, "cannot read the published configuration and apps yet; retrying");
    }
    let _published = crate::routing::published::spawn(
        host.apps().clone(),
        crate::routing::published::POLL_EVERY,
    );
    // Webhooks on their own listener when `[webhooks] listen` says so;
    // otherwise beside the Slack receiver (http mode) or not at all.
    let webhooks_server = match &webhooks_listen {
        Some(listen) => Some(
            serve_beside(
                listen,
                "webhooks",
                "webhooks",
                "/hooks/<app>/<name>",
                host.webhook_receiver(),
            )
            .await?,
        ),
        None => {
            if slack.mode == SlackMode::Socket && declares_webhooks(&host) {
                tracing::warn!(
                    "apps declare webhooks, but nothing serves them in socket mode; set [webhooks] listen = \"127.0.0.1:3001\""
                );
            }
            None
        }
    };
    // Metrics and health on their own listener when `[ops] listen` says so;
    // otherwise beside the Slack receiver (http mode) or not at all.
    let ops_server = match &ops_listen {
        Some(listen) => Some(
            serve_beside(
                listen,
                "ops",
                "metrics and health",
                "/metrics, /healthz, /readyz",
                host.ops_router(),
            )
            .await?,
        ),
        None => None,
    };
    let served = match slack.mode {
        SlackMode::Http => {
            let signing_secret = secret(
                "SLACK_SIGNING_SECRET",
                "the signing secret from your Slack app's \"Basic Information\" page",
            )?;
            let mut router = host.http_receiver(ReceiverConfig::new(signing_secret))?;
            if webhooks_listen.is_none() {
                router = router.merge(host.webhook_receiver());
            }
            if ops_listen.is_none() {
                router = router.merge(host.ops_router());
            }
            let listener = tokio::net::TcpListener::bind(&slack.listen)
                .await
                .with_context(|| {
                    format!("cannot listen on {}; change [slack] listen", slack.listen)
                })?;
            // Printed on stdout so scripts and tests can find an ephemeral port.
            println!(
                "botyard serve: listening on http://{}",
                listener.local_addr()?
            );
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    tokio::signal::ctrl_c().await.ok();
                })
                .await
                .context("serving HTTP")
        }
        SlackMode::Socket => {
            let app_token = secret(
                "SLACK_APP_TOKEN",
                "an app-level token (xapp-…) with connections:write, from \"Basic Information\"",
            )?;
            let defaults = ReceiverConfig::new("unused");
            let dispatcher = Dispatcher::new(
                host.apps().clone(),
                defaults.ack_budget,
                defaults.response_timeout,
            );
            let mut socket = SocketModeConfig::new(slack.api_url.clone(), app_token);
            socket.connections = slack.connections.into();
            // On PostgreSQL the replicas lease Slack's 10 sockets between
            // them; SQLite (one machine) connects as before.
            let slots = host.apps().storage().slots.clone();
            let client = SocketMode::start_with_slots(socket, dispatcher, slots)?;
            host.readiness().slack_sockets(client.open_counter());
            println!(
                "botyard serve: connected over Socket Mode ({} connection(s))",
                slack.connections
            );
            tokio::signal::ctrl_c().await.ok();
            client.shutdown().await;
            Ok(())
        }
    };
    for server in [webhooks_server, ops_server].into_iter().flatten() {
        server.abort();
    }
    host.shutdown().await;
    served.map(|()| ExitCode::SUCCESS)
}

/// Serves `router` on its own listener at `listen` (`[<section>] listen`),
/// printing where on stdout so scripts and tests can find an ephemeral port.
async fn serve_beside(
    listen: &str,
    section: &str,
    what: &str,
    paths: &str,
    router: axum::Router,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; change [{section}] listen"))?;
    println!(
        "botyard serve: {what} at http://{}{paths}",
        listener.local_addr()?
    );
    let section = section.to_string();
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the [{section}] listener stopped");
        }
    }))
}

fn declares_webhooks(host: &Host) -> bool {
    host.apps()
        .snapshot()
        .versions()
        .any(|v| !v.description.webhooks.is_empty())
}
