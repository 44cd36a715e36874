//! The host, assembled: storage, the runtime, the loaded apps, and — as the
//! occasion needs — hot reload, the scheduler, the webhook runner, audit
//! retention, delivery to Slack and the Slack connection. `serve`, `dev`, `call`, the workbench and the tests all
//! build one here, so the wiring exists once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), botyard::host::HostError> {
//! use botyard::host::Host;
//! use botyard::config::Config;
//! let config = Config::load("botyard.toml".as_ref(), false, ".botyard/apps".as_ref())?;
//! let host = Host::builder(config, ".botyard").watch().schedule().start().await?;
//! println!("{} apps", host.apps().snapshot().apps.len());
//! host.shutdown().await;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::capabilities::Services;
use crate::config::storage::StorageConfig;
use crate::config::{Config, ConfigError};
use crate::contract::time::Clock;
use crate::inbound::http::{self, ReceiverConfig, ReceiverError};
use crate::inbound::ops::{self, Readiness};
use crate::inbound::{scheduler, webhooks};
use crate::routing::Apps;
use crate::routing::watcher::{self, WatchHandle};
use crate::runtime::Runtime;
use crate::runtime::app::NativeApp;
use crate::runtime::hooks::Hook;
use crate::slack::delivery::{Delivery, DeliveryConfig};
use crate::slack::web_api::WebApi;
use crate::storage::{OutboxStatus, Storage, StorageError};

#[derive(Debug, Error)]
pub enum HostError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("opening the database in {dir}: {source}")]
    Storage { dir: PathBuf, source: StorageError },
    /// `[storage] backend = "postgres"` and the database could not be
    /// opened; the message says where (hosts, database — never the
    /// password) and what to check.
    #[error("opening the PostgreSQL database at {location} ([storage] in botyard.toml): {source}")]
    Database {
        location: String,
        source: StorageError,
    },
    #[error("reading the apps directory {dir}: {source}")]
    AppsDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("watching the apps directory: {0}")]
    Watch(#[from] notify::Error),
    #[error("serving native app `{id}`: {message}")]
    Native { id: String, message: String },
    #[error(transparent)]
    Receiver(#[from] ReceiverError),
}

/// How to assemble a [`Host`].
pub struct HostBuilder {
    config: Config,
    data_dir: PathBuf,
    storage: Option<Storage>,
    connected: bool,
    watch: bool,
    schedule: bool,
    webhooks: bool,
    prune_audit: bool,
    hooks: Vec<Arc<dyn Hook>>,
    natives: Vec<(String, Arc<dyn NativeApp>)>,
    clock: Clock,
}

/// Opens the storage `[storage]` names: the data directory's SQLite file,
/// or PostgreSQL — as a replica, or (`observer`) as a tool reading beside
/// the replicas that registers nothing and must claim nothing (see
/// [`crate::storage::postgres::Options::observer`]).
pub async fn open_storage(
    config: &Config,
    data_dir: &Path,
    observer: bool,
) -> Result<Storage, HostError> {
    match &config.storage {
        StorageConfig::Sqlite => {
            Storage::open(&data_dir.join("botyard.db")).map_err(|source| HostError::Storage {
                dir: data_dir.to_path_buf(),
                source,
            })
        }
        StorageConfig::Postgres(postgres) => {
            let mut options = postgres.options();
            options.observer = observer;
            Storage::connect_postgres(options)
                .await
                .map_err(|source| HostError::Database {
                    location: postgres.location(),
                    source,
                })
        }
    }
}

impl HostBuilder {
    /// The time apps see and schedules come due by: the system clock
    /// unless told otherwise (the test kit passes a manual one, see
    /// [`Clock`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Slack calls will be delivered (a Slack connection or the emulator
    /// follows): record them as pending, not local.
    pub fn connected(mut self) -> Self {
        self.connected = true;
        self
    }

    /// Hot reload: watch the apps directory.
    pub fn watch(mut self) -> Self {
        self.watch = true;
        self
    }

    /// Fire scheduled ticks.
    pub fn schedule(mut self) -> Self {
        self.schedule = true;
        self
    }

    /// Hand recorded webhook deliveries to their apps (and retry them).
    pub fn webhooks(mut self) -> Self {
        self.webhooks = true;
        self
    }

    /// Prune the audit log in the background, at start and then hourly,
    /// keeping `[audit] keep_days` (nothing, when that is 0).
    pub fn prune_audit(mut self) -> Self {
        self.prune_audit = true;
        self
    }

    /// Uses this storage instead of the one `[storage]` names (by default
    /// the data directory's SQLite file).
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Runs `hook` around every invocation, after the audit hook.
    pub fn hook(mut self, hook: Arc<dyn Hook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Serves a handler compiled into the host as app `id`.
    pub fn native(mut self, id: &str, app: Arc<dyn NativeApp>) -> Self {
        self.natives.push((id.to_string(), app));
        self
    }

    /// Opens storage, loads every app, and starts what was asked for.
    pub async fn start(self) -> Result<Host, HostError> {
        let storage = match self.storage {
            Some(storage) => storage,
            None => open_storage(&self.config, &self.data_dir, false).await?,
        };
        let services = Services {
            storage,
            logs: Default::default(),
            delivery: if self.connected {
                OutboxStatus::Pending
            } else {
                OutboxStatus::Local
            },
            slack_api: Default::default(),
            quotas: Default::default(),
            clock: self.clock,
        };
        let cache_dir = self
            .config
            .compile_cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cache").join("components"));
        let mut runtime = Runtime::new(services, cache_dir);
        for hook in self.hooks {
            runtime = runtime.with_hook(hook);
        }
        let apps_dir = self.config.apps_dir.clone();
        let keep_audit = self.config.audit.retention().filter(|_| self.prune_audit);
        let apps = Arc::new(Apps::new(runtime, self.config, &self.data_dir));
        for (id, app) in self.natives {
            apps.install_native(&id, app)
                .map_err(|e| HostError::Native {
                    id,
                    message: e.to_string(),
                })?;
        }
        apps.load_all().await.map_err(|source| HostError::AppsDir {
            dir: apps_dir,
            source,
        })?;
        let watch = if self.watch {
            Some(watcher::watch(apps.clone())?)
        } else {
            None
        };
        let ticks = self.schedule.then(|| scheduler::spawn(apps.clone()));
        let approvals = self
            .schedule
            .then(|| crate::routing::approvals::spawn_sweeper(apps.clone()));
        let webhooks = self.webhooks.then(|| webhooks::runner::spawn(apps.clone()));
        let audit_pruning = keep_audit.map(|keep| prune_audit(apps.storage().clone(), keep));
        let readiness = Readiness::default();
        if self.connected {
            readiness.expect_slack();
        }
        Ok(Host {
            apps,
            readiness,
            _watch: watch,
            ticks,
            approvals,
            webhooks,
            audit_pruning,
            delivery: None,
        })
    }
}

/// A running host.
pub struct Host {
    apps: Arc<Apps>,
    /// Whether Slack is connected, as `/readyz` reports it.
    readiness: Readiness,
    _watch: Option<WatchHandle>,
    ticks: Option<tokio::task::JoinHandle<()>>,
    /// Expires approval requests nobody decided (with the scheduler).
    approvals: Option<tokio::task::JoinHandle<()>>,
    webhooks: Option<tokio::task::JoinHandle<()>>,
    audit_pruning: Option<tokio::task::JoinHandle<()>>,
    delivery: Option<Delivery>,
}

impl Host {
    /// A host over `data_dir` (the database, last good versions and, unless
    /// the config says otherwise, compiled components) configured by `config`.
    pub fn builder(config: Config, data_dir: impl AsRef<Path>) -> HostBuilder {
        HostBuilder {
            config,
            data_dir: data_dir.as_ref().to_path_buf(),
            storage: None,
            connected: false,
            watch: false,
            schedule: false,
            webhooks: false,
            prune_audit: false,
            hooks: Vec::new(),
            natives: Vec::new(),
            clock: Clock::system(),
        }
    }

    /// The loaded apps: routing, invocation, storage.
    pub fn apps(&self) -> &Arc<Apps> {
        &self.apps
    }

    /// Connects Slack's Web API: apps' questions (`lookup-user`) go to it,
    /// and the outbox is delivered to it from now on, beginning with
    /// whatever was left pending before a restart.
    pub fn connect_slack(&mut self, api: WebApi, delivery: DeliveryConfig) {
        self.apps.runtime().connect_slack(api.clone());
        self.readiness.slack_connected();
        if self.delivery.is_none() {
            self.delivery = Some(Delivery::start(self.apps.storage().clone(), api, delivery));
        }
    }

    /// The signed HTTP receiver (commands, events, interactivity) over
    /// these apps, to serve or merge into a bigger router.
    pub fn http_receiver(&self, config: ReceiverConfig) -> Result<axum::Router, HostError> {
        Ok(http::router(self.apps.clone(), config)?)
    }

    /// The webhook endpoints (`POST /hooks/<app>/<name>`) over these apps,
    /// to serve or merge into a bigger router. Deliveries are recorded
    /// whether or not this host runs them ([`HostBuilder::webhooks`]).
    pub fn webhook_receiver(&self) -> axum::Router {
        webhooks::router(self.apps.clone())
    }

    /// `GET /metrics`, `/healthz` and `/readyz` over these apps, to serve or
    /// merge into a bigger router (see [`ops`]). `/metrics` shows what is
    /// recorded once [`crate::telemetry::install`] was called.
    pub fn ops_router(&self) -> axum::Router {
        ops::router(self.apps.clone(), self.readiness.clone())
    }

    /// Whether Slack is connected, as `/readyz` reports it: a Socket Mode
    /// client started beside the host reports its sockets here
    /// ([`Readiness::slack_sockets`]).
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Stops the scheduler, the webhook runner and audit pruning, and lets delivery settle
    /// the Slack call in flight; whatever is still queued stays in the
    /// outbox, and unfinished webhook deliveries stay recorded.
    pub async fn shutdown(mut self) {
        if let Some(ticks) = self.ticks.take() {
            ticks.abort();
        }
        if let Some(approvals) = self.approvals.take() {
            approvals.abort();
        }
        if let Some(webhooks) = self.webhooks.take() {
            webhooks.abort();
        }
        if let Some(pruning) = self.audit_pruning.take() {
            pruning.abort();
        }
        if let Some(delivery) = self.delivery.take() {
            delivery.stop().await;
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(ticks) = &self.ticks {
            ticks.abort();
        }
        if let Some(approvals) = &self.approvals {
            approvals.abort();
        }
        if let Some(webhooks) = &self.webhooks {
            webhooks.abort();
        }
        if let Some(pruning) = &self.audit_pruning {
            pruning.abort();
        }
    }
}

/// How often the audit log is pruned after the first time, at start.
const AUDIT_PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Deletes audit rows older than `keep`, at once and then every
/// [`AUDIT_PRUNE_EVERY`], until aborted.
fn prune_audit(storage: Storage, keep: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(AUDIT_PRUNE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let cutoff = crate::contract::time::now_ms().saturating_sub(keep.as_millis() as u64);
            match storage.audit.prune_before(cutoff as i64).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(
                    rows,
                    keep_days = keep.as_secs() / 86_400,
                    "pruned old invocations from the audit log"
                ),
                Err(error) => tracing::warn!(%error, "pruning the audit log failed"),
            }
        }
    })
}
