//! The checkout's six services over gRPC: tonic servers around the core services, tonic clients
//! implementing the core's port traits for the next hop, and the one place where domain errors
//! become gRPC statuses and back. No business rule lives here.

pub mod client;
pub mod codec;
pub mod conn;
pub mod echo;
mod edge;
pub mod ingest;
pub mod link;
pub mod server;
pub mod status;
pub mod threads;

/// The wire messages (`checkout-proto`'s) with the gRPC services `build.rs` generated for them.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    pub use checkout_proto::pb::{FILE_DESCRIPTOR_SET, comum};
    /// Orders.
    pub mod pedidos {
        pub use checkout_proto::pb::pedidos::*;
        tonic::include_proto!("pedidos");
    }
    /// Payments.
    pub mod pagamento {
        pub use checkout_proto::pb::pagamento::*;
        tonic::include_proto!("pagamento");
    }
    /// Inventory.
    pub mod estoque {
        pub use checkout_proto::pb::estoque::*;
        tonic::include_proto!("estoque");
    }
    /// Fiscal.
    pub mod fiscal {
        pub use checkout_proto::pb::fiscal::*;
        tonic::include_proto!("fiscal");
    }
    /// Logistics.
    pub mod logistica {
        pub use checkout_proto::pb::logistica::*;
        tonic::include_proto!("logistica");
    }
    /// Catalog.
    pub mod catalogo {
        pub use checkout_proto::pb::catalogo::*;
        tonic::include_proto!("catalogo");
    }
    /// The ingestion sink.
    pub mod ingestao {
        pub use checkout_proto::pb::ingestao::*;
        tonic::include_proto!("ingestao");
    }
    /// The calibration echo.
    pub mod calibracao {
        tonic::include_proto!("calibracao");
    }
    /// The Rust tonic generated for the services of each `.proto` (by package; the messages are
    /// `checkout_proto::pb::GENERATED`).
    pub const GENERATED: [(&str, &str); 8] = [
        (
            "pedidos",
            include_str!(concat!(env!("OUT_DIR"), "/pedidos.rs")),
        ),
        (
            "pagamento",
            include_str!(concat!(env!("OUT_DIR"), "/pagamento.rs")),
        ),
        (
            "estoque",
            include_str!(concat!(env!("OUT_DIR"), "/estoque.rs")),
        ),
        (
            "fiscal",
            include_str!(concat!(env!("OUT_DIR"), "/fiscal.rs")),
        ),
        (
            "logistica",
            include_str!(concat!(env!("OUT_DIR"), "/logistica.rs")),
        ),
        (
            "catalogo",
            include_str!(concat!(env!("OUT_DIR"), "/catalogo.rs")),
        ),
        (
            "calibracao",
            include_str!(concat!(env!("OUT_DIR"), "/calibracao.rs")),
        ),
        (
            "ingestao",
            include_str!(concat!(env!("OUT_DIR"), "/ingestao.rs")),
        ),
    ];
}

pub use checkout_proto::convert;
pub use client::GrpcClients;
pub use server::{GrpcNode, start};
