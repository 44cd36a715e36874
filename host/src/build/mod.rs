//! `botyard build`: an app's source directory in, a component out.
//!
//! The language is told from the directory (`Cargo.toml` → Rust,
//! `package.json` / `app.js` → JavaScript, `pyproject.toml` / `app.py` →
//! Python); each language module installs its toolchain on first use and
//! leaves the finished component at `<data_dir>/build/out/<name>.wasm`.
//!
//! Builds for one data directory are serialised by [`BuildLock`], and finished
//! components are renamed into place, so readers never see a half-written file.

mod js;
mod python;
mod rust;

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::{info, warn};
use wit_component::DecodedWasm;

pub use rust::componentize;

/// The interface every app must export; checked so a component built without
/// it fails here rather than at load.
const HANDLER_INTERFACE: &str = "botyard:app/handler";

/// botyard's WIT package, embedded so apps build outside a checkout too.
pub const BOTYARD_WIT: &str = include_str!("../../../wit/botyard.wit");

/// Where and how to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// botyard's data directory; toolchains, caches and outputs live under it.
    pub data_dir: PathBuf,
    /// Optimised build (what apps ship with); debug builds are only faster to compile.
    pub release: bool,
}

/// The guest languages botyard builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    JavaScript,
    Python,
}

impl Language {
    /// Tells the language of the app in `dir` from the files it holds.
    pub fn detect(dir: &Path) -> Result<Language, BuildError> {
        let has = |name: &str| dir.join(name).is_file();
        if !dir.is_dir() {
            return Err(BuildError::NotAnApp {
                dir: dir.to_path_buf(),
                reason: "no such directory".into(),
            });
        }
        if has("Cargo.toml") {
            Ok(Language::Rust)
        } else if has("package.json") || has("app.js") {
            Ok(Language::JavaScript)
        } else if has("pyproject.toml") || has("app.py") {
            Ok(Language::Python)
        } else {
            Err(BuildError::NotAnApp {
                dir: dir.to_path_buf(),
                reason: "it holds no Cargo.toml (Rust), package.json or app.js (JavaScript), \
                         nor pyproject.toml or app.py (Python)"
                    .into(),
            })
        }
    }

    /// The name `--lang` takes.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::JavaScript => "js",
            Language::Python => "python",
        }
    }
}

/// Why an app could not be built. Every message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "{} is not a botyard app: {reason}; point `botyard build` at an app's directory, \
         or create one with `botyard new <name> --lang rust|js|python`",
        dir.display()
    )]
    NotAnApp { dir: PathBuf, reason: String },

    #[error("{}: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },

    #[error("no {language} toolchain here can build botyard apps ({found}). Install one: {hint}")]
    NoToolchain {
        language: &'static str,
        found: String,
        hint: String,
    },

    #[error("installing {what} failed (`{command}`):\n{output}\nInstall it by hand: {hint}")]
    Install {
        what: String,
        command: String,
        output: String,
        hint: String,
    },

    #[error("could not run `{program}`: {error}; check that it is installed and on PATH")]
    Spawn { program: String, error: io::Error },

    #[error("{app} failed to build; fix the errors below and build again:\n{output}")]
    Compile { app: String, output: String },

    #[error("the build of {app} left no {}; {hint}", path.display())]
    MissingArtifact {
        app: String,
        path: PathBuf,
        hint: String,
    },

    #[error("cannot make a botyard component from this module: {reason}")]
    Componentize { reason: String },

    #[error(
        "cannot {action} {}: {error}; check the permissions and free space of the botyard data directory",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
}

impl BuildError {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BuildError + 'a {
        move |error| BuildError::Io {
            action,
            path: path.to_path_buf(),
            error,
        }
    }
}

/// Builds the app in `dir`, whatever its language, and returns the path of
/// the finished component. Installs the language's toolchain on first use.
/// Safe to call from several processes at once with the same data directory.
pub fn build_guest(dir: &Path, opts: &BuildOptions) -> Result<PathBuf, BuildError> {
    match Language::detect(dir)? {
        Language::Rust => rust::build(dir, opts),
        Language::JavaScript => js::build(dir, opts),
        Language::Python => python::build(dir, opts),
    }
}

/// `<data_dir>/build`, absolute (tools run in the app's directory), created.
fn build_dir(opts: &BuildOptions) -> Result<PathBuf, BuildError> {
    let dir = std::path::absolute(opts.data_dir.join("build"))
        .map_err(BuildError::io("resolve", &opts.data_dir))?;
    fs::create_dir_all(&dir).map_err(BuildError::io("create", &dir))?;
    Ok(dir)
}

/// Writes [`BOTYARD_WIT`] to `<build_dir>/wit/botyard.wit` (when it differs)
/// and returns that directory, for toolchains that read WIT from disk.
fn wit_dir(build_dir: &Path) -> Result<PathBuf, BuildError> {
    let dir = build_dir.join("wit");
    let path = dir.join("botyard.wit");
    if fs::read_to_string(&path).ok().as_deref() != Some(BOTYARD_WIT) {
        write_atomically(&path, BOTYARD_WIT.as_bytes())?;
    }
    Ok(dir)
}

/// What guest builds need from botyard's WIT, read once.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BotyardWit {
    /// `botyard:app@0.1.0`.
    pub package: String,
    /// Interfaces of world `app` with functions: the capabilities an app
    /// may import, in the WIT's order.
    pub imports: Vec<String>,
    /// Interfaces of world [`TRIGGERS_WORLD`]: `handler`, then the optional
    /// triggers, which the SDKs export.
    pub exports: Vec<String>,
}

/// The world every SDK builds against: `app` plus every optional trigger.
pub(crate) const TRIGGERS_WORLD: &str = "app-with-triggers";

/// botyard's WIT, parsed once per process.
pub(crate) fn botyard_wit() -> &'static BotyardWit {
    static WIT: std::sync::OnceLock<BotyardWit> = std::sync::OnceLock::new();
    WIT.get_or_init(|| {
        let mut resolve = wit_parser::Resolve::new();
        let package = resolve
            .push_str("botyard.wit", BOTYARD_WIT)
            .expect("botyard's own WIT parses");
        let interfaces = |keys: Vec<&wit_parser::WorldKey>| -> Vec<String> {
            keys.into_iter()
                .filter_map(|key| match key {
                    wit_parser::WorldKey::Interface(id) => Some(&resolve.interfaces[*id]),
                    wit_parser::WorldKey::Name(_) => None,
                })
                .filter(|iface| !iface.functions.is_empty())
                .filter_map(|iface| iface.name.clone())
                .collect()
        };
        let world = |name: &str| {
            resolve
                .select_world(&[package], Some(name))
                .unwrap_or_else(|e| panic!("botyard's WIT has world `{name}`: {e}"))
        };
        BotyardWit {
            package: resolve.packages[package].name.to_string(),
            imports: interfaces(resolve.worlds[world("app")].imports.keys().collect()),
            exports: interfaces(
                resolve.worlds[world(TRIGGERS_WORLD)]
                    .exports
                    .keys()
                    .collect(),
            ),
        }
    })
}

/// Fails unless `component` exports the botyard handler interface.
fn check_exports_handler(component: &[u8]) -> Result<(), BuildError> {
    let exported = match wit_component::decode(component) {
        Ok(DecodedWasm::Component(resolve, world)) => {
            resolve.worlds[world].exports.keys().any(|key| match key {
                wit_parser::WorldKey::Interface(id) => resolve
                    .id_of(*id)
                    .is_some_and(|name| name.split('@').next() == Some(HANDLER_INTERFACE)),
                wit_parser::WorldKey::Name(_) => false,
            })
        }
        _ => false,
    };
    if exported {
        Ok(())
    } else {
        Err(BuildError::Componentize {
            reason: format!(
                "it does not export `{HANDLER_INTERFACE}`; build it against world `app` of botyard's wit/ \
                 and export the handler (the SDKs in guests/ do this for you)"
            ),
        })
    }
}

/// An exclusive lock on `<data_dir>/build/lock`, held while a build uses the
/// shared toolchains and target directories.
struct BuildLock {
    _file: Option<File>,
}

impl BuildLock {
    fn acquire(build_dir: &Path) -> Result<BuildLock, BuildError> {
        let path = build_dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(BuildError::io("open", &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                info!(lock = %path.display(), "waiting for another botyard build to finish");
                file.lock().map_err(BuildError::io("lock", &path))?;
            }
            Err(TryLockError::Error(error)) => {
                // Some filesystems cannot lock; the tools' own locks still serialise most of it.
                warn!(
                    lock = %path.display(),
                    %error,
                    "cannot lock the build directory; building without it"
                );
                return Ok(BuildLock { _file: None });
            }
        }
        Ok(BuildLock { _file: Some(file) })
    }
}

/// Writes `bytes` to a unique temporary file beside `path` and renames it
/// over `path`, so a reader sees the old file or the new one, never a mix.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(BuildError::io("create", dir))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = fs::write(&tmp, bytes)
        .map_err(BuildError::io("write", &tmp))
        .and_then(|()| fs::rename(&tmp, path).map_err(BuildError::io("replace", path)));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Runs `apt-get <args>` non-interactively; `what` and `hint` word the error.
fn apt_get(args: &[&str], what: &str, hint: &str) -> Result<(), BuildError> {
    let command = format!("apt-get {}", args.join(" "));
    let out = Command::new("apt-get")
        // Wait for dpkg's lock instead of failing when another install runs.
        .args(["-o", "DPkg::Lock::Timeout=300", "-q"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| BuildError::Spawn {
            program: "apt-get".into(),
            error,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(BuildError::Install {
        what: what.into(),
        command,
        output: output_tail(&out),
        hint: hint.into(),
    })
}

/// The last 20 lines of a finished command's stdout and stderr.
fn output_tail(out: &std::process::Output) -> String {
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    let tail: Vec<&str> = output.lines().rev().take(20).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn is_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = fs::metadata("/proc/self") {
            return meta.uid() == 0;
        }
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
    }
    #[cfg(not(unix))]
    {
        false
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_told_from_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let app = |files: &[&str]| {
            let d = tempfile::tempdir_in(dir.path()).unwrap();
            for f in files {
                fs::write(d.path().join(f), "").unwrap();
            }
            Language::detect(d.path())
        };
        assert_eq!(app(&["Cargo.toml"]).unwrap(), Language::Rust);
        assert_eq!(app(&["package.json"]).unwrap(), Language::JavaScript);
        assert_eq!(app(&["app.js"]).unwrap(), Language::JavaScript);
        assert_eq!(app(&["app.py"]).unwrap(), Language::Python);
        assert_eq!(app(&["pyproject.toml"]).unwrap(), Language::Python);
        let err = app(&["README.md"]).unwrap_err().to_string();
        assert!(err.contains("botyard new"), "{err}");
        let err = Language::detect(&dir.path().join("nope")).unwrap_err();
        assert!(err.to_string().contains("no such directory"), "{err}");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out").join("app.wasm");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("app.wasm")]);
    }
}
