//! One loaded version of an app: compiled, checked against its grants and
//! the triggers the host knows, pre-instantiated and described, ready to
//! serve invocations.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use thiserror::Error;
use wasmtime::component::{Component, InstancePre};

use super::cache::{CodeSource, ComponentCache};
use super::engine::{Engines, Image};
use super::invoke::InvokeError;
use super::spares::Spares;
use super::state::HostState;
use crate::capabilities::{self, AppStates, GrantError, Invocation, Uses, wasi::is_wasi_import};
use crate::config::AppSettings;
use crate::contract::bindings::{handler, phrases, settings_schema, shortcuts, webhooks};
use crate::contract::description::Description;
use crate::contract::grants::{Grants, interface_of};
use crate::contract::limits::Limits;
use crate::contract::request::{Request, Response};

/// A handler written in Rust and compiled into the host, served through the
/// same hooks, capabilities and audit log as wasm apps (the native baseline
/// in benchmarks, and host-side demonstrations in tests).
pub trait NativeApp: Send + Sync {
    fn describe(&self) -> Description;
    fn handle<'a>(
        &'a self,
        invocation: &'a mut Invocation,
        request: Request,
    ) -> BoxFuture<'a, Result<Response, String>>;
}

/// Where an app version's handlers come from.
pub enum AppCode {
    /// Boxed: the compiled form is large and natives are common in tests.
    Wasm(Box<WasmCode>),
    Native(Arc<dyn NativeApp>),
}

/// A compiled component and what it exports.
pub struct WasmCode {
    pub pre: InstancePre<HostState>,
    pub engine: wasmtime::Engine,
    /// The required `handler` export.
    pub handler: handler::GuestIndices,
    /// Optional triggers, `None` when the component does not export them.
    pub triggers: Triggers,
    /// Whether the machine code was compiled at load or mapped from the cache.
    pub source: CodeSource,
    /// Instances made ahead of the requests that will use them.
    pub spares: Arc<Spares>,
    /// How many instances are kept made ahead: the app's `ready_instances`,
    /// or, unset, decided at load from [`WasmCode::instantiation`].
    pub ready: usize,
    /// What making one instance took at load, measured warm.
    pub instantiation: std::time::Duration,
}

/// The optional interfaces a component exports: triggers (`shortcuts`,
/// `webhooks`) and declarations (`settings-schema`). A new kind of trigger
/// is one field here, one entry in [`TRIGGERS`], and its dispatch in
/// `invoke`.
#[derive(Clone, Default)]
pub struct Triggers {
    pub shortcuts: Option<shortcuts::GuestIndices>,
    pub webhooks: Option<webhooks::GuestIndices>,
    pub settings_schema: Option<settings_schema::GuestIndices>,
    pub phrases: Option<phrases::GuestIndices>,
}

impl Triggers {
    /// The names of the optional exports, for `botyard apps`.
    pub fn names(&self) -> Vec<&'static str> {
        let exported = [
            ("shortcuts", self.shortcuts.is_some()),
            ("webhooks", self.webhooks.is_some()),
            ("settings-schema", self.settings_schema.is_some()),
            ("phrases", self.phrases.is_some()),
        ];
        exported
            .into_iter()
            .filter_map(|(name, yes)| yes.then_some(name))
            .collect()
    }
}

/// Every export interface of `botyard:app` the host knows: the handler every
/// app has, then the optional ones.
const TRIGGERS: &[&str] = &[
    "handler",
    "shortcuts",
    "webhooks",
    "settings-schema",
    "phrases",
];

/// A loaded app version. Immutable: a reload builds a new one and swaps it
/// in, while invocations already running keep the `Arc` they started with.
pub struct AppVersion {
    /// The app's id: its component's file stem; its storage namespace.
    pub id: Arc<str>,
    /// Hex SHA-256 of the component (or `native`).
    /// Shared: every invocation's log and audit rows carry it.
    pub hash: Arc<str>,
    pub description: Description,
    pub grants: Grants,
    /// Which functions of which capabilities it calls (for the manifest's
    /// Slack scopes).
    pub uses: Uses,
    pub limits: Limits,
    /// The granted capabilities' per-app states.
    pub states: Arc<AppStates>,
    pub code: AppCode,
}

/// Why a version was not loaded. The previous version, if any, keeps serving.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error(
        "`{0}` is not a valid app id: use lowercase letters, digits and `-` (it comes from the file name)"
    )]
    BadId(String),
    #[error(
        "this is a core wasm module, not a component; build it with `botyard build <crate-dir>`"
    )]
    CoreModule,
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    #[error(
        "imports `{interface}`, which is not granted to this app; grant it in botyard.toml: [apps.{app}] grants = [..., \"{capability}\"]"
    )]
    NotGranted {
        app: String,
        interface: String,
        capability: &'static str,
    },
    #[error(
        "imports `{0}`, which botyard does not provide (apps may import botyard:app/{{{names}}} and WASI 0.2, which grants nothing ambient)",
        names = capabilities::NAMES.join(",")
    )]
    UnknownImport(String),
    #[error(
        "exports `{0}`, a botyard trigger this host does not know (built for a newer botyard?); it may export botyard:app/{{{names}}}",
        names = TRIGGERS.join(",")
    )]
    UnknownTrigger(String),
    #[error("does not fit the botyard:app contract: {0}")]
    Contract(String),
    #[error("`describe` failed: {error}{}", logged_lines(.logged))]
    Describe {
        error: InvokeError,
        /// What the app logged while it ran (a Python traceback, a thrown
        /// JavaScript error's stack), which often says more than the trap.
        logged: Vec<String>,
    },
    #[error("`describe` is invalid: {0}")]
    BadDescription(String),
    #[error("{0}")]
    Grant(#[from] GrantError),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// `; it logged: …` with the last lines, or nothing.
fn logged_lines(lines: &[String]) -> String {
    const SHOWN: usize = 5;
    if lines.is_empty() {
        return String::new();
    }
    let shown = &lines[lines.len().saturating_sub(SHOWN)..];
    format!("; it logged: {}", shown.join(" | "))
}

impl AppVersion {
    /// Where the machine code came from; `None` for native apps.
    pub fn code_source(&self) -> Option<CodeSource> {
        match &self.code {
            AppCode::Wasm(code) => Some(code.source),
            AppCode::Native(_) => None,
        }
    }

    /// The optional triggers exported (none for native apps).
    pub fn triggers(&self) -> Triggers {
        match &self.code {
            AppCode::Wasm(code) => code.triggers.clone(),
            AppCode::Native(_) => Triggers::default(),
        }
    }

    /// Short hash for display.
    pub fn short_hash(&self) -> &str {
        &self.hash[..self.hash.len().min(12)]
    }

    /// Compiles a component and checks its imports against its grants and
    /// its exports against the triggers the host knows: the CPU-heavy half
    /// of loading, to run on a blocking thread off the request path. The
    /// version is not usable until `describe` has filled it in (see
    /// `Runtime::load`). `hash` is the hex SHA-256 of `bytes`, which the
    /// caller has already computed to tell whether anything changed.
    pub fn compile(
        id: &str,
        bytes: &[u8],
        hash: String,
        settings: &AppSettings,
        states: Arc<AppStates>,
        engines: &Engines,
        cache: &ComponentCache,
    ) -> Result<AppVersion, LoadError> {
        check_id(id)?;
        if is_core_module(bytes) {
            return Err(LoadError::CoreModule);
        }
        let limits = settings.limits;
        let slot = engines
            .for_app(limits.wasm_stack_bytes, Image::of_component(bytes))
            .map_err(|e| LoadError::Contract(format!("{e:#}")))?;
        let (component, source) = cache
            .component(&slot.engine, bytes, &hash)
            .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))?;
        let uses = check_imports(id, &component, &slot.engine, &settings.grants)?;
        check_exports(&component, &slot.engine)?;
        let pre = slot
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Contract(format!("{e:#}")))?;
        let handler =
            handler::GuestIndices::new(&pre).map_err(|e| LoadError::Contract(format!("{e:#}")))?;
        let triggers = Triggers {
            shortcuts: optional_trigger(&pre, "shortcuts", shortcuts::GuestIndices::new)?,
            webhooks: optional_trigger(&pre, "webhooks", webhooks::GuestIndices::new)?,
            settings_schema: optional_trigger(
                &pre,
                "settings-schema",
                settings_schema::GuestIndices::new,
            )?,
            phrases: optional_trigger(&pre, "phrases", phrases::GuestIndices::new)?,
        };
        Ok(AppVersion {
            id: id.into(),
            hash: hash.into(),
            description: Description::empty(),
            grants: settings.grants.clone(),
            uses,
            limits,
            states,
            code: AppCode::Wasm(Box::new(WasmCode {
                pre,
                engine: slot.engine,
                handler,
                triggers,
                source,
                spares: Arc::default(),
                ready: limits.ready_instances.unwrap_or(0),
                instantiation: std::time::Duration::ZERO,
            })),
        })
    }

    /// Wraps a native handler.
    pub fn native(
        id: &str,
        app: Arc<dyn NativeApp>,
        settings: &AppSettings,
        states: Arc<AppStates>,
    ) -> Result<AppVersion, LoadError> {
        check_id(id)?;
        let description = app.describe();
        description.check().map_err(LoadError::BadDescription)?;
        Ok(AppVersion {
            id: id.into(),
            hash: "native".into(),
            description,
            grants: settings.grants.clone(),
            uses: Uses::all_of(&settings.grants),
            limits: settings.limits,
            states,
            code: AppCode::Native(app),
        })
    }
}

/// An optional trigger's export indices: `None` when the component does not
/// export it at all, an error when it exports it with another shape.
fn optional_trigger<I>(
    pre: &InstancePre<HostState>,
    name: &str,
    indices: impl FnOnce(&InstancePre<HostState>) -> wasmtime::Result<I>,
) -> Result<Option<I>, LoadError> {
    let exported = pre
        .component()
        .component_type()
        .exports(pre.engine())
        .any(|(export, _)| interface_of(export) == Some(name));
    if !exported {
        return Ok(None);
    }
    indices(pre)
        .map(Some)
        .map_err(|e| LoadError::Contract(format!("its `{name}` export: {e:#}")))
}

fn check_id(id: &str) -> Result<(), LoadError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(LoadError::BadId(id.into()))
    }
}

/// A core module starts with the same magic as a component but a different
/// layer field; telling them apart gives a far better error.
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [0, 0]
}

/// Checks every import against the grants; returns which functions of
/// which capabilities the component calls.
fn check_imports(
    id: &str,
    component: &Component,
    engine: &wasmtime::Engine,
    grants: &Grants,
) -> Result<Uses, LoadError> {
    let mut uses = Uses::default();
    for (name, item) in component.component_type().imports(engine) {
        match interface_of(name) {
            Some("types") => {}
            Some(interface) => match capabilities::name(interface) {
                Ok(capability) if grants.contains(capability) => {
                    let functions = match item.ty {
                        wasmtime::component::types::ComponentItem::ComponentInstance(instance) => {
                            instance
                                .exports(engine)
                                .map(|(f, _)| f.to_string())
                                .collect()
                        }
                        _ => Vec::new(),
                    };
                    uses.0.insert(capability, functions);
                }
                Ok(capability) => {
                    return Err(LoadError::NotGranted {
                        app: id.into(),
                        interface: name.into(),
                        capability,
                    });
                }
                Err(_) => return Err(LoadError::UnknownImport(name.into())),
            },
            None if is_wasi_import(name) => {}
            None => return Err(LoadError::UnknownImport(name.into())),
        }
    }
    Ok(uses)
}

/// Exports of `botyard:app` interfaces must be triggers the host knows; other
/// exports (a toolchain's own, such as componentize-qjs's `init`) are
/// ignored.
fn check_exports(component: &Component, engine: &wasmtime::Engine) -> Result<(), LoadError> {
    for (name, _) in component.component_type().exports(engine) {
        if let Some(interface) = interface_of(name)
            && !TRIGGERS.contains(&interface)
        {
            return Err(LoadError::UnknownTrigger(name.into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_file_names_and_are_checked() {
        assert!(check_id("hello-rust2").is_ok());
        for bad in ["", "Hello", "a b", "x/y", "a.b"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_failed_describe_says_what_the_app_logged_last() {
        let error = InvokeError::Crashed {
            app: "py".into(),
            message: "it panicked".into(),
        };
        let bare = LoadError::Describe {
            error: error.clone(),
            logged: vec![],
        };
        assert_eq!(
            bare.to_string(),
            "`describe` failed: app `py` crashed: it panicked"
        );
        let logged = LoadError::Describe {
            error,
            logged: (1..=7).map(|n| format!("line {n}")).collect(),
        };
        let text = logged.to_string();
        assert!(
            text.ends_with("; it logged: line 3 | line 4 | line 5 | line 6 | line 7"),
            "{text}"
        );
    }

    #[test]
    fn tells_core_modules_from_components() {
        assert!(is_core_module(b"\0asm\x01\0\0\0"));
        assert!(!is_core_module(b"\0asm\x0d\0\x01\0"));
    }
}
