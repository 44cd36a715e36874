//! Shared by the end-to-end tests (the suite's `mod support`, see
//! `tests/main.rs`) and the benches (each includes it with `#[path]`), so
//! not every item is used by every binary.
#![allow(dead_code, unused_imports)]

pub mod alertmanager;
pub mod chrome;
pub mod cluster;
mod host;
pub mod moto;
mod native;
pub mod netns;
pub mod openapi;
pub mod postgres;
pub mod prometheus;
pub mod requests;
pub mod serve;
pub mod spygen;
pub mod supervisor;
pub mod upstream;

pub use host::*;
pub use native::NativeHello;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use botyard::build::{BuildOptions, build_guest};

/// The repository root (the host crate's parent).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
}

/// Where guest `name` lives: `apps/<name>` for a shipped app,
/// `examples/<name>` for the `hello-*` starters, else `tests/guests*/<name>`
/// (one such directory per guest language).
pub fn guest_dir(name: &str) -> PathBuf {
    for home in ["apps", "examples"] {
        let dir = repo_root().join(home).join(name);
        if dir.is_dir() {
            return dir;
        }
    }
    let tests = repo_root().join("tests");
    std::fs::read_dir(&tests)
        .expect("reading tests/")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("guests"))
        .map(|e| e.path().join(name))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no test guest `{name}` in examples/ or tests/guests*/"))
}

/// The component for a test guest (see [`guest_dir`]), built with
/// `build_guest` whatever its language. Built once per process; the toolchain cache
/// under the cargo target dir is shared by every test binary, so only the
/// first build of a run compiles the wasm standard library.
pub fn guest_component(name: &str) -> PathBuf {
    type Slot = Arc<Mutex<Option<PathBuf>>>;
    static BUILT: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    // One slot per guest, held while it builds: parallel tests asking for
    // the same guest wait for one build instead of queueing identical ones
    // on the build lock, and a test asking for a guest already built is
    // never kept waiting behind another guest's build (a Python one takes
    // minutes). Builds themselves are one at a time: the shared build
    // directory's lock (`botyard::build`) serialises them.
    let slot = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name.to_string())
        .or_default()
        .clone();
    let mut built = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    let crate_dir = guest_dir(name);
    let opts = BuildOptions {
        data_dir: shared_build_dir(),
        release: true,
    };
    let path = build_guest(&crate_dir, &opts)
        .unwrap_or_else(|e| panic!("building guest `{name}` from {}:\n{e}", crate_dir.display()));
    *built = Some(path.clone());
    path
}

/// The build directory every test binary shares (`--build-dir`): guest
/// toolchains install and components compile once per run, not per test.
pub fn shared_build_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-build")
}

/// The compiled-component cache under [`shared_build_dir`], as `--build-dir` sets it.
pub fn compile_cache_dir() -> PathBuf {
    shared_build_dir().join("cache").join("components")
}

/// Installs Debian `package` unless `probe` finds what it provides;
/// parallel tests wait for one install. Returns what `probe` found.
pub fn install_once<T: Clone>(package: &str, probe: impl Fn() -> Option<T>) -> T {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = probe() {
        return found;
    }
    for args in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", package][..],
    ] {
        let out = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300", "-q"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .expect("running apt-get");
        assert!(
            out.status.success(),
            "apt-get {args:?} failed (the tests need Debian's {package}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    probe().unwrap_or_else(|| panic!("{package} is usable after installing it"))
}

/// Serves `host`'s webhook receiver on a free loopback port, as `serve`
/// mounts it: the base URL (`http://127.0.0.1:PORT`), and the server's task
/// (abort it to stop).
pub async fn serve_webhooks(host: &botyard::host::Host) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = host.webhook_receiver();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    (url, server)
}

/// This test binary again, running only test `name` of `module` (its
/// `module_path!()`) with its output shown: for a test that needs
/// a process of its own (killed with SIGKILL, or alone with process-wide
/// state). Libtest knows the test by its module path without the crate's
/// name (`storage::name` in the suite).
pub fn rerun(module: &str, name: &str) -> Command {
    let test = match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_string(),
    };
    let mut child = Command::new(std::env::current_exe().expect("the test binary's path"));
    child.args(["--exact", &test, "--nocapture"]);
    child
}

/// Set in a child that [`alone`] started, to the test it runs.
const ALONE: &str = "BOTYARD_TEST_ALONE";

/// For a test that needs the process to itself, e.g. one counting exactly
/// what the process-wide metrics recorder saw, which every test in the
/// suite records to once one installed it. Called first thing in test
/// `name` of `module` (its `module_path!()`): outside the child it runs this
/// test binary again with just that test, fails if the child did, and
/// returns `true` (the test is then done); in the child it returns `false`
/// and the test runs.
pub fn alone(module: &str, name: &str) -> bool {
    let test = format!("{module}::{name}");
    if std::env::var_os(ALONE).is_some_and(|t| t == test.as_str()) {
        return false;
    }
    let out = rerun(module, name)
        .arg("--test-threads=1")
        .env(ALONE, &test)
        .stdin(Stdio::null())
        .output()
        .expect("running the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test}, run alone in a child process, failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

/// A number from the environment variable `name`, or `default` when it is
/// unset or not a number: the benches' knobs (`WRK_SECONDS`, `CLUSTER_SECONDS` …).
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A detached `sh` that waits for this test process to end, however it
/// ends (a `kill -9`, a test runner's timeout), then runs `cleanup`. Its
/// own process group keeps it out of signals meant for the test's. `what`
/// names what a missing reaper would leave behind.
pub fn spawn_reaper(cleanup: &str, what: &str) -> Option<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {cleanup}",
        pid = std::process::id()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| eprintln!("no reaper ({e}); a killed test leaves {what} behind"))
        .ok()
}

/// The cleanup of a server started in its own process group: TERM, then
/// KILL for what is left after 3 s.
pub fn group_cleanup(pgid: u32) -> String {
    format!("kill -TERM -- -{pgid} 2>/dev/null; sleep 3; kill -KILL -- -{pgid} 2>/dev/null")
}

/// Sends `signal` (`TERM`, `KILL`) to process group `pgid`.
pub fn kill_group(pgid: u32, signal: &str) {
    Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok();
}

/// A port nothing listens on now, on loopback (whoever binds it next may
/// take it first; callers that start a server retry on another).
pub fn free_port() -> u16 {
    free_port_on(std::net::Ipv4Addr::LOCALHOST)
}

/// [`free_port`] on `addr` (`127.0.0.2`: a loopback address of its own).
pub fn free_port_on(addr: std::net::Ipv4Addr) -> u16 {
    std::net::TcpListener::bind((addr, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on {addr}: {e}"))
}
