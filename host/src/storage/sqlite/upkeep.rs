//! Upkeep off the hot path, on a thread of its own:
//!
//! - **WAL checkpoints.** A checkpoint copies the WAL into the database file
//!   and fsyncs both. Left to SQLite's auto-checkpoint, it runs inside
//!   whichever commit crosses the threshold, stalling that invocation (and
//!   everyone waiting on the connection) for tens of milliseconds: that was
//!   `botyard serve`'s p99 under load (45–50 ms; 8–9 ms without it, `cargo
//!   bench --bench serve`). So once a second this thread checkpoints in two
//!   passes. The first, on a connection of its own, copies the bulk and does
//!   the slow fsyncs while writers carry on. But under steady writes such a
//!   pass never catches up with the WAL's end, and SQLite starts the WAL over
//!   (keeping it small) only after a checkpoint that did; so the second pass
//!   holds the writers off briefly — committing the shared transaction — and
//!   checkpoints the few frames written since, on the writers' connection.
//!   The next write starts the WAL from its beginning. The writer's own
//!   auto-checkpoint stays only as a backstop.
//! - **Stale shared transactions.** A transaction units opened and none has
//!   committed for [`STALE_GROUP`](super::STALE_GROUP) is committed here, so
//!   the database's write lock is never held long by units that stalled.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::{Db, STALE_GROUP};

/// How often the thread wakes to look for a stale transaction.
const TICK: Duration = Duration::from_millis(25);

/// How often it checkpoints. Under full load (~15k invocations/s on two
/// cores) the WAL grows by tens of MiB a second — each commit appends whole
/// pages — so a second's worth would reach the backstop before the next
/// pass; a tenth keeps each pass's fsyncs short. Idle, a pass finds nothing
/// to copy and costs next to nothing.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// WAL pages after which the writer checkpoints by itself, as a backstop
/// should the upkeep thread fall behind or another process keep the WAL from
/// starting over (64 MiB with 4 KiB pages).
pub(super) const BACKSTOP_PAGES: u32 = 16 * 1024;

/// Handle to the upkeep thread; dropping it stops and joins the thread.
pub(super) struct Upkeep {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts upkeep for `db`. Without a thread (it could not be started, or the
/// checkpoint connection not opened) SQLite's own auto-checkpoint stays on,
/// slower but correct, and stale transactions wait for the next commit.
pub(super) fn start(db: &Arc<Db>) {
    let checkpoints = Connection::open_with_flags(
        &db.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|conn| {
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(conn)
    });
    let checkpoints = match checkpoints {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(%error, path = %db.path.display(), "cannot open the checkpoint connection; using inline checkpoints");
            return;
        }
    };
    let weak = Arc::downgrade(db);
    let (stop, stopped) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("botyard-sqlite".into())
        .spawn(move || run(weak, checkpoints, stopped));
    match spawned {
        Ok(thread) => {
            if let Err(error) =
                db.conn()
                    .sql
                    .pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)
            {
                tracing::warn!(%error, "cannot lower SQLite's auto-checkpoint to a backstop");
            }
            *db.upkeep.lock().unwrap_or_else(|p| p.into_inner()) = Some(Upkeep {
                stop: Some(stop),
                thread: Some(thread),
            });
        }
        Err(error) => {
            tracing::warn!(%error, "cannot start the SQLite upkeep thread; using inline checkpoints");
        }
    }
}

fn run(db: Weak<Db>, checkpoints: Connection, stopped: mpsc::Receiver<()>) {
    let mut last_checkpoint = Instant::now();
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
        // Hold the database only for the look: if this were the last
        // handle, dropping it here would join this very thread.
        match db.upgrade() {
            Some(db) => db.conn().commit_if_stale(STALE_GROUP),
            None => return,
        }
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            last_checkpoint = Instant::now();
            let Some(db) = db.upgrade() else { return };
            checkpoint_passes(&db, &checkpoints);
        }
    }
}

/// The two passes: the bulk beside the writers, on `own` (the upkeep
/// thread's connection), then the rest with the writers held off, on theirs,
/// so that the next write starts the WAL over.
fn checkpoint_passes(db: &Db, own: &Connection) {
    if let Err(error) = checkpoint(own) {
        tracing::warn!(%error, "background WAL checkpoint failed");
    }
    let mut conn = db.conn();
    conn.commit_if_stale(Duration::ZERO);
    if conn.open.is_none()
        && let Err(error) = checkpoint(&conn.sql)
    {
        tracing::warn!(%error, "WAL checkpoint on the writers' connection failed");
    }
}

/// A PASSIVE checkpoint (it never waits for anyone) on `conn`.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")?
        .query_row([], |_| Ok(()))
}

impl Drop for Upkeep {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tempfile::TempDir;

    #[tokio::test]
    async fn background_checkpoints_let_the_wal_restart() {
        let dir = TempDir::new().unwrap();
        let (db, s) = super::super::open_db(&dir.path().join("botyard.db")).unwrap();
        let wal = dir.path().join("botyard.db-wal");
        let wal_len = || std::fs::metadata(&wal).unwrap().len();
        for i in 0..500 {
            s.kv_set("app", &format!("k{i}"), &[7; 512]).await.unwrap();
        }
        let auto: u32 = db
            .conn()
            .sql
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(auto, super::BACKSTOP_PAGES);
        // Without a checkpoint every commit appends to the WAL; once one has
        // run, the next commit rewinds to the start and the file stops growing.
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let before = wal_len();
            s.kv_set("app", "probe", b"x").await.unwrap();
            if wal_len() == before {
                break;
            }
            assert!(Instant::now() < deadline, "WAL never checkpointed");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The WAL header's checkpoint sequence number, which SQLite bumps
    /// each time the WAL starts over.
    fn wal_restarts(wal: &std::path::Path) -> u32 {
        let header = std::fs::read(wal).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    }

    #[tokio::test]
    async fn the_passes_let_the_wal_start_over_even_mid_transaction() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("botyard.db");
        let (db, s) = super::super::open_db(&path).unwrap();
        let wal = dir.path().join("botyard.db-wal");
        for i in 0..50 {
            s.kv_set("app", &format!("k{i}"), i.to_string().as_bytes())
                .await
                .unwrap();
        }
        // A unit is mid-way: the shared transaction is open, as it nearly
        // always is under steady load.
        let mut unit = s.begin();
        unit.set("app", "in-flight", b"1").await.unwrap();
        let own = rusqlite::Connection::open(&path).unwrap();
        let before = wal_restarts(&wal);
        super::checkpoint_passes(&db, &own);
        // The open transaction was committed with everything before it …
        assert!(db.conn().open.is_none());
        unit.commit().await.unwrap();
        // … so the next write starts the WAL over.
        s.kv_set("app", "next", b"2").await.unwrap();
        assert!(wal_restarts(&wal) > before, "the WAL did not start over");
        assert_eq!(
            s.kv_get("app", "in-flight").await.unwrap().as_deref(),
            Some(&b"1"[..])
        );
    }
}
