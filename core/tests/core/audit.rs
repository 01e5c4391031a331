//! The audit finds what is broken, naming each violation.

use checkout_core::ServiceName;
use rusqlite::Connection;

use crate::harness::*;

#[tokio::test]
async fn the_audit_reports_a_deliberately_broken_database() {
    let app = app();
    let ok = app.checkout("k-1", 1, &[(1, 1)]).await.unwrap();
    app.checkout("k-2", 1, &[(2, 1)]).await.unwrap();
    assert!(app.audit().is_clean());
    app.app.close();
    let dir = app.data_dir();
    let exec = |s: ServiceName, sql: &str| {
        Connection::open(dir.join(s.db_file()))
            .unwrap()
            .execute_batch(sql)
            .unwrap()
    };
    // An approved payment with no reservation, a stuck order, lost stock, an orphan shipment.
    exec(
        ServiceName::Payments,
        "INSERT INTO pagamentos (pedido_id, data_processamento, status, valor_centavos) VALUES (77, 'x', 'aprovado', 100);",
    );
    exec(
        ServiceName::Orders,
        "UPDATE pedidos SET status = 'pendente' WHERE chave_idempotencia = 'k-2';",
    );
    exec(
        ServiceName::Inventory,
        "UPDATE estoque SET quantidade = quantidade - 5 WHERE produto_id = 1;",
    );
    exec(
        ServiceName::Fiscal,
        &format!(
            "UPDATE notas_fiscais SET status = 'cancelada' WHERE pedido_id = {};",
            ok.order_id
        ),
    );
    let report = app.audit();
    let rules: Vec<(&str, Option<i64>)> = report
        .violations
        .iter()
        .map(|v| (v.rule.as_str(), v.id))
        .collect();
    let expect = [
        ("order_not_final", Some(ok.order_id + 1)),
        ("approved_payment_without_reservation", Some(77)),
        ("record_for_unknown_order", Some(77)),
        ("stock_moved_differs_from_reserved", Some(1)),
        ("shipped_order_incomplete", Some(ok.order_id)),
        ("shipment_without_invoice", Some(ok.order_id)),
    ];
    for e in expect {
        assert!(rules.contains(&e), "missing {e:?} in {rules:?}");
    }
    assert_eq!(
        rules.len(),
        expect.len(),
        "unexpected extra violations: {rules:?}"
    );
}
