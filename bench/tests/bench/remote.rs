//! `--target-addr`: a stack running elsewhere is reached by its addresses (names resolved), its
//! Catalog at Orders' port + 5 unless given; the target places orders and lists products there,
//! and is never started, faulted or audited from here.

use std::net::{IpAddr, Ipv4Addr};

use bench::cluster::target::{TargetKind, parse_remote, remote};
use checkout_core::node::{Peers, spawn_services};
use checkout_core::testkit::{PRODUCTS, approving, init_env, request};
use checkout_core::*;

#[test]
fn a_remote_target_is_parsed_with_the_stacks_layout_and_names_resolved() {
    let (kind, orders, catalog) = parse_remote("grpc=localhost:50051").unwrap();
    assert_eq!(kind, TargetKind::Grpc);
    assert_eq!(orders.port(), 50051);
    assert!(orders.ip().is_loopback());
    assert_eq!(catalog.port(), 50056, "Catalog at Orders' port + 5");
    let (_, _, catalog) = parse_remote("rest-h2=127.0.0.1:8080,127.0.0.1:9999").unwrap();
    assert_eq!(catalog.port(), 9999);
    assert!(
        parse_remote("inprocess=127.0.0.1:1").is_err(),
        "in-process has no address"
    );
    assert!(parse_remote("grpc").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_target_drives_a_stack_it_did_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let env = init_env(dir.path(), PRODUCTS, approving());
    let peers = Peers::from_base(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let stack = spawn_services(&ServiceName::ALL, peers, &env, grpc_stack::start, |_, _| {})
        .await
        .unwrap();
    let t = remote(
        TargetKind::Grpc,
        stack.peers.get(ServiceName::Orders),
        stack.peers.get(ServiceName::Catalog),
        None,
    )
    .unwrap();
    assert!(t.is_remote());
    let placed = t
        .orders
        .place_order(
            CallCtx::with_timeout(std::time::Duration::from_secs(5)),
            request("remoto-1", 1, &[(1, 1)]),
        )
        .await
        .unwrap();
    assert_eq!(placed.status, OrderStatus::Enviado);
    let listed = t
        .catalog
        .list_products(
            CallCtx::with_timeout(std::time::Duration::from_secs(5)),
            ProductFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), PRODUCTS.len());
    assert_eq!(
        t.processes().len(),
        1,
        "only the load generator is measured here"
    );
    t.stop();
    stack.stop_all().await.unwrap();
}
