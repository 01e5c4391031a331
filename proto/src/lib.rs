//! The checkout's wire contract as Rust, shared by every protobuf stack (gRPC and raw TCP): the
//! messages prost generates from `*.proto`, their mapping to the core's types ([`convert`]), and
//! the structured error ([`erro`]) that carries a domain error across a wire and back. No
//! transport lives here.

pub mod convert;
pub mod erro;
pub mod ingest;

/// Messages generated from the `.proto` files by `build.rs` (prost only: no service code).
#[allow(missing_docs, clippy::all)]
pub mod pb {
    /// Shared messages.
    pub mod comum {
        include!(concat!(env!("OUT_DIR"), "/comum.rs"));
    }
    /// Orders.
    pub mod pedidos {
        include!(concat!(env!("OUT_DIR"), "/pedidos.rs"));
    }
    /// Payments.
    pub mod pagamento {
        include!(concat!(env!("OUT_DIR"), "/pagamento.rs"));
    }
    /// Inventory.
    pub mod estoque {
        include!(concat!(env!("OUT_DIR"), "/estoque.rs"));
    }
    /// Fiscal.
    pub mod fiscal {
        include!(concat!(env!("OUT_DIR"), "/fiscal.rs"));
    }
    /// Logistics.
    pub mod logistica {
        include!(concat!(env!("OUT_DIR"), "/logistica.rs"));
    }
    /// Catalog.
    pub mod catalogo {
        include!(concat!(env!("OUT_DIR"), "/catalogo.rs"));
    }
    /// The ingestion sink.
    pub mod ingestao {
        include!(concat!(env!("OUT_DIR"), "/ingestao.rs"));
    }
    /// The Rust prost generated for the messages of each `.proto` (by package; `calibracao`
    /// declares a service only): what the contract costs in code nobody writes by hand.
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
            "ingestao",
            include_str!(concat!(env!("OUT_DIR"), "/ingestao.rs")),
        ),
    ];
    /// Encoded descriptor set of every `.proto` (gRPC reflection serves it).
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/checkout_descriptor.bin"));
}
