//! Accepted connections whose writes leave whole: a tonic server writes a unary reply's HEADERS
//! and DATA in one go but its trailers from the response body's end, a flush later, so a reply
//! takes two segments and the caller wakes twice ([`Coalesce`] says more). Wrapping each accepted
//! stream in [`Coalesce`] sends the three frames as one segment.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use checkout_core::coalesce::Coalesce;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

/// An accepted connection, its writes held until the server flushes.
pub struct Conn(Coalesce<TcpStream>);

impl Conn {
    /// `s` (`TCP_NODELAY` set by the caller) with its writes held until the server flushes.
    pub fn new(s: TcpStream) -> Self {
        Self(Coalesce::new(s))
    }
}

/// The listener's connections (`TCP_NODELAY` set), each wrapped in [`Conn`].
pub fn incoming(listener: TcpListener) -> impl Stream<Item = io::Result<Conn>> {
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .map(|s| s.map(Conn::new))
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.get_ref().connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
