//! Rust guests: a crate in, a component out.
//!
//! Guests compile to `wasm32-unknown-unknown` core modules (no WASI: apps get
//! everything from the host) and `wit-component` wraps them into components.
//! Where rustup has no wasm32 target — and cannot download one — Debian's
//! `rustc-web` compiles the standard library from source (`-Zbuild-std`), so
//! one `apt-get install` is all a machine needs.
//!
//! Every guest shares one cargo target directory under the data directory, so
//! that standard library is compiled once, not once per app.

use std::fs;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Deserialize;
use tracing::{debug, info, warn};
use wit_component::ComponentEncoder;

use super::{
    BuildError, BuildLock, BuildOptions, apt_get, check_exports_handler, find_on_path, is_root,
    write_atomically,
};

/// The only target guests are built for: it imports nothing the host does not grant.
const TARGET: &str = "wasm32-unknown-unknown";

/// What `apt-get install` needs for the Debian route (see shared TOOLCHAINS.md).
const DEBIAN_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld"];

/// Oldest Debian rustc known to build the guests (wit-bindgen's MSRV, `-Zbuild-std` fixes).
const MIN_DEBIAN_RUSTC: (u32, u32) = (1, 89);

fn install_hint() -> String {
    format!(
        "`rustup target add {TARGET}`, or on Debian/Ubuntu as root `apt-get update && apt-get install -y {}`",
        DEBIAN_PACKAGES.join(" ")
    )
}

/// Builds the Rust guest crate at `crate_dir` and returns the path of the
/// finished component, `<data_dir>/build/out/<crate_name>.wasm`.
///
/// Installs the Debian toolchain first when no other is available and this
/// process may (root with apt-get). Safe to call from several processes at
/// once with the same `data_dir`.
pub fn build(crate_dir: &Path, opts: &BuildOptions) -> Result<PathBuf, BuildError> {
    let started = Instant::now();
    let manifest_path = crate_dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest_path).map_err(|error| BuildError::NotAnApp {
        dir: crate_dir.to_path_buf(),
        reason: format!("cannot read {}: {error}", manifest_path.display()),
    })?;
    let guest = GuestCrate::parse(&text).map_err(|reason| BuildError::Manifest {
        path: manifest_path.clone(),
        reason,
    })?;

    // Absolute, because cargo runs in the crate's directory.
    let build_dir = super::build_dir(opts)?;
    let target_dir = build_dir.join("target");

    let lock = BuildLock::acquire(&build_dir)?;
    let toolchain = ensure_toolchain()?;
    let profile = if opts.release { "release" } else { "debug" };
    let profile_dir = target_dir.join(TARGET).join(profile);
    if matches!(toolchain, Toolchain::Debian { .. }) && !profile_dir.exists() {
        eprintln!(
            "botyard: first {profile} build compiles Rust's standard library for wasm (one time, ~2-3 min)…"
        );
    }
    info!(crate_name = %guest.name, ?toolchain, profile, "building guest");
    run_cargo(
        &toolchain,
        crate_dir,
        &manifest_path,
        &target_dir,
        opts.release,
        &guest.name,
    )?;

    let core_path = profile_dir.join(format!("{}.wasm", guest.artifact_stem()));
    let core = match fs::read(&core_path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(BuildError::MissingArtifact {
                app: guest.name,
                path: core_path,
                hint: "check that its [lib] has crate-type = [\"cdylib\"]".into(),
            });
        }
        Err(error) => {
            return Err(BuildError::Io {
                action: "read",
                path: core_path,
                error,
            });
        }
    };
    // The core module is ours now; other builds may overwrite it from here on.
    drop(lock);

    let component = componentize(&core)?;
    let out = build_dir
        .join("out")
        .join(format!("{}.wasm", guest.name.replace('-', "_")));
    write_atomically(&out, &component)?;
    info!(
        crate_name = %guest.name,
        path = %out.display(),
        core_bytes = core.len(),
        component_bytes = component.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "built component"
    );
    Ok(out)
}

/// Wraps a core module built with `wit_bindgen::generate!` for the `app`
/// world into a component, and checks it exports the botyard handler.
pub fn componentize(core_module: &[u8]) -> Result<Vec<u8>, BuildError> {
    let fail = |reason: String| BuildError::Componentize { reason };
    match core_module.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {}
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => {
            return Err(fail(
                "it is already a component; load it as it is instead of building it again".into(),
            ));
        }
        _ => {
            return Err(fail(format!(
                "it is not a WebAssembly module (no `\\0asm` header); pass the .wasm file cargo built for {TARGET}"
            )));
        }
    }
    let component = ComponentEncoder::default()
        .module(core_module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| {
            fail(format!(
                "{e:#}; build the guest with `wit_bindgen::generate!({{ world: \"app\", .. }})` against botyard's wit/ \
                 and the wit-bindgen version the examples use"
            ))
        })?;
    check_exports_handler(&component)?;
    Ok(component)
}

/// The parts of a guest's Cargo.toml the build needs.
#[derive(Debug, PartialEq, Eq)]
struct GuestCrate {
    name: String,
    /// `[lib] name`, when the crate overrides it (it names cargo's artifact).
    lib_name: Option<String>,
}

impl GuestCrate {
    fn parse(manifest: &str) -> Result<GuestCrate, String> {
        #[derive(Deserialize)]
        struct Manifest {
            package: Option<Package>,
            lib: Option<Lib>,
            workspace: Option<toml::Value>,
        }
        #[derive(Deserialize)]
        struct Package {
            name: String,
        }
        #[derive(Deserialize)]
        struct Lib {
            name: Option<String>,
            #[serde(rename = "crate-type", alias = "crate_type")]
            crate_type: Option<Vec<String>>,
        }

        let manifest: Manifest =
            toml::from_str(manifest).map_err(|e| format!("not a valid Cargo.toml: {e}"))?;
        let Some(package) = manifest.package else {
            return Err(if manifest.workspace.is_some() {
                "is a workspace, not a crate; point `botyard build` at one of its member crates"
                    .into()
            } else {
                "has no [package] section; point `botyard build` at the guest crate's directory"
                    .into()
            });
        };
        let lib = manifest.lib.unwrap_or(Lib {
            name: None,
            crate_type: None,
        });
        if !lib.crate_type.iter().flatten().any(|t| t == "cdylib") {
            return Err(
                "does not build a .wasm module; add `[lib]` with `crate-type = [\"cdylib\"]` (see examples/hello-rust)"
                    .into(),
            );
        }
        Ok(GuestCrate {
            name: package.name,
            lib_name: lib.name,
        })
    }

    /// File stem cargo gives the cdylib.
    fn artifact_stem(&self) -> String {
        self.lib_name
            .clone()
            .unwrap_or_else(|| self.name.replace('-', "_"))
    }
}

/// How to invoke cargo for [`TARGET`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Toolchain {
    /// The `cargo` on PATH, whose rustc has the wasm32 standard library.
    Native,
    /// Debian's `rustc-web`: the standard library is compiled from its sources.
    Debian {
        cargo: PathBuf,
        rustc: PathBuf,
        linker: PathBuf,
    },
}

/// Finds a toolchain, installing Debian's when none is found and this process may.
fn ensure_toolchain() -> Result<Toolchain, BuildError> {
    if native_has_target() {
        return Ok(Toolchain::Native);
    }
    let missing = match debian_toolchain() {
        Ok(toolchain) => return Ok(toolchain),
        Err(missing) => missing,
    };
    debug!(%missing, "no wasm toolchain found");
    if !(is_root() && find_on_path("apt-get").is_some()) {
        return Err(BuildError::NoToolchain {
            language: "Rust",
            found: format!("no `{TARGET}` in rustup; {missing}"),
            hint: install_hint(),
        });
    }
    install_debian_toolchain()?;
    debian_toolchain().map_err(|missing| BuildError::NoToolchain {
        language: "Rust",
        hint: install_hint(),
        found: format!(
            "installed {} but still {missing}",
            DEBIAN_PACKAGES.join(" ")
        ),
    })
}

/// Whether plain `cargo build --target wasm32-unknown-unknown` works: rustup
/// lists the target, or the `rustc` on PATH ships its standard library.
fn native_has_target() -> bool {
    if let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        && out.status.success()
        && String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == TARGET)
    {
        return true;
    }
    let Ok(out) = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
    else {
        return false;
    };
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    out.status.success()
        && fs::read_dir(libdir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
        })
}

/// Debian's rustc with its sources and an LLVM `wasm-ld`; `Err` says what is missing.
fn debian_toolchain() -> Result<Toolchain, String> {
    let rustc = PathBuf::from("/usr/bin/rustc");
    let cargo = PathBuf::from("/usr/bin/cargo");
    if !rustc.is_file() || !cargo.is_file() {
        return Err("no Debian rustc/cargo in /usr/bin".into());
    }
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .map_err(|e| format!("/usr/bin/rustc: {e}"))?;
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    match parse_rustc_version(&version) {
        Some(v) if v >= MIN_DEBIAN_RUSTC => {}
        _ => {
            return Err(format!(
                "/usr/bin/rustc is `{}`, older than {}.{} (Debian's rustc-web is new enough)",
                version.trim(),
                MIN_DEBIAN_RUSTC.0,
                MIN_DEBIAN_RUSTC.1
            ));
        }
    }
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("/usr/bin/rustc: {e}"))?;
    let sources = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim())
        .join("lib/rustlib/src/rust/library");
    if !sources.join("std").is_dir() {
        return Err(format!(
            "no standard library sources at {} (rust-web-src)",
            sources.display()
        ));
    }
    let linker = find_on_path("wasm-ld").ok_or("no `wasm-ld` on PATH (lld)")?;
    Ok(Toolchain::Debian {
        cargo,
        rustc,
        linker,
    })
}

/// `rustc 1.96.0 (ac68faa20 2026-05-25)` → `(1, 96)`.
fn parse_rustc_version(version: &str) -> Option<(u32, u32)> {
    let number = version.split_whitespace().nth(1)?;
    let mut parts = number.split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn install_debian_toolchain() -> Result<(), BuildError> {
    eprintln!("installing the Rust wasm toolchain from Debian (one time, ~1 min)…");
    info!(packages = ?DEBIAN_PACKAGES, "installing the Rust wasm toolchain with apt-get");
    // A stale or failing package list is not fatal: the install may still work.
    if let Err(e) = apt_get(&["update"], "the package lists", &install_hint()) {
        warn!("{e}");
    }
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(DEBIAN_PACKAGES);
    apt_get(&args, "the Rust wasm toolchain", &install_hint())
}

/// Runs cargo, streaming its stderr to the debug log and keeping it for the error.
fn run_cargo(
    toolchain: &Toolchain,
    crate_dir: &Path,
    manifest_path: &Path,
    target_dir: &Path,
    release: bool,
    crate_name: &str,
) -> Result<(), BuildError> {
    let (program, mut cmd) = match toolchain {
        Toolchain::Native => ("cargo".to_string(), Command::new("cargo")),
        Toolchain::Debian {
            cargo,
            rustc,
            linker,
        } => {
            let mut cmd = Command::new(cargo);
            cmd.env("RUSTC_BOOTSTRAP", "1")
                .env("RUSTC", rustc)
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", linker);
            (cargo.display().to_string(), cmd)
        }
    };
    // The crate's directory, so its own .cargo/config.toml applies as with a plain `cargo build`.
    cmd.current_dir(crate_dir)
        .arg("build")
        .arg("--manifest-path")
        .arg(
            manifest_path
                .canonicalize()
                .unwrap_or_else(|_| manifest_path.to_path_buf()),
        )
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(target_dir);
    if release {
        cmd.arg("--release");
    }
    if matches!(toolchain, Toolchain::Debian { .. }) {
        cmd.arg("-Zbuild-std=std,panic_abort");
    }
    debug!(?cmd, "running cargo");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| BuildError::Spawn { program, error })?;

    let mut stderr = String::new();
    if let Some(pipe) = child.stderr.take() {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            debug!(target: "botyard::build::cargo", "{line}");
            stderr.push_str(&line);
            stderr.push('\n');
        }
    }
    let status = child.wait().map_err(|error| BuildError::Spawn {
        program: "cargo".into(),
        error,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::Compile {
            app: crate_name.to_string(),
            output: stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn componentize_rejects_bytes_that_are_not_wasm() {
        let err = componentize(b"#!/bin/sh\necho hi\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("not a WebAssembly module"), "{msg}");
        assert!(
            msg.contains(TARGET),
            "should say what to pass instead: {msg}"
        );
    }

    #[test]
    fn componentize_rejects_a_component() {
        let err = componentize(b"\0asm\x0d\0\x01\0").unwrap_err();
        assert!(err.to_string().contains("already a component"), "{err}");
    }

    #[test]
    fn componentize_rejects_a_module_without_bindings() {
        // An empty but valid core module: no wit-bindgen metadata, no handler.
        let err = componentize(b"\0asm\x01\0\0\0").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(crate::build::HANDLER_INTERFACE) || msg.contains("wit_bindgen"),
            "{msg}"
        );
    }

    #[test]
    fn crate_name_comes_from_package_and_artifact_from_lib() {
        let guest = GuestCrate::parse(
            "[package]\nname = \"memory-bomb\"\nversion = \"0.1.0\"\n[lib]\ncrate-type = [\"cdylib\"]\n",
        )
        .unwrap();
        assert_eq!(
            guest,
            GuestCrate {
                name: "memory-bomb".into(),
                lib_name: None
            }
        );
        assert_eq!(guest.artifact_stem(), "memory_bomb");

        let renamed =
            GuestCrate::parse("[package]\nname = \"a-b\"\n[lib]\nname = \"core_x\"\ncrate_type = [\"cdylib\", \"rlib\"]\n")
                .unwrap();
        assert_eq!(renamed.artifact_stem(), "core_x");
    }

    #[test]
    fn manifests_that_cannot_build_a_guest_say_why() {
        let workspace = GuestCrate::parse("[workspace]\nmembers = [\"a\"]\n").unwrap_err();
        assert!(workspace.contains("member crates"), "{workspace}");

        let no_cdylib = GuestCrate::parse("[package]\nname = \"x\"\n").unwrap_err();
        assert!(
            no_cdylib.contains("crate-type = [\"cdylib\"]"),
            "{no_cdylib}"
        );

        let garbage = GuestCrate::parse("[package\n").unwrap_err();
        assert!(garbage.contains("not a valid Cargo.toml"), "{garbage}");
    }

    #[test]
    fn rustc_versions_parse() {
        assert_eq!(
            parse_rustc_version(
                "rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)"
            ),
            Some((1, 96))
        );
        assert_eq!(
            parse_rustc_version("rustc 1.90.0-nightly (abc 2025-07-01)"),
            Some((1, 90))
        );
        assert_eq!(parse_rustc_version("rustc 1.63.0"), Some((1, 63)));
        assert!(parse_rustc_version("rustc 1.63.0").unwrap() < MIN_DEBIAN_RUSTC);
        assert_eq!(parse_rustc_version("garbage"), None);
    }

    #[test]
    fn missing_crate_dir_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let opts = BuildOptions {
            data_dir: dir.path().join("data"),
            release: true,
        };
        let err = build(&dir.path().join("nope"), &opts).unwrap_err();
        assert!(matches!(err, BuildError::NotAnApp { .. }), "{err}");
        assert!(err.to_string().contains("Cargo.toml"), "{err}");
    }
}
