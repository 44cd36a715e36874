//! Hot reload: watches the apps directory and reloads an app when its
//! component or its `<id>.toml` changes, appears or disappears.

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

/// Starts watching the apps directory of `apps` (creating it if missing).
pub fn watch(apps: Arc<Apps>) -> notify::Result<WatchHandle> {
    let dir = apps.config().apps_dir.clone();
    std::fs::create_dir_all(&dir).map_err(notify::Error::io)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if !matches!(event.kind, EventKind::Access(_)) => {
                for id in event.paths.iter().filter_map(|p| app_id_of(p)) {
                    let _ = tx.send(id);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "watching the apps directory"),
        })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = BTreeSet::from([first]);
            // Debounce: gather changes until the directory is quiet.
            while let Ok(Some(id)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                changed.insert(id);
            }
            for id in changed {
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
