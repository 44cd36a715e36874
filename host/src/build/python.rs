//! Python guests: an `app.py` in, a component out.
//!
//! componentize-py (pinned, installed on first use into a venv under the data
//! directory) snapshots CPython with the app and the botyard SDK already
//! imported. The SDK is embedded in this binary and written beside the build,
//! so an app directory holds only its own code; an app that vendors its own
//! `botyard/` package gets that one instead (the app directory comes first on
//! the Python path).
//!
//! The component is built from the SDK's `botyard._component`, which finds
//! the one `App` that `app.py` defines and serves it as the `handler` and
//! `shortcuts` exports: the app writes no glue. It imports only the
//! capabilities the app's code uses: `guests/python/tools/capabilities.py`
//! reads the app's modules and the SDK (statically, with `ast`) and the
//! build targets a world of its own that imports just those, so the app
//! needs only those grants. The SDK binds each capability only if the world
//! has it (see `guests/python/README.md`).
//!
//! componentize-py writes `__pycache__` into the directories it reads, so the
//! app is built from a copy in the build directory, never from its sources.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Deserialize;
use tracing::{debug, info, warn};

use super::{
    BOTYARD_WIT, BuildError, BuildLock, BuildOptions, apt_get, check_exports_handler, find_on_path,
    is_root, output_tail, wit_dir, write_atomically,
};

/// The pinned toolchain: 0.25 is the version the SDK and tests are verified with.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.*";
/// What `componentize-py --version` starts with when the pin is installed.
const COMPONENTIZE_PY_VERSION: &str = "componentize-py 0.25.";

/// The module an app's code starts in; it must define one `botyard.App`.
const MODULE: &str = "app";

/// The module componentize-py builds the component from: the SDK's glue,
/// which imports [`MODULE`] and serves its `App` as the exports.
const ENTRY: &str = "botyard._component";

/// The world the component is built against: generated per app by
/// [`app_world`] from the capabilities its code uses.
const WORLD: &str = "python-app";

/// The world whose exports every Python component has: the handler and
/// every optional trigger the SDK serves.
const TRIGGERS_WORLD: &str = "app-with-triggers";

/// Reads an app's modules and says which capabilities it uses (run with the
/// toolchain's Python before componentize-py).
const CAPABILITY_SCAN: &str = include_str!("../../../guests/python/tools/capabilities.py");

/// The Python SDK, `guests/python/botyard/`, as (file name, source).
const SDK: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../../guests/python/botyard/__init__.py"),
    ),
    (
        "_app.py",
        include_str!("../../../guests/python/botyard/_app.py"),
    ),
    (
        "_component.py",
        include_str!("../../../guests/python/botyard/_component.py"),
    ),
    (
        "_core.py",
        include_str!("../../../guests/python/botyard/_core.py"),
    ),
    (
        "_exports.py",
        include_str!("../../../guests/python/botyard/_exports.py"),
    ),
    (
        "blocks.py",
        include_str!("../../../guests/python/botyard/blocks.py"),
    ),
    (
        "clock.py",
        include_str!("../../../guests/python/botyard/clock.py"),
    ),
    (
        "log.py",
        include_str!("../../../guests/python/botyard/log.py"),
    ),
    (
        "schedule.py",
        include_str!("../../../guests/python/botyard/schedule.py"),
    ),
    (
        "slack.py",
        include_str!("../../../guests/python/botyard/slack.py"),
    ),
    (
        "store.py",
        include_str!("../../../guests/python/botyard/store.py"),
    ),
];

/// Debian packages that provide `python3 -m venv` (pip comes from ensurepip).
const DEBIAN_PACKAGES: &[&str] = &["python3", "python3-venv"];

fn python_hint() -> String {
    format!(
        "Python 3 with its venv module: on Debian/Ubuntu as root `apt-get update && apt-get install -y {}`, \
         elsewhere from python.org or your package manager",
        DEBIAN_PACKAGES.join(" ")
    )
}

/// Builds the Python app in `dir` (its `app.py`) and returns the path of the
/// finished component, `<data_dir>/build/out/<name>.wasm`, where `name` is
/// `[project] name` from `pyproject.toml`, or the directory's name.
///
/// Installs componentize-py into `<data_dir>/toolchains/python` first when it
/// is not there. `opts.release` changes nothing: componentize-py has one mode.
pub fn build(dir: &Path, opts: &BuildOptions) -> Result<PathBuf, BuildError> {
    let started = Instant::now();
    let app_dir = std::path::absolute(dir).map_err(BuildError::io("resolve", dir))?;
    let name = app_name(&app_dir)?;
    if !app_dir.join(format!("{MODULE}.py")).is_file() {
        return Err(BuildError::NotAnApp {
            dir: app_dir,
            reason: format!(
                "it has no {MODULE}.py; a Python app's code starts in {MODULE}.py with \
                 `app = App(\"name\", \"what it does\")` (see examples/hello-python)"
            ),
        });
    }

    let build_dir = super::build_dir(opts)?;
    let _lock = BuildLock::acquire(&build_dir)?;
    let componentize_py = ensure_toolchain(&opts.data_dir)?;
    let work = build_dir.join("python");
    let sdk = write_sdk(&work.join("sdk"))?;
    let staged = work.join("app");
    stage(&app_dir, &staged)?;

    let uses = scan_capabilities(&componentize_py, &work, &staged, &sdk, &name)?;
    info!(
        app = %name,
        imports = ?uses.imports,
        because = ?uses.because,
        "the app's code uses these capabilities; the component imports only them"
    );
    let wit = wit_dir(&build_dir)?;
    write_app_world(&wit, &uses.imports)?;

    let scratch = work.join(format!("{name}.wasm"));
    info!(app = %name, dir = %app_dir.display(), "building Python guest with componentize-py");
    let mut cmd = Command::new(&componentize_py.program);
    cmd.current_dir(&staged)
        .arg("-q")
        .arg("-d")
        .arg(&wit)
        .args(["-w", WORLD, "componentize", ENTRY])
        .arg("-p")
        .arg(&staged)
        .arg("-p")
        .arg(&sdk)
        .arg("-o")
        .arg(&scratch)
        // Only the toolchain's own site-packages, whatever the caller's environment.
        .env("VIRTUAL_ENV", &componentize_py.venv)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        // A Rust backtrace of componentize-py itself would bury the Python error.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdin(Stdio::null());
    debug!(?cmd, "running componentize-py");
    let out = cmd.output().map_err(|error| BuildError::Spawn {
        program: componentize_py.program.display().to_string(),
        error,
    })?;
    if !out.status.success() {
        let _ = fs::remove_file(&scratch);
        let raw = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return Err(BuildError::Compile {
            app: name,
            output: toolchain_error(&raw, &[&app_dir, &sdk]),
        });
    }

    let component = fs::read(&scratch).map_err(|error| BuildError::Io {
        action: "read",
        path: scratch.clone(),
        error,
    })?;
    let _ = fs::remove_file(&scratch);
    check_exports_handler(&component)?;
    let path = build_dir.join("out").join(format!("{name}.wasm"));
    write_atomically(&path, &component)?;
    info!(
        app = %name,
        path = %path.display(),
        component_bytes = component.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "built component"
    );
    Ok(path)
}

/// What the app's code uses of botyard's capabilities, as
/// `guests/python/tools/capabilities.py` found it.
#[derive(Debug, Deserialize)]
struct CapabilityUse {
    /// Interfaces of world `app` to import, in the WIT's order.
    imports: Vec<String>,
    /// For each, the first line of the app that uses it (`app.py:12: store.increment`).
    because: std::collections::BTreeMap<String, String>,
}

/// Runs the capability scan over the staged app (and the SDK) with the
/// toolchain's Python.
fn scan_capabilities(
    toolchain: &Toolchain,
    work: &Path,
    staged: &Path,
    sdk: &Path,
    name: &str,
) -> Result<CapabilityUse, BuildError> {
    let script = work.join("capabilities.py");
    if fs::read_to_string(&script).ok().as_deref() != Some(CAPABILITY_SCAN) {
        write_atomically(&script, CAPABILITY_SCAN.as_bytes())?;
    }
    let python = venv_bin(&toolchain.venv, "python");
    let out = Command::new(&python)
        .arg("-I") // isolated: no user site-packages, no PYTHON* variables
        .arg(&script)
        .arg(staged)
        .arg(sdk)
        .arg(MODULE)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| BuildError::Spawn {
            program: python.display().to_string(),
            error,
        })?;
    let scan_failed = |why: String| BuildError::Compile {
        app: name.to_string(),
        output: format!(
            "botyard could not tell which capabilities the app uses ({why}); this is a bug in \
             botyard's Python build, please report it with the app's code"
        ),
    };
    if !out.status.success() {
        return Err(scan_failed(output_tail(&out)));
    }
    let uses: CapabilityUse = serde_json::from_slice(&out.stdout)
        .map_err(|e| scan_failed(format!("its answer is not JSON: {e}")))?;
    let known = app_capabilities();
    if let Some(unknown) = uses.imports.iter().find(|i| !known.contains(i)) {
        return Err(scan_failed(format!(
            "it named `{unknown}`, which world `app` does not import"
        )));
    }
    Ok(uses)
}

/// The interfaces of world `app` with functions: the capabilities an app
/// may import, in the WIT's order.
fn app_capabilities() -> Vec<String> {
    let (resolve, package) = botyard_wit();
    let world = resolve
        .select_world(&[package], Some("app"))
        .expect("botyard's WIT has world `app`");
    resolve.worlds[world]
        .imports
        .keys()
        .filter_map(|key| match key {
            wit_parser::WorldKey::Interface(id) => Some(&resolve.interfaces[*id]),
            wit_parser::WorldKey::Name(_) => None,
        })
        .filter(|iface| !iface.functions.is_empty())
        .filter_map(|iface| iface.name.clone())
        .collect()
}

/// The interfaces world [`TRIGGERS_WORLD`] exports: the handler and the
/// optional triggers, each served by a class of `botyard._component`.
fn exported_interfaces() -> Vec<String> {
    let (resolve, package) = botyard_wit();
    let world = resolve
        .select_world(&[package], Some(TRIGGERS_WORLD))
        .expect("botyard's WIT has world `app-with-triggers`");
    resolve.worlds[world]
        .exports
        .keys()
        .filter_map(|key| match key {
            wit_parser::WorldKey::Interface(id) => resolve.interfaces[*id].name.clone(),
            wit_parser::WorldKey::Name(_) => None,
        })
        .collect()
}

fn botyard_wit() -> (wit_parser::Resolve, wit_parser::PackageId) {
    let mut resolve = wit_parser::Resolve::new();
    let package = resolve
        .push_str("botyard.wit", BOTYARD_WIT)
        .expect("botyard's own WIT parses");
    (resolve, package)
}

/// World [`WORLD`] as a file of botyard's WIT package: the exports of
/// [`TRIGGERS_WORLD`] and, of the capabilities, only `imports`.
fn app_world(imports: &[String]) -> String {
    let (resolve, package) = botyard_wit();
    let mut wit = format!(
        "package {};\n\n/// Built by `botyard build` for one Python app: `{TRIGGERS_WORLD}`, importing only\n\
         /// the capabilities the app's code uses.\nworld {WORLD} {{\n",
        resolve.packages[package].name
    );
    for import in imports {
        wit.push_str(&format!("    import {import};\n"));
    }
    for export in exported_interfaces() {
        wit.push_str(&format!("    export {export};\n"));
    }
    wit.push_str("}\n");
    wit
}

/// Writes [`app_world`] for `imports` into `wit`, the directory of
/// botyard's WIT package, as `python-app.wit` (when it differs).
fn write_app_world(wit: &Path, imports: &[String]) -> Result<(), BuildError> {
    let path = wit.join(format!("{WORLD}.wit"));
    let text = app_world(imports);
    if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        write_atomically(&path, text.as_bytes())?;
    }
    Ok(())
}

/// `[project] name` from `pyproject.toml`, else the directory's name; it
/// names the output file, so only `[A-Za-z0-9._-]` is accepted.
fn app_name(app_dir: &Path) -> Result<String, BuildError> {
    #[derive(Deserialize)]
    struct PyProject {
        project: Option<Project>,
    }
    #[derive(Deserialize)]
    struct Project {
        name: Option<String>,
    }

    let manifest = app_dir.join("pyproject.toml");
    let from_manifest = match fs::read_to_string(&manifest) {
        Ok(text) => toml::from_str::<PyProject>(&text)
            .map_err(|e| BuildError::Manifest {
                path: manifest.clone(),
                reason: format!("not a valid pyproject.toml: {e}"),
            })?
            .project
            .and_then(|p| p.name),
        Err(_) => None,
    };
    let (name, source) = match from_manifest {
        Some(name) => (name, manifest),
        None => (
            app_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            app_dir.to_path_buf(),
        ),
    };
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(name)
    } else {
        Err(BuildError::Manifest {
            path: source,
            reason: format!(
                "the app name `{name}` may hold only letters, digits, `.`, `_` and `-`; \
                 set `[project] name` in pyproject.toml"
            ),
        })
    }
}

/// The installed componentize-py and the venv it lives in.
struct Toolchain {
    venv: PathBuf,
    program: PathBuf,
}

fn venv_bin(venv: &Path, program: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{program}.exe"))
    } else {
        venv.join("bin").join(program)
    }
}

/// The pinned componentize-py in `<data_dir>/toolchains/python`, installed
/// there first when it is missing, broken or another version.
fn ensure_toolchain(data_dir: &Path) -> Result<Toolchain, BuildError> {
    let toolchains = data_dir.join("toolchains");
    let venv = std::path::absolute(toolchains.join("python"))
        .map_err(BuildError::io("resolve", &toolchains))?;
    let toolchain = Toolchain {
        program: venv_bin(&venv, "componentize-py"),
        venv,
    };
    match installed_version(&toolchain.program) {
        Some(version) if is_pinned(&version) => return Ok(toolchain),
        Some(version) => info!(%version, pin = COMPONENTIZE_PY, "replacing componentize-py"),
        None => debug!(venv = %toolchain.venv.display(), "no componentize-py installed"),
    }
    let python = ensure_python()?;
    install(&python, &toolchain.venv)?;
    match installed_version(&toolchain.program) {
        Some(version) if is_pinned(&version) => Ok(toolchain),
        found => Err(BuildError::NoToolchain {
            language: "Python",
            found: format!(
                "installed {COMPONENTIZE_PY} into {} but `componentize-py --version` says {}",
                toolchain.venv.display(),
                found.as_deref().unwrap_or("nothing")
            ),
            hint: format!(
                "remove {} and build again, or check that pip can reach PyPI",
                toolchain.venv.display()
            ),
        }),
    }
}

/// `componentize-py --version`, when the program runs.
fn installed_version(program: &Path) -> Option<String> {
    let out = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn is_pinned(version: &str) -> bool {
    version.starts_with(COMPONENTIZE_PY_VERSION)
}

/// A `python3` that can create venvs, installed with apt-get when there is
/// none and this process may.
fn ensure_python() -> Result<PathBuf, BuildError> {
    let missing = match find_python() {
        Ok(python) => return Ok(python),
        Err(missing) => missing,
    };
    debug!(%missing, "no usable python3");
    if !(is_root() && find_on_path("apt-get").is_some()) {
        return Err(BuildError::NoToolchain {
            language: "Python",
            found: missing,
            hint: python_hint(),
        });
    }
    eprintln!(
        "botyard: installing {} with apt-get (one time)…",
        DEBIAN_PACKAGES.join(" ")
    );
    // A stale or failing package list is not fatal: the install may still work.
    if let Err(e) = apt_get(&["update"], "the package lists", &python_hint()) {
        warn!("{e}");
    }
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(DEBIAN_PACKAGES);
    apt_get(&args, "Python 3 and its venv module", &python_hint())?;
    find_python().map_err(|missing| BuildError::NoToolchain {
        language: "Python",
        found: format!("installed {} but {missing}", DEBIAN_PACKAGES.join(" ")),
        hint: python_hint(),
    })
}

/// The first of `python3` on PATH and `/usr/bin/python3` that has `venv` and
/// `ensurepip`; `Err` says what is missing.
fn find_python() -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = find_on_path("python3")
        .into_iter()
        .chain([PathBuf::from("/usr/bin/python3")])
        .filter(|p| p.is_file())
        .collect();
    if candidates.is_empty() {
        return Err("no python3 on PATH".into());
    }
    for python in &candidates {
        let ok = Command::new(python)
            .args(["-c", "import venv, ensurepip"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(python.clone());
        }
    }
    Err(format!(
        "{} cannot create a venv (no `venv`/`ensurepip` module)",
        candidates[0].display()
    ))
}

/// Creates a fresh venv at `venv` and pip-installs the pinned componentize-py.
fn install(python: &Path, venv: &Path) -> Result<(), BuildError> {
    let hint = format!(
        "`{} -m venv {dir} && {dir}/bin/pip install '{COMPONENTIZE_PY}'`; pip must reach PyPI \
         (proxy settings: HTTPS_PROXY, PIP_INDEX_URL)",
        python.display(),
        dir = venv.display()
    );
    if venv.exists() {
        fs::remove_dir_all(venv).map_err(BuildError::io("remove", venv))?;
    }
    eprintln!(
        "botyard: installing the Python guest toolchain ({COMPONENTIZE_PY}) into {} (one time, ~1 min)…",
        venv.display()
    );
    let started = Instant::now();
    run_install_step(
        Command::new(python).arg("-m").arg("venv").arg(venv),
        "a Python venv",
        &hint,
    )?;
    eprintln!("botyard:   venv created; downloading componentize-py from PyPI…");
    run_install_step(
        Command::new(venv_bin(venv, "python"))
            .args(["-m", "pip", "install"])
            .args(["--disable-pip-version-check", "--no-input", "-q"])
            .arg(COMPONENTIZE_PY),
        "componentize-py",
        &hint,
    )?;
    eprintln!(
        "botyard:   Python guest toolchain ready in {:.0?}",
        started.elapsed()
    );
    info!(venv = %venv.display(), elapsed_ms = started.elapsed().as_millis() as u64, "installed componentize-py");
    Ok(())
}

fn run_install_step(cmd: &mut Command, what: &str, hint: &str) -> Result<(), BuildError> {
    let command = format!("{cmd:?}");
    debug!(%command, "installing {what}");
    let out = cmd
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("VIRTUAL_ENV")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| BuildError::Spawn {
            program: cmd.get_program().to_string_lossy().into_owned(),
            error,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BuildError::Install {
            what: what.into(),
            command,
            output: output_tail(&out),
            hint: hint.into(),
        })
    }
}

/// Writes the embedded SDK to `<dir>/botyard/` (files that differ only) and
/// returns `dir`, the Python path entry that holds it.
fn write_sdk(dir: &Path) -> Result<PathBuf, BuildError> {
    let package = dir.join("botyard");
    for (file, source) in SDK {
        let path = package.join(file);
        if fs::read_to_string(&path).ok().as_deref() != Some(*source) {
            write_atomically(&path, source.as_bytes())?;
        }
    }
    Ok(dir.to_path_buf())
}

/// Replaces `to` with a copy of the app's files: no hidden entries, caches,
/// virtualenvs or node_modules, and no symlinked directories (they may loop).
fn stage(from: &Path, to: &Path) -> Result<(), BuildError> {
    if to.exists() {
        fs::remove_dir_all(to).map_err(BuildError::io("remove", to))?;
    }
    copy_tree(from, to)
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), BuildError> {
    fs::create_dir_all(to).map_err(BuildError::io("create", to))?;
    for entry in fs::read_dir(from).map_err(BuildError::io("read", from))? {
        let entry = entry.map_err(BuildError::io("read", from))?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str.starts_with('.') || name_str == "__pycache__" || name_str == "node_modules" {
            continue;
        }
        let source = entry.path();
        let file_type = entry.file_type().map_err(BuildError::io("read", &source))?;
        if file_type.is_dir() {
            if !source.join("pyvenv.cfg").exists() {
                copy_tree(&source, &to.join(&name))?;
            }
        } else if source.is_file() {
            let target = to.join(&name);
            fs::copy(&source, &target).map_err(BuildError::io("copy", &source))?;
        }
    }
    Ok(())
}

/// How the SDK's build-time checks (`botyard._exports.BuildError`: no
/// `App`, several, an id registered twice) end a traceback; their message
/// is the whole story.
const SDK_BUILD_ERROR: &str = "botyard._exports.BuildError: ";

/// Traceback frames of the import machinery, between the SDK's glue and the
/// app (componentize-py mounts the standard library at `/python`).
const IMPORTLIB_FRAMES: &[&str] = &["  File \"<frozen importlib", "  File \"/python/importlib/"];

/// componentize-py's error as the user needs it: the Python traceback or
/// message without the driver's own frames, the repeated summary, a Rust
/// backtrace, or frames of the SDK's glue (`botyard/_*.py`) and importlib,
/// and with the Python path entries it mounted as `/0/`, `/1/` … shown as
/// the directories they came from (`mounts`, in `-p` order). The SDK's own
/// build errors are their message alone.
fn toolchain_error(raw: &str, mounts: &[&Path]) -> String {
    let mut text = match raw.split_once("AssertionError: ") {
        Some((_, rest)) => rest,
        None => raw,
    };
    for end in ["\n\nCaused by:", "\nStack backtrace:"] {
        if let Some((before, _)) = text.split_once(end) {
            text = before;
        }
    }
    if let Some((_, message)) = text.rsplit_once(SDK_BUILD_ERROR) {
        return message.trim().to_string();
    }
    let glue: Vec<String> = (0..mounts.len())
        .map(|i| format!("  File \"/{i}/botyard/_"))
        .collect();
    let mut kept = Vec::new();
    let mut hiding = false;
    for line in text.trim().lines() {
        if line.starts_with("  File \"") {
            hiding = IMPORTLIB_FRAMES.iter().any(|frame| line.starts_with(frame))
                || glue.iter().any(|frame| line.starts_with(frame.as_str()));
        } else if !line.starts_with("    ") {
            hiding = false;
        }
        if !hiding {
            kept.push(line);
        }
    }
    let mut text = kept.join("\n");
    for (i, dir) in mounts.iter().enumerate() {
        text = text.replace(
            &format!("File \"/{i}/"),
            &format!("File \"{}/", dir.display()),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_comes_from_pyproject_or_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("my-bot");
        fs::create_dir(&dir).unwrap();
        assert_eq!(app_name(&dir).unwrap(), "my-bot");

        fs::write(
            dir.join("pyproject.toml"),
            "[build-system]\nrequires = []\n",
        )
        .unwrap();
        assert_eq!(app_name(&dir).unwrap(), "my-bot");

        fs::write(
            dir.join("pyproject.toml"),
            "[project]\nname = \"lunch_poll\"\nversion = \"1\"\n",
        )
        .unwrap();
        assert_eq!(app_name(&dir).unwrap(), "lunch_poll");

        fs::write(dir.join("pyproject.toml"), "[project]\nname = \"../x\"\n").unwrap();
        let err = app_name(&dir).unwrap_err().to_string();
        assert!(
            err.contains("`../x`") && err.contains("[project] name"),
            "{err}"
        );

        fs::write(dir.join("pyproject.toml"), "[project\n").unwrap();
        let err = app_name(&dir).unwrap_err().to_string();
        assert!(err.contains("not a valid pyproject.toml"), "{err}");
    }

    #[test]
    fn an_app_without_app_py_says_what_to_write() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\n",
        )
        .unwrap();
        let opts = BuildOptions {
            data_dir: dir.path().join("data"),
            release: true,
        };
        let err = build(dir.path(), &opts).unwrap_err();
        assert!(matches!(err, BuildError::NotAnApp { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("app.py") && msg.contains("app = App(\"name\""),
            "{msg}"
        );
        assert!(
            !dir.path().join("data").exists(),
            "nothing installed for a non-app"
        );
    }

    #[test]
    fn only_the_pinned_version_is_accepted() {
        assert!(is_pinned("componentize-py 0.25.1"));
        assert!(!is_pinned("componentize-py 0.26.0"));
        assert!(!is_pinned("componentize-py 0.2.5"));
    }

    #[test]
    fn toolchain_errors_keep_the_python_error_and_point_at_real_files() {
        let raw = "Traceback (most recent call last):\n  File \"/venv/bin/componentize-py\", line 8, in <module>\n    sys.exit(script())\n             ^^^^^^^^\nAssertionError: Traceback (most recent call last):\n  File \"/0/app.py\", line 1, in <module>\n    import lib\n  File \"/1/lib.py\", line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax\n\n\nCaused by:\n    SyntaxError: invalid syntax (lib.py, line 1)\n";
        let text = toolchain_error(raw, &[Path::new("/src/bot"), Path::new("/sdk")]);
        assert_eq!(
            text,
            "Traceback (most recent call last):\n  File \"/src/bot/app.py\", line 1, in <module>\n    import lib\n  File \"/sdk/lib.py\", line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax"
        );

        // The SDK's glue and importlib are not the app's business.
        let raised = "AssertionError: Traceback (most recent call last):\n  File \"/1/botyard/_component.py\", line 5, in <module>\n    Handler, Shortcuts = load(APP_MODULE)\n  File \"/python/importlib/__init__.py\", line 88, in import_module\n    return _bootstrap._gcd_import(name[level:], package, level)\n           ~~~~~~~~~~~~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"<frozen importlib._bootstrap>\", line 1204, in _gcd_import\n  File \"/0/app.py\", line 9, in <module>\n    @app.action(\"a*b\")\n     ^^^^^^^^^^\n  File \"/1/botyard/_app.py\", line 250, in _register\n    raise ValueError(f\"{via}: ...\")\nValueError: @app.action(\"a*b\"): `*` is not allowed\n\n\nCaused by:\n    x\n";
        let text = toolchain_error(raised, &[Path::new("/src/bot"), Path::new("/sdk")]);
        assert_eq!(
            text,
            "Traceback (most recent call last):\n  File \"/src/bot/app.py\", line 9, in <module>\n    @app.action(\"a*b\")\n     ^^^^^^^^^^\nValueError: @app.action(\"a*b\"): `*` is not allowed"
        );

        // The SDK's build errors are their message.
        let missing = "AssertionError: Traceback (most recent call last):\n  File \"/1/botyard/_component.py\", line 5, in <module>\n    x\nbotyard._exports.BuildError: app.py defines no botyard App: create one\n\n\nCaused by:\n    x\n\nStack backtrace:\n   0: anyhow\n";
        assert_eq!(
            toolchain_error(missing, &[]),
            "app.py defines no botyard App: create one"
        );

        // Output of another shape is kept whole.
        assert_eq!(
            toolchain_error("error: no such world\n", &[]),
            "error: no such world"
        );
    }

    #[test]
    fn staging_copies_sources_but_not_caches_or_hidden_files() {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("app");
        for dir in ["pkg", "__pycache__", ".git", "venv", "node_modules"] {
            fs::create_dir_all(app.join(dir)).unwrap();
        }
        fs::write(app.join("app.py"), "x = 1\n").unwrap();
        fs::write(app.join("menu.json"), "{}").unwrap();
        fs::write(app.join("pkg/mod.py"), "y = 2\n").unwrap();
        fs::write(app.join("__pycache__/app.pyc"), "").unwrap();
        fs::write(app.join(".env"), "SECRET=1").unwrap();
        fs::write(app.join("venv/pyvenv.cfg"), "").unwrap();

        let staged = root.path().join("staged");
        fs::create_dir_all(staged.join("stale")).unwrap();
        stage(&app, &staged).unwrap();
        let mut found: Vec<String> = Vec::new();
        let mut stack = vec![staged.clone()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(dir).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else {
                    found.push(
                        e.path()
                            .strip_prefix(&staged)
                            .unwrap()
                            .display()
                            .to_string(),
                    );
                }
            }
        }
        found.sort();
        assert_eq!(found, ["app.py", "menu.json", "pkg/mod.py"]);
    }

    #[test]
    fn the_sdk_is_written_once_and_repaired_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let root = write_sdk(dir.path()).unwrap();
        let init = root.join("botyard/__init__.py");
        assert!(
            fs::read_to_string(&init)
                .unwrap()
                .contains("from ._app import App")
        );
        fs::write(&init, "broken").unwrap();
        write_sdk(dir.path()).unwrap();
        assert_eq!(fs::read_to_string(&init).unwrap(), SDK[0].1);
        assert_eq!(
            fs::read_dir(root.join("botyard")).unwrap().count(),
            SDK.len()
        );
    }

    #[test]
    fn the_world_imports_only_the_capabilities_used_and_exports_every_trigger() {
        // World `app` imports exactly the capabilities the host provides.
        assert_eq!(app_capabilities(), crate::capabilities::NAMES);
        // The scan reports the same names.
        assert!(
            CAPABILITY_SCAN.contains(&format!(
                "CAPABILITIES = ({})",
                app_capabilities()
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            "guests/python/tools/capabilities.py must list world `app`'s capabilities"
        );
        // Each export is a class of botyard._component (exports_for).
        let mut exports = exported_interfaces();
        exports.sort();
        assert_eq!(exports, ["handler", "shortcuts"]);

        // Parsed as componentize-py reads it: the package's directory.
        let dir = tempfile::tempdir().unwrap();
        let wit = wit_dir(dir.path()).unwrap();
        for imports in [vec![], vec!["store".to_string(), "log".to_string()]] {
            write_app_world(&wit, &imports).unwrap();
            let mut resolve = wit_parser::Resolve::new();
            let (package, _) = resolve.push_dir(&wit).unwrap();
            let world = resolve.select_world(&[package], Some(WORLD)).unwrap();
            let world = &resolve.worlds[world];
            let names = |keys: Vec<&wit_parser::WorldKey>| -> Vec<String> {
                let mut names: Vec<String> = keys
                    .into_iter()
                    .map(|k| resolve.name_world_key(k))
                    .collect();
                names.sort();
                names
            };
            let mut expected: Vec<String> = imports
                .iter()
                .map(|i| format!("botyard:app/{i}@0.1.0"))
                .collect();
            // `types` comes along because the handler uses it; it has no functions.
            expected.push("botyard:app/types@0.1.0".into());
            expected.sort();
            assert_eq!(names(world.imports.keys().collect()), expected);
            assert_eq!(
                names(world.exports.keys().collect()),
                ["botyard:app/handler@0.1.0", "botyard:app/shortcuts@0.1.0"]
            );
        }
    }

    #[test]
    fn every_sdk_module_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/python/botyard");
        let mut on_disk: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".py"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = SDK.iter().map(|(file, _)| *file).collect();
        assert_eq!(on_disk, embedded, "add new SDK modules to `SDK`");
    }
}
