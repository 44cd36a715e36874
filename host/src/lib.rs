//! botyard: a Slack bot host where every command and workplace app is a
//! sandboxed, hot-reloadable WebAssembly component.
//!
//! The modules are layered; data flows one way and no module imports one
//! above it (the `layering` test below checks every source file;
//! `ARCHITECTURE.md` is the map):
//!
//! ```text
//! fuzzing     a target per untrusted-input parser     fuzz/, tests/fuzz.rs
//! cli · workbench · authoring · emulator · build      the edges and tools
//! host                                                the host, assembled
//! inbound     Slack over HTTP and Socket Mode, time   requests come in
//! routing     the loaded apps and the routing table   which app answers
//! runtime     engines, versions, invocation, hooks    apps run
//! config      botyard.toml                            what the operator said
//! capabilities  slack, store, schedule, log, clock    what apps may call
//! slack · storage   Web API and outbox · the stores   the outside world
//! contract    WIT bindings, requests, grants, limits  what everyone speaks
//! ```

pub mod authoring;
pub mod build;
pub mod capabilities;
pub mod cli;
pub mod config;
pub mod contract;
pub mod emulator;
pub mod fuzzing;
pub mod host;
pub mod inbound;
pub mod routing;
pub mod runtime;
pub mod slack;
pub mod standins;
pub mod storage;
pub mod telemetry;
pub mod testkit;
pub mod workbench;

/// The layers, lowest first: a module may name (`crate::…`) only modules
/// before it. The edges and tools come last, in the order they build on
/// each other.
#[cfg(test)]
const LAYERS: &[&str] = &[
    "telemetry",
    "contract",
    "storage",
    "slack",
    "capabilities",
    "config",
    "runtime",
    "routing",
    "inbound",
    "host",
    "build",
    "emulator",
    "standins",
    "authoring",
    "workbench",
    "testkit",
    "cli",
    "fuzzing",
];

#[cfg(test)]
mod layering {
    use std::path::{Path, PathBuf};

    use super::LAYERS;

    /// Every `.rs` file of top-level module `module`.
    fn files(src: &Path, module: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let single = src.join(format!("{module}.rs"));
        if single.is_file() {
            found.push(single);
        }
        let mut dirs = vec![src.join(module)];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    found.push(path);
                }
            }
        }
        found
    }

    /// The top-level modules named by `crate::…` paths in `source`, outside
    /// comments (doc links may point anywhere; code may not).
    fn named(source: &str) -> Vec<String> {
        let mut names = Vec::new();
        for line in source.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    // `use crate::{a, b::c}`: every first segment.
                    let inner = group.split('}').next().unwrap_or("");
                    for part in inner.split(',') {
                        let first: String = part
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !first.is_empty() {
                            names.push(first);
                        }
                    }
                } else {
                    let first: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.push(first);
                }
            }
        }
        names
    }

    #[test]
    fn no_module_names_one_above_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut violations = Vec::new();
        let mut checked = 0;
        for (level, module) in LAYERS.iter().enumerate() {
            for file in files(&src, module) {
                checked += 1;
                let source = std::fs::read_to_string(&file).unwrap();
                for name in named(&source) {
                    match LAYERS.iter().position(|m| *m == name) {
                        Some(other) if other > level => violations.push(format!(
                            "{} ({module}) names crate::{name}, a layer above it",
                            file.strip_prefix(&src).unwrap().display()
                        )),
                        Some(_) => {}
                        None => violations.push(format!(
                            "{} names crate::{name}, which is on no layer; add it to LAYERS",
                            file.strip_prefix(&src).unwrap().display()
                        )),
                    }
                }
            }
        }
        assert!(
            checked > 50,
            "only {checked} files found under {}",
            src.display()
        );
        assert!(
            violations.is_empty(),
            "layering broken:\n{}",
            violations.join("\n")
        );
    }

    #[test]
    fn every_top_level_module_is_on_a_layer() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
        for line in lib.lines() {
            if let Some(module) = line
                .strip_prefix("pub mod ")
                .and_then(|m| m.strip_suffix(';'))
            {
                assert!(LAYERS.contains(&module), "module `{module}` is on no layer");
            }
        }
    }

    #[test]
    fn the_checker_sees_grouped_and_plain_paths_but_not_comments() {
        let names = named(
            "use crate::{routing::Apps, slack};\nlet x = crate::host::Host::new(); // crate::cli\n/// [`crate::workbench`]",
        );
        assert_eq!(names, ["routing", "slack", "host"]);
    }
}
