//! The SQLite backend: everything in one file, for one machine and `dev`.
//!
//! **Group commit.** One connection serves every store. Writes go into one
//! shared open transaction (`BEGIN IMMEDIATE`, begun by the first write);
//! a unit's [`commit`](super::Unit::commit) commits that transaction — with
//! the writes of every unit that wrote since — unless another unit's commit
//! already did. So an invocation costs one commit at most, and concurrent
//! invocations share commits. Durability is unchanged: WAL with
//! `synchronous=NORMAL` survives the process being killed (`kill -9`), and a
//! unit returns from `commit` only once its writes are committed.
//!
//! The price of sharing: units running at once see each other's writes
//! before they commit (as they did when every write committed at once), and
//! a commit that fails loses the writes of every unit in it; each of those
//! units then fails its own commit with [`StorageError::Lost`], so nothing is
//! acknowledged that was not kept. A transaction left open by a unit that
//! never commits is committed by the upkeep thread after [`STALE_GROUP`].
//!
//! One concern per file: `kv`, `outbox`, `schedules`, `audit`, `inbox`,
//! `webhooks`, `usage` (what apps use of their quotas), `published`
//! (apps published for the replicas, here one), `migrations`,
//! `upkeep` (checkpoints and stale groups, off the hot path).

mod audit;
mod inbox;
mod kv;
mod migrations;
mod outbox;
mod published;
mod schedules;
mod slots;
mod upkeep;
mod usage;
mod webhooks;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use rusqlite::Connection;

use super::{
    Claim, DeliveryOutcome, InvocationRecord, KvStore, NewCall, NewDelivery, NewInbound,
    NotifyWakeup, OutboxStatus, Received, Storage, StorageError, Unit, Units, Usage, Wakeup,
};
use crate::contract::limits::Quotas;

/// How long a write waits for another process (e.g. `botyard call` next to a
/// running host) to release the database before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Enough room for every distinct statement this backend prepares, so the
/// hot path never re-parses SQL.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// A shared transaction open this long with no commit (its units stalled or
/// were dropped) is committed by the upkeep thread, so the write lock other
/// processes wait on is never held for long.
pub(crate) const STALE_GROUP: Duration = Duration::from_millis(100);

/// Failed shared commits remembered, so units that wrote into one learn it.
const FAILED_KEPT: usize = 64;

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Backend(format!(
            "{e}; if it persists, check disk space and the permissions of the database file"
        ))
    }
}

/// Opens (creating if needed) the database at `path` and migrates it.
pub fn open(path: &Path) -> Result<Storage, StorageError> {
    open_db(path).map(|(_, storage)| storage)
}

/// [`open`], keeping a handle on the database for this backend's own tests.
fn open_db(path: &Path) -> Result<(Arc<Db>, Storage), StorageError> {
    let db = Arc::new(Db::open(path)?);
    upkeep::start(&db);
    let storage = Storage {
        units: Arc::new(DbUnits(db.clone())),
        outbox: db.clone(),
        schedules: db.clone(),
        audit: db.clone(),
        inbox: db.clone(),
        webhooks: db.clone(),
        cluster: Arc::new(OneMachine),
        slots: Arc::new(slots::OneProcess::default()),
        published: db.clone(),
        published_wakeup: db.published_wakeup.clone(),
        outbox_wakeup: db.wakeup.clone(),
        webhook_wakeup: db.webhook_wakeup.clone(),
        location: path.display().to_string(),
    };
    Ok((db, storage))
}

/// SQLite is one machine's: no replicas to list.
struct OneMachine;

#[async_trait]
impl super::ClusterStore for OneMachine {
    async fn replicas(&self) -> Result<Vec<super::ReplicaStatus>, StorageError> {
        Ok(Vec::new())
    }
}

pub(crate) struct Db {
    path: PathBuf,
    /// Who this handle is, for outbox claims: unique per open.
    owner: String,
    conn: Mutex<Conn>,
    wakeup: Arc<NotifyWakeup>,
    webhook_wakeup: Arc<NotifyWakeup>,
    /// Raised when this handle publishes or unpublishes an app.
    published_wakeup: Arc<NotifyWakeup>,
    /// Stopped and joined when the database is dropped.
    upkeep: Mutex<Option<upkeep::Upkeep>>,
}

struct Conn {
    sql: Connection,
    /// The shared transaction, while one is open.
    open: Option<Group>,
    /// The generation the next shared transaction gets; generations only grow.
    next_generation: u64,
    /// Recently failed generations and why.
    failed: VecDeque<(u64, String)>,
}

#[derive(Clone, Copy)]
struct Group {
    generation: u64,
    since: Instant,
}

impl Db {
    fn open(path: &Path) -> Result<Db, StorageError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StorageError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let sql = Connection::open(path)?;
        // Before anything that may need a lock, so concurrent openers wait.
        sql.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String =
            sql.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "SQLite refused WAL mode");
        }
        // Every committed write survives the process being killed, which is
        // the durability promise; only an OS crash or power loss may drop
        // the last commits, in exchange for no fsync per commit.
        // Checkpoints (which fsync) run on the upkeep thread.
        sql.pragma_update(None, "synchronous", "NORMAL")?;
        // When the WAL starts over, a file a burst grew is cut back to this.
        sql.pragma_update(None, "journal_size_limit", 16 << 20)?;
        sql.pragma_update(None, "foreign_keys", true)?;
        sql.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        migrations::migrate(&sql)?;
        Ok(Db {
            path: path.to_path_buf(),
            owner: format!(
                "{}-{}",
                std::process::id(),
                crate::contract::time::now_micros()
            ),
            conn: Mutex::new(Conn {
                sql,
                open: None,
                next_generation: 1,
                failed: VecDeque::new(),
            }),
            wakeup: Arc::new(NotifyWakeup::default()),
            webhook_wakeup: Arc::new(NotifyWakeup::default()),
            published_wakeup: Arc::new(NotifyWakeup::default()),
            upkeep: Mutex::new(None),
        })
    }

    /// The connection. A panic while holding it cannot leave it unusable
    /// (see [`Conn::write`]), so a poisoned lock is safe to reuse.
    fn conn(&self) -> MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A read outside any transaction of its own (it sees the shared
    /// transaction's writes, as the units do).
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        f(&self.conn().sql)
    }

    /// A trivial read through the connection, and the file still where it
    /// was opened with a SQLite header: a file deleted, moved or overwritten
    /// behind the host's back goes unnoticed by the open connection (it
    /// keeps the old file's pages), and everything written from then on
    /// would be gone at the next start.
    fn check(&self) -> Result<(), StorageError> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT count(*) FROM sqlite_schema")?
                .query_row([], |row| row.get::<_, i64>(0))?)
        })?;
        let mut header = [0u8; 16];
        let path = self.path.display();
        std::fs::File::open(&self.path)
            .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut header))
            .map_err(|e| {
                StorageError::Backend(format!("cannot read the database file {path}: {e}"))
            })?;
        if &header != b"SQLite format 3\0" {
            return Err(StorageError::Backend(format!(
                "{path} is no longer a SQLite database; restore it from a backup"
            )));
        }
        Ok(())
    }

    /// A write committed at once, with whatever the shared transaction holds.
    fn write_now<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = self.conn();
        let (value, generation) = conn.write(f)?;
        conn.commit(generation)?;
        Ok(value)
    }
}

impl Conn {
    /// Runs `f` inside the shared transaction (opening it if needed) and
    /// says which generation it wrote into.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<(T, u64), StorageError> {
        let group = match self.open {
            Some(group) => group,
            None => {
                self.sql.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
                let group = Group {
                    generation: self.next_generation,
                    since: Instant::now(),
                };
                self.next_generation += 1;
                self.open = Some(group);
                group
            }
        };
        match f(&self.sql) {
            Ok(value) => Ok((value, group.generation)),
            Err(error) => {
                // Errors the host raises (too large, not a number) come
                // before any write. An I/O error or a full disk may make
                // SQLite roll the whole transaction back: then it is lost.
                if self.sql.is_autocommit() {
                    self.lose(group.generation, &error.to_string());
                }
                Err(error)
            }
        }
    }

    /// Commits generation `generation` if it is still the open one, then
    /// says whether it was kept.
    fn commit(&mut self, generation: u64) -> Result<(), StorageError> {
        if let Some(group) = self.open
            && group.generation == generation
        {
            let committed = self
                .sql
                .prepare_cached("COMMIT")
                .and_then(|mut commit| commit.execute([]));
            match committed {
                Ok(_) => self.open = None,
                Err(error) => {
                    if !self.sql.is_autocommit()
                        && let Err(rollback) = self.sql.execute_batch("ROLLBACK")
                    {
                        tracing::error!(error = %rollback, "rolling back a failed commit failed");
                    }
                    self.lose(generation, &error.to_string());
                }
            }
        }
        self.check(generation, generation)
    }

    /// Commits the open transaction if it has been open for `older_than`.
    fn commit_if_stale(&mut self, older_than: Duration) {
        if let Some(group) = self.open
            && group.since.elapsed() >= older_than
            && let Err(error) = self.commit(group.generation)
        {
            tracing::error!(%error, "committing a stale shared transaction failed");
        }
    }

    fn lose(&mut self, generation: u64, why: &str) {
        tracing::error!(
            generation,
            error = why,
            "a shared SQLite transaction was lost"
        );
        self.open = None;
        if self.failed.len() == FAILED_KEPT {
            self.failed.pop_front();
        }
        self.failed.push_back((generation, why.to_string()));
    }

    /// `Err(Lost)` if any generation in `first..=last` failed.
    fn check(&self, first: u64, last: u64) -> Result<(), StorageError> {
        match self.failed.iter().find(|(g, _)| (first..=last).contains(g)) {
            Some((_, why)) => Err(StorageError::Lost(why.clone())),
            None => Ok(()),
        }
    }
}

/// Starts units on one database.
struct DbUnits(Arc<Db>);

impl Units for DbUnits {
    fn begin(&self) -> Box<dyn Unit> {
        Box::new(SqliteUnit {
            db: self.0.clone(),
            wrote: None,
            wake: false,
            wake_webhooks: false,
            quotas: Quotas::UNLIMITED,
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        Box::pin(async move { self.0.check() })
    }
}

/// A unit of work over the shared transaction.
struct SqliteUnit {
    db: Arc<Db>,
    /// The first and last generations this unit wrote into.
    wrote: Option<(u64, u64)>,
    /// Whether it queued a pending Slack call (delivery is woken on commit).
    wake: bool,
    /// Whether it recorded a new webhook delivery (its runner is woken).
    wake_webhooks: bool,
    /// What its writes are held to (see [`Unit::set_quotas`]).
    quotas: Quotas,
}

impl SqliteUnit {
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let (value, generation) = self.db.conn().write(f)?;
        self.wrote = Some(match self.wrote {
            Some((first, _)) => (first, generation),
            None => (generation, generation),
        });
        Ok(value)
    }
}

#[async_trait]
impl KvStore for SqliteUnit {
    async fn get(&mut self, app: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.db.read(|c| kv::get(c, app, key))
    }

    async fn set(&mut self, app: &str, key: &str, value: &[u8]) -> Result<(), StorageError> {
        super::checks::key(key)?;
        super::checks::value(value)?;
        let quotas = self.quotas;
        self.write(|c| kv::set(c, app, key, value, &quotas))
    }

    async fn delete(&mut self, app: &str, key: &str) -> Result<bool, StorageError> {
        super::checks::key(key)?;
        self.write(|c| kv::delete(c, app, key))
    }

    async fn list(
        &mut self,
        app: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, StorageError> {
        self.db.read(|c| kv::list(c, app, prefix, limit))
    }

    async fn increment(&mut self, app: &str, key: &str, delta: i64) -> Result<i64, StorageError> {
        super::checks::key(key)?;
        let quotas = self.quotas;
        self.write(|c| kv::increment(c, app, key, delta, &quotas))
    }

    async fn compare_and_swap(
        &mut self,
        app: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, StorageError> {
        super::checks::key(key)?;
        if let Some(new) = new {
            super::checks::value(new)?;
        }
        let quotas = self.quotas;
        self.write(|c| kv::compare_and_swap(c, app, key, expected, new, &quotas))
    }
}

#[async_trait]
impl Unit for SqliteUnit {
    async fn enqueue(&mut self, call: NewCall<'_>) -> Result<i64, StorageError> {
        let id = self.write(|c| outbox::enqueue(c, &call))?;
        self.wake |= call.status == OutboxStatus::Pending;
        Ok(id)
    }

    async fn schedule_once(
        &mut self,
        app: &str,
        name: &str,
        at_ms: i64,
    ) -> Result<(), StorageError> {
        self.write(|c| schedules::once(c, app, name, at_ms))
    }

    async fn cancel_schedule(&mut self, app: &str, name: &str) -> Result<bool, StorageError> {
        self.write(|c| schedules::cancel(c, app, name))
    }

    async fn record(&mut self, record: &InvocationRecord) -> Result<(), StorageError> {
        self.write(|c| audit::record(c, record))
    }

    async fn receive(&mut self, delivery: NewDelivery<'_>) -> Result<Received, StorageError> {
        let kept = self.quotas.webhook_deliveries_kept;
        let received = self.write(|c| webhooks::receive(c, &delivery, kept))?;
        self.wake_webhooks |= matches!(received, Received::New(_));
        Ok(received)
    }

    async fn settle_delivery(
        &mut self,
        claim: &Claim,
        outcome: DeliveryOutcome,
    ) -> Result<bool, StorageError> {
        self.write(|c| webhooks::settle(c, claim, &outcome))
    }

    async fn settle_inbound(&mut self, claim: &Claim) -> Result<bool, StorageError> {
        self.write(|c| inbox::settle(c, claim))
    }

    async fn record_inbound(&mut self, item: NewInbound<'_>) -> Result<bool, StorageError> {
        self.write(|c| inbox::record(c, &item))
    }

    fn set_quotas(&mut self, quotas: Quotas) {
        self.quotas = quotas;
    }

    async fn usage(&mut self, app: &str) -> Result<Usage, StorageError> {
        self.db.read(|c| usage::of(c, app))
    }

    async fn commit(self: Box<Self>) -> Result<(), StorageError> {
        let Some((first, last)) = self.wrote else {
            return Ok(());
        };
        {
            let mut conn = self.db.conn();
            conn.commit(last)?;
            conn.check(first, last)?;
        }
        if self.wake {
            self.db.wakeup.notify();
        }
        if self.wake_webhooks {
            self.db.webhook_wakeup.notify();
        }
        Ok(())
    }
}

/// Wall-clock milliseconds, for timestamps the backend assigns itself.
/// Column `index` holding JSON text, decoded.
fn json_column<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Frees claims on `table`'s pending rows that another owner (a process
/// that died) left: the outbox and webhook deliveries lease alike.
fn release_orphaned(c: &Connection, table: &str, owner: &str) -> rusqlite::Result<usize> {
    c.prepare_cached(&format!(
        "UPDATE {table} SET claimed_until = 0
         WHERE status = 'pending' AND claimed_until > 0 AND claimed_by != ?1"
    ))?
    .execute([owner])
}

fn now_ms() -> i64 {
    crate::contract::time::now_ms() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    fn temp_db() -> (TempDir, Arc<Db>, Storage) {
        let dir = TempDir::new().unwrap();
        let (db, storage) = open_db(&dir.path().join("botyard.db")).unwrap();
        (dir, db, storage)
    }

    fn pragma(path: &Path, name: &str) -> i64 {
        Connection::open(path)
            .unwrap()
            .pragma_query_value(None, name, |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn open_creates_parent_dirs_and_sets_wal() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("a/b/c/botyard.db");
        let storage = open(&path).unwrap();
        assert!(path.exists());
        assert_eq!(storage.location(), path.display().to_string());
        let mode: String = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn the_shared_connection_is_durable_enough_and_waits_for_others() {
        let (dir, db, _storage) = temp_db();
        let conn = db.conn();
        let sync: i64 = conn
            .sql
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "synchronous should be NORMAL");
        let timeout: i64 = conn
            .sql
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        assert_eq!(timeout, 5000);
        drop(conn);
        assert_eq!(
            pragma(&dir.path().join("botyard.db"), "user_version") as u32,
            migrations::latest_version()
        );
    }

    #[test]
    fn open_fails_clearly_when_parent_is_a_file() {
        let dir = TempDir::new().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = open(&file.join("botyard.db")).unwrap_err();
        assert!(matches!(err, StorageError::Io { .. }), "{err:?}");
    }

    #[test]
    fn schema_too_new_is_refused() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("botyard.db");
        drop(open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 999)
            .unwrap();
        let err = open(&path).unwrap_err();
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

    #[tokio::test]
    async fn units_share_one_commit_and_each_learns_it_was_kept() {
        let (dir, _db, storage) = temp_db();
        let path = dir.path().join("botyard.db");
        let mut a = storage.begin();
        let mut b = storage.begin();
        a.set("app", "a", b"1").await.unwrap();
        b.set("app", "b", b"2").await.unwrap();
        // Neither is committed: another connection sees nothing yet.
        let committed = |key: &str| {
            Connection::open(&path)
                .unwrap()
                .query_row("SELECT count(*) FROM kv WHERE key = ?1", [key], |r| {
                    r.get::<_, i64>(0)
                })
                .unwrap()
        };
        assert_eq!((committed("a"), committed("b")), (0, 0));
        a.commit().await.unwrap();
        // a's commit carried b's write too; b's commit then costs nothing.
        assert_eq!((committed("a"), committed("b")), (1, 1));
        b.commit().await.unwrap();
        assert_eq!(committed("b"), 1);
    }

    #[tokio::test]
    async fn a_failed_shared_commit_fails_every_unit_in_it() {
        let (_dir, db, storage) = temp_db();
        let mut a = storage.begin();
        let mut b = storage.begin();
        a.set("app", "a", b"1").await.unwrap();
        b.set("app", "b", b"2").await.unwrap();
        {
            // Make the commit fail the way a full disk would: the transaction
            // is rolled back under us.
            let mut conn = db.conn();
            conn.sql.execute_batch("ROLLBACK").unwrap();
            let generation = conn.open.unwrap().generation;
            conn.lose(generation, "disk I/O error");
        }
        assert!(matches!(a.commit().await, Err(StorageError::Lost(_))));
        assert!(matches!(b.commit().await, Err(StorageError::Lost(_))));
        // The next unit starts a new transaction and is kept.
        let mut c = storage.begin();
        c.set("app", "c", b"3").await.unwrap();
        c.commit().await.unwrap();
        assert_eq!(
            storage.kv_get("app", "c").await.unwrap().as_deref(),
            Some(&b"3"[..])
        );
        assert_eq!(storage.kv_get("app", "a").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_transaction_nobody_commits_is_committed_by_upkeep() {
        let (dir, _db, storage) = temp_db();
        let mut forgotten = storage.begin();
        forgotten.set("app", "k", b"v").await.unwrap();
        std::mem::forget(forgotten);
        let path = dir.path().join("botyard.db");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let n: i64 = Connection::open(&path)
                .unwrap()
                .query_row("SELECT count(*) FROM kv", [], |r| r.get(0))
                .unwrap();
            if n == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the stale transaction was never committed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
