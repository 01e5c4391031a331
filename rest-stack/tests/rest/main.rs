//! REST-specific behaviour: refusals before any work (malformed JSON, wrong content type,
//! oversized bodies, bad paths), the seed's JSON shapes, OpenAPI and health on every service, and
//! both HTTP versions on one port. The behaviour shared with gRPC is in the bench's conformance
//! suite.

use std::net::{IpAddr, Ipv4Addr};

use checkout_core::node::{LocalStack, Peers, spawn_services};
use checkout_core::testkit::{PRODUCTS, Probe, approving, init_env};
use checkout_core::*;
use rest_stack::RestOptions;
use serde_json::{Value, json};
use tempfile::TempDir;

mod deploy;

struct Stack {
    _dir: TempDir,
    stack: LocalStack,
    probe: Probe,
    http: reqwest::Client,
}

async fn spawn() -> Stack {
    // reqwest's clients built here look for the process's TLS provider.
    checkout_core::tls::install_crypto();
    let dir = TempDir::new().unwrap();
    let env = init_env(dir.path(), PRODUCTS, approving());
    let peers = Peers::from_base(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let start = rest_stack::start(RestOptions {
        workers: 1,
        http2: false,
    });
    let stack = spawn_services(&ServiceName::ALL, peers, &env, start, |_, _| {})
        .await
        .unwrap();
    Stack {
        _dir: dir,
        probe: Probe(env.data_dir.clone()),
        stack,
        http: reqwest::Client::new(),
    }
}

impl Stack {
    fn url(&self, s: ServiceName, path: &str) -> String {
        format!("http://{}{path}", self.stack.peers.get(s))
    }
    async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(ServiceName::Orders, path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn malformed_requests_are_refused_before_any_work() {
    let s = spawn().await;
    let before = s.probe.total_rows();
    let json = "application/json";
    /// Path, content type, body, expected status, `erro`, `campo`.
    type Case = (
        &'static str,
        &'static str,
        Vec<u8>,
        u16,
        &'static str,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        ("/pedidos", json, b"{not json".to_vec(), 400, "invalid_argument", None),
        ("/pedidos", json, br#"{"chave_idempotencia":"k","cliente_id":"um","itens":[]}"#.to_vec(), 400, "invalid_argument", None),
        ("/pedidos", json, br#"{"chave_idempotencia":"k","cliente_id":1}"#.to_vec(), 400, "invalid_argument", Some("itens")),
        (
            "/pedidos",
            json,
            br#"{"chave_idempotencia":"k","cliente_id":1,"itens":[],"desconto":5}"#.to_vec(),
            400,
            "invalid_argument",
            Some("desconto"),
        ),
        (
            "/pedidos",
            json,
            br#"{"chave_idempotencia":"k","cliente_id":1,"itens":[{"produto_id":1,"quantidade":0}]}"#.to_vec(),
            400,
            "invalid_argument",
            Some("itens[0].quantidade"),
        ),
        ("/pedidos", "text/plain", br#"{"chave_idempotencia":"k"}"#.to_vec(), 415, "unsupported_media_type", None),
        ("/pedidos", json, vec![b' '; 70 * 1024], 413, "payload_too_large", None),
    ];
    for (path, ct, body, status, erro, campo) in cases {
        let (got, body) = s.post_raw(path, ct, body).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(body["erro"], erro, "{body}");
        if let Some(c) = campo {
            assert_eq!(body["campo"], c, "{body}");
        }
    }
    let r = s
        .http
        .get(s.url(ServiceName::Orders, "/pedidos/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["campo"], "pedido_id");
    let r = s
        .http
        .get(s.url(ServiceName::Orders, "/nada"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["erro"], "not_found");
    assert_eq!(s.probe.total_rows(), before);

    // Still serving, and a good request works.
    let good = json!({"chave_idempotencia": "ok", "cliente_id": 1, "itens": [{"produto_id": 1, "quantidade": 1}]});
    let (status, body) = s
        .post_raw("/pedidos", json, serde_json::to_vec(&good).unwrap())
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("enviado")),
        "{body}"
    );
    s.stack.stop_all().await.unwrap();
}

#[tokio::test]
async fn produtos_is_the_seed_json_array() {
    let s = spawn().await;
    let body: Value = s
        .http
        .get(s.url(ServiceName::Catalog, "/produtos"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = body.as_array().expect("a JSON array");
    assert_eq!(items.len(), PRODUCTS.len());
    assert_eq!(
        items[0],
        json!({"id": 1, "nome": "Café Torrado", "estoque": 1000, "preco_centavos": 1990})
    );
    let filtered: Value = s
        .http
        .get(s.url(
            ServiceName::Catalog,
            "/produtos?nome=jeans&preco_maximo_centavos=20000",
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        filtered,
        json!([{"id": 4, "nome": "Calça Jeans", "estoque": 0, "preco_centavos": 15900}])
    );
    let r = s
        .http
        .get(s.url(
            ServiceName::Catalog,
            "/produtos?preco_maximo_centavos=barato",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    s.stack.stop_all().await.unwrap();
}

#[tokio::test]
async fn every_service_serves_health_and_its_openapi_over_both_http_versions() {
    let s = spawn().await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let paths = [
        (ServiceName::Orders, "/pedidos"),
        (ServiceName::Payments, "/pagamentos"),
        (ServiceName::Inventory, "/estoque/separar"),
        (ServiceName::Fiscal, "/notas-fiscais"),
        (ServiceName::Logistics, "/envios"),
        (ServiceName::Catalog, "/produtos"),
    ];
    for (service, path) in paths {
        for client in [&s.http, &h2] {
            let r = client.get(s.url(service, "/health")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(
                r.json::<Value>().await.unwrap(),
                json!({"status": "SERVING", "servico": service.as_str()})
            );
        }
        let doc: Value = s
            .http
            .get(s.url(service, "/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3."),
            "{service}"
        );
        assert!(doc["paths"][path].is_object(), "{service}: {path} missing");
        assert!(
            doc["components"]["schemas"]["Erro"].is_object(),
            "{service}: error body undocumented"
        );
    }
    drop(h2);
    s.stack.stop_all().await.unwrap();
}

#[test]
fn every_error_maps_to_its_documented_status() {
    use rest_stack::errors::status_of;
    let cases = [
        (ServiceError::invalid("x", "y"), 400),
        (ServiceError::KeyReused, 422),
        (
            ServiceError::NotFound {
                entity: "pedido",
                id: 1,
            },
            404,
        ),
        (
            ServiceError::OutOfStock {
                product_id: 1,
                requested: 2,
                available: 1,
            },
            409,
        ),
        (
            ServiceError::Aborted {
                service: "fiscal",
                order_id: 1,
            },
            409,
        ),
        (
            ServiceError::Unavailable {
                service: "fiscal",
                detail: String::new(),
            },
            503,
        ),
        (ServiceError::DeadlineExceeded { service: "fiscal" }, 504),
        (
            ServiceError::Overloaded {
                service: "orders",
                retry_after_ms: 1500,
            },
            503,
        ),
        (ServiceError::Internal("x".into()), 500),
    ];
    for (e, code) in cases {
        assert_eq!(status_of(&e).as_u16(), code, "{e:?}");
    }
}

#[test]
fn a_refusal_for_overload_says_when_to_retry() {
    use actix_web::ResponseError;
    let answer = rest_stack::errors::ApiError(ServiceError::Overloaded {
        service: "orders",
        retry_after_ms: 1500,
    })
    .error_response();
    assert_eq!(answer.status().as_u16(), 503);
    // Whole seconds on the header, rounded up; the body keeps the milliseconds.
    assert_eq!(answer.headers().get("retry-after").unwrap(), "2");
    let back = rest_stack::errors::from_response(
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        br#"{"erro":"overloaded","mensagem":"m","servico":"orders","tentar_apos_ms":1500}"#,
        "orders",
    );
    assert_eq!(
        back,
        ServiceError::Overloaded {
            service: "orders",
            retry_after_ms: 1500
        }
    );
}

/// Contract changes on the JSON wire, as this stack is built: the servers read requests strictly
/// (`deny_unknown_fields`), so a field a newer client adds is refused with 400 naming it, and a
/// field an older client leaves out is refused with 400 naming it; the clients read answers
/// tolerantly, so a field a newer server adds is ignored. (The gRPC side is in its stack's tests.)
#[tokio::test]
async fn a_field_added_to_a_request_is_refused_and_one_added_to_an_answer_is_ignored() {
    let s = spawn().await;
    let before = s.probe.total_rows();
    let ahead = serde_json::json!({
        "chave_idempotencia": "contrato-1", "cliente_id": 1, "cupom": "X",
        "itens": [{"produto_id": 1, "quantidade": 1}]
    });
    let (status, body) = s
        .post_raw(
            "/pedidos",
            "application/json",
            ahead.to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (status, body["campo"].as_str()),
        (400, Some("cupom")),
        "{body}"
    );
    let behind = serde_json::json!({
        "chave_idempotencia": "contrato-2",
        "itens": [{"produto_id": 1, "quantidade": 1}]
    });
    let (status, body) = s
        .post_raw(
            "/pedidos",
            "application/json",
            behind.to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (status, body["campo"].as_str()),
        (400, Some("cliente_id")),
        "{body}"
    );
    assert_eq!(s.probe.total_rows(), before, "neither wrote anything");
    // The same checkout without the extra field goes through; its answer, with a field a newer
    // server might add, still reads.
    let ok = serde_json::json!({
        "chave_idempotencia": "contrato-1", "cliente_id": 1,
        "itens": [{"produto_id": 1, "quantidade": 1}]
    });
    let (status, mut answer) = s
        .post_raw("/pedidos", "application/json", ok.to_string().into_bytes())
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["prazo_entrega_dias"] = serde_json::json!(3);
    let read: rest_stack::wire::Pedido = serde_json::from_value(answer).unwrap();
    assert_eq!(read.status, "enviado");
    s.stack.stop_all().await.unwrap();
}

/// A peer's calls from one thread never wait on another thread's runtime: each thread that
/// calls a peer has its own connections, run by its own runtime. Here one thread opens an
/// HTTP/2 connection to Catalog and then stops driving its runtime (as a worker busy on
/// something long would); a call from another thread through the same client still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peers_calls_from_one_thread_do_not_wait_on_another_threads_runtime() {
    let s = spawn().await;
    let clients = std::sync::Arc::new(rest_stack::RestClients::new(&s.stack.peers, true));
    let list = |c: std::sync::Arc<rest_stack::RestClients>| async move {
        c.catalog
            .list_products(
                CallCtx::with_timeout(std::time::Duration::from_secs(2)),
                ProductFilter::default(),
            )
            .await
    };
    let (opened, stalled) = std::sync::mpsc::channel();
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let first = {
        let clients = clients.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let listed = rt.block_on(list(clients)).map(|p| p.len());
            opened.send(listed).unwrap();
            // The runtime, and any connection it runs, is not driven until released.
            let _ = wait.recv_timeout(std::time::Duration::from_secs(10));
            drop(rt);
        })
    };
    assert_eq!(stalled.recv().unwrap(), Ok(PRODUCTS.len()));
    let second = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(list(clients)).map(|p| p.len())
    })
    .join()
    .unwrap();
    release.send(()).unwrap();
    first.join().unwrap();
    assert_eq!(second, Ok(PRODUCTS.len()));
    s.stack.stop_all().await.unwrap();
}
