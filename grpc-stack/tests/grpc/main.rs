//! gRPC-specific behaviour: status codes and details on the wire, undecodable messages, health,
//! reflection, deadlines. The behaviour shared with REST is in the bench's conformance suite.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use checkout_core::node::{LocalStack, Peers, spawn_services};
use checkout_core::testkit::{PRODUCTS, Probe, approving, init_env, request};
use checkout_core::*;
use grpc_stack::GrpcClients;
use grpc_stack::pb::comum::Erro;
use grpc_stack::pb::pedidos::pedidos_client::PedidosClient;
use grpc_stack::pb::pedidos::{CriarPedidoRequest, ItemSolicitado};
use prost::Message;
use tempfile::TempDir;
use tonic::Code;

mod deploy;
mod lane;
mod raw;
mod threads;

struct Stack {
    _dir: TempDir,
    stack: Option<LocalStack>,
    clients: GrpcClients,
    probe: Probe,
}

async fn spawn() -> Stack {
    let dir = TempDir::new().unwrap();
    let env = init_env(dir.path(), PRODUCTS, approving());
    let peers = Peers::from_base(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let stack = spawn_services(&ServiceName::ALL, peers, &env, grpc_stack::start, |_, _| {})
        .await
        .unwrap();
    let clients = GrpcClients::new(&stack.peers);
    Stack {
        _dir: dir,
        probe: Probe(env.data_dir.clone()),
        clients,
        stack: Some(stack),
    }
}

impl Stack {
    fn peers(&self) -> Peers {
        self.stack.as_ref().unwrap().peers.clone()
    }
    async fn stop(mut self) {
        self.stack.take().unwrap().stop_all().await.unwrap();
    }
}

fn endpoint(s: &Stack, service: ServiceName) -> tonic::transport::Channel {
    grpc_stack::client::channel(s.peers().get(service), None)
}

#[tokio::test]
async fn statuses_carry_the_code_and_the_structured_error() {
    let s = spawn().await;
    let mut raw = PedidosClient::new(endpoint(&s, ServiceName::Orders));
    let bad = CriarPedidoRequest {
        chave_idempotencia: "k1".into(),
        cliente_id: 1,
        itens: vec![ItemSolicitado {
            produto_id: 1,
            quantidade: -2,
        }],
    };
    let status = raw.criar_pedido(bad).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let erro = Erro::decode(status.details()).unwrap();
    assert_eq!(
        (erro.erro.as_str(), erro.campo.as_deref()),
        ("invalid_argument", Some("itens[0].quantidade"))
    );

    let unknown = CriarPedidoRequest {
        chave_idempotencia: "k2".into(),
        cliente_id: 1,
        itens: vec![ItemSolicitado {
            produto_id: 4242,
            quantidade: 1,
        }],
    };
    let status = raw.criar_pedido(unknown).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(Erro::decode(status.details()).unwrap().id, Some(4242));

    let empty = CriarPedidoRequest {
        chave_idempotencia: "k3".into(),
        cliente_id: 1,
        itens: vec![],
    };
    assert_eq!(
        raw.criar_pedido(empty).await.unwrap_err().code(),
        Code::InvalidArgument
    );

    // Out of stock is reported by Inventory as FAILED_PRECONDITION to Payments, and reaches the
    // client as a cancelled order with the reason.
    let status = s
        .clients
        .inventory
        .0
        .raw()
        .ajustar_estoque(grpc_stack::pb::estoque::AjustarEstoqueRequest {
            produto_id: 3,
            delta: -50,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let order = s
        .clients
        .orders
        .place_order(CallCtx::unbounded(), request("k4", 1, &[(3, 9)]))
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Cancelado);
    assert!(order.reason.unwrap().contains("out of stock"));
    assert_eq!(
        s.probe
            .int(ServiceName::Orders, "SELECT count(*) FROM pedidos"),
        1,
        "only the out-of-stock order"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_message_that_is_not_protobuf_is_invalid_argument_and_persists_nothing() {
    let s = spawn().await;
    let before = s.probe.total_rows();
    for body in [
        vec![0xff, 0xff, 0xff],
        vec![0x0a, 0x20, b'x'],
        b"{\"cliente_id\": 1}".to_vec(),
    ] {
        let status = raw::call(
            endpoint(&s, ServiceName::Orders),
            "/pedidos.Pedidos/CriarPedido",
            body,
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    assert_eq!(s.probe.total_rows(), before);
    // Still serving.
    let order = s
        .clients
        .orders
        .place_order(CallCtx::unbounded(), request("ok", 1, &[(1, 1)]))
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Enviado);
    s.stop().await;
}

#[tokio::test]
async fn every_server_reports_serving_and_lists_its_service_by_reflection_v1_and_v1alpha() {
    let s = spawn().await;
    let names = [
        (ServiceName::Orders, "pedidos.Pedidos"),
        (ServiceName::Payments, "pagamento.Pagamento"),
        (ServiceName::Inventory, "estoque.Estoque"),
        (ServiceName::Fiscal, "fiscal.Fiscal"),
        (ServiceName::Logistics, "logistica.Logistica"),
        (ServiceName::Catalog, "catalogo.Catalogo"),
    ];
    for (service, grpc_name) in names {
        let mut health = tonic_health::pb::health_client::HealthClient::new(endpoint(&s, service));
        let reply = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: grpc_name.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reply.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
        let listed = raw::reflection_services(endpoint(&s, service)).await;
        assert!(
            listed.contains(&grpc_name.to_string()),
            "{service}: {listed:?}"
        );
        assert!(listed.contains(&"grpc.health.v1.Health".to_string()));
        // A client that speaks only reflection v1alpha lists the same services.
        let mut alpha = raw::reflection_services_v1alpha(endpoint(&s, service)).await;
        let mut v1 = listed.clone();
        alpha.sort();
        v1.sort();
        assert_eq!(alpha, v1, "{service}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_deadline_shorter_than_the_chain_is_deadline_exceeded() {
    let dir = TempDir::new().unwrap();
    let sim = approving().with_work(
        ServiceName::Logistics,
        sim::WorkTime::fixed(Duration::from_millis(500)),
    );
    let env = init_env(dir.path(), PRODUCTS, sim);
    let peers = Peers::from_base(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let stack = spawn_services(&ServiceName::ALL, peers, &env, grpc_stack::start, |_, _| {})
        .await
        .unwrap();
    let clients = GrpcClients::new(&stack.peers);
    let err = clients
        .orders
        .place_order(
            CallCtx::with_timeout(Duration::from_millis(150)),
            request("slow", 1, &[(2, 1)]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::DeadlineExceeded { .. }),
        "{err:?}"
    );
    // Orders' own chain deadline was the client's; it cancels and the audit settles clean.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let probe = Probe(env.data_dir.clone());
    let report = probe.audit();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(report.cancelled, 1);
    assert_eq!(probe.stock(2), 1000);
    stack.stop_all().await.unwrap();
}

#[test]
fn grpc_timeout_values_parse() {
    use grpc_stack::server::parse_grpc_timeout as p;
    assert_eq!(p("100m"), Some(Duration::from_millis(100)));
    assert_eq!(p("3S"), Some(Duration::from_secs(3)));
    assert_eq!(p("2H"), Some(Duration::from_secs(7200)));
    assert_eq!(p("250u"), Some(Duration::from_micros(250)));
    assert_eq!(p("x"), None);
    assert_eq!(p(""), None);
    assert_eq!(p("10q"), None);
}

/// Contract changes on the protobuf wire: a field the receiver does not know is skipped, in
/// either direction; a field the sender leaves out arrives as its default, and only the domain's
/// validation can tell. (The REST side of the same changes is in the REST stack's tests.)
#[tokio::test]
async fn a_field_added_is_ignored_and_a_field_removed_arrives_as_its_default() {
    let s = spawn().await;
    let req = CriarPedidoRequest {
        chave_idempotencia: "contrato-1".into(),
        cliente_id: 1,
        itens: vec![ItemSolicitado {
            produto_id: 1,
            quantidade: 1,
        }],
    };
    // A client one version ahead sends field 99 (`cupom = 99`, a varint) the server never heard of.
    let mut ahead = req.encode_to_vec();
    ahead.extend_from_slice(&[0x98, 0x06, 0x01]);
    let reply = raw::call(
        endpoint(&s, ServiceName::Orders),
        "/pedidos.Pedidos/CriarPedido",
        ahead,
    )
    .await
    .expect("an unknown field is skipped");
    let order = grpc_stack::pb::pedidos::Pedido::decode(reply.as_slice()).unwrap();
    assert_eq!(order.status, "enviado");
    // A server one version ahead answers with a field 99 the client does not know: decoded anyway.
    let mut answer = order.encode_to_vec();
    answer.extend_from_slice(&[0x98, 0x06, 0x01]);
    assert_eq!(
        grpc_stack::pb::pedidos::Pedido::decode(answer.as_slice()).unwrap(),
        order
    );
    // A client one version behind, without `cliente_id`: the field arrives as 0, which the
    // domain refuses (a default the domain accepted would pass silently).
    let behind = CriarPedidoRequest {
        chave_idempotencia: "contrato-2".into(),
        cliente_id: 0,
        ..req
    };
    let status = raw::call(
        endpoint(&s, ServiceName::Orders),
        "/pedidos.Pedidos/CriarPedido",
        behind.encode_to_vec(),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let erro = Erro::decode(status.details()).unwrap();
    assert_eq!(erro.campo.as_deref(), Some("cliente_id"));
    s.stop().await;
}
