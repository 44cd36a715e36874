//! Published apps for the whole cluster (`botyard publish`): versions by
//! the sha256 of their bytes, each app's current version, and what every
//! replica reports it runs. A publish is one transaction that also sends
//! `NOTIFY botyard_published`, which every replica's listener turns into
//! [`Storage::published_wakeup`](crate::storage::Storage::published_wakeup);
//! replicas poll as well, so a lost notification only delays a version.
//! The published configuration (`botyard publish --cluster-config`) goes
//! the same way: one row, the same `NOTIFY`.

use async_trait::async_trait;

use super::{Db, query, query_opt};
use crate::storage::{
    CONFIG_REPORT_NAME, PublishedApp, PublishedConfig, PublishedStore, ReplicaApp, StorageError,
    Wakeup, content_hash,
};

/// The `NOTIFY` channel: an app or the configuration was published or
/// unpublished.
pub(super) const PUBLISHED_CHANNEL: &str = "botyard_published";

#[async_trait]
impl PublishedStore for Db {
    async fn publish(&self, app: &str, component: &[u8]) -> Result<PublishedApp, StorageError> {
        let hash = content_hash(component);
        let published = PublishedApp {
            app: app.to_string(),
            hash: hash.clone(),
            size: component.len() as u64,
            published_ms: super::now_ms(),
        };
        let size = published.size as i64;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO published_versions (hash, component, size, created_ms)
             VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING",
            &[&hash, &component, &size, &published.published_ms],
        )
        .await?;
        tx.execute(
            "INSERT INTO published_apps (app, hash, published_ms) VALUES ($1, $2, $3)
             ON CONFLICT (app) DO UPDATE
             SET hash = excluded.hash, published_ms = excluded.published_ms",
            &[&app, &hash, &published.published_ms],
        )
        .await?;
        tx.batch_execute(&format!("{RETIRE}; NOTIFY {PUBLISHED_CHANNEL}"))
            .await?;
        tx.commit().await?;
        self.published_wakeup.notify();
        Ok(published)
    }

    async fn unpublish(&self, app: &str) -> Result<bool, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let removed = tx
            .execute("DELETE FROM published_apps WHERE app = $1", &[&app])
            .await?;
        tx.execute("DELETE FROM published_running WHERE app = $1", &[&app])
            .await?;
        tx.batch_execute(&format!("{RETIRE}; NOTIFY {PUBLISHED_CHANNEL}"))
            .await?;
        tx.commit().await?;
        self.published_wakeup.notify();
        Ok(removed > 0)
    }

    async fn published(&self) -> Result<Vec<PublishedApp>, StorageError> {
        let rows = autocommit!(self, |c| query(
            c,
            "SELECT a.app, a.hash, v.size, a.published_ms
             FROM published_apps a JOIN published_versions v ON v.hash = a.hash
             ORDER BY a.app",
            &[],
        )
        .await)?;
        rows.iter()
            .map(|row| {
                Ok(PublishedApp {
                    app: row.try_get(0)?,
                    hash: row.try_get(1)?,
                    size: row.try_get::<_, i64>(2)?.max(0) as u64,
                    published_ms: row.try_get(3)?,
                })
            })
            .collect()
    }

    async fn component(&self, hash: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row = autocommit!(self, |c| query_opt(
            c,
            "SELECT component FROM published_versions WHERE hash = $1",
            &[&hash],
        )
        .await)?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    async fn report(
        &self,
        app: &str,
        hash: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        let error = error.map(super::shown);
        autocommit!(self, |c| super::execute(
            c,
            "INSERT INTO published_running (replica, app, hash, error, at_ms)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (replica, app) DO UPDATE
             SET hash = excluded.hash, error = excluded.error, at_ms = excluded.at_ms",
            &[
                &self.replica,
                &app,
                &hash,
                &error.as_deref(),
                &super::now_ms()
            ],
        )
        .await)?;
        Ok(())
    }

    async fn running(&self) -> Result<Vec<ReplicaApp>, StorageError> {
        let margin = super::replicas::MARGIN.as_millis() as i64;
        let rows = autocommit!(self, |c| {
            query(
            c,
            "SELECT p.replica, p.app, p.hash, p.error, p.at_ms,
                    EXISTS (SELECT 1 FROM replicas r WHERE r.replica = p.replica
                            AND r.heartbeat_ms >= botyard_now_ms() - (3 * r.heartbeat_every_ms + $1))
             FROM published_running p ORDER BY p.app, p.replica",
            &[&margin],
        )
        .await
        })?;
        rows.iter()
            .map(|row| {
                Ok(ReplicaApp {
                    replica: row.try_get(0)?,
                    app: row.try_get(1)?,
                    hash: row.try_get(2)?,
                    error: row.try_get(3)?,
                    at_ms: row.try_get(4)?,
                    alive: Some(row.try_get(5)?),
                })
            })
            .collect()
    }

    async fn publish_config(&self, text: &str) -> Result<PublishedConfig, StorageError> {
        let published = PublishedConfig {
            hash: content_hash(text.as_bytes()),
            text: text.to_string(),
            published_ms: super::now_ms(),
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO published_config (singleton, hash, text, published_ms)
             VALUES (true, $1, $2, $3)
             ON CONFLICT (singleton) DO UPDATE
             SET hash = excluded.hash, text = excluded.text,
                 published_ms = excluded.published_ms",
            &[&published.hash, &text, &published.published_ms],
        )
        .await?;
        tx.batch_execute(&format!("NOTIFY {PUBLISHED_CHANNEL}"))
            .await?;
        tx.commit().await?;
        self.published_wakeup.notify();
        Ok(published)
    }

    async fn unpublish_config(&self) -> Result<bool, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let removed = tx.execute("DELETE FROM published_config", &[]).await?;
        tx.execute(
            "DELETE FROM published_running WHERE app = $1",
            &[&CONFIG_REPORT_NAME],
        )
        .await?;
        tx.batch_execute(&format!("NOTIFY {PUBLISHED_CHANNEL}"))
            .await?;
        tx.commit().await?;
        self.published_wakeup.notify();
        Ok(removed > 0)
    }

    async fn published_config(&self) -> Result<Option<PublishedConfig>, StorageError> {
        let row = autocommit!(self, |c| query_opt(
            c,
            "SELECT hash, text, published_ms FROM published_config",
            &[],
        )
        .await)?;
        Ok(match row {
            Some(row) => Some(PublishedConfig {
                hash: row.try_get(0)?,
                text: row.try_get(1)?,
                published_ms: row.try_get(2)?,
            }),
            None => None,
        })
    }
}

/// Deletes the versions no app points at any more.
const RETIRE: &str =
    "DELETE FROM published_versions WHERE hash NOT IN (SELECT hash FROM published_apps)";
