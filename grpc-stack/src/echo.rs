//! A bare tonic echo with the services' own settings (codec, TCP_NODELAY, a lazily connected
//! channel), answering a hop-sized message with itself: what tonic + prost cost per call on this
//! machine, with no core behind it. The bench calibrates every run's transport cost against it.

use std::future::Future;
use std::net::SocketAddr;

use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::pb::calibracao::eco_client::EcoClient;
use crate::pb::calibracao::eco_server::{Eco, EcoServer};
use crate::pb::pagamento::PagamentoRequest;

struct Echo;

#[tonic::async_trait]
impl Eco for Echo {
    async fn ecoar(
        &self,
        request: Request<PagamentoRequest>,
    ) -> Result<Response<PagamentoRequest>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

/// Serves the echo on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(EcoServer::new(Echo))
        .serve_with_incoming_shutdown(crate::conn::incoming(listener), shutdown)
        .await
}

/// A client of the echo at `addr`, on a channel built as the services' own.
pub fn client(addr: SocketAddr) -> EcoClient<Channel> {
    EcoClient::new(crate::client::channel(addr, None))
}
