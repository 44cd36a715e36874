//! Background WAL checkpointing.
//!
//! A checkpoint copies the WAL into the database file and fsyncs both. Left to
//! SQLite's auto-checkpoint, it runs inside whichever commit crosses the
//! threshold, stalling that invocation (and everyone waiting on the
//! connection mutex) for milliseconds. Here a thread with its own connection
//! runs a PASSIVE checkpoint, which never blocks writers, once a second.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the background thread checkpoints.
const INTERVAL: Duration = Duration::from_secs(1);

/// WAL pages after which the writer checkpoints by itself, as a backstop
/// should the background thread fall behind (64 MiB with 4 KiB pages).
pub(super) const BACKSTOP_PAGES: u32 = 16 * 1024;

/// Handle to the checkpoint thread; dropping it stops and joins the thread.
pub(super) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`, which must exist. On
    /// failure returns `None` and logs why: the caller then keeps SQLite's
    /// default auto-checkpoint, which is slower but correct.
    pub(super) fn start(path: &Path) -> Option<Checkpointer> {
        let opened = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|conn| {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            Ok(conn)
        });
        let conn = match opened {
            Ok(conn) => conn,
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "cannot open checkpoint connection; using inline checkpoints");
                return None;
            }
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("botyard-checkpoint".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    let result = conn
                        .prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")
                        .and_then(|mut stmt| stmt.query_row([], |_| Ok(())));
                    if let Err(error) = result {
                        tracing::warn!(%error, "background WAL checkpoint failed");
                    }
                }
            });
        match spawned {
            Ok(thread) => Some(Checkpointer {
                stop: Some(stop),
                thread: Some(thread),
            }),
            Err(error) => {
                tracing::warn!(%error, "cannot start checkpoint thread; using inline checkpoints");
                None
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_storage;
    use std::time::Instant;

    #[test]
    fn background_checkpoint_lets_the_wal_restart() {
        let (dir, s) = temp_storage();
        let wal = dir.path().join("botyard.db-wal");
        let wal_len = || std::fs::metadata(&wal).unwrap().len();
        for i in 0..500 {
            s.kv_set("app", &format!("k{i}"), &[7; 512]).unwrap();
        }
        let auto: u32 = s
            .conn()
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(auto, super::BACKSTOP_PAGES);
        // Without a checkpoint every commit appends to the WAL; once one has
        // run, the next commit rewinds to the start and the file stops growing.
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let before = wal_len();
            s.kv_set("app", "probe", b"x").unwrap();
            if wal_len() == before {
                break;
            }
            assert!(Instant::now() < deadline, "WAL never checkpointed");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
