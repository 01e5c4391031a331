//! A connection that sends what one poll of its writer produces as one TCP segment (the gRPC
//! stack's clients and servers and the REST stack's HTTP/2 servers use it).
//!
//! hyper's HTTP/2 client queues a request's HEADERS frame at once but its body from a task of
//! its own, once the new stream has been given flow-control capacity: the connection flushes the
//! HEADERS before the body's DATA frames are written, so a unary call leaves in two segments and
//! the server wakes twice to read it; a tonic server likewise flushes a reply's trailers apart
//! from its DATA (measured on loopback against stock tonic servers: 10 packets per catalog
//! listing through a tonic client, 8 through h2load, which writes a request's frames at once).
//! [`Coalesce`] holds what is written until the writer flushes, and lets the first flush of a
//! burst yield to the runtime once, so that tasks woken by what was just written (the body's) add
//! their frames before the bytes go out in one write. The cost is one more poll of the
//! connection task per flush; nothing waits on a timer.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most bytes held before a write goes out without waiting for the flush.
const HOLD_AT_MOST: usize = 64 * 1024;

/// A stream whose writes are held until a flush, the first flush of a burst deferred once.
#[derive(Debug)]
pub struct Coalesce<S> {
    inner: S,
    held: Vec<u8>,
    /// How much of `held` has gone out.
    sent: usize,
    /// The current burst's flush has yielded once already.
    yielded: bool,
    /// Writes go straight through (coalescing off: the stock behaviour, to compare).
    through: bool,
}

/// Set when coalescing is off: [`set_enabled`]`(false)`, or `CHECKOUT_NO_COALESCE` in the
/// environment of a process that did not call [`set_enabled`].
const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;
static STATE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(UNSET);

/// Turns coalescing on or off for connections made from now on in this process (off: every
/// write goes straight to the socket, tonic's stock behaviour, for comparison).
pub fn set_enabled(on: bool) {
    STATE.store(
        if on { ON } else { OFF },
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// Whether new connections coalesce.
pub fn enabled() -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    match STATE.load(Relaxed) {
        UNSET => {
            let on = std::env::var_os(ENV_OFF).is_none();
            set_enabled(on);
            on
        }
        s => s == ON,
    }
}

/// The environment variable that turns coalescing off in a process (any value).
pub const ENV_OFF: &str = "CHECKOUT_NO_COALESCE";

impl<S> Coalesce<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            held: Vec::with_capacity(4096),
            sent: 0,
            yielded: false,
            through: !enabled(),
        }
    }

    /// Wraps `inner` coalescing only when `on` (and coalescing is enabled in the process): a
    /// server that learns a connection's protocol when it accepts it coalesces only the
    /// protocols that split their writes.
    pub fn new_if(inner: S, on: bool) -> Self {
        let mut c = Self::new(inner);
        c.through |= !on;
        c
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncWrite + Unpin> Coalesce<S> {
    /// Writes out everything held.
    fn poll_send_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.held.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.held[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.held.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Coalesce<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Coalesce<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.through {
            return Pin::new(&mut self.inner).poll_write(cx, data);
        }
        if self.held.len() >= HOLD_AT_MOST {
            ready!(self.poll_send_held(cx))?;
        }
        self.held.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.through {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        if self.held.len() >= HOLD_AT_MOST {
            ready!(self.poll_send_held(cx))?;
        }
        let mut n = 0;
        for b in bufs {
            self.held.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        !self.through || self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.held.len() > self.sent && !self.yielded {
            // Let the tasks this burst woke write their part first; the connection task is
            // polled again after them (a task that wakes itself goes to the back of the queue).
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        ready!(self.poll_send_held(cx))?;
        self.yielded = false;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_held(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An inner stream that records each write it is given.
    #[derive(Default)]
    struct Recorder(Vec<Vec<u8>>);

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.push(data.to_vec());
            Poll::Ready(Ok(data.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_burst_s_first_flush_yields_once_so_frames_written_meanwhile_leave_in_the_same_write() {
        struct Count(std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let count = std::sync::Arc::new(Count(0.into()));
        let waker = std::task::Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut c = Coalesce::new(Recorder::default());
        c.through = false;
        let mut c = Pin::new(&mut c);
        assert!(c.as_mut().poll_write(&mut cx, b"HEADERS").is_ready());
        assert!(
            c.as_mut().poll_flush(&mut cx).is_pending(),
            "the first flush yields"
        );
        assert_eq!(
            count.0.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "and wakes its task"
        );
        assert!(c.get_ref().0.is_empty(), "nothing written yet");
        // The body's task runs meanwhile: its frame joins the held bytes.
        assert!(c.as_mut().poll_write(&mut cx, b"DATA").is_ready());
        assert!(matches!(
            c.as_mut().poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(
            c.get_ref().0,
            vec![b"HEADERSDATA".to_vec()],
            "one write for both"
        );
        // The next burst yields again; a flush with nothing held does not.
        assert!(matches!(
            c.as_mut().poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
        assert!(c.as_mut().poll_write(&mut cx, b"NEXT").is_ready());
        assert!(c.as_mut().poll_flush(&mut cx).is_pending());
    }

    #[tokio::test]
    async fn writes_are_held_until_the_flush_and_arrive_whole_and_in_order() {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let mut c = Coalesce::new(client);
        c.through = false;
        c.write_all(b"HEADERS").await.unwrap();
        c.write_all(b"+DATA").await.unwrap();
        let mut probe = [0u8; 16];
        let early = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            server.read(&mut probe),
        )
        .await;
        assert!(early.is_err(), "nothing may leave before the flush");
        c.flush().await.unwrap();
        let n = server.read(&mut probe).await.unwrap();
        assert_eq!(&probe[..n], b"HEADERS+DATA");
        let big = vec![7u8; 3 * HOLD_AT_MOST];
        c.write_all(&big).await.unwrap();
        c.shutdown().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, big);
    }
}
