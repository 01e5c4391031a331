//! The deadline a forward call carries is the time left when its lane lets it go, not when it
//! started waiting for a slot.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checkout_core::admission::PEER_IN_FLIGHT;
use checkout_core::node::Peers;
use checkout_core::*;
use grpc_stack::client::{GrpcPayments, Link};
use grpc_stack::pb::comum::{PedidoRef, Vazio};
use grpc_stack::pb::pagamento::pagamento_client::PagamentoClient;
use grpc_stack::pb::pagamento::pagamento_server::{Pagamento, PagamentoServer};
use grpc_stack::pb::pagamento::{PagamentoRequest, PagamentoResponse};
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

/// The order whose request the payments double watches.
const WATCHED: i64 = 1_000_000;

/// Payments that holds every call until `gate` opens, noting the watched order's `grpc-timeout`.
struct Held {
    gate: Arc<Semaphore>,
    seen: Arc<Mutex<Option<Duration>>>,
}

#[tonic::async_trait]
impl Pagamento for Held {
    async fn processar_pagamento(
        &self,
        req: Request<PagamentoRequest>,
    ) -> Result<Response<PagamentoResponse>, Status> {
        if req.get_ref().pedido_id == WATCHED {
            let timeout = req
                .metadata()
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(grpc_stack::server::parse_grpc_timeout);
            *self.seen.lock().unwrap() = timeout;
        } else {
            let _open = self.gate.acquire().await;
        }
        approved(req.get_ref().pedido_id)
    }
    async fn estornar_pagamento(&self, _: Request<PedidoRef>) -> Result<Response<Vazio>, Status> {
        Ok(Response::new(Vazio {}))
    }
}

/// What a payments double answers: the order's payment approved.
pub fn approved(pedido_id: i64) -> Result<Response<PagamentoResponse>, Status> {
    Ok(Response::new(PagamentoResponse {
        pedido_id,
        sucesso: true,
        ..Default::default()
    }))
}

fn order(order_id: i64) -> PaymentRequest {
    ChainOrder {
        order_id,
        order_key: format!("k{order_id}"),
        amount_cents: 100,
        lines: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_waited_for_its_lane_carries_the_time_left_then() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let seen = Arc::new(Mutex::new(None));
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(PagamentoServer::new(Held {
                gate: gate.clone(),
                seen: seen.clone(),
            }))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut peers = Peers::from_base(addr.ip(), 0);
    peers.set(ServiceName::Payments, addr);
    let payments = GrpcPayments(Link::new(
        &peers,
        ServiceName::Payments,
        PagamentoClient::new,
    ));
    let ctx = || CallCtx {
        deadline: Some(Instant::now() + Duration::from_secs(10)),
        trace: None,
    };
    // Every slot of the forward lane taken by a call the double holds.
    let held: Vec<_> = (0..PEER_IN_FLIGHT as i64)
        .map(|i| {
            let p = payments.clone();
            let c = ctx();
            tokio::spawn(async move { p.process_payment(c, order(i)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let watched = {
        let p = payments.clone();
        let c = ctx();
        tokio::spawn(async move { p.process_payment(c, order(WATCHED)).await })
    };
    // It waits for a slot for 1.5 s of its 10.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        seen.lock().unwrap().is_none(),
        "it went before a slot was free"
    );
    gate.add_permits(PEER_IN_FLIGHT);
    assert!(watched.await.unwrap().is_ok());
    for h in held {
        assert!(h.await.unwrap().is_ok());
    }
    let timeout = seen
        .lock()
        .unwrap()
        .expect("the watched call reached the server");
    assert!(
        timeout <= Duration::from_millis(8600),
        "it carried {timeout:?}: the deadline as it was before the wait"
    );
    server.abort();
}
