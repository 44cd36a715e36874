//! Hot reload: watches the apps directory and reloads an app when its
//! component or its `<id>.toml` changes, appears or disappears — and
//! watches `botyard.toml`, applying an edit without a restart
//! ([`Apps::reload_config`]).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::Apps;

/// Quiet time after the last change to a file before it is read: editors and
/// copies write in several steps, and reading mid-write only wastes a compile.
pub const DEBOUNCE: Duration = Duration::from_millis(40);

/// Keeps the watch alive; dropping it stops watching.
pub struct WatchHandle {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What changed on disk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    /// `botyard.toml` itself; first, so apps reload under the new settings.
    Config,
    App(String),
}

/// Starts watching the apps directory of `apps` (creating it if missing)
/// and the configuration file it was read from, if any.
pub fn watch(apps: Arc<Apps>) -> notify::Result<WatchHandle> {
    let config = apps.config();
    let dir = config.apps_dir.clone();
    std::fs::create_dir_all(&dir).map_err(notify::Error::io)?;
    // Editors replace a file by renaming over it, which a watch on the file
    // itself loses: watch its directory and pick out its name.
    let config_file = config.origin.as_ref().map(|o| {
        let path = std::path::absolute(&o.path).unwrap_or_else(|_| o.path.clone());
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        (parent, path.file_name().map(|n| n.to_os_string()))
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let config_name = config_file.as_ref().and_then(|(_, name)| name.clone());
    let apps_dir = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if !matches!(event.kind, EventKind::Access(_)) => {
                for path in &event.paths {
                    if config_name.is_some() && path.file_name() == config_name.as_deref() {
                        let _ = tx.send(Change::Config);
                    } else if path.parent() == Some(apps_dir.as_path())
                        && let Some(id) = app_id_of(path)
                    {
                        let _ = tx.send(Change::App(id));
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "watching the apps directory"),
        })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    if let Some((parent, _)) = &config_file
        && parent.is_dir()
        && std::path::absolute(parent).ok() != std::path::absolute(&dir).ok()
    {
        watcher.watch(parent, RecursiveMode::NonRecursive)?;
    }
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = BTreeSet::from([first]);
            // Debounce: gather changes until the directory is quiet.
            while let Ok(Some(change)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                changed.insert(change);
            }
            if changed.remove(&Change::Config) {
                // An invalid file is logged and recorded where `botyard
                // apps` and the workbench show it.
                let _ = apps.reload_config().await;
            }
            for change in changed {
                let Change::App(id) = change else { continue };
                match apps.reload(&id).await {
                    Ok(outcome) => tracing::debug!(app = %id, ?outcome, "reload"),
                    Err(e) => {
                        tracing::warn!(app = %id, error = %e, "reload failed; previous version keeps serving")
                    }
                }
            }
        }
    });
    Ok(WatchHandle {
        _watcher: watcher,
        task,
    })
}

/// `apps/hello.wasm` and `apps/hello.toml` both concern app `hello`;
/// temporary files (`.hello.wasm.swp`, `hello.wasm.tmp`) concern nobody.
fn app_id_of(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    let stem = path.file_stem()?.to_str()?;
    (matches!(ext, "wasm" | "toml") && !stem.starts_with('.') && !stem.contains('.'))
        .then(|| stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_files_to_app_ids() {
        assert_eq!(
            app_id_of(Path::new("/a/hello.wasm")).as_deref(),
            Some("hello")
        );
        assert_eq!(
            app_id_of(Path::new("/a/hello.toml")).as_deref(),
            Some("hello")
        );
        assert_eq!(app_id_of(Path::new("/a/hello.wasm.tmp")), None);
        assert_eq!(app_id_of(Path::new("/a/.hello.wasm")), None);
        assert_eq!(app_id_of(Path::new("/a/notes.txt")), None);
    }
}
