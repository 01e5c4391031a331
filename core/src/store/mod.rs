//! SQLite storage shared by the six services: one file per service, schema applied at open, WAL,
//! a stated `synchronous` setting, and leader/follower group commit ([`writer`]): a write that
//! finds the database idle commits on the caller's thread; writes that arrive meanwhile are
//! committed together by the writer thread. Point reads run on the caller's thread with a pooled
//! connection (an indexed read costs less than the thread hop `spawn_blocking` would add); scans
//! whose size grows with the data go to the blocking pool. What the storage work costs is counted
//! per database ([`meter`]).
//!
//! A database its process alone opens (the default: a service process owns its file) takes its
//! locks in memory: its connections open through SQLite's `unix-excl` VFS, which takes one
//! process-wide lock on the file when the first connection locks it and keeps the WAL index in
//! the process's memory, so no transaction makes an `fcntl` call (several each otherwise,
//! about a tenth of an in-process checkout's CPU on the machine measured). Another process cannot
//! read the file meanwhile (`SQLITE_BUSY`); other connections of the same process can. Replicas
//! of a service that share one database open it `owned: false`.
//!
//! The services' tables keep the seed's columns but not its `AUTOINCREMENT`: no row of them is
//! ever deleted (a cancellation is a status or a tombstone), so `INTEGER PRIMARY KEY` alone never
//! reuses an id, and every commit is spared a write of the `sqlite_sequence` page.

mod checkpoint;
pub mod meter;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::{ServiceError, ServiceResult};

/// SQLite's `synchronous` pragma: how hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// No fsync: fastest, loses recent commits on power loss.
    Off,
    /// WAL + NORMAL: fsync at checkpoints; durable against process crashes (the default).
    #[default]
    Normal,
    /// fsync on every commit (amortised by group commit).
    Full,
}

impl SyncMode {
    /// The pragma's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "OFF",
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
        }
    }

    /// Parses `off`, `normal` or `full` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "normal" => Some(Self::Normal),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
}

/// How a service database is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreConfig {
    /// Durability setting, identical for every service and both stacks.
    pub sync: SyncMode,
    /// Most writes committed in one transaction.
    pub max_batch: usize,
    /// A write that finds the database idle commits on the caller's thread (ignored with
    /// `synchronous=FULL`, whose commits wait for the disk and so always go to the writer thread).
    /// Off: every write is handed to the writer thread (the hand-off path, for comparison).
    #[serde(default = "yes")]
    pub inline_commit: bool,
    /// Most forward writes waiting for the writer thread; one more is refused at once
    /// ([`ServiceError::Overloaded`]) instead of queueing. Writes that undo or conclude admitted
    /// work ([`Db::write_undo`]) are not counted against it.
    #[serde(default = "default_max_queue")]
    pub max_queue: usize,
    /// This process alone opens the database: its locks are taken in memory (the `unix-excl`
    /// VFS), and another process cannot open it while this one has it open. Off: SQLite's
    /// file locks, for a database several processes share (replicas of one service, a sink read
    /// while it runs).
    #[serde(default = "yes")]
    pub owned: bool,
}

fn default_max_queue() -> usize {
    DEFAULT_MAX_QUEUE
}

/// Default bound of a writer's queue: well above what the services' admission limits let
/// queue (each admitted request writes once or twice), so it holds only if admission is off.
pub const DEFAULT_MAX_QUEUE: usize = 1024;

fn yes() -> bool {
    true
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            sync: SyncMode::Normal,
            max_batch: 256,
            inline_commit: true,
            max_queue: DEFAULT_MAX_QUEUE,
            owned: true,
        }
    }
}

/// How often the background thread checkpoints the WAL into the database file.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// A WAL this long after a checkpoint (frames of one page each: about 4 MiB, SQLite's own
/// automatic checkpoint size) is rewound by the writer thread.
const REWIND_FRAMES: i64 = 1000;

/// How long a connection waits for a lock another holds.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Storage failures, before they are turned into [`ServiceError::Internal`].
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The writer thread has stopped (database closed).
    #[error("database {0} is closed")]
    Closed(String),
    /// The transaction holding this write failed to commit.
    #[error("commit failed: {0}")]
    Commit(String),
}

impl From<StoreError> for ServiceError {
    /// A storage failure is logged once, here, and reaches the caller as `Internal`.
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Self::Internal("storage failure".into())
    }
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e).into()
    }
}

/// True when `e` is a UNIQUE or PRIMARY KEY constraint hit.
pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// One service's database: a writer thread plus a pool of read connections.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    config: StoreConfig,
    writer: Arc<writer::Writer>,
    checkpointer: checkpoint::Checkpointer,
    readers: Mutex<Vec<Connection>>,
    meter: Arc<meter::Meter>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and applies `schema`.
    pub fn open(path: &Path, schema: &str, config: StoreConfig) -> Result<Self, StoreError> {
        let conn = open_connection(path, config)?;
        conn.execute_batch(schema)?;
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        let name = path
            .file_name()
            .map_or_else(|| "db".into(), |n| n.to_string_lossy().into_owned());
        let meter = meter::register(&name);
        let inline = config.inline_commit && config.sync != SyncMode::Full;
        let writer = Arc::new(writer::Writer::start(
            conn,
            path.display().to_string(),
            config.max_batch,
            config.max_queue,
            inline,
            meter.clone(),
        ));
        let w = Arc::downgrade(&writer);
        let checkpointer = checkpoint::Checkpointer::start(
            open_connection(path, config)?,
            CHECKPOINT_INTERVAL,
            REWIND_FRAMES,
            Box::new(move || {
                if let Some(w) = w.upgrade() {
                    w.restart_wal();
                }
            }),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                config,
                writer,
                checkpointer,
                readers: Mutex::new(Vec::new()),
                meter,
            }),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The settings it was opened with.
    pub fn config(&self) -> StoreConfig {
        self.inner.config
    }

    /// Runs `f` in the writer thread, inside the next group transaction, under its own savepoint:
    /// an `Err` from `f` rolls back only `f`'s changes. Resolves once the transaction commits.
    /// Forward work: refused with [`ServiceError::Overloaded`] when the writer's queue is full.
    pub async fn write<T, F>(&self, f: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> ServiceResult<T> + Send + 'static,
    {
        self.inner.writer.submit(f, true).await
    }

    /// [`Db::write`] for a write that undoes or concludes work already admitted (a compensation,
    /// an order's final status): never refused for a full queue, since refusing it would leave
    /// that work half done; how many there can be is bounded by the forward work admitted.
    pub async fn write_undo<T, F>(&self, f: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> ServiceResult<T> + Send + 'static,
    {
        self.inner.writer.submit(f, false).await
    }

    /// Runs `f` on a pooled read connection on the caller's thread: for indexed point reads,
    /// which cost a few microseconds, less than a hop to the blocking pool and back.
    pub async fn read<T, F>(&self, f: F) -> ServiceResult<T>
    where
        F: FnOnce(&Connection) -> ServiceResult<T>,
    {
        self.inner.read(f)
    }

    /// Runs `f` on a pooled read connection on the blocking thread pool: for scans whose cost
    /// grows with the data (a whole catalog), which must not hold an async worker.
    pub async fn scan<T, F>(&self, f: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> ServiceResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.read(f))
            .await
            .map_err(|e| ServiceError::Internal(format!("read task failed: {e}")))?
    }

    /// What this database's storage work has cost so far.
    pub fn meter(&self) -> meter::MeterReading {
        self.inner.meter.reading()
    }

    /// True once [`Db::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.writer.is_closed()
    }

    /// Stops accepting writes, lets queued writes commit, and closes the writer's connection.
    pub fn close(&self) {
        self.inner.writer.close();
        self.inner.checkpointer.close();
        self.inner
            .readers
            .lock()
            .expect("reader pool poisoned")
            .clear();
    }
}

impl Inner {
    fn read<T>(&self, f: impl FnOnce(&Connection) -> ServiceResult<T>) -> ServiceResult<T> {
        let cpu = meter::thread_cpu_ns();
        let pooled = self.readers.lock().expect("reader pool poisoned").pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_connection(&self.path, self.config)?,
        };
        let out = f(&conn);
        self.readers
            .lock()
            .expect("reader pool poisoned")
            .push(conn);
        self.meter.read(meter::thread_cpu_ns().saturating_sub(cpu));
        out
    }
}

/// The VFS of a database its process owns: locks in the process's memory (see the module's
/// documentation).
const OWNED_VFS: &str = "unix-excl";

fn open_connection(path: &Path, config: StoreConfig) -> Result<Connection, StoreError> {
    let conn = if config.owned {
        Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), OWNED_VFS)?
    } else {
        Connection::open(path)?
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={}; PRAGMA foreign_keys=ON;",
        config.sync.as_str()
    ))?;
    Ok(conn)
}

/// Appends one line to a service's `operacoes` log (seed 001 §2: each service records what it did).
pub fn log_operation(
    conn: &Connection,
    operation: &str,
    order_id: Option<i64>,
    detail: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO operacoes (data, operacao, pedido_id, detalhe) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(rusqlite::params![now_text(), operation, order_id, detail])?;
    Ok(())
}

/// The operation log's table, part of every service's schema.
pub const OPERATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS operacoes (
    id INTEGER PRIMARY KEY,
    data TEXT NOT NULL,
    operacao TEXT NOT NULL,
    pedido_id INTEGER,
    detalhe TEXT
);";

/// Current UTC time as the ISO-8601 text the seed's tables use.
pub fn now_text() -> String {
    time_text(chrono::Utc::now())
}

/// `t` as the seed's ISO-8601 text, to the millisecond (`2026-01-31T23:59:59.123`): written out
/// field by field, since parsing a strftime pattern on every row cost more than the row's insert.
pub fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1_000_000 % 1000
    )
}
