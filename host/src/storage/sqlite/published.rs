//! Published apps on one machine: the same tables as PostgreSQL's, so a
//! single node can be published to as a cluster is (`botyard publish`
//! beside `botyard serve`). One machine has one replica, named after the
//! host, and no heartbeats.

use async_trait::async_trait;
use rusqlite::OptionalExtension;

use super::Db;
use crate::contract::time::now_ms;
use crate::storage::{
    CONFIG_REPORT_NAME, PublishedApp, PublishedConfig, PublishedStore, ReplicaApp, StorageError,
    Wakeup, content_hash,
};

/// The name this machine's reports go under.
fn replica() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "local".into())
}

#[async_trait]
impl PublishedStore for Db {
    async fn publish(&self, app: &str, component: &[u8]) -> Result<PublishedApp, StorageError> {
        let hash = content_hash(component);
        let published = PublishedApp {
            app: app.to_string(),
            hash: hash.clone(),
            size: component.len() as u64,
            published_ms: now_ms() as i64,
        };
        self.write_now(|c| {
            c.prepare_cached(
                "INSERT INTO published_versions (hash, component, size, created_ms)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (hash) DO NOTHING",
            )?
            .execute((
                &hash,
                component,
                published.size as i64,
                published.published_ms,
            ))?;
            c.prepare_cached(
                "INSERT INTO published_apps (app, hash, published_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (app) DO UPDATE
                 SET hash = excluded.hash, published_ms = excluded.published_ms",
            )?
            .execute((app, &hash, published.published_ms))?;
            retire(c)
        })?;
        self.published_wakeup.notify();
        Ok(published)
    }

    async fn unpublish(&self, app: &str) -> Result<bool, StorageError> {
        let removed = self.write_now(|c| {
            let removed = c
                .prepare_cached("DELETE FROM published_apps WHERE app = ?1")?
                .execute([app])?;
            c.prepare_cached("DELETE FROM published_running WHERE app = ?1")?
                .execute([app])?;
            retire(c)?;
            Ok(removed > 0)
        })?;
        self.published_wakeup.notify();
        Ok(removed)
    }

    async fn published(&self) -> Result<Vec<PublishedApp>, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT a.app, a.hash, v.size, a.published_ms
                 FROM published_apps a JOIN published_versions v ON v.hash = a.hash
                 ORDER BY a.app",
            )?
            .query_map([], |row| {
                Ok(PublishedApp {
                    app: row.get(0)?,
                    hash: row.get(1)?,
                    size: row.get::<_, i64>(2)?.max(0) as u64,
                    published_ms: row.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?)
        })
    }

    async fn component(&self, hash: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT component FROM published_versions WHERE hash = ?1")?
                    .query_row([hash], |row| row.get(0))
                    .optional()?,
            )
        })
    }

    async fn report(
        &self,
        app: &str,
        hash: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        let replica = replica();
        self.write_now(|c| {
            c.prepare_cached(
                "INSERT INTO published_running (replica, app, hash, error, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (replica, app) DO UPDATE
                 SET hash = excluded.hash, error = excluded.error, at_ms = excluded.at_ms",
            )?
            .execute((&replica, app, hash, error, now_ms() as i64))?;
            Ok(())
        })
    }

    async fn running(&self) -> Result<Vec<ReplicaApp>, StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT replica, app, hash, error, at_ms FROM published_running
                 ORDER BY app, replica",
            )?
            .query_map([], |row| {
                Ok(ReplicaApp {
                    replica: row.get(0)?,
                    app: row.get(1)?,
                    hash: row.get(2)?,
                    error: row.get(3)?,
                    at_ms: row.get(4)?,
                    alive: None,
                })
            })?
            .collect::<Result<_, _>>()?)
        })
    }

    async fn publish_config(&self, text: &str) -> Result<PublishedConfig, StorageError> {
        let published = PublishedConfig {
            hash: content_hash(text.as_bytes()),
            text: text.to_string(),
            published_ms: now_ms() as i64,
        };
        self.write_now(|c| {
            c.prepare_cached(
                "INSERT INTO published_config (singleton, hash, text, published_ms)
                 VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (singleton) DO UPDATE
                 SET hash = excluded.hash, text = excluded.text,
                     published_ms = excluded.published_ms",
            )?
            .execute((&published.hash, text, published.published_ms))?;
            Ok(())
        })?;
        self.published_wakeup.notify();
        Ok(published)
    }

    async fn unpublish_config(&self) -> Result<bool, StorageError> {
        let removed = self.write_now(|c| {
            let removed = c
                .prepare_cached("DELETE FROM published_config")?
                .execute([])?;
            c.prepare_cached("DELETE FROM published_running WHERE app = ?1")?
                .execute([CONFIG_REPORT_NAME])?;
            Ok(removed > 0)
        })?;
        self.published_wakeup.notify();
        Ok(removed)
    }

    async fn published_config(&self) -> Result<Option<PublishedConfig>, StorageError> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT hash, text, published_ms FROM published_config")?
                    .query_row([], |row| {
                        Ok(PublishedConfig {
                            hash: row.get(0)?,
                            text: row.get(1)?,
                            published_ms: row.get(2)?,
                        })
                    })
                    .optional()?,
            )
        })
    }
}

/// Deletes the versions no app points at any more.
fn retire(c: &rusqlite::Connection) -> Result<(), StorageError> {
    c.prepare_cached(
        "DELETE FROM published_versions WHERE hash NOT IN (SELECT hash FROM published_apps)",
    )?
    .execute([])?;
    Ok(())
}
