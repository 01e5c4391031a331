//! Bad input gets a typed error naming the problem and persists nothing.

use checkout_core::*;

use crate::harness::*;

fn field(e: &ServiceError) -> &str {
    match e {
        ServiceError::InvalidArgument { field, .. } => field,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_checkouts_name_the_field_and_persist_nothing() {
    let app = app();
    let rows = app.total_rows();
    type Case = (&'static str, i64, &'static [(i64, i64)], &'static str);
    let cases: &[Case] = &[
        ("k1", 1, &[(1, 0)], "itens[0].quantidade"),
        ("k2", 1, &[(1, 1), (2, -3)], "itens[1].quantidade"),
        ("k3", 1, &[(1, 20_000)], "itens[0].quantidade"),
        ("k4", 1, &[], "itens"),
        ("k5", 1, &[(1, 1), (1, 2)], "itens[1].produto_id"),
        ("k6", 0, &[(1, 1)], "cliente_id"),
        ("", 1, &[(1, 1)], "chave_idempotencia"),
        (" padded ", 1, &[(1, 1)], "chave_idempotencia"),
    ];
    for (key, customer, items, expected) in cases {
        let err = app.checkout(key, *customer, items).await.unwrap_err();
        assert_eq!(field(&err), *expected, "{key} {items:?}: {err}");
    }
    let too_many: Vec<(i64, i64)> = (1..=101).map(|i| (i, 1)).collect();
    assert_eq!(
        field(&app.checkout("k7", 1, &too_many).await.unwrap_err()),
        "itens"
    );
    assert_eq!(
        app.total_rows(),
        rows,
        "a rejected request persisted something"
    );
    // The service keeps serving.
    assert_eq!(
        app.checkout("k-ok", 1, &[(1, 1)]).await.unwrap().status,
        OrderStatus::Enviado
    );
}

#[tokio::test]
async fn unknown_product_customer_or_order_is_not_found() {
    let app = app();
    let rows = app.total_rows();
    assert_eq!(
        app.checkout("k1", 1, &[(1, 1), (999, 1)])
            .await
            .unwrap_err(),
        ServiceError::NotFound {
            entity: "produto",
            id: 999
        }
    );
    assert_eq!(
        app.checkout("k2", 777, &[(1, 1)]).await.unwrap_err(),
        ServiceError::NotFound {
            entity: "cliente",
            id: 777
        }
    );
    assert_eq!(
        app.app
            .orders
            .get_order(CallCtx::unbounded(), 12345)
            .await
            .unwrap_err(),
        ServiceError::NotFound {
            entity: "pedido",
            id: 12345
        }
    );
    assert_eq!(app.total_rows(), rows);
}

/// The whole catalog, unfiltered.
async fn list_all(app: &App) -> Vec<ProductInfo> {
    app.app
        .catalog
        .list_products(CallCtx::unbounded(), ProductFilter::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn catalog_lists_filters_and_rejects_bad_queries() {
    let app = app();
    let all = list_all(&app).await;
    assert_eq!(all.len(), PRODUCTS.len());
    assert_eq!(
        all[2],
        ProductInfo {
            id: 3,
            name: "Fone de Ouvido".into(),
            stock: 2,
            price_cents: 12999
        }
    );
    let cheap = ProductFilter {
        max_price_cents: Some(5000),
        ..Default::default()
    };
    let ids: Vec<i64> = app
        .app
        .catalog
        .list_products(CallCtx::unbounded(), cheap)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [1, 2]);
    let by_name = ProductFilter {
        name_contains: Some("jeans".into()),
        ..Default::default()
    };
    let found = app
        .app
        .catalog
        .list_products(CallCtx::unbounded(), by_name)
        .await
        .unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [4]);
    // Live stock: a sale shows up in the catalog.
    app.checkout("k-sale", 1, &[(3, 1)]).await.unwrap();
    let p3 = ProductFilter {
        name_contains: Some("Fone".into()),
        ..Default::default()
    };
    assert_eq!(
        app.app
            .catalog
            .list_products(CallCtx::unbounded(), p3)
            .await
            .unwrap()[0]
            .stock,
        1
    );
    // Stock update (seed 002), and its limits.
    let p = app
        .app
        .catalog
        .update_stock(CallCtx::unbounded(), 4, 5)
        .await
        .unwrap();
    assert_eq!(p.stock, 5);
    assert!(matches!(
        app.app
            .catalog
            .update_stock(CallCtx::unbounded(), 4, -6)
            .await
            .unwrap_err(),
        ServiceError::OutOfStock {
            product_id: 4,
            available: 5,
            ..
        }
    ));
    assert_eq!(
        app.app
            .catalog
            .update_stock(CallCtx::unbounded(), 99, 1)
            .await
            .unwrap_err(),
        ServiceError::NotFound {
            entity: "produto",
            id: 99
        }
    );
    let bad = ProductFilter {
        max_price_cents: Some(-1),
        ..Default::default()
    };
    assert_eq!(
        field(
            &app.app
                .catalog
                .list_products(CallCtx::unbounded(), bad)
                .await
                .unwrap_err()
        ),
        "preco_maximo_centavos"
    );
    assert!(app.audit().is_clean(), "{:?}", app.audit().violations);
}

#[tokio::test]
async fn a_catalog_larger_than_an_inline_scan_is_listed_whole_every_time() {
    let n = checkout_core::services::catalog::INLINE_SCAN_ROWS as i64 + 44;
    let products: Vec<SeedProduct> = (1..=n).map(|id| (id, "Produto", 10.0, 5)).collect();
    let app = app_with(&products, approving());
    // The first listing learns the catalog's size; the next ones run where that size says.
    for _ in 0..3 {
        let all = list_all(&app).await;
        assert_eq!(all.len() as i64, n);
        assert!(all.iter().all(|p| p.stock == 5));
    }
}
