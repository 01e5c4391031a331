//! The shop's client against every wiring: each action answers as the seed's client would, an
//! error is shown as the documented error, and the menu reads its answers line by line.

use std::io::Cursor;

use bench::client::{Action, Client, interactive};
use checkout_core::testkit::{PRODUCTS, approving};

use crate::conformance::harness::{Wiring, spawn};

async fn exercise(w: Wiring) {
    let app = spawn(w, PRODUCTS, approving()).await;
    let c = Client::over(app.orders.clone(), app.catalog.clone());
    let list = c
        .run(
            &Action::Produtos {
                nome: None,
                preco_max_centavos: None,
            },
            false,
        )
        .await
        .unwrap();
    assert!(
        list.contains("Café Torrado") && list.contains("R$ 19,90"),
        "{w:?}: {list}"
    );
    let cheap = c
        .run(
            &Action::Produtos {
                nome: None,
                preco_max_centavos: Some(2000),
            },
            true,
        )
        .await
        .unwrap();
    let cheap: serde_json::Value = serde_json::from_str(&cheap).unwrap();
    assert!(
        cheap
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["price_cents"].as_i64().unwrap() <= 2000),
        "{w:?}: {cheap}"
    );
    let order = c
        .run(
            &Action::Pedido {
                cliente: 1,
                itens: vec![(1, 2)],
                chave: format!("cli-{w:?}"),
            },
            false,
        )
        .await
        .unwrap();
    assert!(
        order.contains("enviado") && order.contains("nota fiscal"),
        "{w:?}: {order}"
    );
    let id: i64 = order
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .parse()
        .unwrap();
    let again = c
        .run(&Action::Consultar { pedido: id }, false)
        .await
        .unwrap();
    assert!(
        again.starts_with(&format!("pedido {id}: enviado")),
        "{w:?}: {again}"
    );
    let missing = c
        .run(&Action::Consultar { pedido: 999_999 }, false)
        .await
        .unwrap_err();
    assert!(missing.starts_with("erro (not_found)"), "{w:?}: {missing}");
    let stock = c
        .run(
            &Action::Estoque {
                produto: 2,
                delta: -1,
            },
            true,
        )
        .await
        .unwrap();
    assert!(stock.contains("\"stock\": 999"), "{w:?}: {stock}");
    // The menu: list by name, a wrong choice, then leave.
    let mut out = Vec::new();
    interactive(&c, Cursor::new("2\ncasmurro\n9\n0\n"), &mut out).await;
    let shown = String::from_utf8(out).unwrap();
    assert!(
        shown.contains("Dom Casmurro") && !shown.contains("Café Torrado"),
        "{w:?}: {shown}"
    );
    assert!(shown.contains("opção \"9\" não existe"), "{w:?}: {shown}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_works_in_process() {
    exercise(Wiring::InProcess).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_works_over_grpc() {
    exercise(Wiring::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_works_over_rest() {
    exercise(Wiring::Rest { http2: false }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_works_over_tcp() {
    exercise(Wiring::Tcp).await;
}
