//! Storage: everything botyard must remember, in one SQLite file.
//!
//! One concern per file: `kv` (per-app key-value namespaces), `audit`
//! (every invocation), `outbox` (what apps asked Slack to do), `schedules`
//! (one-off ticks and cron bookkeeping), `events` (Events API
//! de-duplication), `migrations`, `checkpoint` (WAL upkeep off the hot path).
//! All of them are methods on [`Storage`].

mod audit;
mod checkpoint;
mod error;
mod events;
mod kv;
mod migrations;
mod outbox;
mod schedules;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

pub use audit::{InvocationRecord, Outcome};
pub use error::StorageError;
pub use kv::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
pub use outbox::{OutboxEntry, OutboxStatus};
pub use schedules::DueTick;

/// How long a write waits for another process (e.g. `botyard call` next to a
/// running host) to release the database before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Enough room for every distinct statement this module prepares, so the hot
/// path never re-parses SQL.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Handle to the database; cheap to clone, safe to share between threads.
///
/// One connection behind a mutex: every call is a few microseconds, so
/// contention is negligible, and callers in async code never hold the lock
/// across an `.await` (the methods take and release it internally).
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Signalled when a pending outbox entry is written, so the Web API
    /// delivery task sends it at once instead of on its next poll.
    outbox_waker: Arc<tokio::sync::Notify>,
    /// Stopped and joined when the last handle is dropped.
    _checkpointer: Option<checkpoint::Checkpointer>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens (creating if needed) the database at `path` and migrates it.
    ///
    /// Uses WAL with `synchronous=NORMAL`: every committed write survives the
    /// process being killed (`kill -9`), which is our durability requirement;
    /// only an OS crash or power loss may drop the last few commits, in
    /// exchange for no fsync per write on the per-invocation hot path.
    /// Checkpoints (which do fsync) run on a background thread.
    pub fn open(path: &Path) -> Result<Storage, StorageError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StorageError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        // Before anything that may need a lock, so concurrent openers wait.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "SQLite refused WAL mode");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        migrations::migrate(&conn)?;
        let checkpointer = checkpoint::Checkpointer::start(path);
        if checkpointer.is_some() {
            conn.pragma_update(None, "wal_autocheckpoint", checkpoint::BACKSTOP_PAGES)?;
        }
        Ok(Storage {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                conn: Mutex::new(conn),
                outbox_waker: Arc::new(tokio::sync::Notify::new()),
                _checkpointer: checkpointer,
            }),
        })
    }

    /// The file this storage was opened from.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Notified whenever a `Pending` outbox entry is enqueued through this
    /// handle (or a clone of it); what the delivery task waits on.
    pub fn outbox_waker(&self) -> Arc<tokio::sync::Notify> {
        self.inner.outbox_waker.clone()
    }

    /// The connection. A panic while holding it cannot leave a transaction
    /// open (see [`immediate_tx`]), so a poisoned lock is safe to reuse.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.inner
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs `f` inside `BEGIN IMMEDIATE … COMMIT`, rolling back on error or panic.
///
/// IMMEDIATE takes the write lock up front, so a read-modify-write (increment,
/// compare-and-swap) is atomic even against other processes on the same file.
/// Statements are cached, unlike `rusqlite::Transaction`, because this runs
/// once per `kv_increment`.
fn immediate_tx<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    struct RollbackOnDrop<'c>(&'c Connection);
    impl Drop for RollbackOnDrop<'_> {
        fn drop(&mut self) {
            if !self.0.is_autocommit()
                && let Err(error) = self.0.execute_batch("ROLLBACK")
            {
                tracing::error!(%error, "failed to roll back storage transaction");
            }
        }
    }

    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let _guard = RollbackOnDrop(conn);
    let value = f(conn)?;
    conn.prepare_cached("COMMIT")?.execute([])?;
    Ok(value)
}

/// Wall-clock milliseconds since the Unix epoch, for timestamps the storage
/// layer assigns itself.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    pub(super) fn temp_storage() -> (TempDir, Storage) {
        let dir = TempDir::new().unwrap();
        let storage = Storage::open(&dir.path().join("botyard.db")).unwrap();
        (dir, storage)
    }

    #[test]
    fn storage_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Storage>();
    }

    #[test]
    fn open_creates_parent_dirs_and_sets_pragmas() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("a/b/c/botyard.db");
        let storage = Storage::open(&path).unwrap();
        assert!(path.exists());
        assert_eq!(storage.path(), path);
        let conn = storage.conn();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "synchronous should be NORMAL");
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let timeout: i64 = conn
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        assert_eq!(timeout, 5000);
    }

    #[test]
    fn open_fails_clearly_when_parent_is_a_file() {
        let dir = TempDir::new().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = Storage::open(&file.join("botyard.db")).unwrap_err();
        assert!(matches!(err, StorageError::Io { .. }), "{err:?}");
    }

    #[test]
    fn migrations_idempotent_on_reopen() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("botyard.db");
        Storage::open(&path)
            .unwrap()
            .kv_set("app", "k", b"v")
            .unwrap();
        for _ in 0..2 {
            let storage = Storage::open(&path).unwrap();
            let version: u32 = storage
                .conn()
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version, migrations::latest_version());
            assert!(version >= 1);
            assert_eq!(
                storage.kv_get("app", "k").unwrap().as_deref(),
                Some(&b"v"[..])
            );
        }
    }

    #[test]
    fn schema_too_new_is_refused() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("botyard.db");
        drop(Storage::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 999)
            .unwrap();
        let err = Storage::open(&path).unwrap_err();
        match &err {
            StorageError::SchemaTooNew { found, supported } => {
                assert_eq!(*found, 999);
                assert_eq!(*supported, migrations::latest_version());
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("999"), "{message}");
        assert!(message.contains("upgrade botyard"), "{message}");
    }

    #[test]
    fn failed_transaction_rolls_back_and_connection_stays_usable() {
        let (_dir, storage) = temp_storage();
        let conn = storage.conn();
        let result: Result<(), StorageError> = immediate_tx(&conn, |c| {
            c.execute(
                "INSERT INTO kv (app, key, value) VALUES ('a', 'k', x'01')",
                [],
            )?;
            Err(StorageError::NotANumber { key: "k".into() })
        });
        assert!(result.is_err());
        assert!(conn.is_autocommit(), "transaction left open");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM kv", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        immediate_tx(&conn, |_| Ok(())).unwrap();
    }
}
