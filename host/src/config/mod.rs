//! `botyard.toml`: where apps live, default limits, and per-app grants and
//! limits. Every field is optional; a missing file means all defaults.
//!
//! ```toml
//! apps_dir = "apps"            # relative to this file; default <data-dir>/apps
//!
//! [limits]                     # defaults for every app
//! deadline_ms = 5000
//! memory_mib = 64
//! wasm_stack_kib = 512
//! ready_instances = 2          # fresh instances made ahead of requests; 0: none;
//!                              # unset: 2 when an instance takes over 50 µs to make
//! # Quotas (0: unlimited); over one, the app gets a typed error, nothing else
//! # is affected. See docs/operating.md, "Quotas".
//! store_bytes = 67_108_864     # keys + values in the app's store (64 MiB)
//! store_keys = 100_000         # keys in the app's store
//! slack_calls_per_minute = 120 # Slack calls, queued or asked, in any 60 s
//! http_requests_per_minute = 600  # outbound HTTP requests in any 60 s
//! webhook_deliveries_kept = 10_000  # oldest settled go first; all pending: 429
//!
//! [apps.hello]                 # app id = component file stem (apps/hello.wasm)
//! grants = ["store", "log"]    # default: slack, store, schedule, log, clock
//! deadline_ms = 2000
//! store_bytes = 268_435_456    # any limit or quota, for this app alone
//!
//! [slack]                     # for `botyard serve`; secrets come from the environment
//! mode = "http"                # or "socket" (Socket Mode, no public URL needed)
//! listen = "127.0.0.1:3000"    # http mode: where Slack's requests arrive
//! api_url = "https://slack.com/api/"
//! connections = 1              # socket mode: 1..=10
//! ```
//!
//! An app may also have `<apps_dir>/<id>.toml` with limits — not grants nor
//! quotas: the operator decides those, not whoever drops files into the apps
//! directory (a quota there is refused, as a grant is).
//!
//! A capability with settings of its own reads them from
//! `[apps.<id>.<capability>]`; each capability parses its own section (see
//! [`crate::capabilities::Capability::AppConfig`]). An app's webhooks are
//! configured in `[apps.<id>.webhooks.<name>]` ([`webhooks`]).
//!
//! ```toml
//! [webhooks]
//! listen = "127.0.0.1:3001"    # serve: where POST /hooks/<app>/<name> is served;
//!                              # default: beside the Slack receiver (http mode)
//! ```
//!
//! ```toml
//! [ops]
//! listen = "127.0.0.1:9090"    # serve: where GET /metrics, /healthz and /readyz
//!                              # are served; default: beside the Slack receiver
//!                              # (http mode), nowhere in socket mode
//! ```
//!
//! ```toml
//! [audit]
//! keep_days = 90               # serve and dev prune older audit rows (at start,
//!                              # then hourly); 0: keep them forever
//! ```
//!
//! **Published configuration.** The cluster-wide part of this file — the
//! top-level `limits`, `apps`, `permissions` and `audit` — may also come
//! from the database (`botyard publish --cluster-config`, see
//! [`PublishedLayer`]), so one change reaches every replica. The rest
//! (`storage`, `slack`, `webhooks`, `ops`, `apps_dir`) is per machine and
//! stays in each replica's own file.
//!
//! ```toml
//! [storage]                    # where the data lives ([`storage`]); read at start
//! backend = "postgres"         # default "sqlite": <data-dir>/botyard.db
//! url = "${env:BOTYARD_DATABASE_URL}"  # never a password written out
//! replica = "bot-1"            # default: the host name
//! ```

pub mod permissions;
pub mod storage;
pub mod webhooks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::capabilities::{self, AppConfigs};
use crate::contract::grants::Grants;
use crate::contract::limits::{LimitOverrides, Limits};

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid botyard configuration: {message}")]
    Invalid { path: PathBuf, message: String },
    /// This machine's file is valid, but not with the published
    /// configuration over it (or the published document itself is not).
    #[error("{path} with the published configuration {version} is not valid here: {message}")]
    Published {
        path: PathBuf,
        /// The published configuration's short hash.
        version: String,
        message: String,
    },
}

/// The top-level keys of `botyard.toml` that are the same on every replica
/// and may be published (`botyard publish --cluster-config`): what apps may
/// do and how much (`limits`, `apps`), who may run what (`permissions`) and
/// how long the audit log keeps it (`audit`) — decisions about the bot, not
/// about the machine, which differ between replicas only by mistake.
pub const CLUSTER_KEYS: [&str; 4] = ["limits", "apps", "permissions", "audit"];

/// The top-level keys that stay in each replica's own file: where its data
/// lives (`storage`, with its credentials), how it reaches Slack and where
/// it listens (`slack`, `webhooks`, `ops`), and its apps directory. They
/// name this machine's addresses and secrets, most are read at start only,
/// and one wrong value published would take every replica down at once.
pub const PER_MACHINE_KEYS: [&str; 5] = ["storage", "slack", "webhooks", "ops", "apps_dir"];

/// The published configuration as a replica applies it: its version (the
/// sha256 of its text) and its document.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedLayer {
    pub hash: String,
    pub table: toml::Table,
}

impl PublishedLayer {
    /// Checks a document for publishing — and, on a replica, before
    /// applying it: valid TOML, only [`CLUSTER_KEYS`] at the top level (a
    /// per-machine key is refused, naming it), and valid configuration on
    /// its own, i.e. over an empty local file. Messages are
    /// [`Config::parse`]'s; secrets stay references, resolved on each
    /// replica.
    pub fn parse(hash: &str, text: &str) -> Result<PublishedLayer, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        for key in table.keys() {
            if PER_MACHINE_KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "`{key}` is per machine and cannot be published: keep it in each replica's \
                     own botyard.toml (a published configuration holds only {})",
                    CLUSTER_KEYS.join(", ")
                ));
            }
            if !CLUSTER_KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "unknown key `{key}`: a published configuration holds only {}",
                    CLUSTER_KEYS.join(", ")
                ));
            }
        }
        let (base, apps) = (Path::new("."), Path::new("apps"));
        Config::parse(text, base, apps)?;
        let alone = overlay(&toml::Table::new(), &table);
        Config::parse(&to_text(&alone)?, base, apps)?;
        Ok(PublishedLayer {
            hash: hash.to_string(),
            table,
        })
    }
}

/// The effective document on a replica: `local` (its own file) with each
/// of the [`CLUSTER_KEYS`] the published document has replaced wholesale —
/// the published `[apps]` is all of `[apps]`, not merged app by app, so
/// what the cluster says is what every replica runs. A cluster-wide key
/// the published document does not have keeps the local one: publishing
/// only `[permissions]` leaves each replica's limits alone. Nothing else
/// of the published document is taken.
pub fn overlay(local: &toml::Table, published: &toml::Table) -> toml::Table {
    let mut merged = local.clone();
    for key in CLUSTER_KEYS {
        if let Some(value) = published.get(key) {
            merged.insert(key.to_string(), value.clone());
        }
    }
    merged
}

/// A document back to text, for [`Config::parse`].
fn to_text(table: &toml::Table) -> Result<String, String> {
    toml::to_string(table).map_err(|e| e.to_string())
}

/// The whole host configuration, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub apps_dir: PathBuf,
    pub default_limits: Limits,
    pub apps: BTreeMap<String, AppConfig>,
    pub slack: SlackConfig,
    pub webhooks: WebhooksConfig,
    pub ops: OpsConfig,
    pub audit: AuditConfig,
    /// `[storage]`: SQLite in the data directory, or PostgreSQL. Read at
    /// start only: changing it takes a restart.
    pub storage: storage::StorageConfig,
    /// Where compiled components are cached; `None` means
    /// `<data-dir>/cache/components`. Not read from the file: `--build-dir`
    /// sets it, so data directories sharing a build directory share
    /// compiled code too.
    pub compile_cache_dir: Option<PathBuf>,
    /// `[permissions]`: who may run what, where.
    pub permissions: permissions::Permissions,
    /// Each `[apps.<id>]` as written, to tell which apps a new version of
    /// the file changes.
    pub app_tables: BTreeMap<String, toml::Table>,
    /// The file this came from, to read it again when it changes; `None`
    /// for configuration built in code.
    pub origin: Option<Origin>,
    /// This machine's own document, as written (before the published
    /// layer): what a new published layer goes over when the configuration
    /// was not read from a file.
    pub local: toml::Table,
    /// The published configuration applied over the local document, if
    /// any (see [`overlay`]); [`Config::reread`] applies it again over the
    /// edited file.
    pub published: Option<PublishedLayer>,
}

/// Where a [`Config`] was read from (see [`Config::load`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub path: PathBuf,
    pub required: bool,
    pub default_apps_dir: PathBuf,
}

/// How `botyard serve` reaches Slack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlackMode {
    /// Slack POSTs signed requests to `listen` (needs a public URL in front).
    #[default]
    Http,
    /// The host dials out to Slack over WebSockets (Socket Mode).
    Socket,
}

/// `[slack]` in `botyard.toml`. Tokens and the signing secret are never
/// configured here: they come from the environment so they stay out of files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    pub mode: SlackMode,
    pub listen: String,
    pub api_url: String,
    pub connections: u8,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            mode: SlackMode::Http,
            listen: "127.0.0.1:3000".into(),
            api_url: "https://slack.com/api/".into(),
            connections: 1,
        }
    }
}

/// `[webhooks]` in `botyard.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Where `botyard serve` serves the webhook endpoints. Unset: on the
    /// Slack receiver's address in http mode; in socket mode (no listener)
    /// webhooks then need this.
    pub listen: Option<String>,
}

/// `[ops]` in `botyard.toml`: where the operator's endpoints are served.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Where `botyard serve` serves `GET /metrics`, `/healthz` and
    /// `/readyz`. Unset: on the Slack receiver's address in http mode; not
    /// served in socket mode (there is no listener) unless this is set.
    pub listen: Option<String>,
}

/// `[audit]` in `botyard.toml`: how long the audit log keeps invocations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days an invocation stays in the audit log; older rows are pruned in
    /// the background by a host that prunes (`serve`, `dev`). 0: forever.
    pub keep_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { keep_days: 90 }
    }
}

impl AuditConfig {
    /// How long rows are kept; `None`: forever.
    pub fn retention(&self) -> Option<std::time::Duration> {
        (self.keep_days > 0)
            .then(|| std::time::Duration::from_secs(u64::from(self.keep_days) * 24 * 60 * 60))
    }
}

/// `[apps.<id>]` in `botyard.toml`.
#[derive(Clone, Default)]
pub struct AppConfig {
    /// `None`: the capabilities granted by default.
    pub grants: Option<Grants>,
    pub limits: LimitOverrides,
    /// The capabilities' own sections, `[apps.<id>.<capability>]`.
    pub capabilities: AppConfigs,
    /// `[apps.<id>.webhooks.<name>]`, by name.
    pub webhooks: BTreeMap<String, webhooks::WebhookConfig>,
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("grants", &self.grants)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Everything the runtime needs to know about one app from the operator.
#[derive(Clone)]
pub struct AppSettings {
    pub grants: Grants,
    pub limits: Limits,
    pub capabilities: AppConfigs,
}

impl AppSettings {
    /// What an app gets when `botyard.toml` says nothing about it.
    pub fn defaults() -> AppSettings {
        AppSettings {
            grants: capabilities::default_grants(),
            limits: Limits::default(),
            capabilities: AppConfigs::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    apps_dir: Option<PathBuf>,
    #[serde(default)]
    limits: LimitOverrides,
    #[serde(default)]
    apps: BTreeMap<String, toml::Table>,
    #[serde(default)]
    slack: SlackConfig,
    #[serde(default)]
    webhooks: WebhooksConfig,
    #[serde(default)]
    ops: OpsConfig,
    #[serde(default)]
    audit: AuditConfig,
    #[serde(default)]
    storage: storage::File,
    permissions: Option<toml::Value>,
}

/// The keys of `[apps.<id>]` that are limits.
const LIMIT_KEYS: [&str; 9] = [
    "deadline_ms",
    "memory_mib",
    "wasm_stack_kib",
    "ready_instances",
    "store_bytes",
    "store_keys",
    "slack_calls_per_minute",
    "http_requests_per_minute",
    "webhook_deliveries_kept",
];

/// Parses `[apps.<id>]`: grants, limits, and the capabilities' sections.
fn app_config(id: &str, table: &toml::Table) -> Result<AppConfig, String> {
    let (capabilities, rest) = AppConfigs::parse(id, table).map_err(|e| e.to_string())?;
    let mut grants = None;
    let mut limits = toml::Table::new();
    let mut hooks = BTreeMap::new();
    for key in rest {
        let value = &table[&key];
        match key.as_str() {
            "grants" => {
                let names: Vec<String> = value
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| format!("[apps.{id}] grants: {}", e.message()))?;
                let mut set = Grants::new();
                for name in names {
                    set.insert(
                        capabilities::name(&name)
                            .map_err(|e| format!("[apps.{id}] grants: {e}"))?,
                    );
                }
                grants = Some(set);
            }
            k if LIMIT_KEYS.contains(&k) => {
                limits.insert(key.clone(), value.clone());
            }
            "webhooks" => hooks = webhooks::parse(id, value)?,
            other => {
                return Err(format!(
                    "[apps.{id}]: unknown key `{other}`; expected grants, {}, webhooks, or a capability's section ({})",
                    LIMIT_KEYS.join(", "),
                    capabilities::NAMES.join(", ")
                ));
            }
        }
    }
    let limits: LimitOverrides = limits
        .try_into()
        .map_err(|e: toml::de::Error| format!("[apps.{id}]: {}", e.message()))?;
    Ok(AppConfig {
        grants,
        limits,
        capabilities,
        webhooks: hooks,
    })
}

impl Config {
    /// Reads `path`; a missing file at the default location is not an error
    /// (`required` says whether the user named it explicitly). Without an
    /// `apps_dir` setting, apps live in `default_apps_dir`.
    pub fn load(
        path: &Path,
        required: bool,
        default_apps_dir: &Path,
    ) -> Result<Config, ConfigError> {
        Self::load_with(path, required, default_apps_dir, None)
    }

    /// [`Config::load`], with `published` over the file (see [`overlay`]):
    /// the file alone invalid is [`ConfigError::Invalid`]; valid, but not
    /// with the layer over it, [`ConfigError::Published`].
    pub fn load_with(
        path: &Path,
        required: bool,
        default_apps_dir: &Path,
        published: Option<PublishedLayer>,
    ) -> Result<Config, ConfigError> {
        let base = path.parent().unwrap_or(Path::new("."));
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.into(),
                    source,
                });
            }
        };
        let mut config = Self::parse_layered(&text, published, base, default_apps_dir, path)?;
        config.origin = Some(Origin {
            path: path.into(),
            required,
            default_apps_dir: default_apps_dir.into(),
        });
        Ok(config)
    }

    /// `text` (the file at `path`) with `published` over it.
    fn parse_layered(
        text: &str,
        published: Option<PublishedLayer>,
        base: &Path,
        default_apps_dir: &Path,
        path: &Path,
    ) -> Result<Config, ConfigError> {
        let invalid = |message| ConfigError::Invalid {
            path: path.into(),
            message,
        };
        let Some(layer) = published else {
            return Self::parse(text, base, default_apps_dir).map_err(invalid);
        };
        let local: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let layered = |message| ConfigError::Published {
            path: path.into(),
            version: layer.hash.chars().take(12).collect(),
            message,
        };
        let merged = to_text(&overlay(&local, &layer.table)).map_err(layered)?;
        let mut config = Self::parse(&merged, base, default_apps_dir).map_err(layered)?;
        config.local = local;
        config.published = Some(layer);
        Ok(config)
    }

    /// Parses configuration text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path, default_apps_dir: &Path) -> Result<Config, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let local: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let default_limits = file
            .limits
            .apply(Limits::default())
            .map_err(|e| format!("[limits]: {e}"))?;
        if !(1..=10).contains(&file.slack.connections) {
            return Err(format!(
                "[slack] connections = {} must be 1..=10",
                file.slack.connections
            ));
        }
        let mut apps = BTreeMap::new();
        for (id, table) in &file.apps {
            let app = app_config(id, table)?;
            app.limits
                .apply(default_limits)
                .map_err(|e| format!("[apps.{id}]: {e}"))?;
            apps.insert(id.clone(), app);
        }
        Ok(Config {
            apps_dir: file
                .apps_dir
                .map_or_else(|| default_apps_dir.to_path_buf(), |dir| base.join(dir)),
            default_limits,
            apps,
            slack: file.slack,
            webhooks: file.webhooks,
            ops: file.ops,
            audit: file.audit,
            storage: storage::resolve(file.storage)?,
            compile_cache_dir: None,
            permissions: permissions::Permissions::parse(file.permissions)?,
            app_tables: file.apps,
            origin: None,
            local,
            published: None,
        })
    }

    /// Reads the file this configuration came from again, keeping what is
    /// not read from the file (the compile cache directory); `None` when it
    /// was not read from a file.
    /// The published layer this configuration has, if any, goes over the
    /// file again.
    pub fn reread(&self) -> Option<Result<Config, ConfigError>> {
        self.origin.as_ref()?;
        Some(self.reread_with(self.published.clone()))
    }

    /// This machine's configuration again with `published` over it instead
    /// of the current layer (`None`: the local file alone): the file read
    /// again, or for configuration built in code, its own document. What
    /// is not read from the file (the compile cache directory) is kept, and
    /// so is the apps directory of configuration built in code.
    pub fn reread_with(&self, published: Option<PublishedLayer>) -> Result<Config, ConfigError> {
        let mut next = match &self.origin {
            Some(origin) => Config::load_with(
                &origin.path,
                origin.required,
                &origin.default_apps_dir,
                published,
            )?,
            None => {
                let path = Path::new("botyard.toml");
                let text = to_text(&self.local).map_err(|message| ConfigError::Invalid {
                    path: path.into(),
                    message,
                })?;
                let mut next =
                    Self::parse_layered(&text, published, Path::new("."), &self.apps_dir, path)?;
                next.apps_dir = self.apps_dir.clone();
                next
            }
        };
        next.compile_cache_dir = self.compile_cache_dir.clone();
        Ok(next)
    }

    /// The version of the published configuration applied, if any.
    pub fn published_version(&self) -> Option<&str> {
        self.published.as_ref().map(|layer| layer.hash.as_str())
    }

    /// Whether what `other` says about `app` (its section, default limits)
    /// differs from this configuration: the app must load again to follow.
    pub fn differs_for(&self, other: &Config, app: &str) -> bool {
        self.app_tables.get(app) != other.app_tables.get(app)
            || self.default_limits != other.default_limits
    }

    /// How webhook `name` of `app` is configured, if the operator did.
    pub fn webhook(&self, app: &str, name: &str) -> Option<&webhooks::WebhookConfig> {
        self.apps.get(app)?.webhooks.get(name)
    }

    pub fn grants_for(&self, app: &str) -> Grants {
        self.apps
            .get(app)
            .and_then(|a| a.grants.clone())
            .unwrap_or_else(capabilities::default_grants)
    }

    /// Everything the runtime needs for `app`: grants, limits (see
    /// [`Config::limits_for`]) and its capability sections.
    pub fn settings_for(&self, app: &str) -> Result<AppSettings, ConfigError> {
        Ok(AppSettings {
            grants: self.grants_for(app),
            limits: self.limits_for(app)?,
            capabilities: self
                .apps
                .get(app)
                .map(|a| a.capabilities.clone())
                .unwrap_or_default(),
        })
    }

    /// Limits for `app`: defaults, then `[apps.<id>]`, then `<apps_dir>/<id>.toml`.
    pub fn limits_for(&self, app: &str) -> Result<Limits, ConfigError> {
        let mut limits = self.default_limits;
        if let Some(cfg) = self.apps.get(app) {
            limits = cfg
                .limits
                .apply(limits)
                .expect("validated in Config::parse");
        }
        let path = self.apps_dir.join(format!("{app}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse_app_limits(app, &text, limits)
                .map_err(|message| ConfigError::Invalid { path, message }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(limits),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Applies the text of `<apps_dir>/<app>.toml` over `limits`: what
    /// [`Config::limits_for`] does with that file once read (a public entry
    /// so the fuzz targets, `crate::fuzzing`, reach it without files).
    pub fn parse_app_limits(app: &str, text: &str, limits: Limits) -> Result<Limits, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        if table.contains_key("grants") {
            return Err(format!(
                "grants are set by the operator in botyard.toml ([apps.{app}] grants = [...]), not beside the app"
            ));
        }
        let overrides: LimitOverrides = table.try_into().map_err(|e| e.to_string())?;
        if let Some(quota) = overrides.quotas_set().first() {
            return Err(format!(
                "quotas are set by the operator in botyard.toml ([apps.{app}] {quota} = ...), not beside the app"
            ));
        }
        overrides.apply(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn layers_limits_and_grants() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::parse(
            "apps_dir = \"apps\"\n[limits]\ndeadline_ms = 1000\n[apps.hello]\ngrants = [\"store\"]\nmemory_mib = 8\n",
            dir.path(),
            Path::new("/elsewhere"),
        )
        .unwrap();
        assert_eq!(cfg.apps_dir, dir.path().join("apps"));
        let hello = cfg.limits_for("hello").unwrap();
        assert_eq!(hello.deadline, Duration::from_millis(1000));
        assert_eq!(hello.memory_bytes, 8 << 20);
        assert_eq!(cfg.grants_for("hello"), ["store"].into_iter().collect());
        assert_eq!(cfg.grants_for("other"), capabilities::default_grants());

        std::fs::create_dir_all(&cfg.apps_dir).unwrap();
        std::fs::write(cfg.apps_dir.join("hello.toml"), "deadline_ms = 300\n").unwrap();
        assert_eq!(
            cfg.limits_for("hello").unwrap().deadline,
            Duration::from_millis(300)
        );
        std::fs::write(cfg.apps_dir.join("hello.toml"), "grants = [\"slack\"]\n").unwrap();
        assert!(
            cfg.limits_for("hello")
                .unwrap_err()
                .to_string()
                .contains("botyard.toml")
        );
    }

    #[test]
    fn quotas_are_limits_the_operator_alone_sets() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::parse(
            "apps_dir = \"apps\"\n[limits]\nstore_bytes = 1_000_000\n[apps.hog]\nslack_calls_per_minute = 5\nstore_keys = 0\n",
            dir.path(),
            Path::new("/elsewhere"),
        )
        .unwrap();
        let hog = cfg.limits_for("hog").unwrap().quotas;
        assert_eq!(hog.store_bytes, 1_000_000, "from [limits]");
        assert_eq!(hog.slack_calls_per_minute, 5);
        assert_eq!(hog.store_keys, 0, "0: unlimited");
        assert_eq!(
            cfg.limits_for("other")
                .unwrap()
                .quotas
                .slack_calls_per_minute,
            crate::contract::limits::Quotas::default().slack_calls_per_minute
        );
        // Beside the app, limits may be set but quotas may not.
        std::fs::create_dir_all(&cfg.apps_dir).unwrap();
        std::fs::write(cfg.apps_dir.join("hog.toml"), "deadline_ms = 300\n").unwrap();
        assert!(cfg.limits_for("hog").is_ok());
        std::fs::write(cfg.apps_dir.join("hog.toml"), "store_bytes = 999999999\n").unwrap();
        let refused = cfg.limits_for("hog").unwrap_err().to_string();
        assert!(
            refused.contains("botyard.toml") && refused.contains("[apps.hog] store_bytes"),
            "{refused}"
        );
        let bad = Config::parse(
            "[apps.hog]\nhttp_requests_per_minute = -1\n",
            dir.path(),
            dir.path(),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn audit_keeps_90_days_unless_told() {
        let parse = |text| Config::parse(text, Path::new("."), Path::new("apps"));
        let days = |d: u64| Some(Duration::from_secs(d * 86_400));
        assert_eq!(parse("").unwrap().audit.retention(), days(90));
        let week = parse("[audit]\nkeep_days = 7\n").unwrap();
        assert_eq!(week.audit.retention(), days(7));
        let forever = parse("[audit]\nkeep_days = 0\n").unwrap();
        assert_eq!(forever.audit.retention(), None);
        assert!(
            parse("[audit]\nkeep = 7\n")
                .unwrap_err()
                .contains("keep_days")
        );
    }

    #[test]
    fn rejects_unknown_keys_and_capabilities() {
        let parse = |text| Config::parse(text, Path::new("."), Path::new("apps"));
        assert_eq!(parse("").unwrap().apps_dir, Path::new("apps"));
        assert!(
            parse("[apps.x]\ngrant = []\n")
                .unwrap_err()
                .contains("grant")
        );
        let unknown = parse("[apps.x]\ngrants = [\"files\"]\n").unwrap_err();
        assert!(
            unknown.contains("`files`") && unknown.contains("store"),
            "{unknown}"
        );
        assert!(
            parse("[apps.x.store]\nquota = 1\n")
                .unwrap_err()
                .contains("[apps.x.store]")
        );
        assert!(
            parse("[limits]\ndeadline_ms = 0\n")
                .unwrap_err()
                .contains("deadline_ms")
        );
    }
}
