//! `botyard new <name> --lang rust|js|python`: a new app from the starters in
//! `examples/`, embedded in the binary so it works from any directory.
//!
//! The starter's command `/hello` becomes `/<name>` and its package takes the
//! app's name; nothing else changes, so a new app behaves exactly like the
//! starter the end-to-end tests check. Rust apps also need the SDK crate and
//! the WIT on disk: they are written under the build directory and the new
//! app's `Cargo.toml` points there. The JS and Python builds bring their SDK
//! themselves.

use std::path::{Path, PathBuf};

use crate::build::{BOTYARD_WIT, Language};

/// A file of a starter: its path inside the app, and its text.
type File = (&'static str, &'static str);

const RUST_STARTER: &[File] = &[
    (
        "Cargo.toml",
        include_str!("../../../examples/hello-rust/Cargo.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../examples/hello-rust/src/lib.rs"),
    ),
    (
        "scenarios/hello.toml",
        include_str!("../../../examples/hello-rust/scenarios/hello.toml"),
    ),
];

const JS_STARTER: &[File] = &[
    (
        "package.json",
        include_str!("../../../examples/hello-js/package.json"),
    ),
    ("app.js", include_str!("../../../examples/hello-js/app.js")),
    (
        "scenarios/hello.toml",
        include_str!("../../../examples/hello-js/scenarios/hello.toml"),
    ),
];

const PYTHON_STARTER: &[File] = &[
    (
        "pyproject.toml",
        include_str!("../../../examples/hello-python/pyproject.toml"),
    ),
    (
        "app.py",
        include_str!("../../../examples/hello-python/app.py"),
    ),
    (
        "scenarios/hello.toml",
        include_str!("../../../examples/hello-python/scenarios/hello.toml"),
    ),
];

/// The Rust SDK crate's manifest, README and the WIT, at their paths
/// relative to the SDK root (the layout of the repository, so its
/// `generate!` finds `../../../wit`); its sources are [`RUST_SDK_SRC`].
const RUST_SDK: &[File] = &[
    (
        "guests/rust/botyard-sdk/Cargo.toml",
        include_str!("../../../guests/rust/botyard-sdk/Cargo.toml"),
    ),
    (
        "guests/rust/botyard-sdk/README.md",
        include_str!("../../../guests/rust/botyard-sdk/README.md"),
    ),
    ("wit/botyard.wit", BOTYARD_WIT),
];

/// Every file of `guests/rust/botyard-sdk/src/`, listed by the build script
/// (so a new SDK module cannot be forgotten here).
const RUST_SDK_SRC: &[File] = include!(concat!(env!("OUT_DIR"), "/rust_sdk_src.rs"));

/// The starter's dependency line the new app's is rewritten from.
const RUST_SDK_DEPENDENCY: &str = r#"botyard-sdk = { path = "../../guests/rust/botyard-sdk" }"#;

/// Why an app could not be created. Each message says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "`{0}` cannot name an app: use 1-31 lowercase letters, digits and `-`, starting with a letter \
         (it becomes the command `/{0}`)"
    )]
    BadName(String),
    #[error("{} already exists; pick another name or remove it", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}; check the directory's permissions", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes a new app called `name` in `language` to `dir` (which must not
/// exist yet); Rust's SDK goes under `build_dir`. Returns the app's files.
pub fn scaffold(
    name: &str,
    language: Language,
    dir: &Path,
    build_dir: &Path,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    check_name(name)?;
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    let (starter, starter_name) = match language {
        Language::Rust => (RUST_STARTER, "hello-rust"),
        Language::JavaScript => (JS_STARTER, "hello-js"),
        Language::Python => (PYTHON_STARTER, "hello-python"),
    };
    let sdk_dependency = if language == Language::Rust {
        let root = std::path::absolute(build_dir.join("sdk")).map_err(io(build_dir))?;
        write_files(&root, RUST_SDK, |text| text.to_string())?;
        write_files(
            &root.join("guests/rust/botyard-sdk/src"),
            RUST_SDK_SRC,
            |text| text.to_string(),
        )?;
        let crate_dir = root.join("guests/rust/botyard-sdk");
        Some(format!(
            "botyard-sdk = {{ path = {} }}",
            toml::Value::String(crate_dir.display().to_string())
        ))
    } else {
        None
    };
    write_files(dir, starter, |text| {
        let text = text
            .replace(starter_name, name)
            .replace("\"/hello\"", &format!("\"/{name}\""))
            // The scenario's `command = "/hello world"` too.
            .replace("\"/hello ", &format!("\"/{name} "))
            .replace("\"hello\"", &format!("\"{name}\""));
        match &sdk_dependency {
            Some(line) => text.replace(RUST_SDK_DEPENDENCY, line),
            None => text,
        }
    })
}

fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let ok = (1..=31).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ScaffoldError::BadName(name.into()))
    }
}

/// Writes `files` under `root`, each through `edit`; returns their paths.
fn write_files(
    root: &Path,
    files: &[File],
    edit: impl Fn(&str) -> String,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    let mut written = Vec::new();
    for (relative, text) in files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, edit(text)).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ScaffoldError + '_ {
    move |source| ScaffoldError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_becomes_the_named_app() {
        let tmp = tempfile::tempdir().unwrap();
        for language in [Language::Rust, Language::JavaScript, Language::Python] {
            let dir = tmp.path().join(format!("demo-{}", language.name()));
            let name = format!("demo-{}", language.name());
            let files = scaffold(&name, language, &dir, &tmp.path().join("build")).unwrap();
            let all: String = files
                .iter()
                .map(|f| std::fs::read_to_string(f).unwrap())
                .collect();
            assert!(all.contains(&format!("\"/{name}\"")), "{language:?}: {all}");
            assert!(!all.contains("\"/hello\""), "{language:?}");
            assert!(!all.contains("hello-"), "{language:?}: package renamed");
            assert_eq!(Language::detect(&dir).unwrap(), language);
            // It comes with a scenario, for `botyard test`, about its own command.
            let scenario = std::fs::read_to_string(dir.join("scenarios/hello.toml")).unwrap();
            assert!(
                scenario.contains(&format!("command = \"/{name} world\"")),
                "{scenario}"
            );
        }
        let cargo = std::fs::read_to_string(tmp.path().join("demo-rust/Cargo.toml")).unwrap();
        assert!(!cargo.contains(RUST_SDK_DEPENDENCY), "{cargo}");
        let sdk = tmp.path().join("build/sdk/guests/rust/botyard-sdk");
        assert!(cargo.contains(&sdk.display().to_string()), "{cargo}");
        assert!(sdk.join("src/lib.rs").is_file());
        assert!(tmp.path().join("build/sdk/wit/botyard.wit").is_file());
    }

    #[test]
    fn the_starter_still_has_the_dependency_line_scaffolding_rewrites() {
        assert!(RUST_STARTER[0].1.contains(RUST_SDK_DEPENDENCY));
    }

    #[test]
    fn bad_names_and_existing_directories_are_refused_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in ["", "Demo", "9lives", "a b", "x/y", &"a".repeat(32)] {
            let err = scaffold(bad, Language::Rust, &tmp.path().join("x"), tmp.path());
            assert!(matches!(err, Err(ScaffoldError::BadName(_))), "{bad:?}");
        }
        std::fs::write(tmp.path().join("taken"), "mine").unwrap();
        let err = scaffold(
            "taken",
            Language::Python,
            &tmp.path().join("taken"),
            tmp.path(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("taken")).unwrap(),
            "mine"
        );
        assert!(!tmp.path().join("x").exists());
    }
}
