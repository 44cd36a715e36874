//! The `botyard` command line: the edge where errors become messages.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::authoring::rebuild::{self, build_and_install};
use crate::authoring::scaffold::scaffold;
use crate::authoring::{self, SourceApp};
use crate::build::{BuildOptions, Language, build_guest};
use crate::config::{Config, SlackMode};
use crate::runtime::bindings::types::{Reply, Visibility};
use crate::runtime::invoke::Response;
use crate::runtime::{CallContext, CommandAnswer, Runtime, scheduler, watcher};
use crate::slack::delivery::{Delivery, DeliveryConfig};
use crate::slack::manifest::{self, ManifestOptions};
use crate::slack::receiver::dispatch::Dispatcher;
use crate::slack::receiver::{self, ReceiverConfig};
use crate::slack::socket_mode::{SocketMode, SocketModeConfig};
use crate::slack::web_api::WebApi;
use crate::storage::{OutboxStatus, Storage};
use crate::workbench::{self, WorkbenchConfig};

#[derive(Parser)]
#[command(
    name = "botyard",
    version,
    about = "A Slack bot host where every app is a sandboxed, hot-reloadable WebAssembly component"
)]
struct Cli {
    /// Holds the database, the apps, their last good versions and (unless
    /// --build-dir says otherwise) toolchains and build caches.
    #[arg(
        long,
        global = true,
        default_value = ".botyard",
        env = "BOTYARD_DATA_DIR"
    )]
    data_dir: PathBuf,
    /// Host configuration (grants, limits); optional.
    #[arg(
        long,
        global = true,
        default_value = "botyard.toml",
        env = "BOTYARD_CONFIG"
    )]
    config: PathBuf,
    /// The apps directory (default: `apps_dir` from the config, else <data-dir>/apps).
    #[arg(long, global = true, env = "BOTYARD_APPS")]
    apps: Option<PathBuf>,
    /// Where guest toolchains and build caches live (default: the data
    /// directory). Share one between data directories to install them once.
    #[arg(long, global = true, env = "BOTYARD_BUILD_DIR")]
    build_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a slash command through its app, with no Slack at all: prints the
    /// reply and the Slack calls the app made.
    Call {
        /// The command line as typed in Slack, e.g. "/hello world".
        line: String,
        #[arg(long, default_value = "U0CLI")]
        user: String,
        #[arg(long, default_value = "C0CLI")]
        channel: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List apps: version hash, commands, grants and last load error.
    Apps {
        #[arg(long)]
        json: bool,
    },
    /// Create an app from the starter for its language, build it and install
    /// it: `botyard call "/<name>"` answers right after.
    New {
        /// The app's name: its directory, its id and its command `/<name>`.
        name: String,
        #[arg(long, value_enum, default_value = "rust")]
        lang: Lang,
        /// Where to create the app's directory.
        #[arg(long, default_value = ".")]
        parent: PathBuf,
    },
    /// Build an app (Rust, JavaScript or Python, told from its files) into a
    /// component; installs the language's toolchain on first use.
    Build {
        /// The app's directory.
        dir: PathBuf,
        /// Also copy the component into the apps directory (hot-reloads a running host).
        #[arg(long)]
        install: bool,
    },
    /// Serve Slack for real: HTTP receiver or Socket Mode per `[slack]` in the
    /// config; tokens from SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (http) and
    /// SLACK_APP_TOKEN (socket).
    Serve,
    /// Print a Slack app manifest for the loaded apps, to paste into Slack's
    /// "Create New App → From an app manifest".
    Manifest {
        /// YAML instead of JSON.
        #[arg(long)]
        yaml: bool,
        /// Public base URL of `botyard serve` in http mode (e.g.
        /// https://bot.example.com); without it the manifest uses Socket Mode.
        #[arg(long)]
        url: Option<String>,
    },
    /// Develop locally: build the apps' sources, rebuild on save, hot-reload,
    /// and serve the workbench (a local Slack in the browser); slash commands
    /// typed on the console work too.
    Dev {
        /// App source directories to build and watch. Default: the apps in
        /// `guests/`, `examples/hello-rust` and the projects `botyard new` made.
        apps: Vec<PathBuf>,
        /// Do not build at start (rebuild-on-save still works).
        #[arg(long)]
        no_build: bool,
        /// Workbench port on 127.0.0.1 (0 = any free port).
        #[arg(long, default_value_t = workbench::DEFAULT_PORT)]
        port: u16,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_log = if matches!(cli.command, Command::Dev { .. }) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOTYARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("starting tokio");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Call {
            line,
            user,
            channel,
            json,
        } => {
            let runtime = start(&cli, OutboxStatus::Local).await?;
            let ctx = CallContext {
                user: user.clone(),
                channel: channel.clone(),
                trigger_id: None,
            };
            call(&runtime, line, &ctx, *json).await
        }
        Command::Apps { json } => {
            let runtime = start(&cli, OutboxStatus::Local).await?;
            print_apps(&runtime, *json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Build { dir, install } => {
            let opts = build_options(&cli);
            let out = if *install {
                let apps_dir = load_config(&cli)?.apps_dir;
                build_and_install(&SourceApp::from_dir(dir), &opts, &apps_dir)?
            } else {
                build_guest(dir, &opts)?
            };
            println!("{}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::New { name, lang, parent } => new_app(&cli, name, *lang, parent).await,
        Command::Dev {
            apps,
            no_build,
            port,
        } => dev(&cli, apps, *no_build, *port).await,
        Command::Serve => serve(&cli).await,
        Command::Manifest { yaml, url } => {
            let runtime = start(&cli, OutboxStatus::Local).await?;
            let mut options = ManifestOptions::default();
            if let Some(base) = url {
                let paths = ReceiverConfig::new("unused");
                options.connection = manifest::Connection::Http(manifest::RequestUrls::new(
                    base,
                    &paths.commands_path,
                    &paths.events_path,
                    &paths.interactivity_path,
                ));
            }
            let value = manifest::manifest(&runtime.snapshot(), &options);
            if *yaml {
                print!("{}", manifest::to_yaml(&value));
            } else {
                println!("{}", serde_json::to_string_pretty(&value)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config> {
    let explicit = cli.config != Path::new("botyard.toml");
    let mut config = Config::load(&cli.config, explicit, &cli.data_dir.join("apps"))?;
    if let Some(apps) = &cli.apps {
        config.apps_dir = apps.clone();
    }
    if let Some(build_dir) = &cli.build_dir {
        config.compile_cache_dir = Some(build_dir.join("cache").join("components"));
    }
    Ok(config)
}

async fn start(cli: &Cli, delivery: OutboxStatus) -> Result<Arc<Runtime>> {
    let config = load_config(cli)?;
    let storage = Storage::open(&cli.data_dir.join("botyard.db"))
        .with_context(|| format!("opening the database in {}", cli.data_dir.display()))?;
    let runtime = Arc::new(Runtime::new(config, &cli.data_dir, storage, delivery));
    runtime
        .load_all()
        .await
        .context("reading the apps directory")?;
    Ok(runtime)
}

async fn call(runtime: &Runtime, line: &str, ctx: &CallContext, as_json: bool) -> Result<ExitCode> {
    let answer = match runtime.call_command(line, ctx).await {
        Ok(answer) => answer,
        Err(e) => {
            if as_json {
                println!("{}", json!({ "ok": false, "error": e.to_string() }));
            } else {
                eprintln!("error: {e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let (app, version, reply, calls, duration_us) = match answer {
        CommandAnswer::Help(text) => {
            let reply = Reply {
                visibility: Visibility::Ephemeral,
                message: crate::runtime::bindings::types::Message { text, blocks: None },
            };
            (
                "botyard".to_string(),
                "host".to_string(),
                Some(reply),
                vec![],
                0,
            )
        }
        CommandAnswer::App { app, invocation } => {
            let Response::Command(reply) = invocation.response else {
                unreachable!("a command gets a command response")
            };
            let first = invocation.slack_calls.first().copied().unwrap_or(i64::MAX);
            let calls = runtime
                .storage()
                .outbox_entries(
                    Some(&app.id),
                    first - 1,
                    invocation.slack_calls.len() as u32 * 2 + 100,
                )
                .context("reading the outbox")?
                .into_iter()
                .filter(|e| invocation.slack_calls.contains(&e.id))
                .map(|e| json!({ "id": e.id, "method": e.method, "payload": e.payload }))
                .collect();
            (
                app.id.to_string(),
                app.short_hash().to_string(),
                reply,
                calls,
                invocation.duration.as_micros(),
            )
        }
    };
    let reply_json = reply.as_ref().map(|r| {
        let blocks = r.message.blocks.as_deref().and_then(|b| serde_json::from_str::<Value>(b).ok());
        json!({
            "visibility": match r.visibility { Visibility::Ephemeral => "ephemeral", Visibility::InChannel => "in_channel" },
            "text": r.message.text,
            "blocks": blocks,
        })
    });
    if as_json {
        let out = json!({ "ok": true, "app": app, "version": version, "reply": reply_json, "slack_calls": calls, "duration_us": duration_us });
        println!("{out}");
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{app} ({version}) answered in {:.2} ms",
            duration_us as f64 / 1000.0
        )?;
        match &reply_json {
            Some(r) => {
                writeln!(
                    out,
                    "reply ({}): {}",
                    r["visibility"].as_str().unwrap_or(""),
                    r["text"].as_str().unwrap_or("")
                )?;
                if !r["blocks"].is_null() {
                    writeln!(out, "  blocks: {}", r["blocks"])?;
                }
            }
            None => writeln!(out, "no reply (acknowledged silently)")?,
        }
        if !calls.is_empty() {
            writeln!(
                out,
                "slack calls (recorded in the outbox; no Slack connected):"
            )?;
            for c in &calls {
                writeln!(
                    out,
                    "  {} {}",
                    c["method"].as_str().unwrap_or(""),
                    c["payload"]
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_apps(runtime: &Runtime, as_json: bool) {
    let snapshot = runtime.snapshot();
    let rows: Vec<Value> = snapshot
        .apps
        .iter()
        .map(|(id, entry)| {
            let current = entry.current.as_ref();
            let mut commands: Vec<String> = current
                .map(|v| v.info.commands.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            if let Some(v) = current {
                commands.extend(v.info.subcommands.iter().map(|s| format!("{} {}", s.umbrella, s.name)));
            }
            json!({
                "id": id.to_string(),
                "name": current.map(|v| v.info.name.clone()),
                "version": current.map(|v| v.hash.clone()),
                "code": current.and_then(|v| v.code_source()),
                "commands": commands,
                "grants": current.map(|v| v.grants.iter().map(|g| g.name()).collect::<Vec<_>>())
                    .unwrap_or_else(|| runtime.config().grants_for(id).iter().map(|g| g.name()).collect()),
                "last_error": entry.last_error.as_ref().map(|e| e.message.clone()),
            })
        })
        .collect();
    if as_json {
        println!("{}", Value::Array(rows));
        return;
    }
    if rows.is_empty() {
        println!("no apps in {}", runtime.config().apps_dir.display());
        return;
    }
    for row in rows {
        let version = row["version"]
            .as_str()
            .map(|h| &h[..12])
            .unwrap_or("not loaded");
        println!("{}  {version}", row["id"].as_str().unwrap_or(""));
        let list = |v: &Value| {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        println!("  commands:   {}", list(&row["commands"]));
        println!("  grants:     {}", list(&row["grants"]));
        if let Some(code) = row["code"].as_str() {
            println!("  code:       {code}");
        }
        if let Some(err) = row["last_error"].as_str() {
            println!("  last error: {err}");
        }
    }
}

/// `botyard new --lang`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Lang {
    Rust,
    Js,
    Python,
}

impl From<Lang> for Language {
    fn from(lang: Lang) -> Language {
        match lang {
            Lang::Rust => Language::Rust,
            Lang::Js => Language::JavaScript,
            Lang::Python => Language::Python,
        }
    }
}

fn build_options(cli: &Cli) -> BuildOptions {
    BuildOptions {
        data_dir: cli
            .build_dir
            .clone()
            .unwrap_or_else(|| cli.data_dir.clone()),
        release: true,
    }
}

async fn new_app(cli: &Cli, name: &str, lang: Lang, parent: &Path) -> Result<ExitCode> {
    let opts = build_options(cli);
    let dir = parent.join(name);
    let files = scaffold(name, lang.into(), &dir, &opts.data_dir)?;
    for file in &files {
        eprintln!("  created {}", file.display());
    }
    let app = SourceApp::from_dir(&dir);
    authoring::register_project(&cli.data_dir, &app)
        .with_context(|| format!("recording the project in {}", cli.data_dir.display()))?;
    eprintln!("botyard new: building {name} …");
    let installed = build_and_install(&app, &opts, &load_config(cli)?.apps_dir)?;
    eprintln!("botyard new: installed {}", installed.display());
    // Loading now compiles it into the cache (a minute for a Python app on a
    // small machine), so the first `botyard call` answers at once, and a load
    // error shows up here.
    eprintln!("botyard new: compiling {name} …");
    let runtime = start(cli, OutboxStatus::Local).await?;
    if let Some(error) = runtime
        .snapshot()
        .apps
        .get(name)
        .and_then(|entry| entry.last_error.clone())
    {
        anyhow::bail!("{name} was built but does not load: {}", error.message);
    }
    println!(
        "{name} is ready. Try it:\n  botyard call \"/{name}\"\n  botyard dev      # the workbench; saving {} rebuilds it",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn dev(cli: &Cli, dirs: &[PathBuf], no_build: bool, port: u16) -> Result<ExitCode> {
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
    let runtime = start(cli, OutboxStatus::Pending).await?;
    for (id, error) in failed {
        runtime.record_failure(&id, error);
    }
    let _apps_watch = watcher::watch(runtime.clone()).context("watching the apps directory")?;
    let _source_watch = rebuild::watch_sources(runtime.clone(), sources, opts)
        .context("watching the apps' sources")?;
    let ticks = scheduler::spawn(runtime.clone());
    let bench = workbench::start(
        runtime.clone(),
        WorkbenchConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            ..WorkbenchConfig::default()
        },
    )
    .await?;
    let slack = bench.emulator();
    runtime.connect_slack(WebApi::new(&slack.base_url(), &slack.config().bot_token));
    print_apps(&runtime, false);
    // On stdout, first, so scripts and tests can find an ephemeral port.
    println!("botyard dev: workbench at {}", bench.url());
    eprintln!(
        "\nbotyard dev: open {} — a local Slack with your apps in it.\n\
         Saving an app's source rebuilds it; apps in {} hot-reload on change.\n\
         Or type a slash command here (/hello world), `:user U2` to act as someone else, `:apps`, or Ctrl-D.",
        bench.url(),
        runtime.config().apps_dir.display()
    );
    let result = console(&runtime).await;
    ticks.abort();
    bench.shutdown().await;
    result.map(|()| ExitCode::SUCCESS)
}

/// Reads commands from stdin until it closes, then waits for Ctrl-C so a
/// host started without a terminal keeps serving.
async fn console(runtime: &Runtime) -> Result<()> {
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
            (":apps", _) => print_apps(runtime, false),
            (":user", user) if !user.trim().is_empty() => {
                ctx.user = user.trim().to_string();
                println!("acting as {}", ctx.user);
            }
            (":quit" | ":q", _) => return Ok(()),
            _ if line.starts_with('/') => {
                call(runtime, line, &ctx, false).await?;
            }
            _ => println!("type a slash command like /hello, or :apps, :user <id>, :quit"),
        }
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// A secret from the environment; never from files, never logged.
fn secret(name: &str, what: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => anyhow::bail!("set {name} to {what}"),
    }
}

async fn serve(cli: &Cli) -> Result<ExitCode> {
    let slack = load_config(cli)?.slack;
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

    let runtime = start(cli, OutboxStatus::Pending).await?;
    runtime.connect_slack(api.clone());
    let delivery = Delivery::start(runtime.storage().clone(), api, DeliveryConfig::default());
    let _watch = watcher::watch(runtime.clone()).context("watching the apps directory")?;
    let ticks = scheduler::spawn(runtime.clone());
    let served = match slack.mode {
        SlackMode::Http => {
            let signing_secret = secret(
                "SLACK_SIGNING_SECRET",
                "the signing secret from your Slack app's \"Basic Information\" page",
            )?;
            let router = receiver::router(runtime.clone(), ReceiverConfig::new(signing_secret))?;
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
                runtime.clone(),
                defaults.ack_budget,
                defaults.response_timeout,
            );
            let mut socket = SocketModeConfig::new(slack.api_url.clone(), app_token);
            socket.connections = slack.connections.into();
            let client = SocketMode::start(socket, dispatcher)?;
            println!(
                "botyard serve: connected over Socket Mode ({} connection(s))",
                slack.connections
            );
            tokio::signal::ctrl_c().await.ok();
            client.shutdown().await;
            Ok(())
        }
    };
    ticks.abort();
    delivery.stop().await;
    served.map(|()| ExitCode::SUCCESS)
}
