//! Many checkouts at once never oversell, and concurrent duplicates of a key act once.

use std::sync::Arc;

use checkout_core::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_checkouts_against_stock_for_fifty_never_oversell() {
    let products: &[SeedProduct] = &[
        (1, "Goiabada Cascão", 12.0, 50),
        (2, "Café Torrado", 19.9, 10_000),
    ];
    // A burst of 200 at once: admission (which would shed part of it) is not what this tests.
    let app = Arc::new(app_admitting(
        products,
        Simulation::with_seed(5),
        checkout_core::admission::Admission::Off,
    ));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.checkout(&format!("c-{i}"), 1 + i % 10, &[(1, 1), (2, 1)])
                    .await
            })
        })
        .collect();
    let mut shipped = 0;
    for t in tasks {
        let order = t.await.unwrap().unwrap();
        assert!(order.status.is_final());
        shipped += i64::from(order.status == OrderStatus::Enviado);
    }
    assert_eq!(
        shipped, 50,
        "stock for 50 and 90% approval over 200 orders sells out exactly"
    );
    assert_eq!(app.stock(1), 0);
    assert_eq!(app.stock(2), 10_000 - shipped);
    let report = app.audit();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(
        (report.orders, report.shipped, report.cancelled),
        (200, 50, 150)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_of_one_key_place_one_order() {
    let app = Arc::new(app());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.checkout("same-key", 1, &[(2, 1)]).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert!(outcomes.iter().all(|o| *o == outcomes[0]));
    assert_eq!(
        app.count(ServiceName::Orders, "SELECT count(*) FROM pedidos"),
        1
    );
    assert_eq!(app.stock(2), 999);
    assert!(app.audit().is_clean());
}
