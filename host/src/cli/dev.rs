//! `botyard dev`: build the apps' sources, rebuild on save, hot-reload, and
//! serve the workbench; slash commands typed on the console work too.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{Cli, build_options, load_config};
use crate::authoring::rebuild;
use crate::authoring::{self, SourceApp};
use crate::host::Host;
use crate::routing::{Apps, CallContext};
use crate::workbench::{self, WorkbenchConfig};

pub(super) async fn dev(
    cli: &Cli,
    dirs: &[PathBuf],
    no_build: bool,
    port: u16,
) -> Result<ExitCode> {
    // First, so the builds' loads are counted too (`/metrics` on the workbench).
    crate::telemetry::install();
    // The simulated backends' credentials, before the configuration that
    // reads them (`${env:GITHUB_TOKEN}` …) is loaded.
    crate::standins::dev::provide_credentials();
    let config = load_config(cli)?;
    let sources = if dirs.is_empty() {
        authoring::default_sources(Path::new("."), &cli.data_dir)
    } else {
        dirs.iter().map(|d| SourceApp::from_dir(d)).collect()
    };
    let opts = build_options(cli);
    let mut failed = Vec::new();
    if !no_build {
        for app in &sources {
            eprintln!("botyard dev: building {} ({}) …", app.id, app.dir.display());
            if let Err(e) = rebuild::build_off_thread(app, &opts, &config.apps_dir).await {
                eprintln!("botyard dev: {} failed to build:\n{e}", app.id);
                failed.push((app.id.clone(), format!("build failed: {e}")));
            }
        }
    }
    // Before the host, so the apps' first calls find their backends.
    let standins = crate::standins::dev::DevStandIns::start(&config).await;
    let mut host = Host::builder(config, &cli.data_dir)
        .connected()
        .watch()
        .schedule()
        .webhooks()
        .prune_audit()
        .start()
        .await?;
    let apps = host.apps().clone();
    for (id, error) in failed {
        apps.record_failure(&id, error);
    }
    let _source_watch = rebuild::watch_sources(apps.clone(), sources, opts)
        .context("watching the apps' sources")?;
    let bench = workbench::start(
        &mut host,
        WorkbenchConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            simulated: standins.simulated.clone(),
            ..WorkbenchConfig::default()
        },
    )
    .await?;
    super::apps::print(&apps, false).await;
    for s in &standins.simulated {
        eprintln!(
            "botyard dev: simulated {} at {} — {}",
            s.name, s.url, s.about
        );
    }
    // On stdout, first, so scripts and tests can find an ephemeral port.
    println!("botyard dev: workbench at {}", bench.url());
    eprintln!(
        "\nbotyard dev: open {} — a local Slack with your apps in it.\n\
         Saving an app's source rebuilds it; apps in {} hot-reload on change.\n\
         Or type a slash command here (/hello world), `:user U2` to act as someone else, `:apps`, or Ctrl-D.",
        bench.url(),
        apps.config().apps_dir.display()
    );
    let result = console(&apps).await;
    bench.shutdown().await;
    host.shutdown().await;
    drop(standins);
    result.map(|()| ExitCode::SUCCESS)
}

/// Reads commands from stdin until it closes, then waits for Ctrl-C so a
/// host started without a terminal keeps serving.
async fn console(apps: &Apps) -> Result<()> {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut ctx = CallContext {
        user: "U0DEV".into(),
        channel: "C0DEV".into(),
        trigger_id: None,
    };
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        match line.split_once(' ').unwrap_or((line, "")) {
            ("", _) => {}
            (":apps", _) => super::apps::print(apps, false).await,
            (":user", user) if !user.trim().is_empty() => {
                ctx.user = user.trim().to_string();
                println!("acting as {}", ctx.user);
            }
            (":quit" | ":q", _) => return Ok(()),
            _ if line.starts_with('/') => {
                super::call::call(apps, line, &ctx, false).await?;
            }
            _ => println!("type a slash command like /hello, or :apps, :user <id>, :quit"),
        }
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
