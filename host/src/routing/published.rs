//! Apps published into the database (`botyard publish`): how a cluster,
//! whose replicas share nothing but the database, gets a new version.
//!
//! A published app is one more source beside the watched apps directory.
//! Each replica polls [`PublishedStore::published`] every [`POLL_EVERY`]
//! (and sooner when [`Storage::published_wakeup`] says something was
//! published — PostgreSQL's `LISTEN`), fetches a version it does not run
//! yet, and loads it through [`Apps::reload`]: the same path hot reload
//! takes (compiled through the compile cache, checked, swapped atomically,
//! so invocations in flight finish on the old version; a version that fails
//! to load leaves the serving one). It then reports what it runs
//! ([`PublishedStore::report`]) for `botyard apps` and `botyard cluster
//! status`.
//!
//! **Precedence.** When an app is published, the published version serves,
//! even if the apps directory holds a file of the same name: publishing is
//! the cluster-wide act, and a stray file on one machine must not make that
//! replica differ from the others. Unpublishing hands the app back to the
//! apps directory (its file, if there is one, loads again; otherwise it is
//! removed).
//!
//! **The published configuration.** The cluster-wide part of
//! `botyard.toml` (`limits`, `apps`, `permissions`, `audit`; see
//! [`crate::config::CLUSTER_KEYS`]) is published the same way (`botyard
//! publish --cluster-config`, [`publish_config`]) and followed by the same
//! poll: a new version goes over each replica's own file
//! ([`crate::config::overlay`]) through [`Apps::apply_published_config`],
//! the body a local edit takes ([`Apps::reload_config`]), so the rule is
//! the same — valid here, it replaces the configuration and reloads the
//! apps it changes; not valid here (this replica's file and the published
//! document do not go together), the previous configuration keeps serving
//! and the replica reports why. Unpublished, each replica goes back to its
//! file alone. The report goes under the app name
//! [`CONFIG_REPORT_NAME`] (`botyard.toml`), which no app id can be.
//!
//! [`Storage::published_wakeup`]: crate::storage::Storage::published_wakeup
//! [`PublishedStore::published`]: crate::storage::PublishedStore::published
//! [`PublishedStore::report`]: crate::storage::PublishedStore::report

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use super::Apps;
use crate::runtime::app::LoadError;
use crate::storage::{
    CONFIG_REPORT_NAME, PublishedApp, PublishedConfig, PublishedStore, StorageError, content_hash,
};

/// How often a replica looks for newly published versions: what `botyard
/// publish` promises ("within N s"), on top of the compile.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// Why a version was not published.
#[derive(Debug, Error)]
pub enum PublishError {
    /// It does not load here, so it would not load on a replica either.
    #[error(
        "`{app}` was not published, it does not load: {source}; fix it and publish again (nothing was changed)"
    )]
    Refused {
        app: String,
        #[source]
        source: LoadError,
    },
    #[error("publishing `{app}`: {source}; nothing was published, try again")]
    Storage {
        app: String,
        #[source]
        source: StorageError,
    },
    /// The configuration is not valid TOML, not valid botyard
    /// configuration, or holds a per-machine key.
    #[error(
        "the configuration was not published: {message}; fix it and publish again (nothing was changed)"
    )]
    ConfigRefused { message: String },
    #[error("publishing the configuration: {source}; nothing was published, try again")]
    ConfigStorage {
        #[source]
        source: StorageError,
    },
}

/// Checks `text` as a published configuration (see
/// [`crate::config::PublishedLayer::parse`]: valid TOML, only the
/// cluster-wide keys, valid configuration on its own) and only then
/// publishes it: a refused one writes nothing. It is not checked against
/// any replica's own file — a replica on which the two do not go together
/// keeps its previous configuration and reports why.
pub async fn publish_config(
    store: &dyn PublishedStore,
    text: &str,
) -> Result<PublishedConfig, PublishError> {
    let hash = content_hash(text.as_bytes());
    crate::config::PublishedLayer::parse(&hash, text)
        .map_err(|message| PublishError::ConfigRefused { message })?;
    store
        .publish_config(text)
        .await
        .map_err(|source| PublishError::ConfigStorage { source })
}

/// Brings the configuration in line with the published one: applies a
/// version this host does not want yet (over its own file; `None`: back to
/// the file alone). A version that failed to apply here is not tried again
/// each round: the next edit of the local file applies it.
async fn sync_config(apps: &Apps, current: Option<&PublishedConfig>) -> Result<(), StorageError> {
    let seen = apps.published_config_seen();
    if seen.as_deref() == current.map(|c| c.hash.as_str()) {
        return Ok(());
    }
    let version = current.map(|c| short(&c.hash).to_string());
    match apps
        .apply_published_config(current.map(|c| (c.hash.clone(), c.text.clone())))
        .await
    {
        Ok(changed) => {
            tracing::info!(?version, apps = ?changed, "published configuration applied")
        }
        Err(e) => {
            tracing::warn!(?version, error = %e, "published configuration not applied here; the previous configuration keeps serving")
        }
    }
    Ok(())
}

/// Checks that `bytes` loads as app `id` (the checks a reload makes; see
/// [`Apps::check`]) and only then publishes it: a broken component is
/// refused and nothing in the database changes.
pub async fn publish(apps: &Apps, id: &str, bytes: Vec<u8>) -> Result<PublishedApp, PublishError> {
    apps.check(id, bytes.clone())
        .await
        .map_err(|source| PublishError::Refused {
            app: id.to_string(),
            source,
        })?;
    apps.storage()
        .published
        .publish(id, &bytes)
        .await
        .map_err(|source| PublishError::Storage {
            app: id.to_string(),
            source,
        })
}

/// How often a replica reports what it runs even when nothing changed: a
/// report lost (an unpublish and a publish of the same version between two
/// polls deletes it) is written again within this.
pub const REPORT_AGAIN_EVERY: Duration = Duration::from_secs(60);

/// What this replica last reported, per app: (hash served, error), and
/// when it last reported everything.
#[derive(Debug)]
pub struct Reports {
    sent: BTreeMap<String, (Option<String>, Option<String>)>,
    since: std::time::Instant,
}

impl Default for Reports {
    fn default() -> Reports {
        Reports {
            sent: BTreeMap::new(),
            since: std::time::Instant::now(),
        }
    }
}

/// Brings the published apps in line with the database once: loads each
/// version this host does not run yet, hands apps no longer published back
/// to the apps directory, and (with `reports`) records what this replica
/// runs wherever that changed since its last report. Returns the ids it
/// reloaded. A tool (`botyard apps`, `publish`) syncs without reporting: it
/// is no replica.
pub async fn sync(apps: &Apps, reports: Option<&mut Reports>) -> Result<Vec<String>, StorageError> {
    let store = &apps.storage().published;
    // The configuration first: a published app may need what it grants.
    let config = store.published_config().await?;
    sync_config(apps, config.as_ref()).await?;
    let current = store.published().await?;
    let mut reloaded = Vec::new();
    for published in &current {
        let id = published.app.as_str();
        if apps.published_source(id).map(|(hash, _)| hash).as_ref() == Some(&published.hash) {
            continue;
        }
        // Retired between the two reads (published over again): the next
        // round sees the newer one.
        let Some(bytes) = store.component(&published.hash).await? else {
            continue;
        };
        if content_hash(&bytes) != published.hash {
            tracing::warn!(app = id, hash = %published.hash, "a published version's bytes do not match its hash; not loaded");
            apps.record_failure(
                id,
                format!(
                    "the published version {} is damaged in the database (its bytes do not match its hash); publish it again",
                    short(&published.hash)
                ),
            );
            continue;
        }
        apps.set_published_source(id, Some((published.hash.clone(), bytes.into())));
        match apps.reload(id).await {
            Ok(outcome) => {
                tracing::info!(
                    app = id,
                    version = short(&published.hash),
                    ?outcome,
                    "published version loaded"
                )
            }
            Err(e) => {
                tracing::warn!(app = id, version = short(&published.hash), error = %e, "published version did not load; the previous version (if any) keeps serving")
            }
        }
        reloaded.push(id.to_string());
    }
    let wanted: BTreeSet<&str> = current.iter().map(|p| p.app.as_str()).collect();
    for id in apps.published_ids() {
        if wanted.contains(id.as_str()) {
            continue;
        }
        apps.set_published_source(&id, None);
        tracing::info!(app = %id, "unpublished; the apps directory decides again");
        if let Err(e) = apps.reload(&id).await {
            tracing::warn!(app = %id, error = %e, "unpublished; its file in the apps directory did not load");
        }
        reloaded.push(id);
    }
    if let Some(reports) = reports {
        if reports.since.elapsed() >= REPORT_AGAIN_EVERY {
            *reports = Reports::default();
        }
        let snapshot = apps.snapshot();
        for published in &current {
            let id = published.app.as_str();
            let serving = snapshot.app(id).map(|v| v.hash.to_string());
            let error = if serving.as_deref() == Some(published.hash.as_str()) {
                None
            } else {
                Some(
                    snapshot
                        .apps
                        .get(id)
                        .and_then(|e| e.last_error.as_ref())
                        .map(|e| e.message.clone())
                        .unwrap_or_else(|| "not loaded yet".into()),
                )
            };
            let state = (serving, error);
            if reports.sent.get(id) == Some(&state) {
                continue;
            }
            store
                .report(id, state.0.as_deref(), state.1.as_deref())
                .await?;
            reports.sent.insert(id.to_string(), state);
        }
        reports
            .sent
            .retain(|id, _| wanted.contains(id.as_str()) || id == CONFIG_REPORT_NAME);
        match &config {
            Some(published) => {
                let applied = apps.config().published_version().map(str::to_string);
                let error = (applied.as_deref() != Some(published.hash.as_str())).then(|| {
                    apps.config_error()
                        .map(|e| e.message)
                        .unwrap_or_else(|| "not applied yet".into())
                });
                let state = (applied, error);
                if reports.sent.get(CONFIG_REPORT_NAME) != Some(&state) {
                    store
                        .report(CONFIG_REPORT_NAME, state.0.as_deref(), state.1.as_deref())
                        .await?;
                    reports.sent.insert(CONFIG_REPORT_NAME.to_string(), state);
                }
            }
            None => {
                reports.sent.remove(CONFIG_REPORT_NAME);
            }
        }
    }
    Ok(reloaded)
}

/// Keeps the poller running; dropping it stops it.
pub struct Poller {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts following the published apps: a [`sync`] now, then every
/// `every`, or as soon as something is published.
pub fn spawn(apps: Arc<Apps>, every: Duration) -> Poller {
    let task = tokio::spawn(async move {
        let wakeup = apps.storage().published_wakeup.clone();
        let mut reports = Reports::default();
        let mut failing = false;
        loop {
            match sync(&apps, Some(&mut reports)).await {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("reading the published apps works again");
                }
                Ok(_) => {}
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "cannot read the published apps; the loaded versions keep serving, retrying");
                    }
                    failing = true;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = wakeup.wait() => {}
            }
        }
    });
    Poller { task }
}

/// A hash as shown: its first 12 characters.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
