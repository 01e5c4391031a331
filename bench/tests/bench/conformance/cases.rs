//! The behaviours every wiring must show identically.

use std::sync::Arc;
use std::time::{Duration, Instant};

use checkout_core::admission::Admission;
use checkout_core::sim::WorkTime;
use checkout_core::testkit::{PRODUCTS, approving, key_where};
use checkout_core::*;

use super::harness::{Wiring, spawn, spawn_admitting};

fn assert_clean(app: &super::harness::App) {
    let report = app.probe.audit();
    assert!(report.is_clean(), "audit: {:?}", report.violations);
}

pub async fn happy_path_reaches_enviado_with_rows_in_every_database(w: Wiring) {
    let app = spawn(w, PRODUCTS, approving()).await;
    let order = app.checkout("happy", 1, &[(1, 2), (2, 1)]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Enviado, "{w:?}");
    assert_eq!(order.total_cents, 2 * 1990 + 4550);
    let id = order.order_id;
    let p = &app.probe;
    assert_eq!(
        p.text(
            ServiceName::Payments,
            &format!("SELECT status FROM pagamentos WHERE pedido_id = {id}")
        ),
        "aprovado"
    );
    assert_eq!(
        p.text(
            ServiceName::Inventory,
            &format!("SELECT status FROM reservas WHERE pedido_id = {id}")
        ),
        "reservada"
    );
    assert_eq!(
        p.text(
            ServiceName::Fiscal,
            &format!("SELECT numero FROM notas_fiscais WHERE pedido_id = {id}")
        ),
        order.invoice_number.clone().unwrap()
    );
    assert_eq!(
        p.text(
            ServiceName::Logistics,
            &format!("SELECT codigo_rastreamento FROM envios WHERE pedido_id = {id}")
        ),
        order.tracking_code.clone().unwrap()
    );
    assert_eq!(p.stock(1), 998);
    let read = app
        .orders
        .get_order(CallCtx::unbounded(), id)
        .await
        .unwrap();
    assert_eq!(read, order);
    assert_eq!(
        app.orders
            .get_order(CallCtx::unbounded(), 999)
            .await
            .unwrap_err(),
        ServiceError::NotFound {
            entity: "pedido",
            id: 999
        }
    );
    assert_clean(&app);
    app.shutdown().await;
}

pub async fn declined_payment_cancels_and_reserves_nothing(w: Wiring) {
    let sim = Simulation::with_seed(11);
    let key = key_where(&sim, false);
    let app = spawn(w, PRODUCTS, sim).await;
    let order = app.checkout(&key, 1, &[(1, 5)]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Cancelado);
    assert_eq!(order.reason.as_deref(), Some("pagamento recusado"));
    assert_eq!(
        app.probe
            .int(ServiceName::Inventory, "SELECT count(*) FROM reservas"),
        0
    );
    assert_eq!(app.probe.stock(1), 1000);
    assert_clean(&app);
    app.shutdown().await;
}

pub async fn out_of_stock_voids_the_payment(w: Wiring) {
    let app = spawn(w, PRODUCTS, approving()).await;
    let order = app.checkout("oos", 1, &[(1, 1), (3, 3)]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Cancelado);
    assert_eq!(
        order.reason.as_deref(),
        Some(
            ServiceError::OutOfStock {
                product_id: 3,
                requested: 3,
                available: 2
            }
            .to_string()
            .as_str()
        )
    );
    assert_eq!(
        app.probe
            .text(ServiceName::Payments, "SELECT status FROM pagamentos"),
        "estornado"
    );
    assert_eq!((app.probe.stock(1), app.probe.stock(3)), (1000, 2));
    assert_clean(&app);
    app.shutdown().await;
}

pub async fn catalog_lists_filters_and_updates_live_stock(w: Wiring) {
    let app = spawn(w, PRODUCTS, approving()).await;
    let ctx = CallCtx::unbounded();
    let all = app
        .catalog
        .list_products(ctx, ProductFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|p| (p.id, p.stock)).collect::<Vec<_>>(),
        [(1, 1000), (2, 1000), (3, 2), (4, 0)]
    );
    assert_eq!(all[0].name, "Café Torrado");
    let cheap = ProductFilter {
        max_price_cents: Some(4550),
        ..Default::default()
    };
    assert_eq!(
        app.catalog.list_products(ctx, cheap).await.unwrap().len(),
        2
    );
    let named = ProductFilter {
        name_contains: Some("fone".into()),
        max_price_cents: Some(20000),
    };
    assert_eq!(
        app.catalog.list_products(ctx, named).await.unwrap()[0].id,
        3
    );
    app.checkout("buy", 2, &[(3, 1)]).await.unwrap();
    let fone = ProductFilter {
        name_contains: Some("Fone".into()),
        ..Default::default()
    };
    assert_eq!(
        app.catalog.list_products(ctx, fone).await.unwrap()[0].stock,
        1
    );
    assert_eq!(app.catalog.update_stock(ctx, 4, 7).await.unwrap().stock, 7);
    assert!(matches!(
        app.catalog.update_stock(ctx, 4, -8).await.unwrap_err(),
        ServiceError::OutOfStock { .. }
    ));
    assert_eq!(
        app.catalog.update_stock(ctx, 77, 1).await.unwrap_err(),
        ServiceError::NotFound {
            entity: "produto",
            id: 77
        }
    );
    let bad = ProductFilter {
        max_price_cents: Some(-5),
        ..Default::default()
    };
    assert!(matches!(
        app.catalog.list_products(ctx, bad).await.unwrap_err(),
        ServiceError::InvalidArgument { .. }
    ));
    assert_clean(&app);
    app.shutdown().await;
}

pub async fn ids_and_stock_past_32_bits_cross_every_wire_intact(w: Wiring) {
    const BIG: i64 = 5_000_000_000;
    const STOCK: i64 = 3_000_000_000;
    let products = [
        (1, "Café Torrado", 19.90, 10),
        (BIG, "Produto Grande", 10.0, STOCK),
    ];
    let app = spawn(w, &products, approving()).await;
    let ctx = CallCtx::unbounded();
    let all = app
        .catalog
        .list_products(ctx, ProductFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|p| (p.id, p.stock)).collect::<Vec<_>>(),
        [(1, 10), (BIG, STOCK)]
    );
    let order = app.checkout("grande", 1, &[(BIG, 2)]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Enviado);
    assert_eq!(order.lines[0].product_id, BIG);
    let after = app.catalog.update_stock(ctx, BIG, 1).await.unwrap();
    assert_eq!((after.id, after.stock), (BIG, STOCK - 1));
    assert_clean(&app);
    app.shutdown().await;
}

pub async fn bad_input_gets_the_mapped_error_and_persists_nothing(w: Wiring) {
    let app = spawn(w, PRODUCTS, approving()).await;
    let before = app.probe.total_rows();
    let field = |e: ServiceError| match e {
        ServiceError::InvalidArgument { field, .. } => field,
        other => panic!("{w:?}: expected InvalidArgument, got {other:?}"),
    };
    assert_eq!(
        field(app.checkout("b1", 1, &[(1, -1)]).await.unwrap_err()),
        "itens[0].quantidade"
    );
    assert_eq!(
        field(app.checkout("b2", 1, &[(1, 1_000_000)]).await.unwrap_err()),
        "itens[0].quantidade"
    );
    assert_eq!(
        field(app.checkout("b3", 1, &[]).await.unwrap_err()),
        "itens"
    );
    assert_eq!(
        field(app.checkout("b4", 1, &[(2, 1), (2, 1)]).await.unwrap_err()),
        "itens[1].produto_id"
    );
    assert_eq!(
        field(app.checkout("", 1, &[(2, 1)]).await.unwrap_err()),
        "chave_idempotencia"
    );
    assert_eq!(
        app.checkout("b5", 1, &[(1, 1), (404, 1)])
            .await
            .unwrap_err(),
        ServiceError::NotFound {
            entity: "produto",
            id: 404
        }
    );
    assert_eq!(
        app.checkout("b6", 99, &[(1, 1)]).await.unwrap_err(),
        ServiceError::NotFound {
            entity: "cliente",
            id: 99
        }
    );
    assert_eq!(
        app.probe.total_rows(),
        before,
        "{w:?}: a rejected request persisted something"
    );
    assert_eq!(
        app.checkout("fine", 1, &[(1, 1)]).await.unwrap().status,
        OrderStatus::Enviado
    );
    app.shutdown().await;
}

pub async fn a_peer_that_is_down_is_unavailable_and_leaves_nothing_half_done(w: Wiring) {
    let mut app = spawn(w, PRODUCTS, approving()).await;
    assert_eq!(
        app.checkout("before", 1, &[(2, 1)]).await.unwrap().status,
        OrderStatus::Enviado
    );
    app.stop_fiscal().await;
    let err = app.checkout("during", 1, &[(2, 4)]).await.unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Unavailable {
                service: "fiscal",
                ..
            }
        ),
        "{w:?}: {err:?}"
    );
    let p = &app.probe;
    assert_eq!(
        p.text(
            ServiceName::Orders,
            "SELECT status FROM pedidos WHERE chave_idempotencia = 'during'"
        ),
        "cancelado"
    );
    assert_eq!(p.stock(2), 999, "{w:?}: the reservation was not released");
    assert_clean(&app);
    app.shutdown().await;
}

pub async fn a_retried_key_returns_the_first_outcome_and_writes_nothing(w: Wiring) {
    let app = spawn(w, PRODUCTS, approving()).await;
    let first = app.checkout("again", 3, &[(2, 2)]).await.unwrap();
    let rows = app.probe.total_rows();
    for _ in 0..3 {
        assert_eq!(app.checkout("again", 3, &[(2, 2)]).await.unwrap(), first);
    }
    assert_eq!(app.probe.total_rows(), rows);
    assert_eq!(app.probe.stock(2), 998);
    app.shutdown().await;
}

pub async fn a_key_reused_for_a_different_request_is_refused_and_writes_nothing(w: Wiring) {
    let app = spawn(w, PRODUCTS, approving()).await;
    let first = app.checkout("same", 1, &[(1, 1)]).await.unwrap();
    let rows = app.probe.total_rows();
    for (customer, items) in [
        (2, vec![(2, 5)]),
        (1, vec![(1, 2)]),
        (1, vec![(1, 1), (2, 1)]),
    ] {
        assert_eq!(
            app.checkout("same", customer, &items).await.unwrap_err(),
            ServiceError::KeyReused,
            "{w:?}: customer {customer}, items {items:?}"
        );
    }
    assert_eq!(app.probe.total_rows(), rows);
    // The first request, retried, still gets its own outcome.
    assert_eq!(app.checkout("same", 1, &[(1, 1)]).await.unwrap(), first);
    assert_eq!((app.probe.stock(1), app.probe.stock(2)), (999, 1000));
    assert_clean(&app);
    app.shutdown().await;
}

pub async fn concurrent_checkouts_never_oversell(w: Wiring) {
    let products = [
        (1, "Goiabada Cascão", 12.0, 30),
        (2, "Café Torrado", 19.9, 10_000),
    ];
    // A burst of 100 at once: admission (which would shed part of it) is not what this tests.
    let app = Arc::new(spawn_admitting(w, &products, approving(), Admission::Off).await);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.checkout(&format!("c{i}"), 1 + i % 10, &[(2, 1), (1, 1)])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut shipped = 0;
    for t in tasks {
        shipped += i64::from(t.await.unwrap().status == OrderStatus::Enviado);
    }
    assert_eq!(shipped, 30, "{w:?}");
    assert_eq!((app.probe.stock(1), app.probe.stock(2)), (0, 10_000 - 30));
    assert_clean(&app);
    Arc::into_inner(app)
        .expect("all tasks done")
        .shutdown()
        .await;
}

pub async fn concurrent_duplicates_of_one_key_place_one_order(w: Wiring) {
    let app = Arc::new(spawn(w, PRODUCTS, approving()).await);
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.checkout("one-key", 4, &[(2, 3)]).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert!(
        outcomes.iter().all(|o| *o == outcomes[0]),
        "{w:?}: duplicates saw different outcomes"
    );
    assert_eq!(
        app.probe
            .int(ServiceName::Orders, "SELECT count(*) FROM pedidos"),
        1
    );
    assert_eq!(
        app.probe
            .int(ServiceName::Payments, "SELECT count(*) FROM pagamentos"),
        1
    );
    assert_eq!(app.probe.stock(2), 997);
    assert_clean(&app);
    Arc::into_inner(app)
        .expect("all tasks done")
        .shutdown()
        .await;
}

pub async fn an_overloaded_service_refuses_at_once_writes_nothing_and_keeps_serving(w: Wiring) {
    // Orders admits one checkout at a time, and Payments holds each for 800 ms.
    let sim = approving().with_work(
        ServiceName::Payments,
        WorkTime::fixed(Duration::from_millis(800)),
    );
    let app = Arc::new(spawn_admitting(w, PRODUCTS, sim, Admission::Static(1)).await);
    let first = {
        let app = app.clone();
        tokio::spawn(async move { app.checkout("first", 1, &[(1, 1)]).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let rows = app.probe.total_rows();
    let asked = Instant::now();
    let refused = app.checkout("second", 2, &[(2, 1)]).await.unwrap_err();
    let took = asked.elapsed();
    assert_eq!(
        app.probe.total_rows(),
        rows,
        "{w:?}: the refused checkout wrote nothing"
    );
    assert!(
        matches!(refused, ServiceError::Overloaded { service: "orders", retry_after_ms } if retry_after_ms >= 1),
        "{w:?}: {refused:?}"
    );
    assert!(
        took < Duration::from_millis(300),
        "{w:?}: refused at once, not after {took:?}"
    );
    assert_eq!(
        first.await.unwrap().unwrap().status,
        OrderStatus::Enviado,
        "{w:?}"
    );
    // The slot is free again: the refused request, retried, goes through.
    let retried = app.checkout("second", 2, &[(2, 1)]).await.unwrap();
    assert_eq!(retried.status, OrderStatus::Enviado, "{w:?}");
    assert_eq!((app.probe.stock(1), app.probe.stock(2)), (999, 999));
    assert_clean(&app);
    Arc::into_inner(app)
        .expect("all tasks done")
        .shutdown()
        .await;
}
