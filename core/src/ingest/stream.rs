//! What the transports share to carry the sink: a stream's events gathered into writes as they
//! arrive, progress forwarded to a follower, a file read lazily as an upload's body, and the
//! emission stamp.

use std::path::Path;
use std::sync::Arc;

use super::{Evento, MAX_WRITE, Progresso, Recibo, Sink};
use crate::error::{ServiceError, ServiceResult};

/// Collects a stream's events into writes of up to [`MAX_WRITE`]: the transport pushes each
/// event it reads and flushes when the stream has nothing more ready, so events wait for a
/// commit no longer than the stream keeps them coming, and a slow sink stops reading (the
/// transport's flow control then slows the sender).
pub struct StreamIngest {
    sink: Sink,
    next: u64,
    pending: Vec<Evento>,
    /// Counts so far.
    pub recibo: Recibo,
}

impl StreamIngest {
    /// A stream into `sink`, positions counted from 0.
    pub fn new(sink: Sink) -> Self {
        Self {
            sink,
            next: 0,
            pending: Vec::new(),
            recibo: Recibo::default(),
        }
    }

    /// Adds events; commits when a full write is pending.
    pub async fn push(&mut self, eventos: impl IntoIterator<Item = Evento>) -> ServiceResult<()> {
        self.pending.extend(eventos);
        if self.pending.len() >= MAX_WRITE {
            self.flush().await?;
        }
        Ok(())
    }

    /// Counts an event the transport could not decode, at the next position (what precedes it
    /// is committed first, so positions stay in order).
    pub async fn undecodable(&mut self, motivo: String) -> ServiceResult<()> {
        self.flush().await?;
        self.recibo.invalid(self.next, motivo);
        self.next += 1;
        Ok(())
    }

    /// Commits whatever is pending.
    pub async fn flush(&mut self) -> ServiceResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let n = batch.len() as u64;
        let r = self.sink.ingest(self.next, batch).await?;
        self.next += n;
        self.recibo.absorb(r);
        Ok(())
    }

    /// Commits what is pending and returns the receipt.
    pub async fn finish(mut self) -> ServiceResult<Recibo> {
        self.flush().await?;
        Ok(self.recibo)
    }
}

/// Stamps every event that asks for it (emission time 0) now.
pub fn stamped(mut eventos: Vec<Evento>) -> Vec<Evento> {
    for e in &mut eventos {
        e.stamp();
    }
    eventos
}

/// Follows `rx` until the import ends, calling `cada` on each update; returns the last.
pub async fn follow_to_end<F: FnMut(Progresso) + Send + ?Sized>(
    mut rx: tokio::sync::watch::Receiver<Progresso>,
    cada: &mut F,
) -> Progresso {
    loop {
        let p = rx.borrow_and_update().clone();
        cada(p.clone());
        if p.estado.terminal() || rx.changed().await.is_err() {
            return rx.borrow().clone();
        }
    }
}

/// Sends every update of `rx` to `tx` (as `map` makes it) until the import ends or the follower
/// leaves: what a transport's progress stream carries.
pub async fn forward_progress<T>(
    mut rx: tokio::sync::watch::Receiver<Progresso>,
    tx: tokio::sync::mpsc::Sender<T>,
    map: impl Fn(Progresso) -> T,
) {
    loop {
        let p = rx.borrow_and_update().clone();
        let end = p.estado.terminal();
        if tx.send(map(p)).await.is_err() || end {
            return;
        }
        if rx.changed().await.is_err() {
            let last = rx.borrow().clone();
            let _ = tx.send(map(last)).await;
            return;
        }
    }
}

/// Polls `f` once: its output if it is ready now, `None` if it would wait (the future is
/// dropped; use it only with a cancel-safe future, such as a stream's next item).
pub async fn if_ready<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match f.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

/// Reads a file in pieces of `size` bytes, lazily (an upload's body); an error ends the pieces
/// and is kept in [`FileChunks::error`].
pub struct FileChunks {
    file: std::fs::File,
    size: usize,
    /// The read error that ended the pieces early, if one did.
    pub error: Arc<std::sync::Mutex<Option<std::io::Error>>>,
}

impl FileChunks {
    /// Opens `path` for reading in pieces of `size` bytes.
    pub fn open(path: &Path, size: usize) -> ServiceResult<Self> {
        let file = std::fs::File::open(path)
            .map_err(|e| ServiceError::invalid("arquivo", format!("{}: {e}", path.display())))?;
        Ok(Self {
            file,
            size,
            error: Arc::default(),
        })
    }

    /// The pieces, then the read error that ended them early (if one did) as a last item: for a
    /// body whose transport aborts the request on an error, so no truncated file is imported.
    pub fn into_results(self) -> impl Iterator<Item = std::io::Result<Vec<u8>>> {
        let error = self.error.clone();
        self.map(Ok).chain(std::iter::from_fn(move || {
            error.lock().expect("poisoned").take().map(Err)
        }))
    }

    /// The error that ended the pieces early, as the call's outcome.
    pub fn check(error: &std::sync::Mutex<Option<std::io::Error>>) -> ServiceResult<()> {
        match error.lock().expect("poisoned").take() {
            Some(e) => Err(ServiceError::Internal(format!("reading the file: {e}"))),
            None => Ok(()),
        }
    }
}

impl Iterator for FileChunks {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        use std::io::Read;
        let mut buf = vec![0u8; self.size];
        match self.file.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some(buf)
            }
            Err(e) => {
                *self.error.lock().expect("poisoned") = Some(e);
                None
            }
        }
    }
}
