//! An in-process host over a temporary data directory, for tests and benches.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use botyard::config::Config;
use botyard::contract::request::Response;
use botyard::host::{Host, HostBuilder};
use botyard::routing::{Apps, CallContext, CallError, CommandAnswer};

use super::guest_component;

pub struct TestHost {
    dir: tempfile::TempDir,
    config: String,
    /// Whether compiled components go to the run-wide cache (the default:
    /// big JS and Python components compile once per run) or to this data
    /// directory's own.
    shared_compile_cache: bool,
}

impl TestHost {
    /// A data directory with `botyard.toml` = `config` and, in its apps
    /// directory, each `(id, guest)` built and copied as `<id>.wasm`.
    pub fn new(config: &str, apps: &[(&str, &str)]) -> TestHost {
        let dir = tempfile::tempdir().expect("creating a temporary data directory");
        let host = TestHost {
            dir,
            config: config.into(),
            shared_compile_cache: true,
        };
        std::fs::create_dir_all(host.apps_dir()).unwrap();
        for (id, guest) in apps {
            std::fs::copy(
                guest_component(guest),
                host.apps_dir().join(format!("{id}.wasm")),
            )
            .unwrap();
        }
        host
    }

    /// Puts the component file `path` (e.g. a fixture in `tests/fixtures/`)
    /// in the apps directory as `<id>.wasm`.
    pub fn with_component(self, id: &str, path: &Path) -> TestHost {
        std::fs::copy(path, self.apps_dir().join(format!("{id}.wasm")))
            .unwrap_or_else(|e| panic!("copying {}: {e}", path.display()));
        self
    }

    /// Compiles into this data directory's own cache, so a first start
    /// really compiles.
    pub fn private_compile_cache(mut self) -> TestHost {
        self.shared_compile_cache = false;
        self
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn apps_dir(&self) -> PathBuf {
        self.dir.path().join("apps")
    }

    /// A host over this directory, to add to (natives, hooks) and start.
    pub fn builder(&self) -> HostBuilder {
        let mut config =
            Config::parse(&self.config, self.data_dir(), &self.apps_dir()).expect("test config");
        if self.shared_compile_cache {
            config.compile_cache_dir = Some(super::compile_cache_dir());
        }
        Host::builder(config, self.data_dir())
    }

    /// Starts a host over this directory and loads its apps. Calling it again
    /// is a restart: same database, same apps directory, fresh everything else.
    pub async fn start(&self) -> Arc<Apps> {
        self.builder()
            .start()
            .await
            .expect("starting the host")
            .apps()
            .clone()
    }
}

/// Runs `line` as `user` in channel C1 and returns the reply's text.
pub async fn reply_text(runtime: &Apps, line: &str, user: &str) -> Result<String, CallError> {
    let ctx = CallContext {
        user: user.into(),
        channel: "C1".into(),
        trigger_id: None,
    };
    match runtime.call_command(line, &ctx).await? {
        CommandAnswer::Help(text) => Ok(text),
        CommandAnswer::App { invocation, .. } => match invocation.response {
            Response::Command(reply) => Ok(reply.map(|r| r.message.text).unwrap_or_default()),
            other => panic!("a command answered {other:?}"),
        },
    }
}
