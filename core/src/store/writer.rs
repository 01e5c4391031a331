//! The writer thread behind each database: it takes every write queued since the last commit,
//! runs each under its own savepoint inside one transaction, commits once, and only then answers
//! the callers. One fsync thus serves many requests when `synchronous=FULL`.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{ServiceError, ServiceResult};

type Deliver = Box<dyn FnOnce(Option<String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Deliver) + Send>;

pub(super) struct Writer {
    name: String,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(super) fn start(conn: Connection, name: String, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread_name = format!("sqlite-writer-{}", short_name(&name));
        let handle = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || run(conn, rx, max_batch.max(1)))
            .expect("spawn writer thread");
        Self {
            name,
            sender: Mutex::new(Some(tx)),
            handle: Mutex::new(Some(handle)),
        }
    }

    pub(super) async fn submit<T, F>(&self, f: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> ServiceResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<ServiceResult<T>>();
        let job: Job = Box::new(move |conn| {
            let result = match std::panic::catch_unwind(AssertUnwindSafe(|| f(conn))) {
                Ok(r) => r,
                Err(_) => Err(ServiceError::Internal("write panicked".into())),
            };
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |commit_error| {
                let reply = match (commit_error, result) {
                    (Some(e), Ok(_)) => {
                        tracing::error!(error = %e, "group commit failed");
                        Err(ServiceError::Internal("commit failed".into()))
                    }
                    (_, r) => r,
                };
                let _ = tx.send(reply);
            });
            (ok, deliver)
        });
        {
            let guard = self.sender.lock().expect("writer sender poisoned");
            let sender = guard.as_ref().ok_or_else(|| closed(&self.name))?;
            sender.send(job).map_err(|_| closed(&self.name))?;
        }
        rx.await.map_err(|_| closed(&self.name))?
    }

    pub(super) fn is_closed(&self) -> bool {
        self.sender
            .lock()
            .expect("writer sender poisoned")
            .is_none()
    }

    pub(super) fn close(&self) {
        self.sender.lock().expect("writer sender poisoned").take();
        if let Some(h) = self.handle.lock().expect("writer handle poisoned").take() {
            let _ = h.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

fn closed(name: &str) -> ServiceError {
    ServiceError::from(super::StoreError::Closed(name.to_owned()))
}

fn short_name(path: &str) -> &str {
    std::path::Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("db")
}

fn run(conn: Connection, rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut delivers: Vec<Deliver> = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Dropping the jobs drops their reply channels: each caller gets an error.
            tracing::error!(error = %e, "cannot begin a transaction");
            batch.clear();
            continue;
        }
        for job in batch.drain(..) {
            delivers.push(run_job(&conn, job));
        }
        let commit_error = conn.execute_batch("COMMIT").err().map(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
        for d in delivers.drain(..) {
            d(commit_error.clone());
        }
    }
    // Channel closed: all queued writes are committed; the connection closes on drop.
}

fn run_job(conn: &Connection, job: Job) -> Deliver {
    if let Err(e) = conn.execute_batch("SAVEPOINT w") {
        // The job is dropped unrun: its caller gets an error through its dropped reply channel.
        tracing::error!(error = %e, "savepoint failed");
        return Box::new(|_| {});
    }
    let (ok, deliver) = job(conn);
    let end = if ok {
        "RELEASE w"
    } else {
        "ROLLBACK TO w; RELEASE w"
    };
    if let Err(e) = conn.execute_batch(end) {
        tracing::error!(error = %e, "savepoint end failed");
    }
    deliver
}
