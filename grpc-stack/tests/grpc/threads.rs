//! A server that runs a runtime per thread deals its connections to its threads in turn, answers
//! on each, and stops when told.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use grpc_stack::pb::comum::{PedidoRef, Vazio};
use grpc_stack::pb::pagamento::pagamento_client::PagamentoClient;
use grpc_stack::pb::pagamento::pagamento_server::{Pagamento, PagamentoServer};
use grpc_stack::pb::pagamento::{PagamentoRequest, PagamentoResponse};
use tonic::{Request, Response, Status};

/// Payments that notes the name of the thread each call ran on.
struct Where(Arc<Mutex<Vec<String>>>);

#[tonic::async_trait]
impl Pagamento for Where {
    async fn processar_pagamento(
        &self,
        req: Request<PagamentoRequest>,
    ) -> Result<Response<PagamentoResponse>, Status> {
        let name = std::thread::current().name().unwrap_or("").to_string();
        self.0.lock().unwrap().push(name);
        crate::lane::approved(req.get_ref().pedido_id)
    }
    async fn estornar_pagamento(&self, _: Request<PedidoRef>) -> Result<Response<Vazio>, Status> {
        Ok(Response::new(Vazio {}))
    }
}

#[tokio::test]
async fn a_server_per_thread_deals_connections_in_turn_and_answers_on_each_thread() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let routes = tonic::service::Routes::new(PagamentoServer::new(Where(seen.clone())));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(grpc_stack::threads::serve(
        2,
        tonic::transport::Server::builder(),
        routes,
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    // Four connections, each with two calls: taken in turn, two land on each thread.
    for conn in 0..4i64 {
        let mut c = PagamentoClient::new(grpc_stack::client::channel(addr, None));
        for call in 0..2 {
            let id = conn * 10 + call;
            let r = c
                .processar_pagamento(PagamentoRequest {
                    pedido_id: id,
                    ..Default::default()
                })
                .await
                .expect("answered");
            assert_eq!(r.get_ref().pedido_id, id);
        }
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 8);
    // A connection's calls stay on its thread; consecutive connections go to the other one.
    for pair in seen.chunks(2) {
        assert_eq!(
            pair[0], pair[1],
            "one connection's calls on one thread: {seen:?}"
        );
    }
    let threads: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    assert_eq!(
        threads,
        BTreeSet::from(["grpc-serve-0", "grpc-serve-1"]),
        "both serving threads answered: {seen:?}"
    );
    assert_ne!(
        seen[0], seen[2],
        "the next connection goes to the next thread"
    );
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("the server stops once told")
        .unwrap()
        .expect("and reports no error");
}
