//! One conformance suite, written once, run against every wiring: in-process (no transport),
//! gRPC, REST over HTTP/1.1, REST over HTTP/2 and protobuf frames over plain TCP, and each
//! networked one again with every hop over mutual TLS. A behaviour that differs between them
//! fails here.

mod cases;
pub mod harness;
mod ingest;
mod tls;

pub use harness::Wiring;

macro_rules! for_every_wiring {
    ($($case:ident),* $(,)?) => {
        mod inprocess {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::InProcess).await }
            )*
        }
        mod grpc {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::Grpc).await }
            )*
        }
        mod rest_http1 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::Rest { http2: false }).await }
            )*
        }
        mod rest_http2 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::Rest { http2: true }).await }
            )*
        }
        mod tcp {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::Tcp).await }
            )*
        }
        mod grpc_mtls {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::Mtls(&crate::conformance::Wiring::Grpc)).await }
            )*
        }
        mod rest_http1_mtls {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::Mtls(&crate::conformance::Wiring::Rest { http2: false })).await }
            )*
        }
        mod rest_http2_mtls {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::Mtls(&crate::conformance::Wiring::Rest { http2: true })).await }
            )*
        }
        mod tcp_mtls {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { crate::conformance::cases::$case(crate::conformance::Wiring::Mtls(&crate::conformance::Wiring::Tcp)).await }
            )*
        }
    };
}

for_every_wiring!(
    happy_path_reaches_enviado_with_rows_in_every_database,
    declined_payment_cancels_and_reserves_nothing,
    out_of_stock_voids_the_payment,
    catalog_lists_filters_and_updates_live_stock,
    ids_and_stock_past_32_bits_cross_every_wire_intact,
    bad_input_gets_the_mapped_error_and_persists_nothing,
    a_peer_that_is_down_is_unavailable_and_leaves_nothing_half_done,
    a_retried_key_returns_the_first_outcome_and_writes_nothing,
    a_key_reused_for_a_different_request_is_refused_and_writes_nothing,
    concurrent_checkouts_never_oversell,
    concurrent_duplicates_of_one_key_place_one_order,
    an_overloaded_service_refuses_at_once_writes_nothing_and_keeps_serving,
);
