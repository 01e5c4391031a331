//! A bare actix-web + reqwest echo with the services' own settings (JSON limits, TCP_NODELAY,
//! HTTP/1.1 and h2c on one port, HTTP/2's writes coalesced, the peers' pooled client),
//! answering a hop-sized JSON message with itself: what the framework costs per call on this
//! machine, with no core behind it. The bench calibrates every run's transport cost against it.

use std::future::Future;
use std::net::SocketAddr;

use actix_web::{App, HttpResponse, web};

use crate::client::http_client;
use crate::errors::json_config;
use crate::wire::PagamentoRequest;

async fn echo(body: web::Json<PagamentoRequest>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

/// Serves `POST /eco` on `listener` with one actix worker until `shutdown` resolves.
pub async fn serve(
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = || {
        App::new()
            .app_data(json_config())
            .route("/eco", web::post().to(echo))
    };
    let sizing = crate::listen::Sizing {
        workers: 1,
        max_connections: None,
    };
    let server = crate::listen::listen(app, listener, None, sizing)?;
    crate::server::run_until(server, shutdown).await
}

/// A client of the echo at `addr`: the peers' client, over HTTP/1.1 or HTTP/2.
pub struct EchoClient {
    client: reqwest::Client,
    url: String,
}

impl EchoClient {
    /// A client of the echo at `addr`.
    pub fn new(addr: SocketAddr, http2: bool) -> Self {
        Self {
            client: http_client(http2, None),
            url: format!("http://{addr}/eco"),
        }
    }

    /// Sends `msg` and reads the echo back.
    pub async fn call(&self, msg: &PagamentoRequest) -> reqwest::Result<PagamentoRequest> {
        self.client
            .post(&self.url)
            .json(msg)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
}
