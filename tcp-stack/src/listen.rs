//! A server's connections: the accept loop (a TLS handshake first when the chain runs with it)
//! and, per connection, a reader that starts a task per call (at most `PEER_IN_FLIGHT` at once on
//! a connection: beyond, a call is refused at once, as HTTP/2's stream limit refuses it on the
//! gRPC stack) and a writer that sends the answers as they finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use checkout_core::ServiceError;
use checkout_core::admission::PEER_IN_FLIGHT;
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::frame;
use crate::server::{Shared, serve_call};

/// Accepts connections (over TLS with `tls`) until `shutdown` resolves; then stops every
/// connection reading and returns once each has answered what it started.
pub(crate) async fn accept(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let (shared, stopped) = (shared.clone(), stopped.clone());
                    match tls.clone() {
                        None => {
                            let (r, w) = stream.into_split();
                            connections.spawn(connection(r, w, shared, stopped));
                        }
                        Some(tls) => {
                            connections.spawn(accept_tls(tls, stream, shared, stopped));
                        }
                    }
                }
                // Out of descriptors, or a connection reset before it was accepted: the
                // listener itself is fine.
                Err(e) => {
                    tracing::warn!(service = shared.name, "accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
}

/// Completes the TLS handshake on an accepted stream, then serves the connection. A caller
/// without the chain's CA, or without a certificate when TLS is mutual, is refused in the
/// handshake.
async fn accept_tls(
    tls: TlsAcceptor,
    stream: TcpStream,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) {
    match tokio::time::timeout(Duration::from_secs(5), tls.accept(stream)).await {
        Ok(Ok(s)) => {
            let (r, w) = tokio::io::split(s);
            connection(r, w, shared, stopped).await;
        }
        Ok(Err(e)) => tracing::debug!(service = shared.name, "TLS: {e}"),
        Err(_) => tracing::debug!(service = shared.name, "TLS: handshake timed out"),
    }
}

/// Reads a connection's calls off `r` until the peer closes it, the stream breaks, or the server
/// stops, answering on `w`; returns once every call it started has answered.
async fn connection(
    r: impl AsyncRead + Unpin,
    w: impl AsyncWrite + Unpin + Send + 'static,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let (tx, rx) = mpsc::channel(PEER_IN_FLIGHT);
    let writer = tokio::spawn(frame::write_all(w, rx));
    let slots = Arc::new(Semaphore::new(PEER_IN_FLIGHT));
    let mut r = BufReader::with_capacity(64 * 1024, r);
    loop {
        let body = tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            body = frame::read(&mut r) => match body {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(service = shared.name, "connection closed: {e}");
                    break;
                }
            },
        };
        let Ok(call) = Received::read(body) else {
            tracing::debug!(service = shared.name, "not a call frame: closing");
            break;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            let full = ServiceError::Overloaded {
                service: shared.name,
                retry_after_ms: 1,
            };
            if tx.send(frame::error(call.id, &full)).await.is_err() {
                break;
            }
            continue;
        };
        let (tx, shared) = (tx.clone(), shared.clone());
        tokio::spawn(async move {
            let answer = serve_call(&shared, &call).await;
            let _ = tx.send(answer).await;
            drop(slot);
        });
    }
    drop(tx);
    let _ = writer.await;
}

/// A call frame read off a connection: its body, and its head as the reader parsed it (once).
pub(crate) struct Received {
    body: Vec<u8>,
    pub(crate) id: u64,
    pub(crate) method: u8,
    pub(crate) deadline: Option<Duration>,
    /// Where the `traceparent` is in the body; the message follows it.
    trace: std::ops::Range<usize>,
}

impl Received {
    /// Parses a call frame's body; an error means the stream cannot be trusted any further.
    fn read(body: Vec<u8>) -> Result<Self, String> {
        let c = frame::parse_call(&body)?;
        let payload_at = body.len() - c.payload.len();
        let trace = payload_at - c.trace.map_or(0, str::len)..payload_at;
        let (id, method, deadline) = (c.id, c.method, c.deadline);
        Ok(Self {
            body,
            id,
            method,
            deadline,
            trace,
        })
    }

    pub(crate) fn payload(&self) -> &[u8] {
        &self.body[self.trace.end..]
    }

    pub(crate) fn trace(&self) -> Option<&str> {
        std::str::from_utf8(&self.body[self.trace.clone()])
            .ok()
            .filter(|t| !t.is_empty())
    }
}
