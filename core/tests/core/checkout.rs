//! The checkout's outcomes: shipped, declined, out of stock, idempotent retry, determinism.

use checkout_core::codes::access_key_is_valid;
use checkout_core::*;

use crate::harness::*;

#[tokio::test]
async fn happy_path_reaches_enviado_with_invoice_and_tracking_in_each_database() {
    let app = app();
    let order = app.checkout("k-happy", 1, &[(1, 2), (2, 1)]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Enviado);
    assert_eq!(order.total_cents, 2 * 1990 + 4550);
    let invoice = order.invoice_number.clone().expect("invoice number");
    let tracking = order.tracking_code.clone().expect("tracking code");
    assert!(
        tracking.ends_with("BR") && tracking.len() == 13,
        "{tracking}"
    );

    let id = order.order_id;
    let q = |s: ServiceName, sql: &str| app.count(s, &sql.replace("ID", &id.to_string()));
    assert_eq!(
        q(
            ServiceName::Orders,
            "SELECT count(*) FROM pedidos WHERE id = ID AND status = 'enviado'"
        ),
        1
    );
    assert_eq!(
        q(
            ServiceName::Orders,
            "SELECT count(*) FROM itens_pedido WHERE pedido_id = ID"
        ),
        2
    );
    assert_eq!(
        q(
            ServiceName::Payments,
            "SELECT count(*) FROM pagamentos WHERE pedido_id = ID AND status = 'aprovado' AND valor_centavos = 8530"
        ),
        1
    );
    assert_eq!(
        q(
            ServiceName::Inventory,
            "SELECT count(*) FROM reservas WHERE pedido_id = ID AND status = 'reservada'"
        ),
        1
    );
    assert_eq!(app.stock(1), 998);
    assert_eq!(app.stock(2), 999);
    let conn = rusqlite::Connection::open(app.data_dir().join("notas_fiscais.db")).unwrap();
    let (number, key): (String, String) = conn
        .query_row("SELECT numero, chave_acesso FROM notas_fiscais WHERE pedido_id = ?1 AND status = 'emitida'", [id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(number, invoice);
    assert!(access_key_is_valid(&key), "{key}");
    let conn = rusqlite::Connection::open(app.data_dir().join("envios.db")).unwrap();
    let code: String = conn
        .query_row(
            "SELECT codigo_rastreamento FROM envios WHERE pedido_id = ?1 AND nota_fiscal = ?2",
            rusqlite::params![id, invoice],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(code, tracking);
    // Every service recorded what it did.
    for s in ServiceName::CHAIN {
        assert!(
            q(s, "SELECT count(*) FROM operacoes WHERE pedido_id = ID") >= 1,
            "{s} logged nothing"
        );
    }
    let read = app
        .app
        .orders
        .get_order(CallCtx::unbounded(), id)
        .await
        .unwrap();
    assert_eq!(read, order);
    assert!(app.audit().is_clean(), "{:?}", app.audit().violations);
}

#[tokio::test]
async fn declined_payment_cancels_and_reserves_nothing() {
    let sim = Simulation::with_seed(11);
    let key = key_where(&sim, false);
    let app = app_with(PRODUCTS, sim);
    let order = app.checkout(&key, 1, &[(1, 5)]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Cancelado);
    assert!(
        order.reason.as_deref().unwrap().contains("recusado"),
        "{:?}",
        order.reason
    );
    assert_eq!(order.invoice_number, None);
    assert_eq!(
        app.count(
            ServiceName::Payments,
            "SELECT count(*) FROM pagamentos WHERE status = 'rejeitado'"
        ),
        1
    );
    assert_eq!(
        app.count(ServiceName::Inventory, "SELECT count(*) FROM reservas"),
        0
    );
    assert_eq!(
        app.count(ServiceName::Fiscal, "SELECT count(*) FROM notas_fiscais"),
        0
    );
    assert_eq!(app.stock(1), 1000);
    assert!(app.audit().is_clean());
}

#[tokio::test]
async fn out_of_stock_voids_the_payment_and_moves_no_stock() {
    let app = app();
    let order = app.checkout("k-oos", 1, &[(1, 1), (3, 3)]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Cancelado);
    assert!(
        order.reason.as_deref().unwrap().contains("out of stock"),
        "{:?}",
        order.reason
    );
    assert_eq!(
        app.count(
            ServiceName::Payments,
            "SELECT count(*) FROM pagamentos WHERE status = 'estornado'"
        ),
        1
    );
    assert_eq!(
        app.count(ServiceName::Inventory, "SELECT count(*) FROM reservas"),
        0
    );
    assert_eq!(app.stock(1), 1000, "the first line must not stay reserved");
    assert_eq!(app.stock(3), 2);
    // The sold-out product as well.
    let order = app.checkout("k-oos-2", 1, &[(4, 1)]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Cancelado);
    assert!(app.audit().is_clean(), "{:?}", app.audit().violations);
}

#[tokio::test]
async fn a_retried_key_returns_the_first_outcome_and_writes_nothing() {
    let app = app();
    let first = app.checkout("k-retry", 2, &[(2, 1)]).await.unwrap();
    let rows = app.total_rows();
    let again = app.checkout("k-retry", 2, &[(2, 1)]).await.unwrap();
    assert_eq!(again, first);
    // The same key with a different body is refused: it is not this request's outcome to give.
    let other = app.checkout("k-retry", 3, &[(1, 9)]).await.unwrap_err();
    assert_eq!(other, ServiceError::KeyReused);
    assert_eq!(app.total_rows(), rows);
    assert_eq!(app.stock(2), 999);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_outcomes_twice() {
    let run = || async {
        let app = app_with(PRODUCTS, Simulation::with_seed(99));
        let mut outcomes = Vec::new();
        for i in 0..40 {
            let items = [(1 + i % 3, 1)];
            let o = app
                .checkout(&format!("order-{i}"), 1 + i % 10, &items)
                .await
                .unwrap();
            outcomes.push((o.status, o.total_cents, o.reason));
        }
        outcomes
    };
    let a = run().await;
    let b = run().await;
    assert_eq!(a, b);
    assert!(a.iter().any(|o| o.0 == OrderStatus::Enviado));
    assert!(
        a.iter().any(|o| o.0 == OrderStatus::Cancelado),
        "40 orders at 90% approval and a scarce product"
    );
}
