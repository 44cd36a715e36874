//! Rebuild on save: `botyard dev` watches each app's source directory,
//! rebuilds it (debounced) when a source file changes, and installs the new
//! component, where hot reload takes over. A failed build changes nothing
//! that serves: the error (with file:line as the toolchain gave it) is
//! printed and recorded as the app's last error, and the previous version
//! keeps answering.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::SourceApp;
use crate::build::{BuildError, BuildOptions, build_guest};
use crate::routing::Apps;

/// Quiet time after the last saved file before building: editors save in
/// several steps, and a build of half a save only reports a bogus error.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Directories that builds write or tools keep caches in; changes there are
/// not edits.
const IGNORED_DIRS: &[&str] = &["target", "node_modules", "__pycache__", ".git", "dist"];

/// Why installing a built component failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0}")]
    Build(#[from] BuildError),
    #[error(
        "cannot install the built component into {}: {source}; check the apps directory's permissions",
        apps_dir.display()
    )]
    Io {
        apps_dir: PathBuf,
        source: std::io::Error,
    },
}

/// Builds `app` and copies the component into `apps_dir` as `<id>.wasm`,
/// atomically, so a watching host never reads half a file.
pub fn build_and_install(
    app: &SourceApp,
    opts: &BuildOptions,
    apps_dir: &Path,
) -> Result<PathBuf, InstallError> {
    let built = build_guest(&app.dir, opts)?;
    let io = |source| InstallError::Io {
        apps_dir: apps_dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(apps_dir).map_err(io)?;
    let target = apps_dir.join(format!("{}.wasm", app.id));
    let tmp = apps_dir.join(format!(".{}.wasm.{}.tmp", app.id, std::process::id()));
    std::fs::copy(&built, &tmp).map_err(io)?;
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })?;
    Ok(target)
}

/// [`build_and_install`] on a blocking thread, so the async host keeps serving.
pub async fn build_off_thread(
    app: &SourceApp,
    opts: &BuildOptions,
    apps_dir: &Path,
) -> Result<PathBuf, InstallError> {
    let (app, opts, apps_dir) = (app.clone(), opts.clone(), apps_dir.to_path_buf());
    tokio::task::spawn_blocking(move || build_and_install(&app, &opts, &apps_dir))
        .await
        .expect("a build panicked")
}

/// Builds `app`, installs it and reloads it at once (rather than waiting for
/// the apps directory watcher); on failure records the error on the app.
pub async fn rebuild(apps: &Apps, app: &SourceApp, opts: &BuildOptions) -> bool {
    let started = Instant::now();
    eprintln!("botyard dev: building {} ({}) …", app.id, app.dir.display());
    match build_off_thread(app, opts, &apps.config().apps_dir).await {
        Ok(_) => match apps.reload(&app.id).await {
            Ok(_) => {
                eprintln!(
                    "botyard dev: {} is answering with the new build ({} ms)",
                    app.id,
                    started.elapsed().as_millis()
                );
                true
            }
            Err(e) => {
                eprintln!("botyard dev: {} built but did not load: {e}", app.id);
                false
            }
        },
        Err(e) => {
            eprintln!(
                "botyard dev: {} failed to build; the previous version keeps serving.\n{e}",
                app.id
            );
            apps.record_failure(&app.id, format!("build failed: {e}"));
            false
        }
    }
}

/// Keeps the source watch alive; dropping it stops watching.
pub struct SourceWatch {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SourceWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches every app's source directory and rebuilds an app when one of its
/// source files changes. Builds run one at a time, in the order saved.
pub fn watch_sources(
    apps: Arc<Apps>,
    sources: Vec<SourceApp>,
    opts: BuildOptions,
) -> notify::Result<SourceWatch> {
    let dirs: BTreeMap<PathBuf, SourceApp> = sources
        .into_iter()
        .filter_map(|app| Some((app.dir.canonicalize().ok()?, app)))
        .collect();
    let roots: Vec<PathBuf> = dirs.keys().cloned().collect();
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if !matches!(event.kind, EventKind::Access(_)) => {
                for path in event.paths {
                    if let Some(root) = owning_root(&roots, &path) {
                        let _ = tx.send(root.clone());
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "watching app sources"),
        })?;
    for dir in dirs.keys() {
        watcher.watch(dir, RecursiveMode::Recursive)?;
    }
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = vec![first];
            while let Ok(Some(root)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                if !changed.contains(&root) {
                    changed.push(root);
                }
            }
            for root in changed {
                if let Some(app) = dirs.get(&root) {
                    rebuild(&apps, app, &opts).await;
                }
            }
        }
    });
    Ok(SourceWatch {
        _watcher: watcher,
        task,
    })
}

/// The watched root `path` is an edit in, unless it lies in a build output or
/// cache directory or is an editor's temporary file.
fn owning_root<'a>(roots: &'a [PathBuf], path: &Path) -> Option<&'a PathBuf> {
    let root = roots.iter().find(|root| path.starts_with(root))?;
    let relative = path.strip_prefix(root).ok()?;
    let ignored = relative.components().any(|c| match c {
        Component::Normal(name) => {
            let name = name.to_string_lossy();
            IGNORED_DIRS.contains(&name.as_ref())
                || name.starts_with('.')
                || name.ends_with('~')
                || name.ends_with(".swp")
        }
        _ => false,
    });
    (!ignored && !relative.as_os_str().is_empty()).then_some(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_told_from_build_outputs_and_editor_files() {
        let roots = vec![PathBuf::from("/src/poll"), PathBuf::from("/src/kudos")];
        let root = |p: &str| owning_root(&roots, Path::new(p)).cloned();
        assert_eq!(root("/src/poll/src/lib.rs"), Some(roots[0].clone()));
        assert_eq!(root("/src/kudos/app.js"), Some(roots[1].clone()));
        assert_eq!(root("/src/poll/target/release/x.wasm"), None);
        assert_eq!(root("/src/kudos/node_modules/a/index.js"), None);
        assert_eq!(root("/src/poll/src/.lib.rs.swp"), None);
        assert_eq!(root("/src/poll/src/lib.rs~"), None);
        assert_eq!(root("/src/poll/__pycache__/app.pyc"), None);
        assert_eq!(root("/elsewhere/lib.rs"), None);
    }
}
