//! One connection to a peer over raw TCP: frames go out through a writer task, a reader task
//! hands each answer to the call waiting on its request id, and a broken connection fails every
//! call still waiting on it as `Unavailable`; the next call connects again (over TLS when the
//! chain runs with it).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use checkout_core::admission::PEER_IN_FLIGHT;
use checkout_core::tls::Tls;
use checkout_core::*;
use checkout_proto::erro::error_of;
use checkout_proto::pb::comum;
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsConnector;

use crate::frame::{self, Answer, Method};

/// An answer's whole frame body, or why none came.
type Reply = Result<Vec<u8>, ServiceError>;

/// The calls waiting on one connection, shared by its callers and its reader.
struct Pending {
    calls: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    open: AtomicBool,
}

impl Pending {
    /// Marks the connection broken and fails every call still waiting on it.
    fn close(&self, why: ServiceError) {
        self.open.store(false, Ordering::SeqCst);
        let waiting: Vec<_> = self
            .calls
            .lock()
            .expect("pending calls")
            .drain()
            .map(|(_, tx)| tx)
            .collect();
        for tx in waiting {
            let _ = tx.send(Err(why.clone()));
        }
    }
}

/// One open connection: frames go out through its writer task; its reader task hands answers
/// to the calls waiting on them.
struct Live {
    frames: mpsc::Sender<Vec<u8>>,
    pending: Arc<Pending>,
    next_id: AtomicU64,
}

fn unavailable(peer: &'static str, why: impl std::fmt::Display) -> ServiceError {
    ServiceError::Unavailable {
        service: peer,
        detail: format!("{peer} unavailable: {why}"),
    }
}

impl Live {
    /// Starts the writer and the reader of a connection's two halves.
    fn start(
        r: impl AsyncRead + Unpin + Send + 'static,
        w: impl AsyncWrite + Unpin + Send + 'static,
        peer: &'static str,
    ) -> Arc<Self> {
        let (frames, rx) = mpsc::channel(PEER_IN_FLIGHT);
        let pending = Arc::new(Pending {
            calls: Mutex::new(HashMap::new()),
            open: AtomicBool::new(true),
        });
        let p = pending.clone();
        tokio::spawn(async move {
            if let Err(e) = frame::write_all(w, rx).await {
                p.close(unavailable(peer, e));
            }
        });
        tokio::spawn(read_answers(r, pending.clone(), peer));
        Arc::new(Self {
            frames,
            pending,
            next_id: AtomicU64::new(1),
        })
    }
}

/// Hands every answer on `r` to its call, until the connection ends; then fails what waits.
async fn read_answers(r: impl AsyncRead + Unpin, pending: Arc<Pending>, peer: &'static str) {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let why = loop {
        match frame::read(&mut r).await {
            Ok(Some(body)) => {
                let Ok((id, _)) = frame::parse_answer(&body) else {
                    break unavailable(peer, "answer frame malformed");
                };
                let waiting = pending.calls.lock().expect("pending calls").remove(&id);
                // A call that gave up (its deadline passed) is no longer waiting: drop its answer.
                if let Some(tx) = waiting {
                    let _ = tx.send(Ok(body));
                }
            }
            Ok(None) => break unavailable(peer, "connection closed"),
            Err(e) => break unavailable(peer, e),
        }
    };
    pending.close(why);
}

/// Removes a call from the pending table when it stops waiting (answered, failed or given up).
struct Waiting<'a>(&'a Pending, u64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.0.calls.lock() {
            calls.remove(&self.1);
        }
    }
}

/// A lazily opened connection to one address; reopened on the next call after it breaks.
pub struct Conn {
    addr: SocketAddr,
    peer: &'static str,
    /// TLS with the chain's material, or none.
    tls: Option<TlsConnector>,
    live: Mutex<Option<Arc<Live>>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Conn {
    /// A connection to `peer` at `addr`, not opened until the first call; over TLS with `tls`.
    pub fn new(peer: &'static str, addr: SocketAddr, tls: Option<&Tls>) -> Self {
        Self {
            addr,
            peer,
            tls: tls.map(|t| {
                let config = t
                    .client_config(&[])
                    .expect("the chain's TLS material was checked when it was read");
                TlsConnector::from(Arc::new(config))
            }),
            live: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> Option<Arc<Live>> {
        self.live
            .lock()
            .expect("connection slot")
            .as_ref()
            .filter(|l| l.pending.open.load(Ordering::SeqCst))
            .cloned()
    }

    async fn open(&self) -> ServiceResult<Arc<Live>> {
        if let Some(l) = self.current() {
            return Ok(l);
        }
        let _one = self.connecting.lock().await;
        if let Some(l) = self.current() {
            return Ok(l);
        }
        let stream = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(self.addr))
            .await
            .map_err(|_| unavailable(self.peer, "connect timed out"))?
            .map_err(|e| unavailable(self.peer, e))?;
        let _ = stream.set_nodelay(true);
        let live = match &self.tls {
            None => {
                let (r, w) = stream.into_split();
                Live::start(r, w, self.peer)
            }
            Some(tls) => {
                let handshake = tls.connect(checkout_core::tls::Tls::server_name(), stream);
                let stream = tokio::time::timeout(Duration::from_secs(1), handshake)
                    .await
                    .map_err(|_| unavailable(self.peer, "TLS handshake timed out"))?
                    .map_err(|e| unavailable(self.peer, format!("TLS: {e}")))?;
                let (r, w) = tokio::io::split(stream);
                Live::start(r, w, self.peer)
            }
        };
        *self.live.lock().expect("connection slot") = Some(live.clone());
        Ok(live)
    }

    /// Sends `msg` to `method` and waits for its answer (bound it with [`within`]).
    pub async fn call<M: Message + Default>(
        &self,
        method: Method,
        ctx: CallCtx,
        msg: &impl Message,
    ) -> ServiceResult<M> {
        let body = self.call_raw(method, ctx, msg).await?;
        let Ok((_, answer)) = frame::parse_answer(&body) else {
            unreachable!("the reader passes on well-formed answers only")
        };
        let bytes = match answer {
            Answer::Ok(b) => b,
            Answer::Error(b) => {
                return Err(comum::Erro::decode(b)
                    .ok()
                    .and_then(|e| error_of(e, self.peer))
                    .unwrap_or_else(|| {
                        ServiceError::Internal(format!("{}: error frame malformed", self.peer))
                    }));
            }
        };
        M::decode(bytes).map_err(|e| {
            ServiceError::Internal(format!("{}: reply not valid protobuf: {e}", self.peer))
        })
    }

    /// [`Conn::call`], answering the whole answer frame's body.
    pub async fn call_raw(
        &self,
        method: Method,
        ctx: CallCtx,
        msg: &impl Message,
    ) -> ServiceResult<Vec<u8>> {
        let live = self.open().await?;
        let id = live.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        live.pending
            .calls
            .lock()
            .expect("pending calls")
            .insert(id, tx);
        let _waiting = Waiting(&live.pending, id);
        if !live.pending.open.load(Ordering::SeqCst) {
            return Err(unavailable(self.peer, "connection closed"));
        }
        let trace = ctx.trace.map(|t| t.header());
        let f = frame::call(id, method, ctx.remaining(), trace.as_deref(), msg);
        live.frames
            .send(f)
            .await
            .map_err(|_| unavailable(self.peer, "connection closed"))?;
        rx.await
            .map_err(|_| unavailable(self.peer, "connection closed"))?
    }
}
