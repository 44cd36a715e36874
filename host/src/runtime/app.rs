//! One loaded version of an app: compiled, checked against its grants,
//! pre-instantiated and described, ready to serve invocations.

use std::sync::Arc;

use thiserror::Error;

use super::bindings::AppPre;
use super::bindings::types::AppInfo;
use super::spares::Spares;
use wasmtime::component::Component;

use super::cache::{CodeSource, ComponentCache};
use super::engine::{Engines, Image};
use super::invoke::{InvokeEnv, InvokeError, Request, Response, invoke};
use super::limits::Limits;
use crate::capabilities::wasi::is_wasi_import;
use crate::capabilities::{Capability, Grants, HostState};

/// A handler written in Rust and compiled into the host, served through the
/// same dispatch path, capabilities and audit log as wasm apps (the host's
/// own commands, and the native baseline in benchmarks).
pub trait NativeApp: Send + Sync {
    fn describe(&self) -> AppInfo;
    fn handle(&self, state: &mut HostState, request: Request) -> Result<Response, String>;
}

pub enum AppCode {
    Wasm {
        pre: AppPre<HostState>,
        engine: wasmtime::Engine,
        /// Whether the machine code was compiled at load or mapped from the cache.
        source: CodeSource,
        /// Instances made ahead of the requests that will use them.
        spares: Arc<Spares>,
    },
    Native(Arc<dyn NativeApp>),
}

/// A loaded app version. Immutable: a reload builds a new one and swaps it
/// in, while invocations already running keep the `Arc` they started with.
pub struct AppVersion {
    /// The app's id: its component's file stem; its storage namespace.
    pub id: Arc<str>,
    /// Hex SHA-256 of the component (or `native`).
    pub hash: String,
    pub info: AppInfo,
    pub grants: Grants,
    pub limits: Limits,
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
        capability: Capability,
    },
    #[error(
        "imports `{0}`, which botyard does not provide (apps may import botyard:app/{{slack,store,schedule,log,clock}} and WASI 0.2, which grants nothing ambient)"
    )]
    UnknownImport(String),
    #[error("does not fit the botyard:app contract: {0}")]
    Contract(String),
    #[error("`describe` failed: {0}")]
    Describe(InvokeError),
    #[error("`describe` is invalid: {0}")]
    BadDescription(String),
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

/// How long `describe` may take at load, whatever the app's own deadline.
const DESCRIBE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

impl AppVersion {
    /// Where the machine code came from; `None` for native apps.
    pub fn code_source(&self) -> Option<CodeSource> {
        match &self.code {
            AppCode::Wasm { source, .. } => Some(*source),
            AppCode::Native(_) => None,
        }
    }

    /// Short hash for display.
    pub fn short_hash(&self) -> &str {
        &self.hash[..self.hash.len().min(12)]
    }

    /// Compiles a component and checks it against its grants: the CPU-heavy
    /// half of loading, to run on a blocking thread off the request path.
    /// The version is not usable until [`AppVersion::describe`] fills it in.
    /// `hash` is the hex SHA-256 of `bytes`, which the caller has already
    /// computed to tell whether anything changed.
    pub fn compile(
        id: &str,
        bytes: &[u8],
        hash: String,
        grants: Grants,
        limits: Limits,
        engines: &Engines,
        cache: &ComponentCache,
    ) -> Result<AppVersion, LoadError> {
        check_id(id)?;
        if is_core_module(bytes) {
            return Err(LoadError::CoreModule);
        }
        let slot = engines
            .for_app(limits.wasm_stack_bytes, Image::of_component(bytes))
            .map_err(|e| LoadError::Contract(format!("{e:#}")))?;
        let (component, source) = cache
            .component(&slot.engine, bytes, &hash)
            .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))?;
        check_imports(id, &component, &slot.engine, &grants)?;
        let pre = slot
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Contract(format!("{e:#}")))?;
        let pre = AppPre::new(pre).map_err(|e| LoadError::Contract(format!("{e:#}")))?;
        Ok(AppVersion {
            id: id.into(),
            hash,
            info: empty_info(),
            grants,
            limits,
            code: AppCode::Wasm {
                pre,
                engine: slot.engine,
                source,
                spares: Arc::default(),
            },
        })
    }

    /// Calls `describe` in a sandbox (under a short deadline) and checks what
    /// it says; the second half of loading.
    pub async fn describe(mut self, env: &InvokeEnv) -> Result<AppVersion, LoadError> {
        let limits = self.limits;
        self.limits.deadline = limits.deadline.min(DESCRIBE_DEADLINE);
        let invocation = invoke(&self, env, Request::Describe)
            .await
            .map_err(LoadError::Describe)?;
        let Response::Describe(info) = invocation.response else {
            unreachable!("describe answers with Response::Describe")
        };
        check_info(&info)?;
        self.info = info;
        self.limits = limits;
        Ok(self)
    }

    /// Wraps a native handler.
    pub fn native(
        id: &str,
        app: Arc<dyn NativeApp>,
        grants: Grants,
        limits: Limits,
    ) -> Result<AppVersion, LoadError> {
        check_id(id)?;
        let info = app.describe();
        check_info(&info)?;
        Ok(AppVersion {
            id: id.into(),
            hash: "native".into(),
            info,
            grants,
            limits,
            code: AppCode::Native(app),
        })
    }
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

fn check_imports(
    id: &str,
    component: &Component,
    engine: &wasmtime::Engine,
    grants: &Grants,
) -> Result<(), LoadError> {
    for (name, _) in component.component_type().imports(engine) {
        match Capability::from_import(name) {
            Some(capability) if grants.contains(&capability) => {}
            Some(capability) => {
                return Err(LoadError::NotGranted {
                    app: id.into(),
                    interface: name.into(),
                    capability,
                });
            }
            None if name.starts_with("botyard:app/types") || is_wasi_import(name) => {}
            None => return Err(LoadError::UnknownImport(name.into())),
        }
    }
    Ok(())
}

fn empty_info() -> AppInfo {
    AppInfo {
        name: String::new(),
        description: String::new(),
        commands: vec![],
        subcommands: vec![],
        events: vec![],
        schedules: vec![],
    }
}

/// Slack's own rules for command names, checked at load so a bad name is an
/// error for the author rather than a command that never arrives.
fn check_info(info: &AppInfo) -> Result<(), LoadError> {
    let bad = |m: String| Err(LoadError::BadDescription(m));
    let command_ok = |c: &str| {
        c.len() >= 2
            && c.len() <= 32
            && c.starts_with('/')
            && c[1..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    for c in &info.commands {
        if !command_ok(&c.name) {
            return bad(format!(
                "command `{}` must be `/` + up to 31 of [a-z0-9-_]",
                c.name
            ));
        }
    }
    for s in &info.subcommands {
        if !command_ok(&s.umbrella) {
            return bad(format!(
                "umbrella `{}` must be `/` + up to 31 of [a-z0-9-_]",
                s.umbrella
            ));
        }
        if s.name.is_empty()
            || s.name.chars().any(char::is_whitespace)
            || s.name != s.name.to_lowercase()
        {
            return bad(format!(
                "subcommand `{}` of {} must be one lowercase word",
                s.name, s.umbrella
            ));
        }
    }
    for s in &info.schedules {
        s.cron.parse::<croner::Cron>().map_err(|e| {
            LoadError::BadDescription(format!("schedule `{}`: cron `{}`: {e}", s.name, s.cron))
        })?;
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
    fn tells_core_modules_from_components() {
        assert!(is_core_module(b"\0asm\x01\0\0\0"));
        assert!(!is_core_module(b"\0asm\x0d\0\x01\0"));
    }
}
