//! The set of loaded apps and their routes, swapped atomically as a whole.
//!
//! Readers clone an `Arc<Snapshot>` and let go of the lock at once, so an
//! invocation keeps the version it started on while a reload installs the
//! next one.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::app::AppVersion;
use crate::capabilities::clock::now_ms;
use crate::slack::router::Routes;

/// One consistent view of every app.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub apps: BTreeMap<Arc<str>, AppEntry>,
    pub routes: Routes,
}

/// An app's serving version and the story of its loads.
#[derive(Clone, Default)]
pub struct AppEntry {
    /// The version serving invocations, if any loaded successfully.
    pub current: Option<Arc<AppVersion>>,
    /// When `current` was installed (Unix ms).
    pub loaded_at_ms: Option<u64>,
    /// Why the most recent load attempt failed, if it did.
    pub last_error: Option<LoadFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    pub at_ms: u64,
    pub message: String,
}

#[derive(Default)]
pub struct Registry {
    snapshot: RwLock<Arc<Snapshot>>,
}

impl Snapshot {
    pub fn app(&self, id: &str) -> Option<&Arc<AppVersion>> {
        self.apps.get(id).and_then(|entry| entry.current.as_ref())
    }
}

impl Registry {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Installs `version` unless it claims a command another app serves; on a
    /// conflict the old version stays and the conflict becomes the last error.
    pub fn install(&self, version: AppVersion) -> Result<(), String> {
        let version = Arc::new(version);
        self.update(|snap| {
            if let Some(conflict) = snap.routes.conflict(&version.id, &version.info) {
                let entry = snap.apps.entry(version.id.clone()).or_default();
                entry.last_error = Some(LoadFailure {
                    at_ms: now_ms(),
                    message: conflict.clone(),
                });
                return Err(conflict);
            }
            snap.apps.insert(
                version.id.clone(),
                AppEntry {
                    current: Some(version.clone()),
                    loaded_at_ms: Some(now_ms()),
                    last_error: None,
                },
            );
            Ok(())
        })
    }

    /// Records a failed load; whatever version was serving keeps serving.
    pub fn record_failure(&self, id: &str, message: String) {
        self.update(|snap| {
            let entry = snap.apps.entry(id.into()).or_default();
            entry.last_error = Some(LoadFailure {
                at_ms: now_ms(),
                message,
            });
            Ok::<_, ()>(())
        })
        .ok();
    }

    /// Unloads an app (its file was removed). Returns whether it was known.
    pub fn remove(&self, id: &str) -> bool {
        self.update(|snap| Ok::<_, ()>(snap.apps.remove(id).is_some()))
            .unwrap_or(false)
    }

    /// Applies `change` to a copy of the snapshot and publishes the copy with
    /// its routes rebuilt (a failed change may still have recorded an error).
    fn update<T, E>(&self, change: impl FnOnce(&mut Snapshot) -> Result<T, E>) -> Result<T, E> {
        let mut guard = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
        let mut next = Snapshot::clone(&guard);
        let result = change(&mut next);
        next.routes = Routes::build(
            next.apps
                .iter()
                .filter_map(|(id, e)| e.current.as_ref().map(|v| (id, &v.info))),
        );
        *guard = Arc::new(next);
        result
    }
}
