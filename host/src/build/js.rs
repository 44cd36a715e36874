//! JavaScript apps: esbuild bundles the app's entry module with the SDK
//! (`import … from "botyard"` resolves to `guests/js/botyard.js`, embedded
//! here), then componentize-qjs turns the bundle into a component running it
//! on QuickJS. Both are installed with npm into `<data_dir>/toolchains/js` on
//! first use.
//!
//! Why QuickJS and not componentize-js (SpiderMonkey): every invocation is a
//! fresh instance, and SpiderMonkey pays ~550 µs per fresh instance before a
//! handler's first line (lazily created builtins, the async export glue, page
//! faults in a 12 MB image); QuickJS answers the whole starter command in
//! ~200 µs from a 1.6 MB component that builds in ~2 s instead of ~20 s
//! (`cargo bench --bench languages -- js`).
//!
//! An app registers its handlers on an `App` and ends `export default app`;
//! the bundle's entry is a few lines of glue (`guests/js/build.mjs`) that
//! export that app as the component's `handler` and optional trigger
//! interfaces (`shortcuts` …): every export of world `app-with-triggers`.
//!
//! The component is built against a world that imports only the botyard
//! interfaces the bundle uses, so a JS app needs the same grants as the same
//! app written in Rust. WASI is limited to stdio, clocks and random.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Deserialize;
use tracing::{debug, info, warn};

use super::{
    BOTYARD_WIT, BuildError, BuildLock, BuildOptions, apt_get, botyard_wit, build_dir,
    check_exports_handler, find_on_path, is_root, write_atomically,
};

/// The SDK apps import as `"botyard"`.
const SDK: &str = include_str!("../../../guests/js/botyard.js");

/// `console`, injected into the apps that use it.
const CONSOLE: &str = include_str!("../../../guests/js/console.js");

/// The SDK's `fetch`, bundled only into the apps that import it (they import
/// `http`), and the helpers the SDK's modules share.
const FETCH: &str = include_str!("../../../guests/js/fetch.js");
const INTERNAL: &str = include_str!("../../../guests/js/internal.js");
/// The time-zone table (QuickJS has none), exported by the SDK.
const ZONES: &str = include_str!("../../../guests/js/zones.js");

/// The node script that runs esbuild and componentize-qjs.
const DRIVER: &str = include_str!("../../../guests/js/build.mjs");

/// The toolchain's package.json: the npm lines botyard was tested with.
const TOOLCHAIN_PACKAGE: &str = r#"{
  "private": true,
  "description": "botyard's JavaScript guest toolchain",
  "type": "module",
  "dependencies": {
    "componentize-qjs": "~0.4.5",
    "esbuild": "~0.28.0"
  }
}
"#;

/// componentize-qjs's native addon (N-API 9) and esbuild 0.28 need Node.js 20.
const MIN_NODE_MAJOR: u32 = 20;

/// The world each app is built against: `app-with-triggers`'s, narrowed to
/// what it imports.
const WORLD: &str = "js-app";

const NODE_HINT: &str = "Node.js 20 or newer with npm: `apt-get install nodejs npm` on Debian 13 or \
     Ubuntu 24.04 (Debian 12's nodejs is 18, too old), or see https://nodejs.org/en/download";

/// Builds the JavaScript app in `dir` into `<data_dir>/build/out/<name>.wasm`.
/// `opts.release` makes no difference: componentize-qjs has one optimised build.
pub fn build(dir: &Path, opts: &BuildOptions) -> Result<PathBuf, BuildError> {
    let started = Instant::now();
    let app = JsApp::find(dir)?;
    let build_dir = build_dir(opts)?;
    let _lock = BuildLock::acquire(&build_dir)?;
    let node = ensure_node()?;
    let toolchain = ensure_toolchain(opts, &node)?;

    let work = build_dir.join("js").join(&app.name);
    fs::create_dir_all(&work).map_err(BuildError::io("create", &work))?;
    let bundle = work.join(format!("{}.bundle.js", app.name));
    let report_path = work.join("bundle.json");
    let wit = botyard_wit();
    run_driver(
        &node,
        &toolchain,
        "bundle",
        &serde_json::json!({
            "appDir": app.dir,
            "entry": app.entry,
            "entryShown": app.entry_shown,
            "sdk": toolchain.join("botyard.js"),
            "console": toolchain.join("console.js"),
            "package": wit.package,
            "interfaces": wit.imports,
            "exports": wit.exports.iter().map(|e| camel_case(e)).collect::<Vec<_>>(),
            "out": bundle,
            "report": report_path,
        }),
        &work,
        &app.name,
    )?;
    let report = fs::read_to_string(&report_path).map_err(BuildError::io("read", &report_path))?;
    let report: BundleReport =
        serde_json::from_str(&report).map_err(|e| BuildError::Componentize {
            reason: format!(
                "the bundler's report {} is unreadable: {e}",
                report_path.display()
            ),
        })?;
    for warning in &report.warnings {
        warn!(app = %app.name, "{warning}");
    }
    let wit_path = work.join("app.wit");
    write_atomically(&wit_path, app_wit(&report.imports, &wit.exports).as_bytes())?;
    let component_path = work.join("component.wasm");
    eprintln!("componentizing {} with componentize-qjs…", app.name);
    run_driver(
        &node,
        &toolchain,
        "componentize",
        &serde_json::json!({
            "appDir": app.dir,
            "entryShown": app.entry_shown,
            "bundle": bundle,
            "sdk": toolchain.join("botyard.js"),
            "wit": wit_path,
            "world": WORLD,
            "out": component_path,
        }),
        &work,
        &app.name,
    )?;
    let component = fs::read(&component_path).map_err(BuildError::io("read", &component_path))?;
    check_exports_handler(&component)?;
    let out = build_dir.join("out").join(format!("{}.wasm", app.name));
    write_atomically(&out, &component)?;
    // A second copy of each component is not worth keeping; the bundle is (stack traces name it).
    let _ = fs::remove_file(&component_path);
    info!(
        app = %app.name,
        path = %out.display(),
        imports = ?report.imports,
        component_bytes = component.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "built component"
    );
    Ok(out)
}

/// Where an app's code starts and what it is called.
#[derive(Debug, PartialEq, Eq)]
struct JsApp {
    /// The app's directory, absolute.
    dir: PathBuf,
    /// The entry module, absolute.
    entry: PathBuf,
    /// The entry as the author names it (relative to `dir`).
    entry_shown: String,
    /// package.json `name` without its `@scope/`, or the directory's name.
    name: String,
}

/// The parts of package.json the build reads.
#[derive(Debug, Default, Deserialize)]
struct PackageJson {
    name: Option<String>,
    main: Option<String>,
}

impl JsApp {
    fn find(dir: &Path) -> Result<JsApp, BuildError> {
        let not_an_app = |reason: String| BuildError::NotAnApp {
            dir: dir.to_path_buf(),
            reason,
        };
        let dir = dir
            .canonicalize()
            .map_err(|e| not_an_app(format!("cannot open it: {e}")))?;
        let manifest_path = dir.join("package.json");
        let package = match fs::read_to_string(&manifest_path) {
            Ok(text) => {
                serde_json::from_str::<PackageJson>(&text).map_err(|e| BuildError::Manifest {
                    path: manifest_path.clone(),
                    reason: format!("not a valid package.json: {e}"),
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PackageJson::default(),
            Err(e) => return Err(BuildError::io("read", &manifest_path)(e)),
        };
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = app_name(package.name.as_deref(), &dir_name).map_err(|reason| {
            BuildError::Manifest {
                path: manifest_path.clone(),
                reason,
            }
        })?;
        // npm init writes `"main": "index.js"` whether or not it exists.
        let entry_shown = match package.main {
            Some(main) if dir.join(&main).is_file() => main,
            _ if dir.join("app.js").is_file() => "app.js".to_string(),
            main => {
                return Err(not_an_app(match main {
                    Some(main) => format!(
                        "it holds neither package.json's main ({main}) nor app.js; create app.js \
                         or point main at the app's entry module"
                    ),
                    None => "it holds no app.js; create one, or name the entry module in package.json's main"
                        .into(),
                }));
            }
        };
        Ok(JsApp {
            entry: dir.join(&entry_shown),
            entry_shown,
            dir,
            name,
        })
    }
}

/// The app's name: package.json's (without an npm `@scope/`), else the
/// directory's. It names the output file, so it must be a plain file name.
fn app_name(package_name: Option<&str>, dir_name: &str) -> Result<String, String> {
    let (name, from) = match package_name {
        Some(name) => (
            name.strip_prefix('@')
                .and_then(|scoped| scoped.split_once('/'))
                .map_or(name, |(_, n)| n),
            "package.json's name",
        ),
        None => (dir_name, "the directory's name (package.json has no name)"),
    };
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(name.to_string())
    } else {
        Err(format!(
            "{from} {name:?} cannot name the app; use letters, digits, `-`, `_` and `.` (like \"hello-js\")"
        ))
    }
}

/// What the bundle step found.
#[derive(Debug, Deserialize)]
struct BundleReport {
    /// botyard interfaces the bundle imports (`store`, `slack` …).
    imports: Vec<String>,
    /// esbuild's warnings, formatted with their file:line.
    warnings: Vec<String>,
}

/// A WIT name as componentize-qjs names it in JavaScript: `on-shortcut` →
/// `onShortcut`.
fn camel_case(name: &str) -> String {
    let mut words = name.split('-');
    let mut out = words.next().unwrap_or_default().to_string();
    for word in words {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// botyard's WIT plus world [`WORLD`], which imports just `imports` and
/// exports `exports`.
fn app_wit(imports: &[String], exports: &[String]) -> String {
    let mut wit = format!("{BOTYARD_WIT}\nworld {WORLD} {{\n");
    for import in imports {
        wit.push_str(&format!("    import {import};\n"));
    }
    for export in exports {
        wit.push_str(&format!("    export {export};\n"));
    }
    wit.push_str("}\n");
    wit
}

/// `node` and `npm`.
struct Node {
    node: PathBuf,
    npm: PathBuf,
}

/// Finds Node.js, installing Debian's when there is none and this process may.
fn ensure_node() -> Result<Node, BuildError> {
    let missing = match find_node() {
        Ok(node) => return Ok(node),
        Err(missing) => missing,
    };
    let node_absent = find_on_path("node").is_none() || find_on_path("npm").is_none();
    if !(node_absent && is_root() && find_on_path("apt-get").is_some()) {
        return Err(BuildError::NoToolchain {
            language: "JavaScript",
            found: missing,
            hint: NODE_HINT.into(),
        });
    }
    eprintln!("installing Node.js and npm with apt-get (one time, ~1 min)…");
    // A stale or failing package list is not fatal: the install may still work.
    if let Err(e) = apt_get(&["update"], "the package lists", NODE_HINT) {
        warn!("{e}");
    }
    apt_get(
        &["install", "-y", "--no-install-recommends", "nodejs", "npm"],
        "Node.js",
        NODE_HINT,
    )?;
    find_node().map_err(|missing| BuildError::NoToolchain {
        language: "JavaScript",
        found: format!("installed Debian's nodejs and npm, but {missing}"),
        hint: NODE_HINT.into(),
    })
}

/// `node` (new enough) and `npm` on PATH; `Err` says what is missing.
fn find_node() -> Result<Node, String> {
    let node = find_on_path("node").ok_or("no `node` on PATH")?;
    let out = Command::new(&node)
        .arg("--version")
        .output()
        .map_err(|e| format!("`{} --version` failed: {e}", node.display()))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match parse_node_major(&version) {
        Some(major) if major >= MIN_NODE_MAJOR => {}
        _ => {
            return Err(format!(
                "{} is Node.js `{version}`, older than {MIN_NODE_MAJOR}",
                node.display()
            ));
        }
    }
    let npm = find_on_path("npm").ok_or("node is there but `npm` is not on PATH")?;
    Ok(Node { node, npm })
}

/// `v20.20.2` → `20`.
fn parse_node_major(version: &str) -> Option<u32> {
    version.strip_prefix('v')?.split('.').next()?.parse().ok()
}

/// `<data_dir>/toolchains/js` with componentize-qjs and esbuild installed
/// (once per pinned version), and the current SDK and driver written.
fn ensure_toolchain(opts: &BuildOptions, node: &Node) -> Result<PathBuf, BuildError> {
    let dir = std::path::absolute(opts.data_dir.join("toolchains").join("js"))
        .map_err(BuildError::io("resolve", &opts.data_dir))?;
    // Written only after a complete install, so an interrupted one is redone.
    let marker = dir.join(".botyard-installed");
    if fs::read_to_string(&marker).ok().as_deref() != Some(TOOLCHAIN_PACKAGE) {
        install_toolchain(&dir, node)?;
        write_atomically(&marker, TOOLCHAIN_PACKAGE.as_bytes())?;
    }
    for (name, text) in [
        ("build.mjs", DRIVER),
        ("botyard.js", SDK),
        ("console.js", CONSOLE),
        ("fetch.js", FETCH),
        ("internal.js", INTERNAL),
        ("zones.js", ZONES),
    ] {
        let path = dir.join(name);
        if fs::read_to_string(&path).ok().as_deref() != Some(text) {
            write_atomically(&path, text.as_bytes())?;
        }
    }
    Ok(dir)
}

fn install_toolchain(dir: &Path, node: &Node) -> Result<(), BuildError> {
    eprintln!(
        "installing componentize-qjs and esbuild into {} (one time, ~30 s)…",
        dir.display()
    );
    let started = Instant::now();
    write_atomically(&dir.join("package.json"), TOOLCHAIN_PACKAGE.as_bytes())?;
    let args = ["install", "--no-audit", "--no-fund", "--loglevel=error"];
    let out = Command::new(&node.npm)
        .args(args)
        .arg("--prefix")
        .arg(dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| BuildError::Spawn {
            program: node.npm.display().to_string(),
            error,
        })?;
    if !out.status.success() {
        return Err(BuildError::Install {
            what: "componentize-qjs".into(),
            command: format!("npm {} --prefix {}", args.join(" "), dir.display()),
            output: super::output_tail(&out),
            hint: format!(
                "check that npm reaches its registry (`npm ping`), then run `npm install` in {}",
                dir.display()
            ),
        });
    }
    info!(
        dir = %dir.display(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "installed the JavaScript toolchain"
    );
    Ok(())
}

/// Runs one step of the driver. Exit status 2 is the app's fault (its
/// message says where); anything else is the toolchain's.
fn run_driver(
    node: &Node,
    toolchain: &Path,
    step: &str,
    config: &serde_json::Value,
    cwd: &Path,
    app: &str,
) -> Result<(), BuildError> {
    let started = Instant::now();
    let out = Command::new(&node.node)
        .arg(toolchain.join("build.mjs"))
        .arg(step)
        .arg(config.to_string())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| BuildError::Spawn {
            program: node.node.display().to_string(),
            error,
        })?;
    debug!(
        app,
        step,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ran the JS build driver"
    );
    // stdout holds what the app printed while its top level ran.
    let printed = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(()),
        Some(2) => Err(BuildError::Compile {
            app: app.to_string(),
            output: format!("{printed}{stderr}").trim_end().to_string(),
        }),
        _ => Err(BuildError::Componentize {
            reason: format!(
                "the JavaScript toolchain failed ({step}):\n{}\nIf this persists, delete {} and botyard reinstalls it",
                super::output_tail(&out),
                toolchain.display()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_comes_from_package_json_or_the_directory() {
        assert_eq!(app_name(Some("hello-js"), "x").unwrap(), "hello-js");
        assert_eq!(app_name(Some("@team/poll"), "x").unwrap(), "poll");
        assert_eq!(app_name(None, "standup_bot").unwrap(), "standup_bot");

        let err = app_name(Some("../evil"), "x").unwrap_err();
        assert!(err.contains("package.json's name"), "{err}");
        let err = app_name(None, "my app").unwrap_err();
        assert!(
            err.contains("directory's name") && err.contains("\"my app\""),
            "{err}"
        );
        assert!(app_name(Some(""), "x").is_err());
        assert!(app_name(None, ".hidden").is_err());
    }

    #[test]
    fn the_entry_is_main_when_it_exists_else_app_js() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("standup");
        fs::create_dir(&dir).unwrap();

        let err = JsApp::find(&dir).unwrap_err().to_string();
        assert!(
            err.contains("no app.js") && err.contains("botyard new"),
            "{err}"
        );

        fs::write(dir.join("app.js"), "").unwrap();
        let app = JsApp::find(&dir).unwrap();
        assert_eq!(
            (app.name.as_str(), app.entry_shown.as_str()),
            ("standup", "app.js")
        );
        assert!(app.entry.is_absolute() && app.entry.ends_with("standup/app.js"));

        // npm init's default main, which does not exist: app.js still serves.
        fs::write(
            dir.join("package.json"),
            r#"{"name": "@acme/stand-up", "main": "index.js"}"#,
        )
        .unwrap();
        let app = JsApp::find(&dir).unwrap();
        assert_eq!(
            (app.name.as_str(), app.entry_shown.as_str()),
            ("stand-up", "app.js")
        );

        fs::write(dir.join("index.js"), "").unwrap();
        assert_eq!(JsApp::find(&dir).unwrap().entry_shown, "index.js");

        fs::remove_file(dir.join("app.js")).unwrap();
        fs::remove_file(dir.join("index.js")).unwrap();
        let err = JsApp::find(&dir).unwrap_err().to_string();
        assert!(
            err.contains("main (index.js)") && err.contains("app.js"),
            "{err}"
        );
    }

    #[test]
    fn a_broken_package_json_says_where() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("package.json"), "{\n  \"name\": \"x\",\n}").unwrap();
        fs::write(dir.path().join("app.js"), "").unwrap();
        let err = JsApp::find(dir.path()).unwrap_err();
        assert!(matches!(err, BuildError::Manifest { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("package.json") && msg.contains("line 3"),
            "{msg}"
        );
    }

    #[test]
    fn apps_import_the_capabilities_of_world_app_and_export_every_trigger() {
        let wit = botyard_wit();
        assert_eq!(wit.package, "botyard:app@0.1.0");
        // World `app` imports exactly the capabilities the host provides.
        assert_eq!(wit.imports, crate::capabilities::NAMES);
        let mut exports = wit.exports.clone();
        exports.sort();
        assert_eq!(
            exports,
            [
                "handler",
                "phrases",
                "settings-schema",
                "shortcuts",
                "webhooks"
            ]
        );
        // Each is a getter of the SDK's App, by its JavaScript name.
        for export in &wit.exports {
            let getter = format!("  get {}() {{", camel_case(export));
            assert!(
                SDK.contains(&getter),
                "guests/js/botyard.js has no `{getter}`"
            );
        }
    }

    #[test]
    fn wit_names_become_javascript_names() {
        assert_eq!(camel_case("shortcuts"), "shortcuts");
        assert_eq!(camel_case("on-shortcut"), "onShortcut");
        assert_eq!(camel_case("describe-shortcuts"), "describeShortcuts");
        assert_eq!(camel_case("a-b-c"), "aBC");
        assert_eq!(camel_case("settings-schema"), "settingsSchema");
    }

    #[test]
    fn the_app_world_imports_only_what_the_bundle_uses() {
        let text = app_wit(
            &["store".into(), "log".into()],
            &["handler".into(), "shortcuts".into()],
        );
        let mut resolve = wit_parser::Resolve::new();
        let package = resolve.push_str("app.wit", &text).unwrap();
        let world = resolve.select_world(&[package], Some(WORLD)).unwrap();
        let names = |keys: Vec<&wit_parser::WorldKey>| -> Vec<String> {
            keys.into_iter()
                .map(|k| resolve.name_world_key(k))
                .collect()
        };
        let world = &resolve.worlds[world];
        let mut imports = names(world.imports.keys().collect());
        imports.sort();
        // `types` comes along because the handler uses it; it has no functions.
        assert_eq!(
            imports,
            [
                "botyard:app/log@0.1.0",
                "botyard:app/store@0.1.0",
                "botyard:app/types@0.1.0"
            ]
        );
        assert_eq!(
            names(world.exports.keys().collect()),
            ["botyard:app/handler@0.1.0", "botyard:app/shortcuts@0.1.0"]
        );
    }

    #[test]
    fn node_versions_parse() {
        assert_eq!(parse_node_major("v20.20.2"), Some(20));
        assert_eq!(parse_node_major("v18.20.4"), Some(18));
        assert!(parse_node_major("v18.20.4").unwrap() < MIN_NODE_MAJOR);
        assert_eq!(parse_node_major("20.1.0"), None);
        assert_eq!(parse_node_major(""), None);
    }
}
