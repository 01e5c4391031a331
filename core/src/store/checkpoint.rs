//! WAL checkpoints off the commit path. SQLite's automatic checkpoint runs inside whichever
//! commit crosses the threshold, so that commit (and every write queued behind it in the group)
//! waits for the checkpoint's fsyncs. Here the writer's automatic checkpoint is off, and a thread
//! of its own runs a PASSIVE checkpoint (which never blocks the writer) every interval.

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
    pub(super) fn start(conn: Connection, interval: Duration) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(interval) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::debug!(error = %e, "checkpoint skipped");
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
