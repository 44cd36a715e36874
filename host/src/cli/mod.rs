//! The `botyard` command line: the edge where errors become messages. One
//! file per verb; this one parses the command line and builds what every
//! verb shares (the configuration, the host).

mod apps;
mod audit;
mod call;
mod cluster;
mod dev;
mod manifest;
mod new;
mod publish;
mod serve;
mod test;
mod webhook;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::authoring::SourceApp;
use crate::authoring::rebuild::build_and_install;
use crate::build::{BuildOptions, Language, build_guest};
use crate::config::Config;
use crate::host::{Host, HostBuilder, open_storage};
use crate::routing::CallContext;
use crate::workbench;

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
    /// How logs (on stderr) are written: `json` is one object per line,
    /// with the current span's fields (app, kind, user, outcome … of an
    /// invocation) under `span`, for log shippers. BOTYARD_LOG filters.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "BOTYARD_LOG_FORMAT"
    )]
    log_format: LogFormat,
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
    /// Who ran what, when: the audit log, newest first, times in UTC. Reads
    /// beside a running host. Rows older than `[audit] keep_days` (default
    /// 90) are pruned by `serve` and `dev`.
    Audit {
        /// Only this app's invocations.
        #[arg(long)]
        app: Option<String>,
        /// Only this Slack user's (e.g. U024BE7LH).
        #[arg(long)]
        user: Option<String>,
        /// Only those started since: a span back from now (45s, 30m, 2h, 3d,
        /// 1w), a date (2026-12-01, from midnight UTC) or an RFC 3339 time.
        #[arg(long, value_name = "WHEN", value_parser = audit::parse_since)]
        since: Option<audit::Since>,
        /// Only those that ended so (`refused`: a permission or another
        /// hook turned them away before the app ran).
        #[arg(long, value_enum)]
        outcome: Option<audit::OutcomeArg>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line (JSON Lines) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A cluster of replicas on PostgreSQL: who is registered, alive,
    /// holding which leases, and how much work waits. Safe beside running
    /// replicas (it registers nothing).
    Cluster {
        #[command(subcommand)]
        what: ClusterCommand,
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
    /// Publish an app version into the database for every replica (`serve`
    /// polls it): a component, or an app's source directory, built first.
    /// It is checked as a reload would check it; one that does not load is
    /// refused and nothing changes. A published app wins over a file of the
    /// same name in the apps directory.
    ///
    /// With --cluster-config FILE, publishes the cluster-wide part of the
    /// configuration instead (`limits`, `apps`, `permissions`, `audit`):
    /// every replica applies it over its own botyard.toml as it applies an
    /// edit of that file.
    Publish {
        /// A component (`.wasm`) or an app's source directory.
        #[arg(
            required_unless_present = "cluster_config",
            conflicts_with = "cluster_config"
        )]
        path: Option<PathBuf>,
        /// The app's id (default: the file's stem, or the directory's name).
        #[arg(long, conflicts_with = "cluster_config")]
        name: Option<String>,
        /// A TOML file holding only the cluster-wide keys, to publish as
        /// every replica's configuration. (Not `--config`: that names this
        /// machine's own botyard.toml, which says where the database is.)
        #[arg(long, value_name = "FILE")]
        cluster_config: Option<PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Stop publishing an app: replicas fall back to their apps directory.
    /// With --cluster-config, stop publishing the configuration: replicas
    /// go back to their own botyard.toml alone.
    Unpublish {
        /// The app's id.
        #[arg(
            required_unless_present = "cluster_config",
            conflicts_with = "cluster_config"
        )]
        app: Option<String>,
        /// Unpublish the cluster-wide configuration instead of an app.
        #[arg(long)]
        cluster_config: bool,
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
    /// Send one delivery to an app's webhook on a running host, signed or
    /// authenticated as configured in botyard.toml (as GitHub, Alertmanager
    /// … would send it).
    Webhook {
        /// `<app>/<webhook>`, e.g. `ci/github`.
        target: String,
        /// The body to send (`-` for stdin).
        #[arg(long)]
        file: PathBuf,
        /// The host's base URL: `botyard dev`'s workbench by default; for
        /// `botyard serve`, its `[webhooks] listen` or `[slack] listen`.
        #[arg(long, default_value_t = format!("http://127.0.0.1:{}", workbench::DEFAULT_PORT))]
        url: String,
        #[arg(long, default_value = "application/json")]
        content_type: String,
        /// The delivery id, in the header the webhook is configured with
        /// (`X-GitHub-Delivery` for GitHub): resending the same id runs the
        /// app once.
        #[arg(long)]
        delivery_id: Option<String>,
        /// More headers, `Name: value` (e.g. `X-GitHub-Event: push`).
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
    },
    /// Run an app's scenarios (`<app>/scenarios/*.toml`, see docs/testing.md)
    /// against a private host and Slack emulator, on virtual time. Exits 1
    /// when a scenario fails, 2 when one cannot be read.
    Test {
        /// The app: its source directory (`apps/poll`, `./standup`), or the
        /// id of an app in `apps/` or of a project `botyard new` made.
        app: String,
        /// Run only `scenarios/<NAME>.toml`.
        #[arg(long)]
        scenario: Option<String>,
    },
    /// Develop locally: build the apps' sources, rebuild on save, hot-reload,
    /// and serve the workbench (a local Slack in the browser); slash commands
    /// typed on the console work too.
    Dev {
        /// App source directories to build and watch. Default: the shipped
        /// apps in `apps/`, `examples/hello-rust` and the projects `botyard
        /// new` made.
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
        // Not a line per invocation on the console (the workbench shows
        // them); failures still come through.
        "info,botyard::runtime::invoke=warn"
    } else if matches!(cli.command, Command::Test { .. }) {
        // Scenarios provoke failures on purpose (a refused vote, a bad
        // command); the verdict is the scenario's, not a log line's.
        "error"
    } else {
        "warn"
    };
    // The SigV4 signer (`aws_sigv4`, the http capability's request
    // signing) traces each canonical request it signs — the access key id
    // and signed header values among it — so it is silenced whatever
    // BOTYARD_LOG asks: credentials never reach a log.
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOTYARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log))
        .add_directive("aws_sigv4=off".parse().expect("a valid directive"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("starting tokio");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
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
            let host = tool_host(&cli).await?.start().await?;
            // Published apps answer here too, as on the replicas.
            if let Err(e) = crate::routing::published::sync(host.apps(), None).await {
                tracing::warn!(error = %e, "cannot read the published apps");
            }
            let ctx = CallContext {
                user: user.clone(),
                channel: channel.clone(),
                trigger_id: None,
            };
            call::call(host.apps(), line, &ctx, *json).await
        }
        Command::Apps { json } => {
            let host = tool_host(&cli).await?.start().await?;
            apps::print(host.apps(), *json).await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            app,
            user,
            since,
            outcome,
            limit,
            json,
        } => {
            let filters = audit::Filters {
                app: app.as_deref(),
                user: user.as_deref(),
                since: *since,
                outcome: *outcome,
                limit: *limit,
                json: *json,
            };
            audit::print(&cli.data_dir, &load_config(&cli)?, filters).await
        }
        Command::Cluster {
            what: ClusterCommand::Status { json },
        } => {
            let config = load_config(&cli)?;
            let storage = open_storage(&config, &cli.data_dir, true).await?;
            cluster::status(&storage, *json).await
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
        Command::New { name, lang, parent } => new::new_app(&cli, name, *lang, parent).await,
        Command::Dev {
            apps,
            no_build,
            port,
        } => dev::dev(&cli, apps, *no_build, *port).await,
        Command::Publish {
            cluster_config: Some(file),
            json,
            ..
        } => publish::publish_config(&cli, file, *json).await,
        Command::Publish {
            path: Some(path),
            name,
            json,
            ..
        } => publish::publish(&cli, path, name.as_deref(), *json).await,
        Command::Publish { .. } => {
            anyhow::bail!("publish what? a component, a source directory or --cluster-config FILE")
        }
        Command::Unpublish {
            cluster_config: true,
            ..
        } => publish::unpublish_config(&cli).await,
        Command::Unpublish { app: Some(app), .. } => publish::unpublish(&cli, app).await,
        Command::Unpublish { .. } => {
            anyhow::bail!("unpublish what? an app's id, or --cluster-config")
        }
        Command::Serve => serve::serve(&cli).await,
        Command::Test { app, scenario } => test::test(&cli, app, scenario.as_deref()).await,
        Command::Manifest { yaml, url } => manifest::print(&cli, *yaml, url.as_deref()).await,
        Command::Webhook {
            target,
            file,
            url,
            content_type,
            delivery_id,
            headers,
        } => {
            let send = webhook::Send {
                target,
                file,
                url,
                content_type,
                delivery_id: delivery_id.as_deref(),
                headers,
            };
            webhook::send(&cli, send).await
        }
    }
}

/// An error and its causes on one line, each cause said once: many of the
/// host's errors already quote their cause in their own message.
fn error_chain(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
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

/// A host over the command line's data directory and configuration; the
/// verb adds what it needs (a Slack connection, hot reload, the scheduler).
fn host(cli: &Cli) -> Result<HostBuilder> {
    Ok(Host::builder(load_config(cli)?, &cli.data_dir))
}

/// A host for a tool run beside the replicas (`call`, `apps`): on
/// PostgreSQL it connects as an observer, so it is not taken for a replica
/// — nor for a restart of the one on this machine, whose claims would
/// then look orphaned.
async fn tool_host(cli: &Cli) -> Result<HostBuilder> {
    let config = load_config(cli)?;
    let storage = open_storage(&config, &cli.data_dir, true).await?;
    Ok(Host::builder(config, &cli.data_dir).storage(storage))
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Replicas, heartbeats, leases held, inbox / outbox / webhook depth.
    Status {
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `--log-format`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_quoted_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let quoted = anyhow::Error::new(crate::config::ConfigError::Read {
            path: "botyard.toml".into(),
            source: io,
        });
        assert_eq!(
            error_chain(&quoted),
            "cannot read botyard.toml: No such file or directory"
        );
        let context = anyhow::anyhow!("disk full").context("opening the database");
        assert_eq!(error_chain(&context), "opening the database: disk full");
    }
}
