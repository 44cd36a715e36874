//! Upkeep off the hot path, on a thread of its own:
//!
//! - **WAL checkpoints.** A checkpoint copies the WAL into the database file
//!   and fsyncs both. Left to SQLite's auto-checkpoint, it runs inside
//!   whichever commit crosses the threshold, stalling that invocation (and
//!   everyone waiting on the connection) for milliseconds. Here a connection
//!   of this thread's own runs a PASSIVE checkpoint, which never blocks
//!   writers, once a second; the writer's auto-checkpoint stays only as a
//!   backstop should this fall far behind.
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

/// How often it checkpoints.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// WAL pages after which the writer checkpoints by itself, as a backstop
/// should the upkeep thread fall behind (64 MiB with 4 KiB pages).
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
            let result = checkpoints
                .prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")
                .and_then(|mut stmt| stmt.query_row([], |_| Ok(())));
            if let Err(error) = result {
                tracing::warn!(%error, "background WAL checkpoint failed");
            }
        }
    }
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
}
