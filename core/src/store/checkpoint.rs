//! WAL checkpoints off the commit path. SQLite's automatic checkpoint runs inside whichever
//! commit crosses the threshold, so that commit (and every write queued behind it in the group)
//! waits for the checkpoint's fsyncs. Here the writer's automatic checkpoint is off, and a thread
//! of its own runs a PASSIVE checkpoint (which never blocks the writer) every interval, and asks
//! the writer thread to rewind the log when it is still long afterwards (see `writer`).

use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

pub(super) struct Checkpointer {
    stop: Mutex<Option<mpsc::Sender<()>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Checkpoints every `interval`; calls `rewind` when a checkpoint leaves `rewind_frames` or
    /// more frames in the log.
    pub(super) fn start(
        conn: Connection,
        interval: Duration,
        rewind_frames: i64,
        rewind: Box<dyn Fn() + Send>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(interval) {
                    // (busy, frames in the log, frames copied to the database)
                    match conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
                    {
                        Ok(frames) if frames >= rewind_frames => rewind(),
                        Ok(_) => {}
                        Err(e) => tracing::debug!(error = %e, "checkpoint skipped"),
                    }
                }
            })
            .expect("spawn checkpoint thread");
        Self {
            stop: Mutex::new(Some(tx)),
            handle: Mutex::new(Some(handle)),
        }
    }

    pub(super) fn close(&self) {
        self.stop.lock().expect("checkpointer poisoned").take();
        if let Some(h) = self.handle.lock().expect("checkpointer poisoned").take() {
            let _ = h.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.close();
    }
}
