//! Authoring apps: `botyard new` scaffolds one from the starters
//! ([`scaffold`]) and `botyard dev` rebuilds app sources on save
//! ([`rebuild`]). Which source directories `dev` builds is decided here.

pub mod rebuild;
pub mod scaffold;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build::Language;

/// An app built from source: its id (its component's name in the apps
/// directory) and the directory holding its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceApp {
    pub id: String,
    pub dir: PathBuf,
}

impl SourceApp {
    /// The app in `dir`, named after the directory (`examples/hello-rust` →
    /// `hello-rust`).
    pub fn from_dir(dir: &Path) -> SourceApp {
        let name = std::path::absolute(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "app".into());
        SourceApp {
            id: name.to_lowercase().replace('_', "-"),
            dir: dir.to_path_buf(),
        }
    }
}

/// The file in the data directory listing the projects `botyard new` created.
fn projects_file(data_dir: &Path) -> PathBuf {
    data_dir.join("projects.toml")
}

/// Remembers that app `id` is built from `dir`, so `botyard dev` run with the
/// same data directory builds and watches it.
pub fn register_project(data_dir: &Path, app: &SourceApp) -> std::io::Result<()> {
    let mut projects = registered_projects(data_dir);
    let dir = std::path::absolute(&app.dir)?;
    projects.retain(|p| p.id != app.id);
    projects.push(SourceApp {
        id: app.id.clone(),
        dir,
    });
    let table: BTreeMap<&str, String> = projects
        .iter()
        .map(|p| (p.id.as_str(), p.dir.display().to_string()))
        .collect();
    let text = format!(
        "# Apps created with `botyard new`; `botyard dev` builds and watches them.\n{}",
        toml::to_string(&BTreeMap::from([("apps", table)])).unwrap_or_default()
    );
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(projects_file(data_dir), text)
}

/// The projects `botyard new` registered that still exist.
pub fn registered_projects(data_dir: &Path) -> Vec<SourceApp> {
    #[derive(serde::Deserialize)]
    struct Projects {
        #[serde(default)]
        apps: BTreeMap<String, PathBuf>,
    }
    let Ok(text) = std::fs::read_to_string(projects_file(data_dir)) else {
        return Vec::new();
    };
    match toml::from_str::<Projects>(&text) {
        Ok(projects) => projects
            .apps
            .into_iter()
            .filter(|(_, dir)| dir.is_dir())
            .map(|(id, dir)| SourceApp { id, dir })
            .collect(),
        Err(e) => {
            tracing::warn!(file = %projects_file(data_dir).display(), error = %e, "ignoring the project list");
            Vec::new()
        }
    }
}

/// What `botyard dev` builds when not told: the apps botyard ships
/// (`apps/*`), the Rust starter, and every project created with
/// `botyard new`. The JS and Python starters answer `/hello` too, so they are
/// built only when named.
pub fn default_sources(repo: &Path, data_dir: &Path) -> Vec<SourceApp> {
    let mut apps = Vec::new();
    if let Ok(entries) = std::fs::read_dir(repo.join("apps")) {
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| Language::detect(p).is_ok())
            .collect();
        dirs.sort();
        apps.extend(dirs.iter().map(|d| SourceApp::from_dir(d)));
    }
    let starter = repo.join("examples").join("hello-rust");
    if starter.is_dir() {
        apps.push(SourceApp::from_dir(&starter));
    }
    for project in registered_projects(data_dir) {
        if !apps.iter().any(|a| a.id == project.id) {
            apps.push(project);
        }
    }
    apps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_remembered_and_vanished_ones_forgotten() {
        let data = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let demo = src.path().join("demo");
        let gone = src.path().join("gone");
        std::fs::create_dir_all(&demo).unwrap();
        std::fs::create_dir_all(&gone).unwrap();
        register_project(data.path(), &SourceApp::from_dir(&demo)).unwrap();
        register_project(data.path(), &SourceApp::from_dir(&gone)).unwrap();
        // Registering again replaces, not duplicates.
        register_project(data.path(), &SourceApp::from_dir(&demo)).unwrap();
        std::fs::remove_dir(&gone).unwrap();
        let projects = registered_projects(data.path());
        assert_eq!(
            projects,
            vec![SourceApp {
                id: "demo".into(),
                dir: demo
            }]
        );
    }

    #[test]
    fn dev_builds_shipped_apps_the_rust_starter_and_projects_but_not_sdks() {
        let repo = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let mk = |rel: &str, file: &str| {
            let dir = repo.path().join(rel);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(file), "").unwrap();
            dir
        };
        mk("apps/poll", "Cargo.toml");
        mk("apps/kudos", "app.py");
        mk("apps/README.md-is-not-an-app", "README.md");
        mk("guests/js", "package.json");
        mk("examples/hello-rust", "Cargo.toml");
        mk("examples/hello-js", "app.js");
        let demo = mk("demo", "app.js");
        register_project(data.path(), &SourceApp::from_dir(&demo)).unwrap();
        let ids: Vec<String> = default_sources(repo.path(), data.path())
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["kudos", "poll", "hello-rust", "demo"]);
    }
}
