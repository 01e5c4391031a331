//! TLS on every networked stack: the chain's own callers are served, a caller outside the chain
//! is refused before anything is written, and a refused caller leaves the services serving.

use std::sync::Arc;
use std::time::Duration;

use checkout_core::testkit::{PRODUCTS, approving, request};
use checkout_core::*;

use super::harness::{Wiring, clients, spawn, test_tls};

/// What `caller` (clients of `inner` at peers reached as it says) gets from the listing and a
/// checkout: `Ok` only if both went through.
async fn try_calls(
    inner: Wiring,
    peers: &checkout_core::node::Peers,
    key: &str,
) -> Result<(), String> {
    let (orders, catalog) = clients(inner, peers);
    let ctx = || CallCtx::with_timeout(Duration::from_secs(5));
    catalog
        .list_products(ctx(), ProductFilter::default())
        .await
        .map_err(|e| format!("listing: {e}"))?;
    orders
        .place_order(ctx(), request(key, 1, &[(1, 1)]))
        .await
        .map_err(|e| format!("checkout: {e}"))?;
    Ok(())
}

/// Under mutual TLS: a caller in the clear, one trusting another CA, and one with the chain's CA
/// but no certificate of its own are all refused, and none of them writes an order; the chain's
/// own callers go on being served.
pub async fn callers_outside_the_chain_are_refused_and_write_nothing(w: Wiring) {
    let Wiring::Mtls(inner) = w else {
        unreachable!("a mutual-TLS wiring")
    };
    let app = spawn(w, PRODUCTS, approving()).await;
    let peers = app.peers().unwrap().clone();
    let chain = peers.tls().unwrap().clone();
    let other = tempfile::TempDir::new().unwrap();
    let outsiders = [
        ("in the clear", peers.clone().with_tls(None)),
        (
            "trusting another CA",
            peers.clone().with_tls(Some(test_tls(other.path(), true))),
        ),
        (
            "without a client certificate",
            peers
                .clone()
                .with_tls(Some(Arc::new(chain.without_client_cert()))),
        ),
    ];
    for (i, (who, p)) in outsiders.iter().enumerate() {
        let r = try_calls(*inner, p, &format!("outsider-{i}")).await;
        assert!(r.is_err(), "{w:?}: a caller {who} was served");
    }
    let orders = |app: &super::harness::App| {
        app.probe
            .int(ServiceName::Orders, "SELECT COUNT(*) FROM pedidos")
    };
    let before = orders(&app);
    let placed = app.checkout("insider", 1, &[(1, 1)]).await.unwrap();
    assert_eq!(placed.status, OrderStatus::Enviado, "{w:?}");
    assert_eq!(orders(&app), before + 1, "{w:?}: only the chain's order");
    assert!(
        app.probe
            .text(
                ServiceName::Orders,
                "SELECT COALESCE(GROUP_CONCAT(chave_idempotencia), '') FROM pedidos"
            )
            .split(',')
            .all(|k| !k.starts_with("outsider")),
        "{w:?}: an outsider's order was stored"
    );
    app.shutdown().await;
}

/// Under TLS that asks for no client certificate: a caller with the chain's CA and no
/// certificate is served; one trusting another CA refuses the server (and sends nothing).
pub async fn tls_without_client_certificates_checks_the_server_only(w: Wiring) {
    let Wiring::Tls(inner) = w else {
        unreachable!("a TLS wiring")
    };
    let app = spawn(w, PRODUCTS, approving()).await;
    let peers = app.peers().unwrap().clone();
    let chain = peers.tls().unwrap().clone();
    let anonymous = peers
        .clone()
        .with_tls(Some(Arc::new(chain.without_client_cert())));
    try_calls(*inner, &anonymous, "anonymous").await.unwrap();
    let other = tempfile::TempDir::new().unwrap();
    let foreign = peers.clone().with_tls(Some(test_tls(other.path(), false)));
    assert!(
        try_calls(*inner, &foreign, "foreign").await.is_err(),
        "{w:?}: a client that does not trust the chain's CA went through"
    );
    app.shutdown().await;
}

macro_rules! for_every_networked_stack {
    ($($stack:ident => $wiring:expr),* $(,)?) => {
        $(mod $stack {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn callers_outside_the_chain_are_refused_and_write_nothing() {
                super::callers_outside_the_chain_are_refused_and_write_nothing(
                    super::Wiring::Mtls(&$wiring),
                )
                .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn tls_without_client_certificates_checks_the_server_only() {
                super::tls_without_client_certificates_checks_the_server_only(
                    super::Wiring::Tls(&$wiring),
                )
                .await
            }
        })*
    };
}

for_every_networked_stack!(
    tls_grpc => crate::conformance::Wiring::Grpc,
    tls_rest_http1 => crate::conformance::Wiring::Rest { http2: false },
    tls_rest_http2 => crate::conformance::Wiring::Rest { http2: true },
    tls_tcp => crate::conformance::Wiring::Tcp,
);
