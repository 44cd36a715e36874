//! The set of loaded apps and their routes, swapped atomically as a whole,
//! and how versions get into it: loading from the apps directory, hot
//! reload, the last good version kept for when a new one fails.
//!
//! Readers clone an `Arc<Snapshot>` and let go of the lock at once, so an
//! invocation keeps the version it started on while a reload installs the
//! next one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::table::{Resolved, RouteError, Routes};
use super::versions::LastGood;
use crate::config::Config;
use crate::contract::bindings::types::{CommandRequest, InvocationContext};
use crate::contract::request::Request;
use crate::contract::time::now_ms;
use crate::runtime::Runtime;
use crate::runtime::app::{AppVersion, LoadError, NativeApp};
use crate::runtime::hooks::Hook;
use crate::runtime::invoke::{Invocation, InvokeError};
use crate::storage::Storage;

/// One consistent view of every app.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub apps: BTreeMap<Arc<str>, AppEntry>,
    pub routes: Routes,
}

impl Snapshot {
    pub fn app(&self, id: &str) -> Option<&Arc<AppVersion>> {
        self.apps.get(id).and_then(|entry| entry.current.as_ref())
    }

    /// The serving versions, in id order.
    pub fn versions(&self) -> impl Iterator<Item = &Arc<AppVersion>> {
        self.apps.values().filter_map(|e| e.current.as_ref())
    }
}

/// An app's serving version and the story of its loads.
#[derive(Clone, Default)]
pub struct AppEntry {
    /// The version serving invocations, if any loaded successfully.
    pub current: Option<Arc<AppVersion>>,
    /// When `current` was installed (Unix ms).
    pub loaded_at_ms: Option<u64>,
    /// Why the most recent load attempt failed, if it did.
    pub last_error: Option<LoadFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    pub at_ms: u64,
    pub message: String,
}

/// Who is calling, and where (what Slack puts in every request).
#[derive(Debug, Clone)]
pub struct CallContext {
    pub user: String,
    pub channel: String,
    pub trigger_id: Option<String>,
}

impl CallContext {
    pub fn to_wit(&self) -> InvocationContext {
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
        /// Boxed: far larger than the help text.
        invocation: Box<Invocation>,
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

/// A published version an app loads from: its hash and its bytes.
pub type PublishedSource = (String, Arc<[u8]>);

/// The loaded apps.
pub struct Apps {
    runtime: Runtime,
    /// The configuration serving now; replaced whole by
    /// [`Apps::reload_config`].
    config: RwLock<Arc<Config>>,
    /// Why the last edit of `botyard.toml` (or the last published
    /// configuration) was refused, if it was.
    config_error: RwLock<Option<LoadFailure>>,
    /// The published configuration the database says (see
    /// [`super::published`]), applied or not: a local edit goes under it,
    /// so a replica whose file was what made it fail applies it once the
    /// file is fixed.
    published_config: RwLock<Option<crate::config::PublishedLayer>>,
    /// The version of the published configuration last handed to
    /// [`Apps::apply_published_config`], applied or not (even one whose
    /// document did not parse here): what the poller compares with the
    /// database, so a refused version is not tried again every round.
    published_config_seen: RwLock<Option<String>>,
    /// Configuration changes (a local edit, a published layer) are applied
    /// one at a time, so neither undoes the other.
    applying_config: tokio::sync::Mutex<()>,
    /// Apps refused for claiming a command another app serves: retried
    /// whenever an app loads or goes, so one waits for the other to clear.
    conflicted: std::sync::Mutex<std::collections::BTreeSet<String>>,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Apps published into the database (see [`super::published`]): id →
    /// (hash, bytes). A published app is loaded from here instead of the
    /// apps directory — the database wins over a file of the same name —
    /// so every reload (a file event, a config edit, a conflict retried)
    /// keeps serving what was published.
    published: RwLock<BTreeMap<String, PublishedSource>>,
    last_good: LastGood,
    /// Reloads run one at a time so an older version can never be installed
    /// over a newer one.
    reloading: tokio::sync::Mutex<()>,
}

impl Apps {
    /// No apps yet, loading from `config.apps_dir` with `runtime`; the last
    /// good versions are kept under `data_dir`.
    pub fn new(runtime: Runtime, config: Config, data_dir: &std::path::Path) -> Apps {
        runtime.gate().set_rules(config.permissions.clone());
        Apps {
            runtime,
            config: RwLock::new(Arc::new(config)),
            config_error: RwLock::default(),
            published_config: RwLock::default(),
            published_config_seen: RwLock::default(),
            applying_config: tokio::sync::Mutex::new(()),
            conflicted: Default::default(),
            snapshot: RwLock::default(),
            published: RwLock::default(),
            last_good: LastGood::new(data_dir),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The configuration serving now (it changes when `botyard.toml` is
    /// edited; hold the `Arc` for one consistent view).
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Why the most recent edit of `botyard.toml` was refused, while the
    /// previous configuration keeps serving; `None` once one is accepted.
    pub fn config_error(&self) -> Option<LoadFailure> {
        self.config_error
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads `botyard.toml` again and applies it: an invalid file changes
    /// nothing and is recorded ([`Apps::config_error`]); a valid one
    /// replaces the configuration at once (permissions, webhook senders,
    /// settings read per request) and loads again every app whose section
    /// or default limits changed, so grants, limits and capability settings
    /// follow — the same rule as a new component: a version that fails to
    /// load leaves the serving one. The apps directory and `[slack]` are
    /// read at start only; a change to them is logged and waits for a
    /// restart.
    ///
    /// The published configuration wanted (see
    /// [`Apps::apply_published_config`]) goes over the file again.
    pub async fn reload_config(&self) -> Result<Vec<String>, crate::config::ConfigError> {
        let _one_at_a_time = self.applying_config.lock().await;
        let current = self.config();
        if current.origin.is_none() {
            return Ok(Vec::new());
        }
        let next = current.reread_with(self.wanted_published_config());
        self.apply_config(current, next).await
    }

    /// Applies a new published configuration (`(hash, text)`, from the
    /// database; `None`: unpublished, back to the local file alone) the way
    /// [`Apps::reload_config`] applies an edit — the same body: over this
    /// machine's file (see [`crate::config::overlay`]), and if the result
    /// is not valid here, nothing changes, the previous configuration keeps
    /// serving and the error is recorded ([`Apps::config_error`]). The layer
    /// is remembered either way, so a later edit of the local file applies
    /// it.
    pub async fn apply_published_config(
        &self,
        published: Option<(String, String)>,
    ) -> Result<Vec<String>, crate::config::ConfigError> {
        let _one_at_a_time = self.applying_config.lock().await;
        *self
            .published_config_seen
            .write()
            .unwrap_or_else(|p| p.into_inner()) = published.as_ref().map(|(hash, _)| hash.clone());
        let current = self.config();
        let path = current
            .origin
            .as_ref()
            .map_or_else(|| PathBuf::from("botyard.toml"), |o| o.path.clone());
        let next = match published {
            None => Ok(None),
            Some((hash, text)) => crate::config::PublishedLayer::parse(&hash, &text)
                .map(Some)
                .map_err(|message| crate::config::ConfigError::Published {
                    path,
                    version: hash.chars().take(12).collect(),
                    message,
                }),
        };
        let next = next.and_then(|layer| {
            *self
                .published_config
                .write()
                .unwrap_or_else(|p| p.into_inner()) = layer.clone();
            current.reread_with(layer)
        });
        self.apply_config(current, next).await
    }

    /// The version of the published configuration last handed to
    /// [`Apps::apply_published_config`], applied or not.
    pub fn published_config_seen(&self) -> Option<String> {
        self.published_config_seen
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The published configuration the database says, applied or not.
    pub fn wanted_published_config(&self) -> Option<crate::config::PublishedLayer> {
        self.published_config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The one place a new configuration is applied (see
    /// [`Apps::reload_config`]); `current` is the one serving when `next`
    /// was made from it.
    async fn apply_config(
        &self,
        current: Arc<Config>,
        next: Result<Config, crate::config::ConfigError>,
    ) -> Result<Vec<String>, crate::config::ConfigError> {
        let mut next = match next {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "botyard.toml not applied; the previous configuration keeps serving");
                *self.config_error.write().unwrap_or_else(|p| p.into_inner()) = Some(LoadFailure {
                    at_ms: now_ms(),
                    message: e.to_string(),
                });
                return Err(e);
            }
        };
        if next.apps_dir != current.apps_dir {
            tracing::warn!("apps_dir changed in botyard.toml; it takes effect on restart");
            next.apps_dir = current.apps_dir.clone();
        }
        if next.slack != current.slack {
            tracing::warn!("[slack] changed in botyard.toml; it takes effect on restart");
        }
        let next = Arc::new(next);
        let changed: Vec<String> = self
            .snapshot()
            .apps
            .keys()
            .filter(|id| current.differs_for(&next, id))
            .map(|id| id.to_string())
            .collect();
        self.runtime.gate().set_rules(next.permissions.clone());
        let published = next
            .published_version()
            .map(|h| super::published::short(h).to_string());
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = next;
        *self.config_error.write().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::info!(apps = ?changed, ?published, "botyard.toml applied");
        for id in &changed {
            if let Err(e) = self.reload_forced(id).await {
                tracing::warn!(app = %id, error = %e, "not reloaded with the new configuration");
            }
        }
        Ok(changed)
    }

    pub fn storage(&self) -> &Storage {
        self.runtime.storage()
    }

    /// The lines `app` logged most recently, oldest first.
    pub fn recent_logs(&self, app: &str) -> Vec<crate::capabilities::log::LogLine> {
        self.runtime.recent_logs(app)
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The component file of app `id`.
    pub fn app_path(&self, id: &str) -> PathBuf {
        self.config().apps_dir.join(format!("{id}.wasm"))
    }

    /// Ids of the components in the apps directory, sorted.
    pub fn app_ids_on_disk(&self) -> std::io::Result<Vec<String>> {
        let mut ids = Vec::new();
        let entries = match std::fs::read_dir(&self.config().apps_dir) {
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
    /// (see [`Apps::snapshot`]) and do not stop the others.
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
        let result = self.reload_one(id, false).await;
        self.after_reload(id, &result).await;
        result
    }

    /// [`Apps::reload`], even when the file has not changed: the
    /// configuration did. A native app is installed again with its settings.
    async fn reload_forced(&self, id: &str) -> Result<Reloaded, LoadError> {
        let native = self.snapshot().app(id).and_then(|v| match &v.code {
            crate::runtime::app::AppCode::Native(native) => Some(native.clone()),
            crate::runtime::app::AppCode::Wasm(_) => None,
        });
        let result = match native {
            Some(native) => self
                .install_native(id, native)
                .map(|()| Reloaded::Loaded(String::new())),
            None => self.reload_one(id, true).await,
        };
        if let Err(LoadError::NotGranted { .. }) = &result {
            // The operator took a grant away: the serving version must not
            // keep what it no longer has, so it stops serving (unlike a bad
            // new component, which leaves the good one in place).
            self.update(|snap| {
                if let Some(entry) = snap.apps.get_mut(id) {
                    entry.current = None;
                }
                Ok::<_, ()>(())
            })
            .ok();
            tracing::warn!(
                app = id,
                "taken out of service: botyard.toml no longer grants what it imports"
            );
        }
        self.after_reload(id, &result).await;
        result
    }

    /// Counts the load, and when apps came or went, tries again the ones
    /// refused for a command conflict: the app in the way may be gone.
    async fn after_reload(&self, id: &str, result: &Result<Reloaded, LoadError>) {
        crate::telemetry::reload(
            id,
            match result {
                Ok(Reloaded::Loaded(_)) => "loaded",
                Ok(Reloaded::Unchanged) => "unchanged",
                Ok(Reloaded::Removed) => "removed",
                Err(_) => "failed",
            },
        );
        {
            let mut conflicted = self.conflicted.lock().unwrap_or_else(|p| p.into_inner());
            match result {
                Err(LoadError::Conflict(_)) => {
                    conflicted.insert(id.to_string());
                }
                _ => {
                    conflicted.remove(id);
                }
            }
        }
        if !matches!(result, Ok(Reloaded::Loaded(_) | Reloaded::Removed)) {
            return;
        }
        let waiting: Vec<String> = self
            .conflicted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|other| *other != id)
            .cloned()
            .collect();
        for other in waiting {
            let retried = Box::pin(self.reload_one(&other, true)).await;
            if let Ok(Reloaded::Loaded(_)) = &retried {
                tracing::info!(app = %other, "loaded now that its command conflict cleared");
            }
            Box::pin(self.after_reload(&other, &retried)).await;
        }
    }

    async fn reload_one(&self, id: &str, force: bool) -> Result<Reloaded, LoadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let path = self.app_path(id);
        let published = self.published_source(id).map(|(_, bytes)| bytes.to_vec());
        let read = match published {
            Some(bytes) => Ok(bytes),
            None => tokio::fs::read(&path).await,
        };
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.update(|snap| Ok::<_, ()>(snap.apps.remove(id).is_some()))
                    .ok();
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
        match self.load_bytes(id, bytes, force).await {
            Ok(reloaded) => Ok(reloaded),
            Err(error) => {
                let error = self.failed(id, error);
                if self.snapshot().app(id).is_none()
                    && let Some(good) = self.last_good.load(id)
                    && self.load_bytes(id, good, false).await.is_ok()
                {
                    tracing::warn!(
                        app = id,
                        "serving the last good version from the data directory"
                    );
                    self.record_failure(id, error.to_string());
                }
                Err(error)
            }
        }
    }

    async fn load_bytes(
        &self,
        id: &str,
        bytes: Vec<u8>,
        force: bool,
    ) -> Result<Reloaded, LoadError> {
        let settings = self.config().settings_for(id)?;
        let hash = hex::encode(Sha256::digest(&bytes));
        if !force
            && let Some(current) = self.snapshot().app(id)
            && *current.hash == *hash
            && current.grants == settings.grants
            && current.limits == settings.limits
        {
            return Ok(Reloaded::Unchanged);
        }
        let version = self
            .runtime
            .load(id, bytes.clone(), hash.clone(), &settings)
            .await?;
        self.install(version).map_err(LoadError::Conflict)?;
        if let Err(e) = self.last_good.save(id, &hash, &bytes) {
            tracing::warn!(app = id, error = %e, "could not keep a copy of the good version");
        }
        tracing::info!(app = id, version = &hash[..12], "app loaded");
        Ok(Reloaded::Loaded(hash))
    }

    /// The published version app `id` loads from (its hash and bytes), if
    /// it is published (see [`super::published`]).
    pub fn published_source(&self, id: &str) -> Option<PublishedSource> {
        self.published
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// The ids of the apps loaded from published versions.
    pub fn published_ids(&self) -> Vec<String> {
        let published = self.published.read().unwrap_or_else(|p| p.into_inner());
        published.keys().cloned().collect()
    }

    /// Makes `source` (hash, bytes) what app `id` loads from, or (`None`)
    /// its file in the apps directory again; [`Apps::reload`] applies it.
    pub(super) fn set_published_source(&self, id: &str, source: Option<PublishedSource>) {
        let mut published = self.published.write().unwrap_or_else(|p| p.into_inner());
        match source {
            Some(source) => published.insert(id.to_string(), source),
            None => published.remove(id),
        };
    }

    /// Whether `bytes` would load as app `id` here — the checks a reload
    /// makes (settings and grants, compile, imports and exports, describe,
    /// a command another app serves) — without installing it. `botyard
    /// publish` asks before writing, so a broken version reaches no replica.
    pub async fn check(&self, id: &str, bytes: Vec<u8>) -> Result<AppVersion, LoadError> {
        let settings = self.config().settings_for(id)?;
        let hash = hex::encode(Sha256::digest(&bytes));
        let version = self.runtime.load(id, bytes, hash, &settings).await?;
        let mut others = Snapshot::clone(&self.snapshot());
        others.apps.remove(id);
        let routes = Routes::build(
            others
                .apps
                .iter()
                .filter_map(|(id, e)| e.current.as_ref().map(|v| (id, &v.description))),
        );
        if let Some(conflict) = routes.conflict(&version.id, &version.description) {
            return Err(LoadError::Conflict(conflict));
        }
        Ok(version)
    }

    fn failed(&self, id: &str, error: LoadError) -> LoadError {
        tracing::warn!(app = id, error = %error, "load failed; the previous version (if any) keeps serving");
        self.record_failure(id, error.to_string());
        error
    }

    /// Serves a handler compiled into the host under `id`.
    pub fn install_native(&self, id: &str, app: Arc<dyn NativeApp>) -> Result<(), LoadError> {
        let settings = self.config().settings_for(id)?;
        let version = self.runtime.native(id, app, &settings)?;
        self.install(version).map_err(LoadError::Conflict)
    }

    /// Installs `version` unless it claims a command another app serves; on a
    /// conflict the old version stays and the conflict becomes the last error.
    fn install(&self, version: AppVersion) -> Result<(), String> {
        let version = Arc::new(version);
        self.update(|snap| {
            if let Some(conflict) = snap.routes.conflict(&version.id, &version.description) {
                let entry = snap.apps.entry(version.id.clone()).or_default();
                entry.last_error = Some(LoadFailure {
                    at_ms: now_ms(),
                    message: conflict.clone(),
                });
                return Err(conflict);
            }
            snap.apps.insert(
                version.id.clone(),
                AppEntry {
                    current: Some(version.clone()),
                    loaded_at_ms: Some(now_ms()),
                    last_error: None,
                },
            );
            Ok(())
        })
    }

    /// Records why `app` has no new version (e.g. its source failed to
    /// build), where `botyard apps` and the workbench show load errors; the
    /// serving version, if any, stays.
    pub fn record_failure(&self, id: &str, message: String) {
        self.update(|snap| {
            let entry = snap.apps.entry(id.into()).or_default();
            entry.last_error = Some(LoadFailure {
                at_ms: now_ms(),
                message,
            });
            Ok::<_, ()>(())
        })
        .ok();
    }

    /// Applies `change` to a copy of the snapshot and publishes the copy with
    /// its routes rebuilt (a failed change may still have recorded an error).
    fn update<T, E>(&self, change: impl FnOnce(&mut Snapshot) -> Result<T, E>) -> Result<T, E> {
        let mut guard = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
        let mut next = Snapshot::clone(&guard);
        let result = change(&mut next);
        next.routes = Routes::build(
            next.apps
                .iter()
                .filter_map(|(id, e)| e.current.as_ref().map(|v| (id, &v.description))),
        );
        *guard = Arc::new(next);
        result
    }

    /// Routes a command line (`/hello world`, `/spy status`) to its app.
    pub async fn call_command(
        &self,
        line: &str,
        ctx: &CallContext,
    ) -> Result<CommandAnswer, CallError> {
        self.call_command_with(line, ctx, None).await
    }

    /// [`Apps::call_command`], with one more hook for the invocation, if an
    /// app is invoked (see [`Runtime::invoke_with`]).
    pub async fn call_command_with(
        &self,
        line: &str,
        ctx: &CallContext,
        hook: Option<&dyn Hook>,
    ) -> Result<CommandAnswer, CallError> {
        let snapshot = self.snapshot();
        match snapshot.routes.resolve(line)? {
            Resolved::Help {
                umbrella,
                area,
                page,
            } => {
                // Only what this user may run here.
                let gate = self.runtime.gate();
                let mut allowed = std::collections::HashSet::new();
                for (sub, app) in snapshot.routes.subcommands(&umbrella) {
                    let target = crate::config::permissions::Target::Command {
                        command: &umbrella,
                        subcommand: Some(&sub),
                        text: "",
                    };
                    if gate.may(&app, &target, &ctx.user, &ctx.channel).await {
                        allowed.insert(sub);
                    }
                }
                Ok(CommandAnswer::Help(snapshot.routes.help(
                    &umbrella,
                    area.as_deref(),
                    page,
                    |sub| allowed.contains(sub),
                )))
            }
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
                    .invoke_in(&snapshot, &app, Request::Command(request), hook)
                    .await?;
                Ok(CommandAnswer::App {
                    app,
                    invocation: Box::new(invocation),
                })
            }
        }
    }

    /// Invokes app `id` with any request.
    pub async fn invoke(
        &self,
        id: &str,
        request: Request,
    ) -> Result<(Arc<AppVersion>, Invocation), CallError> {
        self.invoke_in(&self.snapshot(), id, request, None).await
    }

    /// Invokes app `id` with one more hook for this invocation (see
    /// [`Runtime::invoke_with`]).
    pub async fn invoke_with(
        &self,
        id: &str,
        request: Request,
        hook: &dyn Hook,
    ) -> Result<(Arc<AppVersion>, Invocation), CallError> {
        self.invoke_in(&self.snapshot(), id, request, Some(hook))
            .await
    }

    async fn invoke_in(
        &self,
        snapshot: &Snapshot,
        id: &str,
        request: Request,
        hook: Option<&dyn Hook>,
    ) -> Result<(Arc<AppVersion>, Invocation), CallError> {
        let app = snapshot
            .app(id)
            .ok_or_else(|| CallError::NotLoaded(id.into()))?
            .clone();
        let invocation = self.runtime.invoke_with(&app, request, hook).await?;
        Ok((app, invocation))
    }
}
