//! The runtime: wasmtime engines, app versions, the registry that hot-swaps
//! them, and invocation of a fresh sandbox per call.

pub mod app;
pub mod bindings;
pub mod cache;
pub mod engine;
pub mod invoke;
pub mod limits;
pub mod registry;
pub mod scheduler;
pub mod spares;
pub mod versions;
pub mod watcher;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use thiserror::Error;

use self::app::{AppVersion, LoadError, NativeApp};
use self::bindings::types::{CommandRequest, InvocationContext};
use self::cache::ComponentCache;
use self::engine::Engines;
use self::invoke::{Invocation, InvokeEnv, InvokeError, Request, invoke};
use self::registry::{Registry, Snapshot};
use self::versions::LastGood;
use crate::capabilities::log::{AppLogs, LogLine};
use crate::config::Config;
use crate::slack::router::{Resolved, RouteError};
use crate::slack::web_api::WebApi;
use crate::storage::{OutboxStatus, Storage};

/// Who is calling, and where (what Slack puts in every request).
#[derive(Debug, Clone)]
pub struct CallContext {
    pub user: String,
    pub channel: String,
    pub trigger_id: Option<String>,
}

impl CallContext {
    fn to_wit(&self) -> InvocationContext {
        InvocationContext {
            user_id: self.user.clone(),
            channel_id: self.channel.clone(),
            trigger_id: self.trigger_id.clone(),
        }
    }
}

/// The answer to a slash command.
pub enum CommandAnswer {
    /// An app answered (its reply is in the invocation's response).
    App {
        app: Arc<AppVersion>,
        invocation: Invocation,
    },
    /// The host answered itself (umbrella help).
    Help(String),
}

#[derive(Debug, Error)]
pub enum CallError {
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Invoke(#[from] InvokeError),
    #[error("app `{0}` is not loaded")]
    NotLoaded(String),
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// A new version now serves (its full hash).
    Loaded(String),
    /// The file and settings match the serving version: nothing to do.
    Unchanged,
    /// The file is gone, and so is the app.
    Removed,
}

pub struct Runtime {
    config: Config,
    engines: Arc<Engines>,
    cache: ComponentCache,
    env: InvokeEnv,
    registry: Registry,
    last_good: LastGood,
    /// Reloads run one at a time so an older version can never be installed
    /// over a newer one.
    reloading: tokio::sync::Mutex<()>,
}

impl Runtime {
    /// `delivery` says how apps' Slack calls are recorded: `Pending` when a
    /// Slack connection delivers them, `Local` when there is none.
    pub fn new(
        config: Config,
        data_dir: &Path,
        storage: Storage,
        delivery: OutboxStatus,
    ) -> Runtime {
        let cache_dir = config
            .compile_cache_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("cache").join("components"));
        Runtime {
            config,
            engines: Arc::new(Engines::new()),
            cache: ComponentCache::new(cache_dir),
            env: InvokeEnv {
                storage,
                delivery,
                logs: AppLogs::default(),
                slack_api: Arc::default(),
            },
            registry: Registry::default(),
            last_good: LastGood::new(data_dir),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn storage(&self) -> &Storage {
        &self.env.storage
    }

    /// Gives apps the live Web API for calls that answer questions
    /// (`lookup-user`); the first connection wins.
    pub fn connect_slack(&self, api: WebApi) {
        if self.env.slack_api.set(Arc::new(api)).is_err() {
            tracing::warn!("a Slack Web API is already connected; keeping it");
        }
    }

    /// The lines `app` logged most recently, oldest first.
    pub fn recent_logs(&self, app: &str) -> Vec<LogLine> {
        self.env.logs.recent(app)
    }

    /// Records why `app` has no new version (e.g. its source failed to
    /// build), where `botyard apps` and the workbench show load errors; the
    /// serving version, if any, stays.
    pub fn record_failure(&self, app: &str, message: String) {
        self.registry.record_failure(app, message);
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.registry.snapshot()
    }

    /// The component file of app `id`.
    pub fn app_path(&self, id: &str) -> PathBuf {
        self.config.apps_dir.join(format!("{id}.wasm"))
    }

    /// Ids of the components in the apps directory, sorted.
    pub fn app_ids_on_disk(&self) -> std::io::Result<Vec<String>> {
        let mut ids = Vec::new();
        let entries = match std::fs::read_dir(&self.config.apps_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "wasm")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            {
                ids.push(stem.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Loads every app in the apps directory; failures are recorded per app
    /// (see [`Runtime::snapshot`]) and do not stop the others.
    pub async fn load_all(&self) -> std::io::Result<()> {
        for id in self.app_ids_on_disk()? {
            if let Err(e) = self.reload(&id).await {
                tracing::warn!(app = %id, error = %e, "app not loaded");
            }
        }
        Ok(())
    }

    /// Brings app `id` in line with its file: loads a changed version,
    /// unloads a removed one. A version that fails to load leaves the serving
    /// one in place (or, in a fresh host, the last good one from the data
    /// directory) and is recorded as the app's last error.
    pub async fn reload(&self, id: &str) -> Result<Reloaded, LoadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let path = self.app_path(id);
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.registry.remove(id);
                tracing::info!(app = id, "app removed");
                return Ok(Reloaded::Removed);
            }
            Err(source) => {
                return Err(self.failed(
                    id,
                    LoadError::Read {
                        path: path.display().to_string(),
                        source,
                    },
                ));
            }
        };
        let result = self.load_bytes(id, bytes).await;
        match result {
            Ok(reloaded) => Ok(reloaded),
            Err(error) => {
                let error = self.failed(id, error);
                if self.registry.snapshot().app(id).is_none()
                    && let Some(good) = self.last_good.load(id)
                    && self.load_bytes(id, good).await.is_ok()
                {
                    tracing::warn!(
                        app = id,
                        "serving the last good version from the data directory"
                    );
                    self.registry.record_failure(id, error.to_string());
                }
                Err(error)
            }
        }
    }

    async fn load_bytes(&self, id: &str, bytes: Vec<u8>) -> Result<Reloaded, LoadError> {
        let grants = self.config.grants_for(id);
        let limits = self.config.limits_for(id)?;
        let hash = hex::encode(Sha256::digest(&bytes));
        if let Some(current) = self.registry.snapshot().app(id)
            && current.hash == hash
            && current.grants == grants
            && current.limits == limits
        {
            return Ok(Reloaded::Unchanged);
        }
        let engines = self.engines.clone();
        let cache = self.cache.clone();
        let id_owned = id.to_string();
        let (compiled, bytes) = tokio::task::spawn_blocking(move || {
            (
                AppVersion::compile(&id_owned, &bytes, hash, grants, limits, &engines, &cache),
                bytes,
            )
        })
        .await
        .expect("compiling a component panicked");
        let version = compiled?.describe(&self.env).await?;
        let hash = version.hash.clone();
        self.registry
            .install(version)
            .map_err(LoadError::Conflict)?;
        if let Err(e) = self.last_good.save(id, &hash, &bytes) {
            tracing::warn!(app = id, error = %e, "could not keep a copy of the good version");
        }
        tracing::info!(app = id, version = &hash[..12], "app loaded");
        Ok(Reloaded::Loaded(hash))
    }

    fn failed(&self, id: &str, error: LoadError) -> LoadError {
        tracing::warn!(app = id, error = %error, "load failed; the previous version (if any) keeps serving");
        self.registry.record_failure(id, error.to_string());
        error
    }

    /// Serves a handler compiled into the host under `id`.
    pub fn install_native(&self, id: &str, app: Arc<dyn NativeApp>) -> Result<(), LoadError> {
        let version = AppVersion::native(
            id,
            app,
            self.config.grants_for(id),
            self.config.limits_for(id)?,
        )?;
        self.registry.install(version).map_err(LoadError::Conflict)
    }

    /// Routes a command line (`/hello world`, `/spy status`) to its app.
    pub async fn call_command(
        &self,
        line: &str,
        ctx: &CallContext,
    ) -> Result<CommandAnswer, CallError> {
        let snapshot = self.registry.snapshot();
        match snapshot.routes.resolve(line)? {
            Resolved::Help(text) => Ok(CommandAnswer::Help(text)),
            Resolved::App {
                app,
                command,
                subcommand,
                text,
            } => {
                let request = CommandRequest {
                    command,
                    subcommand,
                    text,
                    context: ctx.to_wit(),
                };
                let (app, invocation) = self
                    .invoke_in(&snapshot, &app, Request::Command(request))
                    .await?;
                Ok(CommandAnswer::App { app, invocation })
            }
        }
    }

    /// Invokes app `id` with any request.
    pub async fn invoke(
        &self,
        id: &str,
        request: Request,
    ) -> Result<(Arc<AppVersion>, Invocation), CallError> {
        self.invoke_in(&self.registry.snapshot(), id, request).await
    }

    async fn invoke_in(
        &self,
        snapshot: &Snapshot,
        id: &str,
        request: Request,
    ) -> Result<(Arc<AppVersion>, Invocation), CallError> {
        let app = snapshot
            .app(id)
            .ok_or_else(|| CallError::NotLoaded(id.into()))?
            .clone();
        let invocation = invoke(&app, &self.env, request).await?;
        Ok((app, invocation))
    }
}
