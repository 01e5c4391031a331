//! The checkout's six services over gRPC: tonic servers around the core services, tonic clients
//! implementing the core's port traits for the next hop, and the one place where domain errors
//! become gRPC statuses and back. No business rule lives here.

pub mod client;
pub mod codec;
pub mod convert;
pub mod echo;
pub mod server;
pub mod status;

/// Code generated from `proto/` by `build.rs`.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    /// Shared messages.
    pub mod comum {
        tonic::include_proto!("comum");
    }
    /// Orders.
    pub mod pedidos {
        tonic::include_proto!("pedidos");
    }
    /// Payments.
    pub mod pagamento {
        tonic::include_proto!("pagamento");
    }
    /// Inventory.
    pub mod estoque {
        tonic::include_proto!("estoque");
    }
    /// Fiscal.
    pub mod fiscal {
        tonic::include_proto!("fiscal");
    }
    /// Logistics.
    pub mod logistica {
        tonic::include_proto!("logistica");
    }
    /// Catalog.
    pub mod catalogo {
        tonic::include_proto!("catalogo");
    }
    /// The calibration echo.
    pub mod calibracao {
        tonic::include_proto!("calibracao");
    }
    /// The Rust that prost and tonic generated from each `.proto` (by package), as compiled
    /// into this crate: what the contracts cost in code nobody writes by hand.
    pub const GENERATED: [(&str, &str); 8] = [
        ("comum", include_str!(concat!(env!("OUT_DIR"), "/comum.rs"))),
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
    ];
    /// Encoded descriptor set of every `.proto`, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/checkout_descriptor.bin"));
}

pub use client::GrpcClients;
pub use server::{GrpcNode, start};
