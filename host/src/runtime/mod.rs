//! The runtime: turns a component into a loaded app version and runs it —
//! wasmtime engines, the compiled-component cache, pre-instantiation,
//! limits, instances made ahead, and invocation of a fresh sandbox per call
//! with hooks around it. Which version serves what, and when versions
//! change, is routing's business one layer up.

pub mod app;
pub mod cache;
pub mod engine;
pub mod hooks;
pub mod invoke;
pub mod memory;
pub mod permissions;
pub mod spares;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;

use self::app::{AppCode, AppVersion, LoadError, NativeApp};
use self::cache::ComponentCache;
use self::engine::Engines;
use self::hooks::{Audit, Hook, Metrics};
use crate::capabilities::log::{AppLogs, LogLine};
use crate::capabilities::{Capabilities, Services};
use crate::config::AppSettings;
use crate::contract::request::{Request, Response};
use crate::slack::web_api::WebApi;
use crate::storage::Storage;

/// How long `describe` may take at load, whatever the app's own deadline.
const DESCRIBE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// Instances are made ahead of requests (unless the app's `ready_instances`
/// says otherwise) only when making one takes longer than this: handing the
/// work to a background task costs the request a thread wake-up of its own
/// (a few µs), which only pays when instantiation costs more. Measured
/// (`botyard apps` shows it): the Rust starter instantiates in ~20 µs and
/// answers faster on demand (30 vs 33 µs median); the JavaScript one takes
/// ~100–130 µs, the Python one ~1 ms (and answers in ~0.3 ms from a ready
/// instance against ~1.6 ms on demand).
const MAKE_AHEAD_ABOVE: std::time::Duration = std::time::Duration::from_micros(50);

/// Ready instances kept when they pay: a burst of two, and a hundred idle
/// apps hold a fifth of the instance pool.
const DEFAULT_READY: usize = 2;

/// Most instantiations timed at load to decide; the fastest counts.
const INSTANTIATION_SAMPLES: usize = 5;

/// How many instances to keep made ahead for an app whose instances take
/// `instantiation` to make: the operator's `configured` number if any, else
/// [`DEFAULT_READY`] when making one costs more than [`MAKE_AHEAD_ABOVE`].
pub fn ready_instances(instantiation: std::time::Duration, configured: Option<usize>) -> usize {
    configured.unwrap_or(if instantiation > MAKE_AHEAD_ABOVE {
        DEFAULT_READY
    } else {
        0
    })
}

pub struct Runtime {
    engines: Arc<Engines>,
    cache: ComponentCache,
    capabilities: Arc<Capabilities>,
    services: Services,
    hooks: Vec<Arc<dyn Hook>>,
    gate: Arc<permissions::Gate>,
}

impl Runtime {
    /// A runtime whose apps reach the host through `services`, caching
    /// compiled components in `cache_dir`, with the permission gate and
    /// the audit and metrics hooks.
    pub fn new(services: Services, cache_dir: PathBuf) -> Runtime {
        let gate = Arc::new(permissions::Gate::new(
            services.storage.clone(),
            services.slack_api.clone(),
            services.delivery,
        ));
        Runtime {
            engines: Arc::new(Engines::new()),
            cache: ComponentCache::new(cache_dir),
            capabilities: Arc::new(Capabilities::new(&services)),
            hooks: vec![gate.clone(), Arc::new(Audit), Arc::new(Metrics)],
            gate,
            services,
        }
    }

    /// Adds a hook run around every invocation, after those already there.
    pub fn with_hook(mut self, hook: Arc<dyn Hook>) -> Runtime {
        self.hooks.push(hook);
        self
    }

    pub fn storage(&self) -> &Storage {
        &self.services.storage
    }

    /// The time apps see, which also says when schedules are due.
    pub fn clock(&self) -> &crate::contract::time::Clock {
        &self.services.clock
    }

    /// Every app's per-minute windows and quota refusals.
    pub fn quotas(&self) -> &Arc<crate::capabilities::quota::Meter> {
        &self.services.quotas
    }

    /// The permission gate every invocation passes.
    pub fn gate(&self) -> &Arc<permissions::Gate> {
        &self.gate
    }

    /// How Slack calls are recorded: delivered, or kept local.
    pub fn delivery(&self) -> crate::storage::OutboxStatus {
        self.services.delivery
    }

    /// The live Web API, once connected.
    pub fn slack_api(&self) -> Option<Arc<WebApi>> {
        self.services.slack_api.get().cloned()
    }

    /// Gives apps the live Web API for calls that answer questions
    /// (`lookup-user`); the first connection wins.
    pub fn connect_slack(&self, api: WebApi) {
        if self.services.slack_api.set(Arc::new(api)).is_err() {
            tracing::warn!("a Slack Web API is already connected; keeping it");
        }
    }

    /// The lines `app` logged most recently, oldest first.
    pub fn recent_logs(&self, app: &str) -> Vec<LogLine> {
        self.services.logs.recent(app)
    }

    /// Every app's recent log lines.
    pub fn logs(&self) -> &AppLogs {
        &self.services.logs
    }

    /// Loads a component as app `id`: compiles it (or maps it from the
    /// cache) on a blocking thread, checks its imports against its grants
    /// and its exports against the known triggers, resolves the granted
    /// capabilities' per-app states, and calls `describe` in a sandbox under
    /// a short deadline. `hash` is the hex SHA-256 of `bytes`.
    pub async fn load(
        &self,
        id: &str,
        bytes: Vec<u8>,
        hash: String,
        settings: &AppSettings,
    ) -> Result<AppVersion, LoadError> {
        let states = self.app_states(id, settings)?;
        let engines = self.engines.clone();
        let cache = self.cache.clone();
        let settings_owned = settings.clone();
        let id_owned = id.to_string();
        let version = tokio::task::spawn_blocking(move || {
            AppVersion::compile(
                &id_owned,
                &bytes,
                hash,
                &settings_owned,
                states,
                &engines,
                &cache,
            )
        })
        .await
        .expect("compiling a component panicked")?;
        self.describe(version).await
    }

    /// Calls `describe` (and each exported trigger's own declaration) and
    /// checks what it says: the second half of loading.
    async fn describe(&self, mut version: AppVersion) -> Result<AppVersion, LoadError> {
        let limits = version.limits;
        version.limits.deadline = limits.deadline.min(DESCRIBE_DEADLINE);
        let started_ms = crate::contract::time::now_ms();
        let invocation = match self.invoke(&version, Request::Describe).await {
            Ok(invocation) => invocation,
            Err(error) => {
                let logged = self
                    .recent_logs(&version.id)
                    .into_iter()
                    .filter(|line| line.at_ms >= started_ms)
                    .map(|line| line.message)
                    .collect();
                return Err(LoadError::Describe { error, logged });
            }
        };
        let Response::Describe(description) = invocation.response else {
            unreachable!("describe answers with Response::Describe")
        };
        description.check().map_err(LoadError::BadDescription)?;
        let states = self
            .capabilities
            .described(&version.id, &version.states, &description)?;
        version.states = Arc::new(states);
        version.description = description;
        version.limits = limits;
        self.decide_ready(&mut version).await;
        Ok(version)
    }

    /// Measures what making one instance costs (warm: `describe` just made
    /// one; the fastest of a few, so a busy machine's one slow turn does not
    /// decide) and, unless the app's `ready_instances` says, keeps instances
    /// made ahead only when that pays.
    async fn decide_ready(&self, version: &mut AppVersion) {
        let AppCode::Wasm(code) = &version.code else {
            return;
        };
        let recipe = self.recipe(version, code);
        let mut instantiation = std::time::Duration::MAX;
        // One sample when the operator decided (it is only shown); else up
        // to five, stopping once one is cheap (the fastest only falls).
        let samples = match version.limits.ready_instances {
            Some(_) => 1,
            None => INSTANTIATION_SAMPLES,
        };
        for _ in 0..samples {
            let started = std::time::Instant::now();
            let made = recipe.prepare().await;
            instantiation = instantiation.min(started.elapsed());
            drop(made);
            if instantiation <= MAKE_AHEAD_ABOVE {
                break;
            }
        }
        let ready = ready_instances(instantiation, version.limits.ready_instances);
        if let AppCode::Wasm(code) = &mut version.code {
            code.instantiation = instantiation;
            code.ready = ready;
        }
    }

    /// The granted capabilities' per-app states for app `id`.
    fn app_states(
        &self,
        id: &str,
        settings: &AppSettings,
    ) -> Result<Arc<crate::capabilities::AppStates>, LoadError> {
        let id: Arc<str> = id.into();
        let states = self
            .capabilities
            .load(&id, &settings.grants, &settings.capabilities)?;
        Ok(Arc::new(states))
    }

    /// Serves a handler compiled into the host as app `id`.
    pub fn native(
        &self,
        id: &str,
        app: Arc<dyn NativeApp>,
        settings: &AppSettings,
    ) -> Result<AppVersion, LoadError> {
        let states = self.app_states(id, settings)?;
        let mut version = AppVersion::native(id, app, settings, states)?;
        let states =
            self.capabilities
                .described(&version.id, &version.states, &version.description)?;
        version.states = Arc::new(states);
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::ready_instances;
    use std::time::Duration;

    #[test]
    fn instances_are_made_ahead_only_when_making_one_is_costly() {
        assert_eq!(ready_instances(Duration::from_micros(20), None), 0);
        assert_eq!(ready_instances(Duration::from_micros(50), None), 0);
        assert_eq!(ready_instances(Duration::from_micros(120), None), 2);
        assert_eq!(ready_instances(Duration::from_millis(1), None), 2);
        // The operator's number wins either way.
        assert_eq!(ready_instances(Duration::from_micros(20), Some(3)), 3);
        assert_eq!(ready_instances(Duration::from_millis(1), Some(0)), 0);
    }
}
