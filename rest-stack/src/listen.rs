//! How an actix app is put on a listener: https through actix-web's `HttpServer` when the
//! chain's TLS material is given (ALPN h2 and http/1.1), else HTTP/1.1 and h2c on the same port
//! through actix-server and actix-http directly, so that an HTTP/2 connection's writes can be
//! coalesced ([`checkout_core::coalesce`]): actix's HTTP/2 dispatcher writes a reply's HEADERS
//! and DATA and then the empty DATA frame that ends the stream, which goes out apart when the
//! connection flushed in between (measured on loopback, the catalog listing at one client:
//! 10.0 packets per request stock, 6.0 coalesced). `HttpServer` offers no hook to wrap the
//! accepted stream; the clear path below is what its `listen_auto_h2c` builds, with the stream
//! wrapped.

use std::fmt;
use std::net::TcpListener;

use actix_http::body::MessageBody;
use actix_http::error::DispatchError;
use actix_http::{HttpService, Protocol, Request, Response};
use actix_server::Server;
use actix_service::{
    IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt, fn_service, map_config,
};
use actix_web::HttpServer;
use actix_web::dev::AppConfig;
use checkout_core::coalesce::Coalesce;
use checkout_core::tls::Tls;

/// How many threads serve, and how many connections each holds at once (`None`: actix's
/// default).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizing {
    pub workers: usize,
    pub max_connections: Option<usize>,
}

/// Binds the app `factory` makes (one per worker) to `listener`: https with the chain's
/// certificate when `tls` is given, else HTTP/1.1 and h2c, HTTP/2 connections coalescing their
/// writes. Nagle's algorithm is off (small HTTP/2 frames would wait for ACKs); on shutdown
/// in-flight requests get 5 s to finish.
pub(crate) fn listen<F, I, S, B>(
    factory: F,
    listener: TcpListener,
    tls: Option<&Tls>,
    sizing: Sizing,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let workers = sizing.workers.max(1);
    if let Some(t) = tls {
        let config = t.server_config(&[]).map_err(std::io::Error::other)?;
        let mut server = HttpServer::new(factory).workers(workers);
        if let Some(n) = sizing.max_connections {
            server = server.max_connections(n);
        }
        return Ok(server
            .backlog(1024)
            .tcp_nodelay(true)
            .disable_signals()
            .shutdown_timeout(5)
            .listen_rustls_0_23(listener, config)?
            .run());
    }
    let addr = listener.local_addr()?;
    let mut builder = Server::build().workers(workers);
    if let Some(n) = sizing.max_connections {
        builder = builder.max_concurrent_connections(n);
    }
    // Tells every connection when the server stops, so idle keep-alive ones close at once
    // instead of holding the stop for the shutdown timeout (as `HttpServer` does).
    let stopping = builder.graceful_shutdown_signal();
    Ok(builder
        .backlog(1024)
        .disable_signals()
        .shutdown_timeout(5)
        .listen(format!("http-{addr}"), listener, move || {
            let app = factory()
                .into_factory()
                .map_err(|e| e.into().error_response());
            let stopping = stopping.clone();
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .local_addr(addr)
                .finish(map_config(app, |_| AppConfig::default()));
            fn_service(accept).and_then(http)
        })?
        .run())
}

/// Tells HTTP/2 with prior knowledge from HTTP/1.1 by the preface's first bytes (as actix's
/// `tcp_auto_h2c` does) and wraps the stream, coalescing HTTP/2's writes; HTTP/1.1 writes a
/// reply in one go already and passes straight through.
async fn accept(
    io: tokio::net::TcpStream,
) -> Result<
    (
        Coalesce<tokio::net::TcpStream>,
        Protocol,
        Option<std::net::SocketAddr>,
    ),
    DispatchError,
> {
    // A subset of the HTTP/2 preface (RFC 9113 §3.4) that one peek reliably holds.
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2";
    let mut buf = [0; 12];
    io.peek(&mut buf).await?;
    let proto = if buf == H2_PREFACE {
        Protocol::Http2
    } else {
        Protocol::Http1
    };
    io.set_nodelay(true)?;
    let peer = io.peer_addr().ok();
    Ok((Coalesce::new_if(io, proto == Protocol::Http2), proto, peer))
}
